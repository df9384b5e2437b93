//! actix-web 4: the [`AuthMiddleware`], the extractors' `FromRequest` impls, and the
//! guards as middleware (feature `actix`).
//!
//! actix-web does not run tower layers, so [`AuthMiddleware`] does here what
//! [`authgate::AuthLayer`] does for tower: it calls the same
//! [`Authenticator::authenticate`](authgate::Authenticator::authenticate) and puts the
//! same values into the request extensions (the user, its
//! [`AccessToken`](authgate::AccessToken) and the [`AuthContext`](authgate::AuthContext)).
//! Cookie before Bearer, the CSRF check for cookie-authenticated unsafe requests, 503
//! with `Retry-After` while no keys are loaded, and every status, header and body are
//! the core's, so an actix-web service answers exactly like an axum one.
//!
//! [`Auth`], [`Token`] and [`Guard`] are
//! extractors here too, and a [`GuardLayer`] (from
//! [`require_role`] and friends) wraps a scope or a resource:
//!
//! ```
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use actix_web::{App, test, web};
//! use authgate::{AuthConfig, RoleMap};
//! use authgate_extract::actix::{AuthMiddleware, require_role};
//! use authgate_extract::{Auth, User};
//! use authgate_testkit::TestIssuer;
//!
//! async fn me(Auth(user): Auth<User>) -> String {
//!     user.sub
//! }
//!
//! let issuer = TestIssuer::start().await?;
//! let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
//!     .role_map(RoleMap::parse("app-admins=admin")?)
//!     .build()?;
//! let auth = AuthMiddleware::new(config);
//! auth.authenticator().refresh_keys().await?;
//!
//! let app = test::init_service(
//!     App::new()
//!         .route("/me", web::get().to(me))
//!         .service(
//!             web::scope("/admin")
//!                 .wrap(require_role("admin"))
//!                 .route("/stats", web::get().to(|| async { "42" })),
//!         )
//!         .wrap(auth),
//! )
//! .await;
//!
//! let get = |uri: &str, token: String| {
//!     test::TestRequest::get()
//!         .uri(uri)
//!         .insert_header(("authorization", format!("Bearer {token}")))
//!         .to_request()
//! };
//! let alice = issuer.token().sub("alice").groups(["staff"]).sign();
//! let response = test::call_service(&app, get("/me", alice.clone())).await;
//! assert_eq!(test::read_body(response).await, "alice");
//! let response = test::call_service(&app, get("/admin/stats", alice)).await;
//! assert_eq!(response.status(), 403);
//!
//! let admin = issuer.token().groups(["app-admins"]).sign();
//! let response = test::call_service(&app, get("/admin/stats", admin)).await;
//! assert_eq!(response.status(), 200);
//!
//! let anonymous = test::TestRequest::get().uri("/me").to_request();
//! assert_eq!(test::call_service(&app, anonymous).await.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! `Option<Auth<U>>` is actix-web's own blanket `Option<T>` extractor: `None` for an
//! anonymous request behind [`AuthMiddleware::optional`], but also (unlike axum) when no
//! middleware ran, since that extractor turns every failure into `None`.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderValue};
use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError,
};
use authgate::guard::{AuthUser, Requirement};
use authgate::request::HeaderSource;
use authgate::{AuthConfig, AuthMode, Authenticator, Rejection, User};
use pin_project_lite::pin_project;

pub use crate::layer::{
    require_any_role, require_authenticated, require_role, require_scope, require_scopes,
};

use crate::extract::{Auth, Guard, GuardSpec, Token};
use crate::layer::GuardLayer;
use crate::lookup::{self, RequestExtensions};
use crate::rejection::AuthRejection;

/// The actix-web mapping: the core's [`Rejection`] as an actix response.
fn response(rejection: &Rejection) -> HttpResponse {
    let status =
        StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in rejection.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            builder.insert_header((name, value));
        }
    }
    builder.body(rejection.body_json())
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        response(self.rejection())
    }
}

impl Responder for AuthRejection {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        response(self.rejection())
    }
}

impl RequestExtensions for actix_web::dev::Extensions {
    const MISSING_LAYER: &'static str =
        "authgate: no AuthMiddleware on this route; add .wrap(AuthMiddleware::new(config))";

    fn find<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.get::<T>()
    }
}

/// actix-web's header map (`http` 0.2 types) as the core's [`HeaderSource`], for
/// calling [`Authenticator::authenticate`] from your own actix code.
#[derive(Debug, Clone, Copy)]
pub struct ActixHeaders<'a>(&'a HeaderMap);

impl<'a> ActixHeaders<'a> {
    /// Wraps a request's headers.
    #[must_use]
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self(headers)
    }
}

type AsBytes = fn(&HeaderValue) -> &[u8];

impl HeaderSource for ActixHeaders<'_> {
    type Values<'b>
        = std::iter::Map<std::slice::Iter<'b, HeaderValue>, AsBytes>
    where
        Self: 'b;

    fn values<'b>(&'b self, name: &'static str) -> Self::Values<'b> {
        self.0.get_all(name).map(HeaderValue::as_bytes as AsBytes)
    }
}

impl<U> FromRequest for Auth<U>
where
    U: Clone + Send + Sync + 'static,
{
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(lookup::required(&*req.extensions()).map(Auth))
    }
}

impl FromRequest for Token {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(lookup::required(&*req.extensions()).map(Token))
    }
}

impl<G, U> FromRequest for Guard<G, U>
where
    G: GuardSpec,
    U: AuthUser,
{
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        ready(
            lookup::guarded::<U, _>(&*extensions, G::REQUIREMENT)
                .map(|user| Guard::new(user.clone())),
        )
    }
}

/// The actix-web middleware that authenticates every request: actix-web's
/// [`authgate::AuthLayer`]. See the [module docs](self).
///
/// `.wrap(AuthMiddleware::new(config))` on an `App`, a scope or a resource.
pub struct AuthMiddleware<U = User> {
    auth: Authenticator<U>,
    mode: AuthMode,
}

impl AuthMiddleware<User> {
    /// A middleware that requires a valid token and puts a [`User`] into the extensions.
    #[must_use]
    pub fn new(config: AuthConfig) -> Self {
        Self::from_authenticator(Authenticator::new(config))
    }
}

impl<U> AuthMiddleware<U> {
    /// A middleware over an existing authenticator (a custom user type, or one key
    /// store shared with tower layers).
    #[must_use]
    pub fn from_authenticator(auth: Authenticator<U>) -> Self {
        Self {
            auth,
            mode: AuthMode::Required,
        }
    }

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

    /// The authenticator behind the middleware.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<U> {
        &self.auth
    }
}

impl<U> Clone for AuthMiddleware<U> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            mode: self.mode,
        }
    }
}

impl<U> fmt::Debug for AuthMiddleware<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("auth", &self.auth)
            .field("mode", &self.mode)
            .finish()
    }
}

impl<S, B, U> Transform<S, ServiceRequest> for AuthMiddleware<U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    U: Clone + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthMiddlewareService<S, U>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service made by [`AuthMiddleware`].
pub struct AuthMiddlewareService<S, U = User> {
    service: Rc<S>,
    middleware: AuthMiddleware<U>,
}

impl<S, U> fmt::Debug for AuthMiddlewareService<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddlewareService")
            .field("middleware", &self.middleware)
            .finish_non_exhaustive()
    }
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B, U> Service<ServiceRequest> for AuthMiddlewareService<S, U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    U: Clone + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<Self::Response, Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let auth = self.middleware.auth.clone();
        let mode = self.middleware.mode;
        Box::pin(async move {
            let result = {
                let headers = ActixHeaders::new(request.headers());
                auth.authenticate(request.method().as_str(), &headers).await
            };
            let context = auth.context();
            let error = match mode.admit(result) {
                Ok(Some(authenticated)) => {
                    let mut extensions = request.extensions_mut();
                    extensions.insert(authenticated.user);
                    extensions.insert(authenticated.token);
                    extensions.insert(context);
                    None
                }
                Ok(None) => {
                    request.extensions_mut().insert(context);
                    None
                }
                Err(error) => Some(error),
            };
            match error {
                None => service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Some(error) => {
                    let rejection = error.rejection(auth.context().realm());
                    Ok(request
                        .into_response(response(&rejection))
                        .map_into_right_body())
                }
            }
        })
    }
}

impl<S, B, U> Transform<S, ServiceRequest> for GuardLayer<U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    U: AuthUser,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = GuardMiddleware<S, U>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardMiddleware {
            service,
            requirement: self.requirement(),
            user: PhantomData,
        }))
    }
}

/// The actix-web service made by [`GuardLayer`].
pub struct GuardMiddleware<S, U = User> {
    service: S,
    requirement: Requirement,
    user: PhantomData<fn() -> U>,
}

impl<S, U> fmt::Debug for GuardMiddleware<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardMiddleware")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, B, U> Service<ServiceRequest> for GuardMiddleware<S, U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    U: AuthUser,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = GuardMiddlewareFuture<S::Future, B>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let checked = {
            let extensions = request.extensions();
            lookup::guarded::<U, _>(&*extensions, self.requirement).map(|_| ())
        };
        let state = match checked {
            Ok(()) => State::Inner {
                future: self.service.call(request),
            },
            Err(rejection) => State::Rejected {
                response: Some(
                    request
                        .into_response(response(rejection.rejection()))
                        .map_into_right_body(),
                ),
            },
        };
        GuardMiddlewareFuture { state }
    }
}

pin_project! {
    /// The response future of [`GuardMiddleware`].
    pub struct GuardMiddlewareFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner {
            #[pin]
            future: F,
        },
        Rejected {
            response: Option<ServiceResponse<EitherBody<B>>>,
        },
    }
}

impl<F, B> fmt::Debug for GuardMiddlewareFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardMiddlewareFuture")
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for GuardMiddlewareFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(ServiceResponse::map_into_left_body)),
            StateProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("future polled after completion")))
            }
        }
    }
}
