//! Collection syncs: the records someone owns, from a `collection` adapter
//! (Discogs), through the SDK's `collection.page` walk and `collection.release`.
//!
//! The daemon drives the sync and owns its durability, as for history imports:
//! each page's items are committed with the run's counts and the cursor of the
//! next page, so a crash or restart resumes at the first page not stored. Each
//! stored item carries the run that last saw it; once the walk is whole, items
//! no run of this walk saw were removed remotely and are removed here (their
//! listens are untouched). Then the details of each release not stored yet are
//! fetched, one commit each: that is what makes a second sync cheap, and a
//! resumed one carry on where it stopped. `full` fetches every release's
//! details again.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use musique_sdk::collection::{Page, PageRequest, Release, ReleaseRequest, method};

use super::Adapters;
use super::retry::{self, GiveUp};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::imports::runs::Ended;
use crate::library::Commit;
use crate::store::records::{ImportRunRecord, OwnedRecord, ReleaseRecord, RunKind, RunState, encode_json};
use crate::store::{Put, StateKey};

/// How a sync is told apart from the adapter's history imports.
fn fingerprint(adapter: &str, full: bool) -> String {
    format!("{adapter}:collection{}", if full { ":full" } else { "" })
}

/// Starts a sync, resumes an unfinished one, or returns the one already running.
pub(super) fn start(adapters: &Adapters, adapter: &str, full: bool) -> Result<ImportRunRecord> {
    let state = &adapters.state;
    if !state.plugins.is_running(adapter) {
        return Err(Error::invalid(format!("the {adapter} adapter is not running (see `musiquectl plugins`)")));
    }
    if !adapters.with_capability(musique_sdk::Capability::Collection).iter().any(|name| name == adapter) {
        return Err(Error::invalid(format!("the {adapter} adapter has no record collection")));
    }
    for running in [fingerprint(adapter, false), fingerprint(adapter, true)] {
        if let Some(run) = state.runs.running_with(&running)? {
            return Ok(run);
        }
    }
    let fingerprint = fingerprint(adapter, full);
    let kind = RunKind::Adapter(adapter.to_owned());
    let states = [RunState::Interrupted, RunState::Running, RunState::Failed];
    let run = match state.runs.resumable(&kind, &fingerprint, &states)? {
        Some(mut run) => {
            tracing::info!(run = run.id, adapter, "resuming a collection sync");
            run.state = RunState::Running;
            run.resumed += 1;
            run.error = None;
            run.finished_at = None;
            run
        }
        None => {
            let what = if full { "collection, every release again" } else { "collection" };
            ImportRunRecord::new(&kind, format!("{adapter}: {what}"), fingerprint.clone(), state.clock.now_s())
        }
    };
    let job = Job { adapters: adapters.clone(), adapter: adapter.to_owned(), full };
    state.runs.spawn(run, fingerprint, Box::new(move |cancel, run, committed| job.run(cancel, run, committed)))
}

/// Resumes, in the background, the syncs a stop or crash interrupted.
pub(super) fn resume(adapters: &Adapters) {
    let runs = match adapters.state.store.read().and_then(|reader| reader.runs(usize::MAX)) {
        Ok(runs) => runs,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list the runs to resume");
            return;
        }
    };
    for run in runs.into_iter().filter(|run| run.state == RunState::Interrupted) {
        let RunKind::Adapter(adapter) = run.kind() else { continue };
        let full = if run.fingerprint == fingerprint(&adapter, false) {
            false
        } else if run.fingerprint == fingerprint(&adapter, true) {
            true
        } else {
            continue;
        };
        match start(adapters, &adapter, full) {
            Ok(run) => tracing::info!(run = run.id, "resumed an interrupted collection sync"),
            Err(err) => tracing::warn!(run = run.id, error = %err, "cannot resume a collection sync"),
        }
    }
}

/// One sync, on its thread.
struct Job {
    adapters: Adapters,
    adapter: String,
    full: bool,
}

impl Job {
    fn run(self, cancel: &AtomicBool, run: ImportRunRecord, committed: &mut ImportRunRecord) -> Ended {
        match self.sync(cancel, run, committed) {
            Ok(()) => {
                // Link the new collection to the history now, not on the first question.
                if let Err(err) = self.adapters.state.library.linked() {
                    tracing::warn!(error = %err, "cannot link the collection to the history");
                }
                Ended::Completed
            }
            Err(GiveUp::Cancelled) => Ended::Interrupted,
            Err(GiveUp::Failed(reason)) => Ended::Failed(reason),
        }
    }

    /// Commits `puts` with the run as it stands; the run as stored.
    fn commit(
        &self,
        run: &ImportRunRecord,
        puts: Vec<Put>,
        committed: &mut ImportRunRecord,
    ) -> Result<ImportRunRecord> {
        let state = &self.adapters.state;
        let commit = Commit { listens: Vec::new(), run: Some(run.clone()), puts };
        let outcome = state.library.commit(commit)?.wait_blocking()?;
        let stored = outcome.run.unwrap_or_else(|| run.clone());
        *committed = stored.clone();
        state.events.send(Event::ImportProgress(stored.clone()));
        Ok(stored)
    }

    fn sync(
        &self,
        cancel: &AtomicBool,
        mut run: ImportRunRecord,
        committed: &mut ImportRunRecord,
    ) -> Result<(), GiveUp> {
        let failed = |err: Error| GiveUp::Failed(err.to_string());
        let state = self.adapters.state.clone();
        let cursor_key = StateKey::ImportCursor(run.id);
        let stored: Option<String> = state.store.read().and_then(|reader| reader.state(&cursor_key)).map_err(failed)?;
        let mut cursor: Option<serde_json::Value> = stored.and_then(|text| serde_json::from_str(&text).ok());
        // The walk: resumed from its cursor; with none and pages done, it is whole.
        while cursor.is_some() || run.files_done == 0 {
            let request = PageRequest { cursor: cursor.clone() };
            let page: Page = self.call(method::PAGE, &request, cancel, run.id)?;
            let mut puts = Vec::with_capacity(page.items.len() + 2);
            if !page.folders.is_empty() {
                let folders = serde_json::to_string(&page.folders).expect("folders are JSON");
                puts.push(Put::state(StateKey::CollectionFolders(self.adapter.clone()), &folders));
            }
            let reader = state.store.read().map_err(failed)?;
            for item in page.items {
                run.records += 1;
                if reader.owns(item.instance_id).map_err(failed)? {
                    run.duplicates += 1;
                } else {
                    run.imported += 1;
                }
                let record = OwnedRecord { adapter: self.adapter.clone(), item, synced_run: run.id };
                puts.push(Put::Owned { instance_id: record.item.instance_id, value: Some(encode_json(&record)) });
            }
            drop(reader);
            run.files_done = page.pages_done.max(1);
            run.files_total = page.pages_total.unwrap_or(run.files_done).max(run.files_done);
            puts.push(match &page.next {
                Some(next) => Put::state(cursor_key.clone(), &next.to_string()),
                None => Put::clear(cursor_key.clone()),
            });
            run = self.commit(&run, puts, committed).map_err(failed)?;
            cursor = page.next;
            if cancel.load(Ordering::Relaxed) {
                return Err(GiveUp::Cancelled);
            }
        }
        // Items this walk did not see are gone from the collection (a resumed
        // walk saw the earlier pages in the same run: each item carries it).
        let reader = state.store.read().map_err(failed)?;
        let owned = reader.collection().map_err(failed)?;
        let gone: Vec<u64> = owned
            .iter()
            .filter(|(_, record)| record.adapter == self.adapter && record.synced_run != run.id)
            .map(|(id, _)| *id)
            .collect();
        let mut wanted: BTreeSet<u64> = BTreeSet::new();
        for (_, record) in owned.iter().filter(|(_, record)| record.synced_run == run.id) {
            let release = record.item.release_id;
            // A full sync fetches them all again, but not twice when it was resumed.
            let fetched_by = reader.release(release).map_err(failed)?.map(|stored| stored.fetched_run);
            if fetched_by.is_none_or(|fetched_by| self.full && fetched_by != run.id) {
                wanted.insert(release);
            }
        }
        drop(reader);
        if !gone.is_empty() {
            *run.skipped.entry("removed".to_owned()).or_insert(0) += gone.len() as u64;
            let puts = gone.into_iter().map(|instance_id| Put::Owned { instance_id, value: None }).collect();
            run = self.commit(&run, puts, committed).map_err(failed)?;
        }
        // The releases' details, each durable on its own.
        run.file_records_total = run.file_records_done + wanted.len() as u64;
        for release_id in wanted {
            if cancel.load(Ordering::Relaxed) {
                return Err(GiveUp::Cancelled);
            }
            let state = &self.adapters.state;
            let details: Result<Release, String> = retry::call_unless_refused(
                &state.plugins,
                &self.adapter,
                method::RELEASE,
                &ReleaseRequest { release_id },
                state.retry,
                cancel,
                &mut |attempt, reason| tracing::warn!(release_id, attempt, %reason, "release request failed; retrying"),
            )?;
            let puts = match details {
                Ok(release) => {
                    let record = ReleaseRecord { release, fetched_run: run.id };
                    vec![Put::Release { release_id, value: encode_json(&record) }]
                }
                // A release the service does not have (any more) is noted; the item stays.
                Err(reason) => {
                    run.rejected += 1;
                    if run.rejected_samples.len() < MAX_REJECTED_SAMPLES {
                        run.rejected_samples.push(format!("release {release_id}: {reason}"));
                    }
                    Vec::new()
                }
            };
            run.file_records_done += 1;
            run = self.commit(&run, puts, committed).map_err(failed)?;
        }
        Ok(())
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        request: &impl serde::Serialize,
        cancel: &AtomicBool,
        run_id: u64,
    ) -> Result<T, GiveUp> {
        let state = &self.adapters.state;
        retry::call(
            &state.plugins,
            &self.adapter,
            method,
            request,
            state.retry,
            cancel,
            &mut |attempt, reason| tracing::warn!(run = run_id, attempt, %reason, "collection request failed; retrying"),
        )
    }
}

/// How many failed releases a run names.
const MAX_REJECTED_SAMPLES: usize = 20;
