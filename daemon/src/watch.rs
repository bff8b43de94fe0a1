//! One file watcher for the daemon: the plugins directory (drop-in plugins)
//! and the config file's directory (hot reload). Editors save by renaming,
//! so directories are watched, not files, and events are filtered by path.
//! A burst of events is folded into one action after it settles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::Watcher;

use crate::runtime::Runtime;

/// How long events must pause before acting on them.
const SETTLE: Duration = Duration::from_millis(300);

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Plugins,
    Config,
}

/// Starts watching; the returned watcher stops watching when dropped.
pub(crate) fn start(
    runtime: Runtime,
    plugins_dir: &Path,
    config_file: Option<&Path>,
) -> notify::Result<notify::RecommendedWatcher> {
    let (changed, changes) = std::sync::mpsc::channel::<Change>();
    let plugins = plugins_dir.to_owned();
    let config = config_file.map(Path::to_owned);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        for path in &event.paths {
            if path.parent() == Some(plugins.as_path()) {
                let _ = changed.send(Change::Plugins);
            }
            if config.as_deref().is_some_and(|config| same_file_name(path, config)) {
                let _ = changed.send(Change::Config);
            }
        }
    })?;
    watcher.watch(plugins_dir, notify::RecursiveMode::NonRecursive)?;
    if let Some(dir) = config_file.and_then(Path::parent).filter(|dir| dir.is_dir()) {
        watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
    }
    std::thread::Builder::new()
        .name("watcher".into())
        .spawn(move || {
            // Ends when the watcher (and so the sender) is dropped at shutdown.
            while let Ok(first) = changes.recv() {
                let mut pending = vec![first];
                while let Ok(change) = changes.recv_timeout(SETTLE) {
                    pending.push(change);
                }
                if pending.contains(&Change::Config) {
                    runtime.reload_config();
                }
                if pending.contains(&Change::Plugins) {
                    runtime.plugins_changed();
                }
            }
        })
        .map_err(|err| notify::Error::generic(&err.to_string()))?;
    Ok(watcher)
}

fn same_file_name(path: &Path, config: &Path) -> bool {
    path.parent() == config.parent() && path.file_name() == config.file_name()
}

/// The config file to watch: the one given, else the default location.
pub(crate) fn config_file(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit.or_else(musique_config::default_config_path)
}
