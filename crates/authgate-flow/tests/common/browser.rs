//! A tiny browser for driving the axum router: a cookie jar that honours `Path`
//! and `Max-Age=0`, and an `Origin` on unsafe requests as browsers send it.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn location(&self) -> String {
        self.headers["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("set-cookie").to_owned())
            .collect()
    }

    /// The `Set-Cookie` for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// Cookie attributes of a `Set-Cookie` value, as `name → value` (flags map to "").
pub fn attributes(set_cookie: &str) -> BTreeMap<String, String> {
    set_cookie
        .split("; ")
        .skip(1)
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (a.to_owned(), String::new()),
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Browser {
    app: Router,
    /// name → (value, path)
    jar: BTreeMap<String, (String, String)>,
    pub origin: Option<String>,
}

fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || cookie_path == "/"
        || request_path.starts_with(&format!("{}/", cookie_path.trim_end_matches('/')))
}

impl Browser {
    pub fn new(app: Router) -> Self {
        Self {
            app,
            jar: BTreeMap::new(),
            origin: Some(super::provider::FRONTEND.to_owned()),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.get(name).map(|(v, _)| v.clone())
    }

    pub fn set_cookie(&mut self, name: &str, value: &str, path: &str) {
        self.jar
            .insert(name.to_owned(), (value.to_owned(), path.to_owned()));
    }

    pub fn forget(&mut self, name: &str) {
        self.jar.remove(name);
    }

    pub async fn get(&mut self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None, &[]).await
    }

    pub async fn post_json(&mut self, uri: &str, body: &serde_json::Value) -> Answer {
        self.send(
            Method::POST,
            uri,
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await
    }

    pub async fn post(&mut self, uri: &str) -> Answer {
        self.send(Method::POST, uri, None, &[]).await
    }

    pub async fn send(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let path = uri.split('?').next().unwrap_or(uri).to_owned();
        let mut request = Request::builder().method(method.clone()).uri(uri);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|(_, (_, p))| path_matches(&path, p))
            .map(|(n, (v, _))| format!("{n}={v}"))
            .collect();
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        if method == Method::POST
            && let Some(origin) = &self.origin
        {
            request = request.header("origin", origin);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request");
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        let answer = Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
        };
        for set in answer.set_cookies() {
            let (pair, _) = set.split_once("; ").unwrap_or((&set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            let attrs = attributes(&set);
            if attrs.get("Max-Age").map(String::as_str) == Some("0") {
                self.jar.remove(name);
            } else {
                let path = attrs.get("Path").cloned().unwrap_or_else(|| "/".to_owned());
                self.jar.insert(name.to_owned(), (value.to_owned(), path));
            }
        }
        answer
    }
}
