//! The in-process store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Store, StoreError, StoreFuture};

/// How often `put` sweeps expired entries out, at most.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// The longest time to live kept; longer ones are cut to it.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// The default number of entries a [`MemoryStore`] holds.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The default store: a bounded map in this process.
///
/// - An entry past its time to live is never returned, whether or not it has been
///   swept yet.
/// - Expired entries are swept by `put` every 30 seconds, and at once when the store
///   is full; there is no background task.
/// - When the store is full of live entries, `put` fails with [`StoreError::Full`]
///   (answered with 503) rather than evicting live logins.
///
/// Clones share one map. One process only: behind a load balancer use `RedisStore`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), authgate_flow::store::StoreError> {
/// use authgate_flow::store::{MemoryStore, Store, StoreError};
/// use std::time::Duration;
///
/// let store = MemoryStore::with_capacity(1);
/// store.put("a", vec![1], Duration::from_secs(60)).await?;
/// let full = store.put("b", vec![2], Duration::from_secs(60)).await;
/// assert!(matches!(full, Err(StoreError::Full { capacity: 1 })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<String, (Instant, Vec<u8>)>,
    last_sweep: Instant,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store of [`DEFAULT_CAPACITY`] entries.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store of at most `capacity` entries (at least one).
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                last_sweep: Instant::now(),
            })),
            capacity: capacity.max(1),
        }
    }

    /// The capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries are held, expired ones included until they are swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every expired entry now.
    pub fn sweep(&self) {
        let mut inner = self.lock();
        sweep(&mut inner, Instant::now());
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing can leave the map half-updated, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put_now(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let full = inner.entries.len() >= self.capacity && !inner.entries.contains_key(key);
        if full || now.duration_since(inner.last_sweep) >= SWEEP_INTERVAL {
            sweep(&mut inner, now);
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(key) {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        // Nothing in a login flow lives for a year; the cap keeps `Instant` in range.
        let expires = now + ttl.min(MAX_TTL);
        inner.entries.insert(key.to_owned(), (expires, value));
        Ok(())
    }

    fn get_now(&self, key: &str) -> Option<Vec<u8>> {
        let inner = self.lock();
        let (expires, value) = inner.entries.get(key)?;
        (Instant::now() < *expires).then(|| value.clone())
    }

    fn take_now(&self, key: &str) -> Option<Vec<u8>> {
        let (expires, value) = self.lock().entries.remove(key)?;
        (Instant::now() < expires).then_some(value)
    }
}

fn sweep(inner: &mut Inner, now: Instant) {
    inner.entries.retain(|_, (expires, _)| now < *expires);
    inner.last_sweep = now;
}

impl Store for MemoryStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        let result = self.put_now(key, value, ttl);
        Box::pin(async move { result })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let result = self.take_now(key);
        Box::pin(async move { Ok(result) })
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let result = self.get_now(key);
        Box::pin(async move { Ok(result) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_never_returned_even_before_a_sweep() {
        let store = MemoryStore::new();
        store.put_now("k", vec![1], Duration::ZERO).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.take_now("k"), None);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn sweep_removes_only_expired_entries() {
        let store = MemoryStore::new();
        store.put_now("old", vec![1], Duration::ZERO).unwrap();
        store
            .put_now("new", vec![2], Duration::from_secs(60))
            .unwrap();
        store.sweep();
        assert_eq!(store.len(), 1);
        assert_eq!(store.take_now("new"), Some(vec![2]));
    }

    #[test]
    fn a_full_store_sweeps_before_refusing() {
        let store = MemoryStore::with_capacity(2);
        store.put_now("a", vec![1], Duration::ZERO).unwrap();
        store
            .put_now("b", vec![2], Duration::from_secs(60))
            .unwrap();
        // Full, but "a" has expired: it is swept and "c" fits.
        store
            .put_now("c", vec![3], Duration::from_secs(60))
            .unwrap();
        assert!(matches!(
            store.put_now("d", vec![4], Duration::from_secs(60)),
            Err(StoreError::Full { capacity: 2 })
        ));
        // Replacing an existing key is not growth.
        store
            .put_now("c", vec![5], Duration::from_secs(60))
            .unwrap();
        assert_eq!(store.take_now("c"), Some(vec![5]));
        assert_eq!(store.capacity(), 2);
    }

    #[test]
    fn huge_ttls_do_not_panic() {
        let store = MemoryStore::new();
        store.put_now("k", vec![1], Duration::MAX).unwrap();
        assert_eq!(store.take_now("k"), Some(vec![1]));
        assert!(store.is_empty());
    }
}
