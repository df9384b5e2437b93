#![doc = include_str!("../README.md")]
//!
//! # What a guard attribute writes
//!
//! ```text
//! #[require_role("admin")]
//! pub async fn create(Json(item): Json<Item>) -> Json<Item> { .. }
//! ```
//!
//! becomes a hidden marker type, with the handler's visibility, that carries the
//! requirement, and the same handler (name, attributes, docs, visibility) with one more
//! first parameter:
//!
//! ```text
//! #[doc(hidden)]
//! pub struct __authgate_require_role_create;
//! impl authgate_extract::GuardSpec for __authgate_require_role_create {
//!     const REQUIREMENT: Requirement = Requirement::AnyRole(Names::from_static(&["admin"]));
//! }
//! pub async fn create(
//!     _: authgate_extract::Guard<__authgate_require_role_create, authgate_extract::User>,
//!     Json(item): Json<Item>,
//! ) -> Json<Item> { .. }
//! ```
//!
//! The `Guard` extractor reads only the request head, and it comes first, so a refused
//! request is answered 401 or 403 before its body is read (never 400 or 422). The same
//! code serves axum and actix-web: `Guard` implements both frameworks' extractor traits
//! (features `axum` and `actix` of `authgate-extract`).
//!
//! # Arguments
//!
//! After the roles or scopes, as string literals:
//!
//! - `user = path::To::Type`: the user type your claims mapper makes (default
//!   `authgate_extract::User`); it must implement `authgate_extract::GuardUser`. Forget
//!   it with a custom mapper and every request gets
//!   `500 auth_user_type_mismatch`, naming both types (logged once), never a 401.
//! - `framework = "axum"` or `framework = "actix"`: optional. The generated code is the
//!   same for both; naming one checks at compile time that `authgate-extract` has that
//!   framework's feature, with an error that says which feature to enable.
//!
//! Mistakes are compile errors that say what to write: a missing role, a role that is
//! not a string literal, an unknown argument or framework, a function that is not
//! `async`, a method.
//!
//! The guard goes on free functions (handlers), not on methods: the marker type is
//! written next to the function.

mod guard;
mod require_any_role;
mod require_role;
mod require_scope;

use proc_macro::TokenStream;

/// Lets the handler run only for users with the role: 401 for anonymous, 403 for
/// another role.
///
/// `#[require_role("admin")]`, `#[require_role("admin", user = my_crate::MyUser)]`,
/// `#[require_role("admin", framework = "axum")]`. See the [crate docs](crate).
///
/// ```
/// use authgate_extract::{Auth, User, require_role};
/// use axum::{Router, routing::get};
///
/// /// Only for admins.
/// #[require_role("admin")]
/// pub async fn admin_panel(Auth(user): Auth<User>) -> String {
///     format!("hello {}", user.sub)
/// }
///
/// let app: Router = Router::new().route("/admin", get(admin_panel));
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn require_role(attr: TokenStream, item: TokenStream) -> TokenStream {
    require_role::expand(attr.into(), item.into()).into()
}

/// Lets the handler run only for users with at least one of the roles: 401 for
/// anonymous, 403 for others.
///
/// `#[require_any_role("admin", "support")]`, with the same optional `user = ..` and
/// `framework = ".."` arguments as [`macro@require_role`].
///
/// ```
/// use actix_web::{App, web};
/// use authgate_extract::{Auth, User, require_any_role};
///
/// #[require_any_role("admin", "support", framework = "actix")]
/// async fn tickets(Auth(user): Auth<User>) -> String {
///     format!("tickets for {}", user.role)
/// }
///
/// let app = App::new().route("/tickets", web::get().to(tickets));
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn require_any_role(attr: TokenStream, item: TokenStream) -> TokenStream {
    require_any_role::expand(attr.into(), item.into()).into()
}

/// Lets the handler run only for tokens that carry every one of the scopes: 401 for
/// anonymous, 403 with `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="..."` otherwise.
///
/// `#[require_scope("goauthentik.io/api")]`, `#[require_scope("openid", "profile")]`
/// (one scope per string), with the same optional `user = ..` and `framework = ".."`
/// arguments as [`macro@require_role`].
///
/// ```
/// use authgate_extract::{AccessToken, Auth, GuardUser, require_scope};
/// use axum::{Router, routing::get};
///
/// /// A user type of your own (made by your claims mapper).
/// #[derive(Clone)]
/// struct Member {
///     scopes: Vec<String>,
/// }
///
/// impl GuardUser for Member {
///     fn has_role(&self, _role: &str) -> bool {
///         false
///     }
///     fn has_scope(&self, scope: &str) -> bool {
///         self.scopes.iter().any(|s| s == scope)
///     }
/// }
///
/// // Calls Authentik's API with the user's token.
/// #[require_scope("goauthentik.io/api", user = Member)]
/// async fn authentik_groups(Auth(token): Auth<AccessToken>) -> String {
///     format!("{} bytes of token", token.as_str().len())
/// }
///
/// let app: Router = Router::new().route("/groups", get(authentik_groups));
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn require_scope(attr: TokenStream, item: TokenStream) -> TokenStream {
    require_scope::expand(attr.into(), item.into()).into()
}
