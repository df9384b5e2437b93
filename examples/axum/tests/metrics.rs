//! `GET /metrics` scraped over loopback after accepted and refused requests to the
//! API: the Prometheus text has authgate's metrics, with the counts those requests
//! made. One test in this binary: the recorder is the process's.

mod common;

use authgate_test_support::prometheus_sample as sample;
use authgate_testkit::TestIssuer;

#[tokio::test]
async fn the_metrics_route_shows_what_the_requests_did() {
    let handle = example_axum::prometheus().expect("the recorder installs");
    let metrics = common::serve(example_axum::metrics_router(handle)).await;
    let issuer = TestIssuer::start().await.unwrap();
    let api = common::start(&issuer, &[]).await;
    let client = reqwest::Client::new();

    let alice = issuer.token().sub("alice").sign();
    let expired = issuer.token().expired().sign();
    let me = |token: Option<&str>| {
        let request = client.get(format!("http://{api}/api/me"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    for _ in 0..3 {
        assert_eq!(
            me(Some(&alice)).send().await.unwrap().status().as_u16(),
            200
        );
    }
    assert_eq!(
        me(Some(&expired)).send().await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(me(None).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(
        me(Some("a.b.c")).send().await.unwrap().status().as_u16(),
        401
    );

    let scrape = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status().as_u16(), 200);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = scrape.text().await.unwrap();
    let count =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in:\n{text}"));
    assert_eq!(
        count(r#"authgate_authentications_total{outcome="ok"}"#),
        3.0
    );
    assert_eq!(
        count(r#"authgate_authentications_total{outcome="token_expired"}"#),
        1.0
    );
    assert_eq!(
        count(r#"authgate_authentications_total{outcome="missing_token"}"#),
        1.0
    );
    assert_eq!(
        count(r#"authgate_authentications_total{outcome="malformed_token"}"#),
        1.0
    );
    // alice is verified twice (a token is cached the second time), then served from
    // the cache; the expired token and the garbage are misses too.
    assert_eq!(
        count(r#"authgate_token_cache_lookups_total{result="hit"}"#),
        1.0
    );
    assert_eq!(
        count(r#"authgate_token_cache_lookups_total{result="miss"}"#),
        4.0
    );
    assert!(count(r#"authgate_key_fetches_total{result="ok"}"#) >= 1.0);
    // A Prometheus histogram, with its help text from `describe_metrics`.
    assert_eq!(count("authgate_verification_seconds_count"), 4.0);
    assert_eq!(
        count(r#"authgate_verification_seconds_bucket{le="+Inf"}"#),
        4.0
    );
    assert!(
        text.contains("# TYPE authgate_verification_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# HELP authgate_authentications_total "),
        "{text}"
    );
    for token in [&alice, &expired] {
        for part in token.split('.') {
            assert!(!text.contains(part), "a token part in the scrape");
        }
    }
}
