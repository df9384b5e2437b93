//! `example-actix`: reads the `AUTHENTIK_*` variables and `PORT` (default 3000) and
//! serves the example contract on `127.0.0.1:$PORT`.

use std::process::ExitCode;

use authgate_extract::actix::AuthMiddleware;

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match example_contract::ServiceConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("example-actix: {err}");
            return ExitCode::from(2);
        }
    };
    let auth = AuthMiddleware::new(config.auth().clone());
    let flow = match config.flow(auth.authenticator()).await {
        Ok(flow) => flow,
        Err(err) => {
            eprintln!("example-actix: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addr = config.addr();
    let config = actix_web::web::Data::new(config);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new().configure(example_actix::configure(
            config.clone(),
            auth.clone(),
            flow.clone(),
        ))
    })
    .workers(2)
    .bind(addr);
    let server = match server {
        Ok(server) => server,
        Err(err) => {
            eprintln!("example-actix: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    for addr in server.addrs() {
        println!("example-actix listening on http://{addr}");
    }
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("example-actix: {err}");
            ExitCode::FAILURE
        }
    }
}
