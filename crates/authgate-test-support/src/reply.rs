//! One answer, whichever framework or client gave it.

use http::{HeaderMap, StatusCode};

/// One answer: status, headers and body, and the URL that was asked for (to resolve
/// a relative `Location`).
///
/// The readers panic with the body in the message when the answer is not what they
/// read: they are assertions.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (invalid UTF-8 replaced).
    pub body: String,
    url: String,
}

impl Reply {
    /// An answer to a request for `url` (a path or an absolute URL).
    pub fn new(
        url: impl Into<String>,
        status: StatusCode,
        headers: HeaderMap,
        body: &[u8],
    ) -> Self {
        Self {
            status,
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
            url: url.into(),
        }
    }

    /// The URL that was asked for.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body.
    pub fn text(&self) -> &str {
        &self.body
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }

    /// The `code` of a JSON error body, as authgate's rejections carry it.
    ///
    /// # Panics
    ///
    /// When the body is not JSON or has no string `code`.
    pub fn code(&self) -> String {
        match self.json()["error"].as_str() {
            Some(code) => code.to_owned(),
            None => panic!("no `code` in the body: {}", self.body),
        }
    }

    /// The first value of header `name`, if there is one.
    ///
    /// # Panics
    ///
    /// When the value is not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| {
            value
                .to_str()
                .unwrap_or_else(|_| panic!("header {name} is not visible ASCII: {value:?}"))
        })
    }

    /// `Location`, resolved against [`url`](Self::url) when that is absolute.
    ///
    /// # Panics
    ///
    /// When there is no `Location`.
    pub fn location(&self) -> String {
        let Some(location) = self.header("location") else {
            panic!("no Location ({}): {}", self.status, self.body);
        };
        url::Url::parse(&self.url)
            .and_then(|base| base.join(location))
            .map_or_else(|_| location.to_owned(), String::from)
    }

    /// Every `Set-Cookie` value, in order.
    ///
    /// # Panics
    ///
    /// When one is not visible ASCII.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|value| {
                value
                    .to_str()
                    .unwrap_or_else(|_| panic!("Set-Cookie is not visible ASCII: {value:?}"))
                    .to_owned()
            })
            .collect()
    }

    /// The `Set-Cookie` value for cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|cookie| {
            cookie
                .split_once('=')
                .is_some_and(|(n, _)| n.trim() == name)
        })
    }
}
