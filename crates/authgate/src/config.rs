//! Configuration: where the keys come from, what a valid token looks like, and how
//! the layer behaves.
//!
//! Build it in code with [`AuthConfig::authentik`] (the Authentik preset) or
//! [`AuthConfig::oidc`] (any OpenID Connect provider), or read it from the
//! environment with [`AuthConfig::from_env`].
//!
//! ```
//! use authgate::{AuthConfig, RoleMap};
//! use std::time::Duration;
//!
//! let config = AuthConfig::authentik("https://auth.example.com", "my-app", "my-client-id")
//!     .internal_url("http://authentik-server:9000")
//!     .role_map(RoleMap::parse("app-admins=admin,app-support=support")?)
//!     .leeway(Duration::from_secs(30))
//!     .trusted_origin("https://app.example.com")
//!     .build()?;
//! assert_eq!(config.issuer(), "https://auth.example.com/application/o/my-app/");
//! # Ok::<(), authgate::ConfigError>(())
//! ```
//!
//! The variables [`AuthConfig::from_env`] reads:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `AUTHENTIK_URL` | public base URL of Authentik (the issuer's origin) | required |
//! | `AUTHENTIK_INTERNAL_URL` | base URL for server-to-server calls | the public URL |
//! | `AUTHENTIK_APP_SLUG` | the application slug | required |
//! | `AUTHENTIK_CLIENT_ID` | the client id: the expected audience | required |
//! | `AUTH_COOKIE_NAME` | the cookie holding the access token | `app_auth` |
//! | `AUTH_ROLE_MAP` | `group=role,group=role`; the first match wins | empty |
//! | `AUTH_LEEWAY_SECS` | clock-skew leeway in seconds (at most 300) | `60` |
//! | `FRONTEND_URL`, `API_URL` | trusted origins for cookie-authenticated unsafe requests | none |

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::Url;

use crate::error::ConfigError;

/// The largest leeway accepted: clocks further apart than this are a bug, not skew.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The algorithms accepted by default: every asymmetric JWS algorithm.
pub const DEFAULT_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Where signing keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// OIDC discovery at this URL (already rewritten to the internal origin).
    Discovery(Url),
    /// A JWKS URL, fetched directly.
    Jwks(Url),
    /// A fixed key set, for offline use.
    Static(String),
}

/// Maps the provider's groups to one application role; the first matching entry wins.
///
/// ```
/// use authgate::RoleMap;
///
/// let roles = RoleMap::parse("app-admins=admin, app-support=support")?;
/// assert_eq!(roles.role_for(["staff", "app-support", "app-admins"]), Some("admin"));
/// assert_eq!(roles.role_for(["staff"]), None);
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(String, String)>,
}

impl RoleMap {
    /// An empty table: every user gets the default role.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `group → role` at the end of the table.
    #[must_use]
    pub fn map(mut self, group: impl Into<String>, role: impl Into<String>) -> Self {
        self.entries.push((group.into(), role.into()));
        self
    }

    /// Parses `group=role,group=role` (whitespace around items is ignored).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `AUTH_ROLE_MAP` when an item has no `=` or an
    /// empty side.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let mut map = Self::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (group, role) = item.split_once('=').ok_or_else(|| {
                ConfigError::invalid("AUTH_ROLE_MAP", "comma-separated group=role pairs")
            })?;
            let (group, role) = (group.trim(), role.trim());
            if group.is_empty() || role.is_empty() {
                return Err(ConfigError::invalid(
                    "AUTH_ROLE_MAP",
                    "comma-separated group=role pairs with non-empty sides",
                ));
            }
            map = map.map(group, role);
        }
        Ok(map)
    }

    /// The role of the first table entry whose group is among `groups`.
    ///
    /// Table order decides, not the order of the user's groups.
    pub fn role_for<'a, I>(&self, groups: I) -> Option<&str>
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        let groups = groups.into_iter();
        self.entries
            .iter()
            .find(|(group, _)| groups.clone().any(|g| g == group))
            .map(|(_, role)| role.as_str())
    }
}

/// The verified configuration of an [`Authenticator`](crate::Authenticator).
///
/// Built by [`AuthConfigBuilder::build`] or [`AuthConfig::from_env`]; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

#[derive(Debug, Clone)]
pub(crate) struct ConfigInner {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) source: KeySource,
    /// `(public origin, internal base)`: server-to-server URLs on the public origin go here.
    pub(crate) internal: Option<(Url, Url)>,
    pub(crate) cookie_name: String,
    pub(crate) role_map: RoleMap,
    pub(crate) default_role: String,
    pub(crate) leeway: Duration,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_token_bytes: usize,
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) csrf: bool,
    pub(crate) realm: String,
    pub(crate) token_cache_capacity: usize,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) http: HttpPolicy,
}

/// How often and how hard the key set is refetched.
#[derive(Debug, Clone)]
pub(crate) struct RefreshPolicy {
    pub(crate) default_interval: Duration,
    pub(crate) min_interval: Duration,
    pub(crate) max_interval: Duration,
    pub(crate) unknown_kid_limit: u32,
    pub(crate) unknown_kid_window: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

/// Timeouts and caps of server-to-server HTTP calls.
#[derive(Debug, Clone)]
pub(crate) struct HttpPolicy {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

impl AuthConfig {
    /// Starts the Authentik preset: issuer `{base_url}/application/o/{slug}/`, keys
    /// through its discovery document, audience `client_id`.
    pub fn authentik(
        base_url: impl Into<String>,
        slug: impl Into<String>,
        client_id: impl Into<String>,
    ) -> AuthConfigBuilder {
        AuthConfigBuilder::new(Provider::Authentik {
            base_url: base_url.into(),
            slug: slug.into(),
        })
        .audience(client_id)
    }

    /// Starts a configuration for any OpenID Connect provider, identified by its exact
    /// issuer URL. Keys are found through `{issuer}/.well-known/openid-configuration`
    /// unless [`discovery_url`](AuthConfigBuilder::discovery_url),
    /// [`jwks_url`](AuthConfigBuilder::jwks_url) or
    /// [`static_jwks`](AuthConfigBuilder::static_jwks) says otherwise. Set the audience
    /// with [`audience`](AuthConfigBuilder::audience).
    pub fn oidc(issuer: impl Into<String>) -> AuthConfigBuilder {
        AuthConfigBuilder::new(Provider::Generic {
            issuer: issuer.into(),
        })
    }

    /// Reads the Authentik preset from the process environment (see the
    /// [module docs](self) for the variables).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (for tests
    /// and for configuration systems other than the process environment).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env_with<F>(get: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let var = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str, expected: &'static str| {
            var(name).ok_or(ConfigError::Missing { name, expected })
        };
        let base = required("AUTHENTIK_URL", "the public base URL of Authentik")?;
        let slug = required("AUTHENTIK_APP_SLUG", "the Authentik application slug")?;
        let client_id = required("AUTHENTIK_CLIENT_ID", "the OAuth client id")?;
        let mut builder = Self::authentik(base, slug, client_id);
        if let Some(internal) = var("AUTHENTIK_INTERNAL_URL") {
            builder = builder.internal_url(internal);
        }
        if let Some(name) = var("AUTH_COOKIE_NAME") {
            builder = builder.cookie_name(name);
        }
        if let Some(map) = var("AUTH_ROLE_MAP") {
            builder = builder.role_map(RoleMap::parse(&map)?);
        }
        if let Some(leeway) = var("AUTH_LEEWAY_SECS") {
            let secs: u64 = leeway.trim().parse().map_err(|e| {
                ConfigError::invalid_because(
                    "AUTH_LEEWAY_SECS",
                    "a whole number of seconds from 0 to 300",
                    e,
                )
            })?;
            if secs > MAX_LEEWAY.as_secs() {
                return Err(ConfigError::invalid(
                    "AUTH_LEEWAY_SECS",
                    "a whole number of seconds from 0 to 300",
                ));
            }
            builder = builder.leeway(Duration::from_secs(secs));
        }
        for name in ["FRONTEND_URL", "API_URL"] {
            if let Some(url) = var(name) {
                builder = builder.trusted_origin_named(name, url);
            }
        }
        builder.build()
    }

    /// The exact issuer every token's `iss` must equal.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The accepted audiences (`aud` must contain one of them).
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The name of the auth cookie.
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The group → role table.
    #[must_use]
    pub fn role_map(&self) -> &RoleMap {
        &self.inner.role_map
    }

    /// The role of a user no table entry matches.
    #[must_use]
    pub fn default_role(&self) -> &str {
        &self.inner.default_role
    }

    /// The clock-skew leeway.
    #[must_use]
    pub fn leeway(&self) -> Duration {
        self.inner.leeway
    }

    /// The trusted origins (`scheme://host[:port]`) for the CSRF check.
    #[must_use]
    pub fn trusted_origins(&self) -> &[String] {
        &self.inner.trusted_origins
    }

    /// Rewrites a URL on the public origin to the internal base, when one is set.
    ///
    /// ```
    /// let config = authgate::AuthConfig::authentik("https://auth.example.com", "app", "id")
    ///     .internal_url("http://authentik:9000")
    ///     .build()?;
    /// assert_eq!(
    ///     config.server_url("https://auth.example.com/application/o/token/")?.as_str(),
    ///     "http://authentik:9000/application/o/token/"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The URL does not parse.
    pub fn server_url(&self, url: &str) -> Result<Url, url::ParseError> {
        let url = Url::parse(url)?;
        Ok(rewrite_origin(url, self.inner.internal.as_ref()))
    }

    /// The reverse of [`server_url`](Self::server_url): moves a URL on the internal
    /// base back to the public origin, for URLs a browser must open.
    ///
    /// Providers such as Authentik build the endpoints of their discovery document from
    /// the host they were asked on, so a document fetched through the internal URL names
    /// internal endpoints; the browser must be sent to the public ones.
    ///
    /// ```
    /// let config = authgate::AuthConfig::authentik("https://auth.example.com", "app", "id")
    ///     .internal_url("http://authentik:9000")
    ///     .build()?;
    /// assert_eq!(
    ///     config.browser_url("http://authentik:9000/application/o/authorize/?a=1")?.as_str(),
    ///     "https://auth.example.com/application/o/authorize/?a=1"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The URL does not parse.
    pub fn browser_url(&self, url: &str) -> Result<Url, url::ParseError> {
        let url = Url::parse(url)?;
        Ok(match &self.inner.internal {
            Some((public, internal)) => move_origin(url, internal, public),
            None => url,
        })
    }
}

pub(crate) fn rewrite_origin(url: Url, internal: Option<&(Url, Url)>) -> Url {
    match internal {
        Some((public, internal)) => move_origin(url, public, internal),
        None => url,
    }
}

/// `url` on `from`'s origin (below `from`'s path) moved to `to`; others unchanged.
fn move_origin(url: Url, from: &Url, to: &Url) -> Url {
    let from_prefix = from.path().trim_end_matches('/');
    if url.origin() != from.origin() || !url.path().starts_with(from_prefix) {
        return url;
    }
    let mut out = to.clone();
    let to_prefix = to.path().trim_end_matches('/');
    out.set_path(&format!("{to_prefix}{}", &url.path()[from_prefix.len()..]));
    out.set_query(url.query());
    out
}

#[derive(Debug, Clone)]
enum Provider {
    Authentik { base_url: String, slug: String },
    Generic { issuer: String },
}

#[derive(Debug, Clone)]
enum SourceOverride {
    Discovery(String),
    Jwks(String),
    Static(String),
}

/// Builds an [`AuthConfig`]; start with [`AuthConfig::authentik`] or [`AuthConfig::oidc`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthConfigBuilder {
    provider: Provider,
    internal_url: Option<String>,
    source: Option<SourceOverride>,
    audiences: Vec<String>,
    cookie_name: String,
    role_map: RoleMap,
    default_role: String,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    max_token_bytes: usize,
    trusted_origins: Vec<(&'static str, String)>,
    csrf: bool,
    realm: Option<String>,
    token_cache_capacity: usize,
    refresh: RefreshPolicy,
    http: HttpPolicy,
}

impl AuthConfigBuilder {
    fn new(provider: Provider) -> Self {
        Self {
            provider,
            internal_url: None,
            source: None,
            audiences: Vec::new(),
            cookie_name: String::from("app_auth"),
            role_map: RoleMap::new(),
            default_role: String::from("user"),
            leeway: Duration::from_secs(60),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            max_token_bytes: 16 * 1024,
            trusted_origins: Vec::new(),
            csrf: true,
            realm: None,
            token_cache_capacity: 10_000,
            refresh: RefreshPolicy {
                default_interval: Duration::from_secs(300),
                min_interval: Duration::from_secs(30),
                max_interval: Duration::from_secs(24 * 3600),
                unknown_kid_limit: 5,
                unknown_kid_window: Duration::from_secs(60),
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
            },
            http: HttpPolicy {
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                max_body_bytes: 1024 * 1024,
            },
        }
    }

    /// Sends server-to-server calls (discovery, JWKS) to this base URL instead of the
    /// public one, while `iss` is still checked against the public issuer.
    pub fn internal_url(mut self, url: impl Into<String>) -> Self {
        self.internal_url = Some(url.into());
        self
    }

    /// Uses this discovery document URL instead of `{issuer}.well-known/openid-configuration`.
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(SourceOverride::Discovery(url.into()));
        self
    }

    /// Fetches keys from this JWKS URL directly, without discovery.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(SourceOverride::Jwks(url.into()));
        self
    }

    /// Uses a fixed JWK set (the JSON text of `{"keys": [...]}`), for offline use.
    pub fn static_jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.source = Some(SourceOverride::Static(jwks_json.into()));
        self
    }

    /// Adds an accepted audience (`aud` must contain at least one).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The cookie that holds the access token (default `app_auth`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The group → role table of the default mapper.
    pub fn role_map(mut self, map: RoleMap) -> Self {
        self.role_map = map;
        self
    }

    /// The role of users no table entry matches (default `user`).
    pub fn default_role(mut self, role: impl Into<String>) -> Self {
        self.default_role = role.into();
        self
    }

    /// Clock-skew leeway for `exp` and `nbf` (default 60 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The accepted signing algorithms (default: [`DEFAULT_ALGORITHMS`]). `none` and
    /// HMAC can never be accepted with provider keys; listing them is an error.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Tokens longer than this are refused before parsing (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Trusts this origin (`scheme://host[:port]`, a path is ignored) for
    /// cookie-authenticated unsafe requests.
    pub fn trusted_origin(self, url: impl Into<String>) -> Self {
        self.trusted_origin_named("trusted_origin", url)
    }

    fn trusted_origin_named(mut self, name: &'static str, url: impl Into<String>) -> Self {
        self.trusted_origins.push((name, url.into()));
        self
    }

    /// Switches the CSRF origin check for cookie-authenticated unsafe requests on or
    /// off (default on).
    pub fn csrf_protection(mut self, enabled: bool) -> Self {
        self.csrf = enabled;
        self
    }

    /// The `realm` in `WWW-Authenticate` (default: the issuer).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// How many verified tokens to remember (default 10 000); `0` switches the cache off.
    pub fn token_cache_capacity(mut self, entries: usize) -> Self {
        self.token_cache_capacity = entries;
        self
    }

    /// Background key refresh: the interval when the provider sends no
    /// `Cache-Control: max-age` (default 5 min), and the bounds a `max-age` is clamped
    /// to (default 30 s to 24 h).
    pub fn jwks_refresh(mut self, default: Duration, min: Duration, max: Duration) -> Self {
        self.refresh.default_interval = default;
        self.refresh.min_interval = min;
        self.refresh.max_interval = max;
        self
    }

    /// At most `limit` refetches per `window` caused by unknown `kid`s (default 5 per
    /// minute, as jwks-rsa).
    pub fn unknown_kid_rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.refresh.unknown_kid_limit = limit;
        self.refresh.unknown_kid_window = window;
        self
    }

    /// Backoff of the background fetch while no key set has arrived yet (default 1 s
    /// doubling up to 60 s).
    pub fn startup_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.refresh.initial_backoff = initial;
        self.refresh.max_backoff = max;
        self
    }

    /// Timeouts of discovery and JWKS requests (default 5 s to connect, 10 s in all).
    pub fn http_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.timeout = total;
        self
    }

    /// The largest discovery or JWKS body accepted (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.http.max_body_bytes = bytes;
        self
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting that is missing or malformed.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        let (issuer, public_base, default_discovery) = match &self.provider {
            Provider::Authentik { base_url, slug } => {
                let base = parse_http_url("AUTHENTIK_URL", base_url)?;
                let slug = slug.trim().trim_matches('/');
                if slug.is_empty() || slug.contains(['/', '?', '#']) {
                    return Err(ConfigError::invalid(
                        "AUTHENTIK_APP_SLUG",
                        "an application slug without slashes",
                    ));
                }
                let issuer = format!(
                    "{}/application/o/{slug}/",
                    base.as_str().trim_end_matches('/')
                );
                let discovery = format!("{issuer}.well-known/openid-configuration");
                (issuer, base, discovery)
            }
            Provider::Generic { issuer } => {
                let url = parse_http_url("issuer", issuer)?;
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                (issuer.clone(), url, discovery)
            }
        };
        let internal = match &self.internal_url {
            Some(url) => Some((public_base, parse_http_url("AUTHENTIK_INTERNAL_URL", url)?)),
            None => None,
        };
        let server = |name: &'static str, url: &str| -> Result<Url, ConfigError> {
            Ok(rewrite_origin(
                parse_http_url(name, url)?,
                internal.as_ref(),
            ))
        };
        let source = match self.source {
            None => KeySource::Discovery(server("discovery_url", &default_discovery)?),
            Some(SourceOverride::Discovery(url)) => {
                KeySource::Discovery(server("discovery_url", &url)?)
            }
            Some(SourceOverride::Jwks(url)) => KeySource::Jwks(server("jwks_url", &url)?),
            Some(SourceOverride::Static(json)) => {
                crate::keys::KeySet::parse(&json, 0).map_err(|e| {
                    ConfigError::invalid_because(
                        "static_jwks",
                        "a JWK set with at least one usable signing key",
                        e,
                    )
                })?;
                KeySource::Static(json)
            }
        };
        if self.audiences.is_empty() || self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(ConfigError::Missing {
                name: "AUTHENTIK_CLIENT_ID",
                expected: "the audience (client id) tokens must be issued for",
            });
        }
        if self.cookie_name.is_empty()
            || !self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(ConfigError::invalid(
                "AUTH_COOKIE_NAME",
                "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid(
                "AUTH_LEEWAY_SECS",
                "a leeway of at most 300 seconds",
            ));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                "algorithms",
                "at least one asymmetric algorithm",
            ));
        }
        if self
            .algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ConfigError::invalid(
                "algorithms",
                "asymmetric algorithms only (HMAC is never accepted with provider keys)",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::invalid("max_token_bytes", "a positive size"));
        }
        if self.refresh.unknown_kid_window.is_zero()
            || self.refresh.min_interval.is_zero()
            || self.refresh.min_interval > self.refresh.max_interval
            || self.refresh.initial_backoff.is_zero()
        {
            return Err(ConfigError::invalid(
                "jwks_refresh",
                "non-zero intervals with min <= max",
            ));
        }
        let mut trusted_origins = Vec::with_capacity(self.trusted_origins.len());
        for (name, url) in &self.trusted_origins {
            let parsed = parse_http_url(name, url)?;
            let origin = parsed.origin();
            if !origin.is_tuple() {
                return Err(ConfigError::invalid(name, "an http(s) URL with a host"));
            }
            trusted_origins.push(origin.ascii_serialization());
        }
        let realm = self.realm.unwrap_or_else(|| issuer.clone());
        Ok(AuthConfig {
            inner: Arc::new(ConfigInner {
                issuer,
                audiences: self.audiences,
                source,
                internal,
                cookie_name: self.cookie_name,
                role_map: self.role_map,
                default_role: self.default_role,
                leeway: self.leeway,
                algorithms: self.algorithms,
                max_token_bytes: self.max_token_bytes,
                trusted_origins,
                csrf: self.csrf,
                realm,
                token_cache_capacity: self.token_cache_capacity,
                refresh: self.refresh,
                http: self.http,
            }),
        })
    }
}

/// Parses the setting `name` as an absolute `http(s)` URL with a host.
///
/// ```
/// assert!(authgate::config::parse_http_url("API_URL", "https://api.example.com").is_ok());
/// let err = authgate::config::parse_http_url("API_URL", "api.example.com").unwrap_err();
/// assert!(err.to_string().contains("API_URL"));
/// ```
///
/// # Errors
///
/// [`ConfigError::Invalid`] naming `name`.
pub fn parse_http_url(name: &'static str, url: &str) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| ConfigError::invalid_because(name, "an absolute http(s) URL", e))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ConfigError::invalid(name, "an absolute http(s) URL"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const BASE: &[(&str, &str)] = &[
        ("AUTHENTIK_URL", "https://auth.example.com"),
        ("AUTHENTIK_APP_SLUG", "shop"),
        ("AUTHENTIK_CLIENT_ID", "client"),
    ];

    #[test]
    fn from_env_builds_the_authentik_issuer_with_trailing_slash() {
        let config = AuthConfig::from_env_with(env(BASE)).unwrap();
        assert_eq!(
            config.issuer(),
            "https://auth.example.com/application/o/shop/"
        );
        assert_eq!(config.audiences(), ["client"]);
        assert_eq!(config.cookie_name(), "app_auth");
        assert_eq!(config.leeway(), Duration::from_secs(60));
        match &config.inner.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "https://auth.example.com/application/o/shop/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
    }

    #[test]
    fn internal_url_rewrites_server_calls_but_not_the_issuer() {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHENTIK_INTERNAL_URL", "http://authentik-server:9000"));
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(
            config.issuer(),
            "https://auth.example.com/application/o/shop/"
        );
        match &config.inner.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "http://authentik-server:9000/application/o/shop/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
        // URLs elsewhere are left alone.
        assert_eq!(
            config
                .server_url("https://other.example.com/x")
                .unwrap()
                .as_str(),
            "https://other.example.com/x"
        );
    }

    #[test]
    fn missing_variables_are_named() {
        for missing in ["AUTHENTIK_URL", "AUTHENTIK_APP_SLUG", "AUTHENTIK_CLIENT_ID"] {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = AuthConfig::from_env_with(env(&vars)).unwrap_err();
            match err {
                ConfigError::Missing { name, .. } => assert_eq!(name, missing),
                other => panic!("unexpected {other:?}"),
            }
            assert!(
                AuthConfig::from_env_with(env(&vars))
                    .unwrap_err()
                    .to_string()
                    .contains(missing)
            );
        }
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases = [
            ("AUTHENTIK_URL", "not a url"),
            ("AUTHENTIK_URL", "ftp://auth.example.com"),
            ("AUTHENTIK_INTERNAL_URL", "::"),
            ("AUTH_LEEWAY_SECS", "sixty"),
            ("AUTH_LEEWAY_SECS", "301"),
            ("AUTH_ROLE_MAP", "app-admins"),
            ("AUTH_ROLE_MAP", "=admin"),
            ("AUTH_COOKIE_NAME", "bad name;"),
            ("FRONTEND_URL", "app.example.com"),
            ("API_URL", "/relative"),
        ];
        for (name, value) in cases {
            let mut vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, value));
            let err = AuthConfig::from_env_with(env(&vars)).unwrap_err();
            match &err {
                ConfigError::Invalid { name: n, .. } => assert_eq!(*n, name, "{value}"),
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn optional_variables_are_read() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTH_COOKIE_NAME", "session"),
            ("AUTH_ROLE_MAP", "app-admins=admin,app-support=support"),
            ("AUTH_LEEWAY_SECS", "5"),
            ("FRONTEND_URL", "https://app.example.com/some/path"),
            ("API_URL", "http://localhost:3000"),
        ]);
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.cookie_name(), "session");
        assert_eq!(config.leeway(), Duration::from_secs(5));
        assert_eq!(config.role_map().role_for(["app-support"]), Some("support"));
        assert_eq!(
            config.trusted_origins(),
            ["https://app.example.com", "http://localhost:3000"]
        );
    }

    #[test]
    fn role_map_first_table_entry_wins() {
        let map = RoleMap::parse("a=first,b=second").unwrap();
        assert_eq!(map.role_for(["b", "a"]), Some("first"));
        assert_eq!(map.role_for(["b"]), Some("second"));
        assert_eq!(map.role_for(Vec::<&str>::new()), None);
    }

    #[test]
    fn hmac_and_oversized_leeway_are_refused() {
        let hmac = AuthConfig::oidc("https://idp.example.com/")
            .audience("x")
            .algorithms([Algorithm::HS256])
            .build();
        assert!(matches!(
            hmac,
            Err(ConfigError::Invalid {
                name: "algorithms",
                ..
            })
        ));
        let leeway = AuthConfig::oidc("https://idp.example.com/")
            .audience("x")
            .leeway(Duration::from_secs(301))
            .build();
        assert!(leeway.is_err());
        let no_audience = AuthConfig::oidc("https://idp.example.com/").build();
        assert!(matches!(no_audience, Err(ConfigError::Missing { .. })));
    }

    #[test]
    fn generic_issuer_discovery_path() {
        let config = AuthConfig::oidc("https://idp.example.com/realms/x")
            .audience("api")
            .build()
            .unwrap();
        match &config.inner.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "https://idp.example.com/realms/x/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
    }
}
