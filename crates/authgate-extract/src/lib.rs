#![doc = include_str!("../README.md")]
//!
//! # The types
//!
//! | type | what it gives a handler | refused with |
//! |---|---|---|
//! | [`Auth<U>`](Auth) | the user (`Option<Auth<U>>`: maybe) | 401, or 500 without an adapter |
//! | [`Auth<AccessToken>`](Auth) | the raw access token | 401, or 500 without an adapter |
//! | [`Guard<G, U>`](Guard) | the user, if it meets `G`'s [`Requirement`] | 401 / 403, or 500 |
//! | [`GuardLayer`] | a route layer / middleware for a group of routes | 401 / 403, or 500 |
//!
//! Every refusal is the core's [`Rejection`], turned into each framework's response
//! by the core (its `axum` and `actix` features, which this crate's features enable).
//! The statuses, headers and JSON bodies are the core's, so an axum service and an
//! actix-web service answer the same request the same way. Behind an adapter with an
//! [`OnRejection`](authgate::OnRejection) hook (`AuthLayer::on_rejection`,
//! `AuthMiddleware::on_rejection`), every extractor and guard answers with the hook's
//! response instead, which it finds in the request.
//!
//! # Features
//!
//! - `axum`: `FromRequestParts` (and `OptionalFromRequestParts`) for the extractors,
//!   `IntoResponse` for [`Rejection`]. The authentication itself is the core's
//!   tower [`authgate::AuthLayer`].
//! - `actix`: `FromRequest` for the extractors, `ResponseError` and `Responder` for
//!   [`Rejection`], the [`actix::AuthMiddleware`] (actix-web does not run tower
//!   layers), and [`GuardLayer`] as an actix-web middleware.
//! - `tonic`: the [`grpc`] module: the user and role or scope checks in a tonic
//!   handler, refusals as a `tonic::Status` (the mapping of
//!   [`authgate::GrpcRejection`]).
//! - `macros` (default): the attribute guards `#[require_role("admin")]`,
//!   `#[require_any_role("admin", "support")]` and `#[require_scope("goauthentik.io/api")]`,
//!   re-exported from `authgate-macros`.
//!
//! Both framework features are additive and off by default. [`GuardLayer`] is a plain
//! tower layer and needs none.
//!
//! # axum
//!
//! The [`AuthLayer`](authgate::AuthLayer) authenticates; the extractors read its result.
//! Guards run before body extractors, so a refused request gets 401/403 and its body is
//! never parsed:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "macros"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authgate::{AuthConfig, AuthLayer, RoleMap};
//! use authgate_extract::{Auth, User, require_role, require_scope};
//! use axum::body::Body;
//! use axum::routing::{get, post};
//! use axum::{Json, Router};
//! use authgate_testkit::TestIssuer;
//! use http::Request;
//! use tower::ServiceExt;
//!
//! async fn me(Auth(user): Auth<User>) -> String {
//!     user.sub
//! }
//!
//! // The guard becomes the handler's first extractor: it runs before `Json`.
//! #[require_role("admin")]
//! async fn create(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
//!     Json(body)
//! }
//!
//! let issuer = TestIssuer::start().await?;
//! let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
//!     .role_map(RoleMap::parse("app-admins=admin")?)
//!     .build()?;
//! let auth = AuthLayer::new(config);
//! auth.authenticator().refresh_keys().await?;
//!
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/items", post(create))
//!     // A group of routes behind a route layer:
//!     .merge(Router::new().route("/authentik", get(|| async { "ok" })).route_layer(
//!         require_scope("goauthentik.io/api"),
//!     ))
//!     .layer(auth);
//!
//! let send = |token: String, method: &str, uri: &str, body: &'static str| {
//!     let request = Request::builder()
//!         .method(method)
//!         .uri(uri)
//!         .header("authorization", format!("Bearer {token}"))
//!         .header("content-type", "application/json")
//!         .body(Body::from(body))
//!         .unwrap();
//!     app.clone().oneshot(request)
//! };
//! let alice = issuer.token().sub("alice").groups(["staff"]).sign();
//! assert_eq!(send(alice.clone(), "GET", "/me", "").await?.status(), 200);
//! // Not an admin: 403, although the body is not even JSON.
//! assert_eq!(send(alice.clone(), "POST", "/items", "{oops").await?.status(), 403);
//! // No `goauthentik.io/api` scope: 403 with `error="insufficient_scope"`.
//! let response = send(alice, "GET", "/authentik", "").await?;
//! assert_eq!(response.status(), 403);
//! assert!(response.headers()["www-authenticate"].to_str()?.contains("insufficient_scope"));
//!
//! let admin = issuer.token().groups(["app-admins"]).sign();
//! assert_eq!(send(admin, "POST", "/items", "{}").await?.status(), 200);
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "axum", feature = "macros")))]
//! # fn main() {}
//! ```
//!
//! # actix-web
//!
//! See the [`actix`] module (feature `actix`).
// Without the `actix` feature the module is not documented here: link to docs.rs.
#![cfg_attr(
    not(feature = "actix"),
    doc = "\n\n[`actix`]: https://docs.rs/authgate-extract/latest/authgate_extract/actix/index.html\n\
           [`actix::AuthMiddleware`]: https://docs.rs/authgate-extract/latest/authgate_extract/actix/struct.AuthMiddleware.html"
)]
// Without the `tonic` feature the module is not documented here: link to docs.rs.
#![cfg_attr(
    not(feature = "tonic"),
    doc = "\n\n[`grpc`]: https://docs.rs/authgate-extract/latest/authgate_extract/grpc/index.html"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod extract;
mod layer;
mod lookup;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum_impl;
#[cfg(feature = "tonic")]
pub mod grpc;

pub use authgate::{AccessToken, GuardUser, Names, Rejection, Requirement, User};
#[cfg(feature = "macros")]
pub use authgate_macros::{require_any_role, require_role, require_scope};

pub use extract::{Auth, Guard, GuardSpec};
pub use layer::{
    GuardFuture, GuardLayer, GuardService, require_any_role, require_authenticated, require_role,
    require_scope, require_scopes,
};

#[doc(hidden)]
pub mod __private {
    //! Used by the code the attribute macros write; not a public API.

    /// Compiles only for a user type that guards can check.
    pub const fn assert_guard_user<U: crate::GuardUser>() {}

    /// Expands to nothing when the `axum` feature is on, to a compile error otherwise.
    #[cfg(feature = "axum")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __authgate_framework_axum {
        () => {};
    }

    /// Expands to nothing when the `axum` feature is on, to a compile error otherwise.
    #[cfg(not(feature = "axum"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __authgate_framework_axum {
        () => {
            ::core::compile_error!(
                "framework = \"axum\" needs the `axum` feature of authgate-extract: \
                 authgate-extract = { version = \"0.1\", features = [\"axum\"] }"
            );
        };
    }

    /// Expands to nothing when the `actix` feature is on, to a compile error otherwise.
    #[cfg(feature = "actix")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __authgate_framework_actix {
        () => {};
    }

    /// Expands to nothing when the `actix` feature is on, to a compile error otherwise.
    #[cfg(not(feature = "actix"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __authgate_framework_actix {
        () => {
            ::core::compile_error!(
                "framework = \"actix\" needs the `actix` feature of authgate-extract: \
                 authgate-extract = { version = \"0.1\", features = [\"actix\"] }"
            );
        };
    }
}
