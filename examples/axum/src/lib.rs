//! The example contract ([`example_contract`]) on axum: the tower
//! [`AuthLayer`] authenticates, the extractors and attribute guards
//! of `authgate-extract` authorise.
//!
//! The service also answers CORS for its trusted origins (`FRONTEND_URL` and `API_URL`,
//! see [`AuthConfig::trusted_origins`](authgate::AuthConfig::trusted_origins)), with
//! credentials, so a frontend on its own origin can call `/api/*` and `/auth/*` with
//! `fetch(.., { credentials: "include" })`. Any other origin gets no CORS headers, so
//! the browser keeps the answer from it (and a cookie-authenticated `POST` from it is
//! refused by the CSRF check before any handler runs).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = example_contract::ServiceConfig::from_env()?;
//! let listener = tokio::net::TcpListener::bind(config.addr()).await?;
//! axum::serve(listener, example_axum::app(config).await?).await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use authgate::AuthLayer;
use authgate_extract::{AccessToken, Auth, User, require_any_role, require_role, require_scope};
use authgate_flow::Flow;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::get;
use example_contract::{Reply, ServiceConfig, ServiceConfigError};
use tower_http::cors::{AllowOrigin, CorsLayer};

type Config = Arc<ServiceConfig>;

fn reply(reply: Reply) -> Response {
    reply.into_response().map(axum::body::Body::from)
}

async fn health() -> Response {
    reply(example_contract::health())
}

async fn me(Auth(user): Auth<User>) -> Response {
    reply(example_contract::me(&user))
}

#[require_role("admin")]
async fn admin(Auth(user): Auth<User>) -> Response {
    reply(example_contract::admin(&user))
}

#[require_any_role("admin", "support")]
async fn support(Auth(user): Auth<User>) -> Response {
    reply(example_contract::support(&user))
}

async fn create_item(
    State(config): State<Config>,
    Auth(user): Auth<User>,
    body: Bytes,
) -> Response {
    reply(config.items().create(&user, &body))
}

async fn list_items(State(config): State<Config>, Auth(user): Auth<User>) -> Response {
    reply(config.items().list(&user))
}

#[require_scope("goauthentik.io/api")]
async fn webauthn(State(config): State<Config>, Auth(token): Auth<AccessToken>) -> Response {
    reply(config.webauthn(&token).await)
}

/// The service's router, with an [`AuthLayer`] built from the configuration and the
/// login flow under `/auth` when it is configured.
///
/// # Errors
///
/// The login flow could not be set up (its Redis store is unreachable).
pub async fn app(config: ServiceConfig) -> Result<Router, ServiceConfigError> {
    let layer = AuthLayer::new(config.auth().clone());
    let flow = config.flow(layer.authenticator()).await?;
    Ok(router(config, layer, flow))
}

/// The service's router around an existing layer (to share its key store, or to
/// wait for its keys first) and login flow, answering CORS for the trusted origins.
pub fn router(config: ServiceConfig, layer: AuthLayer, flow: Option<Flow>) -> Router {
    let cors = cors(&config);
    let api = Router::new()
        .route("/api/me", get(me))
        .route("/api/admin", get(admin))
        .route("/api/support", get(support))
        .route("/api/items", get(list_items).post(create_item))
        .route("/api/auth/webauthn", get(webauthn))
        .layer(layer)
        .with_state(Arc::new(config));
    let app = Router::new().route("/healthz", get(health)).merge(api);
    let app = match flow {
        Some(flow) => app.merge(flow.router()),
        None => app,
    };
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// CORS with credentials for the configured trusted origins, or `None` when there are
/// none. Preflights are answered by the layer itself, before authentication.
fn cors(config: &ServiceConfig) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .auth()
        .trusted_origins()
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}
