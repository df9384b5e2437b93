//! The opt-in token places through the tower layer, against the test issuer: a token
//! header and a query parameter, off unless configured, their order after the cookie
//! and `Authorization`, the `GET`/`HEAD` rule of the query, and the CSRF rule, which
//! is the cookie's alone.

use std::convert::Infallible;
use std::sync::Arc;

use authgate::{AuthConfig, AuthConfigBuilder, AuthLayer, TokenSource, User};
use authgate_test_support::Reply;
use authgate_testkit::TestIssuer;
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt, service_fn};

type Echo = tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

fn config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .trusted_origin("https://app.example.com")
}

/// The layer over a service that answers with the user's `sub`.
async fn service(layer: AuthLayer) -> Echo {
    layer.authenticator().refresh_keys().await.unwrap();
    Echo::new(ServiceBuilder::new().layer(layer).service(service_fn(
        |req: Request<String>| async move {
            let user = req.extensions().get::<Arc<User>>().expect("a user");
            Ok::<_, Infallible>(Response::new(user.sub.clone()))
        },
    )))
}

async fn every_place(issuer: &TestIssuer) -> Echo {
    let config = config(issuer)
        .token_header("X-Auth-Token")
        .token_query_param("access_token")
        .build()
        .unwrap();
    service(AuthLayer::new(config)).await
}

async fn send(svc: &Echo, req: Request<String>) -> Reply {
    let url = req.uri().to_string();
    let (parts, body) = svc.clone().oneshot(req).await.unwrap().into_parts();
    Reply::new(url, parts.status, parts.headers, body.as_bytes())
}

fn get(uri: &str) -> http::request::Builder {
    Request::get(uri)
}

#[tokio::test]
async fn neither_place_is_read_unless_configured() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(AuthLayer::new(config(&issuer).build().unwrap())).await;
    let token = issuer.token().sub("alice").sign();
    for request in [
        get(&format!("/ws?access_token={token}")).body(String::new()),
        get("/").header("x-auth-token", &token).body(String::new()),
    ] {
        let reply = send(&svc, request.unwrap()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.code(), "missing_token");
    }
}

#[tokio::test]
async fn a_token_header_authenticates_bare_or_with_the_bearer_scheme() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = every_place(&issuer).await;
    let token = issuer.token().sub("alice").sign();
    for value in [token.clone(), format!("Bearer {token}")] {
        let reply = send(
            &svc,
            get("/")
                .header("x-auth-token", value)
                .body(String::new())
                .unwrap(),
        )
        .await;
        assert_eq!((reply.status, reply.text()), (StatusCode::OK, "alice"));
    }
    let expired = issuer.token().expired().sign();
    let reply = send(
        &svc,
        get("/")
            .header("x-auth-token", &expired)
            .body(String::new())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.code(), "token_expired");

    // Twice: 400, as for two Authorization headers (RFC 6750's invalid_request).
    let twice = get("/")
        .header("x-auth-token", &token)
        .header("x-auth-token", &token)
        .body(String::new())
        .unwrap();
    let reply = send(&svc, twice).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "duplicate_token");
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_request""#),
        "{challenge}"
    );
    assert!(!reply.text().contains(&token), "the token is never echoed");
}

#[tokio::test]
async fn a_query_token_authenticates_get_and_head_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = every_place(&issuer).await;
    let token = issuer.token().sub("alice").sign();
    let uri = format!("/events?since=0&access_token={token}");
    for method in ["GET", "HEAD"] {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(String::new())
            .unwrap();
        let reply = send(&svc, request).await;
        assert_eq!(
            (reply.status, reply.text()),
            (StatusCode::OK, "alice"),
            "{method}"
        );
    }
    // Elsewhere the parameter is not read at all: as if there were no token.
    for method in ["POST", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .body(String::new())
            .unwrap();
        let reply = send(&svc, request).await;
        assert_eq!(reply.code(), "missing_token", "{method}");
    }
}

#[tokio::test]
async fn a_query_token_is_percent_decoded_within_the_cap() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().sub("alice").sign();
    let config = config(&issuer)
        .token_query_param("access_token")
        .max_token_bytes(token.len())
        .build()
        .unwrap();
    let svc = service(AuthLayer::new(config)).await;

    // Every `.` written as `%2E`: the same token once decoded, and within the cap
    // although the URL holds more bytes than the cap.
    let encoded = token.replace('.', "%2E");
    let reply = send(
        &svc,
        get(&format!("/ws?access_token={encoded}"))
            .body(String::new())
            .unwrap(),
    )
    .await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "alice"));

    let longer = issuer.token().sub("alice-with-a-longer-name").sign();
    let reply = send(
        &svc,
        get(&format!("/ws?access_token={longer}"))
            .body(String::new())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.code(), "token_too_large");
    for bad in ["a%2", "a+b", "", "%zz"] {
        let reply = send(
            &svc,
            get(&format!("/ws?access_token={bad}"))
                .body(String::new())
                .unwrap(),
        )
        .await;
        assert_eq!(reply.code(), "malformed_token", "{bad:?}");
    }
    let twice = format!("/ws?access_token={token}&access_token={token}");
    let reply = send(&svc, get(&twice).body(String::new()).unwrap()).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "duplicate_token")
    );
}

#[tokio::test]
async fn the_places_are_read_in_order_and_the_source_is_recorded() {
    let issuer = TestIssuer::start().await.unwrap();
    let config = config(&issuer)
        .token_header("x-auth-token")
        .token_query_param("access_token")
        .build()
        .unwrap();
    let auth = authgate::Authenticator::new(config);
    auth.refresh_keys().await.unwrap();
    let (c, b, h, q) = (
        issuer.token().sub("c").sign(),
        issuer.token().sub("b").sign(),
        issuer.token().sub("h").sign(),
        issuer.token().sub("q").sign(),
    );
    let request = |cookie: bool, bearer: bool, header: bool| {
        let mut builder = get(&format!("/?access_token={q}"));
        if cookie {
            builder = builder.header("cookie", format!("app_auth={c}"));
        }
        if bearer {
            builder = builder.header("authorization", format!("Bearer {b}"));
        }
        if header {
            builder = builder.header("x-auth-token", &h);
        }
        builder.body(()).unwrap()
    };
    let cases = [
        (request(true, true, true), "c", TokenSource::Cookie),
        (request(false, true, true), "b", TokenSource::Bearer),
        (request(false, false, true), "h", TokenSource::Header),
        (request(false, false, false), "q", TokenSource::Query),
    ];
    for (request, sub, source) in cases {
        let found = auth.authenticate("GET", &request).await.unwrap().unwrap();
        assert_eq!((found.user.sub.as_str(), found.source), (sub, source));
    }
    // A header map alone carries no query string.
    let headers = request(false, false, false).into_parts().0.headers;
    assert!(auth.authenticate("GET", &headers).await.unwrap().is_none());
}

#[tokio::test]
async fn the_csrf_origin_check_applies_to_the_cookie_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = every_place(&issuer).await;
    let token = issuer.token().sub("alice").sign();
    let post = |uri: &str| {
        Request::post(uri)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
    };
    // The cookie is sent by the browser on its own: refused from another site.
    let cookie = post("/").header("cookie", format!("app_auth={token}"));
    let reply = send(&svc, cookie.body(String::new()).unwrap()).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::FORBIDDEN, "cross_site_request")
    );
    // A header must be set by a script that has the token: not ambient, not checked.
    let header = post("/").header("x-auth-token", &token);
    let reply = send(&svc, header.body(String::new()).unwrap()).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "alice"));
    // A query token is not ambient either; a safe method is never checked anyway.
    let query = get(&format!("/?access_token={token}"))
        .header("origin", "https://evil.example")
        .body(String::new())
        .unwrap();
    let reply = send(&svc, query).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "alice"));
}
