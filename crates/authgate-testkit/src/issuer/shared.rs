//! The state shared by the [`TestIssuer`](crate::TestIssuer) handles and the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::counters::{Counters, Endpoint};
use super::keys::KeySet;
use crate::provider::{ClientAuthMethod, ProviderState};

/// The one registered client.
pub(crate) struct Client {
    pub(crate) id: String,
    /// `None` for a public client.
    pub(crate) secret: Option<String>,
    pub(crate) method: ClientAuthMethod,
}

/// Everything the handlers read and the handles change.
///
/// Lock order: `provider`, then `keys`; never the other way round.
pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`, where the server listens.
    pub(crate) loopback_base: String,
    /// The advertised base: the public URL, else the loopback base.
    pub(crate) public_base: String,
    /// `{public_base}{issuer path}`: `{public_base}/application/o/{slug}/` by default.
    pub(crate) issuer: String,
    pub(crate) slug: String,
    /// Whether the issuer is laid out like Authentik (no issuer path set).
    pub(crate) authentik_layout: bool,
    /// The path of every endpoint, by [`Endpoint::index`].
    pub(crate) paths: [String; Endpoint::ALL.len()],
    pub(crate) client: Client,
    pub(crate) keys: RwLock<KeySet>,
    pub(crate) outage: AtomicBool,
    pub(crate) counters: Counters,
    pub(crate) provider: Mutex<ProviderState>,
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, KeySet> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, ProviderState> {
        self.provider.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_down(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    /// The path of `endpoint` on the server.
    pub(crate) fn path(&self, endpoint: Endpoint) -> &str {
        &self.paths[endpoint.index()]
    }

    /// The URL the discovery document advertises for `endpoint`.
    pub(crate) fn advertised_url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.public_base, self.path(endpoint))
    }

    /// The URL of `endpoint` on the loopback server.
    pub(crate) fn loopback_url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.loopback_base, self.path(endpoint))
    }
}
