//! The whole journey in a real browser: Debian's headless Chromium, driven through
//! chromedriver, against the demo's frontend, API and embedded issuer, each on its own
//! loopback origin. A screenshot of every step goes to
//! `target/tmp/browser-journey/`, so a failure can be looked at.
//!
//! Without chromium or chromedriver the test fails, saying how to install them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use authgate_test_support::webdriver::Chrome;
use axum::response::Html;
use axum::routing::get;
use demo::{Demo, DemoOptions};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-journey")
}

/// Waits (15 s at most, a safety net) until the page's `#status` is in `state`
/// (`signed-in`, `signed-out`, `error`).
async fn wait_state(chrome: &Chrome, state: &str) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = chrome
            .execute(
                "const s = document.getElementById('status'); return s ? s.dataset.state : null;",
                vec![],
            )
            .await?;
        if now == state {
            return Ok(());
        }
        if Instant::now() > deadline {
            let text = chrome.text("#status").await.unwrap_or_default();
            return Err(format!(
                "#status on {} is {now} ({text:?}), not {state}",
                chrome.url().await?
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks `button` and waits for `output` to show an HTTP status; returns it.
async fn status_of(
    chrome: &Chrome,
    button: &str,
    output: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    chrome
        .execute(
            "document.querySelector(arguments[0]).textContent = '';",
            vec![output.into()],
        )
        .await?;
    chrome.click(button).await?;
    Ok(chrome
        .wait_text(output, |t| {
            t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit())
        })
        .await?)
}

/// Signs in from the frontend's home page as `sub`, by the provider's page.
async fn sign_in(chrome: &mut Chrome, demo: &Demo, sub: &str) -> TestResult {
    chrome.goto(&format!("{}/", demo.frontend_url())).await?;
    wait_state(chrome, "signed-out").await?;
    chrome.click("#login").await?;
    // The issuer's sign-in page, on its own origin, lists the users as buttons.
    chrome
        .wait_url(|u| u.starts_with(&demo.issuer().base_url()))
        .await?;
    chrome.text(&format!("#login-{sub}")).await?;
    chrome.screenshot(&format!("provider-page-{sub}")).await?;
    chrome.click(&format!("#login-{sub}")).await?;
    // Callback at the API, exchange at the frontend, then the page the login asked for.
    wait_state(chrome, "signed-in").await?;
    Ok(())
}

/// Pages of an attacker: on load they POST an item to the API with the browser's
/// cookies, as a form would (no preflight), and record what happened in the title.
fn attacker(api: &str) -> axum::Router {
    let page = format!(
        r#"<!doctype html><title>attacking</title>
<script>
fetch("{api}/api/items", {{
  method: "POST", mode: "no-cors", credentials: "include",
  headers: {{ "Content-Type": "text/plain" }}, body: '{{"name":"planted"}}'
}}).then(() => {{ document.title = "sent"; }}, () => {{ document.title = "blocked"; }});
</script>"#
    );
    axum::Router::new().route("/", get(move || async move { Html(page) }))
}

async fn serve(router: axum::Router) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(port)
}

async fn items_count(chrome: &Chrome) -> Result<String, Box<dyn std::error::Error>> {
    chrome
        .execute(
            "document.getElementById('items-count').textContent = '';",
            vec![],
        )
        .await?;
    chrome.click("#load-items").await?;
    Ok(chrome
        .wait_text("#items-count", |t| !t.is_empty() && t != "…")
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_chromium() -> TestResult {
    let demo = Demo::start(DemoOptions::default()).await?;
    let mut chrome = Chrome::start(&shots()).await?;

    // Signed out at first.
    chrome.goto(&format!("{}/", demo.frontend_url())).await?;
    wait_state(&chrome, "signed-out").await?;
    chrome.screenshot("home-signed-out").await?;

    // Log in as Ada (an admin) and see /api/me.
    sign_in(&mut chrome, &demo, "ada").await?;
    chrome.goto(&format!("{}/me", demo.frontend_url())).await?;
    wait_state(&chrome, "signed-in").await?;
    assert_eq!(chrome.text("#me-sub").await?, "ada");
    assert_eq!(chrome.text("#me-email").await?, "ada@example.com");
    assert_eq!(chrome.text("#me-org").await?, "org-1");
    assert_eq!(chrome.text("#me-role").await?, "admin");
    assert_eq!(chrome.text("#me-roles").await?, "admin");
    assert!(chrome.text("#me-groups").await?.contains("app-admins"));
    chrome.screenshot("me-ada").await?;

    // The tokens are in HttpOnly cookies: the browser holds them, the page cannot read them.
    let api_cookies = {
        chrome.goto(&format!("{}/healthz", demo.api_url())).await?;
        chrome.cookies().await?
    };
    let access = demo
        .cookie_name(authgate_flow::FlowCookie::Access)
        .to_owned();
    let held: Vec<&(String, String, bool)> = api_cookies
        .iter()
        .filter(|(name, _, _)| name == &access)
        .collect();
    assert_eq!(held.len(), 1, "the access cookie is set: {api_cookies:?}");
    assert!(held[0].2, "the access cookie is HttpOnly");
    chrome.goto(&format!("{}/me", demo.frontend_url())).await?;
    wait_state(&chrome, "signed-in").await?;
    let visible = chrome.execute("return document.cookie;", vec![]).await?;
    let visible = visible.as_str().unwrap_or_default();
    for (name, value, _) in &api_cookies {
        assert!(
            !visible.contains(value.as_str()) || value.is_empty(),
            "document.cookie shows the value of {name}"
        );
    }
    assert!(
        !visible.contains("eyJ"),
        "document.cookie shows a JWT: {visible}"
    );

    // Guarded calls: Ada is an admin.
    assert_eq!(
        status_of(&chrome, "#admin-btn", "#admin-status").await?,
        "200"
    );
    assert_eq!(
        status_of(&chrome, "#support-btn", "#support-status").await?,
        "200"
    );
    chrome.screenshot("guards-ada").await?;

    // Pages on other origins POST to /api/items with Ada's cookies: a sibling origin
    // on the same site (localhost, another port) and another site (127.0.0.1). Both
    // are refused, and nothing is created.
    let before = items_count(&chrome).await?;
    let sibling = serve(attacker(demo.api_url())).await?;
    let cross = serve(attacker(demo.api_url())).await?;
    for page in [
        format!("http://localhost:{sibling}/"),
        format!("http://127.0.0.1:{cross}/"),
    ] {
        chrome.goto(&page).await?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while chrome.title().await? == "attacking" {
            assert!(Instant::now() < deadline, "the attack page never finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        chrome.screenshot("attack").await?;
    }
    chrome.goto(&format!("{}/me", demo.frontend_url())).await?;
    wait_state(&chrome, "signed-in").await?;
    assert_eq!(items_count(&chrome).await?, before, "no item was created");
    // The frontend itself may create one (the same request from the trusted origin).
    chrome.click("#add-item").await?;
    chrome.wait_text("#add-item-status", |t| t == "201").await?;

    // Refresh keeps the session.
    assert_eq!(
        status_of(&chrome, "#refresh-btn", "#refresh-status").await?,
        "200"
    );
    wait_state(&chrome, "signed-in").await?;
    assert_eq!(chrome.text("#me-sub").await?, "ada");
    chrome.screenshot("refreshed").await?;

    // Log out: the frontend follows logoutUrl through the issuer's end-session endpoint
    // and lands signed out.
    let ended_before = demo.issuer().end_sessions();
    chrome.click("#logout-btn").await?;
    chrome
        .wait_url(|u| u.starts_with(demo.frontend_url()) && !u.contains("/me"))
        .await?;
    wait_state(&chrome, "signed-out").await?;
    assert_eq!(demo.issuer().end_sessions(), ended_before + 1);
    chrome.screenshot("logged-out").await?;

    // Neither a reload nor the back button brings the session back.
    chrome.reload().await?;
    wait_state(&chrome, "signed-out").await?;
    chrome.back().await?;
    wait_state(&chrome, "signed-out").await?;
    chrome.screenshot("back-after-logout").await?;
    chrome.goto(&format!("{}/healthz", demo.api_url())).await?;
    let left: Vec<String> = chrome
        .cookies()
        .await?
        .into_iter()
        .filter(|(_, value, _)| !value.is_empty())
        .map(|(name, _, _)| name)
        .collect();
    assert!(
        !left.contains(&access),
        "the access cookie is gone: {left:?}"
    );

    // Uma is a plain user: the admin and support buttons answer 403.
    sign_in(&mut chrome, &demo, "uma").await?;
    chrome.goto(&format!("{}/me", demo.frontend_url())).await?;
    wait_state(&chrome, "signed-in").await?;
    assert_eq!(chrome.text("#me-role").await?, "user");
    assert_eq!(chrome.text("#me-roles").await?, "user");
    assert_eq!(
        status_of(&chrome, "#admin-btn", "#admin-status").await?,
        "403"
    );
    assert_eq!(
        status_of(&chrome, "#support-btn", "#support-status").await?,
        "403"
    );
    chrome.screenshot("guards-uma").await?;
    let value: Value = chrome.execute("return location.origin;", vec![]).await?;
    assert_eq!(value, demo.frontend_url());
    Ok(())
}
