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
