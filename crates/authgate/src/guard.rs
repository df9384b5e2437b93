//! Role and scope checks, shared by every framework adapter.
//!
//! An adapter finds the user (or none) and asks a [`Requirement`] whether it may pass;
//! the answer is a [`GuardError`] with one response for every framework: 401 for an
//! anonymous request, 403 for an authenticated user without the role, and 403 with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for a missing scope.
//!
//! ```
//! use authgate::guard::{Requirement, GuardError};
//! use authgate::User;
//!
//! let admin_only = Requirement::Role("admin");
//! let user: User = serde_json::from_value(serde_json::json!({
//!     "sub": "u1", "email": null, "name": null, "organizationId": "u1",
//!     "role": "support", "groups": [], "scopes": ["openid"]
//! }))?;
//! let err = admin_only.check(Some(&user)).unwrap_err();
//! assert_eq!(err.status(), 403);
//! assert!(matches!(admin_only.check::<User>(None), Err(GuardError::Unauthenticated)));
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::User;
use crate::error::{AuthError, Rejection, quote_safe};

/// What a user type must tell a guard.
pub trait AuthUser: Clone + Send + Sync + 'static {
    /// Whether the user has `role`.
    fn has_role(&self, role: &str) -> bool;
    /// Whether the token carried `scope`.
    fn has_scope(&self, scope: &str) -> bool;
}

impl AuthUser for User {
    fn has_role(&self, role: &str) -> bool {
        User::has_role(self, role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        User::has_scope(self, scope)
    }
}

/// What a guarded route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Any authenticated user.
    Authenticated,
    /// This role.
    Role(&'static str),
    /// At least one of these roles.
    AnyRole(&'static [&'static str]),
    /// This scope.
    Scope(&'static str),
    /// Every one of these scopes.
    Scopes(&'static [&'static str]),
}

impl Requirement {
    /// Checks `user` (`None` for an anonymous request).
    ///
    /// # Errors
    ///
    /// [`GuardError::Unauthenticated`] without a user, [`GuardError::MissingRole`] or
    /// [`GuardError::InsufficientScope`] when the user lacks what is required.
    pub fn check<U: AuthUser>(&self, user: Option<&U>) -> Result<(), GuardError> {
        let user = user.ok_or(GuardError::Unauthenticated)?;
        let (roles, scopes) = match self {
            Self::Authenticated => return Ok(()),
            Self::Role(role) => (std::slice::from_ref(role), &[][..]),
            Self::AnyRole(roles) => (*roles, &[][..]),
            Self::Scope(scope) => (&[][..], std::slice::from_ref(scope)),
            Self::Scopes(scopes) => (&[][..], *scopes),
        };
        if !roles.is_empty() && !roles.iter().any(|r| user.has_role(r)) {
            return Err(GuardError::MissingRole {
                any_of: roles.to_vec(),
            });
        }
        if scopes.iter().any(|s| !user.has_scope(s)) {
            return Err(GuardError::InsufficientScope {
                required: scopes.to_vec(),
            });
        }
        Ok(())
    }
}

/// Why a guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// No authenticated user (answered 401 like a missing token).
    #[error("authentication is required")]
    Unauthenticated,
    /// The user has none of the roles.
    #[error("this requires the role {}", any_of.join(" or "))]
    MissingRole {
        /// The roles, any of which would do.
        any_of: Vec<&'static str>,
    },
    /// The token lacks a scope.
    #[error(
        "this requires the scope {}; the login must request it",
        required.join(" ")
    )]
    InsufficientScope {
        /// The scopes required.
        required: Vec<&'static str>,
    },
}

impl GuardError {
    /// The HTTP status: 401 for anonymous, 403 otherwise.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            _ => 403,
        }
    }

    /// A stable machine code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => AuthError::MissingToken.code(),
            Self::MissingRole { .. } => "insufficient_role",
            Self::InsufficientScope { .. } => "insufficient_scope",
        }
    }

    /// The response, framework-neutral.
    #[must_use]
    pub fn rejection(&self, realm: &str) -> Rejection {
        match self {
            Self::Unauthenticated => AuthError::MissingToken.rejection(realm),
            Self::MissingRole { .. } => {
                Rejection::new(403, None, "forbidden", self.code(), self.to_string())
            }
            Self::InsufficientScope { required } => Rejection::new(
                403,
                Some(format!(
                    r#"Bearer realm="{}", error="insufficient_scope", scope="{}", error_description="{}""#,
                    quote_safe(realm),
                    quote_safe(&required.join(" ")),
                    quote_safe(&self.to_string()),
                )),
                "insufficient_scope",
                self.code(),
                self.to_string(),
            ),
        }
    }
}
