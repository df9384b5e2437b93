//! Server-to-server HTTP: where the calls go ([`InternalOrigin`]), their timeouts and
//! body cap ([`HttpPolicy`]), and the one JSON `GET` every provider document goes
//! through ([`Fetcher`]).

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::FetchError;

/// Timeouts and caps of server-to-server HTTP calls, and the client to make them
/// with when the application brings its own.
#[derive(Debug, Clone)]
pub(crate) struct HttpPolicy {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) client: Option<reqwest::Client>,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            client: None,
        }
    }
}

/// A public origin and the internal base that server-to-server calls use instead
/// (`AUTHENTIK_INTERNAL_URL`), while `iss` stays the public one.
#[derive(Debug, Clone)]
pub(crate) struct InternalOrigin {
    public: Url,
    internal: Url,
}

impl InternalOrigin {
    /// Server calls to URLs on `public` (below its path) go to `internal`.
    pub(crate) fn new(public: Url, internal: Url) -> Self {
        Self { public, internal }
    }

    /// `url` moved to the internal base, when it is on the public origin.
    pub(crate) fn to_internal(&self, url: Url) -> Url {
        move_origin(url, &self.public, &self.internal)
    }

    /// `url` moved back to the public origin, when it is on the internal base.
    pub(crate) fn to_public(&self, url: Url) -> Url {
        move_origin(url, &self.internal, &self.public)
    }
}

/// `url` rewritten for a server-to-server call: on the internal base when one is set.
pub(crate) fn server_side(url: Url, internal: Option<&InternalOrigin>) -> Url {
    match internal {
        Some(origin) => origin.to_internal(url),
        None => url,
    }
}

/// `url` on `from`'s origin (below `from`'s path) moved to `to`; others unchanged.
fn move_origin(url: Url, from: &Url, to: &Url) -> Url {
    let from_prefix = from.path().trim_end_matches('/');
    if url.origin() != from.origin() || !url.path().starts_with(from_prefix) {
        return url;
    }
    let mut out = to.clone();
    let to_prefix = to.path().trim_end_matches('/');
    out.set_path(&format!("{to_prefix}{}", &url.path()[from_prefix.len()..]));
    out.set_query(url.query());
    out
}

/// The HTTP client of the key store, with its policy applied.
#[derive(Debug)]
pub(crate) struct Fetcher {
    client: Result<reqwest::Client, ClientError>,
    timeout: Duration,
    max_body_bytes: usize,
}

/// Why there is no client: reported by every fetch.
#[derive(Debug)]
enum ClientError {
    Build(Arc<reqwest::Error>),
    NoTlsProvider(&'static str),
}

impl Fetcher {
    /// The application's client when it gave one, else a client with the policy's
    /// timeouts, at most 5 redirects and only within the origin asked
    /// ([`same_origin_redirects`]), and authgate's user agent. Either way every request
    /// has the policy's total timeout and body cap, and a response that came from
    /// another origin than the one asked is refused. A client that cannot be built is
    /// reported by every fetch.
    pub(crate) fn new(policy: &HttpPolicy) -> Self {
        let client = match &policy.client {
            Some(client) => Ok(client.clone()),
            None => match crate::crypto::default_client_error() {
                Some(reason) => Err(ClientError::NoTlsProvider(reason)),
                None => reqwest::Client::builder()
                    .connect_timeout(policy.connect_timeout)
                    .timeout(policy.timeout)
                    .redirect(same_origin_redirects())
                    .user_agent(concat!("authgate/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|err| ClientError::Build(Arc::new(err))),
            },
        };
        Self {
            client,
            timeout: policy.timeout,
            max_body_bytes: policy.max_body_bytes,
        }
    }

    /// `GET url` as JSON of type `T` (`what` names it in errors), with the
    /// `Cache-Control: max-age` of the answer. The body is capped while it streams.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &'static str,
    ) -> Result<(T, Option<Duration>), FetchError> {
        let client = self.client.as_ref().map_err(|err| match err {
            ClientError::Build(source) => FetchError::Client {
                source: source.clone(),
            },
            ClientError::NoTlsProvider(reason) => FetchError::NoTlsProvider(reason),
        })?;
        let http_err = |source| FetchError::Http {
            url: url.to_string(),
            source,
        };
        let mut response = client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(http_err)?;
        if response.url().origin() != url.origin() {
            // Only a client of the application's can get here: authgate's own refuses
            // to follow such a redirect.
            return Err(FetchError::CrossOriginRedirect {
                url: url.to_string(),
                to: response.url().origin().ascii_serialization(),
            });
        }
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        let limit = self.max_body_bytes;
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let max_age = response
            .headers()
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_err)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice(&body).map_err(|source| FetchError::Json {
            url: url.to_string(),
            what,
            source,
        })?;
        Ok((value, max_age))
    }
}

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
#[error(
    "the provider redirected to another origin ({to}); keys and discovery are fetched from the configured origin only"
)]
struct CrossOriginRedirect {
    to: String,
}

/// Redirects are followed within the origin of the first request only (at most 5):
/// a provider document that redirects elsewhere could hand authgate an attacker's keys.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if first.as_ref() != Some(&attempt.url().origin()) {
            let to = attempt.url().origin().ascii_serialization();
            attempt.error(CrossOriginRedirect { to })
        } else if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// `max-age=N` from a `Cache-Control` value (`no-store`/`no-cache` mean "use the minimum").
fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "max-age" => arg
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs),
            "no-store" | "no-cache" => Some(Duration::ZERO),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            parse_max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("private"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn origins_move_both_ways_below_the_base_path_only() {
        let origin = InternalOrigin::new(
            Url::parse("https://auth.example.com").unwrap(),
            Url::parse("http://authentik:9000/").unwrap(),
        );
        let public = Url::parse("https://auth.example.com/application/o/token/?a=1").unwrap();
        let internal = origin.to_internal(public.clone());
        assert_eq!(
            internal.as_str(),
            "http://authentik:9000/application/o/token/?a=1"
        );
        assert_eq!(origin.to_public(internal), public);
        let other = Url::parse("https://other.example.com/x").unwrap();
        assert_eq!(origin.to_internal(other.clone()), other);
    }
}
