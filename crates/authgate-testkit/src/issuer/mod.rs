//! The in-process issuer: the [`TestIssuer`] handle, its URLs, switches and counters.

mod builder;
pub(crate) mod counters;
mod keys;
mod server;
pub(crate) mod shared;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

pub use builder::TestIssuerBuilder;
pub use counters::Endpoint;
use shared::Shared;

use crate::{SigningKey, TestkitError, TokenBuilder};

/// Slug used by [`TestIssuer::start`].
pub const DEFAULT_SLUG: &str = "authgate";
/// Client id used by [`TestIssuer::start`].
pub const DEFAULT_CLIENT_ID: &str = "authgate-test";
/// Client secret used by [`TestIssuer::start`].
pub const DEFAULT_CLIENT_SECRET: &str = "authgate-test-secret";
/// `kid` of the default RS256 key (the default signing key).
pub const DEFAULT_RSA_KID: &str = "rsa-1";
/// `kid` of the default ES256 key.
pub const DEFAULT_EC_KID: &str = "ec-1";

/// Owns the server thread; dropping it (with the last [`TestIssuer`] clone)
/// stops the server.
pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // The server runs on its own thread and runtime, so waiting here cannot
        // deadlock; once it returns the port is closed and every connection is gone.
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// A real OpenID Connect provider running in-process, Authentik-shaped.
///
/// It listens on `127.0.0.1` on a port chosen by the OS and serves, over plain
/// HTTP, every endpoint its discovery document names (see [`Endpoint`] and the
/// [crate docs](crate)): discovery, JWKS, authorization (with a sign-in page),
/// token, userinfo, revocation and end-session, plus a stand-in for one endpoint
/// of Authentik's own API, `GET /api/v3/authenticators/webauthn/`, which (like
/// Authentik) answers 403 unless the Bearer access token carries the scope
/// [`goauthentik.io/api`](crate::AUTHENTIK_API_SCOPE).
///
/// The server runs on a dedicated thread with its own single-threaded Tokio
/// runtime, so it keeps working whatever runtime (or none) the test uses, and a
/// single issuer may be shared between tests. `TestIssuer` is a cheap handle:
/// clones share the same server and state, and dropping the last clone (and the
/// last [`TokenBuilder`] made from it) stops the server and closes the port.
#[derive(Clone)]
pub struct TestIssuer {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.inner.shared;
        f.debug_struct("TestIssuer")
            .field("issuer", &shared.issuer)
            .field("base_url", &shared.loopback_base)
            .field("client_id", &shared.client.id)
            .field("client_auth_method", &shared.client.method)
            .field("keys", &shared.read().keys)
            .finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// Starts an issuer with slug `"authgate"`, client id `"authgate-test"`, client
    /// secret `"authgate-test-secret"` (basic or post), an RS256 key `"rsa-1"` (the
    /// default signing key) and an ES256 key `"ec-1"`; no users and no redirect
    /// URIs yet (add them with [`add_user`](Self::add_user) and
    /// [`add_redirect_uri`](Self::add_redirect_uri), or use [`builder`](Self::builder)).
    ///
    /// # Errors
    ///
    /// As for [`TestIssuerBuilder::start`].
    pub async fn start() -> Result<TestIssuer, TestkitError> {
        Self::builder().start().await
    }

    /// Like [`start`](Self::start), for synchronous code (no runtime needed).
    ///
    /// # Errors
    ///
    /// As for [`TestIssuerBuilder::start`].
    pub fn start_blocking() -> Result<TestIssuer, TestkitError> {
        Self::builder().start_blocking()
    }

    /// A builder for a customised issuer.
    pub fn builder() -> TestIssuerBuilder {
        TestIssuerBuilder::default()
    }

    pub(crate) fn default_signing_key(&self) -> Result<SigningKey, TestkitError> {
        self.inner
            .shared
            .read()
            .default_key()
            .cloned()
            .ok_or(TestkitError::NoSigningKey)
    }

    /// Where the server listens, `http://127.0.0.1:PORT` without a trailing
    /// slash: `AUTHENTIK_URL`, or `AUTHENTIK_INTERNAL_URL` in internal-URL mode
    /// ([`TestIssuerBuilder::public_url`]).
    pub fn base_url(&self) -> String {
        self.inner.shared.loopback_base.clone()
    }

    /// The advertised base URL: the [public URL](TestIssuerBuilder::public_url) if
    /// one was set, else [`base_url`](Self::base_url). The value for `AUTHENTIK_URL`.
    pub fn public_url(&self) -> String {
        self.inner.shared.public_base.clone()
    }

    /// The application slug (`AUTHENTIK_APP_SLUG`).
    pub fn slug(&self) -> &str {
        &self.inner.shared.slug
    }

    /// The client id (`AUTHENTIK_CLIENT_ID`), the default audience of minted tokens.
    pub fn client_id(&self) -> &str {
        &self.inner.shared.client.id
    }

    /// The issuer identifier, `{public_url}/application/o/{slug}/` (with the
    /// trailing slash), or `{public_url}{issuer path}` with an
    /// [issuer path](TestIssuerBuilder::issuer_path): the `iss` of every token.
    pub fn issuer(&self) -> String {
        self.inner.shared.issuer.clone()
    }

    /// The discovery document on the loopback server,
    /// `{base_url}/application/o/{slug}/.well-known/openid-configuration` by default.
    pub fn discovery_url(&self) -> String {
        self.endpoint_url(Endpoint::Discovery)
    }

    /// The key set on the loopback server, `{base_url}/application/o/{slug}/jwks/` by
    /// default.
    pub fn jwks_url(&self) -> String {
        self.endpoint_url(Endpoint::Jwks)
    }

    /// The URL of `endpoint` on the loopback server (reachable in internal-URL
    /// mode too; the discovery document advertises the public one).
    pub fn endpoint_url(&self, endpoint: Endpoint) -> String {
        self.inner.shared.loopback_url(endpoint)
    }

    /// The loopback address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The environment a service needs to trust this issuer and run the login
    /// flow against it.
    ///
    /// Laid out like Authentik (the default): `AUTHENTIK_URL`
    /// ([`public_url`](Self::public_url)), `AUTHENTIK_APP_SLUG`,
    /// `AUTHENTIK_CLIENT_ID`, then `AUTHENTIK_CLIENT_SECRET` (unless the client is
    /// public) and `AUTHENTIK_INTERNAL_URL` ([`base_url`](Self::base_url), only when a
    /// public URL is set).
    ///
    /// With an [issuer path](TestIssuerBuilder::issuer_path), the generic names:
    /// `OIDC_ISSUER` ([`issuer`](Self::issuer)), `OIDC_AUDIENCE` and `OIDC_CLIENT_ID`
    /// (the client id), then `OIDC_CLIENT_SECRET` and `OIDC_INTERNAL_URL` likewise.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let shared = &self.inner.shared;
        let (mut env, secret, internal) = if shared.authentik_layout {
            let env = vec![
                ("AUTHENTIK_URL", self.public_url()),
                ("AUTHENTIK_APP_SLUG", self.slug().to_owned()),
                ("AUTHENTIK_CLIENT_ID", self.client_id().to_owned()),
            ];
            (env, "AUTHENTIK_CLIENT_SECRET", "AUTHENTIK_INTERNAL_URL")
        } else {
            let env = vec![
                ("OIDC_ISSUER", self.issuer()),
                ("OIDC_AUDIENCE", self.client_id().to_owned()),
                ("OIDC_CLIENT_ID", self.client_id().to_owned()),
            ];
            (env, "OIDC_CLIENT_SECRET", "OIDC_INTERNAL_URL")
        };
        if let Some(value) = self.client_secret() {
            env.push((secret, value));
        }
        if shared.public_base != shared.loopback_base {
            env.push((internal, self.base_url()));
        }
        env
    }

    /// Starts an access token shaped like Authentik's: `iss` =
    /// [`issuer`](Self::issuer), `aud` and `azp` = [`client_id`](Self::client_id), a
    /// random `uid`, `sub` = `"user-1"`, `iat` = now and `exp` = now + 300 s, to be
    /// signed with the default key (its `kid` and algorithm in the header, `typ`
    /// `"JWT"`). Remove `uid` (`remove_claim("uid")`) for an ID token's shape.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(self.clone())
    }

    /// While `down` is true, every endpoint answers `503 Service Unavailable`
    /// (the requests are still counted) and [`authorize`](Self::authorize) fails.
    pub fn set_outage(&self, down: bool) {
        self.inner.shared.outage.store(down, Ordering::SeqCst);
    }

    /// How many HTTP requests `endpoint` received (503 answers included).
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.inner.shared.counters.get(endpoint)
    }

    /// How many discovery requests were received: `requests(Endpoint::Discovery)`.
    pub fn discovery_requests(&self) -> usize {
        self.requests(Endpoint::Discovery)
    }

    /// How many JWKS requests were received: `requests(Endpoint::Jwks)`.
    pub fn jwks_requests(&self) -> usize {
        self.requests(Endpoint::Jwks)
    }

    /// How many requests the Authentik API stand-in
    /// (`GET /api/v3/authenticators/webauthn/`) received:
    /// `requests(Endpoint::AuthentikApi)`.
    pub fn api_requests(&self) -> usize {
        self.requests(Endpoint::AuthentikApi)
    }

    /// Sets every request counter back to zero.
    pub fn reset_counters(&self) {
        self.inner.shared.counters.reset();
    }
}
