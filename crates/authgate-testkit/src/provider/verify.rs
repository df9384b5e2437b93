//! Checking that a token was signed by this issuer.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use crate::issuer::shared::Shared;

/// Whether to check `exp` (an `id_token_hint` may have expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Check,
    Ignore,
}

/// The claims of `token` if a served key signed it (by its header's `kid`, with an
/// algorithm that key can sign) and its `iss` is this issuer; `exp` checked
/// (with jsonwebtoken's default leeway) unless told otherwise. `aud` is left to
/// the caller.
pub(crate) fn verify(shared: &Shared, token: &str, expiry: Expiry) -> Option<Value> {
    crate::key::ensure_jwt_provider();
    let header = decode_header(token).ok()?;
    let key = shared.read().get(header.kid.as_deref()?).cloned()?;
    if !key.supports(header.alg) {
        return None;
    }
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).ok()?;
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[shared.issuer.as_str()]);
    validation.validate_aud = false;
    if expiry == Expiry::Ignore {
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
    }
    decode::<Value>(token, &decoding, &validation)
        .ok()
        .map(|data| data.claims)
}

/// Whether the `aud` claim (a string or an array) names `client_id`.
pub(crate) fn audience_has(claims: &Value, client_id: &str) -> bool {
    match &claims["aud"] {
        Value::String(aud) => aud == client_id,
        Value::Array(auds) => auds.iter().any(|a| a == client_id),
        _ => false,
    }
}

/// The Bearer token of an `Authorization` header.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}
