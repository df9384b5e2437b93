#![doc = include_str!("../README.md")]
//!
//! # The pieces
//!
//! - [`MeRequest`], [`MeReply`], [`AdminRequest`], [`AdminReply`]: the messages of
//!   `proto/account.proto`, written by hand with `prost`'s derive (no `protoc`, no
//!   build script);
//! - [`AccountService`]: the server side, a tonic service answering `Me` and
//!   `Admin`;
//! - [`serve`]: the service behind the [`AuthLayer`] with the
//!   [`GrpcRejection`] hook, on a listener;
//! - [`AccountClient`]: the client side, over a tonic channel.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use authgate::{AuthLayer, GrpcRejection, Requirement, User};
use tonic::{Code, Status};

/// The gRPC service name (`package.Service` of `proto/account.proto`).
pub const SERVICE: &str = "authgate.example.Account";

/// The path of the `Me` call.
pub const ME_PATH: &str = "/authgate.example.Account/Me";

/// The path of the admin-only `Admin` call.
pub const ADMIN_PATH: &str = "/authgate.example.Account/Admin";

/// The role the `Admin` call requires.
pub const ADMIN: Requirement = Requirement::Role(std::borrow::Cow::Borrowed("admin"));

/// `Me`'s request: nothing, the caller is the token's user.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MeRequest {}

/// Who the caller is, as the layer verified it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MeReply {
    /// The token's `sub`.
    #[prost(string, tag = "1")]
    pub sub: String,
    /// The primary role.
    #[prost(string, tag = "2")]
    pub role: String,
    /// Every role.
    #[prost(string, repeated, tag = "3")]
    pub roles: Vec<String>,
    /// The email, when the token has one.
    #[prost(string, optional, tag = "4")]
    pub email: Option<String>,
    /// The organization (`organizationId`, or `sub`).
    #[prost(string, tag = "5")]
    pub organization_id: String,
}

/// `Admin`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdminRequest {}

/// `Admin`'s answer, for admins only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdminReply {
    /// A greeting naming the admin.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// `Me`: the user the [`AuthLayer`] put into the request extensions.
async fn me(request: tonic::Request<MeRequest>) -> Result<tonic::Response<MeReply>, Status> {
    // Behind a layer in required mode every request that gets here has a user.
    let user = request
        .extensions()
        .get::<Arc<User>>()
        .ok_or_else(|| Status::unauthenticated("no user: is the AuthLayer installed?"))?;
    Ok(tonic::Response::new(MeReply {
        sub: user.sub.clone(),
        role: user.role.clone(),
        roles: user.roles.clone(),
        email: user.email.clone(),
        organization_id: user.organization_id.clone(),
    }))
}

/// `Admin`: admins only. Another user gets `PERMISSION_DENIED` with the message and
/// the `authgate-error` metadata the layer would answer with.
async fn admin(
    request: tonic::Request<AdminRequest>,
) -> Result<tonic::Response<AdminReply>, Status> {
    let admin = authgate_extract::grpc::require::<User>(request.extensions(), &ADMIN)?;
    Ok(tonic::Response::new(AdminReply {
        message: format!("hello admin {}", admin.sub),
    }))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The server side of `authgate.example.Account`: what `tonic-build` would generate
/// for `proto/account.proto`, written out for two unary calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountService;

impl tonic::server::NamedService for AccountService {
    const NAME: &'static str = SERVICE;
}

impl tower::Service<http::Request<tonic::body::Body>> for AccountService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let response = match request.uri().path() {
                ME_PATH => {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                    grpc.unary(tower::service_fn(me), request).await
                }
                ADMIN_PATH => {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                    grpc.unary(tower::service_fn(admin), request).await
                }
                path => Status::unimplemented(format!("no method {path}")).into_http(),
            };
            Ok(response)
        })
    }
}

/// The layer of this service: `config`'s authentication, refusals as gRPC statuses.
#[must_use]
pub fn layer(config: impl Into<authgate::AuthOptions>) -> AuthLayer<User, GrpcRejection> {
    AuthLayer::new(config).on_rejection(GrpcRejection)
}

/// Serves [`AccountService`] behind `layer` on `listener` until `shutdown` completes.
///
/// # Errors
///
/// The server failed (the listener broke).
pub async fn serve(
    listener: tokio::net::TcpListener,
    layer: AuthLayer<User, GrpcRejection>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .layer(layer)
        .add_service(AccountService)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// A request carrying `token` as `authorization: Bearer` metadata.
///
/// # Panics
///
/// When `token` cannot be a metadata value (a control character).
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .expect("a token is printable ASCII");
    request.metadata_mut().insert("authorization", value);
    request
}

/// The client side of `authgate.example.Account`, over a tonic channel.
#[derive(Debug, Clone)]
pub struct AccountClient {
    inner: tonic::client::Grpc<tonic::transport::Channel>,
}

impl AccountClient {
    /// Connects to `url` (`http://127.0.0.1:PORT`).
    ///
    /// # Errors
    ///
    /// The URL is invalid or the server cannot be reached.
    pub async fn connect(url: String) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(url)?
            .connect()
            .await?;
        Ok(Self {
            inner: tonic::client::Grpc::new(channel),
        })
    }

    /// Calls `Me`.
    ///
    /// # Errors
    ///
    /// The status the server answered with.
    pub async fn me(
        &mut self,
        request: tonic::Request<MeRequest>,
    ) -> Result<tonic::Response<MeReply>, Status> {
        self.unary(request, ME_PATH).await
    }

    /// Calls `Admin`.
    ///
    /// # Errors
    ///
    /// The status the server answered with.
    pub async fn admin(
        &mut self,
        request: tonic::Request<AdminRequest>,
    ) -> Result<tonic::Response<AdminReply>, Status> {
        self.unary(request, ADMIN_PATH).await
    }

    async fn unary<Req, Res>(
        &mut self,
        request: tonic::Request<Req>,
        path: &'static str,
    ) -> Result<tonic::Response<Res>, Status>
    where
        Req: prost::Message + Send + 'static,
        Res: prost::Message + Default + Send + 'static,
    {
        self.inner
            .ready()
            .await
            .map_err(|err| Status::new(Code::Unavailable, format!("not connected: {err}")))?;
        let codec = tonic_prost::ProstCodec::<Req, Res>::default();
        let path = http::uri::PathAndQuery::from_static(path);
        self.inner.unary(request, path, codec).await
    }
}
