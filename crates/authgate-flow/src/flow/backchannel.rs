//! `POST {prefix}/backchannel-logout`: OpenID Connect Back-Channel Logout 1.0, which
//! Authentik (and Keycloak, and others) send when a user signs out at the provider or
//! an administrator ends a session. The logout token is checked as §2.6 lists, then
//! the session (`sid`) or the user (`sub`) is revoked here and on every instance.

use std::time::Duration;

use authgate::{Claims, Revocation};
use http::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::Flow;
use super::request::FlowRequest;
use super::response::json;
use super::session::unix_now;
use crate::error::FlowError;
use crate::sealed::Kind;

/// The event a logout token must carry.
pub(crate) const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How old a logout token may be (its `iat`), and how long its `jti` is remembered.
const MAX_AGE: Duration = Duration::from_secs(300);
/// Clock skew allowed on `iat` in the future.
const SKEW: i64 = 60;
/// How long a revoked session or user stays on the denylist: longer than any access
/// token of that session can live.
const KEEP: Duration = Duration::from_secs(24 * 3600);

fn refused(reason: &'static str) -> FlowError {
    FlowError::LogoutToken { reason }
}

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// `POST /backchannel-logout` with `logout_token=<JWT>` (form-encoded).
    pub(super) async fn backchannel_logout(
        &self,
        req: &FlowRequest,
    ) -> Result<Response<String>, FlowError> {
        let is_form = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(FlowError::UnsupportedMediaType);
        }
        let mut tokens = url::form_urlencoded::parse(&req.body)
            .filter(|(name, _)| name == "logout_token")
            .map(|(_, value)| value.into_owned());
        let (Some(token), None) = (tokens.next(), tokens.next()) else {
            return Err(refused("the body must carry exactly one logout_token"));
        };
        let claims = self.verify_logout_token(&token).await?;
        let now = unix_now();
        let revocation = match (claims.str("sid"), claims.sub()) {
            (Some(sid), "") => Revocation::session(sid, now, KEEP),
            (Some(sid), sub) => Revocation::session(sid, now, KEEP).with_subject(sub),
            (None, sub) if !sub.is_empty() => Revocation::subject(sub, now, KEEP),
            _ => return Err(refused("the logout token names neither a sid nor a sub")),
        };
        self.publish(&[revocation]).await;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "success": true }),
        ))
    }

    /// Back-Channel Logout 1.0 §2.6: signature, `iss`, `aud` and `exp` by the core;
    /// then `iat` recent, `events` with the logout event, no `nonce`, `sub` or `sid`,
    /// and a `jti` not seen before.
    async fn verify_logout_token(&self, token: &str) -> Result<Claims, FlowError> {
        let claims = self
            .inner
            .logouts
            .verify(token)
            .await
            .map_err(FlowError::LogoutTokenRejected)?;
        let now = unix_now();
        let max_age = i64::try_from(MAX_AGE.as_secs()).unwrap_or(300);
        match claims.get("iat").and_then(Value::as_i64) {
            Some(iat) if iat > now + SKEW => return Err(refused("iat is in the future")),
            Some(iat) if iat < now - max_age => return Err(refused("the logout token is too old")),
            Some(_) => {}
            None => return Err(refused("the logout token has no iat")),
        }
        let has_event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|events| events.get(BACKCHANNEL_EVENT))
            .is_some_and(Value::is_object);
        if !has_event {
            return Err(refused("events lacks the back-channel logout event"));
        }
        if claims.get("nonce").is_some() {
            // What stops an ID token from being replayed here.
            return Err(refused("a logout token must not carry a nonce"));
        }
        if claims.sub().is_empty() && claims.str("sid").is_none() {
            return Err(refused("the logout token names neither a sid nor a sub"));
        }
        let jti = claims
            .str("jti")
            .filter(|jti| !jti.is_empty() && jti.len() <= 256)
            .ok_or_else(|| refused("the logout token has no jti"))?;
        let seen: Option<i64> = self.inner.store.get(Kind::LogoutJti, jti).await?;
        if seen.is_some() {
            return Err(refused("this logout token was already used"));
        }
        self.inner
            .store
            .put(
                Kind::LogoutJti,
                jti,
                &now,
                MAX_AGE + Duration::from_secs(2 * 60),
            )
            .await?;
        Ok(claims)
    }
}
