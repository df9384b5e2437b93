//! What the OAuth endpoints share: request parameters, JSON errors, random values.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// Request parameters (a query string or a form body) in their order.
///
/// Parameters sent without a value count as absent (RFC 6749 §3.1).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn parse(input: &str) -> Self {
        let pairs = url::form_urlencoded::parse(input.as_bytes())
            .into_owned()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Params { pairs }
    }

    /// The value of `name` (the first, if it was repeated).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter given more than once, if any (RFC 6749 §3.1 forbids it).
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.pairs.iter().enumerate().find_map(|(i, (k, _))| {
            self.pairs[..i]
                .iter()
                .any(|(seen, _)| seen == k)
                .then_some(k.as_str())
        })
    }

    pub(crate) fn is_repeated(&self, name: &str) -> bool {
        self.pairs.iter().filter(|(k, _)| k == name).count() > 1
    }

    /// The parameters without the ones named in `names`.
    pub(crate) fn without(&self, names: &[&str]) -> Params {
        Params {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Whether the request carries a form body.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// An OAuth error answer: `{error, error_description}` (RFC 6749 §5.2).
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    basic_challenge: bool,
}

impl OAuthError {
    pub(crate) fn new(status: StatusCode, error: &'static str, description: &str) -> Self {
        OAuthError {
            status,
            error,
            description: description.to_owned(),
            basic_challenge: false,
        }
    }

    /// `400 invalid_request`.
    pub(crate) fn invalid_request(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `400 invalid_grant`.
    pub(crate) fn invalid_grant(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// Adds `WWW-Authenticate: Basic` (a 401 after `Authorization: Basic`).
    pub(crate) fn basic_challenge(mut self, on: bool) -> Self {
        self.basic_challenge = on;
        self
    }

    #[cfg(test)]
    pub(crate) fn error(&self) -> &'static str {
        self.error
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = no_store((self.status, Json(body)).into_response());
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"authgate-testkit\""),
            );
        }
        response
    }
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `bytes` random bytes, base64url without padding.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // SystemRandom does not fail on the platforms aws-lc-rs supports.
    aws_lc_rs::rand::fill(&mut buf).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `s` is a PKCE `code_verifier`: 43 to 128 unreserved characters (RFC 7636 §4.1).
pub(crate) fn is_code_verifier(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 `code_challenge` of `verifier` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_repeats_are_found() {
        let p = Params::parse("a=1&b=&c=3&a=2");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.repeated(), Some("a"));
        assert!(p.is_repeated("a"));
        assert!(!p.is_repeated("c"));
        assert_eq!(p.without(&["a"]).pairs().len(), 1);
        assert_eq!(Params::parse("x=1&y=2").repeated(), None);
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_code_verifier(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!is_code_verifier("short"));
        assert!(!is_code_verifier(&"a".repeat(129)));
        assert!(!is_code_verifier(&format!("{}!", "a".repeat(43))));
    }

    #[test]
    fn random_tokens_differ() {
        assert_eq!(random_token(32).len(), 43);
        assert_ne!(random_token(32), random_token(32));
    }
}
