//! The sliding-window limit on key refetches that requests can cause (unknown `kid`s,
//! on-demand discovery): by default 5 per minute, as jwks-rsa.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Counts refetches in a sliding window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: usize,
    window: Duration,
    hits: VecDeque<Instant>,
}

impl RateLimiter {
    /// At most `limit` acquisitions per `window`.
    pub(crate) fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: VecDeque::new(),
        }
    }

    /// Takes one slot at `now`; `false` when the window is full.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> bool {
        while self
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.hits.pop_front();
        }
        if self.hits.len() < self.limit {
            self.hits.push_back(now);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_window() {
        let mut limiter = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limiter.try_acquire(t0));
        assert!(limiter.try_acquire(t0));
        assert!(!limiter.try_acquire(t0 + Duration::from_secs(59)));
        assert!(limiter.try_acquire(t0 + Duration::from_secs(60)));
    }
}
