//! The key store: the provider's signing keys, found by discovery, refreshed in the
//! background, read without locks on the request path.
//!
//! - Reads load an atomically swapped snapshot ([`arc_swap`]); no lock is taken.
//! - The background task refetches on an interval taken from `Cache-Control: max-age`
//!   (clamped to the configured bounds), and with backoff until the first key set arrives.
//! - A token whose `kid` is unknown triggers one refetch shared by every concurrent
//!   request (single flight), and at most a configured number per window (default 5
//!   per minute): a flood of random `kid`s never becomes a flood of provider requests.
//! - When the provider fails, the last good key set keeps serving.
//! - Each JWK is parsed on its own: encryption keys, unknown key types and unsupported
//!   algorithms are skipped with a debug event, never failing the whole set.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::config::{ConfigInner, KeySource, rewrite_origin};
use crate::error::FetchError;

/// A bit set of algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgSet(u16);

impl AlgSet {
    pub(crate) fn of(algs: &[Algorithm]) -> Self {
        algs.iter().fold(Self(0), |set, alg| set.with(*alg))
    }

    fn with(self, alg: Algorithm) -> Self {
        Self(self.0 | alg_bit(alg))
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        let bit = alg_bit(alg);
        bit != 0 && self.0 & bit != 0
    }
}

fn alg_bit(alg: Algorithm) -> u16 {
    match alg {
        Algorithm::RS256 => 1,
        Algorithm::RS384 => 1 << 1,
        Algorithm::RS512 => 1 << 2,
        Algorithm::PS256 => 1 << 3,
        Algorithm::PS384 => 1 << 4,
        Algorithm::PS512 => 1 << 5,
        Algorithm::ES256 => 1 << 6,
        Algorithm::ES384 => 1 << 7,
        Algorithm::EdDSA => 1 << 8,
        // HMAC (and anything added later) never maps to a provider key.
        _ => 0,
    }
}

/// Parses a JWS `alg` name into one of the asymmetric algorithms, or `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

const RSA_ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// One verification key.
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) decoding: DecodingKey,
    pub(crate) algs: AlgSet,
    /// Identifies the key material across refetches (for the token cache).
    pub(crate) fingerprint: u64,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algs", &self.algs)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// One snapshot of the provider's keys.
#[derive(Debug)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Vec<Arc<Key>>>,
    all: Vec<Arc<Key>>,
    fingerprints: HashSet<u64>,
    pub(crate) generation: u64,
}

/// Why a JWK set could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeySetError {
    #[error("not a JWK set")]
    Json(#[from] serde_json::Error),
    #[error("no usable signing key in the set")]
    NoUsableKeys,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<Value>,
}

impl KeySet {
    pub(crate) fn parse(json: &str, generation: u64) -> Result<Self, KeySetError> {
        let raw: RawSet = serde_json::from_str(json)?;
        Self::from_values(raw.keys, generation)
    }

    fn from_values(values: Vec<Value>, generation: u64) -> Result<Self, KeySetError> {
        let mut set = Self {
            by_kid: HashMap::new(),
            all: Vec::new(),
            fingerprints: HashSet::new(),
            generation,
        };
        for (index, value) in values.iter().enumerate() {
            match parse_jwk(value) {
                Ok(key) => {
                    let key = Arc::new(key);
                    set.fingerprints.insert(key.fingerprint);
                    if let Some(kid) = &key.kid {
                        set.by_kid.entry(kid.clone()).or_default().push(key.clone());
                    }
                    set.all.push(key);
                }
                Err(reason) => {
                    let kid = value.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::debug!(index, kid, reason, "skipping JWK");
                }
            }
        }
        if set.all.is_empty() {
            return Err(KeySetError::NoUsableKeys);
        }
        Ok(set)
    }

    /// The key for a token: by `kid` when it has one, otherwise the one key that fits
    /// `alg` (never every key in turn).
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup {
        match kid {
            Some(kid) => match self
                .by_kid
                .get(kid)
                .and_then(|keys| keys.iter().find(|k| k.algs.contains(alg)))
            {
                Some(key) => KeyLookup::Found(key.clone()),
                None => KeyLookup::Unknown,
            },
            None => {
                let mut fitting = self.all.iter().filter(|k| k.algs.contains(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => KeyLookup::Found(key.clone()),
                    (Some(_), Some(_)) => KeyLookup::Ambiguous,
                    (None, _) => KeyLookup::Unknown,
                }
            }
        }
    }

    pub(crate) fn contains_fingerprint(&self, fingerprint: u64) -> bool {
        self.fingerprints.contains(&fingerprint)
    }

    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    #[cfg(test)]
    pub(crate) fn fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.fingerprints.iter().copied()
    }
}

pub(crate) enum KeyLookup {
    Found(Arc<Key>),
    Unknown,
    Ambiguous,
}

fn str_field<'a>(value: &'a Value, name: &'static str) -> Result<&'a str, &'static str> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or("a required member is missing or not a string")
}

fn parse_jwk(value: &Value) -> Result<Key, &'static str> {
    if !value.is_object() {
        return Err("not a JSON object");
    }
    if let Some(usage) = value.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err("not a signing key (use != sig)");
    }
    if let Some(ops) = value.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("key_ops does not allow verify");
        }
    }
    let kid = match value.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("kid is not a string"),
    };
    let kty = str_field(value, "kty")?;
    let (decoding, family, material) = match kty {
        "RSA" => {
            let (n, e) = (str_field(value, "n")?, str_field(value, "e")?);
            let key = DecodingKey::from_rsa_components(n, e).map_err(|_| "bad RSA n or e")?;
            (key, AlgSet::of(RSA_ALGS), format!("RSA|{n}|{e}"))
        }
        "EC" => {
            let alg = match str_field(value, "crv")? {
                "P-256" => Algorithm::ES256,
                "P-384" => Algorithm::ES384,
                _ => return Err("unsupported EC curve"),
            };
            let (x, y) = (str_field(value, "x")?, str_field(value, "y")?);
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "bad EC x or y")?;
            (key, AlgSet::of(&[alg]), format!("EC|{x}|{y}"))
        }
        "OKP" => {
            if str_field(value, "crv")? != "Ed25519" {
                return Err("unsupported OKP curve");
            }
            let x = str_field(value, "x")?;
            let key = DecodingKey::from_ed_components(x).map_err(|_| "bad Ed25519 x")?;
            (key, AlgSet::of(&[Algorithm::EdDSA]), format!("OKP|{x}"))
        }
        _ => return Err("unsupported key type"),
    };
    let algs = match value.get("alg") {
        None => family,
        Some(alg) => {
            let alg = alg
                .as_str()
                .and_then(parse_alg)
                .ok_or("unsupported or non-signing alg")?;
            if !family.contains(alg) {
                return Err("alg does not fit the key type");
            }
            AlgSet::of(&[alg])
        }
    };
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{}|{material}", kid.as_deref().unwrap_or("")).as_bytes(),
    );
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    Ok(Key {
        kid,
        decoding,
        algs,
        fingerprint: u64::from_le_bytes(first),
    })
}

/// The discovery document fields authgate uses.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer the provider names itself with.
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// The authorization endpoint (browser login).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint (code and refresh grants).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The userinfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The RP-initiated logout endpoint.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// Counts refetches in a sliding window.
#[derive(Debug)]
struct RateLimiter {
    limit: usize,
    window: Duration,
    hits: VecDeque<Instant>,
}

impl RateLimiter {
    fn try_acquire(&mut self, now: Instant) -> bool {
        while self
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.hits.pop_front();
        }
        if self.hits.len() < self.limit {
            self.hits.push_back(now);
            true
        } else {
            false
        }
    }
}

/// Holds the current key set and refreshes it.
#[derive(Debug)]
pub(crate) struct KeyStore {
    config: Arc<ConfigInner>,
    current: ArcSwapOption<KeySet>,
    client: Result<reqwest::Client, Arc<reqwest::Error>>,
    /// Taken by every fetch, so concurrent misses share one.
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    limiter: Mutex<RateLimiter>,
    metadata: ArcSwapOption<ProviderMetadata>,
    last_error: ArcSwapOption<FetchError>,
    /// Seconds until the background task tries again (the 503 `Retry-After`).
    retry_after_secs: AtomicU64,
    /// The `max-age` of the last successful fetch, in seconds (`u64::MAX`: none).
    last_max_age: AtomicU64,
    /// The last JWKS fetch failed: run discovery again on the next fetch.
    rediscover: AtomicBool,
    started: AtomicBool,
}

impl KeyStore {
    pub(crate) fn new(config: Arc<ConfigInner>) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.http.connect_timeout)
            .timeout(config.http.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("authgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Arc::new);
        let limiter = RateLimiter {
            limit: config.refresh.unknown_kid_limit as usize,
            window: config.refresh.unknown_kid_window,
            hits: VecDeque::new(),
        };
        let retry = config.refresh.initial_backoff.as_secs().max(1);
        let store = Arc::new(Self {
            current: ArcSwapOption::empty(),
            client,
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            limiter: Mutex::new(limiter),
            metadata: ArcSwapOption::empty(),
            last_error: ArcSwapOption::empty(),
            retry_after_secs: AtomicU64::new(retry),
            last_max_age: AtomicU64::new(u64::MAX),
            rediscover: AtomicBool::new(false),
            started: AtomicBool::new(false),
            config,
        });
        if let KeySource::Static(json) = &store.config.source {
            // Checked when the configuration was built.
            if let Ok(set) = KeySet::parse(json, 1) {
                store.generation.store(1, Ordering::Release);
                store.current.store(Some(Arc::new(set)));
            }
            store.started.store(true, Ordering::Release);
        }
        store
    }

    /// The current snapshot, without a lock.
    #[inline]
    pub(crate) fn current(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    pub(crate) fn retry_after(&self) -> Duration {
        Duration::from_secs(self.retry_after_secs.load(Ordering::Relaxed).max(1))
    }

    pub(crate) fn last_error(&self) -> Option<Arc<FetchError>> {
        self.last_error.load_full()
    }

    /// The discovery document, once discovery has run.
    pub(crate) fn metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.metadata.load_full()
    }

    /// Starts the background refresh if it is not running and a tokio runtime is here.
    #[inline]
    pub(crate) fn ensure_started(self: &Arc<Self>) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        handle.spawn(background(Arc::downgrade(self)));
    }

    /// Refetches because a token named a `kid` that `seen` did not have: one fetch for
    /// all concurrent callers, rate-limited. Returns the key set to look in again.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: u64) -> Option<Arc<KeySet>> {
        if matches!(self.config.source, KeySource::Static(_)) {
            return None;
        }
        let _guard = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Someone refreshed while we waited: look in their result.
            return self.current();
        }
        let allowed = self.take_refetch_slot();
        if !allowed {
            tracing::debug!("unknown kid: JWKS refetch skipped, rate limit reached");
            return None;
        }
        tracing::debug!("unknown kid: refetching the JWK set");
        match self.fetch_locked().await {
            Ok(_) => self.current(),
            Err(_) => None,
        }
    }

    /// One slot of the refetch rate limit shared by unknown `kid`s and on-demand
    /// discovery; `false` when the limit is reached.
    fn take_refetch_slot(&self) -> bool {
        self.limiter
            .lock()
            .map(|mut l| l.try_acquire(Instant::now()))
            .unwrap_or(false)
    }

    /// The discovery document; when it is not known yet, discovery (and the key set)
    /// is fetched once for all concurrent callers, within the unknown-`kid` rate limit,
    /// so requests can never make the provider be asked more often than that.
    pub(crate) async fn discover(&self) -> Result<Arc<ProviderMetadata>, Arc<FetchError>> {
        if let Some(meta) = self.metadata() {
            return Ok(meta);
        }
        if !matches!(self.config.source, KeySource::Discovery(_)) {
            return Err(Arc::new(FetchError::NoDiscovery));
        }
        let _guard = self.refresh.lock().await;
        if let Some(meta) = self.metadata() {
            return Ok(meta);
        }
        let allowed = self.take_refetch_slot();
        if !allowed {
            return Err(self
                .last_error()
                .unwrap_or_else(|| Arc::new(FetchError::RateLimited)));
        }
        // Discovery is stored even when the key set then fails to load.
        let fetched = self.fetch_locked().await;
        match self.metadata() {
            Some(meta) => Ok(meta),
            None => Err(fetched
                .err()
                .unwrap_or_else(|| Arc::new(FetchError::NoDiscovery))),
        }
    }

    /// Fetches and stores a new key set now (taking the refresh lock).
    pub(crate) async fn refresh_now(&self) -> Result<Option<Duration>, Arc<FetchError>> {
        let _guard = self.refresh.lock().await;
        self.fetch_locked().await
    }

    /// The first background fetch: skipped when someone (`refresh_keys`) already
    /// loaded the keys, even while this task waited for the lock.
    async fn load_unless_loaded(&self) -> Result<Option<Duration>, Arc<FetchError>> {
        let _guard = self.refresh.lock().await;
        if self.current.load().is_some() {
            let secs = self.last_max_age.load(Ordering::Relaxed);
            return Ok((secs != u64::MAX).then(|| Duration::from_secs(secs)));
        }
        self.fetch_locked().await
    }

    /// Discovery (when needed), then the JWK set. The refresh lock must be held.
    async fn fetch_locked(&self) -> Result<Option<Duration>, Arc<FetchError>> {
        let result = self.fetch_set().await;
        match result {
            Ok((set, max_age)) => {
                let generation = self.generation.load(Ordering::Acquire) + 1;
                let set = KeySet { generation, ..set };
                tracing::debug!(keys = set.len(), generation, "JWK set updated");
                self.current.store(Some(Arc::new(set)));
                self.generation.store(generation, Ordering::Release);
                self.last_error.store(None);
                self.last_max_age
                    .store(max_age.map_or(u64::MAX, |d| d.as_secs()), Ordering::Relaxed);
                Ok(max_age)
            }
            Err(err) => {
                let err = Arc::new(err);
                tracing::warn!(error = %err, "fetching the JWK set failed; keeping the last good set");
                self.last_error.store(Some(err.clone()));
                Err(err)
            }
        }
    }

    async fn fetch_set(&self) -> Result<(KeySet, Option<Duration>), FetchError> {
        let jwks_url = match &self.config.source {
            KeySource::Static(json) => {
                return KeySet::parse(json, 0).map(|set| (set, None)).map_err(|_| {
                    FetchError::NoUsableKeys {
                        url: String::from("static"),
                    }
                });
            }
            KeySource::Jwks(url) => url.clone(),
            KeySource::Discovery(url) => match self
                .metadata()
                .filter(|_| !self.rediscover.load(Ordering::Acquire))
            {
                Some(meta) => self.jwks_url_of(&meta)?,
                None => {
                    let (meta, _) = self
                        .get_json::<ProviderMetadata>(url, "discovery document")
                        .await?;
                    if meta.issuer != self.config.issuer {
                        // Authentik names its issuer after the Host it was asked on, so a
                        // fetch through the internal URL may see another one: note it only.
                        tracing::debug!(
                            discovered = %meta.issuer,
                            configured = %self.config.issuer,
                            "discovery document names another issuer"
                        );
                    }
                    let jwks = self.jwks_url_of(&meta)?;
                    self.metadata.store(Some(Arc::new(meta)));
                    jwks
                }
            },
        };
        let result = self.get_json::<RawSet>(&jwks_url, "JWK set").await;
        let (raw, max_age) = match result {
            Ok(ok) => {
                self.rediscover.store(false, Ordering::Release);
                ok
            }
            Err(err) => {
                // The provider may have moved its keys: rediscover on the next fetch,
                // keeping the known document for the login flow meanwhile.
                self.rediscover.store(true, Ordering::Release);
                return Err(err);
            }
        };
        let set = KeySet::from_values(raw.keys, 0).map_err(|_| FetchError::NoUsableKeys {
            url: jwks_url.to_string(),
        })?;
        Ok((set, max_age))
    }

    fn jwks_url_of(&self, meta: &ProviderMetadata) -> Result<Url, FetchError> {
        let url = Url::parse(&meta.jwks_uri).map_err(|source| FetchError::BadEndpoint {
            field: "jwks_uri",
            source,
        })?;
        Ok(rewrite_origin(url, self.config.internal.as_ref()))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &'static str,
    ) -> Result<(T, Option<Duration>), FetchError> {
        let client = match &self.client {
            Ok(client) => client,
            Err(err) => {
                return Err(FetchError::Client {
                    source: err.clone(),
                });
            }
        };
        let http_err = |source| FetchError::Http {
            url: url.to_string(),
            source,
        };
        let mut response = client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(http_err)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let limit = self.config.http.max_body_bytes;
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let max_age = response
            .headers()
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_err)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice(&body).map_err(|source| FetchError::Json {
            url: url.to_string(),
            what,
            source,
        })?;
        Ok((value, max_age))
    }

    fn next_delay(
        &self,
        outcome: &Result<Option<Duration>, Arc<FetchError>>,
        backoff: &mut Duration,
    ) -> Duration {
        let policy = &self.config.refresh;
        match outcome {
            Ok(max_age) => {
                *backoff = policy.initial_backoff;
                max_age
                    .unwrap_or(policy.default_interval)
                    .clamp(policy.min_interval, policy.max_interval)
            }
            Err(_) => {
                let delay = *backoff;
                *backoff = (*backoff * 2).min(policy.max_backoff);
                if self.current.load().is_some() {
                    // Keys are serving: retry failures no faster than the minimum interval.
                    delay.max(policy.min_interval).min(policy.default_interval)
                } else {
                    delay
                }
            }
        }
    }
}

async fn background(store: Weak<KeyStore>) {
    let mut backoff = match store.upgrade() {
        Some(store) => store.config.refresh.initial_backoff,
        None => return,
    };
    let mut first = true;
    loop {
        let delay = {
            let Some(store) = store.upgrade() else {
                return;
            };
            let outcome = if first {
                store.load_unless_loaded().await
            } else {
                store.refresh_now().await
            };
            first = false;
            let delay = store.next_delay(&outcome, &mut backoff);
            store
                .retry_after_secs
                .store(delay.as_secs().max(1), Ordering::Relaxed);
            delay
        };
        tokio::time::sleep(delay).await;
    }
}

/// `max-age=N` from a `Cache-Control` value (`no-store`/`no-cache` mean "use the minimum").
fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "max-age" => arg
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs),
            "no-store" | "no-cache" => Some(Duration::ZERO),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    fn rsa(extra: Value) -> Value {
        let mut jwk = serde_json::json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "a"});
        if let (Value::Object(base), Value::Object(extra)) = (&mut jwk, extra) {
            base.extend(extra);
        }
        jwk
    }

    #[test]
    fn bad_keys_are_skipped_not_fatal() {
        let set = KeySet::from_values(
            vec![
                rsa(serde_json::json!({"kid": "enc", "use": "enc"})),
                rsa(serde_json::json!({"kid": "oaep", "alg": "RSA-OAEP"})),
                rsa(serde_json::json!({"kid": "hs", "alg": "HS256"})),
                rsa(serde_json::json!({"kid": "es-on-rsa", "alg": "ES256"})),
                rsa(serde_json::json!({"kid": "ops", "key_ops": ["encrypt"]})),
                serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "oct"}),
                serde_json::json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}),
                serde_json::json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"}),
                serde_json::json!("not an object"),
                rsa(serde_json::json!({"kid": "good", "alg": "RS256", "use": "sig"})),
            ],
            1,
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        assert!(matches!(
            set.find(Some("good"), Algorithm::RS256),
            KeyLookup::Found(_)
        ));
        // The key is limited to its declared alg.
        assert!(matches!(
            set.find(Some("good"), Algorithm::PS256),
            KeyLookup::Unknown
        ));
        for kid in [
            "enc",
            "oaep",
            "hs",
            "es-on-rsa",
            "ops",
            "oct",
            "no-n",
            "p521",
        ] {
            assert!(matches!(
                set.find(Some(kid), Algorithm::RS256),
                KeyLookup::Unknown
            ));
        }
    }

    #[test]
    fn a_set_with_no_usable_key_is_an_error() {
        let err = KeySet::parse(r#"{"keys":[{"kty":"oct","k":"AA"}]}"#, 0).unwrap_err();
        assert!(matches!(err, KeySetError::NoUsableKeys));
        assert!(matches!(KeySet::parse("[]", 0), Err(KeySetError::Json(_))));
    }

    #[test]
    fn no_kid_uses_the_single_fitting_key_only() {
        let one = KeySet::from_values(vec![rsa(serde_json::json!({}))], 1).unwrap();
        assert!(matches!(
            one.find(None, Algorithm::RS256),
            KeyLookup::Found(_)
        ));
        assert!(matches!(
            one.find(None, Algorithm::ES256),
            KeyLookup::Unknown
        ));
        let two = KeySet::from_values(
            vec![
                rsa(serde_json::json!({})),
                rsa(serde_json::json!({"kid": "b"})),
            ],
            1,
        )
        .unwrap();
        assert!(matches!(
            two.find(None, Algorithm::RS256),
            KeyLookup::Ambiguous
        ));
    }

    #[test]
    fn fingerprints_are_stable_across_parses() {
        let a = KeySet::from_values(vec![rsa(serde_json::json!({}))], 1).unwrap();
        let b = KeySet::from_values(vec![rsa(serde_json::json!({}))], 2).unwrap();
        let fp = a.all[0].fingerprint;
        assert!(b.contains_fingerprint(fp));
        let c = KeySet::from_values(vec![rsa(serde_json::json!({"kid": "other"}))], 3).unwrap();
        assert!(!c.contains_fingerprint(fp));
    }

    #[test]
    fn rate_limiter_window() {
        let mut limiter = RateLimiter {
            limit: 2,
            window: Duration::from_secs(60),
            hits: VecDeque::new(),
        };
        let t0 = Instant::now();
        assert!(limiter.try_acquire(t0));
        assert!(limiter.try_acquire(t0));
        assert!(!limiter.try_acquire(t0 + Duration::from_secs(59)));
        assert!(limiter.try_acquire(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            parse_max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("private"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
