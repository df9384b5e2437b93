//! The contract of the example services, written once.
//!
//! `example-axum` and `example-actix` expose the same routes with the same answers;
//! everything but the framework glue lives here, so the two cannot drift apart:
//!
//! | route | who | answer |
//! |---|---|---|
//! | `GET /healthz` | anyone | 200 `{"status":"ok"}` |
//! | `GET /api/me` | any authenticated user | 200, the mapped user (`sub`, `email`, `name`, `organizationId`, `role`, `roles`, `groups`, `scopes`) |
//! | `GET /api/admin` | role `admin` | 200 |
//! | `GET /api/support` | role `admin` or `support` | 200 |
//! | `POST /api/items` | any authenticated user, JSON `{"name": ...}` | 201, the stored item (cookie-authenticated cross-origin requests get 403 from the CSRF check) |
//! | `GET /api/items` | any authenticated user | 200 `{"count", "items"}`, the items of the user's organization ([`ItemStore`]) |
//! | `GET /api/auth/webauthn` | scope `goauthentik.io/api` | Authentik's `/api/v3/authenticators/webauthn/`, called with the user's own token |
//! | `/auth/*` | browsers | the login flow of `authgate-flow` (login, callback, exchange, refresh, session, logout), mounted when `AUTHENTIK_CLIENT_SECRET` is set (or `AUTH_CLIENT_AUTH=none` for a public client); it also needs `FRONTEND_URL` and `API_URL` |
//!
//! The flow's state and exchange codes live in memory, or in Redis when `REDIS_URL` is
//! set (for several instances behind a load balancer). The items live in memory
//! ([`ItemStore`], one per service).
//!
//! `example-axum` also answers CORS, with credentials, for the trusted origins
//! (`FRONTEND_URL`, `API_URL`), so a frontend on its own origin can call it; the
//! actix-web example does not (serve it from the frontend's origin, or add a CORS
//! middleware). Outside the contract, `example-axum` also serves a WebSocket at
//! `GET /api/ws` and Prometheus metrics at `GET /metrics` on a listener of its own.
//!
//! ```
//! use example_contract::ItemStore;
//! # let user = authgate::User::builder("u1").organization_id("org").build();
//! let items = ItemStore::new();
//! let created = items.create(&user, br#"{"name": "pen"}"#);
//! assert_eq!(created.status, http::StatusCode::CREATED);
//! assert_eq!(created.body["owner"], "u1");
//! assert_eq!(items.create(&user, b"{").status, http::StatusCode::BAD_REQUEST);
//! assert_eq!(items.list(&user).body["count"], 1);
//! ```

use std::net::{Ipv4Addr, SocketAddr};

use authgate::{AccessToken, AuthConfig, Authenticator, ConfigError, Rejection, User};
use authgate_flow::{Flow, FlowConfig, FlowConfigError};
use http::StatusCode;
use serde_json::{Value, json};

mod items;

pub use items::{ItemStore, MAX_ITEMS, MAX_NAME_CHARS};

/// The scope an access token needs before Authentik's own API accepts it.
pub const AUTHENTIK_API_SCOPE: &str = "goauthentik.io/api";

/// What the login must do so that `/api/auth/webauthn` works.
pub const SCOPE_HINT: &str = "the login must request the scope goauthentik.io/api \
     (add it to the scopes of the authorization request)";

/// An answer: status and JSON body, the same for both frameworks. Errors have the
/// body of every refusal in authgate (a [`Rejection`]'s `{"error", "message"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

impl Reply {
    fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::from(Rejection::new(status, code, message))
    }

    /// The answer as an `http` response with a JSON body.
    #[must_use]
    pub fn into_response(self) -> http::Response<String> {
        let mut response = http::Response::new(self.body.to_string());
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl From<Rejection> for Reply {
    fn from(rejection: Rejection) -> Self {
        Self::new(rejection.status(), rejection.to_json())
    }
}

/// The example services' configuration: the core's `from_env()` variables plus `PORT`,
/// and the service's [`ItemStore`] (clones share it).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    auth: AuthConfig,
    items: ItemStore,
    port: u16,
    webauthn_url: String,
    client: reqwest::Client,
    flow: Option<FlowConfig>,
    redis_url: Option<String>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceConfigError {
    /// One of the core's variables.
    #[error(transparent)]
    Auth(#[from] ConfigError),
    /// `PORT` is not a port number.
    #[error("PORT is invalid: expected a port number (1-65535, or 0 for any free port)")]
    Port(#[source] std::num::ParseIntError),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
    /// One of the login flow's variables.
    #[error(transparent)]
    Flow(#[from] FlowConfigError),
    /// The Redis store at `REDIS_URL` could not be opened.
    #[error("REDIS_URL: the Redis store could not be opened")]
    Redis(#[source] authgate_flow::StoreError),
}

impl ServiceConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// A [`ServiceConfigError`] naming the variable.
    pub fn from_env() -> Result<Self, ServiceConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get`.
    ///
    /// # Errors
    ///
    /// A [`ServiceConfigError`] naming the variable.
    pub fn from_env_with<F>(get: F) -> Result<Self, ServiceConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let auth = AuthConfig::from_env_with(&get)?;
        let port = match get("PORT").filter(|p| !p.trim().is_empty()) {
            Some(port) => port.trim().parse().map_err(ServiceConfigError::Port)?,
            None => 3000,
        };
        // from_env_with succeeded, so AUTHENTIK_URL is set and valid.
        let base = get("AUTHENTIK_URL").unwrap_or_default();
        let public = format!(
            "{}/api/v3/authenticators/webauthn/",
            base.trim().trim_end_matches('/')
        );
        let webauthn_url = auth
            .server_url(&public)
            .map(|url| url.to_string())
            .unwrap_or(public);
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(ServiceConfigError::Client)?;
        // The flow needs a client registration: a secret, or an explicit public client.
        let wants_flow = get("AUTHENTIK_CLIENT_SECRET").is_some_and(|v| !v.trim().is_empty())
            || get("AUTH_CLIENT_AUTH").is_some_and(|v| v.trim() == "none");
        let flow = if wants_flow {
            Some(FlowConfig::from_env_with(&get)?)
        } else {
            None
        };
        Ok(Self {
            auth,
            items: ItemStore::new(),
            port,
            webauthn_url,
            client,
            flow,
            redis_url: get("REDIS_URL").filter(|v| !v.trim().is_empty()),
        })
    }

    /// The login flow over `auth` (share the API's authenticator, so both use one key
    /// store), or `None` when the flow's variables are not set.
    ///
    /// # Errors
    ///
    /// The flow or its Redis store could not be set up.
    pub async fn flow(&self, auth: &Authenticator) -> Result<Option<Flow>, ServiceConfigError> {
        let Some(config) = &self.flow else {
            return Ok(None);
        };
        let builder = Flow::builder(auth.clone(), config.clone());
        let builder = match &self.redis_url {
            Some(url) => builder.store(
                authgate_flow::store::RedisStore::connect(url)
                    .await
                    .map_err(ServiceConfigError::Redis)?,
            ),
            None => builder,
        };
        Ok(Some(builder.build()?))
    }

    /// The items of `POST /api/items` and `GET /api/items`, shared by every clone of
    /// this configuration.
    #[must_use]
    pub fn items(&self) -> &ItemStore {
        &self.items
    }

    /// The authentication configuration.
    #[must_use]
    pub fn auth(&self) -> &AuthConfig {
        &self.auth
    }

    /// `127.0.0.1:$PORT`.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `GET /api/auth/webauthn`: calls Authentik's
    /// `/api/v3/authenticators/webauthn/` (through the internal URL when set) with the
    /// user's own access token and returns what it got. An upstream 403 is reported as
    /// such, with the hint that the login must request `goauthentik.io/api`.
    pub async fn webauthn(&self, token: &AccessToken) -> Reply {
        let response = self
            .client
            .get(&self.webauthn_url)
            .bearer_auth(token.as_str())
            .header("accept", "application/json")
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(_) => {
                return Reply::error(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    "Authentik could not be reached",
                );
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
            return Reply::error(
                StatusCode::FORBIDDEN,
                "upstream_forbidden",
                format!("Authentik refused the access token ({status}): {SCOPE_HINT}"),
            );
        }
        if !status.is_success() {
            return Reply::error(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                format!("Authentik answered {status}"),
            );
        }
        match response.json::<Value>().await {
            Ok(body) => Reply::new(StatusCode::OK, body),
            Err(_) => Reply::error(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "Authentik's answer is not JSON",
            ),
        }
    }
}

/// `GET /healthz`.
#[must_use]
pub fn health() -> Reply {
    Reply::new(StatusCode::OK, json!({ "status": "ok" }))
}

/// `GET /api/me`: the mapped user.
#[must_use]
pub fn me(user: &User) -> Reply {
    Reply::new(
        StatusCode::OK,
        serde_json::to_value(user).unwrap_or_else(|_| json!({ "sub": user.sub })),
    )
}

/// `GET /api/admin`.
#[must_use]
pub fn admin(user: &User) -> Reply {
    Reply::new(
        StatusCode::OK,
        json!({ "area": "admin", "sub": user.sub, "role": user.role }),
    )
}

/// `GET /api/support`.
#[must_use]
pub fn support(user: &User) -> Reply {
    Reply::new(
        StatusCode::OK,
        json!({ "area": "support", "sub": user.sub, "role": user.role }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults_and_errors_name_the_variable() {
        let base = |extra: Option<&'static str>| {
            move |name: &str| match name {
                "AUTHENTIK_URL" => Some("https://auth.example.com".to_owned()),
                "AUTHENTIK_INTERNAL_URL" => Some("http://authentik:9000".to_owned()),
                "AUTHENTIK_APP_SLUG" => Some("app".to_owned()),
                "AUTHENTIK_CLIENT_ID" => Some("id".to_owned()),
                "PORT" => extra.map(str::to_owned),
                _ => None,
            }
        };
        let config = ServiceConfig::from_env_with(base(None)).unwrap();
        assert_eq!(config.addr().port(), 3000);
        assert_eq!(
            config.webauthn_url,
            "http://authentik:9000/api/v3/authenticators/webauthn/"
        );
        let err = ServiceConfig::from_env_with(base(Some("http"))).unwrap_err();
        assert!(err.to_string().contains("PORT"));
    }
}
