//! The flow's cookies: names, attributes, and clearing them with the same attributes.

use std::time::Duration;

use cookie::time::{Duration as CookieDuration, OffsetDateTime};
use cookie::{Cookie, SameSite};

/// Browsers drop a cookie whose name, value and attributes exceed this many bytes.
const BROWSER_COOKIE_LIMIT: usize = 4096;

/// The cookies the flow sets (see [`Flow::cookie_name`](crate::Flow::cookie_name) and
/// the [configuration docs](crate::FlowConfig#cookies)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlowCookie {
    /// The access token, on `/`.
    Access,
    /// The refresh token, on `{prefix}` (for `/refresh`, and `/logout`, which revokes
    /// it at the provider).
    Refresh,
    /// The ID token (for `id_token_hint` at logout, and the session's `sub` at
    /// refresh), on `{prefix}`.
    Id,
    /// The sealed state of a login in progress, on `{prefix}/callback`.
    Login,
    /// The exchange binding: proves at `{prefix}/exchange` that this browser completed
    /// the callback that issued the exchange code.
    Exchange,
}

/// Builds every `Set-Cookie` value of the flow.
#[derive(Debug, Clone)]
pub(crate) struct Cookies {
    access: String,
    refresh: String,
    id: String,
    login: String,
    exchange: String,
    prefix: String,
    secure: bool,
}

impl Cookies {
    pub(crate) fn new(access_name: &str, prefix: &str, secure: bool) -> Self {
        Self {
            access: access_name.to_owned(),
            refresh: derived_name(access_name, "_refresh"),
            id: derived_name(access_name, "_id"),
            login: derived_name(access_name, "_login"),
            exchange: derived_name(access_name, "_exchange"),
            prefix: prefix.to_owned(),
            secure,
        }
    }

    pub(crate) fn name(&self, kind: FlowCookie) -> &str {
        match kind {
            FlowCookie::Access => &self.access,
            FlowCookie::Refresh => &self.refresh,
            FlowCookie::Id => &self.id,
            FlowCookie::Login => &self.login,
            FlowCookie::Exchange => &self.exchange,
        }
    }

    pub(crate) fn path(&self, kind: FlowCookie) -> String {
        match kind {
            FlowCookie::Access => String::from("/"),
            // Sent to /refresh, and to /logout, which revokes it at the provider.
            FlowCookie::Refresh | FlowCookie::Id if self.prefix.is_empty() => String::from("/"),
            FlowCookie::Refresh => self.prefix.clone(),
            FlowCookie::Id => self.prefix.clone(),
            FlowCookie::Login => format!("{}/callback", self.prefix),
            FlowCookie::Exchange => format!("{}/exchange", self.prefix),
        }
    }

    fn base(&self, kind: FlowCookie, value: String) -> Cookie<'static> {
        Cookie::build((self.name(kind).to_owned(), value))
            .path(self.path(kind))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build()
    }

    /// `Set-Cookie` for `value`, living `max_age` (whole seconds).
    pub(crate) fn set(&self, kind: FlowCookie, value: &str, max_age: Duration) -> String {
        let mut cookie = self.base(kind, value.to_owned());
        let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(CookieDuration::seconds(secs));
        let header = cookie.to_string();
        if header.len() > BROWSER_COOKIE_LIMIT {
            tracing::warn!(
                cookie = self.name(kind),
                bytes = header.len(),
                "cookie larger than browsers keep (4096 bytes); it will be dropped"
            );
        }
        header
    }

    /// `Set-Cookie` that deletes the cookie: the same name, path, `HttpOnly`,
    /// `SameSite` and `Secure` as when it was set, an empty value, `Max-Age=0` and an
    /// `Expires` in the past.
    pub(crate) fn clear(&self, kind: FlowCookie) -> String {
        let mut cookie = self.base(kind, String::new());
        cookie.set_max_age(CookieDuration::ZERO);
        cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
        cookie.to_string()
    }

    /// Clears the access, refresh and ID cookies.
    pub(crate) fn clear_session(&self) -> [String; 3] {
        [
            self.clear(FlowCookie::Access),
            self.clear(FlowCookie::Refresh),
            self.clear(FlowCookie::Id),
        ]
    }
}

/// The name of a companion cookie. `__Host-` requires `Path=/`, so a companion of a
/// `__Host-` cookie (on another path) gets the `__Secure-` prefix instead.
fn derived_name(access: &str, suffix: &str) -> String {
    match access.strip_prefix("__Host-") {
        Some(rest) => format!("__Secure-{rest}{suffix}"),
        None => format!("{access}{suffix}"),
    }
}

/// Whether `value` can be a cookie value as is (RFC 6265 `cookie-octet`s).
pub(crate) fn is_cookie_safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// The first non-empty value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    authgate::__private::cookie_value(headers, name).and_then(|v| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(header: &str) -> Vec<String> {
        header.split("; ").skip(1).map(str::to_owned).collect()
    }

    #[test]
    fn access_cookie_attributes() {
        let cookies = Cookies::new("app_auth", "/auth", false);
        let header = cookies.set(FlowCookie::Access, "a.b.c", Duration::from_secs(300));
        assert!(header.starts_with("app_auth=a.b.c; "), "{header}");
        let attrs = attrs(&header);
        for expected in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=300"] {
            assert!(
                attrs.iter().any(|a| a == expected),
                "{expected} in {header}"
            );
        }
        assert!(!attrs.iter().any(|a| a == "Secure"), "{header}");
        assert!(!attrs.iter().any(|a| a.starts_with("Domain")), "{header}");
    }

    #[test]
    fn paths_of_each_cookie() {
        let cookies = Cookies::new("app_auth", "/auth", true);
        let cases = [
            (FlowCookie::Access, "app_auth", "/"),
            (FlowCookie::Refresh, "app_auth_refresh", "/auth"),
            (FlowCookie::Id, "app_auth_id", "/auth"),
            (FlowCookie::Login, "app_auth_login", "/auth/callback"),
            (FlowCookie::Exchange, "app_auth_exchange", "/auth/exchange"),
        ];
        for (kind, name, path) in cases {
            let header = cookies.set(kind, "v", Duration::from_secs(60));
            assert!(header.starts_with(&format!("{name}=v; ")), "{header}");
            let attrs = attrs(&header);
            assert!(attrs.contains(&format!("Path={path}")), "{header}");
            assert!(attrs.iter().any(|a| a == "Secure"), "{header}");
            assert!(attrs.iter().any(|a| a == "HttpOnly"), "{header}");
            assert!(attrs.iter().any(|a| a == "SameSite=Lax"), "{header}");
        }
        let root = Cookies::new("s", "", false);
        assert_eq!(root.path(FlowCookie::Refresh), "/");
        assert_eq!(root.path(FlowCookie::Id), "/");
    }

    #[test]
    fn max_age_follows_the_lifetime() {
        let cookies = Cookies::new("app_auth", "/auth", false);
        let header = cookies.set(FlowCookie::Refresh, "r", Duration::from_secs(2_592_000));
        assert!(
            attrs(&header).contains(&"Max-Age=2592000".to_owned()),
            "{header}"
        );
        let header = cookies.set(FlowCookie::Access, "a", Duration::from_millis(59_900));
        assert!(
            attrs(&header).contains(&"Max-Age=59".to_owned()),
            "{header}"
        );
    }

    #[test]
    fn clearing_repeats_every_attribute() {
        for secure in [false, true] {
            let cookies = Cookies::new("app_auth", "/auth", secure);
            for kind in [
                FlowCookie::Access,
                FlowCookie::Refresh,
                FlowCookie::Id,
                FlowCookie::Login,
            ] {
                let set = cookies.set(kind, "value", Duration::from_secs(60));
                let clear = cookies.clear(kind);
                assert!(
                    clear.starts_with(&format!("{}=; ", cookies.name(kind))),
                    "{clear}"
                );
                let set_attrs: Vec<_> = attrs(&set)
                    .into_iter()
                    .filter(|a| !a.starts_with("Max-Age"))
                    .collect();
                let clear_attrs = attrs(&clear);
                for attr in &set_attrs {
                    assert!(clear_attrs.contains(attr), "{attr} missing in {clear}");
                }
                assert!(clear_attrs.contains(&"Max-Age=0".to_owned()), "{clear}");
                assert!(
                    clear_attrs
                        .iter()
                        .any(|a| a == "Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
                    "{clear}"
                );
            }
        }
    }

    #[test]
    fn host_prefixed_names_give_secure_prefixed_companions() {
        let cookies = Cookies::new("__Host-session", "/auth", true);
        assert_eq!(cookies.name(FlowCookie::Access), "__Host-session");
        assert_eq!(
            cookies.name(FlowCookie::Refresh),
            "__Secure-session_refresh"
        );
        assert_eq!(cookies.name(FlowCookie::Id), "__Secure-session_id");
        let plain = Cookies::new("__Secure-s", "/auth", true);
        assert_eq!(plain.name(FlowCookie::Refresh), "__Secure-s_refresh");
    }

    #[test]
    fn cookie_safe_values() {
        assert!(is_cookie_safe("eyJhbGciOi.eyJzdWIiOi.c2ln-_"));
        assert!(is_cookie_safe("abc~!#$%&'()*+-./:<=>?@[]^_`{|}"));
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "é", "a\tb"] {
            assert!(!is_cookie_safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn reading_request_cookies() {
        let mut headers = http::HeaderMap::new();
        headers.append("cookie", "a=1; app_auth_refresh=r1".parse().unwrap());
        headers.append("cookie", "app_auth_refreshx=no; b=\"q\"".parse().unwrap());
        assert_eq!(cookie_value(&headers, "app_auth_refresh"), Some("r1"));
        assert_eq!(cookie_value(&headers, "b"), Some("q"));
        assert_eq!(cookie_value(&headers, "app_auth"), None);
        headers.append("cookie", "empty=".parse().unwrap());
        assert_eq!(cookie_value(&headers, "empty"), None);
    }
}
