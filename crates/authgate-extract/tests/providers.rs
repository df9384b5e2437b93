//! The README's provider recipes (Keycloak, Auth0), each against a test issuer laid
//! out like that provider, configured from the environment exactly as the recipe says.

use authgate::{AuthConfig, AuthLayer, User};
use authgate_extract::{Auth, require_any_role, require_role};
use authgate_test_support::axum::send;
use authgate_test_support::{Reply, TestResult};
use authgate_testkit::{Endpoint, TestIssuer, TokenBuilder};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

/// The routes of every recipe: `/me` (the user as JSON), `/admin` (role `admin`),
/// `/support` (role `support`), `/staff` (either).
fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Auth(user): Auth<User>| async move { axum::Json(user) }),
        )
        .merge(
            Router::new()
                .route("/admin", get(|| async { "admin" }))
                .route_layer(require_role("admin")),
        )
        .merge(
            Router::new()
                .route("/support", get(|| async { "support" }))
                .route_layer(require_role("support")),
        )
        .merge(
            Router::new()
                .route("/staff", get(|| async { "staff" }))
                .route_layer(require_any_role(&["admin", "support"])),
        )
        .layer(layer)
}

/// The issuer's own environment (`OIDC_ISSUER`, `OIDC_INTERNAL_URL`, …) with the
/// recipe's variables on top.
fn config(issuer: &TestIssuer, recipe: &[(&'static str, &str)]) -> TestResult<AuthConfig> {
    let mut env: Vec<(&str, String)> = issuer
        .env()
        .into_iter()
        .filter(|(name, _)| !recipe.iter().any(|(n, _)| n == name))
        .collect();
    env.extend(recipe.iter().map(|(n, v)| (*n, (*v).to_owned())));
    Ok(AuthConfig::from_env_with(|name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })?)
}

async fn get_(app: &Router, uri: &str, token: &str) -> Reply {
    send(app, "GET", uri, Some(token), "").await
}

/// A Keycloak realm: issuer `https://kc.example.com/realms/shop`, keys at
/// `{issuer}/protocol/openid-connect/certs`, served on loopback (the public URL is
/// reached through `OIDC_INTERNAL_URL`).
async fn keycloak() -> TestResult<TestIssuer> {
    Ok(TestIssuer::builder()
        .client_id("shop-web")
        .public_url("https://kc.example.com")
        .issuer_path("/realms/shop")
        .endpoint_path(Endpoint::Jwks, "/realms/shop/protocol/openid-connect/certs")
        .endpoint_path(
            Endpoint::Authorize,
            "/realms/shop/protocol/openid-connect/auth",
        )
        .endpoint_path(
            Endpoint::Token,
            "/realms/shop/protocol/openid-connect/token",
        )
        .endpoint_path(
            Endpoint::EndSession,
            "/realms/shop/protocol/openid-connect/logout",
        )
        .start()
        .await?)
}

/// An access token shaped like Keycloak's: `typ` `Bearer`, `azp` the client, the API
/// and `account` in `aud`, realm roles in `realm_access`, client roles in
/// `resource_access`.
fn keycloak_token(kc: &TestIssuer, sub: &str, realm: &[&str], client: &[&str]) -> TokenBuilder {
    kc.token()
        .remove_claim("uid")
        .sub(sub)
        .audiences(["shop-api", "account"])
        .claim("typ", "Bearer")
        .claim("azp", "shop-web")
        .claim("preferred_username", sub)
        .claim("realm_access", json!({ "roles": realm }))
        .claim(
            "resource_access",
            json!({
                "shop-api": { "roles": client },
                "account": { "roles": ["manage-account", "view-profile"] }
            }),
        )
        .scope("openid email profile")
}

#[tokio::test]
async fn keycloak_realm_roles_are_the_roles() -> TestResult {
    let kc = keycloak().await?;
    assert_eq!(kc.issuer(), "https://kc.example.com/realms/shop");
    let config = config(
        &kc,
        &[
            ("OIDC_AUDIENCE", "shop-api"),
            ("AUTH_ROLES_CLAIM", "realm_access.roles"),
            ("AUTH_TOKEN_TYPE", "keycloak"),
        ],
    )?;
    assert_eq!(config.issuer(), "https://kc.example.com/realms/shop");
    let layer = AuthLayer::new(config);
    layer.authenticator().refresh_keys().await?;
    let app = app(layer);

    let max = keycloak_token(&kc, "max", &["admin", "support", "offline_access"], &[]).sign();
    let reply = get_(&app, "/me", &max).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me: serde_json::Value = serde_json::from_str(&reply.body)?;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["roles"], json!(["admin", "support", "offline_access"]));
    assert_eq!(me["name"], "max", "preferred_username");
    for uri in ["/admin", "/support", "/staff"] {
        assert_eq!(get_(&app, uri, &max).await.status, StatusCode::OK, "{uri}");
    }

    let sam = keycloak_token(&kc, "sam", &["support"], &[]).sign();
    assert_eq!(get_(&app, "/support", &sam).await.status, StatusCode::OK);
    let reply = get_(&app, "/admin", &sam).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::FORBIDDEN, "insufficient_role")
    );

    // No realm roles: the default role only.
    let uma = keycloak_token(&kc, "uma", &[], &[]).sign();
    let me: serde_json::Value = serde_json::from_str(&get_(&app, "/me", &uma).await.body)?;
    assert_eq!(me["roles"], json!(["user"]));

    // Keycloak's ID token (`typ` `ID`) does not open the API, even for this audience.
    let id_token = keycloak_token(&kc, "max", &["admin"], &[])
        .claim("typ", "ID")
        .sign();
    let reply = get_(&app, "/me", &id_token).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNAUTHORIZED, "wrong_token_type")
    );
    // Another audience (the `account` console's token) neither.
    let account = keycloak_token(&kc, "max", &["admin"], &[])
        .aud("account")
        .sign();
    assert_eq!(get_(&app, "/me", &account).await.code(), "invalid_audience");
    // Keys came from the realm's certs endpoint, found by discovery.
    assert_eq!((kc.discovery_requests(), kc.jwks_requests()), (1, 1));
    Ok(())
}

#[tokio::test]
async fn keycloak_client_roles_through_a_role_table() -> TestResult {
    let kc = keycloak().await?;
    let config = config(
        &kc,
        &[
            ("OIDC_AUDIENCE", "shop-api"),
            ("AUTH_ROLES_CLAIM", "resource_access.shop-api.roles"),
            ("AUTH_ROLE_MAP", "shop-admin=admin,shop-support=support"),
            ("AUTH_TOKEN_TYPE", "keycloak"),
        ],
    )?;
    let layer = AuthLayer::new(config);
    layer.authenticator().refresh_keys().await?;
    let app = app(layer);

    // Realm role `admin` does not count here; the client roles do, through the table.
    let both = keycloak_token(
        &kc,
        "max",
        &["admin"],
        &["shop-support", "shop-admin", "viewer"],
    )
    .sign();
    let me: serde_json::Value = serde_json::from_str(&get_(&app, "/me", &both).await.body)?;
    assert_eq!(me["roles"], json!(["admin", "support"]), "table order");
    assert_eq!(
        me["groups"],
        json!(["shop-support", "shop-admin", "viewer"])
    );
    assert_eq!(get_(&app, "/support", &both).await.status, StatusCode::OK);

    let realm_admin_only = keycloak_token(&kc, "eve", &["admin"], &["viewer"]).sign();
    assert_eq!(
        get_(&app, "/admin", &realm_admin_only).await.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

#[tokio::test]
async fn auth0_namespaced_roles_and_the_api_audience() -> TestResult {
    // An Auth0 tenant: issuer `https://shop.eu.auth0.com/` (trailing slash), keys at
    // `/.well-known/jwks.json`.
    let tenant = TestIssuer::builder()
        .client_id("spa-client")
        .public_url("https://shop.eu.auth0.com")
        .issuer_path("/")
        .endpoint_path(Endpoint::Jwks, "/.well-known/jwks.json")
        .endpoint_path(Endpoint::Authorize, "/authorize")
        .endpoint_path(Endpoint::Token, "/oauth/token")
        .endpoint_path(Endpoint::Userinfo, "/userinfo")
        .endpoint_path(Endpoint::Revocation, "/oauth/revoke")
        .endpoint_path(Endpoint::EndSession, "/oidc/logout")
        .start()
        .await?;
    assert_eq!(tenant.issuer(), "https://shop.eu.auth0.com/");
    let config = config(
        &tenant,
        &[
            ("OIDC_AUDIENCE", "https://api.shop.example"),
            ("AUTH_ROLES_CLAIM", "https://shop.example/roles"),
        ],
    )?;
    let layer = AuthLayer::new(config);
    layer.authenticator().refresh_keys().await?;
    let app = app(layer);

    // An access token for the API: the API identifier and the userinfo URL in `aud`,
    // roles in the namespaced claim an Auth0 Action adds.
    let token = |sub: &str, roles: &[&str]| {
        tenant
            .token()
            .remove_claim("uid")
            .sub(sub)
            .audiences([
                "https://api.shop.example",
                "https://shop.eu.auth0.com/userinfo",
            ])
            .claim("azp", "spa-client")
            .scope("openid profile email")
            .claim("https://shop.example/roles", json!(roles))
    };
    let ada = token("auth0|ada", &["admin"]).sign();
    let me: serde_json::Value = serde_json::from_str(&get_(&app, "/me", &ada).await.body)?;
    assert_eq!(me["sub"], "auth0|ada");
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(get_(&app, "/admin", &ada).await.status, StatusCode::OK);
    let sam = token("auth0|sam", &["support", "billing"]).sign();
    assert_eq!(get_(&app, "/support", &sam).await.status, StatusCode::OK);
    assert_eq!(
        get_(&app, "/admin", &sam).await.status,
        StatusCode::FORBIDDEN
    );

    // The ID token is issued to the client, not the API: refused by its audience.
    let id_token = token("auth0|ada", &["admin"]).aud("spa-client").sign();
    assert_eq!(
        get_(&app, "/me", &id_token).await.code(),
        "invalid_audience"
    );
    // `iss` is compared exactly: without the trailing slash it is another issuer.
    let no_slash = token("auth0|ada", &["admin"])
        .iss("https://shop.eu.auth0.com")
        .sign();
    assert_eq!(get_(&app, "/me", &no_slash).await.code(), "invalid_issuer");
    assert_eq!(tenant.jwks_requests(), 1);
    Ok(())
}
