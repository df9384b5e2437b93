//! The one place where extractors and guards read what an authentication adapter left
//! in the request extensions. Both frameworks call these functions; only the
//! extensions type differs.

use std::sync::Arc;

use authgate::__private::AuthMarker;
use authgate::{GuardError, GuardUser, Rejection, Requirement};
use http::StatusCode;

/// The machine code of the 500 answered when no authentication adapter ran.
pub(crate) const MISSING_LAYER_CODE: &str = "auth_layer_missing";

/// The 500 for a route that no authentication adapter ran on; `fix` says what to add.
/// A server bug, not the client's: logged at error level.
fn missing_layer(fix: &'static str) -> Rejection {
    tracing::error!(code = MISSING_LAYER_CODE, "{fix}");
    Rejection::new(StatusCode::INTERNAL_SERVER_ERROR, MISSING_LAYER_CODE, fix)
}

/// A framework's request extensions.
pub(crate) trait RequestExtensions {
    /// The message of the 500 answered when no adapter ran: what to add, in this
    /// framework's words.
    const MISSING_LAYER: &'static str;

    /// The value of type `T`, if one was inserted.
    fn find<T: Send + Sync + 'static>(&self) -> Option<&T>;
}

impl RequestExtensions for http::Extensions {
    const MISSING_LAYER: &'static str =
        "authgate: no AuthLayer on this route; add .layer(AuthLayer::new(config))";

    fn find<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.get::<T>()
    }
}

/// The marker of the adapter, or the 500 saying that none ran.
#[cfg(any(feature = "axum", feature = "actix", test))]
fn marker<E: RequestExtensions + ?Sized>(extensions: &E) -> Result<&AuthMarker, Rejection> {
    extensions
        .find::<AuthMarker>()
        .ok_or_else(|| missing_layer(E::MISSING_LAYER))
}

/// `T` as the adapter left it: the adapters put the user in as `Arc<U>` (shared with
/// the token cache), so `T = U` is a clone of the user and `T = Arc<U>` a clone of the
/// `Arc`; any other `T` (the [`AccessToken`](authgate::AccessToken), a user put in by a
/// test) is found as itself.
fn find<T, E>(extensions: &E) -> Option<T>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    extensions
        .find::<Arc<T>>()
        .map(|shared| T::clone(shared))
        .or_else(|| extensions.find::<T>().cloned())
}

/// `T` (the user or the token): present, or 401 when the adapter ran without finding
/// one, or 500 when no adapter ran.
#[cfg(any(feature = "axum", feature = "actix", test))]
pub(crate) fn required<T, E>(extensions: &E) -> Result<T, Rejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = find(extensions) {
        return Ok(value);
    }
    let realm = marker(extensions)?.realm();
    Err(authgate::AuthError::MissingToken.rejection(realm))
}

/// `T` if present, `None` when the adapter ran without finding one, 500 when no
/// adapter ran.
#[cfg(any(feature = "axum", test))]
pub(crate) fn optional<T, E>(extensions: &E) -> Result<Option<T>, Rejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = find(extensions) {
        return Ok(Some(value));
    }
    marker(extensions).map(|_| None)
}

/// The user if it meets `requirement`; otherwise the guard's 401/403, or 500 when no
/// adapter ran.
///
/// A user put into the extensions by other means (a test) is checked like one the
/// adapter put there.
pub(crate) fn guarded<U, E>(extensions: &E, requirement: Requirement) -> Result<Arc<U>, Rejection>
where
    U: GuardUser,
    E: RequestExtensions + ?Sized,
{
    let user = extensions
        .find::<Arc<U>>()
        .cloned()
        .or_else(|| extensions.find::<U>().cloned().map(Arc::new));
    let realm = match (&user, extensions.find::<AuthMarker>()) {
        (_, Some(marker)) => marker.realm(),
        (Some(_), None) => "",
        (None, None) => return Err(missing_layer(E::MISSING_LAYER)),
    };
    requirement
        .check(user.as_deref())
        .and_then(|()| user.ok_or(GuardError::Unauthenticated))
        .map_err(|err| {
            tracing::debug!(code = err.code(), reason = %err, "guard refused the request");
            err.rejection(realm)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate::User;

    fn user(role: &str, scopes: &[&str]) -> User {
        User::builder("u1")
            .role(role)
            .scopes(scopes.iter().copied())
            .build()
    }

    /// Extensions as an adapter leaves them for an anonymous request.
    fn after_adapter() -> http::Extensions {
        let config = authgate::AuthConfig::oidc("https://idp.example.com/")
            .audience("api")
            .realm("api")
            .build()
            .unwrap();
        let mut extensions = http::Extensions::new();
        let auth = authgate::Authenticator::new(config);
        authgate::__private::insert_authentication(&mut extensions, &auth, None);
        extensions
    }

    #[test]
    fn no_adapter_is_a_server_error() {
        let extensions = http::Extensions::new();
        let err = required::<User, _>(&extensions).unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "auth_layer_missing")
        );
        assert!(err.to_string().contains("AuthLayer"));
        assert_eq!(optional::<User, _>(&extensions).unwrap_err(), err);
        let guard = guarded::<User, _>(&extensions, Requirement::Authenticated).unwrap_err();
        assert_eq!(guard, err);
    }

    #[test]
    fn adapter_without_user_is_unauthorized() {
        let extensions = after_adapter();
        let err = required::<User, _>(&extensions).unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::UNAUTHORIZED, "missing_token")
        );
        assert_eq!(err.www_authenticate(), Some(r#"Bearer realm="api""#));
        assert_eq!(optional::<User, _>(&extensions), Ok(None));
        let guard = guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin"]));
        assert_eq!(guard.unwrap_err().status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn guard_checks_role_and_scope() {
        let mut extensions = after_adapter();
        extensions.insert(user("support", &["openid"]));
        let role = guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin"])).unwrap_err();
        assert_eq!(
            (role.status(), role.code()),
            (StatusCode::FORBIDDEN, "insufficient_role")
        );
        let scope = guarded::<User, _>(&extensions, Requirement::Scopes(&["goauthentik.io/api"]))
            .unwrap_err();
        assert_eq!(
            (scope.status(), scope.code()),
            (StatusCode::FORBIDDEN, "insufficient_scope")
        );
        let ok = guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin", "support"]));
        assert_eq!(ok.unwrap().role, "support");
    }

    #[test]
    fn a_user_without_context_is_accepted() {
        let mut extensions = http::Extensions::new();
        extensions.insert(user("admin", &[]));
        assert_eq!(required::<User, _>(&extensions).unwrap().role, "admin");
        assert!(guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin"])).is_ok());
    }
}
