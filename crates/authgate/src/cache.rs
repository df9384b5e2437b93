//! The verified-token cache: a browser sends the same cookie on every request, so the
//! mapped user is remembered per token (keyed by the SHA-256 of the whole token) until
//! the token's `exp`, and forgotten as soon as its signing key leaves the key set.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::keys::jwk::KeySet;
use crate::revocation::TokenFacts;

const SHARDS: usize = 16;

/// The SHA-256 of a token.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn hash_token(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[derive(Debug)]
struct Entry<U> {
    user: U,
    exp: i64,
    key: u64,
    facts: TokenFacts,
}

type Shard<U> = Mutex<HashMap<TokenHash, Entry<U>>>;

/// A bounded, sharded map from token hash to user.
#[derive(Debug)]
pub(crate) struct TokenCache<U> {
    shards: Box<[Shard<U>]>,
    per_shard: usize,
}

impl<U> TokenCache<U> {
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        Some(Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
        })
    }

    fn shard(&self, hash: &TokenHash) -> &Shard<U> {
        &self.shards[usize::from(hash[0]) % SHARDS]
    }

    /// The cached user, if the entry is unexpired and its key is still in `keys`.
    pub(crate) fn get(
        &self,
        hash: &TokenHash,
        now: i64,
        keys: &KeySet,
        revoked: impl FnOnce(&TokenFacts) -> bool,
    ) -> Option<U>
    where
        U: Clone,
    {
        let mut shard = self.shard(hash).lock().ok()?;
        let entry = shard.get(hash)?;
        if entry.exp > now && keys.contains_fingerprint(entry.key) && !revoked(&entry.facts) {
            return Some(entry.user.clone());
        }
        shard.remove(hash);
        None
    }

    pub(crate) fn insert(
        &self,
        hash: TokenHash,
        user: U,
        exp: i64,
        key: u64,
        facts: TokenFacts,
        now: i64,
    ) {
        if exp <= now {
            return;
        }
        let Ok(mut shard) = self.shard(&hash).lock() else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(&hash) {
            shard.retain(|_, e| e.exp > now);
            if shard.len() >= self.per_shard {
                // Still full of live entries: drop an eighth of them, chosen by the
                // map's random iteration order, so the scan is paid once per many inserts.
                let victims: Vec<TokenHash> = shard
                    .keys()
                    .take((self.per_shard / 8).max(1))
                    .copied()
                    .collect();
                for victim in victims {
                    shard.remove(&victim);
                }
            }
        }
        shard.insert(
            hash,
            Entry {
                user,
                exp,
                key,
                facts,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.len()).unwrap_or(0))
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

    fn facts() -> TokenFacts {
        TokenFacts {
            sub: "alice".into(),
            sid: None,
            iat: None,
        }
    }

    #[test]
    fn hit_expiry_and_key_removal() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(100).unwrap();
        let h = hash_token("a.b.c");
        cache.insert(h, "alice", 200, fp, facts(), 100);
        assert_eq!(cache.get(&h, 150, &keys, |_| false), Some("alice"));
        assert_eq!(cache.get(&h, 200, &keys, |_| false), None, "expired at exp");
        cache.insert(h, "alice", 200, fp ^ 1, facts(), 100);
        assert_eq!(
            cache.get(&h, 150, &keys, |_| false),
            None,
            "key no longer in the set"
        );
        assert_eq!(cache.len(), 0);
        cache.insert(h, "alice", 200, fp, facts(), 100);
        assert_eq!(cache.get(&h, 150, &keys, |_| true), None, "revoked");
        assert_eq!(cache.len(), 0, "and forgotten");
    }

    #[test]
    fn bounded() {
        let keys = keys();
        let fp = keys.fingerprints().next().unwrap();
        let cache = TokenCache::new(32).unwrap();
        for i in 0..1000 {
            cache.insert(hash_token(&i.to_string()), i, 1000 + i, fp, facts(), 0);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        // The newest entry is there.
        assert_eq!(
            cache.get(&hash_token("999"), 1, &keys, |_| false),
            Some(999)
        );
    }
}
