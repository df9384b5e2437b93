//! [`OnRejection`]: the one hook from a refusal to a response, honoured by every
//! adapter.

use std::fmt;
use std::sync::Arc;

use http::Response;

use crate::error::AuthError;
use crate::rejection::Rejection;

/// Turns a refused request into the response sent for it: the one hook for every
/// refusal in authgate.
///
/// The hook gets the typed [`Rejection`] (status, machine code, message, and the
/// `WWW-Authenticate` and `Retry-After` it would send) and, where there is one, the
/// [`AuthError`] behind it (a missing, bad or expired token, a cross-site request,
/// keys unavailable). Set it once per adapter with `on_rejection(hook)`: on the tower
/// [`AuthLayer`](crate::AuthLayer), on `authgate-extract`'s actix-web `AuthMiddleware`,
/// and on `authgate-flow`'s `FlowBuilder`. The extractors and guards behind a layer or
/// middleware find its hook in the request, so a 401 from `Auth<User>`, a 403 from a
/// role guard or an attribute macro, and a 500 for a guard asking for another user
/// type are answered by the hook too. A route with no adapter at all has no hook to
/// find: its extractors answer the core's `500 auth_layer_missing`.
///
/// `B` is the response body type. Every hook answers with `String` bodies (what the
/// extractors, actix-web and the flow use); the layer needs the body type of the
/// service it wraps. A closure `Fn(Rejection, Option<&AuthError>) -> Response<String>`
/// is a hook for every body type that a `String` converts into (axum's, hyper's
/// `Full`, `String`); [`DefaultRejection`] likewise; [`GrpcRejection`](crate::GrpcRejection)
/// answers with an empty body, so it is a hook for every body type with a `Default`
/// (tonic's included). A hook of your own implements `OnRejection<B>` for the bodies
/// it can write.
///
/// ```
/// use authgate::{AuthError, OnRejection, Rejection};
/// use http::{Response, StatusCode};
///
/// // The error shape of an API that predates authgate: `{"ok": false, "reason": ...}`.
/// let hook = |rejection: Rejection, error: Option<&AuthError>| {
///     let expired = matches!(error, Some(AuthError::Expired));
///     let body = serde_json::json!({"ok": false, "reason": rejection.code(), "expired": expired});
///     Response::builder()
///         .status(rejection.status())
///         .header("content-type", "application/json")
///         .body(body.to_string())
///         .expect("a valid response")
/// };
///
/// let error = AuthError::Expired;
/// let response: Response<String> = hook.response(error.rejection("api"), Some(&error));
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(response.body(), r#"{"expired":true,"ok":false,"reason":"token_expired"}"#);
/// ```
pub trait OnRejection<B = String>: Clone + Send + Sync + 'static {
    /// The response for `rejection`; `error` is the authentication error behind it,
    /// when there is one.
    fn response(&self, rejection: Rejection, error: Option<&AuthError>) -> Response<B>;
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(Rejection, Option<&AuthError>) -> Response<String> + Clone + Send + Sync + 'static,
    B: From<String>,
{
    fn response(&self, rejection: Rejection, error: Option<&AuthError>) -> Response<B> {
        self(rejection, error).map(B::from)
    }
}

/// The core's answer: [`Rejection::into_response`] (status, `Cache-Control:
/// no-store`, `WWW-Authenticate` and `Retry-After` where they apply, and the JSON body
/// `{"error": code, "message": text}`). What every adapter answers without a hook.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: From<String>> OnRejection<B> for DefaultRejection {
    fn response(&self, rejection: Rejection, _error: Option<&AuthError>) -> Response<B> {
        rejection.into_response()
    }
}

/// The function every erased hook calls.
type HookFn = dyn Fn(Rejection, Option<&AuthError>) -> Response<String> + Send + Sync;

/// A hook with its type erased: how a hook travels in the request marker to the
/// extractors and guards, and into the actix-web middleware and the flow. Built once,
/// when the hook is set; cloned (one reference count) only where it is stored.
#[derive(Clone)]
pub struct RejectionHook(Arc<HookFn>);

impl RejectionHook {
    /// Erases `hook`.
    #[must_use]
    pub fn new<H: OnRejection<String>>(hook: H) -> Self {
        Self(Arc::new(move |rejection, error| {
            hook.response(rejection, error)
        }))
    }

    /// The hook's response.
    #[must_use]
    pub fn response(&self, rejection: Rejection, error: Option<&AuthError>) -> Response<String> {
        (self.0)(rejection, error)
    }
}

impl fmt::Debug for RejectionHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RejectionHook(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn the_default_is_the_cores_response() {
        let error = AuthError::MissingToken;
        let response: Response<String> = DefaultRejection.response(error.rejection("api"), None);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="api""#
        );
        assert_eq!(
            response.body(),
            r#"{"error":"missing_token","message":"no bearer token or auth cookie in the request"}"#
        );
    }

    #[test]
    fn an_erased_closure_answers_as_the_closure() {
        let hook = RejectionHook::new(|rejection: Rejection, error: Option<&AuthError>| {
            Response::new(format!("{} {}", rejection.code(), error.is_some()))
        });
        let rejection = Rejection::new(StatusCode::FORBIDDEN, "insufficient_role", "no");
        assert_eq!(
            hook.response(rejection.clone(), None).into_body(),
            "insufficient_role false"
        );
        let error = AuthError::Revoked;
        assert_eq!(
            hook.response(error.rejection("api"), Some(&error))
                .into_body(),
            "token_revoked true"
        );
        assert_eq!(format!("{hook:?}"), "RejectionHook(..)");
    }
}
