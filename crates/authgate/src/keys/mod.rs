//! The key store: the provider's signing keys, found by discovery, refreshed in the
//! background, read without locks on the request path. One job per file:
//!
//! - [`alg`]: the one table of accepted algorithms;
//! - [`jwk`]: parsing a JWK set into a [`KeySet`](jwk::KeySet) snapshot;
//! - [`fetch`]: server-to-server HTTP (internal URL, timeouts, body cap);
//! - [`discovery`]: the discovery document ([`ProviderMetadata`]);
//! - [`rate_limit`]: the refetch limit for unknown `kid`s (default 5 per minute);
//! - [`store`]: the lock-free snapshot, single-flight refetches, last good set;
//! - [`refresh`]: the background refresh with `max-age` and backoff.
//!
//! This module depends on nothing above it: the configuration builds a
//! [`KeysConfig`] and hands it down.

use url::Url;

pub(crate) mod alg;
mod discovery;
pub(crate) mod fetch;
pub(crate) mod jwk;
mod rate_limit;
pub(crate) mod refresh;
pub(crate) mod store;

pub use discovery::ProviderMetadata;

use fetch::{HttpPolicy, InternalOrigin};
use refresh::RefreshPolicy;

/// Where signing keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// OIDC discovery at this URL (already rewritten to the internal origin).
    Discovery(Url),
    /// A JWKS URL, fetched directly.
    Jwks(Url),
    /// A fixed key set, for offline use.
    Static(String),
}

/// What the key store needs to know, built by the configuration.
#[derive(Debug, Clone)]
pub(crate) struct KeysConfig {
    /// The configured issuer (only compared with the discovered one, for a log line).
    pub(crate) issuer: String,
    pub(crate) source: KeySource,
    pub(crate) internal: Option<InternalOrigin>,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) http: HttpPolicy,
}
