//! Configuration: where the keys come from, what a valid token looks like, and how
//! the layer behaves.
//!
//! One job per file: `builder.rs` checks and builds, `env.rs` reads the environment,
//! `origin.rs` moves URLs between the public and the internal origin, `sources.rs`
//! holds the opt-in token places (a header, a query parameter).

use crate::token_type::TokenType;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::keys::KeysConfig;
use crate::user::RoleMap;

mod builder;
mod env;
mod env_issuers;
mod origin;
mod sources;

pub use builder::AuthConfigBuilder;
pub use builder::parse_http_url;
pub use env::EnvVars;
pub(crate) use env_issuers::in_issuer_message;

/// The largest leeway accepted: clocks further apart than this are a bug, not skew.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The verified configuration of an [`Authenticator`](crate::Authenticator).
///
/// Built by [`AuthConfigBuilder::build`] or [`AuthConfig::from_env`].
///
/// Configuration: where the keys come from, what a valid token looks like, and how
/// the layer behaves.
///
/// Build it in code with [`AuthConfig::authentik`] (the Authentik preset) or
/// [`AuthConfig::oidc`] (any OpenID Connect provider), or read it from the
/// environment with [`AuthConfig::from_env`].
///
/// ```
/// use authgate::{AuthConfig, RoleMap};
/// use std::time::Duration;
///
/// let config = AuthConfig::authentik("https://auth.example.com", "my-app", "my-client-id")
///     .internal_url("http://authentik-server:9000")
///     .role_map(RoleMap::parse("app-admins=admin,app-support=support")?)
///     .leeway(Duration::from_secs(30))
///     .trusted_origin("https://app.example.com")
///     .build()?;
/// assert_eq!(config.issuer(), "https://auth.example.com/application/o/my-app/");
/// # Ok::<(), authgate::ConfigError>(())
/// ```
///
/// The variables [`AuthConfig::from_env`] reads:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUTHENTIK_URL` | public base URL of Authentik (the issuer's origin) | required without `OIDC_ISSUER` |
/// | `AUTHENTIK_INTERNAL_URL` | base URL for server-to-server calls | the public URL |
/// | `AUTHENTIK_APP_SLUG` | the application slug | required without `OIDC_ISSUER` |
/// | `AUTHENTIK_CLIENT_ID` | the client id: the expected audience | required without `OIDC_AUDIENCE` |
/// | `OIDC_ISSUER` | any OpenID Connect provider: the exact issuer (`iss`); keys through its discovery | — |
/// | `OIDC_AUDIENCE` | the expected audience (an API identifier, or the client id) | `OIDC_CLIENT_ID` |
/// | `OIDC_INTERNAL_URL` | base URL replacing the issuer's origin for server-to-server calls | the issuer's origin |
/// | `AUTH_COOKIE_NAME` | the cookie holding the access token | `app_auth` |
/// | `AUTH_ROLE_MAP` | `group=role,group=role`: a user has the role of every group it is in, the first match in table order is its primary role | empty |
/// | `AUTH_ROLES_CLAIM` | the claim the roles come from, a dotted path: `groups`, `roles`, `realm_access.roles`, `resource_access.<client>.roles`; named without a role table, its values are the roles ([`DefaultMapper`](crate::DefaultMapper)) | `groups`, through the table |
/// | `AUTH_LEEWAY_SECS` | clock-skew leeway in seconds (at most 300) | `60` |
/// | `AUTH_TOKEN_TYPE` | which tokens count as access tokens ([`TokenType::parse`]): `authentik`, `keycloak`, `at+jwt`, `any`, `claim:NAME[=VALUE]`, `no-claim:NAME` | `authentik` |
/// | `FRONTEND_URL`, `API_URL` | trusted origins for cookie-authenticated unsafe requests | none |
/// | `AUTH_TOKEN_HEADER` | a header holding the token (bare or `Bearer `), read after the cookie and `Authorization` ([`token_header`](AuthConfigBuilder::token_header)) | none |
/// | `AUTH_TOKEN_QUERY_PARAM` | a query parameter holding the token, read last and for `GET`/`HEAD` only, for WebSocket and EventSource; see the risks on [`token_query_param`](AuthConfigBuilder::token_query_param) | none (off) |
///
/// The `OIDC_*` names and their `AUTHENTIK_*` twins may both be set only when they
/// agree; see [`AuthConfig::from_env_with`]. Several issuers are read with
/// [`AuthConfig::issuers_from_env`] (`AUTH_ISSUERS`).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

/// The default name of the auth cookie.
pub(crate) const DEFAULT_COOKIE_NAME: &str = "app_auth";

#[derive(Debug, Clone)]
pub(crate) struct ConfigInner {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) keys: Arc<KeysConfig>,
    pub(crate) cookie_name: String,
    /// With the default name: `__Host-{name}`, also read, and set by the login flow
    /// when its cookies are Secure.
    pub(crate) host_cookie_name: Option<String>,
    pub(crate) role_map: RoleMap,
    pub(crate) default_role: String,
    /// The roles claim, when one is named (`None`: `groups`, through the table only).
    pub(crate) roles_claim: Option<String>,
    pub(crate) leeway: Duration,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_token_bytes: usize,
    /// The token header (lowercase), when one is configured.
    pub(crate) token_header: Option<String>,
    /// The token query parameter, when one is configured.
    pub(crate) token_query_param: Option<String>,
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) csrf: bool,
    pub(crate) realm: String,
    pub(crate) token_cache_capacity: usize,
    pub(crate) token_type: TokenType,
    /// Whether tokens must carry `sub` (all but back-channel logout tokens).
    pub(crate) require_sub: bool,
}

impl AuthConfig {
    /// Starts the Authentik preset: issuer `{base_url}/application/o/{slug}/`, keys
    /// through its discovery document, audience `client_id`.
    pub fn authentik(
        base_url: impl Into<String>,
        slug: impl Into<String>,
        client_id: impl Into<String>,
    ) -> AuthConfigBuilder {
        AuthConfigBuilder::authentik(base_url.into(), slug.into()).audience(client_id)
    }

    /// Starts a configuration for any OpenID Connect provider, identified by its exact
    /// issuer URL. Keys are found through `{issuer}/.well-known/openid-configuration`
    /// unless [`discovery_url`](AuthConfigBuilder::discovery_url),
    /// [`jwks_url`](AuthConfigBuilder::jwks_url) or
    /// [`static_jwks`](AuthConfigBuilder::static_jwks) says otherwise. Set the audience
    /// with [`audience`](AuthConfigBuilder::audience).
    pub fn oidc(issuer: impl Into<String>) -> AuthConfigBuilder {
        AuthConfigBuilder::generic(issuer.into())
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

    /// The name of the auth cookie (see also
    /// [`secure_cookie_name`](Self::secure_cookie_name)).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The name of the auth cookie where it is `Secure`: `__Host-app_auth` with the
    /// default name (the prefix makes browsers refuse the cookie unless it is Secure,
    /// host-only and on `/`, so a sibling subdomain or a plain-HTTP page cannot plant
    /// or shadow it), else the configured name. The layer reads both names; the login
    /// flow sets this one when its cookies are Secure.
    ///
    /// Migrating: sessions started before keep their `app_auth` cookie, which is still
    /// accepted until it expires; new logins get `__Host-app_auth`.
    ///
    /// ```
    /// let config = authgate::AuthConfig::authentik("https://auth.example.com", "shop", "client").build()?;
    /// assert_eq!(config.cookie_name(), "app_auth");
    /// assert_eq!(config.secure_cookie_name(), "__Host-app_auth");
    /// let named = authgate::AuthConfig::authentik("https://auth.example.com", "shop", "client")
    ///     .cookie_name("session")
    ///     .build()?;
    /// assert_eq!(named.secure_cookie_name(), "session");
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    #[must_use]
    pub fn secure_cookie_name(&self) -> &str {
        self.inner
            .host_cookie_name
            .as_deref()
            .unwrap_or(&self.inner.cookie_name)
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

    /// The roles claim, when one was named
    /// ([`roles_claim`](AuthConfigBuilder::roles_claim), `AUTH_ROLES_CLAIM`); `None`
    /// reads `groups` through the role table only (see
    /// [`DefaultMapper`](crate::DefaultMapper)).
    #[must_use]
    pub fn roles_claim(&self) -> Option<&str> {
        self.inner.roles_claim.as_deref()
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

    /// The `realm` of `WWW-Authenticate` challenges.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The same configuration for tokens issued to `audience` only.
    pub(crate) fn for_audience(&self, audience: String) -> Self {
        let mut inner = (*self.inner).clone();
        inner.audiences = vec![audience];
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The same configuration for ID tokens issued to `client_id`: that audience, and
    /// no access-token type rule.
    pub(crate) fn for_id_tokens(&self, client_id: String) -> Self {
        let mut inner = (*self.inner).clone();
        inner.audiences = vec![client_id];
        inner.token_type = TokenType::Any;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The same configuration for back-channel logout tokens issued to `client_id`:
    /// that audience, no access-token type rule, `sub` optional (`sid` may stand in).
    pub(crate) fn for_logout_tokens(&self, client_id: String) -> Self {
        let mut inner = (*self.inner).clone();
        inner.audiences = vec![client_id];
        inner.token_type = TokenType::Any;
        inner.require_sub = false;
        // Each logout token is seen once: nothing to gain from caching them.
        inner.token_cache_capacity = 0;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Which tokens count as access tokens (see [`TokenType`]).
    #[must_use]
    pub fn token_type(&self) -> &TokenType {
        &self.inner.token_type
    }
}
