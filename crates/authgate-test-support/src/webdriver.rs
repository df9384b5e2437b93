//! A headless Chromium driven through `chromedriver`, over the W3C WebDriver
//! protocol: the handful of commands a journey test needs (navigate, find, click,
//! read text, run a script, back, reload, screenshot).
//!
//! Why not a WebDriver crate: fantoccini, the usual choice, pulls the `webdriver`
//! crate (MPL-2.0, a licence this workspace does not otherwise need) and with it a
//! second ICU, `cookie` and `thiserror`, about twenty crates, for the dozen JSON
//! calls below; reqwest and serde_json are already here.
//!
//! [`Chrome::start`] finds Debian's `chromium` and `chromium-driver` (or the binaries
//! named by `CHROME_BIN` and `CHROMEDRIVER`) and fails, never skips, with the
//! command that installs them when they are missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// What went wrong talking to the browser.
#[derive(Debug)]
pub struct WebDriverError(String);

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebDriverError {}

fn err(message: impl Into<String>) -> WebDriverError {
    WebDriverError(message.into())
}

/// The result of a browser command.
pub type WdResult<T> = Result<T, WebDriverError>;

const INSTALL_HINT: &str = "install Debian's packages: apt-get install -y chromium chromium-driver \
     (or set CHROME_BIN and CHROMEDRIVER to the binaries)";

/// The W3C key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(env: &str, given: Option<&Path>, candidates: &[&str]) -> WdResult<PathBuf> {
    let given = given
        .map(|p| (p.to_owned(), "given"))
        .or_else(|| std::env::var_os(env).map(|p| (PathBuf::from(p), env)));
    if let Some((path, from)) = given {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(err(format!(
                "{} ({from}) is not a file; {INSTALL_HINT}",
                path.display()
            )))
        };
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for name in candidates {
        for dir in &dirs {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(err(format!(
        "{} not found on PATH; {INSTALL_HINT}",
        candidates.join(" or ")
    )))
}

/// A running `chromedriver` with one headless Chromium session. Dropping it ends the
/// session (best effort) and kills the driver, which takes the browser with it.
#[derive(Debug)]
pub struct Chrome {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
    screenshots: PathBuf,
    shots: usize,
}

impl Chrome {
    /// Starts `chromedriver` on a free loopback port and opens a headless Chromium
    /// session with a fresh profile. Screenshots go to `screenshots` (created).
    ///
    /// # Errors
    ///
    /// Chromium or chromedriver is missing (the message says how to install them),
    /// or the driver does not come up or refuses the session.
    pub async fn start(screenshots: &Path) -> WdResult<Self> {
        Self::start_with(screenshots, None, None).await
    }

    /// Like [`start`](Self::start), with these binaries instead of the ones found on
    /// `PATH` (or named by `CHROME_BIN` and `CHROMEDRIVER`).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    pub async fn start_with(
        screenshots: &Path,
        chromium: Option<&Path>,
        chromedriver: Option<&Path>,
    ) -> WdResult<Self> {
        let chromium = find_binary("CHROME_BIN", chromium, &["chromium", "chromium-browser"])?;
        let chromedriver = find_binary("CHROMEDRIVER", chromedriver, &["chromedriver"])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| err(format!("no free port for chromedriver: {e}")))?
            .port();
        let profile =
            std::env::temp_dir().join(format!("authgate-chromium-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile)
            .and_then(|()| std::fs::create_dir_all(screenshots))
            .map_err(|e| err(format!("cannot create the browser's directories: {e}")))?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                err(format!(
                    "cannot start {}: {e}; {INSTALL_HINT}",
                    chromedriver.display()
                ))
            })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| err(format!("HTTP client: {e}")))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut chrome = Chrome {
            driver,
            base,
            session: String::new(),
            http,
            profile,
            screenshots: screenshots.to_owned(),
            shots: 0,
        };
        chrome.wait_ready().await?;
        chrome.session = chrome.new_session(&chromium).await?;
        chrome
            .call(
                "POST",
                "/timeouts",
                json!({ "implicit": 0, "pageLoad": 30_000, "script": 30_000 }),
            )
            .await?;
        Ok(chrome)
    }

    async fn wait_ready(&mut self) -> WdResult<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                return Err(err(format!(
                    "chromedriver exited at start ({status}); {INSTALL_HINT}"
                )));
            }
            let ready = self
                .http
                .get(format!("{}/status", self.base))
                .send()
                .await
                .ok();
            if let Some(response) = ready
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(err("chromedriver did not become ready within 20 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_session(&self, chromium: &Path) -> WdResult<String> {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--window-size=1100,900".to_owned(),
            format!("--user-data-dir={}", self.profile.display()),
        ];
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let response = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .map_err(|e| err(format!("new session: {e}")))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| err(format!("new session: {e}")))?;
        body["value"]["sessionId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                err(format!(
                    "chromedriver refused the session: {}",
                    body["value"]["message"]
                ))
            })
    }

    /// One command on the session; returns its `value`.
    async fn call(&self, method: &str, path: &str, body: Value) -> WdResult<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response = request
            .send()
            .await
            .map_err(|e| err(format!("{method} {path}: {e}")))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| err(format!("{method} {path}: {e}")))?;
        if status.is_success() {
            Ok(body["value"].clone())
        } else {
            Err(err(format!(
                "{method} {path}: {} ({})",
                body["value"]["message"].as_str().unwrap_or("no message"),
                body["value"]["error"].as_str().unwrap_or("no error code"),
            )))
        }
    }

    /// Opens `url` and waits for the page load.
    ///
    /// # Errors
    ///
    /// The browser refused or timed out.
    pub async fn goto(&self, url: &str) -> WdResult<()> {
        self.call("POST", "/url", json!({ "url": url })).await?;
        Ok(())
    }

    /// The address bar.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn url(&self) -> WdResult<String> {
        let value = self.call("GET", "/url", Value::Null).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Every cookie the browser holds for the current page, `HttpOnly` ones included
    /// (WebDriver sees them; the page's `document.cookie` does not), as
    /// `(name, value, http_only)`.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn cookies(&self) -> WdResult<Vec<(String, String, bool)>> {
        let value = self.call("GET", "/cookie", Value::Null).await?;
        Ok(value
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_owned(),
                            c["value"].as_str().unwrap_or_default().to_owned(),
                            c["httpOnly"].as_bool().unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The page's title.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn title(&self) -> WdResult<String> {
        let value = self.call("GET", "/title", Value::Null).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Goes back one page in the history.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn back(&self) -> WdResult<()> {
        self.call("POST", "/back", json!({})).await?;
        Ok(())
    }

    /// Reloads the page.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn reload(&self) -> WdResult<()> {
        self.call("POST", "/refresh", json!({})).await?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and
    /// returns what it returns.
    ///
    /// # Errors
    ///
    /// The script threw, or the browser refused.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Runs `script` asynchronously: it calls `arguments[arguments.length - 1]` with
    /// its result.
    ///
    /// # Errors
    ///
    /// The script threw or timed out, or the browser refused.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.call(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    async fn find(&self, css: &str) -> WdResult<Option<String>> {
        let found = self
            .call(
                "POST",
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await?;
        Ok(found
            .as_array()
            .and_then(|all| all.first())
            .and_then(|el| el[ELEMENT_KEY].as_str())
            .map(str::to_owned))
    }

    /// Waits (up to 15 s, a safety net) until `css` matches an element, and returns
    /// its reference.
    async fn wait_for(&self, css: &str) -> WdResult<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(id) = self.find(css).await? {
                return Ok(id);
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "no element matches {css:?} on {}",
                    self.url().await.unwrap_or_default()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether an element matches `css` now.
    ///
    /// # Errors
    ///
    /// The browser refused.
    pub async fn exists(&self, css: &str) -> WdResult<bool> {
        Ok(self.find(css).await?.is_some())
    }

    /// Clicks the element `css` (waiting for it to appear).
    ///
    /// # Errors
    ///
    /// No such element, or the browser refused.
    pub async fn click(&self, css: &str) -> WdResult<()> {
        let id = self.wait_for(css).await?;
        self.call("POST", &format!("/element/{id}/click"), json!({}))
            .await?;
        Ok(())
    }

    /// The visible text of the element `css` (waiting for it to appear).
    ///
    /// # Errors
    ///
    /// No such element, or the browser refused.
    pub async fn text(&self, css: &str) -> WdResult<String> {
        let id = self.wait_for(css).await?;
        let value = self
            .call("GET", &format!("/element/{id}/text"), Value::Null)
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits (up to 15 s, a safety net) until the text of `css` satisfies `done`, and
    /// returns it.
    ///
    /// # Errors
    ///
    /// It never did (the message shows the last text), or the browser refused.
    pub async fn wait_text(&self, css: &str, done: impl Fn(&str) -> bool) -> WdResult<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = match self.find(css).await? {
                Some(id) => self
                    .call("GET", &format!("/element/{id}/text"), Value::Null)
                    .await?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                None => String::new(),
            };
            if done(&text) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "{css:?} on {} still reads {text:?}",
                    self.url().await.unwrap_or_default()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s, a safety net) until the address bar satisfies `done`.
    ///
    /// # Errors
    ///
    /// It never did, or the browser refused.
    pub async fn wait_url(&self, done: impl Fn(&str) -> bool) -> WdResult<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await?;
            if done(&url) {
                return Ok(url);
            }
            if Instant::now() > deadline {
                return Err(err(format!("the browser stayed on {url}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the viewport as `NN-name.png` in the screenshot directory and
    /// returns its path.
    ///
    /// # Errors
    ///
    /// The browser refused, or the file could not be written.
    pub async fn screenshot(&mut self, name: &str) -> WdResult<PathBuf> {
        let value = self.call("GET", "/screenshot", Value::Null).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
            .map_err(|e| err(format!("screenshot is not base64: {e}")))?;
        self.shots += 1;
        let path = self
            .screenshots
            .join(format!("{:02}-{name}.png", self.shots));
        std::fs::write(&path, png)
            .map_err(|e| err(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Ending the session closes Chromium; killing the driver is the backstop.
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        let client = reqwest::Client::new();
                        let _ = client
                            .delete(url)
                            .timeout(Duration::from_secs(5))
                            .send()
                            .await;
                    });
                }
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
