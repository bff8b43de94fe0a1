//! Conversions between domain values and wire types.

use musique_api::{
    CURRENT_API_VERSION, ComponentState as WireComponentState, ComponentStatus, Counts, EnrichmentInfo, EnrichmentKind,
    EntityKind, Event as WireEvent, Image, ImportKind as WireImportKind, ImportRun, ImportState, Listen,
    Period as WirePeriod, PluginInfo, PluginOrigin, PluginState as WirePluginState, Reported, RunKind as WireRunKind,
    Status, TokenApi, TokenInfo, TrackerStatus as WireTracker, TrackerTrack,
};

use crate::adapters::{Enriched, TrackerStatus};
use crate::components::ComponentState;
use crate::events::{Event, RecordedListen};
use crate::library::Period;
use crate::plugins::{PluginState, PluginStatus};
use crate::runtime::StatusReport;
use crate::scrobbling::Api;
use crate::scrobbling::credentials::CredentialRecord;
use crate::store::Kind;
use crate::store::records::{ExportKind, ImportRunRecord, ListenDetails, RunKind, RunState};

pub(super) fn kind_of(kind: EntityKind) -> Kind {
    match kind {
        EntityKind::Artist => Kind::Artist,
        EntityKind::Album => Kind::Album,
        EntityKind::Track => Kind::Track,
    }
}

pub(super) fn kind_dto(kind: Kind) -> EntityKind {
    match kind {
        Kind::Artist => EntityKind::Artist,
        Kind::Album => EntityKind::Album,
        Kind::Track => EntityKind::Track,
    }
}

pub(super) fn period_of(period: WirePeriod) -> Period {
    match period {
        WirePeriod::Day => Period::Day,
        WirePeriod::Week => Period::Week,
        WirePeriod::Month => Period::Month,
        WirePeriod::Year => Period::Year,
        WirePeriod::All => Period::All,
    }
}

/// The file format of a kind; `None` for adapter kinds, which `imports.fetch` imports,
/// and for `auto`, which names no format.
pub(super) fn import_kind_of(kind: WireImportKind) -> Option<ExportKind> {
    match kind {
        WireImportKind::Spotify => Some(ExportKind::Spotify),
        WireImportKind::LastfmCsv => Some(ExportKind::LastfmCsv),
        WireImportKind::Listenbrainz => Some(ExportKind::Listenbrainz),
        WireImportKind::LastfmJson => Some(ExportKind::LastfmJson),
        WireImportKind::Maloja => Some(ExportKind::Maloja),
        WireImportKind::Koito => Some(ExportKind::Koito),
        WireImportKind::ScrobblerLog => Some(ExportKind::ScrobblerLog),
        WireImportKind::Lastfm | WireImportKind::Auto => None,
    }
}

/// The wire kind of a file format.
fn wire_kind_of(kind: ExportKind) -> WireImportKind {
    match kind {
        ExportKind::Spotify => WireImportKind::Spotify,
        ExportKind::LastfmCsv => WireImportKind::LastfmCsv,
        ExportKind::Listenbrainz => WireImportKind::Listenbrainz,
        ExportKind::LastfmJson => WireImportKind::LastfmJson,
        ExportKind::Maloja => WireImportKind::Maloja,
        ExportKind::Koito => WireImportKind::Koito,
        ExportKind::ScrobblerLog => WireImportKind::ScrobblerLog,
    }
}

pub(super) fn listen_dto(listen: RecordedListen) -> Listen {
    Listen {
        id: listen.key.to_string(),
        listened_at: listen.record.start_ms.div_euclid(1000),
        duration_ms: listen.record.duration_ms,
        artist: listen.record.artist,
        featured: listen.record.featured,
        track: listen.record.track,
        album: listen.record.album,
        sources: listen.record.sources.into_iter().map(|provenance| provenance.source).collect(),
        loved: listen.loved,
        reported: listen.record.details.map(|details| Box::new(reported_dto(*details))),
    }
}

fn reported_dto(details: ListenDetails) -> Reported {
    Reported {
        recording_mbid: details.recording_mbid,
        release_mbid: details.release_mbid,
        release_group_mbid: details.release_group_mbid,
        track_mbid: details.track_mbid,
        artist_mbids: details.artist_mbids,
        work_mbids: details.work_mbids,
        submission_client: details.submission_client,
        submission_client_version: details.submission_client_version,
        media_player: details.media_player,
        music_service: details.music_service,
        origin_url: details.origin_url,
        spotify_track_uri: details.spotify_track_uri,
        reason_start: details.reason_start,
        reason_end: details.reason_end,
        skipped: details.skipped,
        shuffle: details.shuffle,
        platform: details.platform,
        radio: details.radio,
    }
}

pub(super) fn run_dto(run: ImportRunRecord) -> ImportRun {
    ImportRun {
        id: run.id,
        kind: match run.kind() {
            RunKind::File(kind) => WireRunKind::File(wire_kind_of(kind)),
            RunKind::Adapter(name) => WireRunKind::Adapter(name),
        },
        path: run.path,
        state: match run.state {
            RunState::Running => ImportState::Running,
            RunState::Completed => ImportState::Completed,
            RunState::Failed => ImportState::Failed,
            RunState::Interrupted => ImportState::Interrupted,
            RunState::Cancelled => ImportState::Cancelled,
        },
        started_at: run.started_at,
        finished_at: run.finished_at,
        resumed: run.resumed,
        files_total: run.files_total,
        files_done: run.files_done,
        file_records_total: run.file_records_total,
        file_records_done: run.file_records_done,
        records: run.records,
        imported: run.imported,
        duplicates: run.duplicates,
        skipped: run.skipped,
        rejected: run.rejected,
        rejected_samples: run.rejected_samples,
        file_errors: run.file_errors,
        error: run.error,
    }
}

pub(super) fn event_dto(event: Event) -> WireEvent {
    match event {
        Event::ImportProgress(run) => WireEvent::ImportProgress { run: run_dto(run) },
        Event::ImportFinished(run) => WireEvent::ImportFinished { run: run_dto(run) },
        Event::ListenRecorded(listen) => WireEvent::ListenRecorded { listen: listen_dto(listen) },
        Event::NowPlaying { source, artist, track, album } => WireEvent::NowPlaying { source, artist, track, album },
        Event::PluginProgress { source, job, done, total } => WireEvent::PluginProgress { source, job, done, total },
        Event::ZonePlayback { source, playback } => WireEvent::ZonePlayback { source, playback },
    }
}

pub(super) fn plugin_dto(plugin: PluginStatus) -> PluginInfo {
    PluginInfo {
        name: plugin.name,
        version: plugin.version,
        abi: plugin.abi.map(|(major, minor)| format!("{major}.{minor}")),
        protocol: plugin.protocol.map(|(major, minor)| format!("{major}.{minor}")),
        capabilities: plugin.capabilities.iter().map(crate::plugins::capability_name).collect(),
        origin: if plugin.file.is_some() { PluginOrigin::Dynamic } else { PluginOrigin::Builtin },
        file: plugin.file,
        state: match plugin.state {
            PluginState::Running => WirePluginState::Running,
            PluginState::Failed => WirePluginState::Failed,
            PluginState::Disabled => WirePluginState::Disabled,
        },
        last_error: plugin.last_error,
        calls: plugin.calls,
        errors: plugin.errors,
    }
}

pub(super) fn token_dto(record: CredentialRecord) -> TokenInfo {
    TokenInfo {
        id: record.id,
        name: record.name,
        api: match record.api {
            Api::Listenbrainz => TokenApi::Listenbrainz,
            Api::Lastfm => TokenApi::Lastfm,
        },
        created_at: record.created_ms.div_euclid(1000),
        api_key: record.api_key,
    }
}

pub(super) fn status_dto(report: StatusReport) -> Status {
    let counts = report.counts;
    Status {
        api_version: CURRENT_API_VERSION,
        daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: report.uptime_s,
        counts: Counts {
            artists: counts.artists,
            albums: counts.albums,
            tracks: counts.tracks,
            listens: counts.listens,
        },
        store_bytes: report.store_bytes,
        index_bytes: report.index_bytes,
        index_lag: report.index_lag,
        data_dir: report.data_dir,
        components: report
            .components
            .into_iter()
            .map(|component| ComponentStatus {
                name: component.name.to_owned(),
                state: component_state_dto(component.health.state),
                detail: component.health.detail,
            })
            .collect(),
        http: report.http_url,
    }
}

fn component_state_dto(state: ComponentState) -> WireComponentState {
    match state {
        ComponentState::Running => WireComponentState::Running,
        ComponentState::Idle => WireComponentState::Idle,
        ComponentState::Degraded => WireComponentState::Degraded,
        ComponentState::Failed => WireComponentState::Failed,
        ComponentState::Off => WireComponentState::Off,
        ComponentState::Ok => WireComponentState::Ok,
        ComponentState::Invalid => WireComponentState::Invalid,
    }
}

pub(super) fn tracker_dto(status: TrackerStatus) -> WireTracker {
    WireTracker {
        adapter: status.adapter,
        running: status.running,
        last_poll_ms: status.last_poll_ms,
        next_poll_ms: status.next_poll_ms,
        last_error: status.last_error,
        last_track: status.last_track.map(|(artist, track, at)| TrackerTrack {
            artist,
            track,
            album: None,
            listened_at: Some(at),
        }),
        now_playing: status.now_playing.map(|now| TrackerTrack {
            artist: now.artist,
            track: now.track,
            album: now.album,
            listened_at: None,
        }),
        recorded: status.recorded,
        polls: status.polls,
    }
}

pub(super) fn enrichment_dto(artist: String, album: Option<String>, enriched: Enriched) -> EnrichmentInfo {
    let record = enriched.record;
    EnrichmentInfo {
        kind: if enriched.kind == Kind::Album { EnrichmentKind::Album } else { EnrichmentKind::Artist },
        artist,
        album,
        found: record.found,
        source: record.source,
        fetched_at_ms: record.fetched_at_ms,
        cached: enriched.cached,
        name: (!record.name.is_empty()).then_some(record.name),
        url: record.url,
        images: record.images.into_iter().map(|image| Image { size: image.size, url: image.url }).collect(),
        summary: record.summary,
    }
}

/// A `roon.control` action from its flat parameters.
pub(super) fn player_action(
    action: &str,
    seconds: Option<f64>,
    value: Option<f64>,
    relative: bool,
    on: Option<bool>,
    mode: Option<String>,
) -> Result<musique_api::Action, jsonrpsee::types::ErrorObjectOwned> {
    use musique_api::Action;
    let needs = |what: &str| super::invalid(format!("`{action}` needs `{what}`"));
    let finite = |number: f64, what: &str| {
        if number.is_finite() { Ok(number) } else { Err(super::invalid(format!("`{what}` must be a number"))) }
    };
    Ok(match action {
        "play" => Action::Play,
        "pause" => Action::Pause,
        "playpause" => Action::Playpause,
        "stop" => Action::Stop,
        "next" => Action::Next,
        "previous" | "prev" => Action::Previous,
        "seek" => Action::Seek { seconds: finite(seconds.ok_or_else(|| needs("seconds"))?, "seconds")?, relative },
        "volume" => Action::Volume { value: finite(value.ok_or_else(|| needs("value"))?, "value")?, relative },
        "mute" => Action::Mute { on: on.unwrap_or(true) },
        "unmute" => Action::Mute { on: false },
        "shuffle" => Action::Shuffle { on: on.ok_or_else(|| needs("on"))? },
        "repeat" => {
            let mode = mode.ok_or_else(|| needs("mode"))?;
            if !matches!(mode.as_str(), "disabled" | "loop" | "loop_one") {
                return Err(super::invalid(format!("`mode` must be disabled, loop or loop_one, not {mode:?}")));
            }
            Action::Repeat { mode }
        }
        other => {
            return Err(super::invalid(format!(
                "unknown action {other:?}: use play, pause, playpause, stop, next, previous, seek, volume, mute, \
                 unmute, shuffle or repeat"
            )));
        }
    })
}

/// What `roon.play` plays, from its flat parameters.
pub(super) fn play_what(
    kind: &str,
    artist: Option<String>,
    title: Option<String>,
    name: Option<String>,
    station: Option<String>,
    tracks: Option<Vec<musique_api::TrackRef>>,
) -> Result<musique_api::PlayWhat, jsonrpsee::types::ErrorObjectOwned> {
    use musique_api::PlayWhat;
    let given = |value: Option<String>, what: &str| {
        value
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| super::invalid(format!("`{kind}` needs `{what}`")))
    };
    Ok(match kind {
        "album" => PlayWhat::Album { artist: given(artist, "artist")?, title: given(title, "title")? },
        "artist" => PlayWhat::Artist { name: given(name.or(artist), "name")? },
        "playlist" => PlayWhat::Playlist { name: given(name, "name")? },
        "radio" => PlayWhat::Radio { station: given(station.or(name), "station")? },
        "tracks" => {
            let tracks = tracks.unwrap_or_default();
            if tracks.is_empty() {
                return Err(super::invalid("`tracks` needs at least one track"));
            }
            PlayWhat::Tracks { tracks }
        }
        other => {
            return Err(super::invalid(format!(
                "unknown kind {other:?}: use album, artist, playlist, radio or tracks"
            )));
        }
    })
}
