//! The Unix socket: binding it owner-only, and serving JSON-RPC on it with
//! jsonrpsee's HTTP/WebSocket service (HTTP POST for calls, so
//! `curl --unix-socket` works; WebSocket for subscriptions).
//!
//! Two guards sit around jsonrpsee: `BodyCap` answers any body over
//! `max_request_bytes` with 413, whatever its declared length or framing, and
//! `NeedsWebSocket` answers a subscription over plain HTTP with what to do instead.
//!
//! Idle clients cannot exhaust the socket:
//! - a request's headers must arrive within `header_timeout_ms`, counted from
//!   when the connection is ready for one (so a silent or kept-alive HTTP
//!   connection closes after it);
//! - a connection on which no byte moves for `idle_timeout_ms` while no call
//!   is being answered is closed; WebSocket connections are pinged every third
//!   of it, and one that answers no ping for that long is closed too;
//! - at most `max_connections` are open: at the limit, a new connection closes
//!   the one idle longest (those that never sent a request first), with a log
//!   line, so `daemon.status` always gets through; it is refused only when
//!   every connection is answering a call.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use jsonrpsee::server::middleware::rpc::{Batch, BatchEntry, BatchEntryErr, RpcServiceBuilder, RpcServiceT};
use jsonrpsee::server::{
    HttpBody, HttpRequest, HttpResponse, MethodResponse, PingConfig, Server, ServerConfig, stop_channel,
};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Request as RpcRequest};
use musique_api::MusiqueApiServer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;

use super::Rpc;
use crate::error::StartupError;
use crate::handles::Handles;

/// Longest socket path the kernel accepts (`sun_path` is 108 bytes on Linux, 104 on macOS).
const MAX_SOCKET_PATH: usize = 103;

/// Largest answer: a page of listens or a long search is well under it.
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

/// How long shutdown lets calls in flight finish before leaving their connections behind.
const DRAIN: Duration = Duration::from_secs(3);

/// Binds the socket: its directory is created 0700 when missing and checked (see
/// [`check_dir`]), a stale socket is replaced, a live one means another daemon runs;
/// the socket is made 0600. `default_location`: the socket is where musique puts it
/// by default (a directory of its own), which must then be private.
pub(crate) fn bind(path: &Path, default_location: bool) -> Result<UnixListener, StartupError> {
    let fail = |message: String| StartupError::Socket { path: path.to_owned(), message };
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(fail(format!("path is longer than {MAX_SOCKET_PATH} bytes; choose a shorter --socket")));
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| fail(format!("cannot create its directory: {err}")))?;
        // Checked after creating: the directory may have been there already, made by anyone.
        check_dir(dir, default_location).map_err(fail)?;
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

/// Checks the socket's directory, so that no other user can replace the socket or
/// listen in its place. musique's own directory (the default location, under the
/// runtime or temporary directory) must be private, as ssh-agent's and tmux's are:
/// a real directory owned by this user with no access for others. A directory the
/// user chose must be theirs (or root's) and closed to others' writes, unless
/// sticky like `/tmp`.
fn check_dir(dir: &Path, default_location: bool) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|err| format!("cannot check its directory: {err}"))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::getuid() };
    let mode = meta.mode() & 0o7777;
    let shown = dir.display();
    if default_location {
        if meta.file_type().is_symlink() {
            return Err(format!("its directory {shown} is a symbolic link; remove it"));
        }
        if meta.uid() != own_uid {
            return Err(format!(
                "its directory {shown} belongs to uid {}, not to you (uid {own_uid}); remove it",
                meta.uid()
            ));
        }
        if mode & 0o077 != 0 {
            return Err(format!(
                "its directory {shown} has mode {mode:04o}, open to other users; make it 0700 or remove it"
            ));
        }
        return Ok(());
    }
    // A symbolic link the user made is theirs to make: what counts is where it leads.
    let meta = std::fs::metadata(dir).map_err(|err| format!("cannot check its directory: {err}"))?;
    let mode = meta.mode() & 0o7777;
    if meta.uid() != own_uid && meta.uid() != 0 {
        return Err(format!(
            "its directory {shown} belongs to uid {}, not to you (uid {own_uid}); choose another --socket",
            meta.uid()
        ));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(format!(
            "its directory {shown} has mode {mode:04o}: other users may replace the socket; choose another --socket"
        ));
    }
    Ok(())
}

/// Serves until `shutdown` completes, then lets open calls finish (for a moment).
pub(crate) async fn serve(
    listener: UnixListener,
    handles: Handles,
    config: &musique_config::RpcConfig,
    shutdown: impl Future<Output = ()>,
) {
    let idle_timeout = Duration::from_millis(config.idle_timeout_ms);
    let header_timeout = Duration::from_millis(config.header_timeout_ms);
    let connections = Connections::new(config.max_connections as usize);
    // A subscriber is cut off before its connection would be: it is the one that knows why.
    let methods = Rpc::new(handles, connections.clone(), idle_timeout / 2).into_rpc();
    let (stop_handle, server_handle) = stop_channel();
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        // `Connections` is the limit; jsonrpsee's own count is set above it, so a
        // connection still winding down never makes it refuse a new one.
        .max_connections(config.max_connections.saturating_mul(2))
        .set_message_buffer_capacity(config.message_buffer)
        .enable_ws_ping(PingConfig::new().ping_interval(idle_timeout / 3).inactive_limit(idle_timeout))
        .build();
    let service_builder = Server::builder()
        .set_config(server_config)
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(NeedsWebSocket))
        .to_service_builder();
    // SAFETY: getuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::getuid() };
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if stream.peer_cred().map(|cred| cred.uid()).ok() != Some(own_uid) {
            tracing::warn!("refused a connection from another user");
            continue;
        }
        let Some(connection) = connections.admit(&stream) else { continue };
        let service = BodyCap {
            inner: service_builder.clone().connection_id(connection.id).build(methods.clone(), stop_handle.clone()),
            max: config.max_request_bytes,
        };
        let service = Counted { inner: TowerToHyperService::new(service), connection: connection.clone() };
        tokio::spawn(watch_idle(connections.clone(), connection.clone(), idle_timeout));
        let io = TokioIo::new(Tracked { stream, connection, connections: connections.clone() });
        let stopped = stop_handle.clone().shutdown();
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(io, service)
                .with_upgrades();
            tokio::pin!(served);
            let result = tokio::select! {
                result = served.as_mut() => result,
                _ = stopped => {
                    served.as_mut().graceful_shutdown();
                    served.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    let _ = server_handle.stop();
    // `stopped` resolves once every stop handle is gone, ours included.
    drop(stop_handle);
    // Open calls get a moment to finish; subscriptions are closed.
    if tokio::time::timeout(DRAIN, server_handle.stopped()).await.is_err() {
        tracing::warn!(open = connections.open(), "connections still answering calls are left behind");
    }
}

/// The open connections, to count them, pick one to close at the limit, and
/// close one (an events subscriber cut off). Cheap to clone.
#[derive(Clone)]
pub(crate) struct Connections {
    /// Locked briefly, never across an await. A connection's entry lives exactly
    /// as long as its socket is open, so closing one through it never reaches a
    /// reused file descriptor.
    registry: Arc<Mutex<Registry>>,
    max: usize,
}

#[derive(Default)]
struct Registry {
    next_id: u32,
    open: HashMap<u32, Arc<Connection>>,
}

/// One open connection, as its socket, its service and its watchdog see it.
struct Connection {
    /// Also its jsonrpsee connection id, which subscriptions know.
    id: u32,
    fd: RawFd,
    opened: Instant,
    /// When a byte last moved, in microseconds after `opened`.
    last_active_us: AtomicU64,
    /// HTTP requests being answered (a WebSocket upgrade only while it is made).
    in_flight: AtomicUsize,
    /// Whether a request ever arrived (connections that never sent one are closed first at the limit).
    requested: AtomicBool,
    /// Notified when the socket closes, to end the watchdog.
    closed: Notify,
}

impl Connection {
    fn touch(&self) {
        self.last_active_us.store(self.opened.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        self.opened.elapsed().saturating_sub(Duration::from_micros(self.last_active_us.load(Ordering::Relaxed)))
    }

    /// Shuts the socket down: whoever reads or writes it sees it end, and lets it go.
    fn shut_down(&self) {
        // SAFETY: the descriptor is open: the registry entry this is called through is
        // removed (under the same lock) before the socket closes.
        unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
    }
}

impl Connections {
    fn new(max: usize) -> Connections {
        Connections { registry: Arc::default(), max }
    }

    /// Registers a new connection. At the limit, closes the one idle longest to make
    /// room (one that never sent a request first); refuses the new one (`None`) when
    /// every connection is answering a call.
    fn admit(&self, stream: &UnixStream) -> Option<Arc<Connection>> {
        let mut registry = self.registry.lock().expect("connections lock");
        if registry.open.len() >= self.max {
            let idle = registry
                .open
                .values()
                .filter(|connection| connection.in_flight.load(Ordering::Relaxed) == 0)
                .max_by_key(|connection| {
                    // Never asked anything first, then idle longest, then (a tie) opened first.
                    let never_asked = !connection.requested.load(Ordering::Relaxed);
                    (never_asked, connection.idle_for(), std::cmp::Reverse(connection.id))
                });
            match idle {
                Some(idle) => {
                    tracing::warn!(
                        max = self.max,
                        idle_ms = idle.idle_for().as_millis() as u64,
                        "rpc connection limit reached: closing the connection idle longest to serve a new one"
                    );
                    idle.shut_down();
                    let id = idle.id;
                    registry.open.remove(&id);
                }
                None => {
                    tracing::warn!(
                        max = self.max,
                        "rpc connection limit reached and every connection is answering a call: refusing a new one"
                    );
                    return None;
                }
            }
        }
        let id = registry.next_id;
        registry.next_id = registry.next_id.wrapping_add(1);
        let connection = Arc::new(Connection {
            id,
            fd: stream.as_raw_fd(),
            opened: Instant::now(),
            last_active_us: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requested: AtomicBool::new(false),
            closed: Notify::new(),
        });
        registry.open.insert(id, connection.clone());
        Some(connection)
    }

    /// Closes a connection by its id (a jsonrpsee connection id); false when it is gone.
    pub(crate) fn close(&self, id: usize) -> bool {
        let mut registry = self.registry.lock().expect("connections lock");
        let Some(connection) = u32::try_from(id).ok().and_then(|id| registry.open.remove(&id)) else { return false };
        connection.shut_down();
        true
    }

    /// How many connections are open.
    fn open(&self) -> usize {
        self.registry.lock().expect("connections lock").open.len()
    }

    /// Forgets a connection whose socket is about to close.
    fn forget(&self, connection: &Connection) {
        let mut registry = self.registry.lock().expect("connections lock");
        // An evicted connection's id is already gone, or is another's after wrapping: only remove ours.
        if registry.open.get(&connection.id).is_some_and(|open| std::ptr::eq(open.as_ref(), connection)) {
            registry.open.remove(&connection.id);
        }
    }
}

/// Closes `connection` once no byte has moved on it for `idle_timeout` while it
/// answers no call; ends when the connection closes.
async fn watch_idle(connections: Connections, connection: Arc<Connection>, idle_timeout: Duration) {
    loop {
        let idle = connection.idle_for();
        if idle >= idle_timeout && connection.in_flight.load(Ordering::Relaxed) == 0 {
            tracing::info!(
                connection = connection.id,
                idle_ms = idle.as_millis() as u64,
                "closing a connection on which nothing moved: its client reads nothing and answers no ping"
            );
            connections.close(connection.id as usize);
            return;
        }
        let wait = idle_timeout.saturating_sub(idle).max(Duration::from_millis(10));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = connection.closed.notified() => return,
        }
    }
}

/// The socket of a connection, noting when bytes move; its entry is forgotten when it closes.
struct Tracked {
    stream: UnixStream,
    connection: Arc<Connection>,
    connections: Connections,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // Before the stream's descriptor is closed (fields drop after this).
        self.connections.forget(&self.connection);
        self.connection.closed.notify_one();
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            self.connection.touch();
        }
        result
    }

    // Hyper and the WebSocket writer send a head and a body in one system call when the
    // stream can: without these, each would be copied into one buffer or written apart.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            self.connection.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The jsonrpsee service, counting the requests it is answering.
struct Counted<S> {
    inner: S,
    connection: Arc<Connection>,
}

/// One request being answered; counted until its answer is ready.
struct InFlight(Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S> hyper::service::Service<Request<Incoming>> for Counted<S>
where
    S: hyper::service::Service<Request<Incoming>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.connection.requested.store(true, Ordering::Relaxed);
        self.connection.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = InFlight(self.connection.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let _in_flight = in_flight;
            answer.await
        })
    }
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
fn subscription_over_http<'a>(request: &'a RpcRequest<'_>) -> Option<&'a str> {
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

    fn call<'a>(&self, request: RpcRequest<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
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
