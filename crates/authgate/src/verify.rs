//! The pure token check: a compact JWS against one key set and the configured rules.
//! No I/O, no cache, no mapping: [`verify`] says whether a token is valid and, if so,
//! hands back its claims.
//!
//! In order: the shape (three segments; five is a JWE and refused), the header (`alg`
//! in the allow-list of the [algorithm table](crate::keys::alg), no `crit`), the key
//! (by `kid`, or the single key that fits when there is none), the signature, then
//! `exp` (required), `nbf`, `iss` (exact), `aud` (string or array) and `sub`
//! (required), with the configured leeway.

use crate::token_type::TokenType;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::config::ConfigInner;
use crate::error::AuthError;
use crate::keys::alg::{self, AlgSet};
use crate::keys::jwk::{KeyLookup, KeySet};

/// What a valid token must satisfy, taken from the configuration once.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    issuer: String,
    audiences: Vec<String>,
    leeway: i64,
    algs: AlgSet,
    token_type: TokenType,
    require_sub: bool,
}

impl Rules {
    /// The rules of a configuration.
    pub(crate) fn new(config: &ConfigInner) -> Self {
        Self {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            leeway: i64::try_from(config.leeway.as_secs()).unwrap_or(300),
            algs: AlgSet::of(&config.algorithms),
            token_type: config.token_type.clone(),
            require_sub: config.require_sub,
        }
    }

    /// Fixed rules for the fuzz harness: every algorithm of the table, any token type.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn fixed(issuer: &str, audience: &str, leeway: i64) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            leeway,
            algs: AlgSet::of(&alg::all()),
            token_type: TokenType::Any,
            require_sub: true,
        }
    }
}

/// A token that passed every check.
#[derive(Debug)]
pub(crate) struct Verified {
    /// Its claims.
    pub(crate) claims: Claims,
    /// Its `exp`.
    pub(crate) exp: i64,
    /// The fingerprint of the key that signed it.
    pub(crate) key: u64,
}

/// Why a token did not verify.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused.
    Auth(AuthError),
    /// No key for the token in the key set of this generation: a refetch may help.
    UnknownKid(u64),
}

impl From<AuthError> for Failure {
    fn from(err: AuthError) -> Self {
        Self::Auth(err)
    }
}

/// The members of a JOSE header that the check reads.
///
/// Deserialized by hand rather than derived: a derived struct also reads a JSON array
/// (`["EdDSA"]` as `{"alg":"EdDSA"}`) and skips unknown members without validating
/// them (invalid UTF-8, lone surrogates), so headers that are not JSON objects, or not
/// valid JSON at all, would pass. Here the header must be an object, every member is
/// parsed, and a repeated known member is refused.
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    /// Whether the header has a `crit` member at all (`null` included).
    crit: bool,
    typ: Option<String>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum HeaderMember {
    Alg,
    Kid,
    Crit,
    Typ,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for JoseHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(JoseHeaderVisitor)
    }
}

struct JoseHeaderVisitor;

impl<'de> Visitor<'de> for JoseHeaderVisitor {
    type Value = JoseHeader;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JOSE header (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JoseHeader, A::Error> {
        fn once<T, E: de::Error>(
            slot: &mut Option<T>,
            value: T,
            name: &'static str,
        ) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::duplicate_field(name)),
            }
        }
        let (mut alg, mut kid, mut crit, mut typ) = (None, None, None, None);
        while let Some(member) = map.next_key()? {
            match member {
                HeaderMember::Alg => once(&mut alg, map.next_value::<String>()?, "alg")?,
                HeaderMember::Kid => once(&mut kid, map.next_value::<Option<String>>()?, "kid")?,
                HeaderMember::Crit => once(&mut crit, map.next_value::<Value>()?, "crit")?,
                HeaderMember::Typ => once(&mut typ, map.next_value::<Option<String>>()?, "typ")?,
                // Parsed, not skipped, so that it is validated.
                HeaderMember::Other => drop(map.next_value::<Value>()?),
            }
        }
        Ok(JoseHeader {
            alg: alg.ok_or_else(|| de::Error::missing_field("alg"))?,
            kid: kid.flatten(),
            crit: crit.is_some(),
            typ: typ.flatten(),
        })
    }
}

fn malformed(reason: &'static str) -> AuthError {
    AuthError::Malformed { reason }
}

/// Checks `token` against `keys` and `rules` at time `now` (seconds since the epoch).
pub(crate) fn verify(
    token: &str,
    keys: &KeySet,
    rules: &Rules,
    now: i64,
) -> Result<Verified, Failure> {
    let dots = token.bytes().filter(|b| *b == b'.').count();
    if dots == 4 {
        return Err(AuthError::EncryptedToken.into());
    }
    if dots != 2 {
        return Err(malformed("expected three dot-separated segments").into());
    }
    let (header_b64, rest) = token.split_once('.').ok_or(malformed("no header"))?;
    let (payload_b64, signature) = rest.split_once('.').ok_or(malformed("no payload"))?;
    if header_b64.is_empty() || payload_b64.is_empty() || signature.is_empty() {
        return Err(malformed("a segment is empty").into());
    }
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| malformed("the header is not base64url"))?;
    let header: JoseHeader = serde_json::from_slice(&header_json)
        .map_err(|_| malformed("the header is not a JOSE header"))?;
    let alg: Algorithm = alg::parse(&header.alg)
        .filter(|alg| rules.algs.contains(*alg))
        .ok_or(AuthError::AlgorithmNotAllowed)?;
    if header.crit {
        // We implement no JWS extension, so any critical one is unknown to us.
        return Err(AuthError::UnsupportedCriticalHeader.into());
    }
    let key = match keys.find(header.kid.as_deref(), alg) {
        KeyLookup::Found(key) => key,
        KeyLookup::Ambiguous => return Err(AuthError::AmbiguousKey.into()),
        KeyLookup::Unknown => return Err(Failure::UnknownKid(keys.generation)),
    };
    let message = &token[..header_b64.len() + 1 + payload_b64.len()];
    // Installed when the key set was parsed; a second check costs one atomic load.
    crate::crypto::install_jwt_provider();
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg) {
        Ok(true) => {}
        Ok(false) | Err(_) => return Err(AuthError::InvalidSignature.into()),
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| malformed("the payload is not base64url"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| malformed("the payload is not a JSON object"))?;
    let (sub, exp) = check_claims(&claims, rules, now)?;
    rules.token_type.check(header.typ.as_deref(), &claims)?;
    Ok(Verified {
        claims: Claims::new(claims, sub, exp),
        exp,
        key: key.fingerprint,
    })
}

/// The registered claims: `exp`, `nbf`, `iss`, `aud`, `sub`. Returns `sub` and `exp`.
fn check_claims(
    claims: &Map<String, Value>,
    rules: &Rules,
    now: i64,
) -> Result<(String, i64), AuthError> {
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim { claim: "exp" })?;
    if now > exp.saturating_add(rules.leeway) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(rules.leeway)
    {
        return Err(AuthError::NotYetValid);
    }
    match claims.get("iss") {
        None => return Err(AuthError::MissingClaim { claim: "iss" }),
        Some(Value::String(iss)) if *iss == rules.issuer => {}
        Some(_) => return Err(AuthError::InvalidIssuer),
    }
    let audience_ok = match claims.get("aud") {
        None => return Err(AuthError::MissingClaim { claim: "aud" }),
        Some(Value::String(aud)) => rules.audiences.contains(aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| rules.audiences.iter().any(|a| a == aud)),
        Some(_) => return Err(AuthError::InvalidClaim { claim: "aud" }),
    };
    if !audience_ok {
        return Err(AuthError::InvalidAudience);
    }
    match claims.get("sub") {
        // Logout tokens may name a session (`sid`) instead of a user.
        None if !rules.require_sub => Ok((String::new(), exp)),
        None => Err(AuthError::MissingClaim { claim: "sub" }),
        Some(Value::String(sub)) if !sub.is_empty() => Ok((sub.clone(), exp)),
        Some(_) => Err(AuthError::InvalidClaim { claim: "sub" }),
    }
}

/// A NumericDate: a JSON number (fractions allowed), anything else is invalid.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // Saturating: an absurd date is still ordered correctly.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Err(AuthError::InvalidClaim { claim: name })
            }
        }
        Some(_) => Err(AuthError::InvalidClaim { claim: name }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        Rules {
            issuer: "https://idp/".into(),
            audiences: vec!["api".into()],
            leeway: 60,
            algs: AlgSet::of(&alg::all()),
            token_type: TokenType::Any,
            require_sub: true,
        }
    }

    fn map(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else { panic!() };
        map
    }

    #[test]
    fn registered_claims_are_checked_in_order() {
        let ok = json!({"exp": 1000, "iss": "https://idp/", "aud": ["x", "api"], "sub": "u"});
        assert_eq!(
            check_claims(&map(ok.clone()), &rules(), 1000).unwrap(),
            ("u".into(), 1000)
        );
        // Expired beyond the leeway only.
        assert!(check_claims(&map(ok.clone()), &rules(), 1060).is_ok());
        assert!(matches!(
            check_claims(&map(ok), &rules(), 1061),
            Err(AuthError::Expired)
        ));
        let cases = [
            (
                json!({"iss": "https://idp/", "aud": "api", "sub": "u"}),
                "missing_claim",
            ),
            (
                json!({"exp": "soon", "iss": "https://idp/", "aud": "api", "sub": "u"}),
                "invalid_claim",
            ),
            (
                json!({"exp": 2000, "nbf": 1100, "iss": "https://idp/", "aud": "api", "sub": "u"}),
                "token_not_yet_valid",
            ),
            (
                json!({"exp": 2000, "iss": "https://idp", "aud": "api", "sub": "u"}),
                "invalid_issuer",
            ),
            (
                json!({"exp": 2000, "iss": "https://idp/", "aud": "web", "sub": "u"}),
                "invalid_audience",
            ),
            (
                json!({"exp": 2000, "iss": "https://idp/", "aud": 7, "sub": "u"}),
                "invalid_claim",
            ),
            (
                json!({"exp": 2000, "iss": "https://idp/", "aud": "api", "sub": ""}),
                "invalid_claim",
            ),
            (
                json!({"exp": 2000, "iss": "https://idp/", "aud": "api"}),
                "missing_claim",
            ),
        ];
        for (claims, code) in cases {
            let err = check_claims(&map(claims.clone()), &rules(), 1000).unwrap_err();
            assert_eq!(err.code(), code, "{claims}");
        }
    }

    /// What the fixed keys and rules of the fuzz harness say of a token whose header
    /// is `header` (raw JSON text) and whose claims are valid.
    fn verdict(header: &[u8]) -> Result<(), &'static str> {
        let claims = json!({"iss": crate::__fuzz::ISSUER, "aud": crate::__fuzz::AUDIENCE,
            "sub": "u", "exp": crate::__fuzz::NOW + 600});
        let token = crate::__fuzz::signed_token(header, claims.to_string().as_bytes());
        match crate::__fuzz::verify_fixed(&token) {
            Ok(_) => Ok(()),
            Err(Failure::Auth(err)) => Err(err.code()),
            Err(Failure::UnknownKid(_)) => Err("unknown kid"),
        }
    }

    #[test]
    fn a_valid_header_passes() {
        assert_eq!(verdict(br#"{"alg":"EdDSA","kid":"fuzz"}"#), Ok(()));
        assert_eq!(
            verdict(br#" {"alg":"EdDSA","kid":null,"typ":null,"x5t":[1]}"#),
            Ok(())
        );
    }

    /// Found by the property test `signed_tokens_are_accepted_only_when_sound`: a
    /// derived deserializer also reads a struct from a JSON array.
    #[test]
    fn a_header_that_is_not_an_object_is_refused() {
        for header in [
            &br#"["EdDSA"]"#[..],
            br#"["EdDSA","fuzz",null,null]"#,
            b"\"EdDSA\"",
            b"null",
        ] {
            assert_eq!(
                verdict(header),
                Err("malformed_token"),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
    }

    /// Found by the `verify` fuzz target: a derived deserializer skips unknown members
    /// without validating them.
    #[test]
    fn unknown_header_members_must_be_valid_json() {
        for header in [
            &b"{\"alg\":\"EdDSA\",\"kid\":\"fuzz\",\"x\":\"\xa9uzz\"}"[..],
            br#"{"alg":"EdDSA","kid":"fuzz","x":"\ud800"}"#,
            br#"{"alg":"EdDSA","kid":"fuzz","x":[}"#,
        ] {
            assert_eq!(
                verdict(header),
                Err("malformed_token"),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
    }

    #[test]
    fn a_crit_member_is_refused_even_when_null() {
        for header in [
            &br#"{"alg":"EdDSA","kid":"fuzz","crit":null}"#[..],
            br#"{"alg":"EdDSA","kid":"fuzz","crit":["exp"]}"#,
        ] {
            assert_eq!(verdict(header), Err("unsupported_crit"));
        }
    }

    #[test]
    fn a_repeated_header_member_is_refused() {
        assert_eq!(
            verdict(br#"{"alg":"RS256","alg":"EdDSA","kid":"fuzz"}"#),
            Err("malformed_token")
        );
        assert_eq!(
            verdict(br#"{"alg":"EdDSA","kid":"rsa","kid":"fuzz"}"#),
            Err("malformed_token")
        );
    }

    #[test]
    fn fractional_dates_are_floored() {
        let claims = map(json!({"exp": 1000.9}));
        assert_eq!(numeric_date(&claims, "exp").unwrap(), Some(1000));
    }
}

#[cfg(test)]
mod properties {
    //! Property tests of token splitting and base64url decoding: [`verify`] never
    //! panics and refuses anything that is not a well-formed token signed by a key of
    //! the set. Every verdict goes through the fuzz harness's oracle, which panics when
    //! a token is accepted without being sound.

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use crate::__fuzz::{AUDIENCE, ISSUER, KID, NOW, check_token, signed_token};

    /// 256 cases (proptest's default; `PROPTEST_CASES=N` for a deeper run by hand),
    /// and no regression files written into the source tree.
    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn valid_claims() -> Value {
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": NOW + 600})
    }

    /// A segment as tokens are made of: base64url characters, sometimes with stray
    /// padding, standard-alphabet or other characters.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,24}",
            "[A-Za-z0-9+/=_-]{0,24}",
            any::<String>(),
        ]
    }

    /// The strings a JOSE header or a claim set is built of.
    fn word() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!("EdDSA")),
            Just(json!("RS256")),
            Just(json!("ES256")),
            Just(json!("HS256")),
            Just(json!("none")),
            Just(json!(KID)),
            Just(json!("rsa")),
            Just(json!("at+jwt")),
            Just(json!(ISSUER)),
            Just(json!(AUDIENCE)),
            Just(json!("user-1")),
            Just(json!("")),
            "[a-z+]{0,8}".prop_map(Value::from),
        ]
    }

    /// JSON values made of those words, numbers around [`NOW`], and nesting.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            word(),
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-700i64..700).prop_map(|d| json!(NOW + d)),
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-z]{1,4}", inner), 0..4)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// JOSE headers, well-formed or not: objects of the header members, and the other
    /// JSON shapes (arrays of the same values, scalars).
    fn header() -> impl Strategy<Value = Value> {
        let member = prop_oneof![
            Just("alg"),
            Just("kid"),
            Just("typ"),
            Just("crit"),
            Just("jku"),
        ];
        prop_oneof![
            3 => prop::collection::vec((member, prop_oneof![3 => word(), 1 => value()]), 0..5)
                .prop_map(|pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            1 => prop::collection::vec(prop_oneof![3 => word(), 1 => value()], 0..5)
                .prop_map(Value::from),
            1 => value(),
        ]
    }

    /// Claim sets, valid or not: the valid set with members replaced or removed, and
    /// other JSON shapes.
    fn claims() -> impl Strategy<Value = Value> {
        let member = prop_oneof![
            Just("iss"),
            Just("aud"),
            Just("sub"),
            Just("exp"),
            Just("nbf"),
            Just("typ"),
        ];
        let edits = prop::collection::vec((member, prop::option::of(value())), 0..4);
        prop_oneof![
            4 => edits.prop_map(|edits| {
                let mut claims = valid_claims();
                let map = claims.as_object_mut().expect("an object");
                for (name, value) in edits {
                    match value {
                        Some(value) => map.insert(name.to_owned(), value),
                        None => map.remove(name),
                    };
                }
                claims
            }),
            1 => value(),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_strings_are_refused(token in any::<String>()) {
            prop_assert!(!check_token(&token));
        }

        #[test]
        fn any_number_of_segments_of_anything_is_refused(
            segments in prop::collection::vec(segment(), 0..8),
        ) {
            prop_assert!(!check_token(&segments.join(".")));
        }

        #[test]
        fn arbitrary_base64_is_refused(
            header in prop::collection::vec(any::<u8>(), 0..48),
            payload in prop::collection::vec(any::<u8>(), 0..48),
            signature in prop::collection::vec(any::<u8>(), 0..600),
        ) {
            let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
            prop_assert!(!check_token(&token));
        }

        /// A header and payload that would pass, under every algorithm and key the
        /// set has (and some it has not), with a signature that is not the key's.
        #[test]
        fn garbage_signatures_are_refused(
            (alg, kid) in prop_oneof![
                Just(("EdDSA", Some(KID))),
                Just(("EdDSA", None)),
                Just(("RS256", Some("rsa"))),
                Just(("RS256", None)),
                Just(("PS256", Some("rsa"))),
                Just(("ES256", Some(KID))),
            ],
            signature in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..600).prop_map(|s| b64(&s)),
                segment(),
            ],
        ) {
            let header = match kid {
                Some(kid) => json!({"alg": alg, "kid": kid}),
                None => json!({"alg": alg}),
            };
            let signed = signed_token(header.to_string().as_bytes(), valid_claims().to_string().as_bytes());
            let (message, real) = signed.rsplit_once('.').expect("three segments");
            prop_assume!(signature != real);
            let forged = format!("{message}.{signature}");
            prop_assert!(!check_token(&forged));
        }

        /// A valid token verifies, and changing any one of its characters to another
        /// makes it refused: no second spelling of a segment (padding, trailing bits,
        /// another alphabet) carries the same signature.
        #[test]
        fn any_change_to_a_valid_token_is_refused(
            index in any::<prop::sample::Index>(),
            replacement in prop::sample::select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. ".chars().collect::<Vec<_>>(),
            ),
        ) {
            let token = signed_token(
                json!({"alg": "EdDSA", "kid": KID}).to_string().as_bytes(),
                valid_claims().to_string().as_bytes(),
            );
            prop_assert!(check_token(&token));
            let at = index.index(token.len());
            prop_assume!(token.as_bytes()[at] != replacement as u8);
            let mut changed = token.into_bytes();
            changed[at] = replacement as u8;
            let changed = String::from_utf8(changed).expect("ASCII");
            prop_assert!(!check_token(&changed), "{changed}");
        }

        /// Validly signed tokens of any header and claims: accepted only when sound
        /// (the oracle's checks), which needs a JOSE header that is a JSON object.
        #[test]
        fn signed_tokens_are_accepted_only_when_sound(header in header(), claims in claims()) {
            let token = signed_token(header.to_string().as_bytes(), claims.to_string().as_bytes());
            check_token(&token);
        }
    }
}
