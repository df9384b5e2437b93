//! Signing in: `/login` (a login state is created, sealed in the store and bound to
//! the browser) and `/callback` (the state is checked and used up, the authorization
//! code is exchanged at the token endpoint, the ID token is verified, and the tokens
//! are handed to the frontend behind a one-time exchange code).

use authgate::Claims;
use http::{HeaderValue, Response, header};
use serde::{Deserialize, Serialize};

use super::Flow;
use super::request::{FlowRequest, single_param};
use super::response::{append_cookie, redirect_to};
use super::session::check_cookie_safe;
use crate::cookies::{FlowCookie, cookie_value};
use crate::crypto::{constant_time_eq, is_token_shaped, pkce_challenge, random_token};
use crate::error::{FlowError, IdTokenError};
use crate::provider::{Grant, sanitize};
use crate::redirect::safe_redirect_path;
use crate::sealed::Kind;

/// What a login state keeps between `/login` and `/callback`.
#[derive(Serialize, Deserialize)]
struct StateEntry {
    verifier: String,
    nonce: String,
    redirect: String,
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// `GET /login`: stores a new login state and redirects to the provider.
    pub(super) async fn login(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let c = &self.inner.config.inner;
        // Anything refused (repeated, not local) falls back to the default.
        let redirect = single_param(req.query.as_deref(), "redirect")
            .ok()
            .flatten()
            .and_then(|r| safe_redirect_path(&r).map(str::to_owned))
            .unwrap_or_else(|| c.default_redirect.clone());
        let meta = self.metadata().await?;
        // The browser goes there: the public origin, even when discovery went through
        // the internal URL and named internal endpoints.
        let mut authorize = meta
            .authorization_endpoint
            .as_deref()
            .and_then(|e| self.inner.auth.config().browser_url(e).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(FlowError::MissingEndpoint {
                field: "authorization_endpoint",
            })?;
        // Fail before the user signs in, not after.
        self.token_endpoint(&meta)?;
        let state = random_token()?;
        let verifier = random_token()?;
        let nonce = random_token()?;
        let entry = StateEntry {
            verifier,
            nonce,
            redirect,
        };
        self.inner
            .store
            .put(Kind::State, &state, &entry, c.state_ttl)
            .await?;
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &c.callback_url)
            .append_pair("scope", &c.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &entry.nonce)
            .append_pair("code_challenge", &pkce_challenge(&entry.verifier))
            .append_pair("code_challenge_method", "S256");
        let mut response = redirect_to(authorize.as_str())?;
        if self.bind_state() {
            let cookie = self
                .inner
                .cookies
                .set(FlowCookie::Login, &state, c.state_ttl);
            append_cookie(&mut response, &cookie);
        }
        Ok(response)
    }

    /// Whether the login state is bound to the browser with the login cookie (part of
    /// the CSRF protection).
    fn bind_state(&self) -> bool {
        self.inner.config.inner.csrf
    }

    /// `GET /callback`: checks and uses up the state, redeems the code, and redirects
    /// to the frontend with a one-time exchange code.
    pub(super) async fn callback(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let c = &self.inner.config.inner;
        let query = req.query.as_deref();
        let state = single_param(query, "state")?;
        if let Some(error) = single_param(query, "error")? {
            // Use up the state so it cannot serve again.
            if let Some(state) = state.as_deref().filter(|s| is_token_shaped(s)) {
                self.inner.store.discard(Kind::State, state).await?;
            }
            return Err(FlowError::Provider {
                error: sanitize(&error, 64),
                description: single_param(query, "error_description")?.map(|d| sanitize(&d, 200)),
            });
        }
        let state = state.ok_or(FlowError::InvalidRequest {
            reason: "the callback has no state parameter",
        })?;
        let code = single_param(query, "code")?
            .filter(|code| !code.is_empty())
            .ok_or(FlowError::InvalidRequest {
                reason: "the callback has no code parameter",
            })?;
        if !is_token_shaped(&state) {
            return Err(FlowError::InvalidState);
        }
        // RFC 9207: a provider that names itself must be ours (mix-up defence).
        if single_param(query, "iss")?.is_some_and(|iss| iss != self.inner.auth.config().issuer()) {
            return Err(FlowError::InvalidRequest {
                reason: "the callback's iss is not the configured issuer",
            });
        }
        let entry: StateEntry = self
            .inner
            .store
            .take(Kind::State, &state)
            .await?
            .ok_or(FlowError::InvalidState)?;
        if self.bind_state() {
            let bound = cookie_value(&req.headers, self.inner.cookies.name(FlowCookie::Login))
                .is_some_and(|value| constant_time_eq(value.as_bytes(), state.as_bytes()));
            if !bound {
                return Err(FlowError::StateMismatch);
            }
        }
        let meta = self.metadata().await?;
        let token_url = self.token_endpoint(&meta)?;
        let grant = Grant::Code {
            code: &code,
            verifier: &entry.verifier,
            redirect_uri: &c.callback_url,
        };
        let tokens = self
            .inner
            .client
            .request(token_url, grant)
            .await
            .map_err(FlowError::TokenEndpoint)?;
        let id_token = tokens
            .id_token
            .as_ref()
            .ok_or(FlowError::IdToken(IdTokenError::Missing))?;
        self.verify_id_token(id_token.as_str(), Some(&entry.nonce))
            .await?;
        check_cookie_safe(&tokens)?;
        let exchange = self.exchange_entry(tokens, entry.redirect);
        let code = random_token()?;
        self.inner
            .store
            .put(Kind::Exchange, &code, &exchange, c.exchange_ttl)
            .await?;
        let mut location = c.frontend_callback_url.clone();
        location.query_pairs_mut().append_pair("exchange", &code);
        let mut response = redirect_to(location.as_str())?;
        response.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        Ok(response)
    }

    /// Verifies an ID token with the core verifier (signature through the JWKS, `iss`,
    /// `aud`, `exp`), then `aud`/`azp` against this client and the nonce.
    pub(super) async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<Claims, FlowError> {
        let fail = |e| FlowError::IdToken(e);
        let claims = self
            .inner
            .ids
            .verify(token)
            .await
            .map_err(|e| fail(IdTokenError::Rejected(e)))?;
        let client_id = self.inner.config.client_id();
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
            Some(serde_json::Value::Array(auds)) => {
                auds.iter().filter_map(serde_json::Value::as_str).collect()
            }
            _ => Vec::new(),
        };
        if !audiences.contains(&client_id) {
            return Err(fail(IdTokenError::AudienceMismatch));
        }
        match claims.str("azp") {
            Some(azp) if azp != client_id => {
                return Err(fail(IdTokenError::AuthorizedPartyMismatch));
            }
            None if audiences.len() > 1 => {
                return Err(fail(IdTokenError::AuthorizedPartyMismatch));
            }
            _ => {}
        }
        if let Some(expected) = nonce {
            let matches = claims
                .str("nonce")
                .is_some_and(|n| constant_time_eq(n.as_bytes(), expected.as_bytes()));
            if !matches {
                return Err(fail(IdTokenError::NonceMismatch));
            }
        }
        Ok(claims)
    }
}
