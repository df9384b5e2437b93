//! The verified-token cache: a browser sends the same cookie on every request, so the
//! mapped user is remembered per token until the token's `exp`, and forgotten as soon
//! as its signing key leaves the key set or the token is revoked.
//!
//! The cache is read on every request, by every worker thread at once, so a hit is
//! made cheap:
//!
//! - the key is the token itself, found through a keyed hash (foldhash with a random
//!   seed per cache) and then compared in full, byte for byte: an attacker who cannot
//!   learn the seed cannot aim collisions at one slot, and a collision would only cost
//!   a comparison, never a wrong user;
//! - no lock: the cache is a fixed array of slots, four per hash (a set-associative
//!   cache), each an atomically swapped `Arc` of its entry, read without writing to
//!   anything another thread reads (`arc_swap`'s thread-local debts), so hits on one
//!   token from several threads do not contend on a lock word; beside the slots, a
//!   dense array of their hashes and expiry times lets a lookup or an insert skip the
//!   entries that cannot match (only hints: the entry itself decides);
//! - a hit allocates nothing: it hands out `Arc` clones of the user and of the stored
//!   token (which becomes the request's [`AccessToken`](crate::AccessToken));
//! - the token's SHA-256, which the denylist knows tokens by, is computed only when a
//!   denylist entry for a token must be looked up, and then once per cached token.
//!
//! A token is stored the second time it is verified, not the first: a filter of the
//! hashes of tokens seen once (one per slot, overwritten freely) lets one-off tokens
//! (a script with a new token per call, or a flood of distinct tokens) pass without
//! evicting the tokens that browsers send again and again, and without paying for an
//! insert and an eviction each (freeing an evicted user touches memory that went cold
//! long ago). A browser's token is verified twice, then served from the cache.
//!
//! The memory is bounded by the slot count (the configured capacity, rounded up to a
//! multiple of four): a new token takes the slot of its set that holds the same token,
//! an expired one or none, else one picked by its hash (at random, in effect). Nothing
//! is written on a hit to keep score of use, since that write would be shared by all
//! the threads serving a popular token.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;

use crate::keys::jwk::KeySet;
use crate::revocation::{TokenFacts, TokenHash, hash_token};

/// Slots per set: where a token may be stored.
const WAYS: usize = 4;

/// The keyed hash of the cache (random per process and per cache).
type Hasher = foldhash::quality::RandomState;

#[derive(Debug)]
struct Entry<U> {
    token: Arc<str>,
    /// `token`'s keyed hash: compared before the token.
    hash: u64,
    user: Arc<U>,
    exp: i64,
    key: u64,
    sha256: OnceLock<TokenHash>,
    facts: TokenFacts,
}

impl<U> Entry<U> {
    fn is(&self, hash: u64, token: &str) -> bool {
        self.hash == hash && *self.token == *token
    }
}

/// A token that passed, as stored: shared with the cache, never copied.
#[derive(Debug)]
pub(crate) struct Hit<U> {
    pub(crate) user: Arc<U>,
    pub(crate) token: Arc<str>,
}

/// A verified token to store.
#[derive(Debug)]
pub(crate) struct NewEntry<U> {
    pub(crate) token: Arc<str>,
    pub(crate) user: Arc<U>,
    pub(crate) exp: i64,
    pub(crate) key: u64,
    /// The token's SHA-256, if it was needed already.
    pub(crate) sha256: OnceLock<TokenHash>,
    pub(crate) facts: TokenFacts,
}

/// A bounded, lock-free map from token to user.
#[derive(Debug)]
pub(crate) struct TokenCache<U> {
    slots: Box<[ArcSwapOption<Entry<U>>]>,
    /// Per slot, the hash of its entry (a hint, 0 for none).
    hashes: Box<[AtomicU64]>,
    /// Per slot, the `exp` of its entry (a hint, 0 for none).
    exps: Box<[AtomicI64]>,
    /// The hashes of tokens verified once and not stored (0 for none): the admission
    /// filter.
    seen: Box<[AtomicU64]>,
    sets: usize,
    hasher: Hasher,
}

impl<U> TokenCache<U> {
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let sets = capacity.div_ceil(WAYS);
        Some(Self {
            slots: (0..sets * WAYS).map(|_| ArcSwapOption::empty()).collect(),
            hashes: (0..sets * WAYS).map(|_| AtomicU64::new(0)).collect(),
            exps: (0..sets * WAYS).map(|_| AtomicI64::new(0)).collect(),
            seen: (0..sets * WAYS).map(|_| AtomicU64::new(0)).collect(),
            sets,
            hasher: Hasher::default(),
        })
    }

    fn hash(&self, token: &str) -> u64 {
        self.hasher.hash_one(token.as_bytes())
    }

    /// The indices of the slots where a token with `hash` may be.
    fn set(&self, hash: u64) -> std::ops::Range<usize> {
        // Multiply-shift: the high bits of `hash` scaled to `0..sets`, no division.
        #[allow(clippy::cast_possible_truncation)]
        let set = ((u128::from(hash) * self.sets as u128) >> 64) as usize;
        set * WAYS..(set + 1) * WAYS
    }

    /// The cached user and token, if the entry is unexpired, its key is still in
    /// `keys` and `revoked` (given the token's SHA-256, computed on demand, and its
    /// facts) says no. An entry that fails is removed.
    pub(crate) fn get(
        &self,
        token: &str,
        now: i64,
        keys: &KeySet,
        revoked: impl FnOnce(&dyn Fn() -> TokenHash, &TokenFacts) -> bool,
    ) -> Option<Hit<U>> {
        let hash = self.hash(token);
        for i in self.set(hash) {
            if self.hashes[i].load(Ordering::Relaxed) != hash {
                continue;
            }
            let slot = &self.slots[i];
            let current = slot.load();
            let Some(entry) = current.as_deref().filter(|e| e.is(hash, token)) else {
                continue;
            };
            if entry.exp > now
                && keys.contains_fingerprint(entry.key)
                && !revoked(
                    &|| *entry.sha256.get_or_init(|| hash_token(&entry.token)),
                    &entry.facts,
                )
            {
                return Some(Hit {
                    user: entry.user.clone(),
                    token: entry.token.clone(),
                });
            }
            // Expired, signed by a key that is gone, or revoked: forget it, unless
            // another thread replaced it meanwhile.
            let previous = slot.compare_and_swap(&current, None);
            if previous.as_deref().is_some_and(|p| std::ptr::eq(p, entry)) {
                self.hashes[i].store(0, Ordering::Relaxed);
                self.exps[i].store(0, Ordering::Relaxed);
            }
            return None;
        }
        None
    }

    /// Stores a verified token, if it was verified once before (see the module docs).
    pub(crate) fn insert(&self, new: NewEntry<U>, now: i64) {
        if new.exp <= now {
            return;
        }
        let hash = self.hash(&new.token);
        #[allow(clippy::cast_possible_truncation)]
        let seen = &self.seen[(hash as usize) % self.seen.len()];
        if seen.swap(hash, Ordering::Relaxed) != hash {
            // The first time: remembered as seen, not stored.
            return;
        }
        let set = self.set(hash);
        // The slot holding this token, else an empty or expired one, else the one the
        // hash's low bits name (the set came from its high bits).
        #[allow(clippy::cast_possible_truncation)]
        let mut victim = set.start + (hash as usize) % WAYS;
        let mut rank = 2;
        for i in set {
            let slot_rank = if self.hashes[i].load(Ordering::Relaxed) == hash {
                0
            } else if self.exps[i].load(Ordering::Relaxed) <= now {
                1
            } else {
                2
            };
            if slot_rank < rank {
                (victim, rank) = (i, slot_rank);
            }
        }
        let exp = new.exp;
        self.slots[victim].store(Some(Arc::new(Entry {
            token: new.token,
            hash,
            user: new.user,
            exp: new.exp,
            key: new.key,
            sha256: new.sha256,
            facts: new.facts,
        })));
        self.hashes[victim].store(hash, Ordering::Relaxed);
        self.exps[victim].store(exp, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.load().is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet::parse(
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
            1,
        )
        .unwrap()
    }

    fn entry<U>(token: &str, user: U, exp: i64, key: u64) -> NewEntry<U> {
        NewEntry {
            token: token.into(),
            user: Arc::new(user),
            exp,
            key,
            sha256: OnceLock::new(),
            facts: TokenFacts {
                sub: "alice".into(),
                sid: None,
                iat: None,
            },
        }
    }

    /// Inserts as a token verified a second time is (the first time is not stored).
    fn store<U>(cache: &TokenCache<U>, new: NewEntry<U>, now: i64) {
        let hash = cache.hash(&new.token);
        #[allow(clippy::cast_possible_truncation)]
        cache.seen[(hash as usize) % cache.seen.len()].store(hash, Ordering::Relaxed);
        cache.insert(new, now);
    }

    fn user<U: Copy>(hit: Option<Hit<U>>) -> Option<U> {
        hit.map(|hit| *hit.user)
    }

    #[test]
    fn hit_expiry_and_key_removal() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(100).unwrap();
        store(&cache, entry("a.b.c", "alice", 200, fp), 100);
        assert_eq!(
            user(cache.get("a.b.c", 150, &keys, |_, _| false)),
            Some("alice")
        );
        assert_eq!(user(cache.get("a.b.cd", 150, &keys, |_, _| false)), None);
        assert_eq!(
            user(cache.get("a.b.c", 200, &keys, |_, _| false)),
            None,
            "expired at exp"
        );
        store(&cache, entry("a.b.c", "alice", 200, fp ^ 1), 100);
        assert_eq!(
            user(cache.get("a.b.c", 150, &keys, |_, _| false)),
            None,
            "key no longer in the set"
        );
        assert_eq!(cache.len(), 0);
        store(&cache, entry("a.b.c", "alice", 200, fp), 100);
        assert_eq!(
            user(cache.get("a.b.c", 150, &keys, |hash, _| hash() == hash_token("a.b.c"))),
            None,
            "revoked"
        );
        assert_eq!(cache.len(), 0, "and forgotten");
    }

    #[test]
    fn a_hit_shares_the_stored_user_and_token() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(100).unwrap();
        store(&cache, entry("a.b.c", String::from("alice"), 200, fp), 100);
        let first = cache.get("a.b.c", 150, &keys, |_, _| false).unwrap();
        let second = cache
            .get(&String::from("a.b.c"), 150, &keys, |_, _| false)
            .unwrap();
        assert!(Arc::ptr_eq(&first.user, &second.user));
        assert!(Arc::ptr_eq(&first.token, &second.token));
    }

    #[test]
    fn bounded() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(32).unwrap();
        for i in 0..1000 {
            store(&cache, entry(&i.to_string(), i, 1000 + i, fp), 0);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        // The newest entry is there.
        assert_eq!(user(cache.get("999", 1, &keys, |_, _| false)), Some(999));
    }

    #[test]
    fn a_token_is_stored_the_second_time_it_is_verified() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(100).unwrap();
        cache.insert(entry("a.b.c", 1, 200, fp), 100);
        assert_eq!(user(cache.get("a.b.c", 150, &keys, |_, _| false)), None);
        cache.insert(entry("a.b.c", 1, 200, fp), 100);
        assert_eq!(user(cache.get("a.b.c", 150, &keys, |_, _| false)), Some(1));
        // One-off tokens pass without displacing it.
        for i in 0..1_000 {
            cache.insert(entry(&format!("once-{i}"), 2, 200, fp), 100);
        }
        assert_eq!(cache.len(), 1);
        assert_eq!(user(cache.get("a.b.c", 150, &keys, |_, _| false)), Some(1));
    }

    #[test]
    fn a_working_set_below_the_capacity_stays() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(10_000).unwrap();
        for i in 0..2_000 {
            store(&cache, entry(&format!("token-{i}"), i, 1000, fp), 0);
        }
        let found = (0..2_000)
            .filter(|i| user(cache.get(&format!("token-{i}"), 1, &keys, |_, _| false)) == Some(*i))
            .count();
        // Four slots per set: a few sets may overflow, far fewer than 1 %.
        assert!(found >= 1_980, "{found}");
    }

    /// Threads that insert, read and evict the same slots at once never see a token
    /// answered with another token's user: the entry itself decides, the hash and
    /// expiry hints only narrow the search.
    #[test]
    fn concurrent_inserts_and_reads_never_mix_up_users() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        // 8 slots for 64 tokens: every set is fought over.
        let cache = TokenCache::new(8).unwrap();
        let hits = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for thread in 0..4_usize {
                let (cache, keys, hits) = (&cache, &keys, &hits);
                scope.spawn(move || {
                    for round in 0..20_000_usize {
                        let i = (round * 7 + thread * 13) % 64;
                        let token = format!("token-{i}");
                        // Some entries expire at `now`, so reads also evict.
                        let exp = if round % 5 == 0 { 10 } else { 1_000 };
                        cache.insert(entry(&token, i, exp, fp), 1);
                        if let Some(hit) = cache.get(&token, 10, keys, |_, _| false) {
                            assert_eq!(*hit.user, i, "{token} answered with another user");
                            assert_eq!(&*hit.token, token.as_str());
                            hits.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert!(cache.len() <= 8);
        assert!(hits.load(Ordering::Relaxed) > 0, "the cache served nothing");
    }

    #[test]
    fn inserting_a_token_again_replaces_it() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(32).unwrap();
        store(&cache, entry("t", 1, 100, fp), 0);
        store(&cache, entry("t", 2, 100, fp), 0);
        assert_eq!(cache.len(), 1);
        assert_eq!(user(cache.get("t", 1, &keys, |_, _| false)), Some(2));
    }
}
