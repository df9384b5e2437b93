//! The same flow through the actix-web scope: both fronts answer alike.

mod common;

use std::collections::HashMap;

use actix_web::dev::ServiceResponse;
use actix_web::{App, test};
use common::{FRONTEND, FlowProvider};
use serde_json::json;

fn set_cookies(response: &ServiceResponse) -> HashMap<String, String> {
    response
        .headers()
        .get_all("set-cookie")
        .map(|v| {
            let v = v.to_str().unwrap();
            let (name, rest) = v.split_once('=').unwrap();
            (name.to_owned(), rest.split(';').next().unwrap().to_owned())
        })
        .collect()
}

fn header(response: &ServiceResponse, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn the_whole_flow_through_actix() {
    let provider = common::provider();
    let flow = provider.flow();
    let app = test::init_service(App::new().service(flow.scope())).await;

    let login = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/auth/login?redirect=/orders")
            .to_request(),
    )
    .await;
    assert_eq!(login.status(), 302);
    let state_cookie = set_cookies(&login)["app_auth_login"].clone();
    let query = provider.callback_query(&header(&login, "location"), "alice");

    let callback = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/auth/callback?{query}"))
            .insert_header(("cookie", format!("app_auth_login={state_cookie}")))
            .to_request(),
    )
    .await;
    assert_eq!(callback.status(), 302);
    let location = header(&callback, "location");
    assert!(location.starts_with(&format!("{FRONTEND}/auth/callback?exchange=")));
    let code = location.split("exchange=").nth(1).unwrap().to_owned();
    // The code is bound to this browser by a cookie on the exchange path.
    let binding = set_cookies(&callback)["app_auth_exchange"].clone();
    assert!(!binding.is_empty());

    let exchange = |code: String| {
        test::TestRequest::post()
            .uri("/auth/exchange")
            .insert_header(("origin", FRONTEND))
            .insert_header(("cookie", format!("app_auth_exchange={binding}")))
            .insert_header(("content-type", "application/json"))
            .set_payload(json!({ "code": code }).to_string())
            .to_request()
    };
    let exchanged = test::call_service(&app, exchange(code.clone())).await;
    assert_eq!(exchanged.status(), 200);
    let cookies = set_cookies(&exchanged);
    let body: serde_json::Value = test::read_body_json(exchanged).await;
    assert_eq!(body, json!({ "success": true, "redirectTo": "/orders" }));
    let replay = test::call_service(&app, exchange(code)).await;
    assert_eq!(replay.status(), 400);

    let session = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/auth/session")
            .insert_header(("cookie", format!("app_auth={}", cookies["app_auth"])))
            .to_request(),
    )
    .await;
    assert_eq!(session.status(), 200);
    let user: serde_json::Value = test::read_body_json(session).await;
    assert_eq!(user["sub"], "alice");

    let refreshed = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/auth/refresh")
            .insert_header(("origin", FRONTEND))
            .insert_header((
                "cookie",
                format!("app_auth_refresh={}", cookies["app_auth_refresh"]),
            ))
            .to_request(),
    )
    .await;
    assert_eq!(refreshed.status(), 200);
    assert!(
        set_cookies(&refreshed)["app_auth_refresh"] != cookies["app_auth_refresh"],
        "a new refresh token"
    );

    let logout = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/auth/logout")
            .insert_header(("origin", FRONTEND))
            .insert_header(("cookie", format!("app_auth_id={}", cookies["app_auth_id"])))
            .to_request(),
    )
    .await;
    assert_eq!(logout.status(), 200);
    let cleared = set_cookies(&logout);
    for name in ["app_auth", "app_auth_refresh", "app_auth_id"] {
        assert_eq!(cleared[name], "", "{name}");
    }
    let body: serde_json::Value = test::read_body_json(logout).await;
    assert!(
        body["logoutUrl"]
            .as_str()
            .unwrap()
            .contains(&format!("id_token_hint={}", cookies["app_auth_id"]))
    );
}

#[actix_web::test]
async fn actix_errors_match_the_axum_ones() {
    let provider = common::provider();
    let flow = provider.flow();
    let app = test::init_service(App::new().service(flow.scope())).await;
    let unknown = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/auth/callback?code=c&state={}", "A".repeat(43)))
            .to_request(),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(header(&unknown, "cache-control"), "no-store");
    let body: serde_json::Value = test::read_body_json(unknown).await;
    assert_eq!(
        body["error"], "state_mismatch",
        "no login cookie in this browser"
    );

    let cross_site = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/auth/exchange")
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"code":"x"}"#)
            .to_request(),
    )
    .await;
    assert_eq!(cross_site.status(), 403);

    let session = test::call_service(
        &app,
        test::TestRequest::get().uri("/auth/session").to_request(),
    )
    .await;
    assert_eq!(session.status(), 401);
    assert!(session.headers().contains_key("www-authenticate"));
}

#[actix_web::test]
async fn a_hook_answers_refused_flow_requests_through_actix() {
    let provider = common::provider();
    let flow = authgate_flow::Flow::builder(
        provider.authenticator(),
        provider.flow_config().build().unwrap(),
    )
    .on_rejection(
        |rejection: authgate::Rejection, error: Option<&authgate::AuthError>| {
            http::Response::builder()
                .status(rejection.status())
                .header("x-hooked", rejection.code())
                .body(format!(
                    "hooked {} {}",
                    rejection.code(),
                    error.map_or("-", authgate::AuthError::code)
                ))
                .unwrap()
        },
    )
    .build()
    .unwrap();
    let app = test::init_service(App::new().service(flow.scope())).await;

    let unknown = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/auth/callback?code=c&state={}", "A".repeat(43)))
            .insert_header(("accept", "text/html"))
            .to_request(),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(header(&unknown, "x-hooked"), "state_mismatch");
    assert_eq!(header(&unknown, "cache-control"), "no-store");
    assert!(set_cookies(&unknown).contains_key("app_auth_login"));
    assert_eq!(test::read_body(unknown).await, "hooked state_mismatch -");

    let session = test::call_service(
        &app,
        test::TestRequest::get().uri("/auth/session").to_request(),
    )
    .await;
    assert_eq!(session.status(), 401);
    assert_eq!(
        test::read_body(session).await,
        "hooked missing_token missing_token"
    );

    let cross_site = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/auth/exchange")
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"code":"x"}"#)
            .to_request(),
    )
    .await;
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        test::read_body(cross_site).await,
        "hooked cross_site_request -"
    );
}
