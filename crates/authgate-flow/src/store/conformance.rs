//! The store conformance suite (feature `conformance`): what every [`Store`] must do,
//! as checks a store of your own can run.
//!
//! [`MemoryStore`](super::MemoryStore) and `RedisStore` run exactly this suite in
//! authgate's own tests. Each check is an async function that takes the store and
//! panics, with a message naming the broken rule, when the store breaks it:
//!
//! | check | rule |
//! |---|---|
//! | [`take_once`] | a value is taken once, then it is gone |
//! | [`missing_keys_are_none`] | a key never stored is `None`, not an error |
//! | [`put_replaces`] | a second `put` of a key replaces the first |
//! | [`ttl_expiry`] | a value is there before its time to live and never after |
//! | [`concurrent_takes_give_exactly_one`] | of 100 concurrent takes of one key, exactly one gets the value |
//! | [`binary_values_round_trip`] | any bytes come back unchanged |
//!
//! [`store_conformance!`](crate::store_conformance) expands to one `#[tokio::test]`
//! per check, so a new check added here runs for every store that uses the macro.
//!
//! # Requirements
//!
//! - The checks run on tokio: [`concurrent_takes_give_exactly_one`] spawns tasks and
//!   [`ttl_expiry`] sleeps 1.5 s (time to live of 1 s). The feature turns on the
//!   tokio features they need (`rt`, `time`, `sync`) in this crate's tokio only.
//! - The tests the macro writes are `#[tokio::test(flavor = "multi_thread",
//!   worker_threads = 4)]`: the crate that invokes it names tokio itself, with the
//!   features `macros` and `rt-multi-thread` (a dev-dependency is enough).
//! - Keys the checks use: `exchange:once`, `exchange:contended`, `state:never-stored`,
//!   `k`, `short-a`, `short-b`, `long`, `bin`. Give each test a fresh or empty store.
//!
//! # Running the suite for a store of your own
//!
//! In `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! authgate-flow = { version = "0.1", features = ["conformance"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! In `tests/my_store.rs`, one line runs the suite: the argument is an async
//! expression that makes a store and a guard the tests keep alive while they run
//! (`()` when there is nothing to keep; a server process for a networked store):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Mutex, PoisonError};
//! use std::time::{Duration, Instant};
//!
//! use authgate_flow::store::{Store, StoreFuture};
//!
//! /// A store of your own: a map behind a mutex.
//! #[derive(Debug, Default)]
//! struct MyStore(Mutex<HashMap<String, (Instant, Vec<u8>)>>);
//!
//! impl Store for MyStore {
//!     fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
//!         Box::pin(async move {
//!             let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!             map.insert(key.to_owned(), (Instant::now() + ttl, value));
//!             Ok(())
//!         })
//!     }
//!
//!     fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
//!         Box::pin(async move {
//!             let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//!             Ok(map
//!                 .remove(key)
//!                 .filter(|(expires, _)| Instant::now() < *expires)
//!                 .map(|(_, value)| value))
//!         })
//!     }
//! }
//!
//! // One #[tokio::test] per check: conformance_take_once, conformance_ttl_expiry, ...
//! authgate_flow::store_conformance!(async { (MyStore::default(), ()) });
//! # fn main() {}
//! ```
//!
//! The checks are plain async functions too, to run one by one or from a harness
//! of your own:
//!
//! ```
//! # use std::collections::HashMap;
//! # use std::sync::{Arc, Mutex, PoisonError};
//! # use std::time::{Duration, Instant};
//! # use authgate_flow::store::{Store, StoreFuture};
//! # #[derive(Debug, Default)]
//! # struct MyStore(Mutex<HashMap<String, (Instant, Vec<u8>)>>);
//! # impl Store for MyStore {
//! #     fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
//! #         Box::pin(async move {
//! #             let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//! #             map.insert(key.to_owned(), (Instant::now() + ttl, value));
//! #             Ok(())
//! #         })
//! #     }
//! #     fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
//! #         Box::pin(async move {
//! #             let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
//! #             Ok(map.remove(key).filter(|(e, _)| Instant::now() < *e).map(|(_, v)| v))
//! #         })
//! #     }
//! # }
//! use authgate_flow::store::conformance;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
//! # async fn main() {
//! // Any store is `Clone` behind an `Arc`, as the concurrent check needs.
//! let store = Arc::new(MyStore::default());
//! conformance::take_once(&store).await;
//! conformance::put_replaces(&store).await;
//! conformance::concurrent_takes_give_exactly_one(&store).await;
//! # }
//! ```

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use super::Store;

/// Unwraps a store call's result, or fails the check naming the call.
#[track_caller]
fn ok<T, E: Display>(result: Result<T, E>, call: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("store conformance: {call} failed: {err}"),
    }
}

/// A value is taken once: the first `take` returns it, the second returns `None`.
///
/// # Panics
///
/// When the store fails, loses the value, or returns it twice.
pub async fn take_once<S: Store + ?Sized>(store: &S) {
    let put = store
        .put("exchange:once", b"tokens".to_vec(), Duration::from_secs(60))
        .await;
    ok(put, "put(exchange:once)");
    assert_eq!(
        ok(store.take("exchange:once").await, "take(exchange:once)"),
        Some(b"tokens".to_vec()),
        "store conformance: a value put is taken"
    );
    assert_eq!(
        ok(
            store.take("exchange:once").await,
            "second take(exchange:once)"
        ),
        None,
        "store conformance: a value is taken once (taken twice: a state or exchange code could be replayed)"
    );
}

/// `get` reads a value without using it up, and never returns an expired one. A
/// store that answers [`StoreError::Unsupported`](super::StoreError::Unsupported)
/// passes: `get` is optional (without it the flow has no refresh grace window and no
/// replayed-callback check).
///
/// # Panics
///
/// When `get` fails otherwise, takes the value, or returns a missing or expired one.
pub async fn get_reads_without_taking<S: Store + ?Sized>(store: &S) {
    match store.get("grace:never-stored").await {
        Err(super::StoreError::Unsupported { .. }) => return,
        other => assert_eq!(
            ok(other, "get(grace:never-stored)"),
            None,
            "store conformance: get of a key never stored is None"
        ),
    }
    ok(
        store
            .put("grace:read", b"cookies".to_vec(), Duration::from_secs(60))
            .await,
        "put(grace:read)",
    );
    for _ in 0..2 {
        assert_eq!(
            ok(store.get("grace:read").await, "get(grace:read)"),
            Some(b"cookies".to_vec()),
            "store conformance: get returns the value and leaves it"
        );
    }
    assert_eq!(
        ok(store.take("grace:read").await, "take(grace:read)"),
        Some(b"cookies".to_vec()),
        "store conformance: a value read with get can still be taken"
    );
    ok(
        store
            .put("grace:short", b"x".to_vec(), Duration::from_millis(200))
            .await,
        "put(grace:short)",
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ok(store.get("grace:short").await, "get(grace:short)"),
        None,
        "store conformance: get never returns an expired value"
    );
}

/// Taking a key that was never stored is `None`, not an error.
///
/// # Panics
///
/// When the store fails or returns a value.
pub async fn missing_keys_are_none<S: Store + ?Sized>(store: &S) {
    assert_eq!(
        ok(
            store.take("state:never-stored").await,
            "take(state:never-stored)"
        ),
        None,
        "store conformance: a key never stored is None"
    );
}

/// A second `put` of a key replaces the first value; the key is then taken once.
///
/// # Panics
///
/// When the store fails, keeps the first value, or keeps both.
pub async fn put_replaces<S: Store + ?Sized>(store: &S) {
    ok(
        store
            .put("k", b"one".to_vec(), Duration::from_secs(60))
            .await,
        "put(k, one)",
    );
    ok(
        store
            .put("k", b"two".to_vec(), Duration::from_secs(60))
            .await,
        "put(k, two)",
    );
    assert_eq!(
        ok(store.take("k").await, "take(k)"),
        Some(b"two".to_vec()),
        "store conformance: a second put replaces the first value"
    );
    assert_eq!(
        ok(store.take("k").await, "second take(k)"),
        None,
        "store conformance: a replaced key is taken once"
    );
}

/// A value is there before its time to live and never after it, while a longer-lived
/// one stays. Sleeps 1.5 s.
///
/// # Panics
///
/// When the store fails, drops a value early, or returns an expired one.
pub async fn ttl_expiry<S: Store + ?Sized>(store: &S) {
    for (key, value, ttl) in [
        ("short-a", b"a", 1),
        ("short-b", b"b", 1),
        ("long", b"l", 60),
    ] {
        ok(
            store
                .put(key, value.to_vec(), Duration::from_secs(ttl))
                .await,
            &format!("put({key})"),
        );
    }
    assert_eq!(
        ok(store.take("short-a").await, "take(short-a)"),
        Some(b"a".to_vec()),
        "store conformance: a value is there before its time to live"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ok(store.take("short-b").await, "take(short-b)"),
        None,
        "store conformance: an expired value is never returned"
    );
    assert_eq!(
        ok(store.take("long").await, "take(long)"),
        Some(b"l".to_vec()),
        "store conformance: an unexpired value outlives a shorter one"
    );
}

/// Of 100 concurrent takes of one key, on as many tokio tasks, exactly one gets the
/// value. Needs a multi-threaded runtime to race for real; a store that is not
/// `Clone` runs it behind an `Arc`.
///
/// # Panics
///
/// When the store fails, no take gets the value, or more than one does.
pub async fn concurrent_takes_give_exactly_one<S: Store + Clone>(store: &S) {
    ok(
        store
            .put(
                "exchange:contended",
                b"tokens".to_vec(),
                Duration::from_secs(60),
            )
            .await,
        "put(exchange:contended)",
    );
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.take("exchange:contended").await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        let taken = match task.await {
            Ok(taken) => taken,
            Err(err) => panic!("store conformance: a concurrent take panicked: {err}"),
        };
        if let Some(value) = ok(taken, "concurrent take(exchange:contended)") {
            assert_eq!(
                value, b"tokens",
                "store conformance: the value taken is the value put"
            );
            winners += 1;
        }
    }
    assert_eq!(
        winners, 1,
        "store conformance: exactly one of 100 concurrent takes of one key gets the value"
    );
}

/// Any bytes (all 256 values) come back unchanged.
///
/// # Panics
///
/// When the store fails or changes the bytes.
pub async fn binary_values_round_trip<S: Store + ?Sized>(store: &S) {
    let value: Vec<u8> = (0..=255).collect();
    ok(
        store
            .put("bin", value.clone(), Duration::from_secs(60))
            .await,
        "put(bin)",
    );
    assert_eq!(
        ok(store.take("bin").await, "take(bin)"),
        Some(value),
        "store conformance: binary values round-trip unchanged"
    );
}

/// Expands to the store conformance suite: one `#[tokio::test]` per check of
/// [`store::conformance`](crate::store::conformance), named `conformance_<check>`.
///
/// The argument is an async expression (evaluated once per test, so each test gets
/// a fresh store) that yields `(store, guard)`: the store to check, and anything that
/// must live as long as the test (for Redis: the server; otherwise `()`). The store
/// is put behind an `Arc`, so it need not be `Clone`.
///
/// Invoke it once per module (the test names are fixed), in a crate that has tokio
/// with the `macros` and `rt-multi-thread` features. See the
/// [module docs](crate::store::conformance) for an example.
#[macro_export]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@test conformance_take_once, take_once, $make);
        $crate::store_conformance!(@test conformance_missing_keys_are_none, missing_keys_are_none, $make);
        $crate::store_conformance!(@test conformance_put_replaces, put_replaces, $make);
        $crate::store_conformance!(@test conformance_ttl_expiry, ttl_expiry, $make);
        $crate::store_conformance!(
            @test conformance_100_concurrent_takes_give_exactly_one,
            concurrent_takes_give_exactly_one,
            $make
        );
        $crate::store_conformance!(@test conformance_binary_values_round_trip, binary_values_round_trip, $make);
        $crate::store_conformance!(@test conformance_get_reads_without_taking, get_reads_without_taking, $make);
    };
    (@test $name:ident, $check:ident, $make:expr) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (store, _guard) = $make.await;
            let store = ::std::sync::Arc::new(store);
            $crate::store::conformance::$check(&store).await;
        }
    };
}
