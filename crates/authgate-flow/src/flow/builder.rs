//! Making a [`Flow`]: from the environment ([`Flow::from_env`]), with the default
//! store ([`Flow::new`]), or step by step with a [`FlowBuilder`].

use std::fmt;
use std::sync::Arc;

use authgate::__private::RejectionHook;
use authgate::{Authenticator, OnRejection, User};
use serde::Serialize;

use super::{Flow, Inner};
use crate::config::{FlowConfig, FlowConfigError};
use crate::cookies::Cookies;
use crate::provider::TokenClient;
use crate::sealed::SealedStore;
use crate::store::{MemoryStore, Store};

/// Builds a [`Flow`]; made by [`Flow::builder`].
#[must_use]
pub struct FlowBuilder<U = User> {
    auth: Authenticator<U>,
    config: FlowConfig,
    store: Option<Arc<dyn Store>>,
    hook: Option<RejectionHook>,
}

impl<U> fmt::Debug for FlowBuilder<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("hook", &self.hook)
            .finish_non_exhaustive()
    }
}

impl Flow<User> {
    /// The whole flow from the environment: the core's [`authgate::AuthConfig::from_env`]
    /// (`AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG`, `AUTHENTIK_CLIENT_ID`,
    /// `AUTH_COOKIE_NAME`, …), [`FlowConfig::from_env`] (`AUTHENTIK_CLIENT_SECRET`,
    /// `FRONTEND_URL`, `API_URL`, `APP_ENV`, …), and a [`MemoryStore`].
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, FlowConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    ///
    /// # Errors
    ///
    /// A [`FlowConfigError`] naming the variable that is missing or malformed
    /// (for the core's variables too).
    pub fn from_env_with<F>(get: F) -> Result<Self, FlowConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let auth = Authenticator::new(authgate::AuthConfig::from_env_with(&get)?);
        Self::new(auth, FlowConfig::from_env_with(&get)?)
    }
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// A flow with the default [`MemoryStore`].
    ///
    /// # Errors
    ///
    /// As for [`FlowBuilder::build`].
    pub fn new(auth: Authenticator<U>, config: FlowConfig) -> Result<Self, FlowConfigError> {
        Self::builder(auth, config).build()
    }

    /// Starts a flow over this authenticator (whose configuration names the issuer,
    /// the access cookie and the internal URL) and flow configuration.
    pub fn builder(auth: Authenticator<U>, config: FlowConfig) -> FlowBuilder<U> {
        FlowBuilder {
            auth,
            config,
            store: None,
            hook: None,
        }
    }
}

impl<U> FlowBuilder<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// The store for states and exchange codes (default: a [`MemoryStore`]).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A store already shared as `Arc<dyn Store>`.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Answers every refused flow request with `hook` (see
    /// [`OnRejection`]), the one the service's `AuthLayer` or `AuthMiddleware` answers
    /// with, instead of the core's JSON (and the small HTML page of `/login` and
    /// `/callback` for a browser). The hook gets the flow error as a
    /// [`Rejection`](authgate::Rejection) (`invalid_state`, `exchange_not_bound`,
    /// `no_refresh_token`, …), and the core's [`AuthError`](authgate::AuthError) for a
    /// refused `GET /session`. The flow's cookies (clearing the login state, the
    /// exchange binding or the session) are still set on the hook's response, and it
    /// is still `Cache-Control: no-store`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authgate::{AuthConfig, AuthError, Authenticator, Rejection};
    /// use authgate_flow::{Endpoint, Flow, FlowConfig, FlowRequest};
    ///
    /// # let issuer = authgate_testkit::TestIssuer::start().await?;
    /// # let (base, slug) = (issuer.base_url(), issuer.slug());
    /// let auth = Authenticator::new(AuthConfig::authentik(base, slug, "client").build()?);
    /// let config = FlowConfig::builder("client", "http://localhost:5173", "http://localhost:3000")
    ///     .client_secret("s3cret")
    ///     .build()?;
    /// let flow = Flow::builder(auth, config)
    ///     .on_rejection(|rejection: Rejection, _: Option<&AuthError>| {
    ///         http::Response::builder()
    ///             .status(rejection.status())
    ///             .body(format!("refused: {}", rejection.code()))
    ///             .expect("a valid response")
    ///     })
    ///     .build()?;
    ///
    /// // A callback without its state.
    /// let response = flow.handle(Endpoint::Callback, FlowRequest::new(http::HeaderMap::new())).await;
    /// assert_eq!(response.status(), 400);
    /// assert_eq!(response.body(), "refused: invalid_request");
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_rejection<H: OnRejection>(mut self, hook: H) -> Self {
        self.hook = Some(RejectionHook::new(hook));
        self
    }

    /// Builds the flow.
    ///
    /// # Errors
    ///
    /// [`FlowConfigError::Config`] naming `AUTH_COOKIE_NAME` when the access cookie
    /// has a `__Host-`/`__Secure-` prefix but cookies are not `Secure`;
    /// [`FlowConfigError::HttpClient`] when the HTTP client cannot be built, and
    /// [`FlowConfigError::NoTlsProvider`] when, with the `rust-crypto` backend, there
    /// is neither a rustls provider in the process nor a client of your own.
    pub fn build(self) -> Result<Flow<U>, FlowConfigError> {
        let c = &self.config.inner;
        // Secure cookies with the default name get the `__Host-` prefix.
        let access_name = if c.secure {
            self.auth.config().secure_cookie_name()
        } else {
            self.auth.config().cookie_name()
        };
        let prefixed = access_name.starts_with("__Host-") || access_name.starts_with("__Secure-");
        if prefixed && !c.secure {
            return Err(authgate::ConfigError::invalid(
                "AUTH_COOKIE_NAME",
                "no __Host- or __Secure- prefix unless cookies are Secure (APP_ENV=production or an https API_URL)",
            )
            .into());
        }
        let cookies = Cookies::new(access_name, &c.prefix, c.secure);
        let client = TokenClient::new(self.config.clone())?;
        let mut trusted_origins = c.trusted_origins.clone();
        for origin in self.auth.config().trusted_origins() {
            if !trusted_origins.contains(origin) {
                trusted_origins.push(origin.clone());
            }
        }
        let ids = self.auth.id_tokens(self.config.client_id());
        let logouts = self.auth.logout_tokens(self.config.client_id());
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        // Login states live in a sealed cookie; every instance must open the others'.
        let state_key = match (&c.state_secret, &c.client_secret) {
            (Some(secret), _) => format!("state-secret:{secret}"),
            (None, Some(secret)) => format!("client-secret:{secret}"),
            (None, None) => format!(
                "process:{}",
                crate::crypto::random_token().map_err(|_| FlowConfigError::Config(
                    authgate::ConfigError::invalid(
                        "AUTH_STATE_SECRET",
                        "a secret (the system random generator failed)"
                    )
                ))?
            ),
        };
        let flow = Flow {
            inner: Arc::new(Inner {
                ids,
                logouts,
                auth: self.auth,
                store: SealedStore::new(store),
                client,
                cookies,
                trusted_origins,
                state_key,
                hook: self.hook,
                subscribed: std::sync::atomic::AtomicBool::new(false),
                subscription: std::sync::Mutex::new(None),
                config: self.config,
            }),
        };
        flow.ensure_subscribed();
        Ok(flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookies::FlowCookie;

    fn env(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let vars = vars.to_vec();
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const ENV: &[(&str, &str)] = &[
        ("AUTHENTIK_URL", "https://auth.example.com"),
        ("AUTHENTIK_APP_SLUG", "shop"),
        ("AUTHENTIK_CLIENT_ID", "client"),
        ("AUTHENTIK_CLIENT_SECRET", "secret"),
        ("FRONTEND_URL", "https://app.example.com"),
        ("API_URL", "https://api.example.com"),
        ("AUTH_COOKIE_NAME", "__Host-session"),
    ];

    #[test]
    fn from_env_reads_the_core_and_flow_variables() {
        // With `rust-crypto` alone the flow's client needs the application's rustls
        // provider; without one the flow refuses to start, with a clear error.
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                let err = Flow::from_env_with(env(ENV)).unwrap_err();
                assert!(matches!(err, FlowConfigError::NoTlsProvider(_)), "{err:?}");
            }
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let flow = Flow::from_env_with(env(ENV)).unwrap();
        assert_eq!(flow.cookie_name(FlowCookie::Access), "__Host-session");
        assert_eq!(
            flow.cookie_name(FlowCookie::Refresh),
            "__Secure-session_refresh"
        );
        assert_eq!(flow.cookie_path(FlowCookie::Id), "/auth");
        assert_eq!(flow.config().client_id(), "client");
        assert!(flow.config().secure_cookies());
        assert_eq!(
            flow.authenticator().config().issuer(),
            "https://auth.example.com/application/o/shop/"
        );
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        for missing in ["AUTHENTIK_URL", "AUTHENTIK_CLIENT_SECRET", "FRONTEND_URL"] {
            let vars: Vec<_> = ENV.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = Flow::from_env_with(env(&vars)).unwrap_err();
            assert!(err.to_string().contains(missing), "{missing}: {err}");
        }
    }

    #[test]
    fn prefixed_cookie_names_need_secure_cookies() {
        let mut vars = ENV.to_vec();
        vars.retain(|(k, _)| *k != "API_URL");
        vars.push(("API_URL", "http://localhost:3000"));
        match Flow::from_env_with(env(&vars)) {
            Err(FlowConfigError::Config(authgate::ConfigError::Invalid { name, .. })) => {
                assert_eq!(name, "AUTH_COOKIE_NAME");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
