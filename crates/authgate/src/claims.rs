//! Verified claims, the default [`User`], and how to bring your own user type.

use serde_json::{Map, Value};

use crate::error::MapError;

/// The claims of a token whose signature, issuer, audience and lifetime were verified.
///
/// Verified claims, the default [`User`](crate::User), and how to bring your own user type.
///
/// A [`ClaimsMapper`] turns the verified [`Claims`] into the user type a service wants.
/// A closure is one:
///
/// ```
/// use authgate::{AuthConfig, Authenticator, Claims, MapError};
///
/// #[derive(Clone, Debug)]
/// struct Customer {
///     id: String,
///     tenant: String,
/// }
///
/// let config = AuthConfig::oidc("https://idp.example.com/").audience("api").build()?;
/// let auth = Authenticator::with_mapper(config, |claims: &Claims| {
///     let tenant = claims.str("tenant").ok_or_else(|| MapError::new("no tenant"))?;
///     Ok(Customer { id: claims.sub().to_owned(), tenant: tenant.to_owned() })
/// });
/// # let _ = auth;
/// # Ok::<(), authgate::ConfigError>(())
/// ```
///
/// The default mapper gives a [`User`](crate::User) the way the Authentik guide does
/// (see [`DefaultMapper`](crate::DefaultMapper)).
#[derive(Debug, Clone)]
pub struct Claims {
    map: Map<String, Value>,
    sub: String,
    exp: i64,
}

impl Claims {
    /// Claims that passed verification (`sub` and `exp` already extracted).
    pub(crate) fn new(map: Map<String, Value>, sub: String, exp: i64) -> Self {
        Self { map, sub, exp }
    }

    /// The subject (always present: tokens without `sub` are refused, except for
    /// back-channel logout tokens, where it is empty when the token names only a
    /// `sid`).
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
        self.strings("groups")
    }

    /// A claim by dotted path into nested objects: `groups`, `realm_access.roles`,
    /// `resource_access.shop-api.roles` (Keycloak), `https://example.com/roles`
    /// (Auth0's namespaced claims).
    ///
    /// At each level the longest key that matches wins, so keys that contain dots (a
    /// URL-shaped claim name, a client id such as `shop.api`) are found as they are.
    #[must_use]
    pub fn lookup(&self, path: &str) -> Option<&Value> {
        lookup(&self.map, path)
    }

    /// The strings at a dotted path (see [`lookup`](Self::lookup)): the string
    /// entries of an array, or a single string; nothing for anything else.
    pub fn strings(&self, path: &str) -> impl Iterator<Item = &str> + Clone {
        let (one, many) = match self.lookup(path) {
            Some(Value::String(s)) => (Some(s.as_str()), None),
            Some(Value::Array(items)) => (None, Some(items)),
            _ => (None, None),
        };
        one.into_iter()
            .chain(many.into_iter().flatten().filter_map(Value::as_str))
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

/// `path` in `map`: the whole path as a key first, then the longest dotted prefix that
/// names an object, recursively.
fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    path.rmatch_indices('.').find_map(|(dot, _)| {
        let (key, rest) = (&path[..dot], &path[dot + 1..]);
        match map.get(key) {
            Some(Value::Object(inner)) if !rest.is_empty() => lookup(inner, rest),
            _ => None,
        }
    })
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn claims(value: Value) -> Claims {
        let Value::Object(map) = value else { panic!() };
        let sub = map["sub"].as_str().unwrap().to_owned();
        Claims::new(map, sub, 0)
    }

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let c = claims(json!({
            "sub": "u",
            "groups": ["g1", 7, "g2"],
            "roles": "solo",
            "realm_access": {"roles": ["admin", "support"]},
            "resource_access": {
                "shop.api": {"roles": ["buyer"]},
                "shop": {"api": {"roles": ["wrong"]}, "roles": ["shop-role"]}
            },
            "https://example.com/roles": ["editor"],
            "https://example.com/nested": {"roles": ["x"]}
        }));
        let strings = |path| c.strings(path).collect::<Vec<_>>();
        assert_eq!(strings("groups"), ["g1", "g2"]);
        assert_eq!(strings("roles"), ["solo"]);
        assert_eq!(strings("realm_access.roles"), ["admin", "support"]);
        // The longest matching key wins: `shop.api` before `shop` → `api`.
        assert_eq!(strings("resource_access.shop.api.roles"), ["buyer"]);
        assert_eq!(strings("resource_access.shop.roles"), ["shop-role"]);
        assert_eq!(strings("https://example.com/roles"), ["editor"]);
        assert_eq!(strings("https://example.com/nested.roles"), ["x"]);
        for nothing in [
            "realm_access",
            "realm_access.",
            "missing.roles",
            "sub.x",
            "",
        ] {
            assert!(strings(nothing).is_empty(), "{nothing}");
        }
    }

    #[test]
    fn scp_array_is_read() {
        let c = claims(json!({"sub": "u", "scp": ["a", "b"]}));
        assert_eq!(c.scopes(), ["a", "b"]);
    }
}
