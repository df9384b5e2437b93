//! Sessions, authorization codes, grants and the tokens issued under them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::oauth::random_token;
use crate::now;

/// How long an authorization code may be redeemed.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// What an authorization code is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) nonce: Option<String>,
    pub(crate) scope: String,
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) auth_time: i64,
}

/// An index into [`Grants::grants`].
pub(crate) type GrantId = usize;

/// What a redeemed code granted; refresh tokens carry it on.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) sub: String,
    pub(crate) scope: String,
    pub(crate) sid: String,
    pub(crate) auth_time: i64,
    revoked: bool,
}

/// A sign-in at the provider (`sid`).
#[derive(Debug)]
struct Session {
    ended: bool,
}

/// Why a code or refresh token gives nothing.
pub(crate) type Refusal = &'static str;

#[derive(Default)]
pub(crate) struct Grants {
    codes: HashMap<String, (Code, Instant)>,
    /// Redeemed (or burnt) codes and the grant they gave, for reuse detection.
    spent_codes: HashMap<String, Option<GrantId>>,
    grants: Vec<Grant>,
    /// Live refresh tokens.
    refresh: HashMap<String, GrantId>,
    /// Access tokens the token endpoint issued.
    access: HashMap<String, GrantId>,
    /// ID tokens the token endpoint issued (never accepted as access tokens).
    id_tokens: HashSet<String>,
    /// Access tokens revoked one by one.
    revoked: HashSet<String>,
    sessions: HashMap<String, Session>,
}

impl Grants {
    /// Signs a user in: a new session id and the time of authentication.
    pub(crate) fn start_session(&mut self) -> (String, i64) {
        let sid = random_token(16);
        self.sessions.insert(sid.clone(), Session { ended: false });
        (sid, now())
    }

    /// Stores `code` and returns its value.
    pub(crate) fn issue_code(&mut self, code: Code) -> String {
        let value = random_token(32);
        self.codes
            .insert(value.clone(), (code, Instant::now() + CODE_LIFETIME));
        value
    }

    /// Takes a code out for redemption: it can never be taken again. A code
    /// presented a second time revokes what its first redemption granted
    /// (RFC 6749 §4.1.2).
    pub(crate) fn take_code(&mut self, value: &str) -> Result<Code, Refusal> {
        if let Some(granted) = self.spent_codes.get(value) {
            if let Some(id) = *granted {
                self.grants[id].revoked = true;
            }
            return Err("the authorization code was already used");
        }
        let Some((code, expires)) = self.codes.remove(value) else {
            return Err("unknown authorization code");
        };
        self.spent_codes.insert(value.to_owned(), None);
        if Instant::now() > expires {
            return Err("the authorization code expired");
        }
        Ok(code)
    }

    /// Records the grant a redeemed code gave.
    pub(crate) fn grant_for_code(&mut self, value: &str, code: &Code) -> GrantId {
        let id = self.grants.len();
        self.grants.push(Grant {
            sub: code.sub.clone(),
            scope: code.scope.clone(),
            sid: code.sid.clone(),
            auth_time: code.auth_time,
            revoked: false,
        });
        self.spent_codes.insert(value.to_owned(), Some(id));
        id
    }

    pub(crate) fn grant(&self, id: GrantId) -> &Grant {
        &self.grants[id]
    }

    fn grant_active(&self, id: GrantId) -> bool {
        let grant = &self.grants[id];
        !grant.revoked && self.sessions.get(&grant.sid).is_some_and(|s| !s.ended)
    }

    /// Uses a refresh token; with `rotate` it stops working at once.
    pub(crate) fn use_refresh(&mut self, token: &str, rotate: bool) -> Result<GrantId, Refusal> {
        let Some(&id) = self.refresh.get(token) else {
            return Err("unknown, rotated or revoked refresh token");
        };
        if !self.grant_active(id) {
            self.refresh.remove(token);
            return Err("the grant was revoked or its session ended");
        }
        if rotate {
            self.refresh.remove(token);
        }
        Ok(id)
    }

    /// A new refresh token for grant `id`.
    pub(crate) fn add_refresh(&mut self, id: GrantId) -> String {
        let token = random_token(48);
        self.refresh.insert(token.clone(), id);
        token
    }

    pub(crate) fn record_access(&mut self, token: &str, id: GrantId) {
        self.access.insert(token.to_owned(), id);
    }

    pub(crate) fn record_id_token(&mut self, token: &str) {
        self.id_tokens.insert(token.to_owned());
    }

    /// RFC 7009: a refresh token revokes its whole grant (the refresh token and
    /// the access tokens issued under it); any other token is revoked alone.
    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(id) = self.refresh.remove(token) {
            self.grants[id].revoked = true;
        } else {
            self.revoked.insert(token.to_owned());
        }
    }

    /// Whether an access token (already verified) may still be used: not revoked,
    /// not an ID token, and its grant and session (if it came from the token
    /// endpoint) still live.
    pub(crate) fn access_active(&self, token: &str) -> bool {
        if self.revoked.contains(token) || self.id_tokens.contains(token) {
            return false;
        }
        self.access
            .get(token)
            .is_none_or(|&id| self.grant_active(id))
    }

    /// Ends the session `sid`: its refresh and access tokens stop working.
    pub(crate) fn end_session(&mut self, sid: &str) {
        if let Some(session) = self.sessions.get_mut(sid) {
            session.ended = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(grants: &mut Grants) -> (String, Code) {
        let (sid, auth_time) = grants.start_session();
        let code = Code {
            client_id: "c".into(),
            redirect_uri: "http://app/cb".into(),
            challenge: "x".into(),
            nonce: None,
            scope: "openid offline_access".into(),
            sub: "u".into(),
            sid,
            auth_time,
        };
        (grants.issue_code(code.clone()), code)
    }

    #[test]
    fn a_code_is_taken_once_and_reuse_revokes_the_grant() {
        let mut grants = Grants::default();
        let (value, code) = code(&mut grants);
        let taken = grants.take_code(&value).unwrap();
        assert_eq!(taken.sub, "u");
        let id = grants.grant_for_code(&value, &code);
        let refresh = grants.add_refresh(id);
        grants.record_access("at", id);
        assert!(grants.access_active("at"));
        assert!(grants.take_code(&value).is_err());
        assert!(!grants.access_active("at"));
        assert!(grants.use_refresh(&refresh, true).is_err());
        assert!(grants.take_code("unknown").is_err());
    }

    #[test]
    fn rotation_and_revocation_and_session_end() {
        let mut grants = Grants::default();
        let (value, code) = code(&mut grants);
        grants.take_code(&value).unwrap();
        let id = grants.grant_for_code(&value, &code);
        let first = grants.add_refresh(id);
        assert_eq!(grants.use_refresh(&first, false), Ok(id));
        assert_eq!(grants.use_refresh(&first, true), Ok(id));
        assert!(grants.use_refresh(&first, true).is_err());

        let second = grants.add_refresh(id);
        grants.revoke("some-access-token");
        assert!(!grants.access_active("some-access-token"));
        assert_eq!(grants.use_refresh(&second, false), Ok(id));
        grants.end_session(&code.sid);
        assert!(grants.use_refresh(&second, false).is_err());

        grants.record_id_token("idt");
        assert!(!grants.access_active("idt"));
        assert!(grants.access_active("minted-elsewhere"));
    }
}
