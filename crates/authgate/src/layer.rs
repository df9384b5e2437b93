//! The tower middleware: [`AuthLayer`] and [`AuthService`].
//!
//! Works with any tower service of `http::Request<B>`: axum, tonic, hyper. The user
//! goes into the request extensions (with its [`AccessToken`](crate::authenticator::AccessToken)
//! and an [`AuthContext`](crate::authenticator::AuthContext) marker); a refusal is answered by the layer (status,
//! `WWW-Authenticate`, a small JSON body) and never reaches the inner service.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authgate::{AuthConfig, AuthLayer, User};
//! use authgate_testkit::TestIssuer;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let issuer = TestIssuer::start().await?;
//! let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id()).build()?;
//! let layer = AuthLayer::new(config);
//! layer.authenticator().refresh_keys().await?;
//!
//! let service = ServiceBuilder::new().layer(layer).service_fn(|req: Request<String>| async move {
//!     let user = req.extensions().get::<User>().expect("the layer put it there");
//!     Ok::<_, std::convert::Infallible>(Response::new(format!("hello {}", user.sub)))
//! });
//!
//! let token = issuer.token().sub("alice").sign();
//! let request = Request::get("/").header("authorization", format!("Bearer {token}")).body(String::new())?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.into_body(), "hello alice");
//!
//! let anonymous = service.oneshot(Request::get("/").body(String::new())?).await?;
//! assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::User;
use crate::authenticator::{AuthMode, Authenticated, Authenticator, Step};
use crate::config::AuthConfig;
use crate::error::{AuthError, Rejection};

/// Builds the response for a refused request.
///
/// [`DefaultRejection`] answers like RFC 6750 with a JSON body. Any
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

/// The default rejection: status, `WWW-Authenticate`, `Retry-After` for 503, and a
/// JSON body `{"error", "code", "message"}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: From<String>> OnRejection<B> for DefaultRejection {
    fn response(&self, error: AuthError, realm: &str) -> Response<B> {
        rejection_response(&error.rejection(realm))
    }
}

/// Turns a [`Rejection`] into an `http` response (what axum uses too).
#[must_use]
pub fn rejection_response<B: From<String>>(rejection: &Rejection) -> Response<B> {
    let mut response = Response::new(B::from(rejection.body_json()));
    *response.status_mut() = http::StatusCode::from_u16(rejection.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in rejection.headers() {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            headers.insert(header::HeaderName::from_static(name), value);
        }
    }
    response
}

/// The tower layer that authenticates every request. See the [module docs](self).
pub struct AuthLayer<U = User, R = DefaultRejection> {
    auth: Authenticator<U>,
    mode: AuthMode,
    on_rejection: R,
}

impl<U, R: Clone> Clone for AuthLayer<U, R> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            mode: self.mode,
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<U, R: std::fmt::Debug> std::fmt::Debug for AuthLayer<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("auth", &self.auth)
            .field("mode", &self.mode)
            .field("on_rejection", &self.on_rejection)
            .finish()
    }
}

impl AuthLayer<User> {
    /// A layer that requires a valid token and puts a [`User`] into the extensions.
    #[must_use]
    pub fn new(config: AuthConfig) -> Self {
        Self::from_authenticator(Authenticator::new(config))
    }
}

impl<U> AuthLayer<U> {
    /// A layer over an existing authenticator (for a custom user type, or to share
    /// one key store between several layers and the actix-web middleware).
    #[must_use]
    pub fn from_authenticator(auth: Authenticator<U>) -> Self {
        Self {
            auth,
            mode: AuthMode::Required,
            on_rejection: DefaultRejection,
        }
    }
}

impl<U, R> AuthLayer<U, R> {
    /// Requests without a token pass with no user in the extensions; a bad token is
    /// still refused.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.mode = AuthMode::Optional;
        self
    }

    /// Requests without a token are refused with 401 (the default).
    #[must_use]
    pub fn required(mut self) -> Self {
        self.mode = AuthMode::Required;
        self
    }

    /// Replaces the rejection response.
    #[must_use]
    pub fn on_rejection<R2>(self, on_rejection: R2) -> AuthLayer<U, R2> {
        AuthLayer {
            auth: self.auth,
            mode: self.mode,
            on_rejection,
        }
    }

    /// The authenticator behind the layer.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        &self.auth
    }
}

impl<S, U, R: Clone> Layer<S> for AuthLayer<U, R> {
    type Service = AuthService<S, U, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
pub struct AuthService<S, U = User, R = DefaultRejection> {
    inner: S,
    layer: AuthLayer<U, R>,
}

impl<S: Clone, U, R: Clone> Clone for AuthService<S, U, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: std::fmt::Debug, U, R: std::fmt::Debug> std::fmt::Debug for AuthService<S, U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, U, R, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, U, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    U: Clone + Send + Sync + 'static,
    R: OnRejection<ResBody>,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let auth = &self.layer.auth;
        let step = auth.authenticate_step(request.method().as_str(), request.headers());
        let state = match step {
            Step::Done(outcome) => match self.layer.mode.admit(outcome) {
                Ok(Some(authenticated)) => {
                    insert(&mut request, auth, authenticated);
                    State::Inner {
                        future: self.inner.call(request),
                    }
                }
                Ok(None) => {
                    request.extensions_mut().insert(auth.context());
                    State::Inner {
                        future: self.inner.call(request),
                    }
                }
                Err(error) => self.reject(error),
            },
            Step::NeedKeys(pending) => {
                // The key set must be refetched first. Take the service that was polled
                // ready into the future, leaving a clone here.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let auth = auth.clone();
                let on_rejection = self.layer.on_rejection.clone();
                State::Authenticating {
                    future: Box::pin(async move {
                        match auth.finish(pending).await {
                            Ok(authenticated) => {
                                insert(&mut request, &auth, authenticated);
                                Ok(request)
                            }
                            Err(error) => Err(on_rejection.response(error, realm(&auth))),
                        }
                    }),
                    inner: Some(inner),
                }
            }
        };
        ResponseFuture { state }
    }
}

/// Puts the user, its token and the layer's marker into the extensions.
fn insert<B, U: Clone + Send + Sync + 'static>(
    request: &mut Request<B>,
    auth: &Authenticator<U>,
    authenticated: Authenticated<U>,
) {
    let extensions = request.extensions_mut();
    extensions.insert(authenticated.user);
    extensions.insert(authenticated.token);
    extensions.insert(auth.context());
}

fn realm<U>(auth: &Authenticator<U>) -> &str {
    &auth.config().inner.realm
}

impl<S, U, R> AuthService<S, U, R> {
    fn reject<ReqBody, ResBody>(&self, error: AuthError) -> State<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>>,
        R: OnRejection<ResBody>,
    {
        State::Rejected {
            response: Some(
                self.layer
                    .on_rejection
                    .response(error, realm(&self.layer.auth)),
            ),
        }
    }
}

pin_project! {
    /// The response future of [`AuthService`].
    pub struct ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Authenticating {
            future: BoxFuture<Result<Request<ReqBody>, Response<ResBody>>>,
            inner: Option<S>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        Rejected {
            response: Option<Response<ResBody>>,
        },
    }
}

impl<S, ReqBody, ResBody> std::fmt::Debug for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Authenticating { future, inner } => {
                    match ready!(future.as_mut().poll(cx)) {
                        Ok(request) => {
                            let mut inner = inner.take().expect("future polled after completion");
                            let future = inner.call(request);
                            this.state.set(State::Inner { future });
                        }
                        Err(response) => {
                            this.state.set(State::Rejected { response: None });
                            return Poll::Ready(Ok(response));
                        }
                    }
                }
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Rejected { response } => {
                    return Poll::Ready(Ok(response
                        .take()
                        .expect("future polled after completion")));
                }
            }
        }
    }
}
