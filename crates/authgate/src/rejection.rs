//! [`Rejection`]: the one response vocabulary of authgate.

use std::fmt;
use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;

/// A refusal as data: status, machine code, message, optional details, and the
/// `WWW-Authenticate` and `Retry-After` headers where they apply: the one response
/// vocabulary of authgate.
///
/// Every refusal in the project — a missing or bad token ([`AuthError`](crate::AuthError)),
/// a guard ([`GuardError`](crate::GuardError)), a login-flow error — becomes a
/// `Rejection`, and a `Rejection` becomes a response in exactly one way per framework:
///
/// - status: an [`http::StatusCode`];
/// - body: JSON `{"error": code, "message": text}`, plus `"details": {...}` when the
///   error has structured details;
/// - headers: `Content-Type: application/json`, `Cache-Control: no-store`, and where
///   they apply `WWW-Authenticate` (RFC 6750) and `Retry-After` (whole seconds, at
///   least 1).
///
/// [`into_response`](Rejection::into_response) gives an `http::Response` (tower, hyper,
/// tonic); with the `axum` feature a `Rejection` is an axum `IntoResponse`, with the
/// `actix` feature an actix-web `ResponseError` and `Responder`.
///
/// A rejection made by an extractor or guard behind an adapter with an
/// [`OnRejection`](crate::OnRejection) hook carries the hook's response, made when it
/// was refused: `into_response` and the framework impls send that one, while
/// [`status`](Self::status), [`code`](Self::code), [`headers`](Self::headers) and
/// [`body`](Self::body) still describe the refusal and the core's own answer.
///
/// ```
/// use authgate::Rejection;
/// use http::StatusCode;
/// use std::time::Duration;
///
/// let rejection = Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "keys_unavailable", "try later")
///     .with_retry_after(Duration::from_millis(1500))
///     .with_details(serde_json::json!({"provider": "down"}));
/// let response: http::Response<String> = rejection.into_response();
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(response.headers()["retry-after"], "2");
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// let body: serde_json::Value = serde_json::from_str(response.body())?;
/// assert_eq!(
///     body,
///     serde_json::json!({"error": "keys_unavailable", "message": "try later", "details": {"provider": "down"}})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rejection {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Boxed: rare, and a `Rejection` is the error of every extractor, so it stays small.
    details: Option<Box<Value>>,
    www_authenticate: Option<String>,
    retry_after: Option<Duration>,
    /// The response a hook made for this refusal, sent instead of the core's.
    answer: Option<Box<http::Response<String>>>,
}

impl PartialEq for Rejection {
    fn eq(&self, other: &Self) -> bool {
        let answer = |r: &Self| {
            r.answer
                .as_deref()
                .map(|a| (a.status(), a.headers().clone(), a.body().clone()))
        };
        (
            self.status,
            self.code,
            &self.message,
            &self.details,
            &self.www_authenticate,
            self.retry_after,
        ) == (
            other.status,
            other.code,
            &other.message,
            &other.details,
            &other.www_authenticate,
            other.retry_after,
        ) && answer(self) == answer(other)
    }
}

impl Eq for Rejection {}

impl Rejection {
    /// A rejection with this status, stable machine code (the body's `error`) and
    /// human-readable message (never put a token or a secret in it).
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            www_authenticate: None,
            retry_after: None,
            answer: None,
        }
    }

    /// This rejection, answered by `hook`'s response to it (see
    /// [`__private::AuthMarker::answer`](crate::__private::AuthMarker::answer)).
    pub(crate) fn answered_by(
        mut self,
        hook: &crate::on_rejection::RejectionHook,
        error: Option<&crate::AuthError>,
    ) -> Self {
        self.answer = None;
        let answer = hook.response(self.clone(), error);
        self.answer = Some(Box::new(answer));
        self
    }

    /// Adds structured details, sent as `"details"` in the body.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// Adds a `WWW-Authenticate` challenge.
    #[must_use]
    pub fn with_www_authenticate(mut self, challenge: impl Into<String>) -> Self {
        self.www_authenticate = Some(challenge.into());
        self
    }

    /// Adds `Retry-After`: when to try again (sent in whole seconds, rounded up, at
    /// least 1).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine code, sent as `error` in the body (`missing_token`,
    /// `token_expired`, `insufficient_role`, `invalid_state`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable message, sent as `message` in the body.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The structured details, if any.
    #[must_use]
    pub fn details(&self) -> Option<&Value> {
        self.details.as_deref()
    }

    /// The `WWW-Authenticate` challenge, if any.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&str> {
        self.www_authenticate.as_deref()
    }

    /// When to try again, if the refusal is temporary.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The JSON body as a value: `{"error": code, "message": text}` and `"details"`
    /// when present.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message.as_str()));
        if let Some(details) = &self.details {
            body.insert("details".into(), Value::clone(details));
        }
        Value::Object(body)
    }

    /// The JSON body as text (see [`to_json`](Self::to_json)).
    #[must_use]
    pub fn body(&self) -> String {
        self.to_json().to_string()
    }

    /// The response headers, in order: `content-type`, `cache-control`, and
    /// `www-authenticate` and `retry-after` where they apply. Values that cannot be a
    /// header (a control character in a challenge) are left out.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let fixed = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ];
        let challenge = self
            .www_authenticate
            .as_deref()
            .and_then(|value| HeaderValue::from_str(value).ok())
            .map(|value| (header::WWW_AUTHENTICATE, value));
        let retry = self.retry_after.map(|after| {
            (
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(after)),
            )
        });
        fixed.into_iter().chain(challenge).chain(retry)
    }

    /// The response, for any body type a `String` converts into: the core's (the
    /// status, [`headers`](Self::headers) and [`body`](Self::body)), or the response a
    /// hook made for this rejection when it carries one.
    #[must_use]
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        if let Some(answer) = self.answer {
            return answer.map(B::from);
        }
        let mut response = http::Response::new(B::from(self.body()));
        *response.status_mut() = self.status;
        response.headers_mut().extend(self.headers());
        response
    }
}

/// `Retry-After` in whole seconds: rounded up, at least 1.
fn retry_after_secs(after: Duration) -> u64 {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    secs.max(1)
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

impl<B: From<String>> From<Rejection> for http::Response<B> {
    fn from(rejection: Rejection) -> Self {
        rejection.into_response()
    }
}

/// A `Bearer` challenge: `Bearer realm="..."` followed by `name="value"` parameters,
/// every value made safe for a quoted-string.
pub(crate) fn bearer_challenge(realm: &str, params: &[(&str, &str)]) -> String {
    let mut challenge = format!(r#"Bearer realm="{}""#, quote_safe(realm));
    for (name, value) in params {
        challenge.push_str(&format!(r#", {name}="{}""#, quote_safe(value)));
    }
    challenge
}

/// Make a string safe inside an RFC 7235 quoted-string: no quotes, backslashes or controls.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Rejection {
    fn into_response(self) -> axum_core::response::Response {
        Rejection::into_response(self)
    }
}

#[cfg(feature = "actix")]
impl actix_web::ResponseError for Rejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        crate::actix::status(self.status)
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        crate::actix::response(self.clone().into_response())
    }
}

#[cfg(feature = "actix")]
impl actix_web::Responder for Rejection {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        crate::actix::response(self.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_order_and_unsafe_challenges_dropped() {
        let rejection = Rejection::new(StatusCode::UNAUTHORIZED, "x", "m")
            .with_www_authenticate(bearer_challenge("a\"b\\c", &[("error", "e\"")]));
        let names: Vec<_> = rejection.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                header::CONTENT_TYPE,
                header::CACHE_CONTROL,
                header::WWW_AUTHENTICATE
            ]
        );
        assert_eq!(
            rejection.www_authenticate(),
            Some(r#"Bearer realm="abc", error="e""#)
        );
        let bad = Rejection::new(StatusCode::UNAUTHORIZED, "x", "m").with_www_authenticate("a\nb");
        assert_eq!(bad.headers().count(), 2);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(5)), 5);
        assert_eq!(retry_after_secs(Duration::from_millis(5001)), 6);
    }

    #[test]
    fn body_has_error_message_and_optional_details() {
        let plain = Rejection::new(StatusCode::FORBIDDEN, "insufficient_role", "no");
        assert_eq!(
            plain.body(),
            r#"{"error":"insufficient_role","message":"no"}"#
        );
        assert_eq!(plain.to_string(), "no");
    }
}
