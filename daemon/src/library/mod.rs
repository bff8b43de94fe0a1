//! The library: every listen, the artists, albums and tracks they name, their
//! charts and search, and the one way listens come in ([`ingest`]).
//!
//! `Library` is a cheap `Clone` handle. It knows nothing of JSON-RPC or HTTP;
//! the edges convert.

pub(crate) mod analytics;
mod charts;
pub(crate) mod collection;
pub(crate) mod ingest;
pub(crate) mod insights;
pub(crate) mod source;

use std::sync::Arc;

pub(crate) use charts::{Period, TopRow};
pub(crate) use ingest::{Admitted, Commit, Intake, Listen, Origin};
pub(crate) use source::SourceName;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, RecordedListen};
use crate::index::{Hit, Index};
use crate::store::records::{LovedRecord, TrackRecord};
use crate::store::{Counts, Feedback, FeedbackEntry, FeedbackSubject, Kind, ListenKey, Put, Reader, Store, scoped_key};

/// Most listens one `listens.list` page returns.
pub(crate) const MAX_PAGE: usize = 1000;
/// Most listens one `listens.add` call takes.
pub(crate) const MAX_ADD_BATCH: usize = 10_000;
/// Longest search query, in bytes.
pub(crate) const MAX_QUERY_BYTES: usize = 1024;

/// The listening history and what is derived from it.
#[derive(Clone)]
pub(crate) struct Library {
    state: Arc<State>,
}

struct State {
    /// All persistent data.
    store: Store,
    /// Full-text search over the store's entities.
    index: Index,
    /// Where recorded listens are announced.
    events: EventBus,
    /// Configured extra credit separators.
    separators: Arc<Vec<String>>,
    /// "Now", for time bounds and named periods.
    clock: Clock,
    /// The listener's zone (`[general] timezone`), for days, weeks, months and
    /// years when a request names none; replaced when the config reloads.
    time_zone: std::sync::RwLock<jiff::tz::TimeZone>,
    /// `[general] session_gap_minutes`, in seconds.
    session_gap_s: std::sync::atomic::AtomicI64,
    /// The collection linked to the history, kept until either changes.
    linked: collection::LinkedCache,
    /// The records each random-pick session was given.
    picked: std::sync::Mutex<std::collections::HashMap<String, std::collections::HashSet<u64>>>,
}

/// What the search index says about itself, for the status.
pub(crate) struct IndexHealth {
    pub(crate) bytes: u64,
    /// Store changes not yet searchable.
    pub(crate) lag: u64,
}

impl Library {
    pub(crate) fn new(store: Store, index: Index, events: EventBus, separators: Vec<String>, clock: Clock) -> Library {
        let time_zone = std::sync::RwLock::new(jiff::tz::TimeZone::system());
        Library {
            state: Arc::new(State {
                store,
                index,
                events,
                separators: Arc::new(separators),
                clock,
                time_zone,
                session_gap_s: std::sync::atomic::AtomicI64::new(insights::DEFAULT_GAP_S),
                linked: collection::LinkedCache::default(),
                picked: Default::default(),
            }),
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// How many artists, albums, tracks and listens are stored.
    pub(crate) fn counts(&self) -> Result<Counts> {
        self.state.store.read()?.counts()
    }

    /// The store file's size in bytes.
    pub(crate) fn store_bytes(&self) -> u64 {
        self.state.store.file_size()
    }

    /// How the index is doing.
    pub(crate) fn index_health(&self) -> IndexHealth {
        IndexHealth {
            bytes: self.state.index.size_bytes(),
            lag: self.state.store.last_seq().saturating_sub(self.state.index.indexed_seq()),
        }
    }

    /// Waits until everything committed so far is searchable, at most `bound`; false
    /// when the index did not catch up in time (it goes on catching up). Blocks.
    pub(crate) fn wait_searchable(&self, bound: std::time::Duration) -> bool {
        let target = self.state.store.last_seq();
        let deadline = std::time::Instant::now() + bound;
        while self.state.index.indexed_seq() < target {
            if std::time::Instant::now() >= deadline || self.state.index.last_error().is_some() {
                return false;
            }
            // The indexer commits on its interval; a short poll costs nothing next to it.
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }

    /// Rebuilds the search index from the store: (documents, time taken).
    pub(crate) async fn rebuild_index(&self) -> Result<(u64, std::time::Duration)> {
        self.state.index.rebuild().await
    }

    /// Listens newest first in `[from_s, to_s)`, before the cursor.
    pub(crate) fn listens(
        &self,
        from_s: Option<i64>,
        to_s: Option<i64>,
        limit: usize,
        before: Option<ListenKey>,
    ) -> Result<Vec<RecordedListen>> {
        let from = from_s.map(|from| from.max(0) as u64).unwrap_or(0);
        let to = to_s.map(|to| to.max(0) as u64).unwrap_or(u64::MAX);
        let reader = self.state.store.read()?;
        let listens = reader.listens_newest_first(from, to, before, limit)?;
        with_loved(&reader, listens)
    }

    /// The `limit` oldest listens in `[from_s, to_s)`, oldest first.
    pub(crate) fn listens_oldest_first(&self, from_s: u64, to_s: u64, limit: usize) -> Result<Vec<RecordedListen>> {
        let reader = self.state.store.read()?;
        let listens = reader.listens_oldest_first(from_s, to_s, limit)?;
        with_loved(&reader, listens)
    }

    /// A page of the listens in `[from_s, to_s)`, newest first: the `limit` after
    /// the `skip` newest, and how many listens the range holds.
    pub(crate) fn listens_page(
        &self,
        from_s: u64,
        to_s: u64,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<RecordedListen>, u64)> {
        let reader = self.state.store.read()?;
        let total = reader.listen_count_between(from_s, to_s)?;
        let listens = reader.listens_page(from_s, to_s, skip, limit)?;
        Ok((with_loved(&reader, listens)?, total))
    }

    /// The listens a source reported as starting at `start_s`, merged into
    /// another source's report of the same play or not.
    pub(crate) fn listens_reported_at(&self, start_s: u64) -> Result<Vec<RecordedListen>> {
        let reader = self.state.store.read()?;
        let listens = reader.listens_reported_at(start_s)?;
        with_loved(&reader, listens)
    }

    /// Deletes a listen and everything counted from it, durably. Whether there was one.
    pub(crate) async fn delete_listen(&self, key: ListenKey) -> Result<bool> {
        Ok(self.state.store.delete_listen(key).await?.is_some())
    }

    /// The start seconds of the oldest and the newest listen, when there are any.
    pub(crate) fn listen_bounds(&self) -> Result<Option<(u64, u64)>> {
        self.state.store.read()?.listen_bounds()
    }

    /// Announces stored listens (by key) as `listen_recorded` events. Blocks (reads the store).
    pub(crate) fn announce(&self, keys: &[ListenKey]) {
        let result = (|| -> Result<()> {
            let reader = self.state.store.read()?;
            let mut loved = LovedLookup::new(&reader)?;
            for (key, record) in reader.listens_by_key(keys)? {
                let loved = loved.is_loved(record.track_id)?;
                self.state.events.send(Event::ListenRecorded(RecordedListen { key, record, loved }));
            }
            Ok(())
        })();
        if let Err(err) = result {
            tracing::warn!(error = %err, "cannot announce recorded listens");
        }
    }

    pub(crate) fn search(&self, query: &str, kinds: &[Kind], limit: usize) -> Result<Vec<Hit>> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(Error::invalid(format!("`query` is limited to {MAX_QUERY_BYTES} bytes")));
        }
        self.state.index.search(query, kinds, limit)
    }

    /// Stores whether a track is loved, as a service said (loving it takes back a
    /// hate). Blocks until durable.
    pub(crate) fn set_loved(&self, artist: &str, track: &str, loved: bool, source: &str) -> Result<()> {
        let track_key = self.track_key(artist, track);
        let at_ms = self.state.clock.now_ms();
        let put = if loved {
            let subject = FeedbackSubject::Track(track_key);
            Put::Feedback { subject, feedback: Feedback::Love, at_ms, source: source.to_owned() }
        } else {
            Put::Loved { track_key, record: LovedRecord { loved, at_ms, source: source.to_owned() } }
        };
        self.state.store.put_blocking(vec![put])
    }

    /// Stores a love, a hate or neither for a track or a recording, durably.
    /// A track's love is its loved flag.
    pub(crate) async fn set_feedback(&self, subject: FeedbackSubject, feedback: Feedback, source: &str) -> Result<()> {
        let at_ms = self.state.clock.now_ms();
        self.state.store.put(vec![Put::Feedback { subject, feedback, at_ms, source: source.to_owned() }]).await
    }

    /// Every love and hate, newest first.
    pub(crate) fn feedback(&self) -> Result<Vec<FeedbackEntry>> {
        let mut entries = self.state.store.read()?.feedback()?;
        entries.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| a.subject.cmp(&b.subject)));
        Ok(entries)
    }

    /// The canonical key of a track named by a client: its credit split as every listen's is.
    pub(crate) fn track_key(&self, artist: &str, track: &str) -> String {
        let credit = crate::identity::split_credit(artist, track, &self.state.separators);
        scoped_key(&credit.primary, &credit.title)
    }

    /// The key of the first stored track, in key order, that `matches`.
    pub(crate) fn find_track_key(&self, matches: impl FnMut(&str) -> bool) -> Result<Option<String>> {
        self.state.store.read()?.find_track_key(matches)
    }

    /// A track by its canonical key.
    pub(crate) fn track_by_key(&self, key: &str) -> Result<Option<TrackRecord>> {
        self.state.store.read()?.track_by_key(key)
    }

    /// The canonical key of an artist named by the user.
    pub(crate) fn artist_key(&self, artist: &str) -> String {
        crate::identity::split_credit(artist, "", &self.state.separators).primary.key
    }

    /// The canonical key of an album named by the user.
    pub(crate) fn album_key(&self, artist: &str, album: &str) -> String {
        let credit = crate::identity::split_credit(artist, "", &self.state.separators);
        scoped_key(&credit.primary, &crate::identity::Name::new(album))
    }
}

/// Writes `bytes` to `path`, owner-only and whole: through a file beside it,
/// synced, then renamed over it, so a crash leaves the old file or the new one.
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8], what: &'static str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |err| crate::error::io_err(what, path)(err);
    let name =
        path.file_name().ok_or_else(|| crate::error::Error::invalid(format!("{} names no file", path.display())))?;
    let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial).map_err(fail)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

/// Listens with their loved flags.
fn with_loved(reader: &Reader, listens: Vec<crate::store::KeyedListen>) -> Result<Vec<RecordedListen>> {
    let mut loved = LovedLookup::new(reader)?;
    listens
        .into_iter()
        .map(|(key, record)| Ok(RecordedListen { key, loved: loved.is_loved(record.track_id)?, record }))
        .collect()
}

/// Answers "is this track loved" for listens, cheaply when nothing is loved.
struct LovedLookup<'a> {
    reader: &'a Reader,
    any: bool,
}

impl<'a> LovedLookup<'a> {
    fn new(reader: &'a Reader) -> Result<LovedLookup<'a>> {
        Ok(LovedLookup { reader, any: reader.any_loved()? })
    }

    fn is_loved(&mut self, track_id: u64) -> Result<bool> {
        if !self.any {
            return Ok(false);
        }
        let Some(track) = self.reader.track(track_id)? else { return Ok(false) };
        Ok(self.reader.loved(&track.key)?.is_some_and(|record| record.loved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    /// Stores plays (artist, track, album, start in unix seconds) from one source, in one commit.
    fn add(harness: &Harness, source: &str, plays: &[(&str, &str, Option<&str>, i64)]) -> Vec<ListenKey> {
        let origin = Origin::Rpc(SourceName::parse(source).unwrap());
        let mut intake = harness.library.intake(&origin);
        let listens = plays
            .iter()
            .map(|(artist, track, album, start_s)| {
                let listen = Listen {
                    artist: (*artist).to_owned(),
                    track: (*track).to_owned(),
                    album: album.map(str::to_owned),
                    artists: Vec::new(),
                    started_ms: start_s * 1000,
                    duration_ms: Some(200_000),
                    loved: None,
                    details: None,
                };
                intake.admit(listen).unwrap()
            })
            .collect();
        let outcome = harness.library.commit(Commit { listens, ..Commit::default() }).unwrap().wait_blocking().unwrap();
        outcome.keys.iter().map(|(key, _)| *key).collect()
    }

    fn delete(harness: &Harness, key: ListenKey) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(harness.library.delete_listen(key)).unwrap()
    }

    #[test]
    fn a_deleted_listen_leaves_the_store_as_if_never_added() {
        // 2024-03-31 23:30 UTC, so plays fall in two months, several days and hours.
        let base = 1_711_927_800;
        let kept: [(&str, &str, Option<&str>, i64); 5] = [
            ("Björk", "Hyperballad", Some("Post"), base),
            ("Björk", "Army of Me", Some("Post"), base + 300),
            ("Daft Punk feat. Pharrell Williams", "Get Lucky", Some("Random Access Memories"), base + 3600),
            ("Björk", "Hyperballad", None, base + 86_400 * 3),
            ("Stereolab", "French Disko", None, base + 86_400 * 40),
        ];
        // The second play of "Army of Me" is deleted; another source reported it too (30 s later).
        let doomed = ("Björk", "Army of Me", Some("Post"), base + 7200);
        let expected = Harness::at("2024-09-01T12:00:00Z");
        add(&expected, "rpc", &kept);
        let harness = Harness::at("2024-09-01T12:00:00Z");
        let mut plays = kept.to_vec();
        plays.insert(2, doomed);
        let keys = add(&harness, "rpc", &plays);
        let other = add(
            &harness,
            "spotify",
            &[
                ("Björk", "Army of Me", Some("Post"), base + 7230),
                ("Daft Punk", "Get Lucky", Some("Random Access Memories"), base + 86_400 * 10),
                ("Stereolab", "French Disko", Some("Dots and Loops"), base + 86_400 * 70),
            ],
        );
        assert_eq!(other[0], keys[2], "the second source's report is merged into the listen");
        let before = harness.store.read().unwrap().dump_counters().unwrap();
        assert!(before.iter().any(|line| line.starts_with("alias")), "{before:#?}");
        let listens_before = harness.library.counts().unwrap().listens;

        for key in [keys[2], other[1], other[2]] {
            assert!(delete(&harness, key), "{key} was there");
            assert!(!delete(&harness, key), "{key} is gone");
        }
        assert_eq!(harness.library.counts().unwrap().listens, listens_before - 3);
        let (plays, from_listens) = harness.store.read().unwrap().plays_and_listens().unwrap();
        assert_eq!(plays.len(), kept.len());
        assert_eq!(plays, from_listens, "the plays table follows adds, merges and deletes");
        assert_eq!(
            harness.store.read().unwrap().dump_counters().unwrap(),
            expected.store.read().unwrap().dump_counters().unwrap(),
            "every counter, source count, alias and listen as if the deleted listens never were"
        );
        // The change log names what the deleted listen counted for, so the index follows.
        let changes = harness.store.read().unwrap().changes_after(0, 10_000).unwrap();
        let last: Vec<Option<Kind>> = changes
            .iter()
            .rev()
            .take(3)
            .map(|(_, change)| match change {
                crate::store::Change::Entity(kind, _) => Some(*kind),
                crate::store::Change::Record(_) => None,
            })
            .collect();
        assert_eq!(last, [Some(Kind::Album), Some(Kind::Artist), Some(Kind::Track)]);
        harness.wait_indexed();
        // Charts over ranges that cut months (counted from listens) and whole months (from counters).
        let ranges = [
            None,
            Some((base - 60, base + 86_400 * 5)),
            Some((0, base + 86_400 * 100)),
            Some((base + 1800, base + 86_400 * 60)),
        ];
        for range in ranges {
            for kind in Kind::ALL {
                let top = |harness: &Harness| {
                    let top = harness.library.top(kind, range, 50).unwrap();
                    top.into_iter().map(|row| (row.name, row.plays)).collect::<Vec<_>>()
                };
                assert!(!top(&expected).is_empty());
                assert_eq!(top(&harness), top(&expected), "{kind:?} over {range:?}");
            }
        }
    }

    #[test]
    fn a_store_from_before_the_plays_table_fills_it_when_opened() {
        use redb::{ReadableTable, ReadableTableMetadata};
        let harness = Harness::at("2024-09-01T12:00:00Z");
        let base = 1_711_927_800;
        let plays: Vec<(&str, &str, Option<&str>, i64)> =
            (0..40).map(|n| ("Björk", "Hyperballad", (n % 3 == 0).then_some("Post"), base + n * 600)).collect();
        add(&harness, "rpc", &plays);
        let (expected, _) = harness.store.read().unwrap().plays_and_listens().unwrap();
        assert_eq!(expected.len(), plays.len());
        harness.store.close();
        // Two copies at schema 3: one never filled, one cut short by a crash after 15 rows.
        for kept in [0, 15] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(crate::store::STORE_FILE);
            std::fs::copy(harness.dir().join(crate::store::STORE_FILE), &path).unwrap();
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(crate::store::tables::META).unwrap();
                meta.insert("schema_version", 3u32.to_le_bytes().as_slice()).unwrap();
                let mut table = txn.open_table(crate::store::tables::PLAYS).unwrap();
                let cut = table.iter().unwrap().nth(kept).map(|row| row.unwrap().0.value());
                table.retain(|key, _| cut.is_some_and(|cut| key < cut)).unwrap();
                assert_eq!(table.len().unwrap(), kept as u64);
            }
            txn.commit().unwrap();
            drop(db);
            let store = crate::store::Store::open(dir.path(), 8, harness.clock.clone()).unwrap();
            let (filled, from_listens) = store.read().unwrap().plays_and_listens().unwrap();
            assert_eq!(filled, expected, "filled after {kept} rows");
            assert_eq!(filled, from_listens);
            store.close();
        }
    }

    #[test]
    fn search_ranks_exact_names_first() {
        let harness = Harness::at("2024-06-01T12:00:00Z");
        let origin = Origin::Rpc(SourceName::parse("rpc").unwrap());
        let mut intake = harness.library.intake(&origin);
        let plays = [
            ("Radiohead", "Creep"),
            ("Various", "Radiohead"),
            ("The Radio Dept.", "Heaven's on Fire"),
            ("Beyoncé", "Halo"),
            ("Sigur Rós", "Hoppípolla"),
        ];
        let listens = plays
            .iter()
            .enumerate()
            .map(|(position, (artist, track))| {
                let listen = Listen {
                    artist: (*artist).to_owned(),
                    track: (*track).to_owned(),
                    album: None,
                    artists: Vec::new(),
                    started_ms: 1_700_000_000_000 + position as i64 * 300_000,
                    duration_ms: None,
                    loved: None,
                    details: None,
                };
                intake.admit(listen).unwrap()
            })
            .collect();
        harness.library.commit(Commit { listens, ..Commit::default() }).unwrap().wait_blocking().unwrap();
        harness.wait_indexed();
        // (query, kinds, the first hit's kind and name)
        let cases: [(&str, &[Kind], (Kind, &str)); 6] = [
            ("radiohead", &[], (Kind::Artist, "Radiohead")),
            ("beyonce", &[], (Kind::Artist, "Beyoncé")),
            ("beyonse", &[], (Kind::Artist, "Beyoncé")),
            ("beyo", &[], (Kind::Artist, "Beyoncé")),
            ("sigur", &[Kind::Track], (Kind::Track, "Hoppípolla")),
            ("radiohead creep", &[], (Kind::Track, "Creep")),
        ];
        for (query, kinds, (kind, name)) in cases {
            let hits = harness.library.search(query, kinds, 5).unwrap();
            let first = hits.first().map(|hit| (hit.kind, hit.name.as_str()));
            assert_eq!(first, Some((kind, name)), "{query}");
        }
        let too_long = "x".repeat(MAX_QUERY_BYTES + 1);
        assert!(harness.library.search(&too_long, &[], 5).is_err());
    }
}
