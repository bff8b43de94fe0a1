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
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::source::Data;
use crate::clock;
use crate::store::records::{ListenDetails, mbid};

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
    /// The credit as separate names, when the format lists them; empty otherwise.
    pub(crate) artists: Vec<String>,
    /// What the record carries besides names and times (ListenBrainz's MBIDs and
    /// client, Spotify's play details).
    pub(crate) details: Option<Box<ListenDetails>>,
    /// Whether the start is known to the minute only (lastfm-to-csv's dates).
    pub(crate) minute_start: bool,
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
    /// A JSON array of ListenBrainz listens (also the old single-file export).
    ListenbrainzArray,
    /// One ListenBrainz listen per line.
    ListenbrainzLines,
    /// Last.fm CSV: with a `uts,…,artist,…,album,…,track,…` header, or headerless
    /// `artist,album,title,date` rows (lastfm-to-csv).
    LastfmCsv,
    /// Last.fm JSON (lastfm.ghan.nl): an array of `user.getRecentTracks` pages.
    LastfmJson,
    /// Maloja's export: `{"maloja":{…},"scrobbles":[…]}`.
    Maloja,
    /// Koito's export: `{"version",…,"listens":[…]}`.
    Koito,
    /// An Audioscrobbler `.scrobbler.log`; `local` when its `#TZ` is `UNKNOWN` (times are local).
    ScrobblerLog { local: bool },
}

/// The formats a kind of import may find; the first pass picks one per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Spotify,
    Listenbrainz,
    LastfmCsv,
    LastfmJson,
    Maloja,
    Koito,
    ScrobblerLog,
}

impl Family {
    pub(crate) const ALL: [Family; 7] = [
        Family::Spotify,
        Family::Listenbrainz,
        Family::LastfmCsv,
        Family::LastfmJson,
        Family::Maloja,
        Family::Koito,
        Family::ScrobblerLog,
    ];

    /// Whether a file found inside a folder or zip belongs to this import.
    pub(crate) fn wants(self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        match self {
            Family::Spotify => {
                name.ends_with(".json")
                    && (name.starts_with("Streaming_History_")
                        || name.starts_with("endsong_")
                        || name.starts_with("StreamingHistory"))
            }
            Family::Listenbrainz => {
                let in_listens = path.contains("listens/") || !path.contains('/');
                let lines = name.ends_with(".jsonl")
                    && in_listens
                    && name != "feedback.jsonl"
                    && name != "pinned_recording.jsonl";
                // The old single-file export: `<user>_lb-YYYY-MM-DD.json`.
                lines || (name.ends_with(".json") && name.contains("_lb-"))
            }
            Family::LastfmCsv => name.ends_with(".csv"),
            Family::LastfmJson => name.ends_with(".json") && name.starts_with("recenttracks"),
            Family::Maloja => name.ends_with(".json") && name.starts_with("maloja"),
            Family::Koito => name.ends_with(".json") && name.starts_with("koito"),
            Family::ScrobblerLog => name.ends_with(".scrobbler.log") || name == "scrobbler.log",
        }
    }

    /// What to tell a user whose folder held no matching file.
    pub(crate) fn expected_files(self) -> &'static str {
        match self {
            Family::Spotify => "Streaming_History_Audio_*.json, endsong_*.json or StreamingHistory*.json",
            Family::Listenbrainz => "listens/<year>/<month>.jsonl or <user>_lb-<date>.json",
            Family::LastfmCsv => "*.csv",
            Family::LastfmJson => "recenttracks-*.json",
            Family::Maloja => "maloja_export_*.json",
            Family::Koito => "koito_export_*.json",
            Family::ScrobblerLog => ".scrobbler.log",
        }
    }

    /// What a file of this family is, for a person.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Family::Spotify => "a Spotify streaming history",
            Family::Listenbrainz => "a ListenBrainz export",
            Family::LastfmCsv => "a Last.fm CSV",
            Family::LastfmJson => "a Last.fm JSON export",
            Family::Maloja => "a Maloja export",
            Family::Koito => "a Koito export",
            Family::ScrobblerLog => "an Audioscrobbler .scrobbler.log",
        }
    }
}

/// How many bytes of a file's start [`sniff`] looks at.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;

/// What the start of a file looks like, by its content alone; `None` when it
/// looks like no export musique reads.
pub(crate) fn sniff(head: &[u8]) -> Option<Family> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let head = &head[start..];
    let text = String::from_utf8_lossy(head);
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    match head[0] {
        b'#' if text.starts_with("#AUDIOSCROBBLER/") => Some(Family::ScrobblerLog),
        b'{' if has("maloja") && has("scrobbles") => Some(Family::Maloja),
        b'{' if has("exported_at") && has("listens") => Some(Family::Koito),
        b'{' if has("listened_at") && has("track_metadata") => Some(Family::Listenbrainz),
        b'[' => {
            let inner = text[1..].trim_start();
            if !inner.starts_with('{') {
                return None;
            }
            if has("ms_played") || has("msPlayed") {
                Some(Family::Spotify)
            } else if has("listened_at") && has("track_metadata") {
                Some(Family::Listenbrainz)
            } else if has("track") && (has("#text") || has("@attr")) {
                Some(Family::LastfmJson)
            } else {
                None
            }
        }
        b'{' | b'#' => None,
        _ => {
            let first = text.lines().next().unwrap_or("");
            let mut csv = csv::ReaderBuilder::new().has_headers(false).from_reader(first.as_bytes());
            let row = csv.records().next()?.ok()?;
            let header = |name: &str| row.iter().any(|field| field.trim().eq_ignore_ascii_case(name));
            let headed = header("uts") && header("artist") && header("track");
            let plain = row.len() == 4 && parse_lastfm_date(row.get(3).unwrap_or("")).is_some();
            (headed || plain).then_some(Family::LastfmCsv)
        }
    }
}

/// A file's first pass: its format and how many records it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileInfo {
    pub(crate) format: Format,
    pub(crate) records: u64,
    /// Set when the file holds no music at all (a podcast, video or audiobook
    /// history): every record is skipped by this rule, unread.
    pub(crate) not_music: Option<&'static str>,
}

/// Checks a whole file and counts its records; the error names where it broke.
pub(crate) fn validate(data: &Data<'_>, family: Family) -> Result<FileInfo, String> {
    match family {
        Family::Spotify => {
            // Records are looked at until the first music play: a file without one is no music history.
            let mut kinds = PlayKinds::default();
            let (records, first) = json_array_pass(
                data,
                Some(&mut |_, raw: &RawValue| {
                    if !kinds.music {
                        kinds.add(raw.get());
                    }
                    ControlFlow::Continue(())
                }),
            )?;
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
            Ok(FileInfo { format, records, not_music: kinds.not_music() })
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
            Ok(FileInfo { format, records, not_music: None })
        }
        Family::LastfmCsv => {
            let records = with_buf_read(data, |reader| csv_pass(reader, None))??;
            Ok(FileInfo { format: Format::LastfmCsv, records, not_music: None })
        }
        Family::LastfmJson => {
            let (records, first) = json_records_pass(data, Shape::PagesOf("track"), None)?;
            require_keys(first, &["name", "artist"], "not a Last.fm JSON export: tracks have no `name` and `artist`")?;
            Ok(FileInfo { format: Format::LastfmJson, records, not_music: None })
        }
        Family::Maloja => {
            let (records, first) = json_records_pass(data, Shape::Field("scrobbles"), None)?;
            require_keys(first, &["time", "track"], "not a Maloja export: scrobbles have no `time` and `track`")?;
            Ok(FileInfo { format: Format::Maloja, records, not_music: None })
        }
        Family::Koito => {
            let (records, first) = json_records_pass(data, Shape::Field("listens"), None)?;
            require_keys(
                first,
                &["listened_at", "track"],
                "not a Koito export: listens have no `listened_at` and `track`",
            )?;
            Ok(FileInfo { format: Format::Koito, records, not_music: None })
        }
        Family::ScrobblerLog => {
            let mut local = None;
            let records = with_buf_read(data, |reader| {
                scrobbler_log_pass(
                    reader,
                    &mut |header| {
                        if let Some(zone) = header.strip_prefix("#TZ/") {
                            local = Some(zone.trim() != "UTC");
                        }
                    },
                    &mut |_, _| ControlFlow::Continue(()),
                )
            })??;
            Ok(FileInfo { format: Format::ScrobblerLog { local: local.unwrap_or(true) }, records, not_music: None })
        }
    }
}

/// Checks that a file's first record has the keys its format names.
fn require_keys(first: Option<String>, keys: &[&str], error: &str) -> Result<(), String> {
    let Some(first) = first else { return Ok(()) };
    let present = keys_of(&first);
    if keys.iter().all(|key| present.contains_key(*key)) { Ok(()) } else { Err(error.to_owned()) }
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
    if let Some(rule) = info.not_music {
        for index in skip..info.records {
            if visit(index, Outcome::Skip(rule)).is_break() {
                break;
            }
        }
        return Ok(());
    }
    let mut handle = |index: u64, raw: &RawValue| {
        if index < skip {
            return ControlFlow::Continue(());
        }
        visit(index, parse_json_record(info.format, raw.get(), rules))
    };
    match info.format {
        Format::SpotifyExtended | Format::SpotifyAccount | Format::ListenbrainzArray => {
            json_array_pass(data, Some(&mut handle)).map(|_| ())
        }
        Format::LastfmJson => json_records_pass(data, Shape::PagesOf("track"), Some(&mut handle)).map(|_| ()),
        Format::Maloja => json_records_pass(data, Shape::Field("scrobbles"), Some(&mut handle)).map(|_| ()),
        Format::Koito => json_records_pass(data, Shape::Field("listens"), Some(&mut handle)).map(|_| ()),
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
        Format::ScrobblerLog { local } => {
            let mut handle = |index: u64, line: &str| {
                if index < skip {
                    return ControlFlow::Continue(());
                }
                visit(index, parse_scrobbler_line(line, local))
            };
            with_buf_read(data, |reader| scrobbler_log_pass(reader, &mut |_| {}, &mut handle))?.map(|_| ())
        }
    }
}

/// The first bytes of a file, for [`sniff`].
pub(crate) fn head_of(data: &Data<'_>) -> Vec<u8> {
    match data {
        Data::Memory(bytes) => bytes[..bytes.len().min(SNIFF_BYTES)].to_vec(),
        Data::Stream { file, cancel } => {
            let mut head = Vec::new();
            let _ = file.with_reader(cancel, |reader| reader.take(SNIFF_BYTES as u64).read_to_end(&mut head));
            head
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

/// Where a file's records sit in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The file is an array of records.
    Array,
    /// The file is an object whose member `key` is the array of records.
    Field(&'static str),
    /// The file is an array of pages, each an object whose member `key` is an array of records.
    PagesOf(&'static str),
}

/// One pass over the records of a JSON file of the given shape. Without a
/// handler it only checks syntax (fast); with one it hands each record over as
/// raw JSON. Returns the record count and the first record's JSON.
fn json_array_pass(data: &Data<'_>, handler: Option<ElementHandler<'_>>) -> Result<(u64, Option<String>), String> {
    json_records_pass(data, Shape::Array, handler)
}

fn json_records_pass(
    data: &Data<'_>,
    shape: Shape,
    handler: Option<ElementHandler<'_>>,
) -> Result<(u64, Option<String>), String> {
    let budget = RecordBudget::default();
    let expected = match shape {
        Shape::Array => "a JSON array of records".to_owned(),
        Shape::Field(key) => format!("a JSON object with a `{key}` array"),
        Shape::PagesOf(key) => format!("a JSON array of pages with a `{key}` array"),
    };
    let describe = |err: serde_json::Error| {
        if let Some(record) = budget.exceeded() {
            return too_large("record", record);
        }
        let (line, column) = (err.line(), err.column());
        match err.classify() {
            serde_json::error::Category::Eof => {
                format!("truncated: the file ends early at line {line}, column {column}")
            }
            serde_json::error::Category::Data => format!("not an export: expected {expected} ({err})"),
            serde_json::error::Category::Io => format!("cannot read: {err}"),
            _ => format!("not valid JSON at line {line}, column {column}: {err}"),
        }
    };
    let mut pass = ArrayPass { count: 0, first: None, stopped: false };
    let mut handler = handler;
    match data {
        Data::Memory(bytes) => {
            // Elements are borrowed from the bytes, so their size is checked without copying them.
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let seed = ShapeSeed {
                shape,
                records: Records { handler: &mut handler, budget: &budget, streamed: false, pass: &mut pass },
            };
            let result = seed.deserialize(&mut deserializer);
            if !pass.stopped {
                result.map_err(describe)?;
                deserializer.end().map_err(describe)?;
            }
            Ok((pass.count, pass.first))
        }
        Data::Stream { file, cancel } => file
            .with_reader(cancel, |reader| {
                // The budget counts each element's bytes as they are read, before any is buffered.
                let mut deserializer =
                    serde_json::Deserializer::from_reader(Budgeted { inner: reader, budget: &budget });
                let seed = ShapeSeed {
                    shape,
                    records: Records { handler: &mut handler, budget: &budget, streamed: true, pass: &mut pass },
                };
                let result = seed.deserialize(&mut deserializer);
                if !pass.stopped {
                    result.map_err(describe)?;
                    deserializer.end().map_err(describe)?;
                }
                Ok((pass.count, pass.first.take()))
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
    /// The handler asked to stop: the rest of the file is left unread.
    stopped: bool,
}

/// The state of one pass, shared by every array of records a file holds.
struct Records<'r, 'h, 'b> {
    handler: &'r mut Option<ElementHandler<'h>>,
    budget: &'b RecordBudget,
    /// Read from a stream (elements cannot be borrowed; the reader is budgeted).
    streamed: bool,
    pass: &'r mut ArrayPass,
}

impl<'h, 'b> Records<'_, 'h, 'b> {
    fn reborrow(&mut self) -> Records<'_, 'h, 'b> {
        Records { handler: &mut *self.handler, budget: self.budget, streamed: self.streamed, pass: &mut *self.pass }
    }
}

/// What stops a pass once its handler broke: the rest of the file is not read.
const STOPPED_PASS: &str = "stopped";

/// Reads a file of a [`Shape`].
struct ShapeSeed<'r, 'h, 'b> {
    shape: Shape,
    records: Records<'r, 'h, 'b>,
}

impl<'de> DeserializeSeed<'de> for ShapeSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.shape {
            Shape::Array => deserializer.deserialize_seq(ArrayVisitor { records: self.records }),
            Shape::Field(key) => deserializer.deserialize_map(FieldVisitor { key, records: self.records }),
            Shape::PagesOf(key) => deserializer.deserialize_seq(PagesVisitor { key, records: self.records }),
        }
    }
}

/// An object whose member `key` is an array of records; other members are skipped.
struct FieldVisitor<'r, 'h, 'b> {
    key: &'static str,
    records: Records<'r, 'h, 'b>,
}

impl<'de> Visitor<'de> for FieldVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "an object with a `{}` array", self.key)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.key && !found {
                found = true;
                map.next_value_seed(ShapeSeed { shape: Shape::Array, records: self.records.reborrow() })?;
                if self.records.pass.stopped {
                    return Err(serde::de::Error::custom(STOPPED_PASS));
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !found {
            return Err(serde::de::Error::custom(format!("no `{}` array", self.key)));
        }
        Ok(())
    }
}

/// An array of pages, each an object with an array of records.
struct PagesVisitor<'r, 'h, 'b> {
    key: &'static str,
    records: Records<'r, 'h, 'b>,
}

impl<'de> Visitor<'de> for PagesVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "an array of pages with a `{}` array", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let seed = ShapeSeed { shape: Shape::Field(self.key), records: self.records.reborrow() };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
        }
    }
}

struct ArrayVisitor<'r, 'h, 'b> {
    records: Records<'r, 'h, 'b>,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Records { handler, budget, streamed, pass } = self.records;
        loop {
            budget.start(pass.count + 1);
            let raw: Box<RawValue>;
            let element: &RawValue = if !streamed {
                let Some(element) = seq.next_element::<&'de RawValue>()? else { break };
                if element.get().len() > MAX_RECORD_BYTES {
                    budget.spend(element.get().len());
                    return Err(serde::de::Error::custom("record too large"));
                }
                element
            } else if handler.is_some() || pass.count == 0 {
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
            if let Some(handler) = handler.as_mut()
                && handler(pass.count, element).is_break()
            {
                pass.count += 1;
                pass.stopped = true;
                return Err(serde::de::Error::custom(STOPPED_PASS));
            }
            pass.count += 1;
        }
        Ok(())
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

/// Where a Last.fm CSV keeps its fields.
struct CsvColumns {
    time: CsvTime,
    artist: usize,
    track: usize,
    album: Option<usize>,
}

/// How a Last.fm CSV gives a play's time.
#[derive(Clone, Copy)]
enum CsvTime {
    /// Unix seconds, in this column (the headed export).
    Uts(usize),
    /// `31 Jan 2021 15:14` in UTC, in this column (headerless lastfm-to-csv).
    Date(usize),
}

/// Last.fm started scrobbling on 2002-10-01: an earlier play time (most often
/// 0, from old library imports) is not a real play's.
const LASTFM_EPOCH_S: i64 = 1_033_430_400;

type RowHandler<'h> = &'h mut dyn FnMut(u64, &csv::StringRecord, &CsvColumns) -> ControlFlow<()>;

/// One pass over a Last.fm CSV: recognizes the header (or the headerless
/// form by its first row) and checks every row's shape.
fn csv_pass(reader: &mut dyn BufRead, mut handler: Option<RowHandler<'_>>) -> Result<u64, String> {
    let budget = RecordBudget::default();
    // The budget counts what the parser pulls for each row (with its small read-ahead).
    let mut csv = csv::ReaderBuilder::new().has_headers(false).from_reader(Budgeted { inner: reader, budget: &budget });
    let describe = |err: &csv::Error| match budget.exceeded() {
        Some(row) => too_large("line", row),
        None => describe_csv(err),
    };
    budget.start(1);
    let mut first = csv::StringRecord::new();
    if !csv.read_record(&mut first).map_err(|err| describe(&err))? {
        return Ok(0);
    }
    let column = |name: &str| first.iter().position(|header| header.trim().eq_ignore_ascii_case(name));
    let (columns, headed) = match (column("uts"), column("artist"), column("track")) {
        (Some(uts), Some(artist), Some(track)) => {
            (CsvColumns { time: CsvTime::Uts(uts), artist, track, album: column("album") }, true)
        }
        _ if first.len() == 4 && parse_lastfm_date(&first[3]).is_some() => {
            (CsvColumns { time: CsvTime::Date(3), artist: 0, track: 2, album: Some(1) }, false)
        }
        _ => {
            return Err(format!(
                "not a Last.fm CSV export: the header must name uts, artist and track columns \
                 (uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid), or rows be \
                 artist,album,title,\"DD Mon YYYY HH:MM\"; found {:?}",
                first.iter().collect::<Vec<_>>().join(",")
            ));
        }
    };
    let mut record = csv::StringRecord::new();
    let mut count = 0u64;
    if !headed {
        if let Some(handler) = handler.as_mut()
            && handler(0, &first, &columns).is_break()
        {
            return Ok(1);
        }
        count = 1;
    }
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

/// Parses lastfm-to-csv's `31 Jan 2021 15:14` (UTC) into unix seconds.
fn parse_lastfm_date(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let (hour, minute) = parts.next()?.split_once(':')?;
    let (hour, minute): (i64, i64) = (hour.parse().ok()?, minute.parse().ok()?);
    if parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let month = MONTHS.iter().position(|name| month.eq_ignore_ascii_case(name))? as i64 + 1;
    if !(1..=31).contains(&day) || !(0..24).contains(&hour) || !(0..60).contains(&minute) || year < 1970 {
        return None;
    }
    Some(clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60)
}

/// A Last.fm play time, in unix seconds, as a listen's start or why it is none.
fn lastfm_start(seconds: i64, shown: &str) -> Result<i64, Box<Outcome>> {
    if seconds < 0 {
        return Err(Box::new(Outcome::Reject(format!("time {shown:?} is not a real play time"))));
    }
    if seconds < LASTFM_EPOCH_S {
        return Err(Box::new(Outcome::Skip("before_lastfm")));
    }
    Ok(seconds * 1000)
}

fn parse_lastfm_row(record: &csv::StringRecord, columns: &CsvColumns) -> Outcome {
    let field = |index: usize| record.get(index).map(str::trim).unwrap_or("");
    let seconds = match columns.time {
        CsvTime::Uts(index) => {
            let uts = field(index);
            let Ok(seconds) = uts.parse::<i64>() else {
                return Outcome::Reject(format!("uts {uts:?} is not a unix time"));
            };
            (seconds, uts)
        }
        CsvTime::Date(index) => {
            let date = field(index);
            let Some(seconds) = parse_lastfm_date(date) else {
                return Outcome::Reject(format!("date {date:?} is not a time like \"31 Jan 2021 15:14\""));
            };
            (seconds, date)
        }
    };
    let start_ms = match lastfm_start(seconds.0, seconds.1) {
        Ok(start_ms) => start_ms,
        Err(outcome) => return *outcome,
    };
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
        start_ms,
        duration_ms: None,
        artist: artist.to_owned(),
        track: track.to_owned(),
        album: album.map(str::to_owned),
        artists: Vec::new(),
        details: None,
        minute_start: matches!(columns.time, CsvTime::Date(_)),
    })
}

// ---- .scrobbler.log --------------------------------------------------------

/// One pass over an Audioscrobbler log: `#` lines are headers (the first must be
/// `#AUDIOSCROBBLER/…`), every other non-empty line a tab-separated play.
fn scrobbler_log_pass(
    reader: &mut dyn BufRead,
    header: &mut dyn FnMut(&str),
    handler: &mut dyn FnMut(u64, &str) -> ControlFlow<()>,
) -> Result<u64, String> {
    let mut line = Vec::new();
    let mut count = 0u64;
    for line_number in 1u64.. {
        line.clear();
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
        let text = text.trim_end_matches(['\r', '\n']);
        if line_number == 1 && !text.trim_start_matches('\u{feff}').starts_with("#AUDIOSCROBBLER/") {
            return Err("not a .scrobbler.log: the first line must be #AUDIOSCROBBLER/1.1".to_owned());
        }
        if text.starts_with('#') {
            header(text);
            continue;
        }
        if text.trim().is_empty() {
            continue;
        }
        let fields = text.split('\t').count();
        if fields < 7 {
            return Err(format!(
                "line {line_number}: {fields} tab-separated fields, a play has 7 or 8 \
                 (artist, album, track, number, seconds, L or S, time, MBID)"
            ));
        }
        if handler(count, text).is_break() {
            return Ok(count + 1);
        }
        count += 1;
    }
    Ok(count)
}

/// One play of a `.scrobbler.log`; `local` when its times are the device's local time.
fn parse_scrobbler_line(line: &str, local: bool) -> Outcome {
    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
    let (artist, album, track, seconds, rating, time) =
        (fields[0], fields[1], fields[2], fields[4], fields[5], fields[6]);
    if rating.eq_ignore_ascii_case("S") {
        return Outcome::Skip("skipped");
    }
    let Ok(stamp) = time.parse::<i64>() else {
        return Outcome::Reject(format!("time {time:?} is not a unix time"));
    };
    let start_s = if local { clock::local_to_utc_s(stamp) } else { stamp };
    if start_s <= 0 {
        return Outcome::Reject(format!("time {time:?} is not a real play time"));
    }
    if track.is_empty() {
        return Outcome::Skip("no_track");
    }
    if artist.is_empty() {
        return Outcome::Skip("no_artist");
    }
    Outcome::Listen(RawListen {
        start_ms: start_s * 1000,
        duration_ms: seconds.parse::<u64>().ok().filter(|seconds| *seconds > 0).map(|seconds| seconds * 1000),
        artist: artist.to_owned(),
        track: track.to_owned(),
        album: Some(album).filter(|album| !album.is_empty()).map(str::to_owned),
        artists: Vec::new(),
        details: None,
        minute_start: false,
    })
}

// ---- JSON records ----------------------------------------------------------

/// What kinds of play a Spotify history's records are, told by their content.
#[derive(Debug, Default)]
struct PlayKinds {
    music: bool,
    podcast: bool,
    audiobook: bool,
}

/// The fields of a Spotify record (either export) that tell what was played;
/// `null` counts as absent.
#[derive(Deserialize)]
struct PlayFields {
    #[serde(default)]
    master_metadata_track_name: Option<IgnoredAny>,
    #[serde(default, rename = "trackName")]
    track_name: Option<IgnoredAny>,
    #[serde(default)]
    spotify_episode_uri: Option<IgnoredAny>,
    #[serde(default)]
    episode_name: Option<IgnoredAny>,
    #[serde(default, rename = "episodeName")]
    episode_name_account: Option<IgnoredAny>,
    #[serde(default, rename = "podcastName")]
    podcast_name: Option<IgnoredAny>,
    #[serde(default)]
    audiobook_uri: Option<IgnoredAny>,
    #[serde(default)]
    audiobook_title: Option<IgnoredAny>,
    #[serde(default)]
    audiobook_chapter_uri: Option<IgnoredAny>,
    #[serde(default, rename = "audiobookName")]
    audiobook_name: Option<IgnoredAny>,
    #[serde(default, rename = "audiobookTitle")]
    audiobook_title_account: Option<IgnoredAny>,
    #[serde(default, rename = "chapterName")]
    chapter_name: Option<IgnoredAny>,
}

impl PlayKinds {
    fn add(&mut self, json: &str) {
        let Ok(fields) = serde_json::from_str::<PlayFields>(json) else { return };
        if fields.master_metadata_track_name.is_some() || fields.track_name.is_some() {
            self.music = true;
        } else if fields.spotify_episode_uri.is_some()
            || fields.episode_name.is_some()
            || fields.episode_name_account.is_some()
            || fields.podcast_name.is_some()
        {
            self.podcast = true;
        } else if fields.audiobook_uri.is_some()
            || fields.audiobook_title.is_some()
            || fields.audiobook_chapter_uri.is_some()
            || fields.audiobook_name.is_some()
            || fields.audiobook_title_account.is_some()
            || fields.chapter_name.is_some()
        {
            self.audiobook = true;
        }
    }

    /// The rule skipping a whole file that holds no music: `podcast` (or video,
    /// which Spotify's video histories hold as episodes) or `audiobook`.
    fn not_music(&self) -> Option<&'static str> {
        match (self.music, self.podcast, self.audiobook) {
            (false, true, _) => Some("podcast"),
            (false, false, true) => Some("audiobook"),
            _ => None,
        }
    }
}

fn parse_json_record(format: Format, json: &str, rules: Rules) -> Outcome {
    let parsed = match format {
        Format::SpotifyExtended => serde_json::from_str::<ExtendedRecord<'_>>(json).map(|record| record.outcome(rules)),
        Format::SpotifyAccount => serde_json::from_str::<AccountRecord<'_>>(json).map(|record| record.outcome(rules)),
        Format::ListenbrainzArray | Format::ListenbrainzLines => {
            serde_json::from_str::<LbListen<'_>>(json).map(LbListen::outcome)
        }
        Format::LastfmJson => serde_json::from_str::<GhanTrack<'_>>(json).map(GhanTrack::outcome),
        Format::Maloja => serde_json::from_str::<MalojaScrobble>(json).map(MalojaScrobble::outcome),
        Format::Koito => serde_json::from_str::<KoitoListen>(json).map(KoitoListen::outcome),
        Format::LastfmCsv | Format::ScrobblerLog { .. } => unreachable!("csv rows and log lines are not json"),
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
    #[serde(default, deserialize_with = "lenient_text")]
    spotify_track_uri: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    reason_start: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    reason_end: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    skipped: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    shuffle: Option<bool>,
    #[serde(default, deserialize_with = "lenient_text")]
    platform: Option<String>,
    #[serde(default)]
    offline: Option<bool>,
    /// When an offline play started: seconds in current exports, milliseconds
    /// in old ones, 0 or `null` when unknown.
    #[serde(default, deserialize_with = "lenient_number")]
    offline_timestamp: Option<u64>,
}

/// Milliseconds below this are taken as seconds: as seconds it is in the year 5138.
const OFFLINE_MS_FROM: u64 = 100_000_000_000;

/// When an offline play started, if its record says: its `ts` is then the time
/// the app synced, up to months later.
fn offline_start_ms(offline: Option<bool>, stamp: Option<u64>, end_ms: i64) -> Option<i64> {
    if offline != Some(true) {
        return None;
    }
    let stamp = stamp.filter(|stamp| *stamp > 0)?;
    let start_ms = if stamp >= OFFLINE_MS_FROM { stamp } else { stamp.checked_mul(1000)? };
    i64::try_from(start_ms).ok().filter(|start_ms| *start_ms <= end_ms)
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
        let offline_start = offline_start_ms(self.offline, self.offline_timestamp, end_ms);
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
        let start_ms = offline_start.unwrap_or(end_ms - played);
        if start_ms < 0 {
            return Outcome::Reject(format!("play starts before 1970 (`ts` {ts:?}, `ms_played` {played})"));
        }
        let details = ListenDetails {
            spotify_track_uri: self.spotify_track_uri,
            reason_start: self.reason_start,
            reason_end: self.reason_end,
            skipped: self.skipped,
            shuffle: self.shuffle,
            platform: self.platform,
            ..ListenDetails::default()
        };
        Outcome::Listen(RawListen {
            start_ms,
            duration_ms: Some(played as u64),
            artist,
            track,
            album: text(self.master_metadata_album_album_name),
            artists: Vec::new(),
            details: (!details.is_empty()).then(|| Box::new(details)),
            minute_start: false,
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
    #[serde(default)]
    audiobook_name: Option<IgnoredAny>,
    #[serde(default)]
    chapter_name: Option<IgnoredAny>,
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
        if self.track_name.is_none() && (self.audiobook_name.is_some() || self.chapter_name.is_some()) {
            return Outcome::Skip("audiobook");
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
        Outcome::Listen(RawListen {
            start_ms,
            duration_ms: Some(played as u64),
            artist,
            track,
            album: None,
            artists: Vec::new(),
            details: None,
            minute_start: false,
        })
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
    /// What ListenBrainz's mapper found; may be an explicit `null`.
    #[serde(default)]
    mbid_mapping: Option<LbMapping>,
}

#[derive(Deserialize)]
struct LbInfo {
    #[serde(default, deserialize_with = "lenient_number")]
    duration_ms: Option<u64>,
    #[serde(default, deserialize_with = "lenient_number")]
    duration: Option<u64>,
    #[serde(default, deserialize_with = "lenient_text")]
    recording_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    release_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    release_group_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    track_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_texts")]
    artist_mbids: Vec<String>,
    #[serde(default, deserialize_with = "lenient_texts")]
    work_mbids: Vec<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    submission_client: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    submission_client_version: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    media_player: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    music_service: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    origin_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    spotify_id: Option<String>,
}

/// ListenBrainz's `mbid_mapping`.
#[derive(Deserialize)]
struct LbMapping {
    #[serde(default, deserialize_with = "lenient_text")]
    recording_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    release_mbid: Option<String>,
    #[serde(default, deserialize_with = "lenient_texts")]
    artist_mbids: Vec<String>,
}

/// The details a ListenBrainz listen keeps: the player's own MBIDs (`additional_info`)
/// win over the mapper's (`mbid_mapping`).
fn lb_details(info: Option<LbInfo>, mapping: Option<LbMapping>) -> Option<Box<ListenDetails>> {
    {
        let one = |value: Option<String>| value.as_deref().and_then(mbid);
        let many = |values: Vec<String>| values.iter().filter_map(|value| mbid(value)).collect::<Vec<_>>();
        let (mapped_recording, mapped_release, mapped_artists) = match mapping {
            Some(mapping) => (one(mapping.recording_mbid), one(mapping.release_mbid), many(mapping.artist_mbids)),
            None => (None, None, Vec::new()),
        };
        let mut details = ListenDetails {
            recording_mbid: mapped_recording,
            release_mbid: mapped_release,
            artist_mbids: mapped_artists,
            ..ListenDetails::default()
        };
        if let Some(info) = info {
            let artist_mbids = many(info.artist_mbids);
            let own = ListenDetails {
                recording_mbid: one(info.recording_mbid),
                release_mbid: one(info.release_mbid),
                release_group_mbid: one(info.release_group_mbid),
                track_mbid: one(info.track_mbid),
                artist_mbids,
                work_mbids: many(info.work_mbids),
                submission_client: info.submission_client,
                submission_client_version: info.submission_client_version,
                media_player: info.media_player,
                music_service: info.music_service,
                origin_url: info.origin_url,
                spotify_track_uri: info.spotify_id.as_deref().and_then(spotify_uri_of),
                ..ListenDetails::default()
            };
            // The player's own ids first; the mapper's fill what it lacks.
            let mapped = std::mem::replace(&mut details, own);
            details.gain(&mapped);
        }
        (!details.is_empty()).then(|| Box::new(details))
    }
}

/// `spotify:track:ID` from ListenBrainz's `spotify_id` (`https://open.spotify.com/track/ID`).
fn spotify_uri_of(url: &str) -> Option<String> {
    let id = url.trim().strip_prefix("https://open.spotify.com/track/")?;
    let id = id.split(['?', '/']).next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())).then(|| format!("spotify:track:{id}"))
}

/// A string, trimmed; anything else (or an empty string) as absent.
fn lenient_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(Lenient(|value: Scalar<'_>| match value {
        Scalar::Text(value) => text(Some(Cow::Borrowed(value))),
        Scalar::Bool(_) | Scalar::Other => None,
    }))
}

/// A boolean; anything else (`null` in old exports) as absent.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    deserializer.deserialize_any(Lenient(|value: Scalar<'_>| match value {
        Scalar::Bool(value) => Some(value),
        Scalar::Text(_) | Scalar::Other => None,
    }))
}

/// What [`Lenient`] saw.
enum Scalar<'a> {
    Text(&'a str),
    Bool(bool),
    Other,
}

/// Reads any JSON value without buffering it, handing strings and booleans to its function.
struct Lenient<F>(F);

impl<'de, T, F: FnOnce(Scalar<'_>) -> Option<T>> Visitor<'de> for Lenient<F> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any value")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Text(value)))
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Bool(value)))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((self.0)(Scalar::Other))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok((self.0)(Scalar::Other))
    }
}

/// A list of strings; anything else as empty, non-strings in it left out.
fn lenient_texts<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item<'a> {
        Text(#[serde(borrow)] Cow<'a, str>),
        Other(IgnoredAny),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose<'a> {
        List(#[serde(borrow)] Vec<Item<'a>>),
        Other(IgnoredAny),
    }
    Ok(match Loose::deserialize(deserializer)? {
        Loose::List(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Item::Text(value) => text(Some(value)),
                Item::Other(_) => None,
            })
            .collect(),
        Loose::Other(_) => Vec::new(),
    })
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
        let details = lb_details(metadata.additional_info, metadata.mbid_mapping);
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
            artists: Vec::new(),
            details,
            minute_start: false,
        })
    }
}

/// A track of a Last.fm JSON export (lastfm.ghan.nl), as `user.getRecentTracks` gives it.
#[derive(Deserialize)]
struct GhanTrack<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    artist: Option<GhanText<'a>>,
    #[serde(borrow, default)]
    album: Option<GhanText<'a>>,
    #[serde(borrow, default)]
    date: Option<GhanDate<'a>>,
}

/// `{"#text": …}`, or `{"name": …}` in the extended form.
#[derive(Deserialize)]
struct GhanText<'a> {
    #[serde(borrow, default, rename = "#text")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct GhanDate<'a> {
    #[serde(borrow, default)]
    uts: Option<Cow<'a, str>>,
}

impl GhanText<'_> {
    fn into_text(self) -> Option<String> {
        text(self.text).or_else(|| text(self.name))
    }
}

impl GhanTrack<'_> {
    fn outcome(self) -> Outcome {
        // The track playing when the export was made has no date.
        let Some(uts) = self.date.and_then(|date| date.uts) else {
            return Outcome::Skip("now_playing");
        };
        let Ok(seconds) = uts.trim().parse::<i64>() else {
            return Outcome::Reject(format!("uts {uts:?} is not a unix time"));
        };
        let start_ms = match lastfm_start(seconds, &uts) {
            Ok(start_ms) => start_ms,
            Err(outcome) => return *outcome,
        };
        let Some(track) = text(self.name) else {
            return Outcome::Skip("no_track");
        };
        let Some(artist) = self.artist.and_then(GhanText::into_text) else {
            return Outcome::Skip("no_artist");
        };
        let album = self.album.and_then(GhanText::into_text);
        Outcome::Listen(RawListen {
            start_ms,
            duration_ms: None,
            artist,
            track,
            album,
            artists: Vec::new(),
            details: None,
            minute_start: false,
        })
    }
}

/// A scrobble of a Maloja export.
#[derive(Deserialize)]
struct MalojaScrobble {
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    track: Option<MalojaTrack>,
    /// Seconds played.
    #[serde(default, deserialize_with = "lenient_number")]
    duration: Option<u64>,
}

#[derive(Deserialize)]
struct MalojaTrack {
    #[serde(default)]
    artists: Vec<String>,
    #[serde(default)]
    title: Option<String>,
    /// The track's length in seconds.
    #[serde(default, deserialize_with = "lenient_number")]
    length: Option<u64>,
    #[serde(default)]
    album: Option<MalojaAlbum>,
}

#[derive(Deserialize)]
struct MalojaAlbum {
    #[serde(default)]
    albumtitle: Option<String>,
}

impl MalojaScrobble {
    fn outcome(self) -> Outcome {
        let Some(time) = self.time.filter(|time| *time > 0) else {
            return Outcome::Reject("no valid `time`".to_owned());
        };
        let Some(track) = self.track else {
            return Outcome::Reject("no `track`".to_owned());
        };
        let Some(title) = text(track.title.map(Cow::Owned)) else {
            return Outcome::Skip("no_track");
        };
        let artists: Vec<String> =
            track.artists.into_iter().map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()).collect();
        let Some(artist) = artists.first().cloned() else {
            return Outcome::Skip("no_artist");
        };
        Outcome::Listen(RawListen {
            start_ms: time * 1000,
            duration_ms: self.duration.or(track.length).filter(|seconds| *seconds > 0).map(|seconds| seconds * 1000),
            artist: if artists.len() > 1 { artists.join(", ") } else { artist },
            track: title,
            album: track.album.and_then(|album| text(album.albumtitle.map(Cow::Owned))),
            artists: if artists.len() > 1 { artists } else { Vec::new() },
            details: None,
            minute_start: false,
        })
    }
}

/// A listen of a Koito export.
#[derive(Deserialize)]
struct KoitoListen {
    #[serde(default)]
    listened_at: Option<String>,
    #[serde(default)]
    track: Option<KoitoNamed>,
    #[serde(default)]
    album: Option<KoitoNamed>,
    #[serde(default)]
    artists: Option<Vec<KoitoNamed>>,
}

/// A track, album or artist of a Koito export: its names are aliases, one of them primary.
#[derive(Deserialize)]
struct KoitoNamed {
    #[serde(default)]
    aliases: Option<Vec<KoitoAlias>>,
    /// A track's length in seconds.
    #[serde(default, deserialize_with = "lenient_number")]
    duration: Option<u64>,
    #[serde(default)]
    is_primary: bool,
}

#[derive(Deserialize)]
struct KoitoAlias {
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    is_primary: bool,
}

impl KoitoNamed {
    /// The primary alias, else the first.
    fn name(&self) -> Option<String> {
        let aliases = self.aliases.as_deref().unwrap_or_default();
        let chosen = aliases.iter().find(|alias| alias.is_primary).or(aliases.first())?;
        text(chosen.alias.as_deref().map(Cow::Borrowed))
    }
}

impl KoitoListen {
    fn outcome(self) -> Outcome {
        let Some(listened_at) = self.listened_at else {
            return Outcome::Reject("no `listened_at`".to_owned());
        };
        let Some(start_ms) = clock::parse_rfc3339_ms(&listened_at).filter(|ms| *ms > 0) else {
            return Outcome::Reject(format!("`listened_at` {listened_at:?} is not a time"));
        };
        let Some(track) = self.track else {
            return Outcome::Reject("no `track`".to_owned());
        };
        let Some(title) = track.name() else {
            return Outcome::Skip("no_track");
        };
        let mut artists = self.artists.unwrap_or_default();
        // The primary artist first.
        artists.sort_by_key(|artist| !artist.is_primary);
        let names: Vec<String> = artists.iter().filter_map(KoitoNamed::name).collect();
        let Some(first) = names.first().cloned() else {
            return Outcome::Skip("no_artist");
        };
        Outcome::Listen(RawListen {
            start_ms,
            duration_ms: track.duration.filter(|seconds| *seconds > 0).map(|seconds| seconds * 1000),
            artist: if names.len() > 1 { names.join(", ") } else { first },
            track: title,
            album: self.album.as_ref().and_then(KoitoNamed::name),
            artists: if names.len() > 1 { names } else { Vec::new() },
            details: None,
            minute_start: false,
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
                artists: Vec::new(),
                details: Some(Box::new(ListenDetails {
                    spotify_track_uri: Some("spotify:track:x".into()),
                    ..ListenDetails::default()
                })),
                minute_start: false,
            })]
        );
        let full = r#","reason_start":"clickrow","reason_end":"fwdbtn","skipped":true,"shuffle":null,"platform":"osx""#;
        let Outcome::Listen(listen) = &outcomes(&extended(full), Family::Spotify).unwrap()[0] else { panic!() };
        let details = listen.details.as_deref().expect("details");
        assert_eq!(
            (details.reason_start.as_deref(), details.reason_end.as_deref(), details.skipped, details.shuffle),
            (Some("clickrow"), Some("fwdbtn"), Some(true), None)
        );
        assert_eq!(details.platform.as_deref(), Some("osx"));
        // Other types are absent, not a reason to refuse the play.
        let odd = r#","reason_start":["x"],"reason_end":7,"skipped":"yes","shuffle":{"a":[1]},"platform":"  ""#;
        let Outcome::Listen(listen) = &outcomes(&extended(odd), Family::Spotify).unwrap()[0] else { panic!() };
        let details = listen.details.as_deref().expect("the track uri");
        assert_eq!(
            (&details.reason_start, &details.reason_end, details.skipped, details.shuffle),
            (&None, &None, None, None)
        );
        assert_eq!(details.platform, None);
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
    fn offline_plays_start_at_their_offline_timestamp() {
        let start = |fields: &str| match &outcomes(&extended(fields), Family::Spotify).unwrap()[0] {
            Outcome::Listen(listen) => listen.start_ms,
            other => panic!("{other:?}"),
        };
        let synced = 1_716_446_950_000 - 220_538;
        // Seconds in current exports, milliseconds in old ones.
        assert_eq!(start(r#","offline":true,"offline_timestamp":1700000000"#), 1_700_000_000_000);
        assert_eq!(start(r#","offline":true,"offline_timestamp":1500000000123"#), 1_500_000_000_123);
        // Unknown, or not an offline play: the end time minus the time played.
        assert_eq!(start(r#","offline":true,"offline_timestamp":0"#), synced);
        assert_eq!(start(r#","offline":true,"offline_timestamp":null"#), synced);
        assert_eq!(start(r#","offline":false,"offline_timestamp":1716446730"#), synced);
        // A start after the sync is no start.
        assert_eq!(start(r#","offline":true,"offline_timestamp":1800000000"#), synced);
    }

    #[test]
    fn files_without_music_are_skipped_whole_by_their_content() {
        let episode = r#"{"ts":"2024-05-23T06:49:10Z","ms_played":900000,"master_metadata_track_name":null,"episode_name":"Ep","spotify_episode_uri":"spotify:episode:1"}"#;
        let nothing = r#"{"ts":"2024-05-23T07:49:10Z","ms_played":900000,"master_metadata_track_name":null}"#;
        let chapter = r#"{"ts":"2024-05-23T06:49:10Z","ms_played":900000,"audiobook_title":"Book","audiobook_uri":"spotify:show:1"}"#;
        let music = &extended("")[1..extended("").len() - 1];
        let info = |text: &str| validate(&memory(text), Family::Spotify).unwrap();
        assert_eq!(info(&format!("[{episode},{nothing}]")).not_music, Some("podcast"));
        assert_eq!(
            outcomes(&format!("[{episode},{nothing}]"), Family::Spotify).unwrap(),
            vec![Outcome::Skip("podcast"); 2]
        );
        assert_eq!(info(&format!("[{chapter}]")).not_music, Some("audiobook"));
        assert_eq!(info(&format!("[{episode},{music}]")).not_music, None, "one music play makes a music history");
        assert_eq!(info(&format!("[{nothing}]")).not_music, None);
        let account = r#"[{"endTime":"2024-01-05 14:23","podcastName":"Show","episodeName":"Ep","msPlayed":1200000}]"#;
        assert_eq!(info(account).not_music, Some("podcast"));
        let books = r#"[{"endTime":"2024-01-05 14:23","audiobookName":"Book","chapterName":"One","msPlayed":1200000}]"#;
        assert_eq!(info(books).not_music, Some("audiobook"));
        let mixed = r#"[{"endTime":"2024-01-05 14:23","audiobookName":"Book","chapterName":"One","msPlayed":1200000},
                        {"endTime":"2022-12-05 16:52","artistName":"A","trackName":"T","msPlayed":152293}]"#;
        let seen = outcomes(mixed, Family::Spotify).unwrap();
        assert_eq!(seen[0], Outcome::Skip("audiobook"));
        assert!(matches!(seen[1], Outcome::Listen(_)));
    }

    #[test]
    fn listenbrainz_mbids_and_client_are_kept() {
        const OWN: &str = "7cc64b4e-8ebc-4b57-bbee-e2d5c2d4b39e";
        const MAPPED: &str = "0b3f5e4a-1c7e-4f7c-9d55-bf1a8f1b2c3d";
        let listen = |metadata: &str| {
            let line = format!(
                r#"{{"listened_at":1771414109,"track_metadata":{{"artist_name":"A","track_name":"T"{metadata}}}}}"#
            );
            match outcomes(&line, Family::Listenbrainz).unwrap().remove(0) {
                Outcome::Listen(listen) => listen.details,
                other => panic!("{other:?}"),
            }
        };
        let both = listen(&format!(
            r#","additional_info":{{"recording_mbid":"{}","submission_client":"Navidrome","media_player":"mpv","music_service":"spotify.com","origin_url":"https://example.org/t","artist_mbids":["{MAPPED}",7]}},"mbid_mapping":{{"recording_mbid":"{MAPPED}","release_mbid":"{MAPPED}","artist_mbids":["{OWN}"]}}"#,
            OWN.to_uppercase()
        ))
        .expect("details");
        assert_eq!(both.recording_mbid.as_deref(), Some(OWN), "the player's own id wins over the mapper's");
        assert_eq!(both.release_mbid.as_deref(), Some(MAPPED), "the mapper fills what the player lacks");
        assert_eq!(both.artist_mbids, vec![MAPPED.to_owned()]);
        assert_eq!(
            (both.submission_client.as_deref(), both.media_player.as_deref(), both.music_service.as_deref()),
            (Some("Navidrome"), Some("mpv"), Some("spotify.com"))
        );
        assert_eq!(both.origin_url.as_deref(), Some("https://example.org/t"));
        let mapped = listen(&format!(r#","mbid_mapping":{{"recording_mbid":"{MAPPED}"}}"#)).expect("details");
        assert_eq!(mapped.recording_mbid.as_deref(), Some(MAPPED));
        assert_eq!(listen(r#","additional_info":{"recording_mbid":"nope"},"mbid_mapping":null"#), None);
        assert_eq!(listen(r#","additional_info":{"duration_ms":1000}"#), None, "nothing more than a duration");
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
    fn files_are_told_by_their_content() {
        let cases: [(&str, Option<Family>); 10] = [
            (&extended(""), Some(Family::Spotify)),
            (
                r#"[{"endTime":"2022-12-05 16:52","artistName":"A","trackName":"T","msPlayed":1}]"#,
                Some(Family::Spotify),
            ),
            (r#"{"listened_at":1,"track_metadata":{}}"#, Some(Family::Listenbrainz)),
            (r#"[{"listened_at":1,"track_metadata":{}}]"#, Some(Family::Listenbrainz)),
            (r##"[{"track":[{"name":"T","artist":{"#text":"A"}}]}]"##, Some(Family::LastfmJson)),
            (r#"{"maloja":{"export_time":1},"scrobbles":[]}"#, Some(Family::Maloja)),
            (r#"{"version":"1","exported_at":"x","user":"me","listens":[]}"#, Some(Family::Koito)),
            ("#AUDIOSCROBBLER/1.1\n#TZ/UTC\n", Some(Family::ScrobblerLog)),
            ("Radiohead,OK Computer,Airbag,\"31 Jan 2021 15:14\"\n", Some(Family::LastfmCsv)),
            ("name,age\nbob,3\n", None),
        ];
        for (text, family) in cases {
            assert_eq!(sniff(text.as_bytes()), family, "{text}");
        }
        assert_eq!(
            sniff(b"uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"),
            Some(Family::LastfmCsv)
        );
    }

    #[test]
    fn headerless_lastfm_csv_and_scrobbler_log() {
        let text =
            "Radiohead,OK Computer,Airbag,\"31 Jan 2021 15:14\"\nOld,,Track,\"01 Jan 1970 00:00\"\nA,B,C,\"soon\"\n";
        let seen = outcomes(text, Family::LastfmCsv).unwrap();
        assert!(
            matches!(&seen[0], Outcome::Listen(listen) if listen.start_ms == 1_612_106_040_000 && listen.track == "Airbag" && listen.album.as_deref() == Some("OK Computer") && listen.minute_start)
        );
        assert_eq!(seen[1], Outcome::Skip("before_lastfm"));
        assert!(matches!(&seen[2], Outcome::Reject(reason) if reason.contains("soon")));
        let log = "#AUDIOSCROBBLER/1.1\n#TZ/UTC\n#CLIENT/Rockbox\nA\tB\tT\t1\t200\tL\t1600000000\t\nA\tB\tU\t2\t100\tS\t1600000300\t\n";
        let data = memory(log);
        assert_eq!(validate(&data, Family::ScrobblerLog).unwrap().format, Format::ScrobblerLog { local: false });
        let seen = outcomes(log, Family::ScrobblerLog).unwrap();
        assert!(
            matches!(&seen[0], Outcome::Listen(listen) if listen.start_ms == 1_600_000_000_000 && listen.duration_ms == Some(200_000))
        );
        assert_eq!(seen[1], Outcome::Skip("skipped"));
        let unknown = log.replace("#TZ/UTC", "#TZ/UNKNOWN");
        assert_eq!(
            validate(&memory(&unknown), Family::ScrobblerLog).unwrap().format,
            Format::ScrobblerLog { local: true }
        );
        let err = outcomes("A\tB\tT\n", Family::ScrobblerLog).unwrap_err();
        assert!(err.contains("#AUDIOSCROBBLER"), "{err}");
    }

    #[test]
    fn wanted_files() {
        assert!(Family::Spotify.wants("x/Spotify Extended Streaming History/Streaming_History_Audio_2024_3.json"));
        assert!(Family::Spotify.wants("Streaming_History_Video_2024.json"), "read, to be skipped by its content");
        assert!(Family::Spotify.wants("MyData/StreamingHistory_music_0.json"));
        assert!(!Family::Spotify.wants("MyData/Userdata.json"));
        assert!(Family::Listenbrainz.wants("listens/2024/5.jsonl"));
        assert!(!Family::Listenbrainz.wants("feedback.jsonl"));
        assert!(Family::LastfmCsv.wants("recenttracks-me-1.csv"));
    }

    #[test]
    fn resume_skips_records_before_the_cursor() {
        let data = memory("[1,2,3,4]");
        let info = FileInfo { format: Format::SpotifyExtended, records: 4, not_music: None };
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
        assert_eq!(info, FileInfo { format: Format::SpotifyExtended, records: 1, not_music: None });
        let mut seen = Vec::new();
        read_records(&data, info, RULES, 0, &mut |_, outcome| {
            seen.push(outcome);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, outcomes(&extended(""), Family::Spotify).unwrap());
    }
}
