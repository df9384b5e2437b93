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

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
    #[serde(default)]
    typ: Option<String>,
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
    if header.crit.is_some() {
        // We implement no JWS extension, so any critical one is unknown to us.
        return Err(AuthError::UnsupportedCriticalHeader.into());
    }
    let key = match keys.find(header.kid.as_deref(), alg) {
        KeyLookup::Found(key) => key,
        KeyLookup::Ambiguous => return Err(AuthError::AmbiguousKey.into()),
        KeyLookup::Unknown => return Err(Failure::UnknownKid(keys.generation)),
    };
    let message = &token[..header_b64.len() + 1 + payload_b64.len()];
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

    #[test]
    fn fractional_dates_are_floored() {
        let claims = map(json!({"exp": 1000.9}));
        assert_eq!(numeric_date(&claims, "exp").unwrap(), Some(1000));
    }
}
