//! The daemon's life: start the components in order, serve, and stop them in
//! reverse order on SIGTERM or Ctrl-C.
//!
//! Start: data directory → store (which locks it) → socket (refusing to
//! start beside a live daemon) → index (rebuilt or caught up) → plugins →
//! credentials → HTTP listener (optional; a failure to bind is reported, not fatal) → RPC.
//! Stop: RPC → HTTP (requests in flight finish) → background work (imports left
//! resumable) → plugins → indexer (last commit) → store.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use musique_config::Config;
use tokio::net::UnixListener;

use crate::error::{Result, io_err};
use crate::events::EventBus;
use crate::plugins::PluginHost;
use crate::rpc::{self, Rpc};
use crate::service::Service;
use crate::store::Store;

/// Where the daemon keeps its files and listens.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Store and index directory.
    pub data_dir: PathBuf,
    /// JSON-RPC socket.
    pub socket: PathBuf,
    /// The config file reloads read (`--config`, else the default location), if any.
    pub config_file: Option<PathBuf>,
}

/// A started daemon, ready to [`Daemon::run`].
pub struct Daemon {
    /// Everything the RPC serves.
    service: Service,
    /// The bound socket, served by `run`.
    listener: UnixListener,
    /// Where things are.
    paths: Paths,
    /// The configuration it started with.
    config: Config,
    /// Installed before the socket exists, so a SIGTERM is never missed.
    signals: Signals,
    /// What plugins emit, ingested by a task while the daemon runs.
    emitted_inbox: tokio::sync::mpsc::UnboundedReceiver<crate::plugins::Emitted>,
    /// Watches the plugins directory while it lives.
    watcher: Option<notify::RecommendedWatcher>,
    /// The scrobbling endpoints, when they are served.
    http: Option<crate::http::Http>,
}

impl Daemon {
    /// Opens the store and index and binds the socket. Fails clearly when
    /// another daemon holds the data directory or the socket.
    pub fn start(config: Config, paths: Paths) -> Result<Daemon> {
        let signals = Signals::install().map_err(io_err("install signal handlers", "musiqued"))?;
        // Owner-only: the data directory holds a person's listening history.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&paths.data_dir)
            .map_err(io_err("create data directory", &paths.data_dir))?;
        let store = Store::open(&paths.data_dir, config.store.cache_mb)?;
        let listener = match rpc::server::bind(&paths.socket) {
            Ok(listener) => listener,
            Err(err) => {
                store.close();
                return Err(err.into());
            }
        };
        let commit_interval = Duration::from_millis(config.index.commit_interval_ms);
        let index = match crate::index::open(&paths.data_dir.join("index"), &store, commit_interval) {
            Ok(index) => index,
            Err(err) => {
                store.close();
                let _ = std::fs::remove_file(&paths.socket);
                return Err(err);
            }
        };
        let (emitted, emitted_inbox) = tokio::sync::mpsc::unbounded_channel();
        let plugins_dir = config.plugins_dir(&paths.data_dir);
        let plugins = PluginHost::start(
            plugins_dir.clone(),
            paths.data_dir.join("plugin-cache"),
            store.clone(),
            &config,
            crate::plugins::builtin_tables(),
            emitted,
        )
        .map_err(io_err("create plugins directory", &plugins_dir))?;
        let credentials = match crate::service::Credentials::open(store.clone(), &paths.data_dir) {
            Ok(credentials) => credentials,
            Err(err) => {
                plugins.stop_all();
                index.stop();
                store.close();
                let _ = std::fs::remove_file(&paths.socket);
                return Err(err);
            }
        };
        let service = Service::new(store, index, plugins, EventBus::default(), &config, &paths, credentials);
        let watcher = match crate::watch::start(service.clone(), &plugins_dir, paths.config_file.as_deref()) {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch for changes; use `musiquectl plugins reload` and SIGHUP");
                None
            }
        };
        let http = crate::http::Http::bind(&service, &config.http);
        Ok(Daemon { service, listener, paths, config, signals, emitted_inbox, watcher, http })
    }

    /// Serves until SIGTERM or Ctrl-C, then stops every component in order.
    pub async fn run(self) -> Result<()> {
        let Daemon { service, listener, paths, config, signals, mut emitted_inbox, watcher, http } = self;
        let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
        let http = http.map(|http| tokio::spawn(http.serve(http_stopped)));
        let ingesting = service.clone();
        let plugin_ingest = tokio::spawn(async move {
            while let Some(emitted) = emitted_inbox.recv().await {
                ingesting.plugin_emitted(emitted).await;
            }
        });
        tracing::info!(socket = %paths.socket.display(), data_dir = %paths.data_dir.display(), "musiqued ready");
        // Trackers and adapter imports left running start again, off the start-up path.
        let resuming = service.clone();
        tokio::task::spawn_blocking(move || resuming.resume_adapters());
        let reloading = service.clone();
        let on_hangup = move || {
            let service = reloading.clone();
            tokio::task::spawn_blocking(move || service.reload_config());
        };
        rpc::serve(listener, Rpc::new(service.clone()), &config.rpc, signals.shutdown(on_hangup)).await;
        tracing::info!("shutting down");
        // Scrobblers first: requests in flight finish (their listens are stored) before the store closes.
        let _ = stop_http.send(true);
        if let Some(http) = http {
            let _ = http.await;
        }
        drop(watcher);
        plugin_ingest.abort();
        let stopping = service.clone();
        tokio::task::spawn_blocking(move || {
            stopping.stop_background();
            stopping.plugins().stop_all();
            stopping.index().stop();
            stopping.store().close();
        })
        .await
        .map_err(|err| crate::error::Error::Internal(crate::error::InternalError::WriteFailed(err.to_string())))?;
        let _ = std::fs::remove_file(&paths.socket);
        tracing::info!("stopped");
        Ok(())
    }
}

/// The signals the daemon handles.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Resolves on SIGTERM or SIGINT; calls `on_hangup` on each SIGHUP (config reload).
    async fn shutdown(mut self, on_hangup: impl Fn()) {
        loop {
            tokio::select! {
                _ = self.terminate.recv() => return,
                _ = self.interrupt.recv() => return,
                _ = self.hangup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    on_hangup();
                }
            }
        }
    }
}
