//! The tower middleware: [`AuthLayer`], its [`AuthService`] and [`ResponseFuture`].

use std::sync::Arc;

use tower_layer::Layer;

use crate::__private::Refusals;
use crate::authenticator::Authenticator;
use crate::on_rejection::{DefaultRejection, OnRejection, RejectionHook};
use crate::options::AuthOptions;
use crate::user::User;

mod future;
mod service;

pub use future::ResponseFuture;
pub use service::AuthService;

/// The tower layer that authenticates every request.
///
/// The tower middleware: [`AuthLayer`], its [`AuthService`] and [`ResponseFuture`].
///
/// Works with any tower service of `http::Request<B>`: axum, tonic, hyper. The user
/// goes into the request extensions as an `Arc<U>` (shared with the verified-token
/// cache, so a repeated token copies nothing), with its
/// [`AccessToken`](crate::AccessToken); a
/// refusal is answered by the layer with the core's [`Rejection`](crate::Rejection)
/// (or your own response, see [`on_rejection`](Self::on_rejection)) and never reaches
/// the inner service.
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
    shared: Arc<Shared<U, R>>,
}

/// What a layer and every service it makes share, behind one reference count: frameworks
/// such as axum clone the service for every request, so this costs one count, as the
/// authenticator alone did.
pub(super) struct Shared<U, R> {
    pub(super) options: AuthOptions<U>,
    /// The hook, typed: it writes the wrapped service's body type.
    pub(super) on_rejection: R,
    /// The realm and the hook, erased, for the marker of every admitted request.
    pub(super) refusals: Refusals,
}

impl<U, R> Clone for AuthLayer<U, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<U, R: std::fmt::Debug> std::fmt::Debug for Shared<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("options", &self.options)
            .field("on_rejection", &self.on_rejection)
            .field("refusals", &self.refusals)
            .finish()
    }
}

impl<U, R: std::fmt::Debug> std::fmt::Debug for AuthLayer<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shared.fmt(f)
    }
}

impl<U> AuthLayer<U> {
    /// A layer from [`AuthOptions`], an [`AuthConfig`](crate::AuthConfig) (required
    /// mode, the default [`User`]) or an [`Authenticator`].
    #[must_use]
    pub fn new(options: impl Into<AuthOptions<U>>) -> Self {
        let options = options.into();
        let refusals = Refusals::new(options.authenticator(), None);
        Self {
            shared: Arc::new(Shared {
                options,
                on_rejection: DefaultRejection,
                refusals,
            }),
        }
    }
}

impl<U, R> AuthLayer<U, R> {
    /// Answers every refusal with `hook` (see [`OnRejection`]): the layer's own (no
    /// token, a bad one, keys unavailable), and those of the extractors and guards
    /// behind it (`Auth<U>`, `Guard`, `GuardLayer`, the attribute macros), which find
    /// the hook in the request.
    ///
    /// The layer answers in the body type of the service it wraps, so `hook` must
    /// write that one as well as `String` (the extractors' and guards'): a closure
    /// returning `Response<String>` suits axum and hyper services,
    /// [`GrpcRejection`](crate::GrpcRejection) tonic ones.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authgate::{AuthConfig, AuthError, AuthLayer, Rejection};
    /// use authgate_testkit::TestIssuer;
    /// use http::{Request, Response};
    /// use tower::{ServiceBuilder, ServiceExt};
    ///
    /// let issuer = TestIssuer::start().await?;
    /// let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?;
    /// let layer = AuthLayer::new(config).on_rejection(|rejection: Rejection, _: Option<&AuthError>| {
    ///     Response::builder()
    ///         .status(rejection.status())
    ///         .body(format!("refused: {}", rejection.code()))
    ///         .expect("a valid response")
    /// });
    /// let service = ServiceBuilder::new().layer(layer).service_fn(|_: Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
    /// });
    /// let response = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.into_body(), "refused: missing_token");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on_rejection<R2: OnRejection>(self, hook: R2) -> AuthLayer<U, R2> {
        let options = self.shared.options.clone();
        let erased = RejectionHook::new(hook.clone());
        AuthLayer {
            shared: Arc::new(Shared {
                refusals: Refusals::new(options.authenticator(), Some(erased)),
                options,
                on_rejection: hook,
            }),
        }
    }

    /// The authenticator behind the layer.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        self.shared.options.authenticator()
    }

    /// The options of the layer.
    #[must_use]
    pub fn options(&self) -> &AuthOptions<U> {
        &self.shared.options
    }
}

impl<S, U, R> Layer<S> for AuthLayer<U, R> {
    type Service = AuthService<S, U, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.shared))
    }
}
