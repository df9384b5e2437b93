//! JWK parsing: one provider key set as a [`KeySet`] snapshot.
//!
//! Each JWK is parsed on its own: encryption keys, unknown key types and algorithms
//! outside the [algorithm table](super::alg) are skipped with a debug event, never
//! failing the whole set. A key is limited to the algorithms of its `kty` (and its
//! `alg` when present).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::alg::{self, AlgSet, KeyKind};

/// One verification key.
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) decoding: DecodingKey,
    pub(crate) algs: AlgSet,
    /// Identifies the key material across refetches (for the token cache).
    pub(crate) fingerprint: u64,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algs", &self.algs)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// One snapshot of the provider's keys.
#[derive(Debug)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Vec<Arc<Key>>>,
    all: Vec<Arc<Key>>,
    fingerprints: HashSet<u64>,
    pub(crate) generation: u64,
    /// Unix second from which this set is too old to trust ([`i64::MAX`]: never).
    pub(crate) stale_at: i64,
}

/// Why a JWK set could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeySetError {
    #[error("not a JWK set")]
    Json(#[from] serde_json::Error),
    #[error("no usable signing key in the set")]
    NoUsableKeys,
}

/// The JSON shape of a JWK set; keys stay raw so each is parsed on its own.
#[derive(Deserialize)]
pub(crate) struct RawSet {
    pub(crate) keys: Vec<Value>,
}

/// The result of looking a token's key up.
pub(crate) enum KeyLookup {
    Found(Arc<Key>),
    Unknown,
    Ambiguous,
}

impl KeySet {
    /// Parses the JSON text of a JWK set.
    pub(crate) fn parse(json: &str, generation: u64) -> Result<Self, KeySetError> {
        let raw: RawSet = serde_json::from_str(json)?;
        Self::from_values(raw.keys, generation)
    }

    /// A set from raw JWKs; unusable ones are skipped.
    pub(crate) fn from_values(values: Vec<Value>, generation: u64) -> Result<Self, KeySetError> {
        let mut set = Self {
            by_kid: HashMap::new(),
            all: Vec::new(),
            fingerprints: HashSet::new(),
            generation,
            stale_at: i64::MAX,
        };
        for (index, value) in values.iter().enumerate() {
            match parse_jwk(value) {
                Ok(key) => {
                    let key = Arc::new(key);
                    set.fingerprints.insert(key.fingerprint);
                    if let Some(kid) = &key.kid {
                        set.by_kid.entry(kid.clone()).or_default().push(key.clone());
                    }
                    set.all.push(key);
                }
                Err(reason) => {
                    let kid = value.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::debug!(index, kid, reason, "skipping JWK");
                }
            }
        }
        if set.all.is_empty() {
            return Err(KeySetError::NoUsableKeys);
        }
        Ok(set)
    }

    /// The same keys under another generation number, trusted until `stale_at`
    /// (Unix seconds).
    pub(crate) fn with_generation(self, generation: u64, stale_at: i64) -> Self {
        Self {
            generation,
            stale_at,
            ..self
        }
    }

    /// The key for a token: by `kid` when it has one, otherwise the one key that fits
    /// `alg` (never every key in turn).
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup {
        match kid {
            Some(kid) => match self
                .by_kid
                .get(kid)
                .and_then(|keys| keys.iter().find(|k| k.algs.contains(alg)))
            {
                Some(key) => KeyLookup::Found(key.clone()),
                None => KeyLookup::Unknown,
            },
            None => {
                let mut fitting = self.all.iter().filter(|k| k.algs.contains(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => KeyLookup::Found(key.clone()),
                    (Some(_), Some(_)) => KeyLookup::Ambiguous,
                    (None, _) => KeyLookup::Unknown,
                }
            }
        }
    }

    /// Whether a key with this fingerprint is in the set.
    pub(crate) fn contains_fingerprint(&self, fingerprint: u64) -> bool {
        self.fingerprints.contains(&fingerprint)
    }

    /// How many usable keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    #[cfg(test)]
    pub(crate) fn fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.fingerprints.iter().copied()
    }
}

fn str_field<'a>(value: &'a Value, name: &'static str) -> Result<&'a str, &'static str> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or("a required member is missing or not a string")
}

fn parse_jwk(value: &Value) -> Result<Key, &'static str> {
    if !value.is_object() {
        return Err("not a JSON object");
    }
    if let Some(usage) = value.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err("not a signing key (use != sig)");
    }
    if let Some(ops) = value.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("key_ops does not allow verify");
        }
    }
    let kid = match value.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("kid is not a string"),
    };
    let (decoding, kind, material) = match str_field(value, "kty")? {
        "RSA" => {
            let (n, e) = (str_field(value, "n")?, str_field(value, "e")?);
            let key = DecodingKey::from_rsa_components(n, e).map_err(|_| "bad RSA n or e")?;
            (key, KeyKind::Rsa, format!("RSA|{n}|{e}"))
        }
        "EC" => {
            let kind = match str_field(value, "crv")? {
                "P-256" => KeyKind::EcP256,
                "P-384" => KeyKind::EcP384,
                _ => return Err("unsupported EC curve"),
            };
            let (x, y) = (str_field(value, "x")?, str_field(value, "y")?);
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "bad EC x or y")?;
            (key, kind, format!("EC|{x}|{y}"))
        }
        "OKP" => {
            if str_field(value, "crv")? != "Ed25519" {
                return Err("unsupported OKP curve");
            }
            let x = str_field(value, "x")?;
            let key = DecodingKey::from_ed_components(x).map_err(|_| "bad Ed25519 x")?;
            (key, KeyKind::Ed25519, format!("OKP|{x}"))
        }
        _ => return Err("unsupported key type"),
    };
    let family = AlgSet::for_kind(kind);
    let algs = match value.get("alg") {
        None => family,
        Some(alg) => {
            let alg = alg
                .as_str()
                .and_then(alg::parse)
                .ok_or("unsupported or non-signing alg")?;
            if !family.contains(alg) {
                return Err("alg does not fit the key type");
            }
            AlgSet::of(&[alg])
        }
    };
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{}|{material}", kid.as_deref().unwrap_or("")).as_bytes(),
    );
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    Ok(Key {
        kid,
        decoding,
        algs,
        fingerprint: u64::from_le_bytes(first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    fn rsa(extra: Value) -> Value {
        let mut jwk = serde_json::json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "a"});
        if let (Value::Object(base), Value::Object(extra)) = (&mut jwk, extra) {
            base.extend(extra);
        }
        jwk
    }

    #[test]
    fn bad_keys_are_skipped_not_fatal() {
        let set = KeySet::from_values(
            vec![
                rsa(serde_json::json!({"kid": "enc", "use": "enc"})),
                rsa(serde_json::json!({"kid": "oaep", "alg": "RSA-OAEP"})),
                rsa(serde_json::json!({"kid": "hs", "alg": "HS256"})),
                rsa(serde_json::json!({"kid": "es-on-rsa", "alg": "ES256"})),
                rsa(serde_json::json!({"kid": "ops", "key_ops": ["encrypt"]})),
                serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "oct"}),
                serde_json::json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}),
                serde_json::json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"}),
                serde_json::json!("not an object"),
                rsa(serde_json::json!({"kid": "good", "alg": "RS256", "use": "sig"})),
            ],
            1,
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        assert!(matches!(
            set.find(Some("good"), Algorithm::RS256),
            KeyLookup::Found(_)
        ));
        // The key is limited to its declared alg.
        assert!(matches!(
            set.find(Some("good"), Algorithm::PS256),
            KeyLookup::Unknown
        ));
        for kid in [
            "enc",
            "oaep",
            "hs",
            "es-on-rsa",
            "ops",
            "oct",
            "no-n",
            "p521",
        ] {
            assert!(matches!(
                set.find(Some(kid), Algorithm::RS256),
                KeyLookup::Unknown
            ));
        }
    }

    #[test]
    fn a_set_with_no_usable_key_is_an_error() {
        let err = KeySet::parse(r#"{"keys":[{"kty":"oct","k":"AA"}]}"#, 0).unwrap_err();
        assert!(matches!(err, KeySetError::NoUsableKeys));
        assert!(matches!(KeySet::parse("[]", 0), Err(KeySetError::Json(_))));
    }

    #[test]
    fn no_kid_uses_the_single_fitting_key_only() {
        let one = KeySet::from_values(vec![rsa(serde_json::json!({}))], 1).unwrap();
        assert!(matches!(
            one.find(None, Algorithm::RS256),
            KeyLookup::Found(_)
        ));
        assert!(matches!(
            one.find(None, Algorithm::ES256),
            KeyLookup::Unknown
        ));
        let two = KeySet::from_values(
            vec![
                rsa(serde_json::json!({})),
                rsa(serde_json::json!({"kid": "b"})),
            ],
            1,
        )
        .unwrap();
        assert!(matches!(
            two.find(None, Algorithm::RS256),
            KeyLookup::Ambiguous
        ));
    }

    #[test]
    fn fingerprints_are_stable_across_parses() {
        let a = KeySet::from_values(vec![rsa(serde_json::json!({}))], 1).unwrap();
        let b = KeySet::from_values(vec![rsa(serde_json::json!({}))], 2).unwrap();
        let fp = a.all[0].fingerprint;
        assert!(b.contains_fingerprint(fp));
        let c = KeySet::from_values(vec![rsa(serde_json::json!({"kid": "other"}))], 3).unwrap();
        assert!(!c.contains_fingerprint(fp));
    }
}
