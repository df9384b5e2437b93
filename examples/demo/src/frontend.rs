//! The demo's frontend server: the plain HTML/JS/CSS pages of `examples/demo/frontend/`
//! (embedded at build time), plus `/config.js`, which tells them the API's URL.
//!
//! | path | what |
//! |---|---|
//! | `/` | `index.html`: "Log in", or who is signed in |
//! | `/auth/callback` | `callback.html`: redeems `?exchange=` at the API, then goes to `redirectTo` |
//! | `/me` | `me.html`: `/api/me`, the role-guarded calls, items, refresh and logout |
//! | `/app.js`, `/style.css` | the shared script and style sheet |
//! | `/config.js` | `window.AUTHGATE_DEMO = {"apiUrl": ...}` |
//!
//! Every answer carries a Content-Security-Policy that allows scripts and styles from
//! this origin only and `fetch` to the API only, `Referrer-Policy: no-referrer` (the
//! callback's address holds the exchange code until the page drops it) and
//! `Cache-Control: no-store`.

use axum::Router;
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../frontend/index.html");
const CALLBACK_HTML: &str = include_str!("../frontend/callback.html");
const ME_HTML: &str = include_str!("../frontend/me.html");
const APP_JS: &str = include_str!("../frontend/app.js");
const STYLE_CSS: &str = include_str!("../frontend/style.css");

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The headers every answer carries.
#[derive(Clone)]
struct Headers {
    csp: HeaderValue,
}

/// The frontend's router for an API at `api_url` (an origin such as
/// `http://localhost:3000`).
pub(crate) fn router(api_url: &str) -> Result<Router, header::InvalidHeaderValue> {
    let headers = Headers {
        csp: HeaderValue::from_str(&format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src {api_url}; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        ))?,
    };
    let config_js = format!(
        "window.AUTHGATE_DEMO = Object.freeze({});\n",
        serde_json::json!({ "apiUrl": api_url })
    );
    let page = |headers: &Headers, body: &'static str, content_type: &'static str| {
        let headers = headers.clone();
        get(move || async move { answer(&headers, StatusCode::OK, content_type, body) })
    };
    let config = {
        let headers = headers.clone();
        get(move || async move { answer(&headers, StatusCode::OK, JAVASCRIPT, config_js) })
    };
    let not_found = {
        let headers = headers.clone();
        move || async move {
            answer(
                &headers,
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found",
            )
        }
    };
    Ok(Router::new()
        .route("/", page(&headers, INDEX_HTML, HTML))
        .route("/index.html", page(&headers, INDEX_HTML, HTML))
        .route("/auth/callback", page(&headers, CALLBACK_HTML, HTML))
        .route("/me", page(&headers, ME_HTML, HTML))
        .route("/app.js", page(&headers, APP_JS, JAVASCRIPT))
        .route("/style.css", page(&headers, STYLE_CSS, CSS))
        .route("/config.js", config)
        .fallback(not_found))
}

fn answer(
    headers: &Headers,
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let mut response = (status, body.into()).into_response();
    let map = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        map.insert(name, HeaderValue::from_static(value));
    }
    map.insert(header::CONTENT_SECURITY_POLICY, headers.csp.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let app = router("http://localhost:3000").unwrap();
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn pages_carry_the_element_ids_the_browser_test_uses() {
        let (status, headers, me) = get("/me").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], HTML);
        for id in [
            "me-sub",
            "me-email",
            "me-org",
            "me-role",
            "me-roles",
            "me-groups",
            "admin-btn",
            "admin-status",
            "support-btn",
            "support-status",
            "refresh-btn",
            "refresh-status",
            "logout-btn",
            "status",
            "items-count",
            "load-items",
            "login",
        ] {
            assert!(me.contains(&format!("id=\"{id}\"")), "/me has #{id}");
        }
        let (_, _, home) = get("/").await;
        assert!(home.contains("id=\"login\"") && home.contains("id=\"status\""));
        let (_, _, callback) = get("/auth/callback?exchange=abc").await;
        assert!(callback.contains("data-page=\"callback\""));
    }

    #[tokio::test]
    async fn config_js_names_the_api_and_the_policy_allows_only_it() {
        let (status, headers, config) = get("/config.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], JAVASCRIPT);
        assert_eq!(
            config,
            "window.AUTHGATE_DEMO = Object.freeze({\"apiUrl\":\"http://localhost:3000\"});\n"
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("connect-src http://localhost:3000;"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }

    #[tokio::test]
    async fn anything_else_is_not_found() {
        let (status, headers, _) = get("/../Cargo.toml").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let (status, _, _) = get("/frontend/app.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
