//! The authorization endpoint over real HTTP: sign-in, the page, every refusal.

mod common;

use authgate_testkit::{Endpoint, TestIssuer, TestUser, TestkitError};
use common::{AuthRequest, REDIRECT, http, location, query_of};

async fn page(
    issuer: &TestIssuer,
    request: &AuthRequest,
) -> (u16, String, reqwest::header::HeaderMap) {
    let response = http().get(request.url(issuer)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap(), headers)
}

#[tokio::test]
async fn login_hint_signs_in_at_once_with_code_state_and_iss() {
    let issuer = common::start().await;
    let request = AuthRequest::new(&issuer).set("login_hint", Some("ada"));
    let response = http().get(request.url(&issuer)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let to = location(&response);
    assert!(to.starts_with(&format!("{REDIRECT}?code=")), "{to}");
    let q = query_of(&to);
    assert_eq!(q["code"].len(), 43);
    assert_eq!(q["state"], "the-state");
    assert_eq!(q["iss"], issuer.issuer());
    assert_eq!(q.len(), 3);
    assert_eq!(issuer.requests(Endpoint::Authorize), 1);

    // Without a state, none comes back; a redirect URI with a query keeps it.
    issuer.add_redirect_uri("http://localhost:3000/cb?tenant=a");
    let request = AuthRequest::new(&issuer)
        .set("state", None)
        .set("redirect_uri", Some("http://localhost:3000/cb?tenant=a"))
        .set("login_hint", Some("sam"));
    let response = http().get(request.url(&issuer)).send().await.unwrap();
    let q = query_of(&location(&response));
    assert_eq!(q["tenant"], "a");
    assert!(q.contains_key("code") && !q.contains_key("state"));
}

#[tokio::test]
async fn the_page_lists_the_users_as_buttons_in_a_post_form() {
    let issuer = common::builder()
        .user(TestUser::new("eve").name("<b>Eve & \"Co\"</b>"))
        .start()
        .await
        .unwrap();
    let request = AuthRequest::new(&issuer).set("state", Some("\"><script>alert(1)</script>"));
    let (status, html, headers) = page(&issuer, &request).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("<form method=\"post\" action=\"/application/o/authorize/\">"));
    // One button per user, in order, with the ids a WebDriver test clicks.
    let ada = html.find("id=\"login-ada\"").expect("ada's button");
    let sam = html.find("id=\"login-sam\"").expect("sam's button");
    let eve = html.find("id=\"login-eve\"").expect("eve's button");
    assert!(ada < sam && sam < eve);
    assert!(html.contains(
        "<button type=\"submit\" name=\"sub\" value=\"ada\" id=\"login-ada\" data-sub=\"ada\">Ada Admin"
    ));
    assert!(html.contains("ada@example.com"));
    // Every text is escaped.
    assert!(
        html.contains("&lt;b&gt;Eve &amp; &quot;Co&quot;&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>Eve"));
    assert!(
        html.contains("name=\"state\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"")
    );
    // The request rides in hidden fields.
    for (name, value) in &request.params {
        if name != "state" {
            assert!(
                html.contains(&format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">"
                )),
                "{name}"
            );
        }
    }
    assert!(html.contains("id=\"cancel\""));
}

#[tokio::test]
async fn the_page_buttons_sign_in_or_cancel() {
    let issuer = common::start().await;
    let request = AuthRequest::new(&issuer);
    let url = issuer.endpoint_url(Endpoint::Authorize);
    let with = |extra: (&'static str, &'static str)| -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = request
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(extra);
        pairs
    };

    // A click on sam's button: 303 back to the client with a code for sam.
    let response = common::post_form(&url, &with(("sub", "sam")), None).await;
    assert_eq!(response.status(), 303);
    let q = query_of(&location(&response));
    assert_eq!(q["state"], "the-state");
    assert_eq!(q["iss"], issuer.issuer());
    let tokens = common::redeem(&issuer, &q["code"], &request).await;
    assert_eq!(
        common::payload(tokens["id_token"].as_str().unwrap())["sub"],
        "sam"
    );

    // Cancel: access_denied, with state and iss.
    let response = common::post_form(&url, &with(("cancel", "1")), None).await;
    assert_eq!(response.status(), 303);
    let q = query_of(&location(&response));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "the-state");
    assert_eq!(q["iss"], issuer.issuer());
    assert!(!q.contains_key("code"));

    // A sub that is not a user is a page, not a sign-in.
    let response = common::post_form(&url, &with(("sub", "mallory")), None).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    // The form without a choice shows the page again; a non-form body is refused.
    let response = common::post_form(&url, &with(("x", "y")), None).await;
    assert_eq!(response.status(), 200);
    let response = http().post(&url).body("sub=ada").send().await.unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn auto_login_and_login_hint_and_prompt_none() {
    let issuer = common::builder().auto_login("sam").start().await.unwrap();
    let plain = AuthRequest::new(&issuer);
    let response = http().get(plain.url(&issuer)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let code = query_of(&location(&response))["code"].clone();
    let tokens = common::redeem(&issuer, &code, &plain).await;
    assert_eq!(
        common::payload(tokens["access_token"].as_str().unwrap())["sub"],
        "sam"
    );

    // A login_hint naming a user wins over the auto-login.
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    assert_eq!(
        common::payload(tokens["access_token"].as_str().unwrap())["sub"],
        "ada"
    );

    // Auto-login off: the page; an unknown login_hint: the page.
    issuer.set_auto_login(None);
    assert_eq!(page(&issuer, &plain).await.0, 200);
    let unknown = plain.clone().set("login_hint", Some("nobody"));
    assert_eq!(page(&issuer, &unknown).await.0, 200);
    issuer.set_auto_login(Some("nobody"));
    assert_eq!(page(&issuer, &plain).await.0, 200);

    // prompt=none without a user to sign in: login_required.
    issuer.set_auto_login(None);
    let silent = plain.clone().set("prompt", Some("none"));
    let response = http().get(silent.url(&issuer)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(query_of(&location(&response))["error"], "login_required");

    assert!(matches!(
        TestIssuer::builder().auto_login("ghost").start().await,
        Err(TestkitError::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn an_untrusted_redirect_uri_is_a_400_page_never_a_redirect() {
    let issuer = common::start().await;
    let base = AuthRequest::new(&issuer).set("login_hint", Some("ada"));
    let cases = [
        (
            "unregistered",
            base.clone()
                .set("redirect_uri", Some("http://evil.example/cb")),
        ),
        (
            "prefix",
            base.clone()
                .set("redirect_uri", Some(&format!("{REDIRECT}/x"))),
        ),
        (
            "other case",
            base.clone()
                .set("redirect_uri", Some("http://LOCALHOST:3000/auth/callback")),
        ),
        ("missing", base.clone().set("redirect_uri", None)),
        (
            "repeated",
            base.clone().add("redirect_uri", "http://evil.example/cb"),
        ),
        (
            "unknown client",
            base.clone().set("client_id", Some("other")),
        ),
        ("no client", base.clone().set("client_id", None)),
        // Even with other errors, the redirect URI is judged first.
        (
            "plain pkce too",
            base.clone()
                .set("redirect_uri", Some("http://evil.example/cb"))
                .set("code_challenge_method", Some("plain")),
        ),
    ];
    for (case, request) in cases {
        let (status, html, headers) = page(&issuer, &request).await;
        assert_eq!(status, 400, "{case}");
        assert!(headers.get("location").is_none(), "{case}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{case}"
        );
        assert!(html.contains("Request refused"), "{case}: {html}");
        assert!(
            !html.contains("evil.example"),
            "{case}: the page does not link to it"
        );
    }

    // Registered at runtime: accepted.
    issuer.add_redirect_uri("http://evil.example/cb");
    let request = base.set("redirect_uri", Some("http://evil.example/cb"));
    let response = http().get(request.url(&issuer)).send().await.unwrap();
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn other_refusals_redirect_with_error_state_and_iss() {
    let issuer = common::start().await;
    let base = AuthRequest::new(&issuer).set("login_hint", Some("ada"));
    let cases = [
        (
            "plain PKCE",
            base.clone().set("code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            "no method (means plain)",
            base.clone().set("code_challenge_method", None),
            "invalid_request",
        ),
        (
            "no challenge",
            base.clone().set("code_challenge", None),
            "invalid_request",
        ),
        (
            "short challenge",
            base.clone().set("code_challenge", Some("abc")),
            "invalid_request",
        ),
        (
            "no openid",
            base.clone().set("scope", Some("email profile")),
            "invalid_scope",
        ),
        (
            "token flow",
            base.clone().set("response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            "no response_type",
            base.clone().set("response_type", None),
            "unsupported_response_type",
        ),
        (
            "repeated nonce",
            base.clone().add("nonce", "other"),
            "invalid_request",
        ),
        (
            "form_post",
            base.clone().set("response_mode", Some("form_post")),
            "invalid_request",
        ),
    ];
    for (case, request, error) in cases {
        let response = http().get(request.url(&issuer)).send().await.unwrap();
        assert_eq!(response.status(), 302, "{case}");
        let to = location(&response);
        assert!(to.starts_with(&format!("{REDIRECT}?")), "{case}: {to}");
        let q = query_of(&to);
        assert_eq!(q["error"], error, "{case}");
        assert!(!q["error_description"].is_empty(), "{case}");
        assert_eq!(q["state"], "the-state", "{case}");
        assert_eq!(q["iss"], issuer.issuer(), "{case}");
        assert!(!q.contains_key("code"), "{case}");
    }
    // No code was issued by any of them.
    assert!(issuer.token_requests().is_empty());
}

#[tokio::test]
async fn in_process_authorize_checks_like_the_endpoint() {
    let issuer = common::builder()
        .public_url("http://auth.invalid/")
        .start()
        .await
        .unwrap();
    assert_eq!(issuer.public_url(), "http://auth.invalid");
    let request = AuthRequest::new(&issuer);
    let advertised = format!(
        "http://auth.invalid/application/o/authorize/?{}",
        request.query()
    );

    // On the advertised base and on the loopback base alike.
    for url in [advertised.clone(), request.url(&issuer)] {
        let to = issuer.authorize(&url, "ada").unwrap();
        let q = query_of(&to);
        assert!(to.starts_with(&format!("{REDIRECT}?code=")));
        assert_eq!(q["state"], "the-state");
        assert_eq!(q["iss"], "http://auth.invalid/application/o/authgate/");
        let tokens = common::redeem(&issuer, &q["code"], &request).await;
        assert_eq!(
            common::payload(tokens["id_token"].as_str().unwrap())["nonce"],
            "the-nonce"
        );
    }
    // Not an HTTP request: not counted.
    assert_eq!(issuer.requests(Endpoint::Authorize), 0);

    assert!(matches!(
        issuer.authorize(&advertised, "nobody"),
        Err(TestkitError::UnknownUser(sub)) if sub == "nobody"
    ));
    let elsewhere = advertised.replace("auth.invalid", "evil.example");
    assert!(matches!(
        issuer.authorize(&elsewhere, "ada"),
        Err(TestkitError::AuthorizationRefused(_))
    ));
    let unregistered = format!(
        "http://auth.invalid/application/o/authorize/?{}",
        request
            .clone()
            .set("redirect_uri", Some("http://evil.example/"))
            .query()
    );
    assert!(matches!(
        issuer.authorize(&unregistered, "ada"),
        Err(TestkitError::AuthorizationRefused(_))
    ));
    // A refusal after the redirect URI is the error redirect.
    let plain = format!(
        "http://auth.invalid/application/o/authorize/?{}",
        request
            .clone()
            .set("code_challenge_method", Some("plain"))
            .query()
    );
    let to = issuer.authorize(&plain, "ada").unwrap();
    assert_eq!(query_of(&to)["error"], "invalid_request");

    issuer.set_outage(true);
    assert!(matches!(
        issuer.authorize(&advertised, "ada"),
        Err(TestkitError::Outage)
    ));
}
