//! Finding the token in a request, and the CSRF origin check, framework-neutral.
//!
//! The order is fixed, and the first place that holds a token wins:
//!
//! 1. the auth cookie (`__Host-app_auth`, then `app_auth` with the default name);
//! 2. `Authorization: Bearer` (the scheme is case-insensitive);
//! 3. the configured token header, when one is configured
//!    ([`token_header`](crate::AuthConfigBuilder::token_header), off by default);
//! 4. the configured query parameter, when one is configured
//!    ([`token_query_param`](crate::AuthConfigBuilder::token_query_param), off by
//!    default), and only for `GET` and `HEAD` requests.
//!
//! The cookie and `Authorization` keep the order they always had; the opt-in places
//! come after them, and the query parameter last, read only when nothing else holds a
//! token, because a URL is the leakiest place for one (logs, history, `Referer`).
//! Each place is read only when the ones before it hold nothing, so a request with a
//! cookie or a Bearer token never looks further. A token longer than the cap is
//! refused before it is parsed, and a request with several `Authorization` headers,
//! several token headers or several token parameters is refused outright.
//!
//! Adapters for other HTTP stacks implement [`HeaderSource`] for their request;
//! [`http::HeaderMap`], [`http::Request`] and [`http::request::Parts`] already do.
//!
//! The [`Authenticator`](crate::Authenticator) applies these rules; the CSRF rule for
//! cookie-authenticated unsafe requests is documented on [`origin_is_trusted`].

use std::borrow::Cow;

use crate::error::AuthError;

mod query;

/// Read access to a request's headers (and, where the adapter has it, its query
/// string), so the core works with any HTTP stack's types.
pub trait HeaderSource {
    /// The values of one header.
    type Values<'a>: Iterator<Item = &'a [u8]>
    where
        Self: 'a;

    /// Every value of the header `name` (given in lowercase), in order.
    fn values<'a>(&'a self, name: &str) -> Self::Values<'a>;

    /// The request's query string (what follows `?`, still percent-encoded), if the
    /// adapter knows it. Read only when a
    /// [token query parameter](crate::AuthConfigBuilder::token_query_param) is
    /// configured. The default is `None`: a header map alone has no URI.
    fn query(&self) -> Option<&str> {
        None
    }
}

type AsBytes = fn(&http::HeaderValue) -> &[u8];

impl HeaderSource for http::HeaderMap {
    type Values<'a> = std::iter::Map<http::header::ValueIter<'a, http::HeaderValue>, AsBytes>;

    fn values<'a>(&'a self, name: &str) -> Self::Values<'a> {
        self.get_all(name)
            .iter()
            .map(http::HeaderValue::as_bytes as AsBytes)
    }
}

/// A request: its headers and its URI's query string.
impl<B> HeaderSource for http::Request<B> {
    type Values<'a>
        = <http::HeaderMap as HeaderSource>::Values<'a>
    where
        Self: 'a;

    fn values<'a>(&'a self, name: &str) -> Self::Values<'a> {
        HeaderSource::values(self.headers(), name)
    }

    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
}

/// A request's head: its headers and its URI's query string.
impl HeaderSource for http::request::Parts {
    type Values<'a> = <http::HeaderMap as HeaderSource>::Values<'a>;

    fn values<'a>(&'a self, name: &str) -> Self::Values<'a> {
        HeaderSource::values(&self.headers, name)
    }

    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
}

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// The auth cookie.
    Cookie,
    /// `Authorization: Bearer`.
    Bearer,
    /// The configured token header
    /// ([`token_header`](crate::AuthConfigBuilder::token_header)).
    Header,
    /// The configured query parameter
    /// ([`token_query_param`](crate::AuthConfigBuilder::token_query_param)).
    Query,
}

impl TokenSource {
    /// The source's name, as the `source` field of the `authenticate` span shows it:
    /// `cookie`, `bearer`, `header` or `query`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Bearer => "bearer",
            Self::Header => "header",
            Self::Query => "query",
        }
    }
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where [`find_token`] looks: the names the configuration gives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Places<'c> {
    /// The auth cookie.
    pub(crate) cookie: &'c str,
    /// The `__Host-` cookie read before it, with the default name.
    pub(crate) host_cookie: Option<&'c str>,
    /// The token header (lowercase), when one is configured.
    pub(crate) header: Option<&'c str>,
    /// The token query parameter, when one is configured.
    pub(crate) query: Option<&'c str>,
    /// The token size cap.
    pub(crate) max_bytes: usize,
}

/// A token found in a request: borrowed from it, unless a query parameter had to be
/// percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FoundToken<'a> {
    token: Cow<'a, str>,
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
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Where it came from.
    #[must_use]
    pub(crate) fn source(&self) -> TokenSource {
        self.source
    }
}

/// Finds the token of a request made with `method`, in the order of the
/// [module docs](self).
///
/// Returns `Ok(None)` when the request carries none.
///
/// # Errors
///
/// [`AuthError::MultipleAuthorizationHeaders`], [`AuthError::DuplicateToken`] (the
/// token header or parameter given twice), [`AuthError::TokenTooLarge`] (checked
/// before anything else is done with the token) and [`AuthError::Malformed`] for a
/// token that is empty, not visible ASCII, or a badly percent-encoded parameter.
pub(crate) fn find_token<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    method: &str,
    places: &Places<'_>,
) -> Result<Option<FoundToken<'a>>, AuthError> {
    let max_bytes = places.max_bytes;
    let mut authorization = headers.values("authorization");
    let first_authorization = authorization.next();
    if authorization.next().is_some() {
        return Err(AuthError::MultipleAuthorizationHeaders);
    }
    let cookie = match places.host_cookie {
        Some(host_name) => cookie_either(headers, host_name, places.cookie),
        None => cookie_value(headers, places.cookie),
    };
    if let Some(value) = cookie {
        return Ok(Some(FoundToken::borrowed(
            checked(value, max_bytes)?,
            TokenSource::Cookie,
        )));
    }
    if let Some(value) = first_authorization
        && let Some(token) = bearer(value)?
    {
        return Ok(Some(FoundToken::borrowed(
            checked(token, max_bytes)?,
            TokenSource::Bearer,
        )));
    }
    // The opt-in places: one branch each when they are off, and only reached by a
    // request with neither a cookie nor a Bearer token.
    if let Some(name) = places.header
        && let Some(token) = header_token(headers, name)?
    {
        return Ok(Some(FoundToken::borrowed(
            checked(token, max_bytes)?,
            TokenSource::Header,
        )));
    }
    if let Some(name) = places.query
        && matches!(method, "GET" | "HEAD")
        && let Some(query) = headers.query()
        && let Some(token) = query::token(query, name, max_bytes)?
    {
        return Ok(Some(FoundToken {
            token,
            source: TokenSource::Query,
        }));
    }
    Ok(None)
}

impl<'a> FoundToken<'a> {
    fn borrowed(token: &'a str, source: TokenSource) -> Self {
        Self {
            token: Cow::Borrowed(token),
            source,
        }
    }
}

/// The credentials of an `Authorization` header with the `Bearer` scheme; `None` for
/// another scheme (Basic, …), which is not ours: as if there were no token.
fn bearer(value: &[u8]) -> Result<Option<&[u8]>, AuthError> {
    let value = trim(value);
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let token = trim(rest);
    if token.is_empty() {
        return Err(AuthError::Malformed {
            reason: "the Bearer credentials are empty",
        });
    }
    Ok(Some(token))
}

/// The token in the header `name`: its value, with an optional `Bearer ` scheme in
/// front (so a proxy's `X-Forwarded-Authorization: Bearer …` works as well as a bare
/// `X-Auth-Token: …`; a JWT never contains a space, so the two cannot be confused).
fn header_token<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    name: &str,
) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = headers.values(name);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::DuplicateToken {
            place: TokenSource::Header,
        });
    }
    let value = trim(value);
    let token = match value.iter().position(|b| *b == b' ') {
        Some(space) if value[..space].eq_ignore_ascii_case(b"bearer") => trim(&value[space + 1..]),
        // The scheme alone: empty credentials, as in `Authorization`.
        None if value.eq_ignore_ascii_case(b"bearer") => &[],
        _ => value,
    };
    if token.is_empty() {
        return Err(AuthError::Malformed {
            reason: "the token header is empty",
        });
    }
    Ok(Some(token))
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

    const PLACES: Places<'static> = Places {
        cookie: "app_auth",
        host_cookie: Some("__Host-app_auth"),
        header: None,
        query: None,
        max_bytes: 64,
    };

    /// With the token header `x-auth-token` and the query parameter `access_token`.
    const ALL_PLACES: Places<'static> = Places {
        header: Some("x-auth-token"),
        query: Some("access_token"),
        ..PLACES
    };

    fn find(pairs: &[(&'static str, &str)]) -> Result<Option<(String, TokenSource)>, AuthError> {
        let map = headers(pairs);
        find_token(&map, "GET", &PLACES).map(|f| f.map(|f| (f.token().to_owned(), f.source())))
    }

    /// A request to `uri` with `pairs`, every place configured.
    fn find_in(
        method: &str,
        uri: &str,
        pairs: &[(&'static str, &str)],
    ) -> Result<Option<(String, TokenSource)>, AuthError> {
        let mut request = http::Request::builder().method(method).uri(uri);
        for (k, v) in pairs {
            request = request.header(*k, *v);
        }
        let request = request.body(()).unwrap();
        find_token(&request, method, &ALL_PLACES)
            .map(|f| f.map(|f| (f.token().to_owned(), f.source())))
    }

    #[test]
    fn the_opt_in_places_are_not_read_unless_configured() {
        let request = http::Request::get("/ws?access_token=q.q.q")
            .header("x-auth-token", "h.h.h")
            .body(())
            .unwrap();
        let found = find_token(&request, "GET", &PLACES).unwrap();
        assert_eq!(found, None);
    }

    #[test]
    fn the_token_header_holds_a_bare_token_or_a_bearer_one() {
        for value in ["h.h.h", "  h.h.h ", "Bearer h.h.h", "bearer   h.h.h"] {
            let found = find_in("GET", "/", &[("x-auth-token", value)]).unwrap();
            assert_eq!(
                found,
                Some(("h.h.h".into(), TokenSource::Header)),
                "{value}"
            );
        }
        assert!(matches!(
            find_in("GET", "/", &[("x-auth-token", "")]),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            find_in("GET", "/", &[("x-auth-token", "Bearer  ")]),
            Err(AuthError::Malformed { .. })
        ));
        // Another scheme is not stripped: a token with a space is malformed.
        assert!(matches!(
            find_in("GET", "/", &[("x-auth-token", "Basic abc")]),
            Err(AuthError::Malformed { .. })
        ));
        let twice = find_in(
            "GET",
            "/",
            &[("x-auth-token", "a.a.a"), ("x-auth-token", "a.a.a")],
        );
        assert!(matches!(
            twice,
            Err(AuthError::DuplicateToken {
                place: TokenSource::Header
            })
        ));
        assert!(matches!(
            find_in("GET", "/", &[("x-auth-token", &"a".repeat(65))]),
            Err(AuthError::TokenTooLarge { limit: 64 })
        ));
    }

    #[test]
    fn the_query_parameter_is_read_for_get_and_head_only() {
        for method in ["GET", "HEAD"] {
            let found = find_in(method, "/ws?x=1&access_token=q.q.q", &[]).unwrap();
            assert_eq!(
                found,
                Some(("q.q.q".into(), TokenSource::Query)),
                "{method}"
            );
        }
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"] {
            let found = find_in(method, "/ws?access_token=q.q.q", &[]).unwrap();
            assert_eq!(found, None, "{method}");
        }
        // A header map alone has no query string.
        let map = headers(&[]);
        assert_eq!(find_token(&map, "GET", &ALL_PLACES).unwrap(), None);
    }

    #[test]
    fn the_places_are_read_in_order_cookie_bearer_header_query() {
        let uri = "/?access_token=q.q.q";
        let cookie = ("cookie", "app_auth=c.c.c");
        let bearer = ("authorization", "Bearer b.b.b");
        let header = ("x-auth-token", "h.h.h");
        let found = |pairs: &[(&'static str, &str)]| find_in("GET", uri, pairs).unwrap().unwrap();
        assert_eq!(
            found(&[header, bearer, cookie]),
            ("c.c.c".into(), TokenSource::Cookie)
        );
        assert_eq!(
            found(&[header, bearer]),
            ("b.b.b".into(), TokenSource::Bearer)
        );
        assert_eq!(found(&[header]), ("h.h.h".into(), TokenSource::Header));
        assert_eq!(found(&[]), ("q.q.q".into(), TokenSource::Query));
        // Another Authorization scheme is not ours: the next places are read.
        assert_eq!(
            found(&[("authorization", "Basic dXNlcjpwYXNz")]),
            ("q.q.q".into(), TokenSource::Query)
        );
        // A malformed earlier place is refused, not skipped.
        assert!(matches!(
            find_in("GET", uri, &[("authorization", "Bearer ")]),
            Err(AuthError::Malformed { .. })
        ));
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

#[cfg(test)]
mod properties {
    //! Property tests of the `Authorization` header, the cookie parser, the token
    //! header and the token query parameter: no input panics, and every answer passes
    //! the fuzz harness's oracle (the token found is the one in the place it claims,
    //! decoded, within the cap, in visible ASCII).

    use proptest::prelude::*;

    use super::TokenSource;
    use crate::__fuzz::{
        COOKIE, Headers, TOKEN_HEADER, TOKEN_PARAM, check_cookie, check_find_token,
    };
    use crate::error::AuthError;

    /// 256 cases (proptest's default; `PROPTEST_CASES=N` for a deeper run by hand),
    /// and no regression files written into the source tree.
    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// A header value of any bytes, with the bytes that matter here made likely.
    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => any::<u8>(),
            4 => prop::sample::select(b" \t;=\"._-aAbB".to_vec()),
        ];
        let piece = prop_oneof![
            3 => prop::collection::vec(byte, 0..12),
            1 => prop::sample::select(vec![
                &b"Bearer "[..], b"bearer", b"BEARER  ", b"Basic ", b"app_auth=",
                b"app_auth =", b"app_authx=", b"xapp_auth=", b"; ", b"\"",
            ])
            .prop_map(<[u8]>::to_vec),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
    }

    /// A query string of any characters, with the ones that matter here made likely.
    fn query() -> impl Strategy<Value = Option<String>> {
        let piece = prop_oneof![
            2 => "[a-zA-Z0-9._~%+=&-]{0,12}",
            1 => ".{0,6}",
            1 => prop::sample::select(vec![
                "access_token=", "access_token", "&access_token=", "%2E", "%2e", "%", "%4",
                "%zz", "+", "&", "=",
            ])
            .prop_map(str::to_owned),
        ];
        prop::option::of(prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat()))
    }

    /// Zero to three `Authorization`, `Cookie` and token headers, and others, in any
    /// order, and maybe a query string.
    fn headers() -> impl Strategy<Value = Headers> {
        let name = prop::sample::select(vec![
            "authorization",
            "cookie",
            "cookie",
            TOKEN_HEADER,
            "x-other",
        ]);
        (prop::collection::vec((name, header_value()), 0..5), query()).prop_map(|(pairs, query)| {
            let mut headers = Headers::new();
            for (name, value) in pairs {
                headers.append(name, value);
            }
            if let Some(query) = query {
                headers.set_query(query);
            }
            headers
        })
    }

    /// What a token is made of: base64url characters.
    fn b64token(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec(),
            ),
            len,
        )
        .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII"))
    }

    /// Optional whitespace.
    fn ows() -> impl Strategy<Value = String> {
        "[ \t]{0,3}"
    }

    /// RFC 6265 cookie-octets: visible ASCII but `"`, `,`, `;` and `\`.
    fn cookie_octets(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = String> {
        prop::collection::vec(
            (0x21u8..0x7f).prop_filter("a cookie-octet", |b| !b"\",;\\".contains(b)),
            len,
        )
        .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII"))
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_headers_get_a_sound_answer(headers in headers(), cap in 1usize..64) {
            let _ = check_find_token(&headers, cap);
        }

        #[test]
        fn a_well_formed_bearer_token_is_found(
            scheme in prop::sample::select(vec!["Bearer", "bearer", "BEARER", "bEaReR"]),
            (x, y, z) in (b64token(1..40), b64token(1..40), b64token(1..40)),
            (before, between, after) in (ows(), " {1,3}", ows()),
        ) {
            let token = format!("{x}.{y}.{z}");
            let mut headers = Headers::new();
            headers.append("authorization", format!("{before}{scheme}{between}{token}{after}"));
            headers.append("cookie", "other=1");
            let found = check_find_token(&headers, 16 * 1024);
            prop_assert_eq!(found.unwrap(), Some((token, TokenSource::Bearer)));
        }

        /// A token in the query, each byte written as it is or percent-encoded (either
        /// case of hex digit), among other parameters: found, decoded exactly.
        #[test]
        fn a_percent_encoded_query_token_is_found(
            (x, y) in (b64token(1..40), b64token(1..40)),
            encode in prop::collection::vec(0u8..3, 81),
            before in "([a-z]{1,5}=[a-z0-9%+]{0,5}&){0,3}",
            after in "(&[a-z]{1,5}=[a-z0-9%+]{0,5}){0,3}",
        ) {
            let token = format!("{x}.{y}");
            let written: String = token
                .bytes()
                .zip(encode)
                .map(|(b, how)| match how {
                    0 => char::from(b).to_string(),
                    1 => format!("%{b:02X}"),
                    _ => format!("%{b:02x}"),
                })
                .collect();
            let mut headers = Headers::new();
            headers.set_query(format!("{before}{TOKEN_PARAM}={written}{after}"));
            let found = check_find_token(&headers, 16 * 1024);
            prop_assert_eq!(found.unwrap(), Some((token, TokenSource::Query)));
        }

        /// The token header holds the token bare or after `Bearer`: found either way,
        /// after the cookie and `Authorization` and before the query.
        #[test]
        fn a_token_header_is_found_after_bearer_and_before_the_query(
            token in b64token(1..60),
            scheme in prop::sample::select(vec!["", "Bearer ", "bearer  ", "BEARER "]),
            (before, after) in (ows(), ows()),
            with_bearer in any::<bool>(),
        ) {
            let mut headers = Headers::new();
            headers.append(TOKEN_HEADER, format!("{before}{scheme}{token}{after}"));
            headers.set_query(format!("{TOKEN_PARAM}=q.q.q"));
            if with_bearer {
                headers.append("authorization", "Bearer b.b.b");
            }
            let found = check_find_token(&headers, 16 * 1024).unwrap();
            let expected = if with_bearer {
                ("b.b.b".to_owned(), TokenSource::Bearer)
            } else {
                (token, TokenSource::Header)
            };
            prop_assert_eq!(found, Some(expected));
        }

        #[test]
        fn a_token_over_the_cap_is_refused_and_one_at_it_found(
            cap in 1usize..256,
            over in 1usize..256,
            in_cookie in any::<bool>(),
        ) {
            let place = |token: &str| {
                let mut headers = Headers::new();
                if in_cookie {
                    headers.append("cookie", format!("{COOKIE}={token}"));
                } else {
                    headers.append("authorization", format!("Bearer {token}"));
                }
                check_find_token(&headers, cap)
            };
            let too_long = "a".repeat(cap + over);
            let refused = matches!(
                place(&too_long),
                Err(AuthError::TokenTooLarge { limit }) if limit == cap
            );
            prop_assert!(refused);
            let at_cap = "a".repeat(cap);
            prop_assert_eq!(place(&at_cap).unwrap().map(|(token, _)| token), Some(at_cap));
        }

        /// `name=value` among other cookies, in one header or split over several, with
        /// whitespace around the pair, the `=` and the value, and quotes or not: the
        /// parser returns exactly the value.
        #[test]
        fn the_cookie_parser_returns_exactly_the_value_placed(
            value in cookie_octets(1..40),
            quoted in any::<bool>(),
            (before_name, after_name, after_eq, after_value) in (ows(), ows(), ows(), ows()),
            others in prop::collection::vec(
                (
                    prop_oneof![
                        "[A-Za-z0-9_-]{1,10}",
                        Just(format!("x{COOKIE}")),
                        Just(format!("{COOKIE}x")),
                        Just(COOKIE.to_uppercase()),
                    ],
                    prop_oneof![cookie_octets(0..20), Just(format!("{COOKIE}=evil"))],
                ),
                0..6,
            ),
            position in any::<prop::sample::Index>(),
            split_at in any::<prop::sample::Index>(),
        ) {
            let value_text = if quoted { format!("\"{value}\"") } else { value.clone() };
            let ours = format!("{before_name}{COOKIE}{after_name}={after_eq}{value_text}{after_value}");
            let mut pairs: Vec<String> = others
                .into_iter()
                .filter(|(name, _)| name != COOKIE)
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            pairs.insert(position.index(pairs.len() + 1), ours);
            // Split the pairs over two Cookie headers at some point.
            let split = split_at.index(pairs.len() + 1);
            let mut headers = Headers::new();
            for part in [&pairs[..split], &pairs[split..]] {
                if !part.is_empty() {
                    headers.append("cookie", part.join("; "));
                }
            }
            let found = check_cookie(&headers, COOKIE);
            prop_assert_eq!(found, Some(value.as_bytes()));
        }
    }
}
