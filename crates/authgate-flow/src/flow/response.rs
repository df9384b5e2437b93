//! What goes out of the flow: JSON answers and redirects (both `Cache-Control:
//! no-store`), and the `Set-Cookie` headers added to them.

use http::{HeaderValue, Response, StatusCode, header};

use crate::error::{FlowError, no_store};

/// A JSON answer with `status`, never cached.
pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Response<String> {
    let mut response = Response::new(value.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(&mut response);
    response
}

/// A `302 Found` to `location`, never cached.
pub(super) fn redirect_to(location: &str) -> Result<Response<String>, FlowError> {
    let value = HeaderValue::from_str(location).map_err(|_| FlowError::Internal {
        reason: "the redirect URL is not a valid header value",
    })?;
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::LOCATION, value);
    no_store(&mut response);
    Ok(response)
}

/// Adds a `Set-Cookie` header with `cookie` (a whole `Set-Cookie` value).
pub(super) fn append_cookie(response: &mut Response<String>, cookie: &str) {
    // Cookie strings are built from checked names, paths and cookie-safe values.
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
