//! Imports of export files, run inside the daemon on their own threads.
//!
//! An import lists its files (sorted, so the order is stable), then for each
//! file: validates it whole (first pass), and stores its listens in batches
//! (second pass). Each batch is committed together with the run's cursor and
//! counts, so after a crash the run resumes exactly where its last commit
//! left it, and ends with the counts an uninterrupted run gives.
//!
//! `Imports` is a cheap `Clone` handle; [`runs`] holds the runs of both kinds
//! of import (export files here, adapter histories in `adapters`).

mod formats;
pub(crate) mod runs;
mod source;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use formats::{Family, Outcome, RawListen, Rules};
use source::InputFile;

use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::library::{Admitted, Commit, Intake, Library, Listen, Origin, SourceName};
use crate::store::IngestOutcome;
use crate::store::records::{Cursor, ExportKind, ImportRunRecord, RunKind, RunState};
use runs::{Ended, Runs};

/// Listens per commit: large enough to amortize the fsync, small enough to keep memory flat.
const BATCH_LISTENS: usize = 10_000;

/// How many rejected-record reasons a run keeps.
const MAX_REJECTED_SAMPLES: usize = 20;

/// What a caller asks for.
#[derive(Debug, Clone)]
pub(crate) struct ImportRequest {
    /// Left out: told by the files' content.
    pub(crate) kind: Option<ExportKind>,
    pub(crate) path: PathBuf,
    /// Left out: the `[import]` default.
    pub(crate) min_play_ms: Option<u64>,
    /// Left out: the `[import]` default.
    pub(crate) include_incognito: Option<bool>,
}

/// Export-file imports; cheap to clone.
#[derive(Clone)]
pub(crate) struct Imports {
    library: Library,
    runs: Runs,
    events: EventBus,
    /// The `[import]` defaults.
    defaults: musique_config::ImportConfig,
}

/// The provenance source of the listens an export brings.
fn source_of(kind: ExportKind) -> SourceName {
    SourceName::known(match kind {
        ExportKind::Spotify => "spotify",
        ExportKind::LastfmCsv => "lastfm",
        ExportKind::Listenbrainz => "listenbrainz",
        ExportKind::LastfmJson => "lastfm",
        ExportKind::Maloja => "maloja",
        ExportKind::Koito => "koito",
        ExportKind::ScrobblerLog => "scrobbler-log",
    })
}

fn family_of(kind: ExportKind) -> Family {
    match kind {
        ExportKind::Spotify => Family::Spotify,
        ExportKind::LastfmCsv => Family::LastfmCsv,
        ExportKind::Listenbrainz => Family::Listenbrainz,
        ExportKind::LastfmJson => Family::LastfmJson,
        ExportKind::Maloja => Family::Maloja,
        ExportKind::Koito => Family::Koito,
        ExportKind::ScrobblerLog => Family::ScrobblerLog,
    }
}

fn kind_of(family: Family) -> ExportKind {
    match family {
        Family::Spotify => ExportKind::Spotify,
        Family::LastfmCsv => ExportKind::LastfmCsv,
        Family::Listenbrainz => ExportKind::Listenbrainz,
        Family::LastfmJson => ExportKind::LastfmJson,
        Family::Maloja => ExportKind::Maloja,
        Family::Koito => ExportKind::Koito,
        Family::ScrobblerLog => ExportKind::ScrobblerLog,
    }
}

/// What a file that is not of the kind asked for looks like, as advice: empty when
/// it looks like no export, or like the kind asked for.
fn looks_like(head: &[u8], asked: Family, path: &str) -> String {
    match formats::sniff(head) {
        Some(family) if family != asked => {
            format!("this is {}: `musiquectl import {} {path}`", family.describe(), kind_of(family).name())
        }
        _ => String::new(),
    }
}

/// The first bytes of a file, or none when it cannot be read.
fn head_of_file(file: &InputFile) -> Vec<u8> {
    let cancel = AtomicBool::new(false);
    let mut head = Vec::new();
    let _ = file.with_reader(&cancel, |reader| {
        std::io::Read::read_to_end(&mut std::io::Read::take(reader, formats::SNIFF_BYTES as u64), &mut head)
    });
    head
}

/// The kind of the first file whose content tells one, and the files of that kind.
fn detect(path: &std::path::Path) -> Result<(ExportKind, Vec<InputFile>)> {
    let any = |name: &str| Family::ALL.iter().any(|family| family.wants(name));
    let files = source::list_files(path, &any).map_err(Error::invalid)?;
    let single = files.len() == 1 && files[0].display == path.display().to_string();
    let Some(family) = files.iter().find_map(|file| formats::sniff(&head_of_file(file))) else {
        return Err(Error::invalid(format!(
            "cannot tell which export {} is: musique reads Spotify, Last.fm (CSV and JSON), ListenBrainz, \
             Maloja and Koito exports and .scrobbler.log files; if it is one of them, name its format: \
             `musiquectl import KIND {}`",
            path.display(),
            path.display()
        )));
    };
    let files = if single { files } else { files.into_iter().filter(|file| family.wants(&file.display)).collect() };
    Ok((kind_of(family), files))
}

impl Imports {
    pub(crate) fn new(
        library: Library,
        runs: Runs,
        events: EventBus,
        defaults: musique_config::ImportConfig,
    ) -> Imports {
        Imports { library, runs, events, defaults }
    }

    /// Starts an import, resumes an interrupted one of the same files, or
    /// returns the run already importing them. Blocks briefly (lists files, one commit).
    pub(crate) fn start(&self, request: ImportRequest) -> Result<ImportRunRecord> {
        if !request.path.is_absolute() {
            return Err(Error::invalid(format!(
                "path {} is not absolute; musiquectl resolves relative paths for you",
                request.path.display()
            )));
        }
        let (export, files) = match request.kind {
            Some(kind) => {
                let family = family_of(kind);
                let files = source::list_files(&request.path, &|path| family.wants(path)).map_err(Error::invalid)?;
                // One file of another kind is answered with what it is, before any run starts.
                if let [file] = files.as_slice()
                    && file.display == request.path.display().to_string()
                {
                    let advice = looks_like(&head_of_file(file), family, &file.display);
                    if !advice.is_empty() {
                        return Err(Error::invalid(format!("{} is not {}; {advice}", file.display, family.describe())));
                    }
                }
                (kind, files)
            }
            None => detect(&request.path)?,
        };
        let family = family_of(export);
        if files.is_empty() {
            return Err(Error::invalid(format!(
                "no {} files found in {} (expected {})",
                export.name(),
                request.path.display(),
                family.expected_files()
            )));
        }
        let kind = RunKind::File(export);
        let fingerprint = format!("{}:{}", export.name(), source::fingerprint(&files));
        if let Some(run) = self.runs.running_with(&fingerprint)? {
            return Ok(run);
        }
        let resumable = self.runs.resumable(&kind, &fingerprint, &[RunState::Interrupted, RunState::Running])?;
        let run = match resumable {
            Some(mut run) => {
                refuse_other_options(&run, &request)?;
                tracing::info!(run = run.id, cursor = ?run.cursor, "resuming interrupted import");
                run.state = RunState::Running;
                run.resumed += 1;
                run.error = None;
                run
            }
            None => {
                let path = request.path.display().to_string();
                let mut run = ImportRunRecord::new(&kind, path, fingerprint.clone(), self.library.clock().now_s());
                run.min_play_ms = request.min_play_ms.unwrap_or(self.defaults.min_play_ms);
                run.include_incognito = request.include_incognito.unwrap_or(self.defaults.include_incognito);
                run.files_total = files.len() as u64;
                run
            }
        };
        let library = self.library.clone();
        let events = self.events.clone();
        let source = source_of(export);
        self.runs.spawn(
            run,
            fingerprint,
            Box::new(move |cancel, run, committed| {
                let origin = Origin::ExportFile { source, run: run.id };
                let mut job =
                    Job { cancel, family, intake: library.intake(&origin), library: &library, events: &events };
                job.run(files, run, committed)
            }),
        )
    }

    /// Stops a run (of either kind) for good; see [`Runs::cancel`].
    pub(crate) fn cancel(&self, id: u64) -> Result<ImportRunRecord> {
        self.runs.cancel(id)
    }

    /// A run (of either kind) by id.
    pub(crate) fn run(&self, id: u64) -> Result<ImportRunRecord> {
        self.runs.get(id)
    }

    /// Runs of both kinds, newest first.
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<ImportRunRecord>> {
        self.runs.list(limit)
    }
}

/// A resumed run keeps the options it started with: asking for others is refused
/// with what to do, never silently ignored.
fn refuse_other_options(run: &ImportRunRecord, request: &ImportRequest) -> Result<()> {
    let mut differ = Vec::new();
    if let Some(asked) = request.min_play_ms.filter(|asked| *asked != run.min_play_ms) {
        differ.push(format!("min_play_ms {} (asked {asked})", run.min_play_ms));
    }
    if let Some(asked) = request.include_incognito.filter(|asked| *asked != run.include_incognito) {
        differ.push(format!("include_incognito {} (asked {asked})", run.include_incognito));
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "import run {} of these files was interrupted with {}; start it again with its options to resume it, \
         or cancel it (`musiquectl imports cancel {}`) and start over with the new ones",
        run.id,
        differ.join(" and "),
        run.id
    )))
}

/// One export-file import, on its thread.
struct Job<'a> {
    cancel: &'a AtomicBool,
    family: Family,
    intake: Intake,
    library: &'a Library,
    events: &'a EventBus,
}

/// Why a run stopped before its end.
enum Stop {
    Cancelled,
    Failed(Error),
}

impl Job<'_> {
    fn run(&mut self, files: Vec<InputFile>, run: ImportRunRecord, committed: &mut ImportRunRecord) -> Ended {
        match self.import(&files, run, committed) {
            // Every file rejected whole: nothing could be imported, the run failed.
            Ok(())
                if !committed.file_errors.is_empty() && committed.file_errors.len() as u64 == committed.files_total =>
            {
                Ended::Failed(format!("no file could be read: {}", committed.file_errors.join("; ")))
            }
            Ok(()) => Ended::Completed,
            Err(Stop::Cancelled) => Ended::Interrupted,
            Err(Stop::Failed(err)) => Ended::Failed(err.to_string()),
        }
    }

    /// Imports from the run's cursor on. `committed` always holds the run as
    /// last committed, which is what an interruption leaves behind.
    fn import(
        &mut self,
        files: &[InputFile],
        mut run: ImportRunRecord,
        committed: &mut ImportRunRecord,
    ) -> Result<(), Stop> {
        let mut pipeline = Pipeline { library: self.library, events: self.events, pending: None };
        for (file_index, file) in files.iter().enumerate() {
            let file_index = file_index as u64;
            if file_index < run.cursor.file {
                continue;
            }
            self.check_cancel()?;
            self.import_file(file_index, file, &mut run, committed, &mut pipeline)?;
        }
        pipeline.wait(committed)
    }

    /// One file: read it, validate it whole, then store its records from the cursor on.
    fn import_file(
        &mut self,
        file_index: u64,
        file: &InputFile,
        run: &mut ImportRunRecord,
        committed: &mut ImportRunRecord,
        pipeline: &mut Pipeline<'_>,
    ) -> Result<(), Stop> {
        let skip = if file_index == run.cursor.file { run.cursor.record } else { 0 };
        if file.size > source::MAX_FILE_BYTES {
            let reason =
                format!("larger than {} GiB ({} bytes): not an export file", source::MAX_FILE_BYTES >> 30, file.size);
            return self.reject_file(file_index, file, &reason, run, committed, pipeline);
        }
        let data = match file.load(self.cancel) {
            Ok(data) => data,
            Err(_) if self.cancel.load(Ordering::Relaxed) => return Err(Stop::Cancelled),
            // Bytes no export has (a zip entry holding more than it declares): the file's fault.
            Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
                return self.reject_file(file_index, file, &err.to_string(), run, committed, pipeline);
            }
            Err(err) => return Err(Stop::Failed(Error::invalid(format!("cannot read {}: {err}", file.display)))),
        };
        let info = match formats::validate(&data, self.family) {
            Ok(info) => info,
            // Reads fail once the run is asked to stop: that is no fault of the file.
            Err(_) if self.cancel.load(Ordering::Relaxed) => return Err(Stop::Cancelled),
            Err(reason) => {
                let advice = looks_like(&formats::head_of(&data), self.family, &file.display);
                let reason = if advice.is_empty() { reason } else { format!("{reason} ({advice})") };
                return self.reject_file(file_index, file, &reason, run, committed, pipeline);
            }
        };
        let mut info = info;
        // Spotify's video histories hold their plays as episodes: the content tells that
        // the file holds no music, the name which kind it is.
        let name = file.display.rsplit('/').next().unwrap_or(&file.display);
        if info.not_music == Some("podcast") && name.starts_with("Streaming_History_Video_") {
            info.not_music = Some("video");
        }
        run.file_records_total = info.records;
        run.file_records_done = skip;
        let rules = Rules { min_play_ms: run.min_play_ms, include_incognito: run.include_incognito };
        let mut batch = Vec::with_capacity(BATCH_LISTENS);
        let mut stop: Option<Stop> = None;
        // Spotify's account data gives the minute a play ended in, not the second.
        let to_the_minute = info.format == formats::Format::SpotifyAccount;
        let visit = &mut |index: u64, outcome: Outcome| {
            self.count(file, index, outcome, to_the_minute, run, &mut batch);
            if batch.len() >= BATCH_LISTENS {
                if self.cancel.load(Ordering::Relaxed) {
                    stop = Some(Stop::Cancelled);
                    return ControlFlow::Break(());
                }
                run.cursor = Cursor { file: file_index, record: index + 1 };
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_LISTENS));
                if let Err(err) = pipeline.submit(full, run, committed) {
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
        if read.is_err() && self.cancel.load(Ordering::Relaxed) {
            pipeline.wait(committed)?;
            return Err(Stop::Cancelled);
        }
        if let Err(reason) = read {
            // The file passed the first pass, so it changed while being read.
            return Err(Stop::Failed(Error::invalid(format!("{} changed while importing: {reason}", file.display))));
        }
        self.check_cancel()?;
        run.files_done += 1;
        run.cursor = Cursor { file: file_index + 1, record: 0 };
        pipeline.submit(batch, run, committed)
    }

    /// Counts what one record became; a listen the library refuses is a rejected record.
    fn count(
        &mut self,
        file: &InputFile,
        index: u64,
        outcome: Outcome,
        to_the_minute: bool,
        run: &mut ImportRunRecord,
        batch: &mut Vec<Admitted>,
    ) {
        let rejected = match outcome {
            Outcome::Listen(listen) => match (listen.minute_start, self.intake.admit(listen_of(listen))) {
                (minute_start, Ok(admitted)) => {
                    let admitted = if minute_start { admitted.starting_to_the_minute() } else { admitted };
                    batch.push(if to_the_minute { admitted.ending_to_the_minute() } else { admitted });
                    None
                }
                (_, Err(refusal)) => Some(refusal.to_string()),
            },
            Outcome::Skip(rule) => {
                *run.skipped.entry(rule.to_owned()).or_insert(0) += 1;
                None
            }
            Outcome::Reject(reason) => Some(reason),
        };
        if let Some(reason) = rejected {
            run.rejected += 1;
            if run.rejected_samples.len() < MAX_REJECTED_SAMPLES {
                run.rejected_samples.push(format!("{} record {}: {reason}", file.display, index + 1));
            }
        }
        run.records += 1;
        run.file_records_done = index + 1;
    }

    /// A file that failed the first pass: nothing of it is stored; the run goes on.
    fn reject_file(
        &self,
        file_index: u64,
        file: &InputFile,
        reason: &str,
        run: &mut ImportRunRecord,
        committed: &mut ImportRunRecord,
        pipeline: &mut Pipeline<'_>,
    ) -> Result<(), Stop> {
        tracing::warn!(file = %file.display, %reason, "file rejected whole");
        run.file_errors.push(format!("{}: {reason}", file.display));
        run.files_done += 1;
        run.cursor = Cursor { file: file_index + 1, record: 0 };
        run.file_records_total = 0;
        run.file_records_done = 0;
        pipeline.submit(Vec::new(), run, committed)
    }

    fn check_cancel(&self) -> Result<(), Stop> {
        if self.cancel.load(Ordering::Relaxed) { Err(Stop::Cancelled) } else { Ok(()) }
    }
}

/// A record's listen as the library takes it.
fn listen_of(listen: RawListen) -> Listen {
    Listen {
        artist: listen.artist,
        track: listen.track,
        album: listen.album,
        artists: listen.artists,
        started_ms: listen.start_ms,
        duration_ms: listen.duration_ms,
        loved: None,
        details: listen.details,
    }
}

/// Commits batches one behind the parsing: while the writer commits a batch,
/// the next one is parsed.
struct Pipeline<'a> {
    library: &'a Library,
    events: &'a EventBus,
    /// The batch being committed.
    pending: Option<crate::library::ingest::Pending>,
}

impl Pipeline<'_> {
    /// Waits for the previous batch, then queues this one with the run as it stands after it.
    fn submit(
        &mut self,
        batch: Vec<Admitted>,
        run: &ImportRunRecord,
        committed: &mut ImportRunRecord,
    ) -> Result<(), Stop> {
        self.wait(committed)?;
        let commit = Commit { listens: batch, run: Some(run.clone()), puts: Vec::new() };
        self.pending = Some(self.library.commit(commit).map_err(Stop::Failed)?);
        Ok(())
    }

    /// Waits for the batch being committed; `committed` becomes the run as stored with it.
    fn wait(&mut self, committed: &mut ImportRunRecord) -> Result<(), Stop> {
        let Some(pending) = self.pending.take() else { return Ok(()) };
        let outcome: IngestOutcome = pending.wait_blocking().map_err(Stop::Failed)?;
        if let Some(run) = outcome.run {
            *committed = run.clone();
            self.events.send(Event::ImportProgress(run));
        }
        Ok(())
    }
}
