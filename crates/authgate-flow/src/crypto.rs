//! Randomness, PKCE and sealed store entries, on the crypto backend the features chose:
//! aws-lc-rs (`aws-lc-rs`, the default) or RustCrypto (`rust-crypto`: `aes-gcm`,
//! `sha2`, `subtle`, and `getrandom` for the system generator). Both seal the same
//! format, so instances built with different backends share a store.
//!
//! - Every random value (state, nonce, PKCE verifier, exchange code) is 32 bytes from
//!   the system generator, written as 43 characters of unpadded base64url.
//! - A store entry is never kept under its secret, nor in clear: its key is a SHA-256
//!   of the secret, and its value is sealed with AES-256-GCM under a key derived from
//!   the secret. A dump of the store (Redis `KEYS *`, a memory snapshot) yields neither
//!   usable codes nor tokens: only someone holding the code can open its entry.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The system random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// The length of every random token, in characters (32 bytes, base64url).
pub(crate) const TOKEN_LEN: usize = 43;

/// The AES-GCM nonce length (96 bits).
const NONCE_LEN: usize = 12;
/// The AES-GCM tag length.
const TAG_LEN: usize = 16;

#[cfg(feature = "aws-lc-rs")]
mod backend {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::digest::{Context, SHA256};
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};

    use super::{NONCE_LEN, RandomError};

    pub(super) fn fill(bytes: &mut [u8]) -> Result<(), RandomError> {
        SystemRandom::new().fill(bytes).map_err(|_| RandomError)
    }

    pub(super) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = Context::new(&SHA256);
        for part in parts {
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
    }

    fn cipher(key: &[u8; 32]) -> LessSafeKey {
        // AES-256 takes exactly 32 bytes.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
    }

    /// Encrypts `body` in place and appends the tag.
    pub(super) fn seal(
        key: &[u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        body: &mut Vec<u8>,
    ) -> bool {
        cipher(key)
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .is_ok()
    }

    /// Decrypts `body` (ciphertext and tag) in place, leaving the plaintext.
    pub(super) fn open(
        key: &[u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        body: &mut Vec<u8>,
    ) -> bool {
        let Ok(plain) =
            cipher(key).open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
        else {
            return false;
        };
        let len = plain.len();
        body.truncate(len);
        true
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod backend {
    use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
    use aes_gcm::{Aes256Gcm, Key, Nonce};
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;

    use super::{NONCE_LEN, RandomError};

    pub(super) fn fill(bytes: &mut [u8]) -> Result<(), RandomError> {
        getrandom::getrandom(bytes).map_err(|_| RandomError)
    }

    pub(super) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }

    /// Encrypts `body` in place and appends the tag.
    pub(super) fn seal(
        key: &[u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        body: &mut Vec<u8>,
    ) -> bool {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key))
            .encrypt_in_place(&Nonce::from(nonce), aad, body)
            .is_ok()
    }

    /// Decrypts `body` (ciphertext and tag) in place, leaving the plaintext.
    pub(super) fn open(
        key: &[u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        body: &mut Vec<u8>,
    ) -> bool {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key))
            .decrypt_in_place(&Nonce::from(nonce), aad, body)
            .is_ok()
    }
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "authgate-flow needs a crypto backend: enable its `aws-lc-rs` feature (the default) \
     or `rust-crypto` (pure Rust, no C toolchain needed)."
);

fn fill(bytes: &mut [u8]) -> Result<(), RandomError> {
    backend::fill(bytes)
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
    URL_SAFE_NO_PAD.encode(backend::sha256(&[verifier.as_bytes()]))
}

/// Compares in constant time (for equal lengths).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    backend::constant_time_eq(a, b)
}

fn derive(label: &str, purpose: &str, secret: &str) -> [u8; 32] {
    backend::sha256(&["authgate-flow/v1/", label, "/", purpose, "/", secret].map(str::as_bytes))
}

/// The store key for `secret`: `{purpose}:{base64url(SHA-256(...))}`.
pub(crate) fn store_key(purpose: &str, secret: &str) -> String {
    format!(
        "{purpose}:{}",
        URL_SAFE_NO_PAD.encode(derive("id", purpose, secret))
    )
}

/// Seals `plaintext` for the holder of `secret`: `nonce || ciphertext || tag`.
pub(crate) fn seal(purpose: &str, secret: &str, plaintext: &[u8]) -> Result<Vec<u8>, RandomError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill(&mut nonce)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    let key = derive("key", purpose, secret);
    if !backend::seal(&key, nonce, purpose.as_bytes(), &mut body) {
        return Err(RandomError);
    }
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
    let nonce: [u8; NONCE_LEN] = sealed.try_into().ok()?;
    let key = derive("key", purpose, secret);
    backend::open(&key, nonce, purpose.as_bytes(), &mut body).then_some(body)
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
        let digest = backend::sha256(&[verifier.as_bytes()]);
        let decoded = URL_SAFE_NO_PAD.decode(pkce_challenge(&verifier)).unwrap();
        assert_eq!(decoded, digest);
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

    /// An entry sealed elsewhere (by Python's `cryptography`, AES-256-GCM under
    /// SHA-256 of `authgate-flow/v1/key/exchange/secret`, nonce 0..12, AAD `exchange`)
    /// opens with either backend: instances built with aws-lc-rs and with RustCrypto
    /// share a store and each other's cookies.
    #[test]
    fn the_sealed_format_is_the_same_with_either_backend() {
        let sealed: Vec<u8> = (0..34)
            .map(|i| {
                u8::from_str_radix(
                    &"000102030405060708090a0b8003daeb9a646cf14ba6e49f92303a1c88bbe6d6285a"
                        [i * 2..i * 2 + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(
            open("exchange", "secret", sealed.clone()).as_deref(),
            Some(&b"tokens"[..])
        );
        assert_eq!(open("exchange", "other", sealed), None);
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
