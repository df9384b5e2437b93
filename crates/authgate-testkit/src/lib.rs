#![doc = include_str!("../README.md")]
//!
//! # URLs
//!
//! `{base}` is the advertised base: the [public URL](TestIssuerBuilder::public_url)
//! if one is set, else the loopback base `http://127.0.0.1:PORT`. The server
//! always listens on loopback, at the same paths.
//!
//! | [`Endpoint`] | advertised URL |
//! |-----|-------|
//! | [`Discovery`](Endpoint::Discovery) | `{issuer}.well-known/openid-configuration` |
//! | [`Jwks`](Endpoint::Jwks) | `{issuer}jwks/` |
//! | [`Authorize`](Endpoint::Authorize) | `{base}/application/o/authorize/` |
//! | [`Token`](Endpoint::Token) | `{base}/application/o/token/` |
//! | [`Userinfo`](Endpoint::Userinfo) | `{base}/application/o/userinfo/` |
//! | [`Revocation`](Endpoint::Revocation) | `{base}/application/o/revoke/` |
//! | [`EndSession`](Endpoint::EndSession) | `{issuer}end-session/` |
//! | [`AuthentikApi`](Endpoint::AuthentikApi) | `{base}/api/v3/authenticators/webauthn/` |
//!
//! where `{issuer}` is [`issuer`](TestIssuer::issuer), `{base}/application/o/{slug}/`.
//! That is Authentik's layout, the default; [`issuer_path`](TestIssuerBuilder::issuer_path)
//! and [`endpoint_path`](TestIssuerBuilder::endpoint_path) lay the issuer out like
//! another provider (Keycloak's `{base}/realms/{realm}` with its keys at
//! `{issuer}/protocol/openid-connect/certs`, Auth0's `{base}/` with
//! `{base}/.well-known/jwks.json`).
//! [`base_url`](TestIssuer::base_url) is the loopback base and
//! [`endpoint_url`](TestIssuer::endpoint_url) an endpoint's loopback URL.
//!
//! # The provider's rules
//!
//! - **authorization** (`GET`; `POST` is the sign-in page's form): `client_id`
//!   known and `redirect_uri` registered exactly, else a 400 page and never a
//!   redirect; then `response_type=code`, a `scope` with `openid`,
//!   `code_challenge` with `code_challenge_method=S256` (plain is refused), else an
//!   error redirect (`error`, `error_description`, `state`, `iss`). A `login_hint`
//!   naming a configured user, or the [auto-login](TestIssuerBuilder::auto_login)
//!   user, is signed in at once (`302`); otherwise the sign-in page lists the
//!   users as buttons (`id="login-<sub>"`, `data-sub="<sub>"`) and a cancel button
//!   (`id="cancel"`, giving `access_denied`); `prompt=none` without a user gives
//!   `login_required`. Success redirects to `redirect_uri?code=..&state=..&iss=..`
//!   (RFC 9207).
//! - **codes**: single use (a second use also revokes what the first gave),
//!   valid 60 s, bound to the client, redirect URI, PKCE challenge, nonce, scope,
//!   user and session.
//! - **token** (`POST` form): client authentication per [`ClientAuthMethod`];
//!   `authorization_code` (PKCE S256 checked, `redirect_uri` must match) and
//!   `refresh_token` (with [rotation](TestIssuerBuilder::refresh_token_rotation)
//!   the presented token stops working). A refresh token comes with the scope
//!   `offline_access`. Errors are OAuth JSON (`{error, error_description}`, 400 or
//!   401) with `Cache-Control: no-store`; [`TokenFault`] makes deliberate mistakes.
//! - **tokens**: signed by the default key (`kid` in the header). Access tokens
//!   like Authentik's (`iss, sub, aud, azp, exp, iat, auth_time, sid, uid, scope`
//!   and the user's claims); ID tokens with `nonce`, `at_hash`, `sid`, `auth_time`.
//! - **userinfo** (`GET`/`POST`, Bearer): the user's claims for a live access
//!   token of this issuer, else 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
//! - **revocation** (RFC 7009, `POST` form, client authentication): a refresh
//!   token revokes its grant, an access token itself; unknown tokens get `200` too.
//! - **end-session** (`GET`/`POST`): `id_token_hint` (expired allowed) or
//!   `client_id`; `post_logout_redirect_uri` registered exactly, else a 400 page;
//!   `state` echoed; the hinted session ends (its tokens stop working); a `302` to
//!   the post-logout URI, or a "signed out" page.
//! - the [outage switch](TestIssuer::set_outage) answers 503 on every endpoint,
//!   and [every endpoint is counted](TestIssuer::requests).
//!
//! # The types
//!
//! - [`TestIssuer`] (made by [`TestIssuer::start`], [`TestIssuer::start_blocking`] or
//!   [`TestIssuer::builder`]): the server, its keys, users, switches and logs.
//! - [`TestUser`]: a user the provider can sign in.
//! - [`ClientAuthMethod`], [`TokenFault`]: how the client authenticates, what the
//!   token endpoint gets wrong on purpose; [`TokenRequest`] and [`ClientAuthUsed`]:
//!   what it saw.
//! - [`TokenBuilder`] (made by [`TestIssuer::token`]): one JWT, its claims and header.
//! - [`SigningKey`]: a generated RSA or EC key; [`SigningKey::sign_raw`] and
//!   [`unsigned_token`] craft tokens by hand.
//! - [`TestkitError`]: what can go wrong starting the issuer, generating keys,
//!   signing, or signing a user in.

mod error;
mod issuer;
mod key;
mod provider;
mod token;
mod user;

pub use axum::http::StatusCode;
pub use error::TestkitError;
pub use issuer::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EC_KID, DEFAULT_RSA_KID, DEFAULT_SLUG,
    Endpoint, TestIssuer, TestIssuerBuilder,
};
pub use jsonwebtoken::Algorithm;
pub use key::{SigningKey, unsigned_token};
pub use provider::{
    AUTHENTIK_API_SCOPE, ClientAuthMethod, ClientAuthUsed, TokenFault, TokenRequest,
};
pub use token::{DEFAULT_TOKEN_LIFETIME, TokenBuilder, now};
pub use user::TestUser;
