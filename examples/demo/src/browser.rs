//! A scripted browser for the self-test: reqwest without automatic redirects (each hop
//! is a step the journey checks) and a cookie jar that keeps cookies per host and path
//! and honours their expiry, as a browser does. Ports do not separate cookies (they do
//! not in browsers either): the API's cookies on `localhost` also go to the frontend.

use std::time::SystemTime;

use cookie::{Cookie, Expiration};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode, Url};

/// One answer, read whole.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The cookies this answer set (or cleared).
    pub(crate) set_cookies: Vec<Cookie<'static>>,
    pub(crate) body: String,
}

impl Page {
    /// The `Location` header.
    pub(crate) fn location(&self) -> Option<&str> {
        self.header(header::LOCATION.as_str())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The cookie named `name` this answer set, if any.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.set_cookies.iter().find(|c| c.name() == name)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// A stored cookie: the host it belongs to and the cookie.
#[derive(Debug, Clone)]
struct Stored {
    host: String,
    cookie: Cookie<'static>,
}

/// The scripted browser.
#[derive(Debug)]
pub(crate) struct Browser {
    client: reqwest::Client,
    jar: Vec<Stored>,
}

impl Browser {
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            client,
            jar: Vec::new(),
        })
    }

    /// `GET url`, as a navigation (no `Origin`).
    pub(crate) async fn get(&mut self, url: &str) -> Result<Page, reqwest::Error> {
        self.send(Method::GET, url, None, None).await
    }

    /// A `fetch` from the page at `origin`: `credentials: "include"`, with a JSON body
    /// when given.
    pub(crate) async fn fetch(
        &mut self,
        method: Method,
        url: &str,
        origin: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Page, reqwest::Error> {
        self.send(method, url, Some(origin), json).await
    }

    /// The CORS preflight a browser sends before a JSON `POST` from `origin`.
    pub(crate) async fn preflight(&self, url: &str, origin: &str) -> Result<Page, reqwest::Error> {
        let response = self
            .client
            .request(Method::OPTIONS, url)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .send()
            .await?;
        read(response).await
    }

    async fn send(
        &mut self,
        method: Method,
        url: &str,
        origin: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> Result<Page, reqwest::Error> {
        let mut request = self.client.request(method, url);
        if let Ok(parsed) = Url::parse(url)
            && let Some(cookies) = self.cookie_header(&parsed)
        {
            request = request.header(header::COOKIE, cookies);
        }
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(json) = json {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(json.to_string());
        }
        let response = request.send().await?;
        let url = response.url().clone();
        let page = read(response).await?;
        for cookie in &page.set_cookies {
            self.store(&url, cookie.clone());
        }
        Ok(page)
    }

    /// The value of the jar's cookie `name` for `url`, if it holds one.
    pub(crate) fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        self.matching(&url)
            .find(|s| s.cookie.name() == name)
            .map(|s| s.cookie.value().to_owned())
    }

    fn matching<'a>(&'a self, url: &'a Url) -> impl Iterator<Item = &'a Stored> {
        let host = url.host_str().unwrap_or_default();
        let path = url.path();
        self.jar
            .iter()
            .filter(move |s| s.host == host && path_matches(path, s.cookie.path().unwrap_or("/")))
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let pairs: Vec<String> = self
            .matching(url)
            .map(|s| format!("{}={}", s.cookie.name(), s.cookie.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store(&mut self, url: &Url, mut cookie: Cookie<'static>) {
        let host = url.host_str().unwrap_or_default().to_owned();
        if cookie.path().is_none() {
            cookie.set_path(default_path(url.path()).to_owned());
        }
        self.jar.retain(|s| {
            !(s.host == host
                && s.cookie.name() == cookie.name()
                && s.cookie.path() == cookie.path())
        });
        if !is_expired(&cookie) {
            self.jar.push(Stored { host, cookie });
        }
    }
}

async fn read(response: reqwest::Response) -> Result<Page, reqwest::Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let set_cookies = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| Cookie::parse(v.to_owned()).ok())
        .collect();
    let body = response.text().await?;
    Ok(Page {
        status,
        headers,
        set_cookies,
        body,
    })
}

/// Whether a cookie removes itself: `Max-Age` of zero or less, or `Expires` in the past.
pub(crate) fn is_expired(cookie: &Cookie<'_>) -> bool {
    if let Some(max_age) = cookie.max_age() {
        return max_age.whole_seconds() <= 0;
    }
    match cookie.expires() {
        Some(Expiration::DateTime(at)) => SystemTime::from(at) <= SystemTime::now(),
        _ => false,
    }
}

/// RFC 6265 §5.1.4.
fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

/// RFC 6265 §5.1.4: the directory of the request path.
fn default_path(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_as_in_rfc_6265() {
        assert!(path_matches("/auth/refresh", "/auth/refresh"));
        assert!(path_matches("/auth/refresh/x", "/auth/refresh"));
        assert!(!path_matches("/auth/refreshx", "/auth/refresh"));
        assert!(!path_matches("/api/me", "/auth/refresh"));
        assert!(path_matches("/api/me", "/"));
        assert_eq!(default_path("/auth/exchange"), "/auth");
        assert_eq!(default_path("/"), "/");
    }

    #[test]
    fn a_cleared_cookie_is_expired() {
        assert!(is_expired(&Cookie::parse("a=; Max-Age=0").unwrap()));
        assert!(is_expired(
            &Cookie::parse("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap()
        ));
        assert!(!is_expired(&Cookie::parse("a=b; Max-Age=60").unwrap()));
        assert!(!is_expired(&Cookie::parse("a=b").unwrap()));
    }

    #[test]
    fn the_jar_keeps_cookies_per_host_and_path_and_drops_cleared_ones() {
        let mut browser = Browser::new().unwrap();
        let api = Url::parse("http://localhost:3000/auth/exchange").unwrap();
        browser.store(
            &api,
            Cookie::parse("app_auth=t1; Path=/; HttpOnly").unwrap(),
        );
        browser.store(
            &api,
            Cookie::parse("app_auth_refresh=r1; Path=/auth/refresh").unwrap(),
        );
        let me = Url::parse("http://localhost:3000/api/me").unwrap();
        assert_eq!(browser.cookie_header(&me).as_deref(), Some("app_auth=t1"));
        let refresh = Url::parse("http://localhost:3000/auth/refresh").unwrap();
        assert_eq!(
            browser.cookie_header(&refresh).as_deref(),
            Some("app_auth=t1; app_auth_refresh=r1")
        );
        // Another port of the same host gets them too; another host does not.
        assert!(
            browser
                .cookie("http://localhost:5173/", "app_auth")
                .is_some()
        );
        assert!(
            browser
                .cookie("http://127.0.0.1:3000/", "app_auth")
                .is_none()
        );
        browser.store(&api, Cookie::parse("app_auth=; Path=/; Max-Age=0").unwrap());
        assert_eq!(browser.cookie_header(&me), None);
    }
}
