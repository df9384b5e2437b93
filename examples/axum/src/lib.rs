//! The example contract ([`example_contract`]) on axum: the tower
//! [`AuthLayer`] authenticates, the extractors and attribute guards
//! of `authgate-extract` authorise.
//!
//! Beside the contract, two things only this example has:
//!
//! - `GET /api/ws`: a WebSocket that greets the user and echoes what it is sent,
//!   behind the same [`AuthLayer`]. A browser's `new WebSocket(url)` cannot set a
//!   header, so the token rides in the URL: set `AUTH_TOKEN_QUERY_PARAM=access_token`
//!   and connect to `ws://host/api/ws?access_token=TOKEN` (the cookie works too, when
//!   the page is on the API's site). Without the variable, a token in the URL is not
//!   read and the upgrade is refused with 401.
//! - `GET /metrics`: authgate's metrics in the Prometheus text format, on a listener
//!   of its own ([`metrics_router`], served by `main` on `127.0.0.1:$METRICS_PORT`
//!   when that variable is set), so scrapes stay off the public port: they carry no
//!   user data, but they tell how much traffic is refused and why.
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

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use authgate::AuthLayer;
use authgate_extract::{AccessToken, Auth, User, require_any_role, require_role, require_scope};
use authgate_flow::Flow;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::get;
use example_contract::{Reply, ServiceConfig, ServiceConfigError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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

/// `GET /api/ws`: the layer has authenticated the upgrade request (refusing it with
/// 401 before any upgrade), so the socket knows its user from the start.
async fn ws(Auth(user): Auth<User>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| greet_and_echo(socket, user))
}

/// Says `hello {sub}`, then sends back every text or binary message until the client
/// closes.
async fn greet_and_echo(mut socket: WebSocket, user: User) {
    let hello = Message::Text(format!("hello {}", user.sub).into());
    if socket.send(hello).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        let echo = match message {
            Message::Text(_) | Message::Binary(_) => message,
            Message::Close(_) => break,
            // Pings are answered by axum itself.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(echo).await.is_err() {
            break;
        }
    }
}

/// The Prometheus recorder of the process: installed as the `metrics` recorder the
/// first time this is called, the same handle afterwards. `None` when another
/// recorder was installed first. Run [`PrometheusHandle::run_upkeep`] now and then
/// (`main` does, every 5 s), or scrape often: histogram samples wait there. authgate's histogram is rendered with buckets from
/// 100 µs to 1 s (a verification takes tens of microseconds to a few milliseconds).
#[must_use]
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1.0,
                ])
                .ok()?
                .install_recorder()
                .ok()?;
            authgate::describe_metrics();
            Some(handle)
        })
        .clone()
}

/// `GET /metrics`: what `handle` has recorded, in the Prometheus text format. Serve it
/// on an internal listener, not beside the API (see the [crate docs](crate)).
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    )
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
        .route("/api/ws", get(ws))
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
