//! The cost of authenticating a request, side by side with the floor.
//!
//! - `floor`: `jsonwebtoken::decode` with a known key and the same checks (iss, aud,
//!   exp) — what any verifier must at least pay.
//! - `layer_unique`: the tower layer with a different token on every request (cache
//!   misses: header parse, key lookup, signature, claims, mapping, cache insert).
//! - `layer_repeated`: the tower layer with the same token on every request (a browser
//!   sending its cookie): served from the verified-token cache.
//! - `layer_repeated_token_2_threads`: the same, from two threads at once (one per
//!   core of the reference machine), each with its own clone of the service, as a
//!   multi-threaded server runs it: the time of one call while the other thread calls
//!   too. Equal to `layer_repeated` when the threads share nothing they write to.
//!
//! The group `verify_rs256_two_issuers` runs the layer over two issuers
//! (`Authenticator::from_issuers`), the tokens being the second's, the worst case:
//! `repeated` asks the first issuer's cache before its own, `unique` also reads the
//! payload's `iss` to choose the issuer. The single-issuer figures above are the ones
//! a layer without several issuers pays.
//!
//! Run with `cargo bench -p authgate --bench verify`; BENCHMARKS.md records the ratios.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use authgate::{AuthConfig, AuthLayer, Authenticator, User};
use authgate_testkit::TestIssuer;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use tower::{Layer, Service, service_fn};

/// Polls a future that must complete without waiting (the layer's fast path).
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fast path never waits"),
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = runtime.block_on(TestIssuer::start()).unwrap();
    // A pool far larger than the cache, so "unique" tokens never hit it.
    let pool: Vec<String> = (0..4096)
        .map(|i| {
            issuer
                .token()
                .sub(&format!("user-{i}"))
                .groups(["staff"])
                .sign()
        })
        .collect();
    let repeated = pool[0].clone();

    let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .token_cache_capacity(512)
        .build()
        .unwrap();
    let layer = AuthLayer::new(config);
    runtime
        .block_on(layer.authenticator().refresh_keys())
        .unwrap();
    let mut service = layer.layer(service_fn(|req: Request<()>| async move {
        let user = req.extensions().get::<Arc<User>>().map(|u| u.sub.clone());
        Ok::<_, Infallible>(Response::new(user.unwrap_or_default()))
    }));

    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(issuer.public_jwk("rsa-1").unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[issuer.issuer()]);
    validation.set_audience(&[issuer.client_id()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

    let mut group = c.benchmark_group("verify_rs256");
    let mut i = 0usize;
    group.bench_function("floor_jsonwebtoken_decode", |b| {
        b.iter(|| {
            i = (i + 1) % pool.len();
            black_box(
                jsonwebtoken::decode::<serde_json::Value>(&pool[i], &key, &validation).unwrap(),
            )
        })
    });
    group.bench_function("layer_unique_tokens", |b| {
        b.iter(|| {
            i = (i + 1) % pool.len();
            black_box(call(&mut service, &pool[i]))
        })
    });
    group.bench_function("layer_repeated_token", |b| {
        b.iter(|| black_box(call(&mut service, &repeated)))
    });
    group.bench_function("layer_repeated_token_2_threads", |b| {
        b.iter_custom(|iters| contended(&service, &repeated, iters, 2))
    });
    group.finish();

    let first = runtime
        .block_on(TestIssuer::builder().slug("first").start())
        .unwrap();
    let config_of = |issuer: &TestIssuer| {
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .token_cache_capacity(512)
            .build()
            .unwrap()
    };
    let two = Authenticator::from_issuers([
        Authenticator::new(config_of(&first)),
        Authenticator::new(config_of(&issuer)),
    ])
    .unwrap();
    runtime.block_on(two.refresh_keys()).unwrap();
    let mut two = AuthLayer::new(two).layer(service_fn(|req: Request<()>| async move {
        let user = req.extensions().get::<Arc<User>>().map(|u| u.sub.clone());
        Ok::<_, Infallible>(Response::new(user.unwrap_or_default()))
    }));
    let mut group = c.benchmark_group("verify_rs256_two_issuers");
    group.bench_function("layer_unique_tokens_of_the_second", |b| {
        b.iter(|| {
            i = (i + 1) % pool.len();
            black_box(call(&mut two, &pool[i]))
        })
    });
    group.bench_function("layer_repeated_token_of_the_second", |b| {
        b.iter(|| black_box(call(&mut two, &repeated)))
    });
    group.finish();
}

/// `threads` threads each make `iters` calls with `token` at the same time; the wall
/// time they take, so that criterion reports the time of one call under contention.
fn contended<S>(service: &S, token: &str, iters: u64, threads: usize) -> Duration
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible> + Clone + Send,
{
    let start = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let mut service = service.clone();
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    for _ in 0..iters {
                        black_box(call(&mut service, token));
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for worker in workers {
            worker.join().expect("bench thread");
        }
        began.elapsed()
    })
}

fn call<S>(service: &mut S, token: &str) -> Response<String>
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible>,
{
    let request = Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let response = now(service.call(request)).unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), 200);
    response
}

criterion_group!(benches, bench);
criterion_main!(benches);
