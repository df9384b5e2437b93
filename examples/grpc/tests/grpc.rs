//! The gRPC service behind the `AuthLayer`, called through a real tonic client over
//! loopback: every refusal is a gRPC status, never an HTTP 401 with a JSON body.

use std::time::Duration;

use authgate::{AuthConfig, AuthConfigBuilder, RoleMap};
use authgate_testkit::TestIssuer;
use example_grpc::{AccountClient, AdminRequest, MeRequest, layer, serve, with_token};
use tokio::sync::oneshot;
use tonic::{Code, Status};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running server; stopped when dropped.
struct Server {
    url: String,
    _stop: oneshot::Sender<()>,
}

fn config(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::authentik(issuer.base_url(), issuer.slug(), issuer.client_id())
        .role_map(RoleMap::parse("app-admins=admin").expect("a role map"))
}

/// Serves the example on `127.0.0.1:0` with `config`, loading the keys first when
/// `load_keys`.
async fn start(config: AuthConfig, load_keys: bool) -> Result<Server, Box<dyn std::error::Error>> {
    let layer = layer(config);
    if load_keys {
        layer.authenticator().refresh_keys().await?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, layer, async {
        let _ = stopped.await;
    }));
    Ok(Server { url, _stop: stop })
}

/// The status's code, message and `authgate-error` metadata.
fn seen(status: &Status) -> (Code, &str, &str) {
    let code = status
        .metadata()
        .get("authgate-error")
        .map(|value| value.to_str().expect("ASCII"))
        .unwrap_or("(none)");
    (status.code(), status.message(), code)
}

#[tokio::test]
async fn no_token_and_bad_tokens_are_unauthenticated() -> TestResult {
    let issuer = TestIssuer::start().await?;
    let server = start(config(&issuer).build()?, true).await?;
    let mut client = AccountClient::connect(server.url.clone()).await?;

    let anonymous = client
        .me(tonic::Request::new(MeRequest {}))
        .await
        .unwrap_err();
    assert_eq!(
        seen(&anonymous),
        (
            Code::Unauthenticated,
            "no bearer token or auth cookie in the request",
            "missing_token"
        )
    );
    // RFC 6750's challenge comes along as metadata.
    let challenge = anonymous.metadata().get("www-authenticate").unwrap();
    assert_eq!(
        challenge.to_str()?,
        format!(r#"Bearer realm="{}""#, issuer.issuer())
    );

    let malformed = client
        .me(with_token(MeRequest {}, "not-a-jwt"))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::Unauthenticated);
    assert_eq!(seen(&malformed).2, "malformed_token");
    assert!(
        malformed.message().starts_with("the token is malformed"),
        "{}",
        malformed.message()
    );

    let expired = issuer.token().sub("old").expired().sign();
    let expired = client
        .admin(with_token(AdminRequest {}, &expired))
        .await
        .unwrap_err();
    assert_eq!(
        seen(&expired),
        (
            Code::Unauthenticated,
            "the token has expired",
            "token_expired"
        )
    );

    let foreign = TestIssuer::start().await?;
    let wrong_issuer = foreign.token().sign();
    let wrong_issuer = client
        .me(with_token(MeRequest {}, &wrong_issuer))
        .await
        .unwrap_err();
    assert_eq!(wrong_issuer.code(), Code::Unauthenticated);
    Ok(())
}

#[tokio::test]
async fn a_user_gets_me_and_only_an_admin_gets_admin() -> TestResult {
    let issuer = TestIssuer::start().await?;
    let server = start(config(&issuer).build()?, true).await?;
    let mut client = AccountClient::connect(server.url.clone()).await?;

    let uma = issuer
        .token()
        .sub("uma")
        .claim("email", "uma@example.com")
        .sign();
    let me = client
        .me(with_token(MeRequest {}, &uma))
        .await?
        .into_inner();
    assert_eq!(me.sub, "uma");
    assert_eq!(me.role, "user");
    assert_eq!(me.roles, ["user"]);
    assert_eq!(me.email.as_deref(), Some("uma@example.com"));
    assert_eq!(me.organization_id, "uma");

    let denied = client
        .admin(with_token(AdminRequest {}, &uma))
        .await
        .unwrap_err();
    assert_eq!(
        seen(&denied),
        (
            Code::PermissionDenied,
            "this requires the role admin",
            "insufficient_role"
        )
    );

    let ada = issuer
        .token()
        .sub("ada")
        .groups(["app-admins", "staff"])
        .sign();
    let me = client
        .me(with_token(MeRequest {}, &ada))
        .await?
        .into_inner();
    assert_eq!(
        (me.role.as_str(), me.roles.as_slice()),
        ("admin", &["admin".to_owned()][..])
    );
    let admin = client
        .admin(with_token(AdminRequest {}, &ada))
        .await?
        .into_inner();
    assert_eq!(admin.message, "hello admin ada");
    Ok(())
}

#[tokio::test]
async fn an_issuer_outage_before_any_key_is_unavailable() -> TestResult {
    let issuer = TestIssuer::start().await?;
    issuer.set_outage(true);
    let config = config(&issuer)
        .startup_backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()?;
    let server = start(config, false).await?;
    let mut client = AccountClient::connect(server.url.clone()).await?;

    let token = issuer.token().sub("ada").groups(["app-admins"]).sign();
    let unavailable = client
        .me(with_token(MeRequest {}, &token))
        .await
        .unwrap_err();
    assert_eq!(
        seen(&unavailable),
        (
            Code::Unavailable,
            "signing keys are not available yet",
            "keys_unavailable"
        )
    );
    assert_eq!(
        unavailable
            .metadata()
            .get("retry-after")
            .unwrap()
            .to_str()?,
        "30"
    );
    // Admin or not, nobody passes without keys.
    let admin = client
        .admin(with_token(AdminRequest {}, &token))
        .await
        .unwrap_err();
    assert_eq!(admin.code(), Code::Unavailable);
    Ok(())
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented_after_authentication() -> TestResult {
    let issuer = TestIssuer::start().await?;
    let server = start(config(&issuer).build()?, true).await?;
    let channel = tonic::transport::Endpoint::from_shared(server.url.clone())?
        .connect()
        .await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let path = http::uri::PathAndQuery::from_static("/authgate.example.Account/Nope");
    let token = issuer.token().sign();
    let status = grpc
        .unary::<MeRequest, example_grpc::MeReply, _>(
            with_token(MeRequest {}, &token),
            path.clone(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    // Without a token the layer answers first.
    grpc.ready().await?;
    let status = grpc
        .unary::<MeRequest, example_grpc::MeReply, _>(
            tonic::Request::new(MeRequest {}),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    Ok(())
}
