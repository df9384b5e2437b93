//! The in-process issuer: state, builder and loopback HTTP server.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::{SigningKey, TestkitError, TokenBuilder};

/// Slug used by [`TestIssuer::start`].
pub const DEFAULT_SLUG: &str = "authgate";
/// Client id used by [`TestIssuer::start`].
pub const DEFAULT_CLIENT_ID: &str = "authgate-test";
/// `kid` of the default RS256 key (the default signing key).
pub const DEFAULT_RSA_KID: &str = "rsa-1";
/// `kid` of the default ES256 key.
pub const DEFAULT_EC_KID: &str = "ec-1";

/// Keys and JWKS settings, read by the HTTP handlers.
#[derive(Debug, Default)]
struct KeySet {
    keys: Vec<SigningKey>,
    default_kid: Option<String>,
    raw: Vec<Value>,
    max_age: Option<u64>,
}

impl KeySet {
    fn insert(&mut self, key: SigningKey) {
        match self.keys.iter_mut().find(|k| k.kid() == key.kid()) {
            Some(slot) => *slot = key,
            None => self.keys.push(key),
        }
    }

    fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    fn default_key(&self) -> Option<&SigningKey> {
        self.default_kid
            .as_deref()
            .and_then(|kid| self.get(kid))
            .or_else(|| self.keys.first())
    }

    fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs = Vec::new();
        for key in &self.keys {
            if !algs.contains(&key.algorithm()) {
                algs.push(key.algorithm());
            }
        }
        algs
    }
}

/// State shared between the [`TestIssuer`] handles and the server.
#[derive(Debug)]
struct Shared {
    base_url: String,
    issuer: String,
    keys: RwLock<KeySet>,
    outage: AtomicBool,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
    api_requests: AtomicUsize,
}

/// The scope Authentik requires before an access token may call its own API.
pub const AUTHENTIK_API_SCOPE: &str = "goauthentik.io/api";

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, KeySet> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn discovery_document(&self) -> Value {
        let base = &self.base_url;
        let issuer = &self.issuer;
        let algs: Vec<Value> = self
            .read()
            .algorithms()
            .into_iter()
            .map(|alg| json!(alg))
            .collect();
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/application/o/authorize/"),
            "token_endpoint": format!("{base}/application/o/token/"),
            "userinfo_endpoint": format!("{base}/application/o/userinfo/"),
            "end_session_endpoint": format!("{issuer}end-session/"),
            "introspection_endpoint": format!("{base}/application/o/introspect/"),
            "revocation_endpoint": format!("{base}/application/o/revoke/"),
            "jwks_uri": format!("{issuer}jwks/"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce",
                "email", "email_verified", "name", "given_name", "preferred_username",
                "nickname", "groups"
            ],
            "code_challenge_methods_supported": ["S256"],
        })
    }

    fn jwks_document(&self) -> (Value, Option<u64>) {
        let set = self.read();
        let mut keys: Vec<Value> = set.keys.iter().map(SigningKey::public_jwk).collect();
        keys.extend(set.raw.iter().cloned());
        (json!({ "keys": keys }), set.max_age)
    }
}

fn outage_response() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "authgate-testkit: simulated issuer outage\n",
    )
        .into_response()
}

async fn discovery_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if shared.outage.load(Ordering::SeqCst) {
        return outage_response();
    }
    Json(shared.discovery_document()).into_response()
}

async fn jwks_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if shared.outage.load(Ordering::SeqCst) {
        return outage_response();
    }
    let (body, max_age) = shared.jwks_document();
    let mut response = Json(body).into_response();
    if let Some(secs) = max_age
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={secs}"))
    {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

fn api_error(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({ "detail": detail }))).into_response()
}

/// Authentik's `GET /api/v3/authenticators/webauthn/`, as Authentik guards it: the
/// caller's Bearer access token must be one of this issuer's, unexpired, and carry
/// the scope `goauthentik.io/api`; otherwise 403.
async fn webauthn_handler(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> Response {
    shared.api_requests.fetch_add(1, Ordering::SeqCst);
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return api_error(
            StatusCode::FORBIDDEN,
            "Authentication credentials were not provided.",
        );
    };
    let claims = {
        let set = shared.read();
        let Some(key) = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .and_then(|kid| set.keys.iter().find(|k| k.kid() == kid).cloned())
        else {
            return api_error(StatusCode::FORBIDDEN, "Token invalid/expired");
        };
        drop(set);
        let Ok(decoding) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.public_jwk())
            .map_err(|_| ())
            .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|_| ()))
        else {
            return api_error(StatusCode::INTERNAL_SERVER_ERROR, "bad key");
        };
        let mut validation = jsonwebtoken::Validation::new(key.algorithm());
        validation.set_issuer(&[shared.issuer.as_str()]);
        validation.validate_aud = false;
        match jsonwebtoken::decode::<Value>(token, &decoding, &validation) {
            Ok(data) => data.claims,
            Err(_) => return api_error(StatusCode::FORBIDDEN, "Token invalid/expired"),
        }
    };
    let has_scope = claims["scope"]
        .as_str()
        .is_some_and(|s| s.split_ascii_whitespace().any(|s| s == AUTHENTIK_API_SCOPE));
    if !has_scope {
        return api_error(StatusCode::FORBIDDEN, "Token invalid/expired");
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    Json(json!({
        "pagination": { "count": 1, "current": 1, "total_pages": 1 },
        "results": [{ "pk": 1, "name": format!("Security key of {sub}"), "type": "webauthn" }],
    }))
    .into_response()
}

/// Owns the server thread; dropping it (with the last [`TestIssuer`] clone)
/// stops the server.
struct Inner {
    shared: Arc<Shared>,
    slug: String,
    client_id: String,
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

/// A real OpenID Connect issuer running in-process, Authentik-shaped.
///
/// It listens on `127.0.0.1` on a port chosen by the OS and serves, over plain
/// HTTP, the discovery document at
/// `{base}/application/o/{slug}/.well-known/openid-configuration` and the key set
/// at `{base}/application/o/{slug}/jwks/`, and a stand-in for one endpoint of
/// Authentik's own API, `GET /api/v3/authenticators/webauthn/`, which (like
/// Authentik) answers 403 unless the Bearer access token carries the scope
/// [`goauthentik.io/api`](AUTHENTIK_API_SCOPE). The other endpoints named in the
/// discovery document (authorize, token, userinfo, …) are advertised but not
/// served.
///
/// The server runs on a dedicated thread with its own single-threaded Tokio
/// runtime, so it keeps working whatever runtime (or none) the test uses, and a
/// single issuer may be shared between tests. `TestIssuer` is a cheap handle:
/// clones share the same server and state, and dropping the last clone (and the
/// last [`TokenBuilder`] made from it) stops the server and closes the port.
#[derive(Clone)]
pub struct TestIssuer {
    inner: Arc<Inner>,
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.inner.shared.issuer)
            .field("client_id", &self.inner.client_id)
            .field("keys", &self.inner.shared.read().keys)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TestIssuer`] before starting it. Made by [`TestIssuer::builder`].
#[derive(Debug)]
#[must_use]
pub struct TestIssuerBuilder {
    slug: String,
    client_id: String,
    default_keys: bool,
    extra: Vec<ExtraKey>,
    max_age: Option<u64>,
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
            default_keys: true,
            extra: Vec::new(),
            max_age: None,
        }
    }
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
    /// [`TestkitError::InvalidConfig`] for a bad slug,
    /// [`TestkitError::KeyGeneration`] if a key cannot be generated,
    /// [`TestkitError::Io`] if the listener, runtime or thread cannot be created.
    pub async fn start(self) -> Result<TestIssuer, TestkitError> {
        self.start_blocking()
    }

    /// Like [`start`](Self::start), for synchronous code (no runtime needed).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    pub fn start_blocking(self) -> Result<TestIssuer, TestkitError> {
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

        let std_listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let issuer = format!("{base_url}/application/o/{}/", self.slug);
        let shared = Arc::new(Shared {
            base_url,
            issuer,
            keys: RwLock::new(set),
            outage: AtomicBool::new(false),
            discovery_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
            api_requests: AtomicUsize::new(0),
        });

        let slug = &self.slug;
        let router = Router::new()
            .route(
                &format!("/application/o/{slug}/.well-known/openid-configuration"),
                get(discovery_handler),
            )
            .route(&format!("/application/o/{slug}/jwks/"), get(jwks_handler))
            .route("/api/v3/authenticators/webauthn/", get(webauthn_handler))
            .with_state(Arc::clone(&shared));

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("authgate-testkit-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let server = tokio::spawn(async move {
                        let _ = axum::serve(listener, router).await;
                    });
                    // Resolves on an explicit send or when the sender is dropped.
                    let _ = shutdown_rx.await;
                    server.abort();
                });
                // Dropping the runtime cancels the remaining connection tasks.
                drop(runtime);
            })?;

        Ok(TestIssuer {
            inner: Arc::new(Inner {
                shared,
                slug: self.slug,
                client_id: self.client_id,
                addr,
                shutdown: Some(shutdown_tx),
                thread: Some(thread),
            }),
        })
    }
}

impl TestIssuer {
    /// Starts an issuer with slug `"authgate"`, client id `"authgate-test"`, an
    /// RS256 key `"rsa-1"` (the default signing key) and an ES256 key `"ec-1"`.
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

    /// The base URL, `http://127.0.0.1:PORT` without a trailing slash: the
    /// value for `AUTHENTIK_URL`.
    pub fn base_url(&self) -> String {
        self.inner.shared.base_url.clone()
    }

    /// The application slug (`AUTHENTIK_APP_SLUG`).
    pub fn slug(&self) -> &str {
        &self.inner.slug
    }

    /// The client id (`AUTHENTIK_CLIENT_ID`), the default audience of minted tokens.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The issuer identifier, `{base}/application/o/{slug}/` (with the trailing slash).
    pub fn issuer(&self) -> String {
        self.inner.shared.issuer.clone()
    }

    /// `{issuer}.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}.well-known/openid-configuration",
            self.inner.shared.issuer
        )
    }

    /// `{issuer}jwks/`.
    pub fn jwks_url(&self) -> String {
        format!("{}jwks/", self.inner.shared.issuer)
    }

    /// The loopback address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The environment a service needs to trust this issuer:
    /// `AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG` and `AUTHENTIK_CLIENT_ID`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AUTHENTIK_URL", self.base_url()),
            ("AUTHENTIK_APP_SLUG", self.slug().to_owned()),
            ("AUTHENTIK_CLIENT_ID", self.client_id().to_owned()),
        ]
    }

    /// Starts an access token shaped like Authentik's: `iss` =
    /// [`issuer`](Self::issuer), `aud` and `azp` = [`client_id`](Self::client_id), a
    /// random `uid`, `sub` = `"user-1"`, `iat` = now and `exp` = now + 300 s, to be
    /// signed with the default key (its `kid` and algorithm in the header, `typ`
    /// `"JWT"`). Remove `uid` (`remove_claim("uid")`) for an ID token's shape.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new(self.clone())
    }

    /// Generates a 2048-bit RSA key (RS256) and serves it. A key with the same
    /// `kid` is replaced.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if the key cannot be generated.
    pub fn add_rsa_key(&self, kid: &str) -> Result<(), TestkitError> {
        self.add_key(SigningKey::generate_rsa(kid)?);
        Ok(())
    }

    /// Generates a P-256 key (ES256) and serves it. A key with the same `kid`
    /// is replaced.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if the key cannot be generated.
    pub fn add_ec_key(&self, kid: &str) -> Result<(), TestkitError> {
        self.add_key(SigningKey::generate_ec(kid)?);
        Ok(())
    }

    /// Serves `key` (replacing a served key with the same `kid`).
    pub fn add_key(&self, key: SigningKey) {
        self.inner.shared.write().insert(key);
    }

    /// Stops serving the key with this `kid`; it can no longer sign tokens
    /// through this issuer. Returns whether such a key was served. If it was the
    /// default key, the first remaining key becomes the default.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut set = self.inner.shared.write();
        let before = set.keys.len();
        set.keys.retain(|k| k.kid() != kid);
        if set.default_kid.as_deref() == Some(kid) {
            set.default_kid = None;
        }
        set.keys.len() != before
    }

    /// Makes the served key `kid` the one [`token`](Self::token) signs with.
    ///
    /// # Errors
    ///
    /// [`TestkitError::UnknownKid`] if no served key has this `kid`.
    pub fn set_default_key(&self, kid: &str) -> Result<(), TestkitError> {
        let mut set = self.inner.shared.write();
        if set.get(kid).is_none() {
            return Err(TestkitError::UnknownKid(kid.to_owned()));
        }
        set.default_kid = Some(kid.to_owned());
        Ok(())
    }

    /// The `kid` of the default signing key, if any key is served.
    pub fn default_kid(&self) -> Option<String> {
        self.inner
            .shared
            .read()
            .default_key()
            .map(|k| k.kid().to_owned())
    }

    /// The `kid`s of the served keys, in JWKS order.
    pub fn kids(&self) -> Vec<String> {
        self.inner
            .shared
            .read()
            .keys
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// Adds a JWK served verbatim after the real keys (for "a malformed JWK is
    /// skipped" tests). It cannot sign.
    pub fn add_raw_jwk(&self, jwk: Value) {
        self.inner.shared.write().raw.push(jwk);
    }

    /// Removes every JWK added with [`add_raw_jwk`](Self::add_raw_jwk).
    pub fn clear_raw_jwks(&self) {
        self.inner.shared.write().raw.clear();
    }

    /// While `down` is true, discovery and JWKS answer `503 Service Unavailable`
    /// (the requests are still counted).
    pub fn set_outage(&self, down: bool) {
        self.inner.shared.outage.store(down, Ordering::SeqCst);
    }

    /// Sends `Cache-Control: max-age=N` with the JWKS, or no such header for `None`.
    pub fn set_jwks_max_age(&self, secs: Option<u64>) {
        self.inner.shared.write().max_age = secs;
    }

    /// How many discovery requests were received (including 503 answers).
    pub fn discovery_requests(&self) -> usize {
        self.inner.shared.discovery_requests.load(Ordering::SeqCst)
    }

    /// How many JWKS requests were received (including 503 answers).
    pub fn jwks_requests(&self) -> usize {
        self.inner.shared.jwks_requests.load(Ordering::SeqCst)
    }

    /// How many requests the Authentik API stand-in
    /// (`GET /api/v3/authenticators/webauthn/`) received.
    pub fn api_requests(&self) -> usize {
        self.inner.shared.api_requests.load(Ordering::SeqCst)
    }

    /// Sets the request counters back to zero.
    pub fn reset_counters(&self) {
        self.inner
            .shared
            .discovery_requests
            .store(0, Ordering::SeqCst);
        self.inner.shared.jwks_requests.store(0, Ordering::SeqCst);
        self.inner.shared.api_requests.store(0, Ordering::SeqCst);
    }

    /// The public JWK served for `kid` (real keys only, not raw JWKs).
    pub fn public_jwk(&self, kid: &str) -> Option<Value> {
        self.inner
            .shared
            .read()
            .get(kid)
            .map(SigningKey::public_jwk)
    }

    /// The served key with this `kid`, for crafting tokens by hand with
    /// [`SigningKey::sign_raw`].
    pub fn signing_key(&self, kid: &str) -> Option<SigningKey> {
        self.inner.shared.read().get(kid).cloned()
    }
}
