//! [`AuthService`]: the service [`AuthLayer`](super::AuthLayer) wraps around yours.
//!
//! `call` runs the synchronous authentication step: a cached token, a missing token or
//! a refusal never allocates a future. Only a token that names an unknown key waits,
//! in a boxed future, for the single shared key refetch.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::Shared;
use super::future::ResponseFuture;
use crate::__private::insert_authentication;
use crate::authenticator::Step;
use crate::on_rejection::OnRejection;

/// The service made by [`AuthLayer`](super::AuthLayer).
pub struct AuthService<S, U = crate::User, R = crate::DefaultRejection> {
    inner: S,
    /// The options, the hook and the marker's refusals, shared with the layer.
    shared: Arc<Shared<U, R>>,
}

impl<S, U, R> AuthService<S, U, R> {
    pub(super) fn new(inner: S, shared: Arc<Shared<U, R>>) -> Self {
        Self { inner, shared }
    }
}

impl<S: Clone, U, R> Clone for AuthService<S, U, R> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), Arc::clone(&self.shared))
    }
}

impl<S: std::fmt::Debug, U, R: std::fmt::Debug> std::fmt::Debug for AuthService<S, U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("layer", &self.shared)
            .finish()
    }
}

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
        let shared = &*self.shared;
        let auth = shared.options.authenticator();
        match auth.authenticate_step(request.method().as_str(), &request, shared.options.mode()) {
            Step::Done(outcome) => match shared.options.admit(outcome) {
                Ok(authentication) => {
                    insert_authentication(
                        request.extensions_mut(),
                        &shared.refusals,
                        authentication,
                    );
                    ResponseFuture::inner(self.inner.call(request))
                }
                Err(error) => {
                    let rejection = error.rejection(shared.refusals.realm());
                    ResponseFuture::rejected(shared.on_rejection.response(rejection, Some(&error)))
                }
            },
            Step::NeedKeys(pending) => {
                // The key set must be refetched first. Take the service that was polled
                // ready into the future, leaving a clone here.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let shared = Arc::clone(&self.shared);
                ResponseFuture::authenticating(
                    async move {
                        match shared.options.authenticator().finish(pending).await {
                            Ok(authentication) => {
                                insert_authentication(
                                    request.extensions_mut(),
                                    &shared.refusals,
                                    Some(authentication),
                                );
                                Ok(request)
                            }
                            Err(error) => {
                                let rejection = error.rejection(shared.refusals.realm());
                                Err(shared.on_rejection.response(rejection, Some(&error)))
                            }
                        }
                    },
                    inner,
                )
            }
        }
    }
}
