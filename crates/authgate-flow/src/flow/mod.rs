//! The framework-neutral flow: [`Flow::handle`] takes an [`Endpoint`] and a
//! [`FlowRequest`] and answers with an `http::Response<String>`. The axum and
//! actix-web fronts only translate requests and responses.

use std::fmt;
use std::sync::Arc;

use authgate::{Authenticator, Claims, ProviderMetadata, User};
use http::Response;
use serde::Serialize;
use url::Url;

use crate::config::FlowConfig;
use crate::cookies::{Cookies, FlowCookie};
use crate::error::{FlowError, no_store};
use crate::provider::TokenClient;
use crate::sealed::SealedStore;

mod backchannel;
mod builder;
mod login;
mod request;
mod response;
mod revocations;
mod session;

pub use builder::FlowBuilder;
pub use request::{Endpoint, FlowRequest};

use request::accepts_html;
use response::append_cookie;

/// The browser login flow; cheap to clone. See also the [crate docs](crate).
///
/// The framework-neutral flow: [`Flow::handle`] takes an [`Endpoint`] and a
/// [`FlowRequest`] and answers with an `http::Response<String>`. The axum and
/// actix-web fronts only translate requests and responses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authgate::{AuthConfig, Authenticator};
/// use authgate_flow::{Endpoint, Flow, FlowConfig, FlowRequest};
/// use authgate_testkit::TestIssuer;
///
/// let issuer = TestIssuer::start().await?; // serves discovery and JWKS on loopback
/// let auth = Authenticator::new(
///     AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?,
/// );
/// let config = FlowConfig::builder(issuer.client_id(), "http://localhost:5173", "http://localhost:3000")
///     .client_secret("s3cret")
///     .build()?;
/// let flow = Flow::new(auth, config)?;
///
/// let request = FlowRequest::new(http::HeaderMap::new()).query("redirect=/orders");
/// let response = flow.handle(Endpoint::Login, request).await;
/// assert_eq!(response.status(), 302);
/// let location = response.headers()["location"].to_str()?;
/// assert!(location.starts_with(&format!("{}/application/o/authorize/?", issuer.base_url())));
/// assert!(location.contains("code_challenge_method=S256"));
/// # Ok(())
/// # }
/// ```
pub struct Flow<U = User> {
    inner: Arc<Inner<U>>,
}

impl<U> Clone for Flow<U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<U> fmt::Debug for Flow<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// What every clone of a [`Flow`] shares.
struct Inner<U> {
    /// The core authenticator, for `/session` and the provider's metadata.
    auth: Authenticator<U>,
    /// The ID-token verifier: the core's, with this client as audience.
    ids: Authenticator<Claims>,
    /// The back-channel logout token verifier: the same, `sub` optional.
    logouts: Authenticator<Claims>,
    /// The flow configuration.
    config: FlowConfig,
    /// Login states and exchange codes, sealed.
    store: SealedStore,
    /// The token endpoint client.
    client: TokenClient,
    /// The names and attributes of the flow's cookies.
    cookies: Cookies,
    /// The configuration's origins and the core's trusted origins.
    trusted_origins: Vec<String>,
    /// The secret login states are sealed with (with the state itself), and the
    /// published logouts.
    state_key: String,
    /// The hook that answers refusals, if one is set ([`FlowBuilder::on_rejection`]).
    hook: Option<authgate::__private::RejectionHook>,
    /// Whether the subscription to other instances' logouts was started.
    subscribed: std::sync::atomic::AtomicBool,
    /// The subscription task, stopped with the flow.
    subscription: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl<U> Drop for Inner<U> {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.subscription.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// The flow configuration.
    #[must_use]
    pub fn config(&self) -> &FlowConfig {
        &self.inner.config
    }

    /// The core authenticator (the one `GET /session` uses).
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        &self.inner.auth
    }

    /// The name of one of the flow's cookies.
    ///
    /// ```
    /// use authgate::{AuthConfig, Authenticator};
    /// use authgate_flow::{Flow, FlowConfig, FlowCookie};
    ///
    /// let auth = Authenticator::new(AuthConfig::authentik("https://auth.example.com", "shop", "client").build()?);
    /// let config = FlowConfig::builder("client", "https://app.example.com", "https://api.example.com")
    ///     .client_secret("s3cret")
    ///     .build()?;
    /// let flow = Flow::new(auth, config)?;
    /// // With the default AUTH_COOKIE_NAME and prefix, and Secure cookies (an https
    /// // API): the `__Host-` prefix, `__Secure-` for the cookies on other paths.
    /// assert_eq!(flow.cookie_name(FlowCookie::Access), "__Host-app_auth");
    /// assert_eq!(flow.cookie_name(FlowCookie::Refresh), "__Secure-app_auth_refresh");
    /// assert_eq!(flow.cookie_path(FlowCookie::Refresh), "/auth");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn cookie_name(&self, cookie: FlowCookie) -> &str {
        self.inner.cookies.name(cookie)
    }

    /// The `Path` of one of the flow's cookies.
    #[must_use]
    pub fn cookie_path(&self, cookie: FlowCookie) -> String {
        self.inner.cookies.path(cookie)
    }

    /// Answers one request. Never panics on bad input: every failure is a
    /// [`FlowError`] response.
    pub async fn handle(&self, endpoint: Endpoint, request: FlowRequest) -> Response<String> {
        self.ensure_subscribed();
        let result = match endpoint {
            Endpoint::Login => self.login(&request).await,
            Endpoint::Callback => self.callback(&request).await,
            Endpoint::Exchange => self.exchange(&request).await,
            Endpoint::Refresh => self.refresh(&request).await,
            Endpoint::Session => self.session(&request).await,
            Endpoint::Logout => self.logout(&request).await,
            Endpoint::BackchannelLogout => self.backchannel_logout(&request).await,
        };
        // The exchange binding is single use: cleared once a code was taken (redeemed,
        // unknown, or presented without its binding), kept when the request was
        // refused before (a bad body, an untrusted origin).
        let clear_binding = endpoint == Endpoint::Exchange
            && matches!(
                &result,
                Ok(_) | Err(FlowError::InvalidExchangeCode | FlowError::ExchangeNotBound)
            );
        let mut response = match result {
            Ok(response) => response,
            Err(err) => {
                tracing::debug!(
                    endpoint = endpoint.path(),
                    code = err.code(),
                    error = %err,
                    source = ?std::error::Error::source(&err).map(ToString::to_string),
                    "login flow request refused"
                );
                let mut response = match &self.inner.hook {
                    Some(hook) => {
                        let mut response = hook.response(err.rejection(), err.auth_error());
                        no_store(&mut response);
                        response
                    }
                    None => {
                        let html = endpoint.is_navigation() && accepts_html(&request.headers);
                        err.to_response(html)
                    }
                };
                if endpoint == Endpoint::Refresh && err.status() == http::StatusCode::UNAUTHORIZED {
                    // The refresh token is gone or refused: the session is over.
                    for cookie in self.inner.cookies.clear_session() {
                        append_cookie(&mut response, &cookie);
                    }
                }
                response
            }
        };
        if endpoint == Endpoint::Callback {
            // The login state is single use, whatever the outcome.
            append_cookie(&mut response, &self.inner.cookies.clear(FlowCookie::Login));
        }
        if clear_binding {
            append_cookie(
                &mut response,
                &self.inner.cookies.clear(FlowCookie::Exchange),
            );
        }
        response
    }

    /// The discovery document, discovering now (once for all callers) if needed.
    async fn metadata(&self) -> Result<Arc<ProviderMetadata>, FlowError> {
        // Single flight and rate-limited in the core: a flood of logins never becomes a
        // flood of discovery requests.
        self.inner.auth.discover().await.map_err(|e| match *e {
            authgate::FetchError::NoDiscovery => FlowError::DiscoveryDisabled,
            _ => FlowError::ProviderUnavailable(Some(e)),
        })
    }

    /// The token endpoint from discovery, on the internal URL when one is set.
    fn token_endpoint(&self, meta: &ProviderMetadata) -> Result<Url, FlowError> {
        meta.token_endpoint
            .as_deref()
            .and_then(|e| self.inner.auth.config().server_url(e).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(FlowError::MissingEndpoint {
                field: "token_endpoint",
            })
    }
}
