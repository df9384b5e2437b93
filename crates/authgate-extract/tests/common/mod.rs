//! Set-up shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use authgate::Requirement;
use authgate::{AuthConfig, Authenticator, RoleMap};
use authgate_extract::GuardSpec;
use authgate_testkit::TestIssuer;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Admins only.
pub struct Admins;

impl GuardSpec for Admins {
    const REQUIREMENT: Requirement = Requirement::AnyRole(&["admin"]);
}

/// Admins and support staff.
pub struct Staff;

impl GuardSpec for Staff {
    const REQUIREMENT: Requirement = Requirement::AnyRole(&["admin", "support"]);
}

/// Tokens that may call Authentik's API.
pub struct AuthentikApi;

impl GuardSpec for AuthentikApi {
    const REQUIREMENT: Requirement = Requirement::Scopes(&["goauthentik.io/api"]);
}

/// A running issuer and an authenticator with its keys loaded.
pub async fn setup() -> Result<(TestIssuer, Authenticator), Box<dyn std::error::Error>> {
    let issuer = TestIssuer::start().await?;
    let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .role_map(RoleMap::parse("app-admins=admin,app-support=support")?)
        .build()?;
    let auth = Authenticator::new(config);
    auth.refresh_keys().await?;
    Ok((issuer, auth))
}

pub fn admin(issuer: &TestIssuer) -> String {
    issuer.token().sub("ada").groups(["app-admins"]).sign()
}

pub fn support(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .sub("sam")
        .groups(["app-support"])
        .scope("openid")
        .sign()
}

pub fn api_user(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .sub("api")
        .scope("openid goauthentik.io/api")
        .sign()
}

/// The `code` of a JSON error body.
pub fn code(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    value["error"].as_str().expect("a code").to_owned()
}
