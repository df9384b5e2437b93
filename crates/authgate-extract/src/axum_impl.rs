//! The axum 0.8 side: extractor impls and the one mapping from a rejection to an axum
//! response.

use authgate::guard::AuthUser;
use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::extract::{Auth, Guard, GuardSpec, Token};
use crate::lookup;
use crate::rejection::AuthRejection;

/// The axum mapping: the core builds the whole response.
impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        authgate::layer::rejection_response::<Body>(self.rejection())
    }
}

impl<S, U> FromRequestParts<S> for Auth<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup::required(&parts.extensions).map(Auth)
    }
}

impl<S, U> OptionalFromRequestParts<S> for Auth<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        lookup::optional(&parts.extensions).map(|user| user.map(Auth))
    }
}

impl<S> FromRequestParts<S> for Token
where
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup::required(&parts.extensions).map(Token)
    }
}

impl<S> OptionalFromRequestParts<S> for Token
where
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        lookup::optional(&parts.extensions).map(|token| token.map(Token))
    }
}

impl<S, G, U> FromRequestParts<S> for Guard<G, U>
where
    S: Send + Sync,
    G: GuardSpec,
    U: AuthUser,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup::guarded::<U, _>(&parts.extensions, G::REQUIREMENT)
            .map(|user| Guard::new(user.clone()))
    }
}
