//! The attacks of the security review, performed against the flow over HTTP (in
//! process), each shown failing: login CSRF through a planted exchange code, a
//! sibling subdomain posting with the user's cookies, two tabs refreshing at once,
//! and a refreshed ID token for another user.

mod common;

use authgate_flow::Flow;
use authgate_testkit::{TestIssuer, TokenFault};
use common::{FRONTEND, FlowProvider};
use serde_json::json;

async fn signed_in(provider: &TestIssuer, flow: &Flow) -> authgate_test_support::Browser {
    let mut browser = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut browser, provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    browser
}

#[tokio::test]
async fn a_planted_exchange_code_does_not_sign_the_victim_in() {
    // The attacker completes their own login and keeps the frontend callback URL
    // (…/auth/callback?exchange=X) instead of following it; the victim is sent there,
    // and the victim's frontend redeems X with a trusted Origin.
    let provider = common::provider();
    let flow = provider.flow();
    let mut attacker = common::browser(flow.router());
    let code = common::login_to_exchange_code(&mut attacker, &provider, "mallory").await;

    let mut victim = common::browser(flow.router());
    let planted = victim
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(planted.status, 400, "{}", planted.body);
    assert_eq!(planted.json()["error"], "exchange_not_bound");
    for session in ["app_auth", "app_auth_refresh", "app_auth_id"] {
        assert!(planted.set_cookie(session).is_none(), "{session} was set");
    }
    assert!(victim.cookie("app_auth").is_none());

    // The code is burned: not even the attacker's browser can use it now.
    let burned = attacker
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(burned.status, 400);
    assert_eq!(burned.json()["error"], "invalid_exchange_code");

    // Someone who only saw the code (a log, a Referer) is no better off.
    let code = common::login_to_exchange_code(&mut attacker, &provider, "alice").await;
    let mut eavesdropper = common::browser(flow.router());
    eavesdropper.set_cookie("app_auth_exchange", "guessed-binding", "/auth/exchange");
    let stolen = eavesdropper
        .post_json("/auth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(stolen.json()["error"], "exchange_not_bound");
}

#[tokio::test]
async fn a_sibling_subdomain_cannot_post_with_the_users_cookies() {
    let provider = common::provider();
    let flow = provider.flow();
    let browser = signed_in(&provider, &flow).await;
    for (origin, site) in [
        (Some("http://blog.localhost:5173"), Some("same-site")),
        (Some("null"), Some("same-origin")),
        (None, Some("same-site")),
        (None, None),
    ] {
        let mut sibling = browser.clone();
        sibling.origin = None;
        let mut headers = Vec::new();
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        if let Some(site) = site {
            headers.push(("sec-fetch-site", site));
        }
        for path in ["/auth/refresh", "/auth/logout"] {
            let refused = sibling.send(http::Method::POST, path, None, &headers).await;
            assert_eq!(refused.status, 403, "{path} {headers:?}: {}", refused.body);
            assert_eq!(refused.json()["error"], "cross_site_request");
        }
    }
    // The frontend itself still may.
    let mut frontend = browser.clone();
    frontend.origin = Some(FRONTEND.to_owned());
    assert_eq!(frontend.post("/auth/refresh").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_refreshing_at_once_both_stay_signed_in() {
    let provider = common::provider();
    let flow = provider.flow();
    let browser = signed_in(&provider, &flow).await;
    let spent = browser.cookie("app_auth_refresh").unwrap();
    let (mut tab_a, mut tab_b) = (browser.clone(), browser.clone());
    let (a, b) = tokio::join!(
        async move {
            let reply = tab_a.post("/auth/refresh").await;
            (reply, tab_a)
        },
        async move {
            let reply = tab_b.post("/auth/refresh").await;
            (reply, tab_b)
        }
    );
    let ((a, tab_a), (b, tab_b)) = (a, b);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(b.status, 200, "{}", b.body);
    // Rotation happened once, and both tabs hold the same new tokens.
    let (ra, rb) = (
        tab_a.cookie("app_auth_refresh").unwrap(),
        tab_b.cookie("app_auth_refresh").unwrap(),
    );
    assert_eq!(ra, rb);
    assert_ne!(ra, spent);
    assert_eq!(tab_a.cookie("app_auth"), tab_b.cookie("app_auth"));
    let refreshes = provider
        .token_requests()
        .iter()
        .filter(|r| r.grant_type == "refresh_token")
        .count();
    assert!(refreshes <= 2, "{refreshes}");
    // Neither answer cleared a cookie.
    for reply in [&a, &b] {
        for name in ["app_auth", "app_auth_refresh"] {
            let cookie = reply.set_cookie(name).unwrap();
            assert!(!cookie.contains("Max-Age=0"), "{cookie}");
        }
    }
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_user_ends_the_session() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut browser = signed_in(&provider, &flow).await;
    provider.set_token_fault(Some(TokenFault::IdTokenSubject("mallory".into())));
    let refreshed = browser.post("/auth/refresh").await;
    assert_eq!(refreshed.status, 401, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "refresh_failed");
    assert!(browser.cookie("app_auth").is_none(), "cookies cleared");
    // With the provider behaving again, a fresh login works.
    provider.set_token_fault(None);
    let again = signed_in(&provider, &flow).await;
    assert!(again.cookie("app_auth").is_some());
}
