//! [`TestIssuerBuilder`]: the issuer's settings before it starts.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::counters::{Counters, Endpoint};
use super::keys::KeySet;
use super::shared::{Client, Shared};
use super::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EC_KID, DEFAULT_RSA_KID, DEFAULT_SLUG, Inner,
    TestIssuer, server,
};
use crate::provider::{ClientAuthMethod, Grants, ProviderState};
use crate::{DEFAULT_TOKEN_LIFETIME, SigningKey, TestUser, TestkitError};

/// Configures a [`TestIssuer`] before starting it. Made by [`TestIssuer::builder`].
///
/// ```
/// use std::time::Duration;
/// use authgate_testkit::{ClientAuthMethod, TestIssuer, TestUser};
///
/// let issuer = TestIssuer::builder()
///     .slug("shop")
///     .client_id("shop-client")
///     .client_secret("s3cret")
///     .client_auth_method(ClientAuthMethod::ClientSecretPost)
///     .redirect_uri("http://localhost:3000/auth/callback")
///     .post_logout_redirect_uri("http://localhost:5173/")
///     .user(TestUser::new("ada").email("ada@example.com").groups(["app-admins"]))
///     .user(TestUser::new("sam"))
///     .auto_login("ada")
///     .public_url("https://auth.example.com")
///     .access_token_lifetime(Duration::from_secs(60))
///     .refresh_token_rotation(false)
///     .start_blocking()?;
/// assert_eq!(issuer.issuer(), "https://auth.example.com/application/o/shop/");
/// assert!(issuer.base_url().starts_with("http://127.0.0.1:"));
/// # Ok::<(), authgate_testkit::TestkitError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct TestIssuerBuilder {
    slug: String,
    client_id: String,
    client_secret: String,
    client_auth: ClientAuthMethod,
    default_keys: bool,
    extra: Vec<ExtraKey>,
    max_age: Option<u64>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    users: Vec<TestUser>,
    auto_login: Option<String>,
    public_url: Option<String>,
    issuer_path: Option<String>,
    endpoint_paths: Vec<(Endpoint, String)>,
    access_token_lifetime: Duration,
    rotation: bool,
}

#[derive(Debug)]
enum ExtraKey {
    Rsa(String),
    Ec(String),
    Given(SigningKey),
}

impl Default for TestIssuerBuilder {
    fn default() -> Self {
        TestIssuerBuilder {
            slug: DEFAULT_SLUG.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            client_auth: ClientAuthMethod::default(),
            default_keys: true,
            extra: Vec::new(),
            max_age: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            users: Vec::new(),
            auto_login: None,
            public_url: None,
            issuer_path: None,
            endpoint_paths: Vec::new(),
            access_token_lifetime: DEFAULT_TOKEN_LIFETIME,
            rotation: true,
        }
    }
}

/// Whether `url` is an absolute `http`/`https` URL with a host and no query or fragment.
fn is_base_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    })
}

/// Whether `path` can be a route: `/...`, without query, fragment, route parameters
/// (braces) or whitespace.
fn is_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['?', '#', '{', '}'])
        && !path.contains(char::is_whitespace)
}

impl TestIssuerBuilder {
    /// The application slug (default `"authgate"`). Must be non-empty and made
    /// of ASCII letters, digits, `-`, `_` and `.`.
    pub fn slug(mut self, slug: &str) -> Self {
        slug.clone_into(&mut self.slug);
        self
    }

    /// The OAuth client id, used as the default `aud` (default `"authgate-test"`).
    pub fn client_id(mut self, client_id: &str) -> Self {
        client_id.clone_into(&mut self.client_id);
        self
    }

    /// The client secret (default [`DEFAULT_CLIENT_SECRET`]); unused for a
    /// public client ([`ClientAuthMethod::None`]).
    pub fn client_secret(mut self, secret: &str) -> Self {
        secret.clone_into(&mut self.client_secret);
        self
    }

    /// How the client authenticates at the token and revocation endpoints
    /// (default [`ClientAuthMethod::Any`]).
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.client_auth = method;
        self
    }

    /// Registers a redirect URI, matched exactly. Repeatable.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        ProviderState::add_unique(&mut self.redirect_uris, uri);
        self
    }

    /// Registers a post-logout redirect URI, matched exactly. Repeatable.
    pub fn post_logout_redirect_uri(mut self, uri: &str) -> Self {
        ProviderState::add_unique(&mut self.post_logout_redirect_uris, uri);
        self
    }

    /// Adds a user the issuer can sign in. Repeatable; the sign-in page lists
    /// the users in this order (a second user with the same `sub` replaces the first).
    pub fn user(mut self, user: TestUser) -> Self {
        match self.users.iter_mut().find(|u| u.sub() == user.sub()) {
            Some(slot) => *slot = user,
            None => self.users.push(user),
        }
        self
    }

    /// The authorization endpoint signs this configured user in at once, without
    /// the page (a `login_hint` naming a configured user still wins).
    pub fn auto_login(mut self, sub: &str) -> Self {
        self.auto_login = Some(sub.to_owned());
        self
    }

    /// Internal-URL mode: the discovery document, the issuer identifier (`iss`) and
    /// the advertised endpoints use this base (for example `http://auth.invalid`),
    /// while the server still listens on loopback. A relying party then reaches it
    /// only through `AUTHENTIK_INTERNAL_URL` = [`base_url`](TestIssuer::base_url).
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// Lays the issuer out like another provider: the issuer identifier becomes
    /// `{public_url}{path}` exactly (a trailing slash is kept or left out as given),
    /// discovery is at `{issuer}/.well-known/openid-configuration`, and JWKS and
    /// end-session move below the issuer (`{issuer}/jwks/`, `{issuer}/end-session/`)
    /// unless [`endpoint_path`](Self::endpoint_path) puts them elsewhere. The slug is
    /// then unused, and [`TestIssuer::env`] gives the generic `OIDC_*` variables.
    ///
    /// ```
    /// use authgate_testkit::{Endpoint, TestIssuer};
    ///
    /// // Keycloak: a realm.
    /// let keycloak = TestIssuer::builder()
    ///     .issuer_path("/realms/shop")
    ///     .endpoint_path(Endpoint::Jwks, "/realms/shop/protocol/openid-connect/certs")
    ///     .start_blocking()?;
    /// assert_eq!(keycloak.issuer(), format!("{}/realms/shop", keycloak.base_url()));
    /// assert!(keycloak.jwks_url().ends_with("/realms/shop/protocol/openid-connect/certs"));
    ///
    /// // Auth0: the tenant's root, with the trailing slash.
    /// let auth0 = TestIssuer::builder()
    ///     .issuer_path("/")
    ///     .endpoint_path(Endpoint::Jwks, "/.well-known/jwks.json")
    ///     .start_blocking()?;
    /// assert_eq!(auth0.issuer(), format!("{}/", auth0.base_url()));
    /// assert_eq!(
    ///     auth0.discovery_url(),
    ///     format!("{}/.well-known/openid-configuration", auth0.base_url())
    /// );
    /// # Ok::<(), authgate_testkit::TestkitError>(())
    /// ```
    pub fn issuer_path(mut self, path: &str) -> Self {
        self.issuer_path = Some(path.to_owned());
        self
    }

    /// Serves `endpoint` at this path (starting with `/`) instead of its default, as
    /// another provider lays it out. Discovery, which OpenID Connect fixes below the
    /// issuer, may move too (for a provider that serves it elsewhere).
    pub fn endpoint_path(mut self, endpoint: Endpoint, path: &str) -> Self {
        self.endpoint_paths.retain(|(e, _)| *e != endpoint);
        self.endpoint_paths.push((endpoint, path.to_owned()));
        self
    }

    /// The lifetime of the access and ID tokens the token endpoint issues
    /// (`expires_in`; default 300 s).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Whether a refresh gives a new refresh token and the presented one stops
    /// working (default `true`). Off, the refresh answer carries no refresh token
    /// and the presented one keeps working.
    pub fn refresh_token_rotation(mut self, on: bool) -> Self {
        self.rotation = on;
        self
    }

    /// Do not generate the default `"rsa-1"` (RS256) and `"ec-1"` (ES256) keys.
    /// The first key added then becomes the default signing key.
    pub fn no_default_keys(mut self) -> Self {
        self.default_keys = false;
        self
    }

    /// Also generate and serve a 2048-bit RSA key (RS256) with this `kid`.
    pub fn rsa_key(mut self, kid: &str) -> Self {
        self.extra.push(ExtraKey::Rsa(kid.to_owned()));
        self
    }

    /// Also generate and serve a P-256 key (ES256) with this `kid`.
    pub fn ec_key(mut self, kid: &str) -> Self {
        self.extra.push(ExtraKey::Ec(kid.to_owned()));
        self
    }

    /// Also serve this key.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.extra.push(ExtraKey::Given(key));
        self
    }

    /// Send `Cache-Control: max-age=N` with the JWKS (default: no header).
    pub fn jwks_max_age(mut self, secs: Option<u64>) -> Self {
        self.max_age = secs;
        self
    }

    /// Generates the keys, binds `127.0.0.1:0` and starts serving.
    ///
    /// # Errors
    ///
    /// [`TestkitError::InvalidConfig`] for a bad slug, a public URL that is not
    /// an `http(s)` base URL, an issuer or endpoint path that is not a plain path, two
    /// endpoints at one path, or an auto-login `sub` that is not a configured user; [`TestkitError::KeyGeneration`] if a key cannot be generated;
    /// [`TestkitError::Io`] if the listener, runtime or thread cannot be created.
    pub async fn start(self) -> Result<TestIssuer, TestkitError> {
        self.start_blocking()
    }

    fn check(&self) -> Result<(), TestkitError> {
        let valid_slug = !self.slug.is_empty()
            && self
                .slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid_slug {
            return Err(TestkitError::InvalidConfig(format!(
                "slug {:?} must be non-empty ASCII letters, digits, '-', '_' or '.'",
                self.slug
            )));
        }
        if let Some(url) = &self.public_url
            && !is_base_url(url)
        {
            return Err(TestkitError::InvalidConfig(format!(
                "public URL {url:?} must be an http(s) URL without query or fragment"
            )));
        }
        let paths = self
            .issuer_path
            .iter()
            .chain(self.endpoint_paths.iter().map(|(_, p)| p));
        for path in paths {
            if !is_path(path) {
                return Err(TestkitError::InvalidConfig(format!(
                    "path {path:?} must start with '/' and have no query, fragment, braces or whitespace"
                )));
            }
        }
        if let Some(sub) = &self.auto_login
            && !self.users.iter().any(|u| u.sub() == sub)
        {
            return Err(TestkitError::InvalidConfig(format!(
                "auto-login user {sub:?} is not a configured user"
            )));
        }
        Ok(())
    }

    /// Like [`start`](Self::start), for synchronous code (no runtime needed).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    pub fn start_blocking(self) -> Result<TestIssuer, TestkitError> {
        self.check()?;
        let mut set = KeySet {
            max_age: self.max_age,
            ..KeySet::default()
        };
        if self.default_keys {
            set.insert(SigningKey::generate_rsa(DEFAULT_RSA_KID)?);
            set.insert(SigningKey::generate_ec(DEFAULT_EC_KID)?);
            set.default_kid = Some(DEFAULT_RSA_KID.to_owned());
        }
        for extra in self.extra {
            set.insert(match extra {
                ExtraKey::Rsa(kid) => SigningKey::generate_rsa(&kid)?,
                ExtraKey::Ec(kid) => SigningKey::generate_ec(&kid)?,
                ExtraKey::Given(key) => key,
            });
        }

        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let loopback_base = format!("http://{addr}");
        let public_base = self.public_url.unwrap_or_else(|| loopback_base.clone());
        let authentik_layout = self.issuer_path.is_none();
        let issuer_path = self
            .issuer_path
            .unwrap_or_else(|| format!("/application/o/{}/", self.slug));
        let issuer = format!("{public_base}{issuer_path}");
        let paths = Endpoint::ALL.map(|endpoint| {
            self.endpoint_paths
                .iter()
                .find(|(e, _)| *e == endpoint)
                .map_or_else(|| endpoint.default_path(&issuer_path), |(_, p)| p.clone())
        });
        if let Some(path) = paths
            .iter()
            .enumerate()
            .find_map(|(i, path)| paths[..i].contains(path).then_some(path))
        {
            return Err(TestkitError::InvalidConfig(format!(
                "two endpoints would be served at {path:?}"
            )));
        }
        let shared = Arc::new(Shared {
            loopback_base,
            public_base,
            issuer,
            slug: self.slug,
            authentik_layout,
            paths,
            client: Client {
                id: self.client_id,
                secret: (self.client_auth != ClientAuthMethod::None).then_some(self.client_secret),
                method: self.client_auth,
            },
            keys: RwLock::new(set),
            outage: AtomicBool::new(false),
            counters: Counters::default(),
            provider: Mutex::new(ProviderState {
                redirect_uris: self.redirect_uris,
                post_logout_redirect_uris: self.post_logout_redirect_uris,
                users: self.users,
                auto_login: self.auto_login,
                access_token_lifetime: self.access_token_lifetime,
                rotation: self.rotation,
                fault: None,
                grants: Grants::default(),
                token_requests: Vec::new(),
                issued: Vec::new(),
                end_sessions: 0,
            }),
        });
        let (shutdown, thread) = server::spawn(&shared, listener)?;
        Ok(TestIssuer {
            inner: Arc::new(Inner {
                shared,
                addr,
                shutdown: Some(shutdown),
                thread: Some(thread),
            }),
        })
    }
}
