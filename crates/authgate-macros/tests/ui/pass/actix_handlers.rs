#![deny(warnings)]
//! Guarded handlers are actix-web handlers, also with actix-web's route macros in
//! either order.

use actix_web::{App, get, web};
use authgate_extract::{Auth, User, require_any_role, require_role, require_scope};

/// Creates an item.
#[require_role("admin", framework = "actix")]
pub async fn create(Auth(user): Auth<User>, item: web::Json<serde_json::Value>) -> String {
    format!("{} {}", user.sub, item.into_inner())
}

#[require_any_role("admin", "support", framework = "actix-web")]
async fn tickets() -> &'static str {
    "tickets"
}

#[get("/outer")]
#[require_scope("goauthentik.io/api")]
async fn outer() -> &'static str {
    "outer"
}

#[require_role("admin")]
#[get("/inner")]
async fn inner() -> &'static str {
    "inner"
}

fn main() {
    let _app = App::new()
        .route("/items", web::post().to(create))
        .route("/tickets", web::get().to(tickets))
        .service(outer)
        .service(inner);
}
