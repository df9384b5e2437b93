//! Guarded actix-web handlers answer 401 / 403 / 200, and the guard runs before `Json`.

mod common;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use authgate_extract::actix::AuthMiddleware;
use authgate_extract::{Auth, User, require_any_role, require_role, require_scope};
use common::{TestResult, code, setup, tokens};

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

async fn send<S, R, B>(app: &S, request: R) -> (StatusCode, String)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn guarded_handlers_answer_401_403_and_200() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = tokens(&issuer);
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
        let (got, text) = send(&app, req(method, uri, *token, body).to_request()).await;
        assert_eq!(got, *status, "{method} {uri}: {text}");
    }
    let request = req("POST", "/items", Some(&t.admin), r#"{"n":1}"#);
    let (_, text) = send(&app, request.to_request()).await;
    assert_eq!(text, r#"ada {"n":1}"#);
    let (_, text) = send(&app, req("GET", "/groups", Some(&t.admin), "").to_request()).await;
    assert_eq!(code(text.as_bytes()), "insufficient_scope");
    Ok(())
}

#[actix_web::test]
async fn the_guard_runs_before_the_json_body() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = tokens(&issuer);
    let app = test::init_service(App::new().route("/items", web::post().to(create)).wrap(
        AuthMiddleware::new(authgate::AuthOptions::from_authenticator(auth).optional()),
    ))
    .await;
    let bad = "{definitely not json";

    let request = req("POST", "/items", Some(&t.support), bad).to_request();
    let (status, text) = send(&app, request).await;
    assert_eq!(
        (status, code(text.as_bytes()).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_role")
    );
    let (status, text) = send(&app, req("POST", "/items", None, bad).to_request()).await;
    assert_eq!(
        (status, code(text.as_bytes()).as_str()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
    let request = req("POST", "/items", Some(&t.admin), bad).to_request();
    assert_eq!(send(&app, request).await.0, StatusCode::BAD_REQUEST);
    Ok(())
}

#[actix_web::test]
async fn a_guarded_handler_without_the_middleware_is_a_500() {
    let app = test::init_service(App::new().route("/tickets", web::get().to(tickets))).await;
    let (status, text) = send(&app, req("GET", "/tickets", None, "").to_request()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(code(text.as_bytes()), "auth_layer_missing");
}
