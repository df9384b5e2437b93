//! The one place where extractors and guards read what an authentication adapter left
//! in the request extensions. Both frameworks call these functions; only the
//! extensions type differs.

use authgate::AuthContext;
use authgate::guard::{AuthUser, GuardError, Requirement};

use crate::rejection::AuthRejection;

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
fn context<E: RequestExtensions + ?Sized>(extensions: &E) -> Result<&AuthContext, AuthRejection> {
    extensions
        .find::<AuthContext>()
        .ok_or_else(|| AuthRejection::missing_layer(E::MISSING_LAYER))
}

/// `T` (the user or the token): present, or 401 when the adapter ran without finding
/// one, or 500 when no adapter ran.
#[cfg(any(feature = "axum", feature = "actix", test))]
pub(crate) fn required<T, E>(extensions: &E) -> Result<T, AuthRejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = extensions.find::<T>() {
        return Ok(value.clone());
    }
    let realm = context(extensions)?.realm();
    Err(authgate::AuthError::MissingToken.rejection(realm).into())
}

/// `T` if present, `None` when the adapter ran without finding one, 500 when no
/// adapter ran.
#[cfg(any(feature = "axum", test))]
pub(crate) fn optional<T, E>(extensions: &E) -> Result<Option<T>, AuthRejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = extensions.find::<T>() {
        return Ok(Some(value.clone()));
    }
    context(extensions).map(|_| None)
}

/// The user if it meets `requirement`; otherwise the guard's 401/403, or 500 when no
/// adapter ran.
///
/// A user put into the extensions by other means (a test) is checked like one the
/// adapter put there.
pub(crate) fn guarded<U, E>(extensions: &E, requirement: Requirement) -> Result<&U, AuthRejection>
where
    U: AuthUser,
    E: RequestExtensions + ?Sized,
{
    let user = extensions.find::<U>();
    let realm = match (user, extensions.find::<AuthContext>()) {
        (_, Some(context)) => context.realm(),
        (Some(_), None) => "",
        (None, None) => return Err(AuthRejection::missing_layer(E::MISSING_LAYER)),
    };
    requirement
        .check(user)
        .and_then(|()| user.ok_or(GuardError::Unauthenticated))
        .map_err(|err| {
            tracing::debug!(code = err.code(), reason = %err, "guard refused the request");
            err.rejection(realm).into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate::User;

    fn user(role: &str, scopes: &[&str]) -> User {
        serde_json::from_value(serde_json::json!({
            "sub": "u1", "email": null, "name": null, "organizationId": "u1",
            "role": role, "groups": [], "scopes": scopes,
        }))
        .unwrap()
    }

    fn context() -> AuthContext {
        let config = authgate::AuthConfig::oidc("https://idp.example.com/")
            .audience("api")
            .realm("api")
            .build()
            .unwrap();
        authgate::Authenticator::new(config).context()
    }

    #[test]
    fn no_adapter_is_a_server_error() {
        let extensions = http::Extensions::new();
        let err = required::<User, _>(&extensions).unwrap_err();
        assert_eq!((err.status(), err.code()), (500, "auth_layer_missing"));
        assert!(err.to_string().contains("AuthLayer"));
        assert_eq!(optional::<User, _>(&extensions).unwrap_err(), err);
        let guard = guarded::<User, _>(&extensions, Requirement::Authenticated).unwrap_err();
        assert_eq!(guard, err);
    }

    #[test]
    fn adapter_without_user_is_unauthorized() {
        let mut extensions = http::Extensions::new();
        extensions.insert(context());
        let err = required::<User, _>(&extensions).unwrap_err();
        assert_eq!((err.status(), err.code()), (401, "missing_token"));
        assert_eq!(
            err.rejection().www_authenticate.as_deref(),
            Some(r#"Bearer realm="api""#)
        );
        assert_eq!(optional::<User, _>(&extensions), Ok(None));
        let guard = guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin"]));
        assert_eq!(guard.unwrap_err().status(), 401);
    }

    #[test]
    fn guard_checks_role_and_scope() {
        let mut extensions = http::Extensions::new();
        extensions.insert(context());
        extensions.insert(user("support", &["openid"]));
        let role = guarded::<User, _>(&extensions, Requirement::AnyRole(&["admin"])).unwrap_err();
        assert_eq!((role.status(), role.code()), (403, "insufficient_role"));
        let scope = guarded::<User, _>(&extensions, Requirement::Scopes(&["goauthentik.io/api"]))
            .unwrap_err();
        assert_eq!((scope.status(), scope.code()), (403, "insufficient_scope"));
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
