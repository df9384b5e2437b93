//! The discovery document and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AUTHENTIK_API_SCOPE;
use crate::issuer::counters::Endpoint;
use crate::issuer::shared::Shared;

/// The discovery document: every endpoint it names is served.
pub(crate) fn document(shared: &Shared) -> Value {
    let algs: Vec<Value> = shared
        .read()
        .algorithms()
        .into_iter()
        .map(|alg| json!(alg))
        .collect();
    let auth_methods = shared.client.method.discovery_names();
    json!({
        "issuer": shared.issuer,
        "authorization_endpoint": shared.advertised_url(Endpoint::Authorize),
        "token_endpoint": shared.advertised_url(Endpoint::Token),
        "userinfo_endpoint": shared.advertised_url(Endpoint::Userinfo),
        "end_session_endpoint": shared.advertised_url(Endpoint::EndSession),
        "revocation_endpoint": shared.advertised_url(Endpoint::Revocation),
        "jwks_uri": shared.advertised_url(Endpoint::Jwks),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "scopes_supported": ["openid", "email", "profile", "offline_access", AUTHENTIK_API_SCOPE],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": [
            "sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "sid", "nonce", "at_hash",
            "email", "email_verified", "name", "preferred_username", "groups"
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

/// `GET {issuer}.well-known/openid-configuration`.
pub(crate) async fn discovery_handler(State(shared): State<Arc<Shared>>) -> Response {
    Json(document(&shared)).into_response()
}

/// `GET {issuer}jwks/`, with `Cache-Control: max-age=N` when set.
pub(crate) async fn jwks_handler(State(shared): State<Arc<Shared>>) -> Response {
    let (body, max_age) = {
        let set = shared.read();
        (set.jwks(), set.max_age)
    };
    let mut response = Json(body).into_response();
    if let Some(secs) = max_age
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={secs}"))
    {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
