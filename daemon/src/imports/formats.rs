//! The export formats: how each file is validated whole and then read record
//! by record.
//!
//! Every file is read in two passes. The first checks that the whole file
//! parses and is an export of the expected kind, and counts its records; a
//! file that fails it is rejected whole and nothing of it is stored. The
//! second turns each record into a listen, a skip (by a named rule) or a
//! rejection (with its reason).
//!
//! Memory stays bounded whatever the bytes: a record (an array element, a
//! line, a CSV row) larger than [`MAX_RECORD_BYTES`] makes its file rejected,
//! and is never read whole.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::source::Data;
use crate::clock;

/// Largest record (an array element, a line, a CSV row) an export may hold;
/// a larger one makes its file rejected. Real records are under 2 KB; this
/// bounds what reading one may cost.
pub(crate) const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// What one record became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A listen to store.
    Listen(RawListen),
    /// Not a listen, by the named rule.
    Skip(&'static str),
    /// Unreadable, for the given reason.
    Reject(String),
}

/// A listen as a record gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawListen {
    pub(crate) start_ms: i64,
    pub(crate) duration_ms: Option<u64>,
    pub(crate) artist: String,
    pub(crate) track: String,
    pub(crate) album: Option<String>,
}

/// Rules that decide which plays are listens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) min_play_ms: u64,
    pub(crate) include_incognito: bool,
}

/// The concrete format of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `Streaming_History_Audio_*.json` / `endsong_*.json`: an array of `ts`, `ms_played`, … records.
    SpotifyExtended,
    /// `StreamingHistory*.json`: an array of `endTime`, `artistName`, `trackName`, `msPlayed`.
    SpotifyAccount,
    /// A JSON array of ListenBrainz listens.
    ListenbrainzArray,
    /// One ListenBrainz listen per line.
    ListenbrainzLines,
    /// Last.fm CSV with a `uts,…,artist,…,album,…,track,…` header.
    LastfmCsv,
}

/// The formats a kind of import may find; the first pass picks one per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Spotify,
    Listenbrainz,
    LastfmCsv,
}

impl Family {
    /// Whether a file found inside a folder or zip belongs to this import.
    pub(crate) fn wants(self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        match self {
            Family::Spotify => {
                name.ends_with(".json")
                    && (name.starts_with("Streaming_History_Audio_")
                        || name.starts_with("endsong_")
                        || name.starts_with("StreamingHistory"))
            }
            Family::Listenbrainz => {
                let in_listens = path.contains("listens/") || !path.contains('/');
                name.ends_with(".jsonl") && in_listens && name != "feedback.jsonl" && name != "pinned_recording.jsonl"
            }
            Family::LastfmCsv => name.ends_with(".csv"),
        }
    }

    /// What to tell a user whose folder held no matching file.
    pub(crate) fn expected_files(self) -> &'static str {
        match self {
            Family::Spotify => "Streaming_History_Audio_*.json, endsong_*.json or StreamingHistory*.json",
            Family::Listenbrainz => "listens/<year>/<month>.jsonl",
            Family::LastfmCsv => "*.csv",
        }
    }
}

/// A file's first pass: its format and how many records it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileInfo {
    pub(crate) format: Format,
    pub(crate) records: u64,
}

/// Checks a whole file and counts its records; the error names where it broke.
pub(crate) fn validate(data: &Data<'_>, family: Family) -> Result<FileInfo, String> {
    match family {
        Family::Spotify => {
            let (records, first) = json_array_pass(data, None)?;
            let format = match first.as_deref().map(keys_of) {
                None => Format::SpotifyExtended,
                Some(keys) if keys.contains_key("ts") && keys.contains_key("ms_played") => Format::SpotifyExtended,
                Some(keys) if keys.contains_key("endTime") && keys.contains_key("msPlayed") => Format::SpotifyAccount,
                Some(_) => {
                    return Err("not a Spotify streaming history export: records have neither \
                                `ts`/`ms_played` nor `endTime`/`msPlayed`"
                        .to_owned());
                }
            };
            Ok(FileInfo { format, records })
        }
        Family::Listenbrainz => {
            let starts_with_array = match data {
                Data::Memory(bytes) => bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'['),
                Data::Stream { file, cancel } => file
                    .with_reader(cancel, |reader| first_non_space(reader) == Some(b'['))
                    .map_err(|err| format!("cannot read: {err}"))?,
            };
            let (format, records, first) = if starts_with_array {
                let (records, first) = json_array_pass(data, None)?;
                (Format::ListenbrainzArray, records, first)
            } else {
                let (records, first) = json_lines_pass(data, &mut |_, _| ControlFlow::Continue(()))?;
                (Format::ListenbrainzLines, records, first)
            };
            if let Some(first) = first {
                let keys = keys_of(&first);
                if !(keys.contains_key("listened_at") && keys.contains_key("track_metadata")) {
                    return Err(
                        "not a ListenBrainz export: records have no `listened_at` and `track_metadata`".to_owned()
                    );
                }
            }
            Ok(FileInfo { format, records })
        }
        Family::LastfmCsv => {
            let records = with_buf_read(data, |reader| csv_pass(reader, None))??;
            Ok(FileInfo { format: Format::LastfmCsv, records })
        }
    }
}

/// Reads the records of a validated file from index `skip` on, calling `visit`
/// with each record's index and outcome; stops early when `visit` breaks.
pub(crate) fn read_records(
    data: &Data<'_>,
    info: FileInfo,
    rules: Rules,
    skip: u64,
    visit: &mut dyn FnMut(u64, Outcome) -> ControlFlow<()>,
) -> Result<(), String> {
    match info.format {
        Format::SpotifyExtended | Format::SpotifyAccount | Format::ListenbrainzArray => {
            let mut handle = |index: u64, raw: &RawValue| {
                if index < skip {
                    return ControlFlow::Continue(());
                }
                visit(index, parse_json_record(info.format, raw.get(), rules))
            };
            json_array_pass(data, Some(&mut handle)).map(|_| ())
        }
        Format::ListenbrainzLines => {
            let mut handle = |index: u64, line: &str| {
                if index < skip {
                    return ControlFlow::Continue(());
                }
                visit(index, parse_json_record(info.format, line, rules))
            };
            json_lines_pass(data, &mut handle).map(|_| ())
        }
        Format::LastfmCsv => {
            let mut handle = |index: u64, record: &csv::StringRecord, columns: &CsvColumns| {
                if index < skip {
                    return ControlFlow::Continue(());
                }
                visit(index, parse_lastfm_row(record, columns))
            };
            with_buf_read(data, |reader| csv_pass(reader, Some(&mut handle)))?.map(|_| ())
        }
    }
}

fn with_buf_read<T>(data: &Data<'_>, read: impl FnOnce(&mut dyn BufRead) -> T) -> Result<T, String> {
    match data {
        Data::Memory(bytes) => Ok(read(&mut bytes.as_slice())),
        Data::Stream { file, cancel } => file.with_reader(cancel, read).map_err(|err| format!("cannot read: {err}")),
    }
}

fn first_non_space(reader: &mut dyn BufRead) -> Option<u8> {
    loop {
        let buffer = reader.fill_buf().ok()?;
        if buffer.is_empty() {
            return None;
        }
        if let Some(byte) = buffer.iter().find(|byte| !byte.is_ascii_whitespace()) {
            return Some(*byte);
        }
        let consumed = buffer.len();
        reader.consume(consumed);
    }
}

fn keys_of(json: &str) -> BTreeMap<String, IgnoredAny> {
    serde_json::from_str(json).unwrap_or_default()
}

// ---- JSON arrays ---------------------------------------------------------

type ElementHandler<'h> = &'h mut dyn FnMut(u64, &RawValue) -> ControlFlow<()>;

/// One pass over a top-level JSON array. Without a handler it only checks
/// syntax (fast); with one it hands each element over as raw JSON. Returns the
/// element count and the first element's JSON.
fn json_array_pass(data: &Data<'_>, handler: Option<ElementHandler<'_>>) -> Result<(u64, Option<String>), String> {
    let budget = RecordBudget::default();
    let describe = |err: serde_json::Error| {
        if let Some(record) = budget.exceeded() {
            return too_large("record", record);
        }
        let (line, column) = (err.line(), err.column());
        match err.classify() {
            serde_json::error::Category::Eof => {
                format!("truncated: the file ends early at line {line}, column {column}")
            }
            serde_json::error::Category::Data => format!("not an export: expected a JSON array of records ({err})"),
            serde_json::error::Category::Io => format!("cannot read: {err}"),
            _ => format!("not valid JSON at line {line}, column {column}: {err}"),
        }
    };
    match data {
        Data::Memory(bytes) => {
            // Elements are borrowed from the bytes, so their size is checked without copying them.
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let visitor = ArrayVisitor { handler, budget: &budget, streamed: false };
            let result = (&mut deserializer).deserialize_seq(visitor).map_err(describe)?;
            if !result.stopped {
                deserializer.end().map_err(describe)?;
            }
            Ok((result.count, result.first))
        }
        Data::Stream { file, cancel } => file
            .with_reader(cancel, |reader| {
                // The budget counts each element's bytes as they are read, before any is buffered.
                let mut deserializer =
                    serde_json::Deserializer::from_reader(Budgeted { inner: reader, budget: &budget });
                let visitor = ArrayVisitor { handler, budget: &budget, streamed: true };
                let result = (&mut deserializer).deserialize_seq(visitor).map_err(describe)?;
                if !result.stopped {
                    deserializer.end().map_err(describe)?;
                }
                Ok((result.count, result.first))
            })
            .map_err(|err| format!("cannot read: {err}"))?,
    }
}

/// The bytes of the record being read, against [`MAX_RECORD_BYTES`].
#[derive(Default)]
struct RecordBudget {
    /// Bytes read since the record started.
    used: Cell<usize>,
    /// The record being read, counted from 1.
    record: Cell<u64>,
    /// Set when the record went over the limit.
    exceeded: Cell<bool>,
}

impl RecordBudget {
    /// Starts counting record number `record` (from 1).
    fn start(&self, record: u64) {
        self.used.set(0);
        self.record.set(record);
    }

    /// Counts `bytes` more; false when the record is now over the limit.
    fn spend(&self, bytes: usize) -> bool {
        self.used.set(self.used.get().saturating_add(bytes));
        if self.used.get() > MAX_RECORD_BYTES {
            self.exceeded.set(true);
        }
        !self.exceeded.get()
    }

    /// The record that went over the limit, if one did.
    fn exceeded(&self) -> Option<u64> {
        self.exceeded.get().then(|| self.record.get())
    }
}

/// A reader that fails once the current record is over its budget, so no
/// parser ever buffers more than that.
struct Budgeted<'b, R> {
    inner: R,
    budget: &'b RecordBudget,
}

impl<R: Read> Read for Budgeted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        if !self.budget.spend(read) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "record too large"));
        }
        Ok(read)
    }
}

/// What a file with an oversized record is told.
fn too_large(what: &str, number: u64) -> String {
    format!("{what} {number} is larger than {} MiB: not an export record", MAX_RECORD_BYTES >> 20)
}

struct ArrayPass {
    count: u64,
    first: Option<String>,
    stopped: bool,
}

struct ArrayVisitor<'h, 'b> {
    handler: Option<ElementHandler<'h>>,
    budget: &'b RecordBudget,
    /// Read from a stream (elements cannot be borrowed; the reader is budgeted).
    streamed: bool,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_, '_> {
    type Value = ArrayPass;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<ArrayPass, A::Error> {
        let mut pass = ArrayPass { count: 0, first: None, stopped: false };
        loop {
            self.budget.start(pass.count + 1);
            let raw: Box<RawValue>;
            let element: &RawValue = if !self.streamed {
                let Some(element) = seq.next_element::<&'de RawValue>()? else { break };
                if element.get().len() > MAX_RECORD_BYTES {
                    self.budget.spend(element.get().len());
                    return Err(serde::de::Error::custom("record too large"));
                }
                element
            } else if self.handler.is_some() || pass.count == 0 {
                let Some(element) = seq.next_element::<Box<RawValue>>()? else { break };
                raw = element;
                &raw
            } else {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                pass.count += 1;
                continue;
            };
            if pass.count == 0 {
                pass.first = Some(element.get().to_owned());
            }
            if let Some(handler) = self.handler.as_mut()
                && handler(pass.count, element).is_break()
            {
                pass.count += 1;
                pass.stopped = true;
                return Ok(pass);
            }
            pass.count += 1;
        }
        Ok(pass)
    }
}

// ---- JSON lines ----------------------------------------------------------

/// One pass over a file of one JSON object per line (blank lines allowed).
/// Every line is checked; returns the record count and the first record.
fn json_lines_pass(
    data: &Data<'_>,
    handler: &mut dyn FnMut(u64, &str) -> ControlFlow<()>,
) -> Result<(u64, Option<String>), String> {
    with_buf_read(data, |reader| {
        let mut line = Vec::new();
        let mut count = 0u64;
        let mut first = None;
        for line_number in 1u64.. {
            line.clear();
            // One byte more than a record may have is enough to tell an oversized line.
            let read = (&mut *reader)
                .take(MAX_RECORD_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|err| format!("cannot read: {err}"))?;
            if read == 0 {
                break;
            }
            if line.len() > MAX_RECORD_BYTES {
                return Err(too_large("line", line_number));
            }
            let text = std::str::from_utf8(&line).map_err(|_| format!("line {line_number}: not UTF-8 text"))?;
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if let Err(err) = serde_json::from_str::<IgnoredAny>(text) {
                let what = if err.is_eof() { "truncated" } else { "not valid JSON" };
                return Err(format!("line {line_number}: {what}: {err}"));
            }
            if first.is_none() {
                first = Some(text.to_owned());
            }
            if handler(count, text).is_break() {
                return Ok((count + 1, first));
            }
            count += 1;
        }
        Ok((count, first))
    })?
}

// ---- CSV -----------------------------------------------------------------

struct CsvColumns {
    uts: usize,
    artist: usize,
    track: usize,
    album: Option<usize>,
}

type RowHandler<'h> = &'h mut dyn FnMut(u64, &csv::StringRecord, &CsvColumns) -> ControlFlow<()>;

/// One pass over a Last.fm CSV: checks the header and every row's shape.
fn csv_pass(reader: &mut dyn BufRead, mut handler: Option<RowHandler<'_>>) -> Result<u64, String> {
    let budget = RecordBudget::default();
    // The budget counts what the parser pulls for each row (with its small read-ahead).
    let mut csv = csv::ReaderBuilder::new().has_headers(true).from_reader(Budgeted { inner: reader, budget: &budget });
    let describe = |err: &csv::Error| match budget.exceeded() {
        Some(row) => too_large("line", row),
        None => describe_csv(err),
    };
    budget.start(1);
    let headers = csv.headers().map_err(|err| describe(&err))?.clone();
    let column = |name: &str| headers.iter().position(|header| header.trim().eq_ignore_ascii_case(name));
    let (Some(uts), Some(artist), Some(track)) = (column("uts"), column("artist"), column("track")) else {
        return Err(format!(
            "not a Last.fm CSV export: the header must name uts, artist and track columns \
             (uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid), found {:?}",
            headers.iter().collect::<Vec<_>>().join(",")
        ));
    };
    let columns = CsvColumns { uts, artist, track, album: column("album") };
    let mut record = csv::StringRecord::new();
    let mut count = 0u64;
    loop {
        budget.start(count + 2);
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if let Some(handler) = handler.as_mut()
                    && handler(count, &record, &columns).is_break()
                {
                    return Ok(count + 1);
                }
                count += 1;
            }
            Err(err) => return Err(describe(&err)),
        }
    }
    Ok(count)
}

fn describe_csv(err: &csv::Error) -> String {
    match err.position() {
        Some(position) => format!("line {}, byte {}: {err}", position.line(), position.byte()),
        None => err.to_string(),
    }
}

fn parse_lastfm_row(record: &csv::StringRecord, columns: &CsvColumns) -> Outcome {
    let field = |index: usize| record.get(index).map(str::trim).unwrap_or("");
    let uts = field(columns.uts);
    let Ok(seconds) = uts.parse::<i64>() else {
        return Outcome::Reject(format!("uts {uts:?} is not a unix time"));
    };
    if seconds <= 0 {
        return Outcome::Reject(format!("uts {seconds} is not a real play time"));
    }
    let artist = field(columns.artist);
    let track = field(columns.track);
    if track.is_empty() {
        return Outcome::Skip("no_track");
    }
    if artist.is_empty() {
        return Outcome::Skip("no_artist");
    }
    let album = columns.album.map(field).filter(|album| !album.is_empty());
    Outcome::Listen(RawListen {
        start_ms: seconds * 1000,
        duration_ms: None,
        artist: artist.to_owned(),
        track: track.to_owned(),
        album: album.map(str::to_owned),
    })
}

// ---- JSON records ----------------------------------------------------------

fn parse_json_record(format: Format, json: &str, rules: Rules) -> Outcome {
    let parsed = match format {
        Format::SpotifyExtended => serde_json::from_str::<ExtendedRecord<'_>>(json).map(|record| record.outcome(rules)),
        Format::SpotifyAccount => serde_json::from_str::<AccountRecord<'_>>(json).map(|record| record.outcome(rules)),
        Format::ListenbrainzArray | Format::ListenbrainzLines => {
            serde_json::from_str::<LbListen<'_>>(json).map(LbListen::outcome)
        }
        Format::LastfmCsv => unreachable!("csv rows are not json"),
    };
    parsed.unwrap_or_else(|err| Outcome::Reject(format!("unreadable record: {err}")))
}

fn text(value: Option<Cow<'_, str>>) -> Option<String> {
    value.map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
}

/// A record of the extended streaming history.
#[derive(Deserialize)]
struct ExtendedRecord<'a> {
    #[serde(borrow, default)]
    ts: Option<Cow<'a, str>>,
    #[serde(default)]
    ms_played: Option<i64>,
    #[serde(borrow, default)]
    master_metadata_track_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    master_metadata_album_artist_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    master_metadata_album_album_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    episode_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    spotify_episode_uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    audiobook_title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    audiobook_uri: Option<Cow<'a, str>>,
    #[serde(default)]
    incognito_mode: Option<bool>,
}

impl ExtendedRecord<'_> {
    fn outcome(self, rules: Rules) -> Outcome {
        let Some(ts) = self.ts else {
            return Outcome::Reject("no `ts`".to_owned());
        };
        let Some(end_ms) = clock::parse_rfc3339_ms(&ts) else {
            return Outcome::Reject(format!("`ts` {ts:?} is not a time"));
        };
        let Some(played) = self.ms_played.filter(|played| *played >= 0) else {
            return Outcome::Reject("no valid `ms_played`".to_owned());
        };
        if self.spotify_episode_uri.is_some() || self.episode_name.is_some() {
            return Outcome::Skip("podcast");
        }
        if self.audiobook_uri.is_some() || self.audiobook_title.is_some() {
            return Outcome::Skip("audiobook");
        }
        let Some(track) = text(self.master_metadata_track_name) else {
            return Outcome::Skip("no_track");
        };
        let Some(artist) = text(self.master_metadata_album_artist_name) else {
            return Outcome::Skip("no_artist");
        };
        if self.incognito_mode == Some(true) && !rules.include_incognito {
            return Outcome::Skip("incognito");
        }
        if (played as u64) < rules.min_play_ms {
            return Outcome::Skip("too_short");
        }
        let start_ms = end_ms - played;
        if start_ms < 0 {
            return Outcome::Reject(format!("play starts before 1970 (`ts` {ts:?}, `ms_played` {played})"));
        }
        Outcome::Listen(RawListen {
            start_ms,
            duration_ms: Some(played as u64),
            artist,
            track,
            album: text(self.master_metadata_album_album_name),
        })
    }
}

/// A record of the account-data streaming history.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountRecord<'a> {
    #[serde(borrow, default)]
    end_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    artist_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    track_name: Option<Cow<'a, str>>,
    #[serde(default)]
    ms_played: Option<i64>,
    #[serde(borrow, default)]
    podcast_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    episode_name: Option<Cow<'a, str>>,
}

impl AccountRecord<'_> {
    fn outcome(self, rules: Rules) -> Outcome {
        let Some(end_time) = self.end_time else {
            return Outcome::Reject("no `endTime`".to_owned());
        };
        let Some(end_ms) = clock::parse_minute_ms(&end_time) else {
            return Outcome::Reject(format!("`endTime` {end_time:?} is not a time"));
        };
        let Some(played) = self.ms_played.filter(|played| *played >= 0) else {
            return Outcome::Reject("no valid `msPlayed`".to_owned());
        };
        if self.podcast_name.is_some() || self.episode_name.is_some() {
            return Outcome::Skip("podcast");
        }
        let Some(track) = text(self.track_name) else {
            return Outcome::Skip("no_track");
        };
        let Some(artist) = text(self.artist_name) else {
            return Outcome::Skip("no_artist");
        };
        if (played as u64) < rules.min_play_ms {
            return Outcome::Skip("too_short");
        }
        let start_ms = end_ms - played;
        if start_ms < 0 {
            return Outcome::Reject(format!("play starts before 1970 (`endTime` {end_time:?})"));
        }
        Outcome::Listen(RawListen { start_ms, duration_ms: Some(played as u64), artist, track, album: None })
    }
}

/// A ListenBrainz listen.
#[derive(Deserialize)]
struct LbListen<'a> {
    #[serde(default)]
    listened_at: Option<i64>,
    #[serde(borrow, default)]
    track_metadata: Option<LbMetadata<'a>>,
}

#[derive(Deserialize)]
struct LbMetadata<'a> {
    #[serde(borrow, default)]
    artist_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    track_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    release_name: Option<Cow<'a, str>>,
    #[serde(default)]
    additional_info: Option<LbInfo>,
}

#[derive(Deserialize)]
struct LbInfo {
    #[serde(default, deserialize_with = "lenient_number")]
    duration_ms: Option<u64>,
    #[serde(default, deserialize_with = "lenient_number")]
    duration: Option<u64>,
}

/// Accepts a number, a numeric string or anything else (as absent): clients
/// put all sorts in `additional_info`.
fn lenient_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Number(f64),
        Text(String),
        Other(IgnoredAny),
    }
    Ok(match Loose::deserialize(deserializer)? {
        Loose::Number(number) if number >= 0.0 && number.is_finite() => Some(number as u64),
        Loose::Text(text) => text.trim().parse::<f64>().ok().filter(|n| *n >= 0.0 && n.is_finite()).map(|n| n as u64),
        _ => None,
    })
}

impl LbListen<'_> {
    fn outcome(self) -> Outcome {
        let Some(listened_at) = self.listened_at else {
            return Outcome::Reject("no `listened_at`".to_owned());
        };
        if listened_at <= 0 {
            return Outcome::Reject(format!("`listened_at` {listened_at} is not a real play time"));
        }
        let Some(metadata) = self.track_metadata else {
            return Outcome::Reject("no `track_metadata`".to_owned());
        };
        let duration_ms = metadata
            .additional_info
            .as_ref()
            .and_then(|info| info.duration_ms.or(info.duration.map(|seconds| seconds * 1000)));
        let Some(track) = text(metadata.track_name) else {
            return Outcome::Skip("no_track");
        };
        let Some(artist) = text(metadata.artist_name) else {
            return Outcome::Skip("no_artist");
        };
        Outcome::Listen(RawListen {
            start_ms: listened_at * 1000,
            duration_ms,
            artist,
            track,
            album: text(metadata.release_name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules { min_play_ms: 30_000, include_incognito: false };

    fn memory(text: &str) -> Data<'static> {
        Data::Memory(text.as_bytes().to_vec())
    }

    fn outcomes(text: &str, family: Family) -> Result<Vec<Outcome>, String> {
        let data = memory(text);
        let info = validate(&data, family)?;
        let mut seen = Vec::new();
        read_records(&data, info, RULES, 0, &mut |_, outcome| {
            seen.push(outcome);
            ControlFlow::Continue(())
        })?;
        assert_eq!(seen.len() as u64, info.records);
        Ok(seen)
    }

    fn extended(fields: &str) -> String {
        format!(
            r#"[{{"ts":"2024-05-23T06:49:10Z","ms_played":220538,"master_metadata_track_name":"T","master_metadata_album_artist_name":"A","master_metadata_album_album_name":"B","spotify_track_uri":"spotify:track:x"{fields}}}]"#
        )
    }

    #[test]
    fn spotify_extended_rules() {
        let listen = outcomes(&extended(""), Family::Spotify).unwrap();
        assert_eq!(
            listen,
            vec![Outcome::Listen(RawListen {
                start_ms: 1_716_446_950_000 - 220_538,
                duration_ms: Some(220_538),
                artist: "A".into(),
                track: "T".into(),
                album: Some("B".into()),
            })]
        );
        let cases = [
            (r#","incognito_mode":true"#, Outcome::Skip("incognito")),
            (r#","spotify_episode_uri":"spotify:episode:1""#, Outcome::Skip("podcast")),
            (r#","audiobook_uri":"spotify:show:1""#, Outcome::Skip("audiobook")),
        ];
        for (fields, expected) in cases {
            assert_eq!(outcomes(&extended(fields), Family::Spotify).unwrap(), vec![expected], "{fields}");
        }
        let short = r#"[{"ts":"2024-05-23T06:49:10Z","ms_played":29999,"master_metadata_track_name":"T","master_metadata_album_artist_name":"A"}]"#;
        assert_eq!(outcomes(short, Family::Spotify).unwrap(), vec![Outcome::Skip("too_short")]);
        let null_track = r#"[{"ts":"2024-05-23T06:49:10Z","ms_played":40000,"master_metadata_track_name":null}]"#;
        assert_eq!(outcomes(null_track, Family::Spotify).unwrap(), vec![Outcome::Skip("no_track")]);
        let bad_type = r#"[{"ts":"2024-05-23T06:49:10Z","ms_played":"long"}]"#;
        assert!(
            matches!(&outcomes(bad_type, Family::Spotify).unwrap()[0], Outcome::Reject(reason) if reason.contains("unreadable"))
        );
        let bad_time = r#"[{"ts":"yesterday","ms_played":40000}]"#;
        assert!(
            matches!(&outcomes(bad_time, Family::Spotify).unwrap()[0], Outcome::Reject(reason) if reason.contains("yesterday"))
        );
    }

    #[test]
    fn whole_file_errors_name_the_place() {
        let truncated = &extended("")[..120];
        let err = outcomes(truncated, Family::Spotify).unwrap_err();
        assert!(err.contains("truncated") && err.contains("line 1"), "{err}");
        let err = outcomes(r#"{"ts": 1}"#, Family::Spotify).unwrap_err();
        assert!(err.contains("not an export") && err.contains("line 1"), "{err}");
        let err = outcomes("[{\"ts\": }]", Family::Spotify).unwrap_err();
        assert!(err.contains("not valid JSON at line 1, column 9"), "{err}");
        let err = outcomes(r#"[{"name":"not spotify"}]"#, Family::Spotify).unwrap_err();
        assert!(err.contains("not a Spotify"), "{err}");
        let err = outcomes("[1, 2,", Family::Spotify).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        let err = outcomes("[] trailing", Family::Spotify).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert_eq!(outcomes("[]", Family::Spotify).unwrap(), vec![]);
    }

    #[test]
    fn spotify_account() {
        let text = r#"[{"endTime":"2022-12-05 16:52","artistName":"Rainbow Kitten Surprise","trackName":"It's Called: Freefall","msPlayed":152293},
                       {"endTime":"2024-01-05 14:23","podcastName":"Show","episodeName":"Ep","msPlayed":1200000}]"#;
        let seen = outcomes(text, Family::Spotify).unwrap();
        assert!(matches!(&seen[0], Outcome::Listen(listen) if listen.start_ms == 1_670_259_120_000 - 152_293));
        assert_eq!(seen[1], Outcome::Skip("podcast"));
    }

    #[test]
    fn listenbrainz_lines_and_array() {
        let line = r#"{"listened_at":1771414109,"track_metadata":{"artist_name":"Röyksopp","track_name":"Some Resolve","release_name":"Profound Mysteries II","additional_info":{"duration_ms":402390}}}"#;
        let lines = format!("{line}\n\n{line}\n");
        let seen = outcomes(&lines, Family::Listenbrainz).unwrap();
        assert_eq!(seen.len(), 2);
        assert!(
            matches!(&seen[0], Outcome::Listen(listen) if listen.duration_ms == Some(402_390) && listen.artist == "Röyksopp")
        );
        let array = format!("[{line}]");
        assert_eq!(outcomes(&array, Family::Listenbrainz).unwrap().len(), 1);
        let odd_duration = r#"{"listened_at":1771414109,"track_metadata":{"artist_name":"A","track_name":"T","additional_info":{"duration":"240","duration_ms":{"x":1}}}}"#;
        assert!(
            matches!(&outcomes(odd_duration, Family::Listenbrainz).unwrap()[0], Outcome::Listen(listen) if listen.duration_ms == Some(240_000))
        );
        let err = outcomes(&format!("{line}\n{}", &line[..40]), Family::Listenbrainz).unwrap_err();
        assert!(err.starts_with("line 2: truncated"), "{err}");
        let err = outcomes(r#"{"hello":"world"}"#, Family::Listenbrainz).unwrap_err();
        assert!(err.contains("not a ListenBrainz"), "{err}");
    }

    #[test]
    fn lastfm_csv() {
        let text = "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n\
                    \"1779022440\",\"17 May 2026, 12:54\",\"Beyoncé\",\"\",\"Lemonade\",\"\",\"Hold Up\",\"\"\n\
                    \"abc\",\"\",\"A\",\"\",\"\",\"\",\"T\",\"\"\n\
                    \"1779022440\",\"\",\"A\",\"\",\"\",\"\",\"\",\"\"\n";
        let seen = outcomes(text, Family::LastfmCsv).unwrap();
        assert!(
            matches!(&seen[0], Outcome::Listen(listen) if listen.start_ms == 1_779_022_440_000 && listen.album.as_deref() == Some("Lemonade"))
        );
        assert!(matches!(&seen[1], Outcome::Reject(_)));
        assert_eq!(seen[2], Outcome::Skip("no_track"));
        let truncated = "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n\"1\",\"x\",\"A\"\n";
        let err = outcomes(truncated, Family::LastfmCsv).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = outcomes("name,age\nbob,3\n", Family::LastfmCsv).unwrap_err();
        assert!(err.contains("not a Last.fm CSV"), "{err}");
    }

    #[test]
    fn wanted_files() {
        assert!(Family::Spotify.wants("x/Spotify Extended Streaming History/Streaming_History_Audio_2024_3.json"));
        assert!(!Family::Spotify.wants("Streaming_History_Video_2024.json"));
        assert!(Family::Spotify.wants("MyData/StreamingHistory_music_0.json"));
        assert!(!Family::Spotify.wants("MyData/Userdata.json"));
        assert!(Family::Listenbrainz.wants("listens/2024/5.jsonl"));
        assert!(!Family::Listenbrainz.wants("feedback.jsonl"));
        assert!(Family::LastfmCsv.wants("recenttracks-me-1.csv"));
    }

    #[test]
    fn resume_skips_records_before_the_cursor() {
        let data = memory("[1,2,3,4]");
        let info = FileInfo { format: Format::SpotifyExtended, records: 4 };
        let mut indexes = Vec::new();
        read_records(&data, info, RULES, 2, &mut |index, _| {
            indexes.push(index);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(indexes, vec![2, 3]);
    }

    /// A stream over `text` written to a file (files this small are normally read into memory).
    fn streamed(dir: &std::path::Path, name: &str, text: &[u8], check: impl FnOnce(&Data<'_>)) {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let files = super::super::source::list_files(&path, &|_| true).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        check(&Data::Stream { file: &files[0], cancel: &cancel });
    }

    #[test]
    fn oversized_records_reject_the_file() {
        // Well over the limit: the CSV parser's read-ahead (8 KiB) is charged to the row before.
        let giant = "x".repeat(MAX_RECORD_BYTES + 64 * 1024);
        let dir = tempfile::tempdir().unwrap();
        // A JSON array whose second element holds one giant string, in memory and streamed.
        let array = format!(r#"[{{"ts":"2024-05-23T06:49:10Z","ms_played":1}},{{"ts":"{giant}"}}]"#);
        let err = outcomes(&array, Family::Spotify).unwrap_err();
        assert!(err.contains("record 2 is larger than 1 MiB"), "{err}");
        streamed(dir.path(), "a.json", array.as_bytes(), |data| {
            let err = validate(data, Family::Spotify).unwrap_err();
            assert!(err.contains("record 2 is larger than 1 MiB"), "{err}");
        });
        // The first element is kept to detect the format: it is bounded too.
        let first = format!(r#"[{{"ts":"{giant}"}}]"#);
        streamed(dir.path(), "b.json", first.as_bytes(), |data| {
            let err = validate(data, Family::Spotify).unwrap_err();
            assert!(err.contains("record 1 is larger than 1 MiB"), "{err}");
        });
        // A line without an end.
        let lines = format!("{{\"listened_at\":1}}\n{giant}");
        let err = outcomes(&lines, Family::Listenbrainz).unwrap_err();
        assert!(err.contains("line 2 is larger than 1 MiB"), "{err}");
        streamed(dir.path(), "c.jsonl", lines.as_bytes(), |data| {
            let err = validate(data, Family::Listenbrainz).unwrap_err();
            assert!(err.contains("line 2 is larger than 1 MiB"), "{err}");
        });
        // A CSV row with a giant field.
        let csv = format!("uts,artist,track\n1,A,T\n2,\"{giant}\",T\n");
        let err = outcomes(&csv, Family::LastfmCsv).unwrap_err();
        assert!(err.contains("line 3 is larger than 1 MiB"), "{err}");
        // Records just under the limit are read.
        let fits =
            format!(r#"[{{"ts":"2024-05-23T06:49:10Z","ms_played":1,"x":"{}"}}]"#, "y".repeat(MAX_RECORD_BYTES - 100));
        assert_eq!(outcomes(&fits, Family::Spotify).unwrap().len(), 1);
        streamed(dir.path(), "d.json", fits.as_bytes(), |data| {
            assert_eq!(validate(data, Family::Spotify).unwrap().records, 1);
        });
    }

    #[test]
    fn a_stream_stops_when_its_run_is_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, extended("")).unwrap();
        let files = super::super::source::list_files(&path, &|_| true).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let err = validate(&Data::Stream { file: &files[0], cancel: &cancel }, Family::Spotify).unwrap_err();
        assert!(err.contains("asked to stop"), "{err}");
    }

    #[test]
    fn stream_and_memory_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Streaming_History_Audio_2024_0.json");
        std::fs::write(&path, extended("")).unwrap();
        let files = super::super::source::list_files(&path, &|_| true).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let data = Data::Stream { file: &files[0], cancel: &cancel };
        let info = validate(&data, Family::Spotify).unwrap();
        assert_eq!(info, FileInfo { format: Format::SpotifyExtended, records: 1 });
        let mut seen = Vec::new();
        read_records(&data, info, RULES, 0, &mut |_, outcome| {
            seen.push(outcome);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, outcomes(&extended(""), Family::Spotify).unwrap());
    }
}
