//! A small OpenID provider for the flow tests: discovery, JWKS, and a token endpoint
//! that checks client authentication, the redirect URI and PKCE, and issues signed
//! ID and access tokens. It serves on loopback from its own thread and runtime, so it
//! works under tokio and actix-rt tests alike.
//!
//! Its discovery document names a *public* origin that does not resolve
//! (`http://auth.invalid`); the flow reaches it only through the internal URL, so
//! every test also checks that server-to-server calls are rewritten.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use authgate_flow::{ClientAuth, Flow, FlowConfig, FlowConfigBuilder};
use authgate_testkit::SigningKey;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

pub const PUBLIC_BASE: &str = "http://auth.invalid";
pub const SLUG: &str = "shop";
pub const CLIENT_ID: &str = "shop-client";
pub const CLIENT_SECRET: &str = "s3cret:with/odd chars";
pub const FRONTEND: &str = "http://localhost:5173";
pub const API: &str = "http://localhost:3000";

/// What the token endpoint saw.
#[derive(Debug, Clone)]
pub struct TokenCall {
    /// `basic`, `post` or `none`.
    pub client_auth: &'static str,
    pub form: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct Authorization {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    sub: String,
}

/// Knobs a test turns.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub rotate_refresh_tokens: bool,
    pub expires_in: u64,
    pub nonce_override: Option<String>,
    pub aud_override: Option<Value>,
    pub omit_id_token: bool,
    pub sign_with_unknown_key: bool,
    /// Answer every token request with this status and body.
    pub token_failure: Option<(u16, Value)>,
    pub end_session: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            rotate_refresh_tokens: true,
            expires_in: 300,
            nonce_override: None,
            aud_override: None,
            omit_id_token: false,
            sign_with_unknown_key: false,
            token_failure: None,
            end_session: true,
        }
    }
}

#[derive(Debug, Default)]
struct ProviderState {
    authorizations: HashMap<String, Authorization>,
    refresh_tokens: HashMap<String, String>,
    calls: Vec<TokenCall>,
    issued: Vec<String>,
    counter: u64,
    knobs: Knobs,
}

#[derive(Debug)]
struct Shared {
    key: SigningKey,
    stranger: SigningKey,
    client_auth: ClientAuth,
    state: Mutex<ProviderState>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, ProviderState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running provider.
#[derive(Debug, Clone)]
pub struct Provider {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

pub fn issuer() -> String {
    format!("{PUBLIC_BASE}/application/o/{SLUG}/")
}

fn now() -> i64 {
    authgate_testkit::now()
}

impl Provider {
    pub fn start() -> Self {
        Self::start_with(ClientAuth::ClientSecretBasic)
    }

    /// A provider that expects this client authentication method.
    pub fn start_with(client_auth: ClientAuth) -> Self {
        let shared = Arc::new(Shared {
            key: SigningKey::generate_ec("flow-key").expect("EC key"),
            stranger: SigningKey::generate_ec("flow-key").expect("EC key"),
            client_auth,
            state: Mutex::new(ProviderState::default()),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let app = Router::new()
            .route(
                &format!("/application/o/{SLUG}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("/application/o/{SLUG}/jwks/"), get(jwks))
            .route("/application/o/token/", post(token))
            .with_state(shared.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { shared, addr }
    }

    /// `http://127.0.0.1:PORT`: the `AUTHENTIK_INTERNAL_URL`.
    pub fn internal_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_knobs(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.shared.lock().knobs);
    }

    pub fn calls(&self) -> Vec<TokenCall> {
        self.shared.lock().calls.clone()
    }

    /// Every token the provider issued (access, ID, refresh), to look for leaks.
    pub fn issued(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    /// The core authenticator for this provider, through the internal URL.
    pub fn authenticator(&self) -> authgate::Authenticator {
        let config = authgate::AuthConfig::authentik(PUBLIC_BASE, SLUG, CLIENT_ID)
            .internal_url(self.internal_url())
            .trusted_origin(FRONTEND)
            .build()
            .expect("core config");
        authgate::Authenticator::new(config)
    }

    pub fn flow_config(&self) -> FlowConfigBuilder {
        let builder =
            FlowConfig::builder(CLIENT_ID, FRONTEND, API).client_auth(self.shared.client_auth);
        if self.shared.client_auth == ClientAuth::None {
            builder
        } else {
            builder.client_secret(CLIENT_SECRET)
        }
    }

    pub fn flow(&self) -> Flow {
        Flow::new(
            self.authenticator(),
            self.flow_config().build().expect("flow config"),
        )
        .expect("flow")
    }

    /// Plays the user signing in at the authorization endpoint: checks the request
    /// the browser was sent with and answers the callback query string.
    pub fn authorize(&self, location: &str, sub: &str) -> String {
        let url = url::Url::parse(location).expect("authorization URL");
        assert_eq!(
            url.as_str().split('?').next(),
            Some(format!("{PUBLIC_BASE}/application/o/authorize/").as_str()),
            "the browser goes to the public authorization endpoint"
        );
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["code_challenge_method"], "S256");
        let mut state = self.shared.lock();
        state.counter += 1;
        let code = format!("code-{}", state.counter);
        state.authorizations.insert(
            code.clone(),
            Authorization {
                nonce: q["nonce"].clone(),
                challenge: q["code_challenge"].clone(),
                redirect_uri: q["redirect_uri"].clone(),
                sub: sub.to_owned(),
            },
        );
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &q["state"])
            .append_pair("iss", &issuer())
            .finish()
    }
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = issuer();
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{PUBLIC_BASE}/application/o/authorize/"),
        "token_endpoint": format!("{PUBLIC_BASE}/application/o/token/"),
        "userinfo_endpoint": format!("{PUBLIC_BASE}/application/o/userinfo/"),
        "jwks_uri": format!("{issuer}jwks/"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    });
    if shared.lock().knobs.end_session {
        doc["end_session_endpoint"] = json!(format!("{issuer}end-session/"));
    }
    axum::Json(doc).into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!({ "keys": [shared.key.public_jwk()] })).into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "error_description": "refused by the test provider" })),
    )
        .into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let client_auth = match (&basic, form.get("client_secret")) {
        (Some(_), _) => "basic",
        (None, Some(_)) => "post",
        (None, None) => "none",
    };
    let mut state = shared.lock();
    state.calls.push(TokenCall {
        client_auth,
        form: form.clone(),
    });
    if let Some((status, body)) = state.knobs.token_failure.clone() {
        return (
            StatusCode::from_u16(status).expect("status"),
            axum::Json(body),
        )
            .into_response();
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let authenticated = match (shared.client_auth, basic) {
        (ClientAuth::ClientSecretBasic, Some(basic)) => basic
            .split_once(':')
            .is_some_and(|(id, secret)| decode(id) == CLIENT_ID && decode(secret) == CLIENT_SECRET),
        (ClientAuth::ClientSecretPost, None) => {
            form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        }
        (ClientAuth::None, None) => {
            form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && !form.contains_key("client_secret")
        }
        _ => false,
    };
    if !authenticated {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let (sub, nonce) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(authz) = form
                .get("code")
                .and_then(|code| state.authorizations.remove(code))
            else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                verifier.as_bytes(),
            ));
            if challenge != authz.challenge || form.get("redirect_uri") != Some(&authz.redirect_uri)
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            (authz.sub, Some(authz.nonce))
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            let sub = if state.knobs.rotate_refresh_tokens {
                state.refresh_tokens.remove(&presented)
            } else {
                state.refresh_tokens.get(&presented).cloned()
            };
            let Some(sub) = sub else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            (sub, None)
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    let knobs = state.knobs.clone();
    let key = if knobs.sign_with_unknown_key {
        &shared.stranger
    } else {
        &shared.key
    };
    let header = json!({ "alg": "ES256", "kid": key.kid(), "typ": "JWT" });
    let now = now();
    let exp = now + i64::try_from(knobs.expires_in).expect("expires_in");
    let access = key
        .sign_raw(
            &header,
            &json!({
                "iss": issuer(), "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": sub,
                "iat": now, "exp": exp, "uid": format!("uid-{}", state.counter),
                "email": format!("{sub}@example.com"), "groups": ["staff"],
                "scope": "openid email profile offline_access",
            }),
        )
        .expect("sign access token");
    let mut id_claims = json!({
        "iss": issuer(), "aud": knobs.aud_override.clone().unwrap_or(json!(CLIENT_ID)),
        "sub": sub, "iat": now, "exp": exp, "auth_time": now,
    });
    if let Some(nonce) = knobs.nonce_override.clone().or(nonce) {
        id_claims["nonce"] = json!(nonce);
    }
    let id = key.sign_raw(&header, &id_claims).expect("sign ID token");
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": knobs.expires_in,
        "scope": "openid email profile offline_access",
    });
    if !knobs.omit_id_token {
        body["id_token"] = json!(id);
        state.issued.push(id);
    }
    let refresh = form
        .get("refresh_token")
        .filter(|_| !knobs.rotate_refresh_tokens)
        .cloned()
        .unwrap_or_else(|| {
            state.counter += 1;
            format!(
                "rt-{}-{}",
                state.counter,
                URL_SAFE_NO_PAD.encode(state.counter.to_le_bytes())
            )
        });
    if knobs.rotate_refresh_tokens
        || form.get("grant_type").map(String::as_str) == Some("authorization_code")
    {
        body["refresh_token"] = json!(refresh);
        state.refresh_tokens.insert(refresh.clone(), sub);
        state.issued.push(refresh);
    }
    state.issued.push(access);
    axum::Json(body).into_response()
}
