//! Verified claims, the default [`User`], and how to bring your own user type.
//!
//! A [`ClaimsMapper`] turns the verified [`Claims`] into the user type a service wants.
//! A closure is one:
//!
//! ```
//! use authgate::{AuthConfig, Authenticator, Claims, MapError};
//!
//! #[derive(Clone, Debug)]
//! struct Customer {
//!     id: String,
//!     tenant: String,
//! }
//!
//! let config = AuthConfig::oidc("https://idp.example.com/").audience("api").build()?;
//! let auth = Authenticator::with_mapper(config, |claims: &Claims| {
//!     let tenant = claims.str("tenant").ok_or_else(|| MapError::new("no tenant"))?;
//!     Ok(Customer { id: claims.sub().to_owned(), tenant: tenant.to_owned() })
//! });
//! # let _ = auth;
//! # Ok::<(), authgate::ConfigError>(())
//! ```
//!
//! The default mapper gives a [`User`] the way the Authentik guide does: `sub` required,
//! `organizationId` falling back to `sub`, the role from the group table with a default.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::RoleMap;
use crate::error::MapError;

/// The claims of a token whose signature, issuer, audience and lifetime were verified.
#[derive(Debug, Clone)]
pub struct Claims {
    map: Map<String, Value>,
    sub: String,
    exp: i64,
}

impl Claims {
    pub(crate) fn new(map: Map<String, Value>, sub: String, exp: i64) -> Self {
        Self { map, sub, exp }
    }

    /// The subject (always present: tokens without `sub` are refused).
    #[must_use]
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The expiry, in seconds since the Unix epoch.
    #[must_use]
    pub fn exp(&self) -> i64 {
        self.exp
    }

    /// A claim by name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// A string claim by name (`None` when absent or not a string).
    #[must_use]
    pub fn str(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    /// The `groups` claim: its string entries.
    pub fn groups(&self) -> impl Iterator<Item = &str> + Clone {
        self.map
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// The scopes: `scope` (space separated), or `scp` (a string or an array).
    #[must_use]
    pub fn scopes(&self) -> Vec<&str> {
        match self.map.get("scope").or_else(|| self.map.get("scp")) {
            Some(Value::String(s)) => s.split_ascii_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Every claim.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The claims as a typed struct.
    ///
    /// # Errors
    ///
    /// The claims do not fit `T`.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&Value::Object(self.map.clone()))
    }
}

/// The user the default mapper makes: what the Authentik guide's `validate()` returns.
///
/// Serialises with camelCase keys (`organizationId`), as the NestJS services it
/// replaces did.
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

/// Turns verified claims into a service's user type.
///
/// Implemented by every `Fn(&Claims) -> Result<U, MapError>` closure.
pub trait ClaimsMapper<U>: Send + Sync + 'static {
    /// Maps the claims, or refuses the token with a reason (answered with 401).
    ///
    /// # Errors
    ///
    /// A [`MapError`] refuses the token.
    fn map(&self, claims: &Claims) -> Result<U, MapError>;
}

impl<U, F> ClaimsMapper<U> for F
where
    F: Fn(&Claims) -> Result<U, MapError> + Send + Sync + 'static,
{
    fn map(&self, claims: &Claims) -> Result<U, MapError> {
        self(claims)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        let Value::Object(map) = value else { panic!() };
        let sub = map["sub"].as_str().unwrap().to_owned();
        Claims::new(map, sub, 0)
    }

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
    fn scp_array_is_read() {
        let c = claims(json!({"sub": "u", "scp": ["a", "b"]}));
        assert_eq!(c.scopes(), ["a", "b"]);
    }
}
