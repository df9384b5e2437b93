//! One request to an actix-web test service (feature `actix`).
//!
//! ```
//! use actix_web::{App, test, web};
//! use authgate_test_support::actix::{call, request};
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let app = test::init_service(App::new().route("/", web::post().to(|body: String| async { body }))).await;
//! let reply = call(&app, request("POST", "/", None, "hi").to_request()).await;
//! assert_eq!(reply.text(), "hi");
//! # }
//! ```

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::Reply;

/// A request with `Content-Type: application/json`, the `body`, and, with a token,
/// `Authorization: Bearer`. Finish it with `.to_request()`.
///
/// # Panics
///
/// When `method` is not a valid method.
pub fn request(method: &str, uri: &str, token: Option<&str>, body: &str) -> TestRequest {
    let method = method
        .parse()
        .unwrap_or_else(|err| panic!("a valid method {method}: {err}"));
    let mut request = TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned());
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    request
}

/// Sends `request` to `app` (from `actix_web::test::init_service`) and reads the
/// whole answer. Status and headers become their `http` 1 types, as for axum.
///
/// # Panics
///
/// When the service fails or the body cannot be read.
pub async fn call<S, R, B>(app: &S, request: R) -> Reply
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, request).await;
    let url = response.request().uri().to_string();
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or_else(|err| panic!("a valid status from {url}: {err}"));
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        match (name, value) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            (name, value) => panic!("a valid header from {url}: {name:?} {value:?}"),
        }
    }
    let body = test::read_body(response).await;
    Reply::new(url, status, headers, &body)
}
