//! [`AuthRejection`]: what an extractor or a guard answers when it refuses a request.

use std::fmt;

use authgate::Rejection;

/// The machine code of the 500 answered when no authentication adapter ran.
pub(crate) const MISSING_LAYER_CODE: &str = "auth_layer_missing";

/// Why an extractor or a guard refused a request, as the response it becomes.
///
/// A newtype over the core's framework-neutral [`Rejection`]: every status, header and
/// body comes from the core, and each framework only maps it to its response type
/// (`IntoResponse` under the `axum` feature, `ResponseError` and `Responder` under the
/// `actix` feature). The statuses:
///
/// - 401 with `WWW-Authenticate: Bearer realm="..."` for an anonymous request
///   (code `missing_token`);
/// - 403 for a user without the role (`insufficient_role`), and 403 with
///   `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for a token
///   without the scope (`insufficient_scope`);
/// - 500 (`auth_layer_missing`) when the route has no authentication adapter at all:
///   a server bug, not the client's, with a message that says what to add.
///
/// ```
/// use authgate::AuthError;
/// use authgate_extract::AuthRejection;
///
/// let rejection = AuthRejection::from(AuthError::MissingToken.rejection("api"));
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(rejection.code(), "missing_token");
/// assert_eq!(
///     rejection.rejection().www_authenticate.as_deref(),
///     Some(r#"Bearer realm="api""#)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection(Rejection);

impl AuthRejection {
    /// The 500 for a route that no authentication adapter ran on; `fix` says what to add.
    pub(crate) fn missing_layer(fix: &'static str) -> Self {
        tracing::error!(code = MISSING_LAYER_CODE, "{fix}");
        Self(Rejection::new(
            500,
            None,
            "server_error",
            MISSING_LAYER_CODE,
            fix.to_owned(),
        ))
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// The stable machine code sent as `code` in the JSON body (`missing_token`,
    /// `insufficient_role`, `insufficient_scope`, `auth_layer_missing`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.0.body.code
    }

    /// The framework-neutral response.
    #[must_use]
    pub fn rejection(&self) -> &Rejection {
        &self.0
    }

    /// The framework-neutral response, by value.
    #[must_use]
    pub fn into_rejection(self) -> Rejection {
        self.0
    }
}

impl From<Rejection> for AuthRejection {
    fn from(rejection: Rejection) -> Self {
        Self(rejection)
    }
}

impl From<AuthRejection> for Rejection {
    fn from(rejection: AuthRejection) -> Self {
        rejection.0
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.body.message)
    }
}

impl std::error::Error for AuthRejection {}
