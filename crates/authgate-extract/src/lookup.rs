//! The one place where extractors and guards read what an authentication adapter left
//! in the request extensions. Both frameworks call these functions; only the
//! extensions type differs.

use std::any::{TypeId, type_name};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use authgate::__private::AuthMarker;
use authgate::{AccessToken, AuthError, GuardError, GuardUser, Rejection, Requirement};
use http::StatusCode;

/// The machine code of the 500 answered when no authentication adapter ran.
pub(crate) const MISSING_LAYER_CODE: &str = "auth_layer_missing";

/// The machine code of the 500 answered when a handler asks for another user type than
/// the adapter makes.
pub(crate) const USER_TYPE_MISMATCH_CODE: &str = "auth_user_type_mismatch";

/// The 500 for a route that no authentication adapter ran on; `fix` says what to add.
/// A server bug, not the client's: logged at error level.
fn missing_layer(fix: &'static str) -> Rejection {
    tracing::error!(code = MISSING_LAYER_CODE, "{fix}");
    Rejection::new(StatusCode::INTERNAL_SERVER_ERROR, MISSING_LAYER_CODE, fix)
}

/// The (wanted, made) type pairs already logged: each mismatch is logged once, not
/// once per request.
static LOGGED_MISMATCHES: Mutex<BTreeSet<(TypeId, TypeId)>> = Mutex::new(BTreeSet::new());

/// The 500 for an extractor or guard asking for the user type `T` on a route whose
/// adapter makes another one: every request would be refused, so this is a server bug,
/// not a missing token. Logged at error level once per pair of types.
///
/// `None` when the adapter makes `T`, or when `T` is the [`AccessToken`] (which every
/// adapter provides beside its user).
fn user_type_mismatch<T: 'static>(marker: &AuthMarker) -> Option<Rejection> {
    let (wanted_id, made_id) = (TypeId::of::<T>(), marker.user_type_id());
    if marker.makes(wanted_id) || wanted_id == TypeId::of::<AccessToken>() {
        return None;
    }
    let (wanted, made) = (type_name::<T>(), marker.user_type_name());
    let message = format!(
        "authgate: this handler asks for the user type `{wanted}`, but the authentication \
         layer on this route makes `{made}`; extract `Auth<{made}>` (guards: \
         `Guard<_, {made}>`, `#[require_role(\"..\", user = {made})]`, \
         `.for_user::<{made}>()`), or give the layer a mapper that makes `{wanted}`"
    );
    let first = LOGGED_MISMATCHES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((wanted_id, made_id));
    if first {
        tracing::error!(code = USER_TYPE_MISMATCH_CODE, wanted, made, "{message}");
    }
    Some(Rejection::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        USER_TYPE_MISMATCH_CODE,
        message,
    ))
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

/// Why `T` is absent from the extensions: the marker of the adapter when the request
/// is anonymous, or the 500 saying that no adapter ran, or that it makes another type
/// (answered by the adapter's hook).
#[cfg(any(feature = "axum", feature = "actix", feature = "tonic", test))]
fn absent<T, E>(extensions: &E) -> Result<&AuthMarker, Rejection>
where
    T: 'static,
    E: RequestExtensions + ?Sized,
{
    let marker = extensions
        .find::<AuthMarker>()
        .ok_or_else(|| missing_layer(E::MISSING_LAYER))?;
    match user_type_mismatch::<T>(marker) {
        Some(rejection) => Err(marker.answer(rejection, None)),
        None => Ok(marker),
    }
}

/// `T` as the adapter left it: the adapters put the user in as `Arc<U>` (shared with
/// the token cache), so `T = U` is a clone of the user and `T = Arc<U>` a clone of the
/// `Arc`; any other `T` (the [`AccessToken`](authgate::AccessToken), a user put in by a
/// test) is found as itself.
#[cfg(any(feature = "axum", feature = "actix", feature = "tonic", test))]
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
/// one, or 500 when no adapter ran or it makes another user type.
#[cfg(any(feature = "axum", feature = "actix", feature = "tonic", test))]
pub(crate) fn required<T, E>(extensions: &E) -> Result<T, Rejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = find(extensions) {
        return Ok(value);
    }
    let marker = absent::<T, E>(extensions)?;
    let error = AuthError::MissingToken;
    Err(marker.answer(error.rejection(marker.realm()), Some(&error)))
}

/// `T` if present, `None` when the adapter ran without finding one, 500 when no
/// adapter ran or it makes another user type.
#[cfg(any(feature = "axum", test))]
pub(crate) fn optional<T, E>(extensions: &E) -> Result<Option<T>, Rejection>
where
    T: Clone + Send + Sync + 'static,
    E: RequestExtensions + ?Sized,
{
    if let Some(value) = find(extensions) {
        return Ok(Some(value));
    }
    absent::<T, E>(extensions).map(|_| None)
}

/// The user if it meets `requirement`; otherwise the guard's 401/403, or 500 when no
/// adapter ran or it makes another user type. Behind an adapter, the refusal is
/// answered by its hook.
///
/// A user put into the extensions by other means (a test) is checked like one the
/// adapter put there.
pub(crate) fn guarded<U, E>(extensions: &E, requirement: &Requirement) -> Result<Arc<U>, Rejection>
where
    U: GuardUser,
    E: RequestExtensions + ?Sized,
{
    let user = extensions
        .find::<Arc<U>>()
        .cloned()
        .or_else(|| extensions.find::<U>().cloned().map(Arc::new));
    let marker = extensions.find::<AuthMarker>();
    match (&user, marker) {
        (None, Some(marker)) => {
            if let Some(rejection) = user_type_mismatch::<U>(marker) {
                return Err(marker.answer(rejection, None));
            }
        }
        (None, None) => return Err(missing_layer(E::MISSING_LAYER)),
        (Some(_), _) => {}
    }
    requirement
        .check(user.as_deref())
        .and_then(|()| user.ok_or(GuardError::Unauthenticated))
        .map_err(|err| {
            tracing::debug!(code = err.code(), reason = %err, "guard refused the request");
            let Some(marker) = marker else {
                return err.rejection("");
            };
            let rejection = err.rejection(marker.realm());
            match err {
                // Answered like the adapter's own missing token.
                GuardError::Unauthenticated => {
                    marker.answer(rejection, Some(&AuthError::MissingToken))
                }
                _ => marker.answer(rejection, None),
            }
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

    fn config() -> authgate::AuthConfig {
        authgate::AuthConfig::oidc("https://idp.example.com/")
            .audience("api")
            .realm("api")
            .build()
            .unwrap()
    }

    /// Extensions as an adapter leaves them for an anonymous request.
    fn after_adapter() -> http::Extensions {
        let mut extensions = http::Extensions::new();
        let auth = authgate::Authenticator::new(config());
        let refusals = authgate::__private::Refusals::new(&auth, None);
        authgate::__private::insert_authentication::<_, User>(&mut extensions, &refusals, None);
        extensions
    }

    /// A user type of a custom mapper.
    #[derive(Debug, Clone, PartialEq)]
    struct Customer;

    impl GuardUser for Customer {
        fn has_role(&self, _: &str) -> bool {
            true
        }
        fn has_scope(&self, _: &str) -> bool {
            true
        }
    }

    /// Extensions as an adapter with a `Customer` mapper leaves them, anonymous or not.
    fn after_customer_adapter(customer: bool) -> http::Extensions {
        let mut extensions = http::Extensions::new();
        let auth =
            authgate::Authenticator::with_mapper(config(), |_: &authgate::Claims| Ok(Customer));
        let refusals = authgate::__private::Refusals::new(&auth, None);
        authgate::__private::insert_authentication::<_, Customer>(&mut extensions, &refusals, None);
        if customer {
            extensions.insert(Customer);
        }
        extensions
    }

    #[test]
    fn asking_for_another_user_type_than_the_adapter_makes_is_a_server_error() {
        for customer in [true, false] {
            let extensions = after_customer_adapter(customer);
            let err = required::<User, _>(&extensions).unwrap_err();
            assert_eq!(
                (err.status(), err.code()),
                (StatusCode::INTERNAL_SERVER_ERROR, "auth_user_type_mismatch")
            );
            let message = err.message();
            assert!(message.contains("`authgate::user::User`"), "{message}");
            assert!(message.contains("lookup::tests::Customer`"), "{message}");
            assert_eq!(err.www_authenticate(), None);
            assert_eq!(optional::<User, _>(&extensions).unwrap_err(), err);
            let guard = guarded::<User, _>(&extensions, &Requirement::Authenticated);
            assert_eq!(guard.unwrap_err(), err);
        }
    }

    #[test]
    fn the_right_user_type_and_the_token_are_no_mismatch() {
        let anonymous = after_customer_adapter(false);
        assert_eq!(
            required::<Customer, _>(&anonymous).unwrap_err().code(),
            "missing_token"
        );
        assert_eq!(optional::<Customer, _>(&anonymous), Ok(None));
        assert_eq!(
            required::<AccessToken, _>(&anonymous).unwrap_err().code(),
            "missing_token"
        );
        let signed_in = after_customer_adapter(true);
        assert_eq!(required::<Customer, _>(&signed_in), Ok(Customer));
        assert!(guarded::<Customer, _>(&signed_in, &Requirement::role("any")).is_ok());
    }

    #[test]
    fn a_mismatch_is_logged_once_per_pair_of_types() {
        #[derive(Debug, Clone)]
        struct Other;
        let extensions = after_customer_adapter(true);
        let logged = || {
            LOGGED_MISMATCHES
                .lock()
                .unwrap()
                .contains(&(TypeId::of::<Other>(), TypeId::of::<Customer>()))
        };
        assert!(!logged());
        for _ in 0..3 {
            assert!(required::<Other, _>(&extensions).is_err());
        }
        assert!(logged());
        let pairs = LOGGED_MISMATCHES.lock().unwrap();
        let with_other = pairs
            .iter()
            .filter(|(wanted, _)| *wanted == TypeId::of::<Other>());
        assert_eq!(with_other.count(), 1);
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
        let guard = guarded::<User, _>(&extensions, &Requirement::Authenticated).unwrap_err();
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
        let guard = guarded::<User, _>(&extensions, &Requirement::any_role(&["admin"]));
        assert_eq!(guard.unwrap_err().status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn guard_checks_role_and_scope() {
        let mut extensions = after_adapter();
        extensions.insert(user("support", &["openid"]));
        let role = guarded::<User, _>(&extensions, &Requirement::any_role(&["admin"])).unwrap_err();
        assert_eq!(
            (role.status(), role.code()),
            (StatusCode::FORBIDDEN, "insufficient_role")
        );
        let scope = guarded::<User, _>(&extensions, &Requirement::scopes(&["goauthentik.io/api"]))
            .unwrap_err();
        assert_eq!(
            (scope.status(), scope.code()),
            (StatusCode::FORBIDDEN, "insufficient_scope")
        );
        let ok = guarded::<User, _>(&extensions, &Requirement::any_role(&["admin", "support"]));
        assert_eq!(ok.unwrap().role, "support");
    }

    #[test]
    fn a_user_without_context_is_accepted() {
        let mut extensions = http::Extensions::new();
        extensions.insert(user("admin", &[]));
        assert_eq!(required::<User, _>(&extensions).unwrap().role, "admin");
        assert!(guarded::<User, _>(&extensions, &Requirement::any_role(&["admin"])).is_ok());
    }
}
