//! The opt-in places a token may come from, beside the auth cookie and
//! `Authorization: Bearer`: a header of your choosing, and a query parameter for the
//! clients that cannot set headers (browser WebSocket and EventSource). Both are off
//! by default; the order the places are read in is in
//! [`HeaderSource`](crate::HeaderSource)'s module, and in the README's "Token sources".

use super::{AuthConfig, AuthConfigBuilder};
use crate::error::ConfigError;

impl AuthConfigBuilder {
    /// Also reads the token from the header `name` (off by default), for clients or
    /// proxies that send it elsewhere than `Authorization`: `X-Auth-Token: <token>`,
    /// or `X-Forwarded-Authorization: Bearer <token>` (an optional `Bearer ` scheme is
    /// stripped; a JWT never holds a space, so the two cannot be confused).
    ///
    /// Read after the auth cookie and `Authorization: Bearer`; a request that gives
    /// the header twice is refused with `400 duplicate_token`. Like a Bearer token,
    /// and unlike the cookie, a token in a header is never sent by a browser on its own,
    /// so no CSRF origin check applies to it. `Authorization` and `Cookie` cannot be
    /// named (they have their own rules). Also `AUTH_TOKEN_HEADER`.
    ///
    /// ```
    /// let config = authgate::AuthConfig::oidc("https://idp.example.com/")
    ///     .audience("api")
    ///     .token_header("X-Auth-Token")
    ///     .build()?;
    /// assert_eq!(config.token_header(), Some("x-auth-token"));
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    pub fn token_header(mut self, name: impl Into<String>) -> Self {
        self.token_header = Some(name.into());
        self
    }

    /// Also reads the token from the query parameter `name` (off by default), for the
    /// browser APIs that cannot set a header: `new WebSocket(url)` and
    /// `new EventSource(url)`. `access_token` is the name RFC 6750 §2.3 gives it.
    ///
    /// Read last (after the cookie, `Authorization` and the
    /// [token header](Self::token_header)), and only for `GET` and `HEAD` requests (a
    /// WebSocket upgrade and an EventSource are `GET`s): elsewhere the parameter is
    /// ignored, as if absent. The value is percent-decoded (`+` is a space, which no
    /// token holds), within the [size cap](Self::max_token_bytes); a parameter given
    /// twice is refused with `400 duplicate_token`. No CSRF origin check applies:
    /// another site cannot know the token to put it in a URL.
    ///
    /// **The risk.** A URL is the leakiest place for a token: it is written to access
    /// logs (yours, a proxy's, a CDN's), kept in browser history, and sent onwards in
    /// `Referer`. Turn this on only for the routes that need it (a separate
    /// [`AuthLayer`](crate::AuthLayer) on the WebSocket route), send short-lived tokens
    /// in it (mint a token of a minute for the connection, rather than the session's
    /// access token), keep the query string out of your request logs, and serve the
    /// pages that open the connection with `Referrer-Policy: no-referrer` or
    /// `same-origin`. Also `AUTH_TOKEN_QUERY_PARAM`.
    ///
    /// ```
    /// let config = authgate::AuthConfig::oidc("https://idp.example.com/")
    ///     .audience("api")
    ///     .token_query_param("access_token")
    ///     .build()?;
    /// assert_eq!(config.token_query_param(), Some("access_token"));
    /// # Ok::<(), authgate::ConfigError>(())
    /// ```
    pub fn token_query_param(mut self, name: impl Into<String>) -> Self {
        self.token_query_param = Some(name.into());
        self
    }

    /// The checked token header (lowercased) and query parameter.
    pub(super) fn token_places(&self) -> Result<(Option<String>, Option<String>), ConfigError> {
        let header = match &self.token_header {
            None => None,
            Some(name) => {
                let name = http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| {
                    ConfigError::invalid_because("AUTH_TOKEN_HEADER", HEADER_EXPECTED, e)
                })?;
                if name == http::header::AUTHORIZATION || name == http::header::COOKIE {
                    return Err(ConfigError::invalid("AUTH_TOKEN_HEADER", HEADER_EXPECTED));
                }
                Some(name.as_str().to_owned())
            }
        };
        let query = match &self.token_query_param {
            None => None,
            Some(name) => {
                let name = name.trim();
                // RFC 3986 unreserved characters: never percent-encoded, so the name
                // can be compared as written.
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
                {
                    return Err(ConfigError::invalid(
                        "AUTH_TOKEN_QUERY_PARAM",
                        "a parameter name of letters, digits and -._~",
                    ));
                }
                Some(name.to_owned())
            }
        };
        Ok((header, query))
    }
}

const HEADER_EXPECTED: &str = "a header name other than Authorization and Cookie";

impl AuthConfig {
    /// The header the token is also read from (lowercase), if one is configured
    /// ([`AuthConfigBuilder::token_header`]).
    #[must_use]
    pub fn token_header(&self) -> Option<&str> {
        self.inner.token_header.as_deref()
    }

    /// The query parameter the token is also read from (`GET` and `HEAD` only), if one
    /// is configured ([`AuthConfigBuilder::token_query_param`]).
    #[must_use]
    pub fn token_query_param(&self) -> Option<&str> {
        self.inner.token_query_param.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use crate::{AuthConfig, ConfigError};

    fn builder() -> crate::AuthConfigBuilder {
        AuthConfig::oidc("https://idp.example.com/").audience("api")
    }

    #[test]
    fn both_places_are_off_by_default() {
        let config = builder().build().unwrap();
        assert_eq!(config.token_header(), None);
        assert_eq!(config.token_query_param(), None);
    }

    #[test]
    fn the_header_name_is_checked_and_lowercased() {
        let config = builder()
            .token_header(" X-Forwarded-Authorization ")
            .build()
            .unwrap();
        assert_eq!(config.token_header(), Some("x-forwarded-authorization"));
        for bad in ["", "bad header", "x:y", "Authorization", "cookie"] {
            let err = builder().token_header(bad).build().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "AUTH_TOKEN_HEADER",
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn the_query_parameter_name_must_need_no_encoding() {
        let config = builder().token_query_param("access_token").build().unwrap();
        assert_eq!(config.token_query_param(), Some("access_token"));
        for good in ["t", "a-b.c_d~e", "X9"] {
            assert!(builder().token_query_param(good).build().is_ok(), "{good}");
        }
        for bad in ["", " ", "a b", "a=b", "a&b", "a%20b", "jeton_accès"] {
            let err = builder().token_query_param(bad).build().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "AUTH_TOKEN_QUERY_PARAM",
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn both_places_are_read_from_the_environment() {
        let vars = [
            ("OIDC_ISSUER", "https://idp.example.com/"),
            ("OIDC_AUDIENCE", "api"),
            ("AUTH_TOKEN_HEADER", "X-Auth-Token"),
            ("AUTH_TOKEN_QUERY_PARAM", "access_token"),
        ];
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = AuthConfig::from_env_with(get).unwrap();
        assert_eq!(config.token_header(), Some("x-auth-token"));
        assert_eq!(config.token_query_param(), Some("access_token"));
        let bad = |name: &str| match name {
            "AUTH_TOKEN_QUERY_PARAM" => Some("a b".to_owned()),
            other => get(other),
        };
        assert!(matches!(
            AuthConfig::from_env_with(bad),
            Err(ConfigError::Invalid {
                name: "AUTH_TOKEN_QUERY_PARAM",
                ..
            })
        ));
    }
}
