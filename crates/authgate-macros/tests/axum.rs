//! Guarded axum handlers answer 401 / 403 / 200, and the guard runs before `Json`.

use authgate::AuthLayer;
use authgate::GuardUser;
use authgate_extract::{Auth, User, require_any_role, require_role, require_scope};
use authgate_test_support::axum::send;
use authgate_test_support::{TestResult, Tokens, setup};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

/// Public handlers: the generated marker types must not add warnings.
pub mod handlers {
    use super::*;

    /// Creates an item. Docs and other attributes survive the guard.
    #[require_role("admin")]
    #[allow(clippy::unused_async)]
    pub async fn create(
        Auth(user): Auth<User>,
        axum::Json(item): axum::Json<serde_json::Value>,
    ) -> String {
        format!("{} {item}", user.sub)
    }

    #[require_any_role("admin", "support", framework = "axum")]
    pub(crate) async fn tickets() -> &'static str {
        "tickets"
    }

    /// Needs the API scope.
    #[require_scope("goauthentik.io/api")]
    pub async fn groups(Auth(user): Auth<User>) -> String {
        user.sub
    }

    /// Needs both scopes.
    #[require_scope("openid", "goauthentik.io/api")]
    pub async fn both_scopes() -> &'static str {
        "both"
    }
}

/// A user type of the service's own.
#[derive(Clone, Debug)]
struct Member {
    id: String,
    rank: String,
}

impl GuardUser for Member {
    fn has_role(&self, role: &str) -> bool {
        self.rank == role
    }

    fn has_scope(&self, _scope: &str) -> bool {
        false
    }
}

#[require_role("captain", user = Member)]
async fn bridge(Auth(member): Auth<Member>) -> String {
    member.id
}

#[tokio::test]
async fn guarded_handlers_answer_401_403_and_200() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let app = Router::new()
        .route("/items", post(handlers::create))
        .route("/tickets", get(handlers::tickets))
        .route("/groups", get(handlers::groups))
        .route("/both", get(handlers::both_scopes))
        .layer(AuthLayer::new(
            authgate::AuthOptions::from_authenticator(auth).optional(),
        ));

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
        ("GET", "/tickets", Some(&t.admin), "", StatusCode::OK),
        ("GET", "/tickets", Some(&t.api), "", StatusCode::FORBIDDEN),
        ("GET", "/tickets", None, "", StatusCode::UNAUTHORIZED),
        ("GET", "/groups", Some(&t.api), "", StatusCode::OK),
        ("GET", "/groups", Some(&t.admin), "", StatusCode::FORBIDDEN),
        ("GET", "/groups", None, "", StatusCode::UNAUTHORIZED),
        ("GET", "/both", Some(&t.api), "", StatusCode::OK),
    ];
    for (method, uri, token, body, status) in cases {
        let reply = send(&app, method, uri, *token, body).await;
        assert_eq!(reply.status, *status, "{method} {uri}: {}", reply.body);
    }
    let reply = send(&app, "POST", "/items", Some(&t.admin), r#"{"n":1}"#).await;
    assert_eq!(reply.body, r#"ada {"n":1}"#);
    let reply = send(&app, "GET", "/groups", Some(&t.admin), "").await;
    assert_eq!(reply.code(), "insufficient_scope");
    Ok(())
}

#[tokio::test]
async fn the_guard_runs_before_the_json_body() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let app = Router::new()
        .route("/items", post(handlers::create))
        .layer(AuthLayer::new(
            authgate::AuthOptions::from_authenticator(auth).optional(),
        ));
    let bad = "{definitely not json";

    let reply = send(&app, "POST", "/items", Some(&t.support), bad).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::FORBIDDEN, "insufficient_role")
    );
    let reply = send(&app, "POST", "/items", None, bad).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
    // The admin passes the guard; only then is the body read and refused.
    let reply = send(&app, "POST", "/items", Some(&t.admin), bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn a_guarded_handler_without_a_layer_is_a_500() {
    let app = Router::new().route("/tickets", get(handlers::tickets));
    let reply = send(&app, "GET", "/tickets", None, "").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "auth_layer_missing");
}

#[tokio::test]
async fn a_custom_user_type_is_checked() -> TestResult {
    let (issuer, auth) = setup().await?;
    let members =
        authgate::Authenticator::with_mapper(auth.config().clone(), |claims: &authgate::Claims| {
            Ok(Member {
                id: claims.sub().to_owned(),
                rank: claims.str("rank").unwrap_or("crew").to_owned(),
            })
        });
    members.refresh_keys().await?;
    let app = Router::new()
        .route("/bridge", get(bridge))
        .layer(AuthLayer::new(members));
    let captain = issuer.token().sub("kirk").claim("rank", "captain").sign();
    let crew = issuer.token().sub("ensign").sign();
    let reply = send(&app, "GET", "/bridge", Some(&captain), "").await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "kirk"));
    assert_eq!(
        send(&app, "GET", "/bridge", Some(&crew), "").await.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

#[tokio::test]
async fn a_guard_without_the_mappers_user_type_is_a_500_naming_both_types() -> TestResult {
    let (issuer, auth) = setup().await?;
    let t = Tokens::new(&issuer);
    let members =
        authgate::Authenticator::with_mapper(auth.config().clone(), |claims: &authgate::Claims| {
            Ok(Member {
                id: claims.sub().to_owned(),
                rank: String::from("captain"),
            })
        });
    members.refresh_keys().await?;
    // `tickets` forgot `user = Member`: it asks for the default `User`.
    let app = Router::new()
        .route("/tickets", get(handlers::tickets))
        .layer(AuthLayer::new(
            authgate::AuthOptions::from_authenticator(members).optional(),
        ));
    for token in [Some(t.admin.as_str()), None] {
        let reply = send(&app, "GET", "/tickets", token, "").await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.code(), "auth_user_type_mismatch");
        let text = reply.text();
        assert!(text.contains("`authgate::user::User`"), "{text}");
        assert!(text.contains("axum::Member`"), "{text}");
    }
    Ok(())
}
