//! The plugin host: loads drop-in plugins from the plugins directory, runs
//! each instance on its own thread, and turns what plugins emit into the
//! same ingest path as every other source.
//!
//! A plugin file is checked (a whole ELF library), copied to a private
//! content-addressed cache, loaded from there with `dlopen` and never
//! unloaded, so replacing or rebuilding the file can never change code under
//! a running instance. Each instance lives on a dedicated thread; the host
//! waits for its answers with a timeout. A plugin that panics, hangs, has the
//! wrong ABI, or answers garbage is marked failed with the reason, and the
//! daemon goes on. The directory is watched: files added, replaced or removed
//! are picked up within a second, without a restart.

mod elf;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use musique_config::AdapterConfig;
use musique_sdk::abi::{self, PluginV1};
use musique_sdk::host::{CallError, HostServices, Instance, Table};
use musique_sdk::protocol::{ErrorKind, Event as PluginEvent, Listen};
use musique_sdk::{Capability, Level};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::clock;
use crate::store::{Put, Store};

/// What plugins emit, for the daemon to ingest or announce.
#[derive(Debug)]
pub(crate) enum Emitted {
    /// Plays to record, with the plugin's name as their source.
    Listens { plugin: String, listens: Vec<Listen> },
    /// What a plugin sees playing now.
    NowPlaying { plugin: String, artist: String, track: String, album: Option<String> },
    /// Progress of a plugin's long job.
    Progress { plugin: String, job: String, done: u64, total: Option<u64> },
    /// What a zone of a player plugin plays now.
    Playback { plugin: String, playback: musique_sdk::player::Playback },
    /// Where a player plugin's connection stands.
    PlayerStatus { plugin: String, status: musique_sdk::player::PlayerStatus },
}

/// A plugin as `plugins.list` shows it.
#[derive(Debug, Clone)]
pub(crate) struct PluginStatus {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) abi: Option<(u32, u32)>,
    pub(crate) protocol: Option<(u32, u32)>,
    /// What it declared it can do, as the SDK names it.
    pub(crate) capabilities: Vec<Capability>,
    /// The plugin file, for dynamic plugins; `None` for built-in ones.
    pub(crate) file: Option<String>,
    pub(crate) state: PluginState,
    pub(crate) last_error: Option<String>,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
}

/// Why a call to a plugin did not answer.
#[derive(Debug)]
pub(crate) enum PluginCallError {
    /// No running plugin has this name.
    NotRunning(String),
    /// The plugin answered with an error, or broke.
    Call(CallError),
}

impl std::fmt::Display for PluginCallError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginCallError::NotRunning(name) => write!(
                formatter,
                "the {name} adapter is not running (see `musiquectl plugins`; `[adapters.{name}] enabled = false` turns it off)"
            ),
            PluginCallError::Call(CallError::Plugin(error)) => formatter.write_str(&error.message),
            PluginCallError::Call(other) => write!(formatter, "the adapter failed: {other}"),
        }
    }
}

impl PluginCallError {
    /// The plugin's own error, when it answered with one.
    pub(crate) fn plugin_error(&self) -> Option<&musique_sdk::Error> {
        match self {
            PluginCallError::Call(CallError::Plugin(error)) => Some(error),
            _ => None,
        }
    }
}

/// Where a plugin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PluginState {
    Running,
    Failed,
    Disabled,
}

/// Handle to the host; cheap to clone.
#[derive(Clone)]
pub(crate) struct PluginHost {
    shared: Arc<Shared>,
}

struct Shared {
    /// The watched directory.
    dir: PathBuf,
    /// Private copies, named by content.
    cache: PathBuf,
    /// Plugins' own state lives in the store.
    store: Store,
    /// `[adapters.<name>]` tables, replaced on config reload.
    adapters: Mutex<BTreeMap<String, AdapterConfig>>,
    /// How long a call may take.
    call_timeout: Duration,
    /// Where emitted listens and now-playing go.
    emitted: UnboundedSender<Emitted>,
    /// One entry per plugin file. Locked briefly; never across a call into a plugin.
    entries: Mutex<BTreeMap<String, Entry>>,
    /// Plugin names disabled through `plugins.disable`.
    disabled: Mutex<BTreeSet<String>>,
    /// Serializes scans (the watcher and `plugins.reload` may ask at once).
    scanning: Mutex<()>,
    /// First-party adapters linked into musiqued, run through the same ABI as dynamic ones.
    builtins: Vec<Table>,
}

/// Entries of built-in plugins are keyed `builtin:<name>`; file names never contain `:`.
const BUILTIN_PREFIX: &str = "builtin:";

struct Entry {
    hash: u64,
    status: PluginStatus,
    /// The instance's thread; dropping it stops the instance.
    worker: Option<Worker>,
}

/// Most time shutdown waits for the plugins' instances to be destroyed.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// Most time a plugin's `create` and `hello` may take together.
const START_TIMEOUT_FACTOR: u32 = 2;

impl PluginHost {
    /// Creates the plugins directory if needed and loads what is in it.
    pub(crate) fn start(
        dir: PathBuf,
        cache: PathBuf,
        store: Store,
        config: &musique_config::Config,
        builtins: Vec<Table>,
        emitted: UnboundedSender<Emitted>,
    ) -> std::io::Result<PluginHost> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&cache)?;
        let host = PluginHost {
            shared: Arc::new(Shared {
                dir,
                cache,
                store,
                adapters: Mutex::new(config.adapters.clone()),
                call_timeout: Duration::from_millis(config.plugins.call_timeout_ms),
                emitted,
                entries: Mutex::new(BTreeMap::new()),
                disabled: Mutex::new(BTreeSet::new()),
                scanning: Mutex::new(()),
                builtins,
            }),
        };
        for table in host.shared.builtins.clone() {
            host.start_builtin(table);
        }
        host.rescan();
        Ok(host)
    }

    /// Loads new and changed plugin files and stops the ones removed. Blocks.
    pub(crate) fn rescan(&self) {
        let _scan = self.shared.scanning.lock().expect("scanning lock");
        let files = match plugin_files(&self.shared.dir) {
            Ok(files) => files,
            Err(err) => {
                tracing::warn!(dir = %self.shared.dir.display(), error = %err, "cannot list the plugins directory");
                return;
            }
        };
        let known: Vec<String> = self.shared.entries.lock().expect("entries lock").keys().cloned().collect();
        let removed = known.iter().filter(|file| !file.starts_with(BUILTIN_PREFIX) && !files.contains_key(*file));
        for file in removed {
            let entry = self.shared.entries.lock().expect("entries lock").remove(file);
            if let Some(entry) = entry {
                tracing::info!(plugin = %entry.status.name, file, "plugin file removed; plugin stopped");
                drop(entry.worker);
                self.restore_builtin(&entry.status.name);
            }
        }
        for (file, bytes) in files {
            let hash = content_hash(&bytes);
            let unchanged =
                self.shared.entries.lock().expect("entries lock").get(&file).is_some_and(|entry| entry.hash == hash);
            if unchanged {
                continue;
            }
            let entry = self.load(&file, bytes, hash);
            if entry.status.state == PluginState::Failed {
                tracing::warn!(plugin = %entry.status.name, file, state = ?entry.status.state, error = ?entry.status.last_error, "plugin loaded");
            } else {
                tracing::info!(plugin = %entry.status.name, file, state = ?entry.status.state, error = ?entry.status.last_error, "plugin loaded");
            }
            let mut entries = self.shared.entries.lock().expect("entries lock");
            if entry.worker.is_some() {
                // The newest file of a plugin wins: another file's instance of the same plugin
                // stops, and so does a built-in one (two instances of one adapter would both
                // talk to its service: two Roon extensions, two Last.fm trackers).
                for (other_file, other) in entries.iter_mut() {
                    if *other_file != file && other.status.name == entry.status.name && other.worker.is_some() {
                        other.worker = None;
                        other.status.state = PluginState::Disabled;
                        other.status.last_error = Some(format!("replaced by {file}"));
                    }
                }
            }
            // Replacing the entry drops the old worker: the old instance stops.
            entries.insert(file, entry);
        }
    }

    /// Applies new `[adapters.*]` tables: plugins whose table changed restart with it.
    /// Returns the names of the plugins restarted.
    pub(crate) fn set_adapters(&self, adapters: BTreeMap<String, AdapterConfig>) -> Vec<String> {
        let changed: Vec<String> = {
            let mut current = self.shared.adapters.lock().expect("adapters lock");
            let names: BTreeSet<&String> = current.keys().chain(adapters.keys()).collect();
            let changed = names.into_iter().filter(|name| current.get(*name) != adapters.get(*name)).cloned().collect();
            *current = adapters;
            changed
        };
        let restarted: Vec<String> =
            self.list().into_iter().map(|status| status.name).filter(|name| changed.contains(name)).collect();
        for name in &restarted {
            self.restart(name);
        }
        restarted
    }

    /// Every plugin file and its state.
    pub(crate) fn list(&self) -> Vec<PluginStatus> {
        self.shared
            .entries
            .lock()
            .expect("entries lock")
            .values()
            .map(|entry| {
                let mut status = entry.status.clone();
                if let Some(worker) = &entry.worker {
                    status.calls = worker.calls.load(Ordering::Relaxed);
                    status.errors = worker.errors.load(Ordering::Relaxed);
                    if let Some(error) = worker.failure.lock().expect("failure lock").clone() {
                        status.state = PluginState::Failed;
                        status.last_error = Some(error);
                    }
                }
                status
            })
            .collect()
    }

    /// Calls a running plugin by name and waits for its answer (blocks: call from a
    /// blocking thread). A drop-in plugin of the same name as a built-in one wins (the
    /// built-in one stops while it runs): that is how a user runs a newer build of a
    /// first-party adapter.
    pub(crate) fn call(&self, name: &str, method: &str, payload: Value) -> Result<Value, PluginCallError> {
        let worker = {
            let entries = self.shared.entries.lock().expect("entries lock");
            let healthy = |entry: &&Entry| {
                entry.worker.as_ref().is_some_and(|worker| worker.failure.lock().expect("failure lock").is_none())
            };
            let chosen = entries
                .iter()
                .filter(|(_, entry)| entry.status.name == name && healthy(entry))
                .max_by_key(|(key, _)| !key.starts_with(BUILTIN_PREFIX));
            chosen.and_then(|(_, entry)| entry.worker.clone())
        };
        let worker = worker.ok_or_else(|| PluginCallError::NotRunning(name.to_owned()))?;
        worker.call(method, payload, self.shared.call_timeout).map_err(PluginCallError::Call)
    }

    /// Whether a plugin of this name is running.
    pub(crate) fn is_running(&self, name: &str) -> bool {
        self.list().iter().any(|status| status.name == name && status.state == PluginState::Running)
    }

    /// Stops a plugin and keeps it stopped until enabled.
    pub(crate) fn disable(&self, name: &str) -> bool {
        self.shared.disabled.lock().expect("disabled lock").insert(name.to_owned());
        let mut found = false;
        for entry in self.shared.entries.lock().expect("entries lock").values_mut() {
            if entry.status.name == name {
                found = true;
                entry.worker = None;
                entry.status.state = PluginState::Disabled;
            }
        }
        found
    }

    /// Starts a disabled plugin again.
    pub(crate) fn enable(&self, name: &str) -> bool {
        self.shared.disabled.lock().expect("disabled lock").remove(name);
        self.restart(name)
    }

    /// Starts a plugin's instances again (with the current config); `false` when there is none.
    fn restart(&self, name: &str) -> bool {
        let mut found = false;
        let mut builtins = Vec::new();
        for (key, entry) in self.shared.entries.lock().expect("entries lock").iter_mut() {
            if entry.status.name == name {
                found = true;
                if key.starts_with(BUILTIN_PREFIX) {
                    builtins.push(name.to_owned());
                } else {
                    // Forget the content hash so the next scan loads the file again.
                    entry.hash = 0;
                }
            }
        }
        for table in self.shared.builtins.iter().filter(|table| builtins.iter().any(|name| name == table.name())) {
            self.start_builtin(*table);
        }
        self.rescan();
        found
    }

    /// Starts the built-in plugin of this name again, if there is one and no file of that
    /// name runs (its drop-in was removed).
    fn restore_builtin(&self, name: &str) {
        let replaced = {
            let entries = self.shared.entries.lock().expect("entries lock");
            let file_runs = entries.iter().any(|(key, entry)| {
                !key.starts_with(BUILTIN_PREFIX) && entry.status.name == name && entry.worker.is_some()
            });
            let disabled = self.shared.disabled.lock().expect("disabled lock").contains(name);
            !file_runs && !disabled
        };
        if replaced && let Some(table) = self.shared.builtins.iter().find(|table| table.name() == name) {
            self.start_builtin(*table);
        }
    }

    /// (Re)starts a built-in plugin.
    fn start_builtin(&self, table: Table) {
        let key = format!("{BUILTIN_PREFIX}{}", table.name());
        let mut status = blank_status(table.name(), None);
        let worker = self.start_table(table, &mut status);
        if status.state == PluginState::Failed {
            tracing::warn!(plugin = %status.name, state = ?status.state, error = ?status.last_error, "built-in plugin started");
        } else {
            tracing::info!(plugin = %status.name, state = ?status.state, error = ?status.last_error, "built-in plugin started");
        }
        self.shared.entries.lock().expect("entries lock").insert(key, Entry { hash: 0, status, worker });
    }

    /// Stops every instance.
    pub(crate) fn stop_all(&self) {
        let entries = std::mem::take(&mut *self.shared.entries.lock().expect("entries lock"));
        let ending: Vec<(String, Arc<Mutex<std::sync::mpsc::Receiver<()>>>)> = entries
            .values()
            .filter_map(|entry| entry.worker.as_ref().map(|worker| (entry.status.name.clone(), worker)))
            .filter(|(_, worker)| worker.failure.lock().expect("failure lock").is_none())
            .map(|(name, worker)| (name, worker.ended.clone()))
            .collect();
        // Dropping the workers closes their job channels: each instance is destroyed on its thread.
        drop(entries);
        // Waiting for that lets the instances' handles on the store go before it closes.
        let deadline = std::time::Instant::now() + STOP_WAIT;
        for (name, ended) in ending {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let ended = ended.lock().expect("ended lock").recv_timeout(left);
            if !matches!(ended, Err(std::sync::mpsc::RecvTimeoutError::Disconnected)) {
                tracing::warn!(
                    plugin = name,
                    "a plugin did not stop within {} ms; its thread is left behind",
                    STOP_WAIT.as_millis()
                );
            }
        }
    }

    /// Loads one file into an entry (running, failed or disabled).
    fn load(&self, file: &str, bytes: Vec<u8>, hash: u64) -> Entry {
        let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem).trim_start_matches("lib");
        let mut status = blank_status(stem, Some(file));
        let table = match self.open(file, &bytes, hash) {
            Ok(table) => table,
            Err(reason) => {
                tracing::warn!(file, %reason, "plugin refused");
                status.last_error = Some(reason);
                return Entry { hash, status, worker: None };
            }
        };
        let worker = self.start_table(table, &mut status);
        Entry { hash, status, worker }
    }

    /// Creates an instance of a checked table (unless disabled) and calls `hello` and `start`.
    fn start_table(&self, table: Table, status: &mut PluginStatus) -> Option<Worker> {
        status.name = table.name().to_owned();
        status.version = table.version().to_owned();
        status.abi = Some(table.abi());
        let adapter = self.shared.adapters.lock().expect("adapters lock").get(&status.name).cloned();
        let disabled = self.shared.disabled.lock().expect("disabled lock").contains(&status.name);
        if disabled || adapter.as_ref().is_some_and(|adapter| !adapter.enabled) {
            status.state = PluginState::Disabled;
            return None;
        }
        let config = adapter
            .map(|adapter| serde_json::to_value(&adapter.settings).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let services = Arc::new(Services {
            plugin: status.name.clone(),
            store: self.shared.store.clone(),
            emitted: self.shared.emitted.clone(),
        });
        let (worker, hello) =
            match Worker::start(table, services, config, self.shared.call_timeout * START_TIMEOUT_FACTOR) {
                Ok(started) => started,
                Err(reason) => {
                    status.state = PluginState::Failed;
                    status.last_error = Some(reason);
                    return None;
                }
            };
        status.protocol = Some((hello.protocol.major, hello.protocol.minor));
        status.capabilities = hello.capabilities.clone();
        status.state = PluginState::Running;
        status.last_error = None;
        // Live plugins begin their work on `start`; plugins without it are fine.
        match worker.call("start", Value::Null, self.shared.call_timeout) {
            Ok(_) => {}
            Err(CallError::Plugin(error)) if error.kind == ErrorKind::UnknownMethod => {}
            Err(err) => {
                status.state = PluginState::Failed;
                status.last_error = Some(format!("start: {err}"));
            }
        }
        Some(worker)
    }

    /// Checks, copies and opens a plugin file; returns its checked table.
    fn open(&self, file: &str, bytes: &[u8], hash: u64) -> Result<Table, String> {
        if cfg!(target_os = "linux") {
            elf::check_shared_library(bytes)?;
        }
        let (stem, extension) = file.rsplit_once('.').unwrap_or((file, "so"));
        let private = self.shared.cache.join(format!("{stem}-{hash:016x}.{extension}"));
        if !private.exists() {
            let partial = self.shared.cache.join(format!(".{stem}-{hash:016x}.partial"));
            std::fs::write(&partial, bytes)
                .and_then(|()| std::fs::rename(&partial, &private))
                .map_err(|err| format!("cannot copy to the plugin cache: {err}"))?;
        }
        // SAFETY: loading runs the library's initializers; that is what installing a plugin means.
        let library = unsafe { libloading::Library::new(&private) }.map_err(|err| format!("cannot load: {err}"))?;
        let table = {
            // SAFETY: the ABI fixes the entry symbol's signature.
            let entry = unsafe { library.get::<extern "C" fn() -> *const PluginV1>(abi::ENTRY_V1.as_bytes()) }
                .map_err(|_| {
                    format!("no `{}` symbol: not a musique plugin (or built for another ABI major)", abi::ENTRY_V1)
                })?;
            let raw = std::panic::catch_unwind(|| entry()).map_err(|_| "the entry point panicked".to_owned())?;
            // SAFETY: the library is never unloaded (forgotten below), so the table stays valid.
            unsafe { Table::check(raw) }.map_err(|err| err.to_string())?
        };
        // Never unload: threads and destructors of the plugin may outlive any unloading point.
        std::mem::forget(library);
        Ok(table)
    }
}

fn blank_status(name: &str, file: Option<&str>) -> PluginStatus {
    PluginStatus {
        name: name.to_owned(),
        version: String::new(),
        abi: None,
        protocol: None,
        capabilities: Vec::new(),
        file: file.map(str::to_owned),
        state: PluginState::Failed,
        last_error: None,
        calls: 0,
        errors: 0,
    }
}

/// The first-party adapters linked into musiqued; they run through the same ABI as drop-ins.
pub(crate) fn builtin_tables() -> Vec<Table> {
    // SAFETY: the tables are built by the SDK and live for the process.
    let tables = unsafe {
        [
            Table::check(musique_sdk::__private::table::<musique_lastfm::Lastfm>()),
            Table::check(musique_sdk::__private::table::<musique_roon::Roon>()),
            Table::check(musique_sdk::__private::table::<musique_discogs::Discogs>()),
        ]
    };
    tables.into_iter().map(|table| table.expect("a built-in adapter's table is valid")).collect()
}

/// A capability's name on the wire (`history`, `live`, …).
pub(crate) fn capability_name(capability: &Capability) -> String {
    serde_json::to_value(capability)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    // Names private copies; not a security boundary (the plugins directory is the user's own).
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish().max(1)
}

/// Plugin files in the directory (final names only: no dotfiles, temporary or partial files).
fn plugin_files(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_library = name.ends_with(".so") || name.ends_with(".dylib");
        if name.starts_with('.') || !is_library || !entry.file_type()?.is_file() {
            continue;
        }
        files.insert(name, std::fs::read(entry.path())?);
    }
    Ok(files)
}

/// A plugin instance on its own thread. Clones share the instance.
#[derive(Clone)]
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Disconnected once the instance's thread has ended (the instance destroyed).
    ended: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
    calls: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    /// Set when the instance stopped answering (a hang); the thread is then abandoned.
    failure: Arc<Mutex<Option<String>>>,
}

enum Job {
    Call { method: String, payload: Value, reply: std::sync::mpsc::Sender<Result<Value, CallError>> },
}

impl Worker {
    /// Creates the instance on a new thread and negotiates `hello`, within `timeout`.
    fn start(
        table: Table,
        services: Arc<Services>,
        config: Value,
        timeout: Duration,
    ) -> Result<(Worker, musique_sdk::protocol::HelloReply), String> {
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let (started, started_inbox) = std::sync::mpsc::channel();
        let (ending, ended) = std::sync::mpsc::channel::<()>();
        let name = table.name().to_owned();
        std::thread::Builder::new()
            .name(format!("plugin-{name}"))
            .spawn(move || {
                // Dropped last, when the thread ends: `stop_all` waits for that.
                let _ending = ending;
                let mut instance: Instance = match table.create(services, &config) {
                    Ok(instance) => instance,
                    Err(err) => {
                        let _ = started.send(Err(format!("create failed: {err}")));
                        return;
                    }
                };
                match instance.hello() {
                    Ok(hello) => {
                        let _ = started.send(Ok(hello));
                    }
                    Err(err) => {
                        let _ = started.send(Err(format!("hello failed: {err}")));
                        return;
                    }
                }
                while let Ok(Job::Call { method, payload, reply }) = inbox.recv() {
                    let _ = reply.send(instance.call(&method, &payload));
                }
                // The channel closed: the instance is destroyed here, on its own thread.
            })
            .map_err(|err| format!("cannot start a thread: {err}"))?;
        let hello = match started_inbox.recv_timeout(timeout) {
            Ok(Ok(hello)) => hello,
            Ok(Err(reason)) => return Err(reason),
            Err(_) => return Err(format!("did not start within {} ms", timeout.as_millis())),
        };
        let worker = Worker {
            jobs,
            ended: Arc::new(Mutex::new(ended)),
            calls: Arc::new(AtomicU64::new(0)),
            errors: Arc::new(AtomicU64::new(0)),
            failure: Arc::new(Mutex::new(None)),
        };
        Ok((worker, hello))
    }

    /// Calls the instance and waits at most `timeout`; a hang marks the worker failed.
    fn call(&self, method: &str, payload: Value, timeout: Duration) -> Result<Value, CallError> {
        if let Some(reason) = self.failure.lock().expect("failure lock").clone() {
            return Err(CallError::Garbage(reason));
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = std::sync::mpsc::channel();
        let sent = self.jobs.send(Job::Call { method: method.to_owned(), payload, reply });
        let result = match sent {
            Ok(()) => match answer.recv_timeout(timeout) {
                Ok(result) => result,
                Err(_) => {
                    let reason = format!("`{method}` did not return within {} ms", timeout.as_millis());
                    *self.failure.lock().expect("failure lock") = Some(reason.clone());
                    Err(CallError::Garbage(reason))
                }
            },
            Err(_) => Err(CallError::Garbage("the plugin's thread is gone".to_owned())),
        };
        // `start` is optional: a plugin without it has not failed.
        let optional = method == "start"
            && matches!(&result, Err(CallError::Plugin(error)) if error.kind == ErrorKind::UnknownMethod);
        if result.is_err() && !optional {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(CallError::Panicked(message)) = &result {
            *self.failure.lock().expect("failure lock") = Some(message.clone());
        }
        result
    }
}

/// What the daemon gives one plugin instance.
struct Services {
    plugin: String,
    store: Store,
    emitted: UnboundedSender<Emitted>,
}

impl HostServices for Services {
    fn log(&self, level: Level, message: &str) {
        let plugin = self.plugin.as_str();
        match level {
            Level::Error => tracing::error!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Trace => tracing::trace!(plugin, "{message}"),
        }
    }

    fn emit(&self, event: &[u8]) -> bool {
        let Ok(event) = serde_json::from_slice::<PluginEvent>(event) else {
            tracing::warn!(plugin = %self.plugin, "refused an event that is not valid JSON of a known shape");
            return false;
        };
        let plugin = self.plugin.clone();
        let emitted = match event {
            PluginEvent::Listens { listens } => Emitted::Listens { plugin, listens },
            PluginEvent::NowPlaying { artist, track, album } => Emitted::NowPlaying { plugin, artist, track, album },
            PluginEvent::Progress { job, done, total } => Emitted::Progress { plugin, job, done, total },
            PluginEvent::Playback(playback) => Emitted::Playback { plugin, playback },
            PluginEvent::PlayerStatus(status) => Emitted::PlayerStatus { plugin, status },
            _ => return true,
        };
        self.emitted.send(emitted).is_ok()
    }

    fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        self.store.read().ok()?.plugin_state(&self.plugin, key).ok()?
    }

    fn kv_put(&self, key: &str, value: &[u8]) -> bool {
        let put = Put::Plugin { plugin: self.plugin.clone(), key: key.to_owned(), value: value.to_vec() };
        self.store.put_blocking(vec![put]).is_ok()
    }

    fn now_ms(&self) -> i64 {
        clock::Clock::system().now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_plugins_run_through_the_same_host() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8, crate::clock::Clock::system()).unwrap();
        let config = musique_config::Config::parse(
            "[adapters.echo]\nstart_artist = \"Air\"\nstart_track = \"Alone in Kyoto\"\nstart_at = 1700000000\n",
            Path::new("test.toml"),
        )
        .unwrap();
        let (emitted, mut inbox) = tokio::sync::mpsc::unbounded_channel();
        // SAFETY: the table is built by the SDK and lives for the process.
        let table = unsafe { Table::check(musique_sdk::__private::table::<musique_echo_plugin::Echo>()) }.unwrap();
        let host = PluginHost::start(
            dir.path().join("plugins"),
            dir.path().join("cache"),
            store.clone(),
            &config,
            vec![table],
            emitted,
        )
        .unwrap();

        let plugins = host.list();
        assert_eq!(plugins.len(), 1);
        assert_eq!(
            (plugins[0].name.as_str(), plugins[0].file.as_deref(), plugins[0].state),
            ("echo", None, PluginState::Running)
        );
        assert_eq!(plugins[0].capabilities, vec![Capability::Live]);
        let mut emitted = Vec::new();
        while let Ok(event) = inbox.try_recv() {
            emitted.push(event);
        }
        assert!(
            matches!(&emitted[0], Emitted::NowPlaying { plugin, track, .. } if plugin == "echo" && track == "Alone in Kyoto"),
            "{emitted:?}"
        );
        assert!(
            emitted
                .iter()
                .any(|event| matches!(event, Emitted::Listens { listens, .. } if listens[0].track == "Alone in Kyoto")),
            "{emitted:?}"
        );

        assert!(host.disable("echo"));
        assert_eq!(host.list()[0].state, PluginState::Disabled);
        assert!(host.enable("echo"));
        assert_eq!(host.list()[0].state, PluginState::Running);
        // Scans of the plugins directory leave built-ins alone.
        host.rescan();
        assert_eq!(host.list().len(), 1);
        host.stop_all();
        store.close();
    }
}
