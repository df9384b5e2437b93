//! Errors: why a request was refused ([`AuthError`]), why a key set could not be
//! fetched ([`FetchError`]), and why a configuration is wrong ([`ConfigError`]).
//!
//! Every rejection carries a status, an RFC 6750 error code and a stable machine code,
//! so the tower layer, the axum extractors and the actix-web middleware all answer
//! with exactly the same response (see [`Rejection`]).
//!
//! ```
//! use authgate::AuthError;
//!
//! let err = AuthError::Expired;
//! assert_eq!(err.status(), 401);
//! assert_eq!(err.code(), "token_expired");
//! let rejection = err.rejection("api");
//! assert_eq!(
//!     rejection.www_authenticate.as_deref(),
//!     Some(r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#)
//! );
//! ```

use std::time::Duration;

/// Why a request was not authenticated.
///
/// Use [`status`](Self::status) and [`code`](Self::code) for a response, or
/// [`rejection`](Self::rejection) for the whole response the layer would send.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token in the auth cookie nor in `Authorization: Bearer`.
    #[error("no bearer token or auth cookie in the request")]
    MissingToken,
    /// More than one `Authorization` header.
    #[error("the request has more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// The token is longer than the configured cap; it was not parsed.
    #[error("the token is larger than {limit} bytes")]
    TokenTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The token is not a compact JWS (`header.payload.signature`).
    #[error("the token is malformed: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token is an encrypted JWT (JWE, five segments); only signed tokens are accepted.
    #[error("encrypted tokens (JWE) are not accepted")]
    EncryptedToken,
    /// The header names an algorithm that is not allowed (`none`, HMAC, or outside the allow-list).
    #[error("the signing algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header lists a critical extension (`crit`) this verifier does not understand.
    #[error("the token requires an unsupported critical header extension")]
    UnsupportedCriticalHeader,
    /// No key in the provider's key set matches the token's `kid` and algorithm.
    #[error("no key in the key set matches the token")]
    UnknownKey,
    /// The token has no `kid` and more than one key could have signed it.
    #[error("the token has no kid and several keys fit its algorithm")]
    AmbiguousKey,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    InvalidIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token is meant for another audience")]
    InvalidAudience,
    /// A required claim is absent.
    #[error("the token has no `{claim}` claim")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong type (for example a non-numeric `exp`).
    #[error("the token's `{claim}` claim is invalid")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// The claims mapper refused the verified claims.
    #[error("the token's claims were refused: {0}")]
    Mapping(#[source] MapError),
    /// A cookie-authenticated unsafe request came from an untrusted origin.
    #[error("cross-site request refused: the origin is not trusted")]
    CrossSiteRequest,
    /// No signing keys are available yet (the provider has not answered so far).
    #[error("signing keys are not available yet")]
    KeysUnavailable {
        /// When to try again.
        retry_after: Duration,
        /// The last fetch error, if any.
        #[source]
        source: Option<std::sync::Arc<FetchError>>,
    },
}

impl AuthError {
    /// The HTTP status code for this error.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::MultipleAuthorizationHeaders => 400,
            Self::CrossSiteRequest => 403,
            Self::KeysUnavailable { .. } => 503,
            _ => 401,
        }
    }

    /// A stable machine-readable code, sent as `code` in the JSON body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MultipleAuthorizationHeaders => "multiple_authorization_headers",
            Self::TokenTooLarge { .. } => "token_too_large",
            Self::Malformed { .. } => "malformed_token",
            Self::EncryptedToken => "encrypted_token",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnsupportedCriticalHeader => "unsupported_crit",
            Self::UnknownKey => "unknown_key",
            Self::AmbiguousKey => "ambiguous_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::MissingClaim { .. } => "missing_claim",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::Mapping(_) => "claims_refused",
            Self::CrossSiteRequest => "cross_site_request",
            Self::KeysUnavailable { .. } => "keys_unavailable",
        }
    }

    /// The RFC 6750 error code, if one applies (`invalid_token`, `invalid_request`).
    ///
    /// A request with no token at all gets none, as RFC 6750 §3.1 asks.
    #[must_use]
    pub fn rfc6750_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::CrossSiteRequest | Self::KeysUnavailable { .. } => None,
            Self::MultipleAuthorizationHeaders => Some("invalid_request"),
            _ => Some("invalid_token"),
        }
    }

    /// The response this error becomes, framework-neutral.
    #[must_use]
    pub fn rejection(&self, realm: &str) -> Rejection {
        let description = self.to_string();
        let www_authenticate = match self.status() {
            401 | 400 => Some(match self.rfc6750_code() {
                Some(code) => format!(
                    r#"Bearer realm="{}", error="{code}", error_description="{}""#,
                    quote_safe(realm),
                    quote_safe(&description)
                ),
                None => format!(r#"Bearer realm="{}""#, quote_safe(realm)),
            }),
            _ => None,
        };
        let retry_after = match self {
            Self::KeysUnavailable { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        Rejection {
            status: self.status(),
            www_authenticate,
            retry_after,
            body: ErrorBody {
                error: self.rfc6750_code().unwrap_or(self.code()),
                code: self.code(),
                message: description,
            },
        }
    }
}

/// A rejection as data: what both the tower layer and the actix-web middleware turn
/// into a response, so the two frameworks answer identically.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status code.
    pub status: u16,
    /// The `WWW-Authenticate` header value, for 400/401/403 answers that carry one.
    pub www_authenticate: Option<String>,
    /// The `Retry-After` header value in seconds, for 503 answers.
    pub retry_after: Option<u64>,
    /// The JSON body.
    pub body: ErrorBody,
}

impl Rejection {
    /// A rejection from its parts, for errors defined outside this crate (guards).
    #[must_use]
    pub fn new(
        status: u16,
        www_authenticate: Option<String>,
        error: &'static str,
        code: &'static str,
        message: String,
    ) -> Self {
        Self {
            status,
            www_authenticate,
            retry_after: None,
            body: ErrorBody {
                error,
                code,
                message,
            },
        }
    }

    /// The response headers, as `(lowercase name, value)` pairs: `content-type`, and
    /// `www-authenticate` and `retry-after` where they apply. Every framework adapter
    /// copies exactly these, so their answers cannot drift apart.
    #[must_use]
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", String::from("application/json"))];
        if let Some(value) = &self.www_authenticate {
            headers.push(("www-authenticate", value.clone()));
        }
        if let Some(secs) = self.retry_after {
            headers.push(("retry-after", secs.to_string()));
        }
        headers
    }

    /// The JSON body as a string.
    #[must_use]
    pub fn body_json(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The JSON body of a rejection: `{"error": ..., "code": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The RFC 6750 code where one applies, otherwise the same as `code`.
    pub error: &'static str,
    /// The stable machine code ([`AuthError::code`]).
    pub code: &'static str,
    /// A human-readable sentence. Never contains the token.
    pub message: String,
}

/// Make a string safe inside an RFC 7235 quoted-string: no quotes, backslashes or controls.
pub(crate) fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

/// Why a claims mapper refused a token.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MapError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl MapError {
    /// A refusal with a message (sent to the client: do not put secrets in it).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A refusal caused by another error.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Why discovery or a JWKS fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The HTTP request failed (connect, timeout, TLS, …).
    #[error("request to {url} failed")]
    Http {
        /// The URL requested.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The provider answered with a non-success status.
    #[error("{url} answered with status {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body was larger than the configured cap.
    #[error("the body from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The body was not the expected JSON.
    #[error("the body from {url} is not a valid {what}")]
    Json {
        /// The URL requested.
        url: String,
        /// What was expected (`discovery document`, `JWK set`).
        what: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A URL in the discovery document is not a valid URL.
    #[error("the discovery document's {field} is not a valid URL")]
    BadEndpoint {
        /// The field.
        field: &'static str,
        /// The parse error.
        #[source]
        source: url::ParseError,
    },
    /// The key set held no key this verifier can use.
    #[error("the JWK set from {url} has no usable signing key")]
    NoUsableKeys {
        /// The URL requested.
        url: String,
    },
    /// A fetch was skipped: the refetch rate limit is reached.
    #[error("the provider was asked too often; try again later")]
    RateLimited,
    /// The configuration has no discovery document (a JWKS URL or static keys).
    #[error("no discovery document: the configuration names a JWKS URL or static keys")]
    NoDiscovery,
    /// The HTTP client could not be built (TLS set-up failed).
    #[error("the HTTP client could not be built")]
    Client {
        /// The client error.
        #[source]
        source: std::sync::Arc<reqwest::Error>,
    },
}

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting (or environment variable) is missing.
    #[error("{name} is not set: {expected}")]
    Missing {
        /// The setting or variable name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A setting (or environment variable) has a value that cannot be used.
    #[error("{name} is invalid: expected {expected}")]
    Invalid {
        /// The setting or variable name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
        /// The underlying parse error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ConfigError {
    /// `name` is missing; `expected` says what it should hold.
    #[must_use]
    pub fn missing(name: &'static str, expected: &'static str) -> Self {
        Self::Missing { name, expected }
    }

    /// `name` holds a value that cannot be used; `expected` says what would do.
    #[must_use]
    pub fn invalid(name: &'static str, expected: &'static str) -> Self {
        Self::Invalid {
            name,
            expected,
            source: None,
        }
    }

    /// Like [`invalid`](Self::invalid), caused by `source`.
    #[must_use]
    pub fn invalid_because(
        name: &'static str,
        expected: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Invalid {
            name,
            expected,
            source: Some(Box::new(source)),
        }
    }
}
