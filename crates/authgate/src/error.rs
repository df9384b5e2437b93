//! Errors: why a request was refused ([`AuthError`]), why a key set could not be
//! fetched ([`FetchError`]), why a claims mapper refused a token ([`MapError`]), and
//! why a configuration is wrong ([`ConfigError`]).

use std::time::Duration;

use http::StatusCode;

use crate::rejection::{Rejection, bearer_challenge};
use crate::request::TokenSource;

/// Why a request was not authenticated.
///
/// Use [`status`](Self::status) and [`code`](Self::code) for a response, or
/// [`rejection`](Self::rejection) for the whole response the layer would send.
///
/// Errors: why a request was refused ([`AuthError`]), why a key set could not be
/// fetched ([`FetchError`]), why a claims mapper refused a token ([`MapError`]), and
/// why a configuration is wrong ([`ConfigError`]).
///
/// Every refusal becomes one [`Rejection`](crate::Rejection): a status, a stable
/// machine code, and the headers and JSON body that the tower layer, the axum
/// extractors, the actix-web middleware and the login flow all answer with.
///
/// ```
/// use authgate::AuthError;
/// use http::StatusCode;
///
/// let err = AuthError::Expired;
/// assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(err.code(), "token_expired");
/// let rejection = err.rejection("api");
/// assert_eq!(
///     rejection.www_authenticate(),
///     Some(r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#)
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token in the auth cookie nor in `Authorization: Bearer` (nor in the token
    /// header or query parameter, when they are configured).
    #[error("no bearer token or auth cookie in the request")]
    MissingToken,
    /// More than one `Authorization` header.
    #[error("the request has more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// The configured token header or token query parameter appears more than once
    /// (see [`TokenSource`]).
    #[error("the request has more than one token {}", duplicate_place(*.place))]
    DuplicateToken {
        /// Where: [`TokenSource::Header`] or [`TokenSource::Query`].
        place: TokenSource,
    },
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
    /// `iss` is not the configured issuer (with several issuers, see
    /// [`Authenticator::from_issuers`](crate::Authenticator::from_issuers): none of
    /// them, or not a string).
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
    /// The token, its session or its user was logged out (see
    /// [`Revocation`](crate::Revocation)).
    #[error("the token was revoked by a logout")]
    Revoked,
    /// The token is not an access token by the configured
    /// [`TokenType`](crate::TokenType) rule (an ID token, say).
    #[error("the token is not an access token")]
    WrongTokenType,
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
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MultipleAuthorizationHeaders | Self::DuplicateToken { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::CrossSiteRequest => StatusCode::FORBIDDEN,
            Self::KeysUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A stable machine-readable code, sent as `code` in the JSON body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MultipleAuthorizationHeaders => "multiple_authorization_headers",
            Self::DuplicateToken { .. } => "duplicate_token",
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
            Self::WrongTokenType => "wrong_token_type",
            Self::Revoked => "token_revoked",
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
            Self::MultipleAuthorizationHeaders | Self::DuplicateToken { .. } => {
                Some("invalid_request")
            }
            _ => Some("invalid_token"),
        }
    }

    /// The response this error becomes: the status, the RFC 6750
    /// `WWW-Authenticate` challenge for 400 and 401 (with `realm`), `Retry-After` for
    /// 503, and the JSON body `{"error": code, "message": ...}`.
    #[must_use]
    pub fn rejection(&self, realm: &str) -> Rejection {
        let status = self.status();
        let message = self.to_string();
        let mut rejection = Rejection::new(status, self.code(), message.clone());
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST) {
            let challenge = match self.rfc6750_code() {
                Some(code) => {
                    bearer_challenge(realm, &[("error", code), ("error_description", &message)])
                }
                None => bearer_challenge(realm, &[]),
            };
            rejection = rejection.with_www_authenticate(challenge);
        }
        if let Self::KeysUnavailable { retry_after, .. } = self {
            rejection = rejection.with_retry_after(*retry_after);
        }
        rejection
    }
}

/// How [`AuthError::DuplicateToken`] names the place.
fn duplicate_place(place: TokenSource) -> &'static str {
    match place {
        TokenSource::Query => "query parameter",
        other => other.as_str(),
    }
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
        status: StatusCode,
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
    /// No TLS provider: the `rust-crypto` backend brings none, and neither a rustls
    /// `CryptoProvider` was installed in the process nor a client given
    /// ([`AuthConfigBuilder::http_client`](crate::AuthConfigBuilder::http_client)).
    #[error("{0}")]
    NoTlsProvider(&'static str),
    /// A client of your own followed a redirect to another origin: keys and discovery
    /// are taken from the configured origin only. (authgate's own client does not
    /// follow such a redirect: that is an [`Http`](Self::Http) error.)
    #[error(
        "{url} redirected to another origin ({to}); keys and discovery are fetched from the configured origin only"
    )]
    CrossOriginRedirect {
        /// The URL requested.
        url: String,
        /// The origin the response came from.
        to: String,
    },
    /// The discovery document names another issuer than the configured one (after
    /// moving it back from the internal URL to the public origin, when one is set).
    #[error(
        "the discovery document names the issuer {discovered:?}, not the configured {configured:?}"
    )]
    IssuerMismatch {
        /// The configured issuer.
        configured: String,
        /// The `issuer` of the discovery document.
        discovered: String,
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
    /// Two settings (or environment variables) that must agree do not: the
    /// `AUTHENTIK_*` and the generic `OIDC_*` names for one thing, set to different
    /// values.
    #[error("{name} and {other} disagree: {reason}")]
    Conflict {
        /// The setting or variable name.
        name: &'static str,
        /// The other one.
        other: &'static str,
        /// What differs and how to fix it (never a secret's value).
        reason: String,
    },
    /// A variable of one issuer of several ([`AuthConfig::issuers_from_env`]) is
    /// missing or malformed: `source` is the error the single-issuer form gives, naming
    /// the variable without the issuer's prefix; this error names it in full.
    ///
    /// [`AuthConfig::issuers_from_env`]: crate::AuthConfig::issuers_from_env
    #[error("{}", crate::config::in_issuer_message(.variable, .source))]
    InIssuer {
        /// The issuer's name, as `AUTH_ISSUERS` lists it.
        issuer: String,
        /// The variable in full (`AUTH_ISSUER_KC_OIDC_AUDIENCE`).
        variable: String,
        /// The error of the single-issuer form.
        #[source]
        source: Box<ConfigError>,
    },
    /// A variable is set that nothing would read: a misspelt or stray
    /// `AUTH_ISSUER_<NAME>_*` variable ([`AuthConfig::issuers_from_env`]). Refused
    /// rather than ignored.
    ///
    /// [`AuthConfig::issuers_from_env`]: crate::AuthConfig::issuers_from_env
    #[error("{name} is set, but {reason}")]
    Unexpected {
        /// The variable.
        name: String,
        /// Why nothing reads it.
        reason: &'static str,
    },
    /// The issuers given to one authenticator
    /// ([`Authenticator::from_issuers`](crate::Authenticator::from_issuers)) cannot
    /// serve one layer: there are none, one issuer is given twice, or two disagree on
    /// a layer-wide `setting` (the cookie names, the CSRF check and its trusted
    /// origins, the token-size cap, the realm).
    #[error("the issuers cannot share one layer ({setting}): {reason}")]
    Issuers {
        /// The setting they disagree on (`issuer` for one given twice).
        setting: &'static str,
        /// What differs and how to fix it.
        reason: String,
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

    /// `name` and `other` are both set, to values that disagree; `reason` says how
    /// (never put a secret's value in it).
    #[must_use]
    pub fn conflict(name: &'static str, other: &'static str, reason: impl Into<String>) -> Self {
        Self::Conflict {
            name,
            other,
            reason: reason.into(),
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
