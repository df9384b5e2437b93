//! Logged-out tokens are refused at once, cached ones included, by token, by session
//! (`sid`) and by user (`sub`), and only until the tokens they cover expire.

use std::time::Duration;

use authgate::{AuthConfig, Authenticator, Revocation};
use authgate_testkit::{TestIssuer, now};

async fn setup(cache: usize) -> (TestIssuer, Authenticator) {
    let issuer = TestIssuer::start().await.unwrap();
    let auth = Authenticator::new(
        AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
            .token_cache_capacity(cache)
            .build()
            .unwrap(),
    );
    auth.refresh_keys().await.unwrap();
    (issuer, auth)
}

#[tokio::test]
async fn a_revoked_token_is_refused_even_from_the_cache() {
    for cache in [10_000, 0] {
        let (issuer, auth) = setup(cache).await;
        let exp = now() + 300;
        let token = issuer.token().sub("alice").exp(exp).sign();
        let other = issuer.token().sub("alice").exp(exp).sign();
        assert_eq!(auth.verify(&token).await.unwrap().sub, "alice");
        assert_eq!(auth.verify(&token).await.unwrap().sub, "alice"); // cached

        auth.revoke(&Revocation::token(&token, exp));
        let err = auth.verify(&token).await.unwrap_err();
        assert_eq!(err.code(), "token_revoked", "cache {cache}");
        assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
        // Another token of the same user is not touched.
        assert!(auth.verify(&other).await.is_ok());
        assert_eq!(auth.revocation_count(), 1);
    }
}

#[tokio::test]
async fn a_session_or_a_user_is_revoked_up_to_the_logout() {
    let (issuer, auth) = setup(10_000).await;
    let t = now();
    let in_session = issuer
        .token()
        .sub("alice")
        .claim("sid", "s-1")
        .iat(t - 10)
        .sign();
    let other_session = issuer
        .token()
        .sub("alice")
        .claim("sid", "s-2")
        .iat(t - 10)
        .sign();
    let bob = issuer.token().sub("bob").iat(t - 10).sign();
    for token in [&in_session, &other_session, &bob] {
        assert!(auth.verify(token).await.is_ok());
    }

    auth.revoke(&Revocation::session("s-1", t, Duration::from_secs(3600)));
    assert_eq!(
        auth.verify(&in_session).await.unwrap_err().code(),
        "token_revoked"
    );
    assert!(auth.verify(&other_session).await.is_ok());

    auth.revoke(&Revocation::subject("bob", t, Duration::from_secs(3600)));
    assert_eq!(auth.verify(&bob).await.unwrap_err().code(), "token_revoked");
    // A later login of bob (issued after the logout) is not covered.
    let later = issuer.token().sub("bob").iat(t + 1).sign();
    assert!(auth.verify(&later).await.is_ok());

    // The authenticators made from this one share the list.
    let shared = auth.with_shared_keys(issuer.client_id(), |c: &authgate::Claims| {
        Ok(c.sub().to_owned())
    });
    assert_eq!(
        shared.verify(&in_session).await.unwrap_err().code(),
        "token_revoked"
    );
}
