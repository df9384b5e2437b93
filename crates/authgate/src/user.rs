//! The default user: [`User`], how claims become one ([`DefaultMapper`]), the
//! group → role table ([`RoleMap`]), and [`UserBuilder`] for tests and custom code.

use serde::{Deserialize, Serialize};

use crate::claims::{Claims, ClaimsMapper};
use crate::error::{ConfigError, MapError};

/// The user the default mapper makes: what the Authentik guide's `validate()` returns,
/// plus every role the user has.
///
/// Serialises with camelCase keys (`organizationId`), as the NestJS services it
/// replaces did. `role` is the primary role (the first of `roles`), so the seed's JSON
/// keeps its shape; `roles` is every role, which guards check.
///
/// ```
/// use authgate::User;
///
/// let user = User::builder("u1")
///     .email("ada@example.com")
///     .roles(["admin", "support"])
///     .groups(["app-admins", "app-support"])
///     .scopes(["openid"])
///     .build();
/// assert_eq!(user.organization_id, "u1"); // falls back to `sub`
/// assert_eq!(user.role, "admin"); // the primary role
/// assert!(user.has_role("admin") && user.has_role("support") && user.has_scope("openid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "UserJson")]
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
    /// The primary role: the first of [`roles`](Self::roles).
    pub role: String,
    /// Every role, never empty: the matched roles of the role table in table order, or
    /// the claim's own values when the roles claim was named and there is no table, or
    /// else the default role (see [`DefaultMapper`]).
    pub roles: Vec<String>,
    /// The string values of the roles claim (`groups` unless configured otherwise):
    /// what the role table is matched against.
    pub groups: Vec<String>,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

/// A [`User`] as JSON: `roles` may be missing (JSON written before it existed), and then
/// is `[role]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserJson {
    sub: String,
    email: Option<String>,
    name: Option<String>,
    organization_id: String,
    role: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

impl From<UserJson> for User {
    fn from(json: UserJson) -> Self {
        let roles = if json.roles.is_empty() {
            vec![json.role.clone()]
        } else {
            json.roles
        };
        Self {
            sub: json.sub,
            email: json.email,
            name: json.name,
            organization_id: json.organization_id,
            role: json.role,
            roles,
            groups: json.groups,
            scopes: json.scopes,
        }
    }
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
                roles: vec![String::from("user")],
                groups: Vec::new(),
                scopes: Vec::new(),
            },
        }
    }

    /// Whether the user has this role (any of [`roles`](Self::roles)).
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
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

    /// The one role (default `user`): `role` and `roles` = `[role]`.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        let role = role.into();
        self.user.roles = vec![role.clone()];
        self.user.role = role;
        self
    }

    /// Every role, the first being the primary one (`role`). An empty list leaves the
    /// roles as they were.
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        if let Some(first) = roles.first() {
            self.user.role.clone_from(first);
            self.user.roles = roles;
        }
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

/// The default mapper: claims to [`User`], the way the Authentik guide does, with
/// every role.
///
/// `sub` is required; `organizationId` falls back to `sub`; `name` falls back to
/// `preferred_username`.
///
/// The roles come from the *roles claim*: `groups` unless
/// [`roles_claim`](Self::roles_claim) names another, as a dotted path into nested
/// objects (see [`Claims::lookup`]): `roles`, `realm_access.roles`,
/// `resource_access.<client>.roles`, `https://example.com/roles`. Its string values
/// (an array of strings, or one string) become [`User::groups`], and then:
///
/// | role table | roles claim | [`User::roles`] |
/// |---|---|---|
/// | set | any | the role of every entry whose group the user has, in table order |
/// | empty | named ([`roles_claim`](Self::roles_claim), `AUTH_ROLES_CLAIM`) | the claim's values, in claim order |
/// | empty | not named (`groups` by default) | none |
///
/// A user left with no role gets the default role. A table is a filter: values it does
/// not name are not roles. Naming the claim without a table says "these values already
/// are roles", as Keycloak's `realm_access.roles` or an Auth0 roles claim are; the
/// Authentik default (`groups`, no table) gives everyone the default role, as the
/// Authentik guide does. Duplicates are dropped; `role` is the first.
///
/// ```
/// use authgate::{DefaultMapper, RoleMap};
///
/// // Authentik: groups through a table.
/// let authentik = DefaultMapper::new(RoleMap::parse("app-admins=admin,app-support=support")?, "user");
/// // Keycloak: realm roles as they are.
/// let keycloak = DefaultMapper::new(RoleMap::new(), "user").roles_claim("realm_access.roles");
/// # let _ = (authentik, keycloak);
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DefaultMapper {
    roles: RoleMap,
    default_role: String,
    roles_claim: Option<String>,
}

/// The roles claim when none is named.
const DEFAULT_ROLES_CLAIM: &str = "groups";

impl DefaultMapper {
    /// A mapper with this role table and default role, reading `groups`.
    #[must_use]
    pub fn new(roles: RoleMap, default_role: impl Into<String>) -> Self {
        Self {
            roles,
            default_role: default_role.into(),
            roles_claim: None,
        }
    }

    /// The mapper an [`AuthConfig`](crate::AuthConfig) describes: its role table,
    /// default role and roles claim.
    #[must_use]
    pub fn from_config(config: &crate::AuthConfig) -> Self {
        Self {
            roles: config.role_map().clone(),
            default_role: config.default_role().to_owned(),
            roles_claim: config.roles_claim().map(str::to_owned),
        }
    }

    /// Reads the roles from this claim (a dotted path, see [`Claims::lookup`]); without
    /// a role table, its values are the roles.
    #[must_use]
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claim = Some(path.into());
        self
    }

    /// Every role for these values of the roles claim, never empty.
    fn roles_for(&self, groups: &[String]) -> Vec<String> {
        let mut roles: Vec<String> = Vec::new();
        let mut add = |role: &str| {
            if !roles.iter().any(|r| r == role) {
                roles.push(role.to_owned());
            }
        };
        if !self.roles.is_empty() {
            self.roles
                .roles_for(groups.iter().map(String::as_str))
                .for_each(&mut add);
        } else if self.roles_claim.is_some() {
            groups.iter().map(String::as_str).for_each(&mut add);
        }
        if roles.is_empty() {
            roles.push(self.default_role.clone());
        }
        roles
    }
}

impl ClaimsMapper<User> for DefaultMapper {
    fn map(&self, claims: &Claims) -> Result<User, MapError> {
        let path = self.roles_claim.as_deref().unwrap_or(DEFAULT_ROLES_CLAIM);
        let groups: Vec<String> = claims.strings(path).map(str::to_owned).collect();
        let roles = self.roles_for(&groups);
        Ok(User {
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
            role: roles[0].clone(),
            roles,
            groups,
            scopes: claims.scopes().into_iter().map(str::to_owned).collect(),
        })
    }
}

/// Maps the provider's groups to application roles: a user has the role of every
/// entry whose group it is in, in table order; the first is its primary role.
///
/// ```
/// use authgate::RoleMap;
///
/// let roles = RoleMap::parse("app-admins=admin, app-support=support")?;
/// let groups = ["staff", "app-support", "app-admins"];
/// assert_eq!(roles.roles_for(groups).collect::<Vec<_>>(), ["admin", "support"]);
/// assert_eq!(roles.role_for(groups), Some("admin"));
/// assert_eq!(roles.role_for(["staff"]), None);
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(String, String)>,
}

impl RoleMap {
    /// An empty table (see [`DefaultMapper`] for what that means).
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

    /// Whether the table has no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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

    /// The role of every table entry whose group is among `groups`, in table order (a
    /// role reached through two groups is given twice).
    pub fn roles_for<'a, I>(&self, groups: I) -> impl Iterator<Item = &str>
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        let groups = groups.into_iter();
        self.entries
            .iter()
            .filter(move |(group, _)| groups.clone().any(|g| g == group))
            .map(|(_, role)| role.as_str())
    }

    /// The role of the first table entry whose group is among `groups`: the primary
    /// role.
    ///
    /// Table order decides, not the order of the user's groups.
    pub fn role_for<'a, I>(&self, groups: I) -> Option<&str>
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        self.roles_for(groups).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::tests::claims;
    use serde_json::json;

    fn map(mapper: &DefaultMapper, value: serde_json::Value) -> User {
        mapper.map(&claims(value)).unwrap()
    }

    fn authentik() -> DefaultMapper {
        DefaultMapper::new(
            RoleMap::parse("app-admins=admin,app-support=support").unwrap(),
            "user",
        )
    }

    #[test]
    fn organization_falls_back_to_sub_and_role_defaults() {
        let user = map(
            &DefaultMapper::new(RoleMap::new(), "user"),
            json!({"sub": "u1", "email": "a@b.c"}),
        );
        assert_eq!(user.organization_id, "u1");
        assert_eq!(
            (user.role.as_str(), user.roles.as_slice()),
            ("user", &["user".to_owned()][..])
        );
        assert_eq!(user.email.as_deref(), Some("a@b.c"));
        assert!(user.groups.is_empty() && user.scopes.is_empty());
    }

    #[test]
    fn groups_map_to_every_table_role_in_table_order() {
        let user = map(
            &authentik(),
            json!({
                "sub": "u1", "organizationId": "org-9",
                "groups": ["app-support", "staff", "app-admins", 7],
                "scope": "openid  email goauthentik.io/api"
            }),
        );
        assert_eq!(user.role, "admin");
        assert_eq!(user.roles, ["admin", "support"]);
        assert!(user.has_role("support") && user.has_role("admin") && !user.has_role("staff"));
        assert_eq!(user.organization_id, "org-9");
        assert_eq!(user.groups, ["app-support", "staff", "app-admins"]);
        assert!(user.has_scope("goauthentik.io/api"));
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["organizationId"], json!("org-9"));
        assert_eq!(json["role"], json!("admin"));
        assert_eq!(json["roles"], json!(["admin", "support"]));
    }

    #[test]
    fn a_role_reached_twice_is_given_once() {
        let mapper = DefaultMapper::new(
            RoleMap::parse("app-admins=admin,root=admin,app-support=support").unwrap(),
            "user",
        );
        let user = map(
            &mapper,
            json!({"sub": "u", "groups": ["root", "app-support", "app-admins"]}),
        );
        assert_eq!(user.roles, ["admin", "support"]);
    }

    #[test]
    fn unmatched_groups_get_the_default_role() {
        let user = map(&authentik(), json!({"sub": "u", "groups": ["staff"]}));
        assert_eq!((user.role.as_str(), user.roles.len()), ("user", 1));
        assert_eq!(user.groups, ["staff"]);
    }

    #[test]
    fn without_a_table_the_default_groups_claim_gives_the_default_role() {
        let mapper = DefaultMapper::new(RoleMap::new(), "member");
        let user = map(&mapper, json!({"sub": "u", "groups": ["admin"]}));
        assert_eq!(user.roles, ["member"]);
        assert!(!user.has_role("admin"));
    }

    #[test]
    fn a_named_claim_without_a_table_gives_its_values_as_roles() {
        let keycloak = DefaultMapper::new(RoleMap::new(), "user").roles_claim("realm_access.roles");
        let user = map(
            &keycloak,
            json!({"sub": "u", "realm_access": {"roles": ["support", "admin", "support"]}}),
        );
        assert_eq!(user.roles, ["support", "admin"]);
        assert_eq!(user.role, "support");
        assert_eq!(user.groups, ["support", "admin", "support"]);
        let nobody = map(&keycloak, json!({"sub": "u", "realm_access": {}}));
        assert_eq!(nobody.roles, ["user"]);
        // Named `groups` too: its values are roles.
        let groups = DefaultMapper::new(RoleMap::new(), "user").roles_claim("groups");
        assert_eq!(
            map(&groups, json!({"sub": "u", "groups": ["ops"]})).roles,
            ["ops"]
        );
    }

    #[test]
    fn a_named_claim_with_a_table_is_filtered_by_it() {
        let mapper = DefaultMapper::new(RoleMap::parse("shop-admin=admin").unwrap(), "user")
            .roles_claim("resource_access.shop.roles");
        let user = map(
            &mapper,
            json!({"sub": "u", "resource_access": {"shop": {"roles": ["shop-admin", "x"]}}}),
        );
        assert_eq!(user.roles, ["admin"]);
        assert_eq!(user.groups, ["shop-admin", "x"]);
    }

    #[test]
    fn role_map_first_table_entry_wins() {
        let map = RoleMap::parse("a=first,b=second").unwrap();
        assert_eq!(map.role_for(["b", "a"]), Some("first"));
        assert_eq!(map.role_for(["b"]), Some("second"));
        assert_eq!(map.role_for(Vec::<&str>::new()), None);
        assert_eq!(
            map.roles_for(["b", "a"]).collect::<Vec<_>>(),
            ["first", "second"]
        );
        assert!(RoleMap::new().is_empty() && !map.is_empty());
    }

    #[test]
    fn the_builder_makes_the_user_the_mapper_would() {
        let mapped = map(
            &DefaultMapper::new(RoleMap::new(), "user"),
            json!({"sub": "u1", "email": "a@b.c", "groups": ["g"], "scope": "openid"}),
        );
        let built = User::builder("u1")
            .email("a@b.c")
            .groups(["g"])
            .scopes(["openid"])
            .build();
        assert_eq!(built, mapped);
        let two = User::builder("u1").roles(["admin", "support"]).build();
        assert_eq!((two.role.as_str(), two.roles.len()), ("admin", 2));
        let one = User::builder("u1")
            .roles(["admin", "support"])
            .role("ops")
            .build();
        assert_eq!(one.roles, ["ops"]);
        let unchanged = User::builder("u1").roles(Vec::<String>::new()).build();
        assert_eq!(unchanged.roles, ["user"]);
    }

    #[test]
    fn json_round_trips_and_json_without_roles_reads_role() {
        let user = User::builder("u1").roles(["admin", "support"]).build();
        let back: User = serde_json::from_value(serde_json::to_value(&user).unwrap()).unwrap();
        assert_eq!(back, user);
        let old: User = serde_json::from_value(json!({
            "sub": "u1", "email": null, "name": null, "organizationId": "u1",
            "role": "admin", "groups": [], "scopes": []
        }))
        .unwrap();
        assert_eq!(old.roles, ["admin"]);
        assert!(old.has_role("admin"));
    }
}
