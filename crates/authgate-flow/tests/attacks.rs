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

/// A back-channel logout token from the provider, for `sid` (or, without one, `sub`).
fn logout_token(provider: &TestIssuer) -> authgate_testkit::TokenBuilder {
    provider
        .token()
        .remove_claim("uid")
        .remove_claim("azp")
        .remove_claim("sub")
        .claim("jti", format!("jti-{}", authgate_testkit::now()))
        .claim(
            "events",
            json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
        )
        .header("typ", "logout+jwt")
}

async fn post_logout_token(
    browser: &mut authgate_test_support::Browser,
    token: &str,
) -> authgate_test_support::Reply {
    browser
        .post_form("/auth/backchannel-logout", &[("logout_token", token)])
        .await
}

#[tokio::test]
async fn a_backchannel_logout_ends_the_session_and_cannot_be_forged_or_replayed() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut user = signed_in(&provider, &flow).await;
    assert_eq!(user.get("/auth/session").await.status, 200);
    let access = user.cookie("app_auth").unwrap();
    let sid = {
        use base64::Engine as _;
        let payload = access.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    };
    let mut idp = common::browser(flow.router());
    idp.origin = None; // a server-to-server call: no Origin, no cookies

    // Refused: each check of Back-Channel Logout 1.0 §2.6, one at a time.
    let now = authgate_testkit::now();
    let forged: Vec<(&str, String)> = vec![
        (
            "an ID token (nonce)",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .claim("nonce", "n")
                .sign(),
        ),
        (
            "no events",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .remove_claim("events")
                .sign(),
        ),
        (
            "another event",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .claim("events", json!({ "urn:other": {} }))
                .sign(),
        ),
        ("neither sid nor sub", logout_token(&provider).sign()),
        (
            "no jti",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .remove_claim("jti")
                .sign(),
        ),
        (
            "another audience",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .aud("other-client")
                .sign(),
        ),
        (
            "another issuer",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .iss("https://evil.example/")
                .sign(),
        ),
        (
            "too old",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .iat(now - 3600)
                .sign(),
        ),
        (
            "from the future",
            logout_token(&provider)
                .claim("sid", sid.as_str())
                .iat(now + 3600)
                .sign(),
        ),
        (
            "unsigned",
            authgate_testkit::unsigned_token(
                &json!({ "alg": "none" }),
                &logout_token(&provider).claim("sid", sid.as_str()).claims(),
            )
            .unwrap(),
        ),
    ];
    for (case, token) in forged {
        let refused = post_logout_token(&mut idp, &token).await;
        assert_eq!(refused.status, 400, "{case}: {}", refused.body);
        assert_eq!(refused.json()["error"], "invalid_logout_token", "{case}");
    }
    assert_eq!(
        user.get("/auth/session").await.status,
        200,
        "still signed in"
    );
    let not_a_form = idp
        .post_json("/auth/backchannel-logout", &json!({ "logout_token": "x" }))
        .await;
    assert_eq!(not_a_form.status, 415);

    // The real one ends the session: the access cookie is refused at once.
    let token = logout_token(&provider).claim("sid", sid.as_str()).sign();
    let done = post_logout_token(&mut idp, &token).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let after = user.get("/auth/session").await;
    assert_eq!(after.status, 401);
    assert_eq!(after.json()["error"], "token_revoked");

    // A replay of the same token (same jti) is refused.
    let replay = post_logout_token(&mut idp, &token).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("already used"), "{}", replay.body);
}

#[tokio::test]
async fn a_backchannel_logout_by_sub_ends_every_session_of_the_user() {
    let provider = common::provider();
    let flow = provider.flow();
    let mut first = signed_in(&provider, &flow).await;
    let mut second = signed_in(&provider, &flow).await;
    let mut idp = common::browser(flow.router());
    idp.origin = None;
    let token = logout_token(&provider).sub("alice").sign();
    assert_eq!(post_logout_token(&mut idp, &token).await.status, 200);
    assert_eq!(first.get("/auth/session").await.status, 401);
    assert_eq!(second.get("/auth/session").await.status, 401);
}
