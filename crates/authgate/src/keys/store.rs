//! The [`KeyStore`]: the current key set, read without a lock, and every way it is
//! refetched: the background refresh, a single-flight refetch for an unknown `kid`
//! (rate-limited), on-demand discovery for the login flow, and an explicit refresh.
//! When a fetch fails, the last good key set keeps serving.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use super::discovery::ProviderMetadata;
use super::fetch::Fetcher;
use super::jwk::{KeySet, RawSet};
use super::rate_limit::RateLimiter;
use super::refresh::{RefreshPolicy, background};
use super::{KeySource, KeysConfig};
use crate::error::FetchError;

/// Holds the current key set and refreshes it.
#[derive(Debug)]
pub(crate) struct KeyStore {
    config: Arc<KeysConfig>,
    current: ArcSwapOption<KeySet>,
    fetcher: Fetcher,
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
    /// A store for `config`; a static key set is loaded at once, any other source by
    /// the background refresh (see [`ensure_started`](Self::ensure_started)).
    pub(crate) fn new(config: Arc<KeysConfig>) -> Arc<Self> {
        let limiter = RateLimiter::new(
            config.refresh.unknown_kid_limit as usize,
            config.refresh.unknown_kid_window,
        );
        let retry = config.refresh.initial_backoff.as_secs().max(1);
        let store = Arc::new(Self {
            current: ArcSwapOption::empty(),
            fetcher: Fetcher::new(&config.http),
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

    /// The current snapshot, borrowed for a short while (a request): neither a lock
    /// nor a shared reference count is touched.
    #[inline]
    pub(crate) fn snapshot(&self) -> arc_swap::Guard<Option<Arc<KeySet>>> {
        self.current.load()
    }

    /// The refresh policy.
    pub(crate) fn policy(&self) -> &RefreshPolicy {
        &self.config.refresh
    }

    /// When a request refused for want of keys should try again.
    pub(crate) fn retry_after(&self) -> Duration {
        Duration::from_secs(self.retry_after_secs.load(Ordering::Relaxed).max(1))
    }

    /// Records the background task's next pause (the `Retry-After` of a 503).
    pub(crate) fn set_retry_after(&self, delay: Duration) {
        self.retry_after_secs
            .store(delay.as_secs().max(1), Ordering::Relaxed);
    }

    /// The last fetch error, if the last fetch failed.
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

    /// Refetches because a token named a `kid` that generation `seen` did not have: one
    /// fetch for all concurrent callers, rate-limited. Returns the key set to look in
    /// again.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: u64) -> Option<Arc<KeySet>> {
        if matches!(self.config.source, KeySource::Static(_)) {
            return None;
        }
        let _guard = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Someone refreshed while we waited: look in their result.
            return self.current();
        }
        if !self.take_refetch_slot() {
            tracing::debug!("unknown kid: JWKS refetch skipped, rate limit reached");
            crate::observe::key_fetch_rate_limited();
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
        if !self.take_refetch_slot() {
            crate::observe::key_fetch_rate_limited();
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
    pub(crate) async fn load_unless_loaded(&self) -> Result<Option<Duration>, Arc<FetchError>> {
        let _guard = self.refresh.lock().await;
        if self.current.load().is_some() {
            let secs = self.last_max_age.load(Ordering::Relaxed);
            return Ok((secs != u64::MAX).then(|| Duration::from_secs(secs)));
        }
        self.fetch_locked().await
    }

    /// Discovery (when needed), then the JWK set. The refresh lock must be held.
    async fn fetch_locked(&self) -> Result<Option<Duration>, Arc<FetchError>> {
        let fetched = self.fetch_set().await;
        crate::observe::key_fetch(fetched.as_ref().map(|_| ()));
        match fetched {
            Ok((set, max_age)) => {
                let generation = self.generation.load(Ordering::Acquire) + 1;
                let stale_at = self.config.refresh.max_stale.map_or(i64::MAX, |age| {
                    unix_now().saturating_add(i64::try_from(age.as_secs()).unwrap_or(i64::MAX))
                });
                let set = set.with_generation(generation, stale_at);
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
        let internal = self.config.internal.as_ref();
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
                Some(meta) => meta.jwks_url(internal)?,
                None => {
                    let (meta, _) = self
                        .fetcher
                        .get_json::<ProviderMetadata>(url, "discovery document")
                        .await?;
                    if !names_issuer(&meta.issuer, &self.config.issuer, internal) {
                        return Err(FetchError::IssuerMismatch {
                            configured: self.config.issuer.clone(),
                            discovered: meta.issuer,
                        });
                    }
                    let jwks = meta.jwks_url(internal)?;
                    self.metadata.store(Some(Arc::new(meta)));
                    jwks
                }
            },
        };
        let (raw, max_age) = match self.fetcher.get_json::<RawSet>(&jwks_url, "JWK set").await {
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
}

/// The current Unix second.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether a discovery document's `issuer` is the configured one: equal, or (through
/// an internal URL, where Authentik names its issuer after the host it was asked on)
/// equal once moved back to the public origin.
fn names_issuer(
    discovered: &str,
    configured: &str,
    internal: Option<&super::fetch::InternalOrigin>,
) -> bool {
    discovered == configured
        || internal.is_some_and(|origin| {
            url::Url::parse(discovered)
                .is_ok_and(|url| origin.to_public(url).as_str() == configured)
        })
}

#[cfg(test)]
mod issuer_tests {
    use super::*;

    #[test]
    fn the_discovered_issuer_must_be_the_configured_one() {
        let configured = "https://auth.example.com/application/o/app/";
        assert!(names_issuer(configured, configured, None));
        assert!(!names_issuer(
            "https://evil.example/application/o/app/",
            configured,
            None
        ));
        assert!(!names_issuer(
            "https://auth.example.com/application/o/other/",
            configured,
            None
        ));
        assert!(!names_issuer(
            "https://auth.example.com/application/o/app",
            configured,
            None
        ));
        let internal = super::super::fetch::InternalOrigin::new(
            url::Url::parse("https://auth.example.com").unwrap(),
            url::Url::parse("http://authentik:9000").unwrap(),
        );
        assert!(names_issuer(
            "http://authentik:9000/application/o/app/",
            configured,
            Some(&internal)
        ));
        assert!(names_issuer(configured, configured, Some(&internal)));
        assert!(!names_issuer(
            "http://authentik:9000/application/o/other/",
            configured,
            Some(&internal)
        ));
        assert!(!names_issuer(
            "http://other:9000/application/o/app/",
            configured,
            Some(&internal)
        ));
    }
}
