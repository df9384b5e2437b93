//! The token endpoint: `authorization_code` and `refresh_token` grants.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client;
use super::fault::TokenFault;
use super::grants::GrantId;
use super::mint::Mint;
use super::oauth::{OAuthError, Params, is_code_verifier, is_form, no_store, s256};
use super::state::{ProviderState, TokenRequest};
use crate::TestUser;
use crate::issuer::shared::Shared;

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == wanted)
}

/// `POST {base}/application/o/token/`.
pub(crate) async fn handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form_body = is_form(&headers);
    let form = if form_body {
        Params::parse(&body)
    } else {
        Params::default()
    };
    let presented = client::presented(&headers, &form);
    let mut st = shared.state();
    let mut recorded = std::collections::BTreeMap::new();
    for (name, value) in form.pairs() {
        recorded
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    st.token_requests.push(TokenRequest {
        client_auth: presented.used,
        grant_type: form.get("grant_type").unwrap_or_default().to_owned(),
        form: recorded,
    });
    if let Some(TokenFault::Status(status, body)) = &st.fault {
        return no_store((*status, Json(body.clone())).into_response());
    }
    match grant(&shared, &mut st, &presented, &form, form_body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn grant(
    shared: &Shared,
    st: &mut ProviderState,
    presented: &client::Presented,
    form: &Params,
    form_body: bool,
) -> Result<Response, OAuthError> {
    if !form_body {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if let Some(name) = form.repeated() {
        return Err(OAuthError::invalid_request(&format!(
            "parameter {name} is repeated"
        )));
    }
    client::authenticate(&shared.client, presented, form)?;
    match form.get("grant_type") {
        Some("authorization_code") => code_grant(shared, st, form),
        Some("refresh_token") => refresh_grant(shared, st, form),
        Some(_) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code and refresh_token are supported",
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

fn code_grant(
    shared: &Shared,
    st: &mut ProviderState,
    form: &Params,
) -> Result<Response, OAuthError> {
    let Some(value) = form.get("code") else {
        return Err(OAuthError::invalid_request("code is required"));
    };
    let code = st
        .grants
        .take_code(value)
        .map_err(OAuthError::invalid_grant)?;
    if code.client_id != shared.client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let verified = form
        .get("code_verifier")
        .is_some_and(|v| is_code_verifier(v) && s256(v) == code.challenge);
    if !verified {
        return Err(OAuthError::invalid_grant(
            "PKCE verification failed (code_verifier)",
        ));
    }
    let id = st.grants.grant_for_code(value, &code);
    let refresh = has_scope(&code.scope, "offline_access").then(|| st.grants.add_refresh(id));
    respond(shared, st, id, None, code.nonce.as_deref(), refresh)
}

fn refresh_grant(
    shared: &Shared,
    st: &mut ProviderState,
    form: &Params,
) -> Result<Response, OAuthError> {
    let Some(token) = form.get("refresh_token") else {
        return Err(OAuthError::invalid_request("refresh_token is required"));
    };
    let rotate = st.rotation;
    // Checked before it is used up: a refused scope leaves the token working.
    let id = st
        .grants
        .use_refresh(token, false)
        .map_err(OAuthError::invalid_grant)?;
    let granted = &st.grants.grant(id).scope;
    let narrowed = match form.get("scope") {
        Some(asked)
            if !asked
                .split_ascii_whitespace()
                .all(|s| has_scope(granted, s)) =>
        {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the scope is wider than the one granted",
            ));
        }
        Some(asked) => Some(asked.to_owned()),
        None => None,
    };
    let refresh = if rotate {
        st.grants
            .use_refresh(token, true)
            .map_err(OAuthError::invalid_grant)?;
        Some(st.grants.add_refresh(id))
    } else {
        None
    };
    respond(shared, st, id, narrowed, None, refresh)
}

/// Mints the tokens of grant `id` and answers them (OIDC Core §3.1.3.3).
fn respond(
    shared: &Shared,
    st: &mut ProviderState,
    id: GrantId,
    scope: Option<String>,
    nonce: Option<&str>,
    refresh_token: Option<String>,
) -> Result<Response, OAuthError> {
    let mut grant = st.grants.grant(id).clone();
    if let Some(scope) = scope {
        grant.scope = scope;
    }
    let user = st
        .user(&grant.sub)
        .cloned()
        .unwrap_or_else(|| TestUser::new(&grant.sub));
    let lifetime = st.access_token_lifetime.as_secs();
    let minted = Mint {
        shared,
        user: &user,
        grant: &grant,
        lifetime_secs: i64::try_from(lifetime).unwrap_or(i64::MAX),
        nonce,
        fault: st.fault.as_ref(),
    }
    .sign()
    .map_err(|err| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &err.to_string(),
        )
    })?;

    let mut body = json!({
        "access_token": minted.access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": grant.scope,
    });
    st.grants.record_access(&minted.access_token, id);
    st.issued.push(minted.access_token);
    if let Some(id_token) = minted.id_token {
        st.grants.record_id_token(&id_token);
        body["id_token"] = json!(id_token);
        st.issued.push(id_token);
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
        st.issued.push(refresh_token);
    }
    Ok(no_store(Json(body).into_response()))
}
