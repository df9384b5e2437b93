//! [`AuthConfig::from_env`]: the Authentik preset from the variables Authentik users
//! already have (see the [module docs](super) for the table).

use std::time::Duration;

use super::{AuthConfig, MAX_LEEWAY};
use crate::error::ConfigError;
use crate::token_type::TokenType;
use crate::user::RoleMap;

impl AuthConfig {
    /// Reads the Authentik preset from the process environment (see the
    /// [`AuthConfig`] docs for the variables).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (for tests
    /// and for configuration systems other than the process environment).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env_with<F>(get: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = EnvVars::new(get);
        let var = |name| env.var(name);
        let required = |name, expected| env.required(name, expected);
        let base = required("AUTHENTIK_URL", "the public base URL of Authentik")?;
        let slug = required("AUTHENTIK_APP_SLUG", "the Authentik application slug")?;
        let client_id = required("AUTHENTIK_CLIENT_ID", "the OAuth client id")?;
        let mut builder = Self::authentik(base, slug, client_id);
        if let Some(internal) = var("AUTHENTIK_INTERNAL_URL") {
            builder = builder.internal_url(internal);
        }
        if let Some(name) = var("AUTH_COOKIE_NAME") {
            builder = builder.cookie_name(name);
        }
        if let Some(map) = var("AUTH_ROLE_MAP") {
            builder = builder.role_map(RoleMap::parse(&map)?);
        }
        if let Some(path) = var("AUTH_ROLES_CLAIM") {
            builder = builder.roles_claim(path);
        }
        if let Some(leeway) = var("AUTH_LEEWAY_SECS") {
            builder = builder.leeway(parse_leeway(&leeway)?);
        }
        if let Some(rule) = var("AUTH_TOKEN_TYPE") {
            builder = builder.token_type(TokenType::parse(&rule).ok_or_else(|| {
                ConfigError::invalid(
                    "AUTH_TOKEN_TYPE",
                    "authentik, keycloak, at+jwt, any, claim:NAME, claim:NAME=VALUE or no-claim:NAME",
                )
            })?);
        }
        for name in ["FRONTEND_URL", "API_URL"] {
            if let Some(url) = var(name) {
                builder = builder.trusted_origin_named(name, url);
            }
        }
        builder.build()
    }
}

/// Reads configuration variables through a lookup function: the one rule for every
/// `from_env_with` in authgate (a value that is empty or only whitespace is unset).
#[derive(Debug)]
pub struct EnvVars<F> {
    get: F,
}

impl<F: Fn(&str) -> Option<String>> EnvVars<F> {
    /// Variables looked up through `get`.
    pub fn new(get: F) -> Self {
        Self { get }
    }

    /// The value of `name`, if it is set and not blank.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.get)(name).filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] naming `name` and saying what it should hold.
    pub fn required(
        &self,
        name: &'static str,
        expected: &'static str,
    ) -> Result<String, ConfigError> {
        self.var(name)
            .ok_or(ConfigError::Missing { name, expected })
    }
}

/// `AUTH_LEEWAY_SECS`: whole seconds, at most [`MAX_LEEWAY`].
fn parse_leeway(value: &str) -> Result<Duration, ConfigError> {
    const EXPECTED: &str = "a whole number of seconds from 0 to 300";
    let secs: u64 = value
        .trim()
        .parse()
        .map_err(|e| ConfigError::invalid_because("AUTH_LEEWAY_SECS", EXPECTED, e))?;
    if secs > MAX_LEEWAY.as_secs() {
        return Err(ConfigError::invalid("AUTH_LEEWAY_SECS", EXPECTED));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySource;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const BASE: &[(&str, &str)] = &[
        ("AUTHENTIK_URL", "https://auth.example.com"),
        ("AUTHENTIK_APP_SLUG", "shop"),
        ("AUTHENTIK_CLIENT_ID", "client"),
    ];

    #[test]
    fn from_env_builds_the_authentik_issuer_with_trailing_slash() {
        let config = AuthConfig::from_env_with(env(BASE)).unwrap();
        assert_eq!(
            config.issuer(),
            "https://auth.example.com/application/o/shop/"
        );
        assert_eq!(config.audiences(), ["client"]);
        assert_eq!(config.cookie_name(), "app_auth");
        assert_eq!(config.leeway(), Duration::from_secs(60));
        match &config.inner.keys.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "https://auth.example.com/application/o/shop/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
    }

    #[test]
    fn internal_url_rewrites_server_calls_but_not_the_issuer() {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHENTIK_INTERNAL_URL", "http://authentik-server:9000"));
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(
            config.issuer(),
            "https://auth.example.com/application/o/shop/"
        );
        match &config.inner.keys.source {
            KeySource::Discovery(url) => assert_eq!(
                url.as_str(),
                "http://authentik-server:9000/application/o/shop/.well-known/openid-configuration"
            ),
            other => panic!("unexpected source {other:?}"),
        }
        // URLs elsewhere are left alone.
        assert_eq!(
            config
                .server_url("https://other.example.com/x")
                .unwrap()
                .as_str(),
            "https://other.example.com/x"
        );
    }

    #[test]
    fn missing_variables_are_named() {
        for missing in ["AUTHENTIK_URL", "AUTHENTIK_APP_SLUG", "AUTHENTIK_CLIENT_ID"] {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = AuthConfig::from_env_with(env(&vars)).unwrap_err();
            match err {
                ConfigError::Missing { name, .. } => assert_eq!(name, missing),
                other => panic!("unexpected {other:?}"),
            }
            assert!(
                AuthConfig::from_env_with(env(&vars))
                    .unwrap_err()
                    .to_string()
                    .contains(missing)
            );
        }
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases = [
            ("AUTHENTIK_URL", "not a url"),
            ("AUTHENTIK_URL", "ftp://auth.example.com"),
            ("AUTHENTIK_INTERNAL_URL", "::"),
            ("AUTH_LEEWAY_SECS", "sixty"),
            ("AUTH_LEEWAY_SECS", "301"),
            ("AUTH_ROLE_MAP", "app-admins"),
            ("AUTH_ROLE_MAP", "=admin"),
            ("AUTH_COOKIE_NAME", "bad name;"),
            ("FRONTEND_URL", "app.example.com"),
            ("API_URL", "/relative"),
        ];
        for (name, value) in cases {
            let mut vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, value));
            let err = AuthConfig::from_env_with(env(&vars)).unwrap_err();
            match &err {
                ConfigError::Invalid { name: n, .. } => assert_eq!(*n, name, "{value}"),
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn optional_variables_are_read() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AUTH_COOKIE_NAME", "session"),
            ("AUTH_ROLE_MAP", "app-admins=admin,app-support=support"),
            ("AUTH_LEEWAY_SECS", "5"),
            ("FRONTEND_URL", "https://app.example.com/some/path"),
            ("API_URL", "http://localhost:3000"),
        ]);
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.cookie_name(), "session");
        assert_eq!(config.leeway(), Duration::from_secs(5));
        assert_eq!(config.role_map().role_for(["app-support"]), Some("support"));
        assert_eq!(
            config.trusted_origins(),
            ["https://app.example.com", "http://localhost:3000"]
        );
    }
}
