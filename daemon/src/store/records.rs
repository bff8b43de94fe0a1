//! What the store keeps, and how it is encoded: each value is one version
//! byte followed by the bincode (standard config, pinned forever) of the
//! record of that version. A new layout gets a new version number and a
//! conversion from the old one in [`decode`]; old bytes stay readable.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, InternalError};

/// The version byte of every record layout written today, but listens'.
const RECORD_V1: u8 = 1;
/// The version byte of listens with what the reports carry ([`ListenRecord::details`]).
/// Version 1 listens are read as version 3 without details.
const RECORD_V2: u8 = 2;
/// The version byte of listens written today: version 2, the `excluded` flag in the
/// head (after `album_id`), and the radio station in the details. Versions 1 and 2 are
/// read as version 3, neither excluded nor radio.
const RECORD_V3: u8 = 3;

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
    /// Left out of charts and statistics (a radio play, recorded but not ranked). Since version 3.
    pub(crate) excluded: bool,
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
    /// What the reports carry besides names and times; most listens have none. Since version 2.
    pub(crate) details: Option<Box<ListenDetails>>,
}

/// A listen as version 2 laid it out: [`ListenRecord`] without `excluded`, and
/// details without the radio station.
#[derive(Deserialize)]
struct ListenRecordV2 {
    start_ms: i64,
    duration_ms: Option<u64>,
    track_id: u64,
    artist_id: u64,
    album_id: Option<u64>,
    artist: String,
    featured: Vec<String>,
    track: String,
    album: Option<String>,
    credit: Option<String>,
    raw_title: Option<String>,
    sources: Vec<Provenance>,
    details: Option<Box<ListenDetailsV2>>,
}

impl From<ListenRecordV2> for ListenRecord {
    fn from(old: ListenRecordV2) -> ListenRecord {
        ListenRecord {
            start_ms: old.start_ms,
            duration_ms: old.duration_ms,
            track_id: old.track_id,
            artist_id: old.artist_id,
            album_id: old.album_id,
            excluded: false,
            artist: old.artist,
            featured: old.featured,
            track: old.track,
            album: old.album,
            credit: old.credit,
            raw_title: old.raw_title,
            sources: old.sources,
            details: old.details.map(|details| Box::new(ListenDetails::from(*details))),
        }
    }
}

/// A listen as version 1 laid it out: [`ListenRecord`] without `details`.
#[derive(Deserialize)]
struct ListenRecordV1 {
    start_ms: i64,
    duration_ms: Option<u64>,
    track_id: u64,
    artist_id: u64,
    album_id: Option<u64>,
    artist: String,
    featured: Vec<String>,
    track: String,
    album: Option<String>,
    credit: Option<String>,
    raw_title: Option<String>,
    sources: Vec<Provenance>,
}

impl From<ListenRecordV1> for ListenRecord {
    fn from(old: ListenRecordV1) -> ListenRecord {
        ListenRecord {
            start_ms: old.start_ms,
            duration_ms: old.duration_ms,
            track_id: old.track_id,
            artist_id: old.artist_id,
            album_id: old.album_id,
            excluded: false,
            artist: old.artist,
            featured: old.featured,
            track: old.track,
            album: old.album,
            credit: old.credit,
            raw_title: old.raw_title,
            sources: old.sources,
            details: None,
        }
    }
}

/// What a listen's reports carry besides names and times: MusicBrainz ids and
/// the submitting client (ListenBrainz), how the play went (Spotify's extended
/// history). Every field is optional; when reports of one play merge, the
/// listen gains the fields it lacks and keeps those it has (first report wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListenDetails {
    pub(crate) recording_mbid: Option<String>,
    pub(crate) release_mbid: Option<String>,
    pub(crate) release_group_mbid: Option<String>,
    pub(crate) track_mbid: Option<String>,
    pub(crate) artist_mbids: Vec<String>,
    pub(crate) work_mbids: Vec<String>,
    /// The program that submitted the play (ListenBrainz `submission_client`).
    pub(crate) submission_client: Option<String>,
    pub(crate) submission_client_version: Option<String>,
    /// The program that played it.
    pub(crate) media_player: Option<String>,
    /// The service it was streamed from (`spotify.com`, …).
    pub(crate) music_service: Option<String>,
    /// Where it can be played again.
    pub(crate) origin_url: Option<String>,
    /// Spotify's id of the track (`spotify:track:…`).
    pub(crate) spotify_track_uri: Option<String>,
    /// Why the play started, as Spotify says (`trackdone`, `clickrow`, …).
    pub(crate) reason_start: Option<String>,
    /// Why it ended (`trackdone`, `fwdbtn`, `endplay`, …).
    pub(crate) reason_end: Option<String>,
    /// Whether the listener skipped to the next track.
    pub(crate) skipped: Option<bool>,
    /// Whether shuffle was on.
    pub(crate) shuffle: Option<bool>,
    /// The device or app it played on: Spotify's platform, Roon's zone.
    pub(crate) platform: Option<String>,
    /// The radio station it was heard on (a player's live radio). Since version 3.
    pub(crate) radio: Option<String>,
}

/// [`ListenDetails`] as version 2 laid them out: without `radio`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct ListenDetailsV2 {
    recording_mbid: Option<String>,
    release_mbid: Option<String>,
    release_group_mbid: Option<String>,
    track_mbid: Option<String>,
    artist_mbids: Vec<String>,
    work_mbids: Vec<String>,
    submission_client: Option<String>,
    submission_client_version: Option<String>,
    media_player: Option<String>,
    music_service: Option<String>,
    origin_url: Option<String>,
    spotify_track_uri: Option<String>,
    reason_start: Option<String>,
    reason_end: Option<String>,
    skipped: Option<bool>,
    shuffle: Option<bool>,
    platform: Option<String>,
}

impl From<ListenDetailsV2> for ListenDetails {
    fn from(old: ListenDetailsV2) -> ListenDetails {
        ListenDetails {
            recording_mbid: old.recording_mbid,
            release_mbid: old.release_mbid,
            release_group_mbid: old.release_group_mbid,
            track_mbid: old.track_mbid,
            artist_mbids: old.artist_mbids,
            work_mbids: old.work_mbids,
            submission_client: old.submission_client,
            submission_client_version: old.submission_client_version,
            media_player: old.media_player,
            music_service: old.music_service,
            origin_url: old.origin_url,
            spotify_track_uri: old.spotify_track_uri,
            reason_start: old.reason_start,
            reason_end: old.reason_end,
            skipped: old.skipped,
            shuffle: old.shuffle,
            platform: old.platform,
            radio: None,
        }
    }
}

/// A MusicBrainz id in its canonical form (lower case), when `text` is one (`8-4-4-4-12` hex digits).
pub(crate) fn mbid(text: &str) -> Option<String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let valid = bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
    valid.then(|| text.to_ascii_lowercase())
}

impl ListenDetails {
    /// Whether no field is set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == ListenDetails::default()
    }

    /// Takes from `other` every field this lacks; returns whether anything was gained.
    pub(crate) fn gain(&mut self, other: &ListenDetails) -> bool {
        let before = self.clone();
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.recording_mbid, &other.recording_mbid);
        fill(&mut self.release_mbid, &other.release_mbid);
        fill(&mut self.release_group_mbid, &other.release_group_mbid);
        fill(&mut self.track_mbid, &other.track_mbid);
        if self.artist_mbids.is_empty() {
            self.artist_mbids.clone_from(&other.artist_mbids);
        }
        if self.work_mbids.is_empty() {
            self.work_mbids.clone_from(&other.work_mbids);
        }
        fill(&mut self.submission_client, &other.submission_client);
        fill(&mut self.submission_client_version, &other.submission_client_version);
        fill(&mut self.media_player, &other.media_player);
        fill(&mut self.music_service, &other.music_service);
        fill(&mut self.origin_url, &other.origin_url);
        fill(&mut self.spotify_track_uri, &other.spotify_track_uri);
        fill(&mut self.reason_start, &other.reason_start);
        fill(&mut self.reason_end, &other.reason_end);
        fill(&mut self.skipped, &other.skipped);
        fill(&mut self.shuffle, &other.shuffle);
        fill(&mut self.platform, &other.platform);
        fill(&mut self.radio, &other.radio);
        *self != before
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListenHead {
    pub(crate) start_ms: i64,
    pub(crate) duration_ms: Option<u64>,
    pub(crate) track_id: u64,
    pub(crate) artist_id: u64,
    pub(crate) album_id: Option<u64>,
    /// Left out of charts (always false before version 3).
    #[serde(default)]
    pub(crate) excluded: bool,
}

/// The head of a version 1 or 2 listen: no `excluded` flag (what `read_head` is checked against).
#[cfg(test)]
#[derive(Deserialize)]
struct ListenHeadV2 {
    start_ms: i64,
    duration_ms: Option<u64>,
    track_id: u64,
    artist_id: u64,
    album_id: Option<u64>,
}

/// Decodes the head of a listen record (its first fields, in layout order; versions 1
/// and 2 begin alike, version 3 adds `excluded`). Scans of millions of listens read
/// only heads, so the fields are read by hand, as bincode's standard config lays
/// them out (see [`read_head`]); what does not read so is decoded whole.
pub(crate) fn decode_listen_head(bytes: &[u8]) -> Result<ListenHead, Error> {
    let head = match bytes.split_first() {
        Some((&RECORD_V3, payload)) => read_head(payload, true),
        Some((&(RECORD_V1 | RECORD_V2), payload)) => read_head(payload, false),
        _ => None,
    };
    match head {
        Some(head) => Ok(head),
        None => decode_listen(bytes).map(|record| ListenHead {
            start_ms: record.start_ms,
            duration_ms: record.duration_ms,
            track_id: record.track_id,
            artist_id: record.artist_id,
            album_id: record.album_id,
            excluded: record.excluded,
        }),
    }
}

/// Reads a head as bincode's standard config writes it: integers as varints (below
/// 251 one byte, else a marker 251, 252 or 253 and 2, 4 or 8 little-endian bytes),
/// signed ones zigzagged first, an option as a 0 or 1 byte before its value, a bool as
/// one byte. `None` when the bytes do not read so.
fn read_head(bytes: &[u8], with_excluded: bool) -> Option<ListenHead> {
    let mut cursor = HeadBytes { bytes, position: 0 };
    let zigzag = cursor.varint()?;
    let start_ms = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
    let duration_ms = cursor.option()?;
    let track_id = cursor.varint()?;
    let artist_id = cursor.varint()?;
    let album_id = cursor.option()?;
    let excluded = match with_excluded {
        false => false,
        true => match cursor.byte()? {
            0 => false,
            1 => true,
            _ => return None,
        },
    };
    Some(ListenHead { start_ms, duration_ms, track_id, artist_id, album_id, excluded })
}

/// Reads bincode's standard layout from the front of some bytes.
struct HeadBytes<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl HeadBytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let value = *self.bytes.get(self.position)?;
        self.position += 1;
        Some(value)
    }

    fn varint(&mut self) -> Option<u64> {
        let width = match self.byte()? {
            small @ 0..=250 => return Some(u64::from(small)),
            251 => 2,
            252 => 4,
            253 => 8,
            _ => return None,
        };
        let bytes = self.bytes.get(self.position..self.position + width)?;
        self.position += width;
        Some(bytes.iter().rev().fold(0u64, |value, byte| (value << 8) | u64::from(*byte)))
    }

    fn option(&mut self) -> Option<Option<u64>> {
        match self.byte()? {
            0 => Some(None),
            1 => self.varint().map(Some),
            _ => None,
        }
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

/// Encodes a listen in the current listen layout (version 3).
pub(crate) fn encode_listen(record: &ListenRecord) -> Vec<u8> {
    let mut bytes = vec![RECORD_V3];
    bincode::serde::encode_into_std_write(record, &mut bytes, bincode::config::standard())
        .expect("encoding into a Vec cannot fail");
    bytes
}

/// Decodes a listen of any layout: versions 1 and 2 are converted.
pub(crate) fn decode_listen(bytes: &[u8]) -> Result<ListenRecord, Error> {
    match bytes.split_first() {
        Some((&RECORD_V1, _)) => decode::<ListenRecordV1>(bytes, "listens").map(ListenRecord::from),
        Some((&RECORD_V2, _)) => decode::<ListenRecordV2>(bytes, "listens").map(ListenRecord::from),
        _ => decode::<ListenRecord>(bytes, "listens"),
    }
}

/// Decodes a record of any known layout. Listens are read with [`decode_listen`],
/// which converts version 1 listens to version 2.
/// The JSON records' version byte: records whose types come from the SDK (their
/// optional fields are left out when absent, which bincode cannot read back).
const RECORD_JSON: u8 = b'{';

/// Encodes a record as JSON (its first byte, `{`, is its version).
pub(crate) fn encode_json<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).expect("a record encodes as JSON")
}

/// Decodes a record written by [`encode_json`].
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8], table: &'static str) -> Result<T, Error> {
    let fail = |message: String| Error::Internal(InternalError::Decode { table, message });
    match bytes.first() {
        Some(&RECORD_JSON) => serde_json::from_slice(bytes).map_err(|err| fail(err.to_string())),
        Some(version) => Err(fail(format!("unknown record version {version}"))),
        None => Err(fail("empty value".to_owned())),
    }
}

/// A copy of a release in someone's collection, as the collection adapter gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OwnedRecord {
    /// The adapter that synced it (`discogs`).
    pub(crate) adapter: String,
    pub(crate) item: musique_sdk::collection::Item,
    /// The sync run that last saw it: after a whole walk, items another run saw are gone remotely.
    pub(crate) synced_run: u64,
}

/// The user's link of an owned release: to the album with this canonical key, or to none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LinkRecord {
    pub(crate) album_key: Option<String>,
}

/// A release's details, as the collection adapter gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReleaseRecord {
    pub(crate) release: musique_sdk::collection::Release,
    /// The sync run that fetched them.
    pub(crate) fetched_run: u64,
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], table: &'static str) -> Result<T, Error> {
    let fail = |message: String| Error::Internal(InternalError::Decode { table, message });
    match bytes.split_first() {
        Some((&(RECORD_V1 | RECORD_V2 | RECORD_V3), payload)) => {
            bincode::serde::decode_from_slice(payload, bincode::config::standard())
                .map(|(record, _)| record)
                .map_err(|err| fail(err.to_string()))
        }
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
    fn details_gain_what_they_lack() {
        let mut kept = ListenDetails { recording_mbid: Some("a".into()), ..ListenDetails::default() };
        let later = ListenDetails {
            recording_mbid: Some("b".into()),
            artist_mbids: vec!["c".into()],
            platform: Some("android".into()),
            ..ListenDetails::default()
        };
        assert!(kept.gain(&later));
        assert_eq!(kept.recording_mbid.as_deref(), Some("a"), "the first report wins");
        assert_eq!((kept.artist_mbids.len(), kept.platform.as_deref()), (1, Some("android")));
        assert!(!kept.gain(&later), "nothing more to gain");
        assert!(ListenDetails::default().is_empty() && !kept.is_empty());
    }

    /// Heads read by hand are what bincode's own decoding reads, at every width of varint.
    #[test]
    fn heads_read_by_hand_match_bincode() {
        let values: [u64; 12] =
            [0, 1, 250, 251, 252, 65_535, 65_536, 1 << 31, u32::MAX as u64, 1 << 40, u64::MAX - 1, u64::MAX];
        let starts: [i64; 8] = [0, -1, 1, 125, -126, 1_716_446_950_123, i64::MIN, i64::MAX];
        let config = bincode::config::standard();
        for (index, &value) in values.iter().enumerate() {
            for &start_ms in &starts {
                let other = values[(index * 7 + 3) % values.len()];
                let head = ListenHead {
                    start_ms,
                    duration_ms: (index % 3 != 0).then_some(other),
                    track_id: value,
                    artist_id: other,
                    album_id: (index % 2 == 0).then_some(value ^ 1),
                    excluded: index % 4 == 1,
                };
                let mut bytes = vec![RECORD_V3];
                bytes.extend(bincode::serde::encode_to_vec(head, config).unwrap());
                bytes.extend_from_slice(b"the rest of the record");
                assert_eq!(read_head(&bytes[1..], true), Some(head));
                let (decoded, _): (ListenHead, usize) = bincode::serde::decode_from_slice(&bytes[1..], config).unwrap();
                assert_eq!(decoded, head);
                let old = (head.start_ms, head.duration_ms, head.track_id, head.artist_id, head.album_id);
                let mut bytes = vec![RECORD_V2];
                bytes.extend(bincode::serde::encode_to_vec(old, config).unwrap());
                let (v2, _): (ListenHeadV2, usize) = bincode::serde::decode_from_slice(&bytes[1..], config).unwrap();
                let read = read_head(&bytes[1..], false).unwrap();
                assert_eq!(
                    (read.start_ms, read.duration_ms, read.track_id, read.artist_id, read.album_id, read.excluded),
                    (v2.start_ms, v2.duration_ms, v2.track_id, v2.artist_id, v2.album_id, false)
                );
            }
        }
        // Truncated or unknown bytes do not read.
        assert_eq!(read_head(&[], true), None);
        assert_eq!(read_head(&[2, 1], true), None);
        assert_eq!(read_head(&[2, 0, 7, 3, 0, 9], true), None, "a bool is 0 or 1");
        assert_eq!(read_head(&[255, 0, 7, 3, 0, 0], true), None);
    }

    #[test]
    fn listen_head_reads_the_leading_fields() {
        let record = ListenRecord {
            start_ms: 1_716_446_950_123,
            duration_ms: Some(220_538),
            track_id: 7,
            artist_id: 3,
            album_id: Some(9),
            excluded: true,
            artist: "A".into(),
            featured: vec!["B".into()],
            track: "T".into(),
            album: Some("Album".into()),
            credit: Some("A feat. B".into()),
            raw_title: None,
            sources: vec![Provenance { source: "roon".into(), import_run: None }],
            details: Some(Box::new(ListenDetails {
                recording_mbid: Some("7cc64b4e-8ebc-4b57-bbee-e2d5c2d4b39e".into()),
                shuffle: Some(true),
                radio: Some("Radio Paradise".into()),
                ..ListenDetails::default()
            })),
        };
        let bytes = encode_listen(&record);
        assert_eq!(bytes[0], RECORD_V3);
        assert_eq!(decode_listen(&bytes).unwrap(), record);
        let head = decode_listen_head(&bytes).unwrap();
        assert_eq!(
            head,
            ListenHead {
                start_ms: record.start_ms,
                duration_ms: Some(220_538),
                track_id: 7,
                artist_id: 3,
                album_id: Some(9),
                excluded: true,
            }
        );
        // Version 2 had no `excluded` and no radio: it reads as neither.
        let mut v2 = vec![RECORD_V2];
        let details = ListenDetailsV2 {
            recording_mbid: Some("7cc64b4e-8ebc-4b57-bbee-e2d5c2d4b39e".into()),
            release_mbid: None,
            release_group_mbid: None,
            track_mbid: None,
            artist_mbids: Vec::new(),
            work_mbids: Vec::new(),
            submission_client: None,
            submission_client_version: None,
            media_player: None,
            music_service: None,
            origin_url: None,
            spotify_track_uri: None,
            reason_start: None,
            reason_end: None,
            skipped: None,
            shuffle: Some(true),
            platform: None,
        };
        let old = (
            record.start_ms,
            record.duration_ms,
            record.track_id,
            record.artist_id,
            record.album_id,
            (&record.artist, &record.featured, &record.track, &record.album, &record.credit, &record.raw_title),
            &record.sources,
            Some(details),
        );
        bincode::serde::encode_into_std_write(&old, &mut v2, bincode::config::standard()).unwrap();
        let mut expected = record.clone();
        expected.excluded = false;
        expected.details.as_mut().unwrap().radio = None;
        assert_eq!(decode_listen(&v2).unwrap(), expected);
        assert_eq!(decode_listen_head(&v2).unwrap(), ListenHead { excluded: false, ..head });
        // Version 1 wrote the same fields without details: its head reads alike, and it converts.
        let mut plain = vec![RECORD_V1];
        let old = (old.0, old.1, old.2, old.3, old.4, old.5, old.6);
        bincode::serde::encode_into_std_write(old, &mut plain, bincode::config::standard()).unwrap();
        expected.details = None;
        assert_eq!(decode_listen(&plain).unwrap(), expected);
        assert_eq!(decode_listen_head(&plain).unwrap(), ListenHead { excluded: false, ..head });
    }
}
