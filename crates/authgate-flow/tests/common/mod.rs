//! Shared by this crate's integration tests: the test OpenID provider (the
//! testkit's `TestIssuer`, set up for the flow), a `redis-server` harness, a log
//! capture, and the flow's behaviour through a store outage. The store conformance
//! suite is public (`authgate_flow::store::conformance`, feature `conformance`); the
//! browser comes from `authgate-test-support`.
//!
//! The provider's discovery document names a *public* origin that does not resolve
//! (`http://auth.invalid`); the flow reaches it only through the internal URL, so
//! every test also checks that server-to-server calls are rewritten.
//!
//! Each test binary uses a part of it.
#![allow(dead_code, unreachable_pub)]

pub mod logs;
pub mod redis_server;

use std::sync::Arc;

use authgate_flow::store::Store;
use authgate_flow::{ClientAuth, Flow, FlowConfig, FlowConfigBuilder};
use authgate_test_support::Browser;
use authgate_testkit::{ClientAuthMethod, TestIssuer, TestIssuerBuilder, TestUser};

pub const PUBLIC_BASE: &str = "http://auth.invalid";
pub const SLUG: &str = "shop";
pub const CLIENT_ID: &str = "shop-client";
pub const CLIENT_SECRET: &str = "s3cret:with/odd chars";
pub const FRONTEND: &str = "http://localhost:5173";
pub const API: &str = "http://localhost:3000";

/// The issuer identifier the flow is configured with (the public one).
pub fn issuer() -> String {
    format!("{PUBLIC_BASE}/application/o/{SLUG}/")
}

/// The provider, expecting `client_secret_basic`.
pub fn provider() -> TestIssuer {
    provider_with(|builder| builder)
}

/// A provider that expects this client authentication method.
pub fn provider_for(client_auth: ClientAuth) -> TestIssuer {
    let method = match client_auth {
        ClientAuth::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
        ClientAuth::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
        ClientAuth::None => ClientAuthMethod::None,
        other => panic!("no provider for {other:?}"),
    };
    provider_with(|builder| builder.client_auth_method(method))
}

/// The provider in internal-URL mode: the flow's client, its redirect and
/// post-logout URIs, one ES256 key, and the users alice and mallory; `configure`
/// changes the rest.
pub fn provider_with(configure: impl FnOnce(TestIssuerBuilder) -> TestIssuerBuilder) -> TestIssuer {
    let builder = TestIssuer::builder()
        .slug(SLUG)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .client_auth_method(ClientAuthMethod::ClientSecretBasic)
        // One EC key: quick to generate, and the flow sees ES256 tokens.
        .no_default_keys()
        .ec_key("flow-key")
        .public_url(PUBLIC_BASE)
        .redirect_uri(&format!("{API}/auth/callback"))
        .redirect_uri(&format!("{API}/api/auth/callback"))
        .redirect_uri("https://api.example.com/auth/callback")
        .post_logout_redirect_uri(&format!("{FRONTEND}/"));
    let builder = ["alice", "mallory"].into_iter().fold(builder, |b, sub| {
        b.user(
            TestUser::new(sub)
                .email(&format!("{sub}@example.com"))
                .groups(["staff"]),
        )
    });
    configure(builder).start_blocking().expect("test provider")
}

/// What the flow tests need from the provider.
pub trait FlowProvider {
    /// The core authenticator for this provider, through the internal URL.
    fn authenticator(&self) -> authgate::Authenticator;
    /// The flow's configuration for this provider's client.
    fn flow_config(&self) -> FlowConfigBuilder;
    /// A flow with the default configuration.
    fn flow(&self) -> Flow;
    /// Plays the user signing in at the authorization endpoint the browser was
    /// sent to (the public one): the provider checks the request, and this answers
    /// the callback's query string (`code`, `state`, `iss`).
    fn callback_query(&self, location: &str, sub: &str) -> String;
}

impl FlowProvider for TestIssuer {
    fn authenticator(&self) -> authgate::Authenticator {
        let config = authgate::AuthConfig::authentik(PUBLIC_BASE, SLUG, CLIENT_ID)
            .internal_url(self.base_url())
            .trusted_origin(FRONTEND)
            .build()
            .expect("core config");
        authgate::Authenticator::new(config)
    }

    fn flow_config(&self) -> FlowConfigBuilder {
        let auth = match self.client_auth_method() {
            ClientAuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost,
            ClientAuthMethod::None => ClientAuth::None,
            _ => ClientAuth::ClientSecretBasic,
        };
        let builder = FlowConfig::builder(CLIENT_ID, FRONTEND, API).client_auth(auth);
        match self.client_secret() {
            Some(secret) => builder.client_secret(secret),
            None => builder,
        }
    }

    fn flow(&self) -> Flow {
        Flow::new(
            self.authenticator(),
            self.flow_config().build().expect("flow config"),
        )
        .expect("flow")
    }

    fn callback_query(&self, location: &str, sub: &str) -> String {
        assert!(
            location.starts_with(&format!("{PUBLIC_BASE}/application/o/authorize/?")),
            "the browser goes to the public authorization endpoint: {location}"
        );
        let redirect = self
            .authorize(location, sub)
            .expect("the provider signs in");
        let url = url::Url::parse(&redirect).expect("redirect URL");
        url.query().expect("a callback query").to_owned()
    }
}

/// A browser on `app` (the flow's router) that sends the frontend's `Origin` on
/// `POST`s, as the frontend's pages do.
pub fn browser(app: axum::Router) -> Browser {
    Browser::in_process(app).with_origin(FRONTEND)
}

/// A store backend a test can take down and bring back (empty, as a restarted Redis
/// without persistence).
pub trait Outage {
    fn store(&self) -> Arc<dyn Store>;
    fn stop(&mut self);
    fn restart(&mut self);
}

fn flow_with(provider: &TestIssuer, store: Arc<dyn Store>) -> Flow {
    Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .shared_store(store)
    .build()
    .unwrap()
}

/// Logs in up to the frontend callback; returns the exchange code.
pub async fn login_to_exchange_code(
    browser: &mut Browser,
    provider: &TestIssuer,
    sub: &str,
) -> String {
    let login = browser.get("/auth/login?redirect=/orders").await;
    assert_eq!(login.status, 302, "{}", login.body);
    let query = provider.callback_query(&login.location(), sub);
    let callback = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 302, "{}", callback.body);
    let location = url::Url::parse(&callback.location()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "exchange")
        .map(|(_, v)| v.into_owned())
        .expect("exchange code in the frontend callback URL")
}

/// A store that is down, or restarted mid-flow, answers 503 (never a panic), and no
/// login state or exchange code is usable after the restart. `/login` needs no store
/// at all: its state lives in a sealed cookie.
pub async fn outage_is_503_and_nothing_survives<H: Outage>(mut harness: H) {
    let provider = provider();
    let flow = flow_with(&provider, harness.store());
    let mut browser = browser(flow.router());

    // Down at /login: logins still start.
    harness.stop();
    let login = browser.get("/auth/login").await;
    assert_eq!(login.status, 302, "{}", login.body);

    // Down at /callback: a page for the browser, with Retry-After; the login cookie is
    // used up, so after the restart that login cannot be finished.
    let query = provider.callback_query(&login.location(), "alice");
    let callback = browser.get_page(&format!("/auth/callback?{query}")).await;
    assert_eq!(callback.status, 503, "{}", callback.body);
    assert!(
        callback.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        callback.body.contains("store_unavailable"),
        "{}",
        callback.body
    );
    assert!(callback.headers.contains_key("retry-after"));
    harness.restart();
    let again = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.json()["error"], "state_mismatch");

    // Down at /exchange, then restarted: the code died with the store.
    let code = login_to_exchange_code(&mut browser, &provider, "alice").await;
    harness.stop();
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 503, "{}", exchange.body);
    assert_eq!(exchange.json()["error"], "store_unavailable");
    assert!(exchange.set_cookies().is_empty());
    harness.restart();
    let again = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.json()["error"], "invalid_exchange_code");

    // Up again: a whole login works, and its code is single use.
    let code = login_to_exchange_code(&mut browser, &provider, "alice").await;
    let exchange = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(exchange.status, 200, "{}", exchange.body);
    let replay = browser
        .post_json("/auth/exchange", &serde_json::json!({ "code": code }))
        .await;
    assert_eq!(replay.status, 400, "{}", replay.body);
}
