//! Where login states and exchange codes live between two requests.
//!
//! A [`Store`] needs two operations: put a value with a time to live, and take a value
//! atomically (of any number of concurrent takes of one key, at most one gets it).
//! That is all the flow asks, so that a state or an exchange code can be used once.
//!
//! - [`MemoryStore`] (the default): one process, bounded, expired entries are never
//!   returned and are swept as new ones arrive.
//! - `RedisStore` (feature `redis`): several instances behind a load balancer, with
//!   `SET … EX` and `GETDEL`.
//!
//! Both pass the same conformance suite, which a store of your own can run too:
//! `store::conformance` and `store_conformance!` (feature `conformance`).
//!
//! The flow never hands a store a secret in clear: keys are hashes of the state or
//! code, values are sealed with a key only the holder of the code can derive.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), authgate_flow::store::StoreError> {
//! use authgate_flow::store::{MemoryStore, Store};
//! use std::time::Duration;
//!
//! let store = MemoryStore::new();
//! store.put("exchange:abc", b"value".to_vec(), Duration::from_secs(60)).await?;
//! assert_eq!(store.take("exchange:abc").await?, Some(b"value".to_vec()));
//! assert_eq!(store.take("exchange:abc").await?, None); // taken once
//! # Ok(())
//! # }
//! ```
//!
//! A store of your own implements the trait with boxed futures, so the flow can hold
//! any store as `Arc<dyn Store>`:
//!
//! ```
//! use authgate_flow::store::{Store, StoreError, StoreFuture};
//! use std::{collections::HashMap, sync::Mutex, time::Duration};
//!
//! /// Never expires anything: fine for a test, not for production.
//! #[derive(Debug, Default)]
//! struct Forever(Mutex<HashMap<String, Vec<u8>>>);
//!
//! impl Store for Forever {
//!     fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, _ttl: Duration) -> StoreFuture<'a, ()> {
//!         Box::pin(async move {
//!             self.0.lock().unwrap().insert(key.to_owned(), value);
//!             Ok(())
//!         })
//!     }
//!
//!     fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
//!         Box::pin(async move { Ok(self.0.lock().unwrap().remove(key)) })
//!     }
//! }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::{DEFAULT_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisStore, RedisStoreBuilder};

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Short-lived, single-use storage for login states and exchange codes.
///
/// See the [module docs](self).
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Stores `value` under `key` for `ttl`, replacing any value there.
    ///
    /// After `ttl` the value must never be returned again.
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()>;

    /// Removes the value under `key` and returns it, if it is there and unexpired.
    ///
    /// Atomic: of any number of concurrent calls for one key, at most one gets the
    /// value.
    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Returns the value under `key`, if it is there and unexpired, leaving it there.
    ///
    /// Used for the refresh grace window (two tabs refreshing the same token at once
    /// both get the new tokens), the replayed-callback check and the back-channel
    /// logout `jti` check. The provided implementation answers
    /// [`StoreError::Unsupported`]; the flow then does without those three.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let _ = key;
        Box::pin(async { Err(StoreError::Unsupported { operation: "get" }) })
    }

    /// Sends `message` (a logout to honour) to every instance sharing this store,
    /// this one included, through [`subscribe`](Self::subscribe).
    ///
    /// The provided implementation does nothing: a store of one process has no other
    /// instance to tell (the flow applies every logout to its own authenticator first).
    fn publish<'a>(&'a self, message: &'a [u8]) -> StoreFuture<'a, ()> {
        let _ = message;
        Box::pin(async { Ok(()) })
    }

    /// Hands every message [`publish`](Self::publish)ed by any instance (and those
    /// still kept from before, so an instance that starts late catches up) to
    /// `deliver`, until the future is dropped. It must reconnect after a failure and
    /// resume where it stopped. The provided implementation returns at once.
    fn subscribe<'a>(&'a self, deliver: Deliver) -> StoreFuture<'a, ()> {
        let _ = deliver;
        Box::pin(async { Ok(()) })
    }
}

/// What [`Store::subscribe`] hands each message to.
pub type Deliver = Box<dyn Fn(&[u8]) + Send + Sync>;

impl<S: Store + ?Sized> Store for Arc<S> {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        (**self).put(key, value, ttl)
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        (**self).take(key)
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        (**self).get(key)
    }

    fn publish<'a>(&'a self, message: &'a [u8]) -> StoreFuture<'a, ()> {
        (**self).publish(message)
    }

    fn subscribe<'a>(&'a self, deliver: Deliver) -> StoreFuture<'a, ()> {
        (**self).subscribe(deliver)
    }
}

impl<S: Store + ?Sized> Store for Box<S> {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        (**self).put(key, value, ttl)
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        (**self).take(key)
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        (**self).get(key)
    }

    fn publish<'a>(&'a self, message: &'a [u8]) -> StoreFuture<'a, ()> {
        (**self).publish(message)
    }

    fn subscribe<'a>(&'a self, deliver: Deliver) -> StoreFuture<'a, ()> {
        (**self).subscribe(deliver)
    }
}

/// A store could not do what was asked. The flow answers `503 Service Unavailable`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store's backend could not be reached or failed (Redis down, restarting,
    /// refusing the command).
    #[error("the {backend} store is unavailable")]
    Unavailable {
        /// Which store (`redis`, …).
        backend: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The backend did not answer in time.
    #[error("the {backend} store did not answer within {timeout:?}")]
    Timeout {
        /// Which store.
        backend: &'static str,
        /// The limit that passed.
        timeout: Duration,
    },
    /// A bounded store is full of live entries.
    #[error("the store is full ({capacity} live entries)")]
    Full {
        /// Its capacity.
        capacity: usize,
    },
    /// The store does not implement this operation (an optional one, such as
    /// [`Store::get`]).
    #[error("the store does not support {operation}")]
    Unsupported {
        /// The operation.
        operation: &'static str,
    },
}

impl StoreError {
    /// An [`Unavailable`](Self::Unavailable) error from a backend's error, for stores
    /// written outside this crate.
    pub fn unavailable(
        backend: &'static str,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            backend,
            source: Box::new(source),
        }
    }
}
