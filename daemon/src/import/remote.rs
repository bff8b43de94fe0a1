//! History imports from an adapter's remote service (Last.fm, …), through the
//! SDK's `history.page` walk.
//!
//! The daemon drives the walk and owns its durability: every page's listens
//! are committed together with the run's counts and the adapter's cursor for
//! the next page, so a crash or restart resumes at the first page not stored,
//! and ends with the counts an uninterrupted run gives. What was asked (mode,
//! bounds) is stored with the run, so a run resumes by itself at start-up.
//! Failed requests are retried per [`RetryPolicy`]; a run that gives up keeps
//! the reason and resumes from its cursor when started again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use musique_sdk::protocol::{HistoryPage, HistoryRequest, method};
use serde::{Deserialize, Serialize};

use super::{Preparer, RawListen, Running};
use crate::clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::plugins::PluginHost;
use crate::retry::{self, GiveUp, RetryPolicy};
use crate::store::records::{ImportRunRecord, RunState};
use crate::store::{Put, Store};

/// Scope of a run's request in the service state.
const REQUEST_SCOPE: &str = "import-request";
/// Scope of a run's adapter cursor in the service state.
const CURSOR_SCOPE: &str = "import-cursor";
/// Scope of an adapter's sync watermark: everything before it is stored.
pub(crate) const SYNC_SCOPE: &str = "sync";

/// Which part of the history to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Everything up to now.
    Full,
    /// What came after the last full or incremental import (or tracker sweep).
    Incremental,
    /// A date range.
    Range,
}

/// An adapter import as asked, and as stored with its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AdapterImport {
    pub(crate) adapter: String,
    pub(crate) mode: Mode,
    /// Unix seconds, inclusive.
    pub(crate) from: Option<i64>,
    /// Unix seconds, exclusive.
    pub(crate) to: Option<i64>,
}

impl AdapterImport {
    /// What identifies "the same import" for resuming.
    fn fingerprint(&self) -> String {
        match self.mode {
            Mode::Full | Mode::Incremental => format!("{}:{:?}", self.adapter, self.mode),
            Mode::Range => format!("{}:range:{:?}:{:?}", self.adapter, self.from, self.to),
        }
    }

    fn describe(&self) -> String {
        let date = |at: Option<i64>| at.map_or_else(|| "…".to_owned(), clock::format_date);
        match self.mode {
            Mode::Full => format!("{}: full history", self.adapter),
            Mode::Incremental => format!("{}: since {}", self.adapter, date(self.from)),
            Mode::Range => format!("{}: {} to {}", self.adapter, date(self.from), date(self.to)),
        }
    }
}

/// The sync watermark of an adapter (unix seconds): listens before it are stored.
pub(crate) fn watermark(store: &Store, adapter: &str) -> Result<Option<i64>> {
    let bytes = store.read()?.service_state(SYNC_SCOPE, adapter)?;
    Ok(bytes.and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok()).map(i64::from_le_bytes))
}

/// The put that moves an adapter's watermark.
pub(crate) fn watermark_put(adapter: &str, at: i64) -> Put {
    Put::Service { scope: SYNC_SCOPE.to_owned(), key: adapter.to_owned(), value: at.to_le_bytes().to_vec() }
}

/// What an adapter import needs from the daemon.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) store: Store,
    pub(crate) events: EventBus,
    pub(crate) plugins: PluginHost,
    pub(crate) separators: Arc<Vec<String>>,
    pub(crate) retry: RetryPolicy,
}

impl super::Imports {
    /// Starts an adapter import, resumes an unfinished one asking the same, or
    /// returns the one already running. Blocks briefly (one or two commits).
    pub(crate) fn start_adapter(&self, context: &Context, mut request: AdapterImport) -> Result<ImportRunRecord> {
        if !context.plugins.is_running(&request.adapter) {
            return Err(Error::invalid(format!(
                "the {} adapter is not running (see `musiquectl plugins`)",
                request.adapter
            )));
        }
        if let (Some(from), Some(to)) = (request.from, request.to)
            && from >= to
        {
            return Err(Error::invalid("the range is empty: `from` must be before `to`"));
        }
        let now_s = clock::now_ms() / 1000;
        let fingerprint = request.fingerprint();
        let mut running = self.running.lock().expect("running lock");
        running.retain(|_, import| !import.thread.is_finished());
        if let Some((&id, _)) = running.iter().find(|(_, import)| import.fingerprint == fingerprint) {
            drop(running);
            return context.store.read()?.run(id)?.ok_or_else(|| Error::not_found(format!("no import run {id}")));
        }
        let resumable = context.store.read()?.runs(usize::MAX)?.into_iter().find(|run| {
            run.kind == request.adapter
                && run.fingerprint == fingerprint
                && matches!(run.state, RunState::Interrupted | RunState::Running | RunState::Failed)
        });
        let run = match resumable {
            Some(mut run) => {
                let stored = context.store.read()?.service_state(REQUEST_SCOPE, &run.id.to_string())?;
                request = stored
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .ok_or_else(|| Error::invalid(format!("import run {} has no stored request", run.id)))?;
                tracing::info!(run = run.id, adapter = %request.adapter, "resuming adapter import");
                run.state = RunState::Running;
                run.resumed += 1;
                run.error = None;
                run.finished_at = None;
                run
            }
            None => {
                // Fix the bounds now, so a resumed run asks exactly what the first start asked.
                match request.mode {
                    Mode::Full => request.to = Some(now_s + 1),
                    Mode::Incremental => {
                        // From a little before the watermark: scrobbles can be dated before they arrive.
                        let mark = watermark(&context.store, &request.adapter)?;
                        request.from = mark.map(|mark| (mark - crate::trackers::OVERLAP_S).max(0));
                        request.to = Some(now_s + 1);
                    }
                    Mode::Range => {}
                }
                ImportRunRecord::new(request.adapter.clone(), request.describe(), fingerprint.clone(), now_s)
            }
        };
        let run = context.store.save_run_blocking(run)?;
        context.store.put_blocking(vec![Put::Service {
            scope: REQUEST_SCOPE.to_owned(),
            key: run.id.to_string(),
            value: serde_json::to_vec(&request).expect("a request is JSON"),
        }])?;
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            context: context.clone(),
            preparer: Preparer::new(context.separators.clone(), &request.adapter, run.id),
            request,
            cancel: cancel.clone(),
        };
        let started = run.clone();
        let thread = std::thread::Builder::new()
            .name(format!("import-{}", run.id))
            .spawn(move || job.run(started))
            .map_err(crate::error::io_err("spawn", "import thread"))?;
        running.insert(run.id, Running { fingerprint, cancel, thread });
        Ok(run)
    }

    /// Resumes, in the background, the adapter imports a stop or crash interrupted.
    pub(crate) fn resume_adapters(&self, context: &Context) {
        let runs = match context.store.read().and_then(|reader| reader.runs(usize::MAX)) {
            Ok(runs) => runs,
            Err(err) => {
                tracing::warn!(error = %err, "cannot list import runs to resume");
                return;
            }
        };
        for run in runs.into_iter().filter(|run| run.state == RunState::Interrupted) {
            let stored =
                context.store.read().and_then(|reader| reader.service_state(REQUEST_SCOPE, &run.id.to_string()));
            let Some(request) =
                stored.ok().flatten().and_then(|bytes| serde_json::from_slice::<AdapterImport>(&bytes).ok())
            else {
                continue;
            };
            match self.start_adapter(context, request) {
                Ok(run) => tracing::info!(run = run.id, "resumed an interrupted adapter import"),
                Err(err) => tracing::warn!(run = run.id, error = %err, "cannot resume an adapter import"),
            }
        }
    }
}

/// One adapter import, on its thread.
struct Job {
    context: Context,
    preparer: Preparer,
    request: AdapterImport,
    cancel: Arc<AtomicBool>,
}

impl Job {
    fn run(mut self, run: ImportRunRecord) {
        let mut committed = run.clone();
        let ended = match self.import(run, &mut committed) {
            Ok(()) => None,
            Err(GiveUp::Cancelled) => Some(None),
            Err(GiveUp::Failed(reason)) => Some(Some(reason)),
        };
        let store = &self.context.store;
        let last = super::finish_run(store, committed, ended);
        if last.state == RunState::Completed
            && self.request.mode != Mode::Range
            && let Some(to) = self.request.to
        {
            // Everything before the run's bound is stored now.
            let current = watermark(store, &self.request.adapter).ok().flatten().unwrap_or(i64::MIN);
            if to - 1 > current
                && let Err(err) = store.put_blocking(vec![watermark_put(&self.request.adapter, to - 1)])
            {
                tracing::warn!(error = %err, "cannot store the sync watermark");
            }
        }
        tracing::info!(
            run = last.id,
            state = ?last.state,
            imported = last.imported,
            duplicates = last.duplicates,
            rejected = last.rejected,
            "adapter import ended"
        );
        self.context.events.send(Event::ImportFinished(last));
    }

    fn import(&mut self, mut run: ImportRunRecord, committed: &mut ImportRunRecord) -> Result<(), GiveUp> {
        let failed = |err: Error| GiveUp::Failed(err.to_string());
        let store = self.context.store.clone();
        let cursor_key = run.id.to_string();
        let mut cursor: Option<serde_json::Value> = store
            .read()
            .and_then(|reader| reader.service_state(CURSOR_SCOPE, &cursor_key))
            .map_err(failed)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if cursor.is_none() && run.files_done > 0 {
            // The last page was stored, the end was not: nothing is left to ask.
            return Ok(());
        }
        loop {
            let request = HistoryRequest { from: self.request.from, to: self.request.to, cursor: cursor.clone() };
            let run_id = run.id;
            let page: HistoryPage = retry::call(
                &self.context.plugins,
                &self.request.adapter,
                method::HISTORY_PAGE,
                &request,
                self.context.retry,
                &self.cancel,
                &mut |attempt, reason| tracing::warn!(run = run_id, attempt, %reason, "request failed; retrying"),
            )?;
            let mut batch = Vec::with_capacity(page.listens.len());
            for listen in page.listens {
                run.records += 1;
                let Some(start_ms) = listen.listened_at.checked_mul(1000).filter(|ms| *ms >= 0) else {
                    run.rejected += 1;
                    continue;
                };
                let loved = listen.loved;
                let mut prepared = self.preparer.prepare(RawListen {
                    start_ms,
                    duration_ms: listen.duration_ms,
                    artist: listen.artist,
                    track: listen.track,
                    album: listen.album,
                });
                prepared.loved = loved;
                batch.push(prepared);
            }
            run.files_done = page.pages_done;
            run.files_total = page.pages_total.unwrap_or(page.pages_done).max(page.pages_done);
            let put = Put::Service {
                scope: CURSOR_SCOPE.to_owned(),
                key: cursor_key.clone(),
                // An empty value deletes the cursor: the walk is done.
                value: page.next.as_ref().map(|next| serde_json::to_vec(next).expect("JSON")).unwrap_or_default(),
            };
            let outcome = store.ingest_blocking(batch, Some(run.clone()), vec![put]).map_err(failed)?;
            if let Some(stored) = outcome.run {
                run = stored.clone();
                *committed = stored.clone();
                self.context.events.send(Event::ImportProgress(stored));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
            if self.cancel.load(Ordering::Relaxed) {
                return Err(GiveUp::Cancelled);
            }
        }
    }
}
