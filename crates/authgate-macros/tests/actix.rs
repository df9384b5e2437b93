//! Guarded actix-web handlers answer 401 / 403 / 200, and the guard runs before `Json`.

use actix_web::{App, test, web};
use authgate_extract::actix::AuthMiddleware;
use authgate_extract::{Auth, User, require_any_role, require_role, require_scope};
use authgate_test_support::actix::{call, request};
use authgate_test_support::{TestResult, Tokens, setup};
use http::StatusCode;

/// Creates an item.
#[require_role("admin", framework = "actix")]
async fn create(Auth(user): Auth<User>, item: web::Json<serde_json::Value>) -> String {
    format!("{} {}", user.sub, item.into_inner())
}

#[require_any_role("admin", "support")]
async fn tickets() -> &'static str {
    "tickets"
}

#[require_scope("goauthentik.io/api")]
async fn groups(Auth(user): Auth<User>) -> String {
    user.sub
}

// With actix-web's route macros, in both orders.
#[actix_web::get("/outer")]
#[require_role("admin")]
async fn route_macro_outside() -> &'static str {
    "outer"
}

#[require_role("admin")]
#[actix_web::get("/inner")]
async fn route_macro_inside() -> &'static str {
    "inner"
}

#[actix_web::test]
async fn guarded_handlers_answer_401_403_and_200() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let app = test::init_service(
        App::new()
            .route("/items", web::post().to(create))
            .route("/tickets", web::get().to(tickets))
            .route("/groups", web::get().to(groups))
            .service(route_macro_outside)
            .service(route_macro_inside)
            .wrap(AuthMiddleware::new(
                authgate::AuthOptions::from_authenticator(auth).optional(),
            )),
    )
    .await;

    let cases: &[(&str, &str, Option<&str>, &str, StatusCode)] = &[
        ("POST", "/items", Some(&t.admin), "{}", StatusCode::OK),
        (
            "POST",
            "/items",
            Some(&t.support),
            "{}",
            StatusCode::FORBIDDEN,
        ),
        ("POST", "/items", None, "{}", StatusCode::UNAUTHORIZED),
        ("GET", "/tickets", Some(&t.support), "", StatusCode::OK),
        ("GET", "/tickets", Some(&t.api), "", StatusCode::FORBIDDEN),
        ("GET", "/tickets", None, "", StatusCode::UNAUTHORIZED),
        ("GET", "/groups", Some(&t.api), "", StatusCode::OK),
        ("GET", "/groups", Some(&t.admin), "", StatusCode::FORBIDDEN),
        ("GET", "/outer", Some(&t.admin), "", StatusCode::OK),
        ("GET", "/outer", Some(&t.support), "", StatusCode::FORBIDDEN),
        ("GET", "/inner", Some(&t.admin), "", StatusCode::OK),
        ("GET", "/inner", None, "", StatusCode::UNAUTHORIZED),
    ];
    for (method, uri, token, body, status) in cases {
        let reply = call(&app, request(method, uri, *token, body).to_request()).await;
        assert_eq!(reply.status, *status, "{method} {uri}: {}", reply.body);
    }
    let created = request("POST", "/items", Some(&t.admin), r#"{"n":1}"#);
    let reply = call(&app, created.to_request()).await;
    assert_eq!(reply.body, r#"ada {"n":1}"#);
    let reply = call(
        &app,
        request("GET", "/groups", Some(&t.admin), "").to_request(),
    )
    .await;
    assert_eq!(reply.code(), "insufficient_scope");
    Ok(())
}

#[actix_web::test]
async fn the_guard_runs_before_the_json_body() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let app = test::init_service(App::new().route("/items", web::post().to(create)).wrap(
        AuthMiddleware::new(authgate::AuthOptions::from_authenticator(auth).optional()),
    ))
    .await;
    let bad = "{definitely not json";

    let support = request("POST", "/items", Some(&t.support), bad).to_request();
    let reply = call(&app, support).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::FORBIDDEN, "insufficient_role")
    );
    let reply = call(&app, request("POST", "/items", None, bad).to_request()).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
    let admin = request("POST", "/items", Some(&t.admin), bad).to_request();
    assert_eq!(call(&app, admin).await.status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[actix_web::test]
async fn a_guarded_handler_without_the_middleware_is_a_500() {
    let app = test::init_service(App::new().route("/tickets", web::get().to(tickets))).await;
    let reply = call(&app, request("GET", "/tickets", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
}

/// The user type of a service with its own claims mapper.
#[derive(Clone, Debug)]
struct Member;

impl authgate::GuardUser for Member {
    fn has_role(&self, _: &str) -> bool {
        true
    }

    fn has_scope(&self, _: &str) -> bool {
        true
    }
}

#[actix_web::test]
async fn a_guard_without_the_mappers_user_type_is_a_500_naming_both_types() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let members =
        authgate::Authenticator::with_mapper(auth.config().clone(), |_: &authgate::Claims| {
            Ok(Member)
        });
    members.refresh_keys().await?;
    // `tickets` forgot `user = Member`: it asks for the default `User`.
    let app = test::init_service(
        App::new()
            .route("/tickets", web::get().to(tickets))
            .wrap(AuthMiddleware::new(members)),
    )
    .await;
    let reply = call(
        &app,
        request("GET", "/tickets", Some(&t.admin), "").to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_user_type_mismatch");
    let text = reply.text();
    assert!(text.contains("`authgate::user::User`"), "{text}");
    assert!(text.contains("actix::Member`"), "{text}");
    Ok(())
}
