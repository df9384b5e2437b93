//! One contract, two frameworks: every route × credential case is sent to
//! `example-axum` and to `example-actix` (configured identically, against the same
//! test issuer), and both must give the expected status with identical headers and
//! bodies.

use std::time::Duration;

use authgate_e2e::{ActixService, AxumService};
use authgate_test_support::ROLE_MAP;
use authgate_testkit::TestIssuer;
use example_contract::ServiceConfig;
use serde_json::Value;

const FRONTEND: &str = "https://app.example.com";

#[derive(Debug, Clone)]
enum Cred {
    None,
    Bearer(String),
    Cookie(String),
    TwoBearers(String),
}

#[derive(Debug)]
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    cred: Cred,
    origin: Option<&'static str>,
    body: Option<&'static str>,
    expect: u16,
}

#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn send(client: &reqwest::Client, base: &str, case: &Case) -> Seen {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
    let mut req = client.request(method, format!("{base}{}", case.path));
    match &case.cred {
        Cred::None => {}
        Cred::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
        Cred::Cookie(t) => req = req.header("cookie", format!("app_auth={t}")),
        Cred::TwoBearers(t) => {
            req = req
                .header("authorization", format!("Bearer {t}"))
                .header("authorization", format!("Bearer {t}"));
        }
    }
    if let Some(origin) = case.origin {
        req = req.header("origin", origin);
    }
    if let Some(body) = case.body {
        req = req.header("content-type", "application/json").body(body);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let status = res.status().as_u16();
    let www_authenticate = header("www-authenticate");
    let content_type = header("content-type");
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{}: a JSON body, got {text:?}", case.name));
    Seen {
        status,
        www_authenticate,
        content_type,
        body,
    }
}

fn config(issuer: &TestIssuer) -> ServiceConfig {
    let mut env = issuer.env();
    // The contract is the API's; without a client secret the login flow stays unmounted.
    env.retain(|(name, _)| *name != "AUTHENTIK_CLIENT_SECRET");
    env.extend([
        ("AUTH_ROLE_MAP", ROLE_MAP.to_owned()),
        ("FRONTEND_URL", FRONTEND.to_owned()),
    ]);
    ServiceConfig::from_env_with(|name| {
        env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

fn cases(issuer: &TestIssuer) -> Vec<Case> {
    let hour = Duration::from_secs(3600);
    let admin = issuer
        .token()
        .sub("ada")
        .email("ada@example.com")
        .name("Ada")
        .groups(["app-admins", "staff"])
        .organization_id("org-1")
        .scope("openid email profile goauthentik.io/api")
        .exp_in(hour)
        .sign();
    let support = issuer
        .token()
        .sub("sam")
        .groups(["app-support"])
        .scope("openid email")
        .exp_in(hour)
        .sign();
    let user = issuer
        .token()
        .sub("uma")
        .groups(["staff"])
        .exp_in(hour)
        .sign();
    let expired = issuer.token().sub("old").expired().sign();
    let wrong_aud = issuer.token().aud("another-app").sign();
    let huge = issuer.token().claim("pad", "x".repeat(20_000)).sign();

    let get = |name, path, cred: &Cred, expect| Case {
        name,
        method: "GET",
        path,
        cred: cred.clone(),
        origin: None,
        body: None,
        expect,
    };
    let post = |name, cred: &Cred, origin, body, expect| Case {
        name,
        method: "POST",
        path: "/api/items",
        cred: cred.clone(),
        origin,
        body: Some(body),
        expect,
    };
    let (anon, admin_b, support_b, user_b) = (
        Cred::None,
        Cred::Bearer(admin.clone()),
        Cred::Bearer(support),
        Cred::Bearer(user.clone()),
    );
    let (admin_c, user_c) = (Cred::Cookie(admin.clone()), Cred::Cookie(user));
    let (expired_b, aud_b, huge_b, garbage) = (
        Cred::Bearer(expired),
        Cred::Bearer(wrong_aud),
        Cred::Bearer(huge),
        Cred::Bearer("not-a-jwt".into()),
    );
    let routes = [
        "/api/me",
        "/api/items",
        "/api/admin",
        "/api/support",
        "/api/auth/webauthn",
    ];
    let mut cases = vec![get("health", "/healthz", &anon, 200)];
    for path in routes {
        cases.push(get("anonymous", path, &anon, 401));
        cases.push(get("expired", path, &expired_b, 401));
        cases.push(get("wrong audience", path, &aud_b, 401));
        cases.push(get("garbage", path, &garbage, 401));
        cases.push(get("huge", path, &huge_b, 401));
        cases.push(get(
            "two headers",
            path,
            &Cred::TwoBearers(admin.clone()),
            400,
        ));
    }
    cases.extend([
        get("me admin bearer", "/api/me", &admin_b, 200),
        get("me user cookie", "/api/me", &user_c, 200),
        get("admin admin", "/api/admin", &admin_b, 200),
        get("admin admin cookie", "/api/admin", &admin_c, 200),
        get("admin support", "/api/admin", &support_b, 403),
        get("admin user", "/api/admin", &user_b, 403),
        get("support admin", "/api/support", &admin_b, 200),
        get("support support", "/api/support", &support_b, 200),
        get("support user", "/api/support", &user_b, 403),
        get("webauthn with scope", "/api/auth/webauthn", &admin_b, 200),
        get(
            "webauthn without scope",
            "/api/auth/webauthn",
            &support_b,
            403,
        ),
        get("webauthn user cookie", "/api/auth/webauthn", &user_c, 403),
        post("item bearer", &user_b, None, r#"{"name":"pen"}"#, 201),
        post("item bad json", &user_b, None, "{oops", 400),
        post("item empty name", &user_b, None, r#"{"name":" "}"#, 400),
        post(
            "item cookie trusted",
            &user_c,
            Some(FRONTEND),
            r#"{"name":"pen"}"#,
            201,
        ),
        post(
            "item cookie cross-site",
            &user_c,
            Some("https://evil.example"),
            r#"{"name":"pen"}"#,
            403,
        ),
        post(
            "item cookie no origin",
            &user_c,
            None,
            r#"{"name":"pen"}"#,
            403,
        ),
        post("item anonymous", &anon, None, r#"{"name":"pen"}"#, 401),
        // The two created above, in uma's organization; the refused ones are not there.
        get("items user", "/api/items", &user_b, 200),
        get("items admin", "/api/items", &admin_b, 200),
    ]);
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_actix_services_answer_identically() {
    let issuer = TestIssuer::start().await.unwrap();
    let axum = AxumService::start(config(&issuer)).await;
    let actix = ActixService::start(config(&issuer)).await;
    let client = reqwest::Client::new();
    for case in cases(&issuer) {
        let a = send(&client, &axum.url(), &case).await;
        let b = send(&client, &actix.url(), &case).await;
        assert_eq!(a.status, case.expect, "axum: {case:?}: {:?}", a.body);
        assert_eq!(a, b, "axum and actix differ on {}", case.name);
        if a.status >= 400 {
            assert!(a.body["error"].is_string(), "{}: a stable code", case.name);
        }
        if a.status == 401 {
            assert!(
                a.www_authenticate.is_some(),
                "{}: 401 carries WWW-Authenticate",
                case.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_bodies_are_what_clients_expect() {
    let issuer = TestIssuer::start().await.unwrap();
    let axum = AxumService::start(config(&issuer)).await;
    let client = reqwest::Client::new();
    let admin = issuer
        .token()
        .sub("ada")
        .email("ada@example.com")
        .name("Ada")
        .groups(["app-admins"])
        .scope("openid goauthentik.io/api")
        .sign();
    let me = client
        .get(format!("{}/api/me", axum.url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let me: Value = me.json().await.unwrap();
    assert_eq!(
        me,
        serde_json::json!({
            "sub": "ada", "email": "ada@example.com", "name": "Ada",
            "organizationId": "ada", "role": "admin", "roles": ["admin"], "groups": ["app-admins"],
            "scopes": ["openid", "goauthentik.io/api"]
        })
    );

    // The Authentik API was called with the user's own token, through the server URL.
    let webauthn: Value = client
        .get(format!("{}/api/auth/webauthn", axum.url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(webauthn["results"][0]["name"], "Security key of ada");
    assert_eq!(issuer.api_requests(), 1);

    // Without the scope: 403 naming the scope and saying the login must request it,
    // and Authentik is not even called.
    let plain = issuer.token().sub("uma").scope("openid").sign();
    let res = client
        .get(format!("{}/api/auth/webauthn", axum.url()))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let header = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(header.contains(r#"error="insufficient_scope""#), "{header}");
    assert!(header.contains(r#"scope="goauthentik.io/api""#), "{header}");
    let body: Value = res.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("goauthentik.io/api") && message.contains("login must request"));
    assert_eq!(issuer.api_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_403_is_reported_with_the_scope_hint() {
    // The token carries the scope (so the guard passes) but Authentik refuses it:
    // here because its signing key was rotated out at the provider.
    let issuer = TestIssuer::start().await.unwrap();
    issuer.add_rsa_key("soon-gone").unwrap();
    let axum = AxumService::start(config(&issuer)).await;
    let actix = ActixService::start(config(&issuer)).await;
    let token = issuer
        .token()
        .key("soon-gone")
        .scope("goauthentik.io/api")
        .sign();
    // Verified (and cached) by the services before the provider drops the key.
    let client = reqwest::Client::new();
    for base in [axum.url(), actix.url()] {
        let res = client
            .get(format!("{base}/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    issuer.remove_key("soon-gone");
    let mut answers = Vec::new();
    for base in [axum.url(), actix.url()] {
        let res = client
            .get(format!("{base}/api/auth/webauthn"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "upstream_forbidden");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("goauthentik.io/api")
        );
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_stored_per_organization_and_refused_posts_create_nothing() {
    let issuer = TestIssuer::start().await.unwrap();
    let axum = AxumService::start(config(&issuer)).await;
    let actix = ActixService::start(config(&issuer)).await;
    let client = reqwest::Client::new();
    let token = |sub: &str, org: &str| {
        issuer
            .token()
            .sub(sub)
            .organization_id(org)
            .exp_in(Duration::from_secs(3600))
            .sign()
    };
    let (ada, sam, uma) = (
        token("ada", "org-1"),
        token("sam", "org-1"),
        token("uma", "uma"),
    );
    for base in [axum.url(), actix.url()] {
        let post = |cookie: &str, origin: &str, name: &str| {
            client
                .post(format!("{base}/api/items"))
                .header("cookie", format!("app_auth={cookie}"))
                .header("origin", origin)
                .header("content-type", "application/json")
                .body(format!(r#"{{"name":"{name}"}}"#))
                .send()
        };
        let list = |token: &str| {
            let request = client.get(format!("{base}/api/items")).bearer_auth(token);
            async move {
                let res = request.send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.unwrap()
            }
        };
        assert_eq!(
            list(&ada).await,
            serde_json::json!({"count": 0, "items": []})
        );
        let created = post(&ada, FRONTEND, "pen").await.unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        assert_eq!(
            created,
            serde_json::json!({"id": 1, "name": "pen", "owner": "ada", "organizationId": "org-1"})
        );
        for origin in [
            "https://evil.example",
            "https://app.example.com.evil.example",
        ] {
            let refused = post(&ada, origin, "forged").await.unwrap();
            assert_eq!(refused.status(), 403, "{origin}");
        }
        // sam shares ada's organization; uma has her own, empty one.
        let seen = list(&sam).await;
        assert_eq!(seen["count"], 1);
        assert_eq!(seen["items"][0], created);
        assert_eq!(list(&uma).await["count"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_service_answers_cors_for_the_trusted_frontend_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let axum = AxumService::start(config(&issuer)).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/items", axum.url()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let header = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let trusted = preflight(FRONTEND).await.unwrap();
    assert_eq!(trusted.status(), 200);
    assert_eq!(
        header(&trusted, "access-control-allow-origin").as_deref(),
        Some(FRONTEND)
    );
    assert_eq!(
        header(&trusted, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let methods = header(&trusted, "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    // Without Access-Control-Allow-Origin the browser sends nothing after the preflight.
    let untrusted = preflight("https://evil.example").await.unwrap();
    assert_eq!(header(&untrusted, "access-control-allow-origin"), None);

    // A simple request from the frontend gets its origin back; the answer itself is
    // the contract's.
    let token = issuer.token().sub("uma").sign();
    let me = client
        .get(format!("{}/api/me", axum.url()))
        .header("origin", FRONTEND)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        header(&me, "access-control-allow-origin").as_deref(),
        Some(FRONTEND)
    );
    let vary = header(&me, "vary").unwrap_or_default();
    assert!(vary.to_ascii_lowercase().contains("origin"), "{vary}");
}
