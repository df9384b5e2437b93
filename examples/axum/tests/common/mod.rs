//! The example service on `127.0.0.1:0`, configured from a test issuer's variables.

use std::net::SocketAddr;

use authgate::AuthLayer;
use authgate_testkit::TestIssuer;
use example_contract::ServiceConfig;

/// Starts `example-axum` (the API, without the login flow) with the issuer's
/// variables and `extra`, once its keys are loaded; returns its address.
pub(crate) async fn start(issuer: &TestIssuer, extra: &[(&'static str, &str)]) -> SocketAddr {
    let mut env = issuer.env();
    env.retain(|(name, _)| *name != "AUTHENTIK_CLIENT_SECRET");
    env.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    let config = ServiceConfig::from_env_with(|name| {
        env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    })
    .expect("a valid configuration");
    let layer = AuthLayer::new(config.auth().clone());
    layer
        .authenticator()
        .refresh_keys()
        .await
        .expect("the keys load");
    serve(example_axum::router(config, layer, None)).await
}

/// Serves `app` on `127.0.0.1:0` in the background; returns its address.
pub(crate) async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    addr
}
