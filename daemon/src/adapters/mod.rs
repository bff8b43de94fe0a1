//! Adapters: what the daemon does with plugins beyond loading them. Typed
//! calls into them, history imports ([`history`]), live trackers
//! ([`trackers`]), retries ([`retry`]), enrichment ([`enrich`]), signing in,
//! loving tracks, and the listens and now-playing they emit.
//!
//! `Adapters` is a cheap `Clone` handle. Methods that call plugins or wait for
//! commits block; the edges run them off the async workers.

mod collection;
mod enrich;
mod history;
mod players;
mod retry;
mod sync;
mod trackers;

use std::sync::Arc;

use musique_sdk::protocol::{AuthBegin, AuthComplete, AuthStatus, Love, method};
use musique_sdk::{Capability, ErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use enrich::Enriched;
pub(crate) use history::AdapterImport;
pub(crate) use trackers::TrackerStatus;

use crate::clock::Clock;
use crate::error::{Error, InternalError, Result};
use crate::events::{Event, EventBus};
use crate::imports::runs::Runs;
use crate::library::{Library, Listen, Origin, SourceName};
use crate::plugins::{Emitted, PluginCallError, PluginHost, PluginState, PluginStatus};
use crate::store::Store;
use crate::store::records::ImportRunRecord;
use retry::RetryPolicy;

/// The adapters and their background work.
#[derive(Clone)]
pub(crate) struct Adapters {
    state: Arc<State>,
}

struct State {
    /// The loaded plugins.
    plugins: PluginHost,
    /// Where their listens go.
    library: Library,
    /// Import runs of both kinds (history imports are among them).
    runs: Runs,
    /// The adapters' own state: cursors, watermarks, tracker flags, the enrichment cache.
    store: Store,
    /// Now-playing, progress and import events.
    events: EventBus,
    clock: Clock,
    /// How failed remote requests are retried (`[import] retry_*`).
    retry: RetryPolicy,
    /// Live trackers.
    trackers: trackers::Trackers,
    /// Background enrichment of new albums.
    enricher: enrich::Enricher,
    /// Player adapters' zones and plays in progress.
    players: players::Players,
}

/// Turns a plugin's failure into an error that says who must act: the caller
/// (bad input, credentials), time (rate limits, a service down) or the adapter.
pub(crate) fn plugin_error(adapter: &str, error: PluginCallError) -> Error {
    let Some(reply) = error.plugin_error() else {
        return match error {
            PluginCallError::NotRunning(_) => Error::invalid(error.to_string()),
            PluginCallError::Call(_) => Error::Internal(InternalError::AdapterFailed {
                adapter: adapter.to_owned(),
                message: error.to_string(),
            }),
        };
    };
    match reply.kind {
        ErrorKind::InvalidInput | ErrorKind::Unauthorized | ErrorKind::UnknownMethod => {
            Error::invalid(error.to_string())
        }
        ErrorKind::RateLimited | ErrorKind::Unavailable => Error::unavailable(error.to_string(), reply.retry_after_ms),
        _ => Error::Internal(InternalError::AdapterFailed { adapter: adapter.to_owned(), message: error.to_string() }),
    }
}

impl Adapters {
    pub(crate) fn new(
        plugins: PluginHost,
        library: Library,
        runs: Runs,
        store: Store,
        events: EventBus,
        import: &musique_config::ImportConfig,
        tables: &std::collections::BTreeMap<String, musique_config::AdapterConfig>,
    ) -> Adapters {
        let clock = library.clock().clone();
        let players = players::Players::default();
        configure_players(&players, tables);
        Adapters {
            state: Arc::new(State {
                plugins,
                library,
                runs,
                store,
                events,
                clock,
                retry: RetryPolicy::from_config(import),
                trackers: trackers::Trackers::default(),
                enricher: enrich::Enricher::default(),
                players,
            }),
        }
    }

    /// Calls `method` once and decodes the reply.
    fn call<T: DeserializeOwned>(&self, adapter: &str, method: &str, payload: &impl Serialize) -> Result<T> {
        let payload = serde_json::to_value(payload).expect("requests are JSON");
        let value = self.state.plugins.call(adapter, method, payload).map_err(|error| plugin_error(adapter, error))?;
        serde_json::from_value(value).map_err(|err| {
            Error::Internal(InternalError::AdapterReply {
                adapter: adapter.to_owned(),
                method: method.to_owned(),
                message: err.to_string(),
            })
        })
    }

    /// The running plugins that declare `capability`.
    fn with_capability(&self, capability: Capability) -> Vec<String> {
        self.state
            .plugins
            .list()
            .into_iter()
            .filter(|status| status.state == PluginState::Running && status.capabilities.contains(&capability))
            .map(|status| status.name)
            .collect()
    }

    /// Every plugin, built in or dropped in.
    pub(crate) fn plugins(&self) -> Vec<PluginStatus> {
        self.state.plugins.list()
    }

    /// Looks at the plugins directory again (the watcher and `plugins.reload`). Blocks.
    pub(crate) fn rescan_plugins(&self) {
        self.state.plugins.rescan();
    }

    /// Stops a plugin until enabled; `NotFound` when there is none of that name.
    pub(crate) fn disable_plugin(&self, name: &str) -> Result<()> {
        if self.state.plugins.disable(name) { Ok(()) } else { Err(no_plugin(name)) }
    }

    /// Starts a disabled plugin again; `NotFound` when there is none of that name.
    pub(crate) fn enable_plugin(&self, name: &str) -> Result<()> {
        if self.state.plugins.enable(name) { Ok(()) } else { Err(no_plugin(name)) }
    }

    /// Applies new `[adapters.*]` tables; returns the plugins restarted.
    pub(crate) fn configure(
        &self,
        adapters: std::collections::BTreeMap<String, musique_config::AdapterConfig>,
    ) -> Vec<String> {
        configure_players(&self.state.players, &adapters);
        self.state.plugins.set_adapters(adapters)
    }

    /// Records what a plugin emitted: listens through the library, now-playing and
    /// progress to the event bus.
    pub(crate) async fn emitted(&self, emitted: Emitted) {
        match emitted {
            Emitted::Listens { plugin, listens } => {
                let origin = Origin::Plugin(SourceName::of_plugin(&plugin));
                let listens = listens.into_iter().map(listen_of).collect();
                if let Err(err) = self.state.library.add(origin, listens, true).await {
                    tracing::warn!(plugin, error = %err, "listens from a plugin were refused");
                }
            }
            Emitted::NowPlaying { plugin, artist, track, album } => {
                let source = SourceName::of_plugin(&plugin).to_string();
                self.state.events.send(Event::NowPlaying { source, artist, track, album });
            }
            Emitted::Progress { plugin, job, done, total } => {
                let source = SourceName::of_plugin(&plugin).to_string();
                self.state.events.send(Event::PluginProgress { source, job, done, total });
            }
            Emitted::Playback { plugin, playback } => self.playback(plugin, playback).await,
            Emitted::PlayerStatus { plugin, status } => {
                tracing::info!(adapter = plugin, state = ?status.state, "{}", status.message);
            }
        }
    }

    /// A zone's playback: to subscribers as now-playing when its track changes, and
    /// through the playback policy, which records the plays that count.
    async fn playback(&self, plugin: String, playback: musique_sdk::player::Playback) {
        let source = SourceName::of_plugin(&plugin).to_string();
        let before = self.state.players.playback(&plugin).into_iter().find(|zone| zone.zone_id == playback.zone_id);
        let changed = before.as_ref().map(|zone| (&zone.track, zone.state)) != Some((&playback.track, playback.state));
        if changed {
            // What plays now, also as the `now_playing` every source sends.
            if let (musique_sdk::player::PlayState::Playing, Some(track)) = (playback.state, &playback.track) {
                self.state.events.send(Event::NowPlaying {
                    source: source.clone(),
                    artist: track.artist.clone(),
                    track: track.title.clone(),
                    album: track.album.clone(),
                });
            }
            self.state.events.send(Event::ZonePlayback { source: source.clone(), playback: playback.clone() });
        }
        let adapters = self.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            let store = adapters.state.store.clone();
            adapters.state.players.report(&store, &plugin, playback)
        })
        .await;
        if let Ok(Some((origin, listen))) = recorded {
            let (artist, track, at) = (listen.artist.clone(), listen.track.clone(), listen.started_ms.div_euclid(1000));
            match self.state.library.add(origin, vec![listen], true).await {
                Ok(_) => self.state.players.recorded(&source, artist, track, at),
                Err(err) => tracing::warn!(source, error = %err, "a play from a player was refused"),
            }
        }
    }

    /// Starts (or resumes) an adapter history import.
    pub(crate) fn fetch_history(&self, request: AdapterImport) -> Result<ImportRunRecord> {
        history::start(self, request)
    }

    /// Starts (or resumes, or returns the running) sync of an adapter's record
    /// collection; the only collection adapter when `adapter` is `None`.
    pub(crate) fn sync_collection(&self, adapter: Option<&str>, full: bool) -> Result<ImportRunRecord> {
        let adapter = match adapter {
            Some(adapter) => adapter.to_owned(),
            None => {
                let mut names = self.with_capability(Capability::Collection);
                match names.len() {
                    1 => names.remove(0),
                    0 => return Err(Error::invalid("no collection adapter is running (see `musiquectl plugins`)")),
                    _ => return Err(Error::invalid(format!("name the adapter: one of {}", names.join(", ")))),
                }
            }
        };
        collection::start(self, &adapter, full)
    }

    /// Starts the adapter imports and trackers a stop or crash left running, and the enricher.
    pub(crate) fn resume(&self) {
        history::resume(self);
        collection::resume(self);
        self.state.trackers.restore(self);
        self.state.enricher.start(self.clone());
    }

    pub(crate) fn tracker_start(&self, adapter: &str) -> Result<TrackerStatus> {
        self.state.trackers.start(self, adapter)
    }

    pub(crate) fn tracker_stop(&self, adapter: &str) -> Result<Vec<TrackerStatus>> {
        if !self.state.trackers.stop(self, adapter)? {
            return Err(Error::not_found(format!("no tracker of `{adapter}` is running")));
        }
        Ok(self.state.trackers.status(self, Some(adapter)))
    }

    pub(crate) fn tracker_status(&self, adapter: Option<&str>) -> Vec<TrackerStatus> {
        self.state.trackers.status(self, adapter)
    }

    /// Stops trackers and the enricher (before the store closes); imports stop with their runs.
    pub(crate) fn stop_background(&self) {
        self.state.enricher.stop();
        self.state.trackers.stop_all();
    }

    /// A player adapter's connection. Blocks (calls the plugin).
    pub(crate) fn player_status(&self, adapter: &str) -> Result<musique_sdk::player::PlayerStatus> {
        self.player(adapter)?;
        self.call(adapter, musique_sdk::player::method::STATUS, &serde_json::Value::Null)
    }

    /// A player adapter's zones, by name. Blocks (calls the plugin).
    pub(crate) fn player_zones(&self, adapter: &str) -> Result<Vec<musique_sdk::player::Zone>> {
        self.player(adapter)?;
        let zones = self.call(adapter, musique_sdk::player::method::ZONES, &serde_json::Value::Null)?;
        Ok(players::sorted(zones))
    }

    /// A transport control; answers the zone as it is after it. Blocks (calls the plugin).
    pub(crate) fn player_control(
        &self,
        adapter: &str,
        control: musique_sdk::player::Control,
    ) -> Result<musique_sdk::player::Zone> {
        self.player(adapter)?;
        let zone = control.zone.clone();
        self.call::<serde_json::Value>(adapter, musique_sdk::player::method::CONTROL, &control)?;
        self.player_zones(adapter)?
            .into_iter()
            .find(|known| known.zone_id == zone || known.name.eq_ignore_ascii_case(&zone))
            .ok_or_else(|| Error::not_found(format!("zone {zone:?} is gone")))
    }

    /// Plays something from the player's library on a zone. Blocks (calls the plugin).
    pub(crate) fn player_play(
        &self,
        adapter: &str,
        request: musique_sdk::player::PlayRequest,
    ) -> Result<musique_sdk::player::PlayOutcome> {
        self.player(adapter)?;
        self.call(adapter, musique_sdk::player::method::PLAY, &request)
    }

    /// Checks that `adapter` is a running player adapter.
    fn player(&self, adapter: &str) -> Result<()> {
        // A drop-in of the same name may have replaced the built-in one: the running one counts.
        let mut named: Vec<PluginStatus> =
            self.state.plugins.list().into_iter().filter(|status| status.name == adapter).collect();
        named.sort_by_key(|status| status.state != PluginState::Running);
        let Some(status) = named.into_iter().next() else {
            return Err(Error::unavailable(
                format!("the {adapter} adapter is not loaded (is it enabled in [adapters.{adapter}]?)"),
                None,
            ));
        };
        if status.state != PluginState::Running {
            let why = status.last_error.unwrap_or_else(|| "it is disabled".to_owned());
            return Err(Error::unavailable(format!("the {adapter} adapter is not running: {why}"), None));
        }
        if !status.capabilities.contains(&Capability::Player) {
            return Err(Error::invalid(format!("the {adapter} adapter is not a player")));
        }
        Ok(())
    }

    pub(crate) fn auth_begin(&self, adapter: &str) -> Result<AuthBegin> {
        self.call(adapter, method::AUTH_BEGIN, &serde_json::Value::Null)
    }

    pub(crate) fn auth_complete(&self, adapter: &str, token: String) -> Result<AuthStatus> {
        self.call(adapter, method::AUTH_COMPLETE, &AuthComplete { token })
    }

    /// Loves or unloves a track on the adapter's service, then stores the flag.
    /// Nothing is stored when the service refuses.
    pub(crate) fn love(&self, adapter: &str, artist: &str, track: &str, loved: bool) -> Result<()> {
        let (artist, track) = (artist.trim(), track.trim());
        if artist.is_empty() || track.is_empty() {
            return Err(Error::invalid("`artist` and `track` must not be empty"));
        }
        let love = Love { artist: artist.to_owned(), track: track.to_owned(), loved };
        self.call::<serde_json::Value>(adapter, method::LOVE, &love)?;
        self.state.library.set_loved(artist, track, loved, adapter)
    }
}

/// Gives each player adapter the tracking keys of its table.
fn configure_players(
    players: &players::Players,
    tables: &std::collections::BTreeMap<String, musique_config::AdapterConfig>,
) {
    for (name, table) in tables {
        let settings = serde_json::to_value(&table.settings).unwrap_or_default();
        players.configure(name, &settings);
    }
}

/// A plugin's listen as the library takes it.
fn listen_of(listen: musique_sdk::protocol::Listen) -> Listen {
    Listen {
        artist: listen.artist,
        track: listen.track,
        album: listen.album,
        artists: Vec::new(),
        started_ms: listen.listened_at.saturating_mul(1000),
        duration_ms: listen.duration_ms,
        loved: listen.loved,
        details: None,
    }
}

fn no_plugin(name: &str) -> Error {
    Error::not_found(format!("no plugin named {name:?}"))
}
