//! The JSON-RPC edge: implements `MusiqueApiServer` by converting wire
//! types to domain values, calling the service, and converting back.
//! Errors are mapped to JSON-RPC error objects in exactly one place.

mod analytics;
mod collection;
mod convert;
mod insights;
pub(crate) mod server;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsonrpsee::core::server::SendTimeoutError;
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use musique_api::{
    AddReport, AddResult, AddStatus, AuthBegin, AuthStatus, CURRENT_API_VERSION, CalendarAnswer, Climbers, ClockAnswer,
    Discoveries, EnrichmentInfo, EntityKind, EntityPage, Event as WireEvent, Feature, FetchMode, HeatmapAnswer, Hello,
    ImportKind, ImportOptions, ImportRun, IndexReport, ListensPage, LoveReport, Measure, MusiqueApiServer, NewListen,
    NewToken, OnThisDay, Period, PlayOutcome, PlayRequest, PlayerStatus, PluginInfo, ReportFile, SearchHit,
    SearchResults, SessionsAnswer, Status, Step, StreaksAnswer, TimeArg, Timeline, TokenApi, TokenInfo, TopEntry,
    TopList, TrackRef, TrackerStatus, Wrapped, Zone, error_code,
};
pub(crate) use server::serve;
use tokio::sync::broadcast::error::RecvError;

use crate::adapters::AdapterImport;
use crate::error::{Error, UserError};
use crate::handles::Handles;
use crate::imports::ImportRequest;
use crate::library::{self, Origin, SourceName};
use crate::scrobbling::Api;
use crate::store::records::{ExportKind, HistoryMode};
use crate::store::{Kind, ListenKey};
use convert::{kind_of, listen_dto, run_dto};

/// Default page size of `listens.list`.
const DEFAULT_PAGE: u32 = 50;
/// Default and largest result counts of `search` and `stats.top`.
const DEFAULT_RESULTS: u32 = 20;
const MAX_RESULTS: u32 = 1000;

/// RPC calls running on blocking threads now. Shutdown does not wait for them
/// (one may wait on a plugin that hangs); it reports how many it abandons.
static BLOCKING_CALLS: AtomicUsize = AtomicUsize::new(0);

/// How many RPC calls are running on blocking threads now.
pub(crate) fn blocking_calls() -> usize {
    BLOCKING_CALLS.load(Ordering::Relaxed)
}

/// Counts one blocking call for as long as its thread works on it.
struct BlockingCall;

impl BlockingCall {
    fn begin() -> BlockingCall {
        BLOCKING_CALLS.fetch_add(1, Ordering::Relaxed);
        BlockingCall
    }
}

impl Drop for BlockingCall {
    fn drop(&mut self) {
        BLOCKING_CALLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The server side of the API: it holds every handle, and only converts and delegates.
pub(crate) struct Rpc {
    handles: Handles,
    /// The socket's connections, to cut off an events subscriber that reads nothing.
    connections: server::Connections,
    /// How long an events subscriber may leave its full buffer unread before it is cut off.
    stall: std::time::Duration,
}

impl Rpc {
    pub(crate) fn new(handles: Handles, connections: server::Connections, stall: std::time::Duration) -> Rpc {
        Rpc { handles, connections, stall }
    }

    /// Applies `action` to the plugin `name` and answers the new list.
    async fn plugin_action(
        &self,
        name: String,
        action: impl FnOnce(&crate::adapters::Adapters, &str) -> Result<(), Error> + Send + 'static,
    ) -> RpcResult<Vec<PluginInfo>> {
        let plugins = self.blocking(move |handles| {
            action(&handles.adapters, &name)?;
            Ok(handles.adapters.plugins())
        });
        Ok(plugins.await?.into_iter().map(convert::plugin_dto).collect())
    }

    /// Runs blocking work (store reads, file work) without stalling the other tasks.
    ///
    /// On the daemon's multi-threaded runtime the work runs on this very thread,
    /// which first hands its other tasks to another worker (`block_in_place`): the
    /// answer's buffers are then allocated and freed by one thread, where sending
    /// the work to the blocking pool cost a hand-off each way and had the worker
    /// free what a pool thread allocated (a third of a one-day listing's time).
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Handles) -> Result<T, Error> + Send + 'static,
    ) -> RpcResult<T> {
        let handles = self.handles.clone();
        let call = BlockingCall::begin();
        let run = move || {
            let _call = call;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(handles)))
        };
        let outcome =
            if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                tokio::task::block_in_place(run)
            } else {
                let joined = tokio::task::spawn_blocking(run).await;
                joined.unwrap_or_else(|join| {
                    Err(join.try_into_panic().unwrap_or_else(|_| Box::new("the call was cancelled")))
                })
            };
        match outcome {
            Ok(result) => result.map_err(ErrorObjectOwned::from),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %message, "rpc worker panicked");
                Err(ErrorObjectOwned::owned(error_code::INTERNAL, "internal error (see the daemon log)", None::<()>))
            }
        }
    }
}

impl From<Error> for ErrorObjectOwned {
    fn from(err: Error) -> ErrorObjectOwned {
        match err {
            Error::User(UserError::InvalidParams(message)) => {
                ErrorObjectOwned::owned(error_code::INVALID_PARAMS, message, None::<()>)
            }
            Error::User(UserError::NotFound(message)) => {
                ErrorObjectOwned::owned(error_code::NOT_FOUND, message, None::<()>)
            }
            unavailable @ Error::Unavailable { retry_after_ms, .. } => ErrorObjectOwned::owned(
                error_code::UNAVAILABLE,
                unavailable.to_string(),
                retry_after_ms.map(|ms| serde_json::json!({ "retry_after_ms": ms })),
            ),
            other => {
                tracing::error!(error = %other, "rpc call failed");
                ErrorObjectOwned::owned(error_code::INTERNAL, format!("internal error: {other}"), None::<()>)
            }
        }
    }
}

/// The Roon adapter's name: `roon.*` calls it.
const ROON: &str = "roon";

/// `value` trimmed, or an error naming the parameter when it is empty.
fn nonempty(name: &str, value: String) -> RpcResult<String> {
    let value = value.trim();
    if value.is_empty() { Err(invalid(format!("`{name}` must not be empty"))) } else { Ok(value.to_owned()) }
}

fn invalid(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::from(Error::invalid(message))
}

fn time_of(name: &str, value: Option<TimeArg>) -> RpcResult<Option<i64>> {
    match value {
        None => Ok(None),
        Some(TimeArg::Unix(seconds)) => Ok(Some(seconds)),
        Some(TimeArg::Text(text)) => crate::clock::parse_user_time_s(&text).map(Some).ok_or_else(|| {
            invalid(format!("`{name}` {text:?} is not a time: use unix seconds, RFC 3339 or YYYY-MM-DD"))
        }),
    }
}

fn limit_of(limit: Option<u32>, default: u32, max: u32) -> RpcResult<usize> {
    match limit.unwrap_or(default) {
        0 => Err(invalid("`limit` must be at least 1")),
        limit if limit > max => Err(invalid(format!("`limit` must be at most {max}"))),
        limit => Ok(limit as usize),
    }
}

#[async_trait]
impl MusiqueApiServer for Rpc {
    async fn hello(&self) -> RpcResult<Hello> {
        Ok(Hello {
            api_version: CURRENT_API_VERSION,
            daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
            features: vec![
                Feature::Imports,
                Feature::Search,
                Feature::Stats,
                Feature::Events,
                Feature::Plugins,
                Feature::Adapters,
                Feature::Scrobbling,
            ],
        })
    }

    async fn status(&self) -> RpcResult<Status> {
        let report = self.handles.runtime.status()?;
        Ok(convert::status_dto(report))
    }

    async fn listens_list(
        &self,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<ListensPage> {
        let from = time_of("from", from)?;
        let to = time_of("to", to)?;
        let limit = limit_of(limit, DEFAULT_PAGE, library::MAX_PAGE as u32)?;
        let before = match cursor {
            Some(cursor) => Some(
                cursor
                    .parse::<ListenKey>()
                    .map_err(|()| invalid(format!("`cursor` {cursor:?} is not a cursor from listens.list")))?,
            ),
            None => None,
        };
        let listens = self.blocking(move |handles| handles.library.listens(from, to, limit, before)).await?;
        let next_cursor =
            (listens.len() == limit).then(|| listens.last().map(|listen| listen.key.to_string())).flatten();
        Ok(ListensPage { listens: listens.into_iter().map(listen_dto).collect(), next_cursor })
    }

    async fn listens_add(&self, listen: Option<NewListen>, listens: Option<Vec<NewListen>>) -> RpcResult<AddReport> {
        let wire = match (listen, listens) {
            (Some(one), None) => vec![one],
            (None, Some(batch)) => batch,
            (Some(_), Some(_)) => return Err(invalid("give either `listen` or `listens`, not both")),
            (None, None) => return Err(invalid("give `listen` (one) or `listens` (a batch)")),
        };
        let mut listens = Vec::with_capacity(wire.len());
        for (position, listen) in wire.into_iter().enumerate() {
            let at = |message: String| invalid(format!("listen {position}: {message}"));
            let listened_at_s = time_of("listened_at", Some(listen.listened_at))
                .map_err(|err| at(err.message().to_owned()))?
                .expect("given");
            let source = SourceName::parse(listen.source.as_deref().unwrap_or("rpc"))
                .map_err(|err| at(format!("`source` {err}")))?;
            let listen = library::Listen {
                artist: listen.artist,
                track: listen.track,
                album: listen.album,
                artists: Vec::new(),
                started_ms: listened_at_s.saturating_mul(1000),
                duration_ms: listen.duration_ms,
                loved: None,
                details: None,
            };
            listens.push((Origin::Rpc(source), listen));
        }
        let keys = self.handles.library.add_each(listens, true).await?;
        let added = keys.iter().filter(|(_, added)| *added).count() as u64;
        Ok(AddReport {
            added,
            duplicates: keys.len() as u64 - added,
            results: keys
                .into_iter()
                .map(|(key, added)| AddResult {
                    id: key.to_string(),
                    status: if added { AddStatus::Added } else { AddStatus::Duplicate },
                })
                .collect(),
        })
    }

    async fn search(
        &self,
        query: String,
        kinds: Option<Vec<EntityKind>>,
        limit: Option<u32>,
    ) -> RpcResult<SearchResults> {
        let limit = limit_of(limit, DEFAULT_RESULTS, MAX_RESULTS)?;
        let kinds: Vec<Kind> = kinds.unwrap_or_default().into_iter().map(kind_of).collect();
        let hits = self.blocking(move |handles| handles.library.search(&query, &kinds, limit)).await?;
        Ok(SearchResults {
            hits: hits
                .into_iter()
                .map(|hit| SearchHit {
                    kind: convert::kind_dto(hit.kind),
                    id: hit.id,
                    name: hit.name,
                    artist: hit.artist,
                    score: hit.score,
                })
                .collect(),
        })
    }

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
    ) -> RpcResult<TopList> {
        let limit = limit_of(limit, DEFAULT_RESULTS, MAX_RESULTS)?;
        let calendar = year.is_some() || month.is_some() || week.is_some() || day.is_some();
        if period.is_some() && (from.is_some() || to.is_some() || calendar) {
            return Err(invalid("give one of `period`, a calendar period or `from`/`to`"));
        }
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let mut ask = analytics::Ask::new(&self.handles.library, params)?;
        if let Some(period) = period {
            ask.range = self.handles.library.period_range(convert::period_of(period));
        }
        let domain_kind = kind_of(kind);
        let by = by.unwrap_or_default();
        let range = ask.range;
        let (rows, time_known, span) = self
            .blocking(move |handles| {
                let (rows, time_known) = match by {
                    Measure::Plays => (handles.library.top(domain_kind, range, limit)?, None),
                    Measure::Time => {
                        let (rows, known) = handles.library.top_by_time(domain_kind, range, limit)?;
                        (rows, Some(known))
                    }
                };
                let span = analytics::span(&handles.library, &ask, rows.is_empty())?;
                Ok((rows, time_known, span))
            })
            .await?;
        Ok(TopList {
            kind,
            from: range.map(|(from, _)| from),
            to: range.map(|(_, to)| to).filter(|to| *to < i64::MAX / 2),
            entries: rows
                .into_iter()
                .enumerate()
                .map(|(rank, row)| TopEntry {
                    rank: rank as u32 + 1,
                    id: row.id,
                    name: row.name,
                    artist: row.artist,
                    plays: row.plays,
                    ms: row.ms,
                })
                .collect(),
            span,
            by,
            time_known: time_known.map(|known| known.known),
            time_from_length: time_known.map(|known| known.from_length),
        })
    }

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
    ) -> RpcResult<Timeline> {
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let by = by.unwrap_or_default();
        self.blocking(move |handles| analytics::timeline(&handles.library, ask, step, by)).await
    }

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
    ) -> RpcResult<ClockAnswer> {
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let by = by.unwrap_or_default();
        self.blocking(move |handles| analytics::clock(&handles.library, ask, by)).await
    }

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
    ) -> RpcResult<HeatmapAnswer> {
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let by = by.unwrap_or_default();
        self.blocking(move |handles| analytics::heatmap(&handles.library, ask, by)).await
    }

    async fn stats_calendar(
        &self,
        year: Option<String>,
        by: Option<Measure>,
        tz: Option<String>,
    ) -> RpcResult<CalendarAnswer> {
        let by = by.unwrap_or_default();
        self.blocking(move |handles| analytics::calendar(&handles.library, year, by, tz)).await
    }

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
    ) -> RpcResult<SessionsAnswer> {
        let limit = limit_of(limit, 5, 100)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let gap_s = insights::gap_s(&self.handles.library, gap_minutes)?;
        self.blocking(move |handles| insights::sessions(&handles.library, ask, gap_s, limit)).await
    }

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
    ) -> RpcResult<StreaksAnswer> {
        let limit = limit_of(limit, 10, MAX_RESULTS)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        self.blocking(move |handles| insights::streaks(&handles.library, ask, limit)).await
    }

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
    ) -> RpcResult<Discoveries> {
        let limit = limit_of(limit, 10, MAX_RESULTS)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        self.blocking(move |handles| insights::discoveries(&handles.library, ask, limit)).await
    }

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
    ) -> RpcResult<Climbers> {
        let limit = limit_of(limit, 10, 100)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        self.blocking(move |handles| insights::climbers(&handles.library, kind, ask, against, limit)).await
    }

    async fn stats_on_this_day(
        &self,
        date: Option<String>,
        years: Option<Vec<u32>>,
        tz: Option<String>,
        limit: Option<u32>,
    ) -> RpcResult<OnThisDay> {
        let limit = limit_of(limit, 20, MAX_RESULTS)?;
        let zone = match &tz {
            Some(name) => library::analytics::zone_named(name)?,
            None => self.handles.library.time_zone(),
        };
        self.blocking(move |handles| insights::on_this_day(&handles.library, date, years, zone, limit)).await
    }

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
    ) -> RpcResult<EntityPage> {
        let limit = limit_of(limit, 10, 100)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let gap_s = insights::gap_s(&self.handles.library, gap_minutes)?;
        self.blocking(move |handles| insights::entity(&handles.library, kind, id, name, artist, ask, gap_s, limit))
            .await
    }

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
    ) -> RpcResult<Wrapped> {
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let gap_s = self.handles.library.session_gap_s();
        let markdown = markdown.unwrap_or(false);
        self.blocking(move |handles| insights::wrapped(&handles.library, ask, gap_s, markdown)).await
    }

    async fn stats_report(&self, month: Option<String>, tz: Option<String>) -> RpcResult<ReportFile> {
        let zone = match &tz {
            Some(name) => library::analytics::zone_named(name)?,
            None => self.handles.library.time_zone(),
        };
        let gap_s = self.handles.library.session_gap_s();
        self.blocking(move |handles| insights::report(&handles.library, month, zone, gap_s)).await
    }

    async fn imports_start(
        &self,
        kind: ImportKind,
        path: String,
        options: Option<ImportOptions>,
    ) -> RpcResult<ImportRun> {
        let options = options.unwrap_or_default();
        if options.min_play_ms.is_some_and(|ms| ms > 24 * 3600 * 1000) {
            return Err(invalid("`options.min_play_ms` must be at most one day (86400000)"));
        }
        let kind: Option<ExportKind> = match kind {
            ImportKind::Auto => None,
            kind => Some(convert::import_kind_of(kind).ok_or_else(|| {
                invalid(format!("`{}` history comes from its API: use imports.fetch", kind.as_str()))
            })?),
        };
        let request = ImportRequest {
            kind,
            path: PathBuf::from(path),
            min_play_ms: options.min_play_ms,
            include_incognito: options.include_incognito,
        };
        let run = self.blocking(move |handles| handles.imports.start(request)).await?;
        Ok(run_dto(run))
    }

    async fn imports_status(&self, id: u64) -> RpcResult<ImportRun> {
        let run = self.blocking(move |handles| handles.imports.run(id)).await?;
        Ok(run_dto(run))
    }

    async fn imports_list(&self, limit: Option<u32>) -> RpcResult<Vec<ImportRun>> {
        let limit = limit_of(limit, DEFAULT_RESULTS, MAX_RESULTS)?;
        let runs = self.blocking(move |handles| handles.imports.list(limit)).await?;
        Ok(runs.into_iter().map(run_dto).collect())
    }

    async fn imports_cancel(&self, id: u64) -> RpcResult<ImportRun> {
        let run = self.blocking(move |handles| handles.imports.cancel(id)).await?;
        Ok(run_dto(run))
    }

    async fn index_rebuild(&self) -> RpcResult<IndexReport> {
        let (documents, elapsed) = self.handles.library.rebuild_index().await?;
        Ok(IndexReport { documents, elapsed_ms: elapsed.as_millis() as u64 })
    }

    async fn plugins_list(&self) -> RpcResult<Vec<PluginInfo>> {
        Ok(self.handles.adapters.plugins().into_iter().map(convert::plugin_dto).collect())
    }

    async fn plugins_reload(&self) -> RpcResult<Vec<PluginInfo>> {
        let plugins = self.blocking(|handles| {
            handles.adapters.rescan_plugins();
            Ok(handles.adapters.plugins())
        });
        Ok(plugins.await?.into_iter().map(convert::plugin_dto).collect())
    }

    async fn plugins_disable(&self, name: String) -> RpcResult<Vec<PluginInfo>> {
        self.plugin_action(name, |adapters, name| adapters.disable_plugin(name)).await
    }

    async fn plugins_enable(&self, name: String) -> RpcResult<Vec<PluginInfo>> {
        self.plugin_action(name, |adapters, name| adapters.enable_plugin(name)).await
    }

    async fn collection_sync(&self, adapter: Option<String>, full: Option<bool>) -> RpcResult<ImportRun> {
        let full = full.unwrap_or(false);
        let run = self.blocking(move |handles| handles.adapters.sync_collection(adapter.as_deref(), full)).await?;
        Ok(run_dto(run))
    }

    async fn collection_list(
        &self,
        folder: Option<u64>,
        query: Option<String>,
        sort: Option<musique_api::CollectionSort>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<musique_api::CollectionPage> {
        let limit = limit_of(limit, 50, collection::MAX_LIMIT)?;
        let filter = library::collection::Filter { folder, query };
        self.blocking(move |handles| collection::list(&handles.library, filter, sort, limit, cursor)).await
    }

    async fn collection_get(&self, id: u64) -> RpcResult<musique_api::OwnedRecordDetails> {
        self.blocking(move |handles| collection::get(&handles.library, id)).await
    }

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
    ) -> RpcResult<musique_api::CollectionStats> {
        let limit = limit_of(limit, 10, 500)?;
        let forgotten_months = forgotten_months.unwrap_or(12);
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        self.blocking(move |handles| {
            let (mut stats, empty) = collection::stats(&handles.library, ask.range, forgotten_months, limit)?;
            stats.span = analytics::span(&handles.library, &ask, empty && ask.range.is_some())?;
            Ok(stats)
        })
        .await
    }

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
    ) -> RpcResult<Vec<musique_api::OwnedItem>> {
        let limit = limit_of(limit, 50, collection::MAX_LIMIT)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        if months.is_some() && ask.range.is_some() {
            return Err(invalid("give `months` or a period, not both"));
        }
        self.blocking(move |handles| collection::unplayed(&handles.library, months, ask.range, limit)).await
    }

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
    ) -> RpcResult<Vec<musique_api::MissingAlbum>> {
        let limit = limit_of(limit, 20, collection::MAX_LIMIT)?;
        let params = analytics::PeriodParams { from, to, year, month, week, day, tz };
        let ask = analytics::Ask::new(&self.handles.library, params)?;
        let min_plays = min_plays.unwrap_or(5);
        self.blocking(move |handles| collection::missing(&handles.library, ask.range, min_plays, limit)).await
    }

    async fn collection_random(
        &self,
        format: Option<String>,
        genre: Option<String>,
        style: Option<String>,
        decade: Option<i32>,
        folder: Option<u64>,
        unplayed_months: Option<u32>,
        session: Option<String>,
    ) -> RpcResult<Option<musique_api::OwnedItem>> {
        if decade.is_some_and(|decade| decade % 10 != 0) {
            return Err(invalid("`decade` is a decade's first year, like 1970"));
        }
        let unplayed_days = unplayed_months.map(|months| i64::from(months) * 30);
        let pick = library::collection::Pick { format, genre, style, decade, folder, unplayed_days };
        let session = session.unwrap_or_default();
        self.blocking(move |handles| collection::random(&handles.library, pick, &session)).await
    }

    async fn collection_export(
        &self,
        format: musique_api::ExportFormat,
        path: String,
    ) -> RpcResult<musique_api::ExportedFile> {
        self.blocking(move |handles| collection::export(&handles.library, format, &path)).await
    }

    async fn collection_link(
        &self,
        id: u64,
        artist: Option<String>,
        album: Option<String>,
        none: Option<bool>,
        auto: Option<bool>,
    ) -> RpcResult<musique_api::OwnedItem> {
        let (none, auto) = (none.unwrap_or(false), auto.unwrap_or(false));
        let link = match (artist, album, none, auto) {
            (Some(artist), Some(album), false, false) => {
                Some(Some((nonempty("artist", artist)?, nonempty("album", album)?)))
            }
            (None, None, true, false) => Some(None),
            (None, None, false, true) => None,
            _ => return Err(invalid("give `artist` and `album`, or `none: true`, or `auto: true`")),
        };
        self.blocking(move |handles| {
            let link = link.as_ref().map(|link| link.as_ref().map(|(artist, album)| (artist.as_str(), album.as_str())));
            collection::link(&handles.library, id, link)
        })
        .await
    }

    async fn imports_fetch(
        &self,
        adapter: String,
        mode: FetchMode,
        from: Option<TimeArg>,
        to: Option<TimeArg>,
    ) -> RpcResult<ImportRun> {
        let from = time_of("from", from)?;
        let to = time_of("to", to)?;
        let mode = match mode {
            FetchMode::Full => HistoryMode::Full,
            FetchMode::Incremental => HistoryMode::Incremental,
            FetchMode::Range => HistoryMode::Range,
        };
        if mode != HistoryMode::Range && (from.is_some() || to.is_some()) {
            return Err(invalid("`from` and `to` go with `mode: range`"));
        }
        if mode == HistoryMode::Range && from.is_none() && to.is_none() {
            return Err(invalid("`mode: range` needs `from`, `to` or both"));
        }
        let request = AdapterImport { adapter, mode, from, to };
        let run = self.blocking(move |handles| handles.adapters.fetch_history(request)).await?;
        Ok(run_dto(run))
    }

    async fn trackers_start(&self, adapter: String) -> RpcResult<TrackerStatus> {
        let status = self.blocking(move |handles| handles.adapters.tracker_start(&adapter)).await?;
        Ok(convert::tracker_dto(status))
    }

    async fn trackers_stop(&self, adapter: String) -> RpcResult<Vec<TrackerStatus>> {
        let stopped = self.blocking(move |handles| handles.adapters.tracker_stop(&adapter)).await?;
        Ok(stopped.into_iter().map(convert::tracker_dto).collect())
    }

    async fn trackers_status(&self, adapter: Option<String>) -> RpcResult<Vec<TrackerStatus>> {
        let all = self.handles.adapters.tracker_status(adapter.as_deref());
        Ok(all.into_iter().map(convert::tracker_dto).collect())
    }

    async fn roon_status(&self) -> RpcResult<PlayerStatus> {
        Ok(self.blocking(|handles| handles.adapters.player_status(ROON)).await?)
    }

    async fn roon_zones(&self) -> RpcResult<Vec<Zone>> {
        Ok(self.blocking(|handles| handles.adapters.player_zones(ROON)).await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn roon_control(
        &self,
        zone: String,
        action: String,
        seconds: Option<f64>,
        value: Option<f64>,
        relative: Option<bool>,
        on: Option<bool>,
        mode: Option<String>,
    ) -> RpcResult<Zone> {
        let action = convert::player_action(&action, seconds, value, relative.unwrap_or(false), on, mode)?;
        let control = musique_api::Control { zone: nonempty("zone", zone)?, action };
        Ok(self.blocking(move |handles| handles.adapters.player_control(ROON, control)).await?)
    }

    #[allow(clippy::too_many_arguments)]
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
    ) -> RpcResult<PlayOutcome> {
        let what = convert::play_what(&kind, artist, title, name, station, tracks)?;
        let request = PlayRequest { zone: nonempty("zone", zone)?, what, choice };
        Ok(self.blocking(move |handles| handles.adapters.player_play(ROON, request)).await?)
    }

    async fn auth_begin(&self, adapter: String) -> RpcResult<AuthBegin> {
        let begun = self.blocking(move |handles| handles.adapters.auth_begin(&adapter)).await?;
        Ok(AuthBegin { url: begun.url, token: begun.token })
    }

    async fn auth_complete(&self, adapter: String, token: String) -> RpcResult<AuthStatus> {
        if token.is_empty() || token.len() > 256 {
            return Err(invalid("`token` must be the token from auth.begin"));
        }
        let status = self.blocking(move |handles| handles.adapters.auth_complete(&adapter, token)).await?;
        Ok(AuthStatus { done: status.done, user: status.user })
    }

    async fn tracks_love(
        &self,
        artist: String,
        track: String,
        loved: bool,
        adapter: Option<String>,
    ) -> RpcResult<LoveReport> {
        let adapter = adapter.unwrap_or_else(|| "lastfm".to_owned());
        let (a, t, name) = (artist.clone(), track.clone(), adapter.clone());
        self.blocking(move |handles| handles.adapters.love(&name, &a, &t, loved)).await?;
        Ok(LoveReport { artist, track, loved, adapter })
    }

    async fn enrich_run(
        &self,
        artist: String,
        album: Option<String>,
        refresh: Option<bool>,
    ) -> RpcResult<EnrichmentInfo> {
        let (a, b) = (artist.clone(), album.clone());
        let enriched =
            self.blocking(move |handles| handles.adapters.enrich(&a, b.as_deref(), refresh.unwrap_or(false))).await?;
        Ok(convert::enrichment_dto(artist, album, enriched))
    }

    async fn tokens_create(&self, name: String, api: TokenApi) -> RpcResult<NewToken> {
        let api = match api {
            TokenApi::Listenbrainz => Api::Listenbrainz,
            TokenApi::Lastfm => Api::Lastfm,
        };
        let scrobbling = &self.handles.scrobbling;
        let issued = scrobbling.credentials().create(&name, api).await?;
        Ok(NewToken {
            info: convert::token_dto(issued.record),
            secret: issued.secret,
            user: scrobbling.user().to_owned(),
        })
    }

    async fn tokens_list(&self) -> RpcResult<Vec<TokenInfo>> {
        Ok(self.handles.scrobbling.credentials().list().into_iter().map(convert::token_dto).collect())
    }

    async fn tokens_revoke(&self, token: String) -> RpcResult<TokenInfo> {
        Ok(convert::token_dto(self.handles.scrobbling.credentials().revoke(&token).await?))
    }

    async fn events_subscribe(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut events = self.handles.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            let event = tokio::select! {
                _ = sink.closed() => break,
                event = events.recv() => event,
            };
            let wire = match event {
                Ok(event) => convert::event_dto(event),
                Err(RecvError::Lagged(missed)) => WireEvent::Lagged { missed },
                Err(RecvError::Closed) => break,
            };
            let message = SubscriptionMessage::from(serde_json::value::to_raw_value(&wire)?);
            match sink.send_timeout(message, self.stall).await {
                Ok(()) => {}
                Err(SendTimeoutError::Closed(_)) => break,
                // Its buffer stayed full: the client reads nothing. Waiting longer would hold
                // what it was sent; it may subscribe again.
                Err(SendTimeoutError::Timeout(_)) => {
                    let connection = sink.connection_id().0;
                    tracing::warn!(connection, "an events subscriber read nothing while its buffer was full: cut off");
                    self.connections.close(connection);
                    break;
                }
            }
        }
        Ok(())
    }
}
