//! The store conformance suite catches broken stores: each check fails, naming its
//! rule, against a store that breaks that rule. (That correct stores pass it is shown
//! by `memory_store.rs` and `redis_store.rs`, which run the whole suite.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use authgate_flow::store::conformance;
use authgate_flow::store::{Store, StoreError, StoreFuture};

/// The one rule a [`Broken`] store breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `take` returns the value but leaves it there.
    TakeKeeps,
    /// `take` reads, waits, then removes: concurrent takes all get the value.
    TakeNotAtomic,
    /// `put` of a key already there keeps the old value.
    PutKeepsFirst,
    /// Values never expire.
    NeverExpires,
    /// Taking a key never stored is an error.
    MissingIsError,
    /// Values are stored as (lossy) UTF-8 text.
    TextOnly,
}

/// A map store that breaks one rule.
#[derive(Debug)]
struct Broken {
    fault: Fault,
    map: Mutex<HashMap<String, (Instant, Vec<u8>)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("no such key")]
struct NoSuchKey;

impl Broken {
    fn new(fault: Fault) -> Arc<Self> {
        Arc::new(Self {
            fault,
            map: Mutex::default(),
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<u8>)>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self, key: &str) -> Option<Vec<u8>> {
        self.map()
            .get(key)
            .filter(|(expires, _)| self.fault == Fault::NeverExpires || Instant::now() < *expires)
            .map(|(_, value)| value.clone())
    }
}

impl Store for Broken {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let value = match self.fault {
                Fault::TextOnly => String::from_utf8_lossy(&value).into_owned().into_bytes(),
                _ => value,
            };
            let mut map = self.map();
            if self.fault != Fault::PutKeepsFirst || !map.contains_key(key) {
                map.insert(key.to_owned(), (Instant::now() + ttl, value));
            }
            Ok(())
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let value = self.live(key);
            match self.fault {
                Fault::TakeKeeps => return Ok(value),
                Fault::MissingIsError if value.is_none() => {
                    return Err(StoreError::unavailable("broken", NoSuchKey));
                }
                Fault::TakeNotAtomic => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => {}
            }
            self.map().remove(key);
            Ok(value)
        })
    }
}

#[tokio::test]
#[should_panic(expected = "a value is taken once")]
async fn take_once_catches_a_take_that_leaves_the_value() {
    conformance::take_once(&Broken::new(Fault::TakeKeeps)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one of 100 concurrent takes of one key gets the value")]
async fn concurrent_takes_catch_a_take_that_is_not_atomic() {
    conformance::concurrent_takes_give_exactly_one(&Broken::new(Fault::TakeNotAtomic)).await;
}

#[tokio::test]
#[should_panic(expected = "a second put replaces the first value")]
async fn put_replaces_catches_a_put_that_keeps_the_first_value() {
    conformance::put_replaces(&Broken::new(Fault::PutKeepsFirst)).await;
}

#[tokio::test]
#[should_panic(expected = "an expired value is never returned")]
async fn ttl_expiry_catches_a_store_that_never_expires() {
    conformance::ttl_expiry(&Broken::new(Fault::NeverExpires)).await;
}

#[tokio::test]
#[should_panic(expected = "take(state:never-stored) failed")]
async fn missing_keys_catch_a_store_that_errs_on_them() {
    conformance::missing_keys_are_none(&Broken::new(Fault::MissingIsError)).await;
}

#[tokio::test]
#[should_panic(expected = "binary values round-trip unchanged")]
async fn binary_values_catch_a_text_only_store() {
    conformance::binary_values_round_trip(&Broken::new(Fault::TextOnly)).await;
}

#[tokio::test]
async fn a_store_breaking_one_rule_passes_the_other_checks() {
    // Each check is about its own rule only: a store whose take is not single use
    // still passes the checks that do not take a key twice.
    let store = Broken::new(Fault::TakeKeeps);
    conformance::missing_keys_are_none(&store).await;
    conformance::binary_values_round_trip(&store).await;
}
