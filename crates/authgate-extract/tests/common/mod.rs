//! Shared by this crate's integration tests: guard specs and handlers that every
//! framework's tests mount. The issuer set-up, token presets and request helpers come
//! from `authgate-test-support`.
#![allow(dead_code, unreachable_pub)]

use authgate::{Authenticator, Claims, GuardUser, Names, Requirement, User};
use authgate_extract::{Auth, GuardSpec};
use authgate_test_support::Tokens;
use authgate_testkit::TestIssuer;
use http::StatusCode;

/// Admins only.
pub struct Admins;

impl GuardSpec for Admins {
    const REQUIREMENT: Requirement = Requirement::AnyRole(Names::from_static(&["admin"]));
}

/// Admins and support staff.
pub struct Staff;

impl GuardSpec for Staff {
    const REQUIREMENT: Requirement =
        Requirement::AnyRole(Names::from_static(&["admin", "support"]));
}

/// Support staff only (a user in `app-admins` and `app-support` is one too).
pub struct SupportOnly;

impl GuardSpec for SupportOnly {
    const REQUIREMENT: Requirement = Requirement::AnyRole(Names::from_static(&["support"]));
}

/// Tokens that may call Authentik's API.
pub struct AuthentikApi;

impl GuardSpec for AuthentikApi {
    const REQUIREMENT: Requirement =
        Requirement::Scopes(Names::from_static(&["goauthentik.io/api"]));
}

/// A guard written with an empty role list: it must refuse everyone (500), never let
/// everyone through.
pub struct NobodyListed;

impl GuardSpec for NobodyListed {
    const REQUIREMENT: Requirement = Requirement::AnyRole(Names::from_static(&[]));
}

/// Answers with the user's `sub`.
pub async fn me(Auth(user): Auth<User>) -> String {
    user.sub
}

/// Answers with the user's `sub`, or `anonymous`.
pub async fn maybe(user: Option<Auth<User>>) -> String {
    user.map_or_else(|| String::from("anonymous"), |Auth(user)| user.sub)
}

/// One request of [`guard_cases`]: method, path, bearer token, expected status.
pub type Case = (&'static str, &'static str, Option<String>, StatusCode);

/// What each preset token gets from the routes every framework's guard test mounts:
/// `GET /admin/a` and `POST /admin/b` (role `admin`), `GET /staff` (`admin` or
/// `support`), `GET /api` (scope `goauthentik.io/api`), `GET /members` (anyone signed
/// in) and `GET /public` (anyone).
pub fn guard_cases(t: &Tokens) -> Vec<Case> {
    let (ada, sam, api) = (
        Some(t.admin.clone()),
        Some(t.support.clone()),
        Some(t.api.clone()),
    );
    vec![
        ("GET", "/admin/a", ada.clone(), StatusCode::OK),
        ("POST", "/admin/b", ada.clone(), StatusCode::OK),
        ("GET", "/admin/a", sam.clone(), StatusCode::FORBIDDEN),
        ("POST", "/admin/b", None, StatusCode::UNAUTHORIZED),
        ("GET", "/staff", sam.clone(), StatusCode::OK),
        ("GET", "/staff", ada, StatusCode::OK),
        ("GET", "/staff", api.clone(), StatusCode::FORBIDDEN),
        ("GET", "/api", api.clone(), StatusCode::OK),
        ("GET", "/api", sam, StatusCode::FORBIDDEN),
        ("GET", "/members", api, StatusCode::OK),
        ("GET", "/members", None, StatusCode::UNAUTHORIZED),
        ("GET", "/public", None, StatusCode::OK),
    ]
}

/// A token of `max`, in both `app-admins` and `app-support`: roles `admin` (primary)
/// and `support`.
pub fn admin_and_support(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .sub("max")
        .groups(["app-admins", "app-support"])
        .sign()
}

/// The user type of a service with its own claims mapper.
#[derive(Debug, Clone)]
pub struct Customer {
    /// `sub`.
    pub id: String,
}

impl GuardUser for Customer {
    fn has_role(&self, _: &str) -> bool {
        true
    }

    fn has_scope(&self, _: &str) -> bool {
        true
    }
}

/// An authenticator over `auth`'s issuer that makes [`Customer`]s.
pub fn customers(auth: &Authenticator) -> Authenticator<Customer> {
    Authenticator::with_mapper(auth.config().clone(), |claims: &Claims| {
        Ok(Customer {
            id: claims.sub().to_owned(),
        })
    })
}

/// Answers with the customer's id.
pub async fn customer(Auth(customer): Auth<Customer>) -> String {
    customer.id
}

/// The start of the message of the 500 for a handler asking for [`User`] behind a
/// layer making [`Customer`]s.
pub const MISMATCH: &str = "authgate: this handler asks for the user type `authgate::user::User`, but the authentication layer on this route makes `";
