//! A relying party, by hand: what the provider tests share.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;

use authgate_testkit::{TestIssuer, TestIssuerBuilder, TestUser};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

pub const REDIRECT: &str = "http://localhost:3000/auth/callback";
pub const POST_LOGOUT: &str = "http://localhost:5173/";
pub const SCOPE: &str = "openid email profile offline_access";

/// An issuer with ada and sam, the redirect URI and the post-logout URI registered.
pub fn builder() -> TestIssuerBuilder {
    TestIssuer::builder()
        .redirect_uri(REDIRECT)
        .post_logout_redirect_uri(POST_LOGOUT)
        .user(
            TestUser::new("ada")
                .email("ada@example.com")
                .name("Ada Admin")
                .groups(["app-admins"])
                .claim("organizationId", "org-1"),
        )
        .user(
            TestUser::new("sam")
                .name("Sam Support")
                .groups(["app-support"]),
        )
}

pub async fn start() -> TestIssuer {
    builder().start().await.expect("issuer")
}

/// A client that never follows redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("ascii location")
        .to_owned()
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

/// An authorization request's parameters.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub verifier: String,
    pub params: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(issuer: &TestIssuer) -> Self {
        let (verifier, challenge) = pkce();
        let params = [
            ("response_type", "code"),
            ("client_id", issuer.client_id()),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPE),
            ("state", "the-state"),
            ("nonce", "the-nonce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        AuthRequest { verifier, params }
    }

    /// Sets (or with `None` removes) a parameter.
    pub fn set(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.retain(|(k, _)| k != name);
        if let Some(value) = value {
            self.params.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Adds a parameter (even a second one with the same name).
    pub fn add(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn query(&self) -> String {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form(&pairs)
    }

    /// The request on the loopback authorization endpoint.
    pub fn url(&self, issuer: &TestIssuer) -> String {
        format!(
            "{}?{}",
            issuer.endpoint_url(authgate_testkit::Endpoint::Authorize),
            self.query()
        )
    }
}

/// Signs `sub` in through `GET authorize?login_hint=` and returns (code, request).
pub async fn sign_in(issuer: &TestIssuer, sub: &str) -> (String, AuthRequest) {
    let request = AuthRequest::new(issuer).set("login_hint", Some(sub));
    let response = http().get(request.url(issuer)).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let q = query_of(&location(&response));
    (q["code"].clone(), request)
}

/// `Authorization: Basic` per RFC 6749 §2.3.1.
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// POSTs a form to `url`, with Basic credentials when given.
pub async fn post_form(
    url: &str,
    pairs: &[(&str, &str)],
    auth: Option<String>,
) -> reqwest::Response {
    let mut request = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

/// The token endpoint with the default client's Basic credentials.
pub async fn token_request(issuer: &TestIssuer, pairs: &[(&str, &str)]) -> reqwest::Response {
    let auth = basic(issuer.client_id(), &issuer.client_secret().unwrap());
    post_form(
        &issuer.endpoint_url(authgate_testkit::Endpoint::Token),
        pairs,
        Some(auth),
    )
    .await
}

/// Redeems `code` and answers the token response (asserting a 200).
pub async fn redeem(issuer: &TestIssuer, code: &str, request: &AuthRequest) -> Value {
    let response = token_request(
        issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

pub async fn refresh(issuer: &TestIssuer, refresh_token: &str) -> reqwest::Response {
    token_request(
        issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn userinfo(issuer: &TestIssuer, access_token: &str) -> reqwest::Response {
    http()
        .get(issuer.endpoint_url(authgate_testkit::Endpoint::Userinfo))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// The payload of a JWT, unverified.
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token` with the served JWK for its `kid` (`iss`, `aud`, `exp`).
pub fn verify(issuer: &TestIssuer, token: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = decode_header(token)?;
    let jwk: Jwk =
        serde_json::from_value(issuer.public_jwk(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer.issuer()]);
    validation.set_audience(&[issuer.client_id()]);
    decode::<Value>(token, &DecodingKey::from_jwk(&jwk)?, &validation).map(|d| d.claims)
}

/// `Value` of an OAuth error answer, checking status and `Cache-Control`.
pub async fn oauth_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().unwrap().to_owned()
}
