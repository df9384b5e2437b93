//! The provider's discovery document: the fields authgate reads from
//! `{issuer}.well-known/openid-configuration`.

use serde::Deserialize;
use url::Url;

use super::fetch::{InternalOrigin, server_side};
use crate::error::FetchError;

/// The discovery document fields authgate uses.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer the provider names itself with.
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// The authorization endpoint (browser login).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint (code and refresh grants).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The userinfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The RP-initiated logout endpoint.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// The token revocation endpoint (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
}

impl ProviderMetadata {
    /// The JWKS URL for a server-to-server fetch (on the internal base when one is set).
    pub(crate) fn jwks_url(&self, internal: Option<&InternalOrigin>) -> Result<Url, FetchError> {
        let url = Url::parse(&self.jwks_uri).map_err(|source| FetchError::BadEndpoint {
            field: "jwks_uri",
            source,
        })?;
        Ok(server_side(url, internal))
    }
}
