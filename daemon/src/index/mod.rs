//! The search index: artists, albums and tracks in tantivy.
//!
//! The index is derived data. One indexer thread owns the only
//! `IndexWriter`; it follows the store's change log, commits on a timer, and
//! records in each commit's payload the last change seq it holds and the id
//! of the store it was built from. On start, an index that is missing,
//! unreadable, of another schema, of another store, ahead of the store, or
//! further behind than the change log reaches is rebuilt from the store;
//! otherwise the indexer replays the change log from the payload's seq.
//!
//! Order matters for crash safety: tantivy commits first, and only then is
//! the change log pruned up to the committed seq.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::oneshot;

use crate::error::{Error, InternalError, Result, index_err, io_err};
use crate::identity::canonical_key;
use crate::store::{Change, Kind, Store};

/// Bump when the fields or the analyzer change: older indexes are rebuilt.
/// 2: owned records (`record:ID`) with their labels, catalogue numbers, genres, styles and year in `extra`.
const INDEX_SCHEMA_VERSION: u32 = 2;

/// Name of the analyzer that lowercases and folds accents.
const ANALYZER: &str = "musique_fold";

/// Memory for the single indexing thread (tantivy's minimum is 15 MB per thread).
const WRITER_MEMORY_BYTES: usize = 50_000_000;

/// Changes read from the log per step, bounding memory while catching up.
const CHANGES_PER_STEP: usize = 20_000;

/// Commit early when this many documents are pending, whatever the timer says.
const MAX_PENDING_DOCS: u64 = 200_000;

/// Handle to the index; cheap to clone.
#[derive(Clone)]
pub(crate) struct Index {
    shared: Arc<Shared>,
}

struct Shared {
    /// For searches; reloaded by the indexer after each commit.
    reader: IndexReader,
    /// The analyzer, to split queries the way names were split.
    analyzer: Mutex<TextAnalyzer>,
    fields: Fields,
    /// The index directory, for its size.
    dir: PathBuf,
    /// Last change seq that is searchable.
    indexed_seq: AtomicU64,
    /// Size of the index directory after the last commit.
    size_bytes: AtomicU64,
    /// The indexer's last error, shown in `daemon.status`.
    last_error: Mutex<Option<String>>,
    /// Requests to the indexer thread; `None` once stopped.
    requests: Mutex<Option<Sender<Request>>>,
    /// The indexer thread, joined on stop.
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Clone, Copy)]
struct Fields {
    /// `artist:12`: the document's identity, for deletes and results.
    uid: Field,
    /// `artist`, `album` or `track`.
    kind: Field,
    /// The artist name, album title or track title (folded text).
    name: Field,
    /// The artist of an album or track (folded text).
    artist: Field,
    /// The canonical key of `name`, for exact-match boosts.
    exact: Field,
    /// An owned record's labels, catalogue numbers, genres, styles and year (folded text).
    extra: Field,
}

enum Request {
    Rebuild(oneshot::Sender<Result<(u64, Duration)>>),
}

#[derive(Serialize, Deserialize)]
struct Payload {
    seq: u64,
    schema: u32,
    db_id: String,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) kind: Kind,
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) artist: Option<String>,
    pub(crate) score: f32,
}

fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        uid: builder.add_text_field("uid", STRING | STORED),
        kind: builder.add_text_field("kind", STRING),
        name: builder.add_text_field("name", text.clone()),
        artist: builder.add_text_field("artist", text.clone()),
        exact: builder.add_text_field("exact", STRING),
        extra: builder.add_text_field("extra", text),
    };
    (builder.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Artist => "artist",
        Kind::Album => "album",
        Kind::Track => "track",
    }
}

/// The `kind` of owned records' documents.
const RECORD: &str = "record";

fn uid(kind: Kind, id: u64) -> String {
    format!("{}:{id}", kind_name(kind))
}

fn parse_uid(uid: &str) -> Option<(Kind, u64)> {
    let (kind, id) = uid.split_once(':')?;
    let kind = match kind {
        "artist" => Kind::Artist,
        "album" => Kind::Album,
        "track" => Kind::Track,
        _ => return None,
    };
    Some((kind, id.parse().ok()?))
}

/// Opens the index in `dir` (creating or rebuilding it as needed) and starts the indexer.
pub(crate) fn open(dir: &Path, store: &Store, commit_interval: Duration) -> Result<Index> {
    let (schema, fields) = build_schema();
    let (index, reusable) = open_or_create(dir, &schema)?;
    index.tokenizers().register(ANALYZER, analyzer());
    let writer: IndexWriter =
        index.writer_with_num_threads(1, WRITER_MEMORY_BYTES).map_err(index_err("open index writer"))?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(index_err("open index reader"))?;
    let start_seq = if reusable { usable_payload_seq(&index, store)? } else { None };
    let (sender, receiver) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared {
        reader,
        analyzer: Mutex::new(analyzer()),
        fields,
        dir: dir.to_owned(),
        indexed_seq: AtomicU64::new(start_seq.unwrap_or(0)),
        size_bytes: AtomicU64::new(dir_size(dir)),
        last_error: Mutex::new(None),
        requests: Mutex::new(Some(sender)),
        thread: Mutex::new(None),
    });
    let mut indexer = Indexer {
        shared: shared.clone(),
        store: store.clone(),
        writer,
        applied_seq: start_seq.unwrap_or(0),
        pending: 0,
        last_commit: Instant::now(),
        commit_interval,
    };
    if start_seq.is_none() {
        // Rebuild before serving, so a search never sees a half-built index.
        let (documents, elapsed) = indexer.rebuild()?;
        tracing::info!(documents, elapsed_ms = elapsed.as_millis() as u64, "search index rebuilt from the store");
    }
    let thread = std::thread::Builder::new()
        .name("indexer".into())
        .spawn(move || indexer.run(receiver))
        .map_err(io_err("spawn", "indexer"))?;
    *shared.thread.lock().expect("thread lock") = Some(thread);
    Ok(Index { shared })
}

/// Opens the index if it is readable and of this schema; otherwise starts a fresh one.
/// Returns the index and whether its content may be reused.
fn open_or_create(dir: &Path, schema: &Schema) -> Result<(tantivy::Index, bool)> {
    if dir.join("meta.json").exists() {
        match tantivy::Index::open_in_dir(dir) {
            Ok(index) if index.schema() == *schema && index.load_metas().is_ok() => {
                return Ok((index, true));
            }
            Ok(_) => tracing::warn!(dir = %dir.display(), "search index has another schema; rebuilding"),
            Err(err) => tracing::warn!(dir = %dir.display(), error = %err, "search index unreadable; rebuilding"),
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io_err("remove", dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let index = tantivy::Index::create_in_dir(dir, schema.clone()).map_err(index_err("create index"))?;
    Ok((index, false))
}

/// The seq to resume from, or `None` when the index must be rebuilt.
fn usable_payload_seq(index: &tantivy::Index, store: &Store) -> Result<Option<u64>> {
    let metas = index.load_metas().map_err(index_err("read index meta"))?;
    let Some(payload) = metas.payload.as_deref().and_then(|text| serde_json::from_str::<Payload>(text).ok()) else {
        tracing::warn!("search index has no readable payload; rebuilding");
        return Ok(None);
    };
    let reader = store.read()?;
    let last_seq = reader.last_seq()?;
    let reason = if payload.schema != INDEX_SCHEMA_VERSION {
        Some("another index schema version")
    } else if payload.db_id != store.db_id() {
        Some("built from another store")
    } else if payload.seq > last_seq {
        Some("ahead of the store")
    } else if payload.seq < last_seq && reader.first_change()?.is_none_or(|first| first > payload.seq + 1) {
        Some("further behind than the change log reaches")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            tracing::warn!(reason, "search index cannot be resumed; rebuilding");
            Ok(None)
        }
        None => Ok(Some(payload.seq)),
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.metadata().ok())
                .filter(|meta| meta.is_file())
                .map(|meta| meta.len())
                .sum()
        })
        .unwrap_or(0)
}

impl Index {
    /// The last change seq that is searchable.
    pub(crate) fn indexed_seq(&self) -> u64 {
        self.shared.indexed_seq.load(Ordering::Acquire)
    }

    /// Size of the index on disk after the last commit.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.shared.size_bytes.load(Ordering::Relaxed)
    }

    /// The indexer's last error, if it is failing.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().expect("last_error lock").clone()
    }

    /// Rebuilds the whole index from the store; returns (documents, time taken).
    pub(crate) async fn rebuild(&self) -> Result<(u64, Duration)> {
        let (reply, receiver) = oneshot::channel();
        {
            let requests = self.shared.requests.lock().expect("requests lock");
            let sender = requests.as_ref().ok_or(Error::Internal(InternalError::WorkerGone("indexer")))?;
            sender.send(Request::Rebuild(reply)).map_err(|_| Error::Internal(InternalError::WorkerGone("indexer")))?;
        }
        receiver.await.map_err(|_| Error::Internal(InternalError::WorkerGone("indexer")))?
    }

    /// Stops the indexer after a last commit of what it has.
    pub(crate) fn stop(&self) {
        self.shared.requests.lock().expect("requests lock").take();
        if let Some(thread) = self.shared.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }

    /// Searches names. Every word must match (exactly, with a typo, or, for the
    /// last word, as a prefix) the name or the artist; exact names rank first.
    pub(crate) fn search(&self, text: &str, kinds: &[Kind], limit: usize) -> Result<Vec<Hit>> {
        let fields = self.shared.fields;
        let tokens = self.tokens(text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses = word_clauses(&tokens, &[(fields.name, 1.0), (fields.artist, 0.5)]);
        let exact = Term::from_field_text(fields.exact, &canonical_key(text));
        clauses.push((Occur::Should, boosted(TermQuery::new(exact.clone(), IndexRecordOption::Basic), 10.0)));
        // Among exact matches, an artist ranks before an album or track of the same name.
        let exact_artist: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(TermQuery::new(exact, IndexRecordOption::Basic))),
            (
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(fields.kind, "artist"), IndexRecordOption::Basic)),
            ),
        ];
        clauses.push((Occur::Should, boosted(BooleanQuery::new(exact_artist), 2.0)));
        // Owned records are searched apart (`search_records`).
        let record = Term::from_field_text(fields.kind, RECORD);
        clauses.push((Occur::MustNot, Box::new(TermQuery::new(record, IndexRecordOption::Basic))));
        if !kinds.is_empty() && kinds.len() < Kind::ALL.len() {
            let kind_clauses = kinds
                .iter()
                .map(|kind| {
                    let term = Term::from_field_text(fields.kind, kind_name(*kind));
                    (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(kind_clauses))));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.shared.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score()).map_err(index_err("search"))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_err("read document"))?;
            let text_of = |field: Field| doc.get_first(field).and_then(|value| value.as_str()).map(str::to_owned);
            let Some((kind, id)) = text_of(fields.uid).as_deref().and_then(parse_uid) else { continue };
            hits.push(Hit {
                kind,
                id,
                name: text_of(fields.name).unwrap_or_default(),
                artist: text_of(fields.artist).filter(|artist| !artist.is_empty()),
                score,
            });
        }
        Ok(hits)
    }

    /// Searches owned records: every word must match (as in [`Index::search`]) the
    /// title, the artists, or a label, catalogue number, genre, style or year.
    /// Their instance ids, best first.
    pub(crate) fn search_records(&self, text: &str, limit: usize) -> Result<Vec<u64>> {
        let fields = self.shared.fields;
        let tokens = self.tokens(text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses = word_clauses(&tokens, &[(fields.name, 1.0), (fields.artist, 0.7), (fields.extra, 0.5)]);
        let record = Term::from_field_text(fields.kind, RECORD);
        clauses.push((Occur::Must, Box::new(TermQuery::new(record, IndexRecordOption::Basic))));
        let query = BooleanQuery::new(clauses);
        let searcher = self.shared.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score()).map_err(index_err("search"))?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_err("read document"))?;
            let uid = doc.get_first(fields.uid).and_then(|value| value.as_str()).unwrap_or_default();
            if let Some(id) = uid.strip_prefix("record:").and_then(|id| id.parse().ok()) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.shared.analyzer.lock().expect("analyzer lock");
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            if !tokens.contains(&token.text) {
                tokens.push(token.text.clone());
            }
        }
        tokens.truncate(16);
        tokens
    }
}

/// One clause per word, each a must: the word matches one of `fields` (weighted)
/// exactly, with a typo (one from 4 letters, two from 8), or, for the last word, as a prefix.
fn word_clauses(tokens: &[String], fields: &[(Field, f32)]) -> Vec<(Occur, Box<dyn Query>)> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let last = tokens.len().saturating_sub(1);
    for (position, token) in tokens.iter().enumerate() {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for &(field, weight) in fields {
            let term = Term::from_field_text(field, token);
            alternatives.push((
                Occur::Should,
                boosted(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs), 3.0 * weight),
            ));
            let length = token.chars().count();
            let distance = match length {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            if distance > 0 {
                alternatives.push((Occur::Should, boosted(FuzzyTermQuery::new(term.clone(), distance, true), weight)));
            }
            if position == last {
                let prefix_distance = if length >= 5 { 1 } else { 0 };
                alternatives.push((
                    Occur::Should,
                    boosted(FuzzyTermQuery::new_prefix(term, prefix_distance, true), 0.8 * weight),
                ));
            }
        }
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    clauses
}

fn boosted(query: impl Query + 'static, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(Box::new(query), boost))
}

/// The indexer thread's state.
struct Indexer {
    shared: Arc<Shared>,
    store: Store,
    writer: IndexWriter,
    /// Last change seq added to the writer (committed or not).
    applied_seq: u64,
    /// Documents added since the last commit.
    pending: u64,
    last_commit: Instant,
    commit_interval: Duration,
}

impl Indexer {
    fn run(mut self, requests: Receiver<Request>) {
        loop {
            match requests.try_recv() {
                Ok(Request::Rebuild(reply)) => {
                    let _ = reply.send(self.rebuild());
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {}
            }
            match self.step() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => {
                    tracing::error!(error = %err, "indexer step failed; retrying");
                    *self.shared.last_error.lock().expect("last_error lock") = Some(err.to_string());
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            }
            let wait = if self.pending > 0 {
                self.commit_interval.saturating_sub(self.last_commit.elapsed()).min(Duration::from_millis(100))
            } else {
                Duration::from_millis(100)
            };
            self.store.wait_for_change(self.applied_seq, wait);
        }
        if self.pending > 0
            && let Err(err) = self.commit()
        {
            tracing::error!(error = %err, "final index commit failed; the index will catch up on start");
        }
        let _ = self.writer.wait_merging_threads();
    }

    /// Applies new changes and commits when due. Returns whether there may be more work right away.
    fn step(&mut self) -> Result<bool> {
        let changes = self.store.read()?.changes_after(self.applied_seq, CHANGES_PER_STEP)?;
        let more = changes.len() == CHANGES_PER_STEP;
        if !changes.is_empty() {
            let reader = self.store.read()?;
            for (seq, change) in changes {
                match change {
                    Change::Entity(kind, id) => self.index_entity(&reader, kind, id)?,
                    Change::Record(id) => self.index_record(&reader, id)?,
                }
                self.applied_seq = seq;
            }
        }
        if self.pending > 0 && (self.last_commit.elapsed() >= self.commit_interval || self.pending >= MAX_PENDING_DOCS)
        {
            self.commit()?;
        }
        *self.shared.last_error.lock().expect("last_error lock") = None;
        Ok(more)
    }

    fn index_entity(&mut self, reader: &crate::store::Reader, kind: Kind, id: u64) -> Result<()> {
        let fields = self.shared.fields;
        let (name, artist_id) = match kind {
            Kind::Artist => match reader.artist(id)? {
                Some(artist) => (artist.name, None),
                None => return Ok(()),
            },
            Kind::Album => match reader.album(id)? {
                Some(album) => (album.title, Some(album.artist_id)),
                None => return Ok(()),
            },
            Kind::Track => match reader.track(id)? {
                Some(track) => (track.title, Some(track.artist_id)),
                None => return Ok(()),
            },
        };
        let artist = match artist_id {
            Some(artist_id) => reader.artist(artist_id)?.map(|artist| artist.name).unwrap_or_default(),
            None => String::new(),
        };
        let uid = uid(kind, id);
        self.writer.delete_term(Term::from_field_text(fields.uid, &uid));
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.uid, &uid);
        doc.add_text(fields.kind, kind_name(kind));
        doc.add_text(fields.exact, canonical_key(&name));
        doc.add_text(fields.name, &name);
        doc.add_text(fields.artist, &artist);
        self.writer.add_document(doc).map_err(index_err("add document"))?;
        self.pending += 1;
        Ok(())
    }

    /// (Re)indexes owned record `id`, or removes it when it is gone.
    fn index_record(&mut self, reader: &crate::store::Reader, id: u64) -> Result<()> {
        let fields = self.shared.fields;
        let uid = format!("{RECORD}:{id}");
        self.writer.delete_term(Term::from_field_text(fields.uid, &uid));
        let Some(record) = reader.owned(id)? else {
            self.pending += 1;
            return Ok(());
        };
        let item = &record.item;
        let artist = crate::identity::artist_line(&item.artists);
        let mut extra: Vec<String> = Vec::new();
        for label in &item.labels {
            extra.push(label.name.clone());
            extra.extend(label.catalogue_number.clone());
        }
        extra.extend(item.genres.iter().cloned());
        extra.extend(item.styles.iter().cloned());
        extra.extend(item.year.map(|year| year.to_string()));
        for credit in &item.artists {
            extra.extend(credit.credited_as.clone());
        }
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.uid, &uid);
        doc.add_text(fields.kind, RECORD);
        doc.add_text(fields.exact, canonical_key(&item.title));
        doc.add_text(fields.name, &item.title);
        doc.add_text(fields.artist, &artist);
        doc.add_text(fields.extra, extra.join(" "));
        self.writer.add_document(doc).map_err(index_err("add document"))?;
        self.pending += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let payload =
            Payload { seq: self.applied_seq, schema: INDEX_SCHEMA_VERSION, db_id: self.store.db_id().to_owned() };
        let payload = serde_json::to_string(&payload).expect("payload serializes");
        let mut prepared = self.writer.prepare_commit().map_err(index_err("prepare commit"))?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(index_err("commit"))?;
        self.shared.reader.reload().map_err(index_err("reload reader"))?;
        self.shared.indexed_seq.store(self.applied_seq, Ordering::Release);
        self.shared.size_bytes.store(dir_size(&self.shared.dir), Ordering::Relaxed);
        self.pending = 0;
        self.last_commit = Instant::now();
        // Only now that tantivy has the changes may the log forget them.
        self.store.prune_changes(self.applied_seq);
        Ok(())
    }

    /// Replaces every document with the store's current entities, in one commit.
    fn rebuild(&mut self) -> Result<(u64, Duration)> {
        let started = Instant::now();
        self.writer.delete_all_documents().map_err(index_err("clear index"))?;
        let reader = self.store.read()?;
        let seq = reader.last_seq()?;
        let mut documents = 0;
        for kind in Kind::ALL {
            let mut ids = Vec::new();
            reader.for_each_entity(kind, |id| {
                ids.push(id);
                Ok(())
            })?;
            for id in ids {
                self.index_entity(&reader, kind, id)?;
                documents += 1;
            }
        }
        for (id, _) in reader.collection()? {
            self.index_record(&reader, id)?;
            documents += 1;
        }
        self.applied_seq = seq;
        self.pending = self.pending.max(1);
        self.commit()?;
        Ok((documents, started.elapsed()))
    }
}
