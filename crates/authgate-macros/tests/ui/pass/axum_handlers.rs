#![deny(warnings)]
//! Guarded handlers keep their name, docs, attributes and visibility, and stay axum
//! handlers.

use authgate_extract::{
    Auth, GuardUser, AccessToken, User, require_any_role, require_role, require_scope,
};
use axum::routing::{get, post};
use axum::{Json, Router};

/// Public handlers: the marker types take their visibility.
pub mod handlers {
    use super::*;

    /// Creates an item.
    #[require_role("admin")]
    #[must_use = "a handler's future does nothing unless awaited"]
    pub async fn create(Auth(user): Auth<User>, Json(item): Json<serde_json::Value>) -> String {
        format!("{} {item}", user.sub)
    }

    /// For staff.
    #[require_any_role("admin", "support", framework = "axum")]
    pub(crate) async fn tickets() -> &'static str {
        "tickets"
    }

    /// Calls the provider's API.
    #[require_scope("goauthentik.io/api", "openid")]
    pub async fn groups(Auth(token): Auth<AccessToken>) -> String {
        token.as_str().len().to_string()
    }
}

#[derive(Clone)]
struct Member;

impl GuardUser for Member {
    fn has_role(&self, role: &str) -> bool {
        role == "captain"
    }

    fn has_scope(&self, _scope: &str) -> bool {
        false
    }
}

#[require_role("captain", user = crate::Member, framework = "axum")]
async fn bridge(Auth(_member): Auth<Member>) -> &'static str {
    "bridge"
}

// Two guards stacked: both run.
#[require_role("admin")]
#[require_scope("goauthentik.io/api")]
async fn both() {}

fn main() {
    let _app: Router = Router::new()
        .route("/items", post(handlers::create))
        .route("/tickets", get(handlers::tickets))
        .route("/groups", get(handlers::groups))
        .route("/bridge", get(bridge))
        .route("/both", get(both));
}
