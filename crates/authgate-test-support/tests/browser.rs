//! The browser keeps cookies as a browser does, and reads answers as the suites
//! expect.

use authgate_test_support::{Browser, attributes};
use axum::Router;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

/// Sets the cookie `set` says, and answers with the `Cookie` and `Origin` it got.
fn app() -> Router {
    async fn echo(headers: HeaderMap) -> String {
        let header = |name| {
            headers
                .get(name)
                .map_or("-", |v| v.to_str().unwrap())
                .to_owned()
        };
        format!("cookie={} origin={}", header("cookie"), header("origin"))
    }
    Router::new()
        .route(
            "/set/{*cookie}",
            get(
                |axum::extract::Path(cookie): axum::extract::Path<String>| async move {
                    ([(SET_COOKIE, cookie)], "set")
                },
            ),
        )
        .route("/echo", get(echo).post(echo))
        .route("/auth/echo", get(echo))
        .route("/authx", get(echo))
        .route(
            "/moved",
            post(|| async { (StatusCode::FOUND, [(LOCATION, "/there")]) }),
        )
}

/// The path that sets `cookie`.
fn set(cookie: &str) -> String {
    format!("/set/{}", cookie.replace(' ', "%20"))
}

#[tokio::test]
async fn a_cookie_is_sent_only_under_its_path() {
    let mut browser = Browser::in_process(app());
    browser.get(&set("id=1; Path=/auth")).await;
    assert_eq!(browser.get("/auth/echo").await.body, "cookie=id=1 origin=-");
    assert_eq!(browser.get("/authx").await.body, "cookie=- origin=-");
    assert_eq!(browser.get("/echo").await.body, "cookie=- origin=-");
}

#[tokio::test]
async fn a_cookie_without_a_path_is_sent_everywhere() {
    let mut browser = Browser::in_process(app());
    browser.get(&set("a=1")).await;
    browser.get(&set("b=2; HttpOnly")).await;
    assert_eq!(
        browser.get("/auth/echo").await.body,
        "cookie=a=1; b=2 origin=-"
    );
}

#[tokio::test]
async fn max_age_zero_an_epoch_expiry_or_an_empty_value_clears_a_cookie() {
    let mut browser = Browser::in_process(app());
    for clear in [
        "id=x; Max-Age=0",
        "id=x; expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "id=",
    ] {
        browser.get(&set("id=1")).await;
        assert_eq!(browser.cookie("id").as_deref(), Some("1"));
        browser.get(&set(clear)).await;
        assert_eq!(browser.cookie("id"), None, "{clear}");
    }
}

#[tokio::test]
async fn the_origin_goes_on_posts_only() {
    let mut browser = Browser::in_process(app()).with_origin("https://app.example");
    assert_eq!(browser.get("/echo").await.body, "cookie=- origin=-");
    assert_eq!(
        browser.post("/echo").await.body,
        "cookie=- origin=https://app.example"
    );
    let named = browser
        .send(
            http::Method::POST,
            "/echo",
            None,
            &[("origin", "https://other.example")],
        )
        .await;
    assert_eq!(named.body, "cookie=- origin=https://other.example");
}

#[tokio::test]
async fn clones_keep_their_cookies_apart() {
    let mut browser = Browser::in_process(app());
    browser.get(&set("id=1")).await;
    let mut tab = browser.clone();
    tab.forget("id");
    assert_eq!(browser.cookie("id").as_deref(), Some("1"));
    assert_eq!(tab.get("/echo").await.body, "cookie=- origin=-");
}

#[tokio::test]
async fn a_relative_location_is_resolved_only_against_an_absolute_url() {
    let mut browser = Browser::in_process(app());
    assert_eq!(browser.post("/moved").await.location(), "/there");
    let reply = authgate_test_support::Reply::new(
        "http://127.0.0.1:1/a/b",
        StatusCode::FOUND,
        HeaderMap::from_iter([(LOCATION, "/there".parse().unwrap())]),
        b"",
    );
    assert_eq!(reply.location(), "http://127.0.0.1:1/there");
}

#[test]
fn attributes_map_names_to_values_and_flags_to_nothing() {
    let attrs = attributes("app_auth=abc; Path=/; Max-Age=600; HttpOnly; SameSite=Lax");
    assert_eq!(attrs["Path"], "/");
    assert_eq!(attrs["Max-Age"], "600");
    assert_eq!(attrs["HttpOnly"], "");
    assert_eq!(attrs["SameSite"], "Lax");
    assert_eq!(attrs.len(), 4);
}
