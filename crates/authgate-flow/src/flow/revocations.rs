//! Logouts on every instance: a logout (or a back-channel logout) is applied to this
//! instance's authenticator at once, then published through the store; every
//! instance's subscription applies what the others publish.
//!
//! Messages are sealed (AES-256-GCM) with the flow's state key, which every instance
//! behind one callback URL shares: whoever can write to the store but does not hold
//! the key cannot revoke anybody.
//!
//! Propagation: with `RedisStore` a published logout wakes every instance's blocking
//! stream read at once (a few milliseconds on one network); the read is renewed every
//! 500 ms and reconnects 200 ms after a failure, resuming where it stopped, so while
//! Redis is reachable an instance applies a logout within 1 s.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use authgate::Revocation;
use serde::Serialize;

use super::Flow;
use crate::crypto::{open, seal};

/// The sealing purpose of published revocations.
const PURPOSE: &str = "revocation";

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// Applies `revocations` here and publishes them to the other instances (best
    /// effort: a store failure is logged; this instance has them either way).
    pub(super) async fn publish(&self, revocations: &[Revocation]) {
        for revocation in revocations {
            self.inner.auth.revoke(revocation);
            let sealed = serde_json::to_vec(revocation)
                .ok()
                .and_then(|plain| seal(PURPOSE, &self.inner.state_key, &plain).ok());
            let Some(sealed) = sealed else {
                continue;
            };
            if let Err(err) = self.inner.store.raw().publish(&sealed).await {
                tracing::warn!(error = %err, "a logout could not be published to the other instances");
            }
        }
    }

    /// Starts the subscription to the other instances' logouts, once, when a Tokio
    /// runtime is at hand (at build, else at the first request).
    pub(super) fn ensure_subscribed(&self) {
        if self.inner.subscribed.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.subscribed.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.inner.store.raw();
        let auth = self.inner.auth.clone();
        let key: Arc<str> = self.inner.state_key.as_str().into();
        let deliver = Box::new(move |message: &[u8]| {
            let revocation = open(PURPOSE, &key, message.to_vec())
                .and_then(|plain| serde_json::from_slice::<Revocation>(&plain).ok());
            match revocation {
                Some(revocation) => auth.revoke(&revocation),
                None => tracing::warn!("ignored a revocation this flow's key did not seal"),
            }
        });
        let task = runtime.spawn(async move {
            if let Err(err) = store.subscribe(deliver).await {
                tracing::warn!(error = %err, "the logout subscription ended");
            }
        });
        if let Ok(mut slot) = self.inner.subscription.lock() {
            *slot = Some(task.abort_handle());
        }
    }
}
