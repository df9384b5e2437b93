#![cfg_attr(feature = "axum", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "axum"),
    doc = "The browser login flow of a backend-for-frontend (see the README; enable the `axum` or `actix` feature for a ready router)."
)]
//!
//! # Modules
//!
//! - [`flow`]: the framework-neutral [`Flow`] and its endpoints.
//! - [`config`]: [`FlowConfig`], its builder and `from_env()`.
//! - [`store`]: the [`Store`] trait, [`MemoryStore`] and (feature `redis`) `RedisStore`.
//! - [`redirect`]: the post-login redirect path validator.
//! - [`error`]: [`FlowError`] and the responses it becomes.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | `Flow::router()`: an axum `Router` |
//! | `actix` | `Flow::scope()`: an actix-web `Scope` |
//! | `redis` | `store::RedisStore` |
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
mod actix_scope;
#[cfg(feature = "axum")]
mod axum_router;
pub mod config;
mod cookies;
mod crypto;
pub mod error;
pub mod flow;
mod provider;
pub mod redirect;
mod sealed;
pub mod store;

pub use config::{
    AUTHENTIK_API_SCOPE, ClientAuth, DEFAULT_SCOPES, FlowConfig, FlowConfigBuilder, FlowConfigError,
};
pub use cookies::FlowCookie;
pub use crypto::RandomError;
pub use error::{FlowError, IdTokenError};
pub use flow::{Endpoint, Flow, FlowBuilder, FlowRequest};
pub use provider::TokenEndpointError;
pub use store::{MemoryStore, Store, StoreError};
