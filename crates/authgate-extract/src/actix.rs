//! actix-web 4: the [`AuthMiddleware`], the extractors' `FromRequest` impls, and the
//! guards as middleware (feature `actix`).
//!
//! actix-web does not run tower layers, so [`AuthMiddleware`] does here what
//! [`authgate::AuthLayer`] does for tower, from the same [`AuthOptions`]: it calls
//! [`AuthOptions::authenticate`] and puts the same values into the request extensions
//! (the user and its [`AccessToken`](authgate::AccessToken)).
//! Cookie before Bearer (then the opt-in token header and query parameter), the CSRF check for cookie-authenticated unsafe requests, 503
//! with `Retry-After` while no keys are loaded, and every status, header and body are
//! the core's, so an actix-web service answers exactly like an axum one.
//!
//! [`Auth`] and [`Guard`] are
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
//! anonymous request behind an optional [`AuthMiddleware`] ([`AuthOptions::optional`]), but also (unlike axum) when no
//! middleware ran, since that extractor turns every failure into `None`.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderValue};
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use authgate::__private::{
    Refusals, RejectionHook, actix::response as response_of, insert_authentication,
};
use authgate::{AuthOptions, GuardUser, HeaderSource, OnRejection, Rejection, User};
use pin_project_lite::pin_project;

pub use crate::layer::{
    require_any_role, require_authenticated, require_role, require_scope, require_scopes,
};

use crate::extract::{Auth, Guard, GuardSpec};
use crate::layer::GuardLayer;
use crate::lookup::{self, RequestExtensions};

/// An `http` 1.x response as actix-web's `HttpResponse` (actix-web 4 uses `http` 0.2
/// types): status, every header, body. The conversion every authgate response goes
/// through on actix-web, for your own framework-neutral responses too.
#[must_use]
pub fn http_response(response: http::Response<String>) -> actix_web::HttpResponse {
    response_of(response)
}

impl RequestExtensions for actix_web::dev::Extensions {
    const MISSING_LAYER: &'static str =
        "authgate: no AuthMiddleware on this route; add .wrap(AuthMiddleware::new(config))";

    fn find<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.get::<T>()
    }
}

/// actix-web's header map (`http` 0.2 types) and query string as the core's
/// [`HeaderSource`], for calling [`AuthOptions::authenticate`] from your own actix
/// code.
#[derive(Debug, Clone, Copy)]
pub struct ActixHeaders<'a> {
    headers: &'a HeaderMap,
    query: Option<&'a str>,
}

impl<'a> ActixHeaders<'a> {
    /// Wraps a request's headers alone: a token query parameter, if one is
    /// configured, is not seen (use [`of`](Self::of)).
    #[must_use]
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self {
            headers,
            query: None,
        }
    }

    /// A request's headers and query string, as the [`AuthMiddleware`] reads them.
    #[must_use]
    pub fn of(request: &'a HttpRequest) -> Self {
        Self {
            headers: request.headers(),
            query: Some(request.query_string()),
        }
    }
}

type AsBytes = fn(&HeaderValue) -> &[u8];

impl HeaderSource for ActixHeaders<'_> {
    type Values<'b>
        = std::iter::Map<std::slice::Iter<'b, HeaderValue>, AsBytes>
    where
        Self: 'b;

    fn values<'b>(&'b self, name: &str) -> Self::Values<'b> {
        self.headers
            .get_all(name)
            .map(HeaderValue::as_bytes as AsBytes)
    }

    fn query(&self) -> Option<&str> {
        self.query
    }
}

impl<U> FromRequest for Auth<U>
where
    U: Clone + Send + Sync + 'static,
{
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(lookup::required(&*req.extensions()).map(Auth))
    }
}

impl<G, U> FromRequest for Guard<G, U>
where
    G: GuardSpec,
    U: GuardUser,
{
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        ready(lookup::guarded::<U, _>(&*extensions, &G::REQUIREMENT).map(Guard::new))
    }
}

/// The actix-web middleware that authenticates every request: actix-web's
/// [`authgate::AuthLayer`], configured with the same [`AuthOptions`]. See the
/// [module docs](self).
///
/// `.wrap(AuthMiddleware::new(config))` on an `App`, a scope or a resource;
/// `AuthMiddleware::new(AuthOptions::new(config).optional())` to let anonymous
/// requests through.
pub struct AuthMiddleware<U = User> {
    options: AuthOptions<U>,
    refusals: Refusals,
}

impl<U> AuthMiddleware<U> {
    /// A middleware from [`AuthOptions`], an [`AuthConfig`](authgate::AuthConfig)
    /// (required mode, the default [`User`]) or an
    /// [`Authenticator`](authgate::Authenticator).
    #[must_use]
    pub fn new(options: impl Into<AuthOptions<U>>) -> Self {
        let options = options.into();
        let refusals = Refusals::new(options.authenticator(), None);
        Self { options, refusals }
    }

    /// Answers every refusal with `hook` (see [`OnRejection`]): the middleware's own,
    /// and those of the extractors and guard middleware behind it, which find the hook
    /// in the request. As [`authgate::AuthLayer::on_rejection`] does for tower.
    ///
    /// ```
    /// # #[actix_web::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_web::{App, test, web};
    /// use authgate::{AuthConfig, AuthError, Rejection};
    /// use authgate_extract::actix::AuthMiddleware;
    ///
    /// let config = AuthConfig::oidc("https://idp.example.com/").audience("api").build()?;
    /// let auth = AuthMiddleware::new(config).on_rejection(|rejection: Rejection, _: Option<&AuthError>| {
    ///     http::Response::builder()
    ///         .status(rejection.status())
    ///         .body(format!("refused: {}", rejection.code()))
    ///         .expect("a valid response")
    /// });
    /// let app = test::init_service(App::new().route("/", web::get().to(|| async { "hi" })).wrap(auth)).await;
    /// let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(test::read_body(response).await, "refused: missing_token");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on_rejection<H: OnRejection>(self, hook: H) -> Self {
        let refusals = Refusals::new(self.options.authenticator(), Some(RejectionHook::new(hook)));
        Self {
            options: self.options,
            refusals,
        }
    }

    /// The authenticator behind the middleware.
    #[must_use]
    pub fn authenticator(&self) -> &authgate::Authenticator<U> {
        self.options.authenticator()
    }

    /// The options of the middleware.
    #[must_use]
    pub fn options(&self) -> &AuthOptions<U> {
        &self.options
    }
}

impl<U> Clone for AuthMiddleware<U> {
    fn clone(&self) -> Self {
        Self {
            options: self.options.clone(),
            refusals: self.refusals.clone(),
        }
    }
}

impl<U> fmt::Debug for AuthMiddleware<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("options", &self.options)
            .field("refusals", &self.refusals)
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
            middleware: Rc::new(self.clone()),
        }))
    }
}

/// The service made by [`AuthMiddleware`].
pub struct AuthMiddlewareService<S, U = User> {
    service: Rc<S>,
    /// Shared by this worker's requests without touching an atomic count.
    middleware: Rc<AuthMiddleware<U>>,
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
        let middleware = Rc::clone(&self.middleware);
        Box::pin(async move {
            let result = {
                let headers = ActixHeaders::of(request.request());
                middleware
                    .options
                    .authenticate(request.method().as_str(), &headers)
                    .await
            };
            match result {
                Ok(authentication) => {
                    insert_authentication(
                        &mut *request.extensions_mut(),
                        &middleware.refusals,
                        authentication,
                    );
                    service
                        .call(request)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(error) => {
                    let refusals = &middleware.refusals;
                    let rejection = error.rejection(refusals.realm());
                    let response = refusals.respond(rejection, Some(&error));
                    Ok(request
                        .into_response(response_of(response))
                        .map_into_right_body())
                }
            }
        })
    }
}

impl<S, B, U> Transform<S, ServiceRequest> for GuardLayer<U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    U: GuardUser,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = GuardMiddleware<S, U>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardMiddleware {
            service,
            layer: self.clone(),
        }))
    }
}

/// The actix-web service made by [`GuardLayer`].
pub struct GuardMiddleware<S, U = User> {
    service: S,
    layer: GuardLayer<U>,
}

impl<S, U> fmt::Debug for GuardMiddleware<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardMiddleware")
            .field("requirement", self.layer.requirement())
            .finish_non_exhaustive()
    }
}

impl<S, B, U> Service<ServiceRequest> for GuardMiddleware<S, U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    U: GuardUser,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = GuardMiddlewareFuture<S::Future, B>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let checked = {
            let extensions = request.extensions();
            lookup::guarded::<U, _>(&*extensions, self.layer.requirement()).map(|_| ())
        };
        let state = match checked {
            Ok(()) => State::Inner {
                future: self.service.call(request),
            },
            Err(rejection) => State::Rejected {
                response: Some(
                    request
                        .into_response(response_of(rejection.into_response()))
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
