//! The session once signed in: `/exchange` (the one-time code becomes cookies),
//! `/refresh`, `/session` and `/logout`; the origin check of the `POST` endpoints; the
//! cookies set from token responses and their lifetimes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authgate::Revocation;
use http::{HeaderMap, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::Flow;
use super::request::{FlowRequest, is_json};
use super::response::{append_cookie, json};
use crate::cookies::{FlowCookie, cookie_value, is_cookie_safe};
use crate::crypto::{constant_time_eq, is_token_shaped};
use crate::error::FlowError;
use crate::provider::{
    Grant, Secret, TokenEndpointError, TokenResponse, logout_url, seconds, unverified_claim,
    unverified_exp,
};
use crate::sealed::Kind;

/// How long the request that loses a refresh race waits for the winner's answer.
const REFRESH_RACE_POLL: Duration = Duration::from_millis(100);
const REFRESH_RACE_POLLS: u32 = 30;

/// `200 {"success": true}` with these `Set-Cookie`s.
fn refreshed_response(set_cookies: &[String]) -> Response<String> {
    let mut response = json(StatusCode::OK, &serde_json::json!({ "success": true }));
    for cookie in set_cookies {
        append_cookie(&mut response, cookie);
    }
    response
}

/// What a refresh keeps for a second tab: its access token (to see it was not revoked
/// since) and the `Set-Cookie`s it answered.
#[derive(Serialize, Deserialize)]
struct RefreshGrace {
    access: Secret,
    set_cookies: Vec<String>,
}

/// What an exchange code keeps between `/callback` and `/exchange`.
#[derive(Serialize, Deserialize)]
pub(super) struct ExchangeEntry {
    access: Secret,
    access_exp: i64,
    refresh: Option<Secret>,
    refresh_exp: Option<i64>,
    id: Option<Secret>,
    redirect: String,
    /// The value of the exchange binding cookie set by the callback.
    binding: String,
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// What the exchange code of freshly issued `tokens` keeps: the tokens, when they
    /// expire, and where the frontend goes next.
    pub(super) fn exchange_entry(
        &self,
        tokens: TokenResponse,
        redirect: String,
        binding: String,
    ) -> ExchangeEntry {
        let now = unix_now();
        ExchangeEntry {
            access_exp: now.saturating_add(secs(self.access_lifetime(&tokens, now))),
            refresh_exp: tokens
                .refresh_token
                .as_ref()
                .map(|r| now.saturating_add(secs(self.refresh_lifetime(&tokens, r, now)))),
            access: tokens.access_token,
            refresh: tokens.refresh_token,
            id: tokens.id_token,
            redirect,
            binding,
        }
    }

    /// `POST /exchange`: trades a one-time exchange code for the session cookies.
    pub(super) async fn exchange(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        if !is_json(&req.headers) {
            return Err(FlowError::UnsupportedMediaType);
        }
        #[derive(Deserialize)]
        struct Body {
            code: String,
        }
        let body: Body =
            serde_json::from_slice(&req.body).map_err(|_| FlowError::InvalidRequest {
                reason: r#"the body must be {"code": "..."}"#,
            })?;
        if !is_token_shaped(&body.code) {
            return Err(FlowError::InvalidExchangeCode);
        }
        let entry: ExchangeEntry = self
            .inner
            .store
            .take(Kind::Exchange, &body.code)
            .await?
            .ok_or(FlowError::InvalidExchangeCode)?;
        // Taken out of the store above: a code presented without its binding is burned.
        let bound = cookie_value(&req.headers, self.inner.cookies.name(FlowCookie::Exchange))
            .is_some_and(|value| constant_time_eq(value.as_bytes(), entry.binding.as_bytes()));
        if !bound {
            return Err(FlowError::ExchangeNotBound);
        }
        let now = unix_now();
        let remaining = |exp: i64| Duration::from_secs(u64::try_from(exp - now).unwrap_or(0));
        let cookies = &self.inner.cookies;
        let mut response = json(
            StatusCode::OK,
            &serde_json::json!({
                "success": true,
                "redirectTo": entry.redirect,
            }),
        );
        append_cookie(
            &mut response,
            &cookies.set(
                FlowCookie::Access,
                entry.access.as_str(),
                remaining(entry.access_exp),
            ),
        );
        let refresh_left = entry
            .refresh_exp
            .map_or(self.inner.config.inner.default_refresh_lifetime, remaining);
        if let Some(refresh) = &entry.refresh {
            append_cookie(
                &mut response,
                &cookies.set(FlowCookie::Refresh, refresh.as_str(), refresh_left),
            );
        }
        if let Some(id) = &entry.id {
            let id_left = refresh_left.max(remaining(entry.access_exp));
            append_cookie(
                &mut response,
                &cookies.set(FlowCookie::Id, id.as_str(), id_left),
            );
        }
        Ok(response)
    }

    /// `POST /refresh`: new cookies from the refresh cookie.
    ///
    /// Two tabs refreshing with the same refresh token at once both get the new
    /// cookies: the answer is kept in the store for the grace window (10 s by default,
    /// [`refresh_grace`](crate::FlowConfigBuilder::refresh_grace)) under the token
    /// it spent, and the request that loses the race at the provider (`invalid_grant`
    /// under rotation) waits briefly for it instead of logging the user out.
    pub(super) async fn refresh(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        let cookies = &self.inner.cookies;
        let refresh = cookie_value(&req.headers, cookies.name(FlowCookie::Refresh))
            .ok_or(FlowError::NoRefreshToken)?;
        if let Some(done) = self.refreshed(refresh).await {
            return Ok(done);
        }
        // Provider trouble (discovery down, 5xx, unreachable) keeps the cookies: the
        // refresh token may still be good, and the frontend can try again.
        let meta = self.metadata().await?;
        let token_url = self.token_endpoint(&meta)?;
        let tokens = match self
            .inner
            .client
            .request(
                token_url,
                Grant::Refresh {
                    refresh_token: refresh,
                },
            )
            .await
        {
            Ok(tokens) => tokens,
            Err(err) if err.is_transient() => return Err(FlowError::TokenEndpoint(err)),
            Err(err) => {
                if err.is_invalid_grant() && !self.inner.config.inner.refresh_grace.is_zero() {
                    // Another tab (or instance) may have just spent this token.
                    for _ in 0..REFRESH_RACE_POLLS {
                        tokio::time::sleep(REFRESH_RACE_POLL).await;
                        if let Some(done) = self.refreshed(refresh).await {
                            return Ok(done);
                        }
                    }
                }
                return Err(FlowError::RefreshRejected(Box::new(
                    FlowError::TokenEndpoint(err),
                )));
            }
        };
        if let Some(id) = &tokens.id_token {
            // OIDC Core §12.2: no nonce on a refreshed ID token, the same `sub` as the
            // session's ID token, the rest as usual.
            let claims = self
                .verify_id_token(id.as_str(), None)
                .await
                .map_err(|e| FlowError::RefreshRejected(Box::new(e)))?;
            let session_sub = cookie_value(&req.headers, cookies.name(FlowCookie::Id))
                .and_then(|old| unverified_claim(old, "sub"));
            if let Some(session_sub) = session_sub
                && session_sub.as_str() != Some(claims.sub())
            {
                return Err(FlowError::RefreshRejected(Box::new(FlowError::IdToken(
                    crate::error::IdTokenError::SubjectChanged,
                ))));
            }
        }
        check_cookie_safe(&tokens).map_err(|e| FlowError::RefreshRejected(Box::new(e)))?;
        let now = unix_now();
        let mut set_cookies = vec![cookies.set(
            FlowCookie::Access,
            tokens.access_token.as_str(),
            self.access_lifetime(&tokens, now),
        )];
        let refresh_lifetime = match &tokens.refresh_token {
            // Rotation: the provider issued a new refresh token; the old one is spent.
            Some(new) => {
                let lifetime = self.refresh_lifetime(&tokens, new, now);
                set_cookies.push(cookies.set(FlowCookie::Refresh, new.as_str(), lifetime));
                lifetime
            }
            None => self.inner.config.inner.default_refresh_lifetime,
        };
        if let Some(id) = &tokens.id_token {
            set_cookies.push(cookies.set(FlowCookie::Id, id.as_str(), refresh_lifetime));
        }
        // Best effort: without the grace entry a racing tab is logged out, as before.
        let grace = self.inner.config.inner.refresh_grace;
        let entry = RefreshGrace {
            access: tokens.access_token.clone(),
            set_cookies,
        };
        if !grace.is_zero()
            && let Err(err) = self
                .inner
                .store
                .put(Kind::RefreshGrace, refresh, &entry, grace)
                .await
        {
            tracing::debug!(error = %err, "the refresh grace entry could not be stored");
        }
        Ok(refreshed_response(&entry.set_cookies))
    }

    /// The answer of a refresh that already spent `refresh` within the grace window,
    /// while its access token still authenticates (a logout since revoked it).
    async fn refreshed(&self, refresh: &str) -> Option<Response<String>> {
        let grace: RefreshGrace = self
            .inner
            .store
            .get(Kind::RefreshGrace, refresh)
            .await
            .ok()
            .flatten()?;
        self.inner.auth.verify(grace.access.as_str()).await.ok()?;
        Some(refreshed_response(&grace.set_cookies))
    }

    /// `GET /session`: the current user, as the core authenticator sees the request.
    pub(super) async fn session(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        let auth = &self.inner.auth;
        let session_error = |error| FlowError::Session {
            error,
            realm: auth.config().realm().into(),
        };
        match auth.authenticate("GET", &req.headers).await {
            Ok(Some(authenticated)) => {
                let user = serde_json::to_value(&*authenticated.user).map_err(|_| {
                    FlowError::Internal {
                        reason: "the user could not be serialized",
                    }
                })?;
                Ok(json(StatusCode::OK, &user))
            }
            Ok(None) => Err(session_error(authgate::AuthError::MissingToken)),
            Err(error) => Err(session_error(error)),
        }
    }

    /// `POST /logout`: clears the cookies and answers the provider's logout URL.
    pub(super) async fn logout(&self, req: &FlowRequest) -> Result<Response<String>, FlowError> {
        self.check_origin(&req.headers)?;
        let c = &self.inner.config.inner;
        let cookies = &self.inner.cookies;
        let id_token = cookie_value(&req.headers, cookies.name(FlowCookie::Id));
        // The access token (and its provider session) stop working at once, here and
        // on every instance, rather than at their `exp`.
        if let Some(access) = cookie_value(&req.headers, cookies.name(FlowCookie::Access)) {
            self.revoke_session(access).await;
        }
        // The refresh token dies at the provider (RFC 7009), when it says how.
        if let Some(refresh) = cookie_value(&req.headers, cookies.name(FlowCookie::Refresh)) {
            self.revoke_at_provider(refresh).await;
        }
        // Logging out locally never depends on the provider being up.
        let end_session = match self.inner.auth.provider_metadata() {
            Some(meta) => meta.end_session_endpoint.clone(),
            None => self
                .metadata()
                .await
                .ok()
                .and_then(|meta| meta.end_session_endpoint.clone()),
        };
        let end_session = end_session.and_then(|e| {
            self.inner
                .auth
                .config()
                .browser_url(&e)
                .ok()
                .map(String::from)
        });
        let url = logout_url(
            end_session.as_deref(),
            id_token,
            &c.post_logout_redirect_url,
            &c.client_id,
        );
        let mut response = json(StatusCode::OK, &serde_json::json!({ "logoutUrl": url }));
        for cookie in self.inner.cookies.clear_session() {
            append_cookie(&mut response, &cookie);
        }
        Ok(response)
    }

    /// Puts a verified access token, and the provider session it belongs to, on the
    /// denylist (an unverifiable cookie is ignored: nobody may fill the list with
    /// made-up entries).
    async fn revoke_session(&self, access: &str) {
        if self.inner.auth.verify(access).await.is_err() {
            return;
        }
        let now = unix_now();
        let exp = unverified_exp(access).unwrap_or(now);
        let mut revocations = vec![Revocation::token(access, exp)];
        if let Some(sid) =
            unverified_claim(access, "sid").and_then(|v| v.as_str().map(str::to_owned))
        {
            // Other access tokens of this session (another tab refreshed) live as long.
            let iat = unverified_claim(access, "iat")
                .and_then(|v| v.as_i64())
                .unwrap_or(now);
            let lifetime = u64::try_from(exp.saturating_sub(iat)).unwrap_or(0);
            let keep = Duration::from_secs(lifetime.max(300) + 60);
            revocations.push(Revocation::session(sid, now, keep));
        }
        self.publish(&revocations).await;
    }

    /// RFC 7009 at the provider's `revocation_endpoint`, best effort: logging out
    /// locally never depends on the provider being up.
    async fn revoke_at_provider(&self, refresh: &str) {
        let Ok(meta) = self.metadata().await else {
            return;
        };
        let Some(endpoint) = meta
            .revocation_endpoint
            .as_deref()
            .and_then(|e| self.inner.auth.config().server_url(e).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            return;
        };
        if let Err(err) = self.inner.client.revoke(endpoint, refresh).await {
            tracing::warn!(error = %err, "the provider did not revoke the refresh token at logout");
        }
    }

    /// Refuses a cross-site `POST` when the CSRF protection is on.
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), FlowError> {
        if !self.inner.config.inner.csrf
            || authgate::__private::origin_is_trusted(headers, &self.inner.trusted_origins)
        {
            Ok(())
        } else {
            Err(FlowError::CrossSiteRequest)
        }
    }

    /// The access cookie's lifetime: `expires_in`, else the token's `exp`, else the
    /// configured default.
    fn access_lifetime(&self, tokens: &TokenResponse, now: i64) -> Duration {
        seconds(tokens.expires_in.as_ref())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .or_else(|| until(unverified_exp(tokens.access_token.as_str())?, now))
            .unwrap_or(self.inner.config.inner.default_access_lifetime)
    }

    /// The refresh cookie's lifetime: `refresh_expires_in`, else the token's `exp`,
    /// else the configured default.
    fn refresh_lifetime(&self, tokens: &TokenResponse, refresh: &Secret, now: i64) -> Duration {
        // `refresh_expires_in: 0` means "no expiry" (Keycloak offline tokens): use the default.
        seconds(tokens.refresh_expires_in.as_ref())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .or_else(|| until(unverified_exp(refresh.as_str())?, now))
            .unwrap_or(self.inner.config.inner.default_refresh_lifetime)
    }
}

/// Refuses token responses with a token that a cookie cannot hold.
pub(super) fn check_cookie_safe(tokens: &TokenResponse) -> Result<(), FlowError> {
    let all = [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ];
    if all
        .into_iter()
        .flatten()
        .all(|t| is_cookie_safe(t.as_str()))
    {
        Ok(())
    } else {
        Err(FlowError::TokenEndpoint(TokenEndpointError::Unusable {
            reason: "a token has characters a cookie cannot hold",
        }))
    }
}

/// The current Unix time in seconds.
pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A duration in whole seconds, saturating.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The time from `now` to `exp`, if `exp` is in the future.
fn until(exp: i64, now: i64) -> Option<Duration> {
    u64::try_from(exp.checked_sub(now)?)
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_until_exp() {
        assert_eq!(until(110, 100), Some(Duration::from_secs(10)));
        assert_eq!(until(100, 100), None);
        assert_eq!(until(90, 100), None);
    }
}
