//! Several issuers read from the environment (`AUTH_ISSUERS`), behind the axum layer
//! with extractors and guards and behind the actix-web middleware: the same answers,
//! each issuer's roles, unknown issuers refused.

mod common;

use authgate::{AuthConfig, AuthLayer, Authenticator};
use authgate_extract::Guard;
use authgate_extract::actix::AuthMiddleware;
use authgate_test_support::actix::{call as actix_call, request as actix_request};
use authgate_test_support::axum::send;
use authgate_test_support::{Reply, TestResult};
use authgate_testkit::{Endpoint, TestIssuer};
use axum::http::StatusCode;
use common::{Admins, me};
use serde_json::json;

async fn admin_only(guard: Guard<Admins>) -> String {
    guard.into_user().sub
}

/// The two issuers' own variables (`TestIssuer::env`, secrets left out: the login
/// flow's), each under its `AUTH_ISSUER_<NAME>_` prefix, with `extra` on top.
fn environment(issuers: &[(&str, &TestIssuer)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let names: Vec<&str> = issuers.iter().map(|(name, _)| *name).collect();
    let mut env = vec![(String::from("AUTH_ISSUERS"), names.join(","))];
    for (name, issuer) in issuers {
        for (variable, value) in issuer.env() {
            if !variable.ends_with("_SECRET") {
                env.push((format!("AUTH_ISSUER_{name}_{variable}"), value));
            }
        }
    }
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

fn from_env(env: &[(String, String)]) -> TestResult<Authenticator> {
    let configs = AuthConfig::issuers_from_env_with(|name| {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    })?;
    Ok(Authenticator::from_issuers(
        configs.into_iter().map(Authenticator::new),
    )?)
}

#[actix_web::test]
async fn several_issuers_from_the_environment_answer_alike_on_axum_and_actix() -> TestResult {
    let ak = TestIssuer::builder().slug("shop").start().await?;
    let kc = TestIssuer::builder()
        .client_id("shop-api")
        .issuer_path("/realms/shop")
        .endpoint_path(Endpoint::Jwks, "/realms/shop/protocol/openid-connect/certs")
        .start()
        .await?;
    let env = environment(
        &[("AK", &ak), ("KC", &kc)],
        &[
            ("AUTH_ISSUER_AK_AUTH_ROLE_MAP", "app-admins=admin"),
            ("AUTH_ISSUER_KC_AUTH_ROLES_CLAIM", "realm_access.roles"),
        ],
    );
    let auth = from_env(&env)?;
    auth.refresh_keys().await?;
    let names: Vec<&str> = auth.issuers().iter().map(|a| a.config().issuer()).collect();
    assert_eq!(names, [ak.issuer(), kc.issuer()]);

    let axum = axum::Router::new()
        .route("/me", axum::routing::get(me))
        .route("/admin", axum::routing::get(admin_only))
        .layer(AuthLayer::new(auth.clone()));
    let actix = actix_web::test::init_service(
        actix_web::App::new()
            .route("/me", actix_web::web::get().to(me))
            .route("/admin", actix_web::web::get().to(admin_only))
            .wrap(AuthMiddleware::new(auth.clone())),
    )
    .await;

    let stranger = TestIssuer::start().await?;
    let cases = [
        (
            "/admin",
            ak.token().sub("ada").groups(["app-admins"]).sign(),
            StatusCode::OK,
            "ada",
        ),
        (
            "/admin",
            kc.token()
                .sub("kim")
                .claim("realm_access", json!({"roles": ["admin"]}))
                .sign(),
            StatusCode::OK,
            "kim",
        ),
        // Each issuer's own roles: the Keycloak issuer has no role table.
        (
            "/admin",
            kc.token().sub("gus").groups(["app-admins"]).sign(),
            StatusCode::FORBIDDEN,
            "insufficient_role",
        ),
        ("/me", kc.token().sub("gus").sign(), StatusCode::OK, "gus"),
        // Audiences are per issuer too.
        (
            "/me",
            kc.token().aud(ak.client_id()).sign(),
            StatusCode::UNAUTHORIZED,
            "invalid_audience",
        ),
        // An issuer nobody configured, and a token naming one issuer signed by the other.
        (
            "/me",
            stranger.token().sign(),
            StatusCode::UNAUTHORIZED,
            "invalid_issuer",
        ),
        (
            "/me",
            kc.token().iss(&ak.issuer()).aud(ak.client_id()).sign(),
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
    ];
    for (uri, token, status, says) in cases {
        let from_axum = send(&axum, "GET", uri, Some(&token), "").await;
        let from_actix: Reply = actix_call(
            &actix,
            actix_request("GET", uri, Some(&token), "").to_request(),
        )
        .await;
        assert_eq!(from_axum.status, status, "{uri} {}", from_axum.body);
        if status == StatusCode::OK {
            assert_eq!(from_axum.text(), says);
        } else {
            assert_eq!(from_axum.code(), says);
        }
        assert_eq!(
            (
                from_axum.status,
                &from_axum.body,
                from_axum.header("www-authenticate")
            ),
            (
                from_actix.status,
                &from_actix.body,
                from_actix.header("www-authenticate")
            ),
            "{uri}: axum and actix-web differ"
        );
    }
    assert_eq!(stranger.discovery_requests() + stranger.jwks_requests(), 0);
    Ok(())
}
