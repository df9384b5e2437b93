//! Randomness, PKCE and sealed store entries, all on aws-lc-rs.
//!
//! - Every random value (state, nonce, PKCE verifier, exchange code) is 32 bytes from
//!   the system generator, written as 43 characters of unpadded base64url.
//! - A store entry is never kept under its secret, nor in clear: its key is a SHA-256
//!   of the secret, and its value is sealed with AES-256-GCM under a key derived from
//!   the secret. A dump of the store (Redis `KEYS *`, a memory snapshot) yields neither
//!   usable codes nor tokens: only someone holding the code can open its entry.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The system random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// The length of every random token, in characters (32 bytes, base64url).
pub(crate) const TOKEN_LEN: usize = 43;

fn fill(bytes: &mut [u8]) -> Result<(), RandomError> {
    SystemRandom::new().fill(bytes).map_err(|_| RandomError)
}

/// 32 random bytes as unpadded base64url (43 characters).
pub(crate) fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `s` looks like a token made by [`random_token`].
pub(crate) fn is_token_shaped(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The PKCE `S256` code challenge of a verifier: `BASE64URL(SHA256(verifier))`
/// (RFC 7636 §4.2).
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&SHA256, verifier.as_bytes()))
}

/// Compares in constant time (for equal lengths).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

fn derive(label: &str, purpose: &str, secret: &str) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    for part in ["authgate-flow/v1/", label, "/", purpose, "/", secret] {
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The store key for `secret`: `{purpose}:{base64url(SHA-256(...))}`.
pub(crate) fn store_key(purpose: &str, secret: &str) -> String {
    format!(
        "{purpose}:{}",
        URL_SAFE_NO_PAD.encode(derive("id", purpose, secret))
    )
}

fn cipher(purpose: &str, secret: &str) -> LessSafeKey {
    let key = derive("key", purpose, secret);
    // AES-256 takes exactly 32 bytes, which `derive` always returns.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte AES-256 key"))
}

/// Seals `plaintext` for the holder of `secret`: `nonce || ciphertext || tag`.
pub(crate) fn seal(purpose: &str, secret: &str, plaintext: &[u8]) -> Result<Vec<u8>, RandomError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill(&mut nonce)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    sealed.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    cipher(purpose, secret)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(purpose.as_bytes()),
            &mut body,
        )
        .map_err(|_| RandomError)?;
    sealed.extend_from_slice(&body);
    Ok(sealed)
}

/// Seals `plaintext` for the holder of `secret` as unpadded base64url, for a cookie.
pub(crate) fn seal_text(
    purpose: &str,
    secret: &str,
    plaintext: &[u8],
) -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(seal(purpose, secret, plaintext)?))
}

/// Opens what [`seal_text`] made; `None` for anything else.
pub(crate) fn open_text(purpose: &str, secret: &str, sealed: &str) -> Option<Vec<u8>> {
    open(purpose, secret, URL_SAFE_NO_PAD.decode(sealed).ok()?)
}

/// Opens what [`seal`] made; `None` when the secret or purpose differ, or the bytes
/// were changed.
pub(crate) fn open(purpose: &str, secret: &str, mut sealed: Vec<u8>) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let mut body = sealed.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
    let plain = cipher(purpose, secret)
        .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut body)
        .ok()?;
    let len = plain.len();
    body.truncate(len);
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        // The example verifier and challenge of RFC 7636, Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_challenge_is_sha256_of_the_verifier() {
        let verifier = random_token().unwrap();
        let digest = aws_lc_rs::digest::digest(&SHA256, verifier.as_bytes());
        let decoded = URL_SAFE_NO_PAD.decode(pkce_challenge(&verifier)).unwrap();
        assert_eq!(decoded, digest.as_ref());
        // A verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1).
        assert!((43..=128).contains(&verifier.len()));
    }

    #[test]
    fn tokens_are_43_base64url_chars_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let token = random_token().unwrap();
            assert!(is_token_shaped(&token), "{token}");
            assert!(seen.insert(token), "a random token repeated");
        }
    }

    #[test]
    fn tokens_carry_256_bits_of_randomness() {
        // Every bit position takes both values across a few hundred tokens: a stuck
        // or short generator (e.g. zero-filled bytes) would not.
        let mut ones = [0u32; 256];
        let rounds = 400;
        for _ in 0..rounds {
            let bytes = URL_SAFE_NO_PAD.decode(random_token().unwrap()).unwrap();
            assert_eq!(bytes.len(), 32);
            for (i, byte) in bytes.iter().enumerate() {
                for bit in 0..8 {
                    ones[i * 8 + bit] += u32::from((byte >> bit) & 1);
                }
            }
        }
        for count in ones {
            assert!(count > rounds / 4 && count < rounds * 3 / 4, "{count}");
        }
    }

    #[test]
    fn token_shape_check() {
        assert!(!is_token_shaped(""));
        assert!(!is_token_shaped(&"a".repeat(42)));
        assert!(!is_token_shaped(&format!("{}=", "a".repeat(42))));
        assert!(!is_token_shaped(&format!("{}/", "a".repeat(42))));
        assert!(is_token_shaped(&format!("{}-_", "a".repeat(41))));
    }

    #[test]
    fn sealed_entries_open_only_with_their_secret_and_purpose() {
        let secret = random_token().unwrap();
        let sealed = seal("exchange", &secret, b"tokens").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"tokens"));
        assert_eq!(
            open("exchange", &secret, sealed.clone()).as_deref(),
            Some(&b"tokens"[..])
        );
        assert_eq!(open("state", &secret, sealed.clone()), None);
        assert_eq!(open("exchange", "other", sealed.clone()), None);
        let mut tampered = sealed;
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(open("exchange", &secret, tampered), None);
        assert_eq!(open("exchange", &secret, vec![1, 2, 3]), None);
    }

    #[test]
    fn store_keys_hide_the_secret() {
        let key = store_key("exchange", "the-code");
        assert!(key.starts_with("exchange:"));
        assert!(!key.contains("the-code"));
        assert_eq!(key, store_key("exchange", "the-code"));
        assert_ne!(key, store_key("state", "the-code"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
