//! A scripted browser: keeps cookies, follows nothing by itself, fills the
//! provider's login and consent forms.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// One response, with what the tests look at.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: u16,
    /// `Location`, resolved against the request URL.
    pub location: Option<String>,
    /// Every `Set-Cookie` value.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: String,
}

impl Page {
    /// The `Set-Cookie` value for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.split('=').next() == Some(name))
            .map(String::as_str)
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// A cookie-keeping client that does not follow redirects.
#[derive(Debug)]
pub struct Browser {
    client: reqwest::Client,
    jar: Mutex<BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser with no cookies.
    ///
    /// # Panics
    ///
    /// When the HTTP client cannot be built.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            jar: Mutex::new(BTreeMap::new()),
        }
    }

    /// The current value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Sets (or, with `None`, drops) a cookie by hand.
    pub fn set_cookie(&self, name: &str, value: Option<&str>) {
        let mut jar = self.jar.lock().unwrap();
        match value {
            Some(value) => jar.insert(name.to_owned(), value.to_owned()),
            None => jar.remove(name),
        };
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Page {
        let request = match self.cookie_header() {
            Some(cookies) => request.header("cookie", cookies),
            None => request,
        };
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                reqwest::Url::parse(url)
                    .and_then(|base| base.join(l))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| l.to_owned())
            });
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        {
            let mut jar = self.jar.lock().unwrap();
            for cookie in &set_cookies {
                let first = cookie.split(';').next().unwrap_or_default();
                let (name, value) = first.split_once('=').unwrap_or((first, ""));
                let cleared = value.is_empty()
                    || cookie.to_ascii_lowercase().contains("max-age=0")
                    || cookie.contains("1970");
                if cleared {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Page {
        self.send(url, self.client.get(url)).await
    }

    /// `POST url` with a form body.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(url, request).await
    }

    /// `POST url` with a JSON body (or none) and an `Origin`, as the frontend's fetch.
    pub async fn post_json(
        &self,
        url: &str,
        origin: &str,
        body: Option<serde_json::Value>,
    ) -> Page {
        let mut request = self.client.post(url).header("origin", origin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(url, request).await
    }

    /// `GET url` with the cookies and `Authorization: Bearer`, as an API client.
    pub async fn get_bearer(&self, url: &str, token: &str) -> Page {
        self.send(url, self.client.get(url).bearer_auth(token))
            .await
    }

    /// Drives the provider from its authorization URL until it redirects to
    /// `stop_at` (the service's callback), logging in as `login` and consenting.
    ///
    /// # Panics
    ///
    /// When the provider shows something else than its login or consent page.
    pub async fn sign_in_at_provider(
        &self,
        authorize_url: &str,
        login: &str,
        stop_at: &str,
    ) -> String {
        let mut url = authorize_url.to_owned();
        for _ in 0..20 {
            let page = self.get(&url).await;
            let next = match page.status {
                302 | 303 => page.location.clone().expect("a redirect has a Location"),
                200 => {
                    let action = form_action(&page.body)
                        .unwrap_or_else(|| panic!("a login or consent form: {}", page.body));
                    let action = reqwest::Url::parse(&url)
                        .unwrap()
                        .join(&action)
                        .unwrap()
                        .to_string();
                    let answer = if page.body.contains(r#"name="login""#) {
                        self.post_form(
                            &action,
                            &[("prompt", "login"), ("login", login), ("password", "any")],
                        )
                        .await
                    } else {
                        self.post_form(&action, &[("prompt", "consent")]).await
                    };
                    assert!(
                        matches!(answer.status, 302 | 303),
                        "the form was accepted: {} {}",
                        answer.status,
                        answer.body
                    );
                    answer.location.expect("a redirect has a Location")
                }
                status => panic!("unexpected {status} from the provider: {}", page.body),
            };
            if next.starts_with(stop_at) {
                return next;
            }
            url = next;
        }
        panic!("the provider never redirected to {stop_at}");
    }
}

fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}
