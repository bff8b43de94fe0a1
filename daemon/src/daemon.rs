//! The daemon's life: start the components in order, serve, and stop them in
//! reverse order on SIGTERM or Ctrl-C.
//!
//! Start: data directory → store (which locks it) → socket (refusing to
//! start beside a live daemon) → index (rebuilt or caught up) → plugins →
//! imports → credentials → adapters → config → watcher → HTTP listener
//! (optional; a failure to bind is reported, not fatal) → RPC. Each part is
//! registered in [`Components`] as soon as it started.
//! Stop: RPC → HTTP (requests in flight finish) → then every component in
//! reverse: watcher, trackers and enricher, imports (left resumable), plugins,
//! indexer (last commit), socket file, store; each within a bound, so a part
//! that hangs is abandoned (logged) and the store still closes. A failed start
//! stops what had started the same way, by dropping the registry.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use musique_config::Config;
use tokio::net::UnixListener;

use crate::adapters::Adapters;
use crate::clock::Clock;
use crate::components::{Component, ComponentState, Components, Health};
use crate::error::{Result, StartupError, io_err};
use crate::events::EventBus;
use crate::handles::Handles;
use crate::imports::Imports;
use crate::imports::runs::Runs;
use crate::library::Library;
use crate::plugins::{PluginHost, PluginState};
use crate::rpc;
use crate::runtime::Runtime;
use crate::scrobbling::{Credentials, Scrobbling};
use crate::store::Store;

/// Longest the store may take to close, beyond the components' shared budget.
const STORE_CLOSE_BOUND: Duration = Duration::from_secs(5);

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
    /// Everything the edges serve.
    handles: Handles,
    /// Every started part, stopped in reverse when the daemon stops (or fails to start).
    components: Arc<Components>,
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
    /// The scrobbling endpoints, when they are served.
    http: Option<crate::http::Http>,
}

impl Daemon {
    /// Opens the store and index and binds the socket. Fails clearly when
    /// another daemon holds the data directory or the socket.
    pub fn start(config: Config, paths: Paths) -> Result<Daemon> {
        let signals = Signals::install().map_err(io_err("install signal handlers", "musiqued"))?;
        let clock = Clock::system();
        // Every file and directory the daemon creates from here on is its user's alone.
        // SAFETY: umask has no preconditions and cannot fail.
        unsafe { libc::umask(0o077) };
        private_data_dir(&paths.data_dir)?;
        // On an early return, dropping this stops whatever had started, in reverse.
        let components = Arc::new(Components::default());
        let store = Store::open(&paths.data_dir, config.store.cache_mb, clock.clone())?;
        components.started(
            Component::new("store", running, {
                let store = store.clone();
                move || store.close()
            })
            // Closed cleanly whatever happened before: a last commit and the file lock.
            .must_finish(STORE_CLOSE_BOUND),
        );
        // Memory is trimmed only once the store has been quiet for a whole look (and the process idle).
        let quiet = {
            let store = store.clone();
            let mut last_seq = store.last_seq();
            move || {
                let seq = store.last_seq();
                std::mem::replace(&mut last_seq, seq) == seq
            }
        };
        components.started(crate::memory::start(quiet).map_err(io_err("spawn", "memory"))?);
        let default_location = paths.socket == musique_config::default_socket_path();
        let listener = rpc::server::bind(&paths.socket, default_location)?;
        components.started(Component::new("socket", running, {
            let socket = paths.socket.clone();
            move || {
                let _ = std::fs::remove_file(&socket);
            }
        }));
        let commit_interval = Duration::from_millis(config.index.commit_interval_ms);
        let index = crate::index::open(&paths.data_dir.join("index"), &store, commit_interval)?;
        components.started(Component::new(
            "indexer",
            {
                let (index, store) = (index.clone(), store.clone());
                move || match index.last_error() {
                    Some(error) => Health::new(ComponentState::Failed, Some(error)),
                    None => {
                        let lag = store.last_seq().saturating_sub(index.indexed_seq());
                        Health::new(ComponentState::Running, (lag > 0).then(|| format!("{lag} changes to index")))
                    }
                }
            },
            {
                let index = index.clone();
                move || index.stop()
            },
        ));
        let events = EventBus::default();
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
        components.started(Component::new(
            "plugins",
            {
                let plugins = plugins.clone();
                move || plugins_health(&plugins)
            },
            {
                let plugins = plugins.clone();
                move || plugins.stop_all()
            },
        ));
        let library =
            Library::new(store.clone(), index, events.clone(), config.credits.separators.clone(), clock.clone());
        library.configure_time_zone(config.general.timezone.as_deref());
        library.configure_session_gap(config.general.session_gap_minutes);
        let runs = Runs::new(library.clone(), store.clone(), events.clone());
        components.started(Component::new(
            "imports",
            {
                let runs = runs.clone();
                move || match runs.running_count() {
                    0 => Health::new(ComponentState::Idle, None),
                    running => Health::new(ComponentState::Running, Some(format!("{running} running"))),
                }
            },
            {
                let runs = runs.clone();
                move || runs.stop_all(crate::imports::runs::STOP_WAIT)
            },
        ));
        let imports = Imports::new(library.clone(), runs.clone(), events.clone(), config.import.clone());
        let credentials = Credentials::open(store.clone(), &paths.data_dir, clock.clone())?;
        let scrobbling = Scrobbling::new(library.clone(), credentials, events.clone(), config.http.user.clone());
        let adapters =
            Adapters::new(plugins, library.clone(), runs, store, events.clone(), &config.import, &config.adapters);
        components.started(Component::new("adapters", running, {
            let adapters = adapters.clone();
            move || adapters.stop_background()
        }));
        let runtime = Runtime::new(
            library.clone(),
            adapters.clone(),
            components.clone(),
            &config,
            paths.config_file.clone(),
            paths.data_dir.clone(),
        );
        components.started(Component::new(
            "config",
            {
                let runtime = runtime.clone();
                move || runtime.config_health()
            },
            || {},
        ));
        match crate::watch::start(runtime.clone(), &plugins_dir, paths.config_file.as_deref()) {
            Ok(watcher) => {
                // A plugin dropped in between the host's first scan and the watch would go unseen: look again.
                runtime.plugins_changed();
                let watcher = std::sync::Mutex::new(Some(watcher));
                components.started(Component::new("watcher", running, move || {
                    // Dropping the watcher ends its thread.
                    watcher.lock().expect("watcher lock").take();
                }))
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch for changes; use `musiquectl plugins reload` and SIGHUP");
            }
        }
        let handles = Handles { library, imports, adapters, scrobbling, runtime, events };
        let http = crate::http::Http::bind(&handles, &config.http);
        components.started(Component::new(
            "http",
            {
                let runtime = handles.runtime.clone();
                move || runtime.http_health()
            },
            // Stopped first, by `run`, so requests in flight finish while everything else still runs.
            || {},
        ));
        // Served by `run`, and stopped there before anything else.
        components.started(Component::new("rpc", running, || {}));
        Ok(Daemon { handles, components, listener, paths, config, signals, emitted_inbox, http })
    }

    /// Serves until SIGTERM or Ctrl-C, then stops every component in order.
    pub async fn run(self) -> Result<()> {
        let Daemon { handles, components, listener, paths, config, signals, mut emitted_inbox, http } = self;
        let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
        let http = http.map(|http| tokio::spawn(http.serve(http_stopped)));
        let ingesting = handles.adapters.clone();
        let plugin_ingest = tokio::spawn(async move {
            while let Some(emitted) = emitted_inbox.recv().await {
                ingesting.emitted(emitted).await;
            }
        });
        tracing::info!(socket = %paths.socket.display(), data_dir = %paths.data_dir.display(), "musiqued ready");
        // Trackers and adapter imports left running start again, off the start-up path.
        let resuming = handles.adapters.clone();
        tokio::task::spawn_blocking(move || resuming.resume());
        let reloading = handles.runtime.clone();
        let on_hangup = move || {
            let runtime = reloading.clone();
            tokio::task::spawn_blocking(move || runtime.reload_config());
        };
        rpc::serve(listener, handles.clone(), &config.rpc, signals.shutdown(on_hangup)).await;
        tracing::info!("shutting down");
        // Scrobblers first: requests in flight finish (their listens are stored) before the store closes.
        let _ = stop_http.send(true);
        if let Some(http) = http {
            let _ = http.await;
        }
        plugin_ingest.abort();
        drop(handles);
        tokio::task::spawn_blocking(move || components.stop_all())
            .await
            .map_err(|_| crate::error::Error::Internal(crate::error::InternalError::WorkerGone("shutdown")))?;
        let abandoned = rpc::blocking_calls();
        if abandoned > 0 {
            tracing::warn!(calls = abandoned, "RPC calls still running are abandoned (waiting on a plugin, say)");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// What the data directory keeps that is tightened at each start, with what is inside it
/// (older versions left them readable by others): the store, the key, the index, the plugin cache.
/// The plugins directory is the user's, left as it is.
const PRIVATE_ENTRIES: &[&str] = &[crate::store::STORE_FILE, "scrobble.key", "index", "plugin-cache"];

/// Makes the data directory private: it holds a person's listening history. It is
/// created 0700, or must already belong to this user, and is then made 0700, and
/// what it keeps 0600 (0700 for folders).
fn private_data_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let fail = |message: String| StartupError::DataDir { path: dir.to_owned(), message };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err("create data directory", dir))?;
    let meta = std::fs::metadata(dir).map_err(io_err("check data directory", dir))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::getuid() };
    if meta.uid() != own_uid {
        return Err(fail(format!(
            "belongs to uid {}, not to you (uid {own_uid}); musiqued keeps its data only in a directory of yours",
            meta.uid()
        ))
        .into());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        tracing::info!(data_dir = %dir.display(), was = format!("{mode:04o}"), "made the data directory private (0700)");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|err| fail(format!("cannot make it private (0700): {err}")))?;
    }
    for name in PRIVATE_ENTRIES {
        tighten(&dir.join(name), 0).map_err(|err| fail(format!("cannot make {name} private: {err}")))?;
    }
    Ok(())
}

/// Takes group and other permissions off `path` and, for a folder, what it holds
/// (a few levels deep). Symbolic links are left alone; a missing path is fine.
fn tighten(path: &std::path::Path, depth: usize) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    if meta.is_dir() && depth < 4 {
        for entry in std::fs::read_dir(path)? {
            tighten(&entry?.path(), depth + 1)?;
        }
    }
    Ok(())
}

/// The health of a part with nothing more to say than that it runs.
fn running() -> Health {
    Health::new(ComponentState::Running, None)
}

fn plugins_health(plugins: &PluginHost) -> Health {
    let list = plugins.list();
    let count = |state: PluginState| list.iter().filter(|plugin| plugin.state == state).count();
    let (running, failed) = (count(PluginState::Running), count(PluginState::Failed));
    let state = if failed > 0 { ComponentState::Degraded } else { ComponentState::Running };
    Health::new(state, Some(format!("{running} running, {failed} failed")))
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
