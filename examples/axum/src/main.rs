//! `example-axum`: reads the `AUTHENTIK_*` variables and `PORT` (default 3000) and
//! serves the example contract on `127.0.0.1:$PORT`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match example_contract::ServiceConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("example-axum: {err}");
            return ExitCode::from(2);
        }
    };
    let app = match example_axum::app(config.clone()).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("example-axum: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.addr()).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("example-axum: cannot listen on {}: {err}", config.addr());
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("example-axum listening on http://{addr}");
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
            eprintln!("example-axum: {err}");
            ExitCode::FAILURE
        }
    }
}
