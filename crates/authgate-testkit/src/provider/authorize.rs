//! The authorization endpoint: the request's checks, sign-in, the redirect back.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::grants::Code;
use super::oauth::{Params, is_form, no_store};
use super::page;
use super::state::ProviderState;
use crate::issuer::counters::Endpoint;
use crate::issuer::shared::Shared;
use crate::{TestIssuer, TestkitError};

/// Parameters of the sign-in page's form that are not part of the request.
const PAGE_FIELDS: [&str; 2] = ["sub", "cancel"];

/// An authorization request that passed every check.
#[derive(Debug)]
pub(crate) struct Request {
    /// The request's parameters, carried by the sign-in page.
    params: Params,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    nonce: Option<String>,
    challenge: String,
    login_hint: Option<String>,
    prompt_none: bool,
}

/// Why an authorization request gives no code.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Before the redirect URI is trusted: a 400 page, never a redirect.
    Page(String),
    /// After it: the error goes back to the client, as this URL.
    Redirect(String),
}

/// `uri` with `pairs` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", query.finish())
}

/// The error redirect: `error`, `error_description`, `state` and `iss` (RFC 9207).
fn error_redirect(
    shared: &Shared,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &shared.issuer));
    with_query(redirect_uri, &pairs)
}

/// Checks a request as the endpoint does (OAuth 2.0 §4.1.1, OIDC Core §3.1.2.1,
/// RFC 7636): the client and redirect URI first (refused with a page), then the
/// rest (refused with a redirect).
pub(crate) fn validate(
    shared: &Shared,
    st: &ProviderState,
    params: Params,
) -> Result<Request, Refusal> {
    let page = |text: &str| Refusal::Page(text.to_owned());
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return Err(page("client_id and redirect_uri may be given only once"));
    }
    match params.get("client_id") {
        None => return Err(page("the request has no client_id")),
        Some(id) if id != shared.client.id => return Err(page("unknown client_id")),
        Some(_) => {}
    }
    let Some(redirect_uri) = params.get("redirect_uri").map(str::to_owned) else {
        return Err(page("the request has no redirect_uri"));
    };
    if !st.redirect_uris.contains(&redirect_uri) {
        return Err(page("redirect_uri is not registered for this client"));
    }

    let state = params.get("state").map(str::to_owned);
    let refuse = |error: &str, description: &str| {
        Refusal::Redirect(error_redirect(
            shared,
            &redirect_uri,
            state.as_deref(),
            error,
            description,
        ))
    };
    if let Some(name) = params.repeated() {
        return Err(refuse(
            "invalid_request",
            &format!("parameter {name} is repeated"),
        ));
    }
    if params.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(refuse(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    let scope = params.get("scope").unwrap_or_default().to_owned();
    if !scope.split_ascii_whitespace().any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "the scope must contain openid"));
    }
    let Some(challenge) = params.get("code_challenge").map(str::to_owned) else {
        return Err(refuse(
            "invalid_request",
            "code_challenge is required (PKCE)",
        ));
    };
    if params.get("code_challenge_method") != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not allowed)",
        ));
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(refuse(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 hash",
        ));
    }
    Ok(Request {
        nonce: params.get("nonce").map(str::to_owned),
        login_hint: params.get("login_hint").map(str::to_owned),
        prompt_none: params
            .get("prompt")
            .is_some_and(|p| p.split_ascii_whitespace().any(|p| p == "none")),
        params,
        redirect_uri,
        state,
        scope,
        challenge,
    })
}

/// Signs `sub` in for `request`: a new session and a code; returns the redirect
/// `redirect_uri?code=..&state=..&iss=..`.
pub(crate) fn sign_in(
    shared: &Shared,
    st: &mut ProviderState,
    request: &Request,
    sub: &str,
) -> String {
    let (sid, auth_time) = st.grants.start_session();
    let code = st.grants.issue_code(Code {
        client_id: shared.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        challenge: request.challenge.clone(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        sub: sub.to_owned(),
        sid,
        auth_time,
    });
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &shared.issuer));
    with_query(&request.redirect_uri, &pairs)
}

/// What the user did on the page, if anything.
enum Choice {
    /// Nothing yet: a `GET`, or a `POST` authorization request.
    Ask,
    /// Clicked a user's button.
    User(String),
    /// Clicked "Cancel".
    Cancel,
}

fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = no_store(status.into_response());
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => page::refused("the redirect URI cannot be sent in a Location header"),
    }
}

fn answer(shared: &Shared, params: Params, choice: Choice, status: StatusCode) -> Response {
    let mut st = shared.state();
    let request = match validate(shared, &st, params) {
        Ok(request) => request,
        Err(Refusal::Page(text)) => return page::refused(&text),
        Err(Refusal::Redirect(location)) => return redirect(status, &location),
    };
    let cancelled = |error: &str, description: &str| {
        error_redirect(
            shared,
            &request.redirect_uri,
            request.state.as_deref(),
            error,
            description,
        )
    };
    let sub = match choice {
        Choice::Cancel => {
            return redirect(status, &cancelled("access_denied", "the user cancelled"));
        }
        Choice::User(sub) => {
            if st.user(&sub).is_none() {
                return page::refused("no such user");
            }
            sub
        }
        Choice::Ask => {
            let hinted = request.login_hint.as_deref().and_then(|h| st.user(h));
            match hinted.or_else(|| st.auto_login_user()) {
                Some(user) => user.sub().to_owned(),
                None if request.prompt_none => {
                    let location = cancelled("login_required", "no user is signed in");
                    return redirect(status, &location);
                }
                None => {
                    let action = shared.path(Endpoint::Authorize);
                    return page::sign_in(action, &shared.client.id, &request.params, &st.users);
                }
            }
        }
    };
    let location = sign_in(shared, &mut st, &request, &sub);
    redirect(status, &location)
}

/// `GET`: signs in at once (`login_hint`, auto-login) or shows the page.
pub(crate) async fn get_handler(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default()).without(&PAGE_FIELDS);
    answer(&shared, params, Choice::Ask, StatusCode::FOUND)
}

/// `POST`: the page's buttons (or an authorization request sent as a form).
pub(crate) async fn post_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !is_form(&headers) {
        return page::refused("the request must be a form");
    }
    let params = Params::parse(&body);
    let choice = if params.get("cancel").is_some() {
        Choice::Cancel
    } else if let Some(sub) = params.get("sub") {
        Choice::User(sub.to_owned())
    } else {
        Choice::Ask
    };
    answer(
        &shared,
        params.without(&PAGE_FIELDS),
        choice,
        StatusCode::SEE_OTHER,
    )
}

impl TestIssuer {
    /// Non-interactive sign-in for in-process tests: checks `authorization_url` (an
    /// authorization request a relying party built, on the advertised or the
    /// loopback base) exactly as the authorization endpoint does, signs `sub` in
    /// and returns the redirect URL `redirect_uri?code=..&state=..&iss=..`. A
    /// request the endpoint refuses with a redirect gives that error redirect
    /// (`redirect_uri?error=..&error_description=..&state=..&iss=..`).
    ///
    /// It is not an HTTP request: [`requests`](Self::requests) does not count it.
    ///
    /// # Errors
    ///
    /// [`TestkitError::AuthorizationRefused`] where the endpoint answers a 400 page
    /// (not this issuer's authorization endpoint, unknown `client_id`, unregistered
    /// `redirect_uri`); [`TestkitError::UnknownUser`] if no configured user has
    /// this `sub`; [`TestkitError::Outage`] while the outage switch is on.
    pub fn authorize(&self, authorization_url: &str, sub: &str) -> Result<String, TestkitError> {
        let shared = &self.inner.shared;
        let without_fragment = authorization_url.split('#').next().unwrap_or_default();
        let (target, query) = without_fragment
            .split_once('?')
            .unwrap_or((without_fragment, ""));
        if target != shared.advertised_url(Endpoint::Authorize)
            && target != shared.loopback_url(Endpoint::Authorize)
        {
            return Err(TestkitError::AuthorizationRefused(format!(
                "{target} is not this issuer's authorization endpoint"
            )));
        }
        if shared.is_down() {
            return Err(TestkitError::Outage);
        }
        let mut st = shared.state();
        let request = match validate(shared, &st, Params::parse(query).without(&PAGE_FIELDS)) {
            Ok(request) => request,
            Err(Refusal::Page(text)) => return Err(TestkitError::AuthorizationRefused(text)),
            Err(Refusal::Redirect(location)) => return Ok(location),
        };
        if st.user(sub).is_none() {
            return Err(TestkitError::UnknownUser(sub.to_owned()));
        }
        Ok(sign_in(shared, &mut st, &request, sub))
    }
}
