//! A cookie-keeping browser, in-process on an axum `Router` or over real HTTP.
//!
//! It keeps cookies as a browser does for one site: sends a cookie only under its
//! `Path`, forgets one that is cleared (`Max-Age=0`, an `Expires` in 1970, or an
//! empty value), and sends an `Origin` on `POST`s when it has one. It follows no
//! redirect: a test reads [`Reply::location`] and decides.
//!
//! ```
//! use authgate_test_support::Browser;
//! use axum::http::header::SET_COOKIE;
//! use axum::routing::get;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = axum::Router::new()
//!     .route("/in", get(|| async { ([(SET_COOKIE, "id=42; Path=/")], "in") }))
//!     .route("/out", get(|| async { ([(SET_COOKIE, "id=; Path=/; Max-Age=0")], "out") }));
//! let mut browser = Browser::in_process(app);
//! browser.get("/in").await;
//! assert_eq!(browser.cookie("id").as_deref(), Some("42"));
//! browser.get("/out").await;
//! assert_eq!(browser.cookie("id"), None);
//! # }
//! ```

use std::collections::BTreeMap;

use ::axum::Router;
use ::axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};

use crate::Reply;

/// The attributes of a `Set-Cookie` value, as written (`Path`, `Max-Age`, …) →
/// value; flags (`HttpOnly`, `Secure`) map to `""`.
pub fn attributes(set_cookie: &str) -> BTreeMap<String, String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(str::trim)
        .filter(|attribute| !attribute.is_empty())
        .map(|attribute| match attribute.split_once('=') {
            Some((name, value)) => (name.trim().to_owned(), value.trim().to_owned()),
            None => (attribute.to_owned(), String::new()),
        })
        .collect()
}

/// Attribute `name` of `attributes`, whatever its case.
fn attribute<'a>(attributes: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Whether a cookie set for `cookie_path` is sent to `request_path`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || cookie_path == "/"
        || request_path.starts_with(&format!("{}/", cookie_path.trim_end_matches('/')))
}

/// The path of `uri`, a path or an absolute URL.
fn path_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) => url.path().to_owned(),
        Err(_) => uri.split('?').next().unwrap_or(uri).to_owned(),
    }
}

/// Where the browser's requests go.
#[derive(Debug, Clone)]
enum Transport {
    /// Straight into a router, in this task.
    Router(Router),
    /// Over the network, to absolute URLs.
    Http(reqwest::Client),
}

/// A cookie-keeping browser. Clones start with the same cookies and then live
/// apart (as two tabs of two browsers).
#[derive(Debug, Clone)]
pub struct Browser {
    transport: Transport,
    /// name → (value, path)
    jar: BTreeMap<String, (String, String)>,
    /// The `Origin` sent on `POST`s, if any (unless a request names its own).
    pub origin: Option<String>,
}

impl Browser {
    /// A browser that sends its requests (paths, like `/auth/login`) straight to
    /// `app`, with no `Origin`.
    pub fn in_process(app: Router) -> Self {
        Self::with(Transport::Router(app))
    }

    /// A browser that sends its requests (absolute URLs) over HTTP, with no
    /// `Origin`.
    ///
    /// # Panics
    ///
    /// When the HTTP client cannot be built.
    pub fn over_http() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|err| panic!("an HTTP client: {err}"));
        Self::with(Transport::Http(client))
    }

    fn with(transport: Transport) -> Self {
        Self {
            transport,
            jar: BTreeMap::new(),
            origin: None,
        }
    }

    /// The same browser, sending `origin` as `Origin` on `POST`s (as a page of that
    /// origin does).
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The value of cookie `name`, if the browser has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.get(name).map(|(value, _)| value.clone())
    }

    /// Sets cookie `name` by hand, for `path` and below.
    pub fn set_cookie(&mut self, name: &str, value: &str, path: &str) {
        self.jar
            .insert(name.to_owned(), (value.to_owned(), path.to_owned()));
    }

    /// Drops cookie `name`.
    pub fn forget(&mut self, name: &str) {
        self.jar.remove(name);
    }

    /// `GET uri`.
    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, &[]).await
    }

    /// `GET uri` as a navigation: `Accept: text/html`.
    pub async fn get_page(&mut self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, &[("accept", "text/html")])
            .await
    }

    /// `POST uri` with no body.
    pub async fn post(&mut self, uri: &str) -> Reply {
        self.send(Method::POST, uri, None, &[]).await
    }

    /// `POST uri` with a JSON body, as the frontend's `fetch`.
    pub async fn post_json(&mut self, uri: &str, body: &serde_json::Value) -> Reply {
        self.send(
            Method::POST,
            uri,
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await
    }

    /// `POST uri` with a form body, as an HTML form.
    pub async fn post_form(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            Method::POST,
            uri,
            Some(body),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await
    }

    /// Sends one request with the cookies for its path, the `Origin` on a `POST`,
    /// and `headers`; keeps the cookies the answer sets or clears.
    ///
    /// # Panics
    ///
    /// When a header is not valid, or the request gets no answer.
    pub async fn send(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut map = HeaderMap::new();
        let path = path_of(uri);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|(_, (_, cookie_path))| path_matches(&path, cookie_path))
            .map(|(name, (value, _))| format!("{name}={value}"))
            .collect();
        if !cookies.is_empty() {
            append(&mut map, "cookie", &cookies.join("; "));
        }
        let names_origin = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("origin"));
        if method == Method::POST
            && !names_origin
            && let Some(origin) = &self.origin
        {
            append(&mut map, "origin", origin);
        }
        for (name, value) in headers {
            append(&mut map, name, value);
        }
        let reply = self.exchange(method, uri, map, body).await;
        for set_cookie in reply.set_cookies() {
            self.keep(&set_cookie);
        }
        reply
    }

    async fn exchange(
        &self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: Option<String>,
    ) -> Reply {
        match &self.transport {
            Transport::Router(app) => {
                let mut request = Request::new(body.map_or_else(Body::empty, Body::from));
                *request.method_mut() = method;
                *request.uri_mut() = uri
                    .parse()
                    .unwrap_or_else(|err| panic!("a valid URI {uri}: {err}"));
                *request.headers_mut() = headers;
                crate::axum::call(app, request).await
            }
            Transport::Http(client) => {
                let mut request = client.request(method, uri).headers(headers);
                if let Some(body) = body {
                    request = request.body(body);
                }
                let response = request
                    .send()
                    .await
                    .unwrap_or_else(|err| panic!("an answer from {uri}: {err}"));
                let status = response.status();
                let headers = response.headers().clone();
                let body = response
                    .bytes()
                    .await
                    .unwrap_or_else(|err| panic!("the body from {uri}: {err}"));
                Reply::new(uri, status, headers, &body)
            }
        }
    }

    /// Keeps (or forgets) the cookie a `Set-Cookie` value sets (or clears).
    fn keep(&mut self, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or_default();
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (name.trim(), value.trim());
        let attributes = attributes(set_cookie);
        let cleared = value.is_empty()
            || attribute(&attributes, "max-age")
                .is_some_and(|age| age.parse::<i64>().is_ok_and(|age| age <= 0))
            || attribute(&attributes, "expires").is_some_and(|date| date.contains("1970"));
        if cleared {
            self.jar.remove(name);
        } else {
            let path = attribute(&attributes, "path").unwrap_or("/");
            self.set_cookie(name, value, path);
        }
    }
}

/// Appends header `name: value`.
///
/// # Panics
///
/// When either is not valid.
fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(name), Ok(value)) => {
            headers.append(name, value);
        }
        _ => panic!("a valid header {name}: {value}"),
    }
}
