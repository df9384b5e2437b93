//! `example-axum`: reads the `AUTHENTIK_*` variables and `PORT` (default 3000) and
//! serves the example contract on `127.0.0.1:$PORT`; with `METRICS_PORT` set, also
//! `GET /metrics` (Prometheus) on `127.0.0.1:$METRICS_PORT`.

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
    // The recorder first, so that the metrics count from the first request.
    if let Some(port) = std::env::var("METRICS_PORT")
        .ok()
        .filter(|p| !p.trim().is_empty())
        && let Err(err) = serve_metrics(&port).await
    {
        eprintln!("example-axum: METRICS_PORT: {err}");
        return ExitCode::from(2);
    }
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

/// Serves `GET /metrics` on `127.0.0.1:{port}`, in the background.
async fn serve_metrics(port: &str) -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = port.trim().parse()?;
    let handle = example_axum::prometheus().ok_or("another metrics recorder is installed")?;
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
    println!(
        "example-axum metrics on http://{}/metrics",
        listener.local_addr()?
    );
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, example_axum::metrics_router(handle)).await {
            eprintln!("example-axum: metrics listener: {err}");
        }
    });
    Ok(())
}
