//! [`GrpcRejection`]: refusals as gRPC statuses, for tonic (or any gRPC) services behind
//! the [`AuthLayer`](crate::AuthLayer).

use http::{HeaderName, HeaderValue, Response, StatusCode, header};

use crate::error::AuthError;
use crate::on_rejection::OnRejection;
use crate::rejection::Rejection;

/// The metadata (response header) that carries a refusal's machine code
/// (`missing_token`, `token_expired`, `insufficient_role`, …) beside `grpc-message`.
pub const GRPC_ERROR_METADATA: &str = "authgate-error";

/// An [`OnRejection`] hook that answers a refusal the way a gRPC server does: HTTP
/// status 200, `content-type: application/grpc`, no body, and the gRPC status in the
/// headers (a "Trailers-Only" response, which every gRPC client reads as the call's
/// status). A tonic client sees `Err(Status)` with the code, the message and the
/// metadata below, never a 401 with a JSON body it cannot parse.
///
/// - `grpc-status`: the code for the HTTP status ([`GrpcRejection::code`]): 401 is
///   `UNAUTHENTICATED` (16), 403 `PERMISSION_DENIED` (7), 503 `UNAVAILABLE` (14), 400
///   `INVALID_ARGUMENT` (3), 500 `INTERNAL` (13);
/// - `grpc-message`: the refusal's message, percent-encoded as the gRPC over HTTP/2
///   protocol asks (every byte outside printable ASCII, and `%`);
/// - `authgate-error` ([`GRPC_ERROR_METADATA`]): the machine code;
/// - `www-authenticate` and `retry-after`, as metadata, where the refusal has them.
///
/// The body is empty, so `GrpcRejection` is a hook for every body type with a
/// `Default`: tonic's `Body`, axum's, `String`.
///
/// ```
/// use authgate::{AuthError, GrpcRejection, OnRejection};
/// use http::Response;
///
/// let error = AuthError::Expired;
/// let response: Response<String> = GrpcRejection.response(error.rejection("api"), Some(&error));
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "application/grpc");
/// assert_eq!(response.headers()["grpc-status"], "16");
/// assert_eq!(response.headers()["grpc-message"], "the token has expired");
/// assert_eq!(response.headers()["authgate-error"], "token_expired");
/// assert!(response.body().is_empty());
/// ```
///
/// `examples/grpc` in the repository protects a tonic service with it and calls it with
/// a tonic client.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRejection;

/// gRPC status codes used here (grpc/doc/statuscodes.md).
mod codes {
    pub(super) const UNKNOWN: u16 = 2;
    pub(super) const INVALID_ARGUMENT: u16 = 3;
    pub(super) const NOT_FOUND: u16 = 5;
    pub(super) const PERMISSION_DENIED: u16 = 7;
    pub(super) const RESOURCE_EXHAUSTED: u16 = 8;
    pub(super) const UNIMPLEMENTED: u16 = 12;
    pub(super) const INTERNAL: u16 = 13;
    pub(super) const UNAVAILABLE: u16 = 14;
    pub(super) const UNAUTHENTICATED: u16 = 16;
}

impl GrpcRejection {
    /// The gRPC status code for a refusal's HTTP status: 401 `UNAUTHENTICATED` (16),
    /// 403 `PERMISSION_DENIED` (7), 502, 503 and 504 `UNAVAILABLE` (14), 400 and 415
    /// `INVALID_ARGUMENT` (3), 404 `NOT_FOUND` (5), 429 `RESOURCE_EXHAUSTED` (8), 501
    /// `UNIMPLEMENTED` (12), any other 5xx `INTERNAL` (13), anything else `UNKNOWN`
    /// (2).
    ///
    /// ```
    /// use authgate::GrpcRejection;
    /// use http::StatusCode;
    ///
    /// assert_eq!(GrpcRejection::code(StatusCode::UNAUTHORIZED), 16);
    /// assert_eq!(GrpcRejection::code(StatusCode::FORBIDDEN), 7);
    /// assert_eq!(GrpcRejection::code(StatusCode::SERVICE_UNAVAILABLE), 14);
    /// ```
    #[must_use]
    pub fn code(status: StatusCode) -> u16 {
        match status {
            StatusCode::UNAUTHORIZED => codes::UNAUTHENTICATED,
            StatusCode::FORBIDDEN => codes::PERMISSION_DENIED,
            StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => codes::UNAVAILABLE,
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => codes::INVALID_ARGUMENT,
            StatusCode::NOT_FOUND => codes::NOT_FOUND,
            StatusCode::TOO_MANY_REQUESTS => codes::RESOURCE_EXHAUSTED,
            StatusCode::NOT_IMPLEMENTED => codes::UNIMPLEMENTED,
            status if status.is_server_error() => codes::INTERNAL,
            _ => codes::UNKNOWN,
        }
    }

    /// The response headers: `content-type`, `grpc-status`, `grpc-message`,
    /// `authgate-error`, and `www-authenticate` and `retry-after` where the refusal
    /// has them.
    fn headers(rejection: &Rejection) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let fixed = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            ),
            (
                HeaderName::from_static("grpc-status"),
                HeaderValue::from(Self::code(rejection.status())),
            ),
            (
                HeaderName::from_static("grpc-message"),
                // Percent-encoding leaves only printable ASCII: always a valid value.
                HeaderValue::from_str(&percent_encode(rejection.message()))
                    .unwrap_or_else(|_| HeaderValue::from_static("")),
            ),
            (
                HeaderName::from_static(GRPC_ERROR_METADATA),
                HeaderValue::from_static(rejection.code()),
            ),
        ];
        // The core's own headers, less those a gRPC response has no use for.
        let kept = rejection
            .headers()
            .filter(|(name, _)| name == header::WWW_AUTHENTICATE || name == header::RETRY_AFTER);
        fixed.into_iter().chain(kept)
    }
}

impl<B: Default> OnRejection<B> for GrpcRejection {
    fn response(&self, rejection: Rejection, _error: Option<&AuthError>) -> Response<B> {
        let mut response = Response::new(B::default());
        response.headers_mut().extend(Self::headers(&rejection));
        response
    }
}

/// `text` percent-encoded for `grpc-message`: bytes outside `0x20..=0x7E`, and `%`
/// itself, become `%XX` (gRPC over HTTP/2, "Percent-Encoded").
#[must_use]
pub(crate) fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if (0x20..=0x7E).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn codes_for_every_status_authgate_answers() {
        let cases = [
            (400, 3),
            (401, 16),
            (403, 7),
            (415, 3),
            (500, 13),
            (502, 14),
            (503, 14),
            (404, 5),
            (429, 8),
            (501, 12),
            (418, 2),
            (200, 2),
        ];
        for (status, code) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(GrpcRejection::code(status), code, "{status}");
        }
    }

    #[test]
    fn messages_are_percent_encoded_as_grpc_asks() {
        assert_eq!(percent_encode("plain text: ok"), "plain text: ok");
        assert_eq!(percent_encode("100%"), "100%25");
        assert_eq!(percent_encode("a\nb\t"), "a%0Ab%09");
        assert_eq!(percent_encode("café"), "caf%C3%A9");
        assert_eq!(percent_encode("\u{7f}"), "%7F");
    }

    #[test]
    fn a_503_keeps_retry_after_and_drops_the_json_headers() {
        let rejection = AuthError::KeysUnavailable {
            retry_after: Duration::from_secs(3),
            source: None,
        }
        .rejection("api");
        let response: Response<String> = GrpcRejection.response(rejection, None);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(headers["grpc-status"], "14");
        assert_eq!(
            headers["grpc-message"],
            "signing keys are not available yet"
        );
        assert_eq!(headers["authgate-error"], "keys_unavailable");
        assert_eq!(headers["retry-after"], "3");
        assert!(headers.get("cache-control").is_none());
        assert_eq!(headers.get_all("content-type").iter().count(), 1);
        assert_eq!(headers["content-type"], "application/grpc");
    }

    #[test]
    fn a_401_keeps_its_challenge_and_a_message_with_non_ascii_is_encoded() {
        let rejection = Rejection::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "kein Token – bitte anmelden",
        )
        .with_www_authenticate(r#"Bearer realm="api""#);
        let response: Response<()> = GrpcRejection.response(rejection, None);
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(
            response.headers()["grpc-message"],
            "kein Token %E2%80%93 bitte anmelden"
        );
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="api""#
        );
    }
}
