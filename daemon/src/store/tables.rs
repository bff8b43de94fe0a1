//! Every redb table, in one place. Values are [`super::records`] envelopes
//! unless the type says otherwise.

use redb::TableDefinition;

/// Store-wide facts: `schema_version` (u32 LE), `db_id` (text), `last_seq` (u64 LE).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Artist id → `ArtistRecord`.
pub(crate) const ARTISTS: TableDefinition<u64, &[u8]> = TableDefinition::new("artists");
/// Artist canonical key → artist id.
pub(crate) const ARTIST_KEYS: TableDefinition<&str, u64> = TableDefinition::new("artist_keys");
/// Album id → `AlbumRecord`.
pub(crate) const ALBUMS: TableDefinition<u64, &[u8]> = TableDefinition::new("albums");
/// `artist key \x1f album key` → album id.
pub(crate) const ALBUM_KEYS: TableDefinition<&str, u64> = TableDefinition::new("album_keys");
/// Track id → `TrackRecord`.
pub(crate) const TRACKS: TableDefinition<u64, &[u8]> = TableDefinition::new("tracks");
/// `artist key \x1f title key` → track id.
pub(crate) const TRACK_KEYS: TableDefinition<&str, u64> = TableDefinition::new("track_keys");

/// `(start second, track id)` → `ListenRecord`. The key is the listen's
/// identity, so a range of time is a range scan and a re-import is a lookup.
pub(crate) const LISTENS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("listens");

/// The listens that count (not excluded), keyed as `listens`, narrowed to what
/// scans over time need: `(artist id, album id or 0, milliseconds or u32::MAX)`
/// (see [`super::PlayRow`]). A fifth of the listens' bytes, so a walk over a
/// whole history stays in the cache. Written with the listen, in the same transaction.
pub(crate) const PLAYS: TableDefinition<(u64, u64), (u64, u64, u32)> = TableDefinition::new("plays");

/// Track id → its length in milliseconds: the longest duration any of its
/// listens reported. Time listened counts it for listens without a duration.
pub(crate) const TRACK_LENGTHS: TableDefinition<u64, u32> = TableDefinition::new("track_lengths");

/// `(series, bucket, entity id)` → plays: all-time plays per entity, plays per
/// day and per hour of the week. See [`super::series`].
pub(crate) const AGGREGATES: TableDefinition<(u8, u32, u64), u64> = TableDefinition::new("aggregates");

/// `(entity kind, months since 1970-01)` → that month's play counters (see `counts`).
pub(crate) const MONTH_COUNTS: TableDefinition<(u8, u32), &[u8]> = TableDefinition::new("month_counts");

/// Change seq → `(entity kind, entity id)`: what the indexer has to (re)index.
pub(crate) const CHANGES: TableDefinition<u64, (u8, u64)> = TableDefinition::new("changes");

/// `(plugin name, key)` → the plugin's own state (cursors, tokens), as the plugin wrote it.
pub(crate) const PLUGIN_STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("plugin_state");

/// Import run id → `ImportRunRecord`.
pub(crate) const IMPORT_RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("import_runs");

/// `(scope, key)` → the daemon's own state: trackers (`tracker`, adapter),
/// sync watermarks (`sync`, adapter), adapter import requests and cursors
/// (`import-request` / `import-cursor`, run id).
pub(crate) const SERVICE_STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("service_state");

/// Track canonical key → `LovedRecord`. Keyed by name, so a track can be loved before its first listen.
pub(crate) const LOVED: TableDefinition<&str, &[u8]> = TableDefinition::new("loved");

/// `(subject kind, key)` → `FeedbackRecord`: what the listener said about a track (kind 0, its
/// canonical key) or a recording (kind 1, its MBID) besides loving it, which is `LOVED`: a hated
/// track, a loved or hated recording. See [`super::FeedbackSubject`].
pub(crate) const FEEDBACK: TableDefinition<(u8, &str), &[u8]> = TableDefinition::new("feedback");

/// `(entity kind, canonical key)` → `EnrichmentRecord` (images, summary), misses included.
pub(crate) const ENRICHMENTS: TableDefinition<(u8, &str), &[u8]> = TableDefinition::new("enrichments");

/// Listen key as a second source reported it → the key of the listen it was merged into.
pub(crate) const LISTEN_ALIASES: TableDefinition<(u64, u64), (u64, u64)> = TableDefinition::new("listen_aliases");

/// Source name → listens that name it among their sources.
pub(crate) const SOURCES: TableDefinition<&str, u64> = TableDefinition::new("sources");

/// Collection item (a copy of a release someone owns) by its instance id →
/// `OwnedRecord` as JSON (see `records::encode_json`).
pub(crate) const COLLECTION: TableDefinition<u64, &[u8]> = TableDefinition::new("collection");

/// Release details by release id → `ReleaseRecord` as JSON.
pub(crate) const RELEASES: TableDefinition<u64, &[u8]> = TableDefinition::new("releases");

/// Album id → the start second of its last listen that counts (for "last played").
pub(crate) const ALBUM_LAST: TableDefinition<u64, u64> = TableDefinition::new("album_last");

/// Release id → `LinkRecord` as JSON: the user's own link of an owned release to
/// an album of the history (or to none), over the automatic one.
pub(crate) const COLLECTION_LINKS: TableDefinition<u64, &[u8]> = TableDefinition::new("collection_links");
