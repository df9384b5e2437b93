//! The store conformance suite against `RedisStore` on a `redis-server` of the test's
//! own, and the flow's behaviour when that Redis goes down or restarts mid-flow.
//!
//! These tests FAIL (they never skip) when `redis-server` is not installed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use authgate_flow::store::{RedisStore, Store, StoreError};
use common::redis_server::RedisServer;

async fn redis() -> (RedisStore, RedisServer) {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url())
        .await
        .expect("connect to the test redis");
    (store, server)
}

authgate_flow::store_conformance!(redis());

struct Harness {
    server: RedisServer,
    store: Arc<RedisStore>,
}

impl common::Outage for Harness {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn stop(&mut self) {
        self.server.stop();
    }

    fn restart(&mut self) {
        self.server.restart();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_or_restarted_mid_flow_gives_503_and_no_code_survives() {
    let (store, server) = redis().await;
    common::outage_is_503_and_nothing_survives(Harness {
        server,
        store: Arc::new(store),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_calls_fail_fast_while_redis_is_down_and_recover_after() {
    let (store, mut server) = redis().await;
    store
        .put("k", b"v".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    server.stop();
    let started = std::time::Instant::now();
    let err = store.take("k").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                backend: "redis",
                ..
            } | StoreError::Timeout { .. }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let err = store
        .put("k2", b"v".to_vec(), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redis"), "{err}");
    server.restart();
    // The restarted server is empty, and the store reconnects by itself.
    let mut recovered = None;
    for _ in 0..50 {
        match store.take("k").await {
            Ok(value) => {
                recovered = Some(value);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(
        recovered,
        Some(None),
        "the code must not survive the restart"
    );
    store
        .put("k3", b"v".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.take("k3").await.unwrap(), Some(b"v".to_vec()));
}

#[tokio::test]
async fn connecting_to_a_redis_that_is_not_there_is_a_clear_error() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let err = RedisStore::connect(&url).await.unwrap_err();
    assert!(err.to_string().contains("redis"), "{err}");
    let err = RedisStore::connect("not a url").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn keys_carry_the_prefix_and_expire_on_the_server() {
    let server = RedisServer::start();
    let store = RedisStore::builder(server.url())
        .key_prefix("test:")
        .connect()
        .await
        .unwrap();
    assert_eq!(store.key_prefix(), "test:");
    store
        .put("exchange:x", b"v".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    // Look at the server directly: the key is prefixed and has a TTL of 60 s.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("test:exchange:x")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((55..=60).contains(&ttl), "{ttl}");
}

/// Two instances of a service (each its own authenticator, flow and Redis connection)
/// behind one load balancer, sharing one Redis.
async fn two_instances(
    provider: &authgate_testkit::TestIssuer,
    url: &str,
) -> (authgate_flow::Flow, authgate_flow::Flow) {
    use common::FlowProvider;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(url).await.unwrap();
        instances.push(
            authgate_flow::Flow::builder(
                provider.authenticator(),
                provider.flow_config().build().unwrap(),
            )
            .store(store)
            .build()
            .unwrap(),
        );
    }
    let second = instances.pop().unwrap();
    (instances.pop().unwrap(), second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_session_on_the_other_within_a_second() {
    let server = RedisServer::start();
    let provider = common::provider();
    let (first, second) = two_instances(&provider, &server.url()).await;

    // Signed in through the first instance; the cookie works on both.
    let mut browser = common::browser(first.router());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    let access = browser.cookie("app_auth").unwrap();
    let mut on_second = common::browser(second.router());
    on_second.set_cookie("app_auth", &access, "/");
    assert_eq!(on_second.get("/auth/session").await.status, 200);

    // Logout on the first instance.
    let logout = browser.post("/auth/logout").await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_eq!(
        provider.requests(authgate_testkit::Endpoint::Revocation),
        1,
        "the refresh token was revoked at the provider (RFC 7009)"
    );
    let logged_out = std::time::Instant::now();

    // The old cookie, replayed: refused by the first instance at once…
    let mut replay = common::browser(first.router());
    replay.set_cookie("app_auth", &access, "/");
    let refused = replay.get("/auth/session").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "token_revoked");

    // …and by the second within a second, without a Redis call per request.
    loop {
        let session = on_second.get("/auth/session").await;
        if session.status == 401 {
            assert_eq!(session.json()["error"], "token_revoked");
            break;
        }
        assert!(
            logged_out.elapsed() < Duration::from_secs(1),
            "the second instance still accepts the logged-out cookie"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A third instance started later catches up from the stream.
    let (late, _) = two_instances(&provider, &server.url()).await;
    let mut on_late = common::browser(late.router());
    on_late.set_cookie("app_auth", &access, "/");
    let started = std::time::Instant::now();
    while on_late.get("/auth/session").await.status != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the late instance never caught up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_sealed_by_another_key_are_ignored() {
    // Whoever can write to Redis but lacks the flow's key cannot revoke anybody.
    let server = RedisServer::start();
    let provider = common::provider();
    let (first, _) = two_instances(&provider, &server.url()).await;
    let intruder = RedisStore::connect(&server.url()).await.unwrap();
    let forged = serde_json::to_vec(&authgate::Revocation::subject(
        "alice",
        authgate_testkit::now() + 60,
        Duration::from_secs(3600),
    ))
    .unwrap();
    intruder.publish(&forged).await.unwrap();
    let mut browser = common::browser(first.router());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(browser.get("/auth/session").await.status, 200);
    assert_eq!(first.authenticator().revocation_count(), 0);
}
