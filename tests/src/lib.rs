//! Harness for the workspace-level end-to-end tests: runs the example services
//! in-process on `127.0.0.1:0`, one on axum and one on actix-web, from the same
//! configuration.

use std::net::{SocketAddr, TcpListener};

use authgate::AuthLayer;
use authgate_extract::actix::AuthMiddleware;
use example_contract::ServiceConfig;

pub mod provider;

/// A running axum example service; stops when dropped.
#[derive(Debug)]
pub struct AxumService {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl AxumService {
    /// Starts `example-axum` with `config`, once its keys are loaded.
    ///
    /// # Panics
    ///
    /// When the keys cannot be loaded or the port cannot be bound.
    pub async fn start(config: ServiceConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self::start_on(listener, config).await
    }

    /// Starts `example-axum` on a port bound beforehand (so its URL can be part of
    /// its own configuration).
    ///
    /// # Panics
    ///
    /// When the keys cannot be loaded or the listener cannot be used.
    pub async fn start_on(listener: TcpListener, config: ServiceConfig) -> Self {
        let layer = AuthLayer::new(config.auth().clone());
        layer
            .authenticator()
            .refresh_keys()
            .await
            .expect("the issuer serves keys");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let addr = listener.local_addr().expect("local addr");
        let flow = config
            .flow(layer.authenticator())
            .await
            .expect("the login flow is configured");
        let app = example_axum::router(config, layer, flow);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for AxumService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running actix-web example service on its own thread; stops when dropped.
#[derive(Debug)]
pub struct ActixService {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ActixService {
    /// Starts `example-actix` with `config`, once its keys are loaded.
    ///
    /// # Panics
    ///
    /// When the keys cannot be loaded or the port cannot be bound.
    pub async fn start(config: ServiceConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self::start_on(listener, config).await
    }

    /// Starts `example-actix` on a port bound beforehand.
    ///
    /// # Panics
    ///
    /// When the keys cannot be loaded or the listener cannot be used.
    pub async fn start_on(listener: TcpListener, config: ServiceConfig) -> Self {
        let auth = AuthMiddleware::new(config.auth().clone());
        auth.authenticator()
            .refresh_keys()
            .await
            .expect("the issuer serves keys");
        let flow = config
            .flow(auth.authenticator())
            .await
            .expect("the login flow is configured");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let config = actix_web::web::Data::new(config);
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new().configure(example_actix::configure(
                        config.clone(),
                        auth.clone(),
                        flow.clone(),
                    ))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                tx.send(server.handle()).expect("send handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("the actix server started");
        Self {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ActixService {
    fn drop(&mut self) {
        let stop = self.handle.stop(false);
        drop(stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
