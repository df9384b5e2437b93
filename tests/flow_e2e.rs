//! The browser login flow end to end against a real, certified OpenID provider
//! (Node's `oidc-provider`, Authentik-shaped), through `axum-service` and
//! `actix-service`, configured with exactly the `AUTHENTIK_*` variables a real
//! Authentik deployment uses. Every endpoint comes from discovery.

use std::net::TcpListener;

use reqwest::Method;

use authgate_e2e::provider::{CLIENT_BASIC, CLIENT_POST, CLIENT_SECRET, OidcProvider, SLUG};
use authgate_e2e::{ActixService, AxumService};
use authgate_test_support::{Browser, ROLE_MAP, Reply, attributes};
use example_contract::ServiceConfig;
use serde_json::{Value, json};

const FRONTEND: &str = "http://frontend.test";

enum Framework {
    Axum,
    Actix,
}

struct Setup {
    _provider: OidcProvider,
    issuer: String,
    api: String,
    _service: Box<dyn std::any::Any>,
}

/// Starts the provider and a service configured like a real deployment.
async fn setup(
    framework: Framework,
    client_id: &str,
    extra: &[(&str, String)],
    internal_url: bool,
) -> Setup {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let provider =
        OidcProvider::start(&[format!("{api}/auth/callback")], &[format!("{FRONTEND}/")]).await;
    let mut env: Vec<(&str, String)> = vec![
        ("AUTHENTIK_URL", provider.base_url()),
        ("AUTHENTIK_APP_SLUG", SLUG.to_owned()),
        ("AUTHENTIK_CLIENT_ID", client_id.to_owned()),
        ("AUTHENTIK_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AUTH_ROLE_MAP", ROLE_MAP.to_owned()),
        ("FRONTEND_URL", FRONTEND.to_owned()),
        ("API_URL", api.clone()),
        ("AUTHENTIK_API_SCOPE", "true".to_owned()),
        ("AUTH_POST_LOGOUT_REDIRECT_URL", format!("{FRONTEND}/")),
        // oidc-provider's JWT access tokens follow RFC 9068 (`typ: at+jwt`).
        ("AUTH_TOKEN_TYPE", "at+jwt".to_owned()),
    ];
    if internal_url {
        // Server-to-server calls go to another host name of the same provider, while
        // `iss` is still checked against the public one.
        env.push(("AUTHENTIK_INTERNAL_URL", provider.internal_url()));
    }
    env.extend(extra.iter().cloned());
    let config = ServiceConfig::from_env_with(|name| {
        env.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("the deployment's variables are valid");
    let service: Box<dyn std::any::Any> = match framework {
        Framework::Axum => Box::new(AxumService::start_on(listener, config).await),
        Framework::Actix => Box::new(ActixService::start_on(listener, config).await),
    };
    Setup {
        issuer: provider.issuer().to_owned(),
        _provider: provider,
        api,
        _service: service,
    }
}

/// `/auth/login` → provider login and consent → the service's callback URL
/// (not yet visited).
async fn to_callback(browser: &mut Browser, setup: &Setup, login: &str) -> String {
    let start = browser
        .get(&format!("{}/auth/login?redirect=/dashboard", setup.api))
        .await;
    assert_eq!(start.status, 302, "{}", start.body);
    let authorize = start.location();
    // The authorization endpoint comes from discovery: oidc-provider's `/auth`, not
    // Authentik's `/application/o/authorize/`.
    assert!(
        authorize.starts_with(&format!("{}auth?", setup.issuer)),
        "{authorize}"
    );
    for param in [
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
    ] {
        assert!(authorize.contains(param), "{param} in {authorize}");
    }
    assert!(authorize.contains("goauthentik.io%2Fapi") || authorize.contains("goauthentik.io/api"));
    sign_in_at_provider(
        browser,
        &authorize,
        login,
        &format!("{}/auth/callback", setup.api),
    )
    .await
}

/// Drives the provider from its authorization URL until it redirects to `stop_at`
/// (the service's callback), logging in as `login` and consenting.
async fn sign_in_at_provider(
    browser: &mut Browser,
    authorize_url: &str,
    login: &str,
    stop_at: &str,
) -> String {
    let mut url = authorize_url.to_owned();
    for _ in 0..20 {
        let page = browser.get(&url).await;
        let next = match page.status.as_u16() {
            302 | 303 => page.location(),
            200 => {
                let action = form_action(&page.body)
                    .unwrap_or_else(|| panic!("a login or consent form: {}", page.body));
                let action = reqwest::Url::parse(&url)
                    .unwrap()
                    .join(&action)
                    .unwrap()
                    .to_string();
                let answer = if page.body.contains(r#"name="login""#) {
                    browser
                        .post_form(
                            &action,
                            &[("prompt", "login"), ("login", login), ("password", "any")],
                        )
                        .await
                } else {
                    browser.post_form(&action, &[("prompt", "consent")]).await
                };
                assert!(
                    matches!(answer.status.as_u16(), 302 | 303),
                    "the form was accepted: {} {}",
                    answer.status,
                    answer.body
                );
                answer.location()
            }
            status => panic!("unexpected {status} from the provider: {}", page.body),
        };
        if next.starts_with(stop_at) {
            return next;
        }
        url = next;
    }
    panic!("the provider never redirected to {stop_at}");
}

/// The `action` of the first form in `html`.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// Visits the callback and returns the one-time exchange code from the redirect to
/// the frontend.
async fn exchange_code(browser: &mut Browser, setup: &Setup, callback: &str) -> String {
    let page = browser.get(callback).await;
    assert_eq!(page.status, 302, "callback: {}", page.body);
    let location = page.location();
    let prefix = format!("{FRONTEND}/auth/callback?exchange=");
    assert!(location.starts_with(&prefix), "{location}");
    assert!(!location.contains("eyJ"), "no token in the URL");
    let _ = setup;
    location[prefix.len()..].to_owned()
}

/// Signs in as `login` all the way: login, provider, callback, exchange.
async fn sign_in(browser: &mut Browser, setup: &Setup, login: &str) {
    let callback = to_callback(browser, setup, login).await;
    let code = exchange_code(browser, setup, &callback).await;
    let exchanged = browser
        .post_json(
            &format!("{}/auth/exchange", setup.api),
            &json!({ "code": code }),
        )
        .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
}

/// `name` is set `HttpOnly`, `SameSite=Lax`, for `path`, with a `Max-Age`, and (plain
/// http, no `APP_ENV=production`) not `Secure`.
fn assert_cookie(page: &Reply, name: &str, path: &str) {
    let cookie = page
        .set_cookie(name)
        .unwrap_or_else(|| panic!("{name} is set: {:?}", page.set_cookies()));
    let attrs = attributes(&cookie);
    assert!(attrs.contains_key("HttpOnly"), "{cookie}");
    assert_eq!(
        attrs.get("SameSite").map(String::as_str),
        Some("Lax"),
        "{cookie}"
    );
    assert_eq!(
        attrs.get("Path").map(String::as_str),
        Some(path),
        "{cookie}"
    );
    assert!(attrs.contains_key("Max-Age"), "{cookie}");
    assert!(!attrs.contains_key("Secure"), "{cookie}");
}

/// `name` is cleared (`Max-Age=0`) with the attributes it was set with.
fn assert_cleared(page: &Reply, name: &str, path: &str) {
    let cookie = page
        .set_cookie(name)
        .unwrap_or_else(|| panic!("{name} is cleared: {:?}", page.set_cookies()));
    let attrs = attributes(&cookie);
    assert_eq!(
        attrs.get("Max-Age").map(String::as_str),
        Some("0"),
        "{name} cleared: {cookie}"
    );
    assert_eq!(
        attrs.get("Path").map(String::as_str),
        Some(path),
        "same path: {cookie}"
    );
    assert!(attrs.contains_key("HttpOnly"), "{cookie}");
    assert_eq!(
        attrs.get("SameSite").map(String::as_str),
        Some("Lax"),
        "{cookie}"
    );
}

async fn the_whole_flow(
    framework: Framework,
    client_id: &str,
    extra: &[(&str, String)],
    internal_url: bool,
) {
    let setup = setup(framework, client_id, extra, internal_url).await;
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    let api = &setup.api;

    // login → provider → callback → exchange
    let callback = to_callback(&mut browser, &setup, "admin").await;
    let code = exchange_code(&mut browser, &setup, &callback).await;
    let exchanged = browser
        .post_json(&format!("{api}/auth/exchange"), &json!({ "code": code }))
        .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    assert_eq!(exchanged.json()["success"], true);
    assert_eq!(exchanged.json()["redirectTo"], "/dashboard");
    assert!(!exchanged.body.contains("eyJ"), "no token in the body");
    assert_cookie(&exchanged, "app_auth", "/");
    assert_cookie(&exchanged, "app_auth_refresh", "/auth");
    let first_access = browser.cookie("app_auth").unwrap();
    let first_refresh = browser.cookie("app_auth_refresh").unwrap();

    // The access token is the provider's JWT: GET /api/me with the cookie.
    let me = browser.get(&format!("{api}/api/me")).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json(),
        json!({
            "sub": "admin", "email": "admin@example.com", "name": "Ada Admin",
            "organizationId": "org-1", "role": "admin", "roles": ["admin"], "groups": ["app-admins"],
            "scopes": ["openid", "email", "profile", "goauthentik.io/api"]
        })
    );
    let admin = browser.get(&format!("{api}/api/admin")).await;
    assert_eq!(admin.status, 200);
    let session = browser.get(&format!("{api}/auth/session")).await;
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["sub"], "admin");

    // A replayed exchange code and a replayed state both fail.
    let replayed = browser
        .post_json(&format!("{api}/auth/exchange"), &json!({ "code": code }))
        .await;
    assert!(
        matches!(replayed.status.as_u16(), 400 | 401 | 404 | 410),
        "{}",
        replayed.status
    );
    assert!(replayed.set_cookie("app_auth").is_none());
    let again = browser.get(&callback).await;
    assert!(
        (400..500).contains(&again.status.as_u16()),
        "replayed state: {}",
        again.status
    );

    // refresh → new cookies (rotated refresh token) → the new cookie works
    let refreshed = browser.post(&format!("{api}/auth/refresh")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert!(!refreshed.body.contains("eyJ"));
    assert_cookie(&refreshed, "app_auth", "/");
    assert_cookie(&refreshed, "app_auth_refresh", "/auth");
    let second_access = browser.cookie("app_auth").unwrap();
    assert_ne!(second_access, first_access, "a new access token");
    assert_ne!(
        browser.cookie("app_auth_refresh").unwrap(),
        first_refresh,
        "the refresh token was rotated"
    );
    let me = browser.get(&format!("{api}/api/me")).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["sub"], "admin");

    // logout → cookies cleared with the same attributes, end-session URL from discovery
    let logout = browser.post(&format!("{api}/auth/logout")).await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_cleared(&logout, "app_auth", "/");
    assert_cleared(&logout, "app_auth_refresh", "/auth");
    let logout_url = logout.json()["logoutUrl"].as_str().unwrap().to_owned();
    assert!(
        logout_url.starts_with(&format!("{}session/end?", setup.issuer)),
        "{logout_url}"
    );
    assert!(logout_url.contains("id_token_hint="), "{logout_url}");
    assert!(
        logout_url.contains("post_logout_redirect_uri=http%3A%2F%2Ffrontend.test%2F"),
        "{logout_url}"
    );
    // The provider accepts it (an invalid hint or redirect would be a 400).
    let end = browser.get(&logout_url).await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert!(browser.cookie("app_auth").is_none());
    let after = browser.get(&format!("{api}/api/me")).await;
    assert_eq!(after.status, 401);

    // The old refresh token is refused: both cookies cleared, 401.
    browser.set_cookie("app_auth", &first_access, "/");
    browser.set_cookie("app_auth_refresh", &first_refresh, "/auth");
    let stale = browser.post(&format!("{api}/auth/refresh")).await;
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_cleared(&stale, "app_auth", "/");
    assert_cleared(&stale, "app_auth_refresh", "/auth");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_through_axum_with_client_secret_basic() {
    the_whole_flow(Framework::Axum, CLIENT_BASIC, &[], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_through_actix_with_client_secret_post_and_an_internal_url() {
    // ES256 ID tokens for this client; server-to-server calls through another host name.
    the_whole_flow(
        Framework::Actix,
        CLIENT_POST,
        &[("AUTH_CLIENT_AUTH", "client_secret_post".to_owned())],
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_state_fails_and_aborts_that_login() {
    let setup = setup(Framework::Axum, CLIENT_BASIC, &[], false).await;
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    let callback = to_callback(&mut browser, &setup, "support").await;
    let mut url = reqwest::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let tampered = browser.get(url.as_str()).await;
    assert!(
        (400..500).contains(&tampered.status.as_u16()),
        "tampered state: {} {}",
        tampered.status,
        tampered.body
    );
    assert!(tampered.set_cookie("app_auth").is_none());
    // The login it belonged to is abandoned: its real callback is refused too...
    let abandoned = browser.get(&callback).await;
    assert!(
        (400..500).contains(&abandoned.status.as_u16()),
        "{}",
        abandoned.status
    );
    // ...and signing in again works.
    sign_in(&mut browser, &setup, "support").await;
    let me: Value = browser.get(&format!("{}/api/me", setup.api)).await.json();
    assert_eq!(me["role"], "support");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_access_token_works_as_a_bearer_token_too() {
    let setup = setup(Framework::Actix, CLIENT_BASIC, &[], false).await;
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    sign_in(&mut browser, &setup, "user").await;
    let token = browser.cookie("app_auth").unwrap();
    let mut api_client = Browser::over_http();
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let me = api_client
        .send(Method::GET, &format!("{}/api/me", setup.api), None, &auth)
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["role"], "user");
    assert_eq!(me.json()["organizationId"], "user", "falls back to sub");
    let admin = api_client
        .send(
            Method::GET,
            &format!("{}/api/admin", setup.api),
            None,
            &auth,
        )
        .await;
    assert_eq!(admin.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_from_logout_url_does_not_open_the_api() {
    // The ID token reaches JavaScript as `id_token_hint` in `logoutUrl`, is signed by
    // the same issuer and has `aud` = the client id: the token-type rule refuses it.
    let setup = setup(Framework::Axum, CLIENT_BASIC, &[], false).await;
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    sign_in(&mut browser, &setup, "admin").await;
    let logout = browser.post(&format!("{}/auth/logout", setup.api)).await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    let logout_url = url::Url::parse(logout.json()["logoutUrl"].as_str().unwrap()).unwrap();
    let id_token = logout_url
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id_token_hint");
    let bearer = format!("Bearer {id_token}");
    let me = Browser::over_http()
        .send(
            Method::GET,
            &format!("{}/api/me", setup.api),
            None,
            &[("authorization", bearer.as_str())],
        )
        .await;
    assert_eq!(me.status, 401, "{}", me.body);
    assert_eq!(me.json()["error"], "wrong_token_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_at_the_provider_and_a_provider_logout_reaches_the_api() {
    let setup = setup(Framework::Axum, CLIENT_BASIC, &[], false).await;
    let api = setup.api.clone();

    // 1. Logout through the API revokes the refresh token at oidc-provider (RFC 7009):
    //    the provider itself refuses it afterwards.
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    sign_in(&mut browser, &setup, "user").await;
    let refresh = browser.cookie("app_auth_refresh").unwrap();
    let logout = browser.post(&format!("{api}/auth/logout")).await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    let discovery: Value =
        reqwest::get(format!("{}.well-known/openid-configuration", setup.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    let direct = reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(CLIENT_BASIC, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", &refresh)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 400);
    let body: Value = direct.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // 2. A logout at the provider (not through the API): oidc-provider sends a
    //    back-channel logout token to /auth/backchannel-logout, and the API refuses
    //    the still-unexpired access cookie from then on.
    let mut browser = Browser::over_http().with_origin(FRONTEND);
    sign_in(&mut browser, &setup, "admin").await;
    let me = browser.get(&format!("{api}/api/me")).await;
    assert_eq!(me.status, 200);
    let end = format!(
        "{}session/end?client_id={CLIENT_BASIC}&post_logout_redirect_uri={}",
        setup.issuer,
        url::form_urlencoded::byte_serialize(format!("{FRONTEND}/").as_bytes()).collect::<String>()
    );
    let confirm = browser.get(&end).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let action = form_action(&confirm.body).expect("the logout confirmation form");
    let action = reqwest::Url::parse(&end)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let xsrf = {
        let start = confirm.body.find(r#"name="xsrf" value=""#).expect("xsrf")
            + r#"name="xsrf" value=""#.len();
        let end = confirm.body[start..].find('"').unwrap() + start;
        confirm.body[start..end].to_owned()
    };
    let ended = browser
        .post_form(&action, &[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .await;
    assert!(
        matches!(ended.status.as_u16(), 302 | 303),
        "{} {}",
        ended.status,
        ended.body
    );
    let after = browser.get(&format!("{api}/api/me")).await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(after.json()["error"], "token_revoked");
}
