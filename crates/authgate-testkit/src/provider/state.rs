//! The provider's registrations, grants and logs, behind the issuer's mutex.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::client::ClientAuthUsed;
use super::fault::TokenFault;
use super::grants::Grants;
use crate::TestUser;

/// What the token endpoint saw, in the order it saw it
/// ([`TestIssuer::token_requests`](crate::TestIssuer::token_requests)).
///
/// `Debug` shows the form's names but not the values of `code`,
/// `code_verifier`, `refresh_token` and `client_secret`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// How the client authenticated.
    pub client_auth: ClientAuthUsed,
    /// The `grant_type` parameter (empty when none was sent).
    pub grant_type: String,
    /// The form parameters (the first value of each).
    pub form: BTreeMap<String, String>,
}

const SECRET_PARAMS: [&str; 4] = ["code", "code_verifier", "refresh_token", "client_secret"];

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form: BTreeMap<&str, &str> = self
            .form
            .iter()
            .map(|(k, v)| {
                let shown = if SECRET_PARAMS.contains(&k.as_str()) {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("TokenRequest")
            .field("client_auth", &self.client_auth)
            .field("grant_type", &self.grant_type)
            .field("form", &form)
            .finish()
    }
}

/// Registrations and policy (changed by the handles), grants and logs (changed
/// by the endpoints).
pub(crate) struct ProviderState {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) users: Vec<TestUser>,
    pub(crate) auto_login: Option<String>,
    pub(crate) access_token_lifetime: Duration,
    pub(crate) rotation: bool,
    pub(crate) fault: Option<TokenFault>,
    pub(crate) grants: Grants,
    pub(crate) token_requests: Vec<TokenRequest>,
    pub(crate) issued: Vec<String>,
    pub(crate) end_sessions: usize,
}

impl ProviderState {
    pub(crate) fn user(&self, sub: &str) -> Option<&TestUser> {
        self.users.iter().find(|u| u.sub() == sub)
    }

    /// Adds `user`, or replaces the user with the same `sub` in place.
    pub(crate) fn add_user(&mut self, user: TestUser) {
        match self.users.iter_mut().find(|u| u.sub() == user.sub()) {
            Some(slot) => *slot = user,
            None => self.users.push(user),
        }
    }

    /// The configured auto-login user, if it is a configured user.
    pub(crate) fn auto_login_user(&self) -> Option<&TestUser> {
        self.auto_login.as_deref().and_then(|sub| self.user(sub))
    }

    pub(crate) fn add_unique(list: &mut Vec<String>, value: &str) {
        if !list.iter().any(|v| v == value) {
            list.push(value.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_values() {
        let request = TokenRequest {
            client_auth: ClientAuthUsed::Post,
            grant_type: "authorization_code".into(),
            form: [
                ("code", "the-code"),
                ("code_verifier", "the-verifier"),
                ("client_secret", "the-secret"),
                ("refresh_token", "the-refresh"),
                ("redirect_uri", "http://app/cb"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        let shown = format!("{request:?}");
        for secret in ["the-code", "the-verifier", "the-secret", "the-refresh"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("http://app/cb"), "{shown}");
    }
}
