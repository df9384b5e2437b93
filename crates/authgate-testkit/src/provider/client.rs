//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::oauth::{OAuthError, Params};
use crate::issuer::shared::Client;

/// How the client must authenticate at the token and revocation endpoints
/// ([`TestIssuerBuilder::client_auth_method`](crate::TestIssuerBuilder::client_auth_method)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` with the form-urlencoded client id and secret
    /// (RFC 6749 §2.3.1) only.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body only.
    ClientSecretPost,
    /// Either of the two above (the default, as Authentik accepts both).
    #[default]
    Any,
    /// A public client: `client_id` in the form body and no secret at all
    /// (PKCE still protects the code).
    None,
}

impl ClientAuthMethod {
    /// The names of `token_endpoint_auth_methods_supported`.
    pub(crate) fn discovery_names(self) -> &'static [&'static str] {
        match self {
            ClientAuthMethod::ClientSecretBasic => &["client_secret_basic"],
            ClientAuthMethod::ClientSecretPost => &["client_secret_post"],
            ClientAuthMethod::Any => &["client_secret_basic", "client_secret_post"],
            ClientAuthMethod::None => &["none"],
        }
    }
}

/// How a request to the token endpoint authenticated the client
/// ([`TokenRequest::client_auth`](crate::TokenRequest::client_auth)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuthUsed {
    /// An `Authorization: Basic` header.
    Basic,
    /// `client_secret` in the form body.
    Post,
    /// No client secret at all (a public client, or a request without credentials).
    None,
}

/// The credentials a request presented.
#[derive(Debug)]
pub(crate) struct Presented {
    pub(crate) used: ClientAuthUsed,
    client_id: Option<String>,
    secret: Option<String>,
    /// The `Authorization` header was present but not valid Basic credentials.
    malformed: bool,
}

/// Decodes one form-urlencoded component of Basic credentials (RFC 6749 §2.3.1).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Reads the credentials of a token or revocation request.
pub(crate) fn presented(headers: &HeaderMap, form: &Params) -> Presented {
    let form_id = form.get("client_id").map(str::to_owned);
    let form_secret = form.get("client_secret").map(str::to_owned);
    match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let basic = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|creds| {
                    creds
                        .split_once(':')
                        .map(|(id, secret)| (form_decode(id), form_decode(secret)))
                });
            let malformed = basic.is_none();
            let (client_id, secret) = basic.unzip();
            Presented {
                used: ClientAuthUsed::Basic,
                client_id,
                secret,
                malformed,
            }
        }
        None => Presented {
            used: if form_secret.is_some() {
                ClientAuthUsed::Post
            } else {
                ClientAuthUsed::None
            },
            client_id: form_id,
            secret: form_secret,
            malformed: false,
        },
    }
}

fn invalid_client(used: ClientAuthUsed, description: &str) -> OAuthError {
    OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        .basic_challenge(used == ClientAuthUsed::Basic)
}

fn same(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Checks the presented credentials against the registered client.
pub(crate) fn authenticate(
    client: &Client,
    presented: &Presented,
    form: &Params,
) -> Result<(), OAuthError> {
    let used = presented.used;
    if used == ClientAuthUsed::Basic && form.get("client_secret").is_some() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one client authentication method was used",
        ));
    }
    if presented.malformed {
        return Err(invalid_client(used, "malformed Basic credentials"));
    }
    let allowed = matches!(
        (client.method, used),
        (ClientAuthMethod::ClientSecretBasic, ClientAuthUsed::Basic)
            | (ClientAuthMethod::ClientSecretPost, ClientAuthUsed::Post)
            | (
                ClientAuthMethod::Any,
                ClientAuthUsed::Basic | ClientAuthUsed::Post
            )
            | (ClientAuthMethod::None, ClientAuthUsed::None)
    );
    if !allowed {
        return Err(invalid_client(
            used,
            "this client authentication method is not allowed for this client",
        ));
    }
    // A client_id in the body must name the authenticated client too.
    let body_id = form.get("client_id");
    let id = presented.client_id.as_deref();
    if id.is_none_or(|id| id != client.id) || body_id.is_some_and(|b| b != client.id) {
        return Err(invalid_client(used, "unknown client"));
    }
    match (&client.secret, presented.secret.as_deref()) {
        (None, None) => Ok(()),
        (Some(expected), Some(given)) if same(expected, given) => Ok(()),
        _ => Err(invalid_client(used, "client authentication failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(method: ClientAuthMethod) -> Client {
        Client {
            id: "cid".into(),
            secret: (method != ClientAuthMethod::None).then(|| "s:e/c ret".to_owned()),
            method,
        }
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut headers = HeaderMap::new();
        let value = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        );
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn check(method: ClientAuthMethod, headers: &HeaderMap, body: &str) -> Result<(), OAuthError> {
        let form = Params::parse(body);
        authenticate(&client(method), &presented(headers, &form), &form)
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let ok = basic("cid", "s:e/c ret");
        assert!(check(ClientAuthMethod::ClientSecretBasic, &ok, "").is_ok());
        assert!(check(ClientAuthMethod::Any, &ok, "client_id=cid").is_ok());
        let wrong = basic("cid", "nope");
        let err = check(ClientAuthMethod::ClientSecretBasic, &wrong, "").unwrap_err();
        assert_eq!(err.error(), "invalid_client");
    }

    #[test]
    fn the_method_must_be_the_registered_one() {
        let post = "client_id=cid&client_secret=s%3Ae%2Fc+ret";
        assert!(check(ClientAuthMethod::ClientSecretPost, &HeaderMap::new(), post).is_ok());
        assert!(check(ClientAuthMethod::Any, &HeaderMap::new(), post).is_ok());
        assert!(check(ClientAuthMethod::ClientSecretBasic, &HeaderMap::new(), post).is_err());
        assert!(
            check(
                ClientAuthMethod::ClientSecretPost,
                &basic("cid", "s:e/c ret"),
                ""
            )
            .is_err()
        );
        assert!(check(ClientAuthMethod::None, &HeaderMap::new(), "client_id=cid").is_ok());
        assert!(check(ClientAuthMethod::None, &HeaderMap::new(), post).is_err());
        assert!(check(ClientAuthMethod::Any, &HeaderMap::new(), "client_id=cid").is_err());
    }

    #[test]
    fn two_methods_at_once_or_garbage_are_refused() {
        let both = check(
            ClientAuthMethod::Any,
            &basic("cid", "s:e/c ret"),
            "client_secret=x",
        );
        assert_eq!(both.unwrap_err().error(), "invalid_request");
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(
            check(ClientAuthMethod::Any, &garbage, "")
                .unwrap_err()
                .error(),
            "invalid_client"
        );
        let other = check(
            ClientAuthMethod::Any,
            &basic("cid", "s:e/c ret"),
            "client_id=zz",
        );
        assert_eq!(other.unwrap_err().error(), "invalid_client");
    }
}
