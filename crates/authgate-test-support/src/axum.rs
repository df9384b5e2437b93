//! One request to an axum app, in-process.

use ::axum::Router;
use ::axum::body::{Body, to_bytes};
use http::Request;
use tower::ServiceExt as _;

use crate::Reply;

/// The largest body [`call`] reads.
const BODY_LIMIT: usize = 1 << 20;

/// A request with `Content-Type: application/json`, the `body`, and, with a token,
/// `Authorization: Bearer`.
///
/// # Panics
///
/// When `method` or `uri` is not valid.
pub fn request(method: &str, uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
        .body(Body::from(body.to_owned()))
        .unwrap_or_else(|err| panic!("a valid request {method} {uri}: {err}"))
}

/// Sends `request` to `app` and reads the whole answer.
///
/// # Panics
///
/// When the body is larger than 1 MiB or cannot be read.
pub async fn call(app: &Router, request: Request<Body>) -> Reply {
    let url = request.uri().to_string();
    let response = match app.clone().oneshot(request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    };
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_else(|err| panic!("the body of {url}: {err}"));
    Reply::new(url, parts.status, parts.headers, &body)
}

/// [`call`] with a [`request`].
///
/// # Panics
///
/// As [`request`] and [`call`].
pub async fn send(app: &Router, method: &str, uri: &str, token: Option<&str>, body: &str) -> Reply {
    call(app, request(method, uri, token, body)).await
}
