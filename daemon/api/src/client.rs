//! Connecting to the daemon socket: WebSocket over the Unix stream, so calls
//! and subscriptions share one connection.

use std::io;
use std::path::{Path, PathBuf};

use jsonrpsee::async_client::{Client, ClientBuilder};
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use tokio::net::UnixStream;

/// Largest response the client accepts (a 1000-listen page is well under this).
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the socket: the daemon is not running.
    #[error("musiqued is not running (no daemon at {socket})")]
    NotRunning {
        /// The socket path tried.
        socket: PathBuf,
    },
    /// The socket exists but could not be opened.
    #[error("cannot connect to {socket}: {source}")]
    Io {
        /// The socket path tried.
        socket: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The socket answered but not as a musique daemon.
    #[error("{socket} does not speak the musique protocol: {message}")]
    Handshake {
        /// The socket path tried.
        socket: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Opens a client on the daemon socket.
pub async fn connect(socket: &Path) -> Result<Client, ConnectError> {
    let stream = match UnixStream::connect(socket).await {
        Ok(stream) => stream,
        Err(err) if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => {
            return Err(ConnectError::NotRunning { socket: socket.to_owned() });
        }
        Err(source) => return Err(ConnectError::Io { socket: socket.to_owned(), source }),
    };
    let url = Url::parse("ws://localhost/").expect("static url parses");
    let transport =
        WsTransportClientBuilder::default().max_response_size(MAX_RESPONSE_BYTES).max_request_size(MAX_RESPONSE_BYTES);
    let (sender, receiver) = transport
        .build_with_stream(url, stream)
        .await
        .map_err(|err| ConnectError::Handshake { socket: socket.to_owned(), message: err.to_string() })?;
    Ok(ClientBuilder::default()
        .request_timeout(std::time::Duration::from_secs(3600))
        .build_with_tokio(sender, receiver))
}
