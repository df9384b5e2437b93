//! Tokens and sessions that were logged out before their tokens expired: a denylist in
//! this process's memory, checked on every request (cached tokens included) without a
//! round trip anywhere. The login flow fills it at logout and from back-channel
//! logouts, and spreads each entry to every instance through its store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The SHA-256 of a token: how the denylist (and the other instances) know it.
pub(crate) type TokenHash = [u8; 32];

/// The SHA-256 of `token`.
pub(crate) fn hash_token(token: &str) -> TokenHash {
    crate::crypto::sha256(&[token.as_bytes()])
}

/// One logout to honour until the tokens it covers have expired.
///
/// Serializable, so that a store can carry it to the other instances.
///
/// ```
/// use authgate::Revocation;
/// use std::time::Duration;
///
/// // One access token, until its `exp`:
/// let one = Revocation::token("eyJ...a.b", 1_900_000_000);
/// // Every token of a provider session, issued up to now, kept for a day:
/// let session = Revocation::session("5f2c...", 1_800_000_000, Duration::from_secs(86_400));
/// assert_ne!(one, session);
/// let wire = serde_json::to_string(&session).unwrap();
/// assert_eq!(serde_json::from_str::<Revocation>(&wire).unwrap(), session);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// One access token (by its SHA-256, never the token itself), until `until`.
    Token {
        /// The token's SHA-256, base64url.
        hash: String,
        /// Unix seconds: the token's `exp`.
        until: i64,
    },
    /// Every token carrying this `sid` (provider session) and issued at or before
    /// `at`, until `until`.
    Session {
        /// The session id.
        sid: String,
        /// The session's user, when known: it also covers that user's tokens that name
        /// no session at all (some providers leave `sid` out of access tokens).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sub: Option<String>,
        /// Unix seconds: tokens issued later are not covered.
        at: i64,
        /// Unix seconds: when the entry is dropped.
        until: i64,
    },
    /// Every token of this `sub` issued at or before `at`, until `until`.
    Subject {
        /// The subject.
        sub: String,
        /// Unix seconds: tokens issued later are not covered.
        at: i64,
        /// Unix seconds: when the entry is dropped.
        until: i64,
    },
}

impl Revocation {
    /// Revokes one access token until its `exp` (Unix seconds).
    #[must_use]
    pub fn token(token: &str, exp: i64) -> Self {
        Self::Token {
            hash: URL_SAFE_NO_PAD.encode(hash_token(token)),
            until: exp,
        }
    }

    /// Revokes every token of provider session `sid` issued at or before `at`, for
    /// `keep` after `at` (make it at least the longest access-token lifetime).
    #[must_use]
    pub fn session(sid: impl Into<String>, at: i64, keep: Duration) -> Self {
        Self::Session {
            sid: sid.into(),
            sub: None,
            at,
            until: at.saturating_add(secs(keep)),
        }
    }

    /// The same session revocation, naming its user: that user's tokens without a
    /// `sid` are covered too. Other revocations are returned unchanged.
    #[must_use]
    pub fn with_subject(self, subject: impl Into<String>) -> Self {
        match self {
            Self::Session { sid, at, until, .. } => Self::Session {
                sid,
                sub: Some(subject.into()),
                at,
                until,
            },
            other => other,
        }
    }

    /// Revokes every token of `sub` issued at or before `at`, for `keep` after `at`.
    #[must_use]
    pub fn subject(sub: impl Into<String>, at: i64, keep: Duration) -> Self {
        Self::Subject {
            sub: sub.into(),
            at,
            until: at.saturating_add(secs(keep)),
        }
    }

    /// Unix seconds after which the entry no longer matters.
    #[must_use]
    pub fn until(&self) -> i64 {
        match self {
            Self::Token { until, .. }
            | Self::Session { until, .. }
            | Self::Subject { until, .. } => *until,
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// What a revocation is checked against: facts of a verified token, kept with it in the
/// token cache.
#[derive(Debug, Clone)]
pub(crate) struct TokenFacts {
    pub(crate) sub: Box<str>,
    pub(crate) sid: Option<Box<str>>,
    pub(crate) iat: Option<i64>,
}

impl TokenFacts {
    /// The facts of verified `claims`.
    pub(crate) fn of(claims: &crate::Claims) -> Self {
        Self {
            sub: claims.sub().into(),
            sid: claims.str("sid").map(Into::into),
            iat: claims.get("iat").and_then(serde_json::Value::as_i64),
        }
    }
}

#[derive(Debug, Default)]
struct Entries {
    tokens: HashMap<TokenHash, i64>,
    /// sid → (at, until)
    sessions: HashMap<Box<str>, (i64, i64)>,
    /// sub → (at, until)
    subjects: HashMap<Box<str>, (i64, i64)>,
    /// sub → (at, until) of ended sessions, for that user's tokens without a `sid`.
    session_subjects: HashMap<Box<str>, (i64, i64)>,
    /// How many entries there were after the last sweep.
    swept_len: usize,
}

impl Entries {
    fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.subjects.len() + self.session_subjects.len()
    }

    fn sweep(&mut self, now: i64) {
        self.tokens.retain(|_, until| *until > now);
        self.sessions.retain(|_, (_, until)| *until > now);
        self.subjects.retain(|_, (_, until)| *until > now);
        self.session_subjects.retain(|_, (_, until)| *until > now);
        self.swept_len = self.len();
    }
}

/// The denylist of one authenticator (shared by the authenticators made from it with
/// `with_shared_keys` and `id_tokens`).
#[derive(Debug, Default)]
pub(crate) struct Revocations {
    entries: RwLock<Entries>,
    /// The number of entries, read without the lock: zero costs one atomic load.
    len: AtomicUsize,
}

impl Revocations {
    /// Adds `revocation` (merging with an entry for the same token, session or
    /// subject: the later `at` and `until` win). Expired entries are swept out as the
    /// list grows.
    pub(crate) fn add(&self, revocation: &Revocation, now: i64) {
        if revocation.until() <= now {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= (entries.swept_len * 2).max(1024) {
            entries.sweep(now);
        }
        let merge = |old: Option<&(i64, i64)>, at: i64, until: i64| match old {
            Some(&(a, u)) => (a.max(at), u.max(until)),
            None => (at, until),
        };
        match revocation {
            Revocation::Token { hash, until } => {
                let Some(hash) = decode_hash(hash) else {
                    return;
                };
                let slot = entries.tokens.entry(hash).or_insert(*until);
                *slot = (*slot).max(*until);
            }
            Revocation::Session {
                sid,
                sub,
                at,
                until,
            } => {
                let value = merge(entries.sessions.get(sid.as_str()), *at, *until);
                entries.sessions.insert(sid.as_str().into(), value);
                if let Some(sub) = sub {
                    let value = merge(entries.session_subjects.get(sub.as_str()), *at, *until);
                    entries.session_subjects.insert(sub.as_str().into(), value);
                }
            }
            Revocation::Subject { sub, at, until } => {
                let value = merge(entries.subjects.get(sub.as_str()), *at, *until);
                entries.subjects.insert(sub.as_str().into(), value);
            }
        }
        self.len.store(entries.len(), Ordering::Release);
    }

    /// Whether the token with SHA-256 `hash` (computed only if a token entry must be
    /// looked up) and `facts` is revoked at `now`.
    #[inline]
    pub(crate) fn is_revoked(
        &self,
        hash: impl FnOnce() -> TokenHash,
        facts: &TokenFacts,
        now: i64,
    ) -> bool {
        if self.len.load(Ordering::Acquire) == 0 {
            return false;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let covers =
            |&(at, until): &(i64, i64)| until > now && facts.iat.is_none_or(|iat| iat <= at);
        let session = match facts.sid.as_deref() {
            Some(sid) => entries.sessions.get(sid),
            None => entries.session_subjects.get(&*facts.sub),
        };
        (!entries.tokens.is_empty()
            && entries
                .tokens
                .get(&hash())
                .is_some_and(|until| *until > now))
            || session.is_some_and(covers)
            || entries.subjects.get(&*facts.sub).is_some_and(covers)
    }

    /// How many entries the list holds (expired ones included until swept).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }
}

fn decode_hash(text: &str) -> Option<TokenHash> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sub: &str, sid: Option<&str>, iat: Option<i64>) -> TokenFacts {
        TokenFacts {
            sub: sub.into(),
            sid: sid.map(Into::into),
            iat,
        }
    }

    #[test]
    fn each_kind_covers_what_it_says_until_it_expires() {
        let list = Revocations::default();
        let token = hash_token("a.b.c");
        let alice = facts("alice", Some("s1"), Some(100));
        assert!(!list.is_revoked(|| token, &alice, 150));

        list.add(&Revocation::token("a.b.c", 200), 150);
        assert!(list.is_revoked(|| token, &alice, 150));
        assert!(!list.is_revoked(|| token, &alice, 200), "past its exp");
        assert!(!list.is_revoked(|| hash_token("other"), &alice, 150));

        let list = Revocations::default();
        list.add(
            &Revocation::session("s1", 120, Duration::from_secs(60)),
            130,
        );
        assert!(list.is_revoked(|| token, &alice, 130));
        assert!(
            !list.is_revoked(|| token, &facts("alice", Some("s1"), Some(121)), 130),
            "issued after the logout"
        );
        assert!(!list.is_revoked(|| token, &facts("alice", Some("s2"), Some(100)), 130));
        assert!(list.is_revoked(|| token, &facts("alice", Some("s1"), None), 130));
        assert!(!list.is_revoked(|| token, &alice, 180), "kept 60 s");
        assert!(
            !list.is_revoked(|| token, &facts("alice", None, Some(100)), 130),
            "a token without sid is not covered by an anonymous session revocation"
        );
        list.add(
            &Revocation::session("s1", 120, Duration::from_secs(60)).with_subject("alice"),
            130,
        );
        assert!(list.is_revoked(|| token, &facts("alice", None, Some(100)), 130));
        assert!(!list.is_revoked(|| token, &facts("bob", None, Some(100)), 130));
        assert!(!list.is_revoked(|| token, &facts("alice", Some("s2"), Some(100)), 130));

        let list = Revocations::default();
        list.add(
            &Revocation::subject("alice", 120, Duration::from_secs(60)),
            130,
        );
        assert!(list.is_revoked(|| token, &facts("alice", None, Some(120)), 130));
        assert!(!list.is_revoked(|| token, &facts("bob", None, Some(100)), 130));
        assert_eq!(list.len(), 1);
        // No token entry: the token's hash is not even computed.
        let unneeded = || -> TokenHash { panic!("no token entry to look up") };
        assert!(list.is_revoked(unneeded, &facts("alice", None, Some(120)), 130));
    }

    #[test]
    fn expired_entries_are_ignored_and_swept() {
        let list = Revocations::default();
        list.add(&Revocation::token("x", 10), 20);
        assert_eq!(list.len(), 0, "already expired: not added");
        for i in 0..3000 {
            list.add(&Revocation::token(&i.to_string(), 100 + i), 100);
        }
        // Later additions sweep those that expired meanwhile.
        for i in 0..3000 {
            list.add(&Revocation::token(&format!("late-{i}"), 10_000), 5_000);
        }
        assert!(list.len() < 6000, "{}", list.len());
        assert!(list.is_revoked(|| hash_token("late-7"), &facts("a", None, None), 5_000));
    }

    #[test]
    fn a_malformed_hash_is_ignored() {
        let list = Revocations::default();
        list.add(
            &Revocation::Token {
                hash: "not base64 !".into(),
                until: i64::MAX,
            },
            0,
        );
        assert_eq!(list.len(), 0);
    }
}
