//! The framework-neutral flow: [`Flow::handle`] takes an [`Endpoint`] and a
//! [`FlowRequest`] and answers with an `http::Response<String>`. The axum and
//! actix-web fronts only translate requests and responses.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authgate::{AuthConfig, Authenticator};
//! use authgate_flow::{Endpoint, Flow, FlowConfig, FlowRequest};
//! use authgate_testkit::TestIssuer;
//!
//! let issuer = TestIssuer::start().await?; // serves discovery and JWKS on loopback
//! let auth = Authenticator::new(
//!     AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?,
//! );
//! let config = FlowConfig::builder(issuer.client_id(), "http://localhost:5173", "http://localhost:3000")
//!     .client_secret("s3cret")
//!     .build()?;
//! let flow = Flow::new(auth, config)?;
//!
//! let request = FlowRequest::new(http::HeaderMap::new()).query("redirect=/orders");
//! let response = flow.handle(Endpoint::Login, request).await;
//! assert_eq!(response.status(), 302);
//! let location = response.headers()["location"].to_str()?;
//! assert!(location.starts_with(&format!("{}/application/o/authorize/?", issuer.base_url())));
//! assert!(location.contains("code_challenge_method=S256"));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authgate::{Authenticator, Claims, ProviderMetadata, User};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{FlowConfig, FlowConfigError};
use crate::cookies::{Cookies, FlowCookie, cookie_value, is_cookie_safe};
use crate::crypto::{
    constant_time_eq, is_token_shaped, open, pkce_challenge, random_token, seal, store_key,
};
use crate::error::{FlowError, IdTokenError, no_store};
use crate::provider::{
    Grant, Secret, TokenClient, TokenEndpointError, TokenResponse, logout_url, sanitize, seconds,
    unverified_exp,
};
use crate::redirect::safe_redirect_path;
use crate::store::{MemoryStore, Store};

const STATE: &str = "state";
const EXCHANGE: &str = "exchange";

/// One of the flow's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET {prefix}/login?redirect=/path`: starts a login at the provider.
    Login,
    /// `GET {prefix}/callback?code&state`: the provider sends the browser back here.
    Callback,
    /// `POST {prefix}/exchange` `{"code": ...}`: trades the one-time code for cookies.
    Exchange,
    /// `POST {prefix}/refresh`: new cookies from the refresh cookie.
    Refresh,
    /// `GET {prefix}/session`: the current user.
    Session,
    /// `POST {prefix}/logout`: clears the cookies, answers the provider's logout URL.
    Logout,
}

impl Endpoint {
    /// Every endpoint, in the order above.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Login,
        Endpoint::Callback,
        Endpoint::Exchange,
        Endpoint::Refresh,
        Endpoint::Session,
        Endpoint::Logout,
    ];

    /// The path below the prefix (`/login`, …).
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::Login => "/login",
            Self::Callback => "/callback",
            Self::Exchange => "/exchange",
            Self::Refresh => "/refresh",
            Self::Session => "/session",
            Self::Logout => "/logout",
        }
    }

    /// The method it answers.
    #[must_use]
    pub fn method(self) -> Method {
        match self {
            Self::Login | Self::Callback | Self::Session => Method::GET,
            Self::Exchange | Self::Refresh | Self::Logout => Method::POST,
        }
    }

    /// Whether a browser navigates to it (so an error may be answered as a page).
    fn is_navigation(self) -> bool {
        matches!(self, Self::Login | Self::Callback)
    }
}

/// What the flow needs of a request: its query string, headers and body.
#[derive(Default)]
pub struct FlowRequest {
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and the query carry cookies, codes and tokens: names only.
        f.debug_struct("FlowRequest")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl FlowRequest {
    /// A request with these headers, no query and no body.
    #[must_use]
    pub fn new(headers: HeaderMap) -> Self {
        Self {
            query: None,
            headers,
            body: Bytes::new(),
        }
    }

    /// Sets the raw query string (without the `?`).
    #[must_use]
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// What a login state keeps between `/login` and `/callback`.
#[derive(Serialize, Deserialize)]
struct StateEntry {
    verifier: String,
    nonce: String,
    redirect: String,
}

/// What an exchange code keeps between `/callback` and `/exchange`.
#[derive(Serialize, Deserialize)]
struct ExchangeEntry {
    access: Secret,
    access_exp: i64,
    refresh: Option<Secret>,
    refresh_exp: Option<i64>,
    id: Option<Secret>,
    redirect: String,
}

/// The browser login flow; cheap to clone. See the [crate docs](crate) and the
/// [module docs](self).
pub struct Flow<U = User> {
    inner: Arc<Inner<U>>,
}

impl<U> Clone for Flow<U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<U> fmt::Debug for Flow<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

struct Inner<U> {
    auth: Authenticator<U>,
    ids: Authenticator<Claims>,
    config: FlowConfig,
    store: Arc<dyn Store>,
    client: TokenClient,
    cookies: Cookies,
    trusted_origins: Vec<String>,
}

/// Builds a [`Flow`]; made by [`Flow::builder`].
#[must_use]
pub struct FlowBuilder<U = User> {
    auth: Authenticator<U>,
    config: FlowConfig,
    store: Option<Arc<dyn Store>>,
}

impl<U> fmt::Debug for FlowBuilder<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Flow<User> {
    /// The whole flow from the environment: the core's [`authgate::AuthConfig::from_env`]
    /// (`AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG`, `AUTHENTIK_CLIENT_ID`,
    /// `AUTH_COOKIE_NAME`, …), [`FlowConfig::from_env`] (`AUTHENTIK_CLIENT_SECRET`,
    /// `FRONTEND_URL`, `API_URL`, `APP_ENV`, …), and a [`MemoryStore`].
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, FlowConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed
    /// (for the core's variables too).
    pub fn from_env_with<F>(get: F) -> Result<Self, FlowConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let auth = Authenticator::new(authgate::AuthConfig::from_env_with(&get)?);
        Self::new(auth, FlowConfig::from_env_with(&get)?)
    }
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// A flow with the default [`MemoryStore`].
    ///
    /// # Errors
    ///
    /// As for [`FlowBuilder::build`].
    pub fn new(auth: Authenticator<U>, config: FlowConfig) -> Result<Self, FlowConfigError> {
        Self::builder(auth, config).build()
    }

    /// Starts a flow over this authenticator (whose configuration names the issuer,
    /// the access cookie and the internal URL) and flow configuration.
    pub fn builder(auth: Authenticator<U>, config: FlowConfig) -> FlowBuilder<U> {
        FlowBuilder {
            auth,
            config,
            store: None,
        }
    }

    /// The flow configuration.
    #[must_use]
    pub fn config(&self) -> &FlowConfig {
        &self.inner.config
    }

    /// The core authenticator (the one `GET /session` uses).
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        &self.inner.auth
    }

    /// The name of one of the flow's cookies.
    ///
    /// ```
    /// use authgate::{AuthConfig, Authenticator};
    /// use authgate_flow::{Flow, FlowConfig, FlowCookie};
    ///
    /// let auth = Authenticator::new(AuthConfig::authentik("https://auth.example.com", "shop", "client").build()?);
    /// let config = FlowConfig::builder("client", "https://app.example.com", "https://api.example.com")
    ///     .client_secret("s3cret")
    ///     .build()?;
    /// let flow = Flow::new(auth, config)?;
    /// // With the default AUTH_COOKIE_NAME and prefix:
    /// assert_eq!(flow.cookie_name(FlowCookie::Access), "app_auth");
    /// assert_eq!(flow.cookie_name(FlowCookie::Refresh), "app_auth_refresh");
    /// assert_eq!(flow.cookie_path(FlowCookie::Refresh), "/auth/refresh");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn cookie_name(&self, cookie: FlowCookie) -> &str {
        self.inner.cookies.name(cookie)
    }

    /// The `Path` of one of the flow's cookies.
    #[must_use]
    pub fn cookie_path(&self, cookie: FlowCookie) -> String {
        self.inner.cookies.path(cookie)
    }

    /// Answers one request. Never panics on bad input: every failure is a
    /// [`FlowError`] response.
    pub async fn handle(&self, endpoint: Endpoint, request: FlowRequest) -> Response<String> {
        let result = match endpoint {
            Endpoint::Login => self.login(&request).await,
            Endpoint::Callback => self.callback(&request).await,
            Endpoint::Exchange => self.exchange(&request).await,
            Endpoint::Refresh => self.refresh(&request).await,
            Endpoint::Session => self.session(&request).await,
            Endpoint::Logout => self.logout(&request).await,
        };
        let mut response = match result {
            Ok(response) => response,
            Err(err) => {
                tracing::debug!(
                    endpoint = endpoint.path(),
                    code = err.code(),
                    error = %err,
                    source = ?std::error::Error::source(&err).map(ToString::to_string),
                    "login flow request refused"
                );
                let html = endpoint.is_navigation() && accepts_html(&request.headers);
                let mut response = err.to_response(html);
                if endpoint == Endpoint::Refresh && err.status() == 401 {
                    // The refresh token is gone or refused: the session is over.
                    for cookie in self.inner.cookies.clear_session() {
                        append_cookie(&mut response, &cookie);
                    }
                }
                response
            }
        };
        if endpoint == Endpoint::Callback {
            // The login binding is single use, whatever the outcome.
            append_cookie(&mut response, &self.inner.cookies.clear(FlowCookie::Login));
        }
        response
    }

    async fn login(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let c = &self.inner.config.inner;
        // Anything refused (repeated, not local) falls back to the default.
        let redirect = single_param(req.query.as_deref(), "redirect")
            .ok()
            .flatten()
            .and_then(|r| safe_redirect_path(&r).map(str::to_owned))
            .unwrap_or_else(|| c.default_redirect.clone());
        let meta = self.metadata().await?;
        // The browser goes there: the public origin, even when discovery went through
        // the internal URL and named internal endpoints.
        let mut authorize = meta
            .authorization_endpoint
            .as_deref()
            .and_then(|e| self.inner.auth.config().browser_url(e).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(FlowError::MissingEndpoint {
                field: "authorization_endpoint",
            })?;
        // Fail before the user signs in, not after.
        self.token_endpoint(&meta)?;
        let state = random_token()?;
        let verifier = random_token()?;
        let nonce = random_token()?;
        let entry = StateEntry {
            verifier,
            nonce,
            redirect,
        };
        let plain = serde_json::to_vec(&entry).map_err(|_| FlowError::Internal {
            reason: "the login state could not be encoded",
        })?;
        self.inner
            .store
            .put(
                &store_key(STATE, &state),
                seal(STATE, &state, &plain)?,
                c.state_ttl,
            )
            .await?;
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &c.callback_url)
            .append_pair("scope", &c.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &entry.nonce)
            .append_pair("code_challenge", &pkce_challenge(&entry.verifier))
            .append_pair("code_challenge_method", "S256");
        let mut response = redirect_to(authorize.as_str())?;
        if self.bind_state() {
            let cookie = self
                .inner
                .cookies
                .set(FlowCookie::Login, &state, c.state_ttl);
            append_cookie(&mut response, &cookie);
        }
        Ok(response)
    }

    /// Whether the login state is bound to the browser with the login cookie (part of
    /// the CSRF protection).
    fn bind_state(&self) -> bool {
        self.inner.config.inner.csrf
    }

    async fn callback(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let c = &self.inner.config.inner;
        let query = req.query.as_deref();
        let state = single_param(query, "state")?;
        if let Some(error) = single_param(query, "error")? {
            // Use up the state so it cannot serve again.
            if let Some(state) = state.as_deref().filter(|s| is_token_shaped(s)) {
                self.inner.store.take(&store_key(STATE, state)).await?;
            }
            return Err(FlowError::Provider {
                error: sanitize(&error, 64),
                description: single_param(query, "error_description")?.map(|d| sanitize(&d, 200)),
            });
        }
        let state = state.ok_or(FlowError::InvalidRequest {
            reason: "the callback has no state parameter",
        })?;
        let code = single_param(query, "code")?
            .filter(|code| !code.is_empty())
            .ok_or(FlowError::InvalidRequest {
                reason: "the callback has no code parameter",
            })?;
        if !is_token_shaped(&state) {
            return Err(FlowError::InvalidState);
        }
        // RFC 9207: a provider that names itself must be ours (mix-up defence).
        if single_param(query, "iss")?.is_some_and(|iss| iss != self.inner.auth.config().issuer()) {
            return Err(FlowError::InvalidRequest {
                reason: "the callback's iss is not the configured issuer",
            });
        }
        let sealed = self
            .inner
            .store
            .take(&store_key(STATE, &state))
            .await?
            .ok_or(FlowError::InvalidState)?;
        let entry: StateEntry = open(STATE, &state, sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or(FlowError::InvalidState)?;
        if self.bind_state() {
            let bound = cookie_value(&req.headers, self.inner.cookies.name(FlowCookie::Login))
                .is_some_and(|value| constant_time_eq(value.as_bytes(), state.as_bytes()));
            if !bound {
                return Err(FlowError::StateMismatch);
            }
        }
        let meta = self.metadata().await?;
        let token_url = self.token_endpoint(&meta)?;
        let grant = Grant::Code {
            code: &code,
            verifier: &entry.verifier,
            redirect_uri: &c.callback_url,
        };
        let tokens = self
            .inner
            .client
            .request(token_url, grant)
            .await
            .map_err(FlowError::TokenEndpoint)?;
        let id_token = tokens
            .id_token
            .as_ref()
            .ok_or(FlowError::IdToken(IdTokenError::Missing))?;
        self.verify_id_token(id_token.as_str(), Some(&entry.nonce))
            .await?;
        check_cookie_safe(&tokens)?;
        let now = unix_now();
        let exchange = ExchangeEntry {
            access_exp: now.saturating_add(secs(self.access_lifetime(&tokens, now))),
            refresh_exp: tokens
                .refresh_token
                .as_ref()
                .map(|r| now.saturating_add(secs(self.refresh_lifetime(&tokens, r, now)))),
            access: tokens.access_token,
            refresh: tokens.refresh_token,
            id: tokens.id_token,
            redirect: entry.redirect,
        };
        let plain = serde_json::to_vec(&exchange).map_err(|_| FlowError::Internal {
            reason: "the exchange entry could not be encoded",
        })?;
        let code = random_token()?;
        self.inner
            .store
            .put(
                &store_key(EXCHANGE, &code),
                seal(EXCHANGE, &code, &plain)?,
                c.exchange_ttl,
            )
            .await?;
        let mut location = c.frontend_callback_url.clone();
        location.query_pairs_mut().append_pair("exchange", &code);
        let mut response = redirect_to(location.as_str())?;
        response.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        Ok(response)
    }

    async fn exchange(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        if !is_json(&req.headers) {
            return Err(FlowError::UnsupportedMediaType);
        }
        #[derive(Deserialize)]
        struct Body {
            code: String,
        }
        let body: Body =
            serde_json::from_slice(&req.body).map_err(|_| FlowError::InvalidRequest {
                reason: r#"the body must be {"code": "..."}"#,
            })?;
        if !is_token_shaped(&body.code) {
            return Err(FlowError::InvalidExchangeCode);
        }
        let sealed = self
            .inner
            .store
            .take(&store_key(EXCHANGE, &body.code))
            .await?
            .ok_or(FlowError::InvalidExchangeCode)?;
        let entry: ExchangeEntry = open(EXCHANGE, &body.code, sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or(FlowError::InvalidExchangeCode)?;
        let now = unix_now();
        let remaining = |exp: i64| Duration::from_secs(u64::try_from(exp - now).unwrap_or(0));
        let cookies = &self.inner.cookies;
        let mut response = json(
            StatusCode::OK,
            &serde_json::json!({
                "success": true,
                "redirectTo": entry.redirect,
            }),
        );
        append_cookie(
            &mut response,
            &cookies.set(
                FlowCookie::Access,
                entry.access.as_str(),
                remaining(entry.access_exp),
            ),
        );
        let refresh_left = entry
            .refresh_exp
            .map_or(self.inner.config.inner.default_refresh_lifetime, remaining);
        if let Some(refresh) = &entry.refresh {
            append_cookie(
                &mut response,
                &cookies.set(FlowCookie::Refresh, refresh.as_str(), refresh_left),
            );
        }
        if let Some(id) = &entry.id {
            let id_left = refresh_left.max(remaining(entry.access_exp));
            append_cookie(
                &mut response,
                &cookies.set(FlowCookie::Id, id.as_str(), id_left),
            );
        }
        Ok(response)
    }

    async fn refresh(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        let cookies = &self.inner.cookies;
        let refresh = cookie_value(&req.headers, cookies.name(FlowCookie::Refresh))
            .ok_or(FlowError::NoRefreshToken)?;
        // Provider trouble (discovery down, 5xx, unreachable) keeps the cookies: the
        // refresh token may still be good, and the frontend can try again.
        let meta = self.metadata().await?;
        let token_url = self.token_endpoint(&meta)?;
        let tokens = match self
            .inner
            .client
            .request(
                token_url,
                Grant::Refresh {
                    refresh_token: refresh,
                },
            )
            .await
        {
            Ok(tokens) => tokens,
            Err(err) if err.is_transient() => return Err(FlowError::TokenEndpoint(err)),
            Err(err) => {
                return Err(FlowError::RefreshRejected(Box::new(
                    FlowError::TokenEndpoint(err),
                )));
            }
        };
        if let Some(id) = &tokens.id_token {
            // OIDC Core §12.2: no nonce on a refreshed ID token, the rest as usual.
            self.verify_id_token(id.as_str(), None)
                .await
                .map_err(|e| FlowError::RefreshRejected(Box::new(e)))?;
        }
        check_cookie_safe(&tokens).map_err(|e| FlowError::RefreshRejected(Box::new(e)))?;
        let now = unix_now();
        let mut response = json(StatusCode::OK, &serde_json::json!({ "success": true }));
        append_cookie(
            &mut response,
            &cookies.set(
                FlowCookie::Access,
                tokens.access_token.as_str(),
                self.access_lifetime(&tokens, now),
            ),
        );
        let refresh_lifetime = match &tokens.refresh_token {
            // Rotation: the provider issued a new refresh token; the old one is spent.
            Some(new) => {
                let lifetime = self.refresh_lifetime(&tokens, new, now);
                append_cookie(
                    &mut response,
                    &cookies.set(FlowCookie::Refresh, new.as_str(), lifetime),
                );
                lifetime
            }
            None => self.inner.config.inner.default_refresh_lifetime,
        };
        if let Some(id) = &tokens.id_token {
            append_cookie(
                &mut response,
                &cookies.set(FlowCookie::Id, id.as_str(), refresh_lifetime),
            );
        }
        Ok(response)
    }

    async fn session(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let auth = &self.inner.auth;
        let session_error = |error| FlowError::Session {
            error,
            realm: auth.context().realm().into(),
        };
        match auth.authenticate("GET", &req.headers).await {
            Ok(Some(authenticated)) => {
                let user =
                    serde_json::to_value(&authenticated.user).map_err(|_| FlowError::Internal {
                        reason: "the user could not be serialized",
                    })?;
                Ok(json(StatusCode::OK, &user))
            }
            Ok(None) => Err(session_error(authgate::AuthError::MissingToken)),
            Err(error) => Err(session_error(error)),
        }
    }

    async fn logout(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        let c = &self.inner.config.inner;
        let id_token = cookie_value(&req.headers, self.inner.cookies.name(FlowCookie::Id));
        // Logging out locally never depends on the provider being up.
        let end_session = match self.inner.auth.provider_metadata() {
            Some(meta) => meta.end_session_endpoint.clone(),
            None => self
                .metadata()
                .await
                .ok()
                .and_then(|meta| meta.end_session_endpoint.clone()),
        };
        let end_session = end_session.and_then(|e| {
            self.inner
                .auth
                .config()
                .browser_url(&e)
                .ok()
                .map(String::from)
        });
        let url = logout_url(
            end_session.as_deref(),
            id_token,
            &c.post_logout_redirect_url,
            &c.client_id,
        );
        let mut response = json(StatusCode::OK, &serde_json::json!({ "logoutUrl": url }));
        for cookie in self.inner.cookies.clear_session() {
            append_cookie(&mut response, &cookie);
        }
        Ok(response)
    }

    /// The discovery document, discovering now (once for all callers) if needed.
    async fn metadata(&self) -> Result<Arc<ProviderMetadata>, FlowError> {
        // Single flight and rate-limited in the core: a flood of logins never becomes a
        // flood of discovery requests.
        self.inner.auth.discover().await.map_err(|e| match *e {
            authgate::FetchError::NoDiscovery => FlowError::DiscoveryDisabled,
            _ => FlowError::ProviderUnavailable(Some(e)),
        })
    }

    /// The token endpoint from discovery, on the internal URL when one is set.
    fn token_endpoint(&self, meta: &ProviderMetadata) -> Result<Url, FlowError> {
        meta.token_endpoint
            .as_deref()
            .and_then(|e| self.inner.auth.config().server_url(e).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(FlowError::MissingEndpoint {
                field: "token_endpoint",
            })
    }

    /// Verifies an ID token with the core verifier (signature through the JWKS, `iss`,
    /// `aud`, `exp`), then `aud`/`azp` against this client and the nonce.
    async fn verify_id_token(&self, token: &str, nonce: Option<&str>) -> Result<Claims, FlowError> {
        let fail = |e| FlowError::IdToken(e);
        let claims = self
            .inner
            .ids
            .verify(token)
            .await
            .map_err(|e| fail(IdTokenError::Rejected(e)))?;
        let client_id = self.inner.config.client_id();
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
            Some(serde_json::Value::Array(auds)) => {
                auds.iter().filter_map(serde_json::Value::as_str).collect()
            }
            _ => Vec::new(),
        };
        if !audiences.contains(&client_id) {
            return Err(fail(IdTokenError::AudienceMismatch));
        }
        match claims.str("azp") {
            Some(azp) if azp != client_id => {
                return Err(fail(IdTokenError::AuthorizedPartyMismatch));
            }
            None if audiences.len() > 1 => {
                return Err(fail(IdTokenError::AuthorizedPartyMismatch));
            }
            _ => {}
        }
        if let Some(expected) = nonce {
            let matches = claims
                .str("nonce")
                .is_some_and(|n| constant_time_eq(n.as_bytes(), expected.as_bytes()));
            if !matches {
                return Err(fail(IdTokenError::NonceMismatch));
            }
        }
        Ok(claims)
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), FlowError> {
        if !self.inner.config.inner.csrf
            || authgate::request::origin_is_trusted(headers, &self.inner.trusted_origins)
        {
            Ok(())
        } else {
            Err(FlowError::CrossSiteRequest)
        }
    }

    fn access_lifetime(&self, tokens: &TokenResponse, now: i64) -> Duration {
        seconds(tokens.expires_in.as_ref())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .or_else(|| until(unverified_exp(tokens.access_token.as_str())?, now))
            .unwrap_or(self.inner.config.inner.default_access_lifetime)
    }

    fn refresh_lifetime(&self, tokens: &TokenResponse, refresh: &Secret, now: i64) -> Duration {
        // `refresh_expires_in: 0` means "no expiry" (Keycloak offline tokens): use the default.
        seconds(tokens.refresh_expires_in.as_ref())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .or_else(|| until(unverified_exp(refresh.as_str())?, now))
            .unwrap_or(self.inner.config.inner.default_refresh_lifetime)
    }
}

impl<U> FlowBuilder<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// The store for states and exchange codes (default: a [`MemoryStore`]).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A store already shared as `Arc<dyn Store>`.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the flow.
    ///
    /// # Errors
    ///
    /// [`FlowConfigError::Config`] naming `AUTH_COOKIE_NAME` when the access cookie
    /// has a `__Host-`/`__Secure-` prefix but cookies are not `Secure`;
    /// [`FlowConfigError::HttpClient`] when the HTTP client cannot be built.
    pub fn build(self) -> Result<Flow<U>, FlowConfigError> {
        let c = &self.config.inner;
        let access_name = self.auth.config().cookie_name();
        let prefixed = access_name.starts_with("__Host-") || access_name.starts_with("__Secure-");
        if prefixed && !c.secure {
            return Err(authgate::ConfigError::invalid(
                "AUTH_COOKIE_NAME",
                "no __Host- or __Secure- prefix unless cookies are Secure (APP_ENV=production or an https API_URL)",
            )
            .into());
        }
        let cookies = Cookies::new(access_name, &c.prefix, c.secure);
        let client = TokenClient::new(self.config.clone()).map_err(FlowConfigError::HttpClient)?;
        let mut trusted_origins = c.trusted_origins.clone();
        for origin in self.auth.config().trusted_origins() {
            if !trusted_origins.contains(origin) {
                trusted_origins.push(origin.clone());
            }
        }
        let ids = self
            .auth
            .with_shared_keys(
                self.config.client_id(),
                |claims: &Claims| Ok(claims.clone()),
            );
        Ok(Flow {
            inner: Arc::new(Inner {
                ids,
                auth: self.auth,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                client,
                cookies,
                trusted_origins,
                config: self.config,
            }),
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The time from `now` to `exp`, if `exp` is in the future.
fn until(exp: i64, now: i64) -> Option<Duration> {
    u64::try_from(exp.checked_sub(now)?)
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
}

/// The value of a query parameter that may appear at most once (RFC 6749 §3.1).
fn single_param(query: Option<&str>, name: &str) -> Result<Option<String>, FlowError> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(FlowError::InvalidRequest {
                    reason: "a parameter is repeated",
                });
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

fn check_cookie_safe(tokens: &TokenResponse) -> Result<(), FlowError> {
    let all = [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ];
    if all
        .into_iter()
        .flatten()
        .all(|t| is_cookie_safe(t.as_str()))
    {
        Ok(())
    } else {
        Err(FlowError::TokenEndpoint(TokenEndpointError::Unusable {
            reason: "a token has characters a cookie cannot hold",
        }))
    }
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<String> {
    let mut response = Response::new(value.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(&mut response);
    response
}

fn redirect_to(location: &str) -> Result<Response<String>, FlowError> {
    let value = HeaderValue::from_str(location).map_err(|_| FlowError::Internal {
        reason: "the redirect URL is not a valid header value",
    })?;
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::LOCATION, value);
    no_store(&mut response);
    Ok(response)
}

fn append_cookie(response: &mut Response<String>, cookie: &str) {
    // Cookie strings are built from checked names, paths and cookie-safe values.
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_paths_and_methods() {
        let paths: Vec<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        assert_eq!(
            paths,
            [
                "/login",
                "/callback",
                "/exchange",
                "/refresh",
                "/session",
                "/logout"
            ]
        );
        assert_eq!(Endpoint::Login.method(), Method::GET);
        assert_eq!(Endpoint::Exchange.method(), Method::POST);
        assert_eq!(Endpoint::Logout.method(), Method::POST);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            single_param(Some("state=a&code=b"), "state").unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(single_param(None, "state").unwrap(), None);
        assert!(single_param(Some("state=a&state=b"), "state").is_err());
        assert_eq!(
            single_param(Some("redirect=%2Forders%3Fx%3D1"), "redirect").unwrap(),
            Some("/orders?x=1".to_owned())
        );
    }

    #[test]
    fn content_type_and_accept_checks() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert("content-type", "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
        headers.insert("accept", "text/html,application/xhtml+xml".parse().unwrap());
        assert!(accepts_html(&headers));
    }

    #[test]
    fn request_debug_hides_values() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "app_auth=secret.token.value".parse().unwrap());
        let request = FlowRequest::new(headers)
            .query("code=secret-code")
            .body(r#"{"code":"x"}"#);
        let debug = format!("{request:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    fn env(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let vars = vars.to_vec();
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const ENV: &[(&str, &str)] = &[
        ("AUTHENTIK_URL", "https://auth.example.com"),
        ("AUTHENTIK_APP_SLUG", "shop"),
        ("AUTHENTIK_CLIENT_ID", "client"),
        ("AUTHENTIK_CLIENT_SECRET", "secret"),
        ("FRONTEND_URL", "https://app.example.com"),
        ("API_URL", "https://api.example.com"),
        ("AUTH_COOKIE_NAME", "__Host-session"),
    ];

    #[test]
    fn from_env_reads_the_core_and_flow_variables() {
        let flow = Flow::from_env_with(env(ENV)).unwrap();
        assert_eq!(flow.cookie_name(FlowCookie::Access), "__Host-session");
        assert_eq!(
            flow.cookie_name(FlowCookie::Refresh),
            "__Secure-session_refresh"
        );
        assert_eq!(flow.cookie_path(FlowCookie::Id), "/auth/logout");
        assert_eq!(flow.config().client_id(), "client");
        assert!(flow.config().secure_cookies());
        assert_eq!(
            flow.authenticator().config().issuer(),
            "https://auth.example.com/application/o/shop/"
        );
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        for missing in ["AUTHENTIK_URL", "AUTHENTIK_CLIENT_SECRET", "FRONTEND_URL"] {
            let vars: Vec<_> = ENV.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = Flow::from_env_with(env(&vars)).unwrap_err();
            assert!(err.to_string().contains(missing), "{missing}: {err}");
        }
    }

    #[test]
    fn prefixed_cookie_names_need_secure_cookies() {
        let mut vars = ENV.to_vec();
        vars.retain(|(k, _)| *k != "API_URL");
        vars.push(("API_URL", "http://localhost:3000"));
        match Flow::from_env_with(env(&vars)) {
            Err(FlowConfigError::Config(authgate::ConfigError::Invalid { name, .. })) => {
                assert_eq!(name, "AUTH_COOKIE_NAME");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn lifetimes_until_exp() {
        assert_eq!(until(110, 100), Some(Duration::from_secs(10)));
        assert_eq!(until(100, 100), None);
        assert_eq!(until(90, 100), None);
    }
}
