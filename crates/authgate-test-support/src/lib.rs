//! Fixtures shared by authgate's own test suites (not published).
//!
//! Each fixture lives here once, and every suite that needs it takes it from here
//! as a dev-dependency:
//!
//! - [`setup`]: a running [`TestIssuer`] and an [`Authenticator`] for it, with the
//!   role map [`ROLE_MAP`] and its keys loaded;
//! - token presets: [`admin`], [`support`], [`api_user`] (and all three at once,
//!   [`Tokens`]);
//! - [`Reply`]: one answer, whichever framework or client gave it, with readers for
//!   its JSON `code`, headers, `Location` and `Set-Cookie`s;
//! - [`axum::send`] and (feature `actix`) `actix::call` with `actix::request`: one
//!   request to an app under test;
//! - [`Browser`]: a cookie-keeping browser, in-process on an axum `Router` or over
//!   real HTTP;
//! - [`webdriver::Chrome`]: a headless Chromium through `chromedriver`, for the
//!   browser journey.
//!
//! Fixtures used by one suite only stay with that suite.
//!
//! ```
//! use authgate_test_support::{TestResult, admin, axum::send, setup};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> TestResult {
//! let (issuer, auth) = setup().await?;
//! let app = ::axum::Router::new()
//!     .route("/", ::axum::routing::get(|| async { "hello" }))
//!     .layer(authgate::AuthLayer::new(auth));
//! let reply = send(&app, "GET", "/", Some(&admin(&issuer)), "").await;
//! assert_eq!(reply.text(), "hello");
//! let reply = send(&app, "GET", "/", None, "").await;
//! assert_eq!(reply.code(), "missing_token");
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "actix")]
pub mod actix;
pub mod axum;
pub mod browser;
pub mod proxy;
mod reply;
pub mod webdriver;

pub use browser::{Browser, attributes};
pub use reply::Reply;

/// The value of one series in a Prometheus text exposition (`name{labels} value`
/// lines), if the series is there.
///
/// # Panics
///
/// If the series' value is not a number.
#[must_use]
pub fn prometheus_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a Prometheus sample value"))
}

use authgate::{AuthConfig, Authenticator, RoleMap};
use authgate_testkit::TestIssuer;

/// What a fallible test returns.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// The role map of the shared set-up: Authentik group `app-admins` is role `admin`,
/// `app-support` is role `support`.
pub const ROLE_MAP: &str = "app-admins=admin,app-support=support";

/// A running issuer and an authenticator for it, with [`ROLE_MAP`] and its keys
/// loaded.
///
/// # Errors
///
/// When the issuer cannot start or its keys cannot be loaded.
pub async fn setup() -> TestResult<(TestIssuer, Authenticator)> {
    let issuer = TestIssuer::start().await?;
    let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .role_map(RoleMap::parse(ROLE_MAP)?)
        .build()?;
    let auth = Authenticator::new(config);
    auth.refresh_keys().await?;
    Ok((issuer, auth))
}

/// A token of `ada`, in group `app-admins` (role `admin`), without scopes.
pub fn admin(issuer: &TestIssuer) -> String {
    issuer.token().sub("ada").groups(["app-admins"]).sign()
}

/// A token of `sam`, in group `app-support` (role `support`), with scope `openid`.
pub fn support(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .sub("sam")
        .groups(["app-support"])
        .scope("openid")
        .sign()
}

/// A token of `api`, a plain user (no group, so no role) with the scopes `openid`
/// and `goauthentik.io/api`.
pub fn api_user(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .sub("api")
        .scope("openid goauthentik.io/api")
        .sign()
}

/// The three presets at once.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// [`admin`]'s token.
    pub admin: String,
    /// [`support`]'s token.
    pub support: String,
    /// [`api_user`]'s token.
    pub api: String,
}

impl Tokens {
    /// Signs the three presets with `issuer`.
    pub fn new(issuer: &TestIssuer) -> Self {
        Self {
            admin: admin(issuer),
            support: support(issuer),
            api: api_user(issuer),
        }
    }
}
