#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! - `axum`: [`Rejection`] is an axum `IntoResponse`.
//! - `actix`: [`Rejection`] is an actix-web `ResponseError` and `Responder`.
//! - `fuzzing`: the entry points of the cargo-fuzz targets (`fuzz/` in the repository);
//!   not a public API.
//!
//! Both are off by default; `authgate-extract` enables them with its own features.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
mod actix;
mod authenticator;
mod cache;
mod claims;
mod config;
mod error;
mod grpc;
mod guard;
mod keys;
mod layer;
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
pub use error::{AuthError, ConfigError, FetchError, MapError};
pub use grpc::{GRPC_ERROR_METADATA, GrpcRejection};
pub use guard::{GuardError, GuardUser, InvalidRequirement, Names, Requirement};
pub use jsonwebtoken::Algorithm;
pub use keys::ProviderMetadata;
pub use layer::{AuthLayer, AuthService, ResponseFuture};
pub use on_rejection::{DefaultRejection, OnRejection};
pub use options::{AuthMode, AuthOptions};
pub use rejection::Rejection;
pub use request::{HeaderSource, TokenSource};
pub use revocation::Revocation;
pub use token_type::TokenType;
pub use user::{DefaultMapper, RoleMap, User, UserBuilder};

/// The workspace README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadme;
