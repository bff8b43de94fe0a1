//! Synthetic exports: a Spotify extended streaming history with a Zipf
//! distribution over about 5k artists, 20k albums and 100k tracks, with
//! unicode and `feat.` names, spread over ten years.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Artists, albums and tracks in the synthetic catalogue.
pub const ARTISTS: usize = 5_000;
pub const ALBUMS: usize = 20_000;
pub const TRACKS: usize = 100_000;

/// Records per file, like the real ~10 MB files.
const RECORDS_PER_FILE: u64 = 15_000;

/// Unix time of 2015-01-01, where the synthetic history starts.
pub const HISTORY_START: i64 = 1_420_070_400;
/// Ten years, in seconds.
pub const HISTORY_SPAN: i64 = 10 * 365 * 86_400;

/// What was generated.
#[derive(Debug, Clone)]
pub struct Export {
    /// The folder of `Streaming_History_Audio_*.json` files.
    pub dir: PathBuf,
    /// Records that are listens under the default rules.
    pub listens: u64,
    /// All records, including skipped ones.
    pub records: u64,
    /// Number of files.
    pub files: u64,
}

/// A small, fast, deterministic random generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)`.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / (rank as f64 + 1.0);
            cdf.push(total);
        }
        for value in &mut cdf {
            *value /= total;
        }
        Zipf { cdf }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let target = rng.unit();
        self.cdf.partition_point(|value| *value < target).min(self.cdf.len() - 1)
    }
}

const UNICODE_STEMS: [&str; 12] = [
    "Sigur Rós",
    "Beyoncé",
    "Mø",
    "Röyksopp",
    "宇多田ヒカル",
    "Ólafur Arnalds",
    "Zoë",
    "Motörhead",
    "방탄소년단",
    "Björk",
    "Die Ärzte",
    "Françoise",
];
const WORDS: [&str; 24] = [
    "Black", "Velvet", "Echo", "Neon", "Silver", "Wild", "Blue", "Golden", "Midnight", "Paper", "Glass", "River",
    "Electric", "Quiet", "Northern", "Crystal", "Broken", "Summer", "Hollow", "Lunar", "Static", "Little", "Iron",
    "Ocean",
];

/// Display name of synthetic artist `index`.
pub fn artist_name(index: usize) -> String {
    if index.is_multiple_of(7) {
        format!("{} {index}", UNICODE_STEMS[index % UNICODE_STEMS.len()])
    } else {
        format!("{} {} {index}", WORDS[index % WORDS.len()], WORDS[(index / 24 + 3) % WORDS.len()])
    }
}

/// Display title of synthetic track `index`, some with a `(feat. X)`.
pub fn track_title(index: usize) -> String {
    let base = format!("{} {} {index}", WORDS[(index * 7) % WORDS.len()], WORDS[(index / 3) % WORDS.len()]);
    if index.is_multiple_of(13) { format!("{base} (feat. {})", artist_name((index * 31) % ARTISTS)) } else { base }
}

/// Display title of synthetic album `index`.
pub fn album_title(index: usize) -> String {
    format!("{} {} Vol. {index}", WORDS[(index * 5) % WORDS.len()], WORDS[(index / 5) % WORDS.len()])
}

/// Album of a track, and artist of an album.
pub fn album_of_track(track: usize) -> usize {
    track / (TRACKS / ALBUMS)
}

pub fn artist_of_album(album: usize) -> usize {
    album / (ALBUMS / ARTISTS)
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// Writes `listens` listens (plus about 2% records the default rules skip)
/// as a folder of extended streaming history files.
pub fn spotify_extended(dir: &Path, listens: u64, seed: u64) -> std::io::Result<Export> {
    std::fs::create_dir_all(dir)?;
    let artists: Vec<String> = (0..ARTISTS).map(|index| json_string(&artist_name(index))).collect();
    let albums: Vec<String> = (0..ALBUMS).map(|index| json_string(&album_title(index))).collect();
    let tracks: Vec<String> = (0..TRACKS).map(|index| json_string(&track_title(index))).collect();
    let zipf = Zipf::new(TRACKS);
    let mut rng = Rng::new(seed);
    let skipped_every = 50u64;
    // Every 50th record is skipped by a rule; find the record count giving exactly `listens`.
    let mut records = listens + listens / (skipped_every - 1);
    while records - records / skipped_every < listens {
        records += 1;
    }
    while records > 0 && records - records / skipped_every > listens {
        records -= 1;
    }
    let step = (HISTORY_SPAN / records.max(1) as i64).max(2);
    let mut files = 0u64;
    let mut writer: Option<BufWriter<std::fs::File>> = None;
    let mut listens_written = 0u64;
    for record in 0..records {
        if record % RECORDS_PER_FILE == 0 {
            if let Some(mut done) = writer.take() {
                done.write_all(b"\n]\n")?;
                done.flush()?;
            }
            let year = 2015 + (record * 10 / records.max(1));
            let path = dir.join(format!("Streaming_History_Audio_{year}_{files}.json"));
            let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
            file.write_all(b"[\n")?;
            writer = Some(file);
            files += 1;
        } else if let Some(file) = writer.as_mut() {
            file.write_all(b",\n")?;
        }
        let file = writer.as_mut().expect("open file");
        let start = HISTORY_START + record as i64 * step + rng.below(step as u64 / 2) as i64;
        let track = zipf.sample(&mut rng);
        let album = album_of_track(track);
        let artist = artist_of_album(album);
        let skip_kind =
            if record % skipped_every == skipped_every - 1 { Some(record / skipped_every % 3) } else { None };
        let ms_played = match skip_kind {
            Some(1) => 4_000 + rng.below(20_000),
            _ => 120_000 + rng.below(240_000),
        };
        let end = OffsetDateTime::from_unix_timestamp(start + (ms_played / 1000) as i64)
            .expect("valid time")
            .format(&Rfc3339)
            .expect("formats");
        let (track_name, artist_name, album_name, uri, episode, show, episode_uri) = if skip_kind == Some(0) {
            (
                "null",
                "null",
                "null",
                "null".to_owned(),
                "\"Episode\"",
                "\"A Podcast\"",
                "\"spotify:episode:4rOoJ6Egrf8K2IrywzwOMk\"",
            )
        } else {
            (
                tracks[track].as_str(),
                artists[artist].as_str(),
                albums[album].as_str(),
                format!("\"spotify:track:{track:022}\""),
                "null",
                "null",
                "null",
            )
        };
        let incognito = skip_kind == Some(2);
        write!(
            file,
            r#"  {{"ts":"{end}","platform":"android","ms_played":{ms_played},"conn_country":"CH","ip_addr":"192.0.2.{ip}","master_metadata_track_name":{track_name},"master_metadata_album_artist_name":{artist_name},"master_metadata_album_album_name":{album_name},"spotify_track_uri":{uri},"episode_name":{episode},"episode_show_name":{show},"spotify_episode_uri":{episode_uri},"audiobook_title":null,"audiobook_uri":null,"audiobook_chapter_uri":null,"audiobook_chapter_title":null,"reason_start":"trackdone","reason_end":"trackdone","shuffle":false,"skipped":false,"offline":false,"offline_timestamp":{offline},"incognito_mode":{incognito}}}"#,
            ip = record % 250,
            offline = start,
        )?;
        if skip_kind.is_none() {
            listens_written += 1;
        }
    }
    if let Some(mut done) = writer.take() {
        done.write_all(b"\n]\n")?;
        done.flush()?;
    }
    Ok(Export { dir: dir.to_owned(), listens: listens_written, records, files })
}

/// One play of a synthetic history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    /// When it started, unix seconds.
    pub start_s: i64,
    /// How long it played, whole seconds in milliseconds.
    pub duration_ms: u64,
    pub artist: String,
    pub track: String,
    pub album: String,
    /// Which exports report it, as [`Sources`] bits.
    pub sources: u8,
    /// Which of its reports leave the album out (Last.fm and ListenBrainz scrobbles often do).
    pub without_album: u8,
}

/// The exports a synthetic play can be reported in, in the order they are imported.
pub struct Sources;

impl Sources {
    pub const LASTFM_CSV: u8 = 1;
    pub const LASTFM_HEADERLESS: u8 = 2;
    pub const LISTENBRAINZ: u8 = 4;
    pub const SPOTIFY_ACCOUNT: u8 = 8;
    pub const SPOTIFY_EXTENDED: u8 = 16;
}

/// A seeded history of `plays` plays over ten years, each reported by one to all five
/// exports. Every play has at least one report with its album; Spotify's account data
/// (which has no album) only reports plays its extended history reports too, as a real
/// account's two exports do.
pub fn history(plays: u64, seed: u64) -> Vec<Play> {
    let zipf = Zipf::new(TRACKS);
    let mut rng = Rng::new(seed);
    let step = (HISTORY_SPAN / plays.max(1) as i64).max(1_000);
    (0..plays)
        .map(|index| {
            let start_s = HISTORY_START + index as i64 * step + rng.below(step as u64 / 2) as i64;
            let track = zipf.sample(&mut rng);
            let album = album_of_track(track);
            let mut sources = (rng.below(31) + 1) as u8;
            if sources & Sources::SPOTIFY_EXTENDED == 0 {
                sources &= !Sources::SPOTIFY_ACCOUNT;
            }
            if sources == 0 {
                sources = Sources::LASTFM_CSV;
            }
            // Scrobbles without an album, as long as some report of the play has it.
            let scrobbles = sources & (Sources::LASTFM_CSV | Sources::LASTFM_HEADERLESS | Sources::LISTENBRAINZ);
            let mut without_album = scrobbles & rng.below(8) as u8;
            if sources & Sources::SPOTIFY_EXTENDED == 0 && without_album == scrobbles {
                without_album &= without_album - 1;
            }
            Play {
                start_s,
                duration_ms: (90 + rng.below(300)) * 1000,
                artist: artist_name(artist_of_album(album)),
                track: track_title(track),
                album: album_title(album),
                sources,
                without_album,
            }
        })
        .collect()
}

fn utc(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("a time of the history")
}

/// `DD Mon YYYY HH:MM`, as Last.fm shows times.
fn lastfm_minute(seconds: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let time = utc(seconds);
    format!(
        "{:02} {} {} {:02}:{:02}",
        time.day(),
        MONTHS[time.month() as usize - 1],
        time.year(),
        time.hour(),
        time.minute()
    )
}

fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Writes the history as the five exports, into `dir`: `Streaming_History_Audio_*.json`
/// (extended), `StreamingHistory_music_0.json` (account data), `recenttracks-*.csv` (with
/// a header), `lastfm-to-csv.csv` (headerless) and `listens.jsonl` (ListenBrainz). Each
/// keeps the precision and fields of the real format. Returns the five paths, in
/// [`Sources`] order.
pub fn write_history(dir: &Path, plays: &[Play]) -> std::io::Result<[PathBuf; 5]> {
    std::fs::create_dir_all(dir)?;
    let has = |play: &Play, source: u8| play.sources & source != 0;
    fn album(play: &Play, source: u8) -> &str {
        if play.without_album & source != 0 { "" } else { play.album.as_str() }
    }
    let paths = [
        dir.join("recenttracks-someone-1735689600.csv"),
        dir.join("lastfm-to-csv.csv"),
        dir.join("listens.jsonl"),
        dir.join("StreamingHistory_music_0.json"),
        dir.join("Spotify Extended Streaming History"),
    ];
    // Last.fm lists the newest scrobble first.
    let mut newest_first: Vec<&Play> = plays.iter().collect();
    newest_first.reverse();

    let mut csv = BufWriter::new(std::fs::File::create(&paths[0])?);
    writeln!(csv, "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid")?;
    for play in newest_first.iter().filter(|play| has(play, Sources::LASTFM_CSV)) {
        let minute = lastfm_minute(play.start_s);
        let shown = format!("{}, {}", &minute[..11], &minute[12..]);
        writeln!(
            csv,
            "\"{}\",{},{},\"\",{},\"\",{},\"\"",
            play.start_s,
            csv_field(&shown),
            csv_field(&play.artist),
            csv_field(album(play, Sources::LASTFM_CSV)),
            csv_field(&play.track)
        )?;
    }
    csv.flush()?;

    // lastfm-to-csv: no header, the time to the minute.
    let mut plain = BufWriter::new(std::fs::File::create(&paths[1])?);
    for play in newest_first.iter().filter(|play| has(play, Sources::LASTFM_HEADERLESS)) {
        writeln!(
            plain,
            "{},{},{},{}",
            csv_field(&play.artist),
            csv_field(album(play, Sources::LASTFM_HEADERLESS)),
            csv_field(&play.track),
            csv_field(&lastfm_minute(play.start_s))
        )?;
    }
    plain.flush()?;

    let mut lines = BufWriter::new(std::fs::File::create(&paths[2])?);
    for play in plays.iter().filter(|play| has(play, Sources::LISTENBRAINZ)) {
        let release = album(play, Sources::LISTENBRAINZ);
        let listen = serde_json::json!({
            "listened_at": play.start_s,
            "inserted_at": play.start_s + 5,
            "recording_msid": "fd0cad33-ea33-453b-8155-1292379277db",
            "user_name": "someone",
            "track_metadata": {
                "artist_name": play.artist,
                "track_name": play.track,
                "release_name": if release.is_empty() { serde_json::Value::Null } else { release.into() },
                "additional_info": {"duration_ms": play.duration_ms, "submission_client": "Web Scrobbler"},
                "mbid_mapping": null
            }
        });
        writeln!(lines, "{listen}")?;
    }
    lines.flush()?;

    // Account data: the minute the play ended in, no album.
    let mut account = BufWriter::new(std::fs::File::create(&paths[3])?);
    account.write_all(b"[\n")?;
    let mut first = true;
    for play in plays.iter().filter(|play| has(play, Sources::SPOTIFY_ACCOUNT)) {
        let end = utc(play.start_s + (play.duration_ms / 1000) as i64);
        let separator = if first { "" } else { ",\n" };
        first = false;
        write!(
            account,
            r#"{separator}  {{"endTime":"{:04}-{:02}-{:02} {:02}:{:02}","artistName":{},"trackName":{},"msPlayed":{}}}"#,
            end.year(),
            end.month() as u8,
            end.day(),
            end.hour(),
            end.minute(),
            json_string(&play.artist),
            json_string(&play.track),
            play.duration_ms
        )?;
    }
    account.write_all(b"\n]\n")?;
    account.flush()?;

    // Extended history: when the play ended, to the second.
    std::fs::create_dir_all(&paths[4])?;
    let extended: Vec<&Play> = plays.iter().filter(|play| has(play, Sources::SPOTIFY_EXTENDED)).collect();
    for (number, chunk) in extended.chunks(RECORDS_PER_FILE as usize).enumerate() {
        let path = paths[4].join(format!("Streaming_History_Audio_{number}.json"));
        let mut file = BufWriter::new(std::fs::File::create(path)?);
        file.write_all(b"[\n")?;
        for (index, play) in chunk.iter().enumerate() {
            let end = utc(play.start_s + (play.duration_ms / 1000) as i64).format(&Rfc3339).expect("formats");
            let separator = if index == 0 { "" } else { ",\n" };
            write!(
                file,
                r#"{separator}  {{"ts":"{end}","platform":"android","ms_played":{},"conn_country":"CH","ip_addr":"192.0.2.1","master_metadata_track_name":{},"master_metadata_album_artist_name":{},"master_metadata_album_album_name":{},"spotify_track_uri":"spotify:track:4uLU6hMCjMI75M1A2tKUQC","episode_name":null,"episode_show_name":null,"spotify_episode_uri":null,"audiobook_title":null,"audiobook_uri":null,"audiobook_chapter_uri":null,"audiobook_chapter_title":null,"reason_start":"trackdone","reason_end":"trackdone","shuffle":false,"skipped":false,"offline":false,"offline_timestamp":{},"incognito_mode":false}}"#,
                play.duration_ms,
                json_string(&play.track),
                json_string(&play.artist),
                json_string(&play.album),
                play.start_s
            )?;
        }
        file.write_all(b"\n]\n")?;
        file.flush()?;
    }
    Ok(paths)
}
