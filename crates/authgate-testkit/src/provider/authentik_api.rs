//! A stand-in for one endpoint of Authentik's own API.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AUTHENTIK_API_SCOPE;
use super::verify::{Expiry, bearer, verify};
use crate::issuer::shared::Shared;

fn api_error(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({ "detail": detail }))).into_response()
}

/// Authentik's `GET /api/v3/authenticators/webauthn/`, as Authentik guards it: the
/// caller's Bearer access token must be one of this issuer's, unexpired, not
/// revoked, and carry the scope `goauthentik.io/api`; otherwise 403.
pub(crate) async fn webauthn_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return api_error(
            StatusCode::FORBIDDEN,
            "Authentication credentials were not provided.",
        );
    };
    let claims = verify(&shared, token, Expiry::Check)
        .filter(|_| shared.state().grants.access_active(token));
    let Some(claims) = claims else {
        return api_error(StatusCode::FORBIDDEN, "Token invalid/expired");
    };
    let has_scope = claims["scope"]
        .as_str()
        .is_some_and(|s| s.split_ascii_whitespace().any(|s| s == AUTHENTIK_API_SCOPE));
    if !has_scope {
        return api_error(StatusCode::FORBIDDEN, "Token invalid/expired");
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    Json(json!({
        "pagination": { "count": 1, "current": 1, "total_pages": 1 },
        "results": [{ "pk": 1, "name": format!("Security key of {sub}"), "type": "webauthn" }],
    }))
    .into_response()
}
