//! The userinfo endpoint (OIDC Core §5.3).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::oauth::no_store;
use super::verify::{Expiry, bearer, verify};
use crate::issuer::shared::Shared;

/// The identity claims answered for a token whose `sub` is not a configured user.
const IDENTITY_CLAIMS: [&str; 6] = [
    "sub",
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "groups",
];

/// 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3), with `error` when a token
/// was sent.
fn unauthorized(error: Option<&str>) -> Response {
    let challenge = match error {
        Some(error) => format!("Bearer error=\"{error}\""),
        None => String::from("Bearer"),
    };
    let mut response = no_store(StatusCode::UNAUTHORIZED.into_response());
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `GET`/`POST {base}/application/o/userinfo/` with a Bearer access token of this
/// issuer (signature, `iss`, `exp`, not revoked, its session not ended): the
/// user's claims.
pub(crate) async fn handler(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return unauthorized(None);
    };
    let st = shared.state();
    let Some(claims) = verify(&shared, token, Expiry::Check) else {
        return unauthorized(Some("invalid_token"));
    };
    if !st.grants.access_active(token) {
        return unauthorized(Some("invalid_token"));
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    let body = match st.user(sub) {
        Some(user) => user.claims(),
        None if sub.is_empty() => return unauthorized(Some("invalid_token")),
        None => {
            let picked: Map<String, Value> = IDENTITY_CLAIMS
                .iter()
                .filter_map(|name| claims.get(*name).map(|v| ((*name).to_owned(), v.clone())))
                .collect();
            Value::Object(picked)
        }
    };
    no_store(Json(body).into_response())
}
