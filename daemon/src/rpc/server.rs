//! The Unix socket: binding it owner-only, and serving JSON-RPC on it with
//! jsonrpsee's HTTP/WebSocket service (HTTP POST for calls, so
//! `curl --unix-socket` works; WebSocket for subscriptions).

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use jsonrpsee::server::{Server, ServerConfig, serve_with_graceful_shutdown, stop_channel};
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
    let service_builder = Server::builder().set_config(server_config).to_service_builder();
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
        let service = service_builder.clone().build(methods.clone(), stop_handle.clone());
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
