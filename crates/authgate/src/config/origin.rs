//! Moving URLs between the public origin and the internal base
//! (`AUTHENTIK_INTERNAL_URL`): server-to-server calls go inside, browsers are sent
//! outside.

use url::Url;

use super::AuthConfig;
use crate::keys::fetch::server_side;

impl AuthConfig {
    /// Rewrites a URL on the public origin to the internal base, when one is set.
    ///
    /// ```
    /// let config = authgate::AuthConfig::authentik("https://auth.example.com", "app", "id")
    ///     .internal_url("http://authentik:9000")
    ///     .build()?;
    /// assert_eq!(
    ///     config.server_url("https://auth.example.com/application/o/token/")?.as_str(),
    ///     "http://authentik:9000/application/o/token/"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The URL does not parse.
    pub fn server_url(&self, url: &str) -> Result<Url, url::ParseError> {
        Ok(server_side(
            Url::parse(url)?,
            self.inner.keys.internal.as_ref(),
        ))
    }

    /// The reverse of [`server_url`](Self::server_url): moves a URL on the internal
    /// base back to the public origin, for URLs a browser must open.
    ///
    /// Providers such as Authentik build the endpoints of their discovery document from
    /// the host they were asked on, so a document fetched through the internal URL names
    /// internal endpoints; the browser must be sent to the public ones.
    ///
    /// ```
    /// let config = authgate::AuthConfig::authentik("https://auth.example.com", "app", "id")
    ///     .internal_url("http://authentik:9000")
    ///     .build()?;
    /// assert_eq!(
    ///     config.browser_url("http://authentik:9000/application/o/authorize/?a=1")?.as_str(),
    ///     "https://auth.example.com/application/o/authorize/?a=1"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The URL does not parse.
    pub fn browser_url(&self, url: &str) -> Result<Url, url::ParseError> {
        let url = Url::parse(url)?;
        Ok(match &self.inner.keys.internal {
            Some(origin) => origin.to_public(url),
            None => url,
        })
    }
}
