//! The background refresh: one task per key store that refetches the key set on an
//! interval taken from `Cache-Control: max-age` (clamped to the policy's bounds), and
//! with exponential backoff until the first key set arrives. It holds only a weak
//! reference, so it ends when the last authenticator is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::store::KeyStore;
use crate::error::FetchError;

/// How often and how hard the key set is refetched.
#[derive(Debug, Clone)]
pub(crate) struct RefreshPolicy {
    pub(crate) default_interval: Duration,
    pub(crate) min_interval: Duration,
    pub(crate) max_interval: Duration,
    pub(crate) unknown_kid_limit: u32,
    pub(crate) unknown_kid_window: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    /// How long a key set is trusted after its last successful fetch, while refetches
    /// fail (`None`: for ever).
    pub(crate) max_stale: Option<Duration>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(300),
            min_interval: Duration::from_secs(30),
            max_interval: Duration::from_secs(24 * 3600),
            unknown_kid_limit: 5,
            unknown_kid_window: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_stale: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

impl RefreshPolicy {
    /// The pause after a fetch with `outcome`; `backoff` carries the failure backoff
    /// from one fetch to the next, and `serving` says whether a key set is loaded.
    pub(crate) fn next_delay(
        &self,
        outcome: &Result<Option<Duration>, Arc<FetchError>>,
        backoff: &mut Duration,
        serving: bool,
    ) -> Duration {
        match outcome {
            Ok(max_age) => {
                *backoff = self.initial_backoff;
                max_age
                    .unwrap_or(self.default_interval)
                    .clamp(self.min_interval, self.max_interval)
            }
            Err(_) => {
                let delay = *backoff;
                *backoff = (*backoff * 2).min(self.max_backoff);
                if serving {
                    // Keys are serving: retry failures no faster than the minimum interval.
                    delay.max(self.min_interval).min(self.default_interval)
                } else {
                    delay
                }
            }
        }
    }
}

/// The refresh loop of one key store.
pub(crate) async fn background(store: Weak<KeyStore>) {
    let mut backoff = match store.upgrade() {
        Some(store) => store.policy().initial_backoff,
        None => return,
    };
    let mut first = true;
    loop {
        let delay = {
            let Some(store) = store.upgrade() else {
                return;
            };
            let outcome = if first {
                store.load_unless_loaded().await
            } else {
                store.refresh_now().await
            };
            first = false;
            let delay =
                store
                    .policy()
                    .next_delay(&outcome, &mut backoff, store.current().is_some());
            store.set_retry_after(delay);
            delay
        };
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_follows_max_age_within_bounds() {
        let policy = RefreshPolicy::default();
        let mut backoff = Duration::from_secs(8);
        let ok = |secs| Ok(Some(Duration::from_secs(secs)));
        assert_eq!(
            policy.next_delay(&ok(600), &mut backoff, true),
            Duration::from_secs(600)
        );
        assert_eq!(backoff, policy.initial_backoff);
        assert_eq!(
            policy.next_delay(&ok(1), &mut backoff, true),
            policy.min_interval
        );
        assert_eq!(
            policy.next_delay(&Ok(None), &mut backoff, true),
            policy.default_interval
        );
    }

    #[test]
    fn failures_back_off_and_never_hammer_while_serving() {
        let policy = RefreshPolicy::default();
        let failed = Err(Arc::new(FetchError::RateLimited));
        let mut backoff = policy.initial_backoff;
        let delays: Vec<_> = (0..3)
            .map(|_| policy.next_delay(&failed, &mut backoff, false).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4]);
        assert_eq!(
            policy.next_delay(&failed, &mut backoff, true),
            policy.min_interval
        );
    }
}
