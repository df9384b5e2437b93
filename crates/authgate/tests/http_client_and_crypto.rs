//! Your own HTTP client and the crypto backend.
//!
//! This file runs twice in CI: with the default `aws-lc-rs` backend (in the workspace
//! test run) and with `--no-default-features --features rust-crypto`, where the
//! signatures are checked by RustCrypto and reqwest's rustls comes without a crypto
//! provider, so the application installs one or brings its own client.

use authgate::{AuthConfig, AuthError, Authenticator, CRYPTO_BACKEND, FetchError, reqwest};
use authgate_test_support::proxy::HttpProxy;
use authgate_testkit::TestIssuer;
use tokio::net::TcpListener;

/// A JWK set with one P-256 key (RFC 7517 Appendix A.1): building a configuration
/// with it parses it, which installs authgate's jsonwebtoken provider before the
/// testkit makes or uses any key. So in the `rust-crypto` run RustCrypto checks every
/// signature here, not the testkit's aws-lc-rs.
const EC_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"1","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#;

/// Runs first in every test: installs authgate's provider, and, with `rust-crypto`,
/// checks once that authgate's own client refuses to start without a rustls
/// provider (a clear error, no panic), then installs one as an application would.
async fn ready() {
    static DONE: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);
    let mut done = DONE.lock().await;
    if *done {
        return;
    }
    AuthConfig::oidc("http://127.0.0.1:9/")
        .audience("unused")
        .static_jwks(EC_JWKS)
        .build()
        .expect("a static key set");
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        let issuer = TestIssuer::start().await.unwrap();
        let auth = Authenticator::new(
            AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
                .build()
                .unwrap(),
        );
        let err = auth.refresh_keys().await.unwrap_err();
        assert!(
            matches!(*err, FetchError::NoTlsProvider(_)),
            "expected NoTlsProvider, got {err:?}"
        );
        assert!(err.to_string().contains("http_client"), "{err}");
        assert_eq!(issuer.discovery_requests(), 0);
        rustls::crypto::aws_lc_rs::default_provider()
            .install_default()
            .expect("nothing installed a rustls provider before");
    }
    *done = true;
}

#[tokio::test]
async fn the_chosen_backend_verifies_rsa_and_ec_signatures() {
    ready().await;
    assert_eq!(
        CRYPTO_BACKEND,
        if cfg!(feature = "aws-lc-rs") {
            "aws-lc-rs"
        } else {
            "rust-crypto"
        }
    );
    let issuer = TestIssuer::builder()
        .no_default_keys()
        .rsa_key("rsa")
        .ec_key("ec")
        .start()
        .await
        .unwrap();
    let auth = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    for kid in ["rsa", "ec"] {
        let token = issuer.token().key(kid).sub(kid).sign();
        assert_eq!(auth.verify(&token).await.unwrap().sub, kid);
        // One bit of the signature flipped.
        let mut bytes = token.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(
            matches!(
                auth.verify(&tampered).await,
                Err(AuthError::InvalidSignature)
            ),
            "{kid}: a tampered signature must fail"
        );
    }
}

#[tokio::test]
async fn discovery_and_keys_go_through_your_own_client() {
    ready().await;
    let issuer = TestIssuer::start().await.unwrap();
    let proxy = HttpProxy::start().await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(proxy.url()).unwrap())
        .build()
        .unwrap();
    let auth = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .http_client(client)
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    let token = issuer.token().sub("alice").sign();
    assert_eq!(auth.verify(&token).await.unwrap().sub, "alice");
    assert_eq!(
        proxy.requests(),
        [
            format!("GET {}", issuer.discovery_url()),
            format!("GET {}", issuer.jwks_url())
        ]
    );
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn your_own_client_cannot_bring_keys_from_another_origin() {
    ready().await;
    let issuer = TestIssuer::start().await.unwrap();
    // A JWKS URL that redirects to the issuer's keys, on another origin (port).
    let target = issuer.jwks_url();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = |client: Option<reqwest::Client>| {
        let builder = AuthConfig::oidc(issuer.issuer())
            .audience(issuer.client_id())
            .jwks_url(format!("http://{redirector}/jwks"));
        match client {
            Some(client) => builder.http_client(client),
            None => builder,
        }
        .build()
        .unwrap()
    };

    // reqwest's default policy follows the redirect; authgate refuses the answer.
    let own = Authenticator::new(config(Some(reqwest::Client::new())));
    let err = own.refresh_keys().await.unwrap_err();
    match &*err {
        FetchError::CrossOriginRedirect { url, to } => {
            assert_eq!(url, &format!("http://{redirector}/jwks"));
            assert_eq!(to, &format!("http://{}", issuer.addr()));
        }
        other => panic!("expected CrossOriginRedirect, got {other:?}"),
    }
    assert!(!own.keys_ready());
    // authgate's own client does not even follow it.
    let default = Authenticator::new(config(None));
    let err = default.refresh_keys().await.unwrap_err();
    assert!(matches!(*err, FetchError::Http { .. }), "{err:?}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&*err);
    while let Some(error) = source {
        chain.push_str(&error.to_string());
        source = error.source();
    }
    assert!(chain.contains("redirected to another origin"), "{chain}");
}
