//! The OpenID provider behind the issuer: its endpoints, and the [`TestIssuer`]
//! methods that register clients' URIs and users, set faults and read its logs.

mod authentik_api;
mod authorize;
mod client;
mod discovery;
mod end_session;
mod fault;
mod grants;
mod mint;
mod oauth;
mod page;
mod revoke;
mod state;
mod token;
mod userinfo;
mod verify;

pub use client::{ClientAuthMethod, ClientAuthUsed};
pub use fault::TokenFault;
pub(crate) use grants::Grants;
pub(crate) use state::ProviderState;
pub use state::TokenRequest;

/// The handlers, for the router.
pub(crate) mod handlers {
    pub(crate) use super::authentik_api::webauthn_handler;
    pub(crate) use super::authorize::{
        get_handler as authorize_get, post_handler as authorize_post,
    };
    pub(crate) use super::discovery::{discovery_handler, jwks_handler};
    pub(crate) use super::end_session::{
        get_handler as end_session_get, post_handler as end_session_post,
    };
    pub(crate) use super::revoke::handler as revoke;
    pub(crate) use super::token::handler as token;
    pub(crate) use super::userinfo::handler as userinfo;
}

use crate::{TestIssuer, TestUser};

/// The scope Authentik requires before an access token may call its own API.
pub const AUTHENTIK_API_SCOPE: &str = "goauthentik.io/api";

impl TestIssuer {
    /// The client secret, or `None` for a public client
    /// ([`ClientAuthMethod::None`]).
    pub fn client_secret(&self) -> Option<String> {
        self.inner.shared.client.secret.clone()
    }

    /// How the client must authenticate at the token and revocation endpoints.
    pub fn client_auth_method(&self) -> ClientAuthMethod {
        self.inner.shared.client.method
    }

    /// Registers another redirect URI (matched exactly), for ports known only
    /// after the issuer started.
    pub fn add_redirect_uri(&self, uri: &str) {
        ProviderState::add_unique(&mut self.inner.shared.state().redirect_uris, uri);
    }

    /// Registers another post-logout redirect URI (matched exactly).
    pub fn add_post_logout_redirect_uri(&self, uri: &str) {
        ProviderState::add_unique(
            &mut self.inner.shared.state().post_logout_redirect_uris,
            uri,
        );
    }

    /// Adds a user (replacing the user with the same `sub`, in place). New users
    /// come last on the sign-in page.
    pub fn add_user(&self, user: TestUser) {
        self.inner.shared.state().add_user(user);
    }

    /// The configured users, in sign-in page order.
    pub fn users(&self) -> Vec<TestUser> {
        self.inner.shared.state().users.clone()
    }

    /// Makes the authorization endpoint sign this user in without showing the
    /// page (`None`: show the page again). A `sub` that is not a configured user
    /// is ignored.
    pub fn set_auto_login(&self, sub: Option<&str>) {
        self.inner.shared.state().auto_login = sub.map(str::to_owned);
    }

    /// What the token endpoint saw, oldest first (refused requests included;
    /// not those answered 503 by the outage switch).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.inner.shared.state().token_requests.clone()
    }

    /// Every access, ID and refresh token the token endpoint issued, oldest
    /// first: look for them where they must not be (logs, URLs, bodies). Tokens
    /// made with [`token`](Self::token) are not in it.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.shared.state().issued.clone()
    }

    /// Makes the token endpoint answer with this fault until it is set back to
    /// `None`.
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        self.inner.shared.state().fault = fault;
    }

    /// How many end-session requests were accepted (the session named by an
    /// `id_token_hint` ends: its refresh and access tokens stop working).
    pub fn end_sessions(&self) -> usize {
        self.inner.shared.state().end_sessions
    }
}
