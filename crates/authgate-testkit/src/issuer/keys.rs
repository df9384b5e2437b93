//! The served keys and the JWKS settings, and the [`TestIssuer`] methods that change them.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::{SigningKey, TestIssuer, TestkitError};

/// Keys and JWKS settings, read by the HTTP handlers.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<SigningKey>,
    pub(crate) default_kid: Option<String>,
    pub(crate) raw: Vec<Value>,
    pub(crate) max_age: Option<u64>,
}

impl KeySet {
    /// Serves `key`, replacing a served key with the same `kid`.
    pub(crate) fn insert(&mut self, key: SigningKey) {
        match self.keys.iter_mut().find(|k| k.kid() == key.kid()) {
            Some(slot) => *slot = key,
            None => self.keys.push(key),
        }
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The key tokens are signed with: the chosen default, else the first key.
    pub(crate) fn default_key(&self) -> Option<&SigningKey> {
        self.default_kid
            .as_deref()
            .and_then(|kid| self.get(kid))
            .or_else(|| self.keys.first())
    }

    /// The algorithms of the served keys, in key order, without repeats.
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs = Vec::new();
        for key in &self.keys {
            if !algs.contains(&key.algorithm()) {
                algs.push(key.algorithm());
            }
        }
        algs
    }

    /// The JWKS document: the real keys, then the raw JWKs.
    pub(crate) fn jwks(&self) -> Value {
        let mut keys: Vec<Value> = self.keys.iter().map(SigningKey::public_jwk).collect();
        keys.extend(self.raw.iter().cloned());
        json!({ "keys": keys })
    }
}

impl TestIssuer {
    /// Generates a 2048-bit RSA key (RS256) and serves it. A key with the same
    /// `kid` is replaced.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if the key cannot be generated.
    pub fn add_rsa_key(&self, kid: &str) -> Result<(), TestkitError> {
        self.add_key(SigningKey::generate_rsa(kid)?);
        Ok(())
    }

    /// Generates a P-256 key (ES256) and serves it. A key with the same `kid`
    /// is replaced.
    ///
    /// # Errors
    ///
    /// [`TestkitError::KeyGeneration`] if the key cannot be generated.
    pub fn add_ec_key(&self, kid: &str) -> Result<(), TestkitError> {
        self.add_key(SigningKey::generate_ec(kid)?);
        Ok(())
    }

    /// Serves `key` (replacing a served key with the same `kid`).
    pub fn add_key(&self, key: SigningKey) {
        self.inner.shared.write().insert(key);
    }

    /// Stops serving the key with this `kid`; it can no longer sign tokens
    /// through this issuer. Returns whether such a key was served. If it was the
    /// default key, the first remaining key becomes the default.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut set = self.inner.shared.write();
        let before = set.keys.len();
        set.keys.retain(|k| k.kid() != kid);
        if set.default_kid.as_deref() == Some(kid) {
            set.default_kid = None;
        }
        set.keys.len() != before
    }

    /// Makes the served key `kid` the one [`token`](Self::token) and the token
    /// endpoint sign with.
    ///
    /// # Errors
    ///
    /// [`TestkitError::UnknownKid`] if no served key has this `kid`.
    pub fn set_default_key(&self, kid: &str) -> Result<(), TestkitError> {
        let mut set = self.inner.shared.write();
        if set.get(kid).is_none() {
            return Err(TestkitError::UnknownKid(kid.to_owned()));
        }
        set.default_kid = Some(kid.to_owned());
        Ok(())
    }

    /// The `kid` of the default signing key, if any key is served.
    pub fn default_kid(&self) -> Option<String> {
        self.inner
            .shared
            .read()
            .default_key()
            .map(|k| k.kid().to_owned())
    }

    /// The `kid`s of the served keys, in JWKS order.
    pub fn kids(&self) -> Vec<String> {
        self.inner
            .shared
            .read()
            .keys
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// Adds a JWK served verbatim after the real keys (for "a malformed JWK is
    /// skipped" tests). It cannot sign.
    pub fn add_raw_jwk(&self, jwk: Value) {
        self.inner.shared.write().raw.push(jwk);
    }

    /// Removes every JWK added with [`add_raw_jwk`](Self::add_raw_jwk).
    pub fn clear_raw_jwks(&self) {
        self.inner.shared.write().raw.clear();
    }

    /// Sends `Cache-Control: max-age=N` with the JWKS, or no such header for `None`.
    pub fn set_jwks_max_age(&self, secs: Option<u64>) {
        self.inner.shared.write().max_age = secs;
    }

    /// The public JWK served for `kid` (real keys only, not raw JWKs).
    pub fn public_jwk(&self, kid: &str) -> Option<Value> {
        self.inner
            .shared
            .read()
            .get(kid)
            .map(SigningKey::public_jwk)
    }

    /// The served key with this `kid`, for crafting tokens by hand with
    /// [`SigningKey::sign_raw`].
    pub fn signing_key(&self, kid: &str) -> Option<SigningKey> {
        self.inner.shared.read().get(kid).cloned()
    }
}
