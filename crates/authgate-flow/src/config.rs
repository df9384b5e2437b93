//! The flow's configuration: the OAuth client, the frontend and API URLs, scopes,
//! cookie security and lifetimes.
//!
//! Build it in code:
//!
//! ```
//! use authgate_flow::{ClientAuth, FlowConfig};
//! use std::time::Duration;
//!
//! let config = FlowConfig::builder("my-client-id", "https://app.example.com", "https://api.example.com")
//!     .client_secret("s3cret")
//!     .client_auth(ClientAuth::ClientSecretPost)
//!     .authentik_api_scope() // adds `goauthentik.io/api`, see below
//!     .default_redirect("/dashboard")
//!     .build()?;
//! assert_eq!(config.callback_url(), "https://api.example.com/auth/callback");
//! assert_eq!(config.scopes(), ["openid", "email", "profile", "offline_access", "goauthentik.io/api"]);
//! assert!(config.secure_cookies()); // the API is served over https
//! # Ok::<(), authgate_flow::FlowConfigError>(())
//! ```
//!
//! or read it from the environment with [`FlowConfig::from_env`] (and the whole flow,
//! authenticator included, with [`Flow::from_env`](crate::Flow::from_env)):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `AUTHENTIK_CLIENT_ID` | the OAuth client id | required |
//! | `AUTHENTIK_CLIENT_SECRET` | the client secret | required unless `AUTH_CLIENT_AUTH=none` |
//! | `AUTH_CLIENT_AUTH` | `client_secret_basic`, `client_secret_post` or `none` | `client_secret_basic` |
//! | `FRONTEND_URL` | the frontend's base URL | required |
//! | `API_URL` | this API's public base URL (the callback is `{API_URL}{prefix}/callback`) | required |
//! | `APP_ENV` | `production` makes every cookie `Secure` | none |
//! | `AUTH_FLOW_PREFIX` | where the endpoints are mounted | `/auth` |
//! | `AUTH_SCOPES` | space-separated scopes (must include `openid`) | `openid email profile offline_access` |
//! | `AUTHENTIK_API_SCOPE` | `true` adds `goauthentik.io/api` | `false` |
//! | `AUTH_DEFAULT_REDIRECT` | the path used when `?redirect=` is absent or refused | `/` |
//! | `AUTH_POST_LOGOUT_REDIRECT_URL` | where the provider sends the browser after logout | `FRONTEND_URL` |
//!
//! [`Flow::from_env`](crate::Flow::from_env) also reads the core's variables
//! (`AUTHENTIK_URL`, `AUTHENTIK_INTERNAL_URL`, `AUTHENTIK_APP_SLUG`, `AUTH_COOKIE_NAME`,
//! …) through [`authgate::AuthConfig::from_env`].
//!
//! # The `goauthentik.io/api` scope
//!
//! An access token can call Authentik's own REST API (`/api/v3/…`) on the user's
//! behalf only if it was issued with the `goauthentik.io/api` scope. Without it
//! Authentik answers **403 Forbidden** to such calls, even though the same token is
//! accepted by your API. Add the scope with
//! [`authentik_api_scope`](FlowConfigBuilder::authentik_api_scope) (or
//! `AUTHENTIK_API_SCOPE=true`) when the backend calls Authentik with the user's token,
//! and allow the scope on the Authentik provider (its "Scopes" list).
//!
//! # Cookies
//!
//! | cookie | name | path | lifetime |
//! |---|---|---|---|
//! | access token | the core's `cookie_name` (`AUTH_COOKIE_NAME`, default `app_auth`) | `/` | the access token's |
//! | refresh token | `{name}_refresh` | `{prefix}/refresh` | the refresh token's |
//! | ID token (for `id_token_hint` at logout) | `{name}_id` | `{prefix}/logout` | as the refresh token |
//! | login binding (the state, for 10 minutes) | `{name}_login` | `{prefix}/callback` | the state's |
//!
//! All are `HttpOnly` and `SameSite=Lax`; all are `Secure` when `APP_ENV=production`
//! or `API_URL` is `https` (or as set with
//! [`secure_cookies`](FlowConfigBuilder::secure_cookies)). A name with the `__Host-`
//! prefix gives the other cookies the `__Secure-` prefix, since `__Host-` requires
//! `Path=/`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authgate::ConfigError;
use authgate::config::parse_http_url;
use url::Url;

/// The scopes requested by default.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile", "offline_access"];

/// The scope that lets an access token call Authentik's own API (see the
/// [module docs](self#the-goauthentikioapi-scope)).
pub const AUTHENTIK_API_SCOPE: &str = "goauthentik.io/api";

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded client id and secret (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret (PKCE still protects the code).
    None,
}

impl ClientAuth {
    /// The name used in discovery documents and in `AUTH_CLIENT_AUTH`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// A configuration value is missing or malformed; the error names the variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowConfigError {
    /// A setting or environment variable, the core's (`AUTHENTIK_URL`,
    /// `AUTH_COOKIE_NAME`, …) or the flow's own (`FRONTEND_URL`, `API_URL`, …), is
    /// missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client for the token endpoint could not be built.
    #[error("the HTTP client could not be built")]
    HttpClient(#[source] reqwest::Error),
}

impl FlowConfigError {
    fn invalid(name: &'static str, expected: &'static str) -> Self {
        ConfigError::invalid(name, expected).into()
    }

    fn invalid_because(
        name: &'static str,
        expected: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ConfigError::invalid_because(name, expected, source).into()
    }
}

/// The flow's configuration; see the [module docs](self).
#[derive(Clone)]
pub struct FlowConfig {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) frontend_url: String,
    pub(crate) api_url: String,
    pub(crate) prefix: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) default_redirect: String,
    pub(crate) callback_url: String,
    pub(crate) frontend_callback_url: Url,
    pub(crate) post_logout_redirect_url: String,
    pub(crate) secure: bool,
    pub(crate) state_ttl: Duration,
    pub(crate) exchange_ttl: Duration,
    pub(crate) default_access_lifetime: Duration,
    pub(crate) default_refresh_lifetime: Duration,
    pub(crate) csrf: bool,
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) http_timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

impl fmt::Debug for FlowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("FlowConfig")
            .field("client_id", &c.client_id)
            .field(
                "client_secret",
                &c.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_auth", &c.client_auth)
            .field("frontend_url", &c.frontend_url)
            .field("api_url", &c.api_url)
            .field("prefix", &c.prefix)
            .field("scopes", &c.scopes)
            .field("secure", &c.secure)
            .finish_non_exhaustive()
    }
}

impl FlowConfig {
    /// Starts a configuration for this client, frontend (where users land after login)
    /// and API (this service's public base URL, which the provider calls back).
    pub fn builder(
        client_id: impl Into<String>,
        frontend_url: impl Into<String>,
        api_url: impl Into<String>,
    ) -> FlowConfigBuilder {
        FlowConfigBuilder {
            client_id: client_id.into(),
            client_secret: None,
            client_auth: ClientAuth::ClientSecretBasic,
            frontend_url: frontend_url.into(),
            api_url: api_url.into(),
            prefix: String::from("/auth"),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            default_redirect: String::from("/"),
            callback_url: None,
            frontend_callback_path: String::from("/auth/callback"),
            post_logout_redirect_url: None,
            production: false,
            secure: None,
            state_ttl: Duration::from_secs(600),
            exchange_ttl: Duration::from_secs(60),
            default_access_lifetime: Duration::from_secs(300),
            default_refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            csrf: true,
            http_timeout: Duration::from_secs(10),
            max_response_bytes: 256 * 1024,
        }
    }

    /// Reads the configuration from the process environment (see the
    /// [module docs](self) for the variables).
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, FlowConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    ///
    /// ```
    /// use authgate_flow::{FlowConfig, FlowConfigError};
    ///
    /// let vars = [
    ///     ("AUTHENTIK_CLIENT_ID", "shop"),
    ///     ("AUTHENTIK_CLIENT_SECRET", "s3cret"),
    ///     ("FRONTEND_URL", "http://localhost:5173"),
    ///     ("API_URL", "http://localhost:3000"),
    /// ];
    /// let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    /// let config = FlowConfig::from_env_with(get)?;
    /// assert!(!config.secure_cookies()); // plain http and no APP_ENV=production
    ///
    /// let err = FlowConfig::from_env_with(|name| (name != "FRONTEND_URL").then(|| get(name)).flatten())
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("FRONTEND_URL"));
    /// # Ok::<(), FlowConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env_with<F>(get: F) -> Result<Self, FlowConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let var = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str, expected: &'static str| {
            var(name).ok_or(FlowConfigError::from(ConfigError::missing(name, expected)))
        };
        let client_id = required("AUTHENTIK_CLIENT_ID", "the OAuth client id")?;
        let frontend = required("FRONTEND_URL", "the frontend's base URL")?;
        let api = required("API_URL", "this API's public base URL")?;
        let mut builder = FlowConfig::builder(client_id, frontend, api);
        let auth = match var("AUTH_CLIENT_AUTH").as_deref().map(str::trim) {
            None | Some("client_secret_basic") => ClientAuth::ClientSecretBasic,
            Some("client_secret_post") => ClientAuth::ClientSecretPost,
            Some("none") => ClientAuth::None,
            Some(_) => {
                return Err(FlowConfigError::invalid(
                    "AUTH_CLIENT_AUTH",
                    "client_secret_basic, client_secret_post or none",
                ));
            }
        };
        builder = builder.client_auth(auth);
        if auth != ClientAuth::None {
            builder = builder.client_secret(required(
                "AUTHENTIK_CLIENT_SECRET",
                "the OAuth client secret (or AUTH_CLIENT_AUTH=none for a public client)",
            )?);
        }
        if let Some(env) = var("APP_ENV") {
            builder = builder.production(env.trim().eq_ignore_ascii_case("production"));
        }
        if let Some(prefix) = var("AUTH_FLOW_PREFIX") {
            builder = builder.prefix(prefix.trim());
        }
        if let Some(scopes) = var("AUTH_SCOPES") {
            builder = builder.scopes(scopes.split_ascii_whitespace());
        }
        if let Some(flag) = var("AUTHENTIK_API_SCOPE") {
            match flag.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => builder = builder.authentik_api_scope(),
                "false" | "0" | "no" => {}
                _ => {
                    return Err(FlowConfigError::invalid(
                        "AUTHENTIK_API_SCOPE",
                        "true or false",
                    ));
                }
            }
        }
        if let Some(path) = var("AUTH_DEFAULT_REDIRECT") {
            builder = builder.default_redirect(path.trim());
        }
        if let Some(url) = var("AUTH_POST_LOGOUT_REDIRECT_URL") {
            builder = builder.post_logout_redirect_url(url.trim());
        }
        builder.build()
    }

    /// The OAuth client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// How the client authenticates at the token endpoint.
    #[must_use]
    pub fn client_auth(&self) -> ClientAuth {
        self.inner.client_auth
    }

    /// The frontend's base URL (no trailing slash).
    #[must_use]
    pub fn frontend_url(&self) -> &str {
        &self.inner.frontend_url
    }

    /// This API's public base URL (no trailing slash).
    #[must_use]
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// Where the endpoints are mounted (`/auth`, or empty for the root).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The requested scopes.
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The `redirect_uri` registered at the provider: `{API_URL}{prefix}/callback`
    /// unless set with [`callback_url`](FlowConfigBuilder::callback_url).
    #[must_use]
    pub fn callback_url(&self) -> &str {
        &self.inner.callback_url
    }

    /// Where the browser lands with the exchange code (`?exchange=CODE` is appended).
    #[must_use]
    pub fn frontend_callback_url(&self) -> &str {
        self.inner.frontend_callback_url.as_str()
    }

    /// The path used when `?redirect=` is absent or refused.
    #[must_use]
    pub fn default_redirect(&self) -> &str {
        &self.inner.default_redirect
    }

    /// The `post_logout_redirect_uri` sent to the provider at logout.
    #[must_use]
    pub fn post_logout_redirect_url(&self) -> &str {
        &self.inner.post_logout_redirect_url
    }

    /// Whether cookies carry the `Secure` attribute.
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure
    }

    /// How long a login state lives (default 10 minutes).
    #[must_use]
    pub fn state_ttl(&self) -> Duration {
        self.inner.state_ttl
    }

    /// How long an exchange code lives (default 60 seconds).
    #[must_use]
    pub fn exchange_ttl(&self) -> Duration {
        self.inner.exchange_ttl
    }
}

/// Builds a [`FlowConfig`]; start with [`FlowConfig::builder`].
#[derive(Clone)]
#[must_use]
pub struct FlowConfigBuilder {
    client_id: String,
    client_secret: Option<String>,
    client_auth: ClientAuth,
    frontend_url: String,
    api_url: String,
    prefix: String,
    scopes: Vec<String>,
    default_redirect: String,
    callback_url: Option<String>,
    frontend_callback_path: String,
    post_logout_redirect_url: Option<String>,
    production: bool,
    secure: Option<bool>,
    state_ttl: Duration,
    exchange_ttl: Duration,
    default_access_lifetime: Duration,
    default_refresh_lifetime: Duration,
    csrf: bool,
    http_timeout: Duration,
    max_response_bytes: usize,
}

impl fmt::Debug for FlowConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowConfigBuilder")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("frontend_url", &self.frontend_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl FlowConfigBuilder {
    /// The client secret (`AUTHENTIK_CLIENT_SECRET`).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How the client authenticates at the token endpoint (default
    /// [`ClientAuth::ClientSecretBasic`]).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Where the endpoints are mounted (default `/auth`; `""` or `/` for the root).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Replaces the requested scopes (they must include `openid`).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a scope, once.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
        self
    }

    /// The Authentik preset's extra scope: adds `goauthentik.io/api`, without which
    /// Authentik answers 403 when the access token calls its own API (see the
    /// [module docs](self#the-goauthentikioapi-scope)).
    pub fn authentik_api_scope(self) -> Self {
        self.scope(AUTHENTIK_API_SCOPE)
    }

    /// The path used when `?redirect=` is absent or refused (default `/`). It must
    /// itself be a safe local path.
    pub fn default_redirect(mut self, path: impl Into<String>) -> Self {
        self.default_redirect = path.into();
        self
    }

    /// The `redirect_uri` registered at the provider (default
    /// `{API_URL}{prefix}/callback`).
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// The frontend route that receives `?exchange=CODE` (default `/auth/callback`).
    pub fn frontend_callback_path(mut self, path: impl Into<String>) -> Self {
        self.frontend_callback_path = path.into();
        self
    }

    /// The `post_logout_redirect_uri` (default: the frontend URL). It must be
    /// registered at the provider.
    pub fn post_logout_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.post_logout_redirect_url = Some(url.into());
        self
    }

    /// Production mode (`APP_ENV=production`): every cookie is `Secure`.
    pub fn production(mut self, production: bool) -> Self {
        self.production = production;
        self
    }

    /// Forces the `Secure` attribute on or off, overriding the rule "production or an
    /// https API URL".
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure = Some(secure);
        self
    }

    /// How long a login state lives (default 10 minutes).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// How long an exchange code lives (default 60 seconds).
    pub fn exchange_ttl(mut self, ttl: Duration) -> Self {
        self.exchange_ttl = ttl;
        self
    }

    /// The access cookie's lifetime when the provider states none (no `expires_in`,
    /// not a JWT with `exp`; default 5 minutes).
    pub fn default_access_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_access_lifetime = lifetime;
        self
    }

    /// The refresh cookie's lifetime when the provider states none (no
    /// `refresh_expires_in`, not a JWT with `exp`; default 30 days, Authentik's default
    /// refresh token validity).
    pub fn default_refresh_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_refresh_lifetime = lifetime;
        self
    }

    /// Checks the origin of `POST /exchange`, `/refresh` and `/logout` (default on): the
    /// `Origin` must be the frontend, the API, or a trusted origin of the core
    /// configuration, or the browser must say `Sec-Fetch-Site: same-origin|same-site`.
    /// This stops another site from logging a user into the attacker's account.
    ///
    /// It also binds each login to the browser that started it: `/login` sets a
    /// short-lived cookie holding the state (path `{prefix}/callback`), and
    /// `/callback` refuses a state that this cookie does not match
    /// ([`FlowError::StateMismatch`](crate::FlowError::StateMismatch)).
    pub fn csrf_protection(mut self, enabled: bool) -> Self {
        self.csrf = enabled;
        self
    }

    /// The timeout of token endpoint calls (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The largest token endpoint response accepted (default 256 KiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the setting that is missing or malformed.
    pub fn build(self) -> Result<FlowConfig, FlowConfigError> {
        if self.client_id.trim().is_empty() {
            return Err(FlowConfigError::from(ConfigError::missing(
                "AUTHENTIK_CLIENT_ID",
                "the OAuth client id",
            )));
        }
        if self.client_auth != ClientAuth::None
            && self.client_secret.as_deref().is_none_or(str::is_empty)
        {
            return Err(FlowConfigError::from(ConfigError::missing(
                "AUTHENTIK_CLIENT_SECRET",
                "the OAuth client secret (or ClientAuth::None for a public client)",
            )));
        }
        let frontend = base_url("FRONTEND_URL", &self.frontend_url)?;
        let api = base_url("API_URL", &self.api_url)?;
        let prefix = normalize_prefix(&self.prefix)?;
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(FlowConfigError::invalid(
                "AUTH_SCOPES",
                "a space-separated list that includes openid",
            ));
        }
        if self.scopes.iter().any(|s| {
            s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return Err(FlowConfigError::invalid(
                "AUTH_SCOPES",
                "scopes of visible ASCII characters without quotes or backslashes",
            ));
        }
        if crate::redirect::safe_redirect_path(&self.default_redirect).is_none() {
            return Err(FlowConfigError::invalid(
                "AUTH_DEFAULT_REDIRECT",
                "a local path starting with a single /",
            ));
        }
        if crate::redirect::safe_redirect_path(&self.frontend_callback_path).is_none() {
            return Err(FlowConfigError::invalid(
                "frontend_callback_path",
                "a local path starting with a single /",
            ));
        }
        let callback_url = match &self.callback_url {
            Some(url) => parse_http_url("callback_url", url)?.to_string(),
            None => format!("{}{prefix}/callback", api.trim_end_matches('/')),
        };
        let frontend_callback_url = Url::parse(&format!(
            "{}{}",
            frontend.trim_end_matches('/'),
            self.frontend_callback_path
        ))
        .map_err(|e| FlowConfigError::invalid_because("frontend_callback_path", "a URL path", e))?;
        let post_logout_redirect_url = match &self.post_logout_redirect_url {
            Some(url) => parse_http_url("AUTH_POST_LOGOUT_REDIRECT_URL", url)?.to_string(),
            None => format!("{frontend}/"),
        };
        let durations = [
            ("state_ttl", self.state_ttl),
            ("exchange_ttl", self.exchange_ttl),
            ("default_access_lifetime", self.default_access_lifetime),
            ("default_refresh_lifetime", self.default_refresh_lifetime),
            ("http_timeout", self.http_timeout),
        ];
        for (name, value) in durations {
            if value < Duration::from_secs(1) {
                return Err(FlowConfigError::invalid(
                    name,
                    "a duration of at least one second",
                ));
            }
        }
        if self.max_response_bytes == 0 {
            return Err(FlowConfigError::invalid(
                "max_response_bytes",
                "a positive size",
            ));
        }
        let secure = self
            .secure
            .unwrap_or(self.production || api.starts_with("https://"));
        let trusted_origins = [&frontend, &api]
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .collect();
        Ok(FlowConfig {
            inner: Arc::new(Inner {
                client_id: self.client_id,
                client_secret: self.client_secret,
                client_auth: self.client_auth,
                frontend_url: frontend,
                api_url: api,
                prefix,
                scopes: self.scopes,
                default_redirect: self.default_redirect,
                callback_url,
                frontend_callback_url,
                post_logout_redirect_url,
                secure,
                state_ttl: self.state_ttl,
                exchange_ttl: self.exchange_ttl,
                default_access_lifetime: self.default_access_lifetime,
                default_refresh_lifetime: self.default_refresh_lifetime,
                csrf: self.csrf,
                trusted_origins,
                http_timeout: self.http_timeout,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

/// An http(s) base URL without query or fragment, written without a trailing slash.
fn base_url(name: &'static str, url: &str) -> Result<String, FlowConfigError> {
    let parsed = parse_http_url(name, url)?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FlowConfigError::invalid(
            name,
            "a base URL without query or fragment",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// `/auth` stays, `/auth/` becomes `/auth`, `/` and `""` become `""` (the root).
fn normalize_prefix(prefix: &str) -> Result<String, FlowConfigError> {
    let trimmed = prefix.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.starts_with('/')
        && !trimmed.contains("//")
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
    if !valid {
        return Err(FlowConfigError::invalid(
            "AUTH_FLOW_PREFIX",
            "a path like /auth (letters, digits, and / - . _ ~)",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const BASE: &[(&str, &str)] = &[
        ("AUTHENTIK_CLIENT_ID", "client"),
        ("AUTHENTIK_CLIENT_SECRET", "secret"),
        ("FRONTEND_URL", "http://localhost:5173/"),
        ("API_URL", "http://localhost:3000"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn defaults_from_env() {
        let config = FlowConfig::from_env_with(env(BASE)).unwrap();
        assert_eq!(config.client_id(), "client");
        assert_eq!(config.client_auth(), ClientAuth::ClientSecretBasic);
        assert_eq!(config.prefix(), "/auth");
        assert_eq!(config.scopes(), DEFAULT_SCOPES);
        assert_eq!(config.frontend_url(), "http://localhost:5173");
        assert_eq!(config.callback_url(), "http://localhost:3000/auth/callback");
        assert_eq!(
            config.frontend_callback_url(),
            "http://localhost:5173/auth/callback"
        );
        assert_eq!(config.post_logout_redirect_url(), "http://localhost:5173/");
        assert_eq!(config.default_redirect(), "/");
        assert_eq!(config.state_ttl(), Duration::from_secs(600));
        assert_eq!(config.exchange_ttl(), Duration::from_secs(60));
        assert!(!config.secure_cookies());
        assert!(!format!("{config:?}").contains("secret\""));
        assert!(format!("{config:?}").contains("<redacted>"));
    }

    #[test]
    fn secure_when_production_or_https_api() {
        let prod = FlowConfig::from_env_with(env(&with(&[("APP_ENV", "production")]))).unwrap();
        assert!(prod.secure_cookies());
        let dev = FlowConfig::from_env_with(env(&with(&[("APP_ENV", "development")]))).unwrap();
        assert!(!dev.secure_cookies());
        let https =
            FlowConfig::from_env_with(env(&with(&[("API_URL", "https://api.example.com")])))
                .unwrap();
        assert!(https.secure_cookies());
        let forced = FlowConfig::builder("c", "https://a.example", "https://b.example")
            .client_secret("s")
            .secure_cookies(false)
            .build()
            .unwrap();
        assert!(!forced.secure_cookies());
    }

    #[test]
    fn optional_variables_are_read() {
        let config = FlowConfig::from_env_with(env(&with(&[
            ("AUTH_CLIENT_AUTH", "client_secret_post"),
            ("AUTH_FLOW_PREFIX", "/api/auth/"),
            ("AUTH_SCOPES", "openid email"),
            ("AUTHENTIK_API_SCOPE", "true"),
            ("AUTH_DEFAULT_REDIRECT", "/home"),
            ("AUTH_POST_LOGOUT_REDIRECT_URL", "http://localhost:5173/bye"),
        ])))
        .unwrap();
        assert_eq!(config.client_auth(), ClientAuth::ClientSecretPost);
        assert_eq!(config.prefix(), "/api/auth");
        assert_eq!(config.scopes(), ["openid", "email", AUTHENTIK_API_SCOPE]);
        assert_eq!(config.default_redirect(), "/home");
        assert_eq!(
            config.post_logout_redirect_url(),
            "http://localhost:5173/bye"
        );
        assert_eq!(
            config.callback_url(),
            "http://localhost:3000/api/auth/callback"
        );
    }

    #[test]
    fn public_clients_need_no_secret() {
        let vars: Vec<_> = with(&[("AUTH_CLIENT_AUTH", "none")])
            .into_iter()
            .filter(|(k, _)| *k != "AUTHENTIK_CLIENT_SECRET")
            .collect();
        let config = FlowConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.client_auth(), ClientAuth::None);
    }

    #[test]
    fn missing_variables_are_named() {
        for missing in [
            "AUTHENTIK_CLIENT_ID",
            "AUTHENTIK_CLIENT_SECRET",
            "FRONTEND_URL",
            "API_URL",
        ] {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            match FlowConfig::from_env_with(env(&vars)) {
                Err(FlowConfigError::Config(ConfigError::Missing { name, .. })) => {
                    assert_eq!(name, missing)
                }
                other => panic!("{missing}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases = [
            ("FRONTEND_URL", "localhost:5173"),
            ("FRONTEND_URL", "http://localhost:5173/?x=1"),
            ("API_URL", "/api"),
            ("API_URL", "ftp://api.example.com"),
            ("AUTH_CLIENT_AUTH", "private_key_jwt"),
            ("AUTH_FLOW_PREFIX", "auth"),
            ("AUTH_FLOW_PREFIX", "/a b"),
            ("AUTH_FLOW_PREFIX", "//auth"),
            ("AUTH_SCOPES", "email profile"),
            ("AUTH_SCOPES", "openid \"quoted\""),
            ("AUTHENTIK_API_SCOPE", "maybe"),
            ("AUTH_DEFAULT_REDIRECT", "//evil.example"),
            ("AUTH_DEFAULT_REDIRECT", "https://evil.example"),
            ("AUTH_POST_LOGOUT_REDIRECT_URL", "not a url"),
        ];
        for (name, value) in cases {
            match FlowConfig::from_env_with(env(&with(&[(name, value)]))) {
                Err(FlowConfigError::Config(ConfigError::Invalid { name: n, .. })) => {
                    assert_eq!(n, name, "{value}")
                }
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn prefix_normalization() {
        assert_eq!(normalize_prefix("/auth").unwrap(), "/auth");
        assert_eq!(normalize_prefix("/auth/").unwrap(), "/auth");
        assert_eq!(normalize_prefix("/").unwrap(), "");
        assert_eq!(normalize_prefix("").unwrap(), "");
        assert_eq!(normalize_prefix("/v1/auth").unwrap(), "/v1/auth");
    }

    #[test]
    fn scope_is_added_once() {
        let config = FlowConfig::builder("c", "http://f.example", "http://a.example")
            .client_secret("s")
            .authentik_api_scope()
            .authentik_api_scope()
            .build()
            .unwrap();
        assert_eq!(
            config
                .scopes()
                .iter()
                .filter(|s| *s == AUTHENTIK_API_SCOPE)
                .count(),
            1
        );
    }

    #[test]
    fn builder_durations_are_checked() {
        let err = FlowConfig::builder("c", "http://f.example", "http://a.example")
            .client_secret("s")
            .exchange_ttl(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            FlowConfigError::Config(ConfigError::Invalid {
                name: "exchange_ttl",
                ..
            })
        ));
    }
}
