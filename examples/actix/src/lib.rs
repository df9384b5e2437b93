//! The example contract ([`example_contract`]) on actix-web: the
//! [`AuthMiddleware`] authenticates (actix-web does not run tower layers), the
//! extractors and attribute guards of `authgate-extract` authorise.
//!
//! ```no_run
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authgate_extract::actix::AuthMiddleware;
//!
//! let config = example_contract::ServiceConfig::from_env()?;
//! let auth = AuthMiddleware::new(config.auth().clone());
//! let flow = config.flow(auth.authenticator()).await?;
//! let addr = config.addr();
//! let config = actix_web::web::Data::new(config);
//! actix_web::HttpServer::new(move || {
//!     actix_web::App::new().configure(example_actix::configure(
//!         config.clone(),
//!         auth.clone(),
//!         flow.clone(),
//!     ))
//! })
//! .bind(addr)?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! ```

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpResponse, Responder};
use authgate_extract::actix::{AuthMiddleware, http_response};
use authgate_extract::{AccessToken, Auth, User, require_any_role, require_role, require_scope};
use authgate_flow::Flow;
use example_contract::{Reply, ServiceConfig};

fn reply(reply: Reply) -> HttpResponse {
    http_response(reply.into_response())
}

async fn health() -> impl Responder {
    reply(example_contract::health())
}

async fn me(Auth(user): Auth<User>) -> impl Responder {
    reply(example_contract::me(&user))
}

#[require_role("admin", framework = "actix")]
async fn admin(Auth(user): Auth<User>) -> impl Responder {
    reply(example_contract::admin(&user))
}

#[require_any_role("admin", "support", framework = "actix")]
async fn support(Auth(user): Auth<User>) -> impl Responder {
    reply(example_contract::support(&user))
}

async fn create_item(
    config: Data<ServiceConfig>,
    Auth(user): Auth<User>,
    body: Bytes,
) -> impl Responder {
    reply(config.items().create(&user, &body))
}

async fn list_items(config: Data<ServiceConfig>, Auth(user): Auth<User>) -> impl Responder {
    reply(config.items().list(&user))
}

#[require_scope("goauthentik.io/api", framework = "actix")]
async fn webauthn(config: Data<ServiceConfig>, Auth(token): Auth<AccessToken>) -> impl Responder {
    reply(config.webauthn(&token).await)
}

/// Registers the service's routes: `/healthz` in the open, `/api/*` behind `auth`, and
/// the login flow's scope when there is one.
pub fn configure(
    config: Data<ServiceConfig>,
    auth: AuthMiddleware,
    flow: Option<Flow>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        if let Some(flow) = flow {
            cfg.service(flow.scope());
        }
        cfg.app_data(config)
            .route("/healthz", web::get().to(health))
            .service(
                web::scope("/api")
                    .wrap(auth)
                    .route("/me", web::get().to(me))
                    .route("/admin", web::get().to(admin))
                    .route("/support", web::get().to(support))
                    .service(
                        web::resource("/items")
                            .route(web::get().to(list_items))
                            .route(web::post().to(create_item)),
                    )
                    .route("/auth/webauthn", web::get().to(webauthn)),
            );
    }
}
