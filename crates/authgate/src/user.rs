//! The default user: [`User`], how claims become one ([`DefaultMapper`]), the
//! group → role table ([`RoleMap`]), and [`UserBuilder`] for tests and custom code.

use serde::{Deserialize, Serialize};

use crate::claims::{Claims, ClaimsMapper};
use crate::error::{ConfigError, MapError};

/// The user the default mapper makes: what the Authentik guide's `validate()` returns.
///
/// Serialises with camelCase keys (`organizationId`), as the NestJS services it
/// replaces did.
///
/// The default user: [`User`], how claims become one ([`DefaultMapper`]), the
/// group → role table ([`RoleMap`]), and [`UserBuilder`] for tests and custom code.
///
/// ```
/// use authgate::User;
///
/// let user = User::builder("u1")
///     .email("ada@example.com")
///     .role("admin")
///     .groups(["app-admins"])
///     .scopes(["openid"])
///     .build();
/// assert_eq!(user.organization_id, "u1"); // falls back to `sub`
/// assert!(user.has_role("admin") && user.has_scope("openid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The subject.
    pub sub: String,
    /// `email`, when present.
    pub email: Option<String>,
    /// `name` (or `preferred_username`), when present.
    pub name: Option<String>,
    /// `organizationId`, or `sub` when absent.
    pub organization_id: String,
    /// The role from the group table, or the default role.
    pub role: String,
    /// The provider's groups.
    pub groups: Vec<String>,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

impl User {
    /// Starts a user with this subject: no email or name, `organizationId` = `sub`,
    /// role `user`, no groups or scopes until set.
    pub fn builder(sub: impl Into<String>) -> UserBuilder {
        let sub = sub.into();
        UserBuilder {
            user: Self {
                organization_id: sub.clone(),
                sub,
                email: None,
                name: None,
                role: String::from("user"),
                groups: Vec::new(),
                scopes: Vec::new(),
            },
        }
    }

    /// Maps claims the default way with this role table and default role.
    #[must_use]
    pub fn from_claims(claims: &Claims, roles: &RoleMap, default_role: &str) -> Self {
        let groups = claims.groups();
        let role = roles.role_for(groups.clone()).unwrap_or(default_role);
        Self {
            sub: claims.sub().to_owned(),
            email: claims.str("email").map(str::to_owned),
            name: claims
                .str("name")
                .or_else(|| claims.str("preferred_username"))
                .map(str::to_owned),
            organization_id: claims
                .str("organizationId")
                .filter(|o| !o.is_empty())
                .unwrap_or(claims.sub())
                .to_owned(),
            role: role.to_owned(),
            groups: groups.map(str::to_owned).collect(),
            scopes: claims.scopes().into_iter().map(str::to_owned).collect(),
        }
    }

    /// Whether the user has this role.
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.role == role
    }

    /// Whether the token carried this scope.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Builds a [`User`]; start with [`User::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct UserBuilder {
    user: User,
}

impl UserBuilder {
    /// The email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.user.email = Some(email.into());
        self
    }

    /// The display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.user.name = Some(name.into());
        self
    }

    /// The organization (default: the subject).
    pub fn organization_id(mut self, organization_id: impl Into<String>) -> Self {
        self.user.organization_id = organization_id.into();
        self
    }

    /// The role (default `user`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.user.role = role.into();
        self
    }

    /// The provider's groups.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.user.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// The token's scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.user.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The user.
    #[must_use]
    pub fn build(self) -> User {
        self.user
    }
}

/// The default mapper: [`User::from_claims`] with the configured role table.
#[derive(Debug, Clone)]
pub struct DefaultMapper {
    roles: RoleMap,
    default_role: String,
}

impl DefaultMapper {
    /// A mapper with this role table and default role.
    #[must_use]
    pub fn new(roles: RoleMap, default_role: impl Into<String>) -> Self {
        Self {
            roles,
            default_role: default_role.into(),
        }
    }
}

impl ClaimsMapper<User> for DefaultMapper {
    fn map(&self, claims: &Claims) -> Result<User, MapError> {
        Ok(User::from_claims(claims, &self.roles, &self.default_role))
    }
}

/// Maps the provider's groups to one application role; the first matching entry wins.
///
/// ```
/// use authgate::RoleMap;
///
/// let roles = RoleMap::parse("app-admins=admin, app-support=support")?;
/// assert_eq!(roles.role_for(["staff", "app-support", "app-admins"]), Some("admin"));
/// assert_eq!(roles.role_for(["staff"]), None);
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(String, String)>,
}

impl RoleMap {
    /// An empty table: every user gets the default role.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `group → role` at the end of the table.
    #[must_use]
    pub fn map(mut self, group: impl Into<String>, role: impl Into<String>) -> Self {
        self.entries.push((group.into(), role.into()));
        self
    }

    /// Parses `group=role,group=role` (whitespace around items is ignored).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `AUTH_ROLE_MAP` when an item has no `=` or an
    /// empty side.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let mut map = Self::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (group, role) = item.split_once('=').ok_or_else(|| {
                ConfigError::invalid("AUTH_ROLE_MAP", "comma-separated group=role pairs")
            })?;
            let (group, role) = (group.trim(), role.trim());
            if group.is_empty() || role.is_empty() {
                return Err(ConfigError::invalid(
                    "AUTH_ROLE_MAP",
                    "comma-separated group=role pairs with non-empty sides",
                ));
            }
            map = map.map(group, role);
        }
        Ok(map)
    }

    /// The role of the first table entry whose group is among `groups`.
    ///
    /// Table order decides, not the order of the user's groups.
    pub fn role_for<'a, I>(&self, groups: I) -> Option<&str>
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        let groups = groups.into_iter();
        self.entries
            .iter()
            .find(|(group, _)| groups.clone().any(|g| g == group))
            .map(|(_, role)| role.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::tests::claims;
    use serde_json::json;

    #[test]
    fn organization_falls_back_to_sub_and_role_defaults() {
        let user = User::from_claims(
            &claims(json!({"sub": "u1", "email": "a@b.c"})),
            &RoleMap::new(),
            "user",
        );
        assert_eq!(user.organization_id, "u1");
        assert_eq!(user.role, "user");
        assert_eq!(user.email.as_deref(), Some("a@b.c"));
        assert!(user.groups.is_empty() && user.scopes.is_empty());
    }

    #[test]
    fn groups_map_to_the_first_table_role() {
        let roles = RoleMap::parse("app-admins=admin,app-support=support").unwrap();
        let user = User::from_claims(
            &claims(json!({
                "sub": "u1", "organizationId": "org-9",
                "groups": ["app-support", "app-admins", 7],
                "scope": "openid  email goauthentik.io/api"
            })),
            &roles,
            "user",
        );
        assert_eq!(user.role, "admin");
        assert_eq!(user.organization_id, "org-9");
        assert_eq!(user.groups, ["app-support", "app-admins"]);
        assert!(user.has_scope("goauthentik.io/api"));
        assert_eq!(
            serde_json::to_value(&user).unwrap()["organizationId"],
            json!("org-9")
        );
    }

    #[test]
    fn role_map_first_table_entry_wins() {
        let map = RoleMap::parse("a=first,b=second").unwrap();
        assert_eq!(map.role_for(["b", "a"]), Some("first"));
        assert_eq!(map.role_for(["b"]), Some("second"));
        assert_eq!(map.role_for(Vec::<&str>::new()), None);
    }

    #[test]
    fn the_builder_makes_the_user_the_mapper_would() {
        let mapped = User::from_claims(
            &claims(json!({"sub": "u1", "email": "a@b.c", "groups": ["g"], "scope": "openid"})),
            &RoleMap::new(),
            "user",
        );
        let built = User::builder("u1")
            .email("a@b.c")
            .groups(["g"])
            .scopes(["openid"])
            .build();
        assert_eq!(built, mapped);
    }
}
