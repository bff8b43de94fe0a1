//! musique's JSON-RPC surface, shared by `musiqued` (server) and `musiquectl` (client).
//!
//! One trait, [`MusiqueApi`], lists every method; `jsonrpsee` generates
//! `MusiqueApiServer` (implemented by the daemon) and `MusiqueApiClient`
//! (used by musiquectl, the tests and the benchmark). Parameters are named
//! (`{"limit": 5}`); positional arrays in declaration order also work.
//!
//! The wire types here are their own types: the daemon converts its domain
//! types into them at the edge. `docs/rpc.md` documents every method.
//! (The Roon methods' zone and playback types are the SDK's `player` protocol
//! types: a player adapter's shapes are the wire's.)
//!
//! # Layout
//! - [`MusiqueApi`]: the methods.
//! - wire types: [`Hello`], [`Status`], [`Listen`], [`SearchHit`], [`TopList`], [`ImportRun`], [`Event`], …
//! - [`client`]: connecting to the daemon socket.
//! - [`error_code`]: the JSON-RPC error codes the daemon uses.

// Named JSON-RPC parameters are function arguments: `roon.control` and `roon.play` take many.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;

use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use serde::{Deserialize, Serialize};

pub mod client;
#[cfg(test)]
mod tests;

/// Gives a unit-only wire enum `as_str` (its name on the wire), `Display`, and
/// comparisons with that name (`state == "running"`). The serde renames must
/// agree: the tests check every variant.
macro_rules! wire_names {
    ($type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            /// The name used on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $type {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// The first API version.
pub const INITIAL: u32 = 1;
/// Added `plugins.*` and the `now_playing` and `plugin_progress` events.
pub const PLUGINS: u32 = 2;
/// Added adapter imports (`imports.fetch`), `trackers.*`, `auth.*`, `tracks.love`,
/// `enrich.run`, and `loved` on listens.
pub const ADAPTERS: u32 = 3;
/// Added `tokens.*` (credentials for the scrobbling endpoints) and `Status.http`.
pub const SCROBBLING: u32 = 4;
/// Added `imports.cancel` and the `cancelled` run state.
pub const IMPORT_CANCEL: u32 = 5;
/// Added the export kinds `lastfm-json`, `maloja`, `koito`, `scrobbler-log`, and `auto`
/// (the format told by content) for `imports.start`.
pub const IMPORT_FORMATS: u32 = 6;
/// Added `reported` on listens: what their reports carry besides names and times.
pub const REPORTED: u32 = 7;
/// Added `roon.*` (zones, control, browse-to-play), the `zone_playback` event, and
/// `radio` and the zone (`platform`) on Roon's listens.
pub const ROON: u32 = 8;
/// Added `stats.timeline`, `stats.clock`, `stats.heatmap`, `stats.calendar`, and on
/// `stats.top` calendar periods (`year`, `month`, `week`, `day`), `by` and `tz`.
pub const ANALYTICS: u32 = 9;
/// Added `stats.sessions`, `stats.streaks`, `stats.discoveries`, `stats.climbers`,
/// `stats.on_this_day`, `stats.entity`, `stats.wrapped` and `stats.report`.
pub const INSIGHTS: u32 = 10;
/// Time listened counts a track's length for listens without a duration; answers
/// that give `time_known` say how many of those took it (`time_from_length`).
pub const TRACK_LENGTHS: u32 = 11;
/// Added `collection.sync`, `collection.list` and `collection.get`: the records
/// someone owns, from a collection adapter (Discogs).
pub const COLLECTION: u32 = 12;
/// The API version this crate speaks.
pub const CURRENT_API_VERSION: u32 = COLLECTION;

/// The player types of `roon.*`: the SDK's `player` protocol types are the wire shape.
pub use musique_sdk::player::{
    Action, Allowed, ConnectionState, Control, Output, PlayOutcome, PlayRequest, PlayState, PlayWhat, Playback,
    PlayerCore, PlayerStatus, PlayingTrack, TrackRef, Volume, Zone, ZoneSettings,
};

/// Optional features a daemon announces in [`Hello::features`].
///
/// A client uses a feature only when the daemon announced it. Features a newer
/// daemon announces decode as [`Feature::Unknown`], so older clients keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// `imports.*` for export files.
    Imports,
    /// `search` over artists, albums and tracks.
    Search,
    /// `stats.top`.
    Stats,
    /// `events.subscribe`.
    Events,
    /// `plugins.*`: drop-in plugins.
    Plugins,
    /// `imports.fetch`, `trackers.*`, `auth.*`, `tracks.love`, `enrich.run`: adapters.
    Adapters,
    /// `tokens.*` and the ListenBrainz / Last.fm 2.0 scrobbling endpoints.
    Scrobbling,
    /// A feature this client does not know (announced by a newer daemon).
    #[serde(other, skip_serializing)]
    Unknown,
}

impl Feature {
    /// Every feature this crate knows, in the order the daemon announces them.
    pub const ALL: [Feature; 7] = [
        Feature::Imports,
        Feature::Search,
        Feature::Stats,
        Feature::Events,
        Feature::Plugins,
        Feature::Adapters,
        Feature::Scrobbling,
    ];
}

wire_names!(Feature {
    Imports => "imports",
    Search => "search",
    Stats => "stats",
    Events => "events",
    Plugins => "plugins",
    Adapters => "adapters",
    Scrobbling => "scrobbling",
    Unknown => "unknown",
});

/// JSON-RPC error codes returned by the daemon, beyond the standard ones.
pub mod error_code {
    /// The parameters were malformed or not allowed (JSON-RPC's own code).
    pub const INVALID_PARAMS: i32 = -32602;
    /// An internal failure; details are in the daemon log.
    pub const INTERNAL: i32 = -32603;
    /// The thing asked for does not exist.
    pub const NOT_FOUND: i32 = -32004;
    /// Unavailable for now (a remote service is down or rate limited): try again later.
    /// The error's `data` may hold `{"retry_after_ms": N}`.
    pub const UNAVAILABLE: i32 = -32005;
}

/// Every method of the daemon. Since [`INITIAL`] unless marked otherwise.
#[rpc(server, client)]
pub trait MusiqueApi {
    /// The API version, the daemon version and its features. Call it first.
    #[method(name = "daemon.hello")]
    async fn hello(&self) -> RpcResult<Hello>;

    /// Counts, sizes, index lag, uptime and the state of each component.
    #[method(name = "daemon.status")]
    async fn status(&self) -> RpcResult<Status>;

    /// Listens newest first, optionally within `[from, to)`, `limit` at a time;
    /// pass the returned `next_cursor` to get the next page.
    #[method(name = "listens.list", param_kind = map)]
    async fn listens_list(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<ListensPage>;

    /// Records one listen (`listen`) or a batch (`listens`); says which were new
    /// and which were already known.
    #[method(name = "listens.add", param_kind = map)]
    async fn listens_add(&self, listen: Option<NewListen>, listens: Option<Vec<NewListen>>) -> RpcResult<AddReport>;

    /// Full-text search over artists, albums and tracks, tolerant of typos and
    /// accents; the last word also matches as a prefix.
    #[method(name = "search", param_kind = map)]
    async fn search(
        &self,
        query: String,
        kinds: Option<Vec<EntityKind>>,
        limit: Option<u32>,
    ) -> RpcResult<SearchResults>;

    /// The most played artists, albums or tracks over a rolling period
    /// (`day`, `week`, `month`, `year`, `all`), a `from`..`to` range, or a calendar
    /// period in the zone (`year`, `month`, `week`, `day`: since [`ANALYTICS`]); ranked
    /// by plays or by time listened (`by`, since [`ANALYTICS`]).
    #[method(name = "stats.top", param_kind = map)]
    async fn stats_top(
        &self,
        kind: EntityKind,
        period: Option<Period>,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        limit: Option<u32>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<TopList>;

    /// What a range holds step by step in the zone (`hour`, `day`, `week`, `month`,
    /// `year`), every bucket listed, gaps as zero. Since [`ANALYTICS`].
    #[method(name = "stats.timeline", param_kind = map)]
    async fn stats_timeline(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        step: Option<Step>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<Timeline>;

    /// The listening clock: what a period (all time when none) holds per hour of
    /// the day in the zone. Since [`ANALYTICS`].
    #[method(name = "stats.clock", param_kind = map)]
    async fn stats_clock(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<ClockAnswer>;

    /// What a period (all time when none) holds per weekday (Monday first) and
    /// hour in the zone. Since [`ANALYTICS`].
    #[method(name = "stats.heatmap", param_kind = map)]
    async fn stats_heatmap(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<HeatmapAnswer>;

    /// Every day of a year (the current one in the zone when none) with its plays.
    /// Since [`ANALYTICS`].
    #[method(name = "stats.calendar", param_kind = map)]
    async fn stats_calendar(
        &self,
        year: Option<String>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<CalendarAnswer>;

    /// Listening sessions of a period (all time when none): runs of listens split
    /// by a gap (`gap_minutes`, else `[general] session_gap_minutes`). A session
    /// belongs to the period it starts in, whole. Since [`INSIGHTS`].
    #[method(name = "stats.sessions", param_kind = map)]
    async fn stats_sessions(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        gap_minutes: Option<u32>,
        limit: Option<u32>,
    ) -> RpcResult<SessionsAnswer>;

    /// Runs of days with a listen, in the zone: the current and the longest of the
    /// whole history or of a period, and per artist and per album. Since [`INSIGHTS`].
    #[method(name = "stats.streaks", param_kind = map)]
    async fn stats_streaks(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<StreaksAnswer>;

    /// The artists, albums and tracks first heard in a period (all time when none),
    /// and how many were new each month. Since [`INSIGHTS`].
    #[method(name = "stats.discoveries", param_kind = map)]
    async fn stats_discoveries(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<Discoveries>;

    /// The entities of a kind that rose most in rank from one period to another
    /// (`against`: a year, month, ISO week or day; the period before when absent).
    /// Since [`INSIGHTS`].
    #[method(name = "stats.climbers", param_kind = map)]
    async fn stats_climbers(
        &self,
        kind: EntityKind,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        against: Option<String>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<Climbers>;

    /// What was played on a date (today in the zone when absent) some years ago
    /// (`years`, else 1, 2, 5 and 10). Since [`INSIGHTS`].
    #[method(name = "stats.on_this_day", param_kind = map)]
    async fn stats_on_this_day(
        &self,
        date: Option<String>,
        years: Option<Vec<u32>>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<OnThisDay>;

    /// One artist, album or track: its totals, first and last listen, ranks,
    /// plays per year, what is inside it, its sessions and the artists played
    /// with it. Named by `id`, or by `name` (and `artist` for albums and tracks).
    /// Since [`INSIGHTS`].
    #[method(name = "stats.entity", param_kind = map)]
    async fn stats_entity(
        &self,
        kind: EntityKind,
        id: Option<u64>,
        name: Option<String>,
        artist: Option<String>,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        gap_minutes: Option<u32>,
        limit: Option<u32>,
    ) -> RpcResult<EntityPage>;

    /// A summary of any period (this year so far when none): totals, the top five
    /// of each kind by plays and by time, the top day, the longest session,
    /// discoveries, the longest streak and the clock; with `markdown`, also as a
    /// Markdown report. Since [`INSIGHTS`].
    #[method(name = "stats.wrapped", param_kind = map)]
    async fn stats_wrapped(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        markdown: Option<bool>,
    ) -> RpcResult<Wrapped>;

    /// Writes a month's wrapped report as Markdown into the data folder's
    /// `reports/` (`2024-05.md`; the month before the current one when absent).
    /// Since [`INSIGHTS`].
    #[method(name = "stats.report", param_kind = map)]
    async fn stats_report(&self, month: Option<String>, tz: Option<String>) -> RpcResult<ReportFile>;

    /// Syncs the record collection from a collection adapter (the only one when
    /// `adapter` is absent): every item, then the details of releases not stored
    /// yet (of every release with `full`). Runs as an import run; resumes an
    /// unfinished sync, or answers the one running. Since [`COLLECTION`].
    #[method(name = "collection.sync", param_kind = map)]
    async fn collection_sync(&self, adapter: Option<String>, full: Option<bool>) -> RpcResult<ImportRun>;

    /// The records owned, filtered (folder; `query`, searched in the index: title,
    /// artists, labels, catalogue numbers, genres, styles, year), sorted (`artist`,
    /// `title`, `year`, `added`; without `sort`, best match first with a query and
    /// by artist without) and paged (`limit`, default 50; `cursor` from the
    /// previous page). Since [`COLLECTION`].
    #[method(name = "collection.list", param_kind = map)]
    async fn collection_list(
        &self,
        folder: Option<u64>,
        query: Option<String>,
        sort: Option<CollectionSort>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<CollectionPage>;

    /// One owned record by its id, with its release's details when they are
    /// synced (tracklist, credits, images). Since [`COLLECTION`].
    #[method(name = "collection.get", param_kind = map)]
    async fn collection_get(&self, id: u64) -> RpcResult<OwnedRecordDetails>;

    /// The collection against the history in a period (all time when none is
    /// given): totals, coverage, formats and decades, the most played records and
    /// forgotten favourites (played a lot, not in `forgotten_months`, default 12).
    /// Since [`COLLECTION`].
    #[method(name = "collection.stats", param_kind = map)]
    async fn collection_stats(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        forgotten_months: Option<u32>,
        limit: Option<u32>,
    ) -> RpcResult<CollectionStats>;

    /// Records never played; with `months`, not played for that many months; with
    /// a period (the calendar and range parameters of `stats.top`), not played in
    /// it. Longest unplayed first. Since [`COLLECTION`].
    #[method(name = "collection.unplayed", param_kind = map)]
    async fn collection_unplayed(
        &self,
        months: Option<u32>,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<OwnedItem>>;

    /// The albums played most in a period that no owned record is, with at least
    /// `min_plays` (default 5). Since [`COLLECTION`].
    #[method(name = "collection.missing", param_kind = map)]
    async fn collection_missing(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        year: Option<String>,
        month: Option<String>,
        week: Option<String>,
        day: Option<String>,
        tz: Option<String>,
        min_plays: Option<u64>,
        limit: Option<u32>,
    ) -> RpcResult<Vec<MissingAlbum>>;

    /// A record at random among those that pass the filters; within one `session`
    /// no record comes twice until every one has come. Since [`COLLECTION`].
    #[method(name = "collection.random", param_kind = map)]
    async fn collection_random(
        &self,
        format: Option<String>,
        genre: Option<String>,
        style: Option<String>,
        decade: Option<i32>,
        folder: Option<u64>,
        unplayed_months: Option<u32>,
        session: Option<String>,
    ) -> RpcResult<Option<OwnedItem>>;

    /// Writes the collection to `path` (absolute; its folder must exist), whole
    /// and owner-only: `markdown` (grouped by artist, with a table of contents),
    /// `json` (everything, release details and image addresses included) or `csv`
    /// (one row per record). Since [`COLLECTION`].
    #[method(name = "collection.export", param_kind = map)]
    async fn collection_export(&self, format: ExportFormat, path: String) -> RpcResult<ExportedFile>;

    /// Links an owned record's release to an album of the history (`artist` and
    /// `album` as the listens name them), to none (`none: true`), or back to the
    /// automatic link (`auto: true`). Answers the record. Since [`COLLECTION`].
    #[method(name = "collection.link", param_kind = map)]
    async fn collection_link(
        &self,
        id: u64,
        artist: Option<String>,
        album: Option<String>,
        none: Option<bool>,
        auto: Option<bool>,
    ) -> RpcResult<OwnedItem>;

    /// Starts importing an export file, folder or zip; resumes an interrupted
    /// import of the same files.
    #[method(name = "imports.start", param_kind = map)]
    async fn imports_start(
        &self,
        kind: ImportKind,
        path: String,
        options: Option<ImportOptions>,
    ) -> RpcResult<ImportRun>;

    /// One import run.
    #[method(name = "imports.status", param_kind = map)]
    async fn imports_status(&self, id: u64) -> RpcResult<ImportRun>;

    /// Import runs, newest first.
    #[method(name = "imports.list", param_kind = map)]
    async fn imports_list(&self, limit: Option<u32>) -> RpcResult<Vec<ImportRun>>;

    /// Stops an import for good: a running one at its next record, an interrupted or
    /// failed one so that it is never resumed. What it stored stays. Answers the run.
    /// Since [`IMPORT_CANCEL`].
    #[method(name = "imports.cancel", param_kind = map)]
    async fn imports_cancel(&self, id: u64) -> RpcResult<ImportRun>;

    /// Rebuilds the search index from the store and waits until it is done.
    #[method(name = "index.rebuild")]
    async fn index_rebuild(&self) -> RpcResult<IndexReport>;

    /// Every plugin file and its state. Since [`PLUGINS`].
    #[method(name = "plugins.list")]
    async fn plugins_list(&self) -> RpcResult<Vec<PluginInfo>>;

    /// Rescans the plugins directory now (it is also watched). Since [`PLUGINS`].
    #[method(name = "plugins.reload")]
    async fn plugins_reload(&self) -> RpcResult<Vec<PluginInfo>>;

    /// Stops a plugin and keeps it stopped until enabled (until the daemon restarts). Since [`PLUGINS`].
    #[method(name = "plugins.disable", param_kind = map)]
    async fn plugins_disable(&self, name: String) -> RpcResult<Vec<PluginInfo>>;

    /// Starts a disabled plugin again. Since [`PLUGINS`].
    #[method(name = "plugins.enable", param_kind = map)]
    async fn plugins_enable(&self, name: String) -> RpcResult<Vec<PluginInfo>>;

    /// Imports history from an adapter's service (Last.fm): the full history, what came
    /// since the last import (`incremental`), or a date range. Resumes an unfinished run
    /// that asks the same. `from`/`to` (for `range`): unix seconds, RFC 3339 or `YYYY-MM-DD`
    /// (UTC). Since [`ADAPTERS`].
    #[method(name = "imports.fetch", param_kind = map)]
    async fn imports_fetch(
        &self,
        adapter: String,
        mode: FetchMode,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
    ) -> RpcResult<ImportRun>;

    /// Starts polling an adapter for live plays; it restarts with the daemon until stopped.
    /// Since [`ADAPTERS`].
    #[method(name = "trackers.start", param_kind = map)]
    async fn trackers_start(&self, adapter: String) -> RpcResult<TrackerStatus>;

    /// Stops an adapter's tracker (and keeps it stopped across restarts). Since [`ADAPTERS`].
    #[method(name = "trackers.stop", param_kind = map)]
    async fn trackers_stop(&self, adapter: String) -> RpcResult<Vec<TrackerStatus>>;

    /// Trackers that ran since the daemon started, or one adapter's. Since [`ADAPTERS`].
    #[method(name = "trackers.status", param_kind = map)]
    async fn trackers_status(&self, adapter: Option<String>) -> RpcResult<Vec<TrackerStatus>>;

    /// The Roon adapter's connection: pairing, the Core, how many zones. Since [`ROON`].
    #[method(name = "roon.status")]
    async fn roon_status(&self) -> RpcResult<PlayerStatus>;

    /// Every Roon zone: state, outputs and volume, settings, now playing. Since [`ROON`].
    #[method(name = "roon.zones")]
    async fn roon_zones(&self) -> RpcResult<Vec<Zone>>;

    /// A transport control on a zone (by name or id): `action` is play, pause, playpause,
    /// stop, next, previous, seek (`seconds`, `relative`), volume (`value`, `relative`),
    /// mute (`on`), shuffle (`on`) or repeat (`mode`). Since [`ROON`].
    #[method(name = "roon.control", param_kind = map)]
    async fn roon_control(
        &self,
        zone: String,
        action: String,
        seconds: Option<f64>,
        value: Option<f64>,
        relative: Option<bool>,
        on: Option<bool>,
        mode: Option<String>,
    ) -> RpcResult<Zone>;

    /// Plays on a zone what Roon's library has: `kind` album (`artist`, `title`), artist
    /// (`name`, artist radio), playlist (`name`), radio (`station`) or tracks (`tracks`).
    /// When several items match and no `choice` is given, nothing plays and `choices` lists
    /// them. Since [`ROON`].
    #[method(name = "roon.play", param_kind = map)]
    async fn roon_play(
        &self,
        zone: String,
        kind: String,
        artist: Option<String>,
        title: Option<String>,
        name: Option<String>,
        station: Option<String>,
        tracks: Option<Vec<TrackRef>>,
        choice: Option<u32>,
    ) -> RpcResult<PlayOutcome>;

    /// Begins signing in to an adapter's service: a page for the user to open. Since [`ADAPTERS`].
    #[method(name = "auth.begin", param_kind = map)]
    async fn auth_begin(&self, adapter: String) -> RpcResult<AuthBegin>;

    /// Completes signing in once the user allowed access; `done: false` while they have not.
    /// The session stays inside the adapter's state, never in an answer. Since [`ADAPTERS`].
    #[method(name = "auth.complete", param_kind = map)]
    async fn auth_complete(&self, adapter: String, token: String) -> RpcResult<AuthStatus>;

    /// Loves or unloves a track: written through to the adapter's service (Last.fm) first,
    /// then stored. Since [`ADAPTERS`].
    #[method(name = "tracks.love", param_kind = map)]
    async fn tracks_love(
        &self,
        artist: String,
        track: String,
        loved: bool,
        adapter: Option<String>,
    ) -> RpcResult<LoveReport>;

    /// Images and summary of an artist (or of an album, when `album` is given), fetched
    /// from the adapters and cached; fetched again only when stale or with `refresh`.
    /// Since [`ADAPTERS`].
    #[method(name = "enrich.run", param_kind = map)]
    async fn enrich_run(
        &self,
        artist: String,
        album: Option<String>,
        refresh: Option<bool>,
    ) -> RpcResult<EnrichmentInfo>;

    /// Issues a credential for a scrobbler: a ListenBrainz token, or a Last.fm-style API key
    /// and shared secret. The secret is in this answer only; the daemon keeps a hash.
    /// `name` (like a listen source: a-z, 0-9, `-`, `_`, `.`) becomes the source of the
    /// listens it submits. Since [`SCROBBLING`].
    #[method(name = "tokens.create", param_kind = map)]
    async fn tokens_create(&self, name: String, api: TokenApi) -> RpcResult<NewToken>;

    /// Every live credential, without secrets. Since [`SCROBBLING`].
    #[method(name = "tokens.list")]
    async fn tokens_list(&self) -> RpcResult<Vec<TokenInfo>>;

    /// Revokes a credential (by id or name) and the sessions signed in with it; its
    /// next request is refused. Since [`SCROBBLING`].
    #[method(name = "tokens.revoke", param_kind = map)]
    async fn tokens_revoke(&self, token: String) -> RpcResult<TokenInfo>;

    /// A stream of [`Event`]s: import progress and listens as they are recorded.
    #[subscription(name = "events.subscribe", unsubscribe = "events.unsubscribe", item = Event)]
    async fn events_subscribe(&self) -> SubscriptionResult;
}

/// Answer to `daemon.hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The API version the daemon speaks.
    pub api_version: u32,
    /// The daemon's package version.
    pub daemon_version: String,
    /// Optional features the daemon offers.
    pub features: Vec<Feature>,
}

/// Answer to `daemon.status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The API version the daemon speaks.
    pub api_version: u32,
    /// The daemon's package version.
    pub daemon_version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
    /// How many of each thing the store holds.
    pub counts: Counts,
    /// Size of the store file in bytes.
    pub store_bytes: u64,
    /// Size of the search index in bytes.
    pub index_bytes: u64,
    /// Store changes not yet searchable (0 when the index is caught up).
    pub index_lag: u64,
    /// The data directory.
    pub data_dir: String,
    /// The long-lived parts of the daemon and their state.
    pub components: Vec<ComponentStatus>,
    /// Base URL of the scrobbling endpoints (`http://127.0.0.1:42010`), while they
    /// listen. Since [`SCROBBLING`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}

/// Which API a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenApi {
    /// A ListenBrainz user token (`Authorization: Token …`).
    Listenbrainz,
    /// A Last.fm 2.0 API key and shared secret.
    Lastfm,
}

/// A credential as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: u64,
    /// Its name, also the source of the listens it submits.
    pub name: String,
    /// Which API it is for.
    pub api: TokenApi,
    /// When it was issued, unix seconds.
    pub created_at: i64,
    /// For Last.fm credentials, the API key (an identifier, not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// Answer to `tokens.create`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    /// The credential as it will be listed.
    pub info: TokenInfo,
    /// The ListenBrainz token, or the Last.fm shared secret (also the password for
    /// `auth.getMobileSession`).
    pub secret: String,
    /// The user name to give clients.
    pub user: String,
}

/// Entity counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Distinct artists.
    pub artists: u64,
    /// Distinct albums.
    pub albums: u64,
    /// Distinct tracks.
    pub tracks: u64,
    /// Listens.
    pub listens: u64,
}

/// The state of one component of the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Its name, for example `store` or `indexer`.
    pub name: String,
    /// Where it stands.
    pub state: ComponentState,
    /// More about the state, such as the last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where a component of the daemon stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    /// Working (the store, the indexer, the RPC server, a listening `http`).
    Running,
    /// Nothing to do now (`imports` with no import running).
    Idle,
    /// Switched off by the config (`http` with `[http] enabled = false`).
    Off,
    /// In good order (`config`: the file was read).
    Ok,
    /// Working, with some parts failed (`plugins`: see `plugins.list`).
    Degraded,
    /// Refused (`config`: the last reload was invalid; the running config was kept).
    Invalid,
    /// Stopped by an error; `detail` says which.
    Failed,
    /// A state this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

wire_names!(ComponentState {
    Running => "running",
    Idle => "idle",
    Off => "off",
    Ok => "ok",
    Degraded => "degraded",
    Invalid => "invalid",
    Failed => "failed",
    Unknown => "unknown",
});

/// A point in time given by a caller: unix seconds, or text in RFC 3339
/// (`2024-05-23T06:49:10Z`) or as a UTC date (`2024-05-23`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeArg {
    /// Unix seconds.
    Unix(i64),
    /// RFC 3339 or `YYYY-MM-DD`.
    Text(String),
}

/// One listen as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listen {
    /// Stable id of the listen (its start second and track).
    pub id: String,
    /// When the play started, unix seconds (UTC).
    pub listened_at: i64,
    /// How long it played, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The primary artist.
    pub artist: String,
    /// Featured artists, split off the credit or the title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub featured: Vec<String>,
    /// The track title as first seen.
    pub track: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// Where the listen came from (`spotify`, `lastfm`, `listenbrainz`, `rpc`, …).
    pub sources: Vec<String>,
    /// Whether the track is loved. Since [`ADAPTERS`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loved: bool,
    /// What the listen's reports carry besides names and times; absent when they carry
    /// nothing more. Since [`REPORTED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Box<Reported>>,
}

/// What a listen's reports carry besides names and times: MusicBrainz ids and the
/// submitting client (ListenBrainz), how the play went (Spotify's extended history).
/// Every field is optional. Since [`REPORTED`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    /// The MusicBrainz recording: the player's own id, else ListenBrainz's mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_mbid: Option<String>,
    /// The MusicBrainz release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_mbid: Option<String>,
    /// The MusicBrainz release group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_group_mbid: Option<String>,
    /// The MusicBrainz track (a recording on a release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_mbid: Option<String>,
    /// The MusicBrainz artists of the credit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artist_mbids: Vec<String>,
    /// The MusicBrainz works recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_mbids: Vec<String>,
    /// The program that submitted the play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_client: Option<String>,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_client_version: Option<String>,
    /// The program that played it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_player: Option<String>,
    /// The service it was streamed from (`spotify.com`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_service: Option<String>,
    /// Where it can be played again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_url: Option<String>,
    /// Spotify's id of the track (`spotify:track:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spotify_track_uri: Option<String>,
    /// Why the play started, as Spotify says (`trackdone`, `clickrow`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_start: Option<String>,
    /// Why it ended (`trackdone`, `fwdbtn`, `endplay`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_end: Option<String>,
    /// Whether the listener skipped to the next track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<bool>,
    /// Whether shuffle was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<bool>,
    /// The device or app it played on: Spotify's platform, Roon's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The radio station it was heard on; such a listen is left out of charts. Since [`ROON`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<String>,
}

/// Which part of an adapter's history `imports.fetch` imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchMode {
    /// Everything up to now.
    Full,
    /// What came after the last full or incremental import or tracker poll (all when none).
    Incremental,
    /// From `from` (inclusive) to `to` (exclusive); either may be left out.
    Range,
}

/// A live tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// The adapter it polls.
    pub adapter: String,
    /// Whether it is polling.
    pub running: bool,
    /// When it last polled, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_ms: Option<i64>,
    /// When it polls next, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll_ms: Option<i64>,
    /// Why the last poll failed; absent once one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The newest listen it recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_track: Option<TrackerTrack>,
    /// What plays now, as the service says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_playing: Option<TrackerTrack>,
    /// Listens it recorded since it started.
    pub recorded: u64,
    /// Polls since it started.
    pub polls: u64,
}

/// A track a tracker saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerTrack {
    /// The artist credit.
    pub artist: String,
    /// The title.
    pub track: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// When it was played, unix seconds (not for now-playing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listened_at: Option<i64>,
}

/// Answer to `auth.begin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthBegin {
    /// The page to open to allow access.
    pub url: String,
    /// Pass it to `auth.complete`.
    pub token: String,
}

/// Answer to `auth.complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStatus {
    /// `true` once signed in.
    pub done: bool,
    /// The account, once signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Answer to `tracks.love`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoveReport {
    /// The artist as given.
    pub artist: String,
    /// The track as given.
    pub track: String,
    /// The flag now stored.
    pub loved: bool,
    /// The adapter whose service was updated.
    pub adapter: String,
}

/// An image at one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The size as the service names it (`small`, `medium`, `large`, `extralarge`, `mega`, `original`).
    pub size: String,
    /// Where it is.
    pub url: String,
}

/// Answer to `enrich.run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichmentInfo {
    /// Whether it is about an artist or an album.
    pub kind: EnrichmentKind,
    /// The artist asked about.
    pub artist: String,
    /// The album asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// Whether the service knows it.
    pub found: bool,
    /// The adapter that answered.
    pub source: String,
    /// When it was fetched, unix milliseconds.
    pub fetched_at_ms: i64,
    /// `true` when this answer came from the cache.
    pub cached: bool,
    /// The name as the service spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service's page for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Images, every size.
    pub images: Vec<Image>,
    /// A short plain-text summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// What an enrichment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrichmentKind {
    /// An artist.
    Artist,
    /// An album of an artist.
    Album,
}

wire_names!(EnrichmentKind { Artist => "artist", Album => "album" });

/// A page of listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListensPage {
    /// The listens, newest first.
    pub listens: Vec<Listen>,
    /// Pass this as `cursor` to get the next (older) page; absent at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A listen to record through `listens.add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewListen {
    /// The artist credit as the source gives it (`"A feat. B"` is split).
    pub artist: String,
    /// The track title.
    pub track: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// When the play started.
    pub listened_at: TimeArg,
    /// How long it played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The source's name; `rpc` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Answer to `listens.add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddReport {
    /// How many listens were new.
    pub added: u64,
    /// How many were already known.
    pub duplicates: u64,
    /// One entry per listen sent, in order.
    pub results: Vec<AddResult>,
}

/// What happened to one listen sent to `listens.add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddResult {
    /// The listen's id.
    pub id: String,
    /// `added` or `duplicate`.
    pub status: AddStatus,
}

/// Whether a listen was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddStatus {
    /// Stored now.
    Added,
    /// Already stored (same start second and track).
    Duplicate,
}

/// The kinds of things musique knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An artist.
    Artist,
    /// An album (release).
    Album,
    /// A track (recording).
    Track,
}

impl EntityKind {
    /// The plural word used by the CLI and in docs.
    pub fn plural(self) -> &'static str {
        match self {
            EntityKind::Artist => "artists",
            EntityKind::Album => "albums",
            EntityKind::Track => "tracks",
        }
    }
}

/// Search results, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The hits.
    pub hits: Vec<SearchHit>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// What it is.
    pub kind: EntityKind,
    /// Its id within its kind.
    pub id: u64,
    /// Its display name (artist name, album or track title).
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Relevance; higher is better.
    pub score: f32,
}

/// A named period for `stats.top`, in whole UTC days ending today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Today.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
    /// The last 365 days.
    Year,
    /// Everything.
    All,
}

/// Answer to `stats.top`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopList {
    /// What was counted.
    pub kind: EntityKind,
    /// Start of the period (unix seconds), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End of the period (unix seconds, exclusive), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// Most played first; ties by name.
    pub entries: Vec<TopEntry>,
    /// The period in the zone, and where the history lies when the period is empty.
    /// Since [`ANALYTICS`].
    #[serde(flatten)]
    pub span: Span,
    /// What ranks the entries. Since [`ANALYTICS`].
    #[serde(default)]
    pub by: Measure,
    /// With `by: time`: how many listens of the period had a time (a duration or
    /// their track's length; the others count 0 ms). Since [`ANALYTICS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_known: Option<u64>,
    /// With `by: time`: of those, how many counted their track's length (they had
    /// no duration of their own). Since [`TRACK_LENGTHS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_from_length: Option<u64>,
}

/// What an analytics answer looked at: the zone, the period's first and last day
/// in it, and, when the period holds no listen, the first and last day of the
/// whole history (absent too when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The IANA zone days and hours were counted in.
    #[serde(default)]
    pub tz: String,
    /// The period's first day in the zone (`2024-05-01`), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day: Option<String>,
    /// The period's last day in the zone (`2024-05-31`), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_day: Option<String>,
    /// The first listen's day in the zone, when the period is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_from: Option<String>,
    /// The last listen's day in the zone, when the period is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_to: Option<String>,
}

/// What charts and patterns add up. Since [`ANALYTICS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Listens.
    #[default]
    Plays,
    /// Time listened: the listen's played duration, else its track's length (the
    /// longest duration any listen of the track reported), else 0 ms.
    Time,
}

wire_names!(Measure { Plays => "plays", Time => "time" });

/// The length of a timeline's buckets, in the zone. Since [`ANALYTICS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Hours (a day has 23 or 25 across a change of offset).
    Hour,
    /// Days, from local midnight.
    Day,
    /// ISO weeks, from Monday.
    Week,
    /// Months.
    Month,
    /// Years.
    Year,
}

wire_names!(Step { Hour => "hour", Day => "day", Week => "week", Month => "month", Year => "year" });

/// One bucket of a timeline. Since [`ANALYTICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineBucket {
    /// Where it starts, in the zone (`2024-05-23T00:00:00+02:00`).
    pub start: String,
    /// Listens.
    pub plays: u64,
    /// Milliseconds played.
    pub ms: u64,
}

/// Answer to `stats.timeline`. Since [`ANALYTICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// Start of the range (unix seconds).
    pub from: i64,
    /// End of the range (unix seconds, exclusive).
    pub to: i64,
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// The buckets' length.
    pub step: Step,
    /// What the answer is for (both are always given).
    pub by: Measure,
    /// How many listens of the range had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Every bucket of the range, oldest first.
    pub buckets: Vec<TimelineBucket>,
}

/// Answer to `stats.clock`. Since [`ANALYTICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnswer {
    /// Start of the range (unix seconds), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End of the range (unix seconds, exclusive), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// What the answer is for (both are always given).
    pub by: Measure,
    /// How many listens of the range had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Plays in hours 0 to 23 of the day, in the zone.
    pub plays: Vec<u64>,
    /// Milliseconds played in hours 0 to 23.
    pub ms: Vec<u64>,
}

/// Answer to `stats.heatmap`. Since [`ANALYTICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeatmapAnswer {
    /// Start of the range (unix seconds), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End of the range (unix seconds, exclusive), absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// What the answer is for (both are always given).
    pub by: Measure,
    /// How many listens of the range had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Plays of seven weekdays, Monday first, each in hours 0 to 23 in the zone.
    pub plays: Vec<Vec<u64>>,
    /// Milliseconds played, laid out as `plays`.
    pub ms: Vec<Vec<u64>>,
}

/// Answer to `stats.calendar`. Since [`ANALYTICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarAnswer {
    /// The year.
    pub year: i32,
    /// The year in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// What the answer is for (both are always given).
    pub by: Measure,
    /// How many listens of the year had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Plays of every day of the year, January 1st (`first_day`) first.
    pub plays: Vec<u64>,
    /// Milliseconds played, day by day as `plays`.
    pub ms: Vec<u64>,
}

/// A count of something named: an artist (`artist` absent), or an album or track
/// and its artist. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount {
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// How many (plays, sessions, …: the field holding the list says).
    pub count: u64,
}

/// One listening session. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Its first listen's start (unix seconds).
    pub start: i64,
    /// Its last listen's end (unix seconds): the start plus its time (duration or
    /// track's length), the start alone when neither is known.
    pub end: i64,
    /// `start` in the zone (`2024-05-23T21:04:00+02:00`).
    pub start_local: String,
    /// `end - start`, in seconds.
    pub length_s: u64,
    /// Listens.
    pub plays: u64,
    /// Milliseconds played (durations, else tracks' lengths).
    pub ms: u64,
    /// The artist of the first listen.
    pub opener: String,
    /// The artist of the last listen.
    pub closer: String,
    /// Its listens, oldest first (the longest sessions only; at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listens: Vec<Listen>,
}

/// Answer to `stats.sessions`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsAnswer {
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// The gap that splits sessions, in minutes.
    pub gap_minutes: u32,
    /// Sessions that start in the period.
    pub count: u64,
    /// Their listens.
    pub plays: u64,
    /// Their lengths added up, in seconds.
    pub total_s: u64,
    /// Their average length, in seconds.
    pub average_s: u64,
    /// The longest ones, longest first, with their listens.
    pub longest: Vec<SessionInfo>,
    /// Sessions by the weekday they start on, Monday first, in the zone.
    pub per_weekday: Vec<u64>,
    /// Sessions by the hour they start in, 0 to 23, in the zone.
    pub per_hour: Vec<u64>,
    /// The artists that open the most sessions (`count`: sessions opened).
    pub openers: Vec<NamedCount>,
    /// The artists that close the most sessions (`count`: sessions closed).
    pub closers: Vec<NamedCount>,
}

/// A run of consecutive days with a listen, in the zone. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// Its first day (`2024-05-01`).
    pub first_day: String,
    /// Its last day.
    pub last_day: String,
    /// How many days.
    pub days: u32,
    /// Whether it is still alive: its last day is today or yesterday.
    pub current: bool,
}

/// An artist's or album's longest streak. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityStreak {
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// The streak.
    #[serde(flatten)]
    pub streak: Streak,
}

/// Answer to `stats.streaks`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreaksAnswer {
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// Today in the zone, by the daemon's clock.
    pub today: String,
    /// The run that ends today or yesterday, if there is one (in the period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Streak>,
    /// The longest run (the latest of equals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest: Option<Streak>,
    /// Days with a listen.
    pub days: u32,
    /// The artists with the longest runs, longest first.
    pub artists: Vec<EntityStreak>,
    /// The albums with the longest runs, longest first.
    pub albums: Vec<EntityStreak>,
    /// The artists whose run is still alive, longest first.
    pub current_artists: Vec<EntityStreak>,
}

/// Something first heard in the period. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Its first listen ever (unix seconds).
    pub first_listen: i64,
    /// Its plays in the period.
    pub plays: u64,
}

/// The discoveries of one kind. Since [`INSIGHTS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredKind {
    /// How many were first heard in the period.
    pub count: u64,
    /// The most played of them in the period, most played first.
    pub top: Vec<Discovery>,
}

/// New artists, albums and tracks of one month in the zone. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryMonth {
    /// `2024-05`.
    pub month: String,
    /// Artists first heard that month.
    pub artists: u64,
    /// Albums first heard that month.
    pub albums: u64,
    /// Tracks first heard that month.
    pub tracks: u64,
}

/// Answer to `stats.discoveries`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discoveries {
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// Artists first heard in the period.
    pub artists: DiscoveredKind,
    /// Albums first heard in the period.
    pub albums: DiscoveredKind,
    /// Tracks first heard in the period.
    pub tracks: DiscoveredKind,
    /// Every month of the period, oldest first.
    pub per_month: Vec<DiscoveryMonth>,
}

/// An entity's rank in two periods. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Climber {
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Rank in the period (1-based, by plays).
    pub rank: u32,
    /// Plays in the period.
    pub plays: u64,
    /// Rank in the period compared against; absent when it was not played then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_rank: Option<u32>,
    /// Plays in the period compared against.
    pub previous_plays: u64,
}

/// Answer to `stats.climbers`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Climbers {
    /// What was ranked.
    pub kind: EntityKind,
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// The first day of the period compared against, in the zone.
    pub against_first_day: String,
    /// Its last day.
    pub against_last_day: String,
    /// Those that rose most (among the period's top 100), most places first.
    pub climbers: Vec<Climber>,
    /// The period's best ranked among those not played in the other one.
    pub new_entries: Vec<Climber>,
}

/// What was played on one day some years ago. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBack {
    /// How many years before the date.
    pub years_ago: u32,
    /// The day (`2016-05-23`; February 28th for a February 29th in a common year).
    pub date: String,
    /// Listens that day.
    pub plays: u64,
    /// Milliseconds played.
    pub ms: u64,
    /// The most played artists that day (`count`: plays).
    pub artists: Vec<NamedCount>,
    /// The day's listens, oldest first (at most `limit`).
    pub listens: Vec<Listen>,
}

/// Answer to `stats.on_this_day`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnThisDay {
    /// The date looked back from.
    pub date: String,
    /// The zone days were taken in.
    pub tz: String,
    /// One entry per year asked for, nearest first, empty days included.
    pub days: Vec<DayBack>,
}

/// Plays of one year in the zone. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearCount {
    /// The year.
    pub year: i32,
    /// Listens.
    pub plays: u64,
    /// Milliseconds played.
    pub ms: u64,
}

/// An artist played in the same sessions as the entity. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoListened {
    /// The artist's id.
    pub id: u64,
    /// The artist.
    pub name: String,
    /// Sessions with both.
    pub sessions: u64,
    /// How much more often they share a session than chance would have it
    /// (sessions with both × all sessions ÷ the product of each one's sessions).
    pub lift: f64,
}

/// The entity within the period asked for. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPeriod {
    /// Listens in the period.
    pub plays: u64,
    /// Milliseconds played in the period.
    pub ms: u64,
    /// Rank by plays in the period, when played in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// Answer to `stats.entity`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityPage {
    /// What it is.
    pub kind: EntityKind,
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// The period in the zone (all time when none was asked for).
    #[serde(flatten)]
    pub span: Span,
    /// Listens, all time.
    pub plays: u64,
    /// Milliseconds played, all time.
    pub ms: u64,
    /// How many of its listens had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Rank by plays among its kind, all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Its first listen (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_listen: Option<i64>,
    /// Its last listen (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_listen: Option<i64>,
    /// Within the period asked for; absent for all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<EntityPeriod>,
    /// Every year from its first listen to its last, in the zone.
    pub per_year: Vec<YearCount>,
    /// Its most played tracks in the period (artists and albums; `count`: plays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_tracks: Vec<NamedCount>,
    /// Its most played albums in the period (artists and tracks; `count`: plays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_albums: Vec<NamedCount>,
    /// Sessions of the period it was played in.
    pub sessions: u64,
    /// The latest of those sessions, latest first.
    pub recent_sessions: Vec<SessionInfo>,
    /// The artists most often in its sessions, by lift (at least two sessions
    /// together, itself left out).
    pub co_listened: Vec<CoListened>,
}

/// What a wrapped period adds up to. Since [`INSIGHTS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedTotals {
    /// Listens.
    pub plays: u64,
    /// Milliseconds played.
    pub ms: u64,
    /// How many listens had a time (a duration or their track's length).
    pub time_known: u64,
    /// Of those, how many counted their track's length (they had no duration of
    /// their own). Since [`TRACK_LENGTHS`].
    #[serde(default)]
    pub time_from_length: u64,
    /// Distinct artists.
    pub artists: u64,
    /// Distinct albums.
    pub albums: u64,
    /// Distinct tracks.
    pub tracks: u64,
    /// Days with a listen, in the zone.
    pub days: u64,
    /// Sessions that start in the period.
    pub sessions: u64,
}

/// The busiest day of a period. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The day in the zone.
    pub date: String,
    /// Listens.
    pub plays: u64,
    /// Milliseconds played.
    pub ms: u64,
}

/// Answer to `stats.wrapped`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapped {
    /// The period in the zone, and where the history lies when it is empty.
    #[serde(flatten)]
    pub span: Span,
    /// Start of the period (unix seconds).
    pub from: i64,
    /// End of the period (unix seconds, exclusive).
    pub to: i64,
    /// What it adds up to.
    pub totals: WrappedTotals,
    /// The five most played artists.
    pub top_artists: Vec<TopEntry>,
    /// The five most played albums.
    pub top_albums: Vec<TopEntry>,
    /// The five most played tracks.
    pub top_tracks: Vec<TopEntry>,
    /// The five artists with the most time played (`ms` set).
    pub top_artists_by_time: Vec<TopEntry>,
    /// The five albums with the most time played.
    pub top_albums_by_time: Vec<TopEntry>,
    /// The five tracks with the most time played.
    pub top_tracks_by_time: Vec<TopEntry>,
    /// The day with the most listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_day: Option<DayCount>,
    /// The longest session that starts in the period (its listens left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_session: Option<SessionInfo>,
    /// Artists first heard in the period (the five most played of them).
    pub new_artists: DiscoveredKind,
    /// How many albums were first heard in the period.
    pub new_albums: u64,
    /// How many tracks were first heard in the period.
    pub new_tracks: u64,
    /// The longest run of days with a listen within the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak: Option<Streak>,
    /// Plays per hour of the day, 0 to 23, in the zone.
    pub clock: Vec<u64>,
    /// The same as a Markdown report, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// Answer to `stats.report`. Since [`INSIGHTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFile {
    /// The month reported (`2024-05`).
    pub month: String,
    /// Where the report was written.
    pub path: String,
    /// Listens in the month.
    pub plays: u64,
}

/// One row of a top list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopEntry {
    /// 1-based rank.
    pub rank: u32,
    /// Id within its kind.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// The artist, for albums and tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Listens in the period.
    pub plays: u64,
    /// Milliseconds played in the period, when ranked by time. Since [`ANALYTICS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
}

/// Export formats `imports.start` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    /// Spotify extended streaming history or account-data history:
    /// a JSON file, a folder of them, or the export zip.
    Spotify,
    /// A Last.fm CSV export (`uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid`).
    LastfmCsv,
    /// A ListenBrainz export: the zip, a JSONL file or a JSON array of listens
    /// (the old single-file export).
    Listenbrainz,
    /// A Last.fm JSON export (lastfm.ghan.nl `recenttracks-*.json`). Since [`IMPORT_FORMATS`].
    LastfmJson,
    /// A Maloja export (`maloja_export_*.json`). Since [`IMPORT_FORMATS`].
    Maloja,
    /// A Koito export (`koito_export_*.json`). Since [`IMPORT_FORMATS`].
    Koito,
    /// An Audioscrobbler `.scrobbler.log` (Rockbox and other players). Since [`IMPORT_FORMATS`].
    ScrobblerLog,
    /// Not a format: `imports.start` tells the format by the files' content, and the run
    /// reports the kind it found. Since [`IMPORT_FORMATS`].
    Auto,
    /// Not a format: the Last.fm API, which `imports.fetch` reads. `imports.start` answers
    /// this kind with a pointer to `imports.fetch`. Since [`ADAPTERS`].
    Lastfm,
}

impl ImportKind {
    /// The name used on the wire and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Spotify => "spotify",
            ImportKind::LastfmCsv => "lastfm-csv",
            ImportKind::Listenbrainz => "listenbrainz",
            ImportKind::LastfmJson => "lastfm-json",
            ImportKind::Maloja => "maloja",
            ImportKind::Koito => "koito",
            ImportKind::ScrobblerLog => "scrobbler-log",
            ImportKind::Auto => "auto",
            ImportKind::Lastfm => "lastfm",
        }
    }
}

/// What an import run reads: an export's format, or an adapter's service.
///
/// On the wire it is one string: the format (`spotify`, `lastfm-csv`, `listenbrainz`)
/// or the adapter's name (`lastfm`, or the name of any plugin that can import history).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RunKind {
    /// An export file, folder or zip, read by `imports.start`. Never [`ImportKind::Lastfm`]:
    /// the Last.fm API's runs are `Adapter("lastfm")`.
    File(ImportKind),
    /// History fetched by `imports.fetch` from this adapter.
    Adapter(String),
}

impl RunKind {
    /// The kind a wire name stands for: an export format's name, else an adapter's.
    pub fn from_name(name: &str) -> RunKind {
        match name {
            "spotify" => RunKind::File(ImportKind::Spotify),
            "lastfm-csv" => RunKind::File(ImportKind::LastfmCsv),
            "listenbrainz" => RunKind::File(ImportKind::Listenbrainz),
            "lastfm-json" => RunKind::File(ImportKind::LastfmJson),
            "maloja" => RunKind::File(ImportKind::Maloja),
            "koito" => RunKind::File(ImportKind::Koito),
            "scrobbler-log" => RunKind::File(ImportKind::ScrobblerLog),
            "auto" => RunKind::File(ImportKind::Auto),
            adapter => RunKind::Adapter(adapter.to_owned()),
        }
    }

    /// The name used on the wire and on the command line.
    pub fn as_str(&self) -> &str {
        match self {
            RunKind::File(kind) => kind.as_str(),
            RunKind::Adapter(name) => name,
        }
    }

    /// Whether the run fetches from an adapter (its progress counts pages, not files).
    pub fn is_adapter(&self) -> bool {
        matches!(self, RunKind::Adapter(_))
    }
}

impl From<String> for RunKind {
    fn from(name: String) -> RunKind {
        match RunKind::from_name(&name) {
            RunKind::Adapter(_) => RunKind::Adapter(name),
            file => file,
        }
    }
}

impl From<RunKind> for String {
    fn from(kind: RunKind) -> String {
        match kind {
            RunKind::File(kind) => kind.as_str().to_owned(),
            RunKind::Adapter(name) => name,
        }
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl PartialEq<&str> for RunKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Per-import overrides of the `[import]` config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Overrides `import.min_play_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_play_ms: Option<u64>,
    /// Overrides `import.include_incognito`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_incognito: Option<bool>,
}

/// Where an import run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Working.
    Running,
    /// Done; see the counts and `file_errors`.
    Completed,
    /// Stopped by an error; see `error`.
    Failed,
    /// Stopped by a shutdown or crash; start the same import again to resume.
    Interrupted,
    /// Stopped for good by `imports.cancel`: what it stored stays, it is never resumed.
    /// Since [`IMPORT_CANCEL`].
    Cancelled,
}

/// An import run and its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    /// Its id.
    pub id: u64,
    /// What it reads: an export's format, or the adapter it fetches from.
    pub kind: RunKind,
    /// The path given (for adapter imports: what was asked, such as `lastfm: full history`).
    pub path: String,
    /// Where it stands.
    pub state: ImportState,
    /// Unix seconds when it started.
    pub started_at: i64,
    /// Unix seconds when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// How many times it was resumed after an interruption.
    pub resumed: u32,
    /// Files in the import (for adapter imports: pages, as far as the service knows).
    pub files_total: u64,
    /// Files finished, imported or rejected (for adapter imports: pages stored).
    pub files_done: u64,
    /// Records in the file being read, when known.
    pub file_records_total: u64,
    /// Records of that file read so far.
    pub file_records_done: u64,
    /// Records read in all files.
    pub records: u64,
    /// Listens stored.
    pub imported: u64,
    /// Listens already in the store.
    pub duplicates: u64,
    /// Records skipped by a rule, by rule (`podcast`, `too_short`, `incognito`, `no_track`, …).
    pub skipped: BTreeMap<String, u64>,
    /// Records that could not be read.
    pub rejected: u64,
    /// The first reasons for rejected records, each naming file and position.
    pub rejected_samples: Vec<String>,
    /// Files rejected whole (not parseable at all), with where they broke.
    pub file_errors: Vec<String>,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A plugin as `plugins.list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The plugin's name (its `[adapters.<name>]` table); the file's stem when it never loaded.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The ABI version it was built for, `major.minor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    /// The protocol version it answered `hello` with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Where it comes from: a file in the plugins directory, or linked into musiqued.
    pub origin: PluginOrigin,
    /// Its file, for dynamic plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where it stands.
    pub state: PluginState,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Calls made into it.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginOrigin {
    /// A file in the plugins directory.
    Dynamic,
    /// Linked into musiqued (a first-party adapter).
    Builtin,
    /// An origin this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

wire_names!(PluginOrigin { Dynamic => "dynamic", Builtin => "builtin", Unknown => "unknown" });

/// Where a plugin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    /// Loaded and answering.
    Running,
    /// Refused or broken; `last_error` says why.
    Failed,
    /// Stopped by `plugins.disable`, `enabled = false` or a newer file of the same plugin.
    Disabled,
    /// A state this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

wire_names!(PluginState { Running => "running", Failed => "failed", Disabled => "disabled", Unknown => "unknown" });

/// Answer to `index.rebuild`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexReport {
    /// Documents in the new index.
    pub documents: u64,
    /// Milliseconds the rebuild took.
    pub elapsed_ms: u64,
}

/// What `events.subscribe` streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An import made progress.
    ImportProgress {
        /// The run as it stands.
        run: ImportRun,
    },
    /// An import ended (completed, failed or interrupted).
    ImportFinished {
        /// The final report.
        run: ImportRun,
    },
    /// A listen was recorded through `listens.add` (bulk imports report progress instead).
    ListenRecorded {
        /// The listen.
        listen: Listen,
    },
    /// A source reports what is playing now (not yet a listen). Since [`PLUGINS`].
    NowPlaying {
        /// The plugin or source.
        source: String,
        /// The artist credit.
        artist: String,
        /// The track title.
        track: String,
        /// The album, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        album: Option<String>,
    },
    /// A plugin reports progress of a long job (a sync, an import). Since [`PLUGINS`].
    PluginProgress {
        /// The plugin.
        source: String,
        /// The job.
        job: String,
        /// Units done.
        done: u64,
        /// Units in all, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    },
    /// A zone of a player (Roon) changed track or state. Since [`ROON`].
    ZonePlayback {
        /// The player adapter.
        source: String,
        /// The zone's playback now.
        playback: Playback,
    },
    /// This subscriber fell behind and missed events.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// An event this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

/// How `collection.list` sorts. Since [`COLLECTION`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionSort {
    /// By artist, then year and title.
    #[default]
    Artist,
    /// By title.
    Title,
    /// By year (unknown last), then artist.
    Year,
    /// Newest addition first.
    Added,
}

wire_names!(CollectionSort { Artist => "artist", Title => "title", Year => "year", Added => "added" });

/// A page of owned records. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionPage {
    /// The records of this page.
    pub items: Vec<OwnedItem>,
    /// Records matching the filters, in all.
    pub total: u64,
    /// Pass it as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One copy of a release someone owns. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedItem {
    /// This copy's id (Discogs' instance id).
    pub id: u64,
    /// The release's id on the service.
    pub release_id: u64,
    /// The adapter it came from.
    pub adapter: String,
    /// The artists as credited on the service, joined (`Kruder & Dorfmeister`),
    /// without the service's ` (2)` namesake suffixes.
    pub artist: String,
    pub title: String,
    /// The release year, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// The service's formats, one text each (`2×Vinyl, LP, Album, 180 g`).
    pub formats: Vec<String>,
    /// Labels and catalogue numbers (`!K7 Records !K7073LP`).
    pub labels: Vec<String>,
    pub genres: Vec<String>,
    pub styles: Vec<String>,
    /// The folder's id and name.
    pub folder_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// When it was added (unix seconds).
    pub added_at: i64,
    /// 0 (none) to 5.
    pub rating: u8,
    /// The owner's notes and custom fields (`field_id`, `value`), empty ones left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<OwnedNote>,
    /// Cover images, when the service gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
    /// The formats in a small vocabulary: `LP`, `2×LP`, `12" single`, `EP`, `CD`,
    /// `cassette`, `file`, `box set`.
    pub format: String,
    /// The album of the history it is, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album_id: Option<u64>,
    /// Its artist in the history: the album's, else one of its credits found by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<u64>,
    /// How: `auto` (by name), `user` (`collection.link`), `none` (the user said it is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<String>,
    /// Listens of its album, all time, from every source.
    pub plays: u64,
    /// Listens of its album in the period asked for, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_plays: Option<u64>,
    /// Its album's last listen (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_played: Option<i64>,
}

/// The collection against the history. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionStats {
    /// The period in the zone (all time when it names no day).
    #[serde(flatten)]
    pub span: Span,
    /// Owned records (copies), releases among them, and records linked to an album of the history.
    pub records: u64,
    pub releases: u64,
    pub linked: u64,
    /// Records whose album was played in the period, and their share of all records.
    pub played: u64,
    pub coverage: f64,
    /// Records per format (the small vocabulary) and per decade (`1970s`, `unknown`), most first.
    pub formats: Vec<NameCount>,
    pub decades: Vec<NameCount>,
    /// The records played most in the period.
    pub most_played: Vec<OwnedItem>,
    /// Records played most before the last `forgotten_months` and not since.
    pub forgotten: Vec<OwnedItem>,
}

/// A name and how many. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// An album played but not owned. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingAlbum {
    pub album_id: u64,
    pub artist: String,
    pub title: String,
    /// Listens in the period asked for (all time when none).
    pub plays: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_played: Option<i64>,
}

/// A note or custom field of an owned record. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedNote {
    pub field_id: u64,
    pub value: String,
}

/// An owned record with its release's details. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedRecordDetails {
    #[serde(flatten)]
    pub item: OwnedItem,
    /// The release's details, once synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseDetails>,
}

/// A release's details. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// As the service writes it: `1980-07-25`, `1980-00-00` or `1980`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    pub tracklist: Vec<ReleaseTrack>,
    /// Everyone else credited: `name`, `role`, and `tracks` when not all.
    pub credits: Vec<ReleaseCredit>,
    /// Image addresses, the cover first.
    pub images: Vec<String>,
}

/// A tracklist entry. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseTrack {
    /// `A1`, `1`; empty for headings.
    pub position: String,
    /// `track`, `heading` or `index` (a track made of `sub_tracks`).
    pub kind: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_tracks: Vec<ReleaseTrack>,
}

/// A credit beyond the main artists. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseCredit {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks: Option<String>,
}

/// What `collection.export` writes. Since [`COLLECTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Markdown,
    Json,
    Csv,
}

wire_names!(ExportFormat { Markdown => "markdown", Json => "json", Csv => "csv" });

/// A file `collection.export` wrote. Since [`COLLECTION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    pub path: String,
    /// Records written.
    pub records: u64,
    pub bytes: u64,
}
