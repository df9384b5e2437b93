//! What authgate accepts from the provider's documents: a discovery document must name
//! the configured issuer, redirects never lead to another origin, and a key set that
//! cannot be refreshed is trusted for a bounded time only.

use authgate::{AuthConfig, Authenticator, FetchError};
use authgate_testkit::TestIssuer;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

const SLUG: &str = "app";

/// Serves `router` on loopback; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn discovery_path() -> String {
    format!("/application/o/{SLUG}/.well-known/openid-configuration")
}

/// A provider at its own address whose discovery document names `issuer` and points
/// at the test issuer's real keys.
async fn provider_naming(issuer: String, keys: &TestIssuer) -> String {
    let doc = json!({ "issuer": issuer, "jwks_uri": keys.jwks_url() });
    serve(Router::new().route(
        &discovery_path(),
        get(move || async move { axum::Json(doc).into_response() }),
    ))
    .await
}

fn redirect(to: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let keys = TestIssuer::start().await.unwrap();
    let evil = format!("https://evil.example/application/o/{SLUG}/");
    let base = provider_naming(evil.clone(), &keys).await;
    let auth = Authenticator::new(
        AuthConfig::authentik(&base, SLUG, keys.client_id())
            .build()
            .unwrap(),
    );
    let err = auth.refresh_keys().await.unwrap_err();
    assert!(
        matches!(&*err, FetchError::IssuerMismatch { discovered, .. } if *discovered == evil),
        "{err}"
    );
    assert_eq!(keys.jwks_requests(), 0, "no key is fetched from it");
    // A token that names the configured issuer and is signed by the served key still
    // gets no user: there are no keys to trust.
    let token = keys
        .token()
        .iss(&format!("{base}/application/o/{SLUG}/"))
        .sign();
    let refused = auth.verify(&token).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn through_an_internal_url_the_issuer_is_compared_after_moving_it_back() {
    // Authentik names its issuer after the host it was asked on: through the internal
    // URL, the document names the internal origin.
    let keys = TestIssuer::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": format!("{internal}/application/o/{SLUG}/"),
        "jwks_uri": keys.jwks_url(),
    });
    let router = Router::new().route(
        &discovery_path(),
        get(move || async move { axum::Json(doc).into_response() }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let public = "https://auth.example.com";
    let auth = Authenticator::new(
        AuthConfig::authentik(public, SLUG, keys.client_id())
            .internal_url(&internal)
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    let token = keys
        .token()
        .iss(&format!("{public}/application/o/{SLUG}/"))
        .sub("alice")
        .sign();
    assert_eq!(auth.verify(&token).await.unwrap().sub, "alice");

    // Another slug on the internal origin is still another issuer.
    let other = provider_naming(format!("{internal}/application/o/other/"), &keys).await;
    let auth = Authenticator::new(
        AuthConfig::authentik(public, SLUG, keys.client_id())
            .internal_url(&other)
            .build()
            .unwrap(),
    );
    let err = auth.refresh_keys().await.unwrap_err();
    assert!(matches!(&*err, FetchError::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn redirects_to_another_origin_are_not_followed() {
    let keys = TestIssuer::start().await.unwrap();
    // Discovery redirects to the real issuer's document, on another origin.
    let target = keys.discovery_url();
    let base = serve(Router::new().route(
        &discovery_path(),
        get(move || {
            let target = target.clone();
            async move { redirect(target) }
        }),
    ))
    .await;
    let auth = Authenticator::new(
        AuthConfig::authentik(&base, SLUG, keys.client_id())
            .build()
            .unwrap(),
    );
    let err = auth.refresh_keys().await.unwrap_err();
    assert!(chain(&*err).contains("another origin"), "{}", chain(&*err));
    assert_eq!(
        keys.discovery_requests(),
        0,
        "the redirect was not followed"
    );

    // The JWKS redirecting elsewhere is refused the same way.
    let jwks = keys.jwks_url();
    let base = serve(Router::new().route(
        "/jwks",
        get(move || {
            let jwks = jwks.clone();
            async move { redirect(jwks) }
        }),
    ))
    .await;
    let auth = Authenticator::new(
        AuthConfig::oidc(keys.issuer())
            .audience(keys.client_id())
            .jwks_url(format!("{base}/jwks"))
            .build()
            .unwrap(),
    );
    let err = auth.refresh_keys().await.unwrap_err();
    assert!(chain(&*err).contains("another origin"), "{}", chain(&*err));
    assert_eq!(keys.jwks_requests(), 0);
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed() {
    let keys = TestIssuer::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": format!("{base}/application/o/{SLUG}/"),
        "jwks_uri": format!("{base}/moved-jwks"),
    });
    let jwks = keys.jwks_url();
    let router = Router::new()
        .route(
            &discovery_path(),
            get(|| async { redirect(String::from("/moved-discovery")) }),
        )
        .route(
            "/moved-discovery",
            get(move || async move { axum::Json(doc).into_response() }),
        )
        .route(
            "/moved-jwks",
            get(move || {
                let jwks = jwks.clone();
                async move {
                    let body = reqwest::get(jwks).await.unwrap().text().await.unwrap();
                    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let auth = Authenticator::new(
        AuthConfig::authentik(&base, SLUG, keys.client_id())
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    let token = keys
        .token()
        .iss(&format!("{base}/application/o/{SLUG}/"))
        .sign();
    assert!(auth.verify(&token).await.is_ok());
}

#[tokio::test]
async fn keys_that_cannot_be_refreshed_are_trusted_for_a_bounded_time_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let auth = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .max_stale_keys(Some(std::time::Duration::from_secs(1)))
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    let token = issuer.token().sub("alice").sign();
    assert_eq!(auth.verify(&token).await.unwrap().sub, "alice"); // now cached

    // The provider goes away; the last good set serves until it is a second old
    // (whole seconds: wait until the clock has passed its second twice).
    issuer.set_outage(true);
    assert!(auth.refresh_keys().await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let refused = auth.verify(&token).await.unwrap_err();
    assert_eq!(
        refused.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused}"
    );
    assert_eq!(refused.code(), "keys_unavailable");
    let fresh = issuer.token().sub("bob").sign();
    assert_eq!(
        auth.verify(&fresh).await.unwrap_err().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    // The provider is back: a successful fetch makes the keys trusted again.
    issuer.set_outage(false);
    auth.refresh_keys().await.unwrap();
    assert_eq!(auth.verify(&token).await.unwrap().sub, "alice");
}

#[test]
fn a_zero_maximum_key_age_is_a_configuration_error() {
    let err = AuthConfig::authentik("https://auth.example.com", SLUG, "client")
        .max_stale_keys(Some(std::time::Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_stale_keys"), "{err}");
}

#[tokio::test]
async fn an_id_token_is_not_an_access_token() {
    use authgate::TokenType;

    let issuer = TestIssuer::start().await.unwrap();
    let preset = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .build()
            .unwrap(),
    );
    preset.refresh_keys().await.unwrap();
    assert_eq!(preset.config().token_type(), &TokenType::authentik());
    // Authentik's ID token: the access token's claims without `azp` and `uid`.
    let id_token = issuer
        .token()
        .remove_claim("uid")
        .remove_claim("azp")
        .claim("nonce", "n-1")
        .sign();
    let access = issuer.token().sign();
    let refused = preset.verify(&id_token).await.unwrap_err();
    assert_eq!(refused.code(), "wrong_token_type");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(preset.verify(&access).await.is_ok());

    // The same key store verifies ID tokens for the login flow.
    let ids = preset.id_tokens(issuer.client_id());
    assert!(ids.verify(&id_token).await.is_ok());

    // RFC 9068: the header's typ.
    let at_jwt = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .token_type(TokenType::AtJwt)
            .build()
            .unwrap(),
    );
    at_jwt.refresh_keys().await.unwrap();
    let typed = issuer.token().header("typ", "at+jwt").sign();
    assert!(at_jwt.verify(&typed).await.is_ok());
    assert_eq!(
        at_jwt.verify(&access).await.unwrap_err().code(),
        "wrong_token_type"
    );

    // From the environment.
    let env = |name: &str| match name {
        "AUTHENTIK_URL" => Some(issuer.base_url()),
        "AUTHENTIK_APP_SLUG" => Some(issuer.slug().to_owned()),
        "AUTHENTIK_CLIENT_ID" => Some(issuer.client_id().to_owned()),
        "AUTH_TOKEN_TYPE" => Some(String::from("no-claim:nonce")),
        _ => None,
    };
    let config = AuthConfig::from_env_with(env).unwrap();
    assert_eq!(config.token_type(), &TokenType::ForbidClaim("nonce".into()));
    let bad = AuthConfig::from_env_with(|name| match name {
        "AUTH_TOKEN_TYPE" => Some(String::from("claim:")),
        other => env(other),
    })
    .unwrap_err();
    assert!(bad.to_string().contains("AUTH_TOKEN_TYPE"), "{bad}");
}
