//! Role and scope checks, shared by every framework adapter.

use http::StatusCode;

use crate::error::AuthError;
use crate::rejection::{Rejection, bearer_challenge};
use crate::user::User;

/// A user type that guards can check: what roles it has and what scopes its token
/// carried. [`User`] implements it; implement it for the user type your
/// [`ClaimsMapper`](crate::ClaimsMapper) makes.
pub trait GuardUser: Clone + Send + Sync + 'static {
    /// Whether the user has `role`.
    fn has_role(&self, role: &str) -> bool;
    /// Whether the token carried `scope`.
    fn has_scope(&self, scope: &str) -> bool;
}

impl GuardUser for User {
    fn has_role(&self, role: &str) -> bool {
        User::has_role(self, role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        User::has_scope(self, scope)
    }
}

/// What a guarded route requires.
///
/// Role and scope checks, shared by every framework adapter.
///
/// An adapter finds the user (or none) and asks a [`Requirement`] whether it may pass;
/// the answer is a [`GuardError`] with one response for every framework: 401 for an
/// anonymous request, 403 for an authenticated user without the role, and 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for a missing scope.
///
/// ```
/// use authgate::{GuardError, Requirement, User};
/// use http::StatusCode;
///
/// let admin_only = Requirement::Role("admin");
/// let user = User::builder("u1").role("support").scopes(["openid"]).build();
/// let err = admin_only.check(Some(&user)).unwrap_err();
/// assert_eq!(err.status(), StatusCode::FORBIDDEN);
/// assert!(matches!(admin_only.check::<User>(None), Err(GuardError::Unauthenticated)));
/// ```
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
    pub fn check<U: GuardUser>(&self, user: Option<&U>) -> Result<(), GuardError> {
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
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
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

    /// The response: the core's 401 for an anonymous request, 403 for a missing role,
    /// and 403 with an `insufficient_scope` challenge naming the scopes for a missing
    /// scope.
    #[must_use]
    pub fn rejection(&self, realm: &str) -> Rejection {
        match self {
            Self::Unauthenticated => AuthError::MissingToken.rejection(realm),
            Self::MissingRole { .. } => {
                Rejection::new(self.status(), self.code(), self.to_string())
            }
            Self::InsufficientScope { required } => {
                let message = self.to_string();
                let challenge = bearer_challenge(
                    realm,
                    &[
                        ("error", "insufficient_scope"),
                        ("scope", &required.join(" ")),
                        ("error_description", &message),
                    ],
                );
                Rejection::new(self.status(), self.code(), message).with_www_authenticate(challenge)
            }
        }
    }
}
