//! tonic (feature `tonic`): the user in a gRPC handler, role and scope checks inside
//! it, and refusals as a [`tonic::Status`].
//!
//! The [`authgate::AuthLayer`] protects a tonic server as it does an axum router
//! (`Server::builder().layer(AuthLayer::new(config).on_rejection(GrpcRejection))`);
//! with the [`GrpcRejection`] hook its refusals are gRPC statuses. tonic has no
//! extractors: a handler reads what the layer put into the request with [`user`], or
//! checks a [`Requirement`] with [`require`]. Their refusals are the very statuses the
//! layer answers with: the code of [`GrpcRejection::code`], the refusal's message, and
//! its machine code in the `authgate-error` metadata.
//!
//! ```
//! use std::sync::Arc;
//!
//! use authgate::{Requirement, User};
//! use authgate_extract::grpc;
//!
//! /// An admin-only call.
//! async fn purge(request: tonic::Request<()>) -> Result<tonic::Response<String>, tonic::Status> {
//!     let admin: Arc<User> = grpc::require(request.extensions(), &Requirement::role("admin"))?;
//!     Ok(tonic::Response::new(format!("purged by {}", admin.sub)))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // No `AuthLayer` ran: a server bug, answered INTERNAL.
//! let status = purge(tonic::Request::new(())).await.unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Internal);
//! assert_eq!(status.metadata().get("authgate-error").unwrap(), "auth_layer_missing");
//! # }
//! ```
//!
//! `examples/grpc` in the repository is a whole service and its client.

use std::sync::Arc;

use authgate::{GRPC_ERROR_METADATA, GrpcRejection, GuardUser, Rejection, Requirement};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use crate::lookup;

/// A refusal as a gRPC status: the code [`GrpcRejection::code`] gives for its HTTP
/// status, its message, and its machine code in the `authgate-error` metadata, as
/// the [`GrpcRejection`] hook answers it.
///
/// ```
/// use authgate::AuthError;
/// use authgate_extract::grpc;
///
/// let status = grpc::status(&AuthError::Expired.rejection("api"));
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.message(), "the token has expired");
/// assert_eq!(status.metadata().get("authgate-error").unwrap(), "token_expired");
/// ```
#[must_use]
pub fn status(rejection: &Rejection) -> Status {
    let code = Code::from(i32::from(GrpcRejection::code(rejection.status())));
    let mut metadata = MetadataMap::new();
    metadata.insert(
        GRPC_ERROR_METADATA,
        MetadataValue::from_static(rejection.code()),
    );
    Status::with_metadata(code, rejection.message(), metadata)
}

/// The user the [`authgate::AuthLayer`] put into this request (`request.extensions()`
/// in a tonic handler: `http::Extensions`), shared with the token cache.
///
/// # Errors
///
/// `UNAUTHENTICATED` when the layer (in optional mode) let the request through without
/// a user; `INTERNAL` when no layer ran, or it makes another user type than `U`.
pub fn user<U>(extensions: &http::Extensions) -> Result<Arc<U>, Status>
where
    U: Clone + Send + Sync + 'static,
{
    lookup::required::<Arc<U>, _>(extensions).map_err(|rejection| status(&rejection))
}

/// The user, if it meets `requirement`: a role or scope check inside a tonic handler.
///
/// # Errors
///
/// `PERMISSION_DENIED` for a user without the role or scope, `UNAUTHENTICATED`
/// without a user, `INTERNAL` when no layer ran, it makes another user type than `U`,
/// or the requirement is invalid (an empty role list).
pub fn require<U: GuardUser>(
    extensions: &http::Extensions,
    requirement: &Requirement,
) -> Result<Arc<U>, Status> {
    lookup::guarded::<U, _>(extensions, requirement).map_err(|rejection| status(&rejection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use authgate::User;

    fn after_layer(user: Option<User>) -> http::Extensions {
        let config = authgate::AuthConfig::oidc("https://idp.example.com/")
            .audience("api")
            .build()
            .unwrap();
        let auth = authgate::Authenticator::new(config);
        let refusals = authgate::__private::Refusals::new(&auth, None);
        let mut extensions = http::Extensions::new();
        authgate::__private::insert_authentication::<_, User>(&mut extensions, &refusals, None);
        if let Some(user) = user {
            extensions.insert(Arc::new(user));
        }
        extensions
    }

    #[test]
    fn the_user_or_the_status_the_layer_would_answer() {
        let user = User::builder("ada").roles(["admin"]).build();
        let extensions = after_layer(Some(user));
        assert_eq!(user_of(&extensions).unwrap().sub, "ada");
        let admin = Requirement::role("admin");
        assert_eq!(require::<User>(&extensions, &admin).unwrap().sub, "ada");
        let denied = require::<User>(&extensions, &Requirement::role("billing")).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert_eq!(denied.message(), "this requires the role billing");
        assert_eq!(
            denied.metadata().get("authgate-error").unwrap(),
            "insufficient_role"
        );

        let anonymous = after_layer(None);
        let status = user_of(&anonymous).unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(
            status.metadata().get("authgate-error").unwrap(),
            "missing_token"
        );
        let status = require::<User>(&anonymous, &admin).unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }

    fn user_of(extensions: &http::Extensions) -> Result<Arc<User>, Status> {
        user::<User>(extensions)
    }

    #[test]
    fn no_layer_or_another_user_type_is_internal() {
        let none = http::Extensions::default();
        let status = user_of(&none).unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().contains("no AuthLayer on this route"));

        #[derive(Clone, Debug)]
        struct Other;
        let status = user::<Other>(&after_layer(None)).unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(
            status.metadata().get("authgate-error").unwrap(),
            "auth_user_type_mismatch"
        );
    }
}
