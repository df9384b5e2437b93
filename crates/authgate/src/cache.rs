//! The verified-token cache: a browser sends the same cookie on every request, so the
//! mapped user is remembered per token until the token's `exp`, and forgotten as soon
//! as its signing key leaves the key set or the token is revoked.
//!
//! The cache is read on every request, so a hit is made cheap:
//!
//! - the key is the token itself, found through a keyed hash (foldhash with a random
//!   seed per cache) and then compared in full, byte for byte: an attacker who cannot
//!   learn the seed cannot aim collisions at one bucket, and a collision would only
//!   cost a comparison, never a wrong user;
//! - a shard is read under a read lock, so concurrent hits on one token do not wait
//!   for each other;
//! - a hit allocates nothing: it hands out `Arc` clones of the user and of the stored
//!   token (which becomes the request's [`AccessToken`](crate::AccessToken));
//! - the token's SHA-256, which the denylist knows tokens by, is computed only when a
//!   denylist entry for a token must be looked up, and then once per cached token.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use hashbrown::HashTable;

use crate::keys::jwk::KeySet;
use crate::revocation::{TokenFacts, TokenHash, hash_token};

const SHARDS: usize = 16;

/// The keyed hash of the cache (random per process and per cache).
type Hasher = foldhash::quality::RandomState;

#[derive(Debug)]
struct Entry<U> {
    token: Arc<str>,
    /// `token`'s keyed hash, kept so the table can grow without hashing again.
    hash: u64,
    user: Arc<U>,
    exp: i64,
    key: u64,
    sha256: OnceLock<TokenHash>,
    facts: TokenFacts,
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

type Shard<U> = RwLock<HashTable<Entry<U>>>;

/// A bounded, sharded map from token to user.
#[derive(Debug)]
pub(crate) struct TokenCache<U> {
    shards: Box<[Shard<U>]>,
    hasher: Hasher,
    per_shard: usize,
}

impl<U> TokenCache<U> {
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        Some(Self {
            shards: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(),
            hasher: Hasher::default(),
            per_shard,
        })
    }

    fn hash(&self, token: &str) -> u64 {
        self.hasher.hash_one(token.as_bytes())
    }

    fn shard(&self, hash: u64) -> &Shard<U> {
        // Bits the table itself uses neither for its index (the low ones) nor for its
        // control bytes (the top seven).
        &self.shards[(hash >> 32) as usize % SHARDS]
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
        let shard = self.shard(hash);
        {
            let table = shard.read().unwrap_or_else(PoisonError::into_inner);
            let entry = table.find(hash, |e| *e.token == *token)?;
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
        }
        let mut table = shard.write().unwrap_or_else(PoisonError::into_inner);
        if let Ok(entry) = table.find_entry(hash, |e| *e.token == *token) {
            entry.remove();
        }
        None
    }

    pub(crate) fn insert(&self, new: NewEntry<U>, now: i64) {
        if new.exp <= now {
            return;
        }
        let hash = self.hash(&new.token);
        let mut table = self
            .shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Ok(old) = table.find_entry(hash, |e| *e.token == *new.token) {
            old.remove();
        } else if table.len() >= self.per_shard {
            table.retain(|e| e.exp > now);
            if table.len() >= self.per_shard {
                // Still full of live entries: drop an eighth of them, those that come
                // first in the table's order (random: it follows the keyed hash), so
                // the scan is paid once per many inserts.
                let mut victims = (self.per_shard / 8).max(1);
                table.retain(|_| {
                    let keep = victims == 0;
                    victims = victims.saturating_sub(1);
                    keep
                });
            }
        }
        table.insert_unique(
            hash,
            Entry {
                token: new.token,
                hash,
                user: new.user,
                exp: new.exp,
                key: new.key,
                sha256: new.sha256,
                facts: new.facts,
            },
            |e| e.hash,
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|s| s.len()).unwrap_or(0))
            .sum()
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

    fn user<U: Copy>(hit: Option<Hit<U>>) -> Option<U> {
        hit.map(|hit| *hit.user)
    }

    #[test]
    fn hit_expiry_and_key_removal() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(100).unwrap();
        cache.insert(entry("a.b.c", "alice", 200, fp), 100);
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
        cache.insert(entry("a.b.c", "alice", 200, fp ^ 1), 100);
        assert_eq!(
            user(cache.get("a.b.c", 150, &keys, |_, _| false)),
            None,
            "key no longer in the set"
        );
        assert_eq!(cache.len(), 0);
        cache.insert(entry("a.b.c", "alice", 200, fp), 100);
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
        cache.insert(entry("a.b.c", String::from("alice"), 200, fp), 100);
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
            cache.insert(entry(&i.to_string(), i, 1000 + i, fp), 0);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        // The newest entry is there.
        assert_eq!(user(cache.get("999", 1, &keys, |_, _| false)), Some(999));
    }

    #[test]
    fn inserting_a_token_again_replaces_it() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(32).unwrap();
        cache.insert(entry("t", 1, 100, fp), 0);
        cache.insert(entry("t", 2, 100, fp), 0);
        assert_eq!(cache.len(), 1);
        assert_eq!(user(cache.get("t", 1, &keys, |_, _| false)), Some(2));
    }
}
