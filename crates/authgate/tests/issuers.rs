//! Several issuers behind one tower layer, end to end against two (and a third,
//! unconfigured) in-process test issuers: each issuer's own keys, audience and role
//! mapping; a token naming one issuer signed by the other; unknown issuers refused
//! without a fetch; outages, rotation and revocations at one issuer only; the cache.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authgate::{
    AuthConfig, AuthConfigBuilder, AuthLayer, Authenticator, Claims, MapError, Revocation, RoleMap,
    User,
};
use authgate_test_support::Reply;
use authgate_testkit::{Endpoint, TestIssuer};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use serde_json::json;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

type Echo = tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

/// Answers `sub:role1,role2` for the default user, or the user itself for a `String`
/// user, or `anonymous`.
fn echo()
-> impl Service<Request<String>, Response = Response<String>, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    service_fn(|req: Request<String>| async move {
        let ext = req.extensions();
        let body = if let Some(user) = ext.get::<Arc<User>>() {
            format!("{}:{}", user.sub, user.roles.join(","))
        } else if let Some(user) = ext.get::<Arc<String>>() {
            String::clone(user)
        } else {
            String::from("anonymous")
        };
        Ok::<_, Infallible>(Response::new(body))
    })
}

fn service<U: Clone + Send + Sync + 'static>(auth: &Authenticator<U>) -> Echo {
    Echo::new(
        ServiceBuilder::new()
            .layer(AuthLayer::new(auth.clone()))
            .service(echo()),
    )
}

async fn send(svc: &Echo, req: Request<String>) -> Reply {
    let url = req.uri().to_string();
    let (parts, body) = svc.clone().oneshot(req).await.unwrap().into_parts();
    Reply::new(url, parts.status, parts.headers, body.as_bytes())
}

fn bearer(token: &str) -> Request<String> {
    Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap()
}

async fn refused(svc: &Echo, token: &str) -> String {
    let answer = send(svc, bearer(token)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let header = answer.header("www-authenticate").expect("WWW-Authenticate");
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    answer.code()
}

/// An Authentik-shaped issuer, application `shop`, client `shop-client`.
async fn authentik() -> TestIssuer {
    TestIssuer::builder()
        .slug("shop")
        .client_id("shop-client")
        .start()
        .await
        .unwrap()
}

/// A Keycloak-shaped issuer, realm `shop`, audience `shop-api`, with the same key ids
/// as [`authentik`]'s (`rsa-1`, `ec-1`) but other keys.
async fn keycloak() -> TestIssuer {
    keycloak_with(TestIssuer::builder()).await
}

async fn keycloak_with(builder: authgate_testkit::TestIssuerBuilder) -> TestIssuer {
    builder
        .client_id("shop-api")
        .issuer_path("/realms/shop")
        .endpoint_path(Endpoint::Jwks, "/realms/shop/protocol/openid-connect/certs")
        .start()
        .await
        .unwrap()
}

/// Group `app-admins` is `admin`, through the table.
fn authentik_config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .role_map(RoleMap::parse("app-admins=admin").unwrap())
        .trusted_origin("https://app.example.com")
}

/// Realm roles are the roles.
fn keycloak_config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::oidc(issuer.issuer())
        .audience("shop-api")
        .roles_claim("realm_access.roles")
        .trusted_origin("https://app.example.com")
}

async fn both(a: AuthConfigBuilder, b: AuthConfigBuilder) -> Authenticator {
    let auth = Authenticator::from_issuers([
        Authenticator::new(a.build().unwrap()),
        Authenticator::new(b.build().unwrap()),
    ])
    .unwrap();
    auth.refresh_keys().await.unwrap();
    auth
}

/// Every fetch count of an issuer.
fn fetches(issuer: &TestIssuer) -> (usize, usize) {
    (issuer.discovery_requests(), issuer.jwks_requests())
}

fn realm_roles(roles: &[&str]) -> serde_json::Value {
    json!({ "roles": roles })
}

#[tokio::test]
async fn each_issuer_checks_its_tokens_with_its_own_audience_and_roles() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    assert!(auth.keys_ready());
    let svc = service(&auth);
    let before = (fetches(&ak), fetches(&kc));

    let cases = [
        (
            ak.token().sub("ada").groups(["app-admins"]).sign(),
            "ada:admin",
        ),
        // Realm roles mean nothing to the Authentik issuer's table.
        (
            ak.token()
                .sub("uma")
                .claim("realm_access", realm_roles(&["admin"]))
                .sign(),
            "uma:user",
        ),
        (
            kc.token()
                .sub("sam")
                .claim("realm_access", realm_roles(&["support", "admin"]))
                .sign(),
            "sam:support,admin",
        ),
        // Groups mean nothing to the Keycloak issuer.
        (
            kc.token().sub("gus").groups(["app-admins"]).sign(),
            "gus:user",
        ),
    ];
    // Three rounds: verified, verified and cached, then from the cache.
    for _ in 0..3 {
        for (token, expected) in &cases {
            assert_eq!(send(&svc, bearer(token)).await.body, *expected);
        }
    }

    // Each issuer's audience: a token of one issuer for the other's audience fails.
    let ak_for_kc = ak.token().aud("shop-api").sign();
    assert_eq!(refused(&svc, &ak_for_kc).await, "invalid_audience");
    let kc_for_ak = kc.token().aud("shop-client").sign();
    assert_eq!(refused(&svc, &kc_for_ak).await, "invalid_audience");
    // And its own token type: the Authentik issuer wants `uid` (an access token).
    let id_token = ak.token().remove_claim("uid").sign();
    assert_eq!(refused(&svc, &id_token).await, "wrong_token_type");

    assert_eq!((fetches(&ak), fetches(&kc)), before, "nothing fetched");
}

#[tokio::test]
async fn a_token_naming_one_issuer_signed_with_the_others_key_is_refused() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    let svc = service(&auth);
    let before = (fetches(&ak), fetches(&kc));

    // The same key id (`rsa-1`) at both: the Authentik issuer's key does not verify it.
    for (signer, named) in [(&kc, &ak), (&ak, &kc)] {
        let forged = signer
            .token()
            .iss(&named.issuer())
            .aud(named.client_id())
            .sign();
        for _ in 0..3 {
            assert_eq!(refused(&svc, &forged).await, "invalid_signature");
        }
    }
    assert_eq!((fetches(&ak), fetches(&kc)), before, "nothing fetched");
}

#[tokio::test]
async fn a_key_id_only_the_other_issuer_has_costs_a_rate_limited_refetch_at_the_named_one() {
    let ak = authentik().await;
    let kc = keycloak_with(TestIssuer::builder().no_default_keys().rsa_key("kc-rsa")).await;
    let auth = both(
        authentik_config(&ak).unknown_kid_rate_limit(2, Duration::from_secs(60)),
        keycloak_config(&kc),
    )
    .await;
    let svc = service(&auth);
    let (ak_before, kc_before) = (fetches(&ak), fetches(&kc));

    for i in 0..20 {
        let forged = kc
            .token()
            .sub(&format!("forged-{i}"))
            .iss(&ak.issuer())
            .aud(ak.client_id())
            .sign();
        assert_eq!(refused(&svc, &forged).await, "unknown_key");
    }
    let refetched = ak.jwks_requests() - ak_before.1;
    assert!(
        (1..=2).contains(&refetched),
        "{refetched} JWKS fetches at the named issuer for 20 forged tokens"
    );
    assert_eq!(
        fetches(&kc),
        kc_before,
        "the signer's issuer is never asked"
    );
    // Both issuers still serve their own tokens.
    assert_eq!(
        send(&svc, bearer(&ak.token().sub("a").sign())).await.body,
        "a:user"
    );
    assert_eq!(
        send(&svc, bearer(&kc.token().sub("k").sign())).await.body,
        "k:user"
    );
}

fn with_payload(payload: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"rsa-1"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[tokio::test]
async fn an_unknown_or_missing_issuer_is_refused_and_fetches_nothing() {
    let (ak, kc) = (authentik().await, keycloak().await);
    // A real issuer nobody configured, whose key ids nobody knows.
    let stranger = TestIssuer::builder()
        .no_default_keys()
        .rsa_key("stranger")
        .start()
        .await
        .unwrap();
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    let svc = service(&auth);
    let before = (fetches(&ak), fetches(&kc));

    for i in 0..20 {
        let token = stranger.token().sub(&format!("s-{i}")).sign();
        assert_eq!(refused(&svc, &token).await, "invalid_issuer");
    }
    // Its `iss` with another issuer's audience, key and all: still its `iss`.
    let posing = stranger.token().aud("shop-api").sign();
    assert_eq!(refused(&svc, &posing).await, "invalid_issuer");
    // An issuer that differs by a trailing slash only is another issuer.
    let slash = ak.token().iss(ak.issuer().trim_end_matches('/')).sign();
    assert_eq!(refused(&svc, &slash).await, "invalid_issuer");
    let no_iss = ak.token().remove_claim("iss").sign();
    assert_eq!(refused(&svc, &no_iss).await, "missing_claim");
    let number = ak.token().claim("iss", 7).sign();
    assert_eq!(refused(&svc, &number).await, "invalid_issuer");
    for payload in ["not json", r#"["iss"]"#, r#"{"iss":"#] {
        assert_eq!(
            refused(&svc, &with_payload(payload)).await,
            "malformed_token",
            "{payload}"
        );
    }

    assert_eq!((fetches(&ak), fetches(&kc)), before, "nothing fetched");
    assert_eq!(fetches(&stranger), (0, 0), "the stranger is never asked");
}

#[tokio::test]
async fn rotation_and_an_outage_at_one_issuer_leave_the_other_alone() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    let svc = service(&auth);
    let ak_token = ak.token().sub("ada").sign();
    let kc_old = kc.token().sub("kim").sign();
    let ak_before = fetches(&ak);

    kc.add_rsa_key("rsa-2").unwrap();
    kc.set_default_key("rsa-2").unwrap();
    let kc_new = kc.token().sub("new").sign();
    kc.set_outage(true);
    // The refetch at the Keycloak issuer fails: its new key is unknown, its old one
    // still serves, and the Authentik issuer does not notice.
    assert_eq!(refused(&svc, &kc_new).await, "unknown_key");
    assert_eq!(send(&svc, bearer(&kc_old)).await.body, "kim:user");
    assert_eq!(send(&svc, bearer(&ak_token)).await.body, "ada:user");

    kc.set_outage(false);
    assert_eq!(send(&svc, bearer(&kc_new)).await.body, "new:user");
    assert_eq!(send(&svc, bearer(&ak_token)).await.body, "ada:user");
    assert_eq!(
        fetches(&ak),
        ak_before,
        "the Authentik issuer was never asked"
    );
}

#[tokio::test]
async fn an_issuer_down_at_start_refuses_its_own_tokens_only() {
    let (ak, kc) = (authentik().await, keycloak().await);
    kc.set_outage(true);
    let auth = Authenticator::from_issuers([
        Authenticator::new(authentik_config(&ak).build().unwrap()),
        Authenticator::new(
            keycloak_config(&kc)
                .startup_backoff(Duration::from_secs(60), Duration::from_secs(60))
                .build()
                .unwrap(),
        ),
    ])
    .unwrap();
    assert!(
        auth.refresh_keys().await.is_err(),
        "the Keycloak issuer is down"
    );
    assert!(auth.last_fetch_error().is_some());
    // Ready means every issuer's keys: ask each issuer for more.
    assert!(!auth.keys_ready());
    let ready: Vec<bool> = auth
        .issuers()
        .iter()
        .map(Authenticator::keys_ready)
        .collect();
    assert_eq!(ready, [true, false]);
    assert!(auth.issuers()[0].last_fetch_error().is_none());

    let svc = service(&auth);
    assert_eq!(
        send(&svc, bearer(&ak.token().sub("ada").sign())).await.body,
        "ada:user"
    );
    let answer = send(&svc, bearer(&kc.token().sub("kim").sign())).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.code(), "keys_unavailable");
    assert!(answer.header("retry-after").is_some());
    let stranger = TestIssuer::start().await.unwrap();
    assert_eq!(
        refused(&svc, &stranger.token().sign()).await,
        "invalid_issuer"
    );

    kc.set_outage(false);
    auth.issuers()[1].refresh_keys().await.unwrap();
    assert!(auth.keys_ready());
    assert!(auth.last_fetch_error().is_none());
    assert_eq!(
        send(&svc, bearer(&kc.token().sub("kim").sign())).await.body,
        "kim:user"
    );
}

/// A mapper that names its issuer in the user and counts its calls.
fn labelled(
    label: &'static str,
    calls: &Arc<AtomicUsize>,
) -> impl Fn(&Claims) -> Result<String, MapError> + use<> {
    let calls = calls.clone();
    move |claims: &Claims| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(format!("{label}:{}", claims.sub()))
    }
}

#[tokio::test]
async fn each_issuer_maps_with_its_own_mapper_and_the_cache_keeps_them_apart() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let (ak_calls, kc_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let auth: Authenticator<String> = Authenticator::from_issuers([
        Authenticator::with_mapper(
            authentik_config(&ak).build().unwrap(),
            labelled("authentik", &ak_calls),
        ),
        Authenticator::with_mapper(
            keycloak_config(&kc).build().unwrap(),
            labelled("keycloak", &kc_calls),
        ),
    ])
    .unwrap();
    auth.refresh_keys().await.unwrap();
    let svc = service(&auth);

    // The same subject at both issuers is two users.
    let at_ak = ak.token().sub("alice").sign();
    let at_kc = kc.token().sub("alice").sign();
    for _ in 0..5 {
        assert_eq!(send(&svc, bearer(&at_ak)).await.body, "authentik:alice");
        assert_eq!(send(&svc, bearer(&at_kc)).await.body, "keycloak:alice");
    }
    // Each token was mapped twice (stored the second time), then served from its
    // issuer's cache.
    assert_eq!(ak_calls.load(Ordering::SeqCst), 2);
    assert_eq!(kc_calls.load(Ordering::SeqCst), 2);
    assert_eq!(auth.verify(&at_kc).await.unwrap(), "keycloak:alice");
    assert_eq!(kc_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn revocations_reach_the_issuer_they_are_given_to() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    let svc = service(&auth);
    let later = authgate_testkit::now() + 1;
    let keep = Duration::from_secs(3600);

    let (ak_alice, kc_alice) = (
        ak.token().sub("alice").sign(),
        kc.token().sub("alice").sign(),
    );
    let (ak_bob, kc_bob) = (ak.token().sub("bob").sign(), kc.token().sub("bob").sign());
    let ak_carol = ak.token().sub("carol").sign();
    // All cached.
    for token in [&ak_alice, &kc_alice, &ak_bob, &kc_bob, &ak_carol] {
        for _ in 0..2 {
            assert_eq!(send(&svc, bearer(token)).await.status, StatusCode::OK);
        }
    }

    // At one issuer: its subject only.
    auth.issuers()[1].revoke(&Revocation::subject("alice", later, keep));
    assert_eq!(refused(&svc, &kc_alice).await, "token_revoked");
    assert_eq!(send(&svc, bearer(&ak_alice)).await.body, "alice:user");

    // Through the multi-issuer authenticator: every issuer's denylist.
    auth.revoke(&Revocation::subject("bob", later, keep));
    assert_eq!(refused(&svc, &ak_bob).await, "token_revoked");
    assert_eq!(refused(&svc, &kc_bob).await, "token_revoked");
    auth.revoke(&Revocation::token(&ak_carol, authgate_testkit::now() + 300));
    assert_eq!(refused(&svc, &ak_carol).await, "token_revoked");
    assert_eq!(auth.revocation_count(), 5, "1 + 2 + 2 entries");
    assert_eq!(auth.issuers()[0].revocation_count(), 2);
}

#[tokio::test]
async fn cookies_and_the_csrf_check_apply_to_every_issuer() {
    let (ak, kc) = (authentik().await, keycloak().await);
    let auth = both(authentik_config(&ak), keycloak_config(&kc)).await;
    let svc = service(&auth);
    let post = |token: &str, origin: Option<&str>| {
        let mut request = Request::post("/").header("cookie", format!("app_auth={token}"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.body(String::new()).unwrap()
    };
    for token in [ak.token().sub("a").sign(), kc.token().sub("k").sign()] {
        let answer = send(&svc, post(&token, None)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.code(), "cross_site_request");
        let answer = send(&svc, post(&token, Some("https://app.example.com"))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // The realm of challenges is the first issuer's.
    let answer = send(&svc, Request::get("/").body(String::new()).unwrap()).await;
    let challenge = answer.header("www-authenticate").unwrap();
    assert_eq!(challenge, format!("Bearer realm=\"{}\"", ak.issuer()));
}
