//! The users an issuer can sign in.

use serde_json::{Map, Value, json};

/// A user the issuer can sign in: a `sub` and the identity claims that go into its
/// access tokens, ID tokens and userinfo answers.
///
/// ```
/// use authgate_testkit::TestUser;
///
/// let ada = TestUser::new("ada")
///     .email("ada@example.com")
///     .name("Ada Admin")
///     .groups(["app-admins"])
///     .claim("organizationId", "org-1");
/// assert_eq!(ada.sub(), "ada");
/// let claims = ada.claims();
/// assert_eq!(claims["email_verified"], true);
/// assert_eq!(claims["preferred_username"], "ada");
/// assert_eq!(claims["organizationId"], "org-1");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct TestUser {
    sub: String,
    email: Option<String>,
    name: Option<String>,
    groups: Vec<String>,
    extra: Map<String, Value>,
}

impl TestUser {
    /// A user with this subject identifier, no email, no name and no groups.
    pub fn new(sub: &str) -> Self {
        TestUser {
            sub: sub.to_owned(),
            email: None,
            name: None,
            groups: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Sets the `email` claim (and `email_verified: true`).
    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    /// Sets the `name` claim, also shown on the sign-in page.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets the `groups` claim (an array of strings, as Authentik sends it).
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.groups = groups.into_iter().map(|g| g.as_ref().to_owned()).collect();
        self
    }

    /// Adds (or replaces) a claim of its own, such as `organizationId`. It may
    /// replace an identity claim (`preferred_username`, `email_verified`, …) but
    /// never a protocol claim (`iss`, `aud`, `exp`, `sid`, …) of a token.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }

    /// The subject identifier.
    #[must_use]
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The text of the user's button on the sign-in page: the name, else the `sub`.
    pub(crate) fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.sub)
    }

    /// The email, if any.
    pub(crate) fn email_address(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The identity claims, as the userinfo endpoint answers them: `sub`,
    /// `email` and `email_verified` (when an email is set), `name` (when set),
    /// `preferred_username` (the `sub`), `groups`, then the extra claims.
    #[must_use]
    pub fn claims(&self) -> Value {
        Value::Object(self.claim_map())
    }

    pub(crate) fn claim_map(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(self.sub));
        if let Some(email) = &self.email {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(true));
        }
        if let Some(name) = &self.name {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("preferred_username".into(), json!(self.sub));
        claims.insert("groups".into(), json!(self.groups));
        for (name, value) in &self.extra {
            if name != "sub" {
                claims.insert(name.clone(), value.clone());
            }
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_user_has_sub_username_and_empty_groups() {
        assert_eq!(
            TestUser::new("u").claims(),
            json!({"sub": "u", "preferred_username": "u", "groups": []})
        );
    }

    #[test]
    fn extra_claims_cannot_change_the_sub() {
        let user = TestUser::new("u")
            .claim("sub", "other")
            .claim("preferred_username", "x");
        assert_eq!(user.claims()["sub"], "u");
        assert_eq!(user.claims()["preferred_username"], "x");
    }

    #[test]
    fn the_label_is_the_name_or_the_sub() {
        assert_eq!(TestUser::new("u").label(), "u");
        assert_eq!(TestUser::new("u").name("Uma").label(), "Uma");
    }
}
