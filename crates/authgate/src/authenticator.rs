//! The [`Authenticator`]: the one place a request's token is found, checked and mapped.
//!
//! The tower layer, the axum extractors and the actix-web middleware all call it, so the
//! rules are written once.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authgate::{AuthConfig, Authenticator};
//! use authgate_testkit::TestIssuer;
//!
//! let issuer = TestIssuer::start().await?;
//! let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?;
//! let auth = Authenticator::new(config);
//! auth.refresh_keys().await?;
//!
//! let token = issuer.token().sub("alice").groups(["staff"]).sign();
//! let user = auth.verify(&token).await?;
//! assert_eq!(user.sub, "alice");
//! assert_eq!(user.role, "user");
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::User;
use crate::cache::{TokenCache, TokenHash, hash_token};
use crate::claims::{Claims, ClaimsMapper, DefaultMapper};
use crate::config::AuthConfig;
use crate::error::{AuthError, FetchError};
use crate::keys::{AlgSet, KeyLookup, KeySet, KeyStore, ProviderMetadata, parse_alg};
use crate::request::{HeaderSource, TokenSource, find_token, is_unsafe_method, origin_is_trusted};

/// Verifies tokens against the provider's keys and maps them to users of type `U`.
///
/// Cheap to clone (an `Arc` inside). See the [module docs](self).
pub struct Authenticator<U = User> {
    inner: Arc<Inner<U>>,
}

impl<U> Clone for Authenticator<U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<U> std::fmt::Debug for Authenticator<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.inner.config.issuer())
            .field("keys_ready", &self.inner.keys.current().is_some())
            .finish_non_exhaustive()
    }
}

struct Inner<U> {
    config: AuthConfig,
    realm: Arc<str>,
    keys: Arc<KeyStore>,
    mapper: Box<dyn ClaimsMapper<U>>,
    cache: Option<TokenCache<U>>,
    algs: AlgSet,
}

/// The raw access token of an authenticated request, for calling the provider's own
/// APIs on the user's behalf. Its `Debug` output never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// The token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Put into the request extensions by every adapter that ran the authenticator, so
/// extractors can tell "no user" (401) from "no layer installed" (a server bug).
#[derive(Debug, Clone)]
pub struct AuthContext {
    realm: Arc<str>,
}

impl AuthContext {
    /// The `WWW-Authenticate` realm for rejections.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.realm
    }
}

/// A successful authentication.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authenticated<U> {
    /// The mapped user.
    pub user: U,
    /// The token it came with.
    pub token: AccessToken,
    /// Where the token was found.
    pub source: TokenSource,
}

/// Whether a request without any token may pass (with no user).
///
/// Every adapter (the tower layer, the actix-web middleware) applies it through
/// [`admit`](Self::admit), so the rule is written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// No token: 401 (the default).
    #[default]
    Required,
    /// No token: passes with no user. A bad token is still refused.
    Optional,
}

impl AuthMode {
    /// Applies the mode to the outcome of [`Authenticator::authenticate`]: in required
    /// mode a request without a token becomes [`AuthError::MissingToken`].
    ///
    /// # Errors
    ///
    /// The request is refused.
    pub fn admit<U>(
        self,
        outcome: Result<Option<Authenticated<U>>, AuthError>,
    ) -> Result<Option<Authenticated<U>>, AuthError> {
        match outcome {
            Ok(None) if self == Self::Required => Err(AuthError::MissingToken),
            other => other,
        }
    }
}

/// What a request yields when checked without waiting.
pub(crate) enum Step<U> {
    /// Finished: a user, no token at all (`None`), or a refusal.
    Done(Result<Option<Authenticated<U>>, AuthError>),
    /// The token names a key this instance has not seen: a refetch is needed.
    NeedKeys(PendingToken),
}

/// A token waiting for a key refetch.
pub(crate) struct PendingToken {
    token: String,
    source: TokenSource,
    generation: u64,
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

enum Failure {
    Auth(AuthError),
    /// No key for the token in the key set of this generation.
    UnknownKid(u64),
}

impl From<AuthError> for Failure {
    fn from(err: AuthError) -> Self {
        Self::Auth(err)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn malformed(reason: &'static str) -> AuthError {
    AuthError::Malformed { reason }
}

/// A NumericDate: a JSON number (fractions allowed), anything else is invalid.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // Saturating: an absurd date is still ordered correctly.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Err(AuthError::InvalidClaim { claim: name })
            }
        }
        Some(_) => Err(AuthError::InvalidClaim { claim: name }),
    }
}

impl Authenticator<User> {
    /// An authenticator that maps claims to the default [`User`] with the configured
    /// role table.
    ///
    /// Key discovery starts in the background as soon as a tokio runtime is available
    /// (right away when called inside one, otherwise at the first request).
    #[must_use]
    pub fn new(config: AuthConfig) -> Self {
        let mapper = DefaultMapper::new(config.role_map().clone(), config.default_role());
        Self::with_mapper(config, mapper)
    }
}

impl<U> Authenticator<U> {
    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Another authenticator over the same issuer and the same key store, for tokens
    /// issued to `audience`, mapping verified claims with `mapper`.
    ///
    /// No second discovery or JWKS fetch happens: both read (and refresh) one key set.
    /// The new authenticator has its own verified-token cache. The login flow uses
    /// this to verify ID tokens (signature, `iss`, `aud` = the client id, `exp`) and read
    /// their raw [`Claims`] (`nonce`, `azp`) with the very verifier that checks access
    /// tokens, whatever audience the access tokens are issued for:
    ///
    /// ```
    /// use authgate::{AuthConfig, Authenticator, Claims};
    ///
    /// let config = AuthConfig::oidc("https://idp.example.com/").audience("api").build()?;
    /// let auth = Authenticator::new(config);
    /// let ids: Authenticator<Claims> =
    ///     auth.with_shared_keys("web-client", |c: &Claims| Ok(c.clone()));
    /// assert_eq!(ids.config().issuer(), auth.config().issuer());
    /// assert_eq!(ids.config().audiences(), ["web-client"]);
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_shared_keys<V, M>(&self, audience: impl Into<String>, mapper: M) -> Authenticator<V>
    where
        V: Clone + Send + Sync + 'static,
        M: ClaimsMapper<V>,
    {
        let mut inner = (*self.inner.config.inner).clone();
        inner.audiences = vec![audience.into()];
        let config = AuthConfig {
            inner: Arc::new(inner),
        };
        Authenticator {
            inner: Arc::new(Inner {
                realm: self.inner.realm.clone(),
                cache: TokenCache::new(config.inner.token_cache_capacity),
                algs: self.inner.algs,
                keys: self.inner.keys.clone(),
                mapper: Box::new(mapper),
                config,
            }),
        }
    }
}

impl<U: Clone + Send + Sync + 'static> Authenticator<U> {
    /// An authenticator with a custom claims mapper (a closure works).
    #[must_use]
    pub fn with_mapper<M: ClaimsMapper<U>>(config: AuthConfig, mapper: M) -> Self {
        let keys = KeyStore::new(config.inner.clone());
        keys.ensure_started();
        let inner = Inner {
            realm: config.inner.realm.as_str().into(),
            cache: TokenCache::new(config.inner.token_cache_capacity),
            algs: AlgSet::of(&config.inner.algorithms),
            keys,
            mapper: Box::new(mapper),
            config,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Whether a key set has been loaded.
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.inner.keys.current().is_some()
    }

    /// The provider's discovery document, once discovery has run.
    #[must_use]
    pub fn provider_metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.inner.keys.metadata()
    }

    /// The provider's discovery document, discovering it now if it is not known yet:
    /// once for all concurrent callers and within the unknown-`kid` refetch rate limit,
    /// so requests (to a login endpoint, say) cannot make the provider be asked more
    /// often than that.
    ///
    /// # Errors
    ///
    /// Discovery failed, the rate limit is reached (the last fetch error, or
    /// [`FetchError::RateLimited`]), or the configuration has no discovery document
    /// ([`FetchError::NoDiscovery`]).
    pub async fn discover(&self) -> Result<Arc<ProviderMetadata>, Arc<FetchError>> {
        self.inner.keys.ensure_started();
        self.inner.keys.discover().await
    }

    /// The last key fetch error, if the last fetch failed.
    #[must_use]
    pub fn last_fetch_error(&self) -> Option<Arc<FetchError>> {
        self.inner.keys.last_error()
    }

    /// Fetches the key set now (and discovery, when needed), waiting for the result.
    ///
    /// Not needed for normal use: keys are fetched in the background. Useful at start-up
    /// to fail fast, and in tests.
    ///
    /// # Errors
    ///
    /// The fetch failed; the previous key set (if any) stays in use.
    pub async fn refresh_keys(&self) -> Result<(), Arc<FetchError>> {
        self.inner.keys.ensure_started();
        self.inner.keys.refresh_now().await.map(|_| ())
    }

    /// Verifies a raw token and maps it to a user.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] saying why the token is refused.
    pub async fn verify(&self, token: &str) -> Result<U, AuthError> {
        match self.verify_step(token) {
            Ok(user) => Ok(user),
            Err(Failure::Auth(err)) => Err(err),
            Err(Failure::UnknownKid(generation)) => {
                self.verify_after_refetch(token, generation).await
            }
        }
    }

    /// Finds, checks and verifies the token of a request.
    ///
    /// Returns `Ok(None)` when the request carries no token (the caller decides whether
    /// that is allowed). Rejections are logged at debug level with their reason, never
    /// with the token.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] saying why the request is refused.
    pub async fn authenticate<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
    ) -> Result<Option<Authenticated<U>>, AuthError> {
        match self.authenticate_step(method, headers) {
            Step::Done(result) => result,
            Step::NeedKeys(pending) => self.finish(pending).await.map(Some),
        }
    }

    /// The synchronous part of [`authenticate`](Self::authenticate): everything but a
    /// key refetch.
    pub(crate) fn authenticate_step<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
    ) -> Step<U> {
        self.inner.keys.ensure_started();
        let config = &self.inner.config.inner;
        let found = match find_token(headers, &config.cookie_name, config.max_token_bytes) {
            Ok(Some(found)) => found,
            Ok(None) => return Step::Done(Ok(None)),
            Err(err) => return Step::Done(Err(log_rejection(err))),
        };
        if found.source() == TokenSource::Cookie
            && config.csrf
            && is_unsafe_method(method)
            && !origin_is_trusted(headers, &config.trusted_origins)
        {
            return Step::Done(Err(log_rejection(AuthError::CrossSiteRequest)));
        }
        match self.verify_step(found.token()) {
            Ok(user) => Step::Done(Ok(Some(Authenticated {
                user,
                token: AccessToken(found.token().into()),
                source: found.source(),
            }))),
            Err(Failure::Auth(err)) => Step::Done(Err(log_rejection(err))),
            Err(Failure::UnknownKid(generation)) => Step::NeedKeys(PendingToken {
                token: found.token().to_owned(),
                source: found.source(),
                generation,
            }),
        }
    }

    /// The marker adapters put into the request extensions.
    #[must_use]
    pub fn context(&self) -> AuthContext {
        AuthContext {
            realm: self.inner.realm.clone(),
        }
    }

    /// The asynchronous part: refetch keys once (shared, rate-limited) and verify again.
    pub(crate) async fn finish(
        &self,
        pending: PendingToken,
    ) -> Result<Authenticated<U>, AuthError> {
        match self
            .verify_after_refetch(&pending.token, pending.generation)
            .await
        {
            Ok(user) => Ok(Authenticated {
                user,
                token: AccessToken(pending.token.into()),
                source: pending.source,
            }),
            Err(err) => Err(log_rejection(err)),
        }
    }

    async fn verify_after_refetch(&self, token: &str, generation: u64) -> Result<U, AuthError> {
        let keys = self
            .inner
            .keys
            .refetch_for_unknown_kid(generation)
            .await
            .filter(|keys| keys.generation != generation)
            .ok_or(AuthError::UnknownKey)?;
        let hash = self.inner.cache.as_ref().map(|_| hash_token(token));
        match self.verify_with(token, &keys, hash.as_ref()) {
            Ok(user) => Ok(user),
            Err(Failure::Auth(err)) => Err(err),
            Err(Failure::UnknownKid(_)) => Err(AuthError::UnknownKey),
        }
    }

    fn unavailable(&self) -> AuthError {
        AuthError::KeysUnavailable {
            retry_after: self.inner.keys.retry_after(),
            source: self.inner.keys.last_error(),
        }
    }

    fn verify_step(&self, token: &str) -> Result<U, Failure> {
        let max = self.inner.config.inner.max_token_bytes;
        if token.len() > max {
            return Err(AuthError::TokenTooLarge { limit: max }.into());
        }
        let Some(keys) = self.inner.keys.current() else {
            return Err(self.unavailable().into());
        };
        let hash = self.inner.cache.as_ref().map(|_| hash_token(token));
        if let (Some(cache), Some(hash)) = (&self.inner.cache, &hash)
            && let Some(user) = cache.get(hash, now(), &keys)
        {
            return Ok(user);
        }
        self.verify_with(token, &keys, hash.as_ref())
    }

    /// Full verification against one key set; caches the result.
    fn verify_with(
        &self,
        token: &str,
        keys: &KeySet,
        hash: Option<&TokenHash>,
    ) -> Result<U, Failure> {
        let config = &self.inner.config.inner;
        let dots = token.bytes().filter(|b| *b == b'.').count();
        if dots == 4 {
            return Err(AuthError::EncryptedToken.into());
        }
        if dots != 2 {
            return Err(malformed("expected three dot-separated segments").into());
        }
        let (header_b64, rest) = token.split_once('.').ok_or(malformed("no header"))?;
        let (payload_b64, signature) = rest.split_once('.').ok_or(malformed("no payload"))?;
        if header_b64.is_empty() || payload_b64.is_empty() || signature.is_empty() {
            return Err(malformed("a segment is empty").into());
        }
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| malformed("the header is not base64url"))?;
        let header: JoseHeader = serde_json::from_slice(&header_json)
            .map_err(|_| malformed("the header is not a JOSE header"))?;
        let alg = parse_alg(&header.alg)
            .filter(|alg| self.inner.algs.contains(*alg))
            .ok_or(AuthError::AlgorithmNotAllowed)?;
        if header.crit.is_some() {
            // We implement no JWS extension, so any critical one is unknown to us.
            return Err(AuthError::UnsupportedCriticalHeader.into());
        }
        let key = match keys.find(header.kid.as_deref(), alg) {
            KeyLookup::Found(key) => key,
            KeyLookup::Ambiguous => return Err(AuthError::AmbiguousKey.into()),
            KeyLookup::Unknown => return Err(Failure::UnknownKid(keys.generation)),
        };
        let message = &token[..header_b64.len() + 1 + payload_b64.len()];
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(AuthError::InvalidSignature.into()),
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("the payload is not base64url"))?;
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| malformed("the payload is not a JSON object"))?;

        let now = now();
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(300);
        let exp = numeric_date(&claims, "exp")?.ok_or(AuthError::MissingClaim { claim: "exp" })?;
        if now > exp.saturating_add(leeway) {
            return Err(AuthError::Expired.into());
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && nbf > now.saturating_add(leeway)
        {
            return Err(AuthError::NotYetValid.into());
        }
        match claims.get("iss") {
            None => return Err(AuthError::MissingClaim { claim: "iss" }.into()),
            Some(Value::String(iss)) if *iss == config.issuer => {}
            Some(_) => return Err(AuthError::InvalidIssuer.into()),
        }
        let audience_ok = match claims.get("aud") {
            None => return Err(AuthError::MissingClaim { claim: "aud" }.into()),
            Some(Value::String(aud)) => config.audiences.contains(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .filter_map(Value::as_str)
                .any(|aud| config.audiences.iter().any(|a| a == aud)),
            Some(_) => return Err(AuthError::InvalidClaim { claim: "aud" }.into()),
        };
        if !audience_ok {
            return Err(AuthError::InvalidAudience.into());
        }
        let sub = match claims.get("sub") {
            None => return Err(AuthError::MissingClaim { claim: "sub" }.into()),
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            Some(_) => return Err(AuthError::InvalidClaim { claim: "sub" }.into()),
        };
        let claims = Claims::new(claims, sub, exp);
        let user = self.inner.mapper.map(&claims).map_err(AuthError::Mapping)?;
        if let (Some(cache), Some(hash)) = (&self.inner.cache, hash) {
            cache.insert(*hash, user.clone(), exp, key.fingerprint, now);
        }
        Ok(user)
    }
}

fn log_rejection(err: AuthError) -> AuthError {
    tracing::debug!(code = err.code(), reason = %err, "authentication refused");
    err
}
