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
