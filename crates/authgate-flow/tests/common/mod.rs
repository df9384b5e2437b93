//! Shared by the integration tests: the store conformance suite (run against every
//! store, tower-sessions style), a test OpenID provider, a cookie-keeping browser,
//! a `redis-server` harness and a log capture.
//!
//! Each test binary uses a part of it.
#![allow(dead_code, unreachable_pub)]

pub mod browser;
pub mod logs;
pub mod provider;
pub mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use authgate_flow::Flow;
use authgate_flow::store::Store;

use browser::Browser;
use provider::Provider;

/// Expands to the store conformance tests for the store made by `$make`, an async
/// expression yielding `(store, guard)`; the guard lives as long as the test (for
/// Redis: the server).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_take_once() {
            let (store, _guard) = $make.await;
            common::take_once(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_missing_keys_are_none() {
            let (store, _guard) = $make.await;
            common::missing_keys_are_none(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_put_replaces() {
            let (store, _guard) = $make.await;
            common::put_replaces(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_ttl_expiry() {
            let (store, _guard) = $make.await;
            common::ttl_expiry(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_100_concurrent_takes_give_exactly_one() {
            let (store, _guard) = $make.await;
            common::concurrent_takes_give_exactly_one(store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn conformance_binary_values_round_trip() {
            let (store, _guard) = $make.await;
            common::binary_values_round_trip(&store).await;
        }
    };
}

pub async fn take_once<S: Store>(store: &S) {
    store
        .put("exchange:once", b"tokens".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.take("exchange:once").await.unwrap(),
        Some(b"tokens".to_vec())
    );
    assert_eq!(
        store.take("exchange:once").await.unwrap(),
        None,
        "taken twice"
    );
}

pub async fn missing_keys_are_none<S: Store>(store: &S) {
    assert_eq!(store.take("state:never-stored").await.unwrap(), None);
}

pub async fn put_replaces<S: Store>(store: &S) {
    store
        .put("k", b"one".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    store
        .put("k", b"two".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.take("k").await.unwrap(), Some(b"two".to_vec()));
    assert_eq!(store.take("k").await.unwrap(), None);
}

pub async fn ttl_expiry<S: Store>(store: &S) {
    store
        .put("short-a", b"a".to_vec(), Duration::from_secs(1))
        .await
        .unwrap();
    store
        .put("short-b", b"b".to_vec(), Duration::from_secs(1))
        .await
        .unwrap();
    store
        .put("long", b"l".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    // Alive before its TTL...
    assert_eq!(store.take("short-a").await.unwrap(), Some(b"a".to_vec()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // ...never returned after it.
    assert_eq!(
        store.take("short-b").await.unwrap(),
        None,
        "expired value returned"
    );
    assert_eq!(store.take("long").await.unwrap(), Some(b"l".to_vec()));
}

pub async fn concurrent_takes_give_exactly_one<S: Store + Clone>(store: S) {
    store
        .put(
            "exchange:contended",
            b"tokens".to_vec(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.take("exchange:contended").await.unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if let Some(value) = task.await.unwrap() {
            assert_eq!(value, b"tokens");
            winners += 1;
        }
    }
    assert_eq!(
        winners, 1,
        "exactly one of 100 concurrent takes must succeed"
    );
}

pub async fn binary_values_round_trip<S: Store>(store: &S) {
    let value: Vec<u8> = (0..=255).collect();
    store
        .put("bin", value.clone(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.take("bin").await.unwrap(), Some(value));
}

/// A store backend a test can take down and bring back (empty, as a restarted Redis
/// without persistence).
pub trait Outage {
    fn store(&self) -> Arc<dyn Store>;
    fn stop(&mut self);
    fn restart(&mut self);
}

fn flow_with(provider: &Provider, store: Arc<dyn Store>) -> Flow {
    Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .shared_store(store)
    .build()
    .unwrap()
}

/// Logs in up to the frontend callback; returns the exchange code.
pub async fn login_to_exchange_code(
    browser: &mut Browser,
    provider: &Provider,
    sub: &str,
) -> String {
    let login = browser.get("/auth/login?redirect=/orders").await;
    assert_eq!(login.status, 302, "{}", login.body);
    let query = provider.authorize(&login.location(), sub);
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 302, "{}", callback.body);
    let location = url::Url::parse(&callback.location()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "exchange")
        .map(|(_, v)| v.into_owned())
        .expect("exchange code in the frontend callback URL")
}

/// A store that is down, or restarted mid-flow, answers 503 (never a panic), and no
/// state or exchange code is usable after the restart.
pub async fn outage_is_503_and_nothing_survives<H: Outage>(mut harness: H) {
    let provider = Provider::start();
    let flow = flow_with(&provider, harness.store());
    let mut browser = Browser::new(flow.router());

    // Down at /login: a page for the browser, with Retry-After.
    harness.stop();
    let login = browser
        .send(
            http::Method::GET,
            "/auth/login",
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(login.status, 503, "{}", login.body);
    assert!(
        login.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(login.body.contains("store_unavailable"), "{}", login.body);
    assert!(login.headers.contains_key("retry-after"));
    harness.restart();

    // Down at /callback, then restarted: the state died with the store.
    let login = browser.get("/auth/login").await;
    assert_eq!(login.status, 302, "{}", login.body);
    let query = provider.authorize(&login.location(), "alice");
    harness.stop();
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 503, "{}", callback.body);
    assert_eq!(callback.json()["error"], "store_unavailable");
    harness.restart();
    let again = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.json()["error"], "invalid_state");

    // Down at /exchange, then restarted: the code died with the store.
    let code = login_to_exchange_code(&mut browser, &provider, "alice").await;
    harness.stop();
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 503, "{}", exchange.body);
    assert_eq!(exchange.json()["error"], "store_unavailable");
    assert!(exchange.set_cookies().is_empty());
    harness.restart();
    let again = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.json()["error"], "invalid_exchange_code");

    // Up again: a whole login works, and its code is single use.
    let code = login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    let replay = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(replay.status, 400, "{}", replay.body);
}
