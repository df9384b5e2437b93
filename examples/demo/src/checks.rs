//! The curl checks: one table of route × credential cases with the answer each should
//! get, printed as ready-to-paste `curl` lines or sent by the self-test. Their tokens
//! are minted by the embedded issuer (the journey's come from a real sign-in).

use std::time::Duration;

use authgate_testkit::TestIssuer;
use demo::{DEMO_USERS, Demo, DemoUser, FlowCookie, ROLE_MAP};
use reqwest::StatusCode;

use crate::report::Report;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    Anonymous,
    Bearer,
    Cookie,
}

/// The `Origin` a case sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The demo's frontend (trusted).
    Frontend,
    /// Another site.
    Evil,
}

const EVIL: &str = "https://evil.example";

struct Case {
    who: &'static str,
    credential: Credential,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    origin: Option<Origin>,
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
            Some(Origin::Frontend),
            StatusCode::CREATED,
            "cookie from the trusted frontend",
        ),
        item(
            "user",
            Cookie,
            Some(Origin::Evil),
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

fn origin_url(origin: Origin, frontend: &str) -> &str {
    match origin {
        Origin::Frontend => frontend,
        Origin::Evil => EVIL,
    }
}

fn curl_line(demo: &Demo, case: &Case) -> String {
    let cookie_name = demo.cookie_name(FlowCookie::Access);
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
        let origin = origin_url(origin, demo.frontend_url());
        line.push_str(&format!(" -H 'Origin: {origin}'"));
    }
    if let Some(body) = case.body {
        line.push_str(&format!(" -H 'Content-Type: application/json' -d '{body}'"));
    }
    line.push_str(&format!(" {}{}", demo.api_url(), case.path));
    line
}

pub(crate) struct Tokens {
    admin: String,
    support: String,
    user: String,
}

impl Tokens {
    /// Tokens for the demo users, valid for 8 hours: ada's carries the scope
    /// `goauthentik.io/api`, the others' do not.
    pub(crate) fn mint(issuer: &TestIssuer) -> Self {
        let sign = |user: &DemoUser, scope: &str| {
            let token = issuer
                .token()
                .sub(user.sub)
                .name(user.name)
                .email(&user.email())
                .groups(user.groups.iter().copied())
                .scope(scope)
                .exp_in(Duration::from_secs(8 * 3600));
            match user.organization_id {
                Some(org) => token.organization_id(org),
                None => token,
            }
            .sign()
        };
        let [ada, sam, uma] = &DEMO_USERS;
        Self {
            admin: sign(ada, "openid email profile goauthentik.io/api"),
            support: sign(sam, "openid email profile"),
            user: sign(uma, "openid email profile"),
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
    demo: &Demo,
    case: &Case,
    tokens: &Tokens,
) -> Result<StatusCode, reqwest::Error> {
    let cookie = demo.cookie_name(FlowCookie::Access);
    let method =
        reqwest::Method::from_bytes(case.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, format!("{}{}", demo.api_url(), case.path));
    match case.credential {
        Credential::Anonymous => {}
        Credential::Bearer => request = request.bearer_auth(tokens.of(case.who)),
        Credential::Cookie => {
            request = request.header("cookie", format!("{cookie}={}", tokens.of(case.who)));
        }
    }
    if let Some(origin) = case.origin {
        request = request.header("origin", origin_url(origin, demo.frontend_url()));
    }
    if let Some(body) = case.body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    Ok(request.send().await?.status())
}

/// Sends every case and reports each answer.
pub(crate) async fn run(
    demo: &Demo,
    tokens: &Tokens,
    report: &mut Report,
) -> Result<(), reqwest::Error> {
    let client = reqwest::Client::new();
    for case in &cases() {
        let got = send(&client, demo, case, tokens).await?;
        report.check(
            got == case.expect,
            &format!(
                "{:<6} {:<22} {:<9} {:<7} -> {} (expected {}: {})",
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
            ),
        );
    }
    Ok(())
}

/// Prints the tokens and one `curl` line per case.
pub(crate) fn print(demo: &Demo, tokens: &Tokens) {
    println!("Or call the API with curl (paste into another shell; tokens valid for 8 hours):");
    println!();
    println!("export ADMIN_TOKEN='{}'", tokens.admin);
    println!("export SUPPORT_TOKEN='{}'", tokens.support);
    println!("export USER_TOKEN='{}'", tokens.user);
    println!();
    for case in &cases() {
        println!("# {} -> {} ({})", case.who, case.expect.as_u16(), case.why);
        println!("{}", curl_line(demo, case));
    }
    println!();
    println!("(roles: {ROLE_MAP})");
}
