//! `example-grpc`: reads the core's variables (`AUTHENTIK_URL`, `AUTHENTIK_APP_SLUG`,
//! `AUTHENTIK_CLIENT_ID`, `AUTH_ROLE_MAP`, …) and `PORT` (default 50051), and serves
//! `authgate.example.Account` on `127.0.0.1:$PORT` until Ctrl-C.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match authgate::AuthConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("example-grpc: {err}");
            return ExitCode::from(2);
        }
    };
    let port = match std::env::var("PORT").map(|port| port.parse::<u16>()) {
        Err(_) => 50051,
        Ok(Ok(port)) => port,
        Ok(Err(err)) => {
            eprintln!("example-grpc: PORT is not a port number: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("example-grpc: cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("example-grpc listening on http://{addr} (authgate.example.Account)");
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match example_grpc::serve(listener, example_grpc::layer(config), shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("example-grpc: {err}");
            ExitCode::FAILURE
        }
    }
}
