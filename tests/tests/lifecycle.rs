//! Starting and stopping: locks, the socket's permissions, schema versions.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use musique_api::MusiqueApiClient;
use musique_tests::Daemon;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn second_daemon_on_the_same_data_dir_refuses_to_start() {
    let daemon = Daemon::start();
    let other_socket = daemon.dir.path().join("other.sock");
    let output = daemon.command_with(&daemon.data_dir(), &other_socket).stderr(Stdio::piped()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is in use by another musiqued"), "{stderr}");

    // Another data dir on the same socket: refused too, and the first keeps its socket.
    let output = daemon
        .command_with(&daemon.dir.path().join("other-data"), &daemon.socket())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already listening"), "{stderr}");
    assert_eq!(daemon.client().await.status().await.unwrap().counts.listens, 0, "the first daemon still serves");
}

#[tokio::test]
async fn socket_and_data_are_owner_only() {
    let daemon = Daemon::start();
    assert_eq!(mode(&daemon.socket()), 0o600);
    assert_eq!(mode(&daemon.data_dir()), 0o700);
    // A socket in a directory the daemon creates gets a 0700 directory.
    let nested = daemon.dir.path().join("run").join("musique");
    let socket = nested.join("musiqued.sock");
    let mut second = daemon.command_with(&daemon.dir.path().join("data2"), &socket).spawn().unwrap();
    let started = std::time::Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "second daemon did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&socket), 0o600);
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test]
async fn clean_stop_removes_the_socket_and_a_stale_one_is_replaced() {
    let mut daemon = Daemon::start();
    daemon.stop();
    assert!(!daemon.socket().exists());
    daemon.restart();
    daemon.kill9();
    assert!(daemon.socket().exists(), "a crash leaves the socket behind");
    daemon.restart();
    assert_eq!(daemon.client().await.hello().await.unwrap().api_version, musique_api::CURRENT_API_VERSION);
}

/// A clean stop closes the store cleanly, whatever the adapters were doing (Roon looking
/// for a Core, here): the next open needs no repair, which walks and checksums every page
/// (0.3 s at a million listens, when an adapter's instance outlived the shutdown).
#[tokio::test]
async fn a_clean_stop_leaves_a_store_that_needs_no_repair() {
    let mut daemon = Daemon::start();
    let client = daemon.client().await;
    let listen = musique_api::NewListen {
        artist: "Stereolab".into(),
        track: "French Disko".into(),
        album: None,
        listened_at: musique_api::TimeArg::Unix(1_700_000_000),
        duration_ms: None,
        source: None,
    };
    client.listens_add(Some(listen), None).await.unwrap();
    let plugins = client.plugins_list().await.unwrap();
    assert!(plugins.iter().any(|plugin| plugin.name == "roon" && plugin.state == musique_api::PluginState::Running));
    daemon.stop();
    let repaired = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = repaired.clone();
    let db = redb::Builder::new()
        .set_repair_callback(move |_| flag.set(true))
        .open(daemon.data_dir().join("musique.redb"))
        .unwrap();
    drop(db);
    assert!(!repaired.get(), "the store was not closed cleanly");
}

#[tokio::test]
async fn a_store_from_a_newer_musiqued_is_refused() {
    let mut daemon = Daemon::start();
    daemon.stop();
    let store = daemon.data_dir().join("musique.redb");
    {
        let db = redb::Database::create(&store).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta")).unwrap();
            meta.insert("schema_version", 99u32.to_le_bytes().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let output = daemon.command().stderr(Stdio::piped()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schema version 99") && stderr.contains("downgrades are not supported"), "{stderr}");
}

// ---- Owned and private: issue 21, item 7 -------------------------------------------------------------

/// The uid of `nobody`: a user other than the one running the tests.
const NOBODY: u32 = 65534;

/// Whether the tests may give a file to another user (only root may).
fn can_chown() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn own_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file and folder under `dir` with its mode.
fn modes_under(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push((path.clone(), mode(&path)));
        if path.is_dir() {
            found.extend(modes_under(&path));
        }
    }
    found
}

/// Runs `command` until its socket answers, then stops it with SIGTERM; returns what it logged,
/// or, as an error, what it logged when it refused to start.
fn run_briefly(mut command: Command, socket: &Path, log: &Path) -> Result<String, String> {
    let file = std::fs::File::create(log).unwrap();
    let mut child = command.stdout(Stdio::null()).stderr(file).spawn().unwrap();
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            return Err(std::fs::read_to_string(log).unwrap());
        }
        assert!(started.elapsed() < Duration::from_secs(30), "musiqued did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    Ok(std::fs::read_to_string(log).unwrap())
}

// See: issue 21, item 7 ("an existing data directory with mode 0755 is not tightened").
#[tokio::test]
async fn r21_the_data_directory_and_its_files_are_made_private() {
    let mut daemon = Daemon::start();
    let echo = musique_tests::bin_dir().join("deps").join(format!(
        "{}musique_echo_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    // Written beside, then renamed into place, so the daemon never sees half a library.
    let plugins = daemon.data_dir().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&echo, plugins.join(".libecho.partial")).unwrap();
    std::fs::rename(plugins.join(".libecho.partial"), plugins.join("libecho.so")).unwrap();
    let client = daemon.client().await;
    let started = Instant::now();
    let running =
        |plugin: &musique_api::PluginInfo| plugin.name == "echo" && plugin.state == musique_api::PluginState::Running;
    while !client.plugins_list().await.unwrap().iter().any(running) {
        assert!(started.elapsed() < Duration::from_secs(20), "the echo plugin was not loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(client);
    daemon.stop();
    // As an older musiqued (or a copy) may have left them: readable by everyone.
    let data = daemon.data_dir();
    for (path, mode) in modes_under(&data) {
        chmod(&path, mode | if path.is_dir() { 0o055 } else { 0o044 });
    }
    chmod(&data, 0o755);
    daemon.restart();
    assert_eq!(mode(&data), 0o700);
    let kept: Vec<(PathBuf, u32)> =
        modes_under(&data).into_iter().filter(|(path, _)| !path.starts_with(data.join("plugins"))).collect();
    for name in ["musique.redb", "scrobble.key", "index", "plugin-cache"] {
        assert!(kept.iter().any(|(path, _)| path.ends_with(name)), "{name} is in {kept:?}");
    }
    assert!(kept.iter().any(|(path, _)| path.starts_with(data.join("plugin-cache")) && path.is_file()), "{kept:?}");
    for (path, mode) in kept {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, expected, "{}", path.display());
    }

    // A data directory of another user is refused (only root can make one to test it).
    if !can_chown() {
        return;
    }
    let theirs = daemon.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o700);
    chown(&theirs, NOBODY);
    let output =
        daemon.command_with(&theirs, &daemon.dir.path().join("t.sock")).stderr(Stdio::piped()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("data directory {}: belongs to uid {NOBODY}, not to you", theirs.display())),
        "{stderr}"
    );
}

// See: issue 21, item 7 ("the fallback socket directory under the temp dir is used even when it exists,
// owned by another user, mode 0777").
#[test]
fn r21_the_socket_directory_must_be_private() {
    let daemon = Daemon::start();
    let base = daemon.dir.path();
    let data = base.join("data2");
    // musiqued with the default socket path, under a temporary (or runtime) directory of the test's.
    let default_command = |tmp: &Path, runtime: Option<&Path>| {
        let mut command = Command::new(musique_tests::bin("musiqued"));
        command.arg("--config").arg(daemon.config_path()).arg("--data-dir").arg(&data);
        command.env("MUSIQUE_LOG", "warn").env("TMPDIR", tmp).env_remove("XDG_CONFIG_HOME").stdin(Stdio::null());
        match runtime {
            Some(runtime) => command.env("XDG_RUNTIME_DIR", runtime),
            None => command.env_remove("XDG_RUNTIME_DIR"),
        };
        command
    };
    let tmp = base.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let fallback = tmp.join(format!("musique-{}", own_uid()));
    let socket = fallback.join("musiqued.sock");
    let log = base.join("run.log");

    // Made in advance, open to all.
    std::fs::create_dir(&fallback).unwrap();
    chmod(&fallback, 0o777);
    let refused = run_briefly(default_command(&tmp, None), &socket, &log).unwrap_err();
    assert!(
        refused.contains(&format!("its directory {} has mode 0777, open to other users", fallback.display())),
        "{refused}"
    );
    // Made in advance by another user (only root can make one to test it).
    chmod(&fallback, 0o700);
    if can_chown() {
        chown(&fallback, NOBODY);
        let refused = run_briefly(default_command(&tmp, None), &socket, &log).unwrap_err();
        assert!(
            refused.contains(&format!("its directory {} belongs to uid {NOBODY}", fallback.display())),
            "{refused}"
        );
    }
    // Not there: made private, and used.
    std::fs::remove_dir(&fallback).unwrap();
    run_briefly(default_command(&tmp, None), &socket, &log).unwrap();
    assert_eq!(mode(&fallback), 0o700);
    // The same rule under the runtime directory.
    let runtime = base.join("runtime");
    std::fs::create_dir_all(runtime.join("musique")).unwrap();
    chmod(&runtime.join("musique"), 0o755);
    let refused =
        run_briefly(default_command(&tmp, Some(&runtime)), &runtime.join("musique/musiqued.sock"), &log).unwrap_err();
    assert!(refused.contains("has mode 0755, open to other users"), "{refused}");

    // A socket the user places: its directory must not let others replace it.
    let mut cases = vec![(0o777, own_uid(), false), (0o1777, own_uid(), true), (0o755, own_uid(), true)];
    if can_chown() {
        cases.push((0o755, NOBODY, false));
    }
    for (mode, owner, accepted) in cases {
        let dir = base.join(format!("chosen-{mode:o}-{owner}"));
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, mode);
        if owner != own_uid() {
            chown(&dir, owner);
        }
        let socket = dir.join("m.sock");
        let result = run_briefly(daemon.command_with(&data, &socket), &socket, &log);
        assert_eq!(result.is_ok(), accepted, "{mode:o} {owner}: {result:?}");
    }
}

// See: issue 21, item 7 ("`RUST_LOG` is honoured (today only `MUSIQUE_LOG` is)").
#[test]
fn r21_rust_log_is_honoured_after_musique_log() {
    let daemon = Daemon::start();
    let data = daemon.dir.path().join("data2");
    let socket = daemon.dir.path().join("l.sock");
    let log = daemon.dir.path().join("run.log");
    let mut command = daemon.command_with(&data, &socket);
    command.env_remove("MUSIQUE_LOG").env("RUST_LOG", "debug");
    let logged = run_briefly(command, &socket, &log).unwrap();
    assert!(logged.contains("DEBUG"), "{logged}");
    let mut command = daemon.command_with(&data, &socket);
    command.env("MUSIQUE_LOG", "warn").env("RUST_LOG", "debug");
    let logged = run_briefly(command, &socket, &log).unwrap();
    assert!(!logged.contains("DEBUG") && !logged.contains("INFO"), "MUSIQUE_LOG comes first: {logged}");
}
