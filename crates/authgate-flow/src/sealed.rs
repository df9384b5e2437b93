//! Typed, sealed, single-use entries in a [`Store`]: the one place where an exchange
//! code is written to the store and taken back. (Login states live in a sealed cookie
//! instead, so an unauthenticated request stores nothing.)
//!
//! [`SealedStore::put`] serializes a value, seals it for the holder of its secret and
//! stores it under a key derived from that secret; [`SealedStore::take`] removes it
//! and opens it. The store never sees the secret nor the value in clear (see
//! [`crate::crypto`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::{open, seal, store_key};
use crate::error::FlowError;
use crate::store::Store;

/// What an entry is for. Each kind has its own store keys and sealing keys: a secret
/// of one kind never finds nor opens an entry of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An exchange code, kept between `/callback` and `/exchange`.
    Exchange,
    /// The answer to a refresh, kept for a few seconds under the refresh token it
    /// spent, so that a second tab refreshing with the same token gets it too.
    RefreshGrace,
    /// A login state whose callback succeeded, kept until the state would have
    /// expired, so that a replayed callback is refused. Written only after the
    /// provider accepted the code: an unauthenticated request stores nothing.
    UsedState,
    /// The `jti` of a back-channel logout token already acted on.
    LogoutJti,
}

impl Kind {
    /// The purpose that store keys and sealing keys are derived for. Part of every
    /// key: changing it orphans the entries already stored.
    fn label(self) -> &'static str {
        match self {
            Self::Exchange => "exchange",
            Self::RefreshGrace => "refresh-grace",
            Self::UsedState => "used-state",
            Self::LogoutJti => "logout-jti",
        }
    }

    /// The error when a value of this kind cannot be serialized.
    fn encode_error(self) -> FlowError {
        FlowError::Internal {
            reason: match self {
                Self::Exchange => "the exchange entry could not be encoded",
                Self::RefreshGrace => "the refreshed tokens could not be encoded",
                Self::UsedState => "the used-state marker could not be encoded",
                Self::LogoutJti => "the logout token marker could not be encoded",
            },
        }
    }
}

/// A [`Store`] of sealed, typed entries; cheap to clone.
#[derive(Clone)]
pub(crate) struct SealedStore {
    store: Arc<dyn Store>,
}

impl fmt::Debug for SealedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The store is all there is to show.
        fmt::Debug::fmt(&self.store, f)
    }
}

impl SealedStore {
    /// Seals entries into `store`.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store itself, for publishing and subscribing.
    pub(crate) fn raw(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serializes `value`, seals it for `secret` and stores it for `ttl`, replacing
    /// any entry of the same kind and secret.
    ///
    /// # Errors
    ///
    /// [`FlowError::Internal`] when `value` cannot be serialized,
    /// [`FlowError::Random`] when no nonce can be drawn, [`FlowError::Store`] when the
    /// store fails.
    pub(crate) async fn put<T: Serialize>(
        &self,
        kind: Kind,
        secret: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), FlowError> {
        let plain = serde_json::to_vec(value).map_err(|_| kind.encode_error())?;
        let label = kind.label();
        self.store
            .put(&store_key(label, secret), seal(label, secret, &plain)?, ttl)
            .await?;
        Ok(())
    }

    /// Reads the entry of `secret` without using it up, and opens it. `None` when there
    /// is none, it does not open or decode, or the store does not support reads.
    ///
    /// # Errors
    ///
    /// [`FlowError::Store`] when the store fails.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        kind: Kind,
        secret: &str,
    ) -> Result<Option<T>, FlowError> {
        let label = kind.label();
        let sealed = match self.store.get(&store_key(label, secret)).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) | Err(crate::store::StoreError::Unsupported { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        Ok(open(label, secret, sealed).and_then(|plain| serde_json::from_slice(&plain).ok()))
    }

    /// Takes the entry of `secret` out of the store and opens it. `None` when there is
    /// none (never stored, expired, already taken) or it does not open or decode as a
    /// `T`; either way it cannot be taken again.
    ///
    /// # Errors
    ///
    /// [`FlowError::Store`] when the store fails.
    pub(crate) async fn take<T: DeserializeOwned>(
        &self,
        kind: Kind,
        secret: &str,
    ) -> Result<Option<T>, FlowError> {
        let label = kind.label();
        let Some(sealed) = self.store.take(&store_key(label, secret)).await? else {
            return Ok(None);
        };
        Ok(open(label, secret, sealed).and_then(|plain| serde_json::from_slice(&plain).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::random_token;
    use crate::store::{MemoryStore, StoreError};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Entry {
        token: String,
        exp: i64,
    }

    const TTL: Duration = Duration::from_secs(60);

    fn entry() -> Entry {
        Entry {
            token: String::from("the-access-token"),
            exp: 1_700_000_000,
        }
    }

    fn stores() -> (Arc<MemoryStore>, SealedStore) {
        let memory = Arc::new(MemoryStore::new());
        (memory.clone(), SealedStore::new(memory))
    }

    #[tokio::test]
    async fn round_trip_and_nothing_in_clear() {
        let (memory, sealed) = stores();
        let secret = random_token().unwrap();
        sealed
            .put(Kind::Exchange, &secret, &entry(), TTL)
            .await
            .unwrap();
        // One entry, under neither the secret nor anything of the value.
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.take(&secret).await.unwrap(), None);
        let raw = memory
            .take(&store_key("exchange", &secret))
            .await
            .unwrap()
            .unwrap();
        assert!(!raw.windows(16).any(|w| w == b"the-access-token"));
        memory
            .put(&store_key("exchange", &secret), raw, TTL)
            .await
            .unwrap();
        let back: Option<Entry> = sealed.take(Kind::Exchange, &secret).await.unwrap();
        assert_eq!(back, Some(entry()));
    }

    #[tokio::test]
    async fn take_is_single_use() {
        let (memory, sealed) = stores();
        let secret = random_token().unwrap();
        sealed
            .put(Kind::RefreshGrace, &secret, &entry(), TTL)
            .await
            .unwrap();
        let first: Option<Entry> = sealed.take(Kind::RefreshGrace, &secret).await.unwrap();
        assert_eq!(first, Some(entry()));
        let second: Option<Entry> = sealed.take(Kind::RefreshGrace, &secret).await.unwrap();
        assert_eq!(second, None);
        assert!(memory.is_empty());
    }

    #[tokio::test]
    async fn get_reads_without_using_up() {
        let (memory, sealed) = stores();
        let secret = random_token().unwrap();
        sealed
            .put(Kind::RefreshGrace, &secret, &entry(), TTL)
            .await
            .unwrap();
        for _ in 0..2 {
            let read: Option<Entry> = sealed.get(Kind::RefreshGrace, &secret).await.unwrap();
            assert_eq!(read, Some(entry()));
        }
        assert_eq!(memory.len(), 1);
        let other: Option<Entry> = sealed.get(Kind::Exchange, &secret).await.unwrap();
        assert_eq!(other, None);
    }

    #[tokio::test]
    async fn another_secret_or_kind_finds_nothing() {
        let (memory, sealed) = stores();
        let secret = random_token().unwrap();
        sealed
            .put(Kind::Exchange, &secret, &entry(), TTL)
            .await
            .unwrap();
        let other: Option<Entry> = sealed
            .take(Kind::Exchange, &random_token().unwrap())
            .await
            .unwrap();
        assert_eq!(other, None);
        let other_kind: Option<Entry> = sealed.take(Kind::RefreshGrace, &secret).await.unwrap();
        assert_eq!(other_kind, None);
        // Neither look-up used the entry up.
        assert_eq!(memory.len(), 1);
    }

    #[tokio::test]
    async fn wrong_secret_fails_to_open() {
        // An entry moved under another secret's key (a tampered store) does not open
        // with that secret, and is used up by the attempt.
        let (memory, sealed) = stores();
        let (secret, wrong) = (random_token().unwrap(), random_token().unwrap());
        sealed
            .put(Kind::Exchange, &secret, &entry(), TTL)
            .await
            .unwrap();
        let raw = memory
            .take(&store_key("exchange", &secret))
            .await
            .unwrap()
            .unwrap();
        memory
            .put(&store_key("exchange", &wrong), raw, TTL)
            .await
            .unwrap();
        let opened: Option<Entry> = sealed.take(Kind::Exchange, &wrong).await.unwrap();
        assert_eq!(opened, None);
        assert!(memory.is_empty());
    }

    #[tokio::test]
    async fn an_entry_of_another_shape_does_not_decode() {
        let (_, sealed) = stores();
        let secret = random_token().unwrap();
        sealed
            .put(Kind::RefreshGrace, &secret, &"just a string", TTL)
            .await
            .unwrap();
        let decoded: Option<Entry> = sealed.take(Kind::RefreshGrace, &secret).await.unwrap();
        assert_eq!(decoded, None);
    }

    #[tokio::test]
    async fn store_failures_are_flow_errors() {
        let sealed = SealedStore::new(Arc::new(MemoryStore::with_capacity(1)));
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        sealed
            .put(Kind::RefreshGrace, &a, &entry(), TTL)
            .await
            .unwrap();
        match sealed.put(Kind::RefreshGrace, &b, &entry(), TTL).await {
            Err(FlowError::Store(StoreError::Full { capacity: 1 })) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn kinds_keep_their_labels_and_messages() {
        // The labels are part of every stored key: they must not change.
        assert_eq!(Kind::RefreshGrace.label(), "refresh-grace");
        assert_eq!(Kind::Exchange.label(), "exchange");
        assert!(matches!(
            Kind::RefreshGrace.encode_error(),
            FlowError::Internal {
                reason: "the refreshed tokens could not be encoded"
            }
        ));
        assert!(matches!(
            Kind::Exchange.encode_error(),
            FlowError::Internal {
                reason: "the exchange entry could not be encoded"
            }
        ));
    }
}
