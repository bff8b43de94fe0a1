//! The library: every listen, the artists, albums and tracks they name, their
//! charts and search, and the one way listens come in ([`ingest`]).
//!
//! `Library` is a cheap `Clone` handle. It knows nothing of JSON-RPC or HTTP;
//! the edges convert.

mod charts;
pub(crate) mod ingest;
pub(crate) mod source;

use std::sync::Arc;

pub(crate) use charts::Period;
pub(crate) use ingest::{Admitted, Commit, Intake, Listen, Origin};
pub(crate) use source::SourceName;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, RecordedListen};
use crate::index::{Hit, Index};
use crate::store::records::LovedRecord;
use crate::store::{Counts, Kind, ListenKey, Put, Reader, Store, scoped_key};

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
}

/// What the search index says about itself, for the status.
pub(crate) struct IndexHealth {
    pub(crate) bytes: u64,
    /// Store changes not yet searchable.
    pub(crate) lag: u64,
}

impl Library {
    pub(crate) fn new(store: Store, index: Index, events: EventBus, separators: Vec<String>, clock: Clock) -> Library {
        Library { state: Arc::new(State { store, index, events, separators: Arc::new(separators), clock }) }
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

    /// Stores whether a track is loved, as a service said. Blocks until durable.
    pub(crate) fn set_loved(&self, artist: &str, track: &str, loved: bool, source: &str) -> Result<()> {
        let credit = crate::identity::split_credit(artist, track, &self.state.separators);
        let record = LovedRecord { loved, at_ms: self.state.clock.now_ms(), source: source.to_owned() };
        self.state
            .store
            .put_blocking(vec![Put::Loved { track_key: scoped_key(&credit.primary, &credit.title), record }])
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
