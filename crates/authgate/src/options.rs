//! [`AuthOptions`]: what an authentication adapter does with a request, shared by the
//! tower [`AuthLayer`](crate::AuthLayer) and the actix-web `AuthMiddleware` of
//! `authgate-extract`, so both are configured with the same builder.

use crate::authenticator::{Authentication, Authenticator};
use crate::config::AuthConfig;
use crate::error::AuthError;
use crate::request::HeaderSource;
use crate::user::User;

/// Whether a request without any token may pass (with no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// No token: 401 (the default).
    #[default]
    Required,
    /// No token: passes with no user. A bad token is still refused.
    Optional,
}

/// The authenticator an adapter runs and its [`AuthMode`].
///
/// Every adapter takes `impl Into<AuthOptions<U>>`, so an [`AuthConfig`] (for the
/// default [`User`]) or an [`Authenticator`] works wherever options do.
///
/// [`AuthOptions`]: what an authentication adapter does with a request, shared by the
/// tower [`AuthLayer`](crate::AuthLayer) and the actix-web `AuthMiddleware` of
/// `authgate-extract`, so both are configured with the same builder.
///
/// ```
/// use authgate::{AuthConfig, AuthLayer, AuthMode, AuthOptions};
///
/// let config = AuthConfig::oidc("https://idp.example.com/").audience("api").build()?;
/// // Anonymous requests pass with no user; a bad token is still refused.
/// let options = AuthOptions::new(config).optional();
/// assert_eq!(options.mode(), AuthMode::Optional);
/// let layer = AuthLayer::new(options);
/// # let _ = layer;
/// # Ok::<(), authgate::ConfigError>(())
/// ```
pub struct AuthOptions<U = User> {
    authenticator: Authenticator<U>,
    mode: AuthMode,
}

impl AuthOptions<User> {
    /// Options that require a valid token and map it to the default [`User`].
    #[must_use]
    pub fn new(config: AuthConfig) -> Self {
        Self::from_authenticator(Authenticator::new(config))
    }
}

impl<U> AuthOptions<U> {
    /// Options over an existing authenticator (a custom user type, or one key store
    /// shared by several layers and middlewares).
    #[must_use]
    pub fn from_authenticator(authenticator: Authenticator<U>) -> Self {
        Self {
            authenticator,
            mode: AuthMode::Required,
        }
    }

    /// Requests without a token pass with no user in the extensions; a bad token is
    /// still refused.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.mode = AuthMode::Optional;
        self
    }

    /// Requests without a token are refused with 401 (the default).
    #[must_use]
    pub fn required(mut self) -> Self {
        self.mode = AuthMode::Required;
        self
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        &self.authenticator
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Applies the mode to an authentication outcome: in required mode a request
    /// without a token becomes [`AuthError::MissingToken`].
    pub(crate) fn admit(
        &self,
        outcome: Result<Option<Authentication<U>>, AuthError>,
    ) -> Result<Option<Authentication<U>>, AuthError> {
        match outcome {
            Ok(None) if self.mode == AuthMode::Required => Err(AuthError::MissingToken),
            other => other,
        }
    }
}

impl<U: Clone + Send + Sync + 'static> AuthOptions<U> {
    /// Authenticates a request as an adapter does: the token is found and verified,
    /// and the mode decides about a request without one (`Ok(None)` only in optional
    /// mode).
    ///
    /// # Errors
    ///
    /// The [`AuthError`] saying why the request is refused.
    pub async fn authenticate<H: HeaderSource + ?Sized>(
        &self,
        method: &str,
        headers: &H,
    ) -> Result<Option<Authentication<U>>, AuthError> {
        self.admit(
            self.authenticator
                .authenticate_in(self.mode, method, headers)
                .await,
        )
    }
}

impl<U> Clone for AuthOptions<U> {
    fn clone(&self) -> Self {
        Self {
            authenticator: self.authenticator.clone(),
            mode: self.mode,
        }
    }
}

impl<U> std::fmt::Debug for AuthOptions<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthOptions")
            .field("authenticator", &self.authenticator)
            .field("mode", &self.mode)
            .finish()
    }
}

impl From<AuthConfig> for AuthOptions<User> {
    fn from(config: AuthConfig) -> Self {
        Self::new(config)
    }
}

impl<U> From<Authenticator<U>> for AuthOptions<U> {
    fn from(authenticator: Authenticator<U>) -> Self {
        Self::from_authenticator(authenticator)
    }
}
