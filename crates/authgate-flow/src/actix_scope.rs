//! The actix-web front (feature `actix`): a `Scope` with the flow's endpoints.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use serde::Serialize;

use crate::{Endpoint, Flow, FlowRequest};

/// The largest request body read (the exchange body is about 60 bytes).
const MAX_BODY: usize = 16 * 1024;

impl<U> Flow<U>
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    /// An actix-web `Scope` at the configured prefix with every endpoint, answering
    /// exactly as the axum router does:
    ///
    /// ```
    /// # #[actix_web::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_web::{App, test};
    /// use authgate::{AuthConfig, Authenticator};
    /// use authgate_flow::{Flow, FlowConfig};
    ///
    /// # let issuer = authgate_testkit::TestIssuer::start().await?;
    /// # let (base, slug, client_id) = (issuer.base_url(), issuer.slug().to_owned(), issuer.client_id().to_owned());
    /// let auth = Authenticator::new(AuthConfig::authentik(base, slug, client_id.as_str()).build()?);
    /// let config = FlowConfig::builder(client_id, "http://localhost:5173", "http://localhost:3000")
    ///     .client_secret("s3cret")
    ///     .build()?;
    /// let flow = Flow::new(auth, config)?;
    ///
    /// let app = test::init_service(App::new().service(flow.scope())).await;
    /// let response = test::call_service(&app, test::TestRequest::get().uri("/auth/login").to_request()).await;
    /// assert_eq!(response.status(), 302);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
    pub fn scope(&self) -> Scope {
        let mut scope =
            web::scope(self.config().prefix()).app_data(web::PayloadConfig::new(MAX_BODY));
        for endpoint in Endpoint::ALL {
            let route = if endpoint.method() == http::Method::GET {
                web::get()
            } else {
                web::post()
            };
            let flow = self.clone();
            let handler = move |request: HttpRequest, body: web::Bytes| {
                let flow = flow.clone();
                async move { handle(&flow, endpoint, &request, body).await }
            };
            scope = scope.route(endpoint.path(), route.to(handler));
        }
        scope
    }
}

async fn handle<U>(
    flow: &Flow<U>,
    endpoint: Endpoint,
    request: &HttpRequest,
    body: web::Bytes,
) -> HttpResponse
where
    U: Serialize + Clone + Send + Sync + 'static,
{
    let mut headers = http::HeaderMap::new();
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    let mut flow_request = FlowRequest::new(headers).body(body.to_vec());
    if !request.query_string().is_empty() {
        flow_request = flow_request.query(request.query_string());
    }
    authgate::__private::actix::response(flow.handle(endpoint, flow_request).await)
}
