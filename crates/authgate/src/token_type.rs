//! Telling access tokens from ID tokens: with Authentik both are JWTs from the same
//! issuer with `aud` = the client id, and the ID token reaches JavaScript (the flow's
//! `logoutUrl` carries it as `id_token_hint`), so without a type rule an ID token would
//! open the API.

use serde_json::{Map, Value};

use crate::error::AuthError;

/// Which tokens count as access tokens, checked after the signature and the registered
/// claims, on every request (a cached token passed it when it was first verified).
///
/// Presets per provider:
///
/// | provider | rule | why |
/// |---|---|---|
/// | Authentik (the default of [`AuthConfig::authentik`](crate::AuthConfig::authentik)) | [`TokenType::authentik`]: claim `uid` present | Authentik builds its access token from the ID token's claims and adds `azp` and a random `uid` (`IDToken.to_access_token`); the ID token never has `uid` |
/// | RFC 9068 providers (node `oidc-provider` with JWT access tokens, Duende, Curity, ...) | [`TokenType::AtJwt`]: header `typ` is `at+jwt` | the profile requires it, and ID tokens must not use it |
/// | Keycloak | [`TokenType::keycloak`]: claim `typ` = `Bearer` | Keycloak marks ID tokens `typ` = `ID` |
/// | anything else | [`TokenType::ForbidClaim`]`("nonce")` where logins always send a nonce | only ID tokens carry `nonce` |
///
/// Only the Authentik preset is on by default, because it holds for every current
/// Authentik release (the access token has carried `uid` since the OAuth2 provider
/// was rewritten around `IDToken`, 2023.x through 2025.x). A configuration made with
/// [`AuthConfig::oidc`](crate::AuthConfig::oidc) accepts [`TokenType::Any`] until you
/// choose.
///
/// ```
/// use authgate::{AuthConfig, TokenType};
///
/// // An Authentik configuration checks for `uid` by default:
/// let config = AuthConfig::authentik("https://auth.example.com", "shop", "shop-client").build()?;
/// assert_eq!(config.token_type(), &TokenType::authentik());
///
/// // Keycloak, by its `typ` claim:
/// let config = AuthConfig::oidc("https://kc.example.com/realms/shop")
///     .audience("account")
///     .token_type(TokenType::keycloak())
///     .build()?;
/// assert_eq!(config.token_type(), &TokenType::ClaimEquals("typ".into(), "Bearer".into()));
/// # Ok::<(), authgate::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenType {
    /// No check: any token the issuer signed for the audience is accepted.
    #[default]
    Any,
    /// RFC 9068: the JOSE header's `typ` is `at+jwt` (or `application/at+jwt`,
    /// compared without regard to case).
    AtJwt,
    /// This claim must be present.
    RequireClaim(String),
    /// This claim must be absent.
    ForbidClaim(String),
    /// This claim must be the string given (name, value).
    ClaimEquals(String, String),
}

impl TokenType {
    /// Authentik: the claim `uid`, which Authentik adds to access tokens only.
    #[must_use]
    pub fn authentik() -> Self {
        Self::RequireClaim(String::from("uid"))
    }

    /// Keycloak: the claim `typ` = `Bearer` (Keycloak's ID tokens say `ID`).
    #[must_use]
    pub fn keycloak() -> Self {
        Self::ClaimEquals(String::from("typ"), String::from("Bearer"))
    }

    /// Parses the `AUTH_TOKEN_TYPE` form: `authentik`, `keycloak`, `at+jwt`, `any`,
    /// `claim:NAME`, `claim:NAME=VALUE` or `no-claim:NAME`.
    ///
    /// ```
    /// use authgate::TokenType;
    ///
    /// assert_eq!(TokenType::parse("at+jwt"), Some(TokenType::AtJwt));
    /// assert_eq!(TokenType::parse("no-claim:nonce"), Some(TokenType::ForbidClaim("nonce".into())));
    /// assert_eq!(TokenType::parse("claim:"), None);
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let name_ok = |name: &str| !name.is_empty() && !name.contains(char::is_whitespace);
        match text.to_ascii_lowercase().as_str() {
            "authentik" => return Some(Self::authentik()),
            "keycloak" => return Some(Self::keycloak()),
            "at+jwt" => return Some(Self::AtJwt),
            "any" => return Some(Self::Any),
            _ => {}
        }
        if let Some(name) = text.strip_prefix("no-claim:") {
            return name_ok(name).then(|| Self::ForbidClaim(name.to_owned()));
        }
        let claim = text.strip_prefix("claim:")?;
        match claim.split_once('=') {
            Some((name, value)) => (name_ok(name) && !value.is_empty())
                .then(|| Self::ClaimEquals(name.to_owned(), value.to_owned())),
            None => name_ok(claim).then(|| Self::RequireClaim(claim.to_owned())),
        }
    }

    /// Checks a verified token's header `typ` and claims.
    pub(crate) fn check(
        &self,
        header_typ: Option<&str>,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        let ok = match self {
            Self::Any => true,
            Self::AtJwt => header_typ.is_some_and(|typ| {
                let typ = typ.strip_prefix("application/").unwrap_or(typ);
                typ.eq_ignore_ascii_case("at+jwt")
            }),
            Self::RequireClaim(name) => claims.get(name).is_some_and(|v| !v.is_null()),
            Self::ForbidClaim(name) => !claims.contains_key(name),
            Self::ClaimEquals(name, value) => {
                claims.get(name).and_then(Value::as_str) == Some(value.as_str())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::WrongTokenType)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn each_rule() {
        let access = claims(json!({ "sub": "a", "uid": "x1", "azp": "c", "typ": "Bearer" }));
        let id = claims(json!({ "sub": "a", "nonce": "n", "typ": "ID" }));
        let rule = TokenType::authentik();
        assert!(rule.check(None, &access).is_ok());
        assert!(matches!(
            rule.check(None, &id),
            Err(AuthError::WrongTokenType)
        ));
        assert!(rule.check(None, &claims(json!({ "uid": null }))).is_err());

        let rule = TokenType::keycloak();
        assert!(rule.check(None, &access).is_ok());
        assert!(rule.check(None, &id).is_err());

        let rule = TokenType::AtJwt;
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            assert!(rule.check(Some(typ), &id).is_ok(), "{typ}");
        }
        for typ in [Some("JWT"), Some("jwt"), None, Some("at+jwt2")] {
            assert!(rule.check(typ, &access).is_err(), "{typ:?}");
        }

        let rule = TokenType::ForbidClaim("nonce".into());
        assert!(rule.check(None, &access).is_ok());
        assert!(rule.check(None, &id).is_err());

        assert!(TokenType::Any.check(None, &id).is_ok());
    }
}
