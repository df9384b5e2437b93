//! The one conversion from `http` 1.x responses to actix-web's (feature `actix`):
//! actix-web 4 uses `http` 0.2 types. [`Rejection`](crate::Rejection) uses it for its
//! actix-web impls; the extract and flow crates use it through `__private`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header::{HeaderName, HeaderValue};

/// An `http` 1.x status as actix-web's.
#[must_use]
pub fn status(status: http::StatusCode) -> ActixStatus {
    // Every `http::StatusCode` is a valid three-digit code, so this never falls back.
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

/// An `http` 1.x response as actix-web's: status, every header (repeated ones such as
/// `Set-Cookie` included) and the body.
#[must_use]
pub fn response(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let mut out = HttpResponse::build(status(parts.status));
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((name, value));
        }
    }
    out.body(body)
}
