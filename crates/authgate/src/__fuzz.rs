//! The entry points of the cargo-fuzz targets in the workspace's `fuzz/` directory:
//! not a public API, not covered by semver, hidden from the docs. Compiled with the
//! `fuzzing` feature, and in this crate's own tests, where the property tests share
//! these oracles and every entry point runs over the corpus checked into
//! `fuzz/corpus/<target>/`.
//!
//! Each entry point takes the fuzzer's bytes, runs one parser on them, and panics when
//! a property of the answer fails, so that a fuzzer reports a broken property the way
//! it reports a crash. Each returns whether the parser accepted the input, so a corpus
//! can be shown to reach both answers.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

use crate::error::AuthError;
use crate::keys::alg::{self, AlgSet, KeyKind};
use crate::keys::jwk::{KeyLookup, KeySet, parse_jwk};
use crate::request::{HeaderSource, Places, TokenSource, cookie_value, find_token};
use crate::verify::{Failure, Rules, Verified, verify as verify_token};

/// The issuer fuzzed tokens must name.
pub const ISSUER: &str = "https://idp.example/";
/// The audience fuzzed tokens must name.
pub const AUDIENCE: &str = "api";
/// The clock of every fuzzed verification (Unix seconds).
pub const NOW: i64 = 1_700_000_000;
/// The leeway of every fuzzed verification (seconds).
pub const LEEWAY: i64 = 60;
/// The `kid` of the Ed25519 key whose private half the harness holds.
pub const KID: &str = "fuzz";
/// The cookie the request target looks for.
pub const COOKIE: &str = "app_auth";
/// The `__Host-` name of the auth cookie, which the token finder reads first.
pub const HOST_COOKIE: &str = "__Host-app_auth";
/// The token header the request target configures.
pub const TOKEN_HEADER: &str = "x-auth-token";
/// The token query parameter the request target configures.
pub const TOKEN_PARAM: &str = "access_token";

/// An RSA public key whose private half nobody here holds: a token that verifies
/// under it is a forgery.
const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

/// The public key of the harness's Ed25519 signer (seed `0x42` × 32), base64url.
const ED25519_X: &str = "IVL40Zt5HSRFMkLhXy6rbLfP-ntqXtMAl5YOBpiB2xI";

/// The fixed keys and rules every fuzzed token is checked against.
struct Fixture {
    signer: EncodingKey,
    keys: KeySet,
    rules: Rules,
    /// The fingerprint of the Ed25519 key: the only key a valid token can name.
    signer_fingerprint: u64,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // The Ed25519 key with the seed 0x42 × 32, as PKCS#8 v1 (RFC 8410), signed
        // through jsonwebtoken so that either crypto backend can run the harness.
        let mut pkcs8 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        pkcs8.extend_from_slice(&[0x42; 32]);
        let signer = EncodingKey::from_ed_der(&pkcs8);
        let ed = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            // The public half of that seed (RFC 8032 §5.1.5).
            "x": ED25519_X,
            "kid": KID,
            "use": "sig",
        });
        let rsa = json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": "rsa", "alg": "RS256"});
        let signer_fingerprint = parse_jwk(&ed)
            .expect("the fixture's key parses")
            .fingerprint;
        let keys = KeySet::from_values(vec![ed, rsa], 1).expect("the fixture's keys parse");
        Fixture {
            signer,
            keys,
            rules: Rules::fixed(ISSUER, AUDIENCE, LEEWAY),
            signer_fingerprint,
        }
    })
}

/// A compact JWS with these bytes as its header and payload (base64url-encoded here),
/// validly signed by the harness's Ed25519 key: whatever the bytes are, the signature
/// check passes when the header asks for `EdDSA` and the key `fuzz` (or no `kid`).
#[must_use]
pub fn signed_token(header: &[u8], payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = signature_of(&message);
    format!("{message}.{signature}")
}

fn signature_of(message: &str) -> String {
    crate::crypto::install_jwt_provider();
    jsonwebtoken::crypto::sign(message.as_bytes(), &fixture().signer, Algorithm::EdDSA)
        .expect("an Ed25519 key signs anything")
}

/// Verifies `token` against the fixed keys and rules (issuer [`ISSUER`], audience
/// [`AUDIENCE`], clock [`NOW`]) and returns whether it was accepted.
///
/// # Panics
///
/// When the token was accepted although it is not a well-formed token that the
/// harness's key signed with its one signature and whose claims satisfy the rules.
pub fn check_token(token: &str) -> bool {
    match verify_fixed(token) {
        Ok(verified) => {
            assert_accepted_token_is_sound(token, &verified);
            true
        }
        Err(_) => false,
    }
}

/// [`verify`](crate::verify::verify) against the fixed keys and rules, for this
/// crate's regression tests.
pub(crate) fn verify_fixed(token: &str) -> Result<Verified, Failure> {
    let fixture = fixture();
    verify_token(token, &fixture.keys, &fixture.rules, NOW)
}

fn assert_accepted_token_is_sound(token: &str, verified: &Verified) {
    let fixture = fixture();
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature] = segments[..] else {
        panic!("accepted a token of {} segments", segments.len());
    };
    assert_eq!(
        verified.key, fixture.signer_fingerprint,
        "accepted a token under a key whose private half nobody holds"
    );
    assert_eq!(
        signature,
        signature_of(&format!("{header_b64}.{payload_b64}")),
        "accepted a signature other than the one the key makes"
    );
    let header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .expect("accepted a header that is not canonical base64url");
    let header: Map<String, Value> =
        serde_json::from_slice(&header).expect("accepted a header that is not a JSON object");
    assert_eq!(
        header.get("alg"),
        Some(&json!("EdDSA")),
        "accepted the wrong alg"
    );
    assert!(
        !header.contains_key("crit"),
        "accepted a header with a crit member"
    );
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .expect("accepted a payload that is not canonical base64url");
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).expect("accepted a payload that is not a JSON object");
    let date = |name: &str| claims.get(name).and_then(Value::as_f64);
    let exp = date("exp").expect("accepted a token without a numeric exp");
    assert!(
        exp >= (NOW - LEEWAY) as f64,
        "accepted a token that expired"
    );
    assert_eq!(
        verified.exp,
        exp.floor() as i64,
        "the exp handed back is not the token's"
    );
    if claims.contains_key("nbf") {
        let nbf = date("nbf").expect("accepted a token with a nbf that is not a number");
        assert!(
            nbf <= (NOW + LEEWAY) as f64,
            "accepted a token before its nbf"
        );
    }
    assert_eq!(
        claims.get("iss"),
        Some(&json!(ISSUER)),
        "accepted another issuer"
    );
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == AUDIENCE,
        Some(Value::Array(auds)) => auds.contains(&json!(AUDIENCE)),
        _ => false,
    };
    assert!(audience_ok, "accepted a token for another audience");
    let sub = claims.get("sub").and_then(Value::as_str);
    assert!(
        sub.is_some_and(|sub| !sub.is_empty()),
        "accepted a token without a subject"
    );
    assert_eq!(
        Some(verified.claims.sub()),
        sub,
        "the subject handed back is not the token's"
    );
}

/// The `verify` target: the first byte chooses how the rest becomes a token. Even:
/// the rest is the token (UTF-8, lossily). Odd: the rest is `header\npayload`, each
/// base64url-encoded and signed by the harness's key, so the fuzzer reaches the
/// header and claim checks past the signature.
pub fn verify(data: &[u8]) -> bool {
    match data {
        [] => check_token(""),
        [mode, rest @ ..] if mode % 2 == 0 => check_token(&String::from_utf8_lossy(rest)),
        [_, rest @ ..] => {
            let (header, payload) = match rest.iter().position(|b| *b == b'\n') {
                Some(newline) => (&rest[..newline], &rest[newline + 1..]),
                None => (rest, &b""[..]),
            };
            check_token(&signed_token(header, payload))
        }
    }
}

/// Request headers as the fuzzer gives them (any bytes, any number of each), and a
/// query string.
#[derive(Debug, Default, Clone)]
pub struct Headers {
    headers: Vec<(&'static str, Vec<u8>)>,
    query: Option<String>,
}

impl Headers {
    /// No header.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a header (`name` in lowercase).
    pub fn append(&mut self, name: &'static str, value: impl Into<Vec<u8>>) {
        self.headers.push((name, value.into()));
    }

    /// Sets the query string (what follows `?`).
    pub fn set_query(&mut self, query: impl Into<String>) {
        self.query = Some(query.into());
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

impl HeaderSource for Headers {
    type Values<'a> = std::vec::IntoIter<&'a [u8]>;

    fn values<'a>(&'a self, name: &str) -> Self::Values<'a> {
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Where `inner` lies in `outer`, if it is a sub-slice of it.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start + inner.len() <= outer.len()).then_some(start)
}

/// Runs the cookie parser for `name` and returns its answer.
///
/// # Panics
///
/// When the value found is not exactly what one cookie pair `name=value` (between
/// `;`, spaces allowed around the name, the `=` and the value, double quotes around
/// the value removed) of a `Cookie` header holds.
pub fn check_cookie<'a>(headers: &'a Headers, name: &str) -> Option<&'a [u8]> {
    let value = cookie_value(headers, name)?;
    assert!(!value.is_empty(), "found an empty cookie value");
    assert!(!value.contains(&b';'), "a cookie value runs over a `;`");
    let (header, start) = headers
        .all("cookie")
        .find_map(|h| offset_in(h, value).map(|start| (h, start)))
        .expect("the cookie value is not taken from a Cookie header");
    let pair_start = header[..start]
        .iter()
        .rposition(|b| *b == b';')
        .map_or(0, |semicolon| semicolon + 1);
    let pair_end = header[start..]
        .iter()
        .position(|b| *b == b';')
        .map_or(header.len(), |semicolon| start + semicolon);
    let before = &header[pair_start..start];
    let after = &header[start + value.len()..pair_end];
    // Before the value: OWS name OWS `=` OWS, and an opening quote when one closes it.
    let (before, after) = match (before.strip_suffix(b"\""), after.strip_prefix(b"\"")) {
        (Some(b), Some(a)) => (b, a),
        _ => (before, after),
    };
    let before = trim_ows(before);
    let key = before
        .strip_suffix(b"=")
        .expect("the cookie value does not follow an `=`");
    assert_eq!(
        trim_ows(key),
        name.as_bytes(),
        "the cookie value belongs to another name"
    );
    assert!(
        trim_ows(after).is_empty(),
        "the cookie value stops before its `;`"
    );
    Some(value)
}

/// What the token finder must answer, by the rules written out plainly.
enum Expected<'a> {
    /// No token.
    Nothing,
    /// This refusal (checked by [`check_refusal`]).
    Refused(Refusal),
    /// A token from `source`: `raw` as found, `decoded` what it must come out as (a
    /// query parameter is percent-decoded), or the refusals it allows.
    Token {
        source: TokenSource,
        raw: &'a [u8],
        decoded: Decoded,
    },
}

enum Refusal {
    MultipleAuthorizationHeaders,
    Duplicate(TokenSource),
}

/// A value as the reference decoder reads it.
struct Decoded {
    /// The bytes decoded before the first bad escape (all of them when none).
    bytes: Vec<u8>,
    /// Whether every `%` was followed by two hex digits.
    clean: bool,
}

/// The reference percent-decoder (`+` is a space).
fn reference_decode(raw: &[u8]) -> Decoded {
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'%' => {
                let hex = raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        bytes.push(byte);
                        i += 3;
                    }
                    None => {
                        return Decoded {
                            bytes,
                            clean: false,
                        };
                    }
                }
            }
            b'+' => {
                bytes.push(b' ');
                i += 1;
            }
            other => {
                bytes.push(other);
                i += 1;
            }
        }
    }
    Decoded { bytes, clean: true }
}

/// Runs the token finder for a `GET` (cookies [`HOST_COOKIE`] then [`COOKIE`], then
/// `Authorization: Bearer`, then the header [`TOKEN_HEADER`], then the query
/// parameter [`TOKEN_PARAM`]; cap `max_bytes`) and returns its answer as the token and
/// where it came from.
///
/// # Panics
///
/// When the answer contradicts the request: a token over the cap, outside visible
/// ASCII or not from the place it claims (or not what that place holds, decoded);
/// several `Authorization` headers, token headers or token parameters not refused; a
/// token that is there but not found.
pub fn check_find_token(
    headers: &Headers,
    max_bytes: usize,
) -> Result<Option<(String, TokenSource)>, AuthError> {
    let places = Places {
        cookie: COOKIE,
        host_cookie: Some(HOST_COOKIE),
        header: Some(TOKEN_HEADER),
        query: Some(TOKEN_PARAM),
        max_bytes,
    };
    let found = find_token(headers, "GET", &places);
    let expected = expected_token(headers);
    match (&expected, &found) {
        (Expected::Refused(Refusal::MultipleAuthorizationHeaders), _) => assert!(
            matches!(found, Err(AuthError::MultipleAuthorizationHeaders)),
            "several Authorization headers were not refused"
        ),
        (Expected::Refused(Refusal::Duplicate(place)), _) => assert!(
            matches!(&found, Err(AuthError::DuplicateToken { place: p }) if p == place),
            "a token {place} given twice was not refused"
        ),
        (Expected::Nothing, _) => assert!(
            matches!(found, Ok(None)),
            "a token was found where there is none"
        ),
        (
            Expected::Token {
                source,
                raw,
                decoded,
            },
            _,
        ) => check_token_found(&found, *source, raw, decoded, max_bytes),
    }
    found.map(|token| token.map(|t| (t.token().to_owned(), t.source())))
}

/// A token from `source` that is read as it is.
fn plain(source: TokenSource, raw: &[u8]) -> Expected<'_> {
    Expected::Token {
        source,
        raw,
        decoded: Decoded {
            bytes: raw.to_vec(),
            clean: true,
        },
    }
}

/// Where the rules say the token is.
fn expected_token(headers: &Headers) -> Expected<'_> {
    let authorizations: Vec<&[u8]> = headers.all("authorization").collect();
    if authorizations.len() > 1 {
        return Expected::Refused(Refusal::MultipleAuthorizationHeaders);
    }
    // The `__Host-` name, when present, wins over the plain one.
    if let Some(cookie) =
        check_cookie(headers, HOST_COOKIE).or_else(|| check_cookie(headers, COOKIE))
    {
        return plain(TokenSource::Cookie, cookie);
    }
    // The Authorization header's Bearer credentials, when it has them.
    let bearer = authorizations.first().and_then(|value| {
        let value = trim_ows(value);
        let scheme_end = value.iter().position(|b| *b == b' ').unwrap_or(value.len());
        value[..scheme_end]
            .eq_ignore_ascii_case(b"bearer")
            .then(|| trim_ows(&value[scheme_end..]))
    });
    if let Some(bearer) = bearer {
        return plain(TokenSource::Bearer, bearer);
    }
    let header: Vec<&[u8]> = headers.all(TOKEN_HEADER).collect();
    match header[..] {
        [] => {}
        [value] => {
            let value = trim_ows(value);
            let value = match value.iter().position(|b| *b == b' ') {
                Some(space) if value[..space].eq_ignore_ascii_case(b"bearer") => {
                    trim_ows(&value[space + 1..])
                }
                None if value.eq_ignore_ascii_case(b"bearer") => &[],
                _ => value,
            };
            return plain(TokenSource::Header, value);
        }
        _ => return Expected::Refused(Refusal::Duplicate(TokenSource::Header)),
    }
    let params: Vec<&[u8]> = headers
        .query
        .iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name == TOKEN_PARAM).then_some(value.as_bytes())
        })
        .collect();
    match params[..] {
        [] => Expected::Nothing,
        [raw] => Expected::Token {
            source: TokenSource::Query,
            raw,
            decoded: reference_decode(raw),
        },
        _ => Expected::Refused(Refusal::Duplicate(TokenSource::Query)),
    }
}

fn check_token_found(
    found: &Result<Option<crate::request::FoundToken<'_>>, AuthError>,
    source: TokenSource,
    raw: &[u8],
    decoded: &Decoded,
    max_bytes: usize,
) {
    match found {
        Ok(Some(token)) => {
            assert_eq!(
                token.source(),
                source,
                "the token came from the wrong place"
            );
            assert!(decoded.clean, "a badly escaped parameter was accepted");
            assert_eq!(
                token.token().as_bytes(),
                decoded.bytes,
                "the wrong token was found"
            );
            assert!(
                token.token().len() <= max_bytes,
                "a token over the cap was found"
            );
            assert!(
                token.token().bytes().all(|b| b.is_ascii_graphic()),
                "a token outside visible ASCII was found"
            );
        }
        Ok(None) => panic!("a token that is there was not found"),
        Err(AuthError::TokenTooLarge { limit }) => {
            assert_eq!(*limit, max_bytes, "the cap reported is not the cap");
            // A parameter may be refused before it is decoded, from its length alone.
            let early = source == TokenSource::Query && raw.len() / 3 > max_bytes;
            assert!(
                decoded.bytes.len() > max_bytes || early,
                "a token within the cap was refused"
            );
        }
        Err(AuthError::Malformed { .. }) => assert!(
            raw.is_empty() || !decoded.clean || !decoded.bytes.iter().all(u8::is_ascii_graphic),
            "a token of visible ASCII was refused as malformed"
        ),
        Err(other) => panic!("unexpected refusal: {other:?}"),
    }
}

/// The `request` target: the first byte sets the size cap (1 to 256 bytes), the rest
/// is lines (`\n`-separated) whose first byte says what the line is: `a`
/// `Authorization`, `c` `Cookie`, `x` the token header ([`TOKEN_HEADER`]), `q` the
/// query string (the last one counts), anything else a header nobody reads.
pub fn request(data: &[u8]) -> bool {
    let (max_bytes, lines) = match data {
        [cap, rest @ ..] => (usize::from(*cap) + 1, rest),
        [] => (1, data),
    };
    let mut headers = Headers::new();
    for line in lines.split(|b| *b == b'\n') {
        match line {
            [b'a', value @ ..] => headers.append("authorization", value),
            [b'c', value @ ..] => headers.append("cookie", value),
            [b'x', value @ ..] => headers.append(TOKEN_HEADER, value),
            [b'q', value @ ..] => headers.set_query(String::from_utf8_lossy(value)),
            [_, value @ ..] => headers.append("x-other", value),
            [] => {}
        }
    }
    matches!(check_find_token(&headers, max_bytes), Ok(Some(_)))
}

/// Parses one JWK and returns whether it became a key.
///
/// # Panics
///
/// When a key is made of a JWK that is not a signing key of a supported type, or is
/// allowed algorithms outside its key type or its `alg`.
pub fn check_jwk(value: &Value) -> bool {
    let Ok(key) = parse_jwk(value) else {
        return false;
    };
    let object = value.as_object().expect("a key was made of a non-object");
    if let Some(usage) = object.get("use") {
        assert_eq!(usage, "sig", "a key was made of a JWK whose use is not sig");
    }
    if let Some(ops) = object.get("key_ops") {
        assert!(
            ops.as_array()
                .is_some_and(|ops| ops.contains(&json!("verify"))),
            "a key was made of a JWK whose key_ops do not allow verify"
        );
    }
    assert_eq!(
        key.kid.as_deref(),
        object
            .get("kid")
            .map(|kid| kid.as_str().expect("a kid that is not a string")),
        "the key's kid is not the JWK's"
    );
    let kind = match (object.get("kty"), object.get("crv")) {
        (Some(kty), _) if kty == "RSA" => KeyKind::Rsa,
        (Some(kty), Some(crv)) if kty == "EC" && crv == "P-256" => KeyKind::EcP256,
        (Some(kty), Some(crv)) if kty == "EC" && crv == "P-384" => KeyKind::EcP384,
        (Some(kty), Some(crv)) if kty == "OKP" && crv == "Ed25519" => KeyKind::Ed25519,
        (kty, crv) => panic!("a key was made of kty {kty:?}, crv {crv:?}"),
    };
    let family = AlgSet::for_kind(kind);
    for alg in alg::all() {
        if key.algs.contains(alg) {
            assert!(
                family.contains(alg),
                "a key allows {alg:?}, outside its type"
            );
        }
    }
    if let Some(declared) = object.get("alg") {
        let declared = declared.as_str().and_then(alg::parse);
        let declared = declared.expect("a key was made of a JWK with an unknown alg");
        assert_eq!(
            key.algs,
            AlgSet::of(&[declared]),
            "a key allows more than its alg"
        );
    }
    true
}

/// Parses a JWK set from its JSON text and returns whether it gave a usable set.
///
/// # Panics
///
/// When the set holds a key [`check_jwk`] refuses, more keys than the JWKs it was made
/// of, or a key that cannot be found by its `kid`.
pub fn check_jwk_set(json: &str) -> bool {
    let Ok(set) = KeySet::parse(json, 1) else {
        return false;
    };
    let document: Value = serde_json::from_str(json).expect("a set was made of invalid JSON");
    let jwks = document
        .get("keys")
        .and_then(Value::as_array)
        .expect("a set was made of a document without a keys array");
    let usable = jwks.iter().filter(|jwk| check_jwk(jwk)).count();
    assert!(set.len() >= 1, "an empty set was accepted");
    assert_eq!(
        set.len(),
        usable,
        "the set does not hold exactly the usable keys"
    );
    for key in set.keys() {
        let Some(kid) = key.kid.as_deref() else {
            continue;
        };
        for alg in alg::all().into_iter().filter(|alg| key.algs.contains(*alg)) {
            assert!(
                matches!(set.find(Some(kid), alg), KeyLookup::Found(_)),
                "a key cannot be found by its kid"
            );
        }
    }
    true
}

/// The `jwk` target: the bytes are the JSON text of a JWK set (UTF-8, lossily); when
/// they are JSON but not a set, each value of an array (or the value itself) is
/// parsed as one JWK.
pub fn jwk(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let set = check_jwk_set(&text);
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return set;
    };
    let one_by_one = match &value {
        Value::Array(values) => values.iter().fold(false, |any, v| check_jwk(v) | any),
        other => check_jwk(other),
    };
    set || one_by_one
}

#[cfg(test)]
mod tests {
    //! Every entry point over the corpus checked into `fuzz/corpus/<target>/`, so the
    //! harness the fuzzers run is exercised on stable by `cargo test`.

    use std::path::PathBuf;

    fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        inputs.sort();
        assert!(
            inputs.len() >= 5,
            "{}: a corpus of {}",
            dir.display(),
            inputs.len()
        );
        inputs
    }

    /// Runs `entry` over the corpus: no input panics, and both answers occur.
    fn run(target: &str, entry: fn(&[u8]) -> bool) {
        let (mut accepted, mut refused) = (0, 0);
        for (path, bytes) in corpus(target) {
            let ok = std::panic::catch_unwind(|| entry(&bytes))
                .unwrap_or_else(|_| panic!("{} fails", path.display()));
            if ok {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{target}: {accepted} accepted, {refused} refused"
        );
    }

    #[test]
    fn verify_corpus() {
        run("verify", super::verify);
    }

    #[test]
    fn request_corpus() {
        run("request", super::request);
    }

    #[test]
    fn jwk_corpus() {
        run("jwk", super::jwk);
    }
}
