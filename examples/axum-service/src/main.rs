//! `axum-service`: reads the `AUTHENTIK_*` variables and `PORT` (default 3000) and
//! serves the example contract on `127.0.0.1:$PORT`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match service_contract::ServiceConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("axum-service: {err}");
            return ExitCode::from(2);
        }
    };
    let app = match axum_service::app(config.clone()).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("axum-service: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.addr()).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("axum-service: cannot listen on {}: {err}", config.addr());
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("axum-service listening on http://{addr}");
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("axum-service: {err}");
            ExitCode::FAILURE
        }
    }
}
