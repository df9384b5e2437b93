//! The token endpoint over real HTTP: grants, tokens, client authentication, faults.

mod common;

use std::time::Duration;

use authgate_testkit::{
    ClientAuthMethod, ClientAuthUsed, Endpoint, StatusCode, TestIssuer, TokenFault,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{REDIRECT, basic, oauth_error, payload, post_form, verify};
use serde_json::json;

#[tokio::test]
async fn the_code_flow_gives_authentik_shaped_tokens() {
    let issuer = common::start().await;
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], common::SCOPE);
    let access = tokens["access_token"].as_str().unwrap();
    let id = tokens["id_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.split('.').count(), 1, "an opaque refresh token");

    // Both JWTs verify against the served JWKS, signed by the default key.
    for token in [access, id] {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("rsa-1"));
        verify(&issuer, token).expect("verifies");
    }
    let at = payload(access);
    assert_eq!(at["iss"], issuer.issuer());
    assert_eq!(at["sub"], "ada");
    assert_eq!(at["aud"], issuer.client_id());
    assert_eq!(at["azp"], issuer.client_id());
    assert_eq!(at["scope"], common::SCOPE);
    assert_eq!(at["email"], "ada@example.com");
    assert_eq!(at["email_verified"], true);
    assert_eq!(at["name"], "Ada Admin");
    assert_eq!(at["preferred_username"], "ada");
    assert_eq!(at["groups"], json!(["app-admins"]));
    assert_eq!(at["organizationId"], "org-1");
    assert_eq!(at["uid"].as_str().unwrap().len(), 32);
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        300
    );
    assert!(at["sid"].is_string() && at["auth_time"].is_i64());

    let it = payload(id);
    assert_eq!(it["nonce"], "the-nonce");
    assert_eq!(it["aud"], issuer.client_id());
    // Authentik's ID token has neither `azp` nor `uid`: only its access token does.
    assert!(it.get("azp").is_none() && it.get("uid").is_none());
    assert_eq!(it["sid"], at["sid"]);
    assert_eq!(it["auth_time"], at["auth_time"]);
    assert_eq!(it["groups"], json!(["app-admins"]));
    // at_hash: the left half of SHA-256 of the access token (RS256).
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(it["at_hash"], URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16]));

    // What the token endpoint saw, and what it issued.
    let seen = issuer.token_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].client_auth, ClientAuthUsed::Basic);
    assert_eq!(seen[0].grant_type, "authorization_code");
    assert_eq!(seen[0].form["redirect_uri"], REDIRECT);
    assert!(!seen[0].form.contains_key("client_secret"));
    assert!(
        !format!("{:?}", seen[0]).contains(&code),
        "Debug hides the code"
    );
    assert!(issuer.issued_tokens() == [access, id, refresh]);
    assert_eq!(issuer.requests(Endpoint::Token), 1);
}

#[tokio::test]
async fn es256_ids_hash_with_sha256_and_the_lifetime_is_configurable() {
    let issuer = common::builder()
        .access_token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    issuer.set_default_key("ec-1").unwrap();
    let (code, request) = common::sign_in(&issuer, "sam").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    assert_eq!(tokens["expires_in"], 60);
    let access = tokens["access_token"].as_str().unwrap();
    let id = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(id).unwrap().kid.as_deref(),
        Some("ec-1")
    );
    let claims = verify(&issuer, id).unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(
        claims["at_hash"],
        URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
    );
    // sam has no email: no email claims.
    assert!(claims.get("email").is_none() && claims.get("email_verified").is_none());
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let issuer = common::start().await;
    let request = common::AuthRequest::new(&issuer)
        .set("scope", Some("openid email"))
        .set("login_hint", Some("ada"))
        .set("nonce", None);
    let response = common::http()
        .get(request.url(&issuer))
        .send()
        .await
        .unwrap();
    let code = common::query_of(&common::location(&response))["code"].clone();
    let tokens = common::redeem(&issuer, &code, &request).await;
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(tokens["scope"], "openid email");
    assert!(
        payload(tokens["id_token"].as_str().unwrap())
            .get("nonce")
            .is_none()
    );
}

#[tokio::test]
async fn codes_need_the_verifier_and_the_redirect_uri_and_are_single_use() {
    let issuer = common::start().await;
    let redeem_with = |code: String, redirect: &'static str, verifier: String| {
        let issuer = issuer.clone();
        async move {
            common::token_request(
                &issuer,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };

    // A wrong verifier: invalid_grant, and the code is burnt.
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let (other_verifier, _) = common::pkce();
    let response = redeem_with(code.clone(), REDIRECT, other_verifier).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");
    let response = redeem_with(code, REDIRECT, request.verifier.clone()).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");

    // The challenge itself is not a verifier.
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let challenge = request
        .params
        .iter()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .clone();
    let response = redeem_with(code, REDIRECT, challenge).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");

    // Another redirect_uri than the request's.
    issuer.add_redirect_uri("http://localhost:3000/other");
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let response = redeem_with(code, "http://localhost:3000/other", request.verifier).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");

    // Reuse: refused, and what the first redemption gave is revoked.
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(common::userinfo(&issuer, access).await.status(), 200);
    let response = redeem_with(code, REDIRECT, request.verifier.clone()).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");
    assert_eq!(common::userinfo(&issuer, access).await.status(), 401);
    let response = common::refresh(&issuer, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");

    // Unknown codes, missing parameters, other grants, other bodies.
    let response = redeem_with("nope".into(), REDIRECT, request.verifier).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_grant");
    let response = common::token_request(&issuer, &[("code", "x")]).await;
    assert_eq!(oauth_error(response, 400).await, "invalid_request");
    let response = common::token_request(&issuer, &[("grant_type", "client_credentials")]).await;
    assert_eq!(oauth_error(response, 400).await, "unsupported_grant_type");
    let response = common::token_request(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("grant_type", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(oauth_error(response, 400).await, "invalid_request");
    let json_body = common::http()
        .post(issuer.endpoint_url(Endpoint::Token))
        .json(&json!({ "grant_type": "authorization_code" }))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(json_body, 400).await, "invalid_request");
    let get = reqwest::get(issuer.endpoint_url(Endpoint::Token))
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}

/// A refresh grant with an unknown token: `invalid_grant` once the client is
/// authenticated, `invalid_client` before.
async fn probe(
    issuer: &TestIssuer,
    pairs: &[(&str, &str)],
    auth: Option<String>,
) -> (u16, String, Option<String>) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", "unknown"),
    ];
    form.extend_from_slice(pairs);
    let response = post_form(&issuer.endpoint_url(Endpoint::Token), &form, auth).await;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap().to_owned(),
        challenge,
    )
}

#[tokio::test]
async fn client_authentication_follows_the_registered_method() {
    const SECRET: &str = "s3cret:with/odd chars";
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::Any,
        ClientAuthMethod::None,
    ] {
        let issuer = common::builder()
            .client_id("shop")
            .client_secret(SECRET)
            .client_auth_method(method)
            .start()
            .await
            .unwrap();
        let public = method == ClientAuthMethod::None;
        assert_eq!(issuer.client_secret().is_none(), public);
        assert_eq!(issuer.client_auth_method(), method);
        let doc: serde_json::Value = reqwest::get(issuer.discovery_url())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let advertised = doc["token_endpoint_auth_methods_supported"].clone();

        let good_basic = probe(&issuer, &[], Some(basic("shop", SECRET))).await;
        let good_post = probe(
            &issuer,
            &[("client_id", "shop"), ("client_secret", SECRET)],
            None,
        )
        .await;
        let public_client = probe(&issuer, &[("client_id", "shop")], None).await;
        let accepted = |r: &(u16, String, Option<String>)| r.0 == 400 && r.1 == "invalid_grant";
        match method {
            ClientAuthMethod::ClientSecretBasic => {
                assert_eq!(advertised, json!(["client_secret_basic"]));
                assert!(accepted(&good_basic));
                assert!(!accepted(&good_post) && !accepted(&public_client));
            }
            ClientAuthMethod::ClientSecretPost => {
                assert_eq!(advertised, json!(["client_secret_post"]));
                assert!(accepted(&good_post));
                assert!(!accepted(&good_basic) && !accepted(&public_client));
            }
            ClientAuthMethod::Any => {
                assert_eq!(
                    advertised,
                    json!(["client_secret_basic", "client_secret_post"])
                );
                assert!(accepted(&good_basic) && accepted(&good_post));
                assert!(!accepted(&public_client));
            }
            _ => {
                assert_eq!(advertised, json!(["none"]));
                assert!(accepted(&public_client));
                assert!(!accepted(&good_basic) && !accepted(&good_post));
            }
        }
        if public {
            continue;
        }
        // Wrong secret or id: 401 invalid_client; after Basic, with a Basic challenge.
        let wrong_basic = probe(&issuer, &[], Some(basic("shop", "wrong"))).await;
        let wrong_id = probe(&issuer, &[], Some(basic("other", SECRET))).await;
        for wrong in [&wrong_basic, &wrong_id] {
            assert_eq!(
                (wrong.0, wrong.1.as_str()),
                (401, "invalid_client"),
                "{method:?}"
            );
            assert!(
                wrong.2.as_deref().unwrap().starts_with("Basic"),
                "{method:?}"
            );
        }
        let wrong_post = probe(
            &issuer,
            &[("client_id", "shop"), ("client_secret", "wrong")],
            None,
        )
        .await;
        assert_eq!(
            (wrong_post.0, wrong_post.1.as_str()),
            (401, "invalid_client")
        );
        assert!(wrong_post.2.is_none());
        // Not encoded per RFC 6749 §2.3.1 (raw ':' and ' ' in the secret) still decodes
        // to the same secret only when it has no '%' or '+': this one has a space.
        let raw = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("shop:{SECRET}"))
        );
        let raw = probe(&issuer, &[], Some(raw)).await;
        if method != ClientAuthMethod::ClientSecretPost {
            assert!(accepted(&raw), "{method:?}: {raw:?}");
        }
        // Two methods at once.
        let both = probe(
            &issuer,
            &[("client_secret", SECRET)],
            Some(basic("shop", SECRET)),
        )
        .await;
        assert_eq!((both.0, both.1.as_str()), (400, "invalid_request"));
        assert_eq!(
            issuer
                .token_requests()
                .iter()
                .map(|r| r.client_auth)
                .take(3)
                .collect::<Vec<_>>(),
            [
                ClientAuthUsed::Basic,
                ClientAuthUsed::Post,
                ClientAuthUsed::None
            ]
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_fails() {
    let issuer = common::start().await;
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let first = common::redeem(&issuer, &code, &request).await;
    let old = first["refresh_token"].as_str().unwrap();

    let response = common::refresh(&issuer, old).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: serde_json::Value = response.json().await.unwrap();
    let new = second["refresh_token"].as_str().unwrap();
    assert!(new != old, "a new refresh token");
    assert!(
        second["access_token"] != first["access_token"],
        "a new access token"
    );
    assert_eq!(second["scope"], common::SCOPE);
    let id = verify(&issuer, second["id_token"].as_str().unwrap()).unwrap();
    let first_id = payload(first["id_token"].as_str().unwrap());
    assert!(id.get("nonce").is_none(), "no nonce on refresh");
    assert_eq!(id["sid"], first_id["sid"]);
    assert_eq!(id["auth_time"], first_id["auth_time"]);
    let at = payload(second["access_token"].as_str().unwrap());
    assert_eq!(at["scope"], common::SCOPE);

    let reused = common::refresh(&issuer, old).await;
    assert_eq!(oauth_error(reused, 400).await, "invalid_grant");
    assert_eq!(common::refresh(&issuer, new).await.status(), 200);

    let seen = issuer.token_requests();
    assert_eq!(seen[1].grant_type, "refresh_token");
    assert!(seen[1].form["refresh_token"] == old);

    // A narrower scope is allowed, a wider one is not.
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    let token = tokens["refresh_token"].as_str().unwrap();
    let wider = common::token_request(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", "openid goauthentik.io/api"),
        ],
    )
    .await;
    assert_eq!(oauth_error(wider, 400).await, "invalid_scope");
    let narrower = common::token_request(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", "openid"),
        ],
    )
    .await;
    let body: serde_json::Value = narrower.json().await.unwrap();
    assert_eq!(body["scope"], "openid");
}

#[tokio::test]
async fn without_rotation_the_refresh_token_keeps_working() {
    let issuer = common::builder()
        .refresh_token_rotation(false)
        .start()
        .await
        .unwrap();
    let (code, request) = common::sign_in(&issuer, "ada").await;
    let tokens = common::redeem(&issuer, &code, &request).await;
    let token = tokens["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let response = common::refresh(&issuer, token).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body.get("refresh_token").is_none());
        assert!(body["access_token"].is_string() && body["id_token"].is_string());
    }
}

#[tokio::test]
async fn token_faults_for_relying_party_tests() {
    let issuer = common::start().await;
    let tokens_with = |fault: Option<TokenFault>| {
        let issuer = issuer.clone();
        async move {
            issuer.set_token_fault(fault);
            let (code, request) = common::sign_in(&issuer, "ada").await;
            common::redeem(&issuer, &code, &request).await
        }
    };

    let wrong_nonce = tokens_with(Some(TokenFault::WrongNonce)).await;
    let id = verify(&issuer, wrong_nonce["id_token"].as_str().unwrap()).unwrap();
    assert!(id["nonce"].is_string());
    assert_ne!(id["nonce"], "the-nonce");

    let stranger = tokens_with(Some(TokenFault::UnknownSigningKey)).await;
    let id = stranger["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id).unwrap();
    assert_eq!(header.kid.as_deref(), Some("rsa-1"));
    assert!(
        verify(&issuer, id).is_err(),
        "signed by a key the JWKS does not serve"
    );
    verify(&issuer, stranger["access_token"].as_str().unwrap()).expect("the access token is fine");

    for aud in [
        json!("other-client"),
        json!([issuer.client_id(), "other-client"]),
    ] {
        let tokens = tokens_with(Some(TokenFault::IdTokenAudience(aud.clone()))).await;
        let id = payload(tokens["id_token"].as_str().unwrap());
        assert_eq!(id["aud"], aud);
        assert!(id.get("azp").is_none());
    }

    let no_id = tokens_with(Some(TokenFault::NoIdToken)).await;
    assert!(no_id.get("id_token").is_none());
    assert!(no_id["access_token"].is_string());

    issuer.set_token_fault(Some(TokenFault::Status(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "temporarily_unavailable" }),
    )));
    let before = issuer.token_requests().len();
    let response = common::refresh(&issuer, "anything").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "temporarily_unavailable" }));
    assert_eq!(issuer.token_requests().len(), before + 1);

    issuer.set_token_fault(None);
    let fine = tokens_with(None).await;
    assert_eq!(
        verify(&issuer, fine["id_token"].as_str().unwrap()).unwrap()["nonce"],
        "the-nonce"
    );
}
