//! The store: every artist, album, track, listen, aggregate and import run, in redb.
//!
//! One writer thread owns every write ([`writer`]): requests queue on a
//! channel and the writer commits whatever has queued up in one durable
//! transaction (group commit), so a burst of small writes costs one fsync.
//! Reads open their own MVCC snapshot and never wait for the writer.
//!
//! Each write transaction keeps the aggregates and the change log in step
//! with the listens it adds, so after a crash at any point the store is
//! consistent and the indexer can catch up from the change log.

mod counts;
pub(crate) mod records;
mod state;
pub(crate) mod tables;
mod writer;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::clock::Clock;
use crate::error::{Error, InternalError, Result, StartupError, store_err};
use crate::identity::Name;
use records::{
    AlbumRecord, ArtistRecord, EnrichmentRecord, FeedbackRecord, ImportRunRecord, ListenRecord, LovedRecord,
    TrackRecord, decode,
};
pub(crate) use state::{StateKey, StateScope};
pub(crate) use writer::{IngestOutcome, PreparedListen, Put, TrackIdentity};
use writer::{WriteOp, Writer};

/// The on-disk schema version this build writes and reads.
/// 2: the daemon's state values all in the records' encoding (see `state::upgrade_v1`).
/// 3: plays and time per UTC quarter-hour (see `writer::backfill_quarter_hours`).
/// 4: the `plays` table, the listens narrowed for scans (see `writer::fill_plays`).
/// 5: `album_last`, each album's last listen (see `writer::fill_album_last`).
pub(crate) const SCHEMA_VERSION: u32 = 5;

/// Name of the store file inside the data directory.
pub(crate) const STORE_FILE: &str = "musique.redb";

/// The kinds of entity the store keeps, as stored in the change log and aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Artist = 0,
    Album = 1,
    Track = 2,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Artist, Kind::Album, Kind::Track];

    pub(crate) fn from_u8(value: u8) -> Option<Kind> {
        match value {
            0 => Some(Kind::Artist),
            1 => Some(Kind::Album),
            2 => Some(Kind::Track),
            _ => None,
        }
    }
}

/// A listen's identity and its key in the `listens` table: its start second and its track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ListenKey {
    pub(crate) start_s: u64,
    pub(crate) track_id: u64,
}

impl ListenKey {
    pub(crate) fn new(start_s: u64, track_id: u64) -> ListenKey {
        ListenKey { start_s, track_id }
    }

    /// The key as the `listens` table stores it.
    pub(crate) fn row(self) -> (u64, u64) {
        (self.start_s, self.track_id)
    }

    fn of_row((start_s, track_id): (u64, u64)) -> ListenKey {
        ListenKey { start_s, track_id }
    }
}

/// Shown as `START-TRACK` (the listen id of the API).
impl std::fmt::Display for ListenKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}-{}", self.start_s, self.track_id)
    }
}

impl std::str::FromStr for ListenKey {
    type Err = ();

    fn from_str(text: &str) -> std::result::Result<ListenKey, ()> {
        let (start, track) = text.split_once('-').ok_or(())?;
        Ok(ListenKey { start_s: start.parse().map_err(|_| ())?, track_id: track.parse().map_err(|_| ())? })
    }
}

/// Who feedback is about: a track, by its canonical key, or a recording known
/// only by its MusicBrainz id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FeedbackSubject {
    Track(String),
    Recording(String),
}

impl FeedbackSubject {
    /// The subject's key in the `feedback` table.
    fn row(&self) -> (u8, &str) {
        match self {
            FeedbackSubject::Track(key) => (0, key),
            FeedbackSubject::Recording(mbid) => (1, mbid),
        }
    }

    fn of_row(kind: u8, key: &str) -> Option<FeedbackSubject> {
        match kind {
            0 => Some(FeedbackSubject::Track(key.to_owned())),
            1 => Some(FeedbackSubject::Recording(key.to_owned())),
            _ => None,
        }
    }
}

/// What the listener says about a track or recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feedback {
    Love,
    Hate,
    /// Takes back a love or a hate.
    Clear,
}

/// Feedback as it stands: about what, love (`1`) or hate (`-1`), and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedbackEntry {
    pub(crate) subject: FeedbackSubject,
    pub(crate) score: i8,
    /// Unix milliseconds.
    pub(crate) at_ms: i64,
}

/// How many of each thing the store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) artists: u64,
    pub(crate) albums: u64,
    pub(crate) tracks: u64,
    pub(crate) listens: u64,
}

/// Aggregate series: which counter a row of `AGGREGATES` is.
pub(crate) mod series {
    use super::Kind;

    /// Time buckets of the per-entity counters. Parts of months are counted
    /// from the listens themselves (a month is at most a few thousand).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Granularity {
        /// Bucket = months since 1970-01 (UTC).
        Month = 1,
        /// Bucket = 0: all time.
        All = 2,
    }

    /// Plays per entity per bucket.
    pub(crate) fn of(kind: Kind, granularity: Granularity) -> u8 {
        kind as u8 * 4 + granularity as u8
    }

    /// The entity kind of a month series (stored as one value per month), if it is one.
    pub(crate) fn month_kind(series: u8) -> Option<u8> {
        (series < 12 && series % 4 == Granularity::Month as u8).then_some(series / 4)
    }

    /// Plays per UTC day (entity 0).
    pub(crate) const LISTENS_PER_DAY: u8 = 100;
    /// Plays per hour of the week, Monday 00h = 0 (entity 0).
    pub(crate) const LISTENS_PER_HOUR_OF_WEEK: u8 = 101;
    /// Per UTC quarter-hour (bucket = 900 s periods since the epoch): entity
    /// [`QUARTER_PLAYS`] holds the plays in the low 32 bits and the plays with a
    /// known duration in the high 32 bits, entity [`QUARTER_MS`] the milliseconds
    /// played. Every real zone offset is a multiple of 15 minutes, so any zone's
    /// hours, days, weeks, months and years are sums of these buckets.
    pub(crate) const LISTENS_PER_QUARTER_HOUR: u8 = 102;
    /// The entity of [`LISTENS_PER_QUARTER_HOUR`] counting plays (and known durations).
    pub(crate) const QUARTER_PLAYS: u64 = 0;
    /// The entity of [`LISTENS_PER_QUARTER_HOUR`] counting milliseconds played.
    pub(crate) const QUARTER_MS: u64 = 1;
    /// Length of a quarter-hour bucket, in seconds.
    pub(crate) const QUARTER_S: i64 = 900;
    /// One play with a known duration, as added to a [`QUARTER_PLAYS`] counter.
    pub(crate) const KNOWN_DURATION: u64 = 1 << 32;
}

/// What the listens of one UTC quarter-hour add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QuarterHour {
    /// Start of the quarter-hour (unix seconds).
    pub(crate) start_s: i64,
    /// Listens that started in it.
    pub(crate) plays: u64,
    /// Of those, how many had a time (a duration or their track's length).
    pub(crate) known: u64,
    /// Of those, how many took their track's length.
    pub(crate) from_length: u64,
    /// The times added up (listens without one count 0 ms).
    pub(crate) ms: u64,
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    shared: Arc<Shared>,
}

/// What the store handle and the writer thread share.
struct Shared {
    /// The database; readers use it directly, the writer thread writes.
    db: Arc<Database>,
    /// The store file, for its size.
    path: PathBuf,
    /// Random id of this database, so the index can tell a replaced store.
    db_id: String,
    /// Last change seq committed; the indexer waits on `changed`.
    last_seq: AtomicU64,
    /// Wakes the indexer when `last_seq` moves. The mutex guards nothing but the wait.
    changed: (Mutex<()>, Condvar),
    /// Sends requests to the writer thread; `None` once closed.
    writer: Mutex<Option<std::sync::mpsc::SyncSender<WriteOp>>>,
    /// The writer thread, joined on close.
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Names of entities already looked up. Entities never change once
    /// created, so entries never go stale; the cache is dropped when full.
    names: Arc<std::sync::RwLock<NameCache>>,
}

/// Most names kept in the shared cache (about 60 bytes each).
const MAX_CACHED_NAMES: usize = 400_000;

/// Display names by id, shared by all requests.
#[derive(Default)]
pub(crate) struct NameCache {
    artists: rustc_hash::FxHashMap<u64, Arc<str>>,
    albums: rustc_hash::FxHashMap<u64, (Arc<str>, u64)>,
    tracks: rustc_hash::FxHashMap<u64, TrackNames>,
}

/// A track's title, artist id and featured artist ids.
pub(crate) type TrackNames = (Arc<str>, u64, Arc<[u64]>);

impl NameCache {
    fn len(&self) -> usize {
        self.artists.len() + self.albums.len() + self.tracks.len()
    }
}

/// Most write requests queued before senders wait: keeps memory bounded under bursts.
const MAX_QUEUED_WRITES: usize = 64;

impl Store {
    /// Opens (or creates) the store in `data_dir`, checks its schema version,
    /// marks imports that were running as interrupted, and starts the writer.
    pub(crate) fn open(data_dir: &Path, cache_mb: u64, clock: Clock) -> Result<Store> {
        let path = data_dir.join(STORE_FILE);
        let cache_bytes = usize::try_from(cache_mb * 1024 * 1024).unwrap_or(usize::MAX);
        let db = Database::builder().set_cache_size(cache_bytes).create(&path).map_err(|err| match err {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::Startup(StartupError::DataDirInUse(data_dir.to_owned())),
            other => store_err("open")(other),
        })?;
        let db = Arc::new(db);
        let (db_id, last_seq) = writer::prepare(&db, &path)?;
        let (sender, receiver) = std::sync::mpsc::sync_channel(MAX_QUEUED_WRITES);
        let shared = Arc::new(Shared {
            db: db.clone(),
            path,
            db_id,
            last_seq: AtomicU64::new(last_seq),
            changed: (Mutex::new(()), Condvar::new()),
            writer: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(None),
            names: Default::default(),
        });
        let writer = Writer::new(db, shared_notifier(&shared), clock)?;
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(crate::error::io_err("spawn", "store-writer"))?;
        *shared.writer_thread.lock().expect("writer_thread lock") = Some(thread);
        Ok(Store { shared })
    }

    /// Stops the writer after the queued writes; the database closes when the last handle drops.
    pub(crate) fn close(&self) {
        self.shared.writer.lock().expect("writer lock").take();
        if let Some(thread) = self.shared.writer_thread.lock().expect("writer_thread lock").take() {
            let _ = thread.join();
        }
    }

    /// The random id of this database.
    pub(crate) fn db_id(&self) -> &str {
        &self.shared.db_id
    }

    /// The last committed change seq.
    pub(crate) fn last_seq(&self) -> u64 {
        self.shared.last_seq.load(Ordering::Acquire)
    }

    /// Waits until the change seq passes `seen` or `timeout` elapses.
    pub(crate) fn wait_for_change(&self, seen: u64, timeout: std::time::Duration) {
        let (lock, condvar) = &self.shared.changed;
        let guard = lock.lock().expect("changed lock");
        if self.last_seq() > seen {
            return;
        }
        let _ = condvar.wait_timeout(guard, timeout);
    }

    /// The folder the store lives in.
    pub(crate) fn data_dir(&self) -> &Path {
        self.shared.path.parent().unwrap_or(Path::new("."))
    }

    /// Size of the store file in bytes.
    pub(crate) fn file_size(&self) -> u64 {
        std::fs::metadata(&self.shared.path).map(|meta| meta.len()).unwrap_or(0)
    }

    /// A read snapshot.
    pub(crate) fn read(&self) -> Result<Reader> {
        let txn = self.shared.db.begin_read().map_err(store_err("begin read"))?;
        Ok(Reader { txn, names: self.shared.names.clone(), lengths: std::sync::OnceLock::new() })
    }

    /// Queues listens (with an import run and small values) for one commit and
    /// returns where its outcome will arrive. Only the library calls this: it
    /// checks every listen first.
    pub(crate) fn ingest(
        &self,
        listens: Vec<PreparedListen>,
        run: Option<ImportRunRecord>,
        puts: Vec<Put>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<IngestOutcome>>> {
        self.submit(|reply| WriteOp::Ingest { listens, run, puts, reply })
    }

    /// Writes small values in one commit, from an async context; returns once durable.
    pub(crate) async fn put(&self, puts: Vec<Put>) -> Result<()> {
        let receiver = self.submit(|reply| WriteOp::Put { puts, reply })?;
        receiver.await.map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }

    /// Deletes a listen in one durable commit: the listen, the keys other sources
    /// reported it under, every aggregate it counted in and its sources' counts.
    /// Returns the deleted record, `None` when no listen has that key.
    pub(crate) async fn delete_listen(&self, key: ListenKey) -> Result<Option<ListenRecord>> {
        let receiver = self.submit(|reply| WriteOp::DeleteListen { key, reply })?;
        receiver.await.map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }

    /// Creates (id 0) or updates an import run; returns it as stored.
    pub(crate) fn save_run_blocking(&self, run: ImportRunRecord) -> Result<ImportRunRecord> {
        self.submit(|reply| WriteOp::SaveRun { run, reply })?
            .blocking_recv()
            .map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }

    /// Writes small values in one commit; blocks until durable.
    pub(crate) fn put_blocking(&self, puts: Vec<Put>) -> Result<()> {
        self.submit(|reply| WriteOp::Put { puts, reply })?
            .blocking_recv()
            .map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }

    /// Drops change-log entries up to `through`, once the index has them.
    pub(crate) fn prune_changes(&self, through: u64) {
        let sender = self.shared.writer.lock().expect("writer lock").clone();
        if let Some(sender) = sender {
            let _ = sender.send(WriteOp::PruneChanges { through });
        }
    }

    fn submit<T>(
        &self,
        op: impl FnOnce(tokio::sync::oneshot::Sender<Result<T>>) -> WriteOp,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T>>> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let sender = self.shared.writer.lock().expect("writer lock").clone();
        let sender = sender.ok_or(Error::Internal(InternalError::WorkerGone("store writer")))?;
        sender.send(op(reply)).map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?;
        Ok(receiver)
    }
}

/// Lets the writer publish a new change seq.
fn shared_notifier(shared: &Arc<Shared>) -> writer::SeqNotifier {
    let shared = Arc::downgrade(shared);
    Box::new(move |seq| {
        if let Some(shared) = shared.upgrade() {
            shared.last_seq.store(seq, Ordering::Release);
            let _guard = shared.changed.0.lock().expect("changed lock");
            shared.changed.1.notify_all();
        }
    })
}

/// A consistent read snapshot of the store.
pub(crate) struct Reader {
    txn: ReadTransaction,
    names: Arc<std::sync::RwLock<NameCache>>,
    /// The tracks' lengths, read when a scan first meets a listen without a duration.
    lengths: std::sync::OnceLock<Lengths>,
}

/// The tracks' lengths by id (0: unknown), dense as ids are.
struct Lengths(Vec<u32>);

/// A listen with its identity key.
pub(crate) type KeyedListen = (ListenKey, ListenRecord);

impl Reader {
    /// How many rows each entity table and the listens table hold.
    pub(crate) fn counts(&self) -> Result<Counts> {
        // Every table exists: `Store::open` creates them.
        let len = |def: redb::TableDefinition<u64, &[u8]>| -> Result<u64> {
            self.txn.open_table(def).map_err(store_err("open table"))?.len().map_err(store_err("count"))
        };
        let listens = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let listens = listens.len().map_err(store_err("count listens"))?;
        Ok(Counts {
            artists: len(tables::ARTISTS)?,
            albums: len(tables::ALBUMS)?,
            tracks: len(tables::TRACKS)?,
            listens,
        })
    }

    /// An artist by id.
    pub(crate) fn artist(&self, id: u64) -> Result<Option<ArtistRecord>> {
        self.entity(tables::ARTISTS, "artists", id)
    }

    /// An album by id.
    pub(crate) fn album(&self, id: u64) -> Result<Option<AlbumRecord>> {
        self.entity(tables::ALBUMS, "albums", id)
    }

    /// A track by id.
    pub(crate) fn track(&self, id: u64) -> Result<Option<TrackRecord>> {
        self.entity(tables::TRACKS, "tracks", id)
    }

    fn entity<T: serde::de::DeserializeOwned>(
        &self,
        def: redb::TableDefinition<u64, &[u8]>,
        name: &'static str,
        id: u64,
    ) -> Result<Option<T>> {
        let table = self.txn.open_table(def).map_err(store_err("open entity table"))?;
        match table.get(id).map_err(store_err("get entity"))? {
            Some(bytes) => Ok(Some(decode(bytes.value(), name)?)),
            None => Ok(None),
        }
    }

    /// Every entity of a kind, in id order, for index rebuilds.
    pub(crate) fn for_each_entity(&self, kind: Kind, mut visit: impl FnMut(u64) -> Result<()>) -> Result<()> {
        let def = match kind {
            Kind::Artist => tables::ARTISTS,
            Kind::Album => tables::ALBUMS,
            Kind::Track => tables::TRACKS,
        };
        let table = self.txn.open_table(def).map_err(store_err("open entity table"))?;
        for row in table.iter().map_err(store_err("scan entities"))? {
            let (key, _) = row.map_err(store_err("scan entities"))?;
            visit(key.value())?;
        }
        Ok(())
    }

    /// Change-log entries after `seq`, at most `limit`.
    pub(crate) fn changes_after(&self, seq: u64, limit: usize) -> Result<Vec<(u64, Change)>> {
        let table = self.txn.open_table(tables::CHANGES).map_err(store_err("open changes"))?;
        let mut changes = Vec::new();
        for row in table.range(seq.saturating_add(1)..).map_err(store_err("scan changes"))? {
            let (key, value) = row.map_err(store_err("scan changes"))?;
            let (kind, id) = value.value();
            let change = match Kind::from_u8(kind) {
                Some(kind) => Some(Change::Entity(kind, id)),
                None if kind == RECORD_CHANGE => Some(Change::Record(id)),
                None => None,
            };
            if let Some(change) = change {
                changes.push((key.value(), change));
            }
            if changes.len() >= limit {
                break;
            }
        }
        Ok(changes)
    }

    /// The oldest seq still in the change log.
    pub(crate) fn first_change(&self) -> Result<Option<u64>> {
        let table = self.txn.open_table(tables::CHANGES).map_err(store_err("open changes"))?;
        Ok(table.first().map_err(store_err("first change"))?.map(|(key, _)| key.value()))
    }

    /// The last committed change seq as seen by this snapshot.
    pub(crate) fn last_seq(&self) -> Result<u64> {
        let meta = self.txn.open_table(tables::META).map_err(store_err("open meta"))?;
        writer::read_u64(&meta, "last_seq")
    }

    /// Listens with start in `[from_s, to_s)`, newest first, strictly before
    /// `before` when given, at most `limit`.
    pub(crate) fn listens_newest_first(
        &self,
        from_s: u64,
        to_s: u64,
        before: Option<ListenKey>,
        limit: usize,
    ) -> Result<Vec<KeyedListen>> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let upper = match before.map(ListenKey::row) {
            Some(key) if key < (to_s, 0) => key,
            _ => (to_s, 0),
        };
        let mut listens = Vec::with_capacity(limit.min(64));
        if upper <= (from_s, 0) {
            return Ok(listens);
        }
        let range = table.range((from_s, 0)..upper).map_err(store_err("scan listens"))?;
        for row in range.rev() {
            let (key, value) = row.map_err(store_err("scan listens"))?;
            listens.push((ListenKey::of_row(key.value()), records::decode_listen(value.value())?));
            if listens.len() >= limit {
                break;
            }
        }
        Ok(listens)
    }

    /// The `limit` oldest listens with start in `[from_s, to_s)`, oldest first.
    pub(crate) fn listens_oldest_first(&self, from_s: u64, to_s: u64, limit: usize) -> Result<Vec<KeyedListen>> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let mut listens = Vec::with_capacity(limit.min(64));
        if to_s <= from_s {
            return Ok(listens);
        }
        for row in table.range((from_s, 0)..(to_s, 0)).map_err(store_err("scan listens"))?.take(limit) {
            let (key, value) = row.map_err(store_err("scan listens"))?;
            listens.push((ListenKey::of_row(key.value()), records::decode_listen(value.value())?));
        }
        Ok(listens)
    }

    /// Listens with start in `[from_s, to_s)`, newest first, after skipping the
    /// `skip` newest, at most `limit`. Skipped listens are not decoded.
    pub(crate) fn listens_page(&self, from_s: u64, to_s: u64, skip: usize, limit: usize) -> Result<Vec<KeyedListen>> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let mut listens = Vec::with_capacity(limit.min(256));
        if to_s <= from_s || limit == 0 {
            return Ok(listens);
        }
        let range = table.range((from_s, 0)..(to_s, 0)).map_err(store_err("scan listens"))?;
        for row in range.rev().skip(skip).take(limit) {
            let (key, value) = row.map_err(store_err("scan listens"))?;
            listens.push((ListenKey::of_row(key.value()), records::decode_listen(value.value())?));
        }
        Ok(listens)
    }

    /// How many listens start in `[from_s, to_s)`.
    pub(crate) fn listen_count_between(&self, from_s: u64, to_s: u64) -> Result<u64> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        if from_s == 0 && to_s == u64::MAX {
            return table.len().map_err(store_err("count listens"));
        }
        if to_s <= from_s {
            return Ok(0);
        }
        let mut count = 0;
        for row in table.range((from_s, 0)..(to_s, 0)).map_err(store_err("scan listens"))? {
            row.map_err(store_err("scan listens"))?;
            count += 1;
        }
        Ok(count)
    }

    /// The listens some source reported as starting at `start_s`: those stored
    /// under that second, and those another source's report at that second was merged into.
    pub(crate) fn listens_reported_at(&self, start_s: u64) -> Result<Vec<KeyedListen>> {
        let listens = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let aliases = self.txn.open_table(tables::LISTEN_ALIASES).map_err(store_err("open listen_aliases"))?;
        let mut keys = Vec::new();
        for row in listens.range((start_s, 0)..=(start_s, u64::MAX)).map_err(store_err("scan listens"))? {
            keys.push(ListenKey::of_row(row.map_err(store_err("scan listens"))?.0.value()));
        }
        for row in aliases.range((start_s, 0)..=(start_s, u64::MAX)).map_err(store_err("scan listen_aliases"))? {
            let target = ListenKey::of_row(row.map_err(store_err("scan listen_aliases"))?.1.value());
            if !keys.contains(&target) {
                keys.push(target);
            }
        }
        self.listens_by_key(&keys)
    }

    /// The start seconds of the oldest and the newest listen, when there are any.
    pub(crate) fn listen_bounds(&self) -> Result<Option<(u64, u64)>> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let first = table.first().map_err(store_err("scan listens"))?.map(|(key, _)| key.value().0);
        let last = table.last().map_err(store_err("scan listens"))?.map(|(key, _)| key.value().0);
        Ok(first.zip(last))
    }

    /// Listens by key; keys that are absent are skipped.
    pub(crate) fn listens_by_key(&self, keys: &[ListenKey]) -> Result<Vec<KeyedListen>> {
        let table = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        let mut listens = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(value) = table.get(key.row()).map_err(store_err("get listen"))? {
                listens.push((*key, records::decode_listen(value.value())?));
            }
        }
        Ok(listens)
    }

    /// The id of the entity of `kind` with the canonical key `key`.
    pub(crate) fn entity_id(&self, kind: Kind, key: &str) -> Result<Option<u64>> {
        let definition = match kind {
            Kind::Artist => tables::ARTIST_KEYS,
            Kind::Album => tables::ALBUM_KEYS,
            Kind::Track => tables::TRACK_KEYS,
        };
        let table = self.txn.open_table(definition).map_err(store_err("open entity keys"))?;
        Ok(table.get(key).map_err(store_err("get entity key"))?.map(|id| id.value()))
    }

    /// Calls `visit` with each listen that counts (not excluded) starting in
    /// `[from_s, to_s)`, oldest first, until it breaks. A listen without a
    /// duration comes with its track's length when that is known.
    pub(crate) fn scan_plays(
        &self,
        from_s: i64,
        to_s: i64,
        mut visit: impl FnMut(Play) -> ControlFlow<()>,
    ) -> Result<()> {
        let (from_s, to_s) = (from_s.max(0) as u64, to_s.max(0) as u64);
        if to_s <= from_s {
            return Ok(());
        }
        let table = self.txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?;
        for row in table.range((from_s, 0)..(to_s, 0)).map_err(store_err("scan plays"))? {
            let (key, value) = row.map_err(store_err("scan plays"))?;
            if visit(self.with_length(Play::of_row(key.value(), value.value()))?).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// A play without a duration with its track's length instead, when known.
    fn with_length(&self, mut play: Play) -> Result<Play> {
        if play.ms.is_none() {
            let lengths = match self.lengths.get() {
                Some(lengths) => lengths,
                None => {
                    let read = self.read_lengths()?;
                    self.lengths.get_or_init(|| read)
                }
            };
            let length = lengths.0.get(play.track as usize).copied().unwrap_or(0);
            if length > 0 {
                play.ms = Some(u64::from(length));
                play.from_length = true;
            }
        }
        Ok(play)
    }

    fn read_lengths(&self) -> Result<Lengths> {
        let table = self.txn.open_table(tables::TRACK_LENGTHS).map_err(store_err("open track lengths"))?;
        let size = table.last().map_err(store_err("scan track lengths"))?.map_or(0, |(id, _)| id.value() + 1);
        let mut lengths = vec![0; usize::try_from(size).unwrap_or(0)];
        for row in table.iter().map_err(store_err("scan track lengths"))? {
            let (id, ms) = row.map_err(store_err("scan track lengths"))?;
            if let Some(slot) = lengths.get_mut(id.value() as usize) {
                *slot = ms.value();
            }
        }
        Ok(Lengths(lengths))
    }

    /// The last listen that counts starting before `before_s`.
    pub(crate) fn play_before(&self, before_s: i64) -> Result<Option<Play>> {
        let table = self.txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?;
        let before_s = before_s.max(0) as u64;
        let last = table.range(..(before_s, 0)).map_err(store_err("scan plays"))?.next_back();
        match last.transpose().map_err(store_err("scan plays"))? {
            Some((key, value)) => Ok(Some(self.with_length(Play::of_row(key.value(), value.value()))?)),
            None => Ok(None),
        }
    }

    /// Adds the all-time plays of each entity of `kind`.
    pub(crate) fn add_all_time(&self, kind: Kind, tally: &mut Tally) -> Result<()> {
        let series = series::of(kind, series::Granularity::All);
        let table = self.txn.open_table(tables::AGGREGATES).map_err(store_err("open aggregates"))?;
        for row in table.range((series, 0, 0)..(series, 1, 0)).map_err(store_err("scan aggregates"))? {
            let (key, plays) = row.map_err(store_err("scan aggregates"))?;
            tally.add(key.value().2, plays.value());
        }
        Ok(())
    }

    /// Adds the plays of each entity of `kind` in whole months `months`.
    pub(crate) fn add_months(&self, kind: Kind, months: std::ops::Range<u32>, tally: &mut Tally) -> Result<()> {
        if months.is_empty() {
            return Ok(());
        }
        let table = self.txn.open_table(tables::MONTH_COUNTS).map_err(store_err("open month counts"))?;
        let kind = kind as u8;
        for row in table.range((kind, months.start)..(kind, months.end)).map_err(store_err("scan month counts"))? {
            let (_, bytes) = row.map_err(store_err("scan month counts"))?;
            counts::for_each(bytes.value(), |id, plays| tally.add(id, plays))?;
        }
        Ok(())
    }

    /// Adds the plays of each entity of `kind` in `[from_s, to_s)` by scanning listens.
    pub(crate) fn add_listen_counts(&self, kind: Kind, from_s: u64, to_s: u64, tally: &mut Tally) -> Result<()> {
        self.scan_plays(from_s as i64, to_s as i64, |play| {
            if let Some(id) = play.id(kind) {
                tally.add(id, 1);
            }
            ControlFlow::Continue(())
        })
    }

    /// The quarter-hours that have listens, oldest first, from the one holding
    /// `from_s` to the one holding the second before `to_s` (whole quarter-hours:
    /// real zones' periods begin and end on them). Read from the counters, or,
    /// when some of those listens lack a duration and tracks' lengths are known,
    /// from the listens themselves so that those count their track's length.
    pub(crate) fn quarter_hours(&self, from_s: i64, to_s: i64) -> Result<Vec<QuarterHour>> {
        let quarters = self.counted_quarter_hours(from_s, to_s)?;
        if quarters.iter().all(|quarter| quarter.known == quarter.plays) || !self.any_length()? {
            return Ok(quarters);
        }
        let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else { return Ok(quarters) };
        let mut scanned: Vec<QuarterHour> = Vec::with_capacity(quarters.len());
        self.scan_plays(first.start_s, last.start_s + series::QUARTER_S, |play| {
            let start_s = play.start_s - play.start_s.rem_euclid(series::QUARTER_S);
            if scanned.last().is_none_or(|last| last.start_s != start_s) {
                scanned.push(QuarterHour { start_s, ..QuarterHour::default() });
            }
            let quarter = scanned.last_mut().expect("pushed above");
            quarter.plays += 1;
            quarter.known += u64::from(play.ms.is_some());
            quarter.from_length += u64::from(play.from_length);
            quarter.ms += play.ms.unwrap_or(0);
            ControlFlow::Continue(())
        })?;
        Ok(scanned)
    }

    /// Whether any track's length is known.
    fn any_length(&self) -> Result<bool> {
        let table = self.txn.open_table(tables::TRACK_LENGTHS).map_err(store_err("open track lengths"))?;
        Ok(table.first().map_err(store_err("scan track lengths"))?.is_some())
    }

    /// [`Reader::quarter_hours`] from the counters alone (listens without a duration count 0 ms).
    pub(crate) fn counted_quarter_hours(&self, from_s: i64, to_s: i64) -> Result<Vec<QuarterHour>> {
        let bucket = |seconds: i64| u32::try_from(seconds.max(0).div_euclid(series::QUARTER_S)).unwrap_or(u32::MAX);
        let (first, end) = (bucket(from_s), bucket(to_s.saturating_add(series::QUARTER_S - 1)));
        let mut quarters: Vec<QuarterHour> = Vec::new();
        if end <= first {
            return Ok(quarters);
        }
        let table = self.txn.open_table(tables::AGGREGATES).map_err(store_err("open aggregates"))?;
        let series = series::LISTENS_PER_QUARTER_HOUR;
        for row in table.range((series, first, 0)..(series, end, 0)).map_err(store_err("scan aggregates"))? {
            let (key, value) = row.map_err(store_err("scan aggregates"))?;
            let (_, quarter, entity) = key.value();
            let start_s = i64::from(quarter) * series::QUARTER_S;
            if quarters.last().is_none_or(|last| last.start_s != start_s) {
                quarters.push(QuarterHour { start_s, ..QuarterHour::default() });
            }
            let last = quarters.last_mut().expect("pushed above");
            let value = value.value();
            match entity {
                series::QUARTER_PLAYS => {
                    last.plays = value & 0xffff_ffff;
                    last.known = value >> 32;
                }
                series::QUARTER_MS => last.ms = value,
                _ => {}
            }
        }
        Ok(quarters)
    }

    /// Adds the milliseconds played of each entity of `kind` in `[from_s, to_s)`
    /// by scanning listens (listens without a duration add 0), and counts in
    /// `known` the listens that had one.
    pub(crate) fn add_listen_time(
        &self,
        kind: Kind,
        from_s: u64,
        to_s: u64,
        time: &mut Tally,
        plays: &mut Tally,
        known: &mut TimeKnown,
    ) -> Result<()> {
        if to_s <= from_s {
            return Ok(());
        }
        self.scan_plays(from_s as i64, to_s as i64, |play| {
            known.count(&play);
            if let Some(id) = play.id(kind) {
                time.add(id, play.ms.unwrap_or(0));
                plays.add(id, 1);
            }
            ControlFlow::Continue(())
        })
    }

    /// Opens the entity tables once, for resolving many names.
    pub(crate) fn names(&self) -> Result<Names> {
        let open = |def| self.txn.open_table(def).map_err(store_err("open entity table"));
        Ok(Names {
            artists: open(tables::ARTISTS)?,
            albums: open(tables::ALBUMS)?,
            tracks: open(tables::TRACKS)?,
            cache: self.names.clone(),
        })
    }

    /// A plugin's stored value for `key`.
    pub(crate) fn plugin_state(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let table = self.txn.open_table(tables::PLUGIN_STATE).map_err(store_err("open plugin state"))?;
        Ok(table.get((plugin, key)).map_err(store_err("get plugin state"))?.map(|value| value.value().to_vec()))
    }

    /// A value of the daemon's own state.
    pub(crate) fn state<T: serde::de::DeserializeOwned>(&self, key: &StateKey) -> Result<Option<T>> {
        let table = self.txn.open_table(tables::SERVICE_STATE).map_err(store_err("open service state"))?;
        let (scope, name) = key.row();
        match table.get((scope, name.as_str())).map_err(store_err("get service state"))? {
            Some(value) => Ok(Some(state::decode_value(value.value())?)),
            None => Ok(None),
        }
    }

    /// Every value of one kind of the daemon's own state, by the key's name.
    pub(crate) fn states<T: serde::de::DeserializeOwned>(&self, scope: StateScope) -> Result<Vec<(String, T)>> {
        let table = self.txn.open_table(tables::SERVICE_STATE).map_err(store_err("open service state"))?;
        let scope = state::scope_name(scope);
        let mut values = Vec::new();
        for row in table.range((scope, "")..).map_err(store_err("scan service state"))? {
            let (key, value) = row.map_err(store_err("scan service state"))?;
            let (row_scope, row_key) = key.value();
            if row_scope != scope {
                break;
            }
            values.push((row_key.to_owned(), state::decode_value(value.value())?));
        }
        Ok(values)
    }

    /// A track's loved flag, by the track's canonical key.
    pub(crate) fn loved(&self, track_key: &str) -> Result<Option<LovedRecord>> {
        let table = self.txn.open_table(tables::LOVED).map_err(store_err("open loved"))?;
        let value = table.get(track_key).map_err(store_err("get loved"))?;
        value.map(|bytes| decode(bytes.value(), "loved")).transpose()
    }

    /// Every love and hate as it stands, in no particular order: loved tracks
    /// (`loved`), hated tracks and judged recordings (`feedback`).
    pub(crate) fn feedback(&self) -> Result<Vec<FeedbackEntry>> {
        let mut entries = Vec::new();
        let loved = self.txn.open_table(tables::LOVED).map_err(store_err("open loved"))?;
        for row in loved.iter().map_err(store_err("scan loved"))? {
            let (key, value) = row.map_err(store_err("scan loved"))?;
            let record: LovedRecord = decode(value.value(), "loved")?;
            if record.loved {
                let subject = FeedbackSubject::Track(key.value().to_owned());
                entries.push(FeedbackEntry { subject, score: 1, at_ms: record.at_ms });
            }
        }
        let feedback = self.txn.open_table(tables::FEEDBACK).map_err(store_err("open feedback"))?;
        for row in feedback.iter().map_err(store_err("scan feedback"))? {
            let (key, value) = row.map_err(store_err("scan feedback"))?;
            let (kind, key) = key.value();
            let record: FeedbackRecord = decode(value.value(), "feedback")?;
            if let Some(subject) = FeedbackSubject::of_row(kind, key) {
                entries.push(FeedbackEntry { subject, score: record.score, at_ms: record.at_ms });
            }
        }
        Ok(entries)
    }

    /// Every counter, source count, alias and listen key, one line each, for
    /// tests that compare two stores.
    #[cfg(test)]
    pub(crate) fn dump_counters(&self) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        let aggregates = self.txn.open_table(tables::AGGREGATES).map_err(store_err("open aggregates"))?;
        for row in aggregates.iter().map_err(store_err("scan aggregates"))? {
            let (key, plays) = row.map_err(store_err("scan aggregates"))?;
            lines.push(format!("aggregate {:?} = {}", key.value(), plays.value()));
        }
        let months = self.txn.open_table(tables::MONTH_COUNTS).map_err(store_err("open month counts"))?;
        for row in months.iter().map_err(store_err("scan month counts"))? {
            let (key, bytes) = row.map_err(store_err("scan month counts"))?;
            let mut pairs = Vec::new();
            counts::for_each(bytes.value(), |id, plays| pairs.push((id, plays)))?;
            lines.push(format!("month {:?} = {pairs:?}", key.value()));
        }
        let sources = self.txn.open_table(tables::SOURCES).map_err(store_err("open sources"))?;
        for row in sources.iter().map_err(store_err("scan sources"))? {
            let (name, count) = row.map_err(store_err("scan sources"))?;
            lines.push(format!("source {} = {}", name.value(), count.value()));
        }
        let aliases = self.txn.open_table(tables::LISTEN_ALIASES).map_err(store_err("open listen_aliases"))?;
        for row in aliases.iter().map_err(store_err("scan listen_aliases"))? {
            let (alias, target) = row.map_err(store_err("scan listen_aliases"))?;
            lines.push(format!("alias {:?} -> {:?}", alias.value(), target.value()));
        }
        let listens = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        for row in listens.iter().map_err(store_err("scan listens"))? {
            lines.push(format!("listen {:?}", row.map_err(store_err("scan listens"))?.0.value()));
        }
        Ok(lines)
    }

    /// The `plays` table's rows, and the rows its listens that count make; one line each.
    #[cfg(test)]
    pub(crate) fn plays_and_listens(&self) -> Result<(Vec<String>, Vec<String>)> {
        let mut plays = Vec::new();
        let table = self.txn.open_table(tables::PLAYS).map_err(store_err("open plays"))?;
        for row in table.iter().map_err(store_err("scan plays"))? {
            let (key, value) = row.map_err(store_err("scan plays"))?;
            plays.push(format!("{:?}", Play::of_row(key.value(), value.value())));
        }
        let mut from_listens = Vec::new();
        let listens = self.txn.open_table(tables::LISTENS).map_err(store_err("open listens"))?;
        for row in listens.iter().map_err(store_err("scan listens"))? {
            let (key, value) = row.map_err(store_err("scan listens"))?;
            let head = records::decode_listen_head(value.value())?;
            if !head.excluded {
                let row = Play::row(head.artist_id, head.album_id, head.duration_ms);
                from_listens.push(format!("{:?}", Play::of_row(key.value(), row)));
            }
        }
        Ok((plays, from_listens))
    }

    /// The collection's version: it moves with every change to the collection,
    /// its releases or its links.
    pub(crate) fn collection_version(&self) -> Result<u64> {
        let meta = self.txn.open_table(tables::META).map_err(store_err("open meta"))?;
        writer::read_u64(&meta, writer::COLLECTION_VERSION)
    }

    /// The user's links of owned releases, by release id.
    pub(crate) fn collection_links(&self) -> Result<Vec<(u64, records::LinkRecord)>> {
        let table = self.txn.open_table(tables::COLLECTION_LINKS).map_err(store_err("open collection links"))?;
        let mut links = Vec::new();
        for row in table.iter().map_err(store_err("scan collection links"))? {
            let (id, bytes) = row.map_err(store_err("scan collection links"))?;
            links.push((id.value(), records::decode_json(bytes.value(), "collection_links")?));
        }
        Ok(links)
    }

    /// The start second of an album's last listen that counts.
    pub(crate) fn album_last(&self, album: u64) -> Result<Option<i64>> {
        let table = self.txn.open_table(tables::ALBUM_LAST).map_err(store_err("open album_last"))?;
        let last = table.get(album).map_err(store_err("get album_last"))?;
        Ok(last.map(|last| i64::try_from(last.value()).unwrap_or(i64::MAX)))
    }

    /// How many albums and artists the store has (they move when names are added).
    pub(crate) fn entity_counts(&self) -> Result<(u64, u64)> {
        let albums = self.txn.open_table(tables::ALBUMS).map_err(store_err("open albums"))?;
        let artists = self.txn.open_table(tables::ARTISTS).map_err(store_err("open artists"))?;
        Ok((albums.len().map_err(store_err("count albums"))?, artists.len().map_err(store_err("count artists"))?))
    }

    /// Calls `visit` with every artist's canonical key and id.
    pub(crate) fn for_each_artist_key(&self, mut visit: impl FnMut(&str, u64)) -> Result<()> {
        let table = self.txn.open_table(tables::ARTIST_KEYS).map_err(store_err("open artist_keys"))?;
        for row in table.iter().map_err(store_err("scan artist_keys"))? {
            let (key, id) = row.map_err(store_err("scan artist_keys"))?;
            visit(key.value(), id.value());
        }
        Ok(())
    }

    /// Calls `visit` with every album's canonical key (artist key, unit separator, title key) and id.
    pub(crate) fn for_each_album_key(&self, mut visit: impl FnMut(&str, u64)) -> Result<()> {
        let table = self.txn.open_table(tables::ALBUM_KEYS).map_err(store_err("open album_keys"))?;
        for row in table.iter().map_err(store_err("scan album_keys"))? {
            let (key, id) = row.map_err(store_err("scan album_keys"))?;
            visit(key.value(), id.value());
        }
        Ok(())
    }

    /// Every collection item, by instance id.
    pub(crate) fn collection(&self) -> Result<Vec<(u64, records::OwnedRecord)>> {
        let table = self.txn.open_table(tables::COLLECTION).map_err(store_err("open collection"))?;
        let mut items = Vec::new();
        for row in table.iter().map_err(store_err("scan collection"))? {
            let (id, bytes) = row.map_err(store_err("scan collection"))?;
            items.push((id.value(), records::decode_json(bytes.value(), "collection")?));
        }
        Ok(items)
    }

    /// One collection item by instance id.
    pub(crate) fn owned(&self, instance_id: u64) -> Result<Option<records::OwnedRecord>> {
        let table = self.txn.open_table(tables::COLLECTION).map_err(store_err("open collection"))?;
        let bytes = table.get(instance_id).map_err(store_err("get collection item"))?;
        bytes.map(|bytes| records::decode_json(bytes.value(), "collection")).transpose()
    }

    /// Whether a collection item is stored.
    pub(crate) fn owns(&self, instance_id: u64) -> Result<bool> {
        let table = self.txn.open_table(tables::COLLECTION).map_err(store_err("open collection"))?;
        Ok(table.get(instance_id).map_err(store_err("get collection item"))?.is_some())
    }

    /// A release's details, when they were fetched.
    pub(crate) fn release(&self, release_id: u64) -> Result<Option<records::ReleaseRecord>> {
        let table = self.txn.open_table(tables::RELEASES).map_err(store_err("open releases"))?;
        let bytes = table.get(release_id).map_err(store_err("get release"))?;
        bytes.map(|bytes| records::decode_json(bytes.value(), "releases")).transpose()
    }

    /// A track by its canonical key.
    pub(crate) fn track_by_key(&self, key: &str) -> Result<Option<TrackRecord>> {
        let keys = self.txn.open_table(tables::TRACK_KEYS).map_err(store_err("open track_keys"))?;
        let Some(id) = keys.get(key).map_err(store_err("get track key"))?.map(|id| id.value()) else {
            return Ok(None);
        };
        self.track(id)
    }

    /// The first canonical track key, in key order, that `matches`; every key is visited at worst.
    pub(crate) fn find_track_key(&self, mut matches: impl FnMut(&str) -> bool) -> Result<Option<String>> {
        let keys = self.txn.open_table(tables::TRACK_KEYS).map_err(store_err("open track_keys"))?;
        for row in keys.iter().map_err(store_err("scan track_keys"))? {
            let (key, _) = row.map_err(store_err("scan track_keys"))?;
            if matches(key.value()) {
                return Ok(Some(key.value().to_owned()));
            }
        }
        Ok(None)
    }

    /// Whether any track has a loved flag (set or cleared).
    pub(crate) fn any_loved(&self) -> Result<bool> {
        let table = self.txn.open_table(tables::LOVED).map_err(store_err("open loved"))?;
        Ok(table.first().map_err(store_err("scan loved"))?.is_some())
    }

    /// What a source told about an artist or album, by kind and canonical key.
    pub(crate) fn enrichment(&self, kind: Kind, key: &str) -> Result<Option<EnrichmentRecord>> {
        let table = self.txn.open_table(tables::ENRICHMENTS).map_err(store_err("open enrichments"))?;
        let value = table.get((kind as u8, key)).map_err(store_err("get enrichment"))?;
        value.map(|bytes| decode(bytes.value(), "enrichments")).transpose()
    }

    /// An import run.
    pub(crate) fn run(&self, id: u64) -> Result<Option<ImportRunRecord>> {
        self.entity(tables::IMPORT_RUNS, "import_runs", id)
    }

    /// Import runs, newest first.
    pub(crate) fn runs(&self, limit: usize) -> Result<Vec<ImportRunRecord>> {
        let table = self.txn.open_table(tables::IMPORT_RUNS).map_err(store_err("open import runs"))?;
        let mut runs = Vec::new();
        for row in table.iter().map_err(store_err("scan import runs"))?.rev() {
            let (_, value) = row.map_err(store_err("scan import runs"))?;
            runs.push(decode(value.value(), "import_runs")?);
            if runs.len() >= limit {
                break;
            }
        }
        Ok(runs)
    }
}

/// What a change log entry says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// An artist, album or track.
    Entity(Kind, u64),
    /// An owned record (collection item), by instance id.
    Record(u64),
}

/// The change log's kind byte of an owned record (after the entity kinds).
pub(crate) const RECORD_CHANGE: u8 = 3;

/// A listen as analytics read it: when, what, and how long when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Play {
    pub(crate) start_s: i64,
    pub(crate) track: u64,
    pub(crate) artist: u64,
    pub(crate) album: Option<u64>,
    pub(crate) ms: Option<u64>,
    /// `ms` is its track's length: the listen has no duration of its own.
    pub(crate) from_length: bool,
}

/// Of some listens, how many had a time listened, and of those how many
/// took their track's length (they had no duration of their own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeKnown {
    pub(crate) known: u64,
    pub(crate) from_length: u64,
}

impl TimeKnown {
    pub(crate) fn count(&mut self, play: &Play) {
        self.known += u64::from(play.ms.is_some());
        self.from_length += u64::from(play.from_length);
    }

    pub(crate) fn merge(&mut self, other: TimeKnown) {
        self.known += other.known;
        self.from_length += other.from_length;
    }
}

/// A `plays` row's value: artist id, album id (0: none; ids start at 1) and
/// milliseconds (`u32::MAX`: unknown; longer ones are cut to just below it).
pub(crate) type PlayRow = (u64, u64, u32);

impl Play {
    /// The `plays` row of a listen that counts.
    pub(crate) fn row(artist: u64, album: Option<u64>, ms: Option<u64>) -> PlayRow {
        let ms = ms.map_or(u32::MAX, |ms| u32::try_from(ms).unwrap_or(u32::MAX).min(u32::MAX - 1));
        (artist, album.unwrap_or(0), ms)
    }

    fn of_row((start_s, track): (u64, u64), (artist, album, ms): PlayRow) -> Play {
        Play {
            start_s: i64::try_from(start_s).unwrap_or(i64::MAX),
            track,
            artist,
            album: (album != 0).then_some(album),
            ms: (ms != u32::MAX).then_some(u64::from(ms)),
            from_length: false,
        }
    }

    /// The id of its entity of `kind`, if it has one.
    pub(crate) fn id(&self, kind: Kind) -> Option<u64> {
        match kind {
            Kind::Track => Some(self.track),
            Kind::Artist => Some(self.artist),
            Kind::Album => self.album,
        }
    }
}

/// Plays per entity id, in a dense vector (ids are small and dense).
#[derive(Default)]
pub(crate) struct Tally(Vec<u64>);

impl Tally {
    pub(crate) fn add(&mut self, id: u64, plays: u64) {
        let index = id as usize;
        if index >= self.0.len() {
            self.0.resize(index + 1, 0);
        }
        self.0[index] += plays;
    }

    /// Adds every count of `other`.
    pub(crate) fn merge(&mut self, other: &Tally) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine += theirs;
        }
    }

    /// Takes away every count of `other` (which must be part of this one).
    pub(crate) fn subtract(&mut self, other: &Tally) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = mine.saturating_sub(*theirs);
        }
    }

    /// How many ids have a count.
    pub(crate) fn distinct(&self) -> u64 {
        self.0.iter().filter(|plays| **plays > 0).count() as u64
    }

    /// How many ids have a count above `plays`.
    pub(crate) fn count_above(&self, plays: u64) -> u64 {
        self.0.iter().filter(|count| **count > plays).count() as u64
    }

    /// The count of `id`.
    pub(crate) fn get(&self, id: u64) -> u64 {
        self.0.get(id as usize).copied().unwrap_or(0)
    }

    /// The `limit` most played, most plays first, ties by lower id (seen first).
    pub(crate) fn top(&self, limit: usize) -> Vec<(u64, u64)> {
        let mut rows: Vec<(u64, u64)> =
            self.0.iter().enumerate().filter(|(_, plays)| **plays > 0).map(|(id, plays)| (id as u64, *plays)).collect();
        let order = |a: &(u64, u64), b: &(u64, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if rows.len() > limit && limit > 0 {
            rows.select_nth_unstable_by(limit - 1, order);
            rows.truncate(limit);
        }
        rows.sort_unstable_by(order);
        rows.truncate(limit);
        rows
    }
}

/// Resolves entity names through the shared cache, with the tables opened once.
pub(crate) struct Names {
    artists: redb::ReadOnlyTable<u64, &'static [u8]>,
    albums: redb::ReadOnlyTable<u64, &'static [u8]>,
    tracks: redb::ReadOnlyTable<u64, &'static [u8]>,
    cache: Arc<std::sync::RwLock<NameCache>>,
}

impl Names {
    fn get<T: serde::de::DeserializeOwned>(
        table: &redb::ReadOnlyTable<u64, &'static [u8]>,
        name: &'static str,
        id: u64,
    ) -> Result<Option<T>> {
        match table.get(id).map_err(store_err("get entity"))? {
            Some(bytes) => Ok(Some(decode(bytes.value(), name)?)),
            None => Ok(None),
        }
    }

    fn remember(&self, fill: impl FnOnce(&mut NameCache)) {
        let mut cache = self.cache.write().expect("name cache lock");
        if cache.len() >= MAX_CACHED_NAMES {
            *cache = NameCache::default();
        }
        fill(&mut cache);
    }

    /// An artist's name.
    pub(crate) fn artist(&mut self, id: u64) -> Result<Arc<str>> {
        if let Some(name) = self.cache.read().expect("name cache lock").artists.get(&id) {
            return Ok(name.clone());
        }
        let name: Arc<str> = Self::get::<ArtistRecord>(&self.artists, "artists", id)?
            .map(|artist| artist.name)
            .unwrap_or_default()
            .into();
        self.remember(|cache| {
            cache.artists.insert(id, name.clone());
        });
        Ok(name)
    }

    /// An album's title and artist id.
    pub(crate) fn album(&mut self, id: u64) -> Result<(Arc<str>, u64)> {
        if let Some(album) = self.cache.read().expect("name cache lock").albums.get(&id) {
            return Ok(album.clone());
        }
        let album = Self::get::<AlbumRecord>(&self.albums, "albums", id)?
            .map(|album| (Arc::<str>::from(album.title), album.artist_id))
            .unwrap_or_else(|| (Arc::from(""), 0));
        self.remember(|cache| {
            cache.albums.insert(id, album.clone());
        });
        Ok(album)
    }

    /// A track's title, artist id and featured artist ids.
    pub(crate) fn track(&mut self, id: u64) -> Result<TrackNames> {
        if let Some(track) = self.cache.read().expect("name cache lock").tracks.get(&id) {
            return Ok(track.clone());
        }
        let track = Self::get::<TrackRecord>(&self.tracks, "tracks", id)?
            .map(|track| (Arc::<str>::from(track.title), track.artist_id, Arc::<[u64]>::from(track.featured)))
            .unwrap_or_else(|| (Arc::from(""), 0, Arc::from([])));
        self.remember(|cache| {
            cache.tracks.insert(id, track.clone());
        });
        Ok(track)
    }
}

/// Canonical keys of an album or track: the artist key, a unit separator, its own key.
pub(crate) fn scoped_key(artist: &Name, name: &Name) -> String {
    let mut key = String::with_capacity(artist.key.len() + name.key.len() + 1);
    key.push_str(&artist.key);
    key.push('\u{1f}');
    key.push_str(&name.key);
    key
}
