//! Signing in: `/login` (a login state is created and sealed into an HttpOnly cookie
//! bound to the `state` parameter: an unauthenticated request stores nothing on the
//! server) and `/callback` (the cookie is opened with the returned state and cleared,
//! the authorization code is exchanged at the token endpoint, the ID token is verified,
//! and the tokens are handed to the frontend behind a one-time exchange code, bound to
//! this browser by a second cookie).

use authgate::Claims;
use http::{HeaderValue, Response, header};
use serde::{Deserialize, Serialize};

use super::Flow;
use super::request::{FlowRequest, single_param};
use super::response::{append_cookie, redirect_to};
use super::session::check_cookie_safe;
use crate::cookies::{FlowCookie, cookie_value};
use crate::crypto::{
    constant_time_eq, is_token_shaped, open_text, pkce_challenge, random_token, seal_text,
};
use crate::error::{FlowError, IdTokenError};
use crate::provider::{Grant, sanitize};
use crate::redirect::safe_redirect_path;
use crate::sealed::Kind;

/// What a login state keeps between `/login` and `/callback`, sealed in the login
/// cookie.
#[derive(Serialize, Deserialize)]
struct StateEntry {
    verifier: String,
    nonce: String,
    redirect: String,
    /// Unix seconds after which the state is refused.
    exp: i64,
}

/// The sealing purpose of login cookies.
const LOGIN_COOKIE: &str = "login-cookie";

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// `GET /login`: seals a new login state into the login cookie and redirects to the
    /// provider. Nothing is stored on the server.
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
            exp: super::session::unix_now()
                .saturating_add(i64::try_from(c.state_ttl.as_secs()).unwrap_or(i64::MAX)),
        };
        let plain = serde_json::to_vec(&entry).map_err(|_| FlowError::Internal {
            reason: "the login state could not be encoded",
        })?;
        let sealed = seal_text(LOGIN_COOKIE, &self.state_secret(&state), &plain)?;
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &c.callback_url)
            .append_pair("scope", &c.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &entry.nonce)
            .append_pair("code_challenge", &pkce_challenge(&entry.verifier))
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(&c.authorize_params);
        let mut response = redirect_to(authorize.as_str())?;
        let cookie = self
            .inner
            .cookies
            .set(FlowCookie::Login, &sealed, c.state_ttl);
        append_cookie(&mut response, &cookie);
        Ok(response)
    }

    /// The secret a login state is sealed with: the flow's state key and the state
    /// itself, so a cookie opens only with the state it was issued with.
    fn state_secret(&self, state: &str) -> String {
        format!("{}\n{state}", self.inner.state_key)
    }

    /// Opens the login cookie of `req` with `state`.
    fn open_login_cookie(&self, req: &FlowRequest, state: &str) -> Result<StateEntry, FlowError> {
        let sealed = cookie_value(&req.headers, self.inner.cookies.name(FlowCookie::Login))
            .ok_or(FlowError::StateMismatch)?;
        let entry: StateEntry = open_text(LOGIN_COOKIE, &self.state_secret(state), sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or(FlowError::StateMismatch)?;
        if entry.exp <= super::session::unix_now() {
            return Err(FlowError::InvalidState);
        }
        Ok(entry)
    }

    /// `GET /callback`: checks and uses up the state, redeems the code, and redirects
    /// to the frontend with a one-time exchange code.
    pub(super) async fn callback(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let c = &self.inner.config.inner;
        let query = req.query.as_deref();
        let state = single_param(query, "state")?;
        if let Some(error) = single_param(query, "error")? {
            // The login cookie is cleared with every callback answer.
            // Only a registered code goes on; the description is logged, never shown.
            tracing::debug!(
                error = %sanitize(&error, 64),
                description = ?single_param(query, "error_description").ok().flatten().map(|d| sanitize(&d, 200)),
                "the provider sent the browser back with an error"
            );
            return Err(FlowError::Provider {
                error: crate::error::provider_error_code(&error),
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
        // Single use: the answer clears the cookie, and the provider's code is single
        // use too.
        let entry = self.open_login_cookie(req, &state)?;
        let used: Option<i64> = self.inner.store.get(Kind::UsedState, &state).await?;
        if used.is_some() {
            return Err(FlowError::InvalidState);
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
        // The provider accepted the code: remember the state as used until it would
        // have expired, so a replayed callback is refused.
        let left = entry.exp.saturating_sub(super::session::unix_now()).max(1);
        self.inner
            .store
            .put(
                Kind::UsedState,
                &state,
                &entry.exp,
                std::time::Duration::from_secs(u64::try_from(left).unwrap_or(1)),
            )
            .await?;
        check_cookie_safe(&tokens)?;
        // The exchange code is bound to this browser: only a browser holding the
        // binding cookie may redeem it (login CSRF through a planted code fails).
        let binding = random_token()?;
        let exchange = self.exchange_entry(tokens, entry.redirect, binding.clone());
        let code = random_token()?;
        self.inner
            .store
            .put(Kind::Exchange, &code, &exchange, c.exchange_ttl)
            .await?;
        let mut location = c.frontend_callback_url.clone();
        location.query_pairs_mut().append_pair("exchange", &code);
        let mut response = redirect_to(location.as_str())?;
        append_cookie(
            &mut response,
            &self
                .inner
                .cookies
                .set(FlowCookie::Exchange, &binding, c.exchange_ttl),
        );
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
