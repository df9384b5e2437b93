//! The WebDriver client against a real headless Chromium: a page served on loopback,
//! a click that changes it, a script, back and reload, and a screenshot.

use authgate_test_support::webdriver::Chrome;
use axum::response::Html;
use axum::routing::get;

const PAGE: &str = r#"<!doctype html><title>probe</title>
<p id="out">before</p><button id="go" onclick="document.getElementById('out').textContent='after'">go</button>
<a id="next" href="/next">next</a>"#;

#[tokio::test]
async fn chromium_clicks_reads_runs_scripts_and_takes_screenshots() {
    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/next",
            get(|| async { Html("<p id=\"out\">next page</p>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("webdriver-probe");
    let mut chrome = Chrome::start(&shots).await.unwrap();
    chrome.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(chrome.text("#out").await.unwrap(), "before");
    chrome.click("#go").await.unwrap();
    assert_eq!(chrome.text("#out").await.unwrap(), "after");
    let sum = chrome
        .execute(
            "return arguments[0] + arguments[1];",
            vec![2.into(), 3.into()],
        )
        .await
        .unwrap();
    assert_eq!(sum, 5);
    let later = chrome
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(document.title), 10);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(later, "probe");
    assert_eq!(chrome.title().await.unwrap(), "probe");
    assert!(chrome.cookies().await.unwrap().is_empty());

    chrome.click("#next").await.unwrap();
    chrome.wait_url(|u| u.ends_with("/next")).await.unwrap();
    assert_eq!(chrome.text("#out").await.unwrap(), "next page");
    chrome.back().await.unwrap();
    chrome.wait_url(|u| u.ends_with('/')).await.unwrap();
    chrome.reload().await.unwrap();
    assert_eq!(chrome.text("#out").await.unwrap(), "before");
    assert!(!chrome.exists("#missing").await.unwrap());
    let err = chrome
        .execute("throw new Error('boom')", vec![])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");

    let png = chrome.screenshot("probe").await.unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{}", png.display());
}

#[tokio::test]
async fn a_missing_chromium_is_a_failure_that_says_how_to_install_it() {
    // A browser binary that does not exist: the start fails, naming the packages.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("webdriver-missing");
    let err = Chrome::start_with(&shots, Some("/nonexistent/chromium".as_ref()), None)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("apt-get install -y chromium chromium-driver"),
        "{message}"
    );
}
