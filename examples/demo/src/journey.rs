//! The browser journey of `--self-test`, over HTTP with a scripted browser: log in at
//! the API, sign in at the issuer (`login_hint`), come back through the callback,
//! redeem the exchange code from the frontend's origin, call the API with the cookies,
//! refresh, log out at the API and at the issuer, and check the session is gone.
//!
//! No token is ever printed: the lines say what was checked, not what was seen.

use authgate_testkit::Endpoint;
use demo::{DEMO_USERS, Demo, DemoUser, FlowCookie};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::{Browser, Page, is_expired};
use crate::report::Report;

/// A cross-site origin, as an attacker's page would send.
const EVIL: &str = "https://evil.example";

/// Runs the whole journey for ada, then a shorter one for every other demo user.
pub(crate) async fn run(demo: &Demo, report: &mut Report) -> Result<(), reqwest::Error> {
    for user in &DEMO_USERS {
        let mut steps = Steps::new(demo, user)?;
        steps.run(report, user.sub == "ada").await?;
    }
    Ok(())
}

struct Steps<'a> {
    demo: &'a Demo,
    user: &'a DemoUser,
    browser: Browser,
}

impl<'a> Steps<'a> {
    fn new(demo: &'a Demo, user: &'a DemoUser) -> Result<Self, reqwest::Error> {
        Ok(Self {
            demo,
            user,
            browser: Browser::new()?,
        })
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.demo.api_url())
    }

    fn front(&self, path: &str) -> String {
        format!("{}{path}", self.demo.frontend_url())
    }

    /// A check line: `journey <sub>  <what>`.
    fn check(&self, report: &mut Report, ok: bool, what: &str) -> bool {
        report.check(ok, &format!("journey {:<4} {what}", self.user.sub))
    }

    async fn run(&mut self, report: &mut Report, full: bool) -> Result<(), reqwest::Error> {
        if !self.sign_in(report, full).await? {
            return Ok(());
        }
        self.use_the_api(report, full).await?;
        if full {
            self.items(report).await?;
        }
        let refresh_before = self.refresh_token();
        if full && !self.refresh(report).await? {
            return Ok(());
        }
        let refresh_after = self.refresh_token();
        self.log_out(report, full).await?;
        if full {
            // Both the rotated-out and the last refresh token are useless now.
            for (which, token) in [("rotated-out", refresh_before), ("last", refresh_after)] {
                let Some(token) = token else { continue };
                let status = self.replay_refresh(&token).await?;
                self.check(
                    report,
                    status == StatusCode::UNAUTHORIZED,
                    &format!(
                        "POST /auth/refresh with the {which} refresh token after logout -> {} (expected 401)",
                        status.as_u16()
                    ),
                );
            }
        }
        Ok(())
    }

    fn refresh_token(&self) -> Option<String> {
        self.browser.cookie(
            &self.api("/auth/refresh"),
            self.demo.cookie_name(FlowCookie::Refresh),
        )
    }

    /// `/auth/login` → the issuer → `/auth/callback` → the frontend's callback page →
    /// `POST /auth/exchange`. Answers whether the browser is signed in.
    async fn sign_in(&mut self, report: &mut Report, full: bool) -> Result<bool, reqwest::Error> {
        let login = self
            .browser
            .get(&self.api("/auth/login?redirect=/me"))
            .await?;
        let authorize = self.demo.issuer().endpoint_url(Endpoint::Authorize);
        let to_issuer = login.status == StatusCode::FOUND
            && login.location().is_some_and(|l| l.starts_with(&authorize));
        if !self.check(
            report,
            to_issuer,
            &format!(
                "GET  /auth/login -> {} to the issuer's authorization endpoint",
                login.status.as_u16()
            ),
        ) {
            return Ok(false);
        }
        let location = login.location().unwrap_or_default();
        let signed_in = self
            .browser
            .get(&format!("{location}&login_hint={}", self.user.sub))
            .await?;
        let callback = self.api("/auth/callback?");
        let back = signed_in.status == StatusCode::FOUND
            && signed_in
                .location()
                .is_some_and(|l| l.starts_with(&callback) && l.contains("code="));
        if !self.check(
            report,
            back,
            &format!(
                "GET  issuer authorize (login_hint={}) -> {} back to the API's callback with a code",
                self.user.sub,
                signed_in.status.as_u16()
            ),
        ) {
            return Ok(false);
        }
        let location = signed_in.location().unwrap_or_default().to_owned();
        let called_back = self.browser.get(&location).await?;
        let front_callback = self.front("/auth/callback?exchange=");
        let exchange = called_back
            .location()
            .and_then(|l| l.strip_prefix(&front_callback))
            .map(str::to_owned);
        if !self.check(
            report,
            called_back.status == StatusCode::FOUND && exchange.is_some(),
            &format!(
                "GET  /auth/callback -> {} to the frontend's callback page with an exchange code",
                called_back.status.as_u16()
            ),
        ) {
            return Ok(false);
        }
        let exchange = exchange.unwrap_or_default();
        let page = self
            .browser
            .get(called_back.location().unwrap_or_default())
            .await?;
        if full {
            self.check(
                report,
                page.status == StatusCode::OK && page.body.contains("data-page=\"callback\""),
                &format!(
                    "GET  frontend /auth/callback -> {} the callback page",
                    page.status.as_u16()
                ),
            );
            let preflight = self
                .browser
                .preflight(&self.api("/auth/exchange"), self.demo.frontend_url())
                .await?;
            self.check(
                report,
                cors_allows(&preflight, self.demo.frontend_url()),
                "OPTIONS /auth/exchange from the frontend -> CORS allows it, with credentials",
            );
            let evil = self
                .browser
                .preflight(&self.api("/auth/exchange"), EVIL)
                .await?;
            self.check(
                report,
                evil.header("access-control-allow-origin").is_none(),
                "OPTIONS /auth/exchange from another site -> no CORS allowance",
            );
        }
        let origin = self.demo.frontend_url().to_owned();
        let redeemed = self
            .browser
            .fetch(
                Method::POST,
                &self.api("/auth/exchange"),
                &origin,
                Some(&json!({ "code": exchange })),
            )
            .await?;
        let access = self.demo.cookie_name(FlowCookie::Access);
        let names = [FlowCookie::Access, FlowCookie::Refresh, FlowCookie::Id]
            .map(|cookie| self.demo.cookie_name(cookie));
        let cookies_ok = names.iter().all(|name| {
            redeemed
                .set_cookie(name)
                .is_some_and(|c| c.http_only() == Some(true) && !is_expired(c))
        });
        let token = self.browser.cookie(&self.api("/api/me"), access);
        let body_has_no_token = token.as_deref().is_some_and(|t| !redeemed.body.contains(t));
        let ok = redeemed.status == StatusCode::OK
            && redeemed.json()["redirectTo"] == "/me"
            && cookies_ok
            && body_has_no_token
            && cors_allows(&redeemed, &origin);
        if !self.check(
            report,
            ok,
            &format!(
                "POST /auth/exchange from the frontend -> {} HttpOnly cookies, redirectTo /me, no token in the body",
                redeemed.status.as_u16()
            ),
        ) {
            return Ok(false);
        }
        if full {
            let again = self
                .browser
                .fetch(
                    Method::POST,
                    &self.api("/auth/exchange"),
                    &origin,
                    Some(&json!({ "code": exchange })),
                )
                .await?;
            self.check(
                report,
                again.status.is_client_error(),
                &format!(
                    "POST /auth/exchange with the same code again -> {} (single use)",
                    again.status.as_u16()
                ),
            );
        }
        Ok(true)
    }

    /// `/api/me`, `/api/admin` and `/api/support` with the cookies, from the frontend.
    async fn use_the_api(&mut self, report: &mut Report, full: bool) -> Result<(), reqwest::Error> {
        let origin = self.demo.frontend_url().to_owned();
        if full {
            let page = self.browser.get(&self.front("/me")).await?;
            self.check(
                report,
                page.status == StatusCode::OK && page.body.contains("id=\"me-sub\""),
                &format!(
                    "GET  frontend /me -> {} the account page",
                    page.status.as_u16()
                ),
            );
        }
        let me = self
            .browser
            .fetch(Method::GET, &self.api("/api/me"), &origin, None)
            .await?;
        let body = me.json();
        let org = self.user.organization_id.unwrap_or(self.user.sub);
        let ok = me.status == StatusCode::OK
            && body["sub"] == self.user.sub
            && body["email"] == self.user.email()
            && body["organizationId"] == org
            && body["role"] == self.user.role
            && cors_allows(&me, &origin);
        self.check(
            report,
            ok,
            &format!(
                "GET  /api/me (cookie) -> {} sub {}, organizationId {org}, role {}",
                me.status.as_u16(),
                self.user.sub,
                self.user.role
            ),
        );
        let is_admin = self.user.role == "admin";
        let is_support = is_admin || self.user.role == "support";
        for (path, allowed) in [("/api/admin", is_admin), ("/api/support", is_support)] {
            let expect = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            let got = self
                .browser
                .fetch(Method::GET, &self.api(path), &origin, None)
                .await?;
            self.check(
                report,
                got.status == expect,
                &format!(
                    "GET  {path} (cookie) -> {} (expected {}: role {})",
                    got.status.as_u16(),
                    expect.as_u16(),
                    self.user.role
                ),
            );
        }
        Ok(())
    }

    /// Items: created from the frontend, refused from another site, and listed.
    async fn items(&mut self, report: &mut Report) -> Result<(), reqwest::Error> {
        let origin = self.demo.frontend_url().to_owned();
        let count = |page: &Page| page.json()["count"].as_u64();
        let before = self
            .browser
            .fetch(Method::GET, &self.api("/api/items"), &origin, None)
            .await?;
        let before = count(&before).unwrap_or(u64::MAX);
        let created = self
            .browser
            .fetch(
                Method::POST,
                &self.api("/api/items"),
                &origin,
                Some(&json!({ "name": "pen" })),
            )
            .await?;
        self.check(
            report,
            created.status == StatusCode::CREATED,
            &format!(
                "POST /api/items (cookie) from the frontend -> {} (expected 201)",
                created.status.as_u16()
            ),
        );
        let forged = self
            .browser
            .fetch(
                Method::POST,
                &self.api("/api/items"),
                EVIL,
                Some(&json!({ "name": "forged" })),
            )
            .await?;
        self.check(
            report,
            forged.status == StatusCode::FORBIDDEN,
            &format!(
                "POST /api/items (cookie) from another site -> {} (expected 403: CSRF)",
                forged.status.as_u16()
            ),
        );
        let after = self
            .browser
            .fetch(Method::GET, &self.api("/api/items"), &origin, None)
            .await?;
        let after = count(&after);
        self.check(
            report,
            after == before.checked_add(1),
            &format!(
                "GET  /api/items -> {} item(s): the frontend's one was stored, the forged one was not",
                after.map_or_else(|| String::from("?"), |n| n.to_string())
            ),
        );
        Ok(())
    }

    /// `POST /auth/refresh`: new access and refresh cookies, and the API still answers.
    async fn refresh(&mut self, report: &mut Report) -> Result<bool, reqwest::Error> {
        let origin = self.demo.frontend_url().to_owned();
        let access = self.demo.cookie_name(FlowCookie::Access);
        let me_url = self.api("/api/me");
        let before = self.browser.cookie(&me_url, access);
        let refreshed = self
            .browser
            .fetch(Method::POST, &self.api("/auth/refresh"), &origin, None)
            .await?;
        let after = self.browser.cookie(&me_url, access);
        let rotated = refreshed
            .set_cookie(self.demo.cookie_name(FlowCookie::Refresh))
            .is_some_and(|c| !is_expired(c));
        let ok =
            refreshed.status == StatusCode::OK && after.is_some() && after != before && rotated;
        self.check(
            report,
            ok,
            &format!(
                "POST /auth/refresh -> {} a new access cookie and a rotated refresh cookie",
                refreshed.status.as_u16()
            ),
        );
        let me = self
            .browser
            .fetch(Method::GET, &me_url, &origin, None)
            .await?;
        Ok(self.check(
            report,
            me.status == StatusCode::OK,
            &format!("GET  /api/me with the new cookie -> {}", me.status.as_u16()),
        ) && ok)
    }

    /// `POST /auth/logout`, then the issuer's end-session URL, then `/api/me` is 401.
    async fn log_out(&mut self, report: &mut Report, full: bool) -> Result<(), reqwest::Error> {
        let origin = self.demo.frontend_url().to_owned();
        let access = self.demo.cookie_name(FlowCookie::Access);
        let refresh = self.demo.cookie_name(FlowCookie::Refresh);
        let names = [FlowCookie::Access, FlowCookie::Refresh, FlowCookie::Id]
            .map(|cookie| self.demo.cookie_name(cookie));
        let out = self
            .browser
            .fetch(Method::POST, &self.api("/auth/logout"), &origin, None)
            .await?;
        let end_session = self.demo.issuer().endpoint_url(Endpoint::EndSession);
        let logout_url = out.json()["logoutUrl"].as_str().map(str::to_owned);
        let cleared = names
            .iter()
            .all(|name| out.set_cookie(name).is_some_and(is_expired));
        let jar_empty = self.browser.cookie(&self.api("/api/me"), access).is_none()
            && self
                .browser
                .cookie(&self.api("/auth/refresh"), refresh)
                .is_none();
        let ok = out.status == StatusCode::OK
            && logout_url
                .as_deref()
                .is_some_and(|u| u.starts_with(&end_session))
            && cleared
            && jar_empty;
        self.check(
            report,
            ok,
            &format!(
                "POST /auth/logout -> {} cookies cleared, logoutUrl at the issuer's end-session",
                out.status.as_u16()
            ),
        );
        if let Some(url) = logout_url.filter(|_| full) {
            let ended = self.browser.get(&url).await?;
            let home = self.front("/");
            let back_home = ended
                .location()
                .is_some_and(|l| l == home || l.starts_with(&format!("{home}?")));
            self.check(
                report,
                ended.status == StatusCode::FOUND && back_home,
                &format!(
                    "GET  issuer end-session -> {} back to the frontend ({home})",
                    ended.status.as_u16()
                ),
            );
        }
        let me = self
            .browser
            .fetch(Method::GET, &self.api("/api/me"), &origin, None)
            .await?;
        self.check(
            report,
            me.status == StatusCode::UNAUTHORIZED,
            &format!(
                "GET  /api/me after logout -> {} (expected 401)",
                me.status.as_u16()
            ),
        );
        Ok(())
    }

    /// `POST /auth/refresh` with a refresh token the browser no longer holds.
    async fn replay_refresh(&self, token: &str) -> Result<StatusCode, reqwest::Error> {
        let client = reqwest::Client::new();
        let response = client
            .post(self.api("/auth/refresh"))
            .header("origin", self.demo.frontend_url())
            .header(
                "cookie",
                format!("{}={token}", self.demo.cookie_name(FlowCookie::Refresh)),
            )
            .send()
            .await?;
        Ok(response.status())
    }
}

/// Whether a CORS answer lets the page at `origin` read it with credentials.
fn cors_allows(page: &Page, origin: &str) -> bool {
    page.header("access-control-allow-origin") == Some(origin)
        && page.header("access-control-allow-credentials") == Some("true")
}
