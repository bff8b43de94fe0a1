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
}

/// The runs importing now; cheap to clone, shared by both kinds of import.
#[derive(Clone)]
pub(crate) struct Runs {
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
    thread: JoinHandle<()>,
    /// Disconnected when the thread ends (its sender is dropped then, even on a panic).
    ended: Receiver<()>,
}

/// A run's work, on its thread: imports from where `run` stands, keeps
/// `committed` as the run last stored, and says how it ended.
pub(crate) type Work = Box<dyn FnOnce(&AtomicBool, ImportRunRecord, &mut ImportRunRecord) -> Ended + Send>;

/// How long stopping waits for the runs to reach their next record; one that
/// does not (a plugin call that hangs) is abandoned, to resume at the next start.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(2);

impl Runs {
    pub(crate) fn new(store: Store, events: EventBus, clock: Clock) -> Runs {
        Runs { store, events, clock, running: Arc::default() }
    }

    /// The run importing `fingerprint` now, as stored.
    pub(crate) fn running_with(&self, fingerprint: &str) -> Result<Option<ImportRunRecord>> {
        let id = {
            let mut running = self.running.lock().expect("running lock");
            running.retain(|_, import| !import.thread.is_finished());
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
        let runs = self.clone();
        let started = run.clone();
        let stop = cancel.clone();
        let (ending, ended) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("import-{}", run.id))
            .spawn(move || {
                let _ending = ending;
                let mut committed = started.clone();
                let ended = work(&stop, started, &mut committed);
                runs.finish(committed, ended);
            })
            .map_err(crate::error::io_err("spawn", "import thread"))?;
        self.running.lock().expect("running lock").insert(run.id, Running { fingerprint, cancel, thread, ended });
        Ok(run)
    }

    /// Records how a run ended, from the run as last committed, and announces it.
    fn finish(&self, mut last: ImportRunRecord, ended: Ended) {
        match ended {
            Ended::Completed => last.state = RunState::Completed,
            Ended::Interrupted => last.state = RunState::Interrupted,
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
        self.running.lock().expect("running lock").values().filter(|import| !import.thread.is_finished()).count()
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
            match import.ended.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
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

    /// A run by id.
    pub(crate) fn get(&self, id: u64) -> Result<ImportRunRecord> {
        self.store.read()?.run(id)?.ok_or_else(|| Error::not_found(format!("no import run {id}")))
    }

    /// The newest runs first.
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<ImportRunRecord>> {
        self.store.read()?.runs(limit)
    }
}
