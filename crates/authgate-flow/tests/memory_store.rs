//! The store conformance suite against `MemoryStore`, and the flow's behaviour when
//! the store fails (through a switchable wrapper).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use authgate_flow::store::{MemoryStore, Store, StoreError, StoreFuture};
use common::FlowProvider;

authgate_flow::store_conformance!(async { (MemoryStore::new(), ()) });

/// A memory store that can be "down" (every call fails) and "restarted" (empty).
#[derive(Debug, Default)]
struct Switchable {
    inner: Mutex<MemoryStore>,
    down: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("switched off by the test")]
struct SwitchedOff;

impl Switchable {
    fn current(&self) -> Result<MemoryStore, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("switchable", SwitchedOff));
        }
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

impl Store for Switchable {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.current()?.put(key, value, ttl).await })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.current()?.take(key).await })
    }
}

struct Harness(Arc<Switchable>);

impl common::Outage for Harness {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }

    fn stop(&mut self) {
        self.0.down.store(true, Ordering::SeqCst);
    }

    fn restart(&mut self) {
        *self.0.inner.lock().unwrap_or_else(PoisonError::into_inner) = MemoryStore::new();
        self.0.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_gives_503_and_no_code_survives_a_restart() {
    common::outage_is_503_and_nothing_survives(Harness(Arc::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_stores_nothing_and_a_real_login_still_works() {
    // Every GET /login used to store a state for 10 minutes: about 170 requests per
    // second filled the memory store and locked every user out. Now the state lives in
    // a sealed cookie, and the store only sees completed logins.
    let provider = common::provider();
    let store = MemoryStore::with_capacity(4);
    let flow = authgate_flow::Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .store(store.clone())
    .build()
    .unwrap();
    let app = flow.router();
    let mut floods = Vec::new();
    for worker in 0..4 {
        let app = app.clone();
        floods.push(tokio::spawn(async move {
            let mut attacker = common::browser(app);
            for i in 0..5_000 {
                let login = attacker
                    .get(&format!("/auth/login?redirect=/w{worker}/{i}"))
                    .await;
                assert_eq!(login.status, 302, "{}", login.body);
            }
        }));
    }
    for flood in floods {
        flood.await.unwrap();
    }
    assert_eq!(store.len(), 0, "20 000 logins stored nothing");

    // A real user signs in through a store of four entries.
    let mut browser = common::browser(app.clone());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
}

#[tokio::test]
async fn a_full_memory_store_refuses_callbacks_with_503_never_logins() {
    let provider = common::provider();
    let flow = authgate_flow::Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .store(MemoryStore::with_capacity(2))
    .build()
    .unwrap();
    let mut browser = common::browser(flow.router());
    // One completed login holds two entries: its used state and its exchange code.
    common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let login = browser.get("/auth/login").await;
    assert_eq!(login.status, 302);
    let query = provider.callback_query(&login.location(), "alice");
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 503, "{}", callback.body);
    assert_eq!(callback.json()["error"], "store_unavailable");
}

#[tokio::test]
async fn expired_entries_are_swept_when_the_store_fills() {
    let store = MemoryStore::with_capacity(3);
    for key in ["a", "b", "c"] {
        store
            .put(key, vec![1], Duration::from_millis(50))
            .await
            .unwrap();
    }
    assert_eq!(store.len(), 3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Full of expired entries: the next put sweeps them and fits.
    store
        .put("d", vec![2], Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(store.take("d").await.unwrap(), Some(vec![2]));
}
