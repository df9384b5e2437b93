//! The actix-web middleware, extractors and guard middleware, against a real issuer.

mod common;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use authgate::{AccessToken, Authenticator, User};
use authgate_extract::actix::{
    AuthMiddleware, require_any_role, require_authenticated, require_role, require_scope,
};
use authgate_extract::{Auth, Guard};
use common::{Admins, AuthentikApi, Staff, TestResult, admin, api_user, code, setup, support};

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    fn code(&self) -> String {
        code(&self.body)
    }
}

fn req(method: &str, uri: &str, token: Option<&str>, body: &str) -> test::TestRequest {
    let mut request = test::TestRequest::default()
        .method(method.parse().unwrap())
        .uri(uri)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned());
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    request
}

async fn send<S, R, B>(app: &S, request: R) -> Reply
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::read_body(response).await.to_vec();
    Reply {
        status,
        www_authenticate,
        body,
    }
}

async fn me(Auth(user): Auth<User>) -> String {
    user.sub
}

async fn maybe(user: Option<Auth<User>>) -> String {
    user.map_or_else(|| String::from("anonymous"), |Auth(user)| user.sub)
}

fn optional(auth: &Authenticator) -> AuthMiddleware {
    AuthMiddleware::new(authgate::AuthOptions::from_authenticator(auth.clone()).optional())
}

#[actix_web::test]
async fn auth_without_the_middleware_is_a_500_naming_it() {
    let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
    let reply = send(&app, req("GET", "/me", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
    assert!(
        reply
            .text()
            .contains("no AuthMiddleware on this route; add .wrap(AuthMiddleware::new(config))")
    );
    assert_eq!(reply.www_authenticate, None);
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
                    let user = extensions.get::<User>().map(|u| u.sub.clone());
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
    let reply = send(
        &app,
        req("GET", "/whoami", Some(&admin(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!(reply.text(), r#"Some("ada") true true"#);
    let reply = send(&app, req("GET", "/whoami", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");
    let realm = format!(r#"Bearer realm="{}""#, issuer.issuer());
    assert_eq!(reply.www_authenticate.as_deref(), Some(realm.as_str()));
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
    let reply = send(&app, req("GET", "/me", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "missing_token");
    assert!(reply.www_authenticate.unwrap().starts_with("Bearer realm="));

    let reply = send(
        &app,
        req("GET", "/me", Some(&support(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "sam"));

    assert_eq!(
        send(&app, req("GET", "/maybe", None, "").to_request())
            .await
            .text(),
        "anonymous"
    );
    let reply = send(
        &app,
        req("GET", "/maybe", Some(&admin(&issuer)), "").to_request(),
    )
    .await;
    assert_eq!(reply.text(), "ada");
    let reply = send(
        &app,
        req("GET", "/maybe", Some("not.a.token"), "").to_request(),
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
        send(&app, req("GET", "/token", Some(&token), "").to_request())
            .await
            .text(),
        token
    );
    let reply = send(&app, req("GET", "/token", None, "").to_request()).await;
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

    let reply = send(&app, req("GET", "/admin", Some(&ada), "").to_request()).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "ada"));
    let reply = send(&app, req("GET", "/admin", Some(&sam), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_role");
    let reply = send(&app, req("GET", "/admin", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = send(&app, req("GET", "/staff", Some(&sam), "").to_request()).await;
    assert_eq!(reply.text(), "support");

    let reply = send(&app, req("GET", "/api", Some(&sam), "").to_request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "insufficient_scope");
    let header = reply.www_authenticate.unwrap();
    assert!(header.contains(r#"error="insufficient_scope", scope="goauthentik.io/api""#));
    let reply = send(&app, req("GET", "/api", Some(&api), "").to_request()).await;
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
    let reply = send(
        &app,
        req("POST", "/items", Some(&support(&issuer)), bad).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(&app, req("POST", "/items", None, bad).to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = send(
        &app,
        req("POST", "/items", Some(&admin(&issuer)), bad).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(
        &app,
        req("POST", "/items", Some(&admin(&issuer)), r#"{"a":1}"#).to_request(),
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

    let (ada, sam, api) = (admin(&issuer), support(&issuer), api_user(&issuer));
    let cases: &[(&str, &str, Option<&str>, StatusCode)] = &[
        ("GET", "/admin/a", Some(&ada), StatusCode::OK),
        ("POST", "/admin/b", Some(&ada), StatusCode::OK),
        ("GET", "/admin/a", Some(&sam), StatusCode::FORBIDDEN),
        ("POST", "/admin/b", None, StatusCode::UNAUTHORIZED),
        ("GET", "/staff", Some(&sam), StatusCode::OK),
        ("GET", "/staff", Some(&ada), StatusCode::OK),
        ("GET", "/staff", Some(&api), StatusCode::FORBIDDEN),
        ("GET", "/api", Some(&api), StatusCode::OK),
        ("GET", "/api", Some(&sam), StatusCode::FORBIDDEN),
        ("GET", "/members", Some(&api), StatusCode::OK),
        ("GET", "/members", None, StatusCode::UNAUTHORIZED),
        ("GET", "/public", None, StatusCode::OK),
    ];
    for (method, uri, token, status) in cases {
        let reply = send(&app, req(method, uri, *token, "").to_request()).await;
        assert_eq!(reply.status, *status, "{method} {uri} {}", reply.text());
    }
    let reply = send(&app, req("GET", "/api", Some(&sam), "").to_request()).await;
    assert!(
        reply
            .www_authenticate
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
    let reply = send(&app, req("GET", "/admin", None, "").to_request()).await;
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
    let reply = send(&app, req("GET", "/refuse", None, "").to_request()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "token_expired");
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
        )
    );
}
