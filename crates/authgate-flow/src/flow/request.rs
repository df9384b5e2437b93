//! What comes into the flow: the [`Endpoint`] a request is for, the [`FlowRequest`]
//! itself (query, headers, body), and the checks read from them (single query
//! parameters, `Accept`, `Content-Type`).

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, Method, header};

use crate::error::FlowError;

/// One of the flow's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET {prefix}/login?redirect=/path`: starts a login at the provider.
    Login,
    /// `GET {prefix}/callback?code&state`: the provider sends the browser back here.
    Callback,
    /// `POST {prefix}/exchange` `{"code": ...}`: trades the one-time code for cookies.
    Exchange,
    /// `POST {prefix}/refresh`: new cookies from the refresh cookie.
    Refresh,
    /// `GET {prefix}/session`: the current user.
    Session,
    /// `POST {prefix}/logout`: clears the cookies, answers the provider's logout URL.
    Logout,
    /// `POST {prefix}/backchannel-logout` `logout_token=...`: the provider ends a
    /// session (OpenID Connect Back-Channel Logout 1.0).
    BackchannelLogout,
}

impl Endpoint {
    /// Every endpoint, in the order above.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Login,
        Endpoint::Callback,
        Endpoint::Exchange,
        Endpoint::Refresh,
        Endpoint::Session,
        Endpoint::Logout,
        Endpoint::BackchannelLogout,
    ];

    /// The path below the prefix (`/login`, …).
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::Login => "/login",
            Self::Callback => "/callback",
            Self::Exchange => "/exchange",
            Self::Refresh => "/refresh",
            Self::Session => "/session",
            Self::Logout => "/logout",
            Self::BackchannelLogout => "/backchannel-logout",
        }
    }

    /// The method it answers.
    #[must_use]
    pub fn method(self) -> Method {
        match self {
            Self::Login | Self::Callback | Self::Session => Method::GET,
            Self::Exchange | Self::Refresh | Self::Logout | Self::BackchannelLogout => Method::POST,
        }
    }

    /// Whether a browser navigates to it (so an error may be answered as a page).
    pub(super) fn is_navigation(self) -> bool {
        matches!(self, Self::Login | Self::Callback)
    }
}

/// What the flow needs of a request: its query string, headers and body.
#[derive(Default)]
pub struct FlowRequest {
    /// The raw query string, without the `?`.
    pub(super) query: Option<String>,
    /// The request headers.
    pub(super) headers: HeaderMap,
    /// The request body.
    pub(super) body: Bytes,
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and the query carry cookies, codes and tokens: names only.
        f.debug_struct("FlowRequest")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl FlowRequest {
    /// A request with these headers, no query and no body.
    #[must_use]
    pub fn new(headers: HeaderMap) -> Self {
        Self {
            query: None,
            headers,
            body: Bytes::new(),
        }
    }

    /// Sets the raw query string (without the `?`).
    #[must_use]
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// The value of a query parameter that may appear at most once (RFC 6749 §3.1).
pub(super) fn single_param(query: Option<&str>, name: &str) -> Result<Option<String>, FlowError> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(FlowError::InvalidRequest {
                    reason: "a parameter is repeated",
                });
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

/// Whether the client accepts an HTML page (a browser navigating).
pub(super) fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Whether the body is declared as `application/json` (any parameters).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_paths_and_methods() {
        let paths: Vec<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        assert_eq!(
            paths,
            [
                "/login",
                "/callback",
                "/exchange",
                "/refresh",
                "/session",
                "/logout",
                "/backchannel-logout"
            ]
        );
        assert_eq!(Endpoint::BackchannelLogout.method(), Method::POST);
        assert_eq!(Endpoint::Login.method(), Method::GET);
        assert_eq!(Endpoint::Exchange.method(), Method::POST);
        assert_eq!(Endpoint::Logout.method(), Method::POST);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            single_param(Some("state=a&code=b"), "state").unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(single_param(None, "state").unwrap(), None);
        assert!(single_param(Some("state=a&state=b"), "state").is_err());
        assert_eq!(
            single_param(Some("redirect=%2Forders%3Fx%3D1"), "redirect").unwrap(),
            Some("/orders?x=1".to_owned())
        );
    }

    #[test]
    fn content_type_and_accept_checks() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert("content-type", "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
        headers.insert("accept", "text/html,application/xhtml+xml".parse().unwrap());
        assert!(accepts_html(&headers));
    }

    #[test]
    fn request_debug_hides_values() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "app_auth=secret.token.value".parse().unwrap());
        let request = FlowRequest::new(headers)
            .query("code=secret-code")
            .body(r#"{"code":"x"}"#);
        let debug = format!("{request:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }
}
