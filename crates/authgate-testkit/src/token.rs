//! Minting tokens signed by a [`TestIssuer`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::{SigningKey, TestIssuer, TestkitError};

/// Lifetime of a token minted by [`TestIssuer::token`].
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The current time in Unix seconds.
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// 32 random hex digits, like Authentik's `generate_id()` for the access token's `uid`.
pub(crate) fn random_uid() -> String {
    let mut bytes = [0u8; 16];
    // The system RNG does not fail on the platforms aws-lc-rs supports; a zero uid
    // would still be a present `uid`.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[derive(Debug, Clone)]
enum HeaderKid {
    FromKey,
    Override(String),
    Omit,
}

/// Builds and signs one JWT. Made by [`TestIssuer::token`].
///
/// Claims start as `iss`, `aud`, `azp`, `uid`, `sub`, `iat` and `exp` (see
/// [`TestIssuer::token`]); the header as `{"alg": <key alg>, "kid": <key kid>,
/// "typ": "JWT"}`. Every method returns the changed builder.
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenBuilder {
    issuer: TestIssuer,
    claims: Map<String, Value>,
    key: Option<String>,
    kid: HeaderKid,
    alg: Option<Algorithm>,
    header: Map<String, Value>,
}

impl TokenBuilder {
    pub(crate) fn new(issuer: TestIssuer) -> Self {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer.issuer()));
        claims.insert("aud".into(), json!(issuer.client_id()));
        claims.insert("sub".into(), json!("user-1"));
        // Authentik's access-token shape: `azp` and a random `uid`, which its ID
        // tokens lack (authgate's default token-type rule looks for `uid`).
        claims.insert("azp".into(), json!(issuer.client_id()));
        claims.insert("uid".into(), json!(random_uid()));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + secs(DEFAULT_TOKEN_LIFETIME)));
        TokenBuilder {
            issuer,
            claims,
            key: None,
            kid: HeaderKid::FromKey,
            alg: None,
            header: Map::new(),
        }
    }

    /// Sets claim `name` to `value` (replacing it).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes claim `name`.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets the `sub` claim.
    #[allow(
        clippy::should_implement_trait,
        reason = "named after the `sub` claim, not subtraction"
    )]
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", sub)
    }

    /// Removes the `sub` claim.
    pub fn no_sub(self) -> Self {
        self.remove_claim("sub")
    }

    /// Sets the `groups` claim (an array of strings, as Authentik sends it).
    pub fn groups<I, S>(self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let groups: Vec<Value> = groups.into_iter().map(|g| json!(g.as_ref())).collect();
        self.claim("groups", groups)
    }

    /// Sets the `email` claim.
    pub fn email(self, email: &str) -> Self {
        self.claim("email", email)
    }

    /// Sets the `name` claim.
    pub fn name(self, name: &str) -> Self {
        self.claim("name", name)
    }

    /// Sets the `organizationId` claim.
    pub fn organization_id(self, id: &str) -> Self {
        self.claim("organizationId", id)
    }

    /// Sets the `scope` claim (space-separated scopes, e.g. `"openid email"`).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud` to a single string.
    pub fn aud(self, aud: &str) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `aud` to an array of strings.
    pub fn audiences<I, S>(self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let auds: Vec<Value> = audiences.into_iter().map(|a| json!(a.as_ref())).collect();
        self.claim("aud", auds)
    }

    /// Removes the `aud` claim.
    pub fn no_aud(self) -> Self {
        self.remove_claim("aud")
    }

    /// Sets the `iss` claim.
    pub fn iss(self, iss: &str) -> Self {
        self.claim("iss", iss)
    }

    /// Sets `iat` (Unix seconds).
    pub fn iat(self, iat: i64) -> Self {
        self.claim("iat", iat)
    }

    /// Removes the `iat` claim.
    pub fn no_iat(self) -> Self {
        self.remove_claim("iat")
    }

    /// Sets `exp` (Unix seconds).
    pub fn exp(self, exp: i64) -> Self {
        self.claim("exp", exp)
    }

    /// Sets `exp` to now + `lifetime`.
    pub fn exp_in(self, lifetime: Duration) -> Self {
        self.exp(now().saturating_add(secs(lifetime)))
    }

    /// Sets `exp` to an hour ago.
    pub fn expired(self) -> Self {
        self.exp(now() - 3600)
    }

    /// Removes the `exp` claim.
    pub fn no_exp(self) -> Self {
        self.remove_claim("exp")
    }

    /// Sets `nbf` (Unix seconds).
    pub fn nbf(self, nbf: i64) -> Self {
        self.claim("nbf", nbf)
    }

    /// Sets `nbf` to now + `delay` (a token not valid yet).
    pub fn nbf_in(self, delay: Duration) -> Self {
        self.nbf(now().saturating_add(secs(delay)))
    }

    /// Puts this `kid` in the header instead of the signing key's own; the
    /// token is still signed with the builder's key.
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = HeaderKid::Override(kid.to_owned());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn no_kid(mut self) -> Self {
        self.kid = HeaderKid::Omit;
        self
    }

    /// Signs with the served key `kid` (its `kid` and algorithm go in the
    /// header) instead of the default key.
    pub fn key(mut self, kid: &str) -> Self {
        self.key = Some(kid.to_owned());
        self
    }

    /// Signs with `alg` instead of the key's default algorithm; it must be one
    /// the key supports (e.g. `PS256` or `RS512` with an RSA key).
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Adds (or overrides) a header field. Applied last, so it can replace
    /// `typ`, `kid` or even `alg` (the signature then still follows the header's `alg`).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// The claims set as it will be signed.
    pub fn claims(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    fn signing_key(&self) -> Result<SigningKey, TestkitError> {
        match &self.key {
            Some(kid) => self
                .issuer
                .signing_key(kid)
                .ok_or_else(|| TestkitError::UnknownKid(kid.clone())),
            None => self.issuer.default_signing_key(),
        }
    }

    /// The header as it will be signed, resolved against the current keys.
    ///
    /// # Errors
    ///
    /// As for [`try_sign`](Self::try_sign).
    pub fn try_header(&self) -> Result<Value, TestkitError> {
        Ok(self.resolve()?.1)
    }

    fn resolve(&self) -> Result<(SigningKey, Value), TestkitError> {
        let key = self.signing_key()?;
        let alg = self.alg.unwrap_or_else(|| key.algorithm());
        let mut header = Map::new();
        header.insert("alg".into(), json!(alg));
        header.insert("typ".into(), json!("JWT"));
        match &self.kid {
            HeaderKid::FromKey => {
                header.insert("kid".into(), json!(key.kid()));
            }
            HeaderKid::Override(kid) => {
                header.insert("kid".into(), json!(kid));
            }
            HeaderKid::Omit => {}
        }
        for (name, value) in &self.header {
            header.insert(name.clone(), value.clone());
        }
        Ok((key, Value::Object(header)))
    }

    /// Signs the token.
    ///
    /// # Errors
    ///
    /// [`TestkitError::UnknownKid`] if the key chosen with [`key`](Self::key)
    /// is not (or no longer) served, [`TestkitError::NoSigningKey`] if the issuer
    /// serves no key, [`TestkitError::UnsupportedAlgorithm`] if the algorithm
    /// does not suit the key.
    pub fn try_sign(&self) -> Result<String, TestkitError> {
        let (key, header) = self.resolve()?;
        key.sign_raw(&header, &self.claims())
    }

    /// Signs the token.
    ///
    /// # Panics
    ///
    /// If [`try_sign`](Self::try_sign) fails: the chosen key is no longer
    /// served (or the issuer serves none), or the algorithm set with
    /// [`alg`](Self::alg) does not suit the key.
    pub fn sign(&self) -> String {
        match self.try_sign() {
            Ok(token) => token,
            Err(err) => panic!("authgate-testkit: cannot sign test token: {err}"),
        }
    }
}
