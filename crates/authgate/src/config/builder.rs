//! [`AuthConfigBuilder`]: every setting with its default, and the checks `build()`
//! runs before a configuration can exist.

use super::DEFAULT_COOKIE_NAME;
use crate::token_type::TokenType;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::Url;

use super::{AuthConfig, ConfigInner, MAX_LEEWAY};
use crate::error::ConfigError;
use crate::keys::alg;
use crate::keys::fetch::{HttpPolicy, InternalOrigin, server_side};
use crate::keys::jwk::KeySet;
use crate::keys::refresh::RefreshPolicy;
use crate::keys::{KeySource, KeysConfig};
use crate::user::RoleMap;

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
    cookie_name_set: bool,
    role_map: RoleMap,
    default_role: String,
    roles_claim: Option<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    max_token_bytes: usize,
    pub(super) token_header: Option<String>,
    pub(super) token_query_param: Option<String>,
    trusted_origins: Vec<(&'static str, String)>,
    csrf: bool,
    realm: Option<String>,
    token_cache_capacity: usize,
    token_type: TokenType,
    refresh: RefreshPolicy,
    http: HttpPolicy,
}

impl AuthConfigBuilder {
    pub(super) fn authentik(base_url: String, slug: String) -> Self {
        let mut builder = Self::new(Provider::Authentik { base_url, slug });
        builder.token_type = TokenType::authentik();
        builder
    }

    pub(super) fn generic(issuer: String) -> Self {
        Self::new(Provider::Generic { issuer })
    }

    fn new(provider: Provider) -> Self {
        Self {
            provider,
            internal_url: None,
            source: None,
            audiences: Vec::new(),
            cookie_name: String::from(DEFAULT_COOKIE_NAME),
            cookie_name_set: false,
            role_map: RoleMap::new(),
            default_role: String::from("user"),
            roles_claim: None,
            leeway: Duration::from_secs(60),
            algorithms: alg::all(),
            max_token_bytes: 16 * 1024,
            token_header: None,
            token_query_param: None,
            trusted_origins: Vec::new(),
            csrf: true,
            realm: None,
            token_cache_capacity: 10_000,
            token_type: TokenType::Any,
            refresh: RefreshPolicy::default(),
            http: HttpPolicy::default(),
        }
    }

    /// Sends server-to-server calls (discovery, JWKS) to this base URL instead of the
    /// public one, while `iss` is still checked against the public issuer.
    ///
    /// The base URL replaces the public base: `AUTHENTIK_URL` for the Authentik
    /// preset, the issuer's origin otherwise (so with the issuer
    /// `https://kc.example.com/realms/shop` and the internal URL
    /// `http://keycloak:8080`, discovery is fetched from
    /// `http://keycloak:8080/realms/shop/.well-known/openid-configuration`).
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

    /// The cookie that holds the access token (default `app_auth`, and
    /// `__Host-app_auth` where the login flow sets Secure cookies: see
    /// [`AuthConfig::secure_cookie_name`](crate::AuthConfig::secure_cookie_name)).
    /// A name set here is used as it is.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self.cookie_name_set = true;
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

    /// The claim the default mapper reads roles from, as a dotted path into nested
    /// objects: `groups`, `roles`, `realm_access.roles` (Keycloak realm roles),
    /// `resource_access.<client>.roles` (Keycloak client roles), or a namespaced claim
    /// such as `https://example.com/roles` (Auth0). Named, and without a
    /// [role table](Self::role_map), its values are the roles; see
    /// [`DefaultMapper`](crate::DefaultMapper).
    ///
    /// ```
    /// use authgate::AuthConfig;
    ///
    /// let config = AuthConfig::oidc("https://kc.example.com/realms/shop")
    ///     .audience("shop-api")
    ///     .roles_claim("realm_access.roles")
    ///     .build()?;
    /// assert_eq!(config.roles_claim(), Some("realm_access.roles"));
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claim = Some(path.into());
        self
    }

    /// Clock-skew leeway for `exp` and `nbf` (default 60 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The accepted signing algorithms (default: every supported asymmetric one:
    /// RS256/384/512, PS256/384/512, ES256, ES384, EdDSA). `none` and HMAC can never be
    /// accepted with provider keys; listing them is an error.
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

    /// Like [`trusted_origin`](Self::trusted_origin), naming the variable it came from
    /// in errors.
    pub(super) fn trusted_origin_named(
        mut self,
        name: &'static str,
        url: impl Into<String>,
    ) -> Self {
        self.trusted_origins.push((name, url.into()));
        self
    }

    /// Switches the CSRF origin check for cookie-authenticated unsafe requests on or
    /// off (default on).
    ///
    /// The rule: when the request has an `Origin`, only the
    /// [trusted origins](Self::trusted_origin) decide (`null` never passes, and
    /// `Sec-Fetch-Site: same-site` does not help a sibling subdomain); only when
    /// `Origin` is absent may `Sec-Fetch-Site` decide, and then only `same-origin`;
    /// with neither header the request is refused. Safe methods, and tokens that do
    /// not come from the cookie (Bearer, the token header, the query parameter), are
    /// not checked.
    pub fn csrf_protection(mut self, enabled: bool) -> Self {
        self.csrf = enabled;
        self
    }

    /// The `realm` in `WWW-Authenticate` (default: the issuer).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Which tokens count as access tokens: [`TokenType::authentik`] for the Authentik
    /// preset, [`TokenType::Any`] otherwise (see [`TokenType`] for each provider's).
    /// A token refused by it gets `401 wrong_token_type`.
    pub fn token_type(mut self, token_type: TokenType) -> Self {
        self.token_type = token_type;
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

    /// How long a key set is trusted after its last successful fetch while every
    /// refetch fails (default 24 h; whole seconds, at least 1). After it, requests get
    /// `503 keys_unavailable`, cached tokens included, until a fetch succeeds again:
    /// keys the provider may have revoked are not trusted for ever. `None` trusts the
    /// last good set indefinitely. Static key sets never go stale.
    pub fn max_stale_keys(mut self, age: Option<Duration>) -> Self {
        self.refresh.max_stale = age;
        self
    }

    /// Timeouts of discovery and JWKS requests (default 5 s to connect, 10 s in all).
    pub fn http_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.timeout = total;
        self
    }

    /// The HTTP client for discovery and JWKS requests, instead of authgate's own: for
    /// a proxy, a private CA, client certificates, or your own TLS set-up.
    ///
    /// authgate still applies its total timeout ([`http_timeouts`](Self::http_timeouts);
    /// the connect timeout is the client's), its body cap, and refuses a document that
    /// came from another origin than the one asked. Your client's redirect policy
    /// decides which redirects are followed: `reqwest::redirect::Policy::none()` is the
    /// strictest; authgate's own client follows redirects within one origin only.
    ///
    /// ```
    /// use authgate::{AuthConfig, reqwest};
    ///
    /// let client = reqwest::Client::builder()
    ///     .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?)
    ///     // .add_root_certificate(reqwest::Certificate::from_pem(ca_pem)?)
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let config = AuthConfig::authentik("https://auth.example.com", "my-app", "my-client-id")
    ///     .http_client(client)
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http.client = Some(client);
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
        let (issuer, public_base, default_discovery) = self.issuer()?;
        let internal = match &self.internal_url {
            Some(url) => Some(InternalOrigin::new(
                public_base,
                parse_http_url("AUTHENTIK_INTERNAL_URL", url)?,
            )),
            None => None,
        };
        let server = |name: &'static str, url: &str| -> Result<Url, ConfigError> {
            Ok(server_side(parse_http_url(name, url)?, internal.as_ref()))
        };
        let source = match &self.source {
            None => KeySource::Discovery(server("discovery_url", &default_discovery)?),
            Some(SourceOverride::Discovery(url)) => {
                KeySource::Discovery(server("discovery_url", url)?)
            }
            Some(SourceOverride::Jwks(url)) => KeySource::Jwks(server("jwks_url", url)?),
            Some(SourceOverride::Static(json)) => {
                KeySet::parse(json, 0).map_err(|e| {
                    ConfigError::invalid_because(
                        "static_jwks",
                        "a JWK set with at least one usable signing key",
                        e,
                    )
                })?;
                KeySource::Static(json.clone())
            }
        };
        self.check()?;
        let (token_header, token_query_param) = self.token_places()?;
        let mut trusted_origins = Vec::with_capacity(self.trusted_origins.len());
        for (name, url) in &self.trusted_origins {
            let origin = parse_http_url(name, url)?.origin();
            if !origin.is_tuple() {
                return Err(ConfigError::invalid(name, "an http(s) URL with a host"));
            }
            trusted_origins.push(origin.ascii_serialization());
        }
        let realm = self.realm.unwrap_or_else(|| issuer.clone());
        let keys = KeysConfig {
            issuer: issuer.clone(),
            source,
            internal,
            refresh: self.refresh,
            http: self.http,
        };
        Ok(AuthConfig {
            inner: Arc::new(ConfigInner {
                issuer,
                audiences: self.audiences,
                keys: Arc::new(keys),
                host_cookie_name: (!self.cookie_name_set)
                    .then(|| format!("__Host-{}", self.cookie_name)),
                cookie_name: self.cookie_name,
                role_map: self.role_map,
                default_role: self.default_role,
                roles_claim: self.roles_claim.map(|path| path.trim().to_owned()),
                leeway: self.leeway,
                algorithms: self.algorithms,
                max_token_bytes: self.max_token_bytes,
                token_header,
                token_query_param,
                trusted_origins,
                csrf: self.csrf,
                realm,
                token_cache_capacity: self.token_cache_capacity,
                token_type: self.token_type,
                require_sub: true,
            }),
        })
    }

    /// The issuer, the public base URL (what [`internal_url`](Self::internal_url)
    /// replaces), and the default discovery URL.
    pub(super) fn issuer(&self) -> Result<(String, Url, String), ConfigError> {
        match &self.provider {
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
                Ok((issuer, base, discovery))
            }
            Provider::Generic { issuer } => {
                let mut base = parse_http_url("issuer", issuer)?;
                // An internal URL replaces the issuer's origin, not its path: the
                // realm path of `https://kc.example.com/realms/shop` stays.
                base.set_path("/");
                base.set_query(None);
                base.set_fragment(None);
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                Ok((issuer.clone(), base, discovery))
            }
        }
    }

    /// The checks on plain values.
    fn check(&self) -> Result<(), ConfigError> {
        if self.audiences.is_empty() || self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(ConfigError::missing(
                "AUTHENTIK_CLIENT_ID",
                "the audience (client id) tokens must be issued for",
            ));
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
        if let Some(path) = &self.roles_claim
            && path.trim().split('.').any(str::is_empty)
        {
            return Err(ConfigError::invalid(
                "AUTH_ROLES_CLAIM",
                "a claim name or a dotted path such as realm_access.roles",
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
        if !self.algorithms.iter().all(|a| alg::is_supported(*a)) {
            return Err(ConfigError::invalid(
                "algorithms",
                "asymmetric algorithms only (HMAC is never accepted with provider keys)",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::invalid("max_token_bytes", "a positive size"));
        }
        let refresh = &self.refresh;
        if refresh.unknown_kid_window.is_zero()
            || refresh.min_interval.is_zero()
            || refresh.min_interval > refresh.max_interval
            || refresh.initial_backoff.is_zero()
        {
            return Err(ConfigError::invalid(
                "jwks_refresh",
                "non-zero intervals with min <= max",
            ));
        }
        if refresh.max_stale.is_some_and(|age| age.as_secs() == 0) {
            return Err(ConfigError::invalid(
                "max_stale_keys",
                "at least one second, or None",
            ));
        }
        Ok(())
    }
}

/// Parses the setting `name` as an absolute `http(s)` URL with a host.
///
/// ```
/// use authgate::__private::parse_http_url;
///
/// assert!(parse_http_url("API_URL", "https://api.example.com").is_ok());
/// let err = parse_http_url("API_URL", "api.example.com").unwrap_err();
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
        match &config.inner.keys.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "https://idp.example.com/realms/x/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
    }
}
