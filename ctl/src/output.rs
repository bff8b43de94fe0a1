//! How answers are printed: aligned tables for people, JSON for scripts, and
//! errors as one sentence.

#![allow(clippy::print_stdout)]

use std::io::{self, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jsonrpsee::core::ClientError;
use musique_api::{
    ComponentState, ComponentStatus, ConnectionState, EnrichmentInfo, Event, ImportRun, Listen, Measure, NewToken,
    PlayOutcome, PlayState, Playback, PlayerStatus, PlayingTrack, PluginInfo, SearchHit, Span, Status, TokenApi,
    TokenInfo, TopList, TrackerStatus, Zone, error_code,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

/// How to start the daemon, for the messages saying it is not running.
pub(crate) const START_HINT: &str = "start it with `musiqued` or `systemctl --user start musiqued`";

/// An error as one sentence for a person, for `musiquectl: …` on stderr: what was being
/// done, then the daemon's own message for a refused call, or what to do when the daemon
/// is busy or gone. Each cause is said once: one a message already quotes is left out.
pub(crate) fn error(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            parts.push(client_error(client));
            break;
        }
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// A failed call: the daemon's answer, or what happened to the connection.
fn client_error(err: &ClientError) -> String {
    match err {
        ClientError::Call(call) => call_error(call.code(), call.message(), call.data().map(|data| data.get())),
        ClientError::RestartNeeded(_) | ClientError::Transport(_) | ClientError::ServiceDisconnect => {
            format!("musiqued is not running any more (the connection closed); {START_HINT}")
        }
        ClientError::RequestTimeout => "musiqued did not answer in time (its log may say why)".to_owned(),
        ClientError::ParseError(parse) => {
            format!("musiqued sent an answer this musiquectl cannot read ({parse}); use matching versions")
        }
        other => other.to_string(),
    }
}

/// A call the daemon refused: its message, and for a refusal for now, when to try again.
fn call_error(code: i32, message: &str, data: Option<&str>) -> String {
    match code {
        error_code::UNAVAILABLE => {
            let message = message.trim_end_matches(" (try again later)");
            let retry_after_ms = data
                .and_then(|data| serde_json::from_str::<serde_json::Value>(data).ok())
                .and_then(|data| data["retry_after_ms"].as_u64());
            match retry_after_ms {
                Some(ms) => format!("{message}; try again in {} s", ms.div_ceil(1000).max(1)),
                None => format!("{message}; try again later"),
            }
        }
        error_code::INTERNAL => format!("{message} (musiqued's log says more)"),
        _ => message.to_owned(),
    }
}

pub(crate) fn json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Whether a column's cells may be cut to fit the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Always shown whole: times, counts, ids, states, keys to copy.
    Whole,
    /// Cut with an ellipsis when the table is wider than the terminal: names, paths, details.
    Cut,
}

/// Spaces between two columns.
const GAP: u16 = 2;

/// How the daemon's `config` component begins its detail when no config file exists.
const CONFIG_DEFAULTS: &str = "defaults (no config file)";

/// Prints rows under a header as aligned columns, fitted to the terminal.
fn table(out: &mut impl Write, columns: &[(&str, Fit)], rows: &[Vec<String>]) -> io::Result<()> {
    fitted_table(out, columns, rows, terminal_width())
}

/// Prints rows under a header as aligned columns, fitted to `width` when given.
pub(crate) fn fitted_table(
    out: &mut impl Write,
    columns: &[(&str, Fit)],
    rows: &[Vec<String>],
    width: Option<u16>,
) -> io::Result<()> {
    let (lines, _) = layout_table(columns, rows, &Layout { width, header: true, at_least: &[] });
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The width tables must fit: `COLUMNS` when it holds a number, else the terminal's when
/// stdout is one, else none (a file or a pipe gets every cell whole).
pub(crate) fn terminal_width() -> Option<u16> {
    let columns = std::env::var("COLUMNS").ok().and_then(|columns| columns.trim().parse::<u16>().ok());
    match columns.filter(|&columns| columns > 0) {
        Some(columns) => Some(columns),
        None => console::Term::stdout().size_checked().map(|(_rows, columns)| columns),
    }
}

/// How to lay a table out.
struct Layout<'a> {
    /// The width to fit, if any.
    width: Option<u16>,
    /// Whether to print the header line.
    header: bool,
    /// Each column at least this wide (the widths of earlier pages), where they fit.
    at_least: &'a [u16],
}

/// Lays rows out as lines (without trailing spaces), measuring display width: a Chinese,
/// Japanese or Korean character takes two columns of the terminal. Also returns the
/// width each column's content needs, header included.
fn layout_table(columns: &[(&str, Fit)], rows: &[Vec<String>], layout: &Layout<'_>) -> (Vec<String>, Vec<u16>) {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    // Every column's width counts its header, printed or not, so pages line up.
    let mut header = comfy_table::Row::from(columns.iter().map(|(name, _)| *name));
    header.max_height(1);
    table.set_header(header);
    for cells in rows {
        let mut row = comfy_table::Row::from(cells);
        // One line per row: a cell too long for its column is cut with an ellipsis.
        row.max_height(1);
        table.add_row(row);
    }
    let needed = table.column_max_content_widths();
    if let Some(width) = layout.width {
        table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic).set_width(width);
        // No word boundaries: a cut cell keeps as much of its text as fits.
        table.set_delimiter('\0');
    }
    let at_least: Vec<u16> = needed
        .iter()
        .enumerate()
        .map(|(index, need)| layout.at_least.get(index).copied().unwrap_or(0).max(*need))
        .collect();
    let gaps = u32::from(GAP) * u32::try_from(columns.len().saturating_sub(1)).unwrap_or(u32::MAX);
    let total = at_least.iter().map(|width| u32::from(*width)).sum::<u32>().saturating_add(gaps);
    let keep_earlier = layout.width.is_none_or(|width| total <= u32::from(width));
    let last = columns.len().saturating_sub(1);
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if index == last { 0 } else { GAP }));
        let earlier = layout.at_least.get(index).copied().unwrap_or(0);
        match columns.get(index).map_or(Fit::Cut, |(_, fit)| *fit) {
            Fit::Whole => column.set_constraint(comfy_table::ColumnConstraint::Absolute(comfy_table::Width::Fixed(
                at_least[index] + column.padding_width(),
            ))),
            Fit::Cut if keep_earlier && earlier > 0 => {
                column.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(comfy_table::Width::Fixed(
                    earlier + column.padding_width(),
                )))
            }
            Fit::Cut => column,
        };
    }
    let lines = table.lines().skip(usize::from(!layout.header)).map(|line| line.trim_end().to_owned()).collect();
    (lines, at_least)
}

pub(crate) fn when(seconds: i64) -> String {
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
            vec![component.name.clone(), component_state(component), component.detail.clone().unwrap_or_default()]
        })
        .collect();
    writeln!(out)?;
    table(out, &[("COMPONENT", Fit::Whole), ("STATE", Fit::Whole), ("DETAIL", Fit::Cut)], &rows)
}

/// A component's state in words. The config running on its defaults because there is no
/// config file is not "ok" with a file: it says `defaults`, as its detail does.
fn component_state(component: &ComponentStatus) -> String {
    let defaults = component.detail.as_deref().is_some_and(|detail| detail.starts_with(CONFIG_DEFAULTS));
    if component.name == "config" && component.state == ComponentState::Ok && defaults {
        return "defaults".to_owned();
    }
    component.state.to_string()
}

/// The columns of a table of listens.
const LISTEN_COLUMNS: [(&str, Fit); 4] =
    [("WHEN (UTC)", Fit::Whole), ("ARTIST", Fit::Cut), ("TRACK", Fit::Cut), ("ALBUM", Fit::Cut)];

/// Prints listens page after page as one table, holding one page at a time: the header
/// once, and each column at least as wide as on the pages before (while that fits the
/// terminal), so rows line up across pages.
#[derive(Default)]
pub(crate) struct ListensTable {
    /// The width each column needed so far; empty before the first row.
    widths: Vec<u16>,
}

impl ListensTable {
    /// Prints one page (newest first).
    pub(crate) fn page(&mut self, out: &mut impl Write, listens: &[Listen]) -> io::Result<()> {
        if listens.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<String>> = listens.iter().map(listen_row).collect();
        let first = self.widths.is_empty();
        let layout = Layout { width: terminal_width(), header: first, at_least: &self.widths };
        let (lines, widths) = layout_table(&LISTEN_COLUMNS, &rows, &layout);
        self.widths = widths;
        for line in lines {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    /// Says so when no page had a listen.
    pub(crate) fn finish(&self, out: &mut impl Write) -> io::Result<()> {
        if self.widths.is_empty() {
            writeln!(out, "no listens")?;
        }
        Ok(())
    }
}

fn listen_row(listen: &Listen) -> Vec<String> {
    let artist = if listen.featured.is_empty() {
        listen.artist.clone()
    } else {
        format!("{} feat. {}", listen.artist, listen.featured.join(", "))
    };
    let track = if listen.loved { format!("{} ♥", listen.track) } else { listen.track.clone() };
    vec![when(listen.listened_at), artist, track, listen.album.clone().unwrap_or_default()]
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
    table(out, &[("KIND", Fit::Whole), ("NAME", Fit::Cut), ("ARTIST", Fit::Cut)], &rows)
}

/// What an empty answer says: the dates it looked at and where the history lies.
pub(crate) fn nothing_in(span: &Span) -> String {
    let looked = match (&span.first_day, &span.last_day) {
        (Some(first), Some(last)) => format!("no listens between {first} and {last}"),
        (Some(first), None) => format!("no listens since {first}"),
        _ => "no listens".to_owned(),
    };
    match (&span.history_from, &span.history_to) {
        (Some(first), Some(last)) => format!("{looked}; your listens run from {first} to {last}"),
        _ => format!("{looked}; there are no listens yet"),
    }
}

/// Milliseconds as hours and minutes (`12h05`), or minutes and seconds under an hour.
pub(crate) fn time_listened(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds >= 3600 {
        format!("{}h{:02}", seconds / 3600, seconds % 3600 / 60)
    } else {
        format!("{}m{:02}", seconds / 60, seconds % 60)
    }
}

pub(crate) fn top(out: &mut impl Write, top: &TopList) -> io::Result<()> {
    if top.entries.is_empty() {
        return writeln!(out, "{}", nothing_in(&top.span));
    }
    let by_time = top.by == Measure::Time;
    let with_artist = top.entries.iter().any(|entry| entry.artist.is_some());
    let rows: Vec<Vec<String>> = top
        .entries
        .iter()
        .map(|entry| {
            let mut row = vec![entry.rank.to_string(), entry.plays.to_string()];
            if by_time {
                row.push(time_listened(entry.ms.unwrap_or(0)));
            }
            row.push(entry.name.clone());
            if with_artist {
                row.push(entry.artist.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let name = top.kind.plural().trim_end_matches('s').to_uppercase();
    let mut columns = vec![("#", Fit::Whole), ("PLAYS", Fit::Whole)];
    if by_time {
        columns.push(("TIME", Fit::Whole));
    }
    columns.push((name.as_str(), Fit::Cut));
    if with_artist {
        columns.push(("ARTIST", Fit::Cut));
    }
    table(out, &columns, &rows)?;
    if let Some(known) = top.time_known {
        writeln!(out, "{}", crate::draw::time_note(known, top.time_from_length.unwrap_or(0)))?;
    }
    Ok(())
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
    let columns =
        [("ID", Fit::Whole), ("NAME", Fit::Cut), ("API", Fit::Whole), ("CREATED", Fit::Whole), ("API KEY", Fit::Whole)];
    table(out, &columns, &rows)
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
    let columns = [
        ("NAME", Fit::Cut),
        ("VERSION", Fit::Whole),
        ("STATE", Fit::Whole),
        ("CAPABILITIES", Fit::Cut),
        ("FILE", Fit::Cut),
        ("ERROR", Fit::Cut),
    ];
    table(out, &columns, &rows)
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
    let columns = [
        ("ID", Fit::Whole),
        ("KIND", Fit::Whole),
        ("STATE", Fit::Whole),
        ("STARTED (UTC)", Fit::Whole),
        ("IMPORTED", Fit::Whole),
        ("DUPLICATES", Fit::Whole),
        ("PATH", Fit::Cut),
    ];
    table(out, &columns, &rows)
}

/// `42 s`, `3 min 5 s`, `1 h 2 min`.
fn duration(seconds: i64) -> String {
    match seconds {
        ..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

pub(crate) fn import_report(out: &mut impl Write, run: &ImportRun) -> io::Result<()> {
    let state = format!("{:?}", run.state).to_lowercase();
    writeln!(out, "import {} ({}) {state}: {}", run.id, run.kind.as_str(), run.path)?;
    let unit = if run.kind.is_adapter() { "pages" } else { "files" };
    writeln!(out, "  {:<13}{} of {}", format!("{unit}:"), run.files_done, run.files_total)?;
    writeln!(out, "  records:     {}", run.records)?;
    if let Some(finished) = run.finished_at {
        let elapsed = finished.saturating_sub(run.started_at).max(0);
        writeln!(out, "  elapsed:     {}", duration(elapsed))?;
    }
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
        writeln!(out, "  (running; follow it with `musiquectl imports follow {}`)", run.id)?;
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
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:30}] {percent:>3}% ~{eta} left  {msg}")
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
    let seconds = bar.elapsed().as_secs_f64();
    let rate = if seconds >= 1.0 { format!("  {:.0} records/s", run.records as f64 / seconds) } else { String::new() };
    bar.set_message(format!(
        "{unit} {}/{}  imported {}  duplicates {}{rate}",
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
        Event::ZonePlayback { source, playback } => writeln!(out, "{} [{source}]", playback_line(playback)),
        Event::Lagged { missed } => writeln!(out, "lagged: {missed} events missed (this terminal was too slow)"),
        Event::Unknown => writeln!(out, "unknown: (an event this musiquectl does not know; --json shows it)"),
    }
}

/// `m:ss` of milliseconds.
fn clock_time(ms: u64) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn play_state(state: PlayState) -> &'static str {
    match state {
        PlayState::Playing => "playing",
        PlayState::Paused => "paused",
        PlayState::Loading => "loading",
        PlayState::Stopped => "stopped",
        PlayState::Unknown => "?",
    }
}

/// What a zone plays, on one line: `Living Room: playing Neil Young – Heart of Gold (Harvest) 1:02/3:07`.
pub(crate) fn playback_line(playback: &Playback) -> String {
    let state = play_state(playback.state);
    match &playback.track {
        None => format!("{}: {state}, nothing loaded", playback.zone),
        Some(track) => format!("{}: {state} {}", playback.zone, track_line(track, playback.position_ms)),
    }
}

fn track_line(track: &PlayingTrack, position_ms: Option<u64>) -> String {
    let mut line = format!("{} – {}", track.artist, track.title);
    if let Some(station) = &track.radio {
        line.push_str(&format!(" (radio: {station})"));
    } else if let Some(album) = &track.album {
        line.push_str(&format!(" ({album})"));
    }
    match (position_ms, track.length_ms) {
        (Some(position), Some(length)) => line.push_str(&format!(" {}/{}", clock_time(position), clock_time(length))),
        (Some(position), None) => line.push_str(&format!(" {}", clock_time(position))),
        _ => {}
    }
    line
}

pub(crate) fn roon_status(out: &mut impl Write, status: &PlayerStatus) -> io::Result<()> {
    let state = match status.state {
        ConnectionState::Discovering => "discovering",
        ConnectionState::Connecting => "connecting",
        ConnectionState::WaitingApproval => "waiting for approval",
        ConnectionState::Connected => "connected",
        ConnectionState::Disconnected => "disconnected",
        ConnectionState::Unknown => "?",
    };
    writeln!(out, "roon: {state}")?;
    if !status.message.is_empty() {
        writeln!(out, "  {}", status.message)?;
    }
    if let Some(core) = &status.core {
        let version = core.version.as_deref().map(|version| format!(" {version}")).unwrap_or_default();
        let address = core.address.as_deref().map(|address| format!(" at {address}")).unwrap_or_default();
        writeln!(out, "  core:  {}{version}{address} ({})", core.name, core.id)?;
    }
    writeln!(out, "  zones: {}", status.zones)
}

pub(crate) fn zones(out: &mut impl Write, zones: &[Zone]) -> io::Result<()> {
    if zones.is_empty() {
        return writeln!(out, "no zones (is Roon connected? see `musiquectl roon status`)");
    }
    let rows: Vec<Vec<String>> = zones
        .iter()
        .map(|zone| {
            let volume = zone
                .outputs
                .iter()
                .filter_map(|output| output.volume.as_ref())
                .map(|volume| match (volume.muted, volume.value) {
                    (true, _) => "muted".to_owned(),
                    (false, Some(value)) => format!("{value}"),
                    (false, None) => "-".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let outputs = zone.outputs.iter().map(|output| output.name.as_str()).collect::<Vec<_>>().join(" + ");
            let now = zone.track.as_ref().map(|track| track_line(track, zone.position_ms)).unwrap_or_default();
            vec![zone.name.clone(), play_state(zone.state).to_owned(), volume, outputs, now]
        })
        .collect();
    table(
        out,
        &[
            ("ZONE", Fit::Cut),
            ("STATE", Fit::Whole),
            ("VOLUME", Fit::Whole),
            ("OUTPUTS", Fit::Cut),
            ("NOW PLAYING", Fit::Cut),
        ],
        &rows,
    )
}

pub(crate) fn play_outcome(out: &mut impl Write, outcome: &PlayOutcome) -> io::Result<()> {
    if !outcome.choices.is_empty() {
        writeln!(out, "several match; pick one with --choice N:")?;
        for (index, choice) in outcome.choices.iter().enumerate() {
            writeln!(out, "  {index}  {choice}")?;
        }
        return Ok(());
    }
    match &outcome.title {
        Some(title) => writeln!(out, "playing {title}")?,
        None => writeln!(out, "playing")?,
    }
    if outcome.queued > 0 {
        writeln!(out, "  {} more queued", outcome.queued)?;
    }
    for missing in &outcome.missing {
        writeln!(out, "  not in Roon's library: {missing}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use jsonrpsee::core::ClientError;
    use jsonrpsee::types::ErrorObjectOwned;
    use musique_api::error_code;

    use super::{Fit, Layout, error, layout_table};

    /// Terminal columns taken by `text`: two for the wide Chinese, Japanese and Korean
    /// characters these tests use, one for every other character.
    fn display_width(text: &str) -> usize {
        text.chars()
            .map(|character| {
                let wide =
                    ('\u{2e80}'..='\u{a4cf}').contains(&character) || ('\u{ac00}'..='\u{d7a3}').contains(&character);
                if wide { 2 } else { 1 }
            })
            .sum()
    }

    const COLUMNS: [(&str, Fit); 3] = [("WHEN", Fit::Whole), ("ARTIST", Fit::Cut), ("TRACK", Fit::Cut)];

    fn rows() -> Vec<Vec<String>> {
        [
            ["2024-05-23 06:49", "坂本龍一", "戦場のメリークリスマス"],
            ["2024-05-23 06:53", "아이유", "밤편지"],
            ["2024-05-23 06:58", "Earth, Wind & Fire", "September"],
        ]
        .iter()
        .map(|row| row.iter().map(|cell| (*cell).to_owned()).collect())
        .collect()
    }

    fn lines(width: Option<u16>, header: bool, at_least: &[u16]) -> (Vec<String>, Vec<u16>) {
        layout_table(&COLUMNS, &rows(), &Layout { width, header, at_least })
    }

    /// The display column where `text` starts on `line`.
    fn column(line: &str, text: &str) -> usize {
        display_width(&line[..line.find(text).unwrap_or_else(|| panic!("{text} in {line:?}"))])
    }

    #[test]
    fn columns_line_up_in_display_width() {
        let (lines, widths) = lines(None, true, &[]);
        assert_eq!(lines[0], "WHEN              ARTIST              TRACK");
        let track = column(&lines[0], "TRACK");
        for (line, name) in lines[1..].iter().zip(["戦場", "밤편지", "September"]) {
            assert_eq!(column(line, name), track, "{lines:#?}");
        }
        // 坂本龍一 takes 8 columns, 戦場のメリークリスマス 22.
        assert_eq!(widths, [16, 18, 22]);
    }

    #[test]
    fn a_narrow_terminal_cuts_names_with_an_ellipsis_and_keeps_times_whole() {
        let (lines, _) = lines(Some(36), true, &[]);
        for line in &lines {
            assert!(display_width(line) <= 36, "{line:?} is {} wide", display_width(line));
        }
        assert_eq!(lines[3], "2024-05-23 06:58  Earth, …  Septemb…");
        assert!(lines[1].contains('…') && lines[3].contains('…'), "{lines:#?}");
        assert_eq!(column(&lines[1], "戦"), column(&lines[0], "TRACK"), "{lines:#?}");
    }

    #[test]
    fn later_pages_keep_the_columns_of_earlier_ones() {
        let (_, widths) = lines(None, true, &[]);
        let page = vec![vec!["2024-05-24 07:00".to_owned(), "Can".to_owned(), "Vitamin C".to_owned()]];
        let (later, _) = layout_table(&COLUMNS, &page, &Layout { width: None, header: false, at_least: &widths });
        assert_eq!(later, ["2024-05-24 07:00  Can                 Vitamin C"]);
    }

    fn call(code: i32, message: &str, data: Option<serde_json::Value>) -> String {
        error(&anyhow::Error::from(ClientError::Call(ErrorObjectOwned::owned(code, message, data))))
    }

    #[test]
    fn errors_are_one_sentence() {
        assert_eq!(call(error_code::NOT_FOUND, "no credential \"x\"", None), "no credential \"x\"");
        assert_eq!(
            call(error_code::UNAVAILABLE, "Last.fm answered 503 (try again later)", None),
            "Last.fm answered 503; try again later"
        );
        let retry = Some(serde_json::json!({"retry_after_ms": 29_001}));
        assert_eq!(
            call(error_code::UNAVAILABLE, "Last.fm asks to slow down (try again later)", retry),
            "Last.fm asks to slow down; try again in 30 s"
        );
        let closed = ClientError::RestartNeeded(std::sync::Arc::new(ClientError::Custom("closed".into())));
        let closed = error(&anyhow::Error::from(closed).context("cannot subscribe to events"));
        assert!(closed.starts_with("cannot subscribe to events: musiqued is not running any more"), "{closed}");
        assert!(closed.contains("start it with `musiqued`"), "{closed}");
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let wrapped = anyhow::Error::from(io).context("cannot connect to /run/s.sock: permission denied");
        assert_eq!(error(&wrapped), "cannot connect to /run/s.sock: permission denied", "each cause once");
    }
}
