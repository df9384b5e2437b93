//! [`AuthConfig::from_env`]: the Authentik preset from the variables Authentik users
//! already have (see the [module docs](super) for the table).

use std::time::Duration;

use super::builder::parse_http_url;
use super::{AuthConfig, AuthConfigBuilder, MAX_LEEWAY};
use crate::error::ConfigError;
use crate::token_type::TokenType;
use crate::user::RoleMap;

impl AuthConfig {
    /// Reads the configuration from the process environment: the Authentik preset
    /// (`AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG`, `AUTHENTIK_CLIENT_ID`), or any OpenID
    /// Connect provider (`OIDC_ISSUER`, `OIDC_AUDIENCE`). See the [`AuthConfig`] docs
    /// for the variables.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed, or the two
    /// that disagree; [`ConfigError::Invalid`] naming `AUTH_ISSUERS` when it is set
    /// (several issuers are read with [`issuers_from_env`](Self::issuers_from_env)).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (for tests
    /// and for configuration systems other than the process environment).
    ///
    /// With `OIDC_ISSUER` set, the issuer is exactly that URL (for Keycloak
    /// `https://kc.example.com/realms/<realm>`, for Auth0
    /// `https://<tenant>.auth0.com/` with its trailing slash), keys come through its
    /// discovery document, and the audience is `OIDC_AUDIENCE` (else the client id,
    /// `OIDC_CLIENT_ID`). Otherwise the Authentik variables are required.
    ///
    /// Each generic name has an Authentik twin: `OIDC_ISSUER` is
    /// `{AUTHENTIK_URL}/application/o/{AUTHENTIK_APP_SLUG}/`, `OIDC_INTERNAL_URL` is
    /// `AUTHENTIK_INTERNAL_URL`, `OIDC_CLIENT_ID` is `AUTHENTIK_CLIENT_ID`. Both may
    /// be set (while moving from one to the other) as long as they agree; when they
    /// do not, the configuration is refused with [`ConfigError::Conflict`] naming both.
    /// An issuer that is Authentik's keeps the Authentik token type
    /// ([`TokenType::authentik`]); any other defaults to [`TokenType::Any`] until
    /// `AUTH_TOKEN_TYPE` says otherwise.
    ///
    /// ```
    /// use authgate::{AuthConfig, ConfigError};
    ///
    /// let vars = [
    ///     ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
    ///     ("OIDC_AUDIENCE", "shop-api"),
    ///     ("AUTH_ROLES_CLAIM", "realm_access.roles"),
    ///     ("AUTH_TOKEN_TYPE", "keycloak"),
    /// ];
    /// let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    /// let config = AuthConfig::from_env_with(get)?;
    /// assert_eq!(config.issuer(), "https://kc.example.com/realms/shop");
    /// assert_eq!(config.audiences(), ["shop-api"]);
    ///
    /// // Both families, naming different issuers: refused, naming both.
    /// let mixed = |name: &str| match name {
    ///     "AUTHENTIK_URL" => Some("https://auth.example.com".to_owned()),
    ///     "AUTHENTIK_APP_SLUG" => Some("shop".to_owned()),
    ///     _ => get(name),
    /// };
    /// let err = AuthConfig::from_env_with(mixed).unwrap_err();
    /// assert!(matches!(err, ConfigError::Conflict { name: "OIDC_ISSUER", .. }), "{err}");
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed, or the two
    /// that disagree.
    pub fn from_env_with<F>(get: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = EnvVars::new(get);
        let var = |name| env.var(name);
        if var("AUTH_ISSUERS").is_some() {
            return Err(ConfigError::invalid(
                "AUTH_ISSUERS",
                "no value for one issuer: several issuers are read with AuthConfig::issuers_from_env",
            ));
        }
        let mut builder = provider(&env)?;
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
        if let Some(name) = var("AUTH_TOKEN_HEADER") {
            builder = builder.token_header(name);
        }
        if let Some(name) = var("AUTH_TOKEN_QUERY_PARAM") {
            builder = builder.token_query_param(name);
        }
        for name in ["FRONTEND_URL", "API_URL"] {
            if let Some(url) = var(name) {
                builder = builder.trusted_origin_named(name, url);
            }
        }
        builder.build()
    }
}

/// The provider part: issuer, audience and internal URL, from the `OIDC_*` or the
/// `AUTHENTIK_*` names (or both, when they agree).
fn provider<F>(env: &EnvVars<F>) -> Result<AuthConfigBuilder, ConfigError>
where
    F: Fn(&str) -> Option<String>,
{
    let internal = env.either("OIDC_INTERNAL_URL", "AUTHENTIK_INTERNAL_URL")?;
    let client_id = env.either("OIDC_CLIENT_ID", "AUTHENTIK_CLIENT_ID")?;
    let audience = env
        .var("OIDC_AUDIENCE")
        .or(client_id.map(|(_, value)| value));
    let authentik = match (env.var("AUTHENTIK_URL"), env.var("AUTHENTIK_APP_SLUG")) {
        (Some(base), Some(slug)) => Some(AuthConfigBuilder::authentik(base, slug)),
        (None, None) => None,
        (Some(_), None) if env.var("OIDC_ISSUER").is_none() => {
            return Err(ConfigError::missing(
                "AUTHENTIK_APP_SLUG",
                "the Authentik application slug",
            ));
        }
        (None, Some(_)) if env.var("OIDC_ISSUER").is_none() => {
            return Err(ConfigError::missing(
                "AUTHENTIK_URL",
                "the public base URL of Authentik",
            ));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::conflict(
                "OIDC_ISSUER",
                "AUTHENTIK_URL and AUTHENTIK_APP_SLUG",
                "only one of AUTHENTIK_URL and AUTHENTIK_APP_SLUG is set beside OIDC_ISSUER; \
                 set OIDC_ISSUER alone, or both Authentik variables naming the same issuer",
            ));
        }
    };
    let mut builder = match (env.var("OIDC_ISSUER"), authentik) {
        (Some(issuer), Some(authentik)) => {
            let issuer = issuer.trim();
            let derived = authentik.issuer()?.0;
            if derived != issuer {
                return Err(ConfigError::conflict(
                    "OIDC_ISSUER",
                    "AUTHENTIK_URL and AUTHENTIK_APP_SLUG",
                    format!(
                        "OIDC_ISSUER is {issuer:?} but the Authentik variables name the issuer \
                         {derived:?}; set one family of variables, or make them name the same \
                         issuer (exactly, trailing slash included)"
                    ),
                ));
            }
            authentik
        }
        (Some(issuer), None) => {
            parse_http_url("OIDC_ISSUER", &issuer)?;
            AuthConfigBuilder::generic(issuer.trim().to_owned())
        }
        (None, Some(authentik)) => authentik,
        (None, None) => {
            return Err(ConfigError::missing(
                "AUTHENTIK_URL",
                "the public base URL of Authentik (or OIDC_ISSUER for another OpenID Connect provider)",
            ));
        }
    };
    builder = match audience {
        Some(audience) => builder.audience(audience),
        None if env.var("OIDC_ISSUER").is_some() => {
            return Err(ConfigError::missing(
                "OIDC_AUDIENCE",
                "the audience access tokens are issued for (an API identifier, or the client id)",
            ));
        }
        None => {
            return Err(ConfigError::missing(
                "AUTHENTIK_CLIENT_ID",
                "the OAuth client id",
            ));
        }
    };
    if let Some((name, url)) = internal {
        parse_http_url(name, &url)?;
        builder = builder.internal_url(url);
    }
    Ok(builder)
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

    /// The value of the generic name or of its Authentik twin (`OIDC_CLIENT_ID`,
    /// `AUTHENTIK_CLIENT_ID`), with the name it was read from. Both may be set when
    /// they hold the same value.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Conflict`] naming both when both are set to different values
    /// (the values are not in the error: one may be a secret).
    pub fn either(
        &self,
        generic: &'static str,
        authentik: &'static str,
    ) -> Result<Option<(&'static str, String)>, ConfigError> {
        match (self.var(generic), self.var(authentik)) {
            (Some(a), Some(b)) if a.trim() != b.trim() => Err(ConfigError::conflict(
                generic,
                authentik,
                format!(
                    "both are set, to different values; set {generic} or {authentik}, or both to the same value"
                ),
            )),
            (Some(value), _) => Ok(Some((generic, value))),
            (None, Some(value)) => Ok(Some((authentik, value))),
            (None, None) => Ok(None),
        }
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

    const KEYCLOAK: &[(&str, &str)] = &[
        ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
        ("OIDC_AUDIENCE", "shop-api"),
    ];

    fn discovery(config: &AuthConfig) -> String {
        match &config.inner.keys.source {
            KeySource::Discovery(url) => url.to_string(),
            other => panic!("unexpected source {other:?}"),
        }
    }

    #[test]
    fn oidc_issuer_gives_the_generic_preset_with_that_exact_issuer() {
        let config = AuthConfig::from_env_with(env(KEYCLOAK)).unwrap();
        assert_eq!(config.issuer(), "https://kc.example.com/realms/shop");
        assert_eq!(config.audiences(), ["shop-api"]);
        assert_eq!(config.token_type(), &TokenType::Any);
        assert_eq!(
            discovery(&config),
            "https://kc.example.com/realms/shop/.well-known/openid-configuration"
        );
        let auth0 = AuthConfig::from_env_with(env(&[
            ("OIDC_ISSUER", "https://shop.eu.auth0.com/"),
            ("OIDC_AUDIENCE", "https://api.shop.example"),
        ]))
        .unwrap();
        assert_eq!(auth0.issuer(), "https://shop.eu.auth0.com/");
        assert_eq!(
            discovery(&auth0),
            "https://shop.eu.auth0.com/.well-known/openid-configuration"
        );
    }

    #[test]
    fn oidc_internal_url_replaces_the_origin_and_keeps_the_realm_path() {
        let mut vars = KEYCLOAK.to_vec();
        vars.push(("OIDC_INTERNAL_URL", "http://keycloak:8080"));
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.issuer(), "https://kc.example.com/realms/shop");
        assert_eq!(
            discovery(&config),
            "http://keycloak:8080/realms/shop/.well-known/openid-configuration"
        );
        assert_eq!(
            config
                .server_url("https://kc.example.com/realms/shop/protocol/openid-connect/certs")
                .unwrap()
                .as_str(),
            "http://keycloak:8080/realms/shop/protocol/openid-connect/certs"
        );
    }

    #[test]
    fn the_audience_falls_back_to_the_client_id() {
        for client_id in ["OIDC_CLIENT_ID", "AUTHENTIK_CLIENT_ID"] {
            let config = AuthConfig::from_env_with(env(&[
                ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
                (client_id, "shop-web"),
            ]))
            .unwrap();
            assert_eq!(config.audiences(), ["shop-web"], "{client_id}");
        }
        let err = AuthConfig::from_env_with(env(&[(
            "OIDC_ISSUER",
            "https://kc.example.com/realms/shop",
        )]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Missing {
                    name: "OIDC_AUDIENCE",
                    ..
                }
            ),
            "{err}"
        );
        // With the Authentik variables, OIDC_AUDIENCE may name the audience too.
        let mut vars = BASE.to_vec();
        vars.push(("OIDC_AUDIENCE", "api"));
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.audiences(), ["api"]);
    }

    #[test]
    fn both_families_naming_one_issuer_keep_the_authentik_preset() {
        let mut vars = BASE.to_vec();
        vars.extend([
            (
                "OIDC_ISSUER",
                "https://auth.example.com/application/o/shop/",
            ),
            ("OIDC_CLIENT_ID", "client"),
            ("OIDC_INTERNAL_URL", "http://authentik-server:9000"),
            ("AUTHENTIK_INTERNAL_URL", "http://authentik-server:9000"),
        ]);
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(
            config.issuer(),
            "https://auth.example.com/application/o/shop/"
        );
        assert_eq!(config.token_type(), &TokenType::authentik());
        assert_eq!(
            discovery(&config),
            "http://authentik-server:9000/application/o/shop/.well-known/openid-configuration"
        );
    }

    #[test]
    fn both_families_that_disagree_are_refused_naming_both() {
        type Vars = &'static [(&'static str, &'static str)];
        let conflicts: [(Vars, &str, &str); 4] = [
            (
                &[("OIDC_ISSUER", "https://kc.example.com/realms/shop")],
                "OIDC_ISSUER",
                "AUTHENTIK_URL and AUTHENTIK_APP_SLUG",
            ),
            (
                // The trailing slash matters: `iss` is compared exactly.
                &[("OIDC_ISSUER", "https://auth.example.com/application/o/shop")],
                "OIDC_ISSUER",
                "AUTHENTIK_URL and AUTHENTIK_APP_SLUG",
            ),
            (
                &[("OIDC_CLIENT_ID", "other")],
                "OIDC_CLIENT_ID",
                "AUTHENTIK_CLIENT_ID",
            ),
            (
                &[
                    ("OIDC_INTERNAL_URL", "http://a:9000"),
                    ("AUTHENTIK_INTERNAL_URL", "http://b:9000"),
                ],
                "OIDC_INTERNAL_URL",
                "AUTHENTIK_INTERNAL_URL",
            ),
        ];
        for (extra, first, second) in conflicts {
            let mut vars = BASE.to_vec();
            vars.extend_from_slice(extra);
            let err = AuthConfig::from_env_with(env(&vars)).unwrap_err();
            match &err {
                ConfigError::Conflict { name, other, .. } => {
                    assert_eq!((*name, *other), (first, second), "{err}")
                }
                other => panic!("{extra:?}: unexpected {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(first) && text.contains(second), "{text}");
        }
        // Half of the Authentik pair beside OIDC_ISSUER.
        let mut vars = KEYCLOAK.to_vec();
        vars.push(("AUTHENTIK_APP_SLUG", "shop"));
        assert!(matches!(
            AuthConfig::from_env_with(env(&vars)),
            Err(ConfigError::Conflict {
                name: "OIDC_ISSUER",
                ..
            })
        ));
    }

    #[test]
    fn malformed_oidc_variables_are_named() {
        for (name, value) in [
            ("OIDC_ISSUER", "kc.example.com/realms/shop"),
            ("OIDC_INTERNAL_URL", "keycloak:8080"),
        ] {
            let mut vars: Vec<_> = KEYCLOAK
                .iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect();
            vars.push((name, value));
            match AuthConfig::from_env_with(env(&vars)).unwrap_err() {
                ConfigError::Invalid { name: n, .. } => assert_eq!(n, name, "{value}"),
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn the_roles_claim_is_read() {
        let mut vars = KEYCLOAK.to_vec();
        vars.push(("AUTH_ROLES_CLAIM", "resource_access.shop-api.roles"));
        let config = AuthConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.roles_claim(), Some("resource_access.shop-api.roles"));
        assert_eq!(
            AuthConfig::from_env_with(env(KEYCLOAK))
                .unwrap()
                .roles_claim(),
            None
        );
        for bad in ["realm_access.", ".roles", "a..b"] {
            let mut vars = KEYCLOAK.to_vec();
            vars.push(("AUTH_ROLES_CLAIM", bad));
            assert!(
                matches!(
                    AuthConfig::from_env_with(env(&vars)),
                    Err(ConfigError::Invalid {
                        name: "AUTH_ROLES_CLAIM",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}
