//! The loopback HTTP server: routes, the outage switch and counters, its thread.

use std::sync::Arc;
use std::thread::JoinHandle;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tokio::sync::oneshot;

use super::counters::Endpoint;
use super::shared::Shared;
use crate::provider::handlers;

fn outage_response() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "authgate-testkit: simulated issuer outage\n",
    )
        .into_response()
}

/// Counts every request to an endpoint and answers 503 while the issuer is down.
async fn gate(
    State((shared, endpoint)): State<(Arc<Shared>, Endpoint)>,
    request: Request,
    next: Next,
) -> Response {
    shared.counters.hit(endpoint);
    if shared.is_down() {
        return outage_response();
    }
    next.run(request).await
}

fn router(shared: &Arc<Shared>) -> Router {
    let routes: [(Endpoint, MethodRouter<Arc<Shared>>); 8] = [
        (Endpoint::Discovery, get(handlers::discovery_handler)),
        (Endpoint::Jwks, get(handlers::jwks_handler)),
        (
            Endpoint::Authorize,
            get(handlers::authorize_get).post(handlers::authorize_post),
        ),
        (Endpoint::Token, post(handlers::token)),
        (
            Endpoint::Userinfo,
            get(handlers::userinfo).post(handlers::userinfo),
        ),
        (Endpoint::Revocation, post(handlers::revoke)),
        (
            Endpoint::EndSession,
            get(handlers::end_session_get).post(handlers::end_session_post),
        ),
        (Endpoint::AuthentikApi, get(handlers::webauthn_handler)),
    ];
    let mut router = Router::new();
    for (endpoint, method_router) in routes {
        let gated = method_router.layer(middleware::from_fn_with_state(
            (Arc::clone(shared), endpoint),
            gate,
        ));
        router = router.route(shared.path(endpoint), gated);
    }
    router.with_state(Arc::clone(shared))
}

/// Serves `shared` on `listener` from a thread of its own with a single-threaded
/// runtime, until the returned sender is used or dropped.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    listener: std::net::TcpListener,
) -> std::io::Result<(oneshot::Sender<()>, JoinHandle<()>)> {
    let port = listener.local_addr()?.port();
    let router = router(shared);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("authgate-testkit-{port}"))
        .spawn(move || {
            runtime.block_on(async move {
                let server = tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                });
                // Resolves on an explicit send or when the sender is dropped.
                let _ = shutdown_rx.await;
                server.abort();
            });
            // Dropping the runtime cancels the remaining connection tasks.
            drop(runtime);
        })?;
    Ok((shutdown_tx, thread))
}
