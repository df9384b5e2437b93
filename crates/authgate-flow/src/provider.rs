//! Talking to the provider's token endpoint, server to server, and building the
//! end-session URL. Endpoints come from the discovery document only.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use url::Url;

use crate::config::{ClientAuth, FlowConfig, FlowConfigError};

/// A token, whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(pub(crate) String);

impl Secret {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.len())
    }
}

/// A successful token endpoint response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: Secret,
    pub(crate) token_type: String,
    #[serde(default)]
    pub(crate) expires_in: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) refresh_token: Option<Secret>,
    /// Keycloak and others state the refresh token's lifetime.
    #[serde(default)]
    pub(crate) refresh_expires_in: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) id_token: Option<Secret>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenEndpointError {
    /// The request did not get an answer (connect, TLS, timeout).
    #[error("the token endpoint could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// The provider refused the grant (`invalid_grant`, `invalid_client`, …).
    #[error("the provider refused the grant: {error}")]
    Refused {
        /// The HTTP status.
        status: http::StatusCode,
        /// The OAuth `error` code (only visible ASCII, at most 64 bytes).
        error: String,
        /// The `error_description`, if any (shortened, control characters removed).
        description: Option<String>,
    },
    /// The provider failed (a 5xx answer without an OAuth error).
    #[error("the token endpoint answered with status {status}")]
    Status {
        /// The HTTP status.
        status: http::StatusCode,
    },
    /// The answer was not a valid token response.
    #[error("the token endpoint's answer is not a valid token response")]
    InvalidResponse(#[source] serde_json::Error),
    /// The answer was larger than the configured cap.
    #[error("the token endpoint's answer is larger than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The answer is a token response, but not one the flow can use.
    #[error("the token response is unusable: {reason}")]
    Unusable {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A client of the application's followed a redirect away from the endpoint
    /// (the flow's own client follows none).
    #[error("the provider endpoint redirected; the flow's requests follow no redirect")]
    Redirected,
}

impl TokenEndpointError {
    /// Whether the provider refused the grant itself (`invalid_grant`: a spent,
    /// revoked or expired code or refresh token).
    #[must_use]
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::Refused { error, .. } if error == "invalid_grant")
    }

    /// Whether the provider is (probably) only temporarily unable to answer: nothing
    /// about the grant itself was decided.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Status { status } => {
                status.is_server_error() || *status == http::StatusCode::TOO_MANY_REQUESTS
            }
            Self::Refused { status, error, .. } => {
                status.is_server_error()
                    || *status == http::StatusCode::TOO_MANY_REQUESTS
                    || error == "temporarily_unavailable"
            }
            _ => false,
        }
    }
}

/// A grant to send.
pub(crate) enum Grant<'a> {
    Code {
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    },
    Refresh {
        refresh_token: &'a str,
    },
    /// Not a grant: the body of an RFC 7009 revocation request.
    Revoke {
        token: &'a str,
    },
}

/// Calls the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct TokenClient {
    http: reqwest::Client,
    config: FlowConfig,
}

/// Keeps only visible ASCII, at most `max` bytes: provider text is shown to users.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(max)
        .collect()
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl TokenClient {
    /// The application's client ([`FlowConfigBuilder::http_client`]) or the flow's
    /// own: the configured timeouts, no redirects, the flow's user agent.
    ///
    /// [`FlowConfigBuilder::http_client`]: crate::FlowConfigBuilder::http_client
    pub(crate) fn new(config: FlowConfig) -> Result<Self, FlowConfigError> {
        if let Some(http) = config.inner.http_client.clone() {
            return Ok(Self { http, config });
        }
        if let Some(reason) = authgate::__private::default_client_error() {
            return Err(FlowConfigError::NoTlsProvider(reason));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.inner.http_timeout.min(Duration::from_secs(5)))
            .timeout(config.inner.http_timeout)
            // Client credentials must never follow a redirect elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authgate-flow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(FlowConfigError::HttpClient)?;
        Ok(Self { http, config })
    }

    /// A form `POST` to `endpoint`, with the flow's total timeout whichever client
    /// sends it.
    fn post(&self, endpoint: Url) -> reqwest::RequestBuilder {
        self.http
            .post(endpoint)
            .timeout(self.config.inner.http_timeout)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
    }

    /// The form body and the `Authorization` header (for `client_secret_basic`).
    fn encode(&self, grant: Grant<'_>) -> (String, Option<String>) {
        let c = &self.config.inner;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match grant {
            Grant::Code {
                code,
                verifier,
                redirect_uri,
            } => {
                form.append_pair("grant_type", "authorization_code")
                    .append_pair("code", code)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("code_verifier", verifier);
            }
            Grant::Refresh { refresh_token } => {
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh_token);
            }
            Grant::Revoke { token } => {
                form.append_pair("token", token)
                    .append_pair("token_type_hint", "refresh_token");
            }
        }
        let secret = c.client_secret.as_deref().unwrap_or_default();
        let mut authorization = None;
        match c.client_auth {
            ClientAuth::ClientSecretBasic => {
                let credentials = format!("{}:{}", form_encode(&c.client_id), form_encode(secret));
                authorization = Some(format!("Basic {}", STANDARD.encode(credentials)));
            }
            ClientAuth::ClientSecretPost => {
                form.append_pair("client_id", &c.client_id)
                    .append_pair("client_secret", secret);
            }
            ClientAuth::None => {
                form.append_pair("client_id", &c.client_id);
            }
        }
        (form.finish(), authorization)
    }

    /// Sends `grant` to `endpoint` (already rewritten to the internal URL), with the
    /// client authentication the configuration names. An answer that came from
    /// another URL (a client of the application's followed a redirect) is refused.
    async fn send(
        &self,
        endpoint: Url,
        grant: Grant<'_>,
    ) -> Result<reqwest::Response, TokenEndpointError> {
        let (body, authorization) = self.encode(grant);
        let mut request = self
            .post(endpoint.clone())
            .header(http::header::ACCEPT, "application/json");
        if let Some(authorization) = authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(TokenEndpointError::Unreachable)?;
        if *response.url() != endpoint {
            return Err(TokenEndpointError::Redirected);
        }
        Ok(response)
    }

    /// Revokes `refresh_token` at the RFC 7009 `endpoint` (already rewritten to the
    /// internal URL), authenticating as at the token endpoint.
    pub(crate) async fn revoke(
        &self,
        endpoint: Url,
        refresh_token: &str,
    ) -> Result<(), TokenEndpointError> {
        let response = self
            .send(
                endpoint,
                Grant::Revoke {
                    token: refresh_token,
                },
            )
            .await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(TokenEndpointError::Status { status })
        }
    }

    /// Sends `grant` to `endpoint` (already rewritten to the internal URL).
    pub(crate) async fn request(
        &self,
        endpoint: Url,
        grant: Grant<'_>,
    ) -> Result<TokenResponse, TokenEndpointError> {
        let mut response = self.send(endpoint, grant).await?;
        let status = response.status();
        let limit = self.config.inner.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(TokenEndpointError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(TokenEndpointError::Unreachable)?
        {
            if body.len() + chunk.len() > limit {
                return Err(TokenEndpointError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorResponse>(&body) {
                Ok(err) => TokenEndpointError::Refused {
                    status,
                    error: sanitize(&err.error, 64),
                    description: err.error_description.map(|d| sanitize(&d, 200)),
                },
                Err(_) if status.is_server_error() => TokenEndpointError::Status { status },
                Err(_) => TokenEndpointError::Refused {
                    status,
                    error: String::from("unknown_error"),
                    description: None,
                },
            });
        }
        let tokens: TokenResponse =
            serde_json::from_slice(&body).map_err(TokenEndpointError::InvalidResponse)?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err(TokenEndpointError::Unusable {
                reason: "token_type is not Bearer",
            });
        }
        Ok(tokens)
    }
}

/// A number of seconds from a JSON number or numeric string (some providers send
/// `"expires_in": "300"`).
pub(crate) fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `exp` of a JWT, read without verifying it: only to size a cookie's lifetime.
pub(crate) fn unverified_exp(token: &str) -> Option<i64> {
    unverified_claim(token, "exp")?.as_i64()
}

/// A claim of a JWT the flow itself set in an HttpOnly cookie (not verified again).
pub(crate) fn unverified_claim(token: &str, name: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).ok()?;
    claims.remove(name)
}

/// The end-session URL: `end_session_endpoint` with `id_token_hint` (when the ID
/// token is known), `post_logout_redirect_uri` and `client_id` (RP-Initiated Logout
/// 1.0 §2). Without an end-session endpoint, the post-logout URL itself.
pub(crate) fn logout_url(
    end_session_endpoint: Option<&str>,
    id_token: Option<&str>,
    post_logout_redirect_uri: &str,
    client_id: &str,
) -> String {
    let Some(mut url) = end_session_endpoint.and_then(|e| Url::parse(e).ok()) else {
        return post_logout_redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        if let Some(id_token) = id_token {
            query.append_pair("id_token_hint", id_token);
        }
        query
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
            .append_pair("client_id", client_id);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> Vec<(String, String)> {
        Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn logout_url_carries_hint_redirect_and_client() {
        let url = logout_url(
            Some("https://auth.example.com/application/o/shop/end-session/"),
            Some("h.p.s"),
            "https://app.example.com/",
            "client",
        );
        assert!(url.starts_with("https://auth.example.com/application/o/shop/end-session/?"));
        assert_eq!(
            query(&url),
            [
                ("id_token_hint".to_owned(), "h.p.s".to_owned()),
                (
                    "post_logout_redirect_uri".to_owned(),
                    "https://app.example.com/".to_owned()
                ),
                ("client_id".to_owned(), "client".to_owned()),
            ]
        );
    }

    #[test]
    fn logout_url_keeps_existing_query_and_encodes() {
        let url = logout_url(
            Some("https://idp.example.com/logout?tenant=a"),
            None,
            "https://app.example.com/bye?x=1&y=2",
            "client id",
        );
        let pairs = query(&url);
        assert_eq!(pairs[0], ("tenant".to_owned(), "a".to_owned()));
        assert!(!pairs.iter().any(|(k, _)| k == "id_token_hint"));
        assert!(pairs.contains(&(
            "post_logout_redirect_uri".to_owned(),
            "https://app.example.com/bye?x=1&y=2".to_owned()
        )));
        assert!(url.contains("client+id") || url.contains("client%20id"));
    }

    #[test]
    fn logout_url_without_end_session_is_the_post_logout_url() {
        assert_eq!(
            logout_url(None, Some("t"), "https://app.example.com/", "c"),
            "https://app.example.com/"
        );
        assert_eq!(
            logout_url(
                Some("not a url"),
                Some("t"),
                "https://app.example.com/",
                "c"
            ),
            "https://app.example.com/"
        );
    }

    #[test]
    fn seconds_from_numbers_and_strings() {
        use serde_json::json;
        assert_eq!(seconds(Some(&json!(300))), Some(300));
        assert_eq!(seconds(Some(&json!(299.9))), Some(299));
        assert_eq!(seconds(Some(&json!("600"))), Some(600));
        assert_eq!(seconds(Some(&json!(-1))), None);
        assert_eq!(seconds(Some(&json!("soon"))), None);
        assert_eq!(seconds(None), None);
    }

    #[test]
    fn unverified_exp_reads_jwt_payloads_only() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        assert_eq!(
            unverified_exp(&format!("h.{payload}.s")),
            Some(1_700_000_000)
        );
        assert_eq!(unverified_exp("opaque-refresh-token"), None);
        assert_eq!(unverified_exp("a.!!!.c"), None);
    }

    #[test]
    fn provider_text_is_sanitized() {
        assert_eq!(sanitize("invalid_grant", 64), "invalid_grant");
        assert_eq!(sanitize("bad\r\n<script>", 64), "bad<script>");
        assert_eq!(sanitize(&"x".repeat(100), 64).len(), 64);
    }

    #[test]
    fn transient_failures_are_told_apart_from_refusals() {
        let refused = |status: u16, error: &str| TokenEndpointError::Refused {
            status: http::StatusCode::from_u16(status).unwrap(),
            error: error.to_owned(),
            description: None,
        };
        assert!(!refused(400, "invalid_grant").is_transient());
        assert!(!refused(401, "invalid_client").is_transient());
        assert!(refused(429, "slow_down").is_transient());
        assert!(refused(503, "temporarily_unavailable").is_transient());
        assert!(refused(400, "temporarily_unavailable").is_transient());
        assert!(
            TokenEndpointError::Status {
                status: http::StatusCode::BAD_GATEWAY
            }
            .is_transient()
        );
        assert!(!TokenEndpointError::Unusable { reason: "x" }.is_transient());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let secret = Secret("eyJ.secret.token".to_owned());
        assert_eq!(format!("{secret:?}"), "<redacted 16 bytes>");
    }

    /// A token endpoint that answers 307 to another server, which would take the
    /// request (client secret and code included) and answer with tokens.
    async fn redirecting_endpoint() -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let reached = std::sync::Arc::new(AtomicUsize::new(0));
        let count = reached.clone();
        let elsewhere = axum::Router::new().route(
            "/token",
            axum::routing::post(move || {
                count.fetch_add(1, Ordering::SeqCst);
                async {
                    axum::Json(serde_json::json!({
                        "access_token": "a.b.c", "token_type": "Bearer", "expires_in": 60
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, elsewhere).await });
        let redirector = axum::Router::new().route(
            "/token",
            axum::routing::post(move || {
                let target = target.clone();
                async move { axum::response::Redirect::temporary(&target) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, redirector).await });
        (Url::parse(&endpoint).unwrap(), reached)
    }

    fn config(client: Option<reqwest::Client>) -> FlowConfig {
        let builder = FlowConfig::builder("client", "http://127.0.0.1:1", "http://127.0.0.1:2")
            .client_secret("secret");
        match client {
            Some(client) => builder.http_client(client),
            None => builder,
        }
        .build()
        .unwrap()
    }

    /// The flow's requests carry the client secret: its own client follows no
    /// redirect, and the answer a client of the application's got by following one
    /// is refused, for the token endpoint and for revocation alike.
    #[tokio::test]
    async fn a_redirected_token_request_is_refused() {
        use std::sync::atomic::Ordering;
        let (endpoint, reached) = redirecting_endpoint().await;
        let code = Grant::Code {
            code: "code",
            verifier: "verifier",
            redirect_uri: "http://127.0.0.1:2/auth/callback",
        };

        let own = TokenClient::new(config(None)).unwrap();
        let err = own.request(endpoint.clone(), code).await.unwrap_err();
        assert!(
            matches!(err, TokenEndpointError::Refused { status, .. } if status == 307),
            "{err:?}"
        );
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "the own client followed it"
        );

        // reqwest's default policy follows a 307 with the body: the tokens come back,
        // from the wrong place, and are refused.
        let theirs = TokenClient::new(config(Some(reqwest::Client::new()))).unwrap();
        let code = Grant::Code {
            code: "code",
            verifier: "verifier",
            redirect_uri: "http://127.0.0.1:2/auth/callback",
        };
        let err = theirs.request(endpoint.clone(), code).await.unwrap_err();
        assert!(matches!(err, TokenEndpointError::Redirected), "{err:?}");
        let err = theirs.revoke(endpoint, "refresh").await.unwrap_err();
        assert!(matches!(err, TokenEndpointError::Redirected), "{err:?}");
        assert_eq!(reached.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encode("a b:c/d"), "a+b%3Ac%2Fd");
    }
}
