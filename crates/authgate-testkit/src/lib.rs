#![doc = include_str!("../README.md")]
//!
//! # URLs
//!
//! | URL | value |
//! |-----|-------|
//! | [`base_url`](TestIssuer::base_url) | `http://127.0.0.1:PORT` |
//! | [`issuer`](TestIssuer::issuer) | `{base}/application/o/{slug}/` |
//! | [`discovery_url`](TestIssuer::discovery_url) | `{issuer}.well-known/openid-configuration` |
//! | [`jwks_url`](TestIssuer::jwks_url) | `{issuer}jwks/` |
//!
//! # The types
//!
//! - [`TestIssuer`] (made by [`TestIssuer::start`], [`TestIssuer::start_blocking`] or
//!   [`TestIssuer::builder`]): the server, its keys, its switches and counters.
//! - [`TokenBuilder`] (made by [`TestIssuer::token`]): one JWT, its claims and header.
//! - [`SigningKey`]: a generated RSA or EC key; [`SigningKey::sign_raw`] and
//!   [`unsigned_token`] craft tokens by hand.
//! - [`TestkitError`]: what can go wrong starting the issuer, generating keys or signing.

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
