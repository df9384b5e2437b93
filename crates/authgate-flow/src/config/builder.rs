//! Building a [`FlowConfig`] in code: [`FlowConfig::builder`], the
//! [`FlowConfigBuilder`] and its defaults, and the checks and normalization of
//! [`build`](FlowConfigBuilder::build).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authgate::__private::parse_http_url;
use authgate::ConfigError;
use url::Url;

use super::{
    AUTHENTIK_API_SCOPE, ClientAuth, DEFAULT_SCOPES, FlowConfig, FlowConfigError, Inner,
    RESERVED_AUTHORIZE_PARAMS,
};

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
            state_secret: None,
            client_auth: ClientAuth::ClientSecretBasic,
            frontend_url: frontend_url.into(),
            api_url: api_url.into(),
            prefix: String::from("/auth"),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            authorize_params: Vec::new(),
            default_redirect: String::from("/"),
            callback_url: None,
            frontend_callback_path: String::from("/auth/callback"),
            post_logout_redirect_url: None,
            production: false,
            secure: None,
            state_ttl: Duration::from_secs(600),
            exchange_ttl: Duration::from_secs(60),
            refresh_grace: Duration::from_secs(10),
            default_access_lifetime: Duration::from_secs(300),
            default_refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            csrf: true,
            http_timeout: Duration::from_secs(10),
            http_client: None,
            max_response_bytes: 256 * 1024,
        }
    }
}

/// Builds a [`FlowConfig`]; start with [`FlowConfig::builder`].
#[derive(Clone)]
#[must_use]
pub struct FlowConfigBuilder {
    client_id: String,
    client_secret: Option<String>,
    state_secret: Option<String>,
    client_auth: ClientAuth,
    frontend_url: String,
    api_url: String,
    prefix: String,
    scopes: Vec<String>,
    authorize_params: Vec<(String, String)>,
    default_redirect: String,
    callback_url: Option<String>,
    frontend_callback_path: String,
    post_logout_redirect_url: Option<String>,
    production: bool,
    secure: Option<bool>,
    state_ttl: Duration,
    exchange_ttl: Duration,
    refresh_grace: Duration,
    default_access_lifetime: Duration,
    default_refresh_lifetime: Duration,
    csrf: bool,
    http_timeout: Duration,
    http_client: Option<reqwest::Client>,
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

    /// Adds a parameter to the authorization request, after the flow's own: Auth0's
    /// `audience` (the API the access token is for), RFC 8707's `resource`, `prompt`,
    /// `acr_values`, Keycloak's `kc_idp_hint`. Given again, a name replaces its value.
    ///
    /// The flow's own parameters (`response_type`, `client_id`, `redirect_uri`,
    /// `scope`, `state`, `nonce`, `code_challenge`, `code_challenge_method`) cannot be
    /// set this way: [`build`](Self::build) refuses them, and names or values that
    /// are empty or not visible ASCII.
    ///
    /// ```
    /// use authgate_flow::FlowConfig;
    ///
    /// let config = FlowConfig::builder("client", "https://app.example.com", "https://api.example.com")
    ///     .client_secret("secret")
    ///     .authorize_param("audience", "https://api.shop.example")
    ///     .build()?;
    /// assert_eq!(config.authorize_params(), [("audience".to_owned(), "https://api.shop.example".to_owned())]);
    /// # Ok::<(), authgate_flow::FlowConfigError>(())
    /// ```
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.authorize_params.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.authorize_params.push((name, value)),
        }
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
    /// [module docs](crate::FlowConfig#the-goauthentikioapi-scope)).
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

    /// The secret that seals login states into their cookie (at least 32 bytes). Every
    /// instance behind one callback URL must share it. Default: derived from the client
    /// secret (which they already share); a public client without one gets a random
    /// secret per process, which is fine for one instance only.
    pub fn state_secret(mut self, secret: impl Into<String>) -> Self {
        self.state_secret = Some(secret.into());
        self
    }

    /// How long a login state lives (default 10 minutes).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// How long the answer to a refresh is kept for a second tab refreshing with the
    /// same refresh token (default 10 seconds; zero switches the grace window off).
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh_grace = grace;
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
    /// configuration; without an `Origin` the browser must say
    /// `Sec-Fetch-Site: same-origin`; with neither header the request is refused. This
    /// is the core's rule ([`authgate::AuthConfigBuilder::csrf_protection`]).
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

    /// The HTTP client for the token and revocation endpoints, instead of the flow's
    /// own: for a proxy, a private CA, client certificates or your own TLS set-up
    /// (the core's keys take theirs from
    /// [`AuthConfigBuilder::http_client`](authgate::AuthConfigBuilder::http_client)).
    ///
    /// The flow still applies [`http_timeout`](Self::http_timeout) to each call and
    /// its body cap. These requests carry the client secret: build the client with
    /// `redirect(Policy::none())`, as the flow's own client is; an answer that came
    /// from another URL than the endpoint is refused
    /// ([`TokenEndpointError::Redirected`](crate::TokenEndpointError::Redirected)),
    /// but by then the request was sent.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
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
        if self.authorize_params.iter().any(|(name, value)| {
            RESERVED_AUTHORIZE_PARAMS.contains(&name.as_str())
                || [name, value]
                    .iter()
                    .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()))
        }) {
            return Err(FlowConfigError::invalid(
                "AUTH_AUTHORIZE_PARAMS",
                "name=value pairs of visible ASCII, not one of the flow's own parameters \
                 (response_type, client_id, redirect_uri, scope, state, nonce, code_challenge, \
                 code_challenge_method)",
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
        if self.state_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(FlowConfigError::invalid(
                "AUTH_STATE_SECRET",
                "at least 32 bytes of secret",
            ));
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
                state_secret: self.state_secret,
                client_auth: self.client_auth,
                frontend_url: frontend,
                api_url: api,
                prefix,
                scopes: self.scopes,
                authorize_params: self.authorize_params,
                default_redirect: self.default_redirect,
                callback_url,
                frontend_callback_url,
                post_logout_redirect_url,
                secure,
                state_ttl: self.state_ttl,
                exchange_ttl: self.exchange_ttl,
                refresh_grace: self.refresh_grace,
                default_access_lifetime: self.default_access_lifetime,
                default_refresh_lifetime: self.default_refresh_lifetime,
                csrf: self.csrf,
                trusted_origins,
                http_timeout: self.http_timeout,
                http_client: self.http_client,
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
