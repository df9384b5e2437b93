//! The flow's configuration: the OAuth client, the frontend and API URLs, scopes,
//! cookie security and lifetimes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authgate::ConfigError;
use url::Url;

mod builder;
mod env;

pub use builder::FlowConfigBuilder;

/// The scopes requested by default.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile", "offline_access"];

/// The authorization request's parameters the flow sets itself, which
/// [`FlowConfigBuilder::authorize_param`] may not replace.
pub(crate) const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// The scope that lets an access token call Authentik's own API (see the
/// [module docs](FlowConfig#the-goauthentikioapi-scope)).
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
    /// No TLS provider for the flow's own client: the `rust-crypto` backend brings
    /// none. Install a rustls `CryptoProvider` in the process, or pass a client of
    /// your own ([`FlowConfigBuilder::http_client`](crate::FlowConfigBuilder::http_client)).
    #[error("{0}")]
    NoTlsProvider(&'static str),
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

/// The flow's configuration.
///
/// The flow's configuration: the OAuth client, the frontend and API URLs, scopes,
/// cookie security and lifetimes.
///
/// Build it in code:
///
/// ```
/// use authgate_flow::{ClientAuth, FlowConfig};
/// use std::time::Duration;
///
/// let config = FlowConfig::builder("my-client-id", "https://app.example.com", "https://api.example.com")
///     .client_secret("s3cret")
///     .client_auth(ClientAuth::ClientSecretPost)
///     .authentik_api_scope() // adds `goauthentik.io/api`, see below
///     .default_redirect("/dashboard")
///     .build()?;
/// assert_eq!(config.callback_url(), "https://api.example.com/auth/callback");
/// assert_eq!(config.scopes(), ["openid", "email", "profile", "offline_access", "goauthentik.io/api"]);
/// assert!(config.secure_cookies()); // the API is served over https
/// # Ok::<(), authgate_flow::FlowConfigError>(())
/// ```
///
/// or read it from the environment with [`FlowConfig::from_env`] (and the whole flow,
/// authenticator included, with [`Flow::from_env`](crate::Flow::from_env)):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUTHENTIK_CLIENT_ID` or `OIDC_CLIENT_ID` | the OAuth client id | required |
/// | `AUTHENTIK_CLIENT_SECRET` or `OIDC_CLIENT_SECRET` | the client secret | required unless `AUTH_CLIENT_AUTH=none` |
/// | `AUTH_CLIENT_AUTH` | `client_secret_basic`, `client_secret_post` or `none` | `client_secret_basic` |
/// | `FRONTEND_URL` | the frontend's base URL | required |
/// | `API_URL` | this API's public base URL (the callback is `{API_URL}{prefix}/callback`) | required |
/// | `APP_ENV` | `production` makes every cookie `Secure` | none |
/// | `AUTH_FLOW_PREFIX` | where the endpoints are mounted | `/auth` |
/// | `AUTH_SCOPES` | space-separated scopes (must include `openid`) | `openid email profile offline_access` |
/// | `AUTHENTIK_API_SCOPE` | `true` adds `goauthentik.io/api` | `false` |
/// | `AUTH_AUTHORIZE_PARAMS` | space-separated `name=value` pairs added to the authorization request (Auth0: `audience=https://api.example`) | none |
/// | `AUTH_DEFAULT_REDIRECT` | the path used when `?redirect=` is absent or refused | `/` |
/// | `AUTH_POST_LOGOUT_REDIRECT_URL` | where the provider sends the browser after logout | `FRONTEND_URL` |
/// | `AUTH_STATE_SECRET` | seals login states into their cookie; shared by every instance (at least 32 bytes) | derived from the client secret |
///
/// Either name of a pair may be used (the `OIDC_*` ones with `OIDC_ISSUER`, for a
/// provider other than Authentik); both may be set if they hold the same value, and
/// a pair that disagrees is refused with
/// [`ConfigError::Conflict`](authgate::ConfigError::Conflict).
///
/// [`Flow::from_env`](crate::Flow::from_env) also reads the core's variables
/// (`AUTHENTIK_URL`, `AUTHENTIK_INTERNAL_URL`, `AUTHENTIK_APP_SLUG`, or `OIDC_ISSUER`,
/// `OIDC_AUDIENCE`, `OIDC_INTERNAL_URL`; `AUTH_COOKIE_NAME`, …) through
/// [`authgate::AuthConfig::from_env`].
///
/// # The `goauthentik.io/api` scope
///
/// An access token can call Authentik's own REST API (`/api/v3/…`) on the user's
/// behalf only if it was issued with the `goauthentik.io/api` scope. Without it
/// Authentik answers **403 Forbidden** to such calls, even though the same token is
/// accepted by your API. Add the scope with
/// [`authentik_api_scope`](FlowConfigBuilder::authentik_api_scope) (or
/// `AUTHENTIK_API_SCOPE=true`) when the backend calls Authentik with the user's token,
/// and allow the scope on the Authentik provider (its "Scopes" list).
///
/// # Cookies
///
/// | cookie | name | path | lifetime |
/// |---|---|---|---|
/// | access token | the core's `cookie_name` (`AUTH_COOKIE_NAME`, default `app_auth`; `__Host-app_auth` when cookies are Secure and the name is the default) | `/` | the access token's |
/// | refresh token (for `/refresh`, and `/logout`, which revokes it at the provider) | `{name}_refresh` | `{prefix}` | the refresh token's |
/// | ID token (for `id_token_hint` at logout, the session's `sub` at refresh) | `{name}_id` | `{prefix}` | as the refresh token |
/// | login state (sealed: PKCE verifier, nonce, redirect; bound to `state`) | `{name}_login` | `{prefix}/callback` | the state's (10 minutes) |
/// | exchange binding (the browser that completed the callback) | `{name}_exchange` | `{prefix}/exchange` | the exchange code's (60 s) |
///
/// Companions of a `__Host-` access cookie (on other paths) get `__Secure-` instead.
/// Migrating to the `__Host-` name needs nothing: the layer also reads the plain name,
/// so sessions from before keep working until their cookies expire.
///
/// All are `HttpOnly` and `SameSite=Lax`; all are `Secure` when `APP_ENV=production`
/// or `API_URL` is `https` (or as set with
/// [`secure_cookies`](FlowConfigBuilder::secure_cookies)). A name with the `__Host-`
/// prefix gives the other cookies the `__Secure-` prefix, since `__Host-` requires
/// `Path=/`.
#[derive(Clone)]
pub struct FlowConfig {
    pub(crate) inner: Arc<Inner>,
}

/// The settings of a [`FlowConfig`], checked and normalized by
/// [`FlowConfigBuilder::build`].
pub(crate) struct Inner {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) state_secret: Option<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) frontend_url: String,
    pub(crate) api_url: String,
    pub(crate) prefix: String,
    pub(crate) scopes: Vec<String>,
    /// Extra authorization request parameters (`audience`, `prompt`, …).
    pub(crate) authorize_params: Vec<(String, String)>,
    pub(crate) default_redirect: String,
    pub(crate) callback_url: String,
    pub(crate) frontend_callback_url: Url,
    pub(crate) post_logout_redirect_url: String,
    pub(crate) secure: bool,
    pub(crate) state_ttl: Duration,
    pub(crate) exchange_ttl: Duration,
    pub(crate) refresh_grace: Duration,
    pub(crate) default_access_lifetime: Duration,
    pub(crate) default_refresh_lifetime: Duration,
    pub(crate) csrf: bool,
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) http_timeout: Duration,
    /// The application's HTTP client for the token and revocation endpoints.
    pub(crate) http_client: Option<reqwest::Client>,
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
            .field("authorize_params", &c.authorize_params)
            .field("secure", &c.secure)
            .finish_non_exhaustive()
    }
}

impl FlowConfig {
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

    /// The extra parameters of the authorization request, in order
    /// ([`FlowConfigBuilder::authorize_param`], `AUTH_AUTHORIZE_PARAMS`).
    #[must_use]
    pub fn authorize_params(&self) -> &[(String, String)] {
        &self.inner.authorize_params
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
