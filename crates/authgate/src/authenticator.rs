//! The [`Authenticator`]: the one place a request's token is found, checked and mapped.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::Instrument as _;

use crate::cache::{Hit, NewEntry, TokenCache};
use crate::claims::ClaimsMapper;
use crate::config::AuthConfig;
use crate::error::{AuthError, FetchError};
use crate::keys::ProviderMetadata;
use crate::keys::jwk::KeySet;
use crate::keys::store::KeyStore;
use crate::observe::{self, Report, Timer};
use crate::options::AuthMode;
use crate::request::{
    HeaderSource, Places, TokenSource, find_token, is_unsafe_method, origin_is_trusted,
};
use crate::revocation::{Revocation, Revocations, TokenFacts, hash_token};
use crate::user::{DefaultMapper, User};
use crate::verify::{Failure, Rules, verify};

mod issuers;

use issuers::Issuers;

/// Verifies tokens against the provider's keys and maps them to users of type `U`.
///
/// Cheap to clone (an `Arc` inside).
///
/// The [`Authenticator`]: the one place a request's token is found, checked and mapped.
///
/// It orchestrates the other parts: it finds the token (cookie first, then
/// `Authorization: Bearer`, then the opt-in token header and query parameter),
/// answers repeated tokens from the verified-token cache, runs the pure token check
/// against the current key set, refetches keys once
/// (shared, rate-limited) for an unknown `kid`, and maps the claims to a user. The
/// tower layer, the axum extractors, the actix-web middleware and the login flow all
/// call it, so the rules are written once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authgate::{AuthConfig, Authenticator};
/// use authgate_testkit::TestIssuer;
///
/// let issuer = TestIssuer::start().await?;
/// let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?;
/// let auth = Authenticator::new(config);
/// auth.refresh_keys().await?;
///
/// let token = issuer.token().sub("alice").groups(["staff"]).sign();
/// let user = auth.verify(&token).await?;
/// assert_eq!(user.sub, "alice");
/// assert_eq!(user.role, "user");
/// # Ok(())
/// # }
/// ```
pub struct Authenticator<U = User> {
    inner: Arc<Inner<U>>,
    /// Several issuers ([`from_issuers`](Self::from_issuers)): all of them, and `inner`
    /// is the first's. `None` for one issuer, whose requests only test it.
    issuers: Option<Arc<Issuers<U>>>,
}

impl<U> Clone for Authenticator<U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            issuers: self.issuers.clone(),
        }
    }
}

impl<U> std::fmt::Debug for Authenticator<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(issuers) = &self.issuers {
            return issuers.fmt(f);
        }
        f.debug_struct("Authenticator")
            .field("issuer", &self.inner.config.issuer())
            .field("keys_ready", &self.inner.keys.current().is_some())
            .finish_non_exhaustive()
    }
}

struct Inner<U> {
    config: AuthConfig,
    rules: Rules,
    realm: Arc<str>,
    keys: Arc<KeyStore>,
    mapper: Box<dyn ClaimsMapper<U>>,
    cache: Option<TokenCache<U>>,
    revocations: Arc<Revocations>,
}

/// The raw access token of an authenticated request, for calling the provider's own
/// APIs on the user's behalf (`Auth<AccessToken>` in a handler). Its `Debug` output
/// never shows the token.
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

/// A successful authentication: the user, the token it came with, and where the token
/// was found.
///
/// The user is shared (an [`Arc`]) with the verified-token cache, so a repeated token
/// costs no copy of it; the token is shared the same way.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authentication<U> {
    /// The mapped user.
    pub user: Arc<U>,
    /// The token it came with.
    pub token: AccessToken,
    /// Where the token was found.
    pub source: TokenSource,
}

/// What a request yields when checked without waiting.
pub(crate) enum Step<U> {
    /// Finished: a user, no token at all (`None`), or a refusal.
    Done(Result<Option<Authentication<U>>, AuthError>),
    /// The token names a key this instance has not seen: a refetch is needed.
    NeedKeys(PendingToken),
}

/// A token waiting for a key refetch, with the report of its authentication.
pub(crate) struct PendingToken {
    token: String,
    source: TokenSource,
    generation: u64,
    report: Report,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Authenticator<User> {
    /// An authenticator that maps claims to the default [`User`] with the configured
    /// role table, default role and roles claim ([`DefaultMapper::from_config`]).
    ///
    /// Key discovery starts in the background as soon as a tokio runtime is available
    /// (right away when called inside one, otherwise at the first request).
    #[must_use]
    pub fn new(config: AuthConfig) -> Self {
        let mapper = DefaultMapper::from_config(&config);
        Self::with_mapper(config, mapper)
    }
}

impl<U> Authenticator<U> {
    /// The configuration; with [several issuers](Self::from_issuers), the first
    /// issuer's, which holds the layer-wide settings.
    #[must_use]
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The `realm` of `WWW-Authenticate` challenges, shared with the request marker.
    pub(crate) fn realm(&self) -> &Arc<str> {
        &self.inner.realm
    }

    /// Another authenticator over the same issuer and the same key store, for tokens
    /// issued to `audience`, mapping verified claims with `mapper`.
    ///
    /// No second discovery or JWKS fetch happens: both read (and refresh) one key set.
    /// The new authenticator has its own verified-token cache. The login flow uses
    /// this to verify ID tokens (signature, `iss`, `aud` = the client id, `exp`) and read
    /// their raw [`Claims`](crate::Claims) (`nonce`, `azp`) with the very verifier that
    /// checks access tokens, whatever audience the access tokens are issued for:
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
        let config = self.inner.config.for_audience(audience.into());
        Authenticator::build(
            config,
            self.inner.keys.clone(),
            self.inner.revocations.clone(),
            Box::new(mapper),
        )
    }

    /// An authenticator for the ID tokens issued to `client_id` (for a login flow): the
    /// same issuer, keys and key store, `client_id` as the audience, no access-token
    /// [`TokenType`](crate::TokenType) rule, and the verified [`Claims`](crate::Claims) as the result.
    #[must_use]
    pub fn id_tokens(&self, client_id: impl Into<String>) -> Authenticator<crate::Claims> {
        let config = self.inner.config.for_id_tokens(client_id.into());
        Authenticator::build(
            config,
            self.inner.keys.clone(),
            self.inner.revocations.clone(),
            Box::new(|claims: &crate::Claims| Ok(claims.clone())),
        )
    }

    /// An authenticator for the OpenID Connect back-channel logout tokens the provider
    /// sends to `client_id`: the same issuer, keys and key store, `client_id` as the
    /// audience, `sub` optional (a `sid` may name the session instead; the claims then
    /// have an empty [`sub`](crate::Claims::sub)), no cache. The logout-specific checks
    /// (`events`, no `nonce`, `jti`) are the caller's.
    #[must_use]
    pub fn logout_tokens(&self, client_id: impl Into<String>) -> Authenticator<crate::Claims> {
        let config = self.inner.config.for_logout_tokens(client_id.into());
        Authenticator::build(
            config,
            self.inner.keys.clone(),
            // A logout token names the very session it ends: never on the denylist.
            Arc::default(),
            Box::new(|claims: &crate::Claims| Ok(claims.clone())),
        )
    }

    /// Refuses the tokens `revocation` covers from now on, in this process (cached
    /// ones included), until they expire. Shared with the authenticators made from
    /// this one. The login flow calls it at logout and for back-channel logouts, and
    /// spreads it to the other instances through its store.
    ///
    /// With [several issuers](Self::from_issuers), every issuer's denylist takes it
    /// (a revocation names no issuer); to revoke at one issuer only, revoke through
    /// its own authenticator ([`issuers`](Self::issuers)).
    pub fn revoke(&self, revocation: &Revocation) {
        if let Some(issuers) = &self.issuers {
            issuers.revoke(revocation);
            return;
        }
        self.inner.revocations.add(revocation, now());
    }

    /// How many revocations are held (expired ones included until swept); with
    /// several issuers, in all their denylists together.
    #[must_use]
    pub fn revocation_count(&self) -> usize {
        if let Some(issuers) = &self.issuers {
            return issuers.revocation_count();
        }
        self.inner.revocations.len()
    }

    /// The issuers this authenticator verifies tokens of, each as its own
    /// authenticator (its configuration, keys, cache, denylist and mapper), in the
    /// order given to [`from_issuers`](Self::from_issuers); one issuer: itself.
    #[must_use]
    pub fn issuers(&self) -> &[Authenticator<U>] {
        match &self.issuers {
            Some(issuers) => issuers.list(),
            None => std::slice::from_ref(self),
        }
    }

    fn build(
        config: AuthConfig,
        keys: Arc<KeyStore>,
        revocations: Arc<Revocations>,
        mapper: Box<dyn ClaimsMapper<U>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                rules: Rules::new(&config.inner),
                realm: config.realm().into(),
                cache: TokenCache::new(config.inner.token_cache_capacity),
                keys,
                mapper,
                revocations,
                config,
            }),
            issuers: None,
        }
    }
}

impl<U: Clone + Send + Sync + 'static> Authenticator<U> {
    /// An authenticator with a custom claims mapper (a closure works).
    #[must_use]
    pub fn with_mapper<M: ClaimsMapper<U>>(config: AuthConfig, mapper: M) -> Self {
        let keys = KeyStore::new(config.inner.keys.clone());
        keys.ensure_started();
        Self::build(config, keys, Arc::default(), Box::new(mapper))
    }

    /// Whether a key set has been loaded; with [several issuers](Self::from_issuers),
    /// whether every issuer's has (ask [`issuers`](Self::issuers) about each).
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        if let Some(issuers) = &self.issuers {
            return issuers.list().iter().all(Self::keys_ready);
        }
        self.inner.keys.current().is_some()
    }

    /// The provider's discovery document, once discovery has run (the first issuer's,
    /// with several).
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

    /// The last key fetch error, if the last fetch failed; with several issuers, the
    /// first issuer's (in order) whose last fetch failed.
    #[must_use]
    pub fn last_fetch_error(&self) -> Option<Arc<FetchError>> {
        if let Some(issuers) = &self.issuers {
            return issuers.list().iter().find_map(Self::last_fetch_error);
        }
        self.inner.keys.last_error()
    }

    /// Fetches the key set now (and discovery, when needed), waiting for the result.
    ///
    /// Not needed for normal use: keys are fetched in the background. Useful at start-up
    /// to fail fast, and in tests.
    ///
    /// With [several issuers](Self::from_issuers), every issuer's key set is fetched,
    /// one after the other, even when one fails.
    ///
    /// # Errors
    ///
    /// The fetch failed (with several issuers, the first failure); the previous key
    /// set (if any) stays in use.
    pub async fn refresh_keys(&self) -> Result<(), Arc<FetchError>> {
        if let Some(issuers) = &self.issuers {
            return issuers.refresh_keys().await;
        }
        self.inner.keys.ensure_started();
        self.inner.keys.refresh_now().await.map(|_| ())
    }

    /// Verifies a raw token and maps it to a user.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] saying why the token is refused.
    pub async fn verify(&self, token: &str) -> Result<U, AuthError> {
        let report = Report::none();
        let hit = match self.verify_cached(token, &report) {
            Ok(hit) => hit,
            Err(Failure::Auth(err)) => return Err(err),
            Err(Failure::UnknownKid(generation)) => {
                self.verify_after_refetch(token, generation, &report)
                    .await?
            }
        };
        Ok(Arc::unwrap_or_clone(hit.user))
    }

    /// Finds, checks and verifies the token of a request.
    ///
    /// Returns `Ok(None)` when the request carries no token (the caller decides whether
    /// that is allowed, see [`AuthOptions`](crate::AuthOptions)). The request's query
    /// string is read only when a token query parameter is configured, and only if
    /// `headers` carries it (an [`http::Request`] does, an [`http::HeaderMap`] does
    /// not). Rejections are logged at debug level with their reason, never with the
    /// token; the `authenticate` span and the metrics are described in the README's
    /// "Observability" (a request without a token has the outcome `anonymous` here).
    ///
    /// # Errors
    ///
    /// The [`AuthError`] saying why the request is refused.
    pub async fn authenticate<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
    ) -> Result<Option<Authentication<U>>, AuthError> {
        self.authenticate_in(AuthMode::Optional, method, headers)
            .await
    }

    /// [`authenticate`](Self::authenticate) for an adapter in `mode`, which names the
    /// outcome of a request without a token (`missing_token` or `anonymous`).
    pub(crate) async fn authenticate_in<H: HeaderSource + ?Sized>(
        &self,
        mode: AuthMode,
        method: &str,
        headers: &H,
    ) -> Result<Option<Authentication<U>>, AuthError> {
        match self.authenticate_step(method, headers, mode) {
            Step::Done(result) => result,
            Step::NeedKeys(pending) => self.finish(pending).await.map(Some),
        }
    }

    /// The synchronous part of [`authenticate`](Self::authenticate): everything but a
    /// key refetch. A cache hit allocates no future.
    pub(crate) fn authenticate_step<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
        mode: AuthMode,
    ) -> Step<U> {
        self.inner.keys.ensure_started();
        let report = Report::start();
        match report.in_scope(|| self.step(method, headers, &report)) {
            Ok(Some((hit, source))) => {
                report.finish("ok");
                Step::Done(Ok(Some(Authentication {
                    user: hit.user,
                    token: AccessToken(hit.token),
                    source,
                })))
            }
            Ok(None) => {
                report.finish(match mode {
                    AuthMode::Required => AuthError::MissingToken.code(),
                    AuthMode::Optional => "anonymous",
                });
                Step::Done(Ok(None))
            }
            Err(Stopped::Refused(err)) => {
                report.finish(err.code());
                Step::Done(Err(err))
            }
            Err(Stopped::NeedKeys {
                token,
                source,
                generation,
            }) => Step::NeedKeys(PendingToken {
                token,
                source,
                generation,
                report,
            }),
        }
    }

    /// Finds the token and checks it against the cache and the current keys.
    fn step<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
        report: &Report,
    ) -> Result<Option<(Hit<U>, TokenSource)>, Stopped> {
        let config = &self.inner.config.inner;
        let places = Places {
            cookie: &config.cookie_name,
            host_cookie: config.host_cookie_name.as_deref(),
            header: config.token_header.as_deref(),
            query: config.token_query_param.as_deref(),
            max_bytes: config.max_token_bytes,
        };
        let found = match find_token(headers, method, &places) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(err) => return Err(Stopped::Refused(log_rejection(err))),
        };
        report.source(found.source());
        // The origin check is for the cookie only: a browser attaches it on its own to
        // a request another site makes, which it never does with a header or a URL
        // that holds a token (that site would have to know the token).
        if found.source() == TokenSource::Cookie
            && config.csrf
            && is_unsafe_method(method)
            && !origin_is_trusted(headers, &config.trusted_origins)
        {
            return Err(Stopped::Refused(log_rejection(AuthError::CrossSiteRequest)));
        }
        match self.verify_cached(found.token(), report) {
            Ok(hit) => Ok(Some((hit, found.source()))),
            Err(Failure::Auth(err)) => Err(Stopped::Refused(log_rejection(err))),
            Err(Failure::UnknownKid(generation)) => Err(Stopped::NeedKeys {
                token: found.token().to_owned(),
                source: found.source(),
                generation,
            }),
        }
    }

    /// The asynchronous part: refetch keys once (shared, rate-limited) and verify again.
    pub(crate) async fn finish(
        &self,
        pending: PendingToken,
    ) -> Result<Authentication<U>, AuthError> {
        let PendingToken {
            token,
            source,
            generation,
            report,
        } = pending;
        let verified = self
            .verify_after_refetch(&token, generation, &report)
            .instrument(report.span().clone())
            .await;
        match verified {
            Ok(hit) => {
                report.finish("ok");
                Ok(Authentication {
                    user: hit.user,
                    token: AccessToken(hit.token),
                    source,
                })
            }
            Err(err) => {
                let err = report.in_scope(|| log_rejection(err));
                report.finish(err.code());
                Err(err)
            }
        }
    }

    async fn verify_after_refetch(
        &self,
        token: &str,
        generation: u64,
        report: &Report,
    ) -> Result<Hit<U>, AuthError> {
        if let Some(issuers) = &self.issuers {
            return issuers
                .verify_after_refetch(token, generation, report)
                .await;
        }
        let keys = self
            .inner
            .keys
            .refetch_for_unknown_kid(generation)
            .await
            .filter(|keys| keys.generation != generation)
            .ok_or(AuthError::UnknownKey)?;
        match self.verify_and_map(token, &keys, report) {
            Ok(hit) => Ok(hit),
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

    /// The cache first, then the full check against the current key set.
    fn verify_cached(&self, token: &str, report: &Report) -> Result<Hit<U>, Failure> {
        if let Some(issuers) = &self.issuers {
            return issuers.verify_cached(token, report);
        }
        let max = self.inner.config.inner.max_token_bytes;
        if token.len() > max {
            return Err(AuthError::TokenTooLarge { limit: max }.into());
        }
        let now = now();
        // A borrowed snapshot: no reference count is touched on a hit.
        let keys = self.inner.keys.snapshot();
        // No key set, or one that could not be refreshed for longer than the configured
        // maximum: 503 rather than keys trusted for ever (cached tokens included).
        let Some(keys) = keys.as_deref().filter(|keys| keys.stale_at > now) else {
            return Err(self.unavailable().into());
        };
        if self.inner.cache.is_some() {
            let hit = self.cache_hit(token, now, keys, report);
            observe::cache_lookup(hit.is_some());
            if let Some(hit) = hit {
                return Ok(hit);
            }
        }
        report.cached(false);
        self.verify_and_map(token, keys, report)
    }

    /// The verified-token cache's user for `token`, if it holds one still valid under
    /// `keys` and not revoked (then the span learns its `sub` and that it was cached).
    /// The closure is asked only about an entry that is otherwise good: when it says
    /// "not revoked", the entry is the hit.
    #[inline]
    fn cache_hit(&self, token: &str, now: i64, keys: &KeySet, report: &Report) -> Option<Hit<U>> {
        let hit = self
            .inner
            .cache
            .as_ref()?
            .get(token, now, keys, |sha256, facts| {
                let revoked = self.inner.revocations.is_revoked(sha256, facts, now);
                if !revoked {
                    report.sub(&facts.sub);
                }
                revoked
            });
        if hit.is_some() {
            report.cached(true);
        }
        hit
    }

    /// The pure check against one key set, then the mapper; caches the user. Timed
    /// into `authgate_verification_seconds` (feature `metrics`), whatever the result.
    fn verify_and_map(
        &self,
        token: &str,
        keys: &KeySet,
        report: &Report,
    ) -> Result<Hit<U>, Failure> {
        let timer = Timer::start();
        let verified = self.verify_and_map_untimed(token, keys, report);
        timer.stop();
        verified
    }

    fn verify_and_map_untimed(
        &self,
        token: &str,
        keys: &KeySet,
        report: &Report,
    ) -> Result<Hit<U>, Failure> {
        let now = now();
        let verified = verify(token, keys, &self.inner.rules, now)?;
        let facts = TokenFacts::of(&verified.claims);
        // The denylist knows a token by its SHA-256: computed only if it must be looked
        // up, and kept with the cached token.
        let sha256 = OnceLock::new();
        let token_hash = || *sha256.get_or_init(|| hash_token(token));
        if self.inner.revocations.is_revoked(token_hash, &facts, now) {
            return Err(AuthError::Revoked.into());
        }
        let user = Arc::new(
            self.inner
                .mapper
                .map(&verified.claims)
                .map_err(AuthError::Mapping)?,
        );
        report.sub(&facts.sub);
        let token: Arc<str> = token.into();
        if let Some(cache) = &self.inner.cache {
            cache.insert(
                NewEntry {
                    token: token.clone(),
                    user: user.clone(),
                    exp: verified.exp,
                    key: verified.key,
                    sha256,
                    facts,
                },
                now,
            );
        }
        Ok(Hit { user, token })
    }
}

/// Why [`Authenticator::step`] stopped short of a user (or of "no token").
enum Stopped {
    /// A refusal.
    Refused(AuthError),
    /// The token names a key this instance has not seen.
    NeedKeys {
        token: String,
        source: TokenSource,
        generation: u64,
    },
}

fn log_rejection(err: AuthError) -> AuthError {
    tracing::debug!(code = err.code(), reason = %err, "authentication refused");
    err
}
