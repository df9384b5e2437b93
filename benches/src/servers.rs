//! The servers under test, each in its own process (`load serve KIND ...`), so that
//! each one's CPU time can be read from `/proc/<pid>/stat`.
//!
//! Every server answers `GET /api/me` with the same JSON body, the user:
//!
//! - `ceiling`: no authentication at all; the user is the server's state. The best
//!   any authenticated route can do.
//! - `floor`: `jsonwebtoken::decode` of the Bearer token into a `serde_json::Value`
//!   (any claim readable, as authgate's `Claims` are) with a known key and the same
//!   checks (iss, aud, exp, sub), the user built from its claims: the least a
//!   verifier of arbitrary claims must pay for a token it has not seen (the floor of
//!   the criterion benchmark too).
//! - `floor-typed`: the same, decoding into a struct of exactly the claims the user
//!   needs: the least any verifier must pay.
//! - `layer`: authgate's [`AuthLayer`] (default configuration, so the verified-token
//!   cache is on) and the [`Auth`] extractor: `Auth<Arc<User>>` (the user shared
//!   with the cache) on `/api/me`, and `Auth<User>` (a copy of the user for the
//!   handler) on `/api/me-owned`.
//! - `nocache`: the same with the token cache off (every request is verified).

use std::sync::Arc;

use authgate::{AuthConfig, AuthLayer, User};
use authgate_extract::Auth;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// The kinds of server.
pub(crate) const KINDS: [&str; 5] = ["ceiling", "floor", "floor-typed", "layer", "nocache"];

/// What a server needs to know about the issuer (passed on the command line).
pub(crate) struct IssuerArgs {
    pub(crate) base_url: String,
    pub(crate) slug: String,
    pub(crate) client_id: String,
    pub(crate) issuer: String,
    /// The public JWK of the signing key, for the floor.
    pub(crate) jwk: String,
    /// The user the ceiling answers with (JSON).
    pub(crate) user: String,
}

impl IssuerArgs {
    pub(crate) fn to_args(&self) -> Vec<String> {
        vec![
            self.base_url.clone(),
            self.slug.clone(),
            self.client_id.clone(),
            self.issuer.clone(),
            self.jwk.clone(),
            self.user.clone(),
        ]
    }

    pub(crate) fn from_args(args: &[String]) -> Option<Self> {
        let [base_url, slug, client_id, issuer, jwk, user] = args else {
            return None;
        };
        Some(Self {
            base_url: base_url.clone(),
            slug: slug.clone(),
            client_id: client_id.clone(),
            issuer: issuer.clone(),
            jwk: jwk.clone(),
            user: user.clone(),
        })
    }
}

async fn ceiling(State(user): State<Arc<User>>) -> Response {
    Json(&*user).into_response()
}

async fn layer_handler(Auth(user): Auth<Arc<User>>) -> Response {
    Json(&*user).into_response()
}

async fn layer_owned_handler(Auth(user): Auth<User>) -> Json<User> {
    Json(user)
}

struct Floor {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

/// The claims the user needs, typed.
#[derive(Deserialize)]
struct FloorClaims {
    sub: String,
    email: Option<String>,
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scope: String,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

async fn floor_handler(State(floor): State<Arc<Floor>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(data) = jsonwebtoken::decode::<serde_json::Value>(token, &floor.key, &floor.validation)
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let claims = data.claims;
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    let Some(sub) = text("sub") else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let groups = claims
        .get("groups")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str);
    let mut user = User::builder(sub)
        .groups(groups)
        .scopes(text("scope").unwrap_or_default().split_whitespace());
    if let Some(email) = text("email") {
        user = user.email(email);
    }
    if let Some(name) = text("name") {
        user = user.name(name);
    }
    Json(user.build()).into_response()
}

async fn floor_typed_handler(State(floor): State<Arc<Floor>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<FloorClaims>(token, &floor.key, &floor.validation) {
        Ok(data) => {
            let claims = data.claims;
            let mut user = User::builder(claims.sub)
                .groups(claims.groups)
                .scopes(claims.scope.split_whitespace());
            if let Some(email) = claims.email {
                user = user.email(email);
            }
            if let Some(name) = claims.name {
                user = user.name(name);
            }
            Json(user.build()).into_response()
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The router of server `kind`.
pub(crate) async fn router(
    kind: &str,
    issuer: &IssuerArgs,
) -> Result<Router, Box<dyn std::error::Error>> {
    let config = || AuthConfig::authentik(&issuer.base_url, &issuer.slug, &issuer.client_id);
    Ok(match kind {
        "ceiling" => {
            let user: User = serde_json::from_str(&issuer.user)?;
            Router::new()
                .route("/api/me", get(ceiling))
                .with_state(Arc::new(user))
        }
        "floor" | "floor-typed" => {
            // The provider authgate uses too: jsonwebtoken cannot pick one itself when
            // a build enables both of its backends (`--all-features`).
            let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&issuer.jwk)?;
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_issuer(&[&issuer.issuer]);
            validation.set_audience(&[&issuer.client_id]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            let floor = Floor {
                key: jsonwebtoken::DecodingKey::from_jwk(&jwk)?,
                validation,
            };
            let router = if kind == "floor" {
                Router::new().route("/api/me", get(floor_handler))
            } else {
                Router::new().route("/api/me", get(floor_typed_handler))
            };
            router.with_state(Arc::new(floor))
        }
        "layer" | "nocache" => {
            let config = if kind == "layer" {
                config().build()?
            } else {
                config().token_cache_capacity(0).build()?
            };
            let layer = AuthLayer::new(config);
            layer.authenticator().refresh_keys().await?;
            Router::new()
                .route("/api/me", get(layer_handler))
                .route("/api/me-owned", get(layer_owned_handler))
                .layer(layer)
        }
        other => return Err(format!("unknown server kind {other:?}").into()),
    })
}

/// Runs server `kind` on a loopback port and prints `ADDR <address>` once it listens.
pub(crate) async fn serve(
    kind: &str,
    issuer: &IssuerArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let router = router(kind, issuer).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("ADDR {}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
