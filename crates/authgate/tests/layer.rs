//! The layer end to end against the in-process test issuer: token extraction,
//! validation, key rotation and outages, attacks, and the verified-token cache.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authgate::__private::AuthMarker;
use authgate::{
    AccessToken, AuthConfig, AuthConfigBuilder, AuthError, AuthLayer, AuthOptions, Authenticator,
    Claims, MapError, Rejection, User,
};
use authgate_test_support::Reply;
use authgate_testkit::{SigningKey, TestIssuer, unsigned_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

type Echo = tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

/// An inner service that answers with the authenticated subject (or "anonymous").
fn echo()
-> impl Service<Request<String>, Response = Response<String>, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    service_fn(|req: Request<String>| async move {
        let body = match req.extensions().get::<Arc<User>>() {
            Some(user) => {
                assert!(req.extensions().get::<AccessToken>().is_some());
                user.sub.clone()
            }
            None => String::from("anonymous"),
        };
        assert!(
            req.extensions().get::<AuthMarker>().is_some(),
            "the layer marks every request it lets through"
        );
        Ok::<_, Infallible>(Response::new(body))
    })
}

fn config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .trusted_origin("https://app.example.com")
}

async fn layer_with(
    issuer: &TestIssuer,
    f: impl FnOnce(AuthConfigBuilder) -> AuthConfigBuilder,
) -> AuthLayer {
    let layer = AuthLayer::new(f(config(issuer)).build().expect("valid config"));
    layer
        .authenticator()
        .refresh_keys()
        .await
        .expect("keys load");
    layer
}

async fn service(issuer: &TestIssuer) -> Echo {
    let layer = layer_with(issuer, |c| c).await;
    Echo::new(ServiceBuilder::new().layer(layer).service(echo()))
}

fn send(svc: &Echo, req: Request<String>) -> impl Future<Output = Reply> + Send + use<> {
    let svc = svc.clone();
    let url = req.uri().to_string();
    async move {
        let (parts, body) = svc.oneshot(req).await.unwrap().into_parts();
        Reply::new(url, parts.status, parts.headers, body.as_bytes())
    }
}

fn bearer(token: &str) -> Request<String> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap()
}

fn cookie(method: &str, token: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri("/")
        .header("cookie", format!("theme=dark; app_auth={token}"))
}

async fn expect_refused(svc: &Echo, token: &str, code: &str) {
    let answer = send(svc, bearer(token)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.code(), code, "{}", answer.body);
    let header = answer.header("www-authenticate").expect("WWW-Authenticate");
    assert!(header.starts_with("Bearer realm=\""), "{header}");
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    assert!(!answer.body.contains(token), "the token is never echoed");
}

// ---------------------------------------------------------------- extraction

#[tokio::test]
async fn bearer_and_cookie_are_accepted_and_the_cookie_wins() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let alice = issuer.token().sub("alice").sign();
    let bob = issuer.token().sub("bob").sign();

    assert_eq!(send(&svc, bearer(&alice)).await.body, "alice");
    let lower = Request::get("/")
        .header("authorization", format!("bearer {alice}"))
        .body(String::new())
        .unwrap();
    assert_eq!(send(&svc, lower).await.body, "alice");
    assert_eq!(
        send(&svc, cookie("GET", &bob).body(String::new()).unwrap())
            .await
            .body,
        "bob"
    );

    // Both: the cookie is used.
    let both = cookie("GET", &bob)
        .header("authorization", format!("Bearer {alice}"))
        .body(String::new())
        .unwrap();
    assert_eq!(send(&svc, both).await.body, "bob");

    // A bad cookie is not rescued by a good Bearer header.
    let bad_cookie = cookie("GET", "not.a.token")
        .header("authorization", format!("Bearer {alice}"))
        .body(String::new())
        .unwrap();
    assert_eq!(
        send(&svc, bad_cookie).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn no_token_is_401_without_error_code_and_query_strings_are_ignored() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let token = issuer.token().sign();
    for uri in [
        "/".to_owned(),
        format!("/?access_token={token}"),
        format!("/?token={token}"),
    ] {
        let answer = send(&svc, Request::get(uri).body(String::new()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.code(), "missing_token");
        let header = answer.header("www-authenticate").unwrap();
        assert_eq!(header, format!("Bearer realm=\"{}\"", issuer.issuer()));
    }
    let basic = Request::get("/")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(String::new())
        .unwrap();
    assert_eq!(send(&svc, basic).await.code(), "missing_token");
}

#[tokio::test]
async fn several_authorization_headers_are_a_bad_request() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let token = issuer.token().sign();
    let req = Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap();
    let answer = send(&svc, req).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
}

#[tokio::test]
async fn a_huge_token_is_refused_before_parsing() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let fetches = issuer.jwks_requests();
    // A well-formed, validly signed but enormous token.
    let huge = issuer.token().claim("padding", "x".repeat(20_000)).sign();
    expect_refused(&svc, &huge, "token_too_large").await;
    let cookie_req = cookie("GET", &huge).body(String::new()).unwrap();
    assert_eq!(send(&svc, cookie_req).await.code(), "token_too_large");
    assert_eq!(issuer.jwks_requests(), fetches, "no key fetch for it");
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn each_validation_failure_is_refused_with_its_code() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let now = authgate_testkit::now();
    let cases = [
        (issuer.token().expired().sign(), "token_expired"),
        (issuer.token().nbf(now + 600).sign(), "token_not_yet_valid"),
        (
            issuer
                .token()
                .iss("https://evil.example/application/o/authgate/")
                .sign(),
            "invalid_issuer",
        ),
        // No trailing slash: the issuer is matched exactly.
        (
            issuer
                .token()
                .iss(issuer.issuer().trim_end_matches('/'))
                .sign(),
            "invalid_issuer",
        ),
        (
            issuer.token().aud("someone-else").sign(),
            "invalid_audience",
        ),
        (
            issuer.token().audiences(["a", "b"]).sign(),
            "invalid_audience",
        ),
        (issuer.token().no_aud().sign(), "missing_claim"),
        (issuer.token().no_sub().sign(), "missing_claim"),
        (issuer.token().sub("").sign(), "invalid_claim"),
        (issuer.token().no_exp().sign(), "missing_claim"),
        (
            issuer.token().claim("exp", "tomorrow").sign(),
            "invalid_claim",
        ),
        (
            issuer.token().claim("nbf", json!({"a": 1})).sign(),
            "invalid_claim",
        ),
        (issuer.token().claim("iss", 42).sign(), "invalid_issuer"),
    ];
    for (token, code) in cases {
        expect_refused(&svc, &token, code).await;
    }
}

#[tokio::test]
async fn audience_arrays_leeway_and_fractional_dates_are_honoured() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let now = authgate_testkit::now();
    let aud_array = issuer
        .token()
        .audiences(["other", issuer.client_id()])
        .sign();
    assert_eq!(send(&svc, bearer(&aud_array)).await.status, StatusCode::OK);
    // 30 s past exp / 30 s before nbf: inside the default 60 s leeway.
    let skewed = issuer.token().exp(now - 30).nbf(now + 30).sign();
    assert_eq!(send(&svc, bearer(&skewed)).await.status, StatusCode::OK);
    let fractional = issuer.token().claim("exp", now as f64 + 100.5).sign();
    assert_eq!(send(&svc, bearer(&fractional)).await.status, StatusCode::OK);

    // Without leeway the same skew is refused.
    let strict = layer_with(&issuer, |c| c.leeway(Duration::ZERO)).await;
    let strict = Echo::new(ServiceBuilder::new().layer(strict).service(echo()));
    let answer = send(&strict, bearer(&issuer.token().exp(now - 30).sign())).await;
    assert_eq!(answer.code(), "token_expired");
}

#[tokio::test]
async fn the_default_user_is_mapped_from_claims() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| {
        c.role_map(authgate::RoleMap::parse("app-admins=admin,app-support=support").unwrap())
    })
    .await;
    let auth = layer.authenticator();
    let admin = auth
        .verify(
            &issuer
                .token()
                .sub("u1")
                .email("a@example.com")
                .name("Ada")
                .groups(["app-support", "app-admins"])
                .scope("openid goauthentik.io/api")
                .sign(),
        )
        .await
        .unwrap();
    assert_eq!(admin.role, "admin");
    assert_eq!(admin.organization_id, "u1");
    assert_eq!(admin.email.as_deref(), Some("a@example.com"));
    assert!(admin.has_scope("goauthentik.io/api"));
    let plain = auth
        .verify(&issuer.token().organization_id("org-7").sign())
        .await
        .unwrap();
    assert_eq!(plain.role, "user");
    assert_eq!(plain.organization_id, "org-7");
}

#[tokio::test]
async fn a_custom_mapper_can_refuse_and_a_custom_rejection_can_answer() {
    let issuer = TestIssuer::start().await.unwrap();
    let config = config(&issuer).build().unwrap();
    let auth = Authenticator::with_mapper(config, |claims: &Claims| {
        claims
            .str("tenant")
            .map(str::to_owned)
            .ok_or_else(|| MapError::new("no tenant"))
    });
    auth.refresh_keys().await.unwrap();
    let layer =
        AuthLayer::new(auth).on_rejection(|rejection: Rejection, err: Option<&AuthError>| {
            let mapping = matches!(err, Some(AuthError::Mapping(_)));
            let mut res = Response::new(format!("custom {} {mapping}", rejection.code()));
            *res.status_mut() = StatusCode::IM_A_TEAPOT;
            res
        });
    let svc =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(|req: Request<String>| async move {
                let tenant = req.extensions().get::<Arc<String>>().unwrap().to_string();
                Ok::<_, Infallible>(Response::new(tenant))
            }));
    let ok = svc
        .clone()
        .oneshot(bearer(&issuer.token().claim("tenant", "acme").sign()))
        .await
        .unwrap();
    assert_eq!(ok.into_body(), "acme");
    let refused = svc.oneshot(bearer(&issuer.token().sign())).await.unwrap();
    assert_eq!(refused.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(refused.into_body(), "custom claims_refused true");
}

#[tokio::test]
async fn optional_mode_lets_anonymous_through_but_not_bad_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| c).await;
    let layer =
        AuthLayer::new(AuthOptions::from_authenticator(layer.authenticator().clone()).optional());
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(echo()));
    let anonymous = send(&svc, Request::get("/").body(String::new()).unwrap()).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("al").sign()))
            .await
            .body,
        "al"
    );
    let bad = send(&svc, bearer(&issuer.token().expired().sign())).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- CSRF

#[tokio::test]
async fn cookie_authenticated_unsafe_requests_need_a_trusted_origin() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let token = issuer.token().sub("alice").sign();
    let post = |extra: &[(&str, &str)]| {
        let mut req = cookie("POST", &token);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.body(String::from("{}")).unwrap()
    };

    let refused = send(&svc, post(&[])).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "cross_site_request");
    let evil = send(&svc, post(&[("origin", "https://evil.example")])).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    // A sibling subdomain is same-site, but its Origin is not trusted: refused.
    for attack in [
        post(&[("sec-fetch-site", "cross-site")]),
        post(&[("sec-fetch-site", "same-site")]),
        post(&[("sec-fetch-site", "none")]),
        post(&[
            ("origin", "https://blog.example.com"),
            ("sec-fetch-site", "same-site"),
        ]),
        post(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
    ] {
        let refused = send(&svc, attack).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.code(), "cross_site_request");
    }

    for ok in [
        post(&[("origin", "https://app.example.com")]),
        post(&[
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "same-site"),
        ]),
        post(&[("sec-fetch-site", "same-origin")]),
    ] {
        assert_eq!(send(&svc, ok).await.body, "alice");
    }
    // Safe methods and Bearer requests are not subject to the check.
    assert_eq!(
        send(&svc, cookie("GET", &token).body(String::new()).unwrap())
            .await
            .body,
        "alice"
    );
    let bearer_post = Request::post("/")
        .header("authorization", format!("Bearer {token}"))
        .header("origin", "https://evil.example")
        .body(String::new())
        .unwrap();
    assert_eq!(send(&svc, bearer_post).await.body, "alice");

    // It can be switched off.
    let off = layer_with(&issuer, |c| c.csrf_protection(false)).await;
    let off = Echo::new(ServiceBuilder::new().layer(off).service(echo()));
    assert_eq!(send(&off, post(&[])).await.body, "alice");
}

// ---------------------------------------------------------------- keys

#[tokio::test]
async fn a_rotated_key_is_accepted_after_exactly_one_extra_fetch() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    assert_eq!(
        send(&svc, bearer(&issuer.token().sign())).await.status,
        StatusCode::OK
    );
    let (discovery, jwks) = (issuer.discovery_requests(), issuer.jwks_requests());

    issuer.add_rsa_key("rsa-2").unwrap();
    issuer.set_default_key("rsa-2").unwrap();
    let rotated = issuer.token().sub("rotated").sign();
    assert_eq!(send(&svc, bearer(&rotated)).await.body, "rotated");
    assert_eq!(issuer.jwks_requests(), jwks + 1);
    assert_eq!(
        issuer.discovery_requests(),
        discovery,
        "discovery is cached"
    );
    // And no further fetches for more tokens of the new key.
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("again").sign()))
            .await
            .body,
        "again"
    );
    assert_eq!(issuer.jwks_requests(), jwks + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_stays_within_the_rate_limit() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let before = issuer.jwks_requests();
    let key = issuer.signing_key("rsa-1").unwrap();
    let claims = issuer.token().claims();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let header =
            json!({"alg": "RS256", "typ": "JWT", "kid": format!("random-{i}-{}", i * 7919)});
        let token = key.sign_raw(&header, &claims).unwrap();
        let svc = svc.clone();
        tasks.push(tokio::spawn(
            async move { send(&svc, bearer(&token)).await },
        ));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.code(), "unknown_key");
    }
    let fetched = issuer.jwks_requests() - before;
    assert!(fetched <= 5, "{fetched} JWKS fetches for 200 random kids");
    assert!(fetched >= 1, "an unknown kid does trigger a refetch");
    // The real key still works.
    assert_eq!(
        send(&svc, bearer(&issuer.token().sign())).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cached_keys_keep_serving_through_an_outage() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| c.token_cache_capacity(0)).await;
    let auth = layer.authenticator().clone();
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(echo()));
    issuer.set_outage(true);
    assert!(auth.refresh_keys().await.is_err(), "the provider is down");
    assert!(auth.last_fetch_error().is_some());
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("a").sign()))
            .await
            .body,
        "a"
    );
    // An unknown kid during the outage is a plain 401, not a 5xx.
    let unknown = issuer.token().kid("nope").sign();
    assert_eq!(send(&svc, bearer(&unknown)).await.code(), "unknown_key");
    issuer.set_outage(false);
    auth.refresh_keys().await.unwrap();
    assert!(auth.last_fetch_error().is_none());
}

#[tokio::test]
async fn starting_while_the_provider_is_down_answers_503_then_recovers() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_outage(true);
    let layer = AuthLayer::new(
        config(&issuer)
            .startup_backoff(Duration::from_millis(50), Duration::from_millis(200))
            .build()
            .unwrap(),
    );
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(echo()));
    let token = issuer.token().sub("late").sign();
    let answer = send(&svc, bearer(&token)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.code(), "keys_unavailable");
    assert!(
        answer
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Requests without a token are still told to authenticate.
    let anonymous = send(&svc, Request::get("/").body(String::new()).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    issuer.set_outage(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = send(&svc, bearer(&token)).await;
        if answer.status == StatusCode::OK {
            assert_eq!(answer.body, "late");
            break;
        }
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(tokio::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_bad_jwk_in_the_set_is_skipped() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.add_raw_jwk(json!({"kty": "RSA", "kid": "broken", "n": "%%%", "e": "AQAB"}));
    issuer.add_raw_jwk(json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}));
    issuer.add_raw_jwk(json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}));
    issuer.add_raw_jwk(json!("garbage"));
    let svc = service(&issuer).await;
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("ok").sign()))
            .await
            .body,
        "ok"
    );
    let ec = issuer.token().key("ec-1").sub("ec").sign();
    assert_eq!(send(&svc, bearer(&ec)).await.body, "ec");
}

#[tokio::test]
async fn internal_url_is_used_for_fetches_while_iss_stays_public() {
    let issuer = TestIssuer::start().await.unwrap();
    let public = "https://auth.example.com";
    let config = AuthConfig::from_env_with(|name| match name {
        "AUTHENTIK_URL" => Some(public.to_owned()),
        "AUTHENTIK_INTERNAL_URL" => Some(issuer.base_url()),
        "AUTHENTIK_APP_SLUG" => Some(issuer.slug().to_owned()),
        "AUTHENTIK_CLIENT_ID" => Some(issuer.client_id().to_owned()),
        _ => None,
    })
    .unwrap();
    let layer = AuthLayer::new(config);
    layer.authenticator().refresh_keys().await.unwrap();
    assert_eq!(issuer.discovery_requests(), 1);
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(echo()));
    let public_iss = format!("{public}/application/o/{}/", issuer.slug());
    let token = issuer.token().iss(&public_iss).sub("pub").sign();
    assert_eq!(send(&svc, bearer(&token)).await.body, "pub");
    // A token naming the internal URL as issuer is not ours.
    expect_refused(&svc, &issuer.token().sign(), "invalid_issuer").await;
}

#[tokio::test]
async fn a_static_jwks_needs_no_provider() {
    let issuer = TestIssuer::start().await.unwrap();
    let jwks = json!({"keys": [issuer.public_jwk("rsa-1").unwrap()]}).to_string();
    let config = AuthConfig::oidc(issuer.issuer())
        .audience(issuer.client_id())
        .static_jwks(jwks)
        .build()
        .unwrap();
    let svc = Echo::new(
        ServiceBuilder::new()
            .layer(AuthLayer::new(config))
            .service(echo()),
    );
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("s").sign()))
            .await
            .body,
        "s"
    );
    assert_eq!(issuer.jwks_requests() + issuer.discovery_requests(), 0);
}

// ---------------------------------------------------------------- attacks

#[tokio::test]
async fn alg_none_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let claims = issuer.token().claims();
    for alg in ["none", "None", "NONE"] {
        let token = unsigned_token(&json!({"alg": alg, "typ": "JWT"}), &claims).unwrap();
        // "h.c." has an empty signature segment.
        let answer = send(&svc, bearer(&token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{alg}");
        let with_sig = format!("{token}AAAA");
        expect_refused(&svc, &with_sig, "algorithm_not_allowed").await;
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let public_der = issuer.signing_key("rsa-1").unwrap().public_key_der();
    let public_jwk = issuer.public_jwk("rsa-1").unwrap().to_string();
    for secret in [public_der, public_jwk.into_bytes()] {
        let header = jsonwebtoken::Header {
            kid: Some("rsa-1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        };
        let token = jsonwebtoken::encode(
            &header,
            &issuer.token().claims(),
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap();
        expect_refused(&svc, &token, "algorithm_not_allowed").await;
    }
}

#[tokio::test]
async fn embedded_jwk_jku_and_x5u_headers_are_never_followed() {
    let issuer = TestIssuer::start().await.unwrap();
    let attacker_site = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let attacker = SigningKey::generate_rsa("rsa-1").unwrap();
    let claims = issuer.token().claims();
    let headers = [
        json!({"alg": "RS256", "kid": "rsa-1", "jwk": attacker.public_jwk()}),
        json!({"alg": "RS256", "jwk": attacker.public_jwk()}),
        json!({"alg": "RS256", "kid": "rsa-1", "jku": attacker_site.jwks_url()}),
        json!({"alg": "RS256", "kid": "rsa-1", "x5u": attacker_site.jwks_url()}),
        json!({"alg": "RS256", "kid": "rsa-1", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
    ];
    for header in headers {
        let token = attacker.sign_raw(&header, &claims).unwrap();
        expect_refused(&svc, &token, "invalid_signature").await;
    }
    assert_eq!(attacker_site.jwks_requests(), 0);
}

#[tokio::test]
async fn kid_path_traversal_is_just_an_unknown_key() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let key = issuer.signing_key("rsa-1").unwrap();
    for kid in [
        "../../../../etc/passwd",
        "rsa-1/../rsa-1",
        "rsa-1\u{0}",
        "' OR 1=1 --",
    ] {
        let token = key
            .sign_raw(
                &json!({"alg": "RS256", "kid": kid}),
                &issuer.token().claims(),
            )
            .unwrap();
        expect_refused(&svc, &token, "unknown_key").await;
    }
}

#[tokio::test]
async fn an_all_zero_es256_signature_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let token = issuer.token().key("ec-1").sign();
    let (message, _) = token.rsplit_once('.').unwrap();
    let zero = format!("{message}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    expect_refused(&svc, &zero, "invalid_signature").await;
    // And a valid ES256 token passes.
    assert_eq!(send(&svc, bearer(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let token = issuer.token().sub("user").groups(["staff"]).sign();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("admin");
    claims["groups"] = json!(["app-admins"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    expect_refused(&svc, &forged, "invalid_signature").await;
}

#[tokio::test]
async fn crit_jwe_and_malformed_tokens_are_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    let key = issuer.signing_key("rsa-1").unwrap();
    let claims = issuer.token().claims();
    let crit = key
        .sign_raw(
            &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}),
            &claims,
        )
        .unwrap();
    expect_refused(&svc, &crit, "unsupported_crit").await;
    expect_refused(&svc, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "encrypted_token").await;
    for garbage in ["abc", "a.b", "a.b.c", "..", "a..c", "e30.e30.e30.e30"] {
        expect_refused(&svc, garbage, "malformed_token").await;
    }
    let not_ascii = Request::get("/")
        .header(
            "authorization",
            http::HeaderValue::from_bytes(b"Bearer \xff\xfe.a.b").unwrap(),
        )
        .body(String::new())
        .unwrap();
    assert_eq!(send(&svc, not_ascii).await.code(), "malformed_token");
}

#[tokio::test]
async fn a_token_without_kid_needs_exactly_one_fitting_key() {
    let issuer = TestIssuer::start().await.unwrap();
    let svc = service(&issuer).await;
    // One RSA key served: a kid-less RS256 token can only be checked against it.
    let lone = issuer.token().no_kid().sub("lone").sign();
    assert_eq!(send(&svc, bearer(&lone)).await.body, "lone");

    issuer.add_rsa_key("rsa-2").unwrap();
    let svc = service(&issuer).await;
    expect_refused(&svc, &issuer.token().no_kid().sign(), "ambiguous_key").await;
}

// ---------------------------------------------------------------- the token cache

fn counting(counter: &Arc<AtomicUsize>) -> impl Fn(&Claims) -> Result<String, MapError> + use<> {
    let counter = counter.clone();
    move |claims: &Claims| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(claims.sub().to_owned())
    }
}

#[tokio::test]
async fn the_token_cache_hits_expires_and_forgets_removed_keys() {
    let issuer = TestIssuer::start().await.unwrap();
    let maps = Arc::new(AtomicUsize::new(0));
    let auth = Authenticator::with_mapper(
        config(&issuer).leeway(Duration::ZERO).build().unwrap(),
        counting(&maps),
    );
    auth.refresh_keys().await.unwrap();

    // A token is cached the second time it is verified; the third does not map (nor
    // verify) again.
    let token = issuer.token().sub("cached").sign();
    for _ in 0..3 {
        assert_eq!(auth.verify(&token).await.unwrap(), "cached");
    }
    assert_eq!(maps.load(Ordering::SeqCst), 2);

    // A flood of tokens seen once does not displace it.
    for i in 0..50 {
        auth.verify(&issuer.token().sub(&format!("once-{i}")).sign())
            .await
            .unwrap();
    }
    let before = maps.load(Ordering::SeqCst);
    assert_eq!(auth.verify(&token).await.unwrap(), "cached");
    assert_eq!(maps.load(Ordering::SeqCst), before, "still cached");

    // Expiry: a cached token is refused once its exp has passed.
    let short = issuer
        .token()
        .sub("short")
        .exp(authgate_testkit::now() + 1)
        .sign();
    assert_eq!(auth.verify(&short).await.unwrap(), "short");
    assert_eq!(auth.verify(&short).await.unwrap(), "short");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(auth.verify(&short).await, Err(AuthError::Expired)));

    // Key removal: once the signing key leaves the set, its cached tokens go too.
    issuer.add_rsa_key("rsa-2").unwrap();
    issuer.set_default_key("rsa-2").unwrap();
    let doomed = issuer.token().sub("doomed").sign();
    assert_eq!(auth.verify(&doomed).await.unwrap(), "doomed");
    assert_eq!(auth.verify(&doomed).await.unwrap(), "doomed");
    let before = maps.load(Ordering::SeqCst);
    assert_eq!(auth.verify(&doomed).await.unwrap(), "doomed");
    assert_eq!(maps.load(Ordering::SeqCst), before, "served from the cache");
    issuer.remove_key("rsa-2");
    auth.refresh_keys().await.unwrap();
    assert!(matches!(
        auth.verify(&doomed).await,
        Err(AuthError::UnknownKey)
    ));
    // The other key's cached token is unaffected.
    assert_eq!(auth.verify(&token).await.unwrap(), "cached");
}

#[tokio::test]
async fn the_token_cache_can_be_switched_off() {
    let issuer = TestIssuer::start().await.unwrap();
    let maps = Arc::new(AtomicUsize::new(0));
    let auth = Authenticator::with_mapper(
        config(&issuer).token_cache_capacity(0).build().unwrap(),
        counting(&maps),
    );
    auth.refresh_keys().await.unwrap();
    let token = issuer.token().sign();
    for _ in 0..3 {
        auth.verify(&token).await.unwrap();
    }
    assert_eq!(maps.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_background_refresh_honours_max_age_within_bounds() {
    let issuer = TestIssuer::builder()
        .jwks_max_age(Some(1))
        .start()
        .await
        .unwrap();
    let layer = layer_with(&issuer, |c| {
        c.jwks_refresh(
            Duration::from_secs(300),
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )
    })
    .await;
    let before = issuer.jwks_requests();
    // Without any request, the key set is refetched about every second.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let refreshed = issuer.jwks_requests() - before;
    assert!(
        (2..=5).contains(&refreshed),
        "{refreshed} background fetches"
    );
    drop(layer);
}

#[tokio::test]
async fn an_oversized_key_set_is_refused_and_the_last_good_one_kept() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| c.max_response_bytes(8 * 1024)).await;
    let auth = layer.authenticator().clone();
    issuer.add_raw_jwk(json!({"kty": "oct", "k": "A".repeat(16 * 1024)}));
    let err = auth.refresh_keys().await.unwrap_err();
    assert!(
        matches!(*err, authgate::FetchError::TooLarge { limit: 8192, .. }),
        "{err:?}"
    );
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(echo()));
    assert_eq!(
        send(&svc, bearer(&issuer.token().sub("kept").sign()))
            .await
            .body,
        "kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_on_demand_is_single_flight_and_rate_limited() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_outage(true);
    let auth = Authenticator::new(
        config(&issuer)
            .startup_backoff(Duration::from_secs(3600), Duration::from_secs(3600))
            .build()
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move { auth.discover().await }));
    }
    for task in tasks {
        assert!(task.await.unwrap().is_err(), "the provider is down");
    }
    // One background attempt at start-up, then at most the 5-per-minute limit.
    let asked = issuer.discovery_requests();
    assert!(
        (1..=6).contains(&asked),
        "{asked} discovery requests for 50 callers"
    );

    // With the provider up, the document is fetched once and then kept.
    let fresh = TestIssuer::start().await.unwrap();
    let auth = Authenticator::new(config(&fresh).build().unwrap());
    let meta = auth.discover().await.unwrap();
    assert_eq!(meta.issuer, fresh.issuer());
    let asked = fresh.discovery_requests();
    for _ in 0..10 {
        auth.discover().await.unwrap();
    }
    assert_eq!(fresh.discovery_requests(), asked, "served from memory");
}

#[tokio::test]
async fn shared_keys_verify_another_audience_without_another_fetch() {
    let issuer = TestIssuer::start().await.unwrap();
    let auth = Authenticator::new(config(&issuer).build().unwrap());
    auth.refresh_keys().await.unwrap();
    let fetches = issuer.jwks_requests();
    let ids: Authenticator<Claims> =
        auth.with_shared_keys("web-client", |claims: &Claims| Ok(claims.clone()));
    let id_token = issuer.token().aud("web-client").claim("nonce", "n").sign();
    let claims = ids.verify(&id_token).await.unwrap();
    assert_eq!(claims.str("nonce"), Some("n"));
    // The API authenticator does not take it: another audience.
    assert!(matches!(
        auth.verify(&id_token).await,
        Err(AuthError::InvalidAudience)
    ));
    assert!(matches!(
        ids.verify(&issuer.token().sign()).await,
        Err(AuthError::InvalidAudience)
    ));
    assert_eq!(issuer.jwks_requests(), fetches, "one key store");
}

#[tokio::test]
async fn a_repeated_token_shares_the_cached_user_and_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let auth = Authenticator::new(config(&issuer).build().unwrap());
    auth.refresh_keys().await.unwrap();
    let token = issuer.token().sub("alice").sign();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    // Verified twice (a token is cached the second time), then served from the cache.
    auth.authenticate("GET", &headers).await.unwrap().unwrap();
    let first = auth.authenticate("GET", &headers).await.unwrap().unwrap();
    let second = auth.authenticate("GET", &headers).await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first.user, &second.user),
        "no copy of the user"
    );
    assert_eq!(second.token.as_str(), token);
    assert_eq!(second.user.sub, "alice");

    // Without a cache, each request maps its own user.
    let uncached = Authenticator::new(config(&issuer).token_cache_capacity(0).build().unwrap());
    uncached.refresh_keys().await.unwrap();
    let first = uncached
        .authenticate("GET", &headers)
        .await
        .unwrap()
        .unwrap();
    let second = uncached
        .authenticate("GET", &headers)
        .await
        .unwrap()
        .unwrap();
    assert!(!Arc::ptr_eq(&first.user, &second.user));
    assert_eq!(first.user, second.user);
}

// ---------------------------------------------------------------- rejection hook

#[tokio::test]
async fn a_grpc_hook_answers_on_the_fast_and_the_refetch_path_and_travels_in_the_marker() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| c)
        .await
        .on_rejection(authgate::GrpcRejection);
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(service_fn(
        |req: Request<String>| async move {
            let marker = req.extensions().get::<AuthMarker>().unwrap();
            let hooked = marker.refusals().hook().is_some();
            Ok::<_, Infallible>(Response::new(format!("hook in marker: {hooked}")))
        },
    )));
    let grpc = |reply: &Reply| {
        [
            reply.header("grpc-status").unwrap().to_owned(),
            reply.header("grpc-message").unwrap().to_owned(),
            reply.header("authgate-error").unwrap().to_owned(),
        ]
    };

    let passed = send(&svc, bearer(&issuer.token().sign())).await;
    assert_eq!(passed.body, "hook in marker: true");

    // Refused without waiting: no token.
    let anonymous = send(&svc, Request::get("/").body(String::new()).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.header("content-type"), Some("application/grpc"));
    assert_eq!(
        grpc(&anonymous),
        [
            "16",
            "no bearer token or auth cookie in the request",
            "missing_token"
        ]
    );
    assert_eq!(anonymous.body, "");
    // Refused after the key refetch: a key the issuer never published.
    let unknown = send(&svc, bearer(&issuer.token().kid("never-published").sign())).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(
        grpc(&unknown),
        [
            "16",
            "no key in the key set matches the token",
            "unknown_key"
        ]
    );
}

#[tokio::test]
async fn without_a_hook_the_marker_has_none_and_the_answer_is_the_cores() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = layer_with(&issuer, |c| c).await;
    let svc = Echo::new(ServiceBuilder::new().layer(layer).service(service_fn(
        |req: Request<String>| async move {
            let marker = req.extensions().get::<AuthMarker>().unwrap();
            Ok::<_, Infallible>(Response::new(format!(
                "{} {}",
                marker.refusals().hook().is_none(),
                marker.realm()
            )))
        },
    )));
    let passed = send(&svc, bearer(&issuer.token().sign())).await;
    assert_eq!(passed.body, format!("true {}", issuer.issuer()));
    let refused = send(&svc, Request::get("/").body(String::new()).unwrap()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code(), "missing_token");
}
