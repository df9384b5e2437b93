#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`config`]: the configuration builder and `from_env()`.
//! - [`request`]: where the token is found, and the CSRF rule.
//! - [`authenticator`]: the verification path shared by every adapter.
//! - [`claims`]: verified claims, the default [`User`], custom user types.
//! - [`layer`]: the tower [`AuthLayer`].
//! - [`error`]: rejections and their responses.
//! - [`guard`]: role and scope requirements shared by the framework adapters.
//! - [`keys`]: the key store.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authenticator;
mod cache;
pub mod claims;
pub mod config;
pub mod error;
pub mod guard;
pub mod keys;
pub mod layer;
pub mod request;

pub use authenticator::{AccessToken, AuthContext, AuthMode, Authenticated, Authenticator};
pub use claims::{Claims, ClaimsMapper, DefaultMapper, User};
pub use config::{AuthConfig, AuthConfigBuilder, RoleMap};
pub use error::{AuthError, ConfigError, ErrorBody, FetchError, MapError, Rejection};
pub use guard::{AuthUser, GuardError, Requirement};
pub use jsonwebtoken::Algorithm;
pub use keys::ProviderMetadata;
pub use layer::{AuthLayer, AuthService, DefaultRejection, OnRejection, ResponseFuture};
pub use request::TokenSource;

/// The workspace README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadme;
