//! Node's `oidc-provider` (a certified OpenID provider), started from
//! `tests/oidc-provider/server.mjs` on `127.0.0.1`, Authentik-shaped.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The slug the provider is served under: `/application/o/authgate/`.
pub const SLUG: &str = "authgate";
/// The `client_secret_basic` client (RS256 ID tokens).
pub const CLIENT_BASIC: &str = "authgate-e2e";
/// The `client_secret_post` client (ES256 ID tokens).
pub const CLIENT_POST: &str = "authgate-e2e-post";
/// Both clients' secret.
pub const CLIENT_SECRET: &str = "authgate-e2e-secret";

/// Runs `npm ci` in `dir` once per test process when the packages are missing (the
/// lock file pins `oidc-provider`; `.ci/run` installs them up front).
fn install_once(dir: &std::path::Path) {
    static INSTALL: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *done || dir.join("node_modules/oidc-provider").is_dir() {
        *done = true;
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status();
    assert!(
        matches!(status, Ok(s) if s.success()),
        "oidc-provider is not installed and `npm ci` in {} failed ({status:?}): \
         install Node.js and npm, then run it there",
        dir.display()
    );
    *done = true;
}

/// A running provider; the process is killed when this is dropped.
#[derive(Debug)]
pub struct OidcProvider {
    issuer: String,
    port: u16,
    _child: Child,
}

impl OidcProvider {
    /// Starts the provider, allowing these redirect and post-logout URIs.
    ///
    /// # Panics
    ///
    /// When Node or the npm packages are missing (`.ci/run` installs them:
    /// `npm ci` in `tests/oidc-provider`), or the provider does not start.
    pub async fn start(redirect_uris: &[String], post_logout_uris: &[String]) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
        install_once(&dir);
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("SLUG", SLUG)
            .env("CLIENT_ID", CLIENT_BASIC)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URIS", redirect_uris.join(","))
            .env("POST_LOGOUT_REDIRECT_URIS", post_logout_uris.join(","))
            // The API of the first redirect URI receives back-channel logouts.
            .env(
                "BACKCHANNEL_LOGOUT_URI",
                redirect_uris
                    .first()
                    .map(|uri| uri.replace("/auth/callback", "/auth/backchannel-logout"))
                    .unwrap_or_default(),
            )
            .env("PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node is installed and runs tests/oidc-provider/server.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("oidc-provider starts within 30 s")
            .expect("read its stdout")
            .expect("it prints its address");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        // Keep reading: a closed pipe would make the provider's next write fail (EPIPE).
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            issuer: ready["issuer"].as_str().expect("issuer").to_owned(),
            port: u16::try_from(ready["port"].as_u64().expect("port")).expect("a port"),
            _child: child,
        }
    }

    /// The issuer, `http://127.0.0.1:PORT/application/o/authgate/`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The value of `AUTHENTIK_URL`: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The same server under another host name, for `AUTHENTIK_INTERNAL_URL`.
    pub fn internal_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}
