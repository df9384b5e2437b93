//! Userinfo, revocation, end-session, discovery, internal-URL mode and the outage
//! switch over real HTTP.

mod common;

use authgate_testkit::{Endpoint, TestIssuer};
use common::{POST_LOGOUT, basic, http, location, oauth_error, post_form, query_of};
use serde_json::{Value, json};

async fn signed_in(issuer: &TestIssuer, sub: &str) -> Value {
    let (code, request) = common::sign_in(issuer, sub).await;
    common::redeem(issuer, &code, &request).await
}

fn str_of<'a>(tokens: &'a Value, name: &str) -> &'a str {
    tokens[name].as_str().unwrap()
}

async fn revoke(
    issuer: &TestIssuer,
    pairs: &[(&str, &str)],
    auth: Option<String>,
) -> reqwest::Response {
    post_form(&issuer.endpoint_url(Endpoint::Revocation), pairs, auth).await
}

fn client_basic(issuer: &TestIssuer) -> Option<String> {
    Some(basic(issuer.client_id(), &issuer.client_secret().unwrap()))
}

async fn end_session(issuer: &TestIssuer, pairs: &[(&str, &str)]) -> reqwest::Response {
    let url = format!(
        "{}?{}",
        issuer.endpoint_url(Endpoint::EndSession),
        common::form(pairs)
    );
    http().get(url).send().await.unwrap()
}

#[tokio::test]
async fn userinfo_answers_the_users_claims_for_a_live_access_token() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    let access = str_of(&tokens, "access_token");
    let response = common::userinfo(&issuer, access).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let claims: Value = response.json().await.unwrap();
    assert_eq!(
        claims,
        json!({
            "sub": "ada", "email": "ada@example.com", "email_verified": true,
            "name": "Ada Admin", "preferred_username": "ada", "groups": ["app-admins"],
            "organizationId": "org-1",
        })
    );
    // POST with the header works too.
    let post = http()
        .post(issuer.endpoint_url(Endpoint::Userinfo))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);

    // A token made with issuer.token(): the user's claims, or the token's own.
    let minted = issuer.token().sub("sam").sign();
    let claims: Value = common::userinfo(&issuer, &minted)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims["name"], "Sam Support");
    let stranger = issuer
        .token()
        .sub("zoe")
        .email("zoe@example.com")
        .claim("x", 1)
        .sign();
    let claims: Value = common::userinfo(&issuer, &stranger)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims, json!({ "sub": "zoe", "email": "zoe@example.com" }));
    assert_eq!(issuer.requests(Endpoint::Userinfo), 4);
}

#[tokio::test]
async fn userinfo_refuses_missing_invalid_expired_and_id_tokens() {
    let issuer = common::start().await;
    let none = http()
        .get(issuer.endpoint_url(Endpoint::Userinfo))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");

    let tokens = signed_in(&issuer, "ada").await;
    let other = TestIssuer::start().await.unwrap();
    let cases = [
        ("garbage", "not-a-jwt".to_owned()),
        ("expired", issuer.token().sub("ada").expired().sign()),
        ("another issuer's", other.token().sub("ada").sign()),
        (
            "wrong iss",
            issuer.token().sub("ada").iss("http://evil.example/").sign(),
        ),
        ("an ID token", str_of(&tokens, "id_token").to_owned()),
        (
            "a refresh token",
            str_of(&tokens, "refresh_token").to_owned(),
        ),
    ];
    for (case, token) in cases {
        let response = common::userinfo(&issuer, &token).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{case}"
        );
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    let response = revoke(
        &issuer,
        &[
            ("token", str_of(&tokens, "refresh_token")),
            ("token_type_hint", "refresh_token"),
        ],
        client_basic(&issuer),
    )
    .await;
    assert_eq!(response.status(), 200);
    let refreshed = common::refresh(&issuer, str_of(&tokens, "refresh_token")).await;
    assert_eq!(oauth_error(refreshed, 400).await, "invalid_grant");
    assert_eq!(
        common::userinfo(&issuer, str_of(&tokens, "access_token"))
            .await
            .status(),
        401
    );

    // Another session is untouched.
    let other = signed_in(&issuer, "ada").await;
    assert_eq!(
        common::userinfo(&issuer, str_of(&other, "access_token"))
            .await
            .status(),
        200
    );
    assert_eq!(issuer.requests(Endpoint::Revocation), 1);
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token() {
    let issuer = common::builder()
        .client_id("shop")
        .client_secret("pw")
        .start()
        .await
        .unwrap();
    let tokens = signed_in(&issuer, "ada").await;
    let access = str_of(&tokens, "access_token");
    // client_secret_post works at the revocation endpoint too.
    let response = revoke(
        &issuer,
        &[
            ("token", access),
            ("client_id", "shop"),
            ("client_secret", "pw"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(common::userinfo(&issuer, access).await.status(), 401);
    let refreshed = common::refresh(&issuer, str_of(&tokens, "refresh_token")).await;
    assert_eq!(refreshed.status(), 200);
    let fresh: Value = refreshed.json().await.unwrap();
    assert_eq!(
        common::userinfo(&issuer, str_of(&fresh, "access_token"))
            .await
            .status(),
        200
    );

    // A minted token can be revoked too; unknown tokens are a 200 as well.
    let minted = issuer.token().sub("ada").sign();
    assert_eq!(
        revoke(&issuer, &[("token", &minted)], client_basic(&issuer))
            .await
            .status(),
        200
    );
    assert_eq!(common::userinfo(&issuer, &minted).await.status(), 401);
    assert_eq!(
        revoke(&issuer, &[("token", "unknown")], client_basic(&issuer))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_revocation_endpoint_authenticates_the_client() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    let refresh = str_of(&tokens, "refresh_token");
    let wrong = revoke(
        &issuer,
        &[("token", refresh)],
        Some(basic(issuer.client_id(), "wrong")),
    )
    .await;
    assert_eq!(oauth_error(wrong, 401).await, "invalid_client");
    let anonymous = revoke(&issuer, &[("token", refresh)], None).await;
    assert_eq!(oauth_error(anonymous, 401).await, "invalid_client");
    let no_token = revoke(&issuer, &[], client_basic(&issuer)).await;
    assert_eq!(oauth_error(no_token, 400).await, "invalid_request");
    // None of those revoked anything.
    assert_eq!(common::refresh(&issuer, refresh).await.status(), 200);
}

#[tokio::test]
async fn end_session_with_an_id_token_hint_ends_the_session() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    let other = signed_in(&issuer, "ada").await;
    let response = end_session(
        &issuer,
        &[
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("client_id", issuer.client_id()),
            ("state", "bye"),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), format!("{POST_LOGOUT}?state=bye"));
    assert_eq!(issuer.end_sessions(), 1);

    let refreshed = common::refresh(&issuer, str_of(&tokens, "refresh_token")).await;
    assert_eq!(oauth_error(refreshed, 400).await, "invalid_grant");
    assert_eq!(
        common::userinfo(&issuer, str_of(&tokens, "access_token"))
            .await
            .status(),
        401
    );
    // The other sign-in is another session.
    assert_eq!(
        common::refresh(&issuer, str_of(&other, "refresh_token"))
            .await
            .status(),
        200
    );

    // An expired hint is still a hint.
    let expired = issuer.token().sub("ada").expired().sign();
    let response = end_session(&issuer, &[("id_token_hint", &expired)]).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"signed-out\""), "{page}");
    assert_eq!(issuer.end_sessions(), 2);
}

#[tokio::test]
async fn end_session_refuses_with_a_page_what_it_cannot_trust() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    let hint = str_of(&tokens, "id_token");
    let other = TestIssuer::start().await.unwrap();
    let foreign = other.token().sub("ada").sign();
    let other_aud = issuer.token().aud("another-client").sign();
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "unregistered",
            vec![
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", "http://evil.example/"),
            ],
        ),
        (
            "prefix of registered",
            vec![
                ("client_id", issuer.client_id()),
                ("post_logout_redirect_uri", "http://localhost:5173/x"),
            ],
        ),
        (
            "no client identified",
            vec![("post_logout_redirect_uri", POST_LOGOUT)],
        ),
        (
            "foreign hint",
            vec![
                ("id_token_hint", &foreign),
                ("post_logout_redirect_uri", POST_LOGOUT),
            ],
        ),
        (
            "hint for another client",
            vec![("id_token_hint", &other_aud)],
        ),
        (
            "unknown client",
            vec![
                ("client_id", "other"),
                ("post_logout_redirect_uri", POST_LOGOUT),
            ],
        ),
    ];
    for (case, pairs) in cases {
        let response = end_session(&issuer, &pairs).await;
        assert_eq!(response.status(), 400, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
        assert!(
            response.text().await.unwrap().contains("Request refused"),
            "{case}"
        );
    }
    assert_eq!(issuer.end_sessions(), 0);
    assert_eq!(
        common::refresh(&issuer, str_of(&tokens, "refresh_token"))
            .await
            .status(),
        200
    );

    // client_id alone with a registered URI (added at runtime) is fine.
    issuer.add_post_logout_redirect_uri("http://localhost:5173/bye");
    let response = end_session(
        &issuer,
        &[
            ("client_id", issuer.client_id()),
            ("post_logout_redirect_uri", "http://localhost:5173/bye"),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "http://localhost:5173/bye");
    // POST works as GET.
    let response = post_form(
        &issuer.endpoint_url(Endpoint::EndSession),
        &[("id_token_hint", hint)],
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(issuer.end_sessions(), 2);
    assert_eq!(issuer.requests(Endpoint::EndSession), 8);
}

#[tokio::test]
async fn discovery_advertises_only_served_endpoints() {
    let issuer = common::start().await;
    let doc: Value = reqwest::get(issuer.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("introspection_endpoint").is_none());
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    let pairs = [
        ("authorization_endpoint", Endpoint::Authorize),
        ("token_endpoint", Endpoint::Token),
        ("userinfo_endpoint", Endpoint::Userinfo),
        ("revocation_endpoint", Endpoint::Revocation),
        ("end_session_endpoint", Endpoint::EndSession),
        ("jwks_uri", Endpoint::Jwks),
    ];
    for (field, endpoint) in pairs {
        let url = doc[field].as_str().unwrap();
        assert_eq!(url, issuer.endpoint_url(endpoint), "{field}");
        // Served: anything but 404.
        let response = http().get(url).send().await.unwrap();
        assert_ne!(response.status(), 404, "{field}");
    }
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{}end-session/", issuer.issuer())
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{}/application/o/revoke/", issuer.base_url())
    );
}

#[tokio::test]
async fn internal_url_mode_advertises_the_public_url_and_serves_on_loopback() {
    let issuer = common::builder()
        .public_url("http://auth.invalid")
        .start()
        .await
        .unwrap();
    let public_issuer = "http://auth.invalid/application/o/authgate/";
    assert_eq!(issuer.issuer(), public_issuer);
    assert!(issuer.base_url().starts_with("http://127.0.0.1:"));
    let env = issuer.env();
    assert_eq!(
        env,
        vec![
            ("AUTHENTIK_URL", "http://auth.invalid".to_owned()),
            ("AUTHENTIK_APP_SLUG", "authgate".to_owned()),
            ("AUTHENTIK_CLIENT_ID", "authgate-test".to_owned()),
            ("AUTHENTIK_CLIENT_SECRET", "authgate-test-secret".to_owned()),
            ("AUTHENTIK_INTERNAL_URL", issuer.base_url()),
        ]
    );
    let doc: Value = reqwest::get(issuer.discovery_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], public_issuer);
    assert_eq!(
        doc["authorization_endpoint"],
        "http://auth.invalid/application/o/authorize/"
    );
    assert_eq!(
        doc["token_endpoint"],
        "http://auth.invalid/application/o/token/"
    );
    assert_eq!(doc["jwks_uri"], format!("{public_issuer}jwks/"));
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{public_issuer}end-session/")
    );

    // The whole flow through loopback; tokens carry the public issuer.
    let tokens = signed_in(&issuer, "ada").await;
    assert_eq!(
        common::payload(str_of(&tokens, "id_token"))["iss"],
        public_issuer
    );
    assert_eq!(
        common::userinfo(&issuer, str_of(&tokens, "access_token"))
            .await
            .status(),
        200
    );
    let response = end_session(&issuer, &[("id_token_hint", str_of(&tokens, "id_token"))]).await;
    assert_eq!(response.status(), 200);

    assert!(
        TestIssuer::builder()
            .public_url("auth.invalid")
            .start()
            .await
            .is_err()
    );
    assert!(
        TestIssuer::builder()
            .public_url("http://a/?x=1")
            .start()
            .await
            .is_err()
    );
    let public_client = TestIssuer::builder()
        .client_auth_method(authgate_testkit::ClientAuthMethod::None)
        .start()
        .await
        .unwrap();
    assert!(
        public_client
            .env()
            .iter()
            .all(|(k, _)| *k != "AUTHENTIK_CLIENT_SECRET")
    );
}

#[tokio::test]
async fn the_outage_switch_answers_503_on_every_endpoint_and_counts() {
    let issuer = common::start().await;
    let tokens = signed_in(&issuer, "ada").await;
    issuer.reset_counters();
    issuer.set_outage(true);
    let client = http();
    for endpoint in [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Userinfo,
        Endpoint::Revocation,
        Endpoint::EndSession,
        Endpoint::AuthentikApi,
    ] {
        let url = issuer.endpoint_url(endpoint);
        let get = client.get(&url).send().await.unwrap();
        assert_eq!(get.status(), 503, "GET {endpoint:?}");
        let post = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token")
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 503, "POST {endpoint:?}");
        assert_eq!(issuer.requests(endpoint), 2, "{endpoint:?}");
    }
    // The token endpoint did not see them.
    assert_eq!(issuer.token_requests().len(), 1);
    let refresh = common::refresh(&issuer, str_of(&tokens, "refresh_token")).await;
    assert_eq!(refresh.status(), 503);

    issuer.set_outage(false);
    let refresh = common::refresh(&issuer, str_of(&tokens, "refresh_token")).await;
    assert_eq!(refresh.status(), 200);
    assert_eq!(issuer.requests(Endpoint::Token), 4);
    issuer.reset_counters();
    assert_eq!(issuer.requests(Endpoint::Token), 0);
}

#[test]
fn query_helper_reads_repeated_names_last() {
    // Sanity check of the helper used above: url's query_pairs keep every pair.
    assert_eq!(query_of("http://x/?a=1&a=2")["a"], "2");
}
