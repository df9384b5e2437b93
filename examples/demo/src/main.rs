//! The demo: `cargo run -p demo`.
//!
//! Starts, all on loopback, an embedded OpenID issuer (the testkit: discovery, JWKS,
//! sign-in page, token, end-session, and a stand-in for Authentik's webauthn API with
//! the users ada, sam and uma), the API (the axum example protected by authgate, with
//! the login flow under `/auth`) and a small plain-HTML/JS frontend on its own origin,
//! then prints the frontend's URL to open, and `curl` lines with freshly minted tokens
//! for an admin, a support user and a plain user, each with the answer it should get.
//! `PORT` (default 3000) and `FRONTEND_PORT` (default 5173) choose the ports.
//!
//! `cargo run -p demo -- --self-test` sends those requests itself, then drives the
//! browser journey over HTTP (login at the issuer, exchange from the frontend's origin,
//! `/api/me`, role-guarded calls, items, refresh, logout), prints each result and exits
//! non-zero on any mismatch.
//!
//! `cargo run --release -p demo -- --load [REQUESTS]` is the load script: it drives the
//! same service over loopback HTTP with a public route, one repeated token and unique
//! tokens, side by side, and prints throughput and ratios (see `BENCHMARKS.md`).
//!
//! With `AUTHENTIK_URL` (and `AUTHENTIK_APP_SLUG`, `AUTHENTIK_CLIENT_ID`) set, the
//! service is protected by that real Authentik instead; bring your own tokens then.
//!
//! The binary's own modules (`checks`, `journey`, `browser`, `report`, `load`) sit next
//! to the library's (`lib.rs`, `frontend.rs`) in `src/`.

use std::process::ExitCode;

use demo::{DEMO_USERS, Demo, DemoOptions};
use example_contract::ServiceConfig;

mod browser;
mod checks;
mod journey;
mod load;
mod report;

const USAGE: &str = "usage: cargo run -p demo [-- --self-test | --load [REQUESTS]]";

/// What the demo was asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serve and print curl lines until Ctrl-C.
    Serve,
    /// Send the curl lines' requests and check the answers.
    SelfTest,
    /// The load script: this many requests per scenario, side by side.
    Load(usize),
}

fn parse_args(args: &[String]) -> Result<Mode, String> {
    match args {
        [] => Ok(Mode::Serve),
        [flag] if flag == "--self-test" => Ok(Mode::SelfTest),
        [flag] if flag == "--load" => Ok(Mode::Load(5_000)),
        [flag, n] if flag == "--load" => match n.parse::<usize>() {
            Ok(n) if (1..=10_000_000).contains(&n) => Ok(Mode::Load(n)),
            _ => Err(format!(
                "--load takes a request count from 1 to 10000000, not {n:?}"
            )),
        },
        other => Err(format!("unknown argument(s) {other:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match parse_args(&args) {
        Ok(mode) => mode,
        Err(err) => {
            eprintln!("demo: {err}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("AUTHENTIK_URL").is_some() {
        return real_authentik(mode).await;
    }
    match embedded(mode).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("demo: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `PORT` and `FRONTEND_PORT`, with the demo's defaults.
fn ports_from_env() -> Result<DemoOptions, String> {
    let port = |name: &str, default: u16| match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("{name} must be a port number (0-65535), not {value:?}")),
        _ => Ok(default),
    };
    Ok(DemoOptions {
        api_port: port("PORT", 3000)?,
        frontend_port: port("FRONTEND_PORT", 5173)?,
    })
}

async fn embedded(mode: Mode) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let options = match mode {
        Mode::Serve => ports_from_env()?,
        // Checks and load runs take any free ports, so they run beside a served demo.
        Mode::SelfTest | Mode::Load(_) => DemoOptions::default(),
    };
    let demo = Demo::start(options).await?;
    if let Mode::Load(requests) = mode {
        load::run(
            demo.issuer(),
            &format!("http://{}", demo.api_addr()),
            requests,
        )
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let tokens = checks::Tokens::mint(demo.issuer());
    println!("authgate demo");
    println!(
        "  frontend {}  <- open this in a browser",
        demo.frontend_url()
    );
    println!(
        "  API      {} (examples/axum protected by authgate, login flow under /auth)",
        demo.api_url()
    );
    println!(
        "  issuer   {} (embedded test issuer)",
        demo.issuer().issuer()
    );
    let users: Vec<String> = DEMO_USERS
        .iter()
        .map(|u| format!("{} ({})", u.sub, u.role))
        .collect();
    println!("  users    {}", users.join(", "));
    println!();
    if mode == Mode::SelfTest {
        let mut report = report::Report::default();
        checks::run(&demo, &tokens, &mut report).await?;
        println!();
        if let Err(err) = journey::run(&demo, &mut report).await {
            report.fail(&format!("journey: a request failed: {err}"));
        }
        println!();
        println!("{} passed, {} failed", report.passed(), report.failed());
        return Ok(if report.failed() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    println!(
        "Open {} and click \"Log in\": the issuer's page lists ada (admin), sam (support)",
        demo.frontend_url()
    );
    println!("and uma (user). Back on the frontend, \"My account\" shows /api/me, calls the admin");
    println!("and support routes, adds items, refreshes the session and logs out.");
    println!();
    checks::print(&demo, &tokens);
    println!();
    println!("Ctrl-C stops the demo.");
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

async fn real_authentik(mode: Mode) -> ExitCode {
    if mode != Mode::Serve {
        eprintln!(
            "demo: --self-test and --load mint their own tokens and need the embedded issuer; unset AUTHENTIK_URL"
        );
        return ExitCode::from(2);
    }
    let config = match ServiceConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("demo: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.addr()).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("demo: cannot listen on {}: {err}", config.addr());
            return ExitCode::FAILURE;
        }
    };
    let base = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .unwrap_or_default();
    println!("authgate demo, protected by {}", config.auth().issuer());
    println!("  service {base}");
    println!("Get an access token from Authentik, then:");
    println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/api/me");
    let app = match example_axum::app(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo: {err}");
            ExitCode::FAILURE
        }
    }
}
