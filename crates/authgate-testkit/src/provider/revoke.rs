//! The revocation endpoint (RFC 7009).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client;
use super::oauth::{OAuthError, Params, is_form, no_store};
use crate::issuer::shared::Shared;

/// `POST {base}/application/o/revoke/`: the client authenticates as at the token
/// endpoint; `token` (with an optional `token_type_hint`) is revoked. A refresh
/// token revokes its grant (its access tokens too); an access token is revoked
/// alone. Unknown tokens get the same `200` (RFC 7009 §2.2).
pub(crate) async fn handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !is_form(&headers) {
        return OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
            .into_response();
    }
    let form = Params::parse(&body);
    if let Some(name) = form.repeated() {
        return OAuthError::invalid_request(&format!("parameter {name} is repeated"))
            .into_response();
    }
    if let Err(err) =
        client::authenticate(&shared.client, &client::presented(&headers, &form), &form)
    {
        return err.into_response();
    }
    let Some(token) = form.get("token") else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    shared.state().grants.revoke(token);
    no_store(StatusCode::OK.into_response())
}
