//! Shared by this crate's integration tests: a test OpenID provider, a
//! `redis-server` harness, a log capture, and the flow's behaviour through a store
//! outage. The store conformance suite is public (`authgate_flow::store::conformance`,
//! feature `conformance`); the browser comes from `authgate-test-support`.
//!
//! Each test binary uses a part of it.
#![allow(dead_code, unreachable_pub)]

pub mod logs;
pub mod provider;
pub mod redis_server;

use std::sync::Arc;

use authgate_flow::Flow;
use authgate_flow::store::Store;
use authgate_test_support::Browser;

use provider::Provider;

/// A browser on `app` (the flow's router) that sends the frontend's `Origin` on
/// `POST`s, as the frontend's pages do.
pub fn browser(app: axum::Router) -> Browser {
    Browser::in_process(app).with_origin(provider::FRONTEND)
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
    let mut browser = browser(flow.router());

    // Down at /login: a page for the browser, with Retry-After.
    harness.stop();
    let login = browser.get_page("/auth/login").await;
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
