//! The error type of the test kit.

/// Everything that can go wrong while starting a [`TestIssuer`](crate::TestIssuer),
/// generating keys or signing tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// Binding the loopback listener or starting the server thread failed.
    #[error("test issuer i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// aws-lc-rs could not generate (or re-read) a key pair.
    #[error("could not generate {what} key")]
    KeyGeneration {
        /// Which kind of key was being generated, e.g. `"RSA-2048"`.
        what: &'static str,
        /// The underlying aws-lc-rs failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// No served key has this `kid`.
    #[error("no served signing key with kid {0:?}")]
    UnknownKid(String),

    /// The issuer serves no key at all, so there is nothing to sign with.
    #[error("the test issuer serves no signing key")]
    NoSigningKey,

    /// The key cannot sign with the requested algorithm (or the header named none).
    #[error("key {kid:?} cannot sign with algorithm {alg}")]
    UnsupportedAlgorithm {
        /// The key that was asked to sign.
        kid: String,
        /// The algorithm that was asked for, as written (e.g. `"HS256"`, `"none"`).
        alg: String,
    },

    /// A builder setting is not usable (for example a slug that is not URL-path safe).
    #[error("invalid test issuer configuration: {0}")]
    InvalidConfig(String),

    /// Serialising a header or claims set to JSON failed.
    #[error("could not serialise JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// `jsonwebtoken` refused to sign or to build a JWK.
    #[error("jsonwebtoken error: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),

    /// [`TestIssuer::authorize`](crate::TestIssuer::authorize) was given a request
    /// the authorization endpoint refuses before it may redirect (not this issuer's
    /// authorization endpoint, an unknown `client_id`, an unregistered
    /// `redirect_uri`): the endpoint answers such a request with a 400 page.
    #[error("authorization request refused: {0}")]
    AuthorizationRefused(String),

    /// No configured user has this `sub`.
    #[error("no configured user has sub {0:?}")]
    UnknownUser(String),

    /// The outage switch is on ([`TestIssuer::set_outage`](crate::TestIssuer::set_outage)).
    #[error("the test issuer is in a simulated outage")]
    Outage,
}
