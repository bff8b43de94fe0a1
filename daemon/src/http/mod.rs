//! The HTTP listener: ListenBrainz- and Last.fm 2.0-compatible scrobbling
//! endpoints, and `/health` for monitoring.
//!
//! hyper serves HTTP/1.1 on a TCP listener (loopback by default), optionally
//! behind rustls. Connections are bounded (`max_connections`, each holding a
//! semaphore permit), a request's headers must arrive within `header_timeout_ms`
//! (which also closes idle kept-alive connections), and its body is read and
//! answered within `request_timeout_ms`, with a per-route size cap checked
//! before anything is parsed (a refused body is read and dropped for a few
//! seconds, so that the 413 reaches a client still sending it).
//!
//! Everything a client submits goes through `Scrobbling::submit` into the
//! library's one ingest path, like `listens.add`: a 200 means the listens are
//! durably stored.
//!
//! What it exposes: a request naming a host other than the listener's is refused
//! (DNS rebinding), answers let no web origin read them unless the config lists it
//! (CORS), and reading the history needs a token unless `[http] public_reads` is
//! set (`/health` gives anonymous callers the status alone).
//!
//! Modules: `listenbrainz` serves `/1/…`, `lastfm` serves `/2.0/` and the
//! `/api/auth/` page, `audioscrobbler` the 1.2 protocol (`/?hs=true` and
//! `/audioscrobbler/…`), `limiter` keeps per-credential request budgets, `access`
//! holds the Host and CORS rules.

mod access;
mod audioscrobbler;
mod lastfm;
mod limiter;
mod listenbrainz;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use musique_config::HttpConfig;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::handles::Handles;
use crate::library::Library;
use crate::runtime::{HttpState, Runtime};
use crate::scrobbling::Scrobbling;

/// How long shutdown waits for requests in flight before closing their connections.
const DRAIN: Duration = Duration::from_secs(5);
/// How long, and how many bytes at most, the rest of a refused body is read and
/// thrown away: closing a connection with unread bytes resets it, and a client still
/// sending would see the reset instead of the 413.
const LINGER: Duration = Duration::from_secs(5);
const LINGER_BYTES: u64 = 64 * 1024 * 1024;
/// Most bytes reserved up front for a body, whatever length it declares.
const FIRST_RESERVE: usize = 64 * 1024;

/// The HTTP answer type.
pub(crate) type Answer = Response<Full<Bytes>>;

/// A bound listener, ready to serve.
pub(crate) struct Http {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    max_connections: u32,
    header_timeout: Duration,
}

/// What every request handler shares.
pub(crate) struct App {
    /// Credentials, now-playing and submissions.
    scrobbling: Scrobbling,
    /// The listens the read endpoints answer with.
    library: Library,
    /// Where the listener's state is shown.
    runtime: Runtime,
    limiter: limiter::Limiter,
    request_timeout: Duration,
    /// The user name clients sign in with.
    user: String,
    /// `https` behind TLS, else `http`: URLs handed to Audioscrobbler clients use it.
    scheme: &'static str,
    /// Whether the history may be read without a token (`[http] public_reads`).
    public_reads: bool,
    /// The web origins whose pages may read answers (`[http] cors_origins`).
    cors_origins: Vec<String>,
    /// Host names served beside loopback ones and the listener's address (`[http] hostnames`).
    hostnames: Vec<String>,
}

impl Http {
    /// Binds the listener and loads the TLS certificate; records the outcome in the
    /// service's status. `None` when turned off or when it cannot start (logged).
    pub(crate) fn bind(handles: &Handles, config: &HttpConfig) -> Option<Http> {
        if !config.enabled {
            handles.runtime.set_http(HttpState::Off);
            return None;
        }
        match Http::try_bind(handles, config) {
            Ok(http) => Some(http),
            Err(error) => {
                tracing::error!(%error, "the scrobbling endpoints are not served");
                handles.runtime.set_http(HttpState::Failed(error));
                None
            }
        }
    }

    fn try_bind(handles: &Handles, config: &HttpConfig) -> Result<Http, String> {
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        let listener = std::net::TcpListener::bind(config.listen)
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .and_then(TcpListener::from_std)
            .map_err(|err| format!("cannot listen on {}: {err}", config.listen))?;
        let local = listener.local_addr().map_err(|err| err.to_string())?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{local}");
        tracing::info!(%url, "scrobbling endpoints listening");
        handles.runtime.set_http(HttpState::Listening(url));
        Ok(Http {
            listener,
            tls,
            app: Arc::new(App {
                scrobbling: handles.scrobbling.clone(),
                library: handles.library.clone(),
                runtime: handles.runtime.clone(),
                limiter: limiter::Limiter::new(config.rate_limit, config.rate_window_s),
                request_timeout: Duration::from_millis(config.request_timeout_ms),
                user: handles.scrobbling.user().to_owned(),
                scheme,
                public_reads: config.public_reads,
                cors_origins: config.cors_origins.clone(),
                hostnames: config.hostnames.clone(),
            }),
            max_connections: config.max_connections,
            header_timeout: Duration::from_millis(config.header_timeout_ms),
        })
    }

    /// Serves until `shutdown` turns true; then stops accepting, lets requests in
    /// flight finish (for a few seconds) and closes every connection.
    pub(crate) async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let Http { listener, tls, app, max_connections, header_timeout } = self;
        let permits = Arc::new(Semaphore::new(max_connections as usize));
        loop {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => permit.expect("never closed"),
                _ = shutdown.changed() => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %err, "cannot accept an HTTP connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            // The address the client reached: a Host naming it is the listener's own.
            let Ok(local) = stream.local_addr() else { continue };
            let ends = Ends { peer, local: local.ip() };
            let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
            tokio::spawn(async move {
                let _permit = permit;
                match tls {
                    None => connection(TokioIo::new(stream), ends, app, header_timeout, shutdown).await,
                    Some(tls) => match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection(TokioIo::new(stream), ends, app, header_timeout, shutdown).await,
                        Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    },
                }
            });
        }
        drop(listener);
        // Each connection holds a permit: all of them back means all closed.
        let _ = tokio::time::timeout(DRAIN + Duration::from_secs(1), permits.acquire_many(max_connections)).await;
        app.runtime.set_http(HttpState::Off);
    }
}

/// The two ends of a connection.
#[derive(Debug, Clone, Copy)]
struct Ends {
    /// The client's address (budgets of requests without a credential).
    peer: SocketAddr,
    /// The listener's address the client connected to.
    local: IpAddr,
}

/// Serves one connection until it closes or the daemon stops.
async fn connection<I>(
    io: TokioIo<I>,
    ends: Ends,
    app: Arc<App>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.answer(request, ends).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(DRAIN, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(err) = result {
        tracing::debug!(peer = %ends.peer, error = %err, "HTTP connection ended");
    }
}

impl App {
    /// Routes a request for this listener's host, bounds the time it takes, and
    /// lets a listed web origin read the answer.
    async fn answer(&self, request: Request<Incoming>, ends: Ends) -> Answer {
        let started = std::time::Instant::now();
        let peer = ends.peer;
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let origin = request.headers().get(header::ORIGIN).cloned();
        let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
            || request.headers().get(header::CONTENT_LENGTH).is_some_and(|length| length.as_bytes() != b"0");
        let host = match request.uri().authority() {
            Some(authority) => Some(authority.as_str().to_owned()),
            None => request.headers().get(header::HOST).and_then(|host| host.to_str().ok()).map(str::to_owned),
        };
        let mut answer = if !access::host_allowed(host.as_deref(), ends.local, &self.hostnames) {
            access::wrong_host(host.as_deref())
        } else {
            match tokio::time::timeout(self.request_timeout, self.route(request, peer)).await {
                Ok(answer) => answer,
                Err(_) => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &serde_json::json!({"code": 503, "error": "The request took too long; try again."}),
                ),
            }
        };
        access::allow_origin(&mut answer, origin.as_ref(), &self.cors_origins);
        if answer.status() == StatusCode::PAYLOAD_TOO_LARGE || (has_body && answer.status().is_client_error()) {
            // A refused body may be unread, or still arriving: hyper closes such a connection after
            // the answer, so the answer says so, and the client does not send its next request on it.
            answer.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        tracing::debug!(%peer, %method, %path, status = answer.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "http");
        answer
    }

    async fn route(&self, request: Request<Incoming>, peer: SocketAddr) -> Answer {
        let path = request.uri().path();
        if request.method() == Method::OPTIONS {
            return access::preflight(request.headers().get(header::ORIGIN), &self.cors_origins);
        }
        if path == "/health" {
            return self.health(self.may_read(&request));
        }
        if matches!(path, "/2.0" | "/2.0/") {
            return lastfm::handle(self, request).await;
        }
        if matches!(path, "/api/auth" | "/api/auth/") {
            return lastfm::auth_page(self, &request);
        }
        if path.starts_with("/1/") {
            return listenbrainz::handle(self, request, peer).await;
        }
        if audioscrobbler::is_handshake(&request)
            || matches!(path, audioscrobbler::NOW_PLAYING_PATH | audioscrobbler::SUBMISSIONS_PATH)
        {
            return audioscrobbler::handle(self, request, peer).await;
        }
        json(StatusCode::NOT_FOUND, &serde_json::json!({"code": 404, "error": format!("no endpoint at {path}")}))
    }

    /// Whether a request may read the history: reads are public, or it carries a
    /// valid token (`Authorization: Token …`, as for submissions).
    fn may_read(&self, request: &Request<Incoming>) -> bool {
        self.public_reads
            || listenbrainz::token_of(request)
                .is_some_and(|token| self.scrobbling.credentials().by_token(&token).is_some())
    }

    /// `/health`: the status, and for callers who may read the history, the version,
    /// uptime, listen count and index lag.
    fn health(&self, reader: bool) -> Answer {
        let library = &self.library;
        match library.counts() {
            Ok(_) if !reader => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
            Ok(counts) => json(
                StatusCode::OK,
                &serde_json::json!({
                    "status": "ok",
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptime_s": self.runtime.uptime_s(),
                    "listens": counts.listens,
                    "index_lag": library.index_health().lag,
                }),
            ),
            Err(_) if !reader => json(StatusCode::SERVICE_UNAVAILABLE, &serde_json::json!({"status": "error"})),
            Err(err) => {
                json(StatusCode::SERVICE_UNAVAILABLE, &serde_json::json!({"status": "error", "error": err.to_string()}))
            }
        }
    }
}

/// Runs store reads off the async workers; a failure (logged) is `Err(())`, for
/// each API to answer in its own shape.
async fn read_store<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, ()> {
    let failure = match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(err)) => err.to_string(),
        Err(err) => err.to_string(),
    };
    tracing::error!(error = %failure, "cannot read the store for a scrobbling client");
    Err(())
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// Larger than the route's cap.
    TooLarge(usize),
    /// The client went away or sent a broken body.
    Broken(String),
}

/// Reads a whole body of at most `cap` bytes, refusing a larger declared length at
/// once and a longer body as soon as it passes the cap (the rest is read and dropped
/// in the background, see [`LINGER`]).
pub(crate) async fn read_body(request: Request<Incoming>, cap: usize) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let mut body = request.into_body();
    if declared.is_some_and(|length| length > cap as u64) {
        linger(body);
        return Err(BodyError::TooLarge(cap));
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |length| length as usize).min(FIRST_RESERVE));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| BodyError::Broken(err.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > cap {
            linger(body);
            return Err(BodyError::TooLarge(cap));
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Bytes::from(bytes))
}

/// Reads the rest of a refused body in the background and drops it, for at most
/// [`LINGER`] and [`LINGER_BYTES`], so that the answer reaches a client still sending.
fn linger(mut body: Incoming) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen: u64 = 0;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, |data| data.len() as u64);
                if seen > LINGER_BYTES {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    });
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Answer {
    let bytes = serde_json::to_vec(body).expect("JSON values serialise");
    with_type(status, bytes, "application/json")
}

/// An answer with a content type (`App::answer` adds CORS headers for listed origins).
pub(crate) fn with_type(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    answer
}

/// The query string as name → value pairs, in order.
pub(crate) fn query_pairs(request: &Request<Incoming>) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .map(|query| form_urlencoded::parse(query.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// A rustls acceptor for the certificate chain and key (PEM files).
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|err| format!("cannot read the TLS certificate {}: {err}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|err| format!("cannot read the TLS key {}: {err}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|err| format!("unusable TLS certificate or key: {err}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
