//! `GET /api/ws` with a real WebSocket client (tokio-tungstenite) over loopback: a
//! browser cannot set a header on `new WebSocket(url)`, so the token rides in the
//! query parameter that `AUTH_TOKEN_QUERY_PARAM` switches on.

mod common;

use authgate_testkit::TestIssuer;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Error, Message};

const QUERY_ON: &[(&str, &str)] = &[("AUTH_TOKEN_QUERY_PARAM", "access_token")];

/// The refusal of an upgrade: its status and JSON `error` code.
async fn refused(url: String) -> (u16, String) {
    match connect_async(url).await {
        Err(Error::Http(response)) => {
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or(b"{}"))
                .expect("a JSON body");
            (
                response.status().as_u16(),
                body["error"].as_str().unwrap_or("").to_owned(),
            )
        }
        Ok(_) => panic!("the upgrade was accepted"),
        Err(other) => panic!("not an HTTP refusal: {other}"),
    }
}

#[tokio::test]
async fn a_token_in_the_url_opens_the_socket_and_the_server_knows_the_user() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = common::start(&issuer, QUERY_ON).await;
    let token = issuer.token().sub("alice").sign();

    let (mut socket, response) = connect_async(format!("ws://{addr}/api/ws?access_token={token}"))
        .await
        .expect("the upgrade");
    assert_eq!(response.status().as_u16(), 101);
    let hello = socket.next().await.unwrap().unwrap();
    assert_eq!(hello, Message::Text("hello alice".into()));

    socket.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::Text("ping".into())
    );
    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::Binary(vec![1, 2, 3].into())
    );
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn without_a_token_or_with_a_bad_one_there_is_no_upgrade() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = common::start(&issuer, QUERY_ON).await;
    let expired = issuer.token().sub("alice").expired().sign();
    let other_audience = issuer.token().aud("someone-else").sign();

    let url = |query: &str| format!("ws://{addr}/api/ws{query}");
    assert_eq!(refused(url("")).await, (401, "missing_token".into()));
    assert_eq!(
        refused(url(&format!("?access_token={expired}"))).await,
        (401, "token_expired".into())
    );
    assert_eq!(
        refused(url(&format!("?access_token={other_audience}"))).await,
        (401, "invalid_audience".into())
    );
    assert_eq!(
        refused(url("?access_token=not-a-token")).await,
        (401, "malformed_token".into())
    );
}

#[tokio::test]
async fn with_the_parameter_off_a_token_in_the_url_is_not_read() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = common::start(&issuer, &[]).await;
    let token = issuer.token().sub("alice").sign();

    assert_eq!(
        refused(format!("ws://{addr}/api/ws?access_token={token}")).await,
        (401, "missing_token".into())
    );
    // A client that can set a header (not a browser) still may: Bearer on the upgrade.
    let mut request = format!("ws://{addr}/api/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = connect_async(request).await.expect("the upgrade");
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::Text("hello alice".into())
    );
}

#[tokio::test]
async fn an_event_source_style_get_reads_the_query_and_a_post_does_not() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = common::start(&issuer, QUERY_ON).await;
    let token = issuer.token().sub("alice").sign();
    let client = reqwest::Client::new();

    let me = client
        .get(format!("http://{addr}/api/me?access_token={token}"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["sub"], "alice");

    let post = client
        .post(format!("http://{addr}/api/items?access_token={token}"))
        .header("content-type", "application/json")
        .body(r#"{"name": "pen"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 401);
    let body: Value = post.json().await.unwrap();
    assert_eq!(body["error"], "missing_token");
}
