//! The tower middleware: [`AuthLayer`], its [`AuthService`] and [`ResponseFuture`].

use http::Response;
use tower_layer::Layer;

use crate::authenticator::Authenticator;
use crate::error::AuthError;
use crate::options::AuthOptions;
use crate::user::User;

mod future;
mod service;

pub use future::ResponseFuture;
pub use service::AuthService;

/// Builds the response for a refused request.
///
/// [`DefaultRejection`] answers with the core's [`Rejection`](crate::Rejection). Any
/// `Fn(AuthError) -> http::Response<B>` closure is one too.
pub trait OnRejection<B>: Clone + Send + Sync + 'static {
    /// The response for `error`; `realm` is the configured realm.
    fn response(&self, error: AuthError, realm: &str) -> Response<B>;
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn response(&self, error: AuthError, _realm: &str) -> Response<B> {
        self(error)
    }
}

/// The default rejection: [`AuthError::rejection`] as a response (status,
/// `WWW-Authenticate`, `Retry-After` for 503, JSON body `{"error", "message"}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: From<String>> OnRejection<B> for DefaultRejection {
    fn response(&self, error: AuthError, realm: &str) -> Response<B> {
        error.rejection(realm).into_response()
    }
}

/// The tower layer that authenticates every request.
///
/// The tower middleware: [`AuthLayer`], its [`AuthService`] and [`ResponseFuture`].
///
/// Works with any tower service of `http::Request<B>`: axum, tonic, hyper. The user
/// goes into the request extensions as an `Arc<U>` (shared with the verified-token
/// cache, so a repeated token copies nothing), with its
/// [`AccessToken`](crate::AccessToken); a
/// refusal is answered by the layer with the core's [`Rejection`](crate::Rejection)
/// (or your own response, see [`OnRejection`]) and never reaches the inner service.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
///
/// use authgate::{AuthConfig, AuthLayer, User};
/// use authgate_testkit::TestIssuer;
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let issuer = TestIssuer::start().await?;
/// let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?;
/// let layer = AuthLayer::new(config);
/// layer.authenticator().refresh_keys().await?;
///
/// let service = ServiceBuilder::new().layer(layer).service_fn(|req: Request<String>| async move {
///     let user = req.extensions().get::<Arc<User>>().expect("the layer put it there");
///     Ok::<_, std::convert::Infallible>(Response::new(format!("hello {}", user.sub)))
/// });
///
/// let token = issuer.token().sub("alice").sign();
/// let request = Request::get("/").header("authorization", format!("Bearer {token}")).body(String::new())?;
/// let response = service.clone().oneshot(request).await?;
/// assert_eq!(response.into_body(), "hello alice");
///
/// let anonymous = service.oneshot(Request::get("/").body(String::new())?).await?;
/// assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
/// # Ok(())
/// # }
/// ```
pub struct AuthLayer<U = User, R = DefaultRejection> {
    options: AuthOptions<U>,
    on_rejection: R,
}

impl<U, R: Clone> Clone for AuthLayer<U, R> {
    fn clone(&self) -> Self {
        Self {
            options: self.options.clone(),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<U, R: std::fmt::Debug> std::fmt::Debug for AuthLayer<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("options", &self.options)
            .field("on_rejection", &self.on_rejection)
            .finish()
    }
}

impl<U> AuthLayer<U> {
    /// A layer from [`AuthOptions`], an [`AuthConfig`](crate::AuthConfig) (required
    /// mode, the default [`User`]) or an [`Authenticator`].
    #[must_use]
    pub fn new(options: impl Into<AuthOptions<U>>) -> Self {
        Self {
            options: options.into(),
            on_rejection: DefaultRejection,
        }
    }
}

impl<U, R> AuthLayer<U, R> {
    /// Replaces the rejection response.
    #[must_use]
    pub fn on_rejection<R2>(self, on_rejection: R2) -> AuthLayer<U, R2> {
        AuthLayer {
            options: self.options,
            on_rejection,
        }
    }

    /// The authenticator behind the layer.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        self.options.authenticator()
    }

    /// The options of the layer.
    #[must_use]
    pub fn options(&self) -> &AuthOptions<U> {
        &self.options
    }
}

impl<S, U, R: Clone> Layer<S> for AuthLayer<U, R> {
    type Service = AuthService<S, U, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, self.options.clone(), self.on_rejection.clone())
    }
}
