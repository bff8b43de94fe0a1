//! History imports from an adapter's remote service (Last.fm, …), through the
//! SDK's `history.page` walk.
//!
//! The daemon drives the walk and owns its durability: every page's listens
//! are committed together with the run's counts and the adapter's cursor for
//! the next page, so a crash or restart resumes at the first page not stored,
//! and ends with the counts an uninterrupted run gives. What was asked (mode,
//! bounds) is stored with the run, so a run resumes by itself at start-up.
//! Failed requests are retried per `[import] retry_*` ([`retry`]); a run that gives up keeps
//! the reason and resumes from its cursor when started again.

use std::sync::atomic::{AtomicBool, Ordering};

use musique_sdk::protocol::{HistoryPage, HistoryRequest, method};

use super::Adapters;
use super::retry::{self, GiveUp};
use super::sync::{sweep_start, watermark, watermark_put};
use crate::clock;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::imports::runs::Ended;
use crate::library::{Commit, Intake, Origin, SourceName};
use crate::store::records::{HistoryMode, ImportRequestRecord, ImportRunRecord, RunKind, RunState};
use crate::store::{Put, StateKey};

/// An adapter import as asked, and as stored with its run.
pub(crate) type AdapterImport = ImportRequestRecord;

/// What identifies "the same import" for resuming.
fn fingerprint(request: &AdapterImport) -> String {
    match request.mode {
        HistoryMode::Full | HistoryMode::Incremental => format!("{}:{:?}", request.adapter, request.mode),
        HistoryMode::Range => format!("{}:range:{:?}:{:?}", request.adapter, request.from, request.to),
    }
}

fn describe(request: &AdapterImport) -> String {
    let date = |at: Option<i64>| at.map_or_else(|| "…".to_owned(), clock::format_date);
    match request.mode {
        HistoryMode::Full => format!("{}: full history", request.adapter),
        HistoryMode::Incremental => format!("{}: since {}", request.adapter, date(request.from)),
        HistoryMode::Range => format!("{}: {} to {}", request.adapter, date(request.from), date(request.to)),
    }
}

/// Starts an adapter import, resumes an unfinished one asking the same, or
/// returns the one already running. Blocks briefly (one or two commits).
pub(super) fn start(adapters: &Adapters, mut request: AdapterImport) -> Result<ImportRunRecord> {
    let state = &adapters.state;
    if !state.plugins.is_running(&request.adapter) {
        return Err(Error::invalid(format!(
            "the {} adapter is not running (see `musiquectl plugins`)",
            request.adapter
        )));
    }
    if !adapters.with_capability(musique_sdk::Capability::History).contains(&request.adapter) {
        return Err(Error::invalid(format!("the {} adapter cannot import history", request.adapter)));
    }
    if let (Some(from), Some(to)) = (request.from, request.to)
        && from >= to
    {
        return Err(Error::invalid("the range is empty: `from` must be before `to`"));
    }
    let now_s = state.clock.now_s();
    let fingerprint = fingerprint(&request);
    if let Some(run) = state.runs.running_with(&fingerprint)? {
        return Ok(run);
    }
    let kind = RunKind::Adapter(request.adapter.clone());
    let states = [RunState::Interrupted, RunState::Running, RunState::Failed];
    let run = match state.runs.resumable(&kind, &fingerprint, &states)? {
        Some(mut run) => {
            request = state
                .store
                .read()?
                .state(&StateKey::ImportRequest(run.id))?
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
                HistoryMode::Full => request.to = Some(now_s + 1),
                HistoryMode::Incremental => {
                    request.from = watermark(&state.store, &request.adapter)?.map(sweep_start);
                    request.to = Some(now_s + 1);
                }
                HistoryMode::Range => {}
            }
            ImportRunRecord::new(&kind, describe(&request), fingerprint.clone(), now_s)
        }
    };
    let run = state.store.save_run_blocking(run)?;
    state.store.put_blocking(vec![Put::state(StateKey::ImportRequest(run.id), &request)])?;
    let adapter = SourceName::of_plugin(&request.adapter);
    let origin = Origin::AdapterImport { adapter, run: run.id };
    let job = Job { adapters: adapters.clone(), intake: state.library.intake(&origin), request };
    state.runs.spawn(run, fingerprint, Box::new(move |cancel, run, committed| job.run(cancel, run, committed)))
}

/// Resumes, in the background, the adapter imports a stop or crash interrupted.
pub(super) fn resume(adapters: &Adapters) {
    let store = &adapters.state.store;
    let runs = match store.read().and_then(|reader| reader.runs(usize::MAX)) {
        Ok(runs) => runs,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list import runs to resume");
            return;
        }
    };
    for run in runs.into_iter().filter(|run| run.state == RunState::Interrupted) {
        if !matches!(run.kind(), RunKind::Adapter(_)) {
            continue;
        }
        let stored = store.read().and_then(|reader| reader.state::<AdapterImport>(&StateKey::ImportRequest(run.id)));
        let Ok(Some(request)) = stored else { continue };
        match start(adapters, request) {
            Ok(run) => tracing::info!(run = run.id, "resumed an interrupted adapter import"),
            Err(err) => tracing::warn!(run = run.id, error = %err, "cannot resume an adapter import"),
        }
    }
}

/// One adapter import, on its thread.
struct Job {
    adapters: Adapters,
    intake: Intake,
    request: AdapterImport,
}

impl Job {
    fn run(mut self, cancel: &AtomicBool, run: ImportRunRecord, committed: &mut ImportRunRecord) -> Ended {
        match self.import(cancel, run, committed) {
            Ok(()) => {
                self.move_watermark();
                Ended::Completed
            }
            Err(GiveUp::Cancelled) => Ended::Interrupted,
            Err(GiveUp::Failed(reason)) => Ended::Failed(reason),
        }
    }

    /// Everything before a completed full or incremental run's bound is stored now.
    fn move_watermark(&self) {
        let (HistoryMode::Full | HistoryMode::Incremental, Some(to)) = (self.request.mode, self.request.to) else {
            return;
        };
        let store = &self.adapters.state.store;
        let current = watermark(store, &self.request.adapter).ok().flatten().unwrap_or(i64::MIN);
        if to - 1 > current
            && let Err(err) = store.put_blocking(vec![watermark_put(&self.request.adapter, to - 1)])
        {
            tracing::warn!(error = %err, "cannot store the sync watermark");
        }
    }

    fn import(
        &mut self,
        cancel: &AtomicBool,
        mut run: ImportRunRecord,
        committed: &mut ImportRunRecord,
    ) -> Result<(), GiveUp> {
        let failed = |err: Error| GiveUp::Failed(err.to_string());
        let state = self.adapters.state.clone();
        let cursor_key = StateKey::ImportCursor(run.id);
        let stored: Option<String> = state.store.read().and_then(|reader| reader.state(&cursor_key)).map_err(failed)?;
        let mut cursor: Option<serde_json::Value> = stored.and_then(|text| serde_json::from_str(&text).ok());
        if cursor.is_none() && run.files_done > 0 {
            // The last page was stored, the end was not: nothing is left to ask.
            return Ok(());
        }
        loop {
            let request = HistoryRequest { from: self.request.from, to: self.request.to, cursor: cursor.clone() };
            let run_id = run.id;
            let page: HistoryPage = retry::call(
                &state.plugins,
                &self.request.adapter,
                method::HISTORY_PAGE,
                &request,
                state.retry,
                cancel,
                &mut |attempt, reason| tracing::warn!(run = run_id, attempt, %reason, "request failed; retrying"),
            )?;
            let mut listens = Vec::with_capacity(page.listens.len());
            for listen in page.listens {
                run.records += 1;
                let admitted = self.intake.admit(super::listen_of(listen));
                match admitted {
                    Ok(admitted) => listens.push(admitted),
                    Err(reason) => {
                        run.rejected += 1;
                        if run.rejected_samples.len() < MAX_REJECTED_SAMPLES {
                            run.rejected_samples.push(format!("page {}: {reason}", page.pages_done));
                        }
                    }
                }
            }
            run.files_done = page.pages_done;
            run.files_total = page.pages_total.unwrap_or(page.pages_done).max(page.pages_done);
            // No cursor left: the walk is done.
            let put = match &page.next {
                Some(next) => Put::state(cursor_key.clone(), &next.to_string()),
                None => Put::clear(cursor_key.clone()),
            };
            let commit = Commit { listens, run: Some(run.clone()), puts: vec![put] };
            let outcome = state.library.commit(commit).and_then(|pending| pending.wait_blocking()).map_err(failed)?;
            if let Some(stored) = outcome.run {
                run = stored.clone();
                *committed = stored.clone();
                state.events.send(Event::ImportProgress(stored));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(GiveUp::Cancelled);
            }
        }
    }
}

/// How many rejected-listen reasons a run keeps.
const MAX_REJECTED_SAMPLES: usize = 20;
