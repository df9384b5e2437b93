//! End-to-end tests of the test issuer over real loopback HTTP.

use std::time::Duration;

use authgate_testkit::{SigningKey, TestIssuer, TestkitError, unsigned_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("request");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("json body")
}

async fn served_jwks(issuer: &TestIssuer) -> Vec<Value> {
    get_json(&issuer.jwks_url()).await["keys"]
        .as_array()
        .expect("keys array")
        .clone()
}

fn served_kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

fn validation(issuer: &TestIssuer, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer.issuer()]);
    v.set_audience(&[issuer.client_id()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

/// Verifies `token` against the JWK the server actually serves for its `kid`.
async fn verify_with_served_jwk(issuer: &TestIssuer, token: &str) -> Value {
    let header = decode_header(token).expect("header");
    let kid = header.kid.expect("kid in header");
    let keys = served_jwks(issuer).await;
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("served jwk for kid");
    assert_eq!(jwk["use"], "sig");
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("parse jwk");
    let key = DecodingKey::from_jwk(&jwk).expect("decoding key");
    decode::<Value>(token, &key, &validation(issuer, header.alg))
        .expect("token verifies")
        .claims
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

#[tokio::test]
async fn urls_are_authentik_shaped() {
    let issuer = TestIssuer::start().await.unwrap();
    let port = issuer.addr().port();
    assert_ne!(port, 0);
    assert!(issuer.addr().ip().is_loopback());
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(issuer.base_url(), base);
    assert_eq!(issuer.slug(), "authgate");
    assert_eq!(issuer.client_id(), "authgate-test");
    assert_eq!(issuer.issuer(), format!("{base}/application/o/authgate/"));
    assert_eq!(
        issuer.discovery_url(),
        format!("{base}/application/o/authgate/.well-known/openid-configuration")
    );
    assert_eq!(
        issuer.jwks_url(),
        format!("{base}/application/o/authgate/jwks/")
    );
    assert_eq!(
        issuer.env(),
        vec![
            ("AUTHENTIK_URL", base.clone()),
            ("AUTHENTIK_APP_SLUG", "authgate".to_owned()),
            ("AUTHENTIK_CLIENT_ID", "authgate-test".to_owned()),
            ("AUTHENTIK_CLIENT_SECRET", "authgate-test-secret".to_owned()),
        ]
    );
    assert_eq!(issuer.public_url(), base);
    assert_eq!(
        issuer.client_secret().as_deref(),
        Some(authgate_testkit::DEFAULT_CLIENT_SECRET)
    );
}

#[tokio::test]
async fn an_issuer_path_lays_the_issuer_out_like_keycloak() {
    use authgate_testkit::Endpoint;
    let certs = "/realms/shop/protocol/openid-connect/certs";
    let issuer = TestIssuer::builder()
        .client_id("shop-api")
        .public_url("https://kc.example.com")
        .issuer_path("/realms/shop")
        .endpoint_path(Endpoint::Jwks, certs)
        .endpoint_path(
            Endpoint::Authorize,
            "/realms/shop/protocol/openid-connect/auth",
        )
        .endpoint_path(
            Endpoint::Token,
            "/realms/shop/protocol/openid-connect/token",
        )
        .start()
        .await
        .unwrap();
    let base = issuer.base_url();
    assert_eq!(issuer.issuer(), "https://kc.example.com/realms/shop");
    assert_eq!(
        issuer.discovery_url(),
        format!("{base}/realms/shop/.well-known/openid-configuration")
    );
    assert_eq!(issuer.jwks_url(), format!("{base}{certs}"));
    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(doc["issuer"], "https://kc.example.com/realms/shop");
    assert_eq!(
        doc["jwks_uri"],
        format!("https://kc.example.com{certs}").as_str()
    );
    assert_eq!(
        doc["token_endpoint"],
        "https://kc.example.com/realms/shop/protocol/openid-connect/token"
    );
    assert_eq!(
        doc["end_session_endpoint"],
        "https://kc.example.com/realms/shop/end-session/"
    );
    assert_eq!(served_kids(&served_jwks(&issuer).await), ["rsa-1", "ec-1"]);
    let claims = decode_segment(issuer.token().sign().split('.').nth(1).unwrap());
    assert_eq!(claims["iss"], "https://kc.example.com/realms/shop");
    assert_eq!(
        issuer.env(),
        vec![
            (
                "OIDC_ISSUER",
                "https://kc.example.com/realms/shop".to_owned()
            ),
            ("OIDC_AUDIENCE", "shop-api".to_owned()),
            ("OIDC_CLIENT_ID", "shop-api".to_owned()),
            ("OIDC_CLIENT_SECRET", "authgate-test-secret".to_owned()),
            ("OIDC_INTERNAL_URL", base),
        ]
    );
}

#[tokio::test]
async fn an_issuer_at_the_root_keeps_its_trailing_slash() {
    use authgate_testkit::Endpoint;
    let issuer = TestIssuer::builder()
        .issuer_path("/")
        .endpoint_path(Endpoint::Jwks, "/.well-known/jwks.json")
        .start()
        .await
        .unwrap();
    let base = issuer.base_url();
    assert_eq!(issuer.issuer(), format!("{base}/"));
    let doc = get_json(&format!("{base}/.well-known/openid-configuration")).await;
    assert_eq!(doc["issuer"], format!("{base}/").as_str());
    assert_eq!(
        doc["jwks_uri"],
        format!("{base}/.well-known/jwks.json").as_str()
    );
}

#[tokio::test]
async fn bad_or_clashing_paths_are_refused() {
    use authgate_testkit::Endpoint;
    for path in ["realms/x", "/a?b", "/a#b", "/{param}", "/a b"] {
        let err = TestIssuer::builder().issuer_path(path).start().await;
        assert!(
            matches!(err, Err(TestkitError::InvalidConfig(_))),
            "{path}: {err:?}"
        );
    }
    let clash = TestIssuer::builder()
        .issuer_path("/realms/x")
        .endpoint_path(Endpoint::Token, "/realms/x/jwks/")
        .start()
        .await;
    match clash {
        Err(TestkitError::InvalidConfig(message)) => {
            assert!(message.contains("two endpoints"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn discovery_document_fields() {
    let issuer = TestIssuer::builder()
        .slug("my-app")
        .client_id("cid")
        .start()
        .await
        .unwrap();
    let base = issuer.base_url();
    assert_eq!(issuer.issuer(), format!("{base}/application/o/my-app/"));
    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(doc["issuer"], issuer.issuer());
    assert!(doc["issuer"].as_str().unwrap().ends_with("/my-app/"));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/application/o/authorize/")
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{base}/application/o/token/")
    );
    assert_eq!(
        doc["userinfo_endpoint"],
        format!("{base}/application/o/userinfo/")
    );
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{}end-session/", issuer.issuer())
    );
    assert_eq!(doc["jwks_uri"], issuer.jwks_url());
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    assert!(
        !doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 0);

    // The advertised jwks_uri really serves the key set.
    let keys = get_json(doc["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);

    // Another slug's path is not served.
    let other = format!("{base}/application/o/authgate/.well-known/openid-configuration");
    assert_eq!(reqwest::get(other).await.unwrap().status(), 404);
}

#[tokio::test]
async fn jwks_serves_both_default_keys() {
    let issuer = TestIssuer::start().await.unwrap();
    let keys = served_jwks(&issuer).await;
    assert_eq!(served_kids(&keys), ["rsa-1", "ec-1"]);
    let rsa = &keys[0];
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["alg"], "RS256");
    assert_eq!(rsa["use"], "sig");
    assert!(rsa["n"].as_str().unwrap().len() > 300);
    assert_eq!(rsa["e"], "AQAB");
    let ec = &keys[1];
    assert_eq!(ec["kty"], "EC");
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["use"], "sig");
    assert!(ec["x"].is_string() && ec["y"].is_string());
    // No private material is ever served.
    for key in &keys {
        assert!(key.get("d").is_none(), "{key}");
    }
    assert_eq!(issuer.public_jwk("rsa-1").as_ref(), Some(rsa));
    assert_eq!(issuer.public_jwk("ec-1").as_ref(), Some(ec));
    assert_eq!(issuer.default_kid().as_deref(), Some("rsa-1"));
}

#[tokio::test]
async fn rotation_changes_the_served_set() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.add_rsa_key("rsa-2").unwrap();
    issuer.add_ec_key("ec-2").unwrap();
    assert_eq!(
        served_kids(&served_jwks(&issuer).await),
        ["rsa-1", "ec-1", "rsa-2", "ec-2"]
    );

    issuer.set_default_key("rsa-2").unwrap();
    let token = issuer.token().sign();
    assert_eq!(decode_header(&token).unwrap().kid.as_deref(), Some("rsa-2"));

    assert!(issuer.remove_key("rsa-1"));
    assert!(!issuer.remove_key("rsa-1"));
    assert_eq!(
        served_kids(&served_jwks(&issuer).await),
        ["ec-1", "rsa-2", "ec-2"]
    );
    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );

    // A removed key can no longer sign.
    assert!(issuer.signing_key("rsa-1").is_none());
    assert!(matches!(
        issuer.token().key("rsa-1").try_sign(),
        Err(TestkitError::UnknownKid(kid)) if kid == "rsa-1"
    ));
    assert!(matches!(
        issuer.set_default_key("rsa-1"),
        Err(TestkitError::UnknownKid(_))
    ));

    // The token signed with rsa-2 still verifies against the served set.
    verify_with_served_jwk(&issuer, &token).await;

    // Re-adding a kid replaces the key material.
    let old = issuer.public_jwk("ec-2").unwrap();
    issuer.add_ec_key("ec-2").unwrap();
    let new = issuer.public_jwk("ec-2").unwrap();
    assert_ne!(old["x"], new["x"]);
    assert_eq!(
        served_kids(&served_jwks(&issuer).await),
        ["ec-1", "rsa-2", "ec-2"]
    );

    // Removing the default falls back to the first served key.
    assert!(issuer.remove_key("rsa-2"));
    assert_eq!(issuer.default_kid().as_deref(), Some("ec-1"));
    let token = issuer.token().sign();
    let header = decode_header(&token).unwrap();
    assert_eq!(
        (header.kid.as_deref(), header.alg),
        (Some("ec-1"), Algorithm::ES256)
    );
}

#[tokio::test]
async fn outage_answers_503_and_is_counted() {
    let issuer = TestIssuer::start().await.unwrap();
    get_json(&issuer.discovery_url()).await;
    get_json(&issuer.jwks_url()).await;
    assert_eq!(
        (issuer.discovery_requests(), issuer.jwks_requests()),
        (1, 1)
    );

    issuer.set_outage(true);
    for _ in 0..2 {
        let d = reqwest::get(issuer.discovery_url()).await.unwrap();
        assert_eq!(d.status(), 503);
        let j = reqwest::get(issuer.jwks_url()).await.unwrap();
        assert_eq!(j.status(), 503);
    }
    assert_eq!(
        (issuer.discovery_requests(), issuer.jwks_requests()),
        (3, 3)
    );

    issuer.set_outage(false);
    get_json(&issuer.jwks_url()).await;
    assert_eq!(issuer.jwks_requests(), 4);

    issuer.reset_counters();
    assert_eq!(
        (issuer.discovery_requests(), issuer.jwks_requests()),
        (0, 0)
    );
}

#[tokio::test]
async fn rs256_token_verifies_with_served_jwk() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer
        .token()
        .sub("alice")
        .groups(["admins", "staff"])
        .email("alice@example.com")
        .name("Alice")
        .organization_id("org-7")
        .scope("openid email")
        .claim("custom", 42)
        .sign();
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("rsa-1"));
    assert_eq!(header.typ.as_deref(), Some("JWT"));

    let claims = verify_with_served_jwk(&issuer, &token).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["aud"], "authgate-test");
    assert_eq!(claims["groups"], json!(["admins", "staff"]));
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["name"], "Alice");
    assert_eq!(claims["organizationId"], "org-7");
    assert_eq!(claims["scope"], "openid email");
    assert_eq!(claims["custom"], 42);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300);
    assert!((iat - authgate_testkit::now()).abs() <= 5);

    // The ES256 key's JWK does not verify it.
    let ec: Jwk = serde_json::from_value(issuer.public_jwk("ec-1").unwrap()).unwrap();
    let wrong = DecodingKey::from_jwk(&ec).unwrap();
    assert!(decode::<Value>(&token, &wrong, &validation(&issuer, Algorithm::RS256)).is_err());
}

#[tokio::test]
async fn es256_token_verifies_with_served_jwk() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().key("ec-1").sub("bob").sign();
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("ec-1"));
    let claims = verify_with_served_jwk(&issuer, &token).await;
    assert_eq!(claims["sub"], "bob");

    // ES256 signatures are the fixed 64-byte r||s form.
    let sig = token.rsplit('.').next().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
}

#[tokio::test]
async fn rsa_key_signs_other_rsa_algorithms() {
    let issuer = TestIssuer::start().await.unwrap();
    let jwk: Jwk = serde_json::from_value(issuer.public_jwk("rsa-1").unwrap()).unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let token = issuer.token().alg(alg).sign();
        assert_eq!(decode_header(&token).unwrap().alg, alg);
        decode::<Value>(&token, &key, &validation(&issuer, alg)).expect("verifies");
    }
    assert!(matches!(
        issuer.token().alg(Algorithm::ES256).try_sign(),
        Err(TestkitError::UnsupportedAlgorithm { .. })
    ));
}

#[tokio::test]
async fn token_builder_claim_and_header_edits() {
    let issuer = TestIssuer::start().await.unwrap();
    let b = issuer
        .token()
        .no_sub()
        .no_aud()
        .iss("https://evil.example/")
        .no_exp()
        .nbf_in(Duration::from_secs(60))
        .remove_claim("iat")
        .remove_claim("azp")
        .remove_claim("uid")
        .claim("x", "y");
    let claims = b.claims();
    assert_eq!(
        claims,
        json!({"iss": "https://evil.example/", "nbf": claims["nbf"], "x": "y"})
    );
    assert!(claims["nbf"].as_i64().unwrap() > authgate_testkit::now());

    // Authentik's access-token shape: azp = the client id, and a fresh random uid.
    let (one, two) = (issuer.token().claims(), issuer.token().claims());
    assert_eq!(one["azp"], issuer.client_id());
    assert_eq!(one["uid"].as_str().unwrap().len(), 32);
    assert_ne!(one["uid"], two["uid"]);

    let claims = issuer.token().audiences(["a", "b"]).expired().claims();
    assert_eq!(claims["aud"], json!(["a", "b"]));
    assert!(claims["exp"].as_i64().unwrap() < authgate_testkit::now() - 3000);
    let claims = issuer.token().exp(123).nbf(45).claims();
    assert_eq!(
        (claims["exp"].as_i64(), claims["nbf"].as_i64()),
        (Some(123), Some(45))
    );
    let exp = issuer.token().exp_in(Duration::from_secs(10)).claims()["exp"]
        .as_i64()
        .unwrap();
    assert!((exp - authgate_testkit::now() - 10).abs() <= 2);

    // kid override keeps the default key; no_kid drops it; extra header fields.
    let token = issuer
        .token()
        .kid("ec-1")
        .header("jku", "https://evil.example/jwks")
        .sign();
    let header = decode_segment(token.split('.').next().unwrap());
    assert_eq!(header["kid"], "ec-1");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["jku"], "https://evil.example/jwks");
    let rsa: Jwk = serde_json::from_value(issuer.public_jwk("rsa-1").unwrap()).unwrap();
    let mut v = validation(&issuer, Algorithm::RS256);
    v.validate_aud = true;
    decode::<Value>(&token, &DecodingKey::from_jwk(&rsa).unwrap(), &v).expect("signed by rsa-1");

    let token = issuer.token().no_kid().sign();
    assert!(decode_header(&token).unwrap().kid.is_none());
}

#[tokio::test]
async fn raw_jwk_is_served_verbatim() {
    let issuer = TestIssuer::start().await.unwrap();
    let weird =
        json!({"kty": "RSA", "kid": "broken", "n": "!!not base64!!", "extra": [1, {"a": null}]});
    let no_kty = json!({"kid": "no-kty"});
    issuer.add_raw_jwk(weird.clone());
    issuer.add_raw_jwk(no_kty.clone());
    let keys = served_jwks(&issuer).await;
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[2], weird);
    assert_eq!(keys[3], no_kty);
    // Raw JWKs cannot sign and are not "served keys".
    assert!(issuer.signing_key("broken").is_none());
    assert!(issuer.public_jwk("broken").is_none());
    issuer.clear_raw_jwks();
    assert_eq!(served_jwks(&issuer).await.len(), 2);
}

#[tokio::test]
async fn sign_raw_uses_header_verbatim() {
    let issuer = TestIssuer::start().await.unwrap();
    let key = issuer.signing_key("rsa-1").unwrap();
    let header = json!({
        "alg": "RS256",
        "kid": "../../etc/passwd",
        "crit": ["exp"],
        "jwk": key.public_jwk(),
        "x5u": "https://evil.example/cert",
        "typ": "at+jwt",
    });
    let claims = json!({"sub": "mallory", "iss": issuer.issuer()});
    let token = key.sign_raw(&header, &claims).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    // Byte-for-byte the JSON serialisation of the given values.
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
        serde_json::to_vec(&header).unwrap()
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[1]).unwrap(),
        serde_json::to_vec(&claims).unwrap()
    );
    // And the signature is real.
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let message = format!("{}.{}", parts[0], parts[1]);
    assert!(
        jsonwebtoken::crypto::verify(
            parts[2],
            message.as_bytes(),
            &DecodingKey::from_jwk(&jwk).unwrap(),
            Algorithm::RS256
        )
        .unwrap()
    );

    // The header's alg picks the algorithm; one the key cannot do is an error.
    let ps = key.sign_raw(&json!({"alg": "PS384"}), &claims).unwrap();
    assert!(
        jsonwebtoken::crypto::verify(
            ps.rsplit('.').next().unwrap(),
            ps.rsplit_once('.').unwrap().0.as_bytes(),
            &DecodingKey::from_jwk(&jwk).unwrap(),
            Algorithm::PS384
        )
        .unwrap()
    );
    for bad in [
        json!({"alg": "HS256"}),
        json!({"alg": "none"}),
        json!({"typ": "JWT"}),
    ] {
        assert!(matches!(
            key.sign_raw(&bad, &claims),
            Err(TestkitError::UnsupportedAlgorithm { .. })
        ));
    }
    let unsigned = unsigned_token(&json!({"alg": "none"}), &claims).unwrap();
    assert!(unsigned.ends_with('.'));
}

#[tokio::test]
async fn public_key_der_enables_hs256_confusion_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let key = issuer.signing_key("rsa-1").unwrap();
    let der = key.public_key_der();
    assert_eq!(der[0], 0x30, "DER SEQUENCE");
    // An attacker's HS256 token keyed with the public key bytes must not verify
    // against the RSA JWK.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("rsa-1".into()),
            ..jsonwebtoken::Header::new(Algorithm::HS256)
        },
        &issuer.token().claims(),
        &jsonwebtoken::EncodingKey::from_secret(&der),
    )
    .unwrap();
    let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let dk = DecodingKey::from_jwk(&jwk).unwrap();
    assert!(decode::<Value>(&forged, &dk, &validation(&issuer, Algorithm::RS256)).is_err());
}

#[tokio::test]
async fn jwks_max_age_header() {
    let issuer = TestIssuer::builder()
        .jwks_max_age(Some(120))
        .start()
        .await
        .unwrap();
    let r = reqwest::get(issuer.jwks_url()).await.unwrap();
    assert_eq!(r.headers()["cache-control"], "max-age=120");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    issuer.set_jwks_max_age(Some(5));
    let r = reqwest::get(issuer.jwks_url()).await.unwrap();
    assert_eq!(r.headers()["cache-control"], "max-age=5");

    issuer.set_jwks_max_age(None);
    let r = reqwest::get(issuer.jwks_url()).await.unwrap();
    assert!(r.headers().get("cache-control").is_none());

    let plain = TestIssuer::start().await.unwrap();
    let r = reqwest::get(plain.jwks_url()).await.unwrap();
    assert!(r.headers().get("cache-control").is_none());
}

#[tokio::test]
async fn builder_keys_and_no_default_keys() {
    let issuer = TestIssuer::builder()
        .no_default_keys()
        .ec_key("only-ec")
        .rsa_key("then-rsa")
        .key(
            SigningKey::generate_rsa("ps")
                .unwrap()
                .with_algorithm(Algorithm::PS256)
                .unwrap(),
        )
        .start()
        .await
        .unwrap();
    let keys = served_jwks(&issuer).await;
    assert_eq!(served_kids(&keys), ["only-ec", "then-rsa", "ps"]);
    assert_eq!(keys[2]["alg"], "PS256");
    assert_eq!(issuer.default_kid().as_deref(), Some("only-ec"));
    let token = issuer.token().key("ps").sign();
    assert_eq!(decode_header(&token).unwrap().alg, Algorithm::PS256);
    verify_with_served_jwk(&issuer, &token).await;

    let empty = TestIssuer::builder()
        .no_default_keys()
        .start()
        .await
        .unwrap();
    assert_eq!(served_jwks(&empty).await, Vec::<Value>::new());
    assert!(matches!(
        empty.token().try_sign(),
        Err(TestkitError::NoSigningKey)
    ));

    assert!(matches!(
        TestIssuer::builder().slug("a/b").start().await,
        Err(TestkitError::InvalidConfig(_))
    ));
}

#[tokio::test]
#[should_panic(expected = "cannot sign test token")]
async fn sign_panics_when_key_vanished() {
    let issuer = TestIssuer::start().await.unwrap();
    let builder = issuer.token().key("ec-1");
    issuer.remove_key("ec-1");
    let _ = builder.sign();
}

#[tokio::test]
async fn clones_share_state_and_drop_stops_server() {
    let issuer = TestIssuer::start().await.unwrap();
    let clone = issuer.clone();
    clone.set_outage(true);
    assert_eq!(reqwest::get(issuer.jwks_url()).await.unwrap().status(), 503);
    assert_eq!(issuer.jwks_requests(), 1);

    let url = issuer.jwks_url();
    let addr = issuer.addr();
    drop(issuer);
    // Still served while a clone lives.
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 503);
    drop(clone);
    // The port is closed once the last handle is gone.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(client.get(&url).send().await.is_err());
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn works_without_a_runtime() {
    let issuer = TestIssuer::start_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = issuer.token().sign();
    let claims = rt.block_on(verify_with_served_jwk(&issuer, &token));
    assert_eq!(claims["sub"], "user-1");
    drop(rt);
    // The issuer outlives the runtime that used it.
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt2.block_on(async {
        assert_eq!(reqwest::get(issuer.jwks_url()).await.unwrap().status(), 200);
    });
}

#[tokio::test]
async fn the_authentik_api_stand_in_requires_the_api_scope() {
    let issuer = TestIssuer::start().await.unwrap();
    let url = format!("{}/api/v3/authenticators/webauthn/", issuer.base_url());
    let client = reqwest::Client::new();
    let call = |token: Option<String>| {
        let mut req = client.get(&url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    assert_eq!(call(None).await.unwrap().status(), 403);
    let without = issuer.token().scope("openid email").sign();
    assert_eq!(call(Some(without)).await.unwrap().status(), 403);
    let expired = issuer.token().scope("goauthentik.io/api").expired().sign();
    assert_eq!(call(Some(expired)).await.unwrap().status(), 403);
    let with = issuer
        .token()
        .sub("ada")
        .scope("openid goauthentik.io/api")
        .sign();
    let ok = call(Some(with)).await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["results"][0]["name"], "Security key of ada");
    assert_eq!(issuer.api_requests(), 4);
}
