//! The daemon as it runs: the config in force and its reloads, the started
//! components, how the HTTP listener is, and the status that sums them up.
//!
//! `Runtime` is a cheap `Clone` handle.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::adapters::Adapters;
use crate::components::{ComponentReport, ComponentState, Components, Health};
use crate::error::Result;
use crate::library::Library;
use crate::store::Counts;

/// The daemon's running state.
#[derive(Clone)]
pub(crate) struct Runtime {
    state: Arc<State>,
}

struct State {
    /// Counts and index health for the status.
    library: Library,
    /// Reloads restart the plugins whose config changed.
    adapters: Adapters,
    /// The started components; stopped in reverse at shutdown.
    components: Arc<Components>,
    /// The config file, what of it is applied, and how reloads went. Locked briefly.
    config: Mutex<ConfigState>,
    /// How the scrobbling endpoints are. Locked briefly.
    http: Mutex<HttpState>,
    /// Shown in the status.
    data_dir: PathBuf,
    /// When the daemon started (unix milliseconds), for the uptime.
    started_ms: i64,
}

/// The config as the daemon runs it.
struct ConfigState {
    /// The file reloads read (absent: the defaults apply).
    file: Option<PathBuf>,
    /// The config in force.
    applied: musique_config::Config,
    /// How many reloads were attempted.
    reloads: u64,
    /// Why the last reload was refused, while it is.
    error: Option<String>,
}

/// The state of the scrobbling endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HttpState {
    /// Turned off in the config, or stopped.
    Off,
    /// Serving at this base URL.
    Listening(String),
    /// Could not start (the port is taken, the certificate is unreadable, …).
    Failed(String),
}

/// The status of the daemon.
pub(crate) struct StatusReport {
    pub(crate) uptime_s: u64,
    pub(crate) counts: Counts,
    pub(crate) store_bytes: u64,
    pub(crate) index_bytes: u64,
    pub(crate) index_lag: u64,
    pub(crate) data_dir: String,
    /// Every component, in start order.
    pub(crate) components: Vec<ComponentReport>,
    /// The scrobbling endpoints' base URL, while they listen.
    pub(crate) http_url: Option<String>,
}

impl Runtime {
    pub(crate) fn new(
        library: Library,
        adapters: Adapters,
        components: Arc<Components>,
        config: &musique_config::Config,
        config_file: Option<PathBuf>,
        data_dir: PathBuf,
    ) -> Runtime {
        let started_ms = library.clock().now_ms();
        Runtime {
            state: Arc::new(State {
                library,
                adapters,
                components,
                config: Mutex::new(ConfigState { file: config_file, applied: config.clone(), reloads: 0, error: None }),
                http: Mutex::new(HttpState::Off),
                data_dir,
                started_ms,
            }),
        }
    }

    /// Records how the scrobbling endpoints are.
    pub(crate) fn set_http(&self, state: HttpState) {
        *self.state.http.lock().expect("http state lock") = state;
    }

    /// How the scrobbling endpoints are, as a component.
    pub(crate) fn http_health(&self) -> Health {
        match self.state.http.lock().expect("http state lock").clone() {
            HttpState::Off => Health::new(ComponentState::Off, None),
            HttpState::Listening(url) => Health::new(ComponentState::Running, Some(format!("listening on {url}"))),
            HttpState::Failed(error) => Health::new(ComponentState::Failed, Some(error)),
        }
    }

    /// The config as a component: ok, or the refused reload. The watched file that does
    /// not exist (yet) is no config file: the defaults are in force.
    pub(crate) fn config_health(&self) -> Health {
        let config = self.state.config.lock().expect("config lock");
        match &config.error {
            Some(error) => {
                Health::new(ComponentState::Invalid, Some(format!("last reload refused, running config kept: {error}")))
            }
            None => Health::new(
                ComponentState::Ok,
                Some(format!(
                    "{}, reloaded {} times",
                    config
                        .file
                        .as_ref()
                        .filter(|file| file.exists())
                        .map_or_else(|| "defaults (no config file)".to_owned(), |file| file.display().to_string()),
                    config.reloads
                )),
            ),
        }
    }

    /// Seconds since the daemon started.
    pub(crate) fn uptime_s(&self) -> u64 {
        u64::try_from((self.state.library.clock().now_ms() - self.state.started_ms).max(0) / 1000).unwrap_or(0)
    }

    pub(crate) fn status(&self) -> Result<StatusReport> {
        let index = self.state.library.index_health();
        let http_url = match &*self.state.http.lock().expect("http state lock") {
            HttpState::Listening(url) => Some(url.clone()),
            _ => None,
        };
        Ok(StatusReport {
            uptime_s: self.uptime_s(),
            counts: self.state.library.counts()?,
            store_bytes: self.state.library.store_bytes(),
            index_bytes: index.bytes,
            index_lag: index.lag,
            data_dir: self.state.data_dir.display().to_string(),
            components: self.state.components.report(),
            http_url,
        })
    }

    /// Reads the config file again. A valid change to `[adapters.*]` restarts the
    /// plugins it touches, `[general]` applies at once; other sections apply at the next start. An invalid file is
    /// refused, logged, shown in the status, and the running config stays. Blocks.
    pub(crate) fn reload_config(&self) {
        let file = self.state.config.lock().expect("config lock").file.clone();
        let loaded = match &file {
            Some(file) if file.exists() => musique_config::Config::load(file),
            _ => Ok(musique_config::Config::default()),
        };
        let new = match loaded {
            Ok(new) => new,
            Err(err) => {
                tracing::error!(error = %err, "config reload refused; the running config stays");
                let mut state = self.state.config.lock().expect("config lock");
                state.reloads += 1;
                state.error = Some(err.to_string());
                return;
            }
        };
        let later = {
            let mut state = self.state.config.lock().expect("config lock");
            state.reloads += 1;
            state.error = None;
            if state.applied.general != new.general {
                // Nothing is stored per zone: answers follow at once.
                self.state.library.configure_time_zone(new.general.timezone.as_deref());
                self.state.library.configure_session_gap(new.general.session_gap_minutes);
                state.applied.general = new.general.clone();
            }
            let old = &state.applied;
            let sections = [
                ("paths", old.paths != new.paths),
                ("import", old.import != new.import),
                ("credits", old.credits != new.credits),
                ("index", old.index != new.index),
                ("store", old.store != new.store),
                ("rpc", old.rpc != new.rpc),
                ("log", old.log != new.log),
                ("plugins", old.plugins != new.plugins),
                ("http", old.http != new.http),
            ];
            let later: Vec<&str> = sections.iter().filter(|(_, changed)| *changed).map(|(name, _)| *name).collect();
            state.applied.adapters = new.adapters.clone();
            later
        };
        if !later.is_empty() {
            tracing::warn!(sections = ?later, "these config sections changed and take effect when musiqued restarts");
        }
        let restarted = self.state.adapters.configure(new.adapters);
        tracing::info!(restarted = ?restarted, "config reloaded");
    }

    /// The plugins directory changed (the watcher). Blocks.
    pub(crate) fn plugins_changed(&self) {
        self.state.adapters.rescan_plugins();
    }
}
