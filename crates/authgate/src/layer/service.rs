//! [`AuthService`]: the service [`AuthLayer`](super::AuthLayer) wraps around yours.
//!
//! `call` runs the synchronous authentication step: a cached token, a missing token or
//! a refusal never allocates a future. Only a token that names an unknown key waits,
//! in a boxed future, for the single shared key refetch.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use crate::__private::{Refusals, insert_authentication};
use crate::authenticator::Step;
use crate::on_rejection::OnRejection;
use crate::options::AuthOptions;

/// The service made by [`AuthLayer`](super::AuthLayer).
pub struct AuthService<S, U = crate::User, R = crate::DefaultRejection> {
    inner: S,
    options: AuthOptions<U>,
    on_rejection: R,
    /// The realm and the hook, for the marker of every admitted request.
    refusals: Refusals,
}

impl<S, U, R> AuthService<S, U, R> {
    pub(super) fn new(
        inner: S,
        options: AuthOptions<U>,
        on_rejection: R,
        refusals: Refusals,
    ) -> Self {
        Self {
            inner,
            options,
            on_rejection,
            refusals,
        }
    }
}

impl<S: Clone, U, R: Clone> Clone for AuthService<S, U, R> {
    fn clone(&self) -> Self {
        Self::new(
            self.inner.clone(),
            self.options.clone(),
            self.on_rejection.clone(),
            self.refusals.clone(),
        )
    }
}

impl<S: std::fmt::Debug, U, R: std::fmt::Debug> std::fmt::Debug for AuthService<S, U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("options", &self.options)
            .field("on_rejection", &self.on_rejection)
            .field("refusals", &self.refusals)
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
        let auth = self.options.authenticator();
        let realm = auth.config().realm();
        match auth.authenticate_step(request.method().as_str(), request.headers()) {
            Step::Done(outcome) => match self.options.admit(outcome) {
                Ok(authentication) => {
                    insert_authentication(request.extensions_mut(), &self.refusals, authentication);
                    ResponseFuture::inner(self.inner.call(request))
                }
                Err(error) => ResponseFuture::rejected(
                    self.on_rejection
                        .response(error.rejection(realm), Some(&error)),
                ),
            },
            Step::NeedKeys(pending) => {
                // The key set must be refetched first. Take the service that was polled
                // ready into the future, leaving a clone here.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let auth = auth.clone();
                let on_rejection = self.on_rejection.clone();
                let refusals = self.refusals.clone();
                ResponseFuture::authenticating(
                    async move {
                        match auth.finish(pending).await {
                            Ok(authentication) => {
                                insert_authentication(
                                    request.extensions_mut(),
                                    &refusals,
                                    Some(authentication),
                                );
                                Ok(request)
                            }
                            Err(error) => {
                                let rejection = error.rejection(refusals.realm());
                                Err(on_rejection.response(rejection, Some(&error)))
                            }
                        }
                    },
                    inner,
                )
            }
        }
    }
}
