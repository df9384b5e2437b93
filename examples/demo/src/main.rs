//! The demo: `cargo run -p demo`.
//!
//! Starts an embedded OpenID issuer (the testkit: discovery, JWKS and a stand-in for
//! Authentik's webauthn API, all on loopback) and the axum example service protected
//! by authgate, then prints ready-to-paste `curl` lines with freshly minted tokens for
//! an admin, a support user and a plain user, each with the answer it should get.
//!
//! `cargo run -p demo -- --self-test` sends those requests itself, prints each result
//! and exits non-zero on any mismatch.
//!
//! `cargo run --release -p demo -- --load [REQUESTS]` is the load script: it drives the
//! same service over loopback HTTP with a public route, one repeated token and unique
//! tokens, side by side, and prints throughput and ratios (see `BENCHMARKS.md`).
//!
//! With `AUTHENTIK_URL` (and `AUTHENTIK_APP_SLUG`, `AUTHENTIK_CLIENT_ID`) set, the
//! service is protected by that real Authentik instead; bring your own tokens then.

use std::process::ExitCode;
use std::time::Duration;

use authgate::AuthLayer;
use authgate_testkit::TestIssuer;
use example_contract::ServiceConfig;
use reqwest::StatusCode;

mod load;

const FRONTEND: &str = "http://localhost:5173";
const ROLE_MAP: &str = "app-admins=admin,app-support=support";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    Anonymous,
    Bearer,
    Cookie,
}

struct Case {
    who: &'static str,
    credential: Credential,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    origin: Option<&'static str>,
    expect: StatusCode,
    why: &'static str,
}

const fn case(
    who: &'static str,
    credential: Credential,
    method: &'static str,
    path: &'static str,
    expect: StatusCode,
    why: &'static str,
) -> Case {
    Case {
        who,
        credential,
        method,
        path,
        body: None,
        origin: None,
        expect,
        why,
    }
}

fn cases() -> Vec<Case> {
    use Credential::{Anonymous, Bearer, Cookie};
    let item = |who, credential, origin, expect, why| Case {
        who,
        credential,
        method: "POST",
        path: "/api/items",
        body: Some(r#"{"name":"pen"}"#),
        origin,
        expect,
        why,
    };
    vec![
        case(
            "anonymous",
            Anonymous,
            "GET",
            "/healthz",
            StatusCode::OK,
            "public",
        ),
        case(
            "anonymous",
            Anonymous,
            "GET",
            "/api/me",
            StatusCode::UNAUTHORIZED,
            "no token",
        ),
        case(
            "admin",
            Bearer,
            "GET",
            "/api/me",
            StatusCode::OK,
            "any user",
        ),
        case(
            "user",
            Cookie,
            "GET",
            "/api/me",
            StatusCode::OK,
            "the auth cookie works too",
        ),
        case(
            "admin",
            Bearer,
            "GET",
            "/api/admin",
            StatusCode::OK,
            "role admin",
        ),
        case(
            "support",
            Bearer,
            "GET",
            "/api/admin",
            StatusCode::FORBIDDEN,
            "support is not admin",
        ),
        case(
            "user",
            Cookie,
            "GET",
            "/api/admin",
            StatusCode::FORBIDDEN,
            "user is not admin",
        ),
        case(
            "support",
            Cookie,
            "GET",
            "/api/support",
            StatusCode::OK,
            "admin or support",
        ),
        case(
            "user",
            Bearer,
            "GET",
            "/api/support",
            StatusCode::FORBIDDEN,
            "user is neither",
        ),
        item(
            "user",
            Bearer,
            None,
            StatusCode::CREATED,
            "Bearer requests need no origin",
        ),
        item(
            "user",
            Cookie,
            Some(FRONTEND),
            StatusCode::CREATED,
            "cookie from the trusted frontend",
        ),
        item(
            "user",
            Cookie,
            Some("https://evil.example"),
            StatusCode::FORBIDDEN,
            "cross-site cookie POST (CSRF)",
        ),
        case(
            "admin",
            Bearer,
            "GET",
            "/api/auth/webauthn",
            StatusCode::OK,
            "token has goauthentik.io/api",
        ),
        case(
            "user",
            Bearer,
            "GET",
            "/api/auth/webauthn",
            StatusCode::FORBIDDEN,
            "login did not request goauthentik.io/api",
        ),
    ]
}

fn token_var(who: &str) -> &'static str {
    match who {
        "admin" => "ADMIN_TOKEN",
        "support" => "SUPPORT_TOKEN",
        _ => "USER_TOKEN",
    }
}

fn curl_line(base: &str, case: &Case, cookie_name: &str) -> String {
    let mut line = String::from("curl -s -o /dev/null -w '%{http_code}\\n'");
    if case.method != "GET" {
        line.push_str(&format!(" -X {}", case.method));
    }
    let var = token_var(case.who);
    match case.credential {
        Credential::Anonymous => {}
        Credential::Bearer => line.push_str(&format!(" -H \"Authorization: Bearer ${var}\"")),
        Credential::Cookie => line.push_str(&format!(" -b \"{cookie_name}=${var}\"")),
    }
    if let Some(origin) = case.origin {
        line.push_str(&format!(" -H 'Origin: {origin}'"));
    }
    if let Some(body) = case.body {
        line.push_str(&format!(" -H 'Content-Type: application/json' -d '{body}'"));
    }
    line.push_str(&format!(" {base}{}", case.path));
    line
}

struct Tokens {
    admin: String,
    support: String,
    user: String,
}

impl Tokens {
    fn mint(issuer: &TestIssuer) -> Self {
        let day = Duration::from_secs(8 * 3600);
        let base = |sub: &str, name: &str| {
            issuer
                .token()
                .sub(sub)
                .name(name)
                .email(&format!("{sub}@example.com"))
                .exp_in(day)
        };
        Self {
            admin: base("ada", "Ada Admin")
                .groups(["app-admins"])
                .organization_id("org-1")
                .scope("openid email profile goauthentik.io/api")
                .sign(),
            support: base("sam", "Sam Support")
                .groups(["app-support"])
                .organization_id("org-1")
                .scope("openid email profile")
                .sign(),
            user: base("uma", "Uma User")
                .groups(["staff"])
                .scope("openid email profile")
                .sign(),
        }
    }

    fn of(&self, who: &str) -> &str {
        match who {
            "admin" => &self.admin,
            "support" => &self.support,
            _ => &self.user,
        }
    }
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    case: &Case,
    tokens: &Tokens,
    cookie: &str,
) -> Result<StatusCode, reqwest::Error> {
    let method =
        reqwest::Method::from_bytes(case.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, format!("{base}{}", case.path));
    match case.credential {
        Credential::Anonymous => {}
        Credential::Bearer => request = request.bearer_auth(tokens.of(case.who)),
        Credential::Cookie => {
            request = request.header("cookie", format!("{cookie}={}", tokens.of(case.who)));
        }
    }
    if let Some(origin) = case.origin {
        request = request.header("origin", origin);
    }
    if let Some(body) = case.body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    Ok(request.send().await?.status())
}

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

async fn embedded(mode: Mode) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let issuer = TestIssuer::start().await?;
    let port = if mode != Mode::Serve {
        String::from("0")
    } else {
        std::env::var("PORT").unwrap_or_else(|_| String::from("3000"))
    };
    let mut env = issuer.env();
    env.extend([
        ("AUTH_ROLE_MAP", ROLE_MAP.to_owned()),
        ("FRONTEND_URL", FRONTEND.to_owned()),
        ("PORT", port),
    ]);
    let config = ServiceConfig::from_env_with(|name| {
        env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    })?;
    let cookie = config.auth().cookie_name().to_owned();
    let layer = AuthLayer::new(config.auth().clone());
    layer.authenticator().refresh_keys().await?;
    let listener = tokio::net::TcpListener::bind(config.addr())
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (set PORT to another port)",
                config.addr()
            )
        })?;
    let base = format!("http://{}", listener.local_addr()?);
    let flow = config.flow(layer.authenticator()).await?;
    let app = example_axum::router(config, layer, flow);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    if let Mode::Load(requests) = mode {
        load::run(&issuer, &base, requests).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let tokens = Tokens::mint(&issuer);
    let cases = cases();
    println!("authgate demo");
    println!("  issuer  {} (embedded test issuer)", issuer.issuer());
    println!("  service {base} (examples/axum, protected by authgate)");
    println!("  roles   {ROLE_MAP}; trusted frontend {FRONTEND}");
    println!();
    if mode == Mode::SelfTest {
        let client = reqwest::Client::new();
        let mut failures = 0;
        for case in &cases {
            let got = send(&client, &base, case, &tokens, &cookie).await?;
            let ok = got == case.expect;
            failures += usize::from(!ok);
            println!(
                "{} {:<6} {:<22} {:<9} {:<7} -> {} (expected {}: {})",
                if ok { "ok  " } else { "FAIL" },
                case.method,
                case.path,
                case.who,
                match case.credential {
                    Credential::Anonymous => "-",
                    Credential::Bearer => "bearer",
                    Credential::Cookie => "cookie",
                },
                got.as_u16(),
                case.expect.as_u16(),
                case.why,
            );
        }
        println!();
        println!("{} passed, {failures} failed", cases.len() - failures);
        return Ok(if failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    println!("Paste these into another shell (tokens are valid for 8 hours):");
    println!();
    println!("export ADMIN_TOKEN='{}'", tokens.admin);
    println!("export SUPPORT_TOKEN='{}'", tokens.support);
    println!("export USER_TOKEN='{}'", tokens.user);
    println!();
    for case in &cases {
        println!("# {} -> {} ({})", case.who, case.expect.as_u16(), case.why);
        println!("{}", curl_line(&base, case, &cookie));
    }
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
