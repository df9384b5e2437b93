#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! - `aws-lc-rs` (default): the crypto backend: signatures, hashes, and rustls for the
//!   HTTPS fetches, on aws-lc-rs.
//! - `rust-crypto`: the pure-Rust backend (RustCrypto) for targets without a C
//!   toolchain; HTTPS needs a rustls `CryptoProvider` installed in the process, or your
//!   own `reqwest::Client` ([`AuthConfigBuilder::http_client`]). Exactly one backend is
//!   needed: none is a compile error, and with both aws-lc-rs is used
//!   ([`CRYPTO_BACKEND`] says which).
//! - `axum`: [`Rejection`] is an axum `IntoResponse`.
//! - `actix`: [`Rejection`] is an actix-web `ResponseError` and `Responder`.
//! - `metrics`: counters and a histogram through the `metrics` facade (the README's
//!   "Observability" lists them, and `describe_metrics` describes them to your
//!   recorder); without it, no metric is compiled in.
//! - `fuzzing`: the entry points of the cargo-fuzz targets (`fuzz/` in the repository);
//!   not a public API.
//!
//! All but `aws-lc-rs` are off by default; `authgate-extract` enables `axum` and `actix`
//! with its own
//! features.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
mod actix;
mod authenticator;
mod cache;
mod claims;
mod config;
mod crypto;
mod error;
mod grpc;
mod guard;
mod keys;
mod layer;
mod observe;
mod on_rejection;
mod options;
mod rejection;
mod request;
mod revocation;
mod token_type;
mod user;
mod verify;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod __fuzz;
#[doc(hidden)]
pub mod __private;

pub use authenticator::{AccessToken, Authentication, Authenticator};
pub use claims::{Claims, ClaimsMapper};
pub use config::{AuthConfig, AuthConfigBuilder};
pub use crypto::CRYPTO_BACKEND;
pub use error::{AuthError, ConfigError, FetchError, MapError};
pub use grpc::{GRPC_ERROR_METADATA, GrpcRejection};
pub use guard::{GuardError, GuardUser, InvalidRequirement, Names, Requirement};
pub use jsonwebtoken::Algorithm;
pub use keys::ProviderMetadata;
pub use layer::{AuthLayer, AuthService, ResponseFuture};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use observe::describe_metrics;
pub use on_rejection::{DefaultRejection, OnRejection};
pub use options::{AuthMode, AuthOptions};
pub use rejection::Rejection;
pub use request::{HeaderSource, TokenSource};
/// The HTTP client crate authgate uses, for [`AuthConfigBuilder::http_client`]: a
/// `reqwest::Client` of exactly this version.
pub use reqwest;
pub use revocation::Revocation;
pub use token_type::TokenType;
pub use user::{DefaultMapper, RoleMap, User, UserBuilder};

/// The workspace README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadme;
