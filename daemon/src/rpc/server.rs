//! The Unix socket: binding it owner-only, and serving JSON-RPC on it with
//! jsonrpsee's HTTP/WebSocket service (HTTP POST for calls, so
//! `curl --unix-socket` works; WebSocket for subscriptions).
//!
//! Two guards sit around jsonrpsee: `BodyCap` answers any body over
//! `max_request_bytes` with 413, whatever its declared length or framing, and
//! `NeedsWebSocket` answers a subscription over plain HTTP with what to do instead.

use std::future::Future;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use jsonrpsee::server::middleware::rpc::{Batch, BatchEntry, BatchEntryErr, RpcServiceBuilder, RpcServiceT};
use jsonrpsee::server::{
    HttpBody, HttpRequest, HttpResponse, MethodResponse, Server, ServerConfig, serve_with_graceful_shutdown,
    stop_channel,
};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Request};
use musique_api::MusiqueApiServer;
use tokio::net::UnixListener;
use tokio::sync::Semaphore;

use super::Rpc;
use crate::error::StartupError;

/// Longest socket path the kernel accepts (`sun_path` is 108 bytes on Linux, 104 on macOS).
const MAX_SOCKET_PATH: usize = 103;

/// Binds the socket: its directory is created 0700, a stale socket is
/// replaced, a live one means another daemon runs; the socket is made 0600.
pub(crate) fn bind(path: &Path) -> Result<UnixListener, StartupError> {
    let fail = |message: String| StartupError::Socket { path: path.to_owned(), message };
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(fail(format!("path is longer than {MAX_SOCKET_PATH} bytes; choose a shorter --socket")));
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.exists()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| fail(format!("cannot create its directory: {err}")))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(StartupError::AlreadyRunning(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(|err| fail(format!("cannot remove the stale socket: {err}")))?;
        }
        Ok(_) => return Err(fail("exists and is not a socket".to_owned())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(fail(err.to_string())),
    }
    let listener = UnixListener::bind(path).map_err(|err| fail(format!("cannot bind: {err}")))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|err| fail(format!("cannot make it owner-only: {err}")))?;
    Ok(listener)
}

/// Serves until `shutdown` completes, then lets open calls finish.
pub(crate) async fn serve(
    listener: UnixListener,
    rpc: Rpc,
    config: &musique_config::RpcConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let methods = rpc.into_rpc();
    let (stop_handle, server_handle) = stop_channel();
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(64 * 1024 * 1024)
        .max_connections(config.max_connections)
        .build();
    let service_builder = Server::builder()
        .set_config(server_config)
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(NeedsWebSocket))
        .to_service_builder();
    // Bounds open connections; each holds a permit until it closes.
    let permits = Arc::new(Semaphore::new(config.max_connections as usize));
    // SAFETY: getuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::getuid() };
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    continue;
                }
            },
        };
        if stream.peer_cred().map(|cred| cred.uid()).ok() != Some(own_uid) {
            tracing::warn!("refused a connection from another user");
            continue;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(max = config.max_connections, "too many connections; refusing one");
            continue;
        };
        let service = BodyCap {
            inner: service_builder.clone().build(methods.clone(), stop_handle.clone()),
            max: config.max_request_bytes,
        };
        let stopped = stop_handle.clone().shutdown();
        tokio::spawn(async move {
            if let Err(err) = serve_with_graceful_shutdown(stream, service, stopped).await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    let _ = server_handle.stop();
    // `stopped` resolves once every stop handle is gone, ours included.
    drop(stop_handle);
    // Open calls get a moment to finish; subscriptions are closed.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server_handle.stopped()).await;
}

/// The error of a subscription call over plain HTTP, which has no way to carry notifications.
fn needs_websocket(method: &str) -> ErrorObjectOwned {
    ErrorObject::owned(
        jsonrpsee::types::error::INVALID_REQUEST_CODE,
        format!(
            "{method} needs a WebSocket connection (an upgrade on the same socket); plain HTTP POST carries only calls"
        ),
        None::<()>,
    )
}

/// Marks a request that came as a plain HTTP POST (not a WebSocket upgrade);
/// jsonrpsee hands the HTTP request's extensions to each call in it.
#[derive(Debug, Clone, Copy)]
struct PlainHttp;

/// Answers `events.subscribe` and `events.unsubscribe` over plain HTTP with
/// [`needs_websocket`] (jsonrpsee alone says "internal error"), alone or in a batch.
#[derive(Clone)]
struct NeedsWebSocket<S>(S);

/// The subscription method a call names, when it came over plain HTTP.
fn subscription_over_http<'a>(request: &'a Request<'_>) -> Option<&'a str> {
    let method = request.method_name();
    let subscription = matches!(method, "events.subscribe" | "events.unsubscribe");
    (subscription && request.extensions().get::<PlainHttp>().is_some()).then_some(method)
}

impl<S> RpcServiceT for NeedsWebSocket<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let answer = match subscription_over_http(&request).map(needs_websocket) {
            Some(error) => Err(MethodResponse::error(request.id(), error)),
            None => Ok(self.0.call(request)),
        };
        async move {
            match answer {
                Ok(call) => call.await,
                Err(refusal) => refusal,
            }
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let entries = batch
            .into_iter()
            .map(|entry| match entry {
                Ok(BatchEntry::Call(request)) => match subscription_over_http(&request).map(needs_websocket) {
                    Some(error) => Err(BatchEntryErr::new(request.id(), error)),
                    None => Ok(BatchEntry::Call(request)),
                },
                other => other,
            })
            .collect();
        self.0.batch(Batch::from(entries))
    }

    fn notification<'a>(
        &self,
        notification: jsonrpsee::server::middleware::rpc::Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.0.notification(notification)
    }
}

/// Refuses a body over `max` bytes with 413 (jsonrpsee's answer), at once when
/// its declared length says so, else as soon as it passes the cap. jsonrpsee alone
/// reads a length of 2^32 or more as none, and calls a chunked body over the cap an
/// internal error.
#[derive(Clone)]
struct BodyCap<S> {
    inner: S,
    max: u32,
}

impl<S> tower_service::Service<HttpRequest<Incoming>> for BodyCap<S>
where
    S: tower_service::Service<HttpRequest<HttpBody>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: HttpRequest<Incoming>) -> Self::Future {
        let max = self.max;
        let declared = request
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > u64::from(max)) {
            return Box::pin(std::future::ready(Ok(jsonrpsee::server::http::response::too_large(max))));
        }
        if !jsonrpsee::server::ws::is_upgrade_request(&request) {
            request.extensions_mut().insert(PlainHttp);
        }
        let over = Arc::new(AtomicBool::new(false));
        let seen = over.clone();
        let request = request.map(|body| {
            HttpBody::new(Limited::new(body, max as usize).map_err(move |err| {
                if err.is::<LengthLimitError>() {
                    seen.store(true, Ordering::Relaxed);
                }
                err
            }))
        });
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await?;
            if over.load(Ordering::Relaxed) {
                return Ok(jsonrpsee::server::http::response::too_large(max));
            }
            Ok(answer)
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
