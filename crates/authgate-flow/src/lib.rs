#![cfg_attr(feature = "axum", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "axum"),
    doc = "The browser login flow of a backend-for-frontend (see the README; enable the `axum` or `actix` feature for a ready router)."
)]
//!
//! # Vocabulary
//!
//! - [`Flow`]: the framework-neutral flow; [`Flow::handle`] answers one [`Endpoint`].
//! - [`FlowConfig`]: the OAuth client, frontend and API URLs, scopes, cookies.
//! - [`store`]: the [`Store`] trait, [`MemoryStore`] and (feature `redis`) `RedisStore`.
//! - [`FlowError`]: why a request was refused, answered as the core's `Rejection`.
//! - [`safe_redirect_path`]: the post-login redirect path validator.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | `Flow::router()`: an axum `Router` |
//! | `actix` | `Flow::scope()`: an actix-web `Scope` |
//! | `redis` | `store::RedisStore` |
//! | `conformance` | `store::conformance` and [`store_conformance!`]: the store suite, for your own store |
//! | `fuzzing` | the entry point of the `redirect` cargo-fuzz target (`fuzz/` in the repository); not a public API |
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod __fuzz;
#[cfg(feature = "actix")]
mod actix_scope;
#[cfg(feature = "axum")]
mod axum_router;
mod config;
mod cookies;
mod crypto;
mod error;
mod flow;
mod provider;
mod redirect;
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
pub use redirect::{MAX_REDIRECT_LEN, safe_redirect_path};
pub use store::{MemoryStore, Store, StoreError};
