//! How answers are printed: aligned tables for people, JSON for scripts.

#![allow(clippy::print_stdout)]

use std::io::{self, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use musique_api::{
    EnrichmentInfo, Event, ImportRun, Listen, NewToken, PluginInfo, SearchHit, Status, TokenApi, TokenInfo, TopList,
    TrackerStatus,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) fn json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Prints rows as columns padded to their widest cell; the last column is not padded.
fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if index < last {
                let pad = widths[index] - cell.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, header)?;
    for row in rows {
        line(out, &row.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

fn when(seconds: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]");
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|time| time.format(format).ok())
        .unwrap_or_else(|| seconds.to_string())
}

fn bytes(size: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{size} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

pub(crate) fn status(out: &mut impl Write, status: &Status) -> io::Result<()> {
    let counts = &status.counts;
    writeln!(out, "musiqued {} (api {}), up {} s", status.daemon_version, status.api_version, status.uptime_s)?;
    writeln!(out, "data dir:   {}", status.data_dir)?;
    writeln!(
        out,
        "stored:     {} listens, {} artists, {} albums, {} tracks",
        counts.listens, counts.artists, counts.albums, counts.tracks
    )?;
    writeln!(out, "store size: {}", bytes(status.store_bytes))?;
    writeln!(out, "index size: {} (lag {})", bytes(status.index_bytes), status.index_lag)?;
    let rows: Vec<Vec<String>> = status
        .components
        .iter()
        .map(|component| {
            vec![component.name.clone(), component.state.to_string(), component.detail.clone().unwrap_or_default()]
        })
        .collect();
    writeln!(out)?;
    table(out, &["COMPONENT", "STATE", "DETAIL"], &rows)
}

pub(crate) fn listens(out: &mut impl Write, listens: &[Listen]) -> io::Result<()> {
    if listens.is_empty() {
        return writeln!(out, "no listens");
    }
    let rows: Vec<Vec<String>> = listens
        .iter()
        .map(|listen| {
            let artist = if listen.featured.is_empty() {
                listen.artist.clone()
            } else {
                format!("{} feat. {}", listen.artist, listen.featured.join(", "))
            };
            let track = if listen.loved { format!("{} ♥", listen.track) } else { listen.track.clone() };
            vec![when(listen.listened_at), artist, track, listen.album.clone().unwrap_or_default()]
        })
        .collect();
    table(out, &["WHEN (UTC)", "ARTIST", "TRACK", "ALBUM"], &rows)
}

pub(crate) fn search(out: &mut impl Write, hits: &[SearchHit]) -> io::Result<()> {
    if hits.is_empty() {
        return writeln!(out, "nothing found");
    }
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|hit| {
            vec![format!("{:?}", hit.kind).to_lowercase(), hit.name.clone(), hit.artist.clone().unwrap_or_default()]
        })
        .collect();
    table(out, &["KIND", "NAME", "ARTIST"], &rows)
}

pub(crate) fn top(out: &mut impl Write, top: &TopList) -> io::Result<()> {
    if top.entries.is_empty() {
        return writeln!(out, "no listens in this period");
    }
    let with_artist = top.entries.iter().any(|entry| entry.artist.is_some());
    let rows: Vec<Vec<String>> = top
        .entries
        .iter()
        .map(|entry| {
            let mut row = vec![entry.rank.to_string(), entry.plays.to_string(), entry.name.clone()];
            if with_artist {
                row.push(entry.artist.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let name = top.kind.plural().trim_end_matches('s').to_uppercase();
    let mut header = vec!["#", "PLAYS", name.as_str()];
    if with_artist {
        header.push("ARTIST");
    }
    table(out, &header, &rows)
}

pub(crate) fn new_token(out: &mut impl Write, token: &NewToken, url: Option<&str>) -> io::Result<()> {
    let base = url.unwrap_or("http://127.0.0.1:42010");
    match token.info.api {
        TokenApi::Listenbrainz => {
            writeln!(out, "ListenBrainz token for {} (id {}), shown this once:", token.info.name, token.info.id)?;
            writeln!(out)?;
            writeln!(out, "  server URL: {base}")?;
            writeln!(out, "  user name:  {}", token.user)?;
            writeln!(out, "  token:      {}", token.secret)?;
        }
        TokenApi::Lastfm => {
            writeln!(
                out,
                "Last.fm API credentials for {} (id {}), the secret shown this once:",
                token.info.name, token.info.id
            )?;
            writeln!(out)?;
            writeln!(out, "  API URL:       {base}/2.0/")?;
            writeln!(out, "  API key:       {}", token.info.api_key.as_deref().unwrap_or(""))?;
            writeln!(out, "  shared secret: {}", token.secret)?;
            writeln!(out, "  user name:     {}", token.user)?;
            writeln!(out, "  password:      the shared secret")?;
        }
    }
    if url.is_none() {
        writeln!(out)?;
        writeln!(
            out,
            "note: the scrobbling endpoints are not listening now (see `musiquectl status` and [http] in the config)"
        )?;
    }
    Ok(())
}

pub(crate) fn tokens(out: &mut impl Write, tokens: &[TokenInfo]) -> io::Result<()> {
    if tokens.is_empty() {
        return writeln!(out, "no credentials (create one with `musiquectl tokens create NAME`)");
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|token| {
            vec![
                token.id.to_string(),
                token.name.clone(),
                match token.api {
                    TokenApi::Listenbrainz => "listenbrainz".to_owned(),
                    TokenApi::Lastfm => "lastfm".to_owned(),
                },
                when(token.created_at),
                token.api_key.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(out, &["ID", "NAME", "API", "CREATED", "API KEY"], &rows)
}

pub(crate) fn plugins(out: &mut impl Write, plugins: &[PluginInfo]) -> io::Result<()> {
    if plugins.is_empty() {
        return writeln!(out, "no plugins (drop .so or .dylib files into the plugins directory)");
    }
    let rows: Vec<Vec<String>> = plugins
        .iter()
        .map(|plugin| {
            vec![
                plugin.name.clone(),
                plugin.version.clone(),
                plugin.state.to_string(),
                plugin.capabilities.join(","),
                plugin.file.clone().unwrap_or_else(|| plugin.origin.to_string()),
                plugin.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(out, &["NAME", "VERSION", "STATE", "CAPABILITIES", "FILE", "ERROR"], &rows)
}

pub(crate) fn import_runs(out: &mut impl Write, runs: &[ImportRun]) -> io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "no imports yet");
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            vec![
                run.id.to_string(),
                run.kind.as_str().to_owned(),
                format!("{:?}", run.state).to_lowercase(),
                when(run.started_at),
                run.imported.to_string(),
                run.duplicates.to_string(),
                run.path.clone(),
            ]
        })
        .collect();
    table(out, &["ID", "KIND", "STATE", "STARTED (UTC)", "IMPORTED", "DUPLICATES", "PATH"], &rows)
}

pub(crate) fn import_report(out: &mut impl Write, run: &ImportRun) -> io::Result<()> {
    let state = format!("{:?}", run.state).to_lowercase();
    writeln!(out, "import {} ({}) {state}: {}", run.id, run.kind.as_str(), run.path)?;
    let unit = if run.kind.is_adapter() { "pages" } else { "files" };
    writeln!(out, "  {:<13}{} of {}", format!("{unit}:"), run.files_done, run.files_total)?;
    writeln!(out, "  records:     {}", run.records)?;
    writeln!(out, "  imported:    {}", run.imported)?;
    writeln!(out, "  duplicates:  {}", run.duplicates)?;
    let skipped: u64 = run.skipped.values().sum();
    let rules: Vec<String> = run.skipped.iter().map(|(rule, count)| format!("{rule} {count}")).collect();
    if rules.is_empty() {
        writeln!(out, "  skipped:     0")?;
    } else {
        writeln!(out, "  skipped:     {skipped} ({})", rules.join(", "))?;
    }
    writeln!(out, "  rejected:    {}", run.rejected)?;
    for sample in &run.rejected_samples {
        writeln!(out, "    {sample}")?;
    }
    if run.resumed > 0 {
        writeln!(out, "  resumed:     {} time(s)", run.resumed)?;
    }
    for error in &run.file_errors {
        writeln!(out, "  file rejected: {error}")?;
    }
    if let Some(error) = &run.error {
        writeln!(out, "  error: {error}")?;
    }
    if run.state == musique_api::ImportState::Running {
        writeln!(out, "  (running; follow it with `musiquectl imports`)")?;
    }
    Ok(())
}

/// Steps per file on the progress bar.
const FILE_STEPS: u64 = 1000;

/// A progress bar on stderr, hidden with `--json` or when stderr is not a terminal.
pub(crate) fn progress_bar(run: &ImportRun, json: bool) -> ProgressBar {
    let target = if json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
    let bar = ProgressBar::with_draw_target(Some(run.files_total.max(1) * FILE_STEPS), target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:30}] {percent:>3}% {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    update_progress(&bar, run);
    bar
}

pub(crate) fn update_progress(bar: &ProgressBar, run: &ImportRun) {
    let within = (run.file_records_done.min(run.file_records_total) * FILE_STEPS)
        .checked_div(run.file_records_total)
        .unwrap_or(0);
    bar.set_position((run.files_done * FILE_STEPS + within).min(run.files_total.max(1) * FILE_STEPS));
    let unit = if run.kind.is_adapter() { "page" } else { "file" };
    bar.set_message(format!(
        "{unit} {}/{}  imported {}  duplicates {}",
        (run.files_done + 1).min(run.files_total),
        run.files_total,
        run.imported,
        run.duplicates
    ));
}

pub(crate) fn trackers(out: &mut impl Write, trackers: &[TrackerStatus]) -> io::Result<()> {
    if trackers.is_empty() {
        return writeln!(out, "no trackers (start one with `musiquectl tracker start lastfm`)");
    }
    for tracker in trackers {
        let state = if tracker.running { "running" } else { "stopped" };
        writeln!(out, "{}: {state}, {} polls, {} listens recorded", tracker.adapter, tracker.polls, tracker.recorded)?;
        if let Some(at) = tracker.last_poll_ms {
            writeln!(out, "  last poll:   {}", when(at / 1000))?;
        }
        if let Some(at) = tracker.next_poll_ms {
            writeln!(out, "  next poll:   {}", when(at / 1000))?;
        }
        if let Some(track) = &tracker.last_track {
            let at = track.listened_at.map(when).unwrap_or_default();
            writeln!(out, "  last track:  {} – {} ({at})", track.artist, track.track)?;
        }
        if let Some(now) = &tracker.now_playing {
            writeln!(out, "  now playing: {} – {}", now.artist, now.track)?;
        }
        if let Some(error) = &tracker.last_error {
            writeln!(out, "  last error:  {error}")?;
        }
    }
    Ok(())
}

pub(crate) fn enrichment(out: &mut impl Write, info: &EnrichmentInfo) -> io::Result<()> {
    let what = match &info.album {
        Some(album) => format!("{} – {album}", info.artist),
        None => info.artist.clone(),
    };
    if !info.found {
        return writeln!(out, "{} does not know {what}", info.source);
    }
    let cached = if info.cached { ", cached" } else { "" };
    writeln!(out, "{} ({}{cached})", info.name.as_deref().unwrap_or(&what), info.source)?;
    if let Some(url) = &info.url {
        writeln!(out, "  {url}")?;
    }
    for image in &info.images {
        writeln!(out, "  image {:<10} {}", image.size, image.url)?;
    }
    if let Some(summary) = &info.summary {
        writeln!(out)?;
        writeln!(out, "{summary}")?;
    }
    Ok(())
}

/// One event on one line, for `musiquectl events`.
pub(crate) fn event(out: &mut impl Write, event: &Event) -> io::Result<()> {
    match event {
        Event::NowPlaying { source, artist, track, album } => match album {
            Some(album) => writeln!(out, "now playing: {artist} – {track} ({album}) [{source}]"),
            None => writeln!(out, "now playing: {artist} – {track} [{source}]"),
        },
        Event::ListenRecorded { listen } => writeln!(
            out,
            "listen: {} {} – {} [{}]",
            when(listen.listened_at),
            listen.artist,
            listen.track,
            listen.sources.join(",")
        ),
        Event::ImportProgress { run } => {
            let unit = if run.kind.is_adapter() { "page" } else { "file" };
            writeln!(
                out,
                "import {} ({}) running: {unit} {}/{}, imported {}, duplicates {}",
                run.id,
                run.kind,
                (run.files_done + 1).min(run.files_total),
                run.files_total,
                run.imported,
                run.duplicates
            )
        }
        Event::ImportFinished { run } => {
            let state = format!("{:?}", run.state).to_lowercase();
            write!(
                out,
                "import {} ({}) {state}: imported {}, duplicates {}",
                run.id, run.kind, run.imported, run.duplicates
            )?;
            match &run.error {
                Some(error) => writeln!(out, "; {error}"),
                None => writeln!(out),
            }
        }
        Event::PluginProgress { source, job, done, total } => match total {
            Some(total) => writeln!(out, "progress: {source} {job} {done}/{total}"),
            None => writeln!(out, "progress: {source} {job} {done}"),
        },
        Event::Lagged { missed } => writeln!(out, "lagged: {missed} events missed (this terminal was too slow)"),
        Event::Unknown => writeln!(out, "unknown: (an event this musiquectl does not know; --json shows it)"),
    }
}
