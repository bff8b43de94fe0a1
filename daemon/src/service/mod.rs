//! The daemon's logic behind the RPC: listing, adding, searching, charting
//! and importing. Knows nothing of JSON-RPC; the `rpc` module converts.

mod adapters;
pub(crate) mod credentials;
mod enrich;

pub(crate) use credentials::Credentials;
pub(crate) use enrich::Enriched;

use std::sync::Arc;
use std::time::Instant;

use crate::clock::{self, DAY_S};
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, RecordedListen};
use crate::import::{ImportRequest, Imports, track_identity};
use crate::index::{Hit, Index};
use crate::plugins::{Emitted, PluginHost, PluginState};
use crate::store::records::{ImportRunRecord, Provenance};
use crate::store::{Kind, PreparedListen, Store, Tally};
use crate::trackers::Trackers;

/// Most listens one `listens.list` page returns.
pub(crate) const MAX_PAGE: usize = 1000;
/// Most listens one `listens.add` call takes.
pub(crate) const MAX_ADD_BATCH: usize = 10_000;
/// Longest artist, track or album name accepted, in bytes.
const MAX_NAME_BYTES: usize = 1024;
/// Most artists one credit lists separately.
const MAX_CREDITED: usize = 64;

/// The daemon's shared state as a cheap handle.
#[derive(Clone)]
pub(crate) struct Service {
    state: Arc<State>,
}

/// The config as the daemon runs it.
struct ConfigState {
    /// The file reloads read (absent: the defaults apply).
    file: Option<std::path::PathBuf>,
    /// The config in force.
    applied: musique_config::Config,
    /// How many reloads were attempted.
    reloads: u64,
    /// Why the last reload was refused, while it is.
    error: Option<String>,
}

struct State {
    /// All persistent data.
    store: Store,
    /// Full-text search over the store's entities.
    index: Index,
    /// Imports running on their own threads.
    imports: Imports,
    /// Where events go to subscribers.
    events: EventBus,
    /// Drop-in plugins.
    plugins: PluginHost,
    /// Live trackers.
    trackers: Trackers,
    /// Background enrichment of new albums.
    enricher: enrich::Enricher,
    /// Configured extra credit separators.
    separators: Arc<Vec<String>>,
    /// The `[import]` defaults.
    import_defaults: musique_config::ImportConfig,
    /// Shown in the status.
    data_dir: std::path::PathBuf,
    /// The config file, what of it is applied, and how reloads went.
    config: std::sync::Mutex<ConfigState>,
    /// Credentials of the scrobbling endpoints.
    credentials: Credentials,
    /// What a scrobbler last said is playing, until it ends.
    now_playing: std::sync::Mutex<Option<NowPlaying>>,
    /// How the scrobbling endpoints are.
    http: std::sync::Mutex<HttpState>,
    /// The user name scrobblers sign in with.
    http_user: String,
    /// For the uptime.
    started: Instant,
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

/// What a scrobbler says is playing now.
#[derive(Debug, Clone)]
pub(crate) struct NowPlaying {
    pub(crate) source: String,
    pub(crate) artist: String,
    pub(crate) track: String,
    pub(crate) album: Option<String>,
    pub(crate) duration_ms: Option<u64>,
    /// When it was reported.
    pub(crate) at: Instant,
}

/// How long a now-playing report without a duration stays current.
const NOW_PLAYING_DEFAULT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A listen to add, as a caller gives it (already parsed).
pub(crate) struct NewListen {
    pub(crate) artist: String,
    pub(crate) track: String,
    pub(crate) album: Option<String>,
    pub(crate) listened_at_s: i64,
    pub(crate) duration_ms: Option<u64>,
    pub(crate) source: String,
    pub(crate) loved: Option<bool>,
    /// The credit as separate artists (ListenBrainz `artist_names`), first primary;
    /// empty to split `artist` instead.
    pub(crate) artists: Vec<String>,
}

/// The status of the daemon.
pub(crate) struct StatusReport {
    pub(crate) uptime_s: u64,
    pub(crate) counts: [u64; 4],
    pub(crate) store_bytes: u64,
    pub(crate) index_bytes: u64,
    pub(crate) index_lag: u64,
    pub(crate) data_dir: String,
    pub(crate) index_error: Option<String>,
    pub(crate) imports_running: usize,
    pub(crate) plugins_running: usize,
    pub(crate) plugins_failed: usize,
    pub(crate) config_file: Option<String>,
    pub(crate) config_reloads: u64,
    pub(crate) config_error: Option<String>,
    pub(crate) http: HttpState,
}

/// One row of a chart.
pub(crate) struct TopRow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) artist: Option<String>,
    pub(crate) plays: u64,
}

impl Service {
    pub(crate) fn new(
        store: Store,
        index: Index,
        plugins: PluginHost,
        events: EventBus,
        config: &musique_config::Config,
        paths: &crate::daemon::Paths,
        credentials: Credentials,
    ) -> Service {
        Service {
            state: Arc::new(State {
                store,
                index,
                imports: Imports::default(),
                events,
                plugins,
                trackers: Trackers::default(),
                enricher: enrich::Enricher::default(),
                separators: Arc::new(config.credits.separators.clone()),
                import_defaults: config.import.clone(),
                data_dir: paths.data_dir.clone(),
                config: std::sync::Mutex::new(ConfigState {
                    file: paths.config_file.clone(),
                    applied: config.clone(),
                    reloads: 0,
                    error: None,
                }),
                credentials,
                now_playing: std::sync::Mutex::new(None),
                http: std::sync::Mutex::new(HttpState::Off),
                http_user: config.http.user.clone().unwrap_or_else(login_name),
                started: Instant::now(),
            }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.state.store
    }

    pub(crate) fn index(&self) -> &Index {
        &self.state.index
    }

    pub(crate) fn events(&self) -> &EventBus {
        &self.state.events
    }

    pub(crate) fn plugins(&self) -> &PluginHost {
        &self.state.plugins
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    /// The user name scrobblers sign in with (`[http] user`, else the login name).
    pub(crate) fn http_user(&self) -> String {
        self.state.http_user.clone()
    }

    /// Records how the scrobbling endpoints are.
    pub(crate) fn set_http(&self, state: HttpState) {
        *self.state.http.lock().expect("http state lock") = state;
    }

    /// Publishes what a scrobbler says is playing, and keeps it until it ends.
    pub(crate) fn now_playing(&self, playing: NowPlaying) {
        self.state.events.send(Event::NowPlaying {
            source: playing.source.clone(),
            artist: playing.artist.clone(),
            track: playing.track.clone(),
            album: playing.album.clone(),
        });
        *self.state.now_playing.lock().expect("now playing lock") = Some(playing);
    }

    /// What is playing now, if a scrobbler said so and it has not ended.
    pub(crate) fn playing(&self) -> Option<NowPlaying> {
        let playing = self.state.now_playing.lock().expect("now playing lock").clone()?;
        let lasts = playing.duration_ms.map_or(NOW_PLAYING_DEFAULT, std::time::Duration::from_millis);
        (playing.at.elapsed() < lasts).then_some(playing)
    }

    pub(crate) fn status(&self) -> Result<StatusReport> {
        let counts = self.state.store.read()?.counts()?;
        let plugins = self.state.plugins.list();
        let (config_file, config_reloads, config_error) = {
            let config = self.state.config.lock().expect("config lock");
            (config.file.as_ref().map(|file| file.display().to_string()), config.reloads, config.error.clone())
        };
        let last_seq = self.state.store.last_seq();
        Ok(StatusReport {
            uptime_s: self.state.started.elapsed().as_secs(),
            counts,
            store_bytes: self.state.store.file_size(),
            index_bytes: self.state.index.size_bytes(),
            index_lag: last_seq.saturating_sub(self.state.index.indexed_seq()),
            data_dir: self.state.data_dir.display().to_string(),
            index_error: self.state.index.last_error(),
            imports_running: self.state.imports.running_count(),
            plugins_running: plugins.iter().filter(|plugin| plugin.state == PluginState::Running).count(),
            plugins_failed: plugins.iter().filter(|plugin| plugin.state == PluginState::Failed).count(),
            config_file,
            config_reloads,
            config_error,
            http: self.state.http.lock().expect("http state lock").clone(),
        })
    }

    /// How many artists, albums, tracks and listens are stored.
    pub(crate) fn counts(&self) -> Result<[u64; 4]> {
        self.state.store.read()?.counts()
    }

    /// Listens newest first in `[from_s, to_s)`, before the cursor.
    pub(crate) fn listens(
        &self,
        from_s: Option<i64>,
        to_s: Option<i64>,
        limit: usize,
        before: Option<(u64, u64)>,
    ) -> Result<Vec<RecordedListen>> {
        let from = from_s.map(|from| from.max(0) as u64).unwrap_or(0);
        let to = to_s.map(|to| to.max(0) as u64).unwrap_or(u64::MAX);
        let reader = self.state.store.read()?;
        let listens = reader.listens_newest_first(from, to, before, limit)?;
        with_loved(&reader, listens)
    }

    /// The `limit` oldest listens in `[from_s, to_s)`, oldest first.
    pub(crate) fn listens_oldest_first(&self, from_s: u64, to_s: u64, limit: usize) -> Result<Vec<RecordedListen>> {
        let reader = self.state.store.read()?;
        let listens = reader.listens_oldest_first(from_s, to_s, limit)?;
        with_loved(&reader, listens)
    }

    /// The start seconds of the oldest and the newest listen, when there are any.
    pub(crate) fn listen_bounds(&self) -> Result<Option<(u64, u64)>> {
        self.state.store.read()?.listen_bounds()
    }

    /// Stores listens; returns each one's key and whether it was new. New listens are
    /// announced as `listen_recorded` events unless `announce` is false (bulk submissions).
    pub(crate) async fn add_listens(&self, listens: Vec<NewListen>, announce: bool) -> Result<Vec<((u64, u64), bool)>> {
        if listens.is_empty() {
            return Err(Error::invalid("give `listen` (one) or `listens` (a batch of at least one)"));
        }
        if listens.len() > MAX_ADD_BATCH {
            return Err(Error::invalid(format!("at most {MAX_ADD_BATCH} listens per call, got {}", listens.len())));
        }
        let latest = clock::now_ms() / 1000 + DAY_S;
        let mut prepared = Vec::with_capacity(listens.len());
        for (position, listen) in listens.into_iter().enumerate() {
            let at = |message: String| Error::invalid(format!("listen {position}: {message}"));
            let artist = listen.artist.trim();
            let track = listen.track.trim();
            if artist.is_empty() || track.is_empty() {
                return Err(at("`artist` and `track` must not be empty".to_owned()));
            }
            if listen.artists.len() > MAX_CREDITED
                || listen.artists.iter().any(|name| name.trim().is_empty() || name.len() > MAX_NAME_BYTES)
            {
                return Err(at(format!(
                    "`artists` takes at most {MAX_CREDITED} names, each not empty and at most {MAX_NAME_BYTES} bytes"
                )));
            }
            let album_len = listen.album.as_ref().map_or(0, String::len);
            if artist.len() > MAX_NAME_BYTES || track.len() > MAX_NAME_BYTES || album_len > MAX_NAME_BYTES {
                return Err(at(format!("names are limited to {MAX_NAME_BYTES} bytes")));
            }
            if listen.listened_at_s < 0 || listen.listened_at_s > latest {
                return Err(at(format!(
                    "`listened_at` {} is before 1970 or more than a day in the future",
                    listen.listened_at_s
                )));
            }
            if listen.duration_ms.is_some_and(|duration| duration > 24 * 3600 * 1000) {
                return Err(at("`duration_ms` is longer than a day".to_owned()));
            }
            let source = &listen.source;
            if source.is_empty()
                || source.len() > 32
                || !source
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_.".contains(&byte))
            {
                return Err(at(format!("`source` {source:?} must be 1-32 of a-z, 0-9, '-', '_', '.'")));
            }
            let album = listen.album.as_deref().map(str::trim).filter(|album| !album.is_empty());
            prepared.push(PreparedListen {
                start_ms: listen.listened_at_s * 1000,
                duration_ms: listen.duration_ms,
                identity: Arc::new(if listen.artists.is_empty() {
                    track_identity(artist, track, &self.state.separators)
                } else {
                    crate::import::track_identity_of_artists(artist, &listen.artists, track, &self.state.separators)
                }),
                album: album.map(|album| Arc::new(crate::identity::Name::new(album))),
                source: Arc::new(Provenance { source: listen.source, import_run: None }),
                loved: listen.loved,
            });
        }
        let outcome = self.state.store.ingest(prepared).await?;
        let added: Vec<(u64, u64)> = outcome.keys.iter().filter(|(_, added)| *added).map(|(key, _)| *key).collect();
        if announce && !added.is_empty() {
            let service = self.clone();
            tokio::task::spawn_blocking(move || service.announce(&added));
        }
        Ok(outcome.keys)
    }

    fn announce(&self, keys: &[(u64, u64)]) {
        let result = (|| -> Result<()> {
            let reader = self.state.store.read()?;
            let mut loved = LovedLookup::new(&reader)?;
            for (key, record) in reader.listens_by_key(keys)? {
                let loved = loved.is_loved(record.track_id)?;
                self.state.events.send(Event::ListenRecorded(RecordedListen { key, record, loved }));
            }
            Ok(())
        })();
        if let Err(err) = result {
            tracing::warn!(error = %err, "cannot announce recorded listens");
        }
    }

    /// Reads the config file again. A valid change to `[adapters.*]` restarts the
    /// plugins it touches; other sections apply at the next start. An invalid file is
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
        let restarted = self.state.plugins.set_adapters(new.adapters);
        tracing::info!(restarted = ?restarted, "config reloaded");
    }

    /// Records what a plugin emitted: listens through the same path as `listens.add`,
    /// now-playing to the event bus.
    pub(crate) async fn plugin_emitted(&self, emitted: Emitted) {
        match emitted {
            Emitted::Listens { plugin, listens } => {
                let source = source_name(&plugin);
                let listens: Vec<NewListen> = listens
                    .into_iter()
                    .map(|listen| NewListen {
                        artist: listen.artist,
                        track: listen.track,
                        album: listen.album,
                        listened_at_s: listen.listened_at,
                        duration_ms: listen.duration_ms,
                        source: source.clone(),
                        loved: listen.loved,
                        artists: Vec::new(),
                    })
                    .collect();
                if let Err(err) = self.add_listens(listens, true).await {
                    tracing::warn!(plugin, error = %err, "listens from a plugin were refused");
                }
            }
            Emitted::NowPlaying { plugin, artist, track, album } => {
                self.state.events.send(Event::NowPlaying { source: source_name(&plugin), artist, track, album });
            }
            Emitted::Progress { plugin, job, done, total } => {
                self.state.events.send(Event::PluginProgress { source: source_name(&plugin), job, done, total });
            }
        }
    }

    pub(crate) fn search(&self, query: &str, kinds: &[Kind], limit: usize) -> Result<Vec<Hit>> {
        self.state.index.search(query, kinds, limit)
    }

    /// The most played entities of a kind in `[from_s, to_s)` (all time when `None`).
    pub(crate) fn top(&self, kind: Kind, range: Option<(i64, i64)>, limit: usize) -> Result<Vec<TopRow>> {
        let reader = self.state.store.read()?;
        let mut tally = Tally::default();
        match range {
            None => reader.add_all_time(kind, &mut tally)?,
            Some((from, to)) => {
                let (from, to) = (from.max(0), to.max(0));
                // Whole months from the month counters, the parts around them from the listens.
                let first_day = clock::day_of(from - 1) + 1;
                let mut first_month = clock::month_of_day(first_day);
                if clock::first_day_of_month(first_month) < first_day {
                    first_month += 1;
                }
                let end_month = clock::month_of_day(clock::day_of(to));
                let months_from = clock::first_day_of_month(first_month) * DAY_S;
                let months_to = clock::first_day_of_month(end_month) * DAY_S;
                if months_from >= months_to {
                    reader.add_listen_counts(kind, from as u64, to as u64, &mut tally)?;
                } else {
                    reader.add_listen_counts(kind, from as u64, months_from as u64, &mut tally)?;
                    reader.add_listen_counts(kind, months_to as u64, to as u64, &mut tally)?;
                    let bucket = |month: i64| u32::try_from(month.max(0)).unwrap_or(u32::MAX);
                    reader.add_months(kind, bucket(first_month)..bucket(end_month), &mut tally)?;
                }
            }
        }
        let mut names = reader.names()?;
        tally
            .top(limit)
            .into_iter()
            .map(|(id, plays)| {
                let (name, artist) = match kind {
                    Kind::Artist => (names.artist(id)?, None),
                    Kind::Album => {
                        let (title, artist_id) = names.album(id)?;
                        (title, Some(names.artist(artist_id)?))
                    }
                    Kind::Track => {
                        let (title, artist_id, _) = names.track(id)?;
                        (title, Some(names.artist(artist_id)?))
                    }
                };
                Ok(TopRow { id, name: name.to_string(), artist: artist.map(|artist| artist.to_string()), plays })
            })
            .collect()
    }

    /// Starts (or resumes) an import; options left out take the `[import]` defaults.
    pub(crate) fn start_import(
        &self,
        kind: crate::import::ImportKind,
        path: std::path::PathBuf,
        min_play_ms: Option<u64>,
        include_incognito: Option<bool>,
    ) -> Result<ImportRunRecord> {
        let defaults = &self.state.import_defaults;
        let request = ImportRequest {
            kind,
            path,
            min_play_ms: min_play_ms.unwrap_or(defaults.min_play_ms),
            include_incognito: include_incognito.unwrap_or(defaults.include_incognito),
        };
        self.state.imports.start(&self.state.store, &self.state.events, self.state.separators.clone(), request)
    }

    pub(crate) fn import_run(&self, id: u64) -> Result<ImportRunRecord> {
        self.state.store.read()?.run(id)?.ok_or_else(|| Error::not_found(format!("no import run {id}")))
    }

    pub(crate) fn import_runs(&self, limit: usize) -> Result<Vec<ImportRunRecord>> {
        self.state.store.read()?.runs(limit)
    }
}

/// Listens with their loved flags.
fn with_loved(
    reader: &crate::store::Reader,
    listens: Vec<((u64, u64), crate::store::records::ListenRecord)>,
) -> Result<Vec<RecordedListen>> {
    let mut loved = LovedLookup::new(reader)?;
    listens
        .into_iter()
        .map(|(key, record)| Ok(RecordedListen { key, loved: loved.is_loved(record.track_id)?, record }))
        .collect()
}

/// A plugin's name as a listen source: lowercase letters, digits, `-`, `_`, `.`, at most 32.
/// Answers "is this track loved" for listens, cheaply when nothing is loved.
struct LovedLookup<'a> {
    reader: &'a crate::store::Reader,
    any: bool,
}

impl<'a> LovedLookup<'a> {
    fn new(reader: &'a crate::store::Reader) -> Result<LovedLookup<'a>> {
        Ok(LovedLookup { reader, any: reader.any_loved()? })
    }

    fn is_loved(&mut self, track_id: u64) -> Result<bool> {
        if !self.any {
            return Ok(false);
        }
        let Some(track) = self.reader.track(track_id)? else { return Ok(false) };
        Ok(self.reader.loved(&track.key)?.is_some_and(|record| record.loved))
    }
}

/// The login name, when it is a valid scrobbling user name; else `musique`.
fn login_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| musique_config::valid_user_name(name))
        .unwrap_or_else(|| "musique".to_owned())
}

fn source_name(plugin: &str) -> String {
    let name: String = plugin
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c) { c } else { '-' })
        .take(32)
        .collect();
    if name.is_empty() { "plugin".to_owned() } else { name }
}

/// The `[from, to)` range of a named period, in whole UTC days ending today.
pub(crate) fn period_range(period: Period, now_s: i64) -> Option<(i64, i64)> {
    let tomorrow = (clock::day_of(now_s) + 1) * DAY_S;
    let days = match period {
        Period::Day => 1,
        Period::Week => 7,
        Period::Month => 30,
        Period::Year => 365,
        Period::All => return None,
    };
    Some((tomorrow - days * DAY_S, tomorrow))
}

/// Named chart periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    Day,
    Week,
    Month,
    Year,
    All,
}
