//! The one table of signing algorithms: their JOSE names, the key type each needs, and
//! the bit each has in an [`AlgSet`]. Parsing a header's `alg`, limiting a JWK to its
//! key type, and the default allow-list all read this table.

use jsonwebtoken::Algorithm;

/// The kind of key an algorithm verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// `kty: RSA` (RSASSA-PKCS1-v1_5 and RSASSA-PSS).
    Rsa,
    /// `kty: EC`, `crv: P-256`.
    EcP256,
    /// `kty: EC`, `crv: P-384`.
    EcP384,
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519,
}

/// One accepted algorithm.
struct Entry {
    alg: Algorithm,
    name: &'static str,
    kind: KeyKind,
}

/// Every algorithm authgate verifies: asymmetric only. HMAC and `none` are absent, so
/// they can never be parsed, allowed or matched to a provider key.
#[rustfmt::skip]
const TABLE: [Entry; 9] = [
    Entry { alg: Algorithm::RS256, name: "RS256", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::RS384, name: "RS384", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::RS512, name: "RS512", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::PS256, name: "PS256", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::PS384, name: "PS384", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::PS512, name: "PS512", kind: KeyKind::Rsa },
    Entry { alg: Algorithm::ES256, name: "ES256", kind: KeyKind::EcP256 },
    Entry { alg: Algorithm::ES384, name: "ES384", kind: KeyKind::EcP384 },
    Entry { alg: Algorithm::EdDSA, name: "EdDSA", kind: KeyKind::Ed25519 },
];

/// Every algorithm of the table, in table order: the default allow-list.
pub(crate) fn all() -> Vec<Algorithm> {
    TABLE.iter().map(|e| e.alg).collect()
}

/// The table index of `alg`; `None` for algorithms authgate never accepts.
fn index(alg: Algorithm) -> Option<usize> {
    TABLE.iter().position(|e| e.alg == alg)
}

/// Whether `alg` is in the table (asymmetric and supported).
pub(crate) fn is_supported(alg: Algorithm) -> bool {
    index(alg).is_some()
}

/// The algorithm named `name` in a JOSE header or a JWK, if the table has it.
pub(crate) fn parse(name: &str) -> Option<Algorithm> {
    TABLE.iter().find(|e| e.name == name).map(|e| e.alg)
}

/// A set of table algorithms, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgSet(u16);

impl AlgSet {
    /// The set of `algs` (algorithms outside the table are ignored).
    pub(crate) fn of(algs: &[Algorithm]) -> Self {
        Self(
            algs.iter()
                .filter_map(|alg| index(*alg))
                .fold(0, |bits, i| bits | 1 << i),
        )
    }

    /// Every algorithm that verifies with a key of `kind`.
    pub(crate) fn for_kind(kind: KeyKind) -> Self {
        Self(
            TABLE
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == kind)
                .fold(0, |bits, (i, _)| bits | 1 << i),
        )
    }

    /// Whether `alg` is in the set.
    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        index(alg).is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_hmac_is_absent() {
        for entry in &TABLE {
            assert_eq!(parse(entry.name), Some(entry.alg));
        }
        for name in ["none", "HS256", "HS384", "HS512", "rs256", ""] {
            assert_eq!(parse(name), None, "{name}");
        }
        assert!(!is_supported(Algorithm::HS256));
        assert_eq!(all().len(), TABLE.len());
    }

    #[test]
    fn key_kinds_limit_algorithms() {
        let rsa = AlgSet::for_kind(KeyKind::Rsa);
        assert!(rsa.contains(Algorithm::RS256) && rsa.contains(Algorithm::PS512));
        assert!(!rsa.contains(Algorithm::ES256) && !rsa.contains(Algorithm::HS256));
        let p256 = AlgSet::for_kind(KeyKind::EcP256);
        assert!(p256.contains(Algorithm::ES256) && !p256.contains(Algorithm::ES384));
        assert!(AlgSet::for_kind(KeyKind::Ed25519).contains(Algorithm::EdDSA));
        assert!(!AlgSet::of(&[Algorithm::HS256]).contains(Algorithm::HS256));
    }
}
