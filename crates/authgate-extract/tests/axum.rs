//! The axum extractors and route layers, against a real issuer.

mod common;

use authgate::{AuthLayer, Authenticator};
use authgate_extract::{
    AccessToken, Auth, Guard, require_any_role, require_authenticated, require_role, require_scope,
};
use authgate_test_support::axum::send;
use authgate_test_support::{Reply, TestResult, Tokens, admin, api_user, setup, support};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use common::{
    Admins, AuthentikApi, MISMATCH, NobodyListed, Staff, customers, guard_cases, maybe, me,
};

async fn get_(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    send(app, "GET", uri, token, "").await
}

fn optional(auth: &Authenticator) -> AuthLayer {
    AuthLayer::new(authgate::AuthOptions::from_authenticator(auth.clone()).optional())
}

#[tokio::test]
async fn auth_without_a_layer_is_a_500_naming_the_layer() {
    let app = Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe));
    for uri in ["/me", "/maybe"] {
        let reply = get_(&app, uri, None).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(reply.code(), "auth_layer_missing");
        assert!(
            reply
                .text()
                .contains("no AuthLayer on this route; add .layer(AuthLayer::new(config))")
        );
        assert_eq!(reply.header("www-authenticate"), None);
    }
}

#[tokio::test]
async fn auth_behind_an_optional_layer_is_a_401_for_anonymous() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new().route("/me", get(me)).layer(optional(&auth));

    let reply = get_(&app, "/me", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");
    let realm = format!(r#"Bearer realm="{}""#, issuer.issuer());
    assert_eq!(reply.header("www-authenticate"), Some(realm.as_str()));

    let reply = get_(&app, "/me", Some(&support(&issuer))).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "sam"));
    Ok(())
}

#[tokio::test]
async fn option_auth_is_none_for_anonymous_and_some_for_a_user() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new()
        .route("/maybe", get(maybe))
        .layer(optional(&auth));
    assert_eq!(get_(&app, "/maybe", None).await.text(), "anonymous");
    assert_eq!(
        get_(&app, "/maybe", Some(&admin(&issuer))).await.text(),
        "ada"
    );
    // A bad token is still refused by the layer, optional or not.
    let reply = get_(&app, "/maybe", Some("not.a.token")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn token_extractor_gives_the_raw_token() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new()
        .route(
            "/token",
            get(|Auth(token): Auth<AccessToken>| async move { token.as_str().to_owned() }),
        )
        .route(
            "/debug",
            get(|Auth(token): Auth<AccessToken>| async move { format!("{token:?}") }),
        )
        .layer(optional(&auth));
    let token = admin(&issuer);
    assert_eq!(get_(&app, "/token", Some(&token)).await.text(), token);
    let debug = get_(&app, "/debug", Some(&token)).await;
    assert!(!debug.text().contains(&token));
    assert!(debug.text().contains("redacted"));
    assert_eq!(
        get_(&app, "/token", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn role_guard_answers_403_for_the_wrong_role_and_401_for_anonymous() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new()
        .route(
            "/admin",
            get(|guard: Guard<Admins>| async move { guard.into_user().sub }),
        )
        .route(
            "/staff",
            get(|guard: Guard<Staff>| async move { guard.user().role.clone() }),
        )
        .layer(optional(&auth));

    let reply = get_(&app, "/admin", Some(&admin(&issuer))).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "ada"));

    let reply = get_(&app, "/admin", Some(&support(&issuer))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_role");
    assert_eq!(reply.header("www-authenticate"), None);

    let reply = get_(&app, "/admin", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");

    let reply = get_(&app, "/staff", Some(&support(&issuer))).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "support"));
    Ok(())
}

#[tokio::test]
async fn scope_guard_answers_403_with_insufficient_scope() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new()
        .route("/api", get(|_: Guard<AuthentikApi>| async { "ok" }))
        .layer(optional(&auth));

    let reply = get_(&app, "/api", Some(&support(&issuer))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_scope");
    let header = reply.header("www-authenticate").unwrap();
    assert!(header.starts_with("Bearer realm="));
    assert!(header.contains(r#"error="insufficient_scope""#));
    assert!(header.contains(r#"scope="goauthentik.io/api""#));

    assert_eq!(
        get_(&app, "/api", Some(&api_user(&issuer))).await.status,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn guard_runs_before_a_json_body() -> TestResult {
    let (issuer, auth) = setup().await?;
    async fn create(_: Guard<Admins>, axum::Json(body): axum::Json<serde_json::Value>) -> String {
        body.to_string()
    }
    let app = Router::new()
        .route("/items", post(create))
        .layer(optional(&auth));

    let bad = "{not json";
    let reply = send(&app, "POST", "/items", Some(&support(&issuer)), bad).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(&app, "POST", "/items", None, bad).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // For an admin the body is read, and then it is refused as JSON.
    let reply = send(&app, "POST", "/items", Some(&admin(&issuer)), bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(&app, "POST", "/items", Some(&admin(&issuer)), r#"{"a":1}"#).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, r#"{"a":1}"#));
    Ok(())
}

#[tokio::test]
async fn guard_without_a_layer_is_a_500() {
    let app = Router::new().route("/admin", get(|_: Guard<Admins>| async { "ok" }));
    let reply = get_(&app, "/admin", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
}

#[tokio::test]
async fn route_layers_guard_a_group_of_routes() -> TestResult {
    let (issuer, auth) = setup().await?;
    let admin_routes = Router::new()
        .route("/admin/a", get(|| async { "a" }))
        .route("/admin/b", post(|| async { "b" }))
        .route_layer(require_role("admin"));
    let staff_routes = Router::new()
        .route("/staff", get(|| async { "staff" }))
        .route_layer(require_any_role(&["admin", "support"]));
    let api_routes = Router::new()
        .route("/api", get(|| async { "api" }))
        .route_layer(require_scope("goauthentik.io/api"));
    let member_routes = Router::new()
        .route("/members", get(|| async { "members" }))
        .route_layer(require_authenticated());
    let app = Router::new()
        .merge(admin_routes)
        .merge(staff_routes)
        .merge(api_routes)
        .merge(member_routes)
        .route("/public", get(|| async { "public" }))
        .layer(optional(&auth));

    let t = Tokens::new(&issuer);
    let mut cases = guard_cases(&t);
    // Unknown routes stay 404: a route layer runs only on matched routes.
    cases.push(("GET", "/admin/zzz", None, StatusCode::NOT_FOUND));
    for (method, uri, token, status) in cases {
        let reply = send(&app, method, uri, token.as_deref(), "").await;
        assert_eq!(reply.status, status, "{method} {uri} {}", reply.text());
    }
    let reply = get_(&app, "/api", Some(&t.support)).await;
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="insufficient_scope", scope="goauthentik.io/api""#)
    );
    Ok(())
}

#[tokio::test]
async fn route_layer_without_an_auth_layer_is_a_500() {
    let app = Router::new()
        .route("/admin", get(|| async { "a" }))
        .route_layer(require_role("admin"));
    let reply = get_(&app, "/admin", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
}

#[tokio::test]
async fn custom_user_types_work_with_extractors_and_layers() -> TestResult {
    use authgate::GuardUser;
    use authgate::{Claims, MapError};

    #[derive(Clone, Debug)]
    struct Customer {
        id: String,
        tier: String,
    }
    impl GuardUser for Customer {
        fn has_role(&self, role: &str) -> bool {
            self.tier == role
        }
        fn has_scope(&self, _: &str) -> bool {
            false
        }
    }

    let (issuer, auth) = setup().await?;
    let custom = Authenticator::with_mapper(auth.config().clone(), |claims: &Claims| {
        let tier = claims.str("tier").ok_or_else(|| MapError::new("no tier"))?;
        Ok(Customer {
            id: claims.sub().to_owned(),
            tier: tier.to_owned(),
        })
    });
    custom.refresh_keys().await?;
    let app = Router::new()
        .route("/gold", get(|Auth(c): Auth<Customer>| async move { c.id }))
        .route_layer(require_role("gold").for_user::<Customer>())
        .layer(AuthLayer::new(custom));

    let gold = issuer.token().sub("c1").claim("tier", "gold").sign();
    let reply = get_(&app, "/gold", Some(&gold)).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "c1"));
    let silver = issuer.token().sub("c2").claim("tier", "silver").sign();
    assert_eq!(
        get_(&app, "/gold", Some(&silver)).await.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

#[test]
fn guards_with_empty_role_or_scope_lists_are_refused_when_built() {
    use authgate::{InvalidRequirement, Requirement};
    use authgate_extract::{GuardLayer, require_any_role, require_scopes};

    for requirement in [
        Requirement::any_role(&[]),
        Requirement::scopes(Vec::<String>::new()),
        Requirement::role(""),
        Requirement::scope(String::from("openid email")),
    ] {
        let err = GuardLayer::try_new(requirement.clone()).unwrap_err();
        assert!(
            matches!(
                err,
                InvalidRequirement::Empty { .. } | InvalidRequirement::BadName { .. }
            ),
            "{requirement:?}"
        );
    }
    for build in [
        (|| {
            let _ = require_any_role(&[]);
        }) as fn(),
        || {
            let _ = require_scopes(&[]);
        },
    ] {
        let panic = std::panic::catch_unwind(build).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("an empty list is refused"), "{message}");
    }
}

#[tokio::test]
async fn a_guard_spec_with_an_empty_role_list_refuses_everyone_with_500() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = Router::new()
        .route(
            "/nobody",
            get(|_: Guard<NobodyListed>| async { "let through" }),
        )
        .layer(optional(&auth));
    for token in [Some(admin(&issuer)), Some(support(&issuer)), None] {
        let reply = get_(&app, "/nobody", token.as_deref()).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.code(), "guard_misconfigured");
    }
    Ok(())
}

#[tokio::test]
async fn option_auth_of_another_user_type_is_a_500_not_none() -> TestResult {
    let (issuer, auth) = setup().await?;
    let customers = customers(&auth);
    customers.refresh_keys().await?;
    let app = Router::new()
        .route("/maybe", get(maybe))
        .layer(AuthLayer::new(
            authgate::AuthOptions::from_authenticator(customers).optional(),
        ));
    for token in [Some(admin(&issuer)), None] {
        let reply = get_(&app, "/maybe", token.as_deref()).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.code(), "auth_user_type_mismatch");
        assert!(reply.text().contains(MISMATCH), "{}", reply.text());
    }
    Ok(())
}
