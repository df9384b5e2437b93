//! Set-up shared by the runtime tests.
#![allow(dead_code, unreachable_pub)]

use authgate::{AuthConfig, Authenticator, RoleMap};
use authgate_testkit::TestIssuer;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

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

/// Tokens for an admin, a support user, and a plain user with the API scope.
pub struct Tokens {
    pub admin: String,
    pub support: String,
    pub api: String,
}

pub fn tokens(issuer: &TestIssuer) -> Tokens {
    Tokens {
        admin: issuer.token().sub("ada").groups(["app-admins"]).sign(),
        support: issuer.token().sub("sam").groups(["app-support"]).sign(),
        api: issuer
            .token()
            .sub("api")
            .scope("openid goauthentik.io/api")
            .sign(),
    }
}

/// The `code` of a JSON error body.
pub fn code(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    value["error"].as_str().expect("a code").to_owned()
}
