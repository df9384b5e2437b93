//! Reading a [`FlowConfig`] from environment variables ([`FlowConfig::from_env`]; the
//! variables are listed in the [`FlowConfig`](crate::FlowConfig) docs).

use authgate::__private::EnvVars;

use super::{ClientAuth, FlowConfig, FlowConfigError};

impl FlowConfig {
    /// Reads the configuration from the process environment (see the
    /// [`FlowConfig`](crate::FlowConfig) docs for the variables).
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, FlowConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    ///
    /// ```
    /// use authgate_flow::{FlowConfig, FlowConfigError};
    ///
    /// let vars = [
    ///     ("AUTHENTIK_CLIENT_ID", "shop"),
    ///     ("AUTHENTIK_CLIENT_SECRET", "s3cret"),
    ///     ("FRONTEND_URL", "http://localhost:5173"),
    ///     ("API_URL", "http://localhost:3000"),
    /// ];
    /// let get = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    /// let config = FlowConfig::from_env_with(get)?;
    /// assert!(!config.secure_cookies()); // plain http and no APP_ENV=production
    ///
    /// let err = FlowConfig::from_env_with(|name| (name != "FRONTEND_URL").then(|| get(name)).flatten())
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("FRONTEND_URL"));
    /// # Ok::<(), FlowConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env_with<F>(get: F) -> Result<Self, FlowConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let env = EnvVars::new(get);
        let var = |name| env.var(name);
        let required = |name, expected| env.required(name, expected).map_err(FlowConfigError::from);
        // The generic names first, then their Authentik twins; both when they agree.
        let generic = var("OIDC_ISSUER").is_some();
        let client_id = match env.either("OIDC_CLIENT_ID", "AUTHENTIK_CLIENT_ID")? {
            Some((_, id)) => id,
            None if generic => required("OIDC_CLIENT_ID", "the OAuth client id")?,
            None => required("AUTHENTIK_CLIENT_ID", "the OAuth client id")?,
        };
        let client_secret = env.either("OIDC_CLIENT_SECRET", "AUTHENTIK_CLIENT_SECRET")?;
        let frontend = required("FRONTEND_URL", "the frontend's base URL")?;
        let api = required("API_URL", "this API's public base URL")?;
        let mut builder = FlowConfig::builder(client_id, frontend, api);
        let auth = match var("AUTH_CLIENT_AUTH").as_deref().map(str::trim) {
            None | Some("client_secret_basic") => ClientAuth::ClientSecretBasic,
            Some("client_secret_post") => ClientAuth::ClientSecretPost,
            Some("none") => ClientAuth::None,
            Some(_) => {
                return Err(FlowConfigError::invalid(
                    "AUTH_CLIENT_AUTH",
                    "client_secret_basic, client_secret_post or none",
                ));
            }
        };
        builder = builder.client_auth(auth);
        if auth != ClientAuth::None {
            let secret = match client_secret {
                Some((_, secret)) => secret,
                None => required(
                    if generic {
                        "OIDC_CLIENT_SECRET"
                    } else {
                        "AUTHENTIK_CLIENT_SECRET"
                    },
                    "the OAuth client secret (or AUTH_CLIENT_AUTH=none for a public client)",
                )?,
            };
            builder = builder.client_secret(secret);
        }
        if let Some(env) = var("APP_ENV") {
            builder = builder.production(env.trim().eq_ignore_ascii_case("production"));
        }
        if let Some(secret) = var("AUTH_STATE_SECRET") {
            builder = builder.state_secret(secret);
        }
        if let Some(prefix) = var("AUTH_FLOW_PREFIX") {
            builder = builder.prefix(prefix.trim());
        }
        if let Some(scopes) = var("AUTH_SCOPES") {
            builder = builder.scopes(scopes.split_ascii_whitespace());
        }
        if let Some(params) = var("AUTH_AUTHORIZE_PARAMS") {
            for pair in params.split_ascii_whitespace() {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(FlowConfigError::invalid(
                        "AUTH_AUTHORIZE_PARAMS",
                        "space-separated name=value pairs",
                    ));
                };
                builder = builder.authorize_param(name, value);
            }
        }
        if let Some(flag) = var("AUTHENTIK_API_SCOPE") {
            match flag.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => builder = builder.authentik_api_scope(),
                "false" | "0" | "no" => {}
                _ => {
                    return Err(FlowConfigError::invalid(
                        "AUTHENTIK_API_SCOPE",
                        "true or false",
                    ));
                }
            }
        }
        if let Some(path) = var("AUTH_DEFAULT_REDIRECT") {
            builder = builder.default_redirect(path.trim());
        }
        if let Some(url) = var("AUTH_POST_LOGOUT_REDIRECT_URL") {
            builder = builder.post_logout_redirect_url(url.trim());
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AUTHENTIK_API_SCOPE, DEFAULT_SCOPES};
    use authgate::ConfigError;
    use std::time::Duration;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const BASE: &[(&str, &str)] = &[
        ("AUTHENTIK_CLIENT_ID", "client"),
        ("AUTHENTIK_CLIENT_SECRET", "secret"),
        ("FRONTEND_URL", "http://localhost:5173/"),
        ("API_URL", "http://localhost:3000"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn authorize_params_from_env() {
        let config = FlowConfig::from_env_with(env(&with(&[(
            "AUTH_AUTHORIZE_PARAMS",
            " audience=https://api.shop.example  prompt=login ",
        )])))
        .unwrap();
        assert_eq!(
            config.authorize_params(),
            [
                ("audience".to_owned(), "https://api.shop.example".to_owned()),
                ("prompt".to_owned(), "login".to_owned()),
            ]
        );
        let none = FlowConfig::from_env_with(env(BASE)).unwrap();
        assert!(none.authorize_params().is_empty());
    }

    #[test]
    fn defaults_from_env() {
        let config = FlowConfig::from_env_with(env(BASE)).unwrap();
        assert_eq!(config.client_id(), "client");
        assert_eq!(config.client_auth(), ClientAuth::ClientSecretBasic);
        assert_eq!(config.prefix(), "/auth");
        assert_eq!(config.scopes(), DEFAULT_SCOPES);
        assert_eq!(config.frontend_url(), "http://localhost:5173");
        assert_eq!(config.callback_url(), "http://localhost:3000/auth/callback");
        assert_eq!(
            config.frontend_callback_url(),
            "http://localhost:5173/auth/callback"
        );
        assert_eq!(config.post_logout_redirect_url(), "http://localhost:5173/");
        assert_eq!(config.default_redirect(), "/");
        assert_eq!(config.state_ttl(), Duration::from_secs(600));
        assert_eq!(config.exchange_ttl(), Duration::from_secs(60));
        assert!(!config.secure_cookies());
        assert!(!format!("{config:?}").contains("secret\""));
        assert!(format!("{config:?}").contains("<redacted>"));
    }

    #[test]
    fn secure_when_production_or_https_api() {
        let prod = FlowConfig::from_env_with(env(&with(&[("APP_ENV", "production")]))).unwrap();
        assert!(prod.secure_cookies());
        let dev = FlowConfig::from_env_with(env(&with(&[("APP_ENV", "development")]))).unwrap();
        assert!(!dev.secure_cookies());
        let https =
            FlowConfig::from_env_with(env(&with(&[("API_URL", "https://api.example.com")])))
                .unwrap();
        assert!(https.secure_cookies());
        let forced = FlowConfig::builder("c", "https://a.example", "https://b.example")
            .client_secret("s")
            .secure_cookies(false)
            .build()
            .unwrap();
        assert!(!forced.secure_cookies());
    }

    #[test]
    fn optional_variables_are_read() {
        let config = FlowConfig::from_env_with(env(&with(&[
            ("AUTH_CLIENT_AUTH", "client_secret_post"),
            ("AUTH_FLOW_PREFIX", "/api/auth/"),
            ("AUTH_SCOPES", "openid email"),
            ("AUTHENTIK_API_SCOPE", "true"),
            ("AUTH_DEFAULT_REDIRECT", "/home"),
            ("AUTH_POST_LOGOUT_REDIRECT_URL", "http://localhost:5173/bye"),
        ])))
        .unwrap();
        assert_eq!(config.client_auth(), ClientAuth::ClientSecretPost);
        assert_eq!(config.prefix(), "/api/auth");
        assert_eq!(config.scopes(), ["openid", "email", AUTHENTIK_API_SCOPE]);
        assert_eq!(config.default_redirect(), "/home");
        assert_eq!(
            config.post_logout_redirect_url(),
            "http://localhost:5173/bye"
        );
        assert_eq!(
            config.callback_url(),
            "http://localhost:3000/api/auth/callback"
        );
    }

    #[test]
    fn public_clients_need_no_secret() {
        let vars: Vec<_> = with(&[("AUTH_CLIENT_AUTH", "none")])
            .into_iter()
            .filter(|(k, _)| *k != "AUTHENTIK_CLIENT_SECRET")
            .collect();
        let config = FlowConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.client_auth(), ClientAuth::None);
    }

    #[test]
    fn missing_variables_are_named() {
        for missing in [
            "AUTHENTIK_CLIENT_ID",
            "AUTHENTIK_CLIENT_SECRET",
            "FRONTEND_URL",
            "API_URL",
        ] {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            match FlowConfig::from_env_with(env(&vars)) {
                Err(FlowConfigError::Config(ConfigError::Missing { name, .. })) => {
                    assert_eq!(name, missing)
                }
                other => panic!("{missing}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases = [
            ("FRONTEND_URL", "localhost:5173"),
            ("FRONTEND_URL", "http://localhost:5173/?x=1"),
            ("API_URL", "/api"),
            ("API_URL", "ftp://api.example.com"),
            ("AUTH_CLIENT_AUTH", "private_key_jwt"),
            ("AUTH_FLOW_PREFIX", "auth"),
            ("AUTH_FLOW_PREFIX", "/a b"),
            ("AUTH_FLOW_PREFIX", "//auth"),
            ("AUTH_SCOPES", "email profile"),
            ("AUTH_SCOPES", "openid \"quoted\""),
            ("AUTHENTIK_API_SCOPE", "maybe"),
            ("AUTH_AUTHORIZE_PARAMS", "audience"),
            ("AUTH_AUTHORIZE_PARAMS", "=https://api.example"),
            ("AUTH_AUTHORIZE_PARAMS", "prompt="),
            ("AUTH_AUTHORIZE_PARAMS", "state=forged"),
            (
                "AUTH_AUTHORIZE_PARAMS",
                "audience=a redirect_uri=https://evil.example",
            ),
            ("AUTH_DEFAULT_REDIRECT", "//evil.example"),
            ("AUTH_DEFAULT_REDIRECT", "https://evil.example"),
            ("AUTH_POST_LOGOUT_REDIRECT_URL", "not a url"),
        ];
        for (name, value) in cases {
            match FlowConfig::from_env_with(env(&with(&[(name, value)]))) {
                Err(FlowConfigError::Config(ConfigError::Invalid { name: n, .. })) => {
                    assert_eq!(n, name, "{value}")
                }
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn the_generic_client_names_are_read() {
        let vars = [
            ("OIDC_ISSUER", "https://kc.example.com/realms/shop"),
            ("OIDC_CLIENT_ID", "shop-web"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            ("FRONTEND_URL", "http://localhost:5173"),
            ("API_URL", "http://localhost:3000"),
        ];
        let config = FlowConfig::from_env_with(env(&vars)).unwrap();
        assert_eq!(config.client_id(), "shop-web");
        // Both families agreeing is fine.
        let mut both = vars.to_vec();
        both.extend([
            ("AUTHENTIK_CLIENT_ID", "shop-web"),
            ("AUTHENTIK_CLIENT_SECRET", "s3cret"),
        ]);
        assert_eq!(
            FlowConfig::from_env_with(env(&both)).unwrap().client_id(),
            "shop-web"
        );
        // Missing, the generic names are asked for.
        for missing in ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"] {
            let vars: Vec<_> = vars
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            match FlowConfig::from_env_with(env(&vars)) {
                Err(FlowConfigError::Config(ConfigError::Missing { name, .. })) => {
                    assert_eq!(name, missing)
                }
                other => panic!("{missing}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn client_names_that_disagree_are_refused_without_the_secret() {
        for (name, value, twin) in [
            ("OIDC_CLIENT_ID", "other", "AUTHENTIK_CLIENT_ID"),
            (
                "OIDC_CLIENT_SECRET",
                "other-secret",
                "AUTHENTIK_CLIENT_SECRET",
            ),
        ] {
            let err = FlowConfig::from_env_with(env(&with(&[(name, value)]))).unwrap_err();
            match &err {
                FlowConfigError::Config(ConfigError::Conflict { name: n, other, .. }) => {
                    assert_eq!((*n, *other), (name, twin))
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
            let text = err.to_string();
            assert!(
                !text.contains("other-secret") && !text.contains("\"secret\""),
                "{text}"
            );
        }
    }
}
