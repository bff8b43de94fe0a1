//! musique's configuration: the typed schema, its defaults, and where files live.
//!
//! The daemon runs with no config file at all; [`Config::default`] is the
//! embedded default, and [`DEFAULT_CONFIG_TOML`] is the same thing as a
//! commented TOML file (`musiqued --print-default-config`).
//!
//! Paths follow the XDG base directories:
//! config in `$XDG_CONFIG_HOME/musique/config.toml`,
//! data (store and index) in `$XDG_DATA_HOME/musique`,
//! socket in `$XDG_RUNTIME_DIR/musique/musiqued.sock`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The commented default configuration, exactly what [`Config::default`] holds.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../musique.toml");

/// Environment variable naming the daemon socket, honoured by musiquectl.
pub const SOCKET_ENV: &str = "MUSIQUE_SOCKET";

/// File name of the daemon socket inside its directory.
pub const SOCKET_FILE_NAME: &str = "musiqued.sock";

/// Everything that can go wrong reading a config file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// A value is well-typed but not allowed.
    #[error("invalid config file {path}: key `{key}`: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The dotted key, for example `import.min_play_ms`.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Settings that concern everything: the listener's time zone.
    pub general: GeneralConfig,
    /// Where data and the socket live.
    pub paths: PathsConfig,
    /// Rules for file imports.
    pub import: ImportConfig,
    /// How artist credits are split.
    pub credits: CreditsConfig,
    /// The search index.
    pub index: IndexConfig,
    /// The redb store.
    pub store: StoreConfig,
    /// The JSON-RPC socket server.
    pub rpc: RpcConfig,
    /// Logging.
    pub log: LogConfig,
    /// The plugin host.
    pub plugins: PluginsConfig,
    /// The scrobbling endpoints (ListenBrainz and Last.fm 2.0 APIs) and `/health`.
    pub http: HttpConfig,
    /// One table per adapter (`[adapters.lastfm]`), passed to the adapter as JSON.
    pub adapters: std::collections::BTreeMap<String, AdapterConfig>,
}

/// `[plugins]`: where drop-in plugins live and how long they may take.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directory watched for `.so` / `.dylib` plugins (default: `<data dir>/plugins`).
    pub dir: Option<PathBuf>,
    /// Longest a call into a plugin may take, in milliseconds, before the plugin is marked failed.
    pub call_timeout_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> PluginsConfig {
        PluginsConfig { dir: None, call_timeout_ms: 10_000 }
    }
}

/// `[http]`: the HTTP listener serving the ListenBrainz- and Last.fm-compatible
/// scrobbling APIs and `/health`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether musiqued listens at all.
    pub enabled: bool,
    /// Address and port to listen on (port 0 picks a free one; `daemon.status` shows it).
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain; with `tls_key`, the listener speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// The user name clients see and use (default: the login name).
    pub user: Option<String>,
    /// Most simultaneous connections; more wait to be accepted.
    pub max_connections: u32,
    /// A request's headers must arrive within this many milliseconds, counted from
    /// when the connection is ready for it (so it also closes idle kept-alive connections).
    pub header_timeout_ms: u64,
    /// Reading a request's body and answering it may take this many milliseconds.
    pub request_timeout_ms: u64,
    /// Requests one credential (or one address, without one) may make per window.
    pub rate_limit: u32,
    /// The rate-limit window, in seconds.
    pub rate_window_s: u32,
    /// Whether the history can be read without a token: `GET /1/user/{user}/listens`,
    /// `listen-count`, `playing-now` and the counts of `/health`.
    pub public_reads: bool,
    /// Web origins (`https://host[:port]`) whose pages may read the answers (CORS);
    /// none by default, so no web page can.
    pub cors_origins: Vec<String>,
    /// Host names the listener answers to beside `localhost`, loopback addresses and
    /// the address a client connected to; a request naming another host is refused
    /// (DNS rebinding).
    pub hostnames: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 42010)),
            tls_cert: None,
            tls_key: None,
            user: None,
            max_connections: 256,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            rate_limit: 1_000,
            rate_window_s: 10,
            public_reads: false,
            cors_origins: Vec::new(),
            hostnames: Vec::new(),
        }
    }
}

/// `[adapters.<name>]`: `enabled`, and whatever keys the adapter reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AdapterConfig {
    /// Whether the adapter runs (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The adapter's own keys.
    #[serde(flatten)]
    pub settings: toml::Table,
}

fn enabled_by_default() -> bool {
    true
}

impl Eq for AdapterConfig {}

/// `[paths]`: overrides for the XDG defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathsConfig {
    /// Directory for the store and the index.
    pub data_dir: Option<PathBuf>,
    /// Path of the JSON-RPC socket.
    pub socket: Option<PathBuf>,
}

/// `[import]`: which records of an export become listens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Plays shorter than this many milliseconds are skipped.
    pub min_play_ms: u64,
    /// Keep Spotify plays made in a private (incognito) session.
    pub include_incognito: bool,
    /// Adapter imports and trackers: how many times one request is tried before giving up.
    pub retry_tries: u32,
    /// First wait after a failed request, in milliseconds; it doubles on each try (with jitter).
    pub retry_base_ms: u64,
    /// Longest wait between two tries, in milliseconds.
    pub retry_max_ms: u64,
}

impl Default for ImportConfig {
    fn default() -> ImportConfig {
        ImportConfig {
            min_play_ms: 30_000,
            include_incognito: false,
            retry_tries: 8,
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
        }
    }
}

/// `[credits]`: how an artist credit is split into primary and featured artists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditsConfig {
    /// Extra separators that split a credit into several artists, for example `"&"`.
    pub separators: Vec<String>,
}

/// `[index]`: the tantivy search index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// How often pending index changes are committed, in milliseconds.
    pub commit_interval_ms: u64,
}

impl Default for IndexConfig {
    fn default() -> IndexConfig {
        IndexConfig { commit_interval_ms: 1_000 }
    }
}

/// `[store]`: the redb database.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Page cache size in MiB. It fills up after a while and stays full, so it
    /// counts in full against the idle-memory budget (100 MB with 1M listens).
    pub cache_mb: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig { cache_mb: 32 }
    }
}

/// `[rpc]`: the JSON-RPC socket server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: u32,
    /// Most simultaneous connections. At the limit, a new connection closes the one
    /// idle longest (logged), so `daemon.status` always gets through.
    pub max_connections: u32,
    /// A request's headers must arrive within this many milliseconds, counted from when
    /// the connection is ready for one (so it also closes silent and kept-alive HTTP connections).
    pub header_timeout_ms: u64,
    /// A connection on which nothing moves for this many milliseconds, while no call is
    /// being answered, is closed. WebSocket clients are pinged every third of it and must
    /// answer; an events subscriber that leaves its full buffer unread for half of it is cut off.
    pub idle_timeout_ms: u64,
    /// Messages (answers and events) queued for one WebSocket connection before the
    /// daemon waits for the client to read.
    pub message_buffer: u32,
}

impl Default for RpcConfig {
    fn default() -> RpcConfig {
        RpcConfig {
            max_request_bytes: 16 * 1024 * 1024,
            max_connections: 256,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            message_buffer: 256,
        }
    }
}

/// `[general]`: settings that concern everything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneralConfig {
    /// The listener's time zone, an IANA name such as `Europe/Paris`: days, hours,
    /// weeks, months and years of charts and analytics are counted in it
    /// (default: the system's zone).
    pub timezone: Option<String>,
    /// A pause longer than this between two listens (from the end of one to the
    /// start of the next) ends a listening session, in minutes (1 to 1440).
    pub session_gap_minutes: u32,
}

impl Default for GeneralConfig {
    fn default() -> GeneralConfig {
        GeneralConfig { timezone: None, session_gap_minutes: 30 }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `musique_daemon=debug`. The `MUSIQUE_LOG`
    /// environment variable overrides it, else `RUST_LOG`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { level: "info".to_owned() }
    }
}

impl Config {
    /// Parses config text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let config: Config =
            toml::from_str(text).map_err(|err| Error::Invalid { path: path.to_owned(), message: err.to_string() })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    /// Reads the config file if there is one: `explicit` when given (it must
    /// exist), else the default location (which may be absent).
    pub fn load_or_default(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), Error> {
        if let Some(path) = explicit {
            return Ok((Config::load(path)?, Some(path.to_owned())));
        }
        match default_config_path() {
            Some(path) if path.exists() => Ok((Config::load(&path)?, Some(path))),
            _ => Ok((Config::default(), None)),
        }
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        let bad = |key: &'static str, message: &str| {
            Err(Error::Value { path: path.to_owned(), key, message: message.to_owned() })
        };
        if let Some(name) = &self.general.timezone
            && jiff::tz::TimeZoneDatabase::bundled().get(name).is_err()
        {
            return bad("general.timezone", "not a known time zone: use an IANA name such as Europe/Paris");
        }
        if !(1..=1440).contains(&self.general.session_gap_minutes) {
            return bad("general.session_gap_minutes", "must be between 1 and 1440");
        }
        if self.import.min_play_ms > 24 * 3600 * 1000 {
            return bad("import.min_play_ms", "must be at most one day (86400000)");
        }
        if !(1..=100).contains(&self.import.retry_tries) {
            return bad("import.retry_tries", "must be between 1 and 100");
        }
        if self.import.retry_base_ms == 0 || self.import.retry_base_ms > self.import.retry_max_ms {
            return bad("import.retry_base_ms", "must be above 0 and at most import.retry_max_ms");
        }
        if self.credits.separators.iter().any(|sep| sep.trim().is_empty()) {
            return bad("credits.separators", "a separator must contain a non-space character");
        }
        if !(10..=3_600_000).contains(&self.index.commit_interval_ms) {
            return bad("index.commit_interval_ms", "must be between 10 and 3600000");
        }
        if !(4..=65_536).contains(&self.store.cache_mb) {
            return bad("store.cache_mb", "must be between 4 and 65536");
        }
        if self.rpc.max_request_bytes < 1024 {
            return bad("rpc.max_request_bytes", "must be at least 1024");
        }
        if self.rpc.max_connections == 0 {
            return bad("rpc.max_connections", "must be at least 1");
        }
        if !(100..=3_600_000).contains(&self.rpc.header_timeout_ms) {
            return bad("rpc.header_timeout_ms", "must be between 100 and 3600000");
        }
        if !(300..=86_400_000).contains(&self.rpc.idle_timeout_ms) {
            return bad("rpc.idle_timeout_ms", "must be between 300 and 86400000");
        }
        if !(1..=65_536).contains(&self.rpc.message_buffer) {
            return bad("rpc.message_buffer", "must be between 1 and 65536");
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return bad("http.tls_cert", "give both tls_cert and tls_key, or neither");
        }
        if self.http.user.as_deref().is_some_and(|user| !valid_user_name(user)) {
            return bad("http.user", "must be 1-64 letters, digits, '-', '_' or '.'");
        }
        if self.http.max_connections == 0 {
            return bad("http.max_connections", "must be at least 1");
        }
        if !(100..=3_600_000).contains(&self.http.header_timeout_ms) {
            return bad("http.header_timeout_ms", "must be between 100 and 3600000");
        }
        if !(100..=3_600_000).contains(&self.http.request_timeout_ms) {
            return bad("http.request_timeout_ms", "must be between 100 and 3600000");
        }
        if self.http.rate_limit == 0 {
            return bad("http.rate_limit", "must be at least 1");
        }
        if !(1..=3600).contains(&self.http.rate_window_s) {
            return bad("http.rate_window_s", "must be between 1 and 3600");
        }
        if let Some(origin) = self.http.cors_origins.iter().find(|origin| !valid_origin(origin)) {
            return bad(
                "http.cors_origins",
                &format!("{origin:?} is not an origin: give scheme, host and port only, like \"https://app.example\""),
            );
        }
        if let Some(name) = self.http.hostnames.iter().find(|name| !valid_host_name(name)) {
            return bad(
                "http.hostnames",
                &format!("{name:?} is not a host name: give the name alone, like \"music.example.net\""),
            );
        }
        if !(50..=600_000).contains(&self.plugins.call_timeout_ms) {
            return bad("plugins.call_timeout_ms", "must be between 50 and 600000");
        }
        Ok(())
    }

    /// The data directory: the config's, else `$XDG_DATA_HOME/musique`.
    pub fn data_dir(&self) -> PathBuf {
        self.paths.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// The plugins directory: the config's, else `<data dir>/plugins`.
    pub fn plugins_dir(&self, data_dir: &Path) -> PathBuf {
        self.plugins.dir.clone().unwrap_or_else(|| data_dir.join("plugins"))
    }

    /// The socket path: the config's, else [`default_socket_path`].
    pub fn socket_path(&self) -> PathBuf {
        self.paths.socket.clone().unwrap_or_else(default_socket_path)
    }
}

/// A user name the scrobbling APIs accept: 1-64 ASCII letters, digits, `-`, `_`, `.`.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
}

/// A web origin: `http://` or `https://`, a host, an optional port, nothing else.
fn valid_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    port.is_none_or(|port| port.parse::<u16>().is_ok()) && (valid_host_name(host) || is_bracketed_ipv6(host))
}

/// A DNS name or an IP address, without port: letters, digits, `-` and `.`, or an IPv6 address in brackets.
fn valid_host_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && (name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.')
            || is_bracketed_ipv6(name))
}

fn is_bracketed_ipv6(name: &str) -> bool {
    name.strip_prefix('[')
        .and_then(|name| name.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
}

/// `$XDG_CONFIG_HOME/musique/config.toml`, when a home directory is known.
pub fn default_config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("musique").join("config.toml"))
}

/// `$XDG_DATA_HOME/musique`, falling back to `./musique-data` with no home directory.
pub fn default_data_dir() -> PathBuf {
    directories::BaseDirs::new()
        .map(|dirs| dirs.data_dir().join("musique"))
        .unwrap_or_else(|| PathBuf::from("musique-data"))
}

/// `$XDG_RUNTIME_DIR/musique/musiqued.sock`, or `$TMPDIR/musique-<uid>/musiqued.sock`
/// where there is no runtime directory (macOS, some containers).
pub fn default_socket_path() -> PathBuf {
    let runtime =
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).filter(|dir| dir.is_absolute() && dir.is_dir());
    match runtime {
        Some(dir) => dir.join("musique").join(SOCKET_FILE_NAME),
        None => {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            std::env::temp_dir().join(format!("musique-{uid}")).join(SOCKET_FILE_NAME)
        }
    }
}

/// The socket musiquectl should use: `--socket`, else `$MUSIQUE_SOCKET`, else the config's,
/// else the default.
pub fn client_socket_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_owned();
    }
    if let Some(path) = std::env::var_os(SOCKET_ENV).filter(|value| !value.is_empty()) {
        return PathBuf::from(path);
    }
    match Config::load_or_default(None) {
        Ok((config, _)) => config.socket_path(),
        Err(_) => default_socket_path(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn embedded_default_matches_default() {
        assert_eq!(parse(DEFAULT_CONFIG_TOML).unwrap(), Config::default());
    }

    #[test]
    fn empty_file_is_default() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_are_read() {
        let config =
            parse("[import]\nmin_play_ms = 1000\ninclude_incognito = true\n[credits]\nseparators = [\"&\"]\n").unwrap();
        assert_eq!(config.import.min_play_ms, 1000);
        assert!(config.import.include_incognito);
        assert_eq!(config.credits.separators, vec!["&".to_owned()]);
    }

    #[test]
    fn adapter_tables_keep_their_own_keys() {
        let config =
            parse("[adapters.lastfm]\nuser = \"rj\"\nrequests_per_second = 5\n[adapters.roon]\nenabled = false\n")
                .unwrap();
        let lastfm = &config.adapters["lastfm"];
        assert!(lastfm.enabled);
        assert_eq!(lastfm.settings["user"].as_str(), Some("rj"));
        assert!(!config.adapters["roon"].enabled);
        let err = parse("[plugins]\ncall_timeout_ms = 1\n").unwrap_err().to_string();
        assert!(err.contains("plugins.call_timeout_ms"), "{err}");
    }

    #[test]
    fn the_time_zone_is_an_iana_name() {
        let config = parse("[general]\ntimezone = \"Asia/Calcutta\"\n").unwrap();
        assert_eq!(config.general.timezone.as_deref(), Some("Asia/Calcutta"));
        let err = parse("[general]\ntimezone = \"Europe/Parris\"\n").unwrap_err().to_string();
        assert!(err.contains("general.timezone"), "{err}");
        assert_eq!(Config::default().general.timezone, None, "the system's zone");
        assert_eq!(Config::default().general.session_gap_minutes, 30);
        let err = parse("[general]\nsession_gap_minutes = 0\n").unwrap_err().to_string();
        assert!(err.contains("general.session_gap_minutes"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[import]\nmin_play = 3\n").unwrap_err().to_string();
        assert!(err.contains("min_play"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = parse("[import]\nmin_play_ms = \"long\"\n").unwrap_err().to_string();
        assert!(err.contains("min_play_ms"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let err = parse("[index]\ncommit_interval_ms = 1\n").unwrap_err().to_string();
        assert!(err.contains("index.commit_interval_ms"), "{err}");
        let err = parse("[credits]\nseparators = [\" \"]\n").unwrap_err().to_string();
        assert!(err.contains("credits.separators"), "{err}");
    }

    #[test]
    fn http_values_are_checked() {
        let config = parse("[http]\nlisten = \"0.0.0.0:8080\"\nuser = \"rj\"\n").unwrap();
        assert_eq!(config.http.listen.port(), 8080);
        assert_eq!(config.http.user.as_deref(), Some("rj"));
        let err = parse("[http]\nlisten = \"localhost\"\n").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        let err = parse("[http]\ntls_cert = \"/c.pem\"\n").unwrap_err().to_string();
        assert!(err.contains("http.tls_cert"), "{err}");
        let err = parse("[http]\nuser = \"a b\"\n").unwrap_err().to_string();
        assert!(err.contains("http.user"), "{err}");
        let err = parse("[http]\nrate_limit = 0\n").unwrap_err().to_string();
        assert!(err.contains("http.rate_limit"), "{err}");
    }

    #[test]
    fn what_the_listener_exposes_is_checked() {
        let config = parse(
            "[http]\npublic_reads = true\ncors_origins = [\"https://app.example\", \"http://localhost:5173\", \"http://[::1]:8080\"]\nhostnames = [\"music.example.net\", \"nas\", \"[fd00::1]\"]\n",
        )
        .unwrap();
        assert!(config.http.public_reads);
        assert_eq!(config.http.cors_origins.len(), 3);
        assert_eq!(config.http.hostnames, ["music.example.net", "nas", "[fd00::1]"]);
        for origin in ["*", "https://app.example/", "app.example", "ftp://app.example", "https://", "https://a:99999"] {
            let err = parse(&format!("[http]\ncors_origins = [{origin:?}]\n")).unwrap_err().to_string();
            assert!(err.contains("http.cors_origins"), "{origin}: {err}");
        }
        for name in ["", "music.example.net:42010", "http://nas", "*.example", "a b"] {
            let err = parse(&format!("[http]\nhostnames = [{name:?}]\n")).unwrap_err().to_string();
            assert!(err.contains("http.hostnames"), "{name}: {err}");
        }
    }

    #[test]
    fn rpc_values_are_checked() {
        let config = parse("[rpc]\nidle_timeout_ms = 1000\nmessage_buffer = 8\n").unwrap();
        assert_eq!((config.rpc.idle_timeout_ms, config.rpc.message_buffer), (1000, 8));
        let err = parse("[rpc]\nheader_timeout_ms = 0\n").unwrap_err().to_string();
        assert!(err.contains("rpc.header_timeout_ms"), "{err}");
        let err = parse("[rpc]\nidle_timeout_ms = 10\n").unwrap_err().to_string();
        assert!(err.contains("rpc.idle_timeout_ms"), "{err}");
        let err = parse("[rpc]\nmessage_buffer = 0\n").unwrap_err().to_string();
        assert!(err.contains("rpc.message_buffer"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let err = Config::load_or_default(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
    }

    #[test]
    fn explicit_socket_wins() {
        assert_eq!(client_socket_path(Some(Path::new("/x/y.sock"))), PathBuf::from("/x/y.sock"));
    }
}
