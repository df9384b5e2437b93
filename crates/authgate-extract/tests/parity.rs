//! The same requests sent to an axum app behind the tower `AuthLayer` and to an actix-web
//! app behind the `AuthMiddleware` get the same answers: status, `WWW-Authenticate`,
//! `Retry-After`, `Content-Type` and body.

mod common;

use std::time::Duration;

use authgate::{AuthConfig, AuthLayer, Authenticator, User};
use authgate_extract::actix::AuthMiddleware;
use authgate_extract::{Auth, Guard, require_role};
use authgate_test_support::{Reply, TestResult, admin, setup, support};
use authgate_testkit::TestIssuer;
use axum::body::Body;
use common::{
    Admins, AuthentikApi, MISMATCH, SupportOnly, admin_and_support, customer, customers, maybe,
};

/// A request as data, sent to both frameworks.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    uri: String,
    headers: Vec<(&'static str, String)>,
}

impl Req {
    fn get(uri: impl Into<String>) -> Self {
        Self {
            method: "GET",
            uri: uri.into(),
            headers: Vec::new(),
        }
    }

    fn post(uri: impl Into<String>) -> Self {
        Self {
            method: "POST",
            ..Self::get(uri)
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// What is compared.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
    /// `grpc-status`, `grpc-message` and `authgate-error`, for gRPC answers.
    grpc: Option<[String; 3]>,
    body: String,
}

impl From<Reply> for Seen {
    fn from(reply: Reply) -> Self {
        let header = |name: &str| reply.header(name).map(str::to_owned);
        let (www_authenticate, retry_after, content_type) = (
            header("www-authenticate"),
            header("retry-after"),
            header("content-type"),
        );
        let grpc = header("grpc-status").map(|status| {
            [
                status,
                header("grpc-message").unwrap_or_default(),
                header("authgate-error").unwrap_or_default(),
            ]
        });
        Self {
            status: reply.status.as_u16(),
            www_authenticate,
            retry_after,
            content_type,
            grpc,
            body: reply.body,
        }
    }
}

async fn via_axum(app: &axum::Router, req: &Req) -> Seen {
    let mut builder = http::Request::builder()
        .method(req.method)
        .uri(req.uri.as_str());
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let request = builder.body(Body::empty()).unwrap();
    authgate_test_support::axum::call(app, request).await.into()
}

fn actix_request(req: &Req) -> actix_web::test::TestRequest {
    let mut builder = actix_web::test::TestRequest::default()
        .method(req.method.parse().unwrap())
        .uri(&req.uri);
    for (name, value) in &req.headers {
        builder = builder.append_header((*name, value.as_str()));
    }
    builder
}

async fn me(Auth(user): Auth<User>) -> String {
    format!("{} {}", user.sub, user.role)
}

/// The user shared with the token cache, not copied.
async fn shared(Auth(user): Auth<std::sync::Arc<User>>) -> String {
    format!("{} {}", user.sub, user.role)
}

async fn admin_only(guard: Guard<Admins>) -> String {
    guard.into_user().sub
}

async fn api_only(_: Guard<AuthentikApi>) -> &'static str {
    "api"
}

fn axum_app<L>(layer: L) -> axum::Router
where
    L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Response:
        axum::response::IntoResponse + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Error:
        Into<std::convert::Infallible> + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
{
    use axum::routing::get;
    axum::Router::new()
        .route("/me", get(me).post(me))
        .route("/maybe", get(maybe))
        .route("/shared", get(shared))
        .route("/admin", get(admin_only))
        .route("/api", get(api_only))
        .layer(layer)
}

/// The same routes as [`axum_app`], for actix-web.
macro_rules! actix_app {
    ($middleware:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .route("/me", actix_web::web::get().to(me))
                .route("/me", actix_web::web::post().to(me))
                .route("/maybe", actix_web::web::get().to(maybe))
                .route("/shared", actix_web::web::get().to(shared))
                .route("/admin", actix_web::web::get().to(admin_only))
                .route("/api", actix_web::web::get().to(api_only))
                .wrap($middleware),
        )
        .await
    };
}

/// Sends every request to both apps and compares the answers; returns them.
macro_rules! assert_same {
    ($axum:expr, $actix:expr, $requests:expr) => {{
        let mut seen = Vec::new();
        for req in $requests {
            let from_axum = via_axum(&$axum, &req).await;
            let from_actix: Seen =
                authgate_test_support::actix::call(&$actix, actix_request(&req).to_request())
                    .await
                    .into();
            assert_eq!(from_axum, from_actix, "{req:?}");
            seen.push(from_axum);
        }
        seen
    }};
}

fn cookie(auth: &Authenticator, token: &str) -> String {
    format!("theme=dark; {}={token}", auth.config().cookie_name())
}

#[actix_web::test]
async fn token_finding_verification_and_csrf_answer_alike() -> TestResult {
    let (issuer, auth) = setup().await?;
    let axum = axum_app(AuthLayer::new(auth.clone()));
    let actix = actix_app!(AuthMiddleware::new(auth.clone()));

    let good = support(&issuer);
    let expired = issuer.token().sub("old").expired().sign();
    let other_audience = issuer.token().aud("someone-else").sign();
    let unknown_kid = issuer.token().kid("never-published").sign();
    let requests = vec![
        Req::get("/me"),
        Req::get("/me").bearer(&good),
        Req::get("/me").header("authorization", format!("bEaReR {good}")),
        Req::get("/me").bearer(&expired),
        Req::get("/me").bearer("abc"),
        Req::get("/me").header("authorization", "Bearer "),
        Req::get("/me").bearer(&good).bearer(&good),
        Req::get("/me").bearer(&other_audience),
        Req::get("/me").bearer(&unknown_kid),
        Req::get("/me").header("authorization", "Basic dXNlcjpwYXNz"),
        Req::get("/me").bearer(&"a".repeat(20_000)),
        Req::get("/me").header("cookie", cookie(&auth, &good)),
        // Cookie first: a bad cookie is refused even with a good Bearer token.
        Req::get("/me")
            .header("cookie", cookie(&auth, &expired))
            .bearer(&good),
        // CSRF: a cookie-authenticated POST needs a trusted origin.
        Req::post("/me").header("cookie", cookie(&auth, &good)),
        Req::post("/me")
            .header("cookie", cookie(&auth, &good))
            .header("origin", "https://evil.example"),
        Req::post("/me")
            .header("cookie", cookie(&auth, &good))
            .header("sec-fetch-site", "same-origin"),
        // A Bearer POST is not subject to the CSRF check.
        Req::post("/me").bearer(&good),
        // `Auth<Arc<User>>`: the same user, shared rather than copied.
        Req::get("/shared").bearer(&good),
        Req::get("/shared").header("cookie", cookie(&auth, &good)),
        Req::get("/shared"),
    ];
    let seen = assert_same!(axum, actix, requests);

    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            401, 200, 200, 401, 401, 401, 400, 401, 401, 401, 401, 200, 401, 403, 403, 200, 200,
            200, 200, 401
        ]
    );
    assert_eq!(seen[1].body, "sam support");
    assert_eq!(seen[17].body, "sam support");
    assert_eq!(seen[18].body, "sam support");
    assert!(seen[3].body.contains("token_expired"));
    assert!(seen[8].body.contains("unknown_key"));
    assert!(seen[10].body.contains("token_too_large"));
    assert!(seen[13].body.contains("cross_site_request"));
    assert_eq!(seen[3].content_type.as_deref(), Some("application/json"));
    Ok(())
}

#[actix_web::test]
async fn the_token_header_and_query_parameter_answer_alike() -> TestResult {
    let (issuer, _) = setup().await?;
    let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .role_map(authgate::RoleMap::parse(authgate_test_support::ROLE_MAP)?)
        .token_header("X-Auth-Token")
        .token_query_param("access_token")
        .build()?;
    let auth = Authenticator::new(config);
    auth.refresh_keys().await?;
    let axum = axum_app(AuthLayer::new(auth.clone()));
    let actix = actix_app!(AuthMiddleware::new(auth.clone()));

    let good = support(&issuer);
    let expired = issuer.token().sub("old").expired().sign();
    let dotted = good.replace('.', "%2E");
    let requests = vec![
        Req::get("/me").header("x-auth-token", &good),
        Req::get("/me").header("x-auth-token", format!("Bearer {good}")),
        Req::get("/me").header("x-auth-token", &expired),
        Req::get("/me")
            .header("x-auth-token", &good)
            .header("x-auth-token", &good),
        Req::get(format!("/me?access_token={good}")),
        Req::get(format!("/me?x=1&access_token={dotted}")),
        Req::get(format!("/me?access_token={expired}")),
        Req::get(format!("/me?access_token={good}&access_token={good}")),
        Req::get("/me?access_token=%zz"),
        // The query only for GET and HEAD.
        Req::post(format!("/me?access_token={good}")),
        // Order: Bearer before the header, the header before the query.
        Req::get(format!("/me?access_token={expired}"))
            .header("x-auth-token", &good)
            .bearer(&expired),
        Req::get(format!("/me?access_token={expired}")).header("x-auth-token", &good),
        // No CSRF check for a header: it is not ambient.
        Req::post("/me")
            .header("x-auth-token", &good)
            .header("origin", "https://evil.example"),
    ];
    let seen = assert_same!(axum, actix, requests);

    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            200, 200, 401, 400, 200, 200, 401, 400, 401, 401, 401, 200, 200
        ]
    );
    assert_eq!(seen[0].body, "sam support");
    assert_eq!(seen[5].body, "sam support");
    assert!(seen[3].body.contains("duplicate_token"));
    assert!(seen[7].body.contains("duplicate_token"));
    assert!(seen[8].body.contains("malformed_token"));
    assert!(seen[9].body.contains("missing_token"));
    assert!(seen[10].body.contains("token_expired"));
    Ok(())
}

#[actix_web::test]
async fn extractors_and_guards_answer_alike_in_optional_mode() -> TestResult {
    let (issuer, auth) = setup().await?;
    let axum = axum_app(AuthLayer::new(
        authgate::AuthOptions::from_authenticator(auth.clone()).optional(),
    ));
    let actix = actix_app!(AuthMiddleware::new(
        authgate::AuthOptions::from_authenticator(auth.clone()).optional()
    ));

    let (ada, sam) = (admin(&issuer), support(&issuer));
    let requests = vec![
        Req::get("/me"),
        Req::get("/maybe"),
        Req::get("/maybe").bearer(&sam),
        Req::get("/maybe").bearer("bad.token.here"),
        Req::get("/admin"),
        Req::get("/admin").bearer(&sam),
        Req::get("/admin").bearer(&ada),
        Req::get("/api").bearer(&sam),
    ];
    let seen = assert_same!(axum, actix, requests);

    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [401, 200, 200, 401, 401, 403, 200, 403]);
    assert_eq!(seen[1].body, "anonymous");
    assert!(
        seen[7]
            .www_authenticate
            .as_deref()
            .unwrap()
            .contains(r#"error="insufficient_scope", scope="goauthentik.io/api""#)
    );
    Ok(())
}

#[actix_web::test]
async fn keys_unavailable_answers_503_with_retry_after_alike() -> TestResult {
    let issuer = TestIssuer::start().await?;
    issuer.set_outage(true);
    let config = AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .startup_backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()?;
    let auth = Authenticator::new(config);
    assert!(auth.refresh_keys().await.is_err());
    let axum = axum_app(AuthLayer::new(auth.clone()));
    let actix = actix_app!(AuthMiddleware::new(auth.clone()));

    let token = issuer.token().sign();
    let seen = assert_same!(
        axum,
        actix,
        [Req::get("/me").bearer(&token), Req::get("/me")]
    );
    assert_eq!(seen[0].status, 503);
    assert_eq!(seen[0].retry_after.as_deref(), Some("30"));
    assert!(seen[0].body.contains("keys_unavailable"));
    assert_eq!(seen[1].status, 401);
    Ok(())
}

/// What a macro-guarded handler forgets: `user = Customer`.
#[require_role("admin")]
async fn macro_guarded() -> &'static str {
    "admin"
}

async fn support_only(guard: Guard<SupportOnly>) -> String {
    guard.into_user().roles.join(",")
}

#[actix_web::test]
async fn a_user_type_mismatch_answers_500_alike() -> TestResult {
    use axum::routing::get;
    let (issuer, auth) = setup().await?;
    let customers = customers(&auth);
    customers.refresh_keys().await?;
    let options = authgate::AuthOptions::from_authenticator(customers).optional();
    let axum = axum::Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin_only))
        .route("/macro", get(macro_guarded))
        .merge(
            axum::Router::new()
                .route("/layer", get(|| async { "layer" }))
                .route_layer(authgate_extract::require_role("admin")),
        )
        .route("/customer", get(customer))
        .layer(AuthLayer::new(options.clone()));
    let actix = actix_web::test::init_service(
        actix_web::App::new()
            .route("/me", actix_web::web::get().to(me))
            .route("/admin", actix_web::web::get().to(admin_only))
            .route("/macro", actix_web::web::get().to(macro_guarded))
            .service(
                actix_web::web::resource("/layer")
                    .wrap(authgate_extract::actix::require_role("admin"))
                    .route(actix_web::web::get().to(|| async { "layer" })),
            )
            .route("/customer", actix_web::web::get().to(customer))
            .wrap(AuthMiddleware::new(options)),
    )
    .await;

    let ada = admin(&issuer);
    let mut requests = Vec::new();
    for uri in ["/me", "/admin", "/macro", "/layer"] {
        // Signed in or anonymous: the handler can never get a `User` here.
        requests.push(Req::get(uri).bearer(&ada));
        requests.push(Req::get(uri));
    }
    requests.push(Req::get("/customer").bearer(&ada));
    requests.push(Req::get("/customer"));
    let seen = assert_same!(axum, actix, requests);

    let (mismatches, rest) = seen.split_at(8);
    for seen in mismatches {
        assert_eq!(seen.status, 500, "{seen:?}");
        let body: serde_json::Value = serde_json::from_str(&seen.body)?;
        assert_eq!(body["error"], "auth_user_type_mismatch");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(MISMATCH), "{message}");
        assert!(message.contains("common::Customer`"), "{message}");
        assert_eq!(seen.www_authenticate, None);
    }
    assert_eq!((rest[0].status, rest[0].body.as_str()), (200, "ada"));
    assert_eq!(rest[1].status, 401, "anonymous, with the right type");
    Ok(())
}

#[actix_web::test]
async fn several_roles_and_runtime_role_names_answer_alike() -> TestResult {
    use axum::routing::get;
    let (issuer, auth) = setup().await?;
    // A role name known only at run time, as read from configuration.
    let support_role = String::from("support");
    let axum = axum::Router::new()
        .route("/support", get(support_only))
        .merge(
            axum::Router::new()
                .route("/layer", get(|| async { "layer" }))
                .route_layer(authgate_extract::require_role(support_role.clone())),
        )
        .merge(
            axum::Router::new()
                .route("/any", get(|| async { "any" }))
                .route_layer(authgate_extract::require_any_role(vec![
                    String::from("billing"),
                    support_role.clone(),
                ])),
        )
        .layer(AuthLayer::new(auth.clone()));
    let actix = actix_web::test::init_service(
        actix_web::App::new()
            .route("/support", actix_web::web::get().to(support_only))
            .service(
                actix_web::web::resource("/layer")
                    .wrap(authgate_extract::actix::require_role(support_role.clone()))
                    .route(actix_web::web::get().to(|| async { "layer" })),
            )
            .service(
                actix_web::web::resource("/any")
                    .wrap(authgate_extract::actix::require_any_role(vec![
                        String::from("billing"),
                        support_role.clone(),
                    ]))
                    .route(actix_web::web::get().to(|| async { "any" })),
            )
            .wrap(AuthMiddleware::new(auth.clone())),
    )
    .await;

    let (max, ada, sam) = (admin_and_support(&issuer), admin(&issuer), support(&issuer));
    let mut requests = Vec::new();
    for uri in ["/support", "/layer", "/any"] {
        requests.extend([
            Req::get(uri).bearer(&max),
            Req::get(uri).bearer(&sam),
            Req::get(uri).bearer(&ada),
        ]);
    }
    let seen = assert_same!(axum, actix, requests);
    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 200, 403, 200, 200, 403, 200, 200, 403]);
    assert_eq!(seen[0].body, "admin,support", "max: primary role first");
    assert!(seen[2].body.contains("this requires the role support"));
    assert!(
        seen[8]
            .body
            .contains("this requires the role billing or support")
    );
    Ok(())
}

/// A hook that answers in its own shape: status kept, `x-hooked: code`, and the body
/// `{"hooked": code, "cause": the core's code, "message": text}`.
fn hooked(
    rejection: authgate::Rejection,
    error: Option<&authgate::AuthError>,
) -> http::Response<String> {
    let body = serde_json::json!({
        "hooked": rejection.code(),
        "cause": error.map(authgate::AuthError::code),
        "message": rejection.message(),
    });
    http::Response::builder()
        .status(rejection.status())
        .header("content-type", "application/vnd.hooked+json")
        .body(body.to_string())
        .unwrap()
}

#[actix_web::test]
async fn a_hook_answers_every_refusal_alike() -> TestResult {
    use axum::routing::get;
    let (issuer, auth) = setup().await?;
    let options = authgate::AuthOptions::from_authenticator(auth.clone()).optional();
    let axum = axum::Router::new()
        .route("/me", get(me).post(me))
        .route("/admin", get(admin_only))
        .route("/macro", get(macro_guarded))
        .route("/api", get(api_only))
        .merge(
            axum::Router::new()
                .route("/layer", get(|| async { "layer" }))
                .route_layer(authgate_extract::require_role("admin")),
        )
        .route("/customer", get(customer))
        .layer(AuthLayer::new(options.clone()).on_rejection(hooked));
    let actix = actix_web::test::init_service(
        actix_web::App::new()
            .route("/me", actix_web::web::get().to(me))
            .route("/me", actix_web::web::post().to(me))
            .route("/admin", actix_web::web::get().to(admin_only))
            .route("/macro", actix_web::web::get().to(macro_guarded))
            .route("/api", actix_web::web::get().to(api_only))
            .service(
                actix_web::web::resource("/layer")
                    .wrap(authgate_extract::actix::require_role("admin"))
                    .route(actix_web::web::get().to(|| async { "layer" })),
            )
            .route("/customer", actix_web::web::get().to(customer))
            .wrap(AuthMiddleware::new(options).on_rejection(hooked)),
    )
    .await;

    let (ada, sam) = (admin(&issuer), support(&issuer));
    let expired = issuer.token().expired().sign();
    let requests = vec![
        // The adapter's own refusals.
        Req::get("/me").bearer(&expired),
        Req::post("/me")
            .header("cookie", cookie(&auth, &sam))
            .header("origin", "https://evil.example"),
        // An extractor behind an optional adapter.
        Req::get("/me"),
        // Guards: the extractor, the attribute macro, the route layer / middleware.
        Req::get("/admin").bearer(&sam),
        Req::get("/admin"),
        Req::get("/macro").bearer(&sam),
        Req::get("/layer").bearer(&sam),
        Req::get("/api").bearer(&sam),
        // A handler asking for another user type than the adapter makes.
        Req::get("/customer").bearer(&ada),
        // Requests that pass are untouched.
        Req::get("/me").bearer(&sam),
        Req::get("/admin").bearer(&ada),
        Req::get("/layer").bearer(&ada),
    ];
    let seen = assert_same!(axum, actix, requests);

    let expected = [
        (401, "token_expired", Some("token_expired")),
        (403, "cross_site_request", Some("cross_site_request")),
        (401, "missing_token", Some("missing_token")),
        (403, "insufficient_role", None),
        (401, "missing_token", Some("missing_token")),
        (403, "insufficient_role", None),
        (403, "insufficient_role", None),
        (403, "insufficient_scope", None),
        (500, "auth_user_type_mismatch", None),
    ];
    let (refused, passed) = seen.split_at(expected.len());
    for (seen, (status, code, cause)) in refused.iter().zip(expected) {
        assert_eq!(seen.status, status, "{seen:?}");
        assert_eq!(
            seen.content_type.as_deref(),
            Some("application/vnd.hooked+json"),
            "{seen:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&seen.body)?;
        assert_eq!(body["hooked"], code, "{seen:?}");
        assert_eq!(body["cause"].as_str(), cause, "{seen:?}");
        // The hook's response replaces the core's: no challenge unless it sets one.
        assert_eq!(seen.www_authenticate, None, "{seen:?}");
    }
    assert!(refused[8].body.contains("common::Customer"));
    let bodies: Vec<&str> = passed.iter().map(|s| s.body.as_str()).collect();
    assert_eq!(bodies, ["sam support", "ada", "layer"]);
    Ok(())
}

#[actix_web::test]
async fn grpc_statuses_answer_alike() -> TestResult {
    let (issuer, auth) = setup().await?;
    let options = authgate::AuthOptions::from_authenticator(auth.clone()).optional();
    let axum = axum_app(AuthLayer::new(options.clone()).on_rejection(authgate::GrpcRejection));
    let actix = actix_app!(AuthMiddleware::new(options).on_rejection(authgate::GrpcRejection));

    let requests = vec![
        Req::get("/me").bearer(&issuer.token().expired().sign()),
        Req::get("/me"),
        Req::get("/admin").bearer(&support(&issuer)),
    ];
    let seen = assert_same!(axum, actix, requests);
    let expected = [
        ("16", "the token has expired", "token_expired"),
        (
            "16",
            "no bearer token or auth cookie in the request",
            "missing_token",
        ),
        ("7", "this requires the role admin", "insufficient_role"),
    ];
    for (seen, (status, message, code)) in seen.iter().zip(expected) {
        assert_eq!(seen.status, 200, "{seen:?}");
        assert_eq!(seen.content_type.as_deref(), Some("application/grpc"));
        assert_eq!(seen.body, "");
        let grpc = seen.grpc.clone().expect("a gRPC status");
        assert_eq!(grpc, [status, message, code].map(String::from));
    }
    Ok(())
}
