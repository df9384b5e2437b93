//! Several issuers behind one [`Authenticator`]: [`Authenticator::from_issuers`].
//!
//! Each issuer keeps its own authenticator: its configuration (discovery, keys,
//! audience, role table, token type, leeway), its key store, its verified-token cache,
//! its denylist and its mapper. The multi-issuer authenticator only chooses which one
//! checks a token:
//!
//! 1. every issuer's cache is asked for the token, in order (one keyed hash each), so
//!    a repeated token is never decoded: a token is in an issuer's cache only if that
//!    issuer verified it;
//! 2. otherwise the token's `iss` is read from its payload, unverified, only to choose
//!    the issuer; that issuer's authenticator then checks everything (signature with
//!    its keys, `iss` again, `aud`, `exp`, token type) as it would alone, and a
//!    refetch for an unknown `kid` goes to that issuer only, within its rate limit;
//! 3. an `iss` no issuer has (or none, or a payload that is not JSON) is refused
//!    at once, 401, and no issuer is asked for anything.
//!
//! A single-issuer authenticator never comes here: its request path tests one `Option`
//! and goes on as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{Authenticator, now};
use crate::cache::Hit;
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError, FetchError};
use crate::observe::{self, Report};
use crate::revocation::Revocation;
use crate::verify::Failure;

/// The issuers of a multi-issuer authenticator.
pub(super) struct Issuers<U> {
    /// Each issuer's own (single-issuer) authenticator, in the order given.
    list: Box<[Authenticator<U>]>,
    /// The layer-wide token-size cap (every issuer has the same).
    max_token_bytes: usize,
}

impl<U> std::fmt::Debug for Issuers<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&str> = self.list.iter().map(|a| a.config().issuer()).collect();
        f.debug_struct("Authenticator")
            .field("issuers", &issuers)
            .field(
                "keys_ready",
                &self
                    .list
                    .iter()
                    .map(|a| a.inner.keys.current().is_some())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<U> Authenticator<U> {
    /// One authenticator for the tokens of several issuers: multi-tenant set-ups,
    /// Authentik with several applications, Authentik and Keycloak side by side during
    /// a migration.
    ///
    /// Each issuer is an authenticator of its own ([`Authenticator::new`],
    /// [`with_mapper`](Authenticator::with_mapper)), so each has its own discovery and
    /// keys, audience, role table or roles claim, token type, leeway, cache and
    /// mapper; the mappers make the same user type. A token is verified by the issuer
    /// its `iss` names, and only by it; an `iss` that no issuer has gets
    /// `401 invalid_issuer` (`missing_claim` without `iss`, `malformed_token` when the
    /// payload is not JSON) and makes no issuer fetch anything. A token the layer has
    /// seen is found in its issuer's cache (each issuer's cache is asked in turn)
    /// without being decoded; a new token's `iss` is read, unverified, only to choose
    /// the issuer that then checks everything.
    ///
    /// The layer-wide settings are the first issuer's: the cookie names, the CSRF
    /// check and its trusted origins, the token-size cap and the `realm` of
    /// challenges (so [`config`](Self::config) is the first issuer's). Every other
    /// issuer must have the same ones, except the realm, which the others may leave
    /// at its default; otherwise this fails rather than let one silently win.
    ///
    /// What concerns one issuer only is the first issuer's: the discovery document
    /// ([`provider_metadata`](Self::provider_metadata), [`discover`](Self::discover))
    /// and the authenticators made with [`with_shared_keys`](Self::with_shared_keys),
    /// [`id_tokens`](Self::id_tokens) and [`logout_tokens`](Self::logout_tokens) (a
    /// login flow logs in at one issuer: give it that issuer's own authenticator).
    /// [`keys_ready`](Self::keys_ready) is true once every issuer's keys are loaded,
    /// [`refresh_keys`](Self::refresh_keys) fetches them all, and
    /// [`revoke`](Self::revoke) reaches every issuer's denylist;
    /// [`issuers`](Self::issuers) gives each issuer's own authenticator.
    ///
    /// An authenticator made by this function may be given again: its issuers are
    /// taken one by one. With one issuer, that issuer's authenticator is returned as
    /// it is, and pays nothing for this feature.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authgate::{AuthConfig, Authenticator, RoleMap};
    /// use authgate_testkit::TestIssuer;
    ///
    /// let shop = TestIssuer::builder().slug("shop").start().await?;
    /// let blog = TestIssuer::builder().slug("blog").client_id("blog-client").start().await?;
    /// let auth = Authenticator::from_issuers([
    ///     Authenticator::new(
    ///         AuthConfig::authentik(shop.base_url(), shop.slug(), shop.client_id())
    ///             .role_map(RoleMap::parse("shop-admins=admin")?)
    ///             .build()?,
    ///     ),
    ///     Authenticator::new(
    ///         AuthConfig::authentik(blog.base_url(), blog.slug(), blog.client_id()).build()?,
    ///     ),
    /// ])?;
    /// auth.refresh_keys().await?;
    ///
    /// let admin = auth.verify(&shop.token().sub("ada").groups(["shop-admins"]).sign()).await?;
    /// assert_eq!(admin.role, "admin");
    /// let reader = auth.verify(&blog.token().sub("ada").groups(["shop-admins"]).sign()).await?;
    /// assert_eq!(reader.role, "user", "the blog's role table has no shop-admins");
    ///
    /// let stranger = TestIssuer::start().await?;
    /// let err = auth.verify(&stranger.token().sign()).await.unwrap_err();
    /// assert_eq!(err.code(), "invalid_issuer");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Issuers`] when no issuer is given, one issuer is given twice
    /// (several audiences of one issuer go on one configuration), or an issuer's
    /// layer-wide settings differ from the first's.
    pub fn from_issuers<I>(issuers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = Authenticator<U>>,
    {
        let mut list: Vec<Authenticator<U>> = Vec::new();
        for auth in issuers {
            match &auth.issuers {
                Some(several) => list.extend(several.list.iter().cloned()),
                None => list.push(auth),
            }
        }
        let Some(first) = list.first() else {
            return Err(ConfigError::Issuers {
                setting: "issuers",
                reason: String::from("no issuer was given"),
            });
        };
        for (i, auth) in list.iter().enumerate().skip(1) {
            let issuer = auth.config().issuer();
            if list[..i].iter().any(|a| a.config().issuer() == issuer) {
                return Err(ConfigError::Issuers {
                    setting: "issuer",
                    reason: format!(
                        "{issuer:?} is given twice; tokens are told apart by `iss` alone, so \
                         several audiences of one issuer go on one configuration"
                    ),
                });
            }
            same_layer(first.config(), auth.config())?;
        }
        let (inner, max_token_bytes) = (first.inner.clone(), first.config().inner.max_token_bytes);
        if list.len() == 1 {
            return Ok(list.swap_remove(0));
        }
        Ok(Self {
            inner,
            issuers: Some(Arc::new(Issuers {
                max_token_bytes,
                list: list.into_boxed_slice(),
            })),
        })
    }
}

/// Checks that `other` has the layer-wide settings of `first`.
fn same_layer(first: &AuthConfig, other: &AuthConfig) -> Result<(), ConfigError> {
    let (a, b) = (&*first.inner, &*other.inner);
    let differ =
        |setting: &'static str, mine: &dyn std::fmt::Debug, theirs: &dyn std::fmt::Debug| {
            Err(ConfigError::Issuers {
                setting,
                reason: format!(
                    "the issuer {:?} has {theirs:?}, the first issuer {:?} {mine:?}; one layer has \
                 one {setting}: give every issuer the same",
                    b.issuer, a.issuer
                ),
            })
        };
    if a.cookie_name != b.cookie_name || a.host_cookie_name != b.host_cookie_name {
        // The names read: the `__Host-` one only with the default name.
        let names = |c: &crate::config::ConfigInner| {
            let mut names = vec![c.cookie_name.clone()];
            names.extend(c.host_cookie_name.clone());
            names
        };
        return differ("cookie_name", &names(a), &names(b));
    }
    if a.csrf != b.csrf {
        return differ("csrf_protection", &a.csrf, &b.csrf);
    }
    let mut mine = a.trusted_origins.clone();
    let mut theirs = b.trusted_origins.clone();
    mine.sort();
    theirs.sort();
    if mine != theirs {
        return differ("trusted_origins", &mine, &theirs);
    }
    if a.max_token_bytes != b.max_token_bytes {
        return differ("max_token_bytes", &a.max_token_bytes, &b.max_token_bytes);
    }
    // A realm left at its default (the issuer) gives way to the first issuer's.
    if b.realm != a.realm && b.realm != b.issuer {
        return Err(ConfigError::Issuers {
            setting: "realm",
            reason: format!(
                "the issuer {:?} has the realm {:?}, the first issuer {:?} {:?}; the layer \
                 answers with the first issuer's realm: set it there, and leave the others' \
                 at their default or the same",
                b.issuer, b.realm, a.issuer, a.realm
            ),
        });
    }
    Ok(())
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<U> Issuers<U> {
    pub(super) fn list(&self) -> &[Authenticator<U>] {
        &self.list
    }

    /// Adds `revocation` to every issuer's denylist.
    pub(super) fn revoke(&self, revocation: &Revocation) {
        let now = now();
        for (i, auth) in self.list.iter().enumerate() {
            // Issuers may share a denylist (`with_shared_keys`): add to each once.
            let revocations = &auth.inner.revocations;
            if !self.list[..i]
                .iter()
                .any(|a| Arc::ptr_eq(&a.inner.revocations, revocations))
            {
                revocations.add(revocation, now);
            }
        }
    }

    /// The revocations of every distinct denylist.
    pub(super) fn revocation_count(&self) -> usize {
        self.list
            .iter()
            .enumerate()
            .filter(|(i, auth)| {
                !self.list[..*i]
                    .iter()
                    .any(|a| Arc::ptr_eq(&a.inner.revocations, &auth.inner.revocations))
            })
            .map(|(_, auth)| auth.inner.revocations.len())
            .sum()
    }

    /// The issuer whose `iss` the token names.
    fn route(&self, token: &str) -> Result<&Authenticator<U>, AuthError> {
        let iss = peek_issuer(token)?;
        self.list
            .iter()
            .find(|auth| auth.inner.config.issuer() == iss)
            .ok_or(AuthError::InvalidIssuer)
    }
}

impl<U: Clone + Send + Sync + 'static> Issuers<U> {
    /// Fetches every issuer's key set; the first failure, after trying them all.
    pub(super) fn refresh_keys(&self) -> BoxFuture<'_, Result<(), Arc<FetchError>>> {
        Box::pin(async move {
            let mut result = Ok(());
            for auth in &*self.list {
                let fetched = auth.refresh_keys().await;
                if result.is_ok() {
                    result = fetched;
                }
            }
            result
        })
    }

    /// Every issuer's cache, then the issuer the token's `iss` names.
    pub(super) fn verify_cached(&self, token: &str, report: &Report) -> Result<Hit<U>, Failure> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TokenTooLarge {
                limit: self.max_token_bytes,
            }
            .into());
        }
        let now = now();
        for auth in &*self.list {
            auth.inner.keys.ensure_started();
            let keys = auth.inner.keys.snapshot();
            // Keys stale or missing: that issuer's own check answers (503) below.
            if let Some(keys) = keys.as_deref().filter(|keys| keys.stale_at > now)
                && let Some(hit) = auth.cache_hit(token, now, keys, report)
            {
                observe::cache_lookup(true);
                return Ok(hit);
            }
        }
        // The named issuer's own lookup counts the miss (when it has a cache).
        self.route(token)?.verify_cached(token, report)
    }

    /// The refetch for an unknown `kid`, at the issuer the token names (the one that
    /// found the `kid` unknown in key-set generation `generation`).
    pub(super) fn verify_after_refetch<'a>(
        &'a self,
        token: &'a str,
        generation: u64,
        report: &'a Report,
    ) -> BoxFuture<'a, Result<Hit<U>, AuthError>> {
        Box::pin(async move {
            self.route(token)?
                .verify_after_refetch(token, generation, report)
                .await
        })
    }
}

fn malformed(reason: &'static str) -> AuthError {
    AuthError::Malformed { reason }
}

/// The `iss` of a compact JWS, read from its payload without verifying anything:
/// only to choose the issuer that verifies it. The shape errors are the verifier's.
fn peek_issuer(token: &str) -> Result<String, AuthError> {
    let dots = token.bytes().filter(|b| *b == b'.').count();
    if dots == 4 {
        return Err(AuthError::EncryptedToken);
    }
    if dots != 2 {
        return Err(malformed("expected three dot-separated segments"));
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature)) =
        (segments.next(), segments.next(), segments.next())
    else {
        return Err(malformed("expected three dot-separated segments"));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(malformed("a segment is empty"));
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("the payload is not base64url"))?;
    let IssuerClaim(iss) =
        serde_json::from_slice(&json).map_err(|_| malformed("the payload is not a JSON object"))?;
    match iss {
        None => Err(AuthError::MissingClaim { claim: "iss" }),
        Some(Value::String(iss)) => Ok(iss),
        Some(_) => Err(AuthError::InvalidIssuer),
    }
}

/// The `iss` member of a JSON object (the last one, as the verifier reads a repeated
/// member), the others skipped. Not an object: an error.
struct IssuerClaim(Option<Value>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Member {
    Iss,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for IssuerClaim {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(IssuerClaimVisitor)
    }
}

struct IssuerClaimVisitor;

impl<'de> Visitor<'de> for IssuerClaimVisitor {
    type Value = IssuerClaim;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JWT payload (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IssuerClaim, A::Error> {
        let mut iss = None;
        while let Some(member) = map.next_key()? {
            match member {
                Member::Iss => iss = Some(map.next_value::<Value>()?),
                Member::Other => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(IssuerClaim(iss))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Authenticator;

    fn token(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn the_issuer_is_read_from_the_payload() {
        let iss = peek_issuer(&token(r#"{"sub":"a","iss":"https://a/","x":{"iss":"no"}}"#));
        assert_eq!(iss.unwrap(), "https://a/");
        // A repeated member: the last, as the verifier reads it.
        let iss = peek_issuer(&token(r#"{"iss":"https://a/","iss":"https://b/"}"#));
        assert_eq!(iss.unwrap(), "https://b/");
    }

    #[test]
    fn a_payload_without_a_usable_issuer_is_refused_with_the_verifiers_codes() {
        let cases = [
            (token(r#"{"sub":"a"}"#), "missing_claim"),
            (token(r#"{"iss":7}"#), "invalid_issuer"),
            (token(r#"["iss","https://a/"]"#), "malformed_token"),
            (token(r#"{"iss":"https://a/""#), "malformed_token"),
            (token("not json"), "malformed_token"),
            (String::from("a.!!!.c"), "malformed_token"),
            (String::from("a..c"), "malformed_token"),
            (String::from("a.b"), "malformed_token"),
            (String::from("a.b.c.d.e"), "encrypted_token"),
        ];
        for (token, code) in cases {
            assert_eq!(peek_issuer(&token).unwrap_err().code(), code, "{token}");
        }
    }

    fn config(issuer: &str) -> crate::AuthConfigBuilder {
        AuthConfig::oidc(issuer).audience("api")
    }

    fn build(
        first: crate::AuthConfigBuilder,
        second: crate::AuthConfigBuilder,
    ) -> Result<Authenticator, ConfigError> {
        Authenticator::from_issuers([
            Authenticator::new(first.build().unwrap()),
            Authenticator::new(second.build().unwrap()),
        ])
    }

    fn refused_on(result: Result<Authenticator, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Issuers { setting, .. }) => setting,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn layer_wide_settings_must_agree() {
        let a = || config("https://a.example.com/");
        let b = || config("https://b.example.com/");
        let cases = [
            (b().cookie_name("other"), "cookie_name"),
            // The default name and the same name set by hand differ too: the
            // `__Host-` name is read only with the default.
            (b().cookie_name("app_auth"), "cookie_name"),
            (b().csrf_protection(false), "csrf_protection"),
            (
                b().trusted_origin("https://app.example.com"),
                "trusted_origins",
            ),
            (b().max_token_bytes(1024), "max_token_bytes"),
            (b().realm("api"), "realm"),
        ];
        for (second, setting) in cases {
            assert_eq!(refused_on(build(a(), second)), setting);
        }
        let err = build(a(), b().cookie_name("other"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("https://b.example.com/") && err.contains("\"other\""),
            "{err}"
        );
    }

    #[test]
    fn agreeing_settings_and_default_realms_pass() {
        let auth = build(
            config("https://a.example.com/")
                .realm("api")
                .trusted_origin("https://app.example.com")
                .trusted_origin("https://admin.example.com"),
            config("https://b.example.com/")
                .trusted_origin("https://admin.example.com")
                .trusted_origin("https://app.example.com/path")
                // Per issuer: free to differ.
                .audience("other")
                .leeway(std::time::Duration::from_secs(5))
                .token_cache_capacity(0),
        )
        .unwrap();
        assert_eq!(auth.issuers().len(), 2);
        assert_eq!(auth.config().realm(), "api");
        let same_realm = build(
            config("https://a.example.com/").realm("api"),
            config("https://b.example.com/").realm("api"),
        );
        assert!(same_realm.is_ok());
    }

    #[test]
    fn no_issuer_or_one_twice_is_refused() {
        assert_eq!(
            refused_on(Authenticator::<crate::User>::from_issuers([])),
            "issuers"
        );
        assert_eq!(
            refused_on(build(
                config("https://a.example.com/"),
                config("https://a.example.com/").audience("other")
            )),
            "issuer"
        );
    }

    #[test]
    fn one_issuer_is_itself_and_several_are_flattened() {
        let one = Authenticator::new(config("https://a.example.com/").build().unwrap());
        let same = Authenticator::from_issuers([one.clone()]).unwrap();
        assert!(Arc::ptr_eq(&one.inner, &same.inner));
        assert!(same.issuers.is_none());
        let two = build(
            config("https://b.example.com/"),
            config("https://c.example.com/"),
        )
        .unwrap();
        let three = Authenticator::from_issuers([two, one]).unwrap();
        let names: Vec<&str> = three
            .issuers()
            .iter()
            .map(|a| a.config().issuer())
            .collect();
        assert_eq!(
            names,
            [
                "https://b.example.com/",
                "https://c.example.com/",
                "https://a.example.com/"
            ]
        );
        assert_eq!(three.config().issuer(), "https://b.example.com/");
    }
}
