//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::oauth::{Params, is_form, no_store};
use super::page;
use super::verify::{Expiry, audience_has, verify};
use crate::issuer::shared::Shared;

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = no_store(StatusCode::FOUND.into_response());
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => page::refused("the post_logout_redirect_uri cannot be sent in a Location header"),
    }
}

/// Checks the request, ends the session named by the hint's `sid`, then redirects
/// to the registered `post_logout_redirect_uri` (with `state`) or shows the
/// signed-out page. Refusals are 400 pages, never redirects.
fn end(shared: &Shared, params: &Params) -> Response {
    if let Some(name) = params.repeated() {
        return page::refused(&format!("parameter {name} is repeated"));
    }
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match verify(shared, token, Expiry::Ignore) {
            Some(claims) if audience_has(&claims, &shared.client.id) => Some(claims),
            _ => {
                return page::refused(
                    "id_token_hint is not an ID token this issuer gave this client",
                );
            }
        },
    };
    let client_id = params.get("client_id");
    if client_id.is_some_and(|id| id != shared.client.id) {
        return page::refused("unknown client_id");
    }
    let post_logout = params.get("post_logout_redirect_uri");
    let mut st = shared.state();
    if let Some(uri) = post_logout {
        if hint.is_none() && client_id.is_none() {
            return page::refused("post_logout_redirect_uri needs id_token_hint or client_id");
        }
        if !st.post_logout_redirect_uris.iter().any(|u| u == uri) {
            return page::refused("post_logout_redirect_uri is not registered for this client");
        }
    }
    if let Some(sid) = hint.as_ref().and_then(|claims| claims["sid"].as_str()) {
        st.grants.end_session(sid);
    }
    st.end_sessions += 1;
    drop(st);
    match post_logout {
        Some(uri) => {
            let mut location = uri.to_owned();
            if let Some(state) = params.get("state") {
                let sep = if uri.contains('?') { '&' } else { '?' };
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", state)
                    .finish();
                location = format!("{uri}{sep}{query}");
            }
            found(&location)
        }
        None => page::signed_out(),
    }
}

/// `GET {issuer}end-session/`.
pub(crate) async fn get_handler(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    end(
        &shared,
        &Params::parse(query.as_deref().unwrap_or_default()),
    )
}

/// `POST {issuer}end-session/` (a form, as RP-Initiated Logout allows).
pub(crate) async fn post_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !is_form(&headers) {
        return page::refused("the request must be a form");
    }
    end(&shared, &Params::parse(&body))
}
