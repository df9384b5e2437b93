//! Role and scope checks, shared by every framework adapter.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

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

/// The role or scope names of a [`Requirement`]: a static list, which a `const` can
/// hold ([`Names::from_static`]), or one built at run time (from a `Vec`, an array of
/// `String`s, or any iterator of strings).
///
/// ```
/// use authgate::Names;
///
/// const STAFF: Names = Names::from_static(&["admin", "support"]);
/// let from_config: Names = vec![String::from("admin"), String::from("support")].into();
/// assert_eq!(STAFF, from_config);
/// assert_eq!(from_config.iter().collect::<Vec<_>>(), ["admin", "support"]);
/// let collected: Names = "admin support".split(' ').map(str::to_owned).collect();
/// assert_eq!(collected, STAFF);
/// ```
#[derive(Clone)]
pub struct Names(NamesRepr);

#[derive(Clone)]
enum NamesRepr {
    Static(&'static [&'static str]),
    Shared(Arc<[String]>),
}

impl Names {
    /// A list known at compile time, usable in a `const` (what the attribute macros
    /// write).
    #[must_use]
    pub const fn from_static(names: &'static [&'static str]) -> Self {
        Self(NamesRepr::Static(names))
    }

    /// The names, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        NamesIter {
            names: self,
            next: 0,
        }
    }

    /// How many names there are.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            NamesRepr::Static(names) => names.len(),
            NamesRepr::Shared(names) => names.len(),
        }
    }

    /// Whether the list is empty (a guard refuses to be built from one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, index: usize) -> Option<&str> {
        match &self.0 {
            NamesRepr::Static(names) => names.get(index).copied(),
            NamesRepr::Shared(names) => names.get(index).map(String::as_str),
        }
    }
}

#[derive(Clone)]
struct NamesIter<'a> {
    names: &'a Names,
    next: usize,
}

impl<'a> Iterator for NamesIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let name = self.names.get(self.next)?;
        self.next += 1;
        Some(name)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.names.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for NamesIter<'_> {}

impl fmt::Debug for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Names {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Names {}

impl From<&'static [&'static str]> for Names {
    fn from(names: &'static [&'static str]) -> Self {
        Self::from_static(names)
    }
}

impl<const N: usize> From<&'static [&'static str; N]> for Names {
    fn from(names: &'static [&'static str; N]) -> Self {
        Self::from_static(names)
    }
}

impl From<Vec<String>> for Names {
    fn from(names: Vec<String>) -> Self {
        Self(NamesRepr::Shared(names.into()))
    }
}

impl From<Arc<[String]>> for Names {
    fn from(names: Arc<[String]>) -> Self {
        Self(NamesRepr::Shared(names))
    }
}

impl<const N: usize> From<[String; N]> for Names {
    fn from(names: [String; N]) -> Self {
        Self(NamesRepr::Shared(Arc::new(names)))
    }
}

impl<S: Into<String>> FromIterator<S> for Names {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Self {
        names
            .into_iter()
            .map(Into::into)
            .collect::<Vec<String>>()
            .into()
    }
}

/// What a guarded route requires.
///
/// An adapter finds the user (or none) and asks a [`Requirement`] whether it may pass;
/// the answer is a [`GuardError`] with one response for every framework: 401 for an
/// anonymous request, 403 for an authenticated user without the role, and 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for a missing scope.
///
/// Names are known at compile time (a `const`, as the attribute macros and
/// `authgate_extract::GuardSpec` constants write them) or only at run time (read from
/// configuration: [`Requirement::role`], [`Requirement::any_role`], …):
///
/// ```
/// use std::borrow::Cow;
/// use authgate::{GuardError, Names, Requirement, User};
/// use http::StatusCode;
///
/// // In a const: static names.
/// const ADMIN_ONLY: Requirement = Requirement::Role(Cow::Borrowed("admin"));
/// const STAFF: Requirement = Requirement::AnyRole(Names::from_static(&["admin", "support"]));
///
/// // At run time: names from configuration.
/// let role_from_config = String::from("support");
/// let support = Requirement::role(role_from_config);
///
/// let user = User::builder("u1").roles(["support", "billing"]).scopes(["openid"]).build();
/// assert!(support.check(Some(&user)).is_ok());
/// assert!(STAFF.check(Some(&user)).is_ok());
/// let err = ADMIN_ONLY.check(Some(&user)).unwrap_err();
/// assert_eq!(err.status(), StatusCode::FORBIDDEN);
/// assert!(matches!(ADMIN_ONLY.check::<User>(None), Err(GuardError::Unauthenticated)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Any authenticated user.
    Authenticated,
    /// This role.
    Role(Cow<'static, str>),
    /// At least one of these roles.
    AnyRole(Names),
    /// This scope.
    Scope(Cow<'static, str>),
    /// Every one of these scopes.
    Scopes(Names),
}

impl Requirement {
    /// This role, known at compile time or at run time (`&'static str` or `String`).
    #[must_use]
    pub fn role(role: impl Into<Cow<'static, str>>) -> Self {
        Self::Role(role.into())
    }

    /// At least one of these roles (`&["admin", "support"]`, a `Vec<String>`, …).
    #[must_use]
    pub fn any_role(roles: impl Into<Names>) -> Self {
        Self::AnyRole(roles.into())
    }

    /// This scope, known at compile time or at run time.
    #[must_use]
    pub fn scope(scope: impl Into<Cow<'static, str>>) -> Self {
        Self::Scope(scope.into())
    }

    /// Every one of these scopes.
    #[must_use]
    pub fn scopes(scopes: impl Into<Names>) -> Self {
        Self::Scopes(scopes.into())
    }

    /// Whether this requirement can be checked: role and scope lists are not empty
    /// (an empty "any of" list would let nobody or everybody through, depending on how
    /// it is read), and every role and scope is a non-empty token without whitespace.
    /// Guards call this when they are built.
    ///
    /// ```
    /// use authgate::{Names, Requirement};
    ///
    /// assert!(Requirement::any_role(&["admin", "support"]).validate().is_ok());
    /// assert!(Requirement::any_role(Vec::<String>::new()).validate().is_err());
    /// assert!(Requirement::Scopes(Names::from_static(&[])).validate().is_err());
    /// assert!(Requirement::role("").validate().is_err());
    /// assert!(Requirement::role(String::from("two words")).validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// An [`InvalidRequirement`] saying what is wrong.
    pub fn validate(&self) -> Result<(), InvalidRequirement> {
        match self {
            Self::Authenticated => Ok(()),
            Self::Role(role) => validate_names("role", std::iter::once(role.as_ref())),
            Self::AnyRole(roles) => validate_names("role", roles.iter()),
            Self::Scope(scope) => validate_names("scope", std::iter::once(scope.as_ref())),
            Self::Scopes(scopes) => validate_names("scope", scopes.iter()),
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
        let owned = |names: &mut dyn Iterator<Item = &str>| names.map(str::to_owned).collect();
        match self {
            Self::Authenticated => Ok(()),
            Self::Role(role) if user.has_role(role) => Ok(()),
            Self::Role(role) => Err(GuardError::MissingRole {
                any_of: vec![role.clone().into_owned()],
            }),
            Self::AnyRole(roles) if roles.iter().any(|r| user.has_role(r)) => Ok(()),
            Self::AnyRole(roles) => Err(GuardError::MissingRole {
                any_of: owned(&mut roles.iter()),
            }),
            Self::Scope(scope) if user.has_scope(scope) => Ok(()),
            Self::Scope(scope) => Err(GuardError::InsufficientScope {
                required: vec![scope.clone().into_owned()],
            }),
            Self::Scopes(scopes) if scopes.iter().all(|s| user.has_scope(s)) => Ok(()),
            Self::Scopes(scopes) => Err(GuardError::InsufficientScope {
                required: owned(&mut scopes.iter()),
            }),
        }
    }
}

/// At least one name, each a non-empty token without whitespace.
fn validate_names<'a>(
    what: &'static str,
    names: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), InvalidRequirement> {
    if names.len() == 0 {
        return Err(InvalidRequirement::Empty { what });
    }
    for name in names {
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(InvalidRequirement::BadName {
                what,
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// Why a [`Requirement`] cannot be checked (see [`Requirement::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
        name: String,
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
        any_of: Vec<String>,
    },
    /// The token lacks a scope.
    #[error(
        "this requires the scope {}; the login must request it",
        required.join(" ")
    )]
    InsufficientScope {
        /// The scopes required.
        required: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    const STAFF: Requirement = Requirement::AnyRole(Names::from_static(&["admin", "support"]));
    const SUPPORT: Requirement = Requirement::Role(Cow::Borrowed("support"));

    fn both() -> User {
        User::builder("max").roles(["admin", "support"]).build()
    }

    #[test]
    fn a_user_with_several_roles_passes_each_of_them() {
        let user = both();
        assert_eq!(user.role, "admin");
        for requirement in [SUPPORT, Requirement::role("admin"), STAFF] {
            assert_eq!(requirement.check(Some(&user)), Ok(()), "{requirement:?}");
        }
        let billing = Requirement::role("billing").check(Some(&user));
        assert_eq!(
            billing,
            Err(GuardError::MissingRole {
                any_of: vec![String::from("billing")]
            })
        );
    }

    #[test]
    fn names_known_only_at_run_time() {
        let from_config = String::from("support");
        let role = Requirement::role(from_config.clone());
        assert_eq!(role, SUPPORT);
        assert!(role.check(Some(&both())).is_ok());
        let any = Requirement::any_role(vec![String::from("billing"), from_config]);
        assert!(any.check(Some(&both())).is_ok());
        let err = any.check(Some(&User::builder("u").build())).unwrap_err();
        assert_eq!(err.to_string(), "this requires the role billing or support");
        let scopes = Requirement::scopes(["openid".to_owned(), "email".to_owned()]);
        let user = User::builder("u").scopes(["openid"]).build();
        assert_eq!(
            scopes.check(Some(&user)),
            Err(GuardError::InsufficientScope {
                required: vec!["openid".to_owned(), "email".to_owned()]
            })
        );
    }

    #[test]
    fn names_compare_by_content_whatever_their_storage() {
        let owned: Names = ["admin", "support"].into_iter().map(String::from).collect();
        assert_eq!(owned, Names::from_static(&["admin", "support"]));
        assert_ne!(owned, Names::from_static(&["support", "admin"]));
        assert_eq!(owned.len(), 2);
        assert_eq!(owned.iter().len(), 2);
        assert_eq!(format!("{owned:?}"), r#"["admin", "support"]"#);
        assert!(Names::from(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn invalid_requirements_are_refused_and_fail_closed() {
        let cases = [
            (
                Requirement::any_role(&[]),
                InvalidRequirement::Empty { what: "role" },
            ),
            (
                Requirement::scopes(Vec::<String>::new()),
                InvalidRequirement::Empty { what: "scope" },
            ),
            (
                Requirement::role(String::new()),
                InvalidRequirement::BadName {
                    what: "role",
                    name: String::new(),
                },
            ),
            (
                Requirement::any_role(vec![String::from("ok"), String::from("not ok")]),
                InvalidRequirement::BadName {
                    what: "role",
                    name: String::from("not ok"),
                },
            ),
        ];
        for (requirement, expected) in cases {
            assert_eq!(requirement.validate(), Err(expected.clone()));
            let err = requirement.check(Some(&both())).unwrap_err();
            assert_eq!(err, GuardError::InvalidRequirement(expected));
            assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
