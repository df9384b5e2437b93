//! Minting the access and ID tokens the token endpoint answers with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use super::fault::TokenFault;
use super::grants::Grant;
use super::oauth::random_token;
use crate::issuer::shared::Shared;
use crate::{SigningKey, TestUser, TestkitError, now};

/// The tokens of one token response.
pub(crate) struct Minted {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
}

/// `at_hash`: the left half of the hash of the access token, with the hash of
/// the ID token's algorithm (OIDC Core §3.1.3.6).
pub(crate) fn at_hash(alg: Algorithm, access_token: &str) -> String {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
    let hash = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 | Algorithm::HS384 => {
            digest(&SHA384, access_token.as_bytes())
        }
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::HS512 | Algorithm::EdDSA => {
            digest(&SHA512, access_token.as_bytes())
        }
        _ => digest(&SHA256, access_token.as_bytes()),
    };
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

fn header(key: &SigningKey) -> Value {
    json!({ "alg": key.algorithm(), "kid": key.kid(), "typ": "JWT" })
}

/// A key the JWKS does not serve, with the `kid` and algorithm of `key`.
fn stranger(key: &SigningKey) -> Result<SigningKey, TestkitError> {
    if key.supports(Algorithm::ES256) {
        SigningKey::generate_ec(key.kid())
    } else {
        SigningKey::generate_rsa(key.kid())?.with_algorithm(key.algorithm())
    }
}

/// What the tokens of one answer are made from.
pub(crate) struct Mint<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) user: &'a TestUser,
    pub(crate) grant: &'a Grant,
    pub(crate) lifetime_secs: i64,
    /// The authorization request's nonce (`None` on refresh).
    pub(crate) nonce: Option<&'a str>,
    pub(crate) fault: Option<&'a TokenFault>,
}

impl Mint<'_> {
    /// `iss, sub, aud, exp, iat, auth_time, sid` over the user's claims.
    fn claims(&self, iat: i64) -> Map<String, Value> {
        let client_id = &self.shared.client.id;
        let mut claims = self.user.claim_map();
        claims.insert("iss".into(), json!(self.shared.issuer));
        claims.insert("sub".into(), json!(self.grant.sub));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(iat.saturating_add(self.lifetime_secs)));
        claims.insert("auth_time".into(), json!(self.grant.auth_time));
        claims.insert("sid".into(), json!(self.grant.sid));
        claims
    }

    /// Signs the access token and (unless the fault says otherwise) the ID token.
    pub(crate) fn sign(&self) -> Result<Minted, TestkitError> {
        let key = self
            .shared
            .read()
            .default_key()
            .cloned()
            .ok_or(TestkitError::NoSigningKey)?;
        let iat = now();

        // Authentik's `to_access_token`: the ID token's claims plus `azp` and a random
        // `uid` (which is how authgate's default token-type rule tells them apart).
        let mut access = self.claims(iat);
        access.insert("azp".into(), json!(self.shared.client.id));
        access.insert("uid".into(), json!(crate::token::random_uid()));
        // Two tokens of one grant in one second still differ.
        access.insert("jti".into(), json!(random_token(16)));
        access.insert("scope".into(), json!(self.grant.scope));
        let access_token = key.sign_raw(&header(&key), &Value::Object(access))?;

        if self.fault == Some(&TokenFault::NoIdToken) {
            return Ok(Minted {
                access_token,
                id_token: None,
            });
        }
        let mut id = self.claims(iat);
        id.insert(
            "at_hash".into(),
            json!(at_hash(key.algorithm(), &access_token)),
        );
        let nonce = match (self.fault, self.nonce) {
            (Some(TokenFault::WrongNonce), nonce) => {
                Some(format!("not-{}", nonce.unwrap_or("the-nonce")))
            }
            (_, nonce) => nonce.map(str::to_owned),
        };
        if let Some(nonce) = nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        match self.fault {
            Some(TokenFault::IdTokenAudience(aud)) => {
                id.insert("aud".into(), aud.clone());
            }
            Some(TokenFault::IdTokenSubject(sub)) => {
                id.insert("sub".into(), json!(sub));
            }
            _ => {}
        }
        let signer = match self.fault {
            Some(TokenFault::UnknownSigningKey) => stranger(&key)?,
            _ => key,
        };
        let id_token = signer.sign_raw(&header(&signer), &Value::Object(id))?;
        Ok(Minted {
            access_token,
            id_token: Some(id_token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_matching_hash() {
        // OIDC Core's example (§A.3): the access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(Algorithm::ES256, "t").len(), 22);
        assert_eq!(at_hash(Algorithm::RS384, "t").len(), 32);
        assert_eq!(at_hash(Algorithm::PS512, "t").len(), 43);
    }
}
