//! The actix-web middleware, extractors and guard middleware, against a real issuer.

mod common;

use actix_web::{App, test, web};
use authgate::{AccessToken, Authenticator, User};
use authgate_extract::actix::{
    AuthMiddleware, require_any_role, require_authenticated, require_role, require_scope,
};
use authgate_extract::{Auth, Guard};
use authgate_test_support::actix::{call, request};
use authgate_test_support::{TestResult, Tokens, admin, api_user, setup, support};
use common::{
    Admins, AuthentikApi, MISMATCH, NobodyListed, Staff, customers, guard_cases, maybe, me,
};
use http::StatusCode;

fn optional(auth: &Authenticator) -> AuthMiddleware {
    AuthMiddleware::new(authgate::AuthOptions::from_authenticator(auth.clone()).optional())
}

#[actix_web::test]
async fn auth_without_the_middleware_is_a_500_naming_it() {
    let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
    let reply = call(&app, request("GET", "/me", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
    assert!(
        reply
            .text()
            .contains("no AuthMiddleware on this route; add .wrap(AuthMiddleware::new(config))")
    );
    assert_eq!(reply.header("www-authenticate"), None);
}

#[actix_web::test]
async fn required_middleware_refuses_anonymous_and_inserts_the_user_and_token() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .route(
                "/whoami",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    use actix_web::HttpMessage;
                    let extensions = req.extensions();
                    let user = extensions
                        .get::<std::sync::Arc<User>>()
                        .map(|u| u.sub.clone());
                    let token = extensions.get::<AccessToken>().map(|t| t.as_str().len());
                    let context = extensions
                        .get::<authgate::__private::AuthMarker>()
                        .is_some();
                    format!("{user:?} {} {context}", token.is_some())
                }),
            )
            .wrap(AuthMiddleware::new(auth.clone())),
    )
    .await;
    let reply = call(
        &app,
        request("GET", "/whoami", Some(&admin(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!(reply.text(), r#"Some("ada") true true"#);
    let reply = call(&app, request("GET", "/whoami", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");
    let realm = format!(r#"Bearer realm="{}""#, issuer.issuer());
    assert_eq!(reply.header("www-authenticate"), Some(realm.as_str()));
    Ok(())
}

#[actix_web::test]
async fn auth_behind_an_optional_middleware_is_a_401_for_anonymous() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .route("/me", web::get().to(me))
            .route("/maybe", web::get().to(maybe))
            .wrap(optional(&auth)),
    )
    .await;
    let reply = call(&app, request("GET", "/me", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=")
    );

    let reply = call(
        &app,
        request("GET", "/me", Some(&support(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "sam"));

    assert_eq!(
        call(&app, request("GET", "/maybe", None, "").to_request())
            .await
            .text(),
        "anonymous"
    );
    let reply = call(
        &app,
        request("GET", "/maybe", Some(&admin(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!(reply.text(), "ada");
    let reply = call(
        &app,
        request("GET", "/maybe", Some("not.a.token"), "").to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[actix_web::test]
async fn token_extractor_gives_the_raw_token() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .route(
                "/token",
                web::get()
                    .to(|Auth(token): Auth<AccessToken>| async move { token.as_str().to_owned() }),
            )
            .wrap(optional(&auth)),
    )
    .await;
    let token = admin(&issuer);
    assert_eq!(
        call(
            &app,
            request("GET", "/token", Some(&token), "").to_request()
        )
        .await
        .text(),
        token
    );
    let reply = call(&app, request("GET", "/token", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[actix_web::test]
async fn role_and_scope_guards() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .route(
                "/admin",
                web::get().to(|guard: Guard<Admins>| async move { guard.into_user().sub }),
            )
            .route(
                "/staff",
                web::get().to(|guard: Guard<Staff>| async move { guard.user().role.clone() }),
            )
            .route(
                "/api",
                web::get().to(|_: Guard<AuthentikApi>| async { "ok" }),
            )
            .wrap(optional(&auth)),
    )
    .await;
    let (ada, sam, api) = (admin(&issuer), support(&issuer), api_user(&issuer));

    let reply = call(&app, request("GET", "/admin", Some(&ada), "").to_request()).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "ada"));
    let reply = call(&app, request("GET", "/admin", Some(&sam), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_role");
    let reply = call(&app, request("GET", "/admin", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = call(&app, request("GET", "/staff", Some(&sam), "").to_request()).await;
    assert_eq!(reply.text(), "support");

    let reply = call(&app, request("GET", "/api", Some(&sam), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_scope");
    let header = reply.header("www-authenticate").unwrap();
    assert!(header.contains(r#"error="insufficient_scope", scope="goauthentik.io/api""#));
    let reply = call(&app, request("GET", "/api", Some(&api), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    Ok(())
}

#[actix_web::test]
async fn guard_runs_before_a_json_body() -> TestResult {
    let (issuer, auth) = setup().await?;
    async fn create(_: Guard<Admins>, body: web::Json<serde_json::Value>) -> String {
        body.to_string()
    }
    let app = test::init_service(
        App::new()
            .route("/items", web::post().to(create))
            .wrap(optional(&auth)),
    )
    .await;
    let bad = "{not json";
    let reply = call(
        &app,
        request("POST", "/items", Some(&support(&issuer)), bad).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = call(&app, request("POST", "/items", None, bad).to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = call(
        &app,
        request("POST", "/items", Some(&admin(&issuer)), bad).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = call(
        &app,
        request("POST", "/items", Some(&admin(&issuer)), r#"{"a":1}"#).to_request(),
    )
    .await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, r#"{"a":1}"#));
    Ok(())
}

#[actix_web::test]
async fn guard_middleware_guards_scopes_and_resources() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/admin")
                    .wrap(require_role("admin"))
                    .route("/a", web::get().to(|| async { "a" }))
                    .route("/b", web::post().to(|| async { "b" })),
            )
            .service(
                web::resource("/staff")
                    .wrap(require_any_role(&["admin", "support"]))
                    .route(web::get().to(|| async { "staff" })),
            )
            .service(
                web::scope("/api")
                    .wrap(require_scope("goauthentik.io/api"))
                    .route("", web::get().to(|| async { "api" })),
            )
            .service(
                web::scope("/members")
                    .wrap(require_authenticated())
                    .route("", web::get().to(|| async { "members" })),
            )
            .route("/public", web::get().to(|| async { "public" }))
            .wrap(optional(&auth)),
    )
    .await;

    let t = Tokens::new(&issuer);
    for (method, uri, token, status) in guard_cases(&t) {
        let reply = call(
            &app,
            request(method, uri, token.as_deref(), "").to_request(),
        )
        .await;
        assert_eq!(reply.status, status, "{method} {uri} {}", reply.text());
    }
    let reply = call(
        &app,
        request("GET", "/api", Some(&t.support), "").to_request(),
    )
    .await;
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="insufficient_scope", scope="goauthentik.io/api""#)
    );
    Ok(())
}

#[actix_web::test]
async fn guard_middleware_without_the_auth_middleware_is_a_500() {
    let app = test::init_service(
        App::new().service(
            web::scope("/admin")
                .wrap(require_role("admin"))
                .route("", web::get().to(|| async { "a" })),
        ),
    )
    .await;
    let reply = call(&app, request("GET", "/admin", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
}

#[actix_web::test]
async fn rejection_is_a_responder_too() {
    let app = test::init_service(App::new().route(
        "/refuse",
        web::get().to(|| async { authgate::AuthError::Expired.rejection("api") }),
    ))
    .await;
    let reply = call(&app, request("GET", "/refuse", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "token_expired");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
        )
    );
}

#[actix_web::test]
async fn a_guard_spec_with_an_empty_role_list_refuses_everyone_with_500() -> TestResult {
    let (issuer, auth) = setup().await?;
    let app = test::init_service(
        App::new()
            .route(
                "/nobody",
                web::get().to(|_: Guard<NobodyListed>| async { "let through" }),
            )
            .wrap(optional(&auth)),
    )
    .await;
    for token in [Some(admin(&issuer)), Some(support(&issuer)), None] {
        let reply = call(
            &app,
            request("GET", "/nobody", token.as_deref(), "").to_request(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.code(), "guard_misconfigured");
    }
    Ok(())
}

#[actix_web::test]
async fn auth_of_another_user_type_is_a_500_and_option_auth_swallows_it() -> TestResult {
    let (issuer, auth) = setup().await?;
    let customers = customers(&auth);
    customers.refresh_keys().await?;
    let app = test::init_service(
        App::new()
            .route("/me", web::get().to(me))
            .route("/maybe", web::get().to(maybe))
            .wrap(AuthMiddleware::new(
                authgate::AuthOptions::from_authenticator(customers).optional(),
            )),
    )
    .await;
    let token = admin(&issuer);
    let reply = call(&app, request("GET", "/me", Some(&token), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_user_type_mismatch");
    assert!(reply.text().contains(MISMATCH), "{}", reply.text());
    // actix-web's own `Option<T>` extractor turns every failure into `None` (the
    // mismatch is still logged).
    let reply = call(
        &app,
        request("GET", "/maybe", Some(&token), "").to_request(),
    )
    .await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "anonymous"));
    Ok(())
}
