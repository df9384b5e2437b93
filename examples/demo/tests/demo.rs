//! The demo as a whole: its self-test passes (the curl checks and the browser journey
//! over HTTP) without printing a token, and `Demo::start` reports a taken port.

use std::process::Command;

use demo::{Demo, DemoError, DemoOptions};

#[test]
fn the_self_test_passes_and_prints_no_token() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("--self-test")
        .env_remove("AUTHENTIK_URL")
        .output()
        .expect("the demo binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    for user in ["ada", "sam", "uma"] {
        assert!(
            stdout.contains(&format!("ok   journey {user}")),
            "the journey ran for {user}: {stdout}"
        );
    }
    // A JWT's header starts with `{"` in base64url: `eyJ`.
    assert!(
        !stdout.contains("eyJ") && !stderr.contains("eyJ"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_reported_with_the_variable_that_chooses_it() {
    let first = Demo::start(DemoOptions::default()).await.unwrap();
    let taken = first.api_addr().port();
    let err = Demo::start(DemoOptions {
        api_port: taken,
        frontend_port: 0,
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            DemoError::Bind {
                part: "API",
                variable: "PORT",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("PORT"), "{err}");

    let taken = first.frontend_addr().port();
    let err = Demo::start(DemoOptions {
        api_port: 0,
        frontend_port: taken,
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            DemoError::Bind {
                part: "frontend",
                variable: "FRONTEND_PORT",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_knows_the_demo_users_and_the_api_callback() {
    let demo = Demo::start(DemoOptions::default()).await.unwrap();
    let subs: Vec<String> = demo
        .issuer()
        .users()
        .iter()
        .map(|u| u.sub().to_owned())
        .collect();
    assert_eq!(subs, ["ada", "sam", "uma"]);
    // The API's login leads to an authorization request the issuer accepts for ada.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .get(format!("{}/auth/login", demo.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let authorize = login.headers()["location"].to_str().unwrap();
    let back = demo.issuer().authorize(authorize, "ada").unwrap();
    assert!(
        back.starts_with(&format!("{}/auth/callback?", demo.api_url())),
        "{back}"
    );
}
