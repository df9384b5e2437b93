//! Route-layer guards: [`GuardLayer`] and the functions that build one.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use authgate::{GuardUser, Names, Requirement, User};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::lookup;

/// Lets a group of routes through only if the user meets a [`Requirement`].
///
/// A tower layer (needs no feature: it works for axum's `.route_layer(..)` and any
/// tower stack of `http` requests) and, under the `actix` feature, an actix-web
/// middleware for `.wrap(..)` on a scope or resource. Build one with
/// [`require_role`], [`require_any_role`], [`require_scope`], [`require_scopes`]
/// or [`require_authenticated`]; [`for_user`](Self::for_user) switches to a custom user
/// type.
///
/// It must run after the authentication adapter: add it as a route layer (axum) or wrap
/// it around a scope inside the `AuthMiddleware` (actix-web). The answers are those of
/// [`Guard`](crate::Guard): 401, 403, 403 + `insufficient_scope`, or 500 when no
/// adapter ran.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authgate::{AuthConfig, AuthLayer, RoleMap};
/// use authgate_extract::require_role;
/// use authgate_testkit::TestIssuer;
/// use http::{Request, Response};
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let issuer = TestIssuer::start().await?;
/// let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
///     .role_map(RoleMap::parse("app-admins=admin")?)
///     .build()?;
/// let auth = AuthLayer::new(config);
/// auth.authenticator().refresh_keys().await?;
///
/// let admin_only = ServiceBuilder::new()
///     .layer(auth)
///     .layer(require_role("admin"))
///     .service_fn(|_: Request<String>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(String::from("secret")))
///     });
///
/// let call = |token: String| {
///     let request = Request::get("/")
///         .header("authorization", format!("Bearer {token}"))
///         .body(String::new())
///         .unwrap();
///     admin_only.clone().oneshot(request)
/// };
/// let admin = call(issuer.token().groups(["app-admins"]).sign()).await?;
/// assert_eq!(admin.status(), 200);
/// let other = call(issuer.token().groups(["staff"]).sign()).await?;
/// assert_eq!(other.status(), 403);
/// # Ok(())
/// # }
/// ```
///
/// Role and scope names may be known only at run time, read from configuration:
/// `require_role(settings.admin_role.clone())`,
/// `require_any_role(vec![String::from("admin"), String::from("support")])`.
pub struct GuardLayer<U = User> {
    requirement: Arc<Requirement>,
    user: PhantomData<fn() -> U>,
}

impl GuardLayer<User> {
    /// A guard for `requirement`, checking the default [`User`].
    ///
    /// # Panics
    ///
    /// When the requirement is invalid ([`Requirement::validate`]): an empty role or
    /// scope list, or an empty name. Like a conflicting axum route, this stops the
    /// service while its router is built, rather than guarding nothing. Use
    /// [`try_new`](Self::try_new) for requirements read at run time.
    #[must_use]
    #[track_caller]
    pub fn new(requirement: Requirement) -> Self {
        if let Err(err) = requirement.validate() {
            panic!("authgate: invalid guard {requirement:?}: {err}");
        }
        Self {
            requirement: Arc::new(requirement),
            user: PhantomData,
        }
    }

    /// A guard for `requirement`, or why it cannot be one.
    ///
    /// # Errors
    ///
    /// The [`InvalidRequirement`](authgate::InvalidRequirement) from
    /// [`Requirement::validate`].
    pub fn try_new(requirement: Requirement) -> Result<Self, authgate::InvalidRequirement> {
        requirement.validate()?;
        Ok(Self {
            requirement: Arc::new(requirement),
            user: PhantomData,
        })
    }
}

impl<U> GuardLayer<U> {
    /// The same guard, checking the user type `V` (what your claims mapper makes).
    #[must_use]
    pub fn for_user<V: GuardUser>(self) -> GuardLayer<V> {
        GuardLayer {
            requirement: self.requirement,
            user: PhantomData,
        }
    }

    /// What the guard requires.
    #[must_use]
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }
}

impl<U> Clone for GuardLayer<U> {
    fn clone(&self) -> Self {
        Self {
            requirement: Arc::clone(&self.requirement),
            user: PhantomData,
        }
    }
}

impl<U> fmt::Debug for GuardLayer<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("requirement", &self.requirement)
            .finish()
    }
}

/// A guard for users with the role `role`: a `&'static str`, or a `String` known
/// only at run time.
///
/// # Panics
///
/// On an empty name or list, while the router is built (see [`GuardLayer::new`]).
#[must_use]
#[track_caller]
pub fn require_role(role: impl Into<Cow<'static, str>>) -> GuardLayer {
    GuardLayer::new(Requirement::Role(role.into()))
}

/// A guard for users with at least one of `roles`: `&["admin", "support"]`, or a
/// `Vec<String>` (any [`Names`]) known only at run time.
///
/// # Panics
///
/// On an empty name or list, while the router is built (see [`GuardLayer::new`]).
#[must_use]
#[track_caller]
pub fn require_any_role(roles: impl Into<Names>) -> GuardLayer {
    GuardLayer::new(Requirement::AnyRole(roles.into()))
}

/// A guard for tokens that carry the scope `scope` (one scope token, such as
/// `"goauthentik.io/api"`).
///
/// A refused request gets 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`.
///
/// # Panics
///
/// On an empty name or list, while the router is built (see [`GuardLayer::new`]).
#[must_use]
#[track_caller]
pub fn require_scope(scope: impl Into<Cow<'static, str>>) -> GuardLayer {
    GuardLayer::new(Requirement::Scope(scope.into()))
}

/// A guard for tokens that carry every one of `scopes`.
///
/// # Panics
///
/// On an empty name or list, while the router is built (see [`GuardLayer::new`]).
#[must_use]
#[track_caller]
pub fn require_scopes(scopes: impl Into<Names>) -> GuardLayer {
    GuardLayer::new(Requirement::Scopes(scopes.into()))
}

/// A guard for any authenticated user: for a group of routes that need a login behind
/// an optional `AuthLayer`.
#[must_use]
pub fn require_authenticated() -> GuardLayer {
    GuardLayer::new(Requirement::Authenticated)
}

impl<S, U> Layer<S> for GuardLayer<U> {
    type Service = GuardService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The tower service made by [`GuardLayer`].
pub struct GuardService<S, U = User> {
    inner: S,
    layer: GuardLayer<U>,
}

impl<S: Clone, U> Clone for GuardService<S, U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, U> fmt::Debug for GuardService<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, U, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S, U>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    U: GuardUser,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let checked =
            lookup::guarded::<U, _>(request.extensions(), &self.layer.requirement).map(|_| ());
        let state = match checked {
            Ok(()) => State::Inner {
                future: self.inner.call(request),
            },
            Err(rejection) => State::Rejected {
                response: Some(rejection.into_response()),
            },
        };
        GuardFuture { state }
    }
}

pin_project! {
    /// The response future of [`GuardService`].
    pub struct GuardFuture<F, B> {
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
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> fmt::Debug for GuardFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for GuardFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("future polled after completion")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{ServiceBuilder, ServiceExt};

    async fn echo(_: Request<String>) -> Result<Response<String>, Infallible> {
        Ok(Response::new(String::from("passed")))
    }

    fn user(role: &str, scopes: &[&str]) -> User {
        User::builder("u1")
            .role(role)
            .scopes(scopes.iter().copied())
            .build()
    }

    fn request(user: Option<User>) -> Request<String> {
        let mut request = Request::new(String::new());
        if let Some(user) = user {
            request.extensions_mut().insert(user);
        }
        request
    }

    #[tokio::test]
    async fn passes_a_user_with_the_role() {
        let service = ServiceBuilder::new()
            .layer(require_any_role(&["admin", "support"]))
            .service_fn(echo);
        let response = service.oneshot(request(Some(user("support", &[])))).await;
        assert_eq!(response.unwrap().into_body(), "passed");
    }

    #[tokio::test]
    async fn refuses_a_user_without_the_role() {
        assert_eq!(
            require_role("admin").requirement(),
            &Requirement::role("admin")
        );
        let service = ServiceBuilder::new()
            .layer(require_role("admin"))
            .service_fn(echo);
        let response = service.oneshot(request(Some(user("support", &[])))).await;
        let response = response.unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.into_body().contains("insufficient_role"));
    }

    #[tokio::test]
    async fn scope_list_requires_every_scope() {
        let layer = require_scopes(&["openid", "goauthentik.io/api"]);
        assert_eq!(
            layer.requirement(),
            &Requirement::scopes(&["openid", "goauthentik.io/api"])
        );
        let service = ServiceBuilder::new().layer(layer.clone()).service_fn(echo);
        let refused = service
            .clone()
            .oneshot(request(Some(user("user", &["openid"]))))
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        let header = refused.headers()["www-authenticate"].to_str().unwrap();
        assert!(header.contains(r#"scope="openid goauthentik.io/api""#));
        let passed = service
            .oneshot(request(Some(user(
                "user",
                &["openid", "goauthentik.io/api"],
            ))))
            .await
            .unwrap();
        assert_eq!(passed.status(), 200);
    }

    #[tokio::test]
    async fn without_any_adapter_answers_500() {
        let service = ServiceBuilder::new()
            .layer(require_authenticated())
            .service_fn(echo);
        let response = service.oneshot(request(None)).await.unwrap();
        assert_eq!(response.status(), 500);
        assert!(response.into_body().contains("auth_layer_missing"));
    }
}
