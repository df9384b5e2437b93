//! The whole flow through the axum router, against the test provider.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use authgate_flow::FlowCookie;
use authgate_flow::{ClientAuth, Flow};
use authgate_test_support::{Browser, attributes};
use authgate_testkit::{ClientAuthUsed, StatusCode, TestIssuer, TokenFault};
use common::{API, CLIENT_ID, FRONTEND, FlowProvider, PUBLIC_BASE, SLUG, issuer};
use serde_json::json;

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn signed_in(provider: &TestIssuer, flow: &Flow) -> (Browser, serde_json::Value) {
    let mut browser = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut browser, provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    (browser, exchange.json())
}

#[tokio::test]
async fn login_redirects_to_the_discovered_endpoint_with_state_pkce_and_nonce() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/auth/login?redirect=/orders").await;
    assert_eq!(login.status, 302);
    assert_eq!(login.headers["cache-control"], "no-store");
    let location = login.location();
    assert!(
        location.starts_with(&format!("{PUBLIC_BASE}/application/o/authorize/?")),
        "{location}"
    );
    let q = query_of(&location);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{API}/auth/callback"));
    assert_eq!(q["scope"], "openid email profile offline_access");
    assert_eq!(q["code_challenge_method"], "S256");
    for param in ["state", "nonce", "code_challenge"] {
        assert_eq!(q[param].len(), 43, "{param}: {}", q[param]);
    }
    assert_ne!(q["state"], q["nonce"]);
    // The login state (verifier, nonce, redirect) lives in a sealed cookie only the
    // callback receives; it neither shows the state nor the verifier in clear.
    let binding = login.set_cookie("app_auth_login").expect("login cookie");
    let attrs = attributes(&binding);
    assert_eq!(attrs["Path"], "/auth/callback");
    assert_eq!(attrs["Max-Age"], "600");
    assert!(attrs.contains_key("HttpOnly"));
    assert_eq!(attrs["SameSite"], "Lax");
    let sealed = browser.cookie("app_auth_login").unwrap();
    assert!(!sealed.contains(q["state"].as_str()) && !sealed.contains(q["nonce"].as_str()));
    assert!(sealed.len() > 100, "a sealed entry, not a bare state");

    // A second login gets fresh values.
    let second = query_of(&browser.get("/auth/login").await.location());
    assert_ne!(second["state"], q["state"]);
    assert_ne!(second["nonce"], q["nonce"]);
    assert_ne!(second["code_challenge"], q["code_challenge"]);
}

/// Auth0 issues an access token for an API only when the login names it
/// (`audience`); any extra parameter rides along, the flow's own cannot be replaced.
#[tokio::test]
async fn extra_authorize_params_are_sent_and_cannot_replace_the_flows_own() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .authorize_param("audience", "https://api.shop.example")
            .authorize_param("prompt", "login")
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/auth/login").await;
    let q = query_of(&login.location());
    assert_eq!(q["audience"], "https://api.shop.example");
    assert_eq!(q["prompt"], "login");
    assert_eq!(q["response_type"], "code");
    // The provider takes the request, and the login completes.
    let (_, exchanged) = signed_in(&provider, &flow).await;
    assert_eq!(exchanged["success"], true, "{exchanged}");

    for reserved in [
        "state",
        "nonce",
        "redirect_uri",
        "code_challenge_method",
        "scope",
    ] {
        let refused = provider
            .flow_config()
            .authorize_param(reserved, "forged")
            .build();
        assert!(
            matches!(&refused, Err(authgate_flow::FlowConfigError::Config(err)) if err.to_string().contains("AUTH_AUTHORIZE_PARAMS")),
            "{reserved}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn authentik_api_scope_is_requested_when_configured() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .authentik_api_scope()
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let q = query_of(&browser.get("/auth/login").await.location());
    assert_eq!(
        q["scope"],
        "openid email profile offline_access goauthentik.io/api"
    );
}

#[tokio::test]
async fn the_whole_flow_sets_cookies_and_never_shows_a_token() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());

    let login = browser
        .get("/auth/login?redirect=%2Forders%3Ftab%3Dopen")
        .await;
    let query = provider.callback_query(&login.location(), "alice");
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 302, "{}", callback.body);
    let location = callback.location();
    assert!(
        location.starts_with(&format!("{FRONTEND}/auth/callback?exchange=")),
        "{location}"
    );
    assert_eq!(callback.headers["referrer-policy"], "no-referrer");
    // The login binding is spent.
    let cleared = callback
        .set_cookie("app_auth_login")
        .expect("login cookie cleared");
    assert_eq!(attributes(&cleared)["Max-Age"], "0");
    assert!(browser.cookie("app_auth_login").is_none());

    // The code was exchanged server to server, through the internal URL, with PKCE
    // (the provider checks the verifier) and client_secret_basic.
    let calls = provider.token_requests();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].client_auth, ClientAuthUsed::Basic);
    assert_eq!(calls[0].form["grant_type"], "authorization_code");
    assert_eq!(
        calls[0].form["redirect_uri"],
        format!("{API}/auth/callback")
    );
    assert!(!calls[0].form.contains_key("client_secret"));

    let code = query_of(&location)["exchange"].clone();
    assert_eq!(code.len(), 43);
    let exchange = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    assert_eq!(
        exchange.json(),
        json!({ "success": true, "redirectTo": "/orders?tab=open" })
    );
    let access = exchange.set_cookie("app_auth").expect("access cookie");
    let attrs = attributes(&access);
    assert_eq!(attrs["Path"], "/");
    assert!(attrs.contains_key("HttpOnly"));
    assert_eq!(attrs["SameSite"], "Lax");
    assert!(!attrs.contains_key("Secure"), "http API, not production");
    let max_age: u64 = attrs["Max-Age"].parse().unwrap();
    assert!((298..=300).contains(&max_age), "{max_age}");
    let refresh = exchange
        .set_cookie("app_auth_refresh")
        .expect("refresh cookie");
    let attrs = attributes(&refresh);
    assert_eq!(attrs["Path"], "/auth");
    assert!(attrs.contains_key("HttpOnly"));
    assert_eq!(attrs["SameSite"], "Lax");
    // An opaque refresh token without a stated lifetime: the 30-day default.
    assert_eq!(attrs["Max-Age"], "2592000");
    let id = exchange.set_cookie("app_auth_id").expect("ID token cookie");
    assert_eq!(attributes(&id)["Path"], "/auth");

    // No token in any URL or body seen so far.
    for token in provider.issued_tokens() {
        assert!(!location.contains(&token));
        assert!(!login.location().contains(&token));
        assert!(!exchange.body.contains(&token));
        assert!(!callback.body.contains(&token));
    }

    // The session, through the core authenticator and the access cookie.
    let session = browser.get("/auth/session").await;
    assert_eq!(session.status, 200, "{}", session.body);
    let user = session.json();
    assert_eq!(user["sub"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    for token in provider.issued_tokens() {
        assert!(!session.body.contains(&token));
    }
}

#[tokio::test]
async fn refused_redirects_fall_back_to_the_default() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .default_redirect("/home")
            .build()
            .unwrap(),
    )
    .unwrap();
    for redirect in [
        "//evil.example",
        "/%2F%2Fevil.example",
        "https://evil.example/",
        "/%5Cevil",
        "/%0d%0a",
    ] {
        let mut browser = common::browser(flow.router());
        let login = browser
            .get(&format!(
                "/auth/login?redirect={}",
                url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
            ))
            .await;
        let query = provider.callback_query(&login.location(), "alice");
        let callback = browser.get(&format!("/auth/callback?{query}")).await;
        let code = query_of(&callback.location())["exchange"].clone();
        let exchange = browser
            .post_json("/auth/exchange", &json!({ "code": code }))
            .await;
        assert_eq!(exchange.json()["redirectTo"], "/home", "{redirect}");
    }
}

#[tokio::test]
async fn client_secret_post_and_public_clients() {
    for (auth, expected) in [
        (ClientAuth::ClientSecretPost, ClientAuthUsed::Post),
        (ClientAuth::None, ClientAuthUsed::None),
    ] {
        let provider = common::provider_for(auth);
        let flow = provider.flow();
        let (_, body) = signed_in(&provider, &flow).await;
        assert_eq!(body["success"], true);
        let calls = provider.token_requests();
        assert_eq!(calls[0].client_auth, expected);
        assert_eq!(calls[0].form["client_id"], CLIENT_ID);
    }
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_502_not_a_panic() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .client_secret("wrong")
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/auth/login").await;
    let query = provider.callback_query(&login.location(), "alice");
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 502, "{}", callback.body);
    assert_eq!(callback.json()["error"], "token_exchange_failed");
}

#[tokio::test]
async fn replayed_unknown_and_expired_states_are_refused() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .state_ttl(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/auth/login").await;
    let sealed = browser.cookie("app_auth_login").unwrap();
    let query = provider.callback_query(&login.location(), "alice");
    let first = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(first.status, 302);
    assert!(browser.cookie("app_auth_login").is_none(), "used up");

    // Replayed (the login cookie is put back, as an attacker holding it would).
    browser.set_cookie("app_auth_login", &sealed, "/auth/callback");
    let replay = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.json()["error"], "invalid_state");

    // A state this browser's cookie was not sealed for, or none at all.
    browser.set_cookie("app_auth_login", &sealed, "/auth/callback");
    let unknown = browser
        .get(&format!("/auth/callback?code=x&state={}", "A".repeat(43)))
        .await;
    assert_eq!(unknown.json()["error"], "state_mismatch");
    let garbage = browser.get("/auth/callback?code=x&state=%00%01").await;
    assert_eq!(garbage.json()["error"], "invalid_state");
    let tampered = {
        let mut bytes = sealed.clone().into_bytes();
        bytes[60] = if bytes[60] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let login = browser.get("/auth/login").await;
    let query = provider.callback_query(&login.location(), "alice");
    browser.set_cookie("app_auth_login", &tampered, "/auth/callback");
    let forged = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(forged.json()["error"], "state_mismatch");

    // Expired (state TTL 1 s here): the sealed cookie says until when.
    let login = browser.get("/auth/login").await;
    let sealed = browser.cookie("app_auth_login").unwrap();
    let query = provider.callback_query(&login.location(), "alice");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    browser.set_cookie("app_auth_login", &sealed, "/auth/callback");
    let expired = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(expired.status, 400);
    assert_eq!(expired.json()["error"], "invalid_state");

    // A browser navigation gets a page, not JSON.
    browser.set_cookie("app_auth_login", &sealed, "/auth/callback");
    let page = browser
        .send(
            http::Method::GET,
            &format!("/auth/callback?{query}"),
            None,
            &[("accept", "text/html,application/xhtml+xml")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("<h1>Sign-in failed</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("invalid_state"));
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    // Login CSRF: an attacker's own state and code, delivered to a victim's browser.
    let provider = common::provider();
    let flow = provider.flow();
    let mut attacker = common::browser(flow.router());
    let login = attacker.get("/auth/login").await;
    let query = provider.callback_query(&login.location(), "mallory");
    let mut victim = common::browser(flow.router());
    let callback = victim.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 400, "{}", callback.body);
    assert_eq!(callback.json()["error"], "state_mismatch");
    assert!(
        provider.token_requests().is_empty(),
        "no code may be exchanged"
    );
}

#[tokio::test]
async fn provider_errors_are_reported_and_use_up_the_state() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/auth/login").await;
    let state = query_of(&login.location())["state"].clone();
    let denied = browser
        .get(&format!(
            "/auth/callback?error=access_denied&error_description=User+cancelled%0D%0A&state={state}"
        ))
        .await;
    assert_eq!(denied.status, 400);
    let body = denied.json();
    assert_eq!(body["error"], "provider_error");
    assert_eq!(body["details"]["providerError"], "access_denied");
    // Fixed text per code: the provider's (or an attacker's) description never shows.
    assert!(!denied.body.contains("User cancelled"), "{}", denied.body);
    let page = browser
        .send(
            http::Method::GET,
            &format!(
                "/auth/callback?error=evil%3Cb%3E&error_description=Call+%2B1-555-0100+now&state={state}"
            ),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert!(page.body.contains("unknown_error"), "{}", page.body);
    assert!(
        !page.body.contains("555") && !page.body.contains("evil"),
        "{}",
        page.body
    );
    // The login cookie was cleared: the state cannot be used afterwards.
    assert!(browser.cookie("app_auth_login").is_none());
    let late = browser
        .get(&format!("/auth/callback?code=c&state={state}"))
        .await;
    assert_eq!(late.json()["error"], "state_mismatch");
}

#[tokio::test]
async fn malformed_callbacks_are_bad_requests() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    for query in [
        "",
        "code=abc",
        "state=abc",
        "code=a&code=b&state=s",
        "code=&state=s",
    ] {
        let answer = browser.get(&format!("/auth/callback?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_request", "{query}");
    }
    let login = browser.get("/auth/login").await;
    let query = provider.callback_query(&login.location(), "alice");
    let mixed_up = browser
        .get(&format!(
            "/auth/callback?{}",
            query.replace("iss=", "iss=x")
        ))
        .await;
    assert_eq!(mixed_up.status, 400);
    assert_eq!(mixed_up.json()["error"], "invalid_request");
}

#[tokio::test]
async fn id_tokens_are_verified_with_their_nonce() {
    let cases = [
        ("wrong nonce", TokenFault::WrongNonce),
        ("unknown signing key", TokenFault::UnknownSigningKey),
        (
            "another audience",
            TokenFault::IdTokenAudience(json!("other-client")),
        ),
        (
            "several audiences, no azp",
            TokenFault::IdTokenAudience(json!([CLIENT_ID, "other-client"])),
        ),
        ("no ID token", TokenFault::NoIdToken),
    ];
    for (case, fault) in cases {
        let provider = common::provider();
        provider.set_token_fault(Some(fault));
        let flow = provider.flow();
        let mut browser = common::browser(flow.router());
        let login = browser.get("/auth/login").await;
        let query = provider.callback_query(&login.location(), "alice");
        let callback = browser.get(&format!("/auth/callback?{query}")).await;
        assert_eq!(callback.status, 502, "{case}: {}", callback.body);
        assert_eq!(callback.json()["error"], "invalid_id_token", "{case}");
        assert!(callback.headers.get("location").is_none(), "{case}");
    }
}

#[tokio::test]
async fn exchange_codes_are_single_use_short_lived_and_json_only() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .exchange_ttl(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;

    let form = browser
        .send(
            http::Method::POST,
            "/auth/exchange",
            Some(format!("code={code}")),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(form.status, 415);
    let bad = browser
        .post_json("/auth/exchange", &json!({ "nope": 1 }))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "invalid_request");
    let mut other_site = browser.clone();
    other_site.origin = Some("https://evil.example".into());
    let csrf = other_site
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(csrf.status, 403);
    assert_eq!(csrf.json()["error"], "cross_site_request");

    // None of those used the code up.
    let ok = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let again = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_exchange_code");
    assert!(
        again.set_cookie("app_auth").is_none() && again.set_cookie("app_auth_refresh").is_none()
    );

    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let late = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(late.status, 400);
    assert_eq!(late.json()["error"], "invalid_exchange_code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_concurrent_exchanges_of_one_code_give_one_session() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let mut browser = browser.clone();
            let barrier = barrier.clone();
            let code = code.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                browser
                    .post_json("/auth/exchange", &json!({ "code": code }))
                    .await
                    .status
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap().as_u16() {
            200 => ok += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn refresh_rotates_tokens_and_the_old_refresh_token_dies() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider
            .flow_config()
            .refresh_grace(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    let (mut browser, _) = signed_in(&provider, &flow).await;
    let first_access = browser.cookie("app_auth").unwrap();
    let first_refresh = browser.cookie("app_auth_refresh").unwrap();

    let refreshed = browser.post("/auth/refresh").await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.json(), json!({ "success": true }));
    let second_refresh = browser.cookie("app_auth_refresh").unwrap();
    assert!(
        second_refresh != first_refresh,
        "rotation: a new refresh token"
    );
    let access = refreshed.set_cookie("app_auth").unwrap();
    assert_eq!(attributes(&access)["Path"], "/");
    assert_eq!(
        attributes(&refreshed.set_cookie("app_auth_refresh").unwrap())["Path"],
        "/auth"
    );
    assert!(refreshed.set_cookie("app_auth_id").is_some());
    let calls = provider.token_requests();
    let last = calls.last().unwrap();
    assert_eq!(last.form["grant_type"], "refresh_token");
    assert!(last.form["refresh_token"] == first_refresh);
    for token in provider.issued_tokens() {
        assert!(!refreshed.body.contains(&token));
    }
    assert_eq!(browser.get("/auth/session").await.status, 200);
    let _ = first_access;

    // Within the grace window (1 s here) the spent token gets the same answer (a
    // second tab refreshing at once); after it, the spent token is refused: both
    // cookies are cleared, 401.
    let new_refresh = browser.cookie("app_auth_refresh").unwrap();
    browser.set_cookie("app_auth_refresh", &first_refresh, "/auth");
    let second_tab = browser.post("/auth/refresh").await;
    assert_eq!(second_tab.status, 200, "{}", second_tab.body);
    assert_eq!(browser.cookie("app_auth_refresh").unwrap(), new_refresh);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    browser.set_cookie("app_auth_refresh", &first_refresh, "/auth");
    let reused = browser.post("/auth/refresh").await;
    assert_eq!(reused.status, 401, "{}", reused.body);
    assert_eq!(reused.json()["error"], "refresh_failed");
    for name in ["app_auth", "app_auth_refresh"] {
        let cleared = reused.set_cookie(name).expect("cleared");
        assert_eq!(attributes(&cleared)["Max-Age"], "0");
    }
    assert!(browser.cookie("app_auth").is_none());
    assert!(browser.cookie("app_auth_refresh").is_none());

    // Without a refresh cookie: 401 and cleared as well.
    let none = browser.post("/auth/refresh").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"], "no_refresh_token");
    assert!(none.set_cookie("app_auth").is_some());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_cookie() {
    let provider = common::provider_with(|builder| builder.refresh_token_rotation(false));
    let flow = provider.flow();
    let (mut browser, _) = signed_in(&provider, &flow).await;
    let refresh = browser.cookie("app_auth_refresh").unwrap();
    for _ in 0..2 {
        let refreshed = browser.post("/auth/refresh").await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert!(refreshed.set_cookie("app_auth").is_some());
        assert!(refreshed.set_cookie("app_auth_refresh").is_none());
        assert!(browser.cookie("app_auth_refresh").unwrap() == refresh);
    }
}

#[tokio::test]
async fn a_provider_outage_at_refresh_keeps_the_cookies() {
    let provider = common::provider();
    let flow = provider.flow();
    let (mut browser, _) = signed_in(&provider, &flow).await;
    provider.set_token_fault(Some(TokenFault::Status(
        StatusCode::SERVICE_UNAVAILABLE,
        json!("maintenance"),
    )));
    let refreshed = browser.post("/auth/refresh").await;
    assert_eq!(refreshed.status, 503, "{}", refreshed.body);
    assert!(refreshed.set_cookies().is_empty());
    assert!(browser.cookie("app_auth_refresh").is_some());
    // A refusal (4xx) ends the session.
    provider.set_token_fault(Some(TokenFault::Status(
        StatusCode::BAD_REQUEST,
        json!({ "error": "invalid_grant" }),
    )));
    let refused = browser.post("/auth/refresh").await;
    assert_eq!(refused.status, 401);
    assert!(browser.cookie("app_auth_refresh").is_none());
}

#[tokio::test]
async fn logout_clears_the_cookies_as_they_were_set_and_answers_the_end_session_url() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    let id_token = browser.cookie("app_auth_id").unwrap();

    let logout = browser.post("/auth/logout").await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    let url = logout.json()["logoutUrl"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}end-session/?", issuer())),
        "{url}"
    );
    let q = query_of(&url);
    assert!(q["id_token_hint"] == id_token, "the ID token is the hint");
    assert_eq!(q["post_logout_redirect_uri"], format!("{FRONTEND}/"));
    assert_eq!(q["client_id"], CLIENT_ID);

    for name in ["app_auth", "app_auth_refresh", "app_auth_id"] {
        let set = attributes(&exchange.set_cookie(name).unwrap());
        let cleared = attributes(&logout.set_cookie(name).unwrap());
        for attr in ["Path", "HttpOnly", "SameSite"] {
            assert_eq!(set.get(attr), cleared.get(attr), "{name} {attr}");
        }
        assert_eq!(set.contains_key("Secure"), cleared.contains_key("Secure"));
        assert_eq!(cleared["Max-Age"], "0");
        assert!(browser.cookie(name).is_none());
    }
    assert_eq!(browser.get("/auth/session").await.status, 401);

    // The provider accepts the logout URL (reached through its internal URL) and
    // sends the browser back to the frontend.
    let internal = url.replacen(PUBLIC_BASE, &provider.base_url(), 1);
    let ended = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(internal)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 302);
    assert_eq!(ended.headers()["location"], format!("{FRONTEND}/"));
    assert_eq!(provider.end_sessions(), 1);
}

#[tokio::test]
async fn cookies_are_secure_in_production_and_for_an_https_api() {
    let provider = common::provider();
    for builder in [
        provider.flow_config().production(true),
        authgate_flow::FlowConfig::builder(CLIENT_ID, FRONTEND, "https://api.example.com")
            .client_secret(common::CLIENT_SECRET),
    ] {
        let flow = Flow::new(provider.authenticator(), builder.build().unwrap()).unwrap();
        // Secure cookies with the default names carry the `__Host-` prefix (the access
        // cookie) and `__Secure-` (its companions on other paths).
        assert_eq!(flow.cookie_name(FlowCookie::Access), "__Host-app_auth");
        assert_eq!(
            flow.cookie_name(FlowCookie::Refresh),
            "__Secure-app_auth_refresh"
        );
        let (mut browser, _) = signed_in(&provider, &flow).await;
        let access = browser
            .cookie("__Host-app_auth")
            .expect("the prefixed access cookie");
        assert!(browser.cookie("app_auth").is_none());
        // The layer reads it, and a session from before the upgrade (plain name).
        assert_eq!(browser.get("/auth/session").await.status, 200);
        let mut legacy = common::browser(flow.router());
        legacy.set_cookie("app_auth", &access, "/");
        assert_eq!(legacy.get("/auth/session").await.status, 200);
        let logout = browser.post("/auth/logout").await;
        let cleared = attributes(&logout.set_cookie("__Host-app_auth").unwrap());
        assert!(cleared.contains_key("Secure"));
        assert_eq!(cleared["Path"], "/");
    }
    // Without Secure cookies (plain-HTTP development), the plain names.
    assert_eq!(provider.flow().cookie_name(FlowCookie::Access), "app_auth");
}

#[tokio::test]
async fn session_without_cookie_is_401_with_www_authenticate() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = common::browser(flow.router());
    let session = browser.get("/auth/session").await;
    assert_eq!(session.status, 401);
    assert_eq!(session.json()["error"], "missing_token");
    assert!(session.headers.contains_key("www-authenticate"));
    // Wrong methods are not routed.
    assert_eq!(browser.post("/auth/session").await.status, 405);
    assert_eq!(browser.get("/auth/exchange").await.status, 405);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_503_page_at_login() {
    // The core points at a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let auth = authgate::Authenticator::new(
        authgate::AuthConfig::authentik(PUBLIC_BASE, SLUG, CLIENT_ID)
            .internal_url(format!("http://{closed}"))
            .http_timeouts(Duration::from_millis(500), Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    let provider = common::provider();
    let flow = Flow::new(auth, provider.flow_config().build().unwrap()).unwrap();
    let mut browser = common::browser(flow.router());
    let login = browser.get_page("/auth/login").await;
    assert_eq!(login.status, 503, "{}", login.body);
    assert!(login.body.contains("provider_unavailable"));
    // Logging out still works locally.
    let logout = browser.post("/auth/logout").await;
    assert_eq!(logout.status, 200);
    assert_eq!(logout.json()["logoutUrl"], format!("{FRONTEND}/"));
}

#[tokio::test]
async fn a_custom_prefix_moves_endpoints_and_cookie_paths() {
    let provider = common::provider();
    let flow = Flow::new(
        provider.authenticator(),
        provider.flow_config().prefix("/api/auth").build().unwrap(),
    )
    .unwrap();
    let mut browser = common::browser(flow.router());
    let login = browser.get("/api/auth/login").await;
    assert_eq!(login.status, 302);
    assert_eq!(
        query_of(&login.location())["redirect_uri"],
        format!("{API}/api/auth/callback")
    );
    let query = provider.callback_query(&login.location(), "alice");
    let callback = browser.get(&format!("/api/auth/callback?{query}")).await;
    let code = query_of(&callback.location())["exchange"].clone();
    let exchange = browser
        .post_json("/api/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    assert_eq!(
        attributes(&exchange.set_cookie("app_auth_refresh").unwrap())["Path"],
        "/api/auth"
    );
    assert_eq!(browser.post("/api/auth/refresh").await.status, 200);
    assert_eq!(browser.get("/auth/login").await.status, 404);
}

#[tokio::test(flavor = "current_thread")]
async fn no_token_or_code_reaches_a_log_line() {
    let (logs, _guard) = common::logs::capture();
    let provider = common::provider();
    let flow = provider.flow();
    let (mut browser, _) = signed_in(&provider, &flow).await;
    assert_eq!(browser.post("/auth/refresh").await.status, 200);
    // Failures are logged (at debug) too: a replayed code, a refused refresh.
    let code = common::login_to_exchange_code(&mut browser, &provider, "alice").await;
    browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    provider.set_token_fault(Some(TokenFault::Status(
        StatusCode::BAD_REQUEST,
        json!({ "error": "invalid_grant" }),
    )));
    browser.post("/auth/refresh").await;
    browser.post("/auth/logout").await;

    let text = logs.text();
    assert!(text.contains("login flow request refused"), "{text}");
    let mut secrets = provider.issued_tokens();
    secrets.push(code);
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "a secret reached the logs:\n{text}"
        );
    }
}

/// The flow's token requests go through the application's own client (here one
/// with a proxy), with the client secret as configured.
#[tokio::test]
async fn the_token_endpoint_is_called_through_your_own_client() {
    let provider = common::provider();
    let proxy = authgate_test_support::proxy::HttpProxy::start().await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(proxy.url()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let flow = Flow::new(
        provider.authenticator(),
        provider.flow_config().http_client(client).build().unwrap(),
    )
    .unwrap();
    let (_, exchanged) = signed_in(&provider, &flow).await;
    assert_eq!(exchanged["success"], true, "{exchanged}");
    let token_url = format!("{}/application/o/token/", provider.base_url());
    assert!(
        proxy.requests().contains(&format!("POST {token_url}")),
        "{:?}",
        proxy.requests()
    );
    assert_eq!(provider.token_requests().len(), 1);
}

/// A hook that answers in its own shape: `{"hooked": code, "cause": the core's code}`.
fn hooked(
    rejection: authgate::Rejection,
    error: Option<&authgate::AuthError>,
) -> http::Response<String> {
    let body = json!({
        "hooked": rejection.code(),
        "cause": error.map(authgate::AuthError::code),
    });
    http::Response::builder()
        .status(rejection.status())
        .header("content-type", "application/vnd.hooked+json")
        .body(body.to_string())
        .unwrap()
}

#[tokio::test]
async fn a_hook_answers_every_refused_flow_request() {
    let provider = common::provider();
    let flow = Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .on_rejection(hooked)
    .build()
    .unwrap();
    let mut browser = common::browser(flow.router());

    // A callback without its state, even for a browser that asks for a page.
    let callback = browser.get_page("/auth/callback?code=c").await;
    assert_eq!(callback.status, 400);
    assert_eq!(
        callback.header("content-type"),
        Some("application/vnd.hooked+json")
    );
    assert_eq!(
        callback.json(),
        json!({"hooked": "invalid_request", "cause": null})
    );
    assert_eq!(callback.headers["cache-control"], "no-store");
    // The login state is cleared on the hook's answer too.
    assert!(callback.set_cookie("app_auth_login").is_some());

    // `/session` without a cookie: the core's error reaches the hook.
    let session = browser.get("/auth/session").await;
    assert_eq!(session.status, 401);
    assert_eq!(
        session.json(),
        json!({"hooked": "missing_token", "cause": "missing_token"})
    );

    // A refresh without its cookie ends the session: the cookies are cleared.
    let refresh = browser.post("/auth/refresh").await;
    assert_eq!(refresh.status, 401);
    assert_eq!(
        refresh.json(),
        json!({"hooked": "no_refresh_token", "cause": null})
    );
    assert!(refresh.set_cookie("app_auth").is_some());

    // A request that succeeds is the flow's own.
    let login = browser.get("/auth/login").await;
    assert_eq!(login.status, 302);
}
