//! The `authenticate` span, seen by a real `tracing` subscriber (one written here that
//! keeps every span, field and event it is given), and the metrics, recorded into a
//! real Prometheus recorder (feature `metrics`): what they say for accepted, refused,
//! anonymous, cached and refetched requests, and that no token, nor any part of one,
//! ever reaches them.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use authgate::{AuthConfig, AuthConfigBuilder, AuthLayer, AuthOptions};
use authgate_testkit::TestIssuer;
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span as the subscriber saw it.
#[derive(Debug, Clone, Default)]
struct SpanSeen {
    name: &'static str,
    fields: BTreeMap<&'static str, String>,
}

/// One event, with the span it happened in.
#[derive(Debug, Clone)]
struct EventSeen {
    parent: Option<u64>,
    fields: BTreeMap<&'static str, String>,
}

#[derive(Debug, Default)]
struct Seen {
    spans: Vec<SpanSeen>,
    events: Vec<EventSeen>,
    /// The spans entered on this (the test's only) thread, innermost last.
    stack: Vec<u64>,
}

/// A subscriber that keeps everything, at every level.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Seen>>);

struct Fields<'a>(&'a mut BTreeMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut seen = self.0.lock().unwrap();
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        seen.spans.push(SpanSeen {
            name: span.metadata().name(),
            fields,
        });
        Id::from_u64(seen.spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut seen = self.0.lock().unwrap();
        let index = span.into_u64() as usize - 1;
        values.record(&mut Fields(&mut seen.spans[index].fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut seen = self.0.lock().unwrap();
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let parent = seen.stack.last().copied();
        seen.events.push(EventSeen { parent, fields });
    }

    fn enter(&self, span: &Id) {
        self.0.lock().unwrap().stack.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut seen = self.0.lock().unwrap();
        if let Some(at) = seen.stack.iter().rposition(|id| *id == span.into_u64()) {
            seen.stack.remove(at);
        }
    }
}

impl Capture {
    /// The `authenticate` spans, in order, with their ids.
    fn authentications(&self) -> Vec<(u64, BTreeMap<&'static str, String>)> {
        let seen = self.0.lock().unwrap();
        seen.spans
            .iter()
            .enumerate()
            .filter(|(_, span)| span.name == "authenticate")
            .map(|(i, span)| (i as u64 + 1, span.fields.clone()))
            .collect()
    }

    fn events_in(&self, span: u64) -> Vec<BTreeMap<&'static str, String>> {
        let seen = self.0.lock().unwrap();
        seen.events
            .iter()
            .filter(|event| event.parent == Some(span))
            .map(|event| event.fields.clone())
            .collect()
    }

    /// Everything captured, as text.
    fn text(&self) -> String {
        format!("{:?}", self.0.lock().unwrap())
    }
}

type Echo = tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

fn config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .token_query_param("access_token")
}

async fn service(options: AuthOptions) -> Echo {
    options.authenticator().refresh_keys().await.unwrap();
    Echo::new(
        ServiceBuilder::new()
            .layer(AuthLayer::new(options))
            .service(service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            })),
    )
}

async fn status(svc: &Echo, request: Request<String>) -> StatusCode {
    svc.clone().oneshot(request).await.unwrap().status()
}

fn bearer(token: &str) -> Request<String> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap()
}

fn fields(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// No token, nor any of its three parts, appears in `text`.
fn assert_no_token(text: &str, tokens: &[&str]) {
    for token in tokens {
        for part in token.split('.') {
            assert!(!text.contains(part), "a token part was captured: {part}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_span_per_authentication_with_outcome_source_cache_and_sub() {
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let issuer = TestIssuer::start().await.unwrap();
    let required = service(AuthOptions::new(config(&issuer).build().unwrap())).await;
    let optional = service(AuthOptions::new(config(&issuer).build().unwrap()).optional()).await;
    let alice = issuer.token().sub("alice").sign();
    let expired = issuer.token().sub("old").expired().sign();

    // A token is cached the second time it is verified: the third request is a hit.
    for _ in 0..3 {
        assert_eq!(status(&required, bearer(&alice)).await, StatusCode::OK);
    }
    assert_eq!(
        status(&required, bearer(&expired)).await,
        StatusCode::UNAUTHORIZED
    );
    let anonymous = || Request::get("/").body(String::new()).unwrap();
    assert_eq!(
        status(&required, anonymous()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status(&optional, anonymous()).await, StatusCode::OK);
    let query = Request::get(format!("/ws?access_token={alice}"))
        .body(String::new())
        .unwrap();
    assert_eq!(status(&required, query).await, StatusCode::OK);

    let spans = capture.authentications();
    let fields_of: Vec<_> = spans.iter().map(|(_, fields)| fields.clone()).collect();
    let ok = |cached| {
        fields(&[
            ("outcome", "ok"),
            ("source", "bearer"),
            ("cached", cached),
            ("sub", "alice"),
        ])
    };
    assert_eq!(
        fields_of,
        [
            ok("false"),
            ok("false"),
            ok("true"),
            fields(&[
                ("outcome", "token_expired"),
                ("source", "bearer"),
                ("cached", "false")
            ]),
            fields(&[("outcome", "missing_token")]),
            fields(&[("outcome", "anonymous")]),
            fields(&[
                ("outcome", "ok"),
                ("source", "query"),
                ("cached", "true"),
                ("sub", "alice")
            ]),
        ]
    );
    // The refusal is logged inside its span, with its code and reason.
    let refusals = capture.events_in(spans[3].0);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["code"], "token_expired");
    assert_eq!(refusals[0]["message"], "authentication refused");
    assert_no_token(&capture.text(), &[&alice, &expired]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_refetch_for_an_unknown_key_happens_inside_the_span() {
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(AuthOptions::new(config(&issuer).build().unwrap())).await;
    issuer.add_ec_key("rotated").unwrap();
    let rotated = issuer.token().sub("bob").key("rotated").sign();
    assert_eq!(status(&svc, bearer(&rotated)).await, StatusCode::OK);
    let never = issuer.token().sub("eve").kid("never-published").sign();
    assert_eq!(status(&svc, bearer(&never)).await, StatusCode::UNAUTHORIZED);

    let spans = capture.authentications();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        spans[0].1,
        fields(&[
            ("outcome", "ok"),
            ("source", "bearer"),
            ("cached", "false"),
            ("sub", "bob")
        ])
    );
    let events: Vec<String> = capture
        .events_in(spans[0].0)
        .into_iter()
        .map(|fields| fields["message"].clone())
        .collect();
    assert!(
        events.iter().any(|m| m.contains("refetching the JWK set")),
        "{events:?}"
    );
    assert_eq!(spans[1].1["outcome"], "unknown_key");
    assert_no_token(&capture.text(), &[&rotated, &never]);
}

#[cfg(feature = "metrics")]
mod recorded {
    //! The metrics, through a Prometheus recorder installed for one test's thread
    //! (`metrics::with_local_recorder`), scraped as Prometheus text.

    use std::time::Duration;

    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    use super::*;

    /// The value of the sample `series` (`name{labels}`), 0 when absent.
    fn sample(handle: &PrometheusHandle, series: &str) -> f64 {
        authgate_test_support::prometheus_sample(&handle.render(), series).unwrap_or(0.0)
    }

    #[test]
    fn outcomes_cache_lookups_key_fetches_and_verification_time_are_counted() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tokens = ::metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let issuer = TestIssuer::start().await.unwrap();
                let config = config(&issuer)
                    .unknown_kid_rate_limit(1, Duration::from_secs(3600))
                    .build()
                    .unwrap();
                let svc = service(AuthOptions::new(config)).await;
                let alice = issuer.token().sub("alice").sign();
                for _ in 0..3 {
                    assert_eq!(status(&svc, bearer(&alice)).await, StatusCode::OK);
                }
                let expired = issuer.token().expired().sign();
                assert_eq!(
                    status(&svc, bearer(&expired)).await,
                    StatusCode::UNAUTHORIZED
                );
                let anonymous = Request::get("/").body(String::new()).unwrap();
                assert_eq!(status(&svc, anonymous).await, StatusCode::UNAUTHORIZED);
                // Two unknown keys: one refetch, then the rate limit.
                for kid in ["gone-1", "gone-2"] {
                    let token = issuer.token().kid(kid).sign();
                    assert_eq!(status(&svc, bearer(&token)).await, StatusCode::UNAUTHORIZED);
                }
                // The provider down: a failed fetch.
                issuer.set_outage(true);
                let auth = authgate::Authenticator::new(config_for_outage(&issuer));
                assert!(auth.refresh_keys().await.is_err());
                vec![alice, expired]
            })
        });
        // Each metric has moved by exactly what happened (the recorder is this test's).
        let count = |series: &str| sample(&handle, series);
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
            count(r#"authgate_authentications_total{outcome="unknown_key"}"#),
            2.0
        );
        assert_eq!(
            count(r#"authgate_token_cache_lookups_total{result="hit"}"#),
            1.0
        );
        // alice twice, expired, and the two unknown keys.
        assert_eq!(
            count(r#"authgate_token_cache_lookups_total{result="miss"}"#),
            5.0
        );
        assert_eq!(
            count(r#"authgate_key_fetches_total{result="rate_limited"}"#),
            1.0
        );
        // The explicit refresh (and maybe the background task's first try).
        assert!(count(r#"authgate_key_fetches_total{result="status"}"#) >= 1.0);
        // The first load (and maybe the background task's), and the unknown-kid refetch.
        assert!(count(r#"authgate_key_fetches_total{result="ok"}"#) >= 2.0);
        // Every cache miss was a verification against the keys, and so was the check
        // of the first unknown key after its refetch.
        assert_eq!(count("authgate_verification_seconds_count"), 6.0);
        assert!(count("authgate_verification_seconds_sum") > 0.0);
        assert_no_token(
            &handle.render(),
            &tokens.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }

    fn config_for_outage(issuer: &TestIssuer) -> authgate::AuthConfig {
        config(issuer)
            .startup_backoff(Duration::from_secs(3600), Duration::from_secs(3600))
            .build()
            .unwrap()
    }
}
