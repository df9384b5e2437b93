//! The demo as a library: an embedded issuer, the API (the axum example with the login
//! flow mounted) and a plain HTML/JS frontend on its own origin, all on loopback.
//! `cargo run -p demo` runs it; tests (the browser test among them) start it with
//! [`Demo::start`].
//!
//! | part | bound on | addressed as |
//! |---|---|---|
//! | issuer ([`TestIssuer`]) | `127.0.0.1:0` | `http://127.0.0.1:I` (another *site*) |
//! | API (`example-axum` + `authgate-flow`) | `127.0.0.1:A` | `http://localhost:A` |
//! | frontend | `127.0.0.1:F` | `http://localhost:F` (same site as the API, other origin) |
//!
//! The issuer knows the [`DEMO_USERS`] and lists them on its sign-in page; it accepts
//! the API's callback (`{api}/auth/callback`) and the frontend as the page to come back
//! to after logout (`{frontend}/`). The API trusts the frontend's origin (CORS with
//! credentials, and the CSRF check of cookie-authenticated `POST`s).
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use demo::{Demo, DemoOptions};
//!
//! let demo = Demo::start(DemoOptions::default()).await?; // any free ports
//! assert!(demo.api_url().starts_with("http://localhost:"));
//! assert!(demo.frontend_url().starts_with("http://localhost:"));
//! // The frontend tells its pages where the API is.
//! let config = reqwest::get(format!("http://{}/config.js", demo.frontend_addr())).await?;
//! assert!(config.text().await?.contains(demo.api_url()));
//! let health = reqwest::get(format!("http://{}/healthz", demo.api_addr())).await?;
//! assert_eq!(health.status(), 200);
//! # Ok(())
//! # }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use authgate::{AuthLayer, FetchError};
use authgate_flow::Flow;
use authgate_testkit::{TestIssuer, TestUser, TestkitError};
use example_contract::{ServiceConfig, ServiceConfigError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod frontend;

pub use authgate_flow::FlowCookie;

/// The role table of the demo API (`AUTH_ROLE_MAP`): group → role; anyone else is a
/// plain `user`.
pub const ROLE_MAP: &str = "app-admins=admin,app-support=support";

/// One of the demo's users, as the issuer knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUser {
    /// The subject, also the name of their sign-in button (`#login-{sub}` on the
    /// issuer's page) and the local part of their email address.
    pub sub: &'static str,
    /// The display name.
    pub name: &'static str,
    /// The provider's groups.
    pub groups: &'static [&'static str],
    /// The `organizationId` claim, if any (the API falls back to `sub`).
    pub organization_id: Option<&'static str>,
    /// The role the API maps the groups to through [`ROLE_MAP`].
    pub role: &'static str,
}

impl DemoUser {
    /// `{sub}@example.com`.
    #[must_use]
    pub fn email(&self) -> String {
        format!("{}@example.com", self.sub)
    }

    /// The user as the issuer's configuration.
    pub fn test_user(&self) -> TestUser {
        let user = TestUser::new(self.sub)
            .name(self.name)
            .email(&self.email())
            .groups(self.groups.iter().copied());
        match self.organization_id {
            Some(org) => user.claim("organizationId", org),
            None => user,
        }
    }
}

/// The demo's users: an admin, a support user and a plain user.
pub const DEMO_USERS: [DemoUser; 3] = [
    DemoUser {
        sub: "ada",
        name: "Ada Admin",
        groups: &["app-admins"],
        organization_id: Some("org-1"),
        role: "admin",
    },
    DemoUser {
        sub: "sam",
        name: "Sam Support",
        groups: &["app-support"],
        organization_id: Some("org-1"),
        role: "support",
    },
    DemoUser {
        sub: "uma",
        name: "Uma User",
        groups: &["staff"],
        organization_id: None,
        role: "user",
    },
];

/// Where the demo listens. Port 0 means any free port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoOptions {
    /// The API's port on 127.0.0.1 (`cargo run -p demo` uses `PORT`, default 3000).
    pub api_port: u16,
    /// The frontend's port on 127.0.0.1 (`cargo run -p demo` uses `FRONTEND_PORT`,
    /// default 5173).
    pub frontend_port: u16,
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The embedded issuer could not start.
    #[error("the embedded issuer could not start")]
    Issuer(#[from] TestkitError),
    /// A port could not be bound.
    #[error("cannot listen on {addr} for the {part} (choose another port: {variable})")]
    Bind {
        /// `"API"` or `"frontend"`.
        part: &'static str,
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The variable of `cargo run -p demo` that chooses the port.
        variable: &'static str,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// The API's configuration, built from the issuer's environment, was refused.
    #[error("the API could not be configured")]
    Config(#[from] ServiceConfigError),
    /// The API could not load the issuer's keys.
    #[error("the API could not load the issuer's keys")]
    Keys(#[source] Arc<FetchError>),
    /// The API has no login flow (the issuer's environment has no client secret).
    #[error("the API's login flow is not configured (no AUTHENTIK_CLIENT_SECRET)")]
    NoLoginFlow,
    /// The frontend's Content-Security-Policy could not be built from the API's URL.
    #[error("the frontend could not be configured")]
    Frontend(#[source] axum::http::header::InvalidHeaderValue),
}

/// The running demo: issuer, API and frontend. Dropping it stops the API and the
/// frontend (and the issuer with its last clone).
#[derive(Debug)]
pub struct Demo {
    issuer: TestIssuer,
    api_url: String,
    frontend_url: String,
    api_addr: SocketAddr,
    frontend_addr: SocketAddr,
    flow: Flow,
    tasks: Vec<JoinHandle<()>>,
}

impl Demo {
    /// Starts the issuer (with the [`DEMO_USERS`]), binds the API and the frontend on
    /// 127.0.0.1, registers their URLs at the issuer, waits for the API to have the
    /// issuer's keys, and serves.
    ///
    /// # Errors
    ///
    /// A [`DemoError`]: most likely [`DemoError::Bind`] when a chosen port is taken.
    pub async fn start(options: DemoOptions) -> Result<Self, DemoError> {
        let mut issuer = TestIssuer::builder();
        for user in &DEMO_USERS {
            issuer = issuer.user(user.test_user());
        }
        let issuer = issuer.start().await?;

        let api = bind("API", options.api_port, "PORT").await?;
        let front = bind("frontend", options.frontend_port, "FRONTEND_PORT").await?;
        let api_addr = local_addr(&api, "API", "PORT")?;
        let frontend_addr = local_addr(&front, "frontend", "FRONTEND_PORT")?;
        let api_url = format!("http://localhost:{}", api_addr.port());
        let frontend_url = format!("http://localhost:{}", frontend_addr.port());

        let mut env = issuer.env();
        env.extend([
            ("AUTH_ROLE_MAP", ROLE_MAP.to_owned()),
            ("FRONTEND_URL", frontend_url.clone()),
            ("API_URL", api_url.clone()),
        ]);
        let config = ServiceConfig::from_env_with(|name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        })?;
        let layer = AuthLayer::new(config.auth().clone());
        layer
            .authenticator()
            .refresh_keys()
            .await
            .map_err(DemoError::Keys)?;
        let flow = config
            .flow(layer.authenticator())
            .await?
            .ok_or(DemoError::NoLoginFlow)?;
        // Exact-match registrations, known only now that the ports are.
        issuer.add_redirect_uri(flow.config().callback_url());
        issuer.add_post_logout_redirect_uri(flow.config().post_logout_redirect_url());

        let api_app = example_axum::router(config, layer, Some(flow.clone()));
        let front_app = frontend::router(&api_url).map_err(DemoError::Frontend)?;
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(api, api_app).await;
            }),
            tokio::spawn(async move {
                let _ = axum::serve(front, front_app).await;
            }),
        ];
        Ok(Self {
            issuer,
            api_url,
            frontend_url,
            api_addr,
            frontend_addr,
            flow,
            tasks,
        })
    }

    /// The embedded issuer: its users, counters, switches, and token minting.
    #[must_use]
    pub fn issuer(&self) -> &TestIssuer {
        &self.issuer
    }

    /// The API's URL, `http://localhost:A` (no trailing slash).
    #[must_use]
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The frontend's URL, `http://localhost:F` (no trailing slash): the one to open.
    #[must_use]
    pub fn frontend_url(&self) -> &str {
        &self.frontend_url
    }

    /// The API's bound address, `127.0.0.1:A`.
    #[must_use]
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The frontend's bound address, `127.0.0.1:F`.
    #[must_use]
    pub fn frontend_addr(&self) -> SocketAddr {
        self.frontend_addr
    }

    /// The name of one of the API's cookies: [`FlowCookie::Access`] is `app_auth`
    /// (the one the API reads), `Refresh` `app_auth_refresh`, `Id` `app_auth_id`.
    #[must_use]
    pub fn cookie_name(&self, cookie: FlowCookie) -> &str {
        self.flow.cookie_name(cookie)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn bind(
    part: &'static str,
    port: u16,
    variable: &'static str,
) -> Result<TcpListener, DemoError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Bind {
            part,
            addr,
            variable,
            source,
        })
}

fn local_addr(
    listener: &TcpListener,
    part: &'static str,
    variable: &'static str,
) -> Result<SocketAddr, DemoError> {
    listener.local_addr().map_err(|source| DemoError::Bind {
        part,
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        variable,
        source,
    })
}

/// The examples of `examples/demo/README.md`, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
