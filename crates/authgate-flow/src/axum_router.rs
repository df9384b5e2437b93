//! The axum front (feature `axum`): a `Router` with the flow's endpoints.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use http::{Method, StatusCode};
use serde::Serialize;

use crate::{Endpoint, Flow, FlowRequest};

/// The largest request body read (the exchange body is about 60 bytes).
const MAX_BODY: usize = 16 * 1024;

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// An axum `Router` with every endpoint at `{prefix}/login`, `{prefix}/callback`,
    /// and so on. Merge it into the application (it carries the prefix itself, since
    /// the refresh cookie's path depends on it):
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use authgate::{AuthConfig, Authenticator};
    /// use authgate_flow::{Flow, FlowConfig};
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use tower::ServiceExt;
    ///
    /// # let issuer = authgate_testkit::TestIssuer::start().await?;
    /// # let (base, slug, client_id) = (issuer.base_url(), issuer.slug().to_owned(), issuer.client_id().to_owned());
    /// let auth = Authenticator::new(AuthConfig::authentik(base, slug, client_id.as_str()).build()?);
    /// let config = FlowConfig::builder(client_id, "http://localhost:5173", "http://localhost:3000")
    ///     .client_secret("s3cret")
    ///     .build()?;
    /// let flow = Flow::new(auth, config)?;
    ///
    /// let app: Router = Router::new()
    ///     .route("/health", get(|| async { "ok" }))
    ///     .merge(flow.router());
    ///
    /// let response = app.oneshot(Request::get("/auth/login").body(Body::empty())?).await?;
    /// assert_eq!(response.status(), 302);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let mut router = Router::new();
        for endpoint in Endpoint::ALL {
            let filter = if endpoint.method() == Method::GET {
                MethodFilter::GET
            } else {
                MethodFilter::POST
            };
            let flow = self.clone();
            let handler = move |request: Request| {
                let flow = flow.clone();
                async move { handle(&flow, endpoint, request).await }
            };
            let path = format!("{}{}", self.config().prefix(), endpoint.path());
            router = router.route(&path, on(filter, handler));
        }
        router
    }
}

async fn handle<U>(flow: &Flow<U>, endpoint: Endpoint, request: Request) -> Response
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let mut response = Response::new(Body::from("request body too large"));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return response;
    };
    let mut request = FlowRequest::new(parts.headers).body(body);
    if let Some(query) = parts.uri.query() {
        request = request.query(query);
    }
    flow.handle(endpoint, request).await.map(Body::from)
}
