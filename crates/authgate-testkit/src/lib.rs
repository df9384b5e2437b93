//! A real OpenID Connect issuer, in-process, for tests.
//!
//! [`TestIssuer`] binds `127.0.0.1:0` (a free port chosen by the OS) and serves,
//! over loopback HTTP, an Authentik-shaped discovery document and JWKS built
//! from freshly generated keys. It mints tokens signed with those keys, and lets
//! a test rotate keys, serve malformed JWKs, simulate an outage (`503`) and
//! count the requests it received. Nothing is mocked: the server really serves
//! HTTP and the keys really sign, so a verifier under test does exactly what it
//! would do against a real issuer.
//!
//! It is meant for authgate's own tests, for the demo, and for your tests of
//! handlers protected by authgate: point the service at the issuer with
//! [`TestIssuer::env`] (`AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG`,
//! `AUTHENTIK_CLIENT_ID`) and send `Authorization: Bearer` tokens made with
//! [`TestIssuer::token`].
//!
//! | URL | value |
//! |-----|-------|
//! | [`base_url`](TestIssuer::base_url) | `http://127.0.0.1:PORT` |
//! | [`issuer`](TestIssuer::issuer) | `{base}/application/o/{slug}/` |
//! | [`discovery_url`](TestIssuer::discovery_url) | `{issuer}.well-known/openid-configuration` |
//! | [`jwks_url`](TestIssuer::jwks_url) | `{issuer}jwks/` |
//!
//! # Example
//!
//! ```
//! use authgate_testkit::TestIssuer;
//! use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::Jwk};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//! for (name, value) in issuer.env() {
//!     println!("{name}={value}"); // AUTHENTIK_URL=http://127.0.0.1:PORT, ...
//! }
//!
//! // Mint a token: iss, aud = client id, sub "user-1", exp in 5 minutes, RS256 "rsa-1".
//! let token = issuer
//!     .token()
//!     .sub("alice")
//!     .groups(["admins"])
//!     .email("alice@example.com")
//!     .sign();
//!
//! // Verify it the way a relying party would: fetch the JWKS over HTTP.
//! let jwks: serde_json::Value = reqwest::get(issuer.jwks_url()).await?.json().await?;
//! let kid = decode_header(&token)?.kid.unwrap();
//! let jwk = jwks["keys"]
//!     .as_array()
//!     .unwrap()
//!     .iter()
//!     .find(|k| k["kid"] == kid.as_str())
//!     .unwrap();
//! let key = DecodingKey::from_jwk(&serde_json::from_value::<Jwk>(jwk.clone())?)?;
//! let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
//! validation.set_issuer(&[issuer.issuer()]);
//! validation.set_audience(&[issuer.client_id()]);
//! let data = decode::<serde_json::Value>(&token, &key, &validation)?;
//! assert_eq!(data.claims["sub"], "alice");
//!
//! // Rotate keys, break things, count requests.
//! issuer.add_ec_key("ec-2")?;
//! issuer.set_default_key("ec-2")?;
//! issuer.remove_key("rsa-1");
//! issuer.set_outage(true);
//! assert_eq!(reqwest::get(issuer.jwks_url()).await?.status(), 503);
//! assert_eq!(issuer.jwks_requests(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! The server runs on its own thread and Tokio runtime, so it works under any
//! test runtime, and [`TestIssuer::start_blocking`] serves synchronous tests.
//! Dropping the last [`TestIssuer`] clone (and any [`TokenBuilder`] made from
//! it) stops the server.

mod error;
mod issuer;
mod key;
mod token;

pub use error::TestkitError;
pub use issuer::{
    AUTHENTIK_API_SCOPE, DEFAULT_CLIENT_ID, DEFAULT_EC_KID, DEFAULT_RSA_KID, DEFAULT_SLUG,
    TestIssuer, TestIssuerBuilder,
};
pub use jsonwebtoken::Algorithm;
pub use key::{SigningKey, unsigned_token};
pub use token::{DEFAULT_TOKEN_LIFETIME, TokenBuilder, now};
