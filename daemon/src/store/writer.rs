//! The single writer: resolves names to ids, stores listens, keeps the
//! aggregates and the change log in step, and commits groups of requests in
//! one durable transaction.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use redb::{Database, ReadableDatabase, ReadableTable, Table, WriteTransaction};
use rustc_hash::FxHashMap as HashMap;
use tokio::sync::oneshot;

use super::records::{
    AlbumRecord, ArtistRecord, EnrichmentRecord, FeedbackRecord, ImportRunRecord, ListenDetails, ListenRecord,
    LovedRecord, Provenance, RunState, TrackRecord, decode, decode_listen, encode, encode_listen,
};
use super::series::{self, Granularity};
use super::{Feedback, FeedbackSubject, Kind, ListenKey, Play, PlayRow, SCHEMA_VERSION, StateKey, scoped_key, tables};
use crate::clock::{self, Clock};
use crate::error::{Error, InternalError, Result, StartupError, store_err};
use crate::identity::{Credit, Name};

/// Sends a request's answer once its group is committed (`None`) or failed (the reason).
type Reply = Box<dyn FnOnce(Option<&str>)>;

/// Most requests committed together in one transaction.
const MAX_GROUP: usize = 256;

/// Clear the name→id caches past this many entries, to bound memory.
const MAX_CACHED_KEYS: usize = 1_000_000;

/// Publishes a new last change seq to the store handle.
pub(super) type SeqNotifier = Box<dyn Fn(u64) + Send>;

/// A track's identity as an import or caller gives it, shared by its listens.
#[derive(Debug)]
pub(crate) struct TrackIdentity {
    /// The split credit and bare title.
    pub(crate) credit: Credit,
    /// The credit as given.
    pub(crate) raw_artist: String,
    /// The title as given.
    pub(crate) raw_title: String,
}

/// A listen ready to store: names split and keyed, not yet resolved to ids.
#[derive(Debug, Clone)]
pub(crate) struct PreparedListen {
    /// Start, unix milliseconds (not negative).
    pub(crate) start_ms: i64,
    /// How long it played.
    pub(crate) duration_ms: Option<u64>,
    /// Artist credit and title.
    pub(crate) identity: Arc<TrackIdentity>,
    /// The album, when known.
    pub(crate) album: Option<Arc<Name>>,
    /// Where it came from.
    pub(crate) source: Arc<Provenance>,
    /// Whether the source says the listener loves the track.
    pub(crate) loved: Option<bool>,
    /// Whether the report's end is known to the minute only (its start is the
    /// minute minus the time played), like Spotify's account data.
    pub(crate) minute_end: bool,
    /// Whether the report's start is known to the minute only (the minute it started
    /// in), like lastfm-to-csv's dates.
    pub(crate) minute_start: bool,
    /// What the report carries besides names and times.
    pub(crate) details: Option<Box<ListenDetails>>,
}

/// The meta key listing the sources that reported ends to the minute only, one per line.
const MINUTE_SOURCES: &str = "minute_sources";

/// How far apart two sources' reports of one play may start: they are one
/// listen when they name the same track and start within this many seconds.
/// Sources time plays differently (start vs end minus played time, clocks,
/// pauses); a minute either way covers what is seen in practice while two
/// real plays of one track stay apart (a play lasts longer than that).
pub(crate) const CROSS_SOURCE_WINDOW_S: u64 = 60;

/// A stored listen's key and encoded record.
type StoredListen = (ListenKey, Vec<u8>);

/// Whether `listen` and the stored `record` are one play reported at two
/// precisions: one end to the minute (the minute the play ended in), the other
/// to the second within that minute.
fn other_precision(listen: &PreparedListen, record: &ListenRecord) -> bool {
    const MINUTE_MS: i64 = 60_000;
    let (Some(duration), Some(kept)) = (listen.duration_ms, record.duration_ms) else { return false };
    let end = listen.start_ms + duration as i64;
    let kept_end = record.start_ms + kept as i64;
    if listen.minute_end {
        kept_end != end && kept_end.div_euclid(MINUTE_MS) * MINUTE_MS == end
    } else {
        kept_end.rem_euclid(MINUTE_MS) == 0 && kept_end != end && end.div_euclid(MINUTE_MS) * MINUTE_MS == kept_end
    }
}

/// Whether a report of the same source stored under a key starting at `report_s`
/// (unix seconds) can be the play `listen` reports, at the other precision: one
/// report to the minute (the minute the play started in, or ended in with the same
/// time played), the other to the second.
fn twin_report(listen: &PreparedListen, report_s: u64) -> bool {
    const MINUTE_MS: i64 = 60_000;
    let start_s = listen.start_ms.div_euclid(1000);
    let report_s = report_s as i64;
    if report_s == start_s {
        return false;
    }
    if listen.minute_start || listen.minute_end {
        // The report to the second started (or, playing as long, ended) within the minute after.
        (start_s..=start_s + 60).contains(&report_s)
    } else {
        let minute = |ms: i64| ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let started_in = minute(listen.start_ms).div_euclid(1000);
        let ended_in = listen.duration_ms.map(|played| {
            let played = played as i64;
            (minute(listen.start_ms + played) - played).div_euclid(1000)
        });
        report_s == started_in || ended_in == Some(report_s)
    }
}

/// A small value written with other writes, in the same transaction.
#[derive(Debug)]
pub(crate) enum Put {
    /// The daemon's own state (`SERVICE_STATE`); `None` deletes. Made by [`Put::state`] and [`Put::clear`].
    State { key: StateKey, value: Option<Vec<u8>> },
    /// A plugin's own state (`PLUGIN_STATE`); an empty value deletes.
    Plugin { plugin: String, key: String, value: Vec<u8> },
    /// A track's loved flag.
    Loved { track_key: String, record: LovedRecord },
    /// What a source told about an artist or album.
    Enrichment { kind: Kind, key: String, record: EnrichmentRecord },
    /// Love, hate or neither, as a scrobbling client said. Loving a track sets its
    /// loved flag and takes back a hate; hating or clearing takes back a love.
    Feedback { subject: FeedbackSubject, feedback: Feedback, at_ms: i64, source: String },
    /// A collection item (`OwnedRecord`, JSON) by instance id; `None` deletes.
    Owned { instance_id: u64, value: Option<Vec<u8>> },
    /// A release's details (JSON) by release id.
    Release { release_id: u64, value: Vec<u8> },
    /// The user's link of a release (`LinkRecord`, JSON); `None` drops it.
    Link { release_id: u64, value: Option<Vec<u8>> },
}

impl Put {
    /// Stores a value of the daemon's own state.
    pub(crate) fn state<T: serde::Serialize>(key: StateKey, value: &T) -> Put {
        Put::State { key, value: Some(super::state::encode_value(value)) }
    }

    /// Deletes a value of the daemon's own state.
    pub(crate) fn clear(key: StateKey) -> Put {
        Put::State { key, value: None }
    }
}

/// What an ingest did.
#[derive(Debug)]
pub(crate) struct IngestOutcome {
    /// For each listen sent, in order: its key and whether it was new.
    pub(crate) keys: Vec<(ListenKey, bool)>,
    /// The import run as stored after this batch, when one was given.
    pub(crate) run: Option<ImportRunRecord>,
}

impl IngestOutcome {
    /// The keys of the listens that were new.
    pub(crate) fn added(&self) -> Vec<ListenKey> {
        self.keys.iter().filter(|(_, added)| *added).map(|(key, _)| *key).collect()
    }
}

pub(super) enum WriteOp {
    Ingest {
        listens: Vec<PreparedListen>,
        run: Option<ImportRunRecord>,
        puts: Vec<Put>,
        reply: oneshot::Sender<Result<IngestOutcome>>,
    },
    SaveRun {
        run: ImportRunRecord,
        reply: oneshot::Sender<Result<ImportRunRecord>>,
    },
    PruneChanges {
        through: u64,
    },
    Put {
        puts: Vec<Put>,
        reply: oneshot::Sender<Result<()>>,
    },
    DeleteListen {
        key: ListenKey,
        reply: oneshot::Sender<Result<Option<ListenRecord>>>,
    },
}

/// The writer thread's state. Caches only hold committed or in-flight ids and
/// are dropped whenever a transaction fails.
pub(super) struct Writer {
    db: Arc<Database>,
    notify: SeqNotifier,
    /// Dates loved flags.
    clock: Clock,
    artist_ids: HashMap<String, u64>,
    album_ids: HashMap<String, u64>,
    track_ids: HashMap<String, u64>,
    /// Tracks' lengths as stored (0: none yet), so re-reported durations need no lookup.
    lengths: HashMap<u64, u32>,
    next_artist: u64,
    next_album: u64,
    next_track: u64,
    next_run: u64,
    seq: u64,
    /// Sources with listens in the store: a cross-source match needs another one.
    sources: rustc_hash::FxHashSet<String>,
    /// Whether any alias exists (most stores have none; then no lookup is needed).
    has_aliases: bool,
    /// Sources that reported ends to the minute only: their reports to the second
    /// are matched with those within the source too (others need no scan).
    minute_sources: rustc_hash::FxHashSet<String>,
}

/// Every table a write transaction touches, opened once per transaction.
struct Tables<'txn> {
    meta: Table<'txn, &'static str, &'static [u8]>,
    artists: Table<'txn, u64, &'static [u8]>,
    artist_keys: Table<'txn, &'static str, u64>,
    albums: Table<'txn, u64, &'static [u8]>,
    album_keys: Table<'txn, &'static str, u64>,
    tracks: Table<'txn, u64, &'static [u8]>,
    track_keys: Table<'txn, &'static str, u64>,
    listens: Table<'txn, (u64, u64), &'static [u8]>,
    plays: Table<'txn, (u64, u64), PlayRow>,
    track_lengths: Table<'txn, u64, u32>,
    collection: Table<'txn, u64, &'static [u8]>,
    releases: Table<'txn, u64, &'static [u8]>,
    links: Table<'txn, u64, &'static [u8]>,
    album_last: Table<'txn, u64, u64>,
    aggregates: Table<'txn, (u8, u32, u64), u64>,
    month_counts: Table<'txn, (u8, u32), &'static [u8]>,
    changes: Table<'txn, u64, (u8, u64)>,
    runs: Table<'txn, u64, &'static [u8]>,
    plugin_state: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    service_state: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    loved: Table<'txn, &'static str, &'static [u8]>,
    feedback: Table<'txn, (u8, &'static str), &'static [u8]>,
    enrichments: Table<'txn, (u8, &'static str), &'static [u8]>,
    aliases: Table<'txn, (u64, u64), (u64, u64)>,
    sources: Table<'txn, &'static str, u64>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Tables<'txn>> {
        Ok(Tables {
            meta: txn.open_table(tables::META).map_err(store_err("open meta"))?,
            artists: txn.open_table(tables::ARTISTS).map_err(store_err("open artists"))?,
            artist_keys: txn.open_table(tables::ARTIST_KEYS).map_err(store_err("open artist_keys"))?,
            albums: txn.open_table(tables::ALBUMS).map_err(store_err("open albums"))?,
            album_keys: txn.open_table(tables::ALBUM_KEYS).map_err(store_err("open album_keys"))?,
            tracks: txn.open_table(tables::TRACKS).map_err(store_err("open tracks"))?,
            track_keys: txn.open_table(tables::TRACK_KEYS).map_err(store_err("open track_keys"))?,
            listens: txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?,
            plays: txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?,
            track_lengths: txn.open_table(tables::TRACK_LENGTHS).map_err(store_err("open track lengths"))?,
            collection: txn.open_table(tables::COLLECTION).map_err(store_err("open collection"))?,
            releases: txn.open_table(tables::RELEASES).map_err(store_err("open releases"))?,
            links: txn.open_table(tables::COLLECTION_LINKS).map_err(store_err("open collection links"))?,
            album_last: txn.open_table(tables::ALBUM_LAST).map_err(store_err("open album_last"))?,
            aggregates: txn.open_table(tables::AGGREGATES).map_err(store_err("open aggregates"))?,
            month_counts: txn.open_table(tables::MONTH_COUNTS).map_err(store_err("open month_counts"))?,
            changes: txn.open_table(tables::CHANGES).map_err(store_err("open changes"))?,
            runs: txn.open_table(tables::IMPORT_RUNS).map_err(store_err("open import_runs"))?,
            plugin_state: txn.open_table(tables::PLUGIN_STATE).map_err(store_err("open plugin_state"))?,
            service_state: txn.open_table(tables::SERVICE_STATE).map_err(store_err("open service_state"))?,
            loved: txn.open_table(tables::LOVED).map_err(store_err("open loved"))?,
            feedback: txn.open_table(tables::FEEDBACK).map_err(store_err("open feedback"))?,
            enrichments: txn.open_table(tables::ENRICHMENTS).map_err(store_err("open enrichments"))?,
            aliases: txn.open_table(tables::LISTEN_ALIASES).map_err(store_err("open listen_aliases"))?,
            sources: txn.open_table(tables::SOURCES).map_err(store_err("open sources"))?,
        })
    }
}

/// Reads a u64 kept in the meta table (0 when absent).
pub(super) fn read_u64(meta: &impl ReadableTable<&'static str, &'static [u8]>, key: &str) -> Result<u64> {
    let value = meta.get(key).map_err(store_err("read meta"))?;
    Ok(value.and_then(|bytes| <[u8; 8]>::try_from(bytes.value()).ok()).map(u64::from_le_bytes).unwrap_or(0))
}

/// Creates the tables, checks the schema version, gives the store its id and
/// marks runs left running by a crash as interrupted. Returns (db id, last seq).
pub(super) fn prepare(db: &Database, path: &Path) -> Result<(String, u64)> {
    let before_plays = {
        let txn = db.begin_read().map_err(store_err("begin read"))?;
        match txn.open_table(tables::META) {
            Ok(meta) => schema_version(&meta)?.is_some_and(|version| version < 4),
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(other) => return Err(store_err("open meta")(other)),
        }
    };
    if before_plays {
        tracing::info!(path = %path.display(), "copying the listens into the plays table (schema 4)");
        let copied = fill_plays(db)?;
        tracing::info!(listens = copied, "copied the listens that count into the plays table");
    }
    let txn = db.begin_write().map_err(store_err("begin write"))?;
    let version = schema_version(&txn.open_table(tables::META).map_err(store_err("open meta"))?)?;
    match version {
        Some(found) if found > SCHEMA_VERSION => {
            return Err(Error::Startup(StartupError::DowngradeNotSupported {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            }));
        }
        Some(1) => {
            tracing::info!(path = %path.display(), "upgrading the store from schema 1 to {SCHEMA_VERSION}");
            super::state::upgrade_v1(&txn)?;
            let counted = backfill_quarter_hours(&txn)?;
            tracing::info!(listens = counted, "counted the listens per quarter-hour");
        }
        Some(2) => {
            tracing::info!(path = %path.display(), "upgrading the store from schema 2 to {SCHEMA_VERSION}");
            let counted = backfill_quarter_hours(&txn)?;
            tracing::info!(listens = counted, "counted the listens per quarter-hour");
        }
        _ => {}
    }
    if version.is_some_and(|version| version < 5) {
        let albums = fill_album_last(&txn)?;
        tracing::info!(albums, "noted each album's last listen");
    }
    let (db_id, last_seq) = {
        let mut tables = Tables::open(&txn)?;
        if version != Some(SCHEMA_VERSION) {
            tables
                .meta
                .insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                .map_err(store_err("write meta"))?;
        }
        let existing_id = tables
            .meta
            .get("db_id")
            .map_err(store_err("read meta"))?
            .map(|bytes| String::from_utf8_lossy(bytes.value()).into_owned());
        let db_id = match existing_id {
            Some(id) => id,
            None => {
                let id = new_db_id();
                tables.meta.insert("db_id", id.as_bytes()).map_err(store_err("write meta"))?;
                id
            }
        };
        let mut interrupted = Vec::new();
        for row in tables.runs.iter().map_err(store_err("scan import runs"))? {
            let (key, value) = row.map_err(store_err("scan import runs"))?;
            let run: ImportRunRecord = decode(value.value(), "import_runs")?;
            if run.state == RunState::Running {
                interrupted.push((key.value(), run));
            }
        }
        for (id, mut run) in interrupted {
            run.state = RunState::Interrupted;
            tables.runs.insert(id, encode(&run).as_slice()).map_err(store_err("write import run"))?;
        }
        (db_id, read_u64(&tables.meta, "last_seq")?)
    };
    txn.commit().map_err(store_err("commit"))?;
    Ok((db_id, last_seq))
}

fn new_db_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{nanos:x}-{:x}", std::process::id())
}

impl Writer {
    pub(super) fn new(db: Arc<Database>, notify: SeqNotifier, clock: Clock) -> Result<Writer> {
        let mut writer = Writer {
            db,
            notify,
            clock,
            artist_ids: HashMap::default(),
            album_ids: HashMap::default(),
            track_ids: HashMap::default(),
            lengths: HashMap::default(),
            next_artist: 1,
            next_album: 1,
            next_track: 1,
            next_run: 1,
            seq: 0,
            sources: Default::default(),
            has_aliases: false,
            minute_sources: Default::default(),
        };
        writer.reload()?;
        Ok(writer)
    }

    /// Reloads counters from the committed state and drops the caches.
    fn reload(&mut self) -> Result<()> {
        self.artist_ids.clear();
        self.album_ids.clear();
        self.track_ids.clear();
        self.lengths.clear();
        let txn = self.db.begin_read().map_err(store_err("begin read"))?;
        let next = |def: redb::TableDefinition<u64, &[u8]>| -> Result<u64> {
            let table = txn.open_table(def).map_err(store_err("open table"))?;
            let last = table.last().map_err(store_err("last id"))?;
            Ok(last.map(|(key, _)| key.value() + 1).unwrap_or(1))
        };
        self.next_artist = next(tables::ARTISTS)?;
        self.next_album = next(tables::ALBUMS)?;
        self.next_track = next(tables::TRACKS)?;
        self.next_run = next(tables::IMPORT_RUNS)?;
        let meta = txn.open_table(tables::META).map_err(store_err("open meta"))?;
        self.seq = read_u64(&meta, "last_seq")?;
        let minute_sources = meta.get(MINUTE_SOURCES).map_err(store_err("read meta"))?;
        self.minute_sources = minute_sources
            .map(|bytes| String::from_utf8_lossy(bytes.value()).lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let sources = txn.open_table(tables::SOURCES).map_err(store_err("open sources"))?;
        self.sources.clear();
        for row in sources.iter().map_err(store_err("scan sources"))? {
            let (name, count) = row.map_err(store_err("scan sources"))?;
            if count.value() > 0 {
                self.sources.insert(name.value().to_owned());
            }
        }
        let aliases = txn.open_table(tables::LISTEN_ALIASES).map_err(store_err("open listen_aliases"))?;
        self.has_aliases = aliases.first().map_err(store_err("scan listen_aliases"))?.is_some();
        Ok(())
    }

    pub(super) fn run(mut self, requests: Receiver<WriteOp>) {
        while let Ok(first) = requests.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(op) => group.push(op),
                    Err(_) => break,
                }
            }
            self.apply_group(group);
        }
    }

    fn apply_group(&mut self, group: Vec<WriteOp>) {
        let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
        let result = self.write_group(group, &mut replies);
        let failure = match result {
            Ok(()) => None,
            Err(err) => {
                tracing::error!(error = %err, "store write failed; nothing of this group was stored");
                if let Err(reload) = self.reload() {
                    tracing::error!(error = %reload, "store writer cannot reload its state");
                }
                Some(err.to_string())
            }
        };
        // Publish the new seq before answering, so a caller that reads the index
        // lag after its write sees that write counted.
        if failure.is_none() {
            (self.notify)(self.seq);
        }
        for reply in replies {
            reply(failure.as_deref());
        }
        if self.artist_ids.len() + self.album_ids.len() + self.track_ids.len() + self.lengths.len() > MAX_CACHED_KEYS {
            self.artist_ids.clear();
            self.album_ids.clear();
            self.track_ids.clear();
            self.lengths.clear();
            self.lengths.clear();
        }
    }

    /// Applies every request in one transaction; queues each request's reply,
    /// which is sent only after the commit (or with the failure).
    fn write_group(&mut self, group: Vec<WriteOp>, replies: &mut Vec<Reply>) -> Result<()> {
        let txn = self.db.begin_write().map_err(store_err("begin write"))?;
        {
            let mut tables = Tables::open(&txn)?;
            let mut aggregates: HashMap<(u8, u32, u64), u64> = HashMap::default();
            // What deleted listens counted, taken off after the additions.
            let mut removed: HashMap<(u8, u32, u64), u64> = HashMap::default();
            let mut collection_changed = false;
            for op in group {
                match op {
                    WriteOp::Ingest { listens, run, puts, reply } => {
                        let outcome = self.ingest(&mut tables, &listens, run, &mut aggregates);
                        for put in puts {
                            collection_changed |= self.put(&mut tables, put)?;
                        }
                        let mut outcome = Some(outcome);
                        replies.push(Box::new(move |failure| {
                            let result = match failure {
                                None => outcome.take().expect("one reply"),
                                Some(message) => Err(group_failed(message)),
                            };
                            let _ = reply.send(result);
                        }));
                    }
                    WriteOp::SaveRun { run, reply } => {
                        let saved = self.save_run(&mut tables, run);
                        let mut saved = Some(saved);
                        replies.push(Box::new(move |failure| {
                            let result = match failure {
                                None => saved.take().expect("one reply"),
                                Some(message) => Err(group_failed(message)),
                            };
                            let _ = reply.send(result);
                        }));
                    }
                    WriteOp::Put { puts, reply } => {
                        for put in puts {
                            collection_changed |= self.put(&mut tables, put)?;
                        }
                        replies.push(Box::new(move |failure| {
                            let _ = reply.send(match failure {
                                None => Ok(()),
                                Some(message) => Err(group_failed(message)),
                            });
                        }));
                    }
                    WriteOp::DeleteListen { key, reply } => {
                        let deleted = self.delete_listen(&mut tables, key, &mut removed)?;
                        let mut deleted = Some(deleted);
                        replies.push(Box::new(move |failure| {
                            let _ = reply.send(match failure {
                                None => Ok(deleted.take().expect("one reply")),
                                Some(message) => Err(group_failed(message)),
                            });
                        }));
                    }
                    WriteOp::PruneChanges { through } => {
                        tables.changes.retain_in(..=through, |_, _| false).map_err(store_err("prune changes"))?;
                    }
                }
            }
            apply_aggregates(&mut tables, aggregates)?;
            remove_aggregates(&mut tables, removed)?;
            if collection_changed {
                bump_collection_version(&mut tables)?;
            }
            tables.meta.insert("last_seq", self.seq.to_le_bytes().as_slice()).map_err(store_err("write meta"))?;
        }
        txn.commit().map_err(store_err("commit"))?;
        Ok(())
    }

    /// Applies one put; a collection item written or removed is logged for the
    /// index. Returns whether the collection (items, releases, links) changed.
    fn put(&mut self, tables: &mut Tables<'_>, put: Put) -> Result<bool> {
        let collection = matches!(put, Put::Owned { .. } | Put::Release { .. } | Put::Link { .. });
        if let Put::Owned { instance_id, .. } = &put {
            self.seq += 1;
            tables.changes.insert(self.seq, (super::RECORD_CHANGE, *instance_id)).map_err(store_err("write change"))?;
        }
        apply_put(tables, put)?;
        Ok(collection)
    }

    /// Stores a batch of listens: resolves their names to ids, adds each new
    /// listen or merges it into the one already stored for its play, counts
    /// sources, records loved flags and moves the run's counts.
    fn ingest(
        &mut self,
        tables: &mut Tables<'_>,
        listens: &[PreparedListen],
        run: Option<ImportRunRecord>,
        aggregates: &mut HashMap<(u8, u32, u64), u64>,
    ) -> Result<IngestOutcome> {
        let mut keys = Vec::with_capacity(listens.len());
        let mut batch = BatchTally::default();
        // Listens of one batch share their identities (`Arc`s), so resolve each once.
        // Pointers are stable keys here: `listens` keeps every `Arc` alive.
        let mut resolved: HashMap<(*const TrackIdentity, *const Name), Ids> = HashMap::default();
        for listen in listens {
            let pointers = (Arc::as_ptr(&listen.identity), listen.album.as_ref().map_or(std::ptr::null(), Arc::as_ptr));
            let ids = match resolved.get(&pointers) {
                Some(ids) => *ids,
                None => {
                    let ids = self.resolve(tables, listen)?;
                    resolved.insert(pointers, ids);
                    ids
                }
            };
            let key_and_new = self.store_listen(tables, listen, ids, aggregates, &mut batch)?;
            keys.push(key_and_new);
            if let Some(loved) = listen.loved {
                let credit = &listen.identity.credit;
                batch.loves.insert(scoped_key(&credit.primary, &credit.title), (loved, &listen.source.source));
            }
        }
        self.count_sources(tables, &batch.new_by_source)?;
        self.apply_loves(tables, batch.loves)?;
        let run = match run {
            Some(run) => Some(count_run(tables, run, batch.added, batch.duplicates)?),
            None => None,
        };
        Ok(IngestOutcome { keys, run })
    }

    /// The ids of a listen's artist, album and track, created when new.
    fn resolve(&mut self, tables: &mut Tables<'_>, listen: &PreparedListen) -> Result<Ids> {
        let credit = &listen.identity.credit;
        let artist = self.artist(tables, &credit.primary)?;
        let album = match &listen.album {
            Some(album) => Some(self.album(tables, artist, &credit.primary, album)?),
            None => None,
        };
        let track = self.track(tables, artist, album, &listen.identity)?;
        Ok(Ids { artist, album, track })
    }

    /// Adds a listen, or merges its source into the listen already stored for
    /// the same play. Returns the key it is stored under and whether it is new.
    fn store_listen<'listen>(
        &mut self,
        tables: &mut Tables<'_>,
        listen: &'listen PreparedListen,
        ids: Ids,
        aggregates: &mut HashMap<(u8, u32, u64), u64>,
        batch: &mut BatchTally<'listen>,
    ) -> Result<(ListenKey, bool)> {
        let start_s = u64::try_from(listen.start_ms.div_euclid(1000)).unwrap_or(0);
        let key = ListenKey::new(start_s, ids.track);
        let source = listen.source.source.as_str();
        if (listen.minute_end || listen.minute_start) && !self.minute_sources.contains(source) {
            self.minute_sources.insert(source.to_owned());
            let mut names: Vec<&str> = self.minute_sources.iter().map(String::as_str).collect();
            names.sort_unstable();
            tables.meta.insert(MINUTE_SOURCES, names.join("\n").as_bytes()).map_err(store_err("write meta"))?;
        }
        if let Some(ms) = listen.duration_ms {
            self.learn_length(tables, ids.track, ms)?;
        }
        let existing = match tables.listens.get(key.row()).map_err(store_err("read listen"))? {
            Some(bytes) => Some((key, bytes.value().to_vec())),
            None => self.same_play(tables, key, listen)?,
        };
        let Some((kept_key, bytes)) = existing else {
            let record = listen_record(listen, ids);
            tables.listens.insert(key.row(), encode_listen(&record).as_slice()).map_err(store_err("write listen"))?;
            if !record.excluded {
                write_play(tables, key, &record)?;
                count_listen(aggregates, start_s, ids.artist, ids.album, ids.track, record.duration_ms);
            }
            batch.added += 1;
            *batch.new_by_source.entry(source).or_insert(0) += 1;
            return Ok((key, true));
        };
        batch.duplicates += 1;
        let mut kept: ListenRecord = decode_listen(&bytes)?;
        let mut changed = false;
        if !kept.sources.iter().any(|known| known.source == source) {
            kept.sources.push((*listen.source).clone());
            *batch.new_by_source.entry(source).or_insert(0) += 1;
            changed = true;
        }
        // A later report fills what the listen lacks; what it has stays (first report wins).
        if kept.album_id.is_none()
            && let (Some(album_id), Some(album)) = (ids.album, &listen.album)
        {
            kept.album_id = Some(album_id);
            kept.album = Some(album.display.clone());
            if !kept.excluded {
                count_album(aggregates, kept.start_ms, album_id);
            }
            changed = true;
        }
        if kept.duration_ms.is_none() && listen.duration_ms.is_some() {
            kept.duration_ms = listen.duration_ms;
            if !kept.excluded {
                count_duration(aggregates, kept_key.start_s, listen.duration_ms.unwrap_or(0));
            }
            changed = true;
        }
        if let Some(details) = &listen.details {
            match &mut kept.details {
                Some(known) => changed |= known.gain(details),
                None => {
                    kept.details = Some(details.clone());
                    changed = true;
                }
            }
        }
        if changed {
            tables
                .listens
                .insert(kept_key.row(), encode_listen(&kept).as_slice())
                .map_err(store_err("write listen"))?;
            if !kept.excluded {
                write_play(tables, kept_key, &kept)?;
            }
        }
        if kept_key != key {
            tables.aliases.insert(key.row(), kept_key.row()).map_err(store_err("write alias"))?;
            self.has_aliases = true;
        }
        Ok((kept_key, false))
    }

    /// Keeps a duration reported for a track as its length when it is the longest yet.
    fn learn_length(&mut self, tables: &mut Tables<'_>, track: u64, ms: u64) -> Result<()> {
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        let known = match self.lengths.get(&track) {
            Some(known) => *known,
            None => tables.track_lengths.get(track).map_err(store_err("read track length"))?.map_or(0, |v| v.value()),
        };
        if ms > known {
            tables.track_lengths.insert(track, ms).map_err(store_err("write track length"))?;
        }
        self.lengths.insert(track, ms.max(known));
        Ok(())
    }

    /// Deletes a listen: its row, the aliases other sources' reports of it left,
    /// one report from each of its sources' counts, and (into `removed`) every
    /// aggregate it was counted in. The change log names its track, artist and
    /// album, so the index follows. `None` when no listen has this key.
    fn delete_listen(
        &mut self,
        tables: &mut Tables<'_>,
        key: ListenKey,
        removed: &mut HashMap<(u8, u32, u64), u64>,
    ) -> Result<Option<ListenRecord>> {
        let record: ListenRecord = match tables.listens.remove(key.row()).map_err(store_err("delete listen"))? {
            Some(bytes) => decode_listen(bytes.value())?,
            None => return Ok(None),
        };
        tables.plays.remove(key.row()).map_err(store_err("delete play"))?;
        if let (Some(album), false) = (record.album_id, record.excluded) {
            unwind_album_last(tables, album, key.start_s)?;
        }
        // A report merged into this listen started within the window of it, with the same track.
        let window = (key.start_s.saturating_sub(CROSS_SOURCE_WINDOW_S), key.track_id)
            ..=(key.start_s.saturating_add(CROSS_SOURCE_WINDOW_S), key.track_id);
        tables
            .aliases
            .retain_in(window, |_, target| target != key.row())
            .map_err(store_err("delete listen aliases"))?;
        if !record.excluded {
            count_listen(removed, key.start_s, record.artist_id, record.album_id, record.track_id, record.duration_ms);
        }
        for provenance in &record.sources {
            let source = provenance.source.as_str();
            let stored =
                tables.sources.get(source).map_err(store_err("read sources"))?.map_or(0, |value| value.value());
            if stored > 1 {
                tables.sources.insert(source, stored - 1).map_err(store_err("write sources"))?;
            } else {
                tables.sources.remove(source).map_err(store_err("write sources"))?;
                self.sources.remove(source);
            }
        }
        self.change(tables, Kind::Track, record.track_id)?;
        self.change(tables, Kind::Artist, record.artist_id)?;
        if let Some(album) = record.album_id {
            self.change(tables, Kind::Album, album)?;
        }
        Ok(Some(record))
    }

    /// Adds the batch's new reports per source to the `sources` table.
    fn count_sources(&mut self, tables: &mut Tables<'_>, new_by_source: &HashMap<&str, u64>) -> Result<()> {
        for (&source, &count) in new_by_source {
            let stored =
                tables.sources.get(source).map_err(store_err("read sources"))?.map_or(0, |value| value.value());
            tables.sources.insert(source, stored + count).map_err(store_err("write sources"))?;
            self.sources.insert(source.to_owned());
        }
        Ok(())
    }

    /// Stores loved flags that changed.
    fn apply_loves(&self, tables: &mut Tables<'_>, loves: HashMap<String, (bool, &str)>) -> Result<()> {
        let now_ms = self.clock.now_ms();
        for (track_key, (loved, source)) in loves {
            let stored = match tables.loved.get(track_key.as_str()).map_err(store_err("read loved"))? {
                Some(bytes) => Some(decode::<LovedRecord>(bytes.value(), "loved")?.loved),
                None => None,
            };
            if stored != Some(loved) {
                let record = LovedRecord { loved, at_ms: now_ms, source: source.to_owned() };
                tables
                    .loved
                    .insert(track_key.as_str(), encode(&record).as_slice())
                    .map_err(store_err("write loved"))?;
            }
            if loved {
                tables.feedback.remove((0, track_key.as_str())).map_err(store_err("write feedback"))?;
            }
        }
        Ok(())
    }

    /// The listen already stored for this play, when another report of it is
    /// stored: `key`'s alias if this source reported it before, else the closest
    /// listen of the same track within [`CROSS_SOURCE_WINDOW_S`] that no report
    /// of the source is merged into yet, or that the source reported at the other
    /// precision (one report's end to the minute, the other's to the second, in
    /// the same minute). Returns its key and bytes.
    fn same_play(&self, tables: &Tables<'_>, key: ListenKey, listen: &PreparedListen) -> Result<Option<StoredListen>> {
        let source = listen.source.source.as_str();
        if self.has_aliases
            && let Some(target) = tables.aliases.get(key.row()).map_err(store_err("read alias"))?
        {
            let target = ListenKey::of_row(target.value());
            if let Some(bytes) = tables.listens.get(target.row()).map_err(store_err("read listen"))? {
                return Ok(Some((target, bytes.value().to_vec())));
            }
        }
        // Within one source, only reports at two precisions can be one play; most sources have one.
        let within = listen.minute_end || listen.minute_start || self.minute_sources.contains(source);
        if !within && !self.sources.iter().any(|known| known != source) {
            return Ok(None);
        }
        let ListenKey { start_s, track_id } = key;
        let range = (start_s.saturating_sub(CROSS_SOURCE_WINDOW_S), 0)..=(start_s + CROSS_SOURCE_WINDOW_S, u64::MAX);
        // Each report of the track nearby, by the second it was stored under: the listens'
        // own keys (their first reports) and, within one source, the aliases later reports left.
        let mut reports: Vec<(u64, ListenKey)> = Vec::new();
        for row in tables.listens.range(range.clone()).map_err(store_err("scan listens"))? {
            let candidate = row.map_err(store_err("scan listens"))?.0.value();
            if candidate.1 == track_id {
                reports.push((candidate.0, ListenKey::of_row(candidate)));
            }
        }
        if within && self.has_aliases {
            for row in tables.aliases.range(range).map_err(store_err("scan aliases"))? {
                let (alias, kept) = row.map_err(store_err("scan aliases"))?;
                if alias.value().1 == track_id {
                    reports.push((alias.value().0, ListenKey::of_row(kept.value())));
                }
            }
        }
        let mut best: Option<(u64, ListenKey, Vec<u8>)> = None;
        for (report_s, kept) in reports {
            let distance = report_s.abs_diff(start_s);
            if best.as_ref().is_some_and(|(best, _, _)| *best <= distance) {
                continue;
            }
            let Some(value) = tables.listens.get(kept.row()).map_err(store_err("read listen"))? else { continue };
            let record: ListenRecord = decode_listen(value.value())?;
            let reported = record.sources.iter().any(|known| known.source == source);
            if !reported || (within && (other_precision(listen, &record) || twin_report(listen, report_s))) {
                best = Some((distance, kept, value.value().to_vec()));
            }
        }
        Ok(best.map(|(_, key, bytes)| (key, bytes)))
    }

    fn save_run(&mut self, tables: &mut Tables<'_>, mut run: ImportRunRecord) -> Result<ImportRunRecord> {
        if run.id == 0 {
            run.id = self.next_run;
            self.next_run += 1;
        } else if let Some(bytes) = tables.runs.get(run.id).map_err(store_err("get run"))? {
            // The writer owns these two counts: they come from the commits.
            let stored: ImportRunRecord = decode(bytes.value(), "import_runs")?;
            run.imported = stored.imported;
            run.duplicates = stored.duplicates;
        }
        tables.runs.insert(run.id, encode(&run).as_slice()).map_err(store_err("write run"))?;
        Ok(run)
    }

    fn change(&mut self, tables: &mut Tables<'_>, kind: Kind, id: u64) -> Result<()> {
        self.seq += 1;
        tables.changes.insert(self.seq, (kind as u8, id)).map_err(store_err("write change"))?;
        Ok(())
    }

    fn artist(&mut self, tables: &mut Tables<'_>, name: &Name) -> Result<u64> {
        if let Some(&id) = self.artist_ids.get(&name.key) {
            return Ok(id);
        }
        let found = tables.artist_keys.get(name.key.as_str()).map_err(store_err("get artist key"))?;
        let id = match found.map(|id| id.value()) {
            Some(id) => id,
            None => {
                let id = self.next_artist;
                self.next_artist += 1;
                let record = ArtistRecord { name: name.display.clone(), key: name.key.clone() };
                tables.artists.insert(id, encode(&record).as_slice()).map_err(store_err("write artist"))?;
                tables.artist_keys.insert(name.key.as_str(), id).map_err(store_err("write artist key"))?;
                self.change(tables, Kind::Artist, id)?;
                id
            }
        };
        self.artist_ids.insert(name.key.clone(), id);
        Ok(id)
    }

    fn album(&mut self, tables: &mut Tables<'_>, artist_id: u64, artist: &Name, album: &Name) -> Result<u64> {
        let key = scoped_key(artist, album);
        if let Some(&id) = self.album_ids.get(&key) {
            return Ok(id);
        }
        let found = tables.album_keys.get(key.as_str()).map_err(store_err("get album key"))?;
        let id = match found.map(|id| id.value()) {
            Some(id) => id,
            None => {
                let id = self.next_album;
                self.next_album += 1;
                let record = AlbumRecord { title: album.display.clone(), artist_id, key: key.clone() };
                tables.albums.insert(id, encode(&record).as_slice()).map_err(store_err("write album"))?;
                tables.album_keys.insert(key.as_str(), id).map_err(store_err("write album key"))?;
                self.change(tables, Kind::Album, id)?;
                id
            }
        };
        self.album_ids.insert(key, id);
        Ok(id)
    }

    fn track(
        &mut self,
        tables: &mut Tables<'_>,
        artist_id: u64,
        album_id: Option<u64>,
        identity: &TrackIdentity,
    ) -> Result<u64> {
        let credit = &identity.credit;
        let key = scoped_key(&credit.primary, &credit.title);
        if let Some(&id) = self.track_ids.get(&key) {
            return Ok(id);
        }
        let found = tables.track_keys.get(key.as_str()).map_err(store_err("get track key"))?;
        let id = match found.map(|id| id.value()) {
            Some(id) => id,
            None => {
                let mut featured = Vec::with_capacity(credit.featured.len());
                for name in &credit.featured {
                    featured.push(self.artist(tables, name)?);
                }
                let id = self.next_track;
                self.next_track += 1;
                let record = TrackRecord {
                    title: credit.title.display.clone(),
                    artist_id,
                    featured,
                    album_id,
                    credit: identity.raw_artist.clone(),
                    raw_title: identity.raw_title.clone(),
                    key: key.clone(),
                };
                tables.tracks.insert(id, encode(&record).as_slice()).map_err(store_err("write track"))?;
                tables.track_keys.insert(key.as_str(), id).map_err(store_err("write track key"))?;
                self.change(tables, Kind::Track, id)?;
                id
            }
        };
        self.track_ids.insert(key, id);
        Ok(id)
    }
}

/// Writes one small value.
fn apply_put(tables: &mut Tables<'_>, put: Put) -> Result<()> {
    let result = match put {
        Put::State { key, value } => {
            let (scope, name) = key.row();
            match value {
                Some(value) => tables.service_state.insert((scope, name.as_str()), value.as_slice()).map(|_| ()),
                None => tables.service_state.remove((scope, name.as_str())).map(|_| ()),
            }
        }
        Put::Plugin { plugin, key, value } if value.is_empty() => {
            tables.plugin_state.remove((plugin.as_str(), key.as_str())).map(|_| ())
        }
        Put::Plugin { plugin, key, value } => {
            tables.plugin_state.insert((plugin.as_str(), key.as_str()), value.as_slice()).map(|_| ())
        }
        Put::Loved { track_key, record } => {
            tables.loved.insert(track_key.as_str(), encode(&record).as_slice()).map(|_| ())
        }
        Put::Enrichment { kind, key, record } => {
            tables.enrichments.insert((kind as u8, key.as_str()), encode(&record).as_slice()).map(|_| ())
        }
        Put::Feedback { subject, feedback, at_ms, source } => {
            return apply_feedback(tables, &subject, feedback, at_ms, source);
        }
        Put::Owned { instance_id, value: Some(value) } => {
            tables.collection.insert(instance_id, value.as_slice()).map(|_| ())
        }
        Put::Owned { instance_id, value: None } => tables.collection.remove(instance_id).map(|_| ()),
        Put::Release { release_id, value } => tables.releases.insert(release_id, value.as_slice()).map(|_| ()),
        Put::Link { release_id, value: Some(value) } => tables.links.insert(release_id, value.as_slice()).map(|_| ()),
        Put::Link { release_id, value: None } => tables.links.remove(release_id).map(|_| ()),
    };
    result.map_err(store_err("write state"))
}

/// Stores a love, a hate or neither: a track's love is its loved flag, the rest
/// is in the `feedback` table. Loving takes back a hate, hating takes back a love.
fn apply_feedback(
    tables: &mut Tables<'_>,
    subject: &FeedbackSubject,
    feedback: Feedback,
    at_ms: i64,
    source: String,
) -> Result<()> {
    let row = subject.row();
    let score = match feedback {
        Feedback::Love => 1,
        Feedback::Hate => -1,
        Feedback::Clear => 0,
    };
    if let FeedbackSubject::Track(track_key) = subject {
        let loved = match tables.loved.get(track_key.as_str()).map_err(store_err("read loved"))? {
            Some(bytes) => decode::<LovedRecord>(bytes.value(), "loved")?.loved,
            None => false,
        };
        if loved != (score == 1) {
            let record = LovedRecord { loved: score == 1, at_ms, source: source.clone() };
            tables.loved.insert(track_key.as_str(), encode(&record).as_slice()).map_err(store_err("write loved"))?;
        }
        if score == 1 {
            tables.feedback.remove(row).map_err(store_err("write feedback"))?;
            return Ok(());
        }
    }
    if score == 0 {
        tables.feedback.remove(row).map_err(store_err("write feedback"))?;
    } else {
        let record = FeedbackRecord { score, at_ms, source };
        tables.feedback.insert(row, encode(&record).as_slice()).map_err(store_err("write feedback"))?;
    }
    Ok(())
}

fn group_failed(message: &str) -> Error {
    Error::Internal(InternalError::WriteFailed(message.to_owned()))
}

/// The ids a listen's names resolve to.
#[derive(Debug, Clone, Copy)]
struct Ids {
    artist: u64,
    album: Option<u64>,
    track: u64,
}

/// What one batch did, beyond each listen's key.
#[derive(Default)]
struct BatchTally<'listen> {
    added: u64,
    duplicates: u64,
    /// New reports per source (a new listen, or a source merged into one).
    new_by_source: HashMap<&'listen str, u64>,
    /// Loved flags by track key: the last report of a track wins.
    loves: HashMap<String, (bool, &'listen str)>,
}

/// The record of a new listen.
fn listen_record(listen: &PreparedListen, ids: Ids) -> ListenRecord {
    let identity = &listen.identity;
    let credit = &identity.credit;
    ListenRecord {
        start_ms: listen.start_ms,
        duration_ms: listen.duration_ms,
        track_id: ids.track,
        artist_id: ids.artist,
        album_id: ids.album,
        // A radio play is kept, but not ranked.
        excluded: listen.details.as_ref().is_some_and(|details| details.radio.is_some()),
        artist: credit.primary.display.clone(),
        featured: credit.featured.iter().map(|name| name.display.clone()).collect(),
        track: credit.title.display.clone(),
        album: listen.album.as_ref().map(|album| album.display.clone()),
        credit: (identity.raw_artist != credit.primary.display).then(|| identity.raw_artist.clone()),
        raw_title: (identity.raw_title != credit.title.display).then(|| identity.raw_title.clone()),
        sources: vec![(*listen.source).clone()],
        details: listen.details.clone(),
    }
}

/// Stores a run with its counts moved by this batch; the writer owns these two counts.
fn count_run(
    tables: &mut Tables<'_>,
    mut run: ImportRunRecord,
    added: u64,
    duplicates: u64,
) -> Result<ImportRunRecord> {
    let stored: ImportRunRecord = match tables.runs.get(run.id).map_err(store_err("get run"))? {
        Some(bytes) => decode(bytes.value(), "import_runs")?,
        None => return Err(Error::invalid(format!("no import run {}", run.id))),
    };
    // What the caller counted itself beyond the stored run (a collection sync's
    // items; nothing for listen imports, which pass the run as last committed),
    // plus this batch's listens.
    run.imported = stored.imported + added + run.imported.saturating_sub(stored.imported);
    run.duplicates = stored.duplicates + duplicates + run.duplicates.saturating_sub(stored.duplicates);
    tables.runs.insert(run.id, encode(&run).as_slice()).map_err(store_err("write run"))?;
    Ok(run)
}

/// Adds one listen to every counter it belongs to (in `aggregates`, which holds
/// additions, or removals for a deleted listen).
fn count_listen(
    aggregates: &mut HashMap<(u8, u32, u64), u64>,
    start_s: u64,
    artist_id: u64,
    album_id: Option<u64>,
    track_id: u64,
    duration_ms: Option<u64>,
) {
    let seconds = i64::try_from(start_s).unwrap_or(i64::MAX);
    let day = clock::day_of(seconds);
    let month = u32::try_from(clock::month_of_day(day)).unwrap_or(0);
    let entities = [(Kind::Artist, Some(artist_id)), (Kind::Album, album_id), (Kind::Track, Some(track_id))];
    for (kind, id) in entities {
        let Some(id) = id else { continue };
        *aggregates.entry((series::of(kind, Granularity::Month), month, id)).or_insert(0) += 1;
        *aggregates.entry((series::of(kind, Granularity::All), 0, id)).or_insert(0) += 1;
    }
    *aggregates.entry((series::LISTENS_PER_DAY, u32::try_from(day).unwrap_or(0), 0)).or_insert(0) += 1;
    *aggregates.entry((series::LISTENS_PER_HOUR_OF_WEEK, clock::hour_of_week(seconds), 0)).or_insert(0) += 1;
    let quarter = quarter_of(start_s);
    *aggregates.entry((series::LISTENS_PER_QUARTER_HOUR, quarter, series::QUARTER_PLAYS)).or_insert(0) += 1;
    if let Some(ms) = duration_ms {
        count_duration(aggregates, start_s, ms);
    }
}

/// The schema version a store was written with (`None`: a new store).
fn schema_version(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<u32>> {
    let version = meta.get("schema_version").map_err(store_err("read meta"))?;
    Ok(version.map(|bytes| <[u8; 4]>::try_from(bytes.value()).map(u32::from_le_bytes).unwrap_or(u32::MAX)))
}

/// Writes the `plays` row of a listen that counts, and moves its album's last listen.
fn write_play(tables: &mut Tables<'_>, key: ListenKey, record: &ListenRecord) -> Result<()> {
    let row = Play::row(record.artist_id, record.album_id, record.duration_ms);
    tables.plays.insert(key.row(), row).map_err(store_err("write play"))?;
    if let Some(album) = record.album_id {
        let last = tables.album_last.get(album).map_err(store_err("read album_last"))?.map(|last| last.value());
        if last.is_none_or(|last| last < key.start_s) {
            tables.album_last.insert(album, key.start_s).map_err(store_err("write album_last"))?;
        }
    }
    Ok(())
}

/// After a listen of `album` at `start_s` is deleted: its last listen is the one before, if that was it.
fn unwind_album_last(tables: &mut Tables<'_>, album: u64, start_s: u64) -> Result<()> {
    let last = tables.album_last.get(album).map_err(store_err("read album_last"))?.map(|last| last.value());
    if last != Some(start_s) {
        return Ok(());
    }
    let mut before = None;
    for row in tables.plays.range(..(start_s.saturating_add(1), 0)).map_err(store_err("scan plays"))?.rev() {
        let (key, value) = row.map_err(store_err("scan plays"))?;
        if value.value().1 == album {
            before = Some(key.value().0);
            break;
        }
    }
    match before {
        Some(before) => tables.album_last.insert(album, before).map(|_| ()),
        None => tables.album_last.remove(album).map(|_| ()),
    }
    .map_err(store_err("write album_last"))
}

/// The meta key of the collection's version.
pub(super) const COLLECTION_VERSION: &str = "collection_version";

fn bump_collection_version(tables: &mut Tables<'_>) -> Result<()> {
    let version = read_u64(&tables.meta, COLLECTION_VERSION)? + 1;
    tables.meta.insert(COLLECTION_VERSION, version.to_le_bytes().as_slice()).map_err(store_err("write meta"))?;
    Ok(())
}

/// Fills `album_last` from the plays of a store written before it existed (schema 4 and older).
pub(super) fn fill_album_last(txn: &WriteTransaction) -> Result<u64> {
    let plays = txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?;
    let mut last: HashMap<u64, u64> = HashMap::default();
    for row in plays.iter().map_err(store_err("scan plays"))? {
        let (key, value) = row.map_err(store_err("scan plays"))?;
        let album = value.value().1;
        if album != 0 {
            last.insert(album, key.value().0);
        }
    }
    let mut table = txn.open_table(tables::ALBUM_LAST).map_err(store_err("open album_last"))?;
    for (&album, &start_s) in &last {
        table.insert(album, start_s).map_err(store_err("write album_last"))?;
    }
    Ok(last.len() as u64)
}

/// Listens copied into `plays` per transaction by [`fill_plays`].
const FILL_BATCH: usize = 100_000;

/// Fills the `plays` table (and the tracks' lengths) from the listens of a
/// store written before it existed (schema 3 and older), in transactions of [`FILL_BATCH`] listens so
/// memory stays bounded whatever the history's size. Listens are copied in key
/// order, so after a crash the last row copied is where the next open goes on;
/// the schema version moves only once all are in.
pub(super) fn fill_plays(db: &Database) -> Result<u64> {
    let mut copied = 0;
    loop {
        let txn = db.begin_write().map_err(store_err("begin write"))?;
        let done = {
            let listens = txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
            let mut plays = txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?;
            let after = plays.last().map_err(store_err("scan plays"))?.map(|(key, _)| key.value());
            let rows = match after {
                Some(after) => listens.range((Bound::Excluded(after), Bound::Unbounded)),
                None => listens.range::<(u64, u64)>(..),
            };
            let mut batch = 0;
            let mut lengths: HashMap<u64, u32> = HashMap::default();
            for row in rows.map_err(store_err("scan listens"))? {
                let (key, value) = row.map_err(store_err("scan listens"))?;
                let head = super::records::decode_listen_head(value.value())?;
                if head.excluded {
                    continue;
                }
                let row = Play::row(head.artist_id, head.album_id, head.duration_ms);
                plays.insert(key.value(), row).map_err(store_err("write play"))?;
                if let Some(ms) = head.duration_ms {
                    let longest = lengths.entry(head.track_id).or_insert(0);
                    *longest = (*longest).max(u32::try_from(ms).unwrap_or(u32::MAX));
                }
                batch += 1;
                if batch == FILL_BATCH {
                    break;
                }
            }
            copied += batch as u64;
            let mut stored = txn.open_table(tables::TRACK_LENGTHS).map_err(store_err("open track lengths"))?;
            for (track, ms) in lengths {
                let known = stored.get(track).map_err(store_err("read track length"))?.map_or(0, |v| v.value());
                if ms > known {
                    stored.insert(track, ms).map_err(store_err("write track length"))?;
                }
            }
            batch < FILL_BATCH
        };
        txn.commit().map_err(store_err("commit"))?;
        if done {
            return Ok(copied);
        }
    }
}

/// The quarter-hour bucket (900 s periods since the epoch) of a start second.
fn quarter_of(start_s: u64) -> u32 {
    u32::try_from(start_s / series::QUARTER_S as u64).unwrap_or(u32::MAX)
}

/// Counts a listen's known duration in its quarter-hour (the play itself is counted apart).
fn count_duration(aggregates: &mut HashMap<(u8, u32, u64), u64>, start_s: u64, ms: u64) {
    let quarter = quarter_of(start_s);
    let series = series::LISTENS_PER_QUARTER_HOUR;
    *aggregates.entry((series, quarter, series::QUARTER_PLAYS)).or_insert(0) += series::KNOWN_DURATION;
    if ms > 0 {
        *aggregates.entry((series, quarter, series::QUARTER_MS)).or_insert(0) += ms;
    }
}

/// Fills the quarter-hour series from the listens of a store written before it
/// existed (schema 2 and older). It runs inside the upgrade's write
/// transaction, so a crash leaves the old schema and the next open starts it
/// again. Listens come in time order, so each quarter-hour is written once it
/// is complete: memory stays one bucket, whatever the history's size.
pub(super) fn backfill_quarter_hours(txn: &WriteTransaction) -> Result<u64> {
    let listens = txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
    let mut aggregates = txn.open_table(tables::AGGREGATES).map_err(store_err("open aggregates"))?;
    let series = series::LISTENS_PER_QUARTER_HOUR;
    aggregates
        .retain_in((series, 0, 0)..=(series, u32::MAX, u64::MAX), |_, _| false)
        .map_err(store_err("clear quarter hours"))?;
    let mut current: Option<(u32, u64, u64)> = None;
    let flush = |aggregates: &mut redb::Table<(u8, u32, u64), u64>, bucket: Option<(u32, u64, u64)>| {
        let Some((quarter, plays, ms)) = bucket else { return Ok(()) };
        aggregates.insert((series, quarter, series::QUARTER_PLAYS), plays).map_err(store_err("write aggregate"))?;
        if ms > 0 {
            aggregates.insert((series, quarter, series::QUARTER_MS), ms).map_err(store_err("write aggregate"))?;
        }
        Ok::<(), Error>(())
    };
    let mut counted = 0;
    for row in listens.iter().map_err(store_err("scan listens"))? {
        let (key, value) = row.map_err(store_err("scan listens"))?;
        let head = super::records::decode_listen_head(value.value())?;
        if head.excluded {
            continue;
        }
        let quarter = quarter_of(key.value().0);
        if current.is_some_and(|(other, _, _)| other != quarter) {
            flush(&mut aggregates, current.take())?;
        }
        let bucket = current.get_or_insert((quarter, 0, 0));
        bucket.1 += 1;
        if let Some(ms) = head.duration_ms {
            bucket.1 += series::KNOWN_DURATION;
            bucket.2 += ms;
        }
        counted += 1;
    }
    flush(&mut aggregates, current.take())?;
    Ok(counted)
}

/// Counts a listen's album once it is known (a later report of the play named it).
fn count_album(aggregates: &mut HashMap<(u8, u32, u64), u64>, start_ms: i64, album_id: u64) {
    let month = u32::try_from(clock::month_of_day(clock::day_of(start_ms.div_euclid(1000)))).unwrap_or(0);
    *aggregates.entry((series::of(Kind::Album, Granularity::Month), month, album_id)).or_insert(0) += 1;
    *aggregates.entry((series::of(Kind::Album, Granularity::All), 0, album_id)).or_insert(0) += 1;
}

/// Adds the collected deltas to the stored counters, in key order: month
/// counters merge into one value per month, the others are rows.
fn apply_aggregates(tables: &mut Tables<'_>, aggregates: HashMap<(u8, u32, u64), u64>) -> Result<()> {
    let mut deltas: Vec<_> = aggregates.into_iter().collect();
    deltas.sort_unstable_by_key(|(key, _)| *key);
    let mut index = 0;
    while index < deltas.len() {
        let ((series, bucket, _), delta) = deltas[index];
        if let Some(kind) = series::month_kind(series) {
            let run = deltas[index..]
                .partition_point(|((other, other_bucket, _), _)| (*other, *other_bucket) == (series, bucket));
            let pairs: Vec<(u64, u64)> =
                deltas[index..index + run].iter().map(|((_, _, id), plays)| (*id, *plays)).collect();
            let existing = tables
                .month_counts
                .get((kind, bucket))
                .map_err(store_err("get month counts"))?
                .map(|bytes| bytes.value().to_vec())
                .unwrap_or_default();
            let merged = super::counts::merge(&existing, &pairs)?;
            tables.month_counts.insert((kind, bucket), merged.as_slice()).map_err(store_err("write month counts"))?;
            index += run;
        } else {
            let key = deltas[index].0;
            // One descent for a new counter; an existing one is added to and written again.
            let previous =
                tables.aggregates.insert(key, delta).map_err(store_err("write aggregate"))?.map(|plays| plays.value());
            if let Some(previous) = previous {
                tables.aggregates.insert(key, previous + delta).map_err(store_err("write aggregate"))?;
            }
            index += 1;
        }
    }
    Ok(())
}

/// Takes the counts of deleted listens off the stored counters, in key order;
/// a counter that reaches zero is removed, so the store ends as if the listens
/// had never been added.
fn remove_aggregates(tables: &mut Tables<'_>, removed: HashMap<(u8, u32, u64), u64>) -> Result<()> {
    let mut deltas: Vec<_> = removed.into_iter().collect();
    deltas.sort_unstable_by_key(|(key, _)| *key);
    let mut index = 0;
    while index < deltas.len() {
        let ((series, bucket, _), delta) = deltas[index];
        if let Some(kind) = series::month_kind(series) {
            let run = deltas[index..]
                .partition_point(|((other, other_bucket, _), _)| (*other, *other_bucket) == (series, bucket));
            let pairs: Vec<(u64, u64)> =
                deltas[index..index + run].iter().map(|((_, _, id), plays)| (*id, *plays)).collect();
            let existing = tables
                .month_counts
                .get((kind, bucket))
                .map_err(store_err("get month counts"))?
                .map(|bytes| bytes.value().to_vec())
                .unwrap_or_default();
            let remaining = super::counts::subtract(&existing, &pairs)?;
            if remaining.len() > 1 {
                tables
                    .month_counts
                    .insert((kind, bucket), remaining.as_slice())
                    .map_err(store_err("write month counts"))?;
            } else {
                tables.month_counts.remove((kind, bucket)).map_err(store_err("write month counts"))?;
            }
            index += run;
        } else {
            let key = deltas[index].0;
            let stored =
                tables.aggregates.get(key).map_err(store_err("read aggregate"))?.map_or(0, |plays| plays.value());
            if stored > delta {
                tables.aggregates.insert(key, stored - delta).map_err(store_err("write aggregate"))?;
            } else {
                tables.aggregates.remove(key).map_err(store_err("write aggregate"))?;
            }
            index += 1;
        }
    }
    Ok(())
}
