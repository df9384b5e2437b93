//! Helpers for authgate's own adapter crates (`authgate-extract`, `authgate-flow`):
//! not a public API, not covered by semver, hidden from the docs (as `axum::__private`).

use std::any::{TypeId, type_name};
use std::sync::Arc;

use http::Response;

use crate::authenticator::{Authentication, Authenticator};
use crate::error::AuthError;
use crate::rejection::Rejection;

pub use crate::config::{EnvVars, parse_http_url};
pub use crate::on_rejection::RejectionHook;
pub use crate::request::{cookie_value, is_unsafe_method, origin_is_trusted};

/// How an adapter answers a refusal: the `WWW-Authenticate` realm and the
/// [`OnRejection`](crate::OnRejection) hook, if one is set. Built once per adapter (when
/// the hook is set), shared by every request's [`AuthMarker`] through one reference
/// count: the marker costs what it cost before there were hooks.
#[derive(Debug, Clone)]
pub struct Refusals {
    inner: Arc<RefusalsInner>,
}

#[derive(Debug)]
struct RefusalsInner {
    realm: Arc<str>,
    hook: Option<RejectionHook>,
}

impl Refusals {
    /// The refusals of an adapter over `auth` (its realm) answered by `hook`, or by
    /// the core's response without one.
    #[must_use]
    pub fn new<U>(auth: &Authenticator<U>, hook: Option<RejectionHook>) -> Self {
        Self {
            inner: Arc::new(RefusalsInner {
                realm: auth.realm().clone(),
                hook,
            }),
        }
    }

    /// The `WWW-Authenticate` realm for rejections.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The hook, if one is set.
    #[must_use]
    pub fn hook(&self) -> Option<&RejectionHook> {
        self.inner.hook.as_ref()
    }

    /// The response for `rejection`: the hook's, or the core's without one.
    #[must_use]
    pub fn respond(&self, rejection: Rejection, error: Option<&AuthError>) -> Response<String> {
        match &self.inner.hook {
            Some(hook) => hook.response(rejection, error),
            None => rejection.into_response(),
        }
    }

    /// `rejection`, carrying the hook's response to it when there is a hook (see
    /// [`Rejection`]): what an extractor or guard returns, so that the framework sends
    /// the hook's answer.
    #[must_use]
    pub fn answer(&self, rejection: Rejection, error: Option<&AuthError>) -> Rejection {
        match &self.inner.hook {
            Some(hook) => rejection.answered_by(hook, error),
            None => rejection,
        }
    }
}

/// Put into the request extensions by every adapter that ran, so extractors can tell
/// "no user" (401) from "no adapter installed" (a server bug, 500), and "no user
/// because the request is anonymous" from "the adapter makes users of another type"
/// (a server bug too, 500).
#[derive(Debug, Clone)]
pub struct AuthMarker {
    refusals: Refusals,
    user_type: TypeId,
    /// `Arc<U>`: how the user is put into the extensions (shared with the cache).
    shared_user_type: TypeId,
    user_type_name: &'static str,
}

impl AuthMarker {
    /// The `WWW-Authenticate` realm for rejections.
    #[must_use]
    pub fn realm(&self) -> &str {
        self.refusals.realm()
    }

    /// How the adapter answers refusals: its realm and hook.
    #[must_use]
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// `rejection`, answered the way the adapter answers (see [`Refusals::answer`]).
    #[must_use]
    pub fn answer(&self, rejection: Rejection, error: Option<&AuthError>) -> Rejection {
        self.refusals.answer(rejection, error)
    }

    /// The user type the adapter makes (whether or not this request carried a user).
    #[must_use]
    pub fn user_type_id(&self) -> TypeId {
        self.user_type
    }

    /// Whether `wanted` is the user type the adapter makes, or the `Arc` of it the
    /// extensions hold.
    #[must_use]
    pub fn makes(&self, wanted: TypeId) -> bool {
        wanted == self.user_type || wanted == self.shared_user_type
    }

    /// The name of the user type the adapter makes (`std::any::type_name`).
    #[must_use]
    pub fn user_type_name(&self) -> &'static str {
        self.user_type_name
    }
}

/// A framework's request extensions, written by the adapters.
pub trait InsertExtension {
    /// Inserts `value`, replacing one of the same type.
    fn insert_value<T: Clone + Send + Sync + 'static>(&mut self, value: T);
}

impl InsertExtension for http::Extensions {
    fn insert_value<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.insert(value);
    }
}

/// What every adapter puts into the request extensions after an admitted request: the
/// user (as `Arc<U>`, shared with the token cache) and its
/// [`AccessToken`](crate::AccessToken) when there is one, and the [`AuthMarker`] always,
/// with the adapter's [`Refusals`].
pub fn insert_authentication<E, U>(
    extensions: &mut E,
    refusals: &Refusals,
    authentication: Option<Authentication<U>>,
) where
    E: InsertExtension + ?Sized,
    U: Clone + Send + Sync + 'static,
{
    if let Some(authentication) = authentication {
        extensions.insert_value(authentication.user);
        extensions.insert_value(authentication.token);
    }
    extensions.insert_value(AuthMarker {
        refusals: refusals.clone(),
        user_type: TypeId::of::<U>(),
        shared_user_type: TypeId::of::<Arc<U>>(),
        user_type_name: type_name::<U>(),
    });
}

/// The actix-web side: actix-web 4 uses `http` 0.2 types, so responses are converted
/// once, in the core, for the extract and flow crates alike.
#[cfg(feature = "actix")]
pub mod actix {
    pub use crate::actix::{response, status};

    use super::InsertExtension;

    impl InsertExtension for actix_web::dev::Extensions {
        fn insert_value<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
            self.insert(value);
        }
    }
}

/// Why authgate's default HTTP client cannot be built in this process (the
/// `rust-crypto` backend without a rustls provider), for the flow's client.
#[must_use]
pub fn default_client_error() -> Option<&'static str> {
    crate::crypto::default_client_error()
}
