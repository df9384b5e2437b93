//! Why a flow request was refused, and the response it becomes.

use std::sync::Arc;
use std::time::Duration;

use authgate::Rejection;
use http::{HeaderValue, Response, StatusCode, header};

use crate::provider::TokenEndpointError;
use crate::store::StoreError;

/// Why the ID token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The token response has no `id_token` (was `openid` requested?).
    #[error("the token response has no ID token")]
    Missing,
    /// The core verifier refused it (signature, `iss`, `aud`, `exp`, …).
    #[error("the ID token failed verification")]
    Rejected(#[source] authgate::AuthError),
    /// Its `nonce` is absent or not the one sent with this login.
    #[error("the ID token's nonce does not match this login")]
    NonceMismatch,
    /// It was issued for several audiences and `azp` is not this client.
    #[error("the ID token was issued to another party (azp)")]
    AuthorizedPartyMismatch,
    /// Its `aud` does not contain this client id.
    #[error("the ID token is meant for another client")]
    AudienceMismatch,
    /// A refreshed ID token names another user than the session's (OIDC Core §12.2).
    #[error("the refreshed ID token is for another user than the session's")]
    SubjectChanged,
}

/// A refused flow request.
///
/// Why a flow request was refused, and the response it becomes.
///
/// Every failure is a [`FlowError`] with a status and a stable machine code, and
/// becomes the core's [`Rejection`] ([`FlowError::rejection`]): the same JSON body
/// `{"error": code, "message": ..., "details"?: ...}`, `Cache-Control: no-store` and
/// `Retry-After` as every other refusal in authgate. The browser-facing `GET /login`
/// and `GET /callback` answer a request that accepts `text/html` with a small HTML page
/// instead of the JSON body (same status and headers). Messages never contain a token
/// or a code.
///
/// ```
/// use authgate_flow::FlowError;
/// use http::StatusCode;
///
/// let err = FlowError::InvalidState;
/// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(err.code(), "invalid_state");
/// let response = err.to_response(false);
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// assert!(response.body().contains(r#""error":"invalid_state""#));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A parameter is missing or malformed.
    #[error("bad request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: &'static str,
    },
    /// `POST /exchange` without `Content-Type: application/json`.
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// An unsafe request from an origin that is not trusted.
    #[error("cross-site request refused: the origin is not trusted")]
    CrossSiteRequest,
    /// The callback's state is not the one this browser started the login with.
    #[error(
        "this login was not started in this browser (or another login replaced it); please sign in again"
    )]
    StateMismatch,
    /// The state is unknown, expired or already used.
    #[error("the login state is unknown, expired or already used; please sign in again")]
    InvalidState,
    /// The provider sent the browser back with an `error` parameter. Only the code is
    /// kept, and only a registered one (else `unknown_error`); the page shows fixed text
    /// for it. The provider's `error_description` is never shown: anyone can put text
    /// in a callback URL.
    #[error("{}", provider_error_text(error))]
    Provider {
        /// The OAuth `error` code: one of the registered codes, or `unknown_error`.
        error: &'static str,
    },
    /// The discovery document is not available (the provider is down or unreachable).
    #[error("the identity provider's configuration is not available")]
    ProviderUnavailable(#[source] Option<Arc<authgate::FetchError>>),
    /// The core is configured without OIDC discovery (`jwks_url`, `static_jwks`): the
    /// flow finds every endpoint through discovery and cannot run.
    #[error("the authenticator is configured without OIDC discovery, which the login flow needs")]
    DiscoveryDisabled,
    /// The discovery document lacks an endpoint the flow needs.
    #[error("the identity provider's discovery document has no usable {field}")]
    MissingEndpoint {
        /// The discovery field (`authorization_endpoint`, `token_endpoint`).
        field: &'static str,
    },
    /// The code exchange or the refresh at the token endpoint failed.
    #[error("the token endpoint failed")]
    TokenEndpoint(#[source] TokenEndpointError),
    /// The ID token was refused.
    #[error("the ID token was refused")]
    IdToken(#[source] IdTokenError),
    /// The exchange code is unknown, expired or already used.
    #[error("the exchange code is unknown, expired or already used")]
    InvalidExchangeCode,
    /// The exchange code was issued to another browser (the one that completed the
    /// callback holds its binding cookie); the code is burned.
    #[error("this exchange code was issued to another browser; please sign in again")]
    ExchangeNotBound,
    /// A back-channel logout token failed a check of Back-Channel Logout 1.0 §2.6.
    #[error("the logout token is refused: {reason}")]
    LogoutToken {
        /// Which check failed.
        reason: &'static str,
    },
    /// The core verifier refused a back-channel logout token (signature, `iss`,
    /// `aud`, `exp`, …).
    #[error("the logout token failed verification: {0}")]
    LogoutTokenRejected(#[source] authgate::AuthError),
    /// `POST /refresh` without a refresh cookie.
    #[error("no refresh token: please sign in again")]
    NoRefreshToken,
    /// The provider refused the refresh token.
    #[error("the session could not be refreshed: please sign in again")]
    RefreshRejected(#[source] Box<FlowError>),
    /// The store failed (Redis down, memory store full).
    #[error("the login store is unavailable")]
    Store(#[from] StoreError),
    /// `GET /session` was refused by the core authenticator.
    #[error("{error}")]
    Session {
        /// The core's reason.
        #[source]
        error: authgate::AuthError,
        /// The `WWW-Authenticate` realm.
        realm: Arc<str>,
    },
    /// The system random generator failed.
    #[error("randomness is unavailable")]
    Random(#[from] crate::crypto::RandomError),
    /// An internal step failed that should not (encoding a stored entry, a header).
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: &'static str,
    },
}

impl FlowError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest { .. }
            | Self::StateMismatch
            | Self::InvalidState
            | Self::Provider { .. }
            | Self::InvalidExchangeCode
            | Self::ExchangeNotBound
            | Self::LogoutToken { .. } => StatusCode::BAD_REQUEST,
            Self::LogoutTokenRejected(err) if err.status() == StatusCode::SERVICE_UNAVAILABLE => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::LogoutTokenRejected(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::CrossSiteRequest => StatusCode::FORBIDDEN,
            Self::NoRefreshToken | Self::RefreshRejected(_) => StatusCode::UNAUTHORIZED,
            Self::ProviderUnavailable(_) | Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TokenEndpoint(err) if err.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Self::TokenEndpoint(_) | Self::IdToken(_) | Self::MissingEndpoint { .. } => {
                StatusCode::BAD_GATEWAY
            }
            Self::Session { error, .. } => error.status(),
            Self::Random(_) | Self::Internal { .. } | Self::DiscoveryDisabled => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A stable machine code, sent as `error` in the JSON body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::CrossSiteRequest => "cross_site_request",
            Self::StateMismatch => "state_mismatch",
            Self::InvalidState => "invalid_state",
            Self::Provider { .. } => "provider_error",
            Self::ProviderUnavailable(_) => "provider_unavailable",
            Self::MissingEndpoint { .. } => "provider_misconfigured",
            Self::TokenEndpoint(err) if err.is_transient() => "provider_unavailable",
            Self::TokenEndpoint(_) => "token_exchange_failed",
            Self::IdToken(_) => "invalid_id_token",
            Self::InvalidExchangeCode => "invalid_exchange_code",
            Self::ExchangeNotBound => "exchange_not_bound",
            Self::LogoutToken { .. } | Self::LogoutTokenRejected(_) => "invalid_logout_token",
            Self::NoRefreshToken => "no_refresh_token",
            Self::RefreshRejected(_) => "refresh_failed",
            Self::Store(_) => "store_unavailable",
            Self::Session { error, .. } => error.code(),
            Self::Random(_) | Self::Internal { .. } => "internal_error",
            Self::DiscoveryDisabled => "discovery_disabled",
        }
    }

    /// The refusal as the core's [`Rejection`]: a session error is exactly what the
    /// core's layer answers (`WWW-Authenticate` included); a provider error carries its
    /// OAuth `error` and `error_description` as details; a 503 carries `Retry-After`.
    #[must_use]
    pub fn rejection(&self) -> Rejection {
        if let Self::Session { error, realm } = self {
            return error.rejection(realm);
        }
        let mut rejection = Rejection::new(self.status(), self.code(), self.to_string());
        if let Self::Provider { error } = self {
            rejection = rejection.with_details(serde_json::json!({ "providerError": error }));
        }
        if rejection.status() == StatusCode::SERVICE_UNAVAILABLE {
            rejection = rejection.with_retry_after(RETRY_AFTER);
        }
        rejection
    }

    /// The core's error behind this refusal, for an [`OnRejection`](authgate::OnRejection)
    /// hook: the reason `GET /session` was refused. The errors of ID and logout tokens
    /// are the provider's, not the request's credentials, so they are not given.
    pub(crate) fn auth_error(&self) -> Option<&authgate::AuthError> {
        match self {
            Self::Session { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The response: the [`rejection`](Self::rejection), with (`html`) a small page
    /// as its body instead of the JSON.
    #[must_use]
    pub fn to_response(&self, html: bool) -> Response<String> {
        let mut response: Response<String> = self.rejection().into_response();
        if html && !matches!(self, Self::Session { .. }) {
            *response.body_mut() = self.html_page();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        }
        response
    }

    fn html_page(&self) -> String {
        let code = match self {
            Self::Provider { error } => format!("{} ({error})", self.code()),
            _ => self.code().to_owned(),
        };
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>Sign-in failed</title></head>\n<body>\
             <h1>Sign-in failed</h1><p>{}</p><p><small>code: {}</small></p>\
             </body></html>\n",
            escape(&self.to_string()),
            code,
        )
    }
}

/// The OAuth and OpenID Connect authorization error codes (RFC 6749 §4.1.2.1, OIDC
/// Core §3.1.2.6), each with the fixed text shown for it.
const PROVIDER_ERRORS: &[(&str, &str)] = &[
    ("access_denied", "the sign-in was cancelled or not allowed"),
    (
        "login_required",
        "the identity provider needs you to sign in again",
    ),
    (
        "interaction_required",
        "the identity provider needs you to act before signing in",
    ),
    (
        "consent_required",
        "the identity provider needs your consent",
    ),
    (
        "account_selection_required",
        "the identity provider needs you to choose an account",
    ),
    (
        "invalid_request",
        "the identity provider refused the sign-in request",
    ),
    (
        "unauthorized_client",
        "this application may not sign users in this way",
    ),
    (
        "unsupported_response_type",
        "the identity provider does not support this sign-in",
    ),
    (
        "invalid_scope",
        "the identity provider refused the requested permissions",
    ),
    (
        "server_error",
        "the identity provider failed; please try again",
    ),
    (
        "temporarily_unavailable",
        "the identity provider is busy; please try again later",
    ),
    (
        "request_not_supported",
        "the identity provider refused the sign-in request",
    ),
    (
        "request_uri_not_supported",
        "the identity provider refused the sign-in request",
    ),
    (
        "registration_not_supported",
        "the identity provider refused the sign-in request",
    ),
    (
        "invalid_request_uri",
        "the identity provider refused the sign-in request",
    ),
    (
        "invalid_request_object",
        "the identity provider refused the sign-in request",
    ),
];

/// The registered code for the `error` a callback carried, or `unknown_error`.
pub(crate) fn provider_error_code(error: &str) -> &'static str {
    PROVIDER_ERRORS
        .iter()
        .find(|(code, _)| *code == error)
        .map_or("unknown_error", |(code, _)| code)
}

/// The fixed text for a provider error code.
fn provider_error_text(code: &str) -> String {
    let text = PROVIDER_ERRORS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("the identity provider reported an error", |(_, text)| text);
    format!("sign-in failed at the identity provider: {text}")
}

/// When to retry after a 503 of the flow (the provider or the store is down).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Marks a response `Cache-Control: no-store` (every flow response is).
pub(crate) fn no_store(response: &mut Response<String>) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let cases: Vec<(FlowError, u16, &str)> = vec![
            (FlowError::InvalidState, 400, "invalid_state"),
            (FlowError::StateMismatch, 400, "state_mismatch"),
            (FlowError::InvalidExchangeCode, 400, "invalid_exchange_code"),
            (FlowError::ExchangeNotBound, 400, "exchange_not_bound"),
            (
                FlowError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (FlowError::CrossSiteRequest, 403, "cross_site_request"),
            (FlowError::NoRefreshToken, 401, "no_refresh_token"),
            (
                FlowError::ProviderUnavailable(None),
                503,
                "provider_unavailable",
            ),
            (
                FlowError::Store(StoreError::Full { capacity: 1 }),
                503,
                "store_unavailable",
            ),
            (
                FlowError::TokenEndpoint(TokenEndpointError::Status {
                    status: StatusCode::BAD_GATEWAY,
                }),
                503,
                "provider_unavailable",
            ),
            (
                FlowError::TokenEndpoint(TokenEndpointError::Refused {
                    status: StatusCode::BAD_REQUEST,
                    error: "invalid_grant".into(),
                    description: None,
                }),
                502,
                "token_exchange_failed",
            ),
            (
                FlowError::IdToken(IdTokenError::NonceMismatch),
                502,
                "invalid_id_token",
            ),
            (
                FlowError::Session {
                    error: authgate::AuthError::MissingToken,
                    realm: "api".into(),
                },
                401,
                "missing_token",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
            let response = err.to_response(false);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["cache-control"], "no-store");
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(body["error"], code);
        }
    }

    #[test]
    fn unavailable_answers_carry_retry_after() {
        let response = FlowError::ProviderUnavailable(None).to_response(false);
        assert_eq!(response.headers()["retry-after"], "5");
    }

    #[test]
    fn callback_errors_show_fixed_text_never_the_providers() {
        // Whatever the URL says, only a registered code reaches the page, with our text.
        for (given, code) in [
            ("access_denied", "access_denied"),
            ("<script>alert(1)</script>", "unknown_error"),
            ("please_call_+1-555-0100", "unknown_error"),
        ] {
            let err = FlowError::Provider {
                error: provider_error_code(given),
            };
            assert_eq!(err.code(), "provider_error");
            let page = err.to_response(true).into_body();
            assert!(page.contains(code), "{page}");
            assert!(!page.contains("script") && !page.contains("555"), "{page}");
            let json: serde_json::Value =
                serde_json::from_str(&err.to_response(false).into_body()).unwrap();
            assert_eq!(json["details"]["providerError"], code);
        }
        let denied = FlowError::Provider {
            error: "access_denied",
        };
        assert!(denied.to_string().contains("cancelled or not allowed"));
    }

    #[test]
    fn session_errors_answer_like_the_core() {
        let response = FlowError::Session {
            error: authgate::AuthError::Expired,
            realm: "api".into(),
        }
        .to_response(true);
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with(r#"Bearer realm="api", error="invalid_token""#)
        );
    }
}
