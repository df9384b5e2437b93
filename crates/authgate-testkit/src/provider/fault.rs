//! Faults the token endpoint can be told to make, for a relying party's negative tests.

use axum::http::StatusCode;
use serde_json::Value;

/// A fault the token endpoint makes in every answer while it is set
/// ([`TestIssuer::set_token_fault`](crate::TestIssuer::set_token_fault)).
///
/// The ID-token faults keep everything else valid, so a relying party that
/// accepts the answer has missed exactly that check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TokenFault {
    /// The ID token's `nonce` is not the one of the authorization request.
    WrongNonce,
    /// The ID token is signed by a key the JWKS does not serve, under the `kid`
    /// and algorithm of the default key: only the signature check catches it.
    UnknownSigningKey,
    /// The ID token's `aud` is this value (a string or an array), and it carries
    /// no `azp`.
    IdTokenAudience(Value),
    /// The token response has no `id_token`.
    NoIdToken,
    /// The ID token names this `sub` instead of the signed-in user's (a refreshed ID
    /// token must keep the session's `sub`, OIDC Core §12.2).
    IdTokenSubject(String),
    /// Every token request is answered with this status and JSON body (after it
    /// is recorded, before the client is authenticated).
    Status(StatusCode, Value),
}
