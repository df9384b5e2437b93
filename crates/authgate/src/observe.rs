//! What authgate tells the outside about its work: a `tracing` span per
//! authentication, and (feature `metrics`) counters and a histogram through the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! The span is `authenticate`, at DEBUG level, with the fields
//!
//! - `outcome`: `ok`, `anonymous` (no token, let through in optional mode) or the
//!   refusal's [`code`](crate::AuthError::code) (`missing_token` in required mode);
//! - `source`: where the token was found ([`TokenSource::as_str`]);
//! - `cached`: whether the verified-token cache answered;
//! - `sub`: the user's subject, when the token passed.
//!
//! Never the token, nor any part of it. DEBUG, as tower-http's `TraceLayer` spans: a
//! service logging at INFO pays one relaxed atomic load per request for it, and no
//! span is built; one that asks for DEBUG from `authgate` gets a span per request,
//! with the allocation its subscriber makes for one. The refusal event
//! (`authentication refused`, DEBUG) and the key refetch events are inside the span.
//!
//! The metrics are recorded into whatever recorder the application installed (none:
//! the facade's no-op); without the `metrics` feature the calls are not compiled at
//! all, so they cost nothing. Their keys are `'static` (names and label values are
//! literals), so recording one builds no string. `describe_metrics` lists them.

use tracing::Span;
use tracing::field::Empty;

use crate::request::TokenSource;

/// `authgate_authentications_total{outcome}`.
#[cfg(feature = "metrics")]
pub(crate) const AUTHENTICATIONS: &str = "authgate_authentications_total";
/// `authgate_key_fetches_total{result}`.
#[cfg(feature = "metrics")]
pub(crate) const KEY_FETCHES: &str = "authgate_key_fetches_total";
/// `authgate_token_cache_lookups_total{result}`.
#[cfg(feature = "metrics")]
pub(crate) const CACHE_LOOKUPS: &str = "authgate_token_cache_lookups_total";
/// `authgate_verification_seconds`.
#[cfg(feature = "metrics")]
pub(crate) const VERIFICATION_SECONDS: &str = "authgate_verification_seconds";

/// One authentication as it is reported: its span, and its outcome counted when it
/// ends.
#[derive(Debug)]
pub(crate) struct Report {
    span: Span,
}

impl Report {
    /// The `authenticate` span: disabled, and nearly free, unless a subscriber asks
    /// for DEBUG from authgate.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            span: tracing::debug_span!(
                "authenticate",
                outcome = Empty,
                source = Empty,
                cached = Empty,
                sub = Empty
            ),
        }
    }

    /// No span: a token verified outside a request ([`Authenticator::verify`](crate::Authenticator::verify)).
    pub(crate) fn none() -> Self {
        Self { span: Span::none() }
    }

    /// The span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Runs `f` inside the span.
    #[inline]
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        self.span.in_scope(f)
    }

    /// Where the token was found.
    #[inline]
    pub(crate) fn source(&self, source: TokenSource) {
        if !self.span.is_disabled() {
            self.span.record("source", source.as_str());
        }
    }

    /// Whether the cache answered.
    #[inline]
    pub(crate) fn cached(&self, cached: bool) {
        if !self.span.is_disabled() {
            self.span.record("cached", cached);
        }
    }

    /// The subject of the token that passed.
    #[inline]
    pub(crate) fn sub(&self, sub: &str) {
        if !self.span.is_disabled() {
            self.span.record("sub", sub);
        }
    }

    /// The end: `outcome` on the span and in `authgate_authentications_total`.
    #[inline]
    pub(crate) fn finish(&self, outcome: &'static str) {
        if !self.span.is_disabled() {
            self.span.record("outcome", outcome);
        }
        authentication(outcome);
    }
}

use recorded::authentication;
#[cfg(feature = "metrics")]
use recorded::verification;
pub(crate) use recorded::{cache_lookup, key_fetch, key_fetch_rate_limited};

/// The recording calls, with the `metrics` feature.
#[cfg(feature = "metrics")]
mod recorded {
    use crate::error::FetchError;

    /// Counts `name{label=value}` with a `'static` key when `value` is one of `known`
    /// (every value authgate records is), else with one built for it.
    macro_rules! count {
        ($name:literal, $label:literal, $value:expr, [$($known:literal),* $(,)?]) => {
            match $value {
                $($known => metrics::counter!($name, $label => $known).increment(1),)*
                other => metrics::counter!($name, $label => other).increment(1),
            }
        };
    }

    /// Counts one authentication's outcome.
    pub(super) fn authentication(outcome: &'static str) {
        count!(
            "authgate_authentications_total",
            "outcome",
            outcome,
            [
                "ok",
                "anonymous",
                "missing_token",
                "multiple_authorization_headers",
                "duplicate_token",
                "token_too_large",
                "malformed_token",
                "encrypted_token",
                "algorithm_not_allowed",
                "unsupported_crit",
                "unknown_key",
                "ambiguous_key",
                "invalid_signature",
                "token_expired",
                "token_not_yet_valid",
                "invalid_issuer",
                "invalid_audience",
                "missing_claim",
                "invalid_claim",
                "wrong_token_type",
                "token_revoked",
                "claims_refused",
                "cross_site_request",
                "keys_unavailable",
            ]
        );
    }

    /// Counts a lookup in the verified-token cache.
    pub(crate) fn cache_lookup(hit: bool) {
        if hit {
            metrics::counter!("authgate_token_cache_lookups_total", "result" => "hit").increment(1);
        } else {
            metrics::counter!("authgate_token_cache_lookups_total", "result" => "miss")
                .increment(1);
        }
    }

    /// Counts a key fetch (discovery when needed, then the JWK set): `Ok` or its error.
    pub(crate) fn key_fetch(result: Result<(), &FetchError>) {
        let result = match result {
            Ok(()) => "ok",
            Err(err) => fetch_error_kind(err),
        };
        count!(
            "authgate_key_fetches_total",
            "result",
            result,
            [
                "ok",
                "http",
                "status",
                "too_large",
                "json",
                "bad_endpoint",
                "no_usable_keys",
                "rate_limited",
                "no_discovery",
                "client",
                "issuer_mismatch",
                "no_tls_provider",
                "cross_origin_redirect",
            ]
        );
    }

    /// Counts a refetch that the rate limit skipped.
    pub(crate) fn key_fetch_rate_limited() {
        metrics::counter!("authgate_key_fetches_total", "result" => "rate_limited").increment(1);
    }

    /// Records the time of one verification against the keys.
    pub(super) fn verification(seconds: f64) {
        metrics::histogram!("authgate_verification_seconds").record(seconds);
    }

    /// The `result` label of a failed key fetch.
    fn fetch_error_kind(err: &FetchError) -> &'static str {
        match err {
            FetchError::Http { .. } => "http",
            FetchError::Status { .. } => "status",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Json { .. } => "json",
            FetchError::BadEndpoint { .. } => "bad_endpoint",
            FetchError::NoUsableKeys { .. } => "no_usable_keys",
            FetchError::RateLimited => "rate_limited",
            FetchError::NoDiscovery => "no_discovery",
            FetchError::Client { .. } => "client",
            FetchError::IssuerMismatch { .. } => "issuer_mismatch",
            FetchError::NoTlsProvider(_) => "no_tls_provider",
            FetchError::CrossOriginRedirect { .. } => "cross_origin_redirect",
        }
    }
}

/// Without the `metrics` feature: nothing, inlined away.
#[cfg(not(feature = "metrics"))]
mod recorded {
    use crate::error::FetchError;

    #[inline(always)]
    pub(super) fn authentication(_outcome: &'static str) {}

    #[inline(always)]
    pub(crate) fn cache_lookup(_hit: bool) {}

    #[inline(always)]
    pub(crate) fn key_fetch(_result: Result<(), &FetchError>) {}

    #[inline(always)]
    pub(crate) fn key_fetch_rate_limited() {}
}

/// Times a verification against the keys, into `authgate_verification_seconds`.
/// Nothing at all (not even a clock read) without the `metrics` feature.
#[derive(Debug)]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    start: std::time::Instant,
}

impl Timer {
    /// Starts timing.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            start: std::time::Instant::now(),
        }
    }

    /// Records the time since [`start`](Self::start).
    #[inline]
    pub(crate) fn stop(self) {
        #[cfg(feature = "metrics")]
        verification(self.start.elapsed().as_secs_f64());
    }
}

/// Describes authgate's metrics to the installed recorder: their help text and unit
/// (the `# HELP` lines of Prometheus). Call it once, after installing the recorder;
/// the metrics are recorded whether or not it was called. Feature `metrics`.
///
/// | metric | type | labels | counts |
/// |---|---|---|---|
/// | `authgate_authentications_total` | counter | `outcome`: `ok`, `anonymous`, or a refusal's code | every request authenticated by the layer, the actix-web middleware or [`Authenticator::authenticate`](crate::Authenticator::authenticate) |
/// | `authgate_key_fetches_total` | counter | `result`: `ok`, `rate_limited`, or the error (`http`, `status`, `too_large`, `json`, `bad_endpoint`, `no_usable_keys`, `issuer_mismatch`, `client`) | every key fetch (discovery when needed, then the JWK set), and every unknown-`kid` refetch the rate limit skipped |
/// | `authgate_token_cache_lookups_total` | counter | `result`: `hit`, `miss` | every lookup in the verified-token cache (none when it is off) |
/// | `authgate_verification_seconds` | histogram (seconds) | — | every verification against the keys (a cache miss): signature, claims, mapper |
///
/// ```
/// authgate::describe_metrics(); // with no recorder installed: does nothing
/// ```
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    metrics::describe_counter!(
        AUTHENTICATIONS,
        "Requests authenticated, by outcome: ok, anonymous, or the refusal's code."
    );
    metrics::describe_counter!(
        KEY_FETCHES,
        "Key fetches (discovery when needed, then the JWK set), by result: ok, rate_limited, or the error."
    );
    metrics::describe_counter!(
        CACHE_LOOKUPS,
        "Lookups in the verified-token cache, by result: hit or miss."
    );
    metrics::describe_histogram!(
        VERIFICATION_SECONDS,
        metrics::Unit::Seconds,
        "Time to verify a token against the keys (a cache miss): signature, claims and mapper."
    );
}
