//! Memory stays bounded: `N` distinct tokens (ES256, minted as they are sent, so no
//! list of them is held anywhere) through a fresh layer server, each sent twice (the
//! cache stores a token the second time it is verified, so every one of them is
//! stored), and the server's resident set as they go.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use authgate_testkit::TestIssuer;

use crate::Server;
use crate::proc::rss_kib;

const CONCURRENCY: usize = 32;

/// Sends `count` distinct tokens to `server` and prints its resident set along the way.
pub(crate) async fn run(issuer: &TestIssuer, server: Server, count: usize) -> Result<(), String> {
    let pid = server.pid();
    let client = reqwest::Client::new();
    let (start_rss, _) = rss_kib(pid).map_err(|e| e.to_string())?;
    println!();
    println!(
        "resident set of a fresh layer server (default configuration) as {count} distinct \
         tokens arrive, each twice (so each is cached):"
    );
    println!("{:>10} {:>12} {:>12}", "tokens", "VmRSS MiB", "VmHWM MiB");
    println!("{:>10} {:>12.1} {:>12}", 0, start_rss as f64 / 1024.0, "");
    let issuer = Arc::new(issuer.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut checkpoints = vec![
        10_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
    ];
    checkpoints.retain(|c| *c < count);
    checkpoints.push(count);
    let mut sent = 0;
    for checkpoint in checkpoints {
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (client, next, issuer, url) = (
                client.clone(),
                next.clone(),
                issuer.clone(),
                format!("{}/api/me", server.url),
            );
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= checkpoint {
                        return Ok::<_, String>(());
                    }
                    let token = crate::token(&issuer, &format!("rss-{i}"))
                        .key(authgate_testkit::DEFAULT_EC_KID)
                        .sign();
                    for _ in 0..2 {
                        let status = client
                            .get(&url)
                            .bearer_auth(&token)
                            .send()
                            .await
                            .map_err(|e| e.to_string())?
                            .status();
                        if !status.is_success() {
                            return Err(format!("token {i}: {status}"));
                        }
                    }
                }
            }));
        }
        for worker in workers {
            worker.await.map_err(|e| e.to_string())??;
        }
        next.store(checkpoint, Ordering::Relaxed);
        sent = checkpoint;
        let (rss, peak) = rss_kib(pid).map_err(|e| e.to_string())?;
        println!(
            "{:>10} {:>12.1} {:>12.1}",
            sent,
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    println!(
        "({sent} tokens in {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    Ok(())
}
