//! Test support shared by the end-to-end tests and the benchmark: a real
//! `musiqued` process on a temporary directory, its client, and generators
//! of export files.
//!
//! The binaries are the ones `cargo test --workspace` (or `cargo build`)
//! put in the target directory next to the test executable;
//! `MUSIQUE_BIN_DIR` overrides where they are looked for.

#![allow(clippy::print_stdout, unreachable_pub)]

pub mod discogs;
pub mod generate;
pub mod http;

pub mod lastfm;

pub mod load;

pub mod scrobble;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jsonrpsee::async_client::Client;
use musique_api::MusiqueApiClient;

/// The directory holding `musiqued` and `musiquectl`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MUSIQUE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of a workspace binary; panics with how to build it when missing.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds musiqued and musiquectl), \
         or build them with `cargo build --bins`",
        path.display()
    );
    path
}

/// A musiqued process with its own data directory and socket.
pub struct Daemon {
    /// Holds the data dir, socket and config; removed on drop.
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// Extra config TOML the daemon was started with; `None`: no config file at all.
    config: Option<String>,
    /// `MUSIQUE_LOG` for the daemon.
    log_level: &'static str,
}

impl Daemon {
    /// Starts a daemon with the default configuration.
    pub fn start() -> Daemon {
        Daemon::start_with_config("")
    }

    /// Starts a daemon with extra config TOML.
    pub fn start_with_config(config: &str) -> Daemon {
        let dir = tempfile::Builder::new().prefix("musique-test").tempdir().expect("temp dir");
        let mut daemon = Daemon { dir, child: None, config: Some(config.to_owned()), log_level: "warn" };
        daemon.restart();
        daemon
    }

    /// Starts a daemon with no config file at all, on its embedded defaults as after a
    /// fresh install: `HOME` and `XDG_CONFIG_HOME` point into its directory, where no
    /// config file is. Its scrobbling endpoints take the default port when it is free.
    pub fn start_without_config_file() -> Daemon {
        let dir = tempfile::Builder::new().prefix("musique-test").tempdir().expect("temp dir");
        let mut daemon = Daemon { dir, child: None, config: None, log_level: "warn" };
        daemon.restart();
        daemon
    }

    /// Starts a daemon with extra config TOML on a data directory that `seed`
    /// fills first (with a store from a fixture, say).
    pub fn start_seeded(config: &str, seed: impl FnOnce(&Path)) -> Daemon {
        use std::os::unix::fs::DirBuilderExt;
        let dir = tempfile::Builder::new().prefix("musique-test").tempdir().expect("temp dir");
        let mut daemon = Daemon { dir, child: None, config: Some(config.to_owned()), log_level: "warn" };
        std::fs::DirBuilder::new().mode(0o700).create(daemon.data_dir()).expect("create the data dir");
        seed(&daemon.data_dir());
        daemon.restart();
        daemon
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("s.sock")
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A `musiqued` command for this daemon's paths, not started.
    pub fn command(&self) -> Command {
        self.command_with(&self.data_dir(), &self.socket())
    }

    /// A `musiqued` command with this daemon's config and other paths, not started.
    pub fn command_with(&self, data_dir: &Path, socket: &Path) -> Command {
        let mut command = Command::new(bin("musiqued"));
        if self.config.is_some() {
            command.arg("--config").arg(self.config_path()).env_remove("XDG_CONFIG_HOME");
        } else {
            command.env("HOME", self.dir.path().join("home")).env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        }
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--socket")
            .arg(socket)
            .env("MUSIQUE_LOG", self.log_level)
            // Days and hours in UTC unless a test names a zone: answers do not depend on the machine.
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        command
    }

    /// Sets the daemon's log level from the next restart on (`info` to check what is logged).
    pub fn set_log_level(&mut self, level: &'static str) {
        self.log_level = level;
    }

    /// Everything the daemon wrote to stderr, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("musiqued.log")).unwrap_or_default()
    }

    /// Replaces the config used from the next restart on.
    pub fn set_config(&mut self, config: &str) {
        self.config = Some(config.to_owned());
    }

    /// Starts (again) the daemon process and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        if let Some(config) = &self.config {
            // Tests run many daemons at once: each takes a free port unless the test says otherwise.
            let mut config = config.clone();
            if !config.contains("[http]") {
                config.push_str("\n[http]\nlisten = \"127.0.0.1:0\"\n");
            }
            std::fs::write(self.config_path(), config).expect("write config");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("musiqued.log"))
            .expect("open the daemon log");
        let child = self.command().stdout(Stdio::null()).stderr(log).spawn().expect("spawn musiqued");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until the socket accepts connections, or panics after 30 s.
    pub fn wait_ready(&mut self) -> Duration {
        let started = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return started.elapsed();
            }
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().expect("try_wait")) {
                panic!("musiqued exited early with {status}");
            }
            assert!(started.elapsed() < Duration::from_secs(30), "musiqued did not start within 30 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Base URL of the scrobbling endpoints (`http://127.0.0.1:PORT`).
    pub async fn http_url(&self) -> String {
        let status = self.client().await.status().await.expect("daemon.status");
        status.http.expect("the scrobbling endpoints listen")
    }

    /// A connected client.
    pub async fn client(&self) -> Client {
        musique_api::client::connect(&self.socket()).await.expect("connect to musiqued")
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        child.wait().expect("wait");
    }

    /// Stops the daemon with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().expect("wait");
        assert!(status.success(), "musiqued exited with {status}");
    }

    /// Stops the daemon with SIGTERM and waits at most `bound` for it to exit;
    /// panics (after killing it) when it is still running then. Returns how it exited.
    pub fn stop_within(&mut self, bound: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if started.elapsed() > bound {
                let _ = child.kill();
                let _ = child.wait();
                panic!("musiqued was still running {} s after SIGTERM", bound.as_secs());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs musiquectl against this daemon; returns (exit code, stdout, stderr).
    pub fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        run_ctl(&self.socket(), args)
    }

    /// Resident memory of the daemon: (current, peak) in bytes.
    pub fn rss(&self) -> (u64, u64) {
        process_rss(self.pid())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- musiqued log ---\n{}--- end of log ---", self.log());
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs musiquectl with a socket; returns (exit code, stdout, stderr).
pub fn run_ctl(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(bin("musiquectl"))
        .args(args)
        .env("MUSIQUE_SOCKET", socket)
        .env_remove("XDG_CONFIG_HOME")
        // Tables fit the terminal's width, or `COLUMNS`; tests set it when they mean to.
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .output()
        .expect("run musiquectl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// (VmRSS, VmHWM) of a process, in bytes.
pub fn process_rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Installs the drop-in build of a plugin crate (`musique_lastfm_plugin`; cargo
/// leaves the cdylib of a test dev-dependency in `deps/`) as `file` in the
/// daemon's plugins directory, then restarts the daemon.
pub fn install_drop_in(daemon: &mut Daemon, library: &str, file: &str) {
    let built = bin_dir().join("deps").join(format!(
        "{}{library}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(built.exists(), "{} is built by `cargo test --workspace`", built.display());
    let plugins_dir = daemon.data_dir().join("plugins");
    std::fs::create_dir_all(&plugins_dir).expect("create the plugins directory");
    // Written elsewhere and renamed into place, so the directory watcher never reads half a file.
    let partial = plugins_dir.join(format!(".{file}.partial"));
    std::fs::copy(&built, &partial).expect("copy the plugin");
    std::fs::rename(&partial, plugins_dir.join(file)).expect("rename the plugin into place");
    daemon.stop();
    daemon.restart();
}

/// Waits until an import run is no longer running; returns it.
pub async fn wait_import(client: &Client, id: u64) -> musique_api::ImportRun {
    let started = Instant::now();
    loop {
        let run = client.imports_status(id).await.expect("imports.status");
        if run.state != musique_api::ImportState::Running {
            return run;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "import {id} did not end within 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until everything stored is searchable.
pub async fn wait_indexed(client: &Client) {
    let started = Instant::now();
    loop {
        if client.status().await.expect("daemon.status").index_lag == 0 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "index did not catch up within 2 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the daemon has settled after a burst: everything stored is
/// searchable, no import runs, and its `memory` component has looked at the
/// memory (and handed back what a burst left free) since this was called.
/// Answers the status then.
pub async fn wait_settled(client: &Client) -> musique_api::Status {
    let started = Instant::now();
    wait_indexed(client).await;
    while client
        .imports_list(Some(20))
        .await
        .expect("imports.list")
        .iter()
        .any(|run| run.state == musique_api::ImportState::Running)
    {
        assert!(started.elapsed() < Duration::from_secs(600), "an import still runs after 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = memory_checks(&client.status().await.expect("daemon.status"));
    loop {
        let status = client.status().await.expect("daemon.status");
        // The check after the next one began after `first` was read.
        match (first, memory_checks(&status)) {
            (Some(first), Some(now)) if now < first + 2 => {}
            _ => return status,
        }
        assert!(started.elapsed() < Duration::from_secs(620), "the memory component made no check within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many times the `memory` component has looked at the memory (its status
/// ends with "N checks"); `None` where it does not run.
pub fn memory_checks(status: &musique_api::Status) -> Option<u64> {
    let memory = status.components.iter().find(|component| component.name == "memory")?;
    let detail = memory.detail.as_deref()?;
    detail.strip_suffix(" checks")?.rsplit(' ').next()?.parse().ok()
}

/// Sends one raw HTTP POST over the socket, as `curl --unix-socket` would;
/// returns (status code, body).
pub fn http_post(socket: &Path, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (and close) before reading an oversized body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, dechunk(&body))
}

/// Undoes HTTP chunked encoding when present (hyper uses it for some answers).
fn dechunk(body: &str) -> String {
    let mut rest = body;
    let mut out = String::new();
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else { return body.to_owned() };
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { return body.to_owned() };
        if size == 0 || after.len() < size {
            return if out.is_empty() && size != 0 { body.to_owned() } else { out };
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

/// One Spotify extended-history record (a music play unless the fields say otherwise).
pub fn spotify_record(
    ts: &str,
    ms_played: u64,
    artist: Option<&str>,
    track: Option<&str>,
    album: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "ts": ts,
        "platform": "linux",
        "ms_played": ms_played,
        "conn_country": "CH",
        "ip_addr": "192.0.2.1",
        "master_metadata_track_name": track,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": track.map(|_| "spotify:track:0000000000000000000000"),
        "episode_name": null,
        "episode_show_name": null,
        "spotify_episode_uri": null,
        "audiobook_title": null,
        "audiobook_uri": null,
        "audiobook_chapter_uri": null,
        "audiobook_chapter_title": null,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": false,
        "skipped": false,
        "offline": false,
        "offline_timestamp": 0,
        "incognito_mode": false
    })
}

/// Writes JSON to a file.
pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("json")).expect("write fixture");
}

/// Every listen in the store, newest first, through `listens.list`.
pub async fn all_listens(daemon: &Daemon) -> Vec<musique_api::Listen> {
    let client = daemon.client().await;
    let mut listens = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.listens_list(None, None, Some(1000), cursor).await.expect("listens.list");
        listens.extend(page.listens);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return listens,
        }
    }
}
