//! Imports of export files, run inside the daemon on their own threads.
//!
//! An import lists its files (sorted, so the order is stable), then for each
//! file: validates it whole (first pass), and stores its listens in batches
//! (second pass). Each batch is committed together with the run's cursor and
//! counts, so after a crash the run resumes exactly where its last commit
//! left it, and ends with the counts an uninterrupted run gives.

mod formats;
mod remote;
mod source;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use formats::{Family, Outcome, RawListen, Rules};
use source::InputFile;

pub(crate) use remote::{AdapterImport, Context as AdapterContext, Mode as AdapterMode, watermark, watermark_put};

use crate::clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::identity::{Name, split_credit};
use crate::store::records::{Cursor, ImportRunRecord, Provenance, RunState};
use crate::store::{PreparedListen, Store, TrackIdentity};

/// Listens per commit: large enough to amortize the fsync, small enough to keep memory flat.
const BATCH_LISTENS: usize = 10_000;

/// How many rejected-record reasons a run keeps.
const MAX_REJECTED_SAMPLES: usize = 20;

/// The kinds of import, as the daemon sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImportKind {
    Spotify,
    LastfmCsv,
    Listenbrainz,
}

impl ImportKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ImportKind::Spotify => "spotify",
            ImportKind::LastfmCsv => "lastfm-csv",
            ImportKind::Listenbrainz => "listenbrainz",
        }
    }

    /// The provenance source of the listens it brings.
    fn source(self) -> &'static str {
        match self {
            ImportKind::Spotify => "spotify",
            ImportKind::LastfmCsv => "lastfm",
            ImportKind::Listenbrainz => "listenbrainz",
        }
    }

    fn family(self) -> Family {
        match self {
            ImportKind::Spotify => Family::Spotify,
            ImportKind::LastfmCsv => Family::LastfmCsv,
            ImportKind::Listenbrainz => Family::Listenbrainz,
        }
    }
}

/// What a caller asks for.
#[derive(Debug, Clone)]
pub(crate) struct ImportRequest {
    pub(crate) kind: ImportKind,
    pub(crate) path: std::path::PathBuf,
    pub(crate) min_play_ms: u64,
    pub(crate) include_incognito: bool,
}

/// The running imports; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Imports {
    /// Running imports by run id. Locked briefly, never across an await.
    running: Arc<Mutex<HashMap<u64, Running>>>,
}

struct Running {
    fingerprint: String,
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Imports {
    /// Starts an import, resumes an interrupted one of the same files, or
    /// returns the run already importing them. Blocks briefly (lists files, one commit).
    pub(crate) fn start(
        &self,
        store: &Store,
        events: &EventBus,
        separators: Arc<Vec<String>>,
        request: ImportRequest,
    ) -> Result<ImportRunRecord> {
        if !request.path.is_absolute() {
            return Err(Error::invalid(format!(
                "path {} is not absolute; musiquectl resolves relative paths for you",
                request.path.display()
            )));
        }
        let family = request.kind.family();
        let files = source::list_files(&request.path, &|path| family.wants(path)).map_err(Error::invalid)?;
        if files.is_empty() {
            return Err(Error::invalid(format!(
                "no {} files found in {} (expected {})",
                request.kind.name(),
                request.path.display(),
                family.expected_files()
            )));
        }
        let fingerprint = format!("{}:{}", request.kind.name(), source::fingerprint(&files));
        let mut running = self.running.lock().expect("running lock");
        running.retain(|_, import| !import.thread.is_finished());
        if let Some((&id, _)) = running.iter().find(|(_, import)| import.fingerprint == fingerprint) {
            drop(running);
            return store.read()?.run(id)?.ok_or_else(|| Error::not_found(format!("no import run {id}")));
        }
        let run = match store.read()?.resumable_run(request.kind.name(), &fingerprint)? {
            Some(mut run) => {
                tracing::info!(run = run.id, cursor = ?run.cursor, "resuming interrupted import");
                run.state = RunState::Running;
                run.resumed += 1;
                run.error = None;
                run
            }
            None => ImportRunRecord {
                min_play_ms: request.min_play_ms,
                include_incognito: request.include_incognito,
                files_total: files.len() as u64,
                ..ImportRunRecord::new(
                    request.kind.name().to_owned(),
                    request.path.display().to_string(),
                    fingerprint.clone(),
                    clock::now_ms() / 1000,
                )
            },
        };
        let run = store.save_run_blocking(run)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            store: store.clone(),
            events: events.clone(),
            cancel: cancel.clone(),
            family,
            files,
            preparer: Preparer::new(separators, request.kind.source(), run.id),
        };
        let started = run.clone();
        let thread = std::thread::Builder::new()
            .name(format!("import-{}", run.id))
            .spawn(move || job.run(started))
            .map_err(crate::error::io_err("spawn", "import thread"))?;
        running.insert(run.id, Running { fingerprint, cancel, thread });
        Ok(run)
    }

    /// How many imports are running now.
    pub(crate) fn running_count(&self) -> usize {
        self.running.lock().expect("running lock").values().filter(|import| !import.thread.is_finished()).count()
    }

    /// Asks every import to stop at its next record and waits for them; they
    /// are left interrupted, to resume when started again.
    pub(crate) fn stop_all(&self) {
        let running: Vec<Running> = self.running.lock().expect("running lock").drain().map(|(_, run)| run).collect();
        for import in &running {
            import.cancel.store(true, Ordering::Relaxed);
        }
        for import in running {
            let _ = import.thread.join();
        }
    }
}

/// Turns raw listens into prepared ones, sharing identical credits and albums.
struct Preparer {
    separators: Arc<Vec<String>>,
    source: Arc<Provenance>,
    identities: HashMap<(String, String), Arc<TrackIdentity>>,
    albums: HashMap<String, Arc<Name>>,
}

/// Forget cached credits past this many, to bound memory on huge imports.
const MAX_CACHED_IDENTITIES: usize = 300_000;

impl Preparer {
    fn new(separators: Arc<Vec<String>>, source: &str, run_id: u64) -> Preparer {
        Preparer {
            separators,
            source: Arc::new(Provenance { source: source.to_owned(), import_run: Some(run_id) }),
            identities: HashMap::new(),
            albums: HashMap::new(),
        }
    }

    fn prepare(&mut self, listen: RawListen) -> PreparedListen {
        if self.identities.len() > MAX_CACHED_IDENTITIES {
            self.identities.clear();
            self.albums.clear();
        }
        let key = (listen.artist, listen.track);
        let identity = match self.identities.get(&key) {
            Some(identity) => identity.clone(),
            None => {
                let identity = Arc::new(track_identity(&key.0, &key.1, &self.separators));
                self.identities.insert(key, identity.clone());
                identity
            }
        };
        let album = listen
            .album
            .map(|album| self.albums.entry(album).or_insert_with_key(|album| Arc::new(Name::new(album))).clone());
        PreparedListen {
            start_ms: listen.start_ms,
            duration_ms: listen.duration_ms,
            identity,
            album,
            source: self.source.clone(),
            loved: None,
        }
    }
}

/// Splits and keys a credit and title.
pub(crate) fn track_identity(artist: &str, track: &str, separators: &[String]) -> TrackIdentity {
    TrackIdentity {
        credit: split_credit(artist, track, separators),
        raw_artist: artist.to_owned(),
        raw_title: track.to_owned(),
    }
}

/// Like [`track_identity`], with the credit given as separate artist names
/// (`artists[0]` is primary); `artist` is the credit as displayed.
pub(crate) fn track_identity_of_artists(
    artist: &str,
    artists: &[String],
    track: &str,
    separators: &[String],
) -> TrackIdentity {
    TrackIdentity {
        credit: crate::identity::credit_of_artists(artists, track, separators),
        raw_artist: artist.to_owned(),
        raw_title: track.to_owned(),
    }
}

/// One import, on its thread.
struct Job {
    store: Store,
    events: EventBus,
    cancel: Arc<AtomicBool>,
    family: Family,
    files: Vec<InputFile>,
    preparer: Preparer,
}

/// Records how a run ended, from the run as last committed: completed (`None`),
/// interrupted (`Some(None)`, resumable) or failed (`Some(Some(reason))`).
pub(crate) fn finish_run(store: &Store, mut last: ImportRunRecord, ended: Option<Option<String>>) -> ImportRunRecord {
    match ended {
        None => last.state = RunState::Completed,
        Some(None) => last.state = RunState::Interrupted,
        Some(Some(reason)) => {
            tracing::error!(run = last.id, %reason, "import failed");
            last.state = RunState::Failed;
            last.error = Some(reason);
        }
    }
    if last.state != RunState::Interrupted {
        last.finished_at = Some(clock::now_ms() / 1000);
    }
    match store.save_run_blocking(last.clone()) {
        Ok(saved) => saved,
        Err(err) => {
            tracing::error!(run = last.id, error = %err, "cannot save the end of an import");
            last
        }
    }
}

/// Why a run stopped before its end.
enum Stop {
    Cancelled,
    Failed(Error),
}

impl Job {
    fn run(mut self, run: ImportRunRecord) {
        let mut committed = run.clone();
        let ended = match self.import(run, &mut committed) {
            Ok(()) => None,
            Err(Stop::Cancelled) => Some(None),
            Err(Stop::Failed(err)) => Some(Some(err.to_string())),
        };
        let last = finish_run(&self.store, committed, ended);
        tracing::info!(
            run = last.id,
            state = ?last.state,
            imported = last.imported,
            duplicates = last.duplicates,
            rejected = last.rejected,
            "import ended"
        );
        self.events.send(Event::ImportFinished(last));
    }

    /// Imports from the run's cursor on. `committed` always holds the run as
    /// last committed, which is what an interruption leaves behind.
    fn import(&mut self, mut run: ImportRunRecord, committed: &mut ImportRunRecord) -> Result<(), Stop> {
        let rules = Rules { min_play_ms: run.min_play_ms, include_incognito: run.include_incognito };
        let files = std::mem::take(&mut self.files);
        let mut pipeline = Pipeline { store: &self.store, events: &self.events, pending: None };
        for (file_index, file) in files.iter().enumerate() {
            let file_index = file_index as u64;
            if file_index < run.cursor.file {
                continue;
            }
            self.check_cancel()?;
            let skip = if file_index == run.cursor.file { run.cursor.record } else { 0 };
            let data = match file.load() {
                Ok(data) => data,
                Err(err) => return Err(Stop::Failed(Error::invalid(format!("cannot read {}: {err}", file.display)))),
            };
            let info = match formats::validate(&data, self.family) {
                Ok(info) => info,
                Err(reason) => {
                    tracing::warn!(file = %file.display, %reason, "file rejected whole");
                    run.file_errors.push(format!("{}: {reason}", file.display));
                    run.files_done += 1;
                    run.cursor = Cursor { file: file_index + 1, record: 0 };
                    run.file_records_total = 0;
                    run.file_records_done = 0;
                    pipeline.submit(Vec::new(), &run, committed)?;
                    continue;
                }
            };
            run.file_records_total = info.records;
            run.file_records_done = skip;
            let mut batch = Vec::with_capacity(BATCH_LISTENS);
            let mut stop: Option<Stop> = None;
            let visit = &mut |index: u64, outcome: Outcome| {
                match outcome {
                    Outcome::Listen(listen) => batch.push(self.preparer.prepare(listen)),
                    Outcome::Skip(rule) => *run.skipped.entry(rule.to_owned()).or_insert(0) += 1,
                    Outcome::Reject(reason) => {
                        run.rejected += 1;
                        if run.rejected_samples.len() < MAX_REJECTED_SAMPLES {
                            run.rejected_samples.push(format!("{} record {}: {reason}", file.display, index + 1));
                        }
                    }
                }
                run.records += 1;
                run.file_records_done = index + 1;
                if batch.len() >= BATCH_LISTENS {
                    if self.cancel.load(Ordering::Relaxed) {
                        stop = Some(Stop::Cancelled);
                        return ControlFlow::Break(());
                    }
                    run.cursor = Cursor { file: file_index, record: index + 1 };
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_LISTENS));
                    if let Err(err) = pipeline.submit(full, &run, committed) {
                        stop = Some(err);
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            };
            let read = formats::read_records(&data, info, rules, skip, visit);
            if let Some(stop) = stop {
                pipeline.wait(committed)?;
                return Err(stop);
            }
            if let Err(reason) = read {
                // The file passed the first pass, so it changed while being read.
                return Err(Stop::Failed(Error::invalid(format!(
                    "{} changed while importing: {reason}",
                    file.display
                ))));
            }
            self.check_cancel()?;
            run.files_done += 1;
            run.cursor = Cursor { file: file_index + 1, record: 0 };
            pipeline.submit(batch, &run, committed)?;
        }
        pipeline.wait(committed)
    }

    fn check_cancel(&self) -> Result<(), Stop> {
        if self.cancel.load(Ordering::Relaxed) { Err(Stop::Cancelled) } else { Ok(()) }
    }
}

/// Commits batches one behind the parsing: while the writer commits a batch,
/// the next one is parsed.
struct Pipeline<'a> {
    store: &'a Store,
    events: &'a EventBus,
    /// The batch being committed.
    pending: Option<tokio::sync::oneshot::Receiver<Result<crate::store::IngestOutcome>>>,
}

impl Pipeline<'_> {
    /// Waits for the previous batch, then queues this one with the run as it stands after it.
    fn submit(
        &mut self,
        batch: Vec<PreparedListen>,
        run: &ImportRunRecord,
        committed: &mut ImportRunRecord,
    ) -> Result<(), Stop> {
        self.wait(committed)?;
        self.pending = Some(self.store.ingest_later(batch, Some(run.clone()), Vec::new()).map_err(Stop::Failed)?);
        Ok(())
    }

    /// Waits for the batch being committed; `committed` becomes the run as stored with it.
    fn wait(&mut self, committed: &mut ImportRunRecord) -> Result<(), Stop> {
        let Some(receiver) = self.pending.take() else { return Ok(()) };
        let outcome = receiver
            .blocking_recv()
            .map_err(|_| Stop::Failed(Error::Internal(crate::error::InternalError::WorkerGone("store writer"))))?
            .map_err(Stop::Failed)?;
        if let Some(run) = outcome.run {
            *committed = run.clone();
            self.events.send(Event::ImportProgress(run));
        }
        Ok(())
    }
}
