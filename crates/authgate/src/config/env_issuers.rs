//! [`AuthConfig::issuers_from_env`]: several issuers from the environment, each read
//! with the single-issuer rules under its own prefix.

use super::AuthConfig;
use super::env::EnvVars;
use crate::error::ConfigError;

/// The variable naming the issuers.
const ISSUERS: &str = "AUTH_ISSUERS";

/// What every issuer's variables start with, before its name.
const PREFIX: &str = "AUTH_ISSUER_";

/// The variables read per issuer, under its prefix.
const PER_ISSUER: &[&str] = &[
    "AUTHENTIK_URL",
    "AUTHENTIK_INTERNAL_URL",
    "AUTHENTIK_APP_SLUG",
    "AUTHENTIK_CLIENT_ID",
    "OIDC_ISSUER",
    "OIDC_AUDIENCE",
    "OIDC_CLIENT_ID",
    "OIDC_INTERNAL_URL",
    "AUTH_ROLE_MAP",
    "AUTH_ROLES_CLAIM",
    "AUTH_LEEWAY_SECS",
    "AUTH_TOKEN_TYPE",
];

/// Of [`PER_ISSUER`], the ones that may also be set without a prefix beside
/// `AUTH_ISSUERS`: the login flow's client (`authgate-flow` logs in at one issuer).
const ALSO_UNPREFIXED: &[&str] = &["AUTHENTIK_CLIENT_ID", "OIDC_CLIENT_ID"];

impl AuthConfig {
    /// Reads the configuration of one issuer or of several from the process
    /// environment, for [`Authenticator::from_issuers`](crate::Authenticator::from_issuers).
    ///
    /// Without `AUTH_ISSUERS`, this is [`from_env`](Self::from_env) as a list of one.
    /// With `AUTH_ISSUERS=kc,ak` (names of ASCII letters, digits and `_`, each once,
    /// upper-cased for the prefix), issuer `kc` is read from the same variables as a
    /// single issuer, with the same rules and defaults, each named
    /// `AUTH_ISSUER_KC_<VARIABLE>`: `AUTH_ISSUER_KC_OIDC_ISSUER`,
    /// `AUTH_ISSUER_KC_OIDC_AUDIENCE`, `AUTH_ISSUER_KC_AUTH_ROLES_CLAIM`, … for the
    /// issuer's own settings:
    ///
    /// `AUTHENTIK_URL`, `AUTHENTIK_INTERNAL_URL`, `AUTHENTIK_APP_SLUG`,
    /// `AUTHENTIK_CLIENT_ID`, `OIDC_ISSUER`, `OIDC_AUDIENCE`, `OIDC_CLIENT_ID`,
    /// `OIDC_INTERNAL_URL`, `AUTH_ROLE_MAP`, `AUTH_ROLES_CLAIM`, `AUTH_LEEWAY_SECS`,
    /// `AUTH_TOKEN_TYPE`.
    ///
    /// The layer-wide ones stay unprefixed and are shared: `AUTH_COOKIE_NAME`,
    /// `FRONTEND_URL`, `API_URL`. The configurations come in the order of
    /// `AUTH_ISSUERS`.
    ///
    /// Nothing set is ignored: beside `AUTH_ISSUERS`, an issuer's variable without a
    /// prefix (`OIDC_ISSUER`, say) is refused, since no issuer would read it (only the
    /// client ids, `AUTHENTIK_CLIENT_ID` and `OIDC_CLIENT_ID`, may stay: the login
    /// flow reads them); and an `AUTH_ISSUER_*` variable that names no listed issuer or
    /// no setting (a typo) is refused, naming it.
    ///
    /// ```no_run
    /// use authgate::{AuthConfig, AuthLayer, Authenticator};
    ///
    /// let auth = Authenticator::from_issuers(
    ///     AuthConfig::issuers_from_env()?.into_iter().map(Authenticator::new),
    /// )?;
    /// let layer = AuthLayer::new(auth);
    /// # let _ = layer;
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`issuers_from_env_with`](Self::issuers_from_env_with), and
    /// [`ConfigError::Unexpected`] for a stray `AUTH_ISSUER_*` variable.
    pub fn issuers_from_env() -> Result<Vec<Self>, ConfigError> {
        let set = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        read_all(set, |name| std::env::var(name).ok())
    }

    /// Like [`issuers_from_env`](Self::issuers_from_env), reading variables through
    /// `get`. A lookup function cannot list the variables it was not asked for, so a
    /// misspelt `AUTH_ISSUER_*` name goes unnoticed here: only
    /// [`issuers_from_env`](Self::issuers_from_env) refuses those.
    ///
    /// ```
    /// use authgate::{AuthConfig, ConfigError};
    ///
    /// let vars = [
    ///     ("AUTH_ISSUERS", "authentik, keycloak"),
    ///     ("AUTH_ISSUER_AUTHENTIK_AUTHENTIK_URL", "https://auth.example.com"),
    ///     ("AUTH_ISSUER_AUTHENTIK_AUTHENTIK_APP_SLUG", "shop"),
    ///     ("AUTH_ISSUER_AUTHENTIK_AUTHENTIK_CLIENT_ID", "shop-client"),
    ///     ("AUTH_ISSUER_KEYCLOAK_OIDC_ISSUER", "https://kc.example.com/realms/shop"),
    ///     ("AUTH_ISSUER_KEYCLOAK_OIDC_AUDIENCE", "shop-api"),
    ///     ("AUTH_ISSUER_KEYCLOAK_AUTH_ROLES_CLAIM", "realm_access.roles"),
    ///     ("FRONTEND_URL", "https://app.example.com"),
    /// ];
    /// let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    /// let [authentik, keycloak] = <[AuthConfig; 2]>::try_from(AuthConfig::issuers_from_env_with(get)?)
    ///     .expect("two issuers");
    /// assert_eq!(authentik.issuer(), "https://auth.example.com/application/o/shop/");
    /// assert_eq!(keycloak.audiences(), ["shop-api"]);
    /// assert_eq!(keycloak.roles_claim(), Some("realm_access.roles"));
    /// assert_eq!(keycloak.trusted_origins(), ["https://app.example.com"]);
    ///
    /// // Errors name the variable in full.
    /// let missing = |name: &str| match name {
    ///     "AUTH_ISSUER_KEYCLOAK_OIDC_AUDIENCE" => None,
    ///     _ => get(name),
    /// };
    /// let err = AuthConfig::issuers_from_env_with(missing).unwrap_err();
    /// assert!(matches!(err, ConfigError::InIssuer { .. }));
    /// assert!(err.to_string().starts_with("AUTH_ISSUER_KEYCLOAK_OIDC_AUDIENCE is not set"), "{err}");
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `AUTH_ISSUERS` when its list is malformed;
    /// [`ConfigError::Conflict`] naming `AUTH_ISSUERS` and an issuer's variable set
    /// without a prefix; [`ConfigError::InIssuer`] naming an issuer's variable in full
    /// when it is missing or malformed (its `source` is the single-issuer error); the
    /// single-issuer errors for the shared variables.
    pub fn issuers_from_env_with<F>(get: F) -> Result<Vec<Self>, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = EnvVars::new(&get);
        let Some(listed) = env.var(ISSUERS) else {
            return Ok(vec![Self::from_env_with(get)?]);
        };
        let names = names(&listed)?;
        if let Some(name) = PER_ISSUER
            .iter()
            .copied()
            .find(|name| !ALSO_UNPREFIXED.contains(name) && env.var(name).is_some())
        {
            return Err(ConfigError::Conflict {
                name: ISSUERS,
                other: name,
                reason: format!(
                    "with AUTH_ISSUERS set, each issuer's {name} is read as \
                     AUTH_ISSUER_<NAME>_{name}, so {name} would be ignored: prefix it, or \
                     unset AUTH_ISSUERS"
                ),
            });
        }
        names
            .iter()
            .map(|issuer| {
                let prefix = format!("{PREFIX}{issuer}_");
                let scoped = |name: &str| match name {
                    ISSUERS => None,
                    name if PER_ISSUER.contains(&name) => get(&format!("{prefix}{name}")),
                    name => get(name),
                };
                Self::from_env_with(scoped).map_err(|err| in_issuer(issuer, &prefix, err))
            })
            .collect()
    }
}

/// [`AuthConfig::issuers_from_env`] over the variables `get` reads, `set` being the
/// names of all that are set.
fn read_all<F>(
    mut set: impl Iterator<Item = String>,
    get: F,
) -> Result<Vec<AuthConfig>, ConfigError>
where
    F: Fn(&str) -> Option<String>,
{
    match EnvVars::new(&get).var(ISSUERS) {
        Some(listed) => stray(set, &names(&listed)?)?,
        None => {
            if let Some(name) = set.find(|name| name.starts_with(PREFIX)) {
                return Err(ConfigError::Unexpected {
                    name,
                    reason: "AUTH_ISSUERS is not set, so no issuer reads it",
                });
            }
        }
    }
    AuthConfig::issuers_from_env_with(get)
}

/// The issuer names of `AUTH_ISSUERS`, upper-cased.
fn names(listed: &str) -> Result<Vec<String>, ConfigError> {
    let invalid = || {
        ConfigError::invalid(
            ISSUERS,
            "a comma-separated list of issuer names (ASCII letters, digits and _), each once",
        )
    };
    let mut names: Vec<String> = Vec::new();
    for name in listed.split(',').map(str::trim) {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid());
        }
        let name = name.to_ascii_uppercase();
        if names.contains(&name) {
            return Err(invalid());
        }
        names.push(name);
    }
    Ok(names)
}

/// Refuses an `AUTH_ISSUER_*` variable among `set` that no issuer of `names` reads.
fn stray(set: impl Iterator<Item = String>, names: &[String]) -> Result<(), ConfigError> {
    for variable in set {
        let Some(rest) = variable.strip_prefix(PREFIX) else {
            continue;
        };
        let read = names.iter().any(|issuer| {
            rest.strip_prefix(issuer.as_str())
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|setting| PER_ISSUER.contains(&setting))
        });
        if !read {
            return Err(ConfigError::Unexpected {
                name: variable,
                reason: "it names no issuer of AUTH_ISSUERS and setting (AUTH_ISSUER_<NAME>_<VARIABLE>)",
            });
        }
    }
    Ok(())
}

/// `err`, from the single-issuer rules applied to `issuer`'s variables, naming the
/// variable in full; errors about the shared variables stay as they are.
fn in_issuer(issuer: &str, prefix: &str, err: ConfigError) -> ConfigError {
    let name = match &err {
        ConfigError::Missing { name, .. }
        | ConfigError::Invalid { name, .. }
        | ConfigError::Conflict { name, .. } => *name,
        _ => return err,
    };
    if !PER_ISSUER.contains(&name) {
        return err;
    }
    ConfigError::InIssuer {
        issuer: issuer.to_owned(),
        variable: format!("{prefix}{name}"),
        source: Box::new(err),
    }
}

/// The message of [`ConfigError::InIssuer`]: the single-issuer message with the
/// variables named in full.
pub(crate) fn in_issuer_message(variable: &str, source: &ConfigError) -> String {
    let prefix = match source {
        ConfigError::Missing { name, .. }
        | ConfigError::Invalid { name, .. }
        | ConfigError::Conflict { name, .. } => variable.strip_suffix(*name).unwrap_or(""),
        _ => "",
    };
    match source {
        ConfigError::Missing { expected, .. } => format!("{variable} is not set: {expected}"),
        ConfigError::Invalid { expected, .. } => {
            format!("{variable} is invalid: expected {expected}")
        }
        ConfigError::Conflict { other, reason, .. } => {
            let others: Vec<String> = other
                .split(" and ")
                .map(|name| {
                    if PER_ISSUER.contains(&name) {
                        format!("{prefix}{name}")
                    } else {
                        name.to_owned()
                    }
                })
                .collect();
            format!("{variable} and {} disagree: {reason}", others.join(" and "))
        }
        other => format!("{variable}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenType;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const TWO: &[(&str, &str)] = &[
        ("AUTH_ISSUERS", "ak, kc"),
        ("AUTH_ISSUER_AK_AUTHENTIK_URL", "https://auth.example.com"),
        ("AUTH_ISSUER_AK_AUTHENTIK_APP_SLUG", "shop"),
        ("AUTH_ISSUER_AK_AUTHENTIK_CLIENT_ID", "shop-client"),
        ("AUTH_ISSUER_AK_AUTH_ROLE_MAP", "app-admins=admin"),
        (
            "AUTH_ISSUER_KC_OIDC_ISSUER",
            "https://kc.example.com/realms/shop",
        ),
        ("AUTH_ISSUER_KC_OIDC_AUDIENCE", "shop-api"),
        ("AUTH_ISSUER_KC_OIDC_INTERNAL_URL", "http://keycloak:8080"),
        ("AUTH_ISSUER_KC_AUTH_ROLES_CLAIM", "realm_access.roles"),
        ("AUTH_ISSUER_KC_AUTH_TOKEN_TYPE", "keycloak"),
        ("AUTH_ISSUER_KC_AUTH_LEEWAY_SECS", "5"),
        ("AUTH_COOKIE_NAME", "session"),
        ("FRONTEND_URL", "https://app.example.com"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = TWO
            .iter()
            .copied()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        vars.extend(extra.iter().copied().filter(|(_, v)| !v.is_empty()));
        vars
    }

    #[test]
    fn each_issuer_is_read_under_its_prefix_and_shares_the_layer_wide_variables() {
        let configs = AuthConfig::issuers_from_env_with(env(TWO)).unwrap();
        let [ak, kc] = <[AuthConfig; 2]>::try_from(configs).unwrap();
        assert_eq!(ak.issuer(), "https://auth.example.com/application/o/shop/");
        assert_eq!(ak.audiences(), ["shop-client"]);
        assert_eq!(ak.token_type(), &TokenType::authentik());
        assert_eq!(ak.role_map().role_for(["app-admins"]), Some("admin"));
        assert_eq!(ak.roles_claim(), None);
        assert_eq!(ak.leeway(), std::time::Duration::from_secs(60));
        assert_eq!(kc.issuer(), "https://kc.example.com/realms/shop");
        assert_eq!(kc.audiences(), ["shop-api"]);
        assert_eq!(kc.token_type(), &TokenType::keycloak());
        assert_eq!(kc.roles_claim(), Some("realm_access.roles"));
        assert!(kc.role_map().is_empty());
        assert_eq!(kc.leeway(), std::time::Duration::from_secs(5));
        assert_eq!(
            kc.server_url("https://kc.example.com/realms/shop/x")
                .unwrap()
                .as_str(),
            "http://keycloak:8080/realms/shop/x"
        );
        for config in [&ak, &kc] {
            assert_eq!(config.cookie_name(), "session");
            assert_eq!(config.trusted_origins(), ["https://app.example.com"]);
        }
        // The two can share one layer.
        let auth = crate::Authenticator::from_issuers([
            crate::Authenticator::new(ak),
            crate::Authenticator::new(kc),
        ]);
        assert!(auth.is_ok(), "{auth:?}");
    }

    #[test]
    fn without_auth_issuers_the_single_issuer_form_is_one_issuer() {
        let configs = AuthConfig::issuers_from_env_with(env(&[
            ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
            ("OIDC_AUDIENCE", "shop-api"),
        ]))
        .unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].issuer(), "https://kc.example.com/realms/shop");
    }

    #[test]
    fn the_single_issuer_form_refuses_auth_issuers() {
        let err = AuthConfig::from_env_with(env(TWO)).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "AUTH_ISSUERS",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("issuers_from_env"), "{err}");
    }

    #[test]
    fn a_malformed_list_is_refused() {
        for list in [",", "ak,", "ak,,kc", "ak,AK", "a-k", "ak kc", "é"] {
            let vars = with(&[("AUTH_ISSUERS", list)]);
            match AuthConfig::issuers_from_env_with(env(&vars)) {
                Err(ConfigError::Invalid {
                    name: "AUTH_ISSUERS",
                    ..
                }) => {}
                other => panic!("{list:?}: unexpected {other:?}"),
            }
        }
    }

    /// The error for `vars` names `variable` in full and says `says`; its source is
    /// the single-issuer error for `bare`.
    fn assert_names(vars: &[(&str, &str)], variable: &str, bare: &str, says: &str) {
        let err = AuthConfig::issuers_from_env_with(env(vars)).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("{variable} {says}")), "{text}");
        match &err {
            ConfigError::InIssuer {
                variable: v,
                source,
                ..
            } => {
                assert_eq!(v, variable);
                let source_name = match &**source {
                    ConfigError::Missing { name, .. }
                    | ConfigError::Invalid { name, .. }
                    | ConfigError::Conflict { name, .. } => *name,
                    other => panic!("unexpected source {other:?}"),
                };
                assert_eq!(source_name, bare);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn missing_and_malformed_variables_are_named_in_full() {
        assert_names(
            &with(&[("AUTH_ISSUER_KC_OIDC_AUDIENCE", "")]),
            "AUTH_ISSUER_KC_OIDC_AUDIENCE",
            "OIDC_AUDIENCE",
            "is not set",
        );
        assert_names(
            &with(&[("AUTH_ISSUER_AK_AUTHENTIK_APP_SLUG", "")]),
            "AUTH_ISSUER_AK_AUTHENTIK_APP_SLUG",
            "AUTHENTIK_APP_SLUG",
            "is not set",
        );
        for (variable, value) in [
            ("AUTH_ISSUER_KC_OIDC_ISSUER", "kc.example.com"),
            ("AUTH_ISSUER_KC_OIDC_INTERNAL_URL", "keycloak:8080"),
            ("AUTH_ISSUER_AK_AUTHENTIK_URL", "ftp://auth.example.com"),
            ("AUTH_ISSUER_AK_AUTH_ROLE_MAP", "admins"),
            ("AUTH_ISSUER_KC_AUTH_ROLES_CLAIM", "a..b"),
            ("AUTH_ISSUER_KC_AUTH_LEEWAY_SECS", "301"),
            ("AUTH_ISSUER_KC_AUTH_TOKEN_TYPE", "jwt"),
        ] {
            let bare = variable
                .strip_prefix("AUTH_ISSUER_KC_")
                .or(variable.strip_prefix("AUTH_ISSUER_AK_"))
                .unwrap();
            assert_names(&with(&[(variable, value)]), variable, bare, "is invalid");
        }
        // A conflict between twins names both in full.
        let vars = with(&[("AUTH_ISSUER_AK_OIDC_CLIENT_ID", "another-client")]);
        assert_names(
            &vars,
            "AUTH_ISSUER_AK_OIDC_CLIENT_ID",
            "OIDC_CLIENT_ID",
            "and AUTH_ISSUER_AK_AUTHENTIK_CLIENT_ID disagree",
        );
    }

    #[test]
    fn a_shared_variable_keeps_its_own_error() {
        let vars = with(&[("AUTH_COOKIE_NAME", "bad name;")]);
        match AuthConfig::issuers_from_env_with(env(&vars)) {
            Err(ConfigError::Invalid {
                name: "AUTH_COOKIE_NAME",
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_unprefixed_issuer_variable_beside_auth_issuers_is_refused() {
        for name in [
            "OIDC_ISSUER",
            "AUTHENTIK_URL",
            "AUTH_ROLE_MAP",
            "AUTH_TOKEN_TYPE",
        ] {
            let vars = with(&[(name, "x")]);
            match AuthConfig::issuers_from_env_with(env(&vars)) {
                Err(ConfigError::Conflict {
                    name: "AUTH_ISSUERS",
                    other,
                    reason,
                }) => {
                    assert_eq!(other, name);
                    assert!(
                        reason.contains(&format!("AUTH_ISSUER_<NAME>_{name}")),
                        "{reason}"
                    );
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        // The login flow's client may stay unprefixed.
        let vars = with(&[("OIDC_CLIENT_ID", "web"), ("AUTHENTIK_CLIENT_ID", "web")]);
        let configs = AuthConfig::issuers_from_env_with(env(&vars)).unwrap();
        assert_eq!(
            configs[0].audiences(),
            ["shop-client"],
            "not the flow's client"
        );
    }

    #[test]
    fn the_process_environment_form_sees_every_variable_set() {
        let read = |vars: &[(&'static str, &'static str)]| {
            let set: Vec<String> = vars.iter().map(|(k, _)| (*k).to_owned()).collect();
            read_all(set.into_iter(), env(vars))
        };
        assert_eq!(read(TWO).unwrap().len(), 2);
        // A typo beside AUTH_ISSUERS.
        let typo = with(&[("AUTH_ISSUER_KC_AUTH_ROLES_CLAIMS", "roles")]);
        match read(&typo) {
            Err(ConfigError::Unexpected { name, .. }) => {
                assert_eq!(name, "AUTH_ISSUER_KC_AUTH_ROLES_CLAIMS");
            }
            other => panic!("unexpected {other:?}"),
        }
        // Prefixed variables without AUTH_ISSUERS.
        let unlisted: Vec<_> = TWO
            .iter()
            .copied()
            .filter(|(k, _)| *k != "AUTH_ISSUERS")
            .collect();
        match read(&unlisted) {
            Err(ConfigError::Unexpected { name, reason }) => {
                assert!(name.starts_with("AUTH_ISSUER_"), "{name}");
                assert!(reason.contains("AUTH_ISSUERS is not set"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        // The single-issuer form, with nothing prefixed, is still one issuer.
        let single = [
            ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
            ("OIDC_AUDIENCE", "shop-api"),
            ("PATH", "/usr/bin"),
        ];
        assert_eq!(read(&single).unwrap().len(), 1);
    }

    #[test]
    fn stray_prefixed_variables_are_refused() {
        let names = [String::from("AK"), String::from("KC")];
        let set = |vars: &[&str]| vars.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
        assert!(
            stray(
                set(&[
                    "AUTH_ISSUER_AK_AUTHENTIK_URL",
                    "AUTH_ISSUER_KC_AUTH_ROLES_CLAIM",
                    "AUTH_ISSUERS",
                    "PATH"
                ])
                .into_iter(),
                &names
            )
            .is_ok()
        );
        for bad in [
            "AUTH_ISSUER_KC_AUTH_ROLES_CLAIMS",
            "AUTH_ISSUER_XX_OIDC_ISSUER",
            "AUTH_ISSUER_KCOIDC_ISSUER",
            "AUTH_ISSUER_AK_FRONTEND_URL",
        ] {
            match stray(set(&["PATH", bad]).into_iter(), &names) {
                Err(ConfigError::Unexpected { name, .. }) => assert_eq!(name, bad),
                other => panic!("{bad}: unexpected {other:?}"),
            }
        }
        let err = stray(set(&["AUTH_ISSUER_XX_OIDC_ISSUER"]).into_iter(), &names)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AUTH_ISSUER_XX_OIDC_ISSUER is set, but"),
            "{err}"
        );
    }
}
