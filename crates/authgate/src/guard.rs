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
    /// Whether this requirement can be checked: role and scope lists are not empty
    /// (an empty "any of" list would let nobody or everybody through, depending on how
    /// it is read), and every role and scope is a non-empty token without whitespace.
    /// Guards call this when they are built.
    ///
    /// ```
    /// use authgate::Requirement;
    ///
    /// assert!(Requirement::AnyRole(&["admin", "support"]).validate().is_ok());
    /// assert!(Requirement::AnyRole(&[]).validate().is_err());
    /// assert!(Requirement::Scopes(&[]).validate().is_err());
    /// assert!(Requirement::Role("").validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// An [`InvalidRequirement`] saying what is wrong.
    pub fn validate(&self) -> Result<(), InvalidRequirement> {
        let (what, names): (&'static str, &[&'static str]) = match self {
            Self::Authenticated => return Ok(()),
            Self::Role(role) => ("role", std::slice::from_ref(role)),
            Self::AnyRole(roles) => ("role", roles),
            Self::Scope(scope) => ("scope", std::slice::from_ref(scope)),
            Self::Scopes(scopes) => ("scope", scopes),
        };
        if names.is_empty() {
            return Err(InvalidRequirement::Empty { what });
        }
        match names
            .iter()
            .find(|name| name.is_empty() || name.chars().any(char::is_whitespace))
        {
            Some(name) => Err(InvalidRequirement::BadName { what, name }),
            None => Ok(()),
        }
    }

    /// Checks `user` (`None` for an anonymous request).
    ///
    /// An invalid requirement (see [`validate`](Self::validate)) fails closed: every
    /// request is refused with [`GuardError::InvalidRequirement`] (500).
    ///
    /// # Errors
    ///
    /// [`GuardError::Unauthenticated`] without a user, [`GuardError::MissingRole`] or
    /// [`GuardError::InsufficientScope`] when the user lacks what is required.
    pub fn check<U: GuardUser>(&self, user: Option<&U>) -> Result<(), GuardError> {
        self.validate().map_err(GuardError::InvalidRequirement)?;
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

/// Why a [`Requirement`] cannot be checked (see [`Requirement::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequirement {
    /// An empty list of roles or scopes.
    #[error("a guard needs at least one {what}; an empty list is refused")]
    Empty {
        /// `"role"` or `"scope"`.
        what: &'static str,
    },
    /// An empty name, or one with whitespace.
    #[error("{what} {name:?} is not a valid {what} name (empty, or with whitespace)")]
    BadName {
        /// `"role"` or `"scope"`.
        what: &'static str,
        /// The name.
        name: &'static str,
    },
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
    /// The guard itself is invalid (a requirement that bypassed
    /// [`Requirement::validate`]): every request is refused, with 500.
    #[error("the guard is misconfigured: {0}")]
    InvalidRequirement(#[source] InvalidRequirement),
}

impl GuardError {
    /// The HTTP status: 401 for anonymous, 500 for an invalid guard, 403 otherwise.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::InvalidRequirement(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            Self::InvalidRequirement(_) => "guard_misconfigured",
        }
    }

    /// The response: the core's 401 for an anonymous request, 403 for a missing role,
    /// and 403 with an `insufficient_scope` challenge naming the scopes for a missing
    /// scope.
    #[must_use]
    pub fn rejection(&self, realm: &str) -> Rejection {
        match self {
            Self::Unauthenticated => AuthError::MissingToken.rejection(realm),
            Self::MissingRole { .. } | Self::InvalidRequirement(_) => {
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
