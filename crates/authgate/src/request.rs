//! Finding the token in a request, and the CSRF origin check, framework-neutral.
//!
//! The order is fixed: the auth cookie first, then `Authorization: Bearer` (the scheme
//! is case-insensitive). The query string is never read. A token longer than the cap
//! is refused before it is parsed, and a request with several `Authorization` headers
//! is refused outright.
//!
//! Adapters for other HTTP stacks implement [`HeaderSource`] for their header map;
//! [`http::HeaderMap`] already does.
//!
//! The [`Authenticator`](crate::Authenticator) applies these rules; the CSRF rule for
//! cookie-authenticated unsafe requests is documented on [`origin_is_trusted`].

use crate::error::AuthError;

/// Read access to request headers, so the core works with any HTTP stack's types.
pub trait HeaderSource {
    /// The values of one header.
    type Values<'a>: Iterator<Item = &'a [u8]>
    where
        Self: 'a;

    /// Every value of the header `name` (given in lowercase), in order.
    fn values<'a>(&'a self, name: &'static str) -> Self::Values<'a>;
}

type AsBytes = fn(&http::HeaderValue) -> &[u8];

impl HeaderSource for http::HeaderMap {
    type Values<'a> = std::iter::Map<http::header::ValueIter<'a, http::HeaderValue>, AsBytes>;

    fn values<'a>(&'a self, name: &'static str) -> Self::Values<'a> {
        self.get_all(name)
            .iter()
            .map(http::HeaderValue::as_bytes as AsBytes)
    }
}

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The auth cookie.
    Cookie,
    /// `Authorization: Bearer`.
    Bearer,
}

/// A token found in a request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoundToken<'a> {
    token: &'a str,
    source: TokenSource,
}

impl std::fmt::Debug for FoundToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        f.debug_struct("FoundToken")
            .field("source", &self.source)
            .field("len", &self.token.len())
            .finish()
    }
}

impl<'a> FoundToken<'a> {
    /// The raw token.
    #[must_use]
    pub(crate) fn token(&self) -> &'a str {
        self.token
    }

    /// Where it came from.
    #[must_use]
    pub(crate) fn source(&self) -> TokenSource {
        self.source
    }
}

/// Finds the token: the cookie `cookie_name` first, then `Authorization: Bearer`.
///
/// Returns `Ok(None)` when the request carries neither.
///
/// # Errors
///
/// [`AuthError::MultipleAuthorizationHeaders`], [`AuthError::TokenTooLarge`] (checked
/// before anything else is done with the token) and [`AuthError::Malformed`] for a
/// token that is not visible ASCII.
pub(crate) fn find_token<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    cookie_name: &str,
    host_cookie_name: Option<&str>,
    max_bytes: usize,
) -> Result<Option<FoundToken<'a>>, AuthError> {
    let mut authorization = headers.values("authorization");
    let first_authorization = authorization.next();
    if authorization.next().is_some() {
        return Err(AuthError::MultipleAuthorizationHeaders);
    }
    let cookie = match host_cookie_name {
        Some(host_name) => cookie_either(headers, host_name, cookie_name),
        None => cookie_value(headers, cookie_name),
    };
    if let Some(value) = cookie {
        return Ok(Some(FoundToken {
            token: checked(value, max_bytes)?,
            source: TokenSource::Cookie,
        }));
    }
    let Some(value) = first_authorization else {
        return Ok(None);
    };
    let value = trim(value);
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // Another scheme (Basic, …) is not ours: as if there were no token.
        return Ok(None);
    }
    let token = trim(rest);
    if token.is_empty() {
        return Err(AuthError::Malformed {
            reason: "the Bearer credentials are empty",
        });
    }
    Ok(Some(FoundToken {
        token: checked(token, max_bytes)?,
        source: TokenSource::Bearer,
    }))
}

fn checked(token: &[u8], max_bytes: usize) -> Result<&str, AuthError> {
    if token.len() > max_bytes {
        return Err(AuthError::TokenTooLarge { limit: max_bytes });
    }
    // Not short-circuiting, so that the loop is vectorised: a valid token is read
    // whole anyway.
    if !token.iter().fold(true, |ok, b| ok & b.is_ascii_graphic()) {
        return Err(AuthError::Malformed {
            reason: "the token has characters outside visible ASCII",
        });
    }
    // Visible ASCII is valid UTF-8.
    std::str::from_utf8(token).map_err(|_| AuthError::Malformed {
        reason: "the token is not UTF-8",
    })
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The first non-empty value of cookie `name` in the `Cookie` headers (surrounding
/// double quotes removed). Every cookie authgate reads goes through this one parser.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.append("cookie", "a=1; app_auth=\"t.o.k\"".parse().unwrap());
/// assert_eq!(authgate::__private::cookie_value(&headers, "app_auth"), Some(&b"t.o.k"[..]));
/// assert_eq!(authgate::__private::cookie_value(&headers, "b"), None);
/// ```
pub fn cookie_value<'a, H: HeaderSource + ?Sized>(headers: &'a H, name: &str) -> Option<&'a [u8]> {
    cookies(headers).find_map(|(key, value)| (key == name.as_bytes()).then_some(value))
}

/// The value of cookie `first` if there is one, else that of `second`: one pass over
/// the `Cookie` headers.
fn cookie_either<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    first: &str,
    second: &str,
) -> Option<&'a [u8]> {
    let mut fallback = None;
    for (key, value) in cookies(headers) {
        if key == first.as_bytes() {
            return Some(value);
        }
        if fallback.is_none() && key == second.as_bytes() {
            fallback = Some(value);
        }
    }
    fallback
}

/// Every `name=value` pair with a non-empty value in the `Cookie` headers, trimmed,
/// the value's surrounding double quotes removed.
fn cookies<H: HeaderSource + ?Sized>(headers: &H) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers.values("cookie").flat_map(|header| {
        // `memchr` rather than a byte-at-a-time split: a cookie holding a token is long.
        let mut rest = Some(header);
        std::iter::from_fn(move || {
            let header = rest?;
            let (pair, next) = match memchr::memchr(b';', header) {
                Some(end) => (&header[..end], Some(&header[end + 1..])),
                None => (header, None),
            };
            rest = next;
            Some(pair)
        })
        .filter_map(|pair| {
            let pair = trim(pair);
            let eq = memchr::memchr(b'=', pair)?;
            let (key, value) = (trim(&pair[..eq]), trim(&pair[eq + 1..]));
            let value = match value {
                [b'"', inner @ .., b'"'] => inner,
                other => other,
            };
            (!value.is_empty()).then_some((key, value))
        })
    })
}

/// Whether a method may change state (anything but GET, HEAD, OPTIONS, TRACE).
#[must_use]
pub fn is_unsafe_method(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// The CSRF rule for a cookie-authenticated unsafe request (the core and the flow
/// share it):
///
/// 1. When the request carries an `Origin`, only the `trusted` list decides. `null`
///    (sandboxed frames, some redirects) is never trusted, and `Sec-Fetch-Site` is not
///    consulted: a sibling subdomain is `same-site` but not trusted.
/// 2. Only when `Origin` is absent may `Sec-Fetch-Site` decide, and only
///    `same-origin` passes.
/// 3. With neither header the request is refused.
#[must_use]
pub fn origin_is_trusted<H: HeaderSource + ?Sized>(headers: &H, trusted: &[String]) -> bool {
    if let Some(origin) = headers.values("origin").next() {
        let origin = trim(origin);
        return origin != b"null"
            && trusted
                .iter()
                .any(|t| t.as_bytes().eq_ignore_ascii_case(origin));
    }
    headers
        .values("sec-fetch-site")
        .next()
        .is_some_and(|site| trim(site).eq_ignore_ascii_case(b"same-origin"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn find(pairs: &[(&'static str, &str)]) -> Result<Option<(String, TokenSource)>, AuthError> {
        let map = headers(pairs);
        find_token(&map, "app_auth", Some("__Host-app_auth"), 64)
            .map(|f| f.map(|f| (f.token().to_owned(), f.source())))
    }

    #[test]
    fn the_host_prefixed_cookie_is_read_first_and_the_plain_one_still_works() {
        let found = find(&[("cookie", "app_auth=old.o.o; __Host-app_auth=new.n.n")]);
        assert_eq!(
            found.unwrap(),
            Some(("new.n.n".into(), TokenSource::Cookie))
        );
        let legacy = find(&[("cookie", "app_auth=old.o.o")]);
        assert_eq!(
            legacy.unwrap(),
            Some(("old.o.o".into(), TokenSource::Cookie))
        );
    }

    #[test]
    fn cookie_wins_over_bearer() {
        let found = find(&[
            ("authorization", "Bearer b.b.b"),
            ("cookie", "app_auth=c.c.c"),
        ]);
        assert_eq!(found.unwrap(), Some(("c.c.c".into(), TokenSource::Cookie)));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let found = find(&[("authorization", &format!("{scheme} t.t.t"))]).unwrap();
            assert_eq!(found, Some(("t.t.t".into(), TokenSource::Bearer)));
        }
    }

    #[test]
    fn other_schemes_and_absence_mean_no_token() {
        assert_eq!(find(&[]).unwrap(), None);
        assert_eq!(
            find(&[("authorization", "Basic dXNlcjpwYXNz")]).unwrap(),
            None
        );
        assert_eq!(find(&[("cookie", "other=x.y.z")]).unwrap(), None);
        assert_eq!(find(&[("cookie", "app_auth=")]).unwrap(), None);
    }

    #[test]
    fn empty_bearer_is_malformed() {
        assert!(matches!(
            find(&[("authorization", "Bearer    ")]),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            find(&[("authorization", "Bearer")]),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn several_authorization_headers_are_refused() {
        let err = find(&[
            ("authorization", "Bearer a.a.a"),
            ("authorization", "Bearer b.b.b"),
        ])
        .unwrap_err();
        assert!(matches!(err, AuthError::MultipleAuthorizationHeaders));
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn oversized_tokens_are_refused_from_both_places() {
        let big = "a".repeat(65);
        assert!(matches!(
            find(&[("authorization", &format!("Bearer {big}"))]),
            Err(AuthError::TokenTooLarge { limit: 64 })
        ));
        assert!(matches!(
            find(&[("cookie", &format!("app_auth={big}"))]),
            Err(AuthError::TokenTooLarge { limit: 64 })
        ));
    }

    #[test]
    fn cookie_parsing_handles_several_headers_quotes_and_prefixes() {
        let found = find(&[
            ("cookie", "xapp_auth=no; app_authx=no"),
            ("cookie", "a=b;  app_auth=\"q.q.q\" ; c=d"),
        ]);
        assert_eq!(found.unwrap(), Some(("q.q.q".into(), TokenSource::Cookie)));
    }

    #[test]
    fn origin_check() {
        let trusted = vec!["https://app.example.com".to_owned()];
        let check = |pairs: &[(&'static str, &str)]| origin_is_trusted(&headers(pairs), &trusted);
        // Origin present: only the trusted list decides.
        assert!(check(&[("origin", "https://app.example.com")]));
        assert!(check(&[("origin", "HTTPS://APP.EXAMPLE.COM")]));
        assert!(!check(&[("origin", "https://evil.example")]));
        assert!(!check(&[("origin", "https://blog.app.example.com")]));
        assert!(!check(&[("origin", "null")]));
        // A sibling subdomain is same-site, and still refused.
        assert!(!check(&[
            ("origin", "https://blog.example.com"),
            ("sec-fetch-site", "same-site")
        ]));
        assert!(!check(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ]));
        // Origin absent: only Sec-Fetch-Site: same-origin passes.
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        for site in ["same-site", "cross-site", "none", ""] {
            assert!(!check(&[("sec-fetch-site", site)]), "{site}");
        }
        // Neither header: refused.
        assert!(!check(&[]));
        assert!(is_unsafe_method("POST") && is_unsafe_method("DELETE"));
        assert!(!is_unsafe_method("GET") && !is_unsafe_method("OPTIONS"));
    }
}
