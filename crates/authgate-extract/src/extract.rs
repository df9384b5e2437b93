//! The extractor types. Their framework impls live in `axum_impl` and `actix`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use authgate::{Requirement, User};

/// What authentication put into the request: `Auth(user): Auth<User>` (or your own
/// user type) in a handler, or `Auth(token): Auth<AccessToken>` for the raw
/// [`AccessToken`](authgate::AccessToken), to call the provider's own APIs
/// (Authentik's `goauthentik.io/api`) on the user's behalf.
///
/// Reads the `U` that the authentication adapter ([`authgate::AuthLayer`] for axum,
/// `actix::AuthMiddleware` for actix-web) put into the
/// request extensions. The adapters put the user there as an `Arc<U>` shared with the
/// verified-token cache: `Auth<Arc<User>>` hands you that `Arc` (no copy, the
/// cheapest on a hot route), `Auth<User>` a copy of the user. When there is none:
///
/// - the adapter ran (in optional mode) and found no token: 401, exactly as the adapter
///   itself answers a missing token;
/// - no adapter ran on this route: 500 with the code `auth_layer_missing` and a message
///   naming the layer to add. That is a server bug, so it is not a 401.
///
/// `Option<Auth<U>>` gives `None` for an anonymous request on a route with an optional
/// adapter. Under axum it still answers 500 when no adapter ran; under actix-web,
/// `Option<T>` is actix's own blanket extractor, which turns every failure into `None`.
///
/// See the [crate docs](crate) for examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth<U = User>(pub U);

impl<U> Auth<U> {
    /// The user.
    #[must_use]
    pub fn into_inner(self) -> U {
        self.0
    }
}

impl<U> Deref for Auth<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}

/// A requirement known at compile time, for [`Guard`].
///
/// The attribute macros (`#[require_role("admin")]`, …) write one for you; write your
/// own to name a requirement once and reuse it:
///
/// ```
/// use authgate_extract::{GuardSpec, Names, Requirement};
///
/// /// Admins and support staff.
/// struct Staff;
///
/// impl GuardSpec for Staff {
///     const REQUIREMENT: Requirement = Requirement::AnyRole(Names::from_static(&["admin", "support"]));
/// }
/// assert_eq!(Staff::REQUIREMENT, Requirement::any_role(&["admin", "support"]));
/// ```
pub trait GuardSpec {
    /// What the guarded handler requires.
    const REQUIREMENT: Requirement;
}

/// An extractor that lets the request through only if the user meets `G`'s
/// requirement, and yields the user.
///
/// 401 for an anonymous request, 403 for a user without the role, 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for a token
/// without the scope, 500 when no authentication adapter ran.
///
/// It reads only the request head, so put it before any body extractor: a refused
/// request is answered 401/403 before its body is read, never 400 or 422. The
/// attribute macros put it first for you. See the [crate docs](crate) for examples.
pub struct Guard<G, U = User> {
    user: Arc<U>,
    spec: PhantomData<fn() -> G>,
}

impl<G, U> Guard<G, U> {
    pub(crate) fn new(user: Arc<U>) -> Self {
        Self {
            user,
            spec: PhantomData,
        }
    }

    /// The user that passed.
    #[must_use]
    pub fn user(&self) -> &U {
        &self.user
    }

    /// The user that passed, by value (a clone when the user is shared, as it is
    /// with the verified-token cache).
    #[must_use]
    pub fn into_user(self) -> U
    where
        U: Clone,
    {
        Arc::unwrap_or_clone(self.user)
    }

    /// The user that passed, shared: no copy.
    #[must_use]
    pub fn into_shared(self) -> Arc<U> {
        self.user
    }
}

impl<G, U> Clone for Guard<G, U> {
    fn clone(&self) -> Self {
        Self::new(self.user.clone())
    }
}

impl<G: GuardSpec, U: fmt::Debug> fmt::Debug for Guard<G, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("requirement", &G::REQUIREMENT)
            .field("user", &self.user)
            .finish()
    }
}
