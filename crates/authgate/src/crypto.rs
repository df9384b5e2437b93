//! The crypto backend, chosen by a cargo feature: `aws-lc-rs` (the default) or
//! `rust-crypto` (pure Rust, for targets without a C toolchain).
//!
//! jsonwebtoken needs exactly one provider: with neither of its backend features it
//! panics at the first signature check, and with both (which cargo's feature
//! unification produces as soon as two crates in a build ask for different ones, or
//! `--all-features` is used) it cannot pick one and panics too. authgate therefore
//! refuses to compile without a backend, and installs its provider explicitly before
//! its first key or signature operation, so a build with both features works and uses
//! aws-lc-rs. An application that installed a jsonwebtoken provider itself keeps it.

use std::sync::Once;

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "authgate needs a crypto backend: enable its `aws-lc-rs` feature (the default) or \
     `rust-crypto` (pure Rust, no C toolchain needed). With `default-features = false`, \
     add `features = [\"aws-lc-rs\"]` or `features = [\"rust-crypto\"]` to the authgate \
     dependency (authgate-extract and authgate-flow forward both features)."
);

/// The crypto backend this build of authgate uses: `"aws-lc-rs"` or `"rust-crypto"`
/// (chosen by the cargo features of the same names; with both, `"aws-lc-rs"`).
///
/// ```
/// assert!(["aws-lc-rs", "rust-crypto"].contains(&authgate::CRYPTO_BACKEND));
/// ```
pub const CRYPTO_BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "rust-crypto"
};

/// Makes the backend's provider jsonwebtoken's process default, once; an application
/// that installed one first keeps its own.
pub(crate) fn install_jwt_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(feature = "aws-lc-rs")]
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(feature = "aws-lc-rs")]
    {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in parts {
            context.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    {
        let _ = parts;
        unreachable!("no crypto backend (see the compile error above)")
    }
}

/// Whether the default HTTP client can be built: with the `rust-crypto` backend,
/// reqwest's rustls has no crypto provider of its own and panics when none was
/// installed in the process, so this says so first.
pub(crate) fn default_client_error() -> Option<&'static str> {
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Some(
            "the `rust-crypto` backend brings no TLS provider: install a rustls \
             CryptoProvider in the process (rustls::crypto::CryptoProvider::install_default) \
             or pass your own reqwest::Client (`http_client` of AuthConfigBuilder and \
             FlowConfigBuilder)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_2_example() {
        // FIPS 180-2, Appendix B.1: SHA-256("abc"), here fed in two parts.
        let digest = sha256(&[b"a", b"bc"]);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_backend_is_the_one_the_features_chose() {
        if cfg!(feature = "aws-lc-rs") {
            assert_eq!(CRYPTO_BACKEND, "aws-lc-rs");
        } else {
            assert_eq!(CRYPTO_BACKEND, "rust-crypto");
        }
    }
}
