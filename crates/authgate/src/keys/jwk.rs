//! JWK parsing: one provider key set as a [`KeySet`] snapshot.
//!
//! Each JWK is parsed on its own: encryption keys, unknown key types and algorithms
//! outside the [algorithm table](super::alg) are skipped with a debug event, never
//! failing the whole set. A key is limited to the algorithms of its `kty` (and its
//! `alg` when present).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::{self, Deserialize, Deserializer};
use serde_json::{Map, Value};

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
pub(crate) struct RawSet {
    pub(crate) keys: Vec<Value>,
}

impl<'de> Deserialize<'de> for RawSet {
    /// A JSON object (RFC 7517, section 5) with a `keys` array, every member valid
    /// JSON. Not derived: a derived struct also reads a JSON array (`[[{…}]]`) and
    /// skips the other members without validating them.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut document = Map::<String, Value>::deserialize(deserializer)?;
        match document.remove("keys") {
            Some(Value::Array(keys)) => Ok(Self { keys }),
            Some(_) => Err(de::Error::invalid_type(
                de::Unexpected::Other("a non-array `keys`"),
                &"an array of JWKs",
            )),
            None => Err(de::Error::missing_field("keys")),
        }
    }
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
        crate::crypto::install_jwt_provider();
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

    /// Every usable key, for the fuzz harness's checks.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.all.iter().map(|key| &**key)
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

pub(crate) fn parse_jwk(value: &Value) -> Result<Key, &'static str> {
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
    let digest = crate::crypto::sha256(&[
        kid.as_deref().unwrap_or("").as_bytes(),
        b"|",
        material.as_bytes(),
    ]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
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

    pub(super) const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

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

    /// Found by the property test `set_documents_make_only_sound_sets` (and the `jwk`
    /// fuzz target's oracle on its seed `set-as-array`): a derived `RawSet` read the
    /// JSON array `[[jwk]]` as the set `{"keys": [jwk]}`, and skipped the other
    /// members of the document without validating them.
    #[test]
    fn a_set_is_an_object_with_a_keys_array() {
        let key = rsa(serde_json::json!({}));
        assert_eq!(
            KeySet::parse(&format!(r#"{{"keys":[{key}]}}"#), 0)
                .unwrap()
                .len(),
            1
        );
        for document in [
            format!("[[{key}]]"),
            format!(r#"{{"keys":{key}}}"#),
            format!(r#"{{"keys":[{key}],"x":"\ud800"}}"#),
            format!(r#"{{"kid":[{key}]}}"#),
        ] {
            assert!(
                matches!(KeySet::parse(&document, 0), Err(KeySetError::Json(_))),
                "{document}"
            );
        }
        let invalid_utf8 = [&br#"{"keys":[],"x":""#[..], b"\xa9", br#""}"#].concat();
        assert!(serde_json::from_slice::<RawSet>(&invalid_utf8).is_err());
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

#[cfg(test)]
mod properties {
    //! Property tests of JWK parsing: [`parse_jwk`], [`KeySet::from_values`] and
    //! [`KeySet::parse`] never panic on arbitrary JSON or on JWK-shaped objects, and
    //! every key they make passes the fuzz harness's oracle (a signing key of a
    //! supported type, limited to its type's and its `alg`'s algorithms, found by its
    //! `kid`).

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::KeySet;
    use crate::__fuzz::{check_jwk, check_jwk_set};

    /// 256 cases (proptest's default; `PROPTEST_CASES=N` for a deeper run by hand),
    /// and no regression files written into the source tree.
    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Real key material, so that some generated JWKs are usable keys.
    const RSA_N: &str = super::tests::RSA_N;
    const P256_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
    const P256_Y: &str = "4Etl6SRW2YilurN5ZeBJvyFHmbNU_6DEnKcx2RPVF4M";
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// A value for a JWK member: the words JWKs are made of, real key material,
    /// base64url of random bytes, and any other JSON.
    fn member_value() -> impl Strategy<Value = Value> {
        let word = prop::sample::select(vec![
            "RSA", "EC", "OKP", "oct", "P-256", "P-384", "P-521", "Ed25519", "X25519", "sig",
            "enc", "verify", "sign", "RS256", "PS512", "ES256", "ES384", "EdDSA", "HS256", "none",
            "RSA-OAEP", "AQAB", "", "AA", RSA_N, P256_X, P256_Y, ED_X,
        ]);
        prop_oneof![
            4 => word.prop_map(Value::from),
            2 => prop::collection::vec(any::<u8>(), 0..80).prop_map(|bytes| {
                use base64::Engine as _;
                Value::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
            }),
            1 => prop::collection::vec(
                prop::sample::select(vec!["verify", "sign", "encrypt", ""]).prop_map(Value::from),
                0..3,
            )
            .prop_map(Value::from),
            1 => json_value(),
        ]
    }

    /// An object of JWK members (`kty`, `crv`, `n`, `e`, `x`, `y`, `alg`, `use`,
    /// `key_ops`, `kid`, `k`), each with a value of any kind.
    fn jwk_shaped() -> impl Strategy<Value = Value> {
        let member = prop::sample::select(vec![
            "kty", "crv", "n", "e", "x", "y", "alg", "use", "key_ops", "kid", "k",
        ]);
        let usable = prop::sample::select(vec![
            json!({"kty": "RSA", "n": RSA_N, "e": "AQAB"}),
            json!({"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X}),
            json!({}),
        ]);
        (
            usable,
            prop::collection::vec((member, member_value()), 0..8),
        )
            .prop_map(|(mut jwk, members)| {
                let map = jwk.as_object_mut().expect("an object");
                for (name, value) in members {
                    map.insert(name.to_owned(), value);
                }
                jwk
            })
    }

    /// The JSON text of a JWK set document, well-formed or not.
    fn document() -> impl Strategy<Value = String> {
        let jwks = prop::collection::vec(prop_oneof![3 => jwk_shaped(), 1 => json_value()], 0..4);
        prop_oneof![
            3 => jwks.clone().prop_map(|keys| json!({"keys": keys}).to_string()),
            1 => jwks.clone().prop_map(|keys| json!([keys]).to_string()),
            1 => (jwks, json_value()).prop_map(|(keys, other)| json!({"keys": keys, "other": other}).to_string()),
            1 => jwk_shaped().prop_map(|jwk| json!({"keys": jwk}).to_string()),
            1 => any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_json_is_parsed_without_panicking(value in json_value()) {
            check_jwk(&value);
            let _ = KeySet::from_values(vec![value.clone()], 1);
            check_jwk_set(&json!({"keys": [value]}).to_string());
        }

        #[test]
        fn jwk_shaped_objects_make_only_sound_keys(jwks in prop::collection::vec(jwk_shaped(), 1..4)) {
            for jwk in &jwks {
                check_jwk(jwk);
            }
            let usable = jwks.iter().filter(|jwk| check_jwk(jwk)).count();
            match KeySet::from_values(jwks, 1) {
                Ok(set) => prop_assert_eq!(set.len(), usable),
                Err(_) => prop_assert_eq!(usable, 0),
            }
        }

        #[test]
        fn set_documents_make_only_sound_sets(document in document()) {
            check_jwk_set(&document);
        }
    }
}
