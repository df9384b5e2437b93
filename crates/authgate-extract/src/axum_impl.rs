//! The axum 0.8 side: the extractor impls. A refusal is the core's
//! [`Rejection`](authgate::Rejection), an axum `IntoResponse` through the core's
//! `axum` feature.

use authgate::{GuardUser, Rejection};
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::extract::{Auth, Guard, GuardSpec};
use crate::lookup;

impl<S, U> FromRequestParts<S> for Auth<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup::required(&parts.extensions).map(Auth)
    }
}

impl<S, U> OptionalFromRequestParts<S> for Auth<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        lookup::optional(&parts.extensions).map(|user| user.map(Auth))
    }
}

impl<S, G, U> FromRequestParts<S> for Guard<G, U>
where
    S: Send + Sync,
    G: GuardSpec,
    U: GuardUser,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        lookup::guarded::<U, _>(&parts.extensions, &G::REQUIREMENT).map(Guard::new)
    }
}
