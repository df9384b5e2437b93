//! Freshly generated signing keys.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

use crate::TestkitError;

/// Algorithms an RSA key can sign with.
const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Algorithms a P-256 key can sign with.
const EC_P256_ALGS: [Algorithm; 1] = [Algorithm::ES256];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    EcP256,
}

impl KeyKind {
    fn algorithms(self) -> &'static [Algorithm] {
        match self {
            KeyKind::Rsa => &RSA_ALGS,
            KeyKind::EcP256 => &EC_P256_ALGS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA-2048",
            KeyKind::EcP256 => "EC P-256",
        }
    }
}

struct KeyInner {
    kid: String,
    alg: Algorithm,
    kind: KeyKind,
    encoding: EncodingKey,
    public_der: Vec<u8>,
    jwk: Value,
}

/// A freshly generated private key with a `kid`, able to sign JWTs.
///
/// RSA keys are 2048-bit, default to `RS256` and can also sign `RS384`, `RS512`,
/// `PS256`, `PS384` and `PS512`. EC keys are P-256 and sign `ES256`.
///
/// Cloning is cheap (the key material is shared). `Debug` never prints private
/// material, only the `kid`, the algorithm and the key type.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<KeyInner>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .field("kind", &self.inner.kind.name())
            .finish_non_exhaustive()
    }
}

fn keygen_error<E>(what: &'static str) -> impl FnOnce(E) -> TestkitError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |source| TestkitError::KeyGeneration {
        what,
        source: Box::new(source),
    }
}

/// Reads one DER TLV: returns (tag, contents, rest).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// Extracts the PKCS#1 `RSAPrivateKey` from a PKCS#8 v1 `PrivateKeyInfo`.
///
/// jsonwebtoken's aws-lc backend parses RSA encoding keys with
/// `RsaKeyPair::from_der`, which wants RFC 8017 (PKCS#1), while aws-lc-rs only
/// exports PKCS#8.
fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let (SEQUENCE, body, _) = read_tlv(pkcs8)? else {
        return None;
    };
    let (INTEGER, _version, rest) = read_tlv(body)? else {
        return None;
    };
    let (SEQUENCE, _algorithm, rest) = read_tlv(rest)? else {
        return None;
    };
    let (OCTET_STRING, key, _) = read_tlv(rest)? else {
        return None;
    };
    Some(key)
}

#[derive(Debug)]
struct MalformedPkcs8;

impl fmt::Display for MalformedPkcs8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("aws-lc-rs produced a PKCS#8 document that is not an RSA PrivateKeyInfo")
    }
}

impl std::error::Error for MalformedPkcs8 {}

impl SigningKey {
    /// Generates a fresh 2048-bit RSA key whose default algorithm is `RS256`.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if aws-lc-rs fails to generate the key.
    pub fn generate_rsa(kid: &str) -> Result<SigningKey, TestkitError> {
        let what = KeyKind::Rsa.name();
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(keygen_error(what))?;
        let pkcs8 = pair.as_der().map_err(keygen_error(what))?;
        let pkcs1 =
            pkcs8_to_pkcs1(pkcs8.as_ref()).ok_or_else(|| keygen_error(what)(MalformedPkcs8))?;
        // Make sure the backend will accept what we hand it.
        RsaKeyPair::from_der(pkcs1).map_err(keygen_error(what))?;
        let public_der = pair.public_key().as_der().map_err(keygen_error(what))?;
        Self::from_parts(
            kid,
            Algorithm::RS256,
            KeyKind::Rsa,
            EncodingKey::from_rsa_der(pkcs1),
            public_der.as_ref().to_vec(),
        )
    }

    /// Generates a fresh P-256 EC key that signs `ES256`.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if aws-lc-rs fails to generate the key.
    pub fn generate_ec(kid: &str) -> Result<SigningKey, TestkitError> {
        let what = KeyKind::EcP256.name();
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(keygen_error(what))?;
        let pkcs8 = pair.to_pkcs8v1().map_err(keygen_error(what))?;
        let public_der = pair.public_key().as_der().map_err(keygen_error(what))?;
        Self::from_parts(
            kid,
            Algorithm::ES256,
            KeyKind::EcP256,
            EncodingKey::from_ec_der(pkcs8.as_ref()),
            public_der.as_ref().to_vec(),
        )
    }

    fn from_parts(
        kid: &str,
        alg: Algorithm,
        kind: KeyKind,
        encoding: EncodingKey,
        public_der: Vec<u8>,
    ) -> Result<SigningKey, TestkitError> {
        ensure_jwt_provider();
        let mut jwk = Jwk::from_encoding_key(&encoding, alg)?;
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwk = serde_json::to_value(&jwk)?;
        Ok(SigningKey {
            inner: Arc::new(KeyInner {
                kid: kid.to_owned(),
                alg,
                kind,
                encoding,
                public_der,
                jwk,
            }),
        })
    }

    /// The same key material with another default algorithm (for example an
    /// RSA key served and used as `PS256`). The public JWK's `alg` follows.
    ///
    /// # Errors
    ///
    /// [`TestkitError::UnsupportedAlgorithm`] if this key cannot sign with `alg`.
    pub fn with_algorithm(&self, alg: Algorithm) -> Result<SigningKey, TestkitError> {
        self.check_alg(alg)?;
        Self::from_parts(
            &self.inner.kid,
            alg,
            self.inner.kind,
            self.inner.encoding.clone(),
            self.inner.public_der.clone(),
        )
    }

    /// The same key material under another `kid`.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Jwt`] only if the public JWK cannot be rebuilt, which
    /// does not happen for keys made by this crate.
    pub fn with_kid(&self, kid: &str) -> Result<SigningKey, TestkitError> {
        Self::from_parts(
            kid,
            self.inner.alg,
            self.inner.kind,
            self.inner.encoding.clone(),
            self.inner.public_der.clone(),
        )
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The key's default algorithm (`RS256` for RSA keys, `ES256` for EC keys,
    /// unless changed with [`with_algorithm`](Self::with_algorithm)).
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// Every algorithm this key can sign with.
    pub fn supported_algorithms(&self) -> &'static [Algorithm] {
        self.inner.kind.algorithms()
    }

    /// Whether this key can sign with `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.supported_algorithms().contains(&alg)
    }

    /// The public key as a JWK object with `kid`, `alg` and `"use": "sig"`
    /// (`kty`/`n`/`e` for RSA, `kty`/`crv`/`x`/`y` for EC).
    pub fn public_jwk(&self) -> Value {
        self.inner.jwk.clone()
    }

    /// The public key as X.509 `SubjectPublicKeyInfo` DER.
    ///
    /// Handy for algorithm-confusion tests: sign an `HS256` token with these
    /// bytes as the HMAC secret and check that the verifier rejects it.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.inner.public_der.clone()
    }

    /// The `jsonwebtoken` encoding key, for use with `jsonwebtoken::encode`.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.inner.encoding
    }

    fn check_alg(&self, alg: Algorithm) -> Result<(), TestkitError> {
        if self.supports(alg) {
            Ok(())
        } else {
            Err(TestkitError::UnsupportedAlgorithm {
                kid: self.inner.kid.clone(),
                alg: format!("{alg:?}"),
            })
        }
    }

    /// Signs a compact JWS with this key, using `header` exactly as given.
    ///
    /// The token is `base64url(JSON of header) . base64url(JSON of claims) .
    /// base64url(signature)`. Nothing is added to or checked in the header
    /// except `alg`, which selects the signature algorithm and must be one this
    /// key can sign with. So tests can put `crit`, `jwk`, `jku`, `x5u`, a `kid`
    /// of `"../../etc/passwd"`, a wrong `typ` and so on into it.
    ///
    /// # Errors
    ///
    /// [`TestkitError::UnsupportedAlgorithm`] if `header["alg"]` is missing, not
    /// a string, unknown, or not an algorithm this key can sign with;
    /// [`TestkitError::Json`] / [`TestkitError::Jwt`] if serialising or signing fails.
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> Result<String, TestkitError> {
        let alg_name = header.get("alg").and_then(Value::as_str);
        let alg = alg_name
            .and_then(|name| name.parse::<Algorithm>().ok())
            .ok_or_else(|| TestkitError::UnsupportedAlgorithm {
                kid: self.inner.kid.clone(),
                alg: header
                    .get("alg")
                    .map_or_else(|| "<missing>".to_owned(), ToString::to_string),
            })?;
        self.check_alg(alg)?;
        let mut message = encode_segment(header)?;
        message.push('.');
        message.push_str(&encode_segment(claims)?);
        ensure_jwt_provider();
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.inner.encoding, alg)?;
        message.push('.');
        message.push_str(&signature);
        Ok(message)
    }
}

/// Makes aws-lc-rs jsonwebtoken's process default unless a provider is installed
/// already. jsonwebtoken cannot pick one by itself when a build enables both of its
/// backends (authgate's `rust-crypto` next to the testkit's aws-lc-rs); whichever
/// provider is installed first, authgate's or this one, signs and verifies.
pub(crate) fn ensure_jwt_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

fn encode_segment(value: &Value) -> Result<String, TestkitError> {
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(value)?))
}

/// Builds an unsigned compact token: `base64url(header) . base64url(claims) .`
/// (empty signature), for `"alg": "none"` style tests. The header is used as given.
///
/// # Errors
///
/// [`TestkitError::Json`] if either value cannot be serialised.
pub fn unsigned_token(header: &Value, claims: &Value) -> Result<String, TestkitError> {
    Ok(format!(
        "{}.{}.",
        encode_segment(header)?,
        encode_segment(claims)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_private_material() {
        let key = SigningKey::generate_ec("k").unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("\"k\""), "{dbg}");
        assert!(!dbg.contains("content"), "{dbg}");
        assert!(!dbg.contains("encoding"), "{dbg}");
    }

    #[test]
    fn rsa_key_signs_all_rsa_algs_and_rejects_others() {
        let key = SigningKey::generate_rsa("r").unwrap();
        let claims = serde_json::json!({"sub": "x"});
        for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
            let token = key
                .sign_raw(&serde_json::json!({"alg": alg}), &claims)
                .unwrap();
            assert_eq!(token.split('.').count(), 3);
        }
        for alg in ["ES256", "HS256", "none", "EdDSA"] {
            assert!(matches!(
                key.sign_raw(&serde_json::json!({"alg": alg}), &claims),
                Err(TestkitError::UnsupportedAlgorithm { .. })
            ));
        }
        assert!(key.sign_raw(&serde_json::json!({}), &claims).is_err());
    }

    #[test]
    fn spki_der_parses() {
        let rsa = SigningKey::generate_rsa("r").unwrap();
        aws_lc_rs::rsa::PublicKey::from_der(&rsa.public_key_der()).unwrap();
        let ec = SigningKey::generate_ec("e").unwrap();
        // SPKI for P-256 is 91 bytes and ends with the 65-byte uncompressed point.
        assert_eq!(ec.public_key_der().len(), 91);
    }

    #[test]
    fn unsigned_token_has_empty_signature() {
        let t =
            unsigned_token(&serde_json::json!({"alg": "none"}), &serde_json::json!({})).unwrap();
        assert!(t.ends_with('.'));
        assert_eq!(t.split('.').count(), 3);
    }
}
