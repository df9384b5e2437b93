//! The load script: bounded in requests and time, loopback only.
//!
//! Three scenarios against the same running service, one after the other, each with
//! the same request count and concurrency:
//!
//! - `public`: `GET /healthz` (no authentication: the HTTP floor of this machine),
//! - `repeated`: `GET /api/me` with one token (a browser's cookie: the token cache),
//! - `unique`: `GET /api/me` with a different token each time (full verification).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authgate_testkit::TestIssuer;

const CONCURRENCY: usize = 32;
const TIME_LIMIT: Duration = Duration::from_secs(120);

struct Outcome {
    name: &'static str,
    requests: usize,
    elapsed: Duration,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

async fn scenario(
    name: &'static str,
    url: String,
    tokens: Arc<Vec<String>>,
    requests: usize,
) -> Result<Outcome, String> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + TIME_LIMIT;
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next, tokens, url) =
            (client.clone(), next.clone(), tokens.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests || Instant::now() > deadline {
                    return Ok(done);
                }
                let mut request = client.get(&url);
                if !tokens.is_empty() {
                    request = request.bearer_auth(&tokens[i % tokens.len()]);
                }
                let status = request
                    .send()
                    .await
                    .map_err(|e| format!("{name}: {e}"))?
                    .status();
                if !status.is_success() {
                    return Err(format!("{name}: request {i} answered {status}"));
                }
                done += 1;
            }
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.map_err(|e| e.to_string())??;
    }
    Ok(Outcome {
        name,
        requests: total,
        elapsed: start.elapsed(),
    })
}

/// Runs the three scenarios against `base` and prints the figures.
pub(crate) async fn run(
    issuer: &TestIssuer,
    base: &str,
    requests: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let unique_count = requests.min(20_000);
    println!("load: minting {unique_count} tokens...");
    let hour = Duration::from_secs(3600);
    let unique: Vec<String> = (0..unique_count)
        .map(|i| issuer.token().sub(&format!("load-{i}")).exp_in(hour).sign())
        .collect();
    let repeated = vec![issuer.token().sub("load-repeated").exp_in(hour).sign()];
    println!("load: {requests} requests per scenario, {CONCURRENCY} concurrent, over loopback");
    let me = format!("{base}/api/me");
    // Warm up connections and allocators so the first scenario is not penalised.
    scenario(
        "warm-up",
        format!("{base}/healthz"),
        Arc::new(Vec::new()),
        requests.min(5_000),
    )
    .await?;
    let outcomes = [
        scenario(
            "public /healthz",
            format!("{base}/healthz"),
            Arc::new(Vec::new()),
            requests,
        )
        .await?,
        scenario("repeated token", me.clone(), Arc::new(repeated), requests).await?,
        scenario("unique tokens", me, Arc::new(unique), requests).await?,
    ];
    let floor = outcomes[0].per_second();
    println!();
    println!(
        "{:<18} {:>10} {:>10} {:>14}",
        "scenario", "requests", "req/s", "vs public"
    );
    for outcome in &outcomes {
        println!(
            "{:<18} {:>10} {:>10.0} {:>13.2}x",
            outcome.name,
            outcome.requests,
            outcome.per_second(),
            outcome.per_second() / floor
        );
    }
    if requests > unique_count {
        println!(
            "(unique tokens cycle through {unique_count} tokens: after the first \
             {unique_count} requests they are cache hits)"
        );
    }
    Ok(())
}
