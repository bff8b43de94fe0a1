//! What the store keeps, and how it is encoded: each value is one version
//! byte followed by the bincode (standard config, pinned forever) of the
//! record of that version. A new layout gets a new version number and a
//! conversion from the old one in [`decode`]; old bytes stay readable.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, InternalError};

/// The version byte of every record layout written today.
const RECORD_V1: u8 = 1;

/// An artist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArtistRecord {
    /// Display name as first seen.
    pub(crate) name: String,
    /// Canonical key.
    pub(crate) key: String,
}

/// An album (release) of one primary artist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AlbumRecord {
    /// Display title as first seen.
    pub(crate) title: String,
    /// Its artist.
    pub(crate) artist_id: u64,
    /// Canonical key (artist key, unit separator, title key).
    pub(crate) key: String,
}

/// A track (recording) of one primary artist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrackRecord {
    /// Display title as first seen, without a `(feat. X)` part.
    pub(crate) title: String,
    /// The primary artist.
    pub(crate) artist_id: u64,
    /// Featured artists.
    pub(crate) featured: Vec<u64>,
    /// The album it was first heard on.
    pub(crate) album_id: Option<u64>,
    /// The raw artist credit as first seen.
    pub(crate) credit: String,
    /// The raw title as first seen.
    pub(crate) raw_title: String,
    /// Canonical key (artist key, unit separator, title key).
    pub(crate) key: String,
}

/// Where a listen came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Provenance {
    /// The source: `spotify`, `lastfm`, `listenbrainz`, `rpc`, or an adapter's name.
    pub(crate) source: String,
    /// The import run that brought it, if any.
    pub(crate) import_run: Option<u64>,
}

/// One play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListenRecord {
    /// Start, unix milliseconds (the key keeps whole seconds).
    pub(crate) start_ms: i64,
    /// How long it played.
    pub(crate) duration_ms: Option<u64>,
    /// The track.
    pub(crate) track_id: u64,
    /// The primary artist (the one the listen counts for).
    pub(crate) artist_id: u64,
    /// The album, when the source named one.
    pub(crate) album_id: Option<u64>,
    /// The primary artist as this listen names it (kept here so listing needs no lookups).
    pub(crate) artist: String,
    /// Featured artists as this listen names them.
    pub(crate) featured: Vec<String>,
    /// The title as this listen names it, without a `(feat. X)` part.
    pub(crate) track: String,
    /// The album as this listen names it.
    pub(crate) album: Option<String>,
    /// The raw credit, when it differs from `artist`.
    pub(crate) credit: Option<String>,
    /// The raw title, when it differs from `track`.
    pub(crate) raw_title: Option<String>,
    /// Every source that reported this play.
    pub(crate) sources: Vec<Provenance>,
}

/// Where a resumable import stands: the next record to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Index of the file in the run's sorted file list.
    pub(crate) file: u64,
    /// Index of the next record in that file.
    pub(crate) record: u64,
}

/// The state of an import run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RunState {
    Running,
    Completed,
    Failed,
    Interrupted,
    /// Stopped for good (`imports.cancel`); appended last, so schema-1 records keep their variants.
    Cancelled,
}

/// An import run: what it reads, how far it got, and its report so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportRunRecord {
    pub(crate) id: u64,
    /// What it imports, as [`RunKind::tag`] writes it; read it with [`ImportRunRecord::kind`].
    kind_tag: String,
    /// The path as given (absolute).
    pub(crate) path: String,
    /// Names, sizes and times of the files, so a resume reads the same files.
    pub(crate) fingerprint: String,
    pub(crate) min_play_ms: u64,
    pub(crate) include_incognito: bool,
    pub(crate) state: RunState,
    pub(crate) started_at: i64,
    pub(crate) finished_at: Option<i64>,
    pub(crate) resumed: u32,
    pub(crate) cursor: Cursor,
    pub(crate) files_total: u64,
    pub(crate) files_done: u64,
    pub(crate) file_records_total: u64,
    pub(crate) file_records_done: u64,
    pub(crate) records: u64,
    pub(crate) imported: u64,
    pub(crate) duplicates: u64,
    pub(crate) skipped: BTreeMap<String, u64>,
    pub(crate) rejected: u64,
    pub(crate) rejected_samples: Vec<String>,
    pub(crate) file_errors: Vec<String>,
    pub(crate) error: Option<String>,
}

impl ImportRunRecord {
    /// A new run (id 0: the store gives it one), running, with nothing done yet.
    pub(crate) fn new(kind: &RunKind, path: String, fingerprint: String, started_at: i64) -> ImportRunRecord {
        ImportRunRecord {
            id: 0,
            kind_tag: kind.tag(),
            path,
            fingerprint,
            min_play_ms: 0,
            include_incognito: false,
            state: RunState::Running,
            started_at,
            finished_at: None,
            resumed: 0,
            cursor: Cursor::default(),
            files_total: 0,
            files_done: 0,
            file_records_total: 0,
            file_records_done: 0,
            records: 0,
            imported: 0,
            duplicates: 0,
            skipped: BTreeMap::new(),
            rejected: 0,
            rejected_samples: Vec::new(),
            file_errors: Vec::new(),
            error: None,
        }
    }
}

impl ImportRunRecord {
    /// What the run imports.
    pub(crate) fn kind(&self) -> RunKind {
        RunKind::of_tag(&self.kind_tag)
    }
}

/// The export files musique reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportKind {
    Spotify,
    LastfmCsv,
    Listenbrainz,
    LastfmJson,
    Maloja,
    Koito,
    ScrobblerLog,
}

impl ExportKind {
    pub(crate) const ALL: [ExportKind; 7] = [
        ExportKind::Spotify,
        ExportKind::LastfmCsv,
        ExportKind::Listenbrainz,
        ExportKind::LastfmJson,
        ExportKind::Maloja,
        ExportKind::Koito,
        ExportKind::ScrobblerLog,
    ];

    /// Its name in the API and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ExportKind::Spotify => "spotify",
            ExportKind::LastfmCsv => "lastfm-csv",
            ExportKind::Listenbrainz => "listenbrainz",
            ExportKind::LastfmJson => "lastfm-json",
            ExportKind::Maloja => "maloja",
            ExportKind::Koito => "koito",
            ExportKind::ScrobblerLog => "scrobbler-log",
        }
    }
}

/// What an import run imports: export files of a kind, or an adapter's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunKind {
    File(ExportKind),
    Adapter(String),
}

impl RunKind {
    /// How the run stores its kind: the export kind's name, or `adapter:NAME`.
    /// Schema-1 stores wrote an adapter's bare name, which [`RunKind::of_tag`] still reads.
    fn tag(&self) -> String {
        match self {
            RunKind::File(kind) => kind.name().to_owned(),
            RunKind::Adapter(name) => format!("adapter:{name}"),
        }
    }

    fn of_tag(tag: &str) -> RunKind {
        if let Some(name) = tag.strip_prefix("adapter:") {
            return RunKind::Adapter(name.to_owned());
        }
        match ExportKind::ALL.into_iter().find(|kind| kind.name() == tag) {
            Some(kind) => RunKind::File(kind),
            None => RunKind::Adapter(tag.to_owned()),
        }
    }

    /// The export kind's or the adapter's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            RunKind::File(kind) => kind.name(),
            RunKind::Adapter(name) => name,
        }
    }
}

/// Whether the listener loves a track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LovedRecord {
    pub(crate) loved: bool,
    /// When this was set, unix milliseconds.
    pub(crate) at_ms: i64,
    /// Who set it: an adapter's name, or `musiquectl`.
    pub(crate) source: String,
}

/// What the listener said about a track or a recording, besides loving a track
/// (that is a [`LovedRecord`]): `-1` hates it, `1` loves a recording known only by MBID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedbackRecord {
    pub(crate) score: i8,
    /// When it was said, unix milliseconds.
    pub(crate) at_ms: i64,
    /// Who said it: a scrobbling credential's name.
    pub(crate) source: String,
}

/// An image at one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageRecord {
    pub(crate) size: String,
    pub(crate) url: String,
}

/// What a source told about an artist or album; `found: false` remembers a miss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnrichmentRecord {
    /// The adapter that answered.
    pub(crate) source: String,
    /// When, unix milliseconds.
    pub(crate) fetched_at_ms: i64,
    pub(crate) found: bool,
    pub(crate) name: String,
    pub(crate) url: Option<String>,
    pub(crate) images: Vec<ImageRecord>,
    pub(crate) summary: Option<String>,
}

/// The leading fields of a [`ListenRecord`], decoded without allocating:
/// what range scans need to count listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct ListenHead {
    pub(crate) start_ms: i64,
    pub(crate) duration_ms: Option<u64>,
    pub(crate) track_id: u64,
    pub(crate) artist_id: u64,
    pub(crate) album_id: Option<u64>,
}

/// Decodes the head of a listen record (its first fields, in layout order).
pub(crate) fn decode_listen_head(bytes: &[u8]) -> Result<ListenHead, Error> {
    match bytes.split_first() {
        Some((&RECORD_V1, payload)) => bincode::serde::decode_from_slice(payload, bincode::config::standard())
            .map(|(head, _)| head)
            .map_err(|err| Error::Internal(InternalError::Decode { table: "listens", message: err.to_string() })),
        _ => decode::<ListenRecord>(bytes, "listens").map(|record| ListenHead {
            start_ms: record.start_ms,
            duration_ms: record.duration_ms,
            track_id: record.track_id,
            artist_id: record.artist_id,
            album_id: record.album_id,
        }),
    }
}

/// Whether an adapter's tracker runs (`StateKey::Tracker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrackerRecord {
    pub(crate) running: bool,
    /// When it first started (unix seconds): where a sweep starts when there is no watermark yet.
    pub(crate) since: i64,
}

/// Which part of an adapter's history an import asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HistoryMode {
    /// Everything up to now.
    Full,
    /// What came after the last full or incremental import (or tracker sweep).
    Incremental,
    /// A date range.
    Range,
}

/// What an adapter import run asked (`StateKey::ImportRequest`), so it resumes asking the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportRequestRecord {
    pub(crate) adapter: String,
    pub(crate) mode: HistoryMode,
    /// Unix seconds, inclusive.
    pub(crate) from: Option<i64>,
    /// Unix seconds, exclusive.
    pub(crate) to: Option<i64>,
}

/// Encodes a record in the current layout.
pub(crate) fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut bytes = vec![RECORD_V1];
    bincode::serde::encode_into_std_write(record, &mut bytes, bincode::config::standard())
        .expect("encoding into a Vec cannot fail");
    bytes
}

/// Decodes a record of any known layout.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], table: &'static str) -> Result<T, Error> {
    let fail = |message: String| Error::Internal(InternalError::Decode { table, message });
    match bytes.split_first() {
        Some((&RECORD_V1, payload)) => bincode::serde::decode_from_slice(payload, bincode::config::standard())
            .map(|(record, _)| record)
            .map_err(|err| fail(err.to_string())),
        Some((version, _)) => Err(fail(format!("unknown record version {version}"))),
        None => Err(fail("empty value".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_kinds_read_their_tags_and_schema_1_names() {
        for kind in [
            RunKind::File(ExportKind::Spotify),
            RunKind::File(ExportKind::LastfmCsv),
            RunKind::File(ExportKind::Listenbrainz),
            RunKind::Adapter("lastfm".into()),
            RunKind::Adapter("spotify".into()),
            RunKind::Adapter("csvfeed".into()),
        ] {
            assert_eq!(RunKind::of_tag(&kind.tag()), kind);
        }
        // Schema 1 wrote adapters' bare names.
        assert_eq!(RunKind::of_tag("lastfm"), RunKind::Adapter("lastfm".into()));
        assert_eq!(RunKind::of_tag("spotify"), RunKind::File(ExportKind::Spotify));
    }

    #[test]
    fn round_trip_and_version_byte() {
        let record = ArtistRecord { name: "Röyksopp".into(), key: "royksopp".into() };
        let bytes = encode(&record);
        assert_eq!(bytes[0], RECORD_V1);
        assert_eq!(decode::<ArtistRecord>(&bytes, "artists").unwrap(), record);
        let mut future = bytes.clone();
        future[0] = 9;
        let err = decode::<ArtistRecord>(&future, "artists").unwrap_err().to_string();
        assert!(err.contains("unknown record version 9"), "{err}");
        assert!(decode::<ArtistRecord>(&[], "artists").is_err());
    }

    #[test]
    fn listen_head_reads_the_leading_fields() {
        let record = ListenRecord {
            start_ms: 1_716_446_950_123,
            duration_ms: Some(220_538),
            track_id: 7,
            artist_id: 3,
            album_id: Some(9),
            artist: "A".into(),
            featured: vec!["B".into()],
            track: "T".into(),
            album: Some("Album".into()),
            credit: Some("A feat. B".into()),
            raw_title: None,
            sources: vec![Provenance { source: "spotify".into(), import_run: Some(1) }],
        };
        let head = decode_listen_head(&encode(&record)).unwrap();
        assert_eq!(
            head,
            ListenHead {
                start_ms: record.start_ms,
                duration_ms: Some(220_538),
                track_id: 7,
                artist_id: 3,
                album_id: Some(9)
            }
        );
    }
}
