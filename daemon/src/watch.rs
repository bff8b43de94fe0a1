//! One file watcher for the daemon: the plugins directory (drop-in plugins)
//! and the config file's directory (hot reload). Editors save by renaming,
//! so directories are watched, not files, and events are filtered by path.
//! A burst of events is folded into one action after it settles. Reading a
//! file is no change (access events are ignored), and the config is reloaded
//! only when its content differs from what was last read, so the daemon's own
//! read of the file never triggers another reload.

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
        if !changes_content(&event.kind) {
            return;
        }
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
    let mut config_seen = ConfigContent::read(config_file);
    std::thread::Builder::new()
        .name("watcher".into())
        .spawn(move || {
            // Ends when the watcher (and so the sender) is dropped at shutdown.
            while let Ok(first) = changes.recv() {
                let mut pending = vec![first];
                while let Ok(change) = changes.recv_timeout(SETTLE) {
                    pending.push(change);
                }
                if pending.contains(&Change::Config) && config_seen.changed() {
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

/// Whether an event can change a file's content or presence (opening or reading cannot).
fn changes_content(kind: &notify::EventKind) -> bool {
    !matches!(kind, notify::EventKind::Access(_))
}

/// The config file's content as last read by the watcher, to tell a real change
/// from an event that changed nothing (a touch, a save of the same text).
struct ConfigContent {
    file: Option<PathBuf>,
    /// `None`: absent or unreadable.
    content: Option<Vec<u8>>,
}

impl ConfigContent {
    fn read(file: Option<&Path>) -> ConfigContent {
        let file = file.map(Path::to_owned);
        let content = file.as_deref().and_then(|file| std::fs::read(file).ok());
        ConfigContent { file, content }
    }

    /// Reads the file again; true when its content (or presence) differs from the last read.
    fn changed(&mut self) -> bool {
        let content = self.file.as_deref().and_then(|file| std::fs::read(file).ok());
        let changed = content != self.content;
        self.content = content;
        changed
    }
}

fn same_file_name(path: &Path, config: &Path) -> bool {
    path.parent() == config.parent() && path.file_name() == config.file_name()
}

/// The config file to watch: the one given, else the default location.
pub(crate) fn config_file(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit.or_else(musique_config::default_config_path)
}

#[cfg(test)]
mod tests {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind};

    use super::*;

    #[test]
    fn reading_is_no_change() {
        let cases = [
            (EventKind::Access(AccessKind::Open(AccessMode::Read)), false),
            (EventKind::Access(AccessKind::Close(AccessMode::Read)), false),
            (EventKind::Access(AccessKind::Close(AccessMode::Write)), false),
            (EventKind::Modify(ModifyKind::Data(DataChange::Any)), true),
            (EventKind::Create(CreateKind::File), true),
            (EventKind::Remove(RemoveKind::File), true),
        ];
        for (kind, changes) in cases {
            assert_eq!(changes_content(&kind), changes, "{kind:?}");
        }
    }

    #[test]
    fn only_new_content_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[log]\n").unwrap();
        let mut seen = ConfigContent::read(Some(&file));
        assert!(!seen.changed(), "read again, same content");
        std::fs::write(&file, "[log]\n").unwrap();
        assert!(!seen.changed(), "saved with the same content");
        std::fs::write(&file, "[log]\nlevel = \"debug\"\n").unwrap();
        assert!(seen.changed(), "new content");
        assert!(!seen.changed(), "and then no more");
        std::fs::remove_file(&file).unwrap();
        assert!(seen.changed(), "removed");
    }
}
