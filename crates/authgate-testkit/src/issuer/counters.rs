//! Per-endpoint request counters.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One of the issuer's HTTP endpoints, for [`TestIssuer::requests`](crate::TestIssuer::requests)
/// and [`TestIssuer::endpoint_url`](crate::TestIssuer::endpoint_url).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `{issuer}.well-known/openid-configuration` (where OpenID Connect Discovery 1.0
    /// puts it, whatever the issuer path).
    Discovery,
    /// `{issuer}jwks/` by default.
    Jwks,
    /// `{base}/application/o/authorize/` by default.
    Authorize,
    /// `{base}/application/o/token/` by default.
    Token,
    /// `{base}/application/o/userinfo/` by default.
    Userinfo,
    /// `{base}/application/o/revoke/` (RFC 7009) by default.
    Revocation,
    /// `{issuer}end-session/` (RP-Initiated Logout) by default.
    EndSession,
    /// The stand-in for Authentik's `GET /api/v3/authenticators/webauthn/`.
    AuthentikApi,
}

impl Endpoint {
    pub(crate) const ALL: [Endpoint; 8] = [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Userinfo,
        Endpoint::Revocation,
        Endpoint::EndSession,
        Endpoint::AuthentikApi,
    ];

    /// The index of the endpoint in [`Endpoint::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The endpoint's default path for an issuer at `issuer_path` (Authentik's layout:
    /// discovery, JWKS and end-session below the issuer, the rest shared by every
    /// application).
    pub(crate) fn default_path(self, issuer_path: &str) -> String {
        let issuer = issuer_path.trim_end_matches('/');
        match self {
            Endpoint::Discovery => format!("{issuer}/.well-known/openid-configuration"),
            Endpoint::Jwks => format!("{issuer}/jwks/"),
            Endpoint::Authorize => "/application/o/authorize/".to_owned(),
            Endpoint::Token => "/application/o/token/".to_owned(),
            Endpoint::Userinfo => "/application/o/userinfo/".to_owned(),
            Endpoint::Revocation => "/application/o/revoke/".to_owned(),
            Endpoint::EndSession => format!("{issuer}/end-session/"),
            Endpoint::AuthentikApi => "/api/v3/authenticators/webauthn/".to_owned(),
        }
    }
}

/// How many requests each endpoint received (503 answers included).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    counts: [AtomicUsize; Endpoint::ALL.len()],
}

impl Counters {
    pub(crate) fn hit(&self, endpoint: Endpoint) {
        self.counts[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn get(&self, endpoint: Endpoint) -> usize {
        self.counts[endpoint.index()].load(Ordering::SeqCst)
    }

    pub(crate) fn reset(&self) {
        for count in &self.counts {
            count.store(0, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_its_own_counter() {
        let counters = Counters::default();
        for (n, endpoint) in Endpoint::ALL.into_iter().enumerate() {
            for _ in 0..=n {
                counters.hit(endpoint);
            }
        }
        for (n, endpoint) in Endpoint::ALL.into_iter().enumerate() {
            assert_eq!(counters.get(endpoint), n + 1, "{endpoint:?}");
        }
        counters.reset();
        assert!(Endpoint::ALL.iter().all(|e| counters.get(*e) == 0));
    }
}
