//! Import runs on their threads, of both kinds (export files and adapter
//! histories): one way to start a run, to end it, and to stop them all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::library::Library;
use crate::store::Store;
use crate::store::records::{ImportRunRecord, RunKind, RunState};

/// How a run's work ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Everything was imported.
    Completed,
    /// Stopped on request (shutdown); it resumes when started again.
    Interrupted,
    /// Gave up, for this reason; started again, it resumes from its cursor.
    Failed(String),
    /// Stopped for good (`imports.cancel`).
    Cancelled,
}

/// How long a finished run waits for its listens to become searchable before it
/// reports completion anyway (the index goes on catching up).
const SEARCHABLE_BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// The runs importing now; cheap to clone, shared by both kinds of import.
#[derive(Clone)]
pub(crate) struct Runs {
    /// A completed run waits until its listens are searchable.
    library: Library,
    store: Store,
    events: EventBus,
    clock: Clock,
    /// Running imports by run id. Locked briefly, never across an await.
    running: Arc<Mutex<HashMap<u64, Running>>>,
}

struct Running {
    /// What identifies "the same import", so a second start finds this one.
    fingerprint: String,
    cancel: Arc<AtomicBool>,
    /// Set once the run's end is stored: from then on it is finished, whatever the thread does.
    ended: Arc<AtomicBool>,
    /// Set by `imports.cancel`: the interruption is for good.
    cancelled: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    /// Disconnected when the thread ends (its sender is dropped then, even on a panic).
    exited: Receiver<()>,
}

impl Running {
    fn is_running(&self) -> bool {
        !self.ended.load(Ordering::Acquire) && !self.thread.is_finished()
    }
}

/// A run's work, on its thread: imports from where `run` stands, keeps
/// `committed` as the run last stored, and says how it ended.
pub(crate) type Work = Box<dyn FnOnce(&AtomicBool, ImportRunRecord, &mut ImportRunRecord) -> Ended + Send>;

/// How long stopping waits for the runs to reach their next record; one that
/// does not (a plugin call that hangs) is abandoned, to resume at the next start.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(2);

impl Runs {
    pub(crate) fn new(library: Library, store: Store, events: EventBus) -> Runs {
        let clock = library.clock().clone();
        Runs { library, store, events, clock, running: Arc::default() }
    }

    /// The run importing `fingerprint` now, as stored.
    pub(crate) fn running_with(&self, fingerprint: &str) -> Result<Option<ImportRunRecord>> {
        let id = {
            let mut running = self.running.lock().expect("running lock");
            running.retain(|_, import| import.is_running());
            running.iter().find(|(_, import)| import.fingerprint == fingerprint).map(|(&id, _)| id)
        };
        match id {
            Some(id) => self.store.read()?.run(id),
            None => Ok(None),
        }
    }

    /// Stores the run (a new one gets its id) and starts its work on a thread.
    pub(crate) fn spawn(&self, run: ImportRunRecord, fingerprint: String, work: Work) -> Result<ImportRunRecord> {
        let run = self.store.save_run_blocking(run)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::new(AtomicBool::new(false));
        let runs = self.clone();
        let started = run.clone();
        let (stop, done, for_good) = (cancel.clone(), ended.clone(), cancelled.clone());
        let (ending, exited) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("import-{}", run.id))
            .spawn(move || {
                let _ending = ending;
                let mut committed = started.clone();
                let mut end = work(&stop, started, &mut committed);
                if end == Ended::Interrupted && for_good.load(Ordering::Acquire) {
                    end = Ended::Cancelled;
                }
                runs.finish(committed, end, &done);
            })
            .map_err(crate::error::io_err("spawn", "import thread"))?;
        let running = Running { fingerprint, cancel, ended, cancelled, thread, exited };
        self.running.lock().expect("running lock").insert(run.id, running);
        Ok(run)
    }

    /// Records how a run ended, from the run as last committed, and announces it.
    /// A completed run first waits (boundedly) until its listens are searchable, so
    /// whoever waits for the end can search them at once.
    fn finish(&self, mut last: ImportRunRecord, ended: Ended, done: &AtomicBool) {
        if ended == Ended::Completed && !self.library.wait_searchable(SEARCHABLE_BOUND) {
            tracing::warn!(
                run = last.id,
                "the index has not caught up with the import yet; it goes on in the background"
            );
        }
        match ended {
            Ended::Completed => last.state = RunState::Completed,
            Ended::Interrupted => last.state = RunState::Interrupted,
            Ended::Cancelled => last.state = RunState::Cancelled,
            Ended::Failed(reason) => {
                tracing::error!(run = last.id, %reason, "import failed");
                last.state = RunState::Failed;
                last.error = Some(reason);
            }
        }
        if last.state != RunState::Interrupted {
            last.finished_at = Some(self.clock.now_s());
        }
        let last = match self.store.save_run_blocking(last.clone()) {
            Ok(saved) => saved,
            Err(err) => {
                tracing::error!(run = last.id, error = %err, "cannot save the end of an import");
                last
            }
        };
        done.store(true, Ordering::Release);
        tracing::info!(
            run = last.id,
            kind = last.kind().name(),
            state = ?last.state,
            imported = last.imported,
            duplicates = last.duplicates,
            rejected = last.rejected,
            "import ended"
        );
        self.events.send(Event::ImportFinished(last));
    }

    /// How many imports are running now.
    pub(crate) fn running_count(&self) -> usize {
        self.running.lock().expect("running lock").values().filter(|import| import.is_running()).count()
    }

    /// Asks every import to stop at its next record and waits for them, at most
    /// `bound` in all; they are left interrupted, to resume when started again.
    /// One that does not stop in time is abandoned (logged), still marked running
    /// in the store: the next start finds it interrupted.
    pub(crate) fn stop_all(&self, bound: Duration) {
        let running: Vec<(u64, Running)> = self.running.lock().expect("running lock").drain().collect();
        for (_, import) in &running {
            import.cancel.store(true, Ordering::Relaxed);
        }
        let deadline = Instant::now() + bound;
        for (id, import) in running {
            match import.exited.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => tracing::warn!(
                    run = id,
                    bound_ms = bound.as_millis() as u64,
                    "import did not stop in time; abandoned (it resumes from its last commit at the next start)"
                ),
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = import.thread.join();
                }
            }
        }
    }

    /// The newest run of this kind and fingerprint in one of `states`: the one to resume.
    pub(crate) fn resumable(
        &self,
        kind: &RunKind,
        fingerprint: &str,
        states: &[RunState],
    ) -> Result<Option<ImportRunRecord>> {
        let runs = self.store.read()?.runs(usize::MAX)?;
        Ok(runs
            .into_iter()
            .find(|run| run.kind() == *kind && run.fingerprint == fingerprint && states.contains(&run.state)))
    }

    /// Asks a running import to stop at its next record, and waits for it; it is left
    /// interrupted (resumable). `NotFound` when no import of that id runs.
    pub(crate) fn cancel(&self, id: u64) -> Result<ImportRunRecord> {
        let running = self.running.lock().expect("running lock").remove(&id);
        if let Some(import) = running.filter(Running::is_running) {
            import.cancelled.store(true, Ordering::Release);
            import.cancel.store(true, Ordering::Relaxed);
            // A run stuck in a call (a hanging plugin) ends cancelled when the call returns.
            if import.exited.recv_timeout(STOP_WAIT).is_err_and(|err| err == RecvTimeoutError::Timeout) {
                tracing::warn!(run = id, "the cancelled import has not stopped yet; it ends when its call returns");
            } else {
                let _ = import.thread.join();
            }
            return self.get(id);
        }
        let mut run = self.get(id)?;
        match run.state {
            RunState::Completed | RunState::Cancelled => {
                Err(Error::invalid(format!("import run {id} has ended already ({:?})", run.state).to_lowercase()))
            }
            RunState::Running | RunState::Interrupted | RunState::Failed => {
                run.state = RunState::Cancelled;
                run.finished_at = Some(self.clock.now_s());
                self.store.save_run_blocking(run)
            }
        }
    }

    /// A run by id.
    pub(crate) fn get(&self, id: u64) -> Result<ImportRunRecord> {
        self.store.read()?.run(id)?.ok_or_else(|| Error::not_found(format!("no import run {id}")))
    }

    /// The newest runs first.
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<ImportRunRecord>> {
        self.store.read()?.runs(limit)
    }
}
