//! `musiquectl collection`: the records owned, synced from a collection adapter
//! (Discogs): `sync` with a progress bar, `list` as a table, `show` one record.

use std::io::Write;
use std::process::ExitCode;

use musique_api::{
    CollectionSort, ExportFormat, ImportRun, ImportState, MusiqueApiClient, OwnedItem, OwnedRecordDetails,
};

use super::{PeriodArgs, Session};
use crate::output::{self, Fit};

#[derive(Debug, clap::Args)]
pub(crate) struct Collection {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Syncs the collection: every record, then the details of releases not stored yet.
    Sync {
        /// The collection adapter (default: the only one running).
        #[arg(long)]
        adapter: Option<String>,
        /// Fetch every release's details again.
        #[arg(long)]
        full: bool,
        /// Start the sync and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// The records owned, as a table.
    List {
        /// Only this folder (its id).
        #[arg(long)]
        folder: Option<u64>,
        /// Words to find in the title, artists, labels, catalogue numbers, genres, styles or year
        /// (any case or accents, a typo allowed; best match first).
        #[arg(long, short)]
        query: Option<String>,
        /// How to sort (default: best match first with --query, else by artist).
        #[arg(long, value_enum)]
        sort: Option<SortArg>,
        /// How many records.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Where the previous page ended (its `next_cursor`).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One record with its release's tracklist and credits.
    Show {
        /// The record's id (see `musiquectl collection list`).
        id: u64,
    },
    /// The collection against your listens: coverage, formats, decades, most played, forgotten favourites.
    Stats {
        #[command(flatten)]
        period: PeriodArgs,
        /// Forgotten: played a lot, but not for this many months.
        #[arg(long, default_value_t = 12)]
        forgotten_months: u32,
        /// Records in each list.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Records you own and never played (from any source), or not in a period.
    Unplayed {
        #[command(flatten)]
        period: PeriodArgs,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Records not played for some months (never played included).
    Dusty {
        /// How many months.
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Albums you play most and do not own.
    Missing {
        #[command(flatten)]
        period: PeriodArgs,
        /// At least this many plays.
        #[arg(long, default_value_t = 5)]
        min_plays: u64,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// A record at random; the same one does not come again in a session until all have.
    Random {
        /// A format: vinyl, LP, CD, cassette, …
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        genre: Option<String>,
        #[arg(long)]
        style: Option<String>,
        /// A decade's first year (1970).
        #[arg(long)]
        decade: Option<i32>,
        /// A folder's id.
        #[arg(long)]
        folder: Option<u64>,
        /// Not played for this many months.
        #[arg(long)]
        unplayed_months: Option<u32>,
        /// The session (default: one per user of this machine).
        #[arg(long)]
        session: Option<String>,
    },
    /// Writes the collection to a file: Markdown, JSON or CSV (told by the extension, or --format).
    Export {
        /// The file to write (replaced whole).
        path: std::path::PathBuf,
        /// markdown, json or csv (default: by the file's extension).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
    /// Says which album of your listens a record is (or that none is, or back to automatic).
    Link {
        /// The record's id.
        id: u64,
        /// The artist, as your listens name it.
        artist: Option<String>,
        /// The album, as your listens name it.
        album: Option<String>,
        /// No album of your listens is this record.
        #[arg(long, conflicts_with_all = ["artist", "album", "auto"])]
        none: bool,
        /// Back to the automatic link.
        #[arg(long, conflicts_with_all = ["artist", "album"])]
        auto: bool,
    },
}

/// `collection list --sort`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SortArg {
    /// By artist, then year.
    Artist,
    Title,
    /// By year, unknown last.
    Year,
    /// Newest addition first.
    Added,
}

/// `collection export --format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Markdown,
    Json,
    Csv,
}

impl Collection {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        match self.action {
            Action::Sync { adapter, full, no_wait } => {
                let mut interrupt = super::import::interrupt_signal()?;
                let mut events = client.events_subscribe().await?;
                let started = client.collection_sync(adapter, Some(full)).await?;
                let run =
                    super::import::follow(client, &mut events, &mut interrupt, started, no_wait, session.json).await?;
                if session.json {
                    output::json(out, &run)?;
                } else {
                    sync_report(out, &run)?;
                }
                Ok(if run.state == ImportState::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
            }
            Action::List { folder, query, sort, limit, cursor } => {
                let sort = sort.map(|sort| match sort {
                    SortArg::Artist => CollectionSort::Artist,
                    SortArg::Title => CollectionSort::Title,
                    SortArg::Year => CollectionSort::Year,
                    SortArg::Added => CollectionSort::Added,
                });
                let page = client.collection_list(folder, query, sort, Some(limit), cursor).await?;
                if session.json {
                    output::json(out, &page)?;
                    return Ok(ExitCode::SUCCESS);
                }
                if page.items.is_empty() {
                    writeln!(out, "no records (`musiquectl collection sync` fetches them)")?;
                    return Ok(ExitCode::SUCCESS);
                }
                let columns = [
                    ("ID", Fit::Whole),
                    ("ARTIST", Fit::Cut),
                    ("TITLE", Fit::Cut),
                    ("YEAR", Fit::Whole),
                    ("FORMAT", Fit::Cut),
                    ("LABEL", Fit::Cut),
                ];
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|item| {
                        vec![
                            item.id.to_string(),
                            item.artist.clone(),
                            item.title.clone(),
                            item.year.map(|year| year.to_string()).unwrap_or_default(),
                            item.format.clone(),
                            item.labels.first().cloned().unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::fitted_table(out, &columns, &rows, output::terminal_width())?;
                let shown = page.items.len();
                match page.next_cursor {
                    Some(next) => writeln!(out, "{shown} of {} records; next page: --cursor {next}", page.total)?,
                    None => writeln!(out, "{} records", page.total)?,
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Stats { period, forgotten_months, limit } => {
                let PeriodArgs { range, year, month, week, day, tz } = period;
                let (from, to) = range.into_times();
                let stats = client
                    .collection_stats(from, to, year, month, week, day, tz, Some(forgotten_months), Some(limit))
                    .await?;
                if session.json {
                    output::json(out, &stats)?;
                    return Ok(ExitCode::SUCCESS);
                }
                writeln!(
                    out,
                    "{} records ({} releases), {} linked to your listens; {} played{} ({:.0}%)",
                    stats.records,
                    stats.releases,
                    stats.linked,
                    stats.played,
                    match (&stats.span.first_day, &stats.span.last_day) {
                        (Some(first), Some(last)) => format!(" from {first} to {last}"),
                        _ => String::new(),
                    },
                    stats.coverage * 100.0
                )?;
                let counts = |rows: &[musique_api::NameCount]| {
                    rows.iter().map(|row| format!("{} {}", row.name, row.count)).collect::<Vec<_>>().join(", ")
                };
                writeln!(out, "formats: {}", counts(&stats.formats))?;
                writeln!(out, "decades: {}", counts(&stats.decades))?;
                if !stats.most_played.is_empty() {
                    writeln!(out, "\nmost played")?;
                    records_table(out, &stats.most_played)?;
                }
                if !stats.forgotten.is_empty() {
                    writeln!(out, "\nforgotten favourites (not played for {forgotten_months} months)")?;
                    records_table(out, &stats.forgotten)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Unplayed { period, limit } => {
                let PeriodArgs { range, year, month, week, day, tz } = period;
                let (from, to) = range.into_times();
                let items = client.collection_unplayed(None, from, to, year, month, week, day, tz, Some(limit)).await?;
                show_records(out, session.json, &items, "every record you own has been played")
            }
            Action::Dusty { months, limit } => {
                let items = client
                    .collection_unplayed(Some(months), None, None, None, None, None, None, None, Some(limit))
                    .await?;
                show_records(out, session.json, &items, &format!("every record was played in the last {months} months"))
            }
            Action::Missing { period, min_plays, limit } => {
                let PeriodArgs { range, year, month, week, day, tz } = period;
                let (from, to) = range.into_times();
                let albums = client
                    .collection_missing(from, to, year, month, week, day, tz, Some(min_plays), Some(limit))
                    .await?;
                if session.json {
                    output::json(out, &albums)?;
                } else if albums.is_empty() {
                    writeln!(out, "you own every album you played {min_plays} times or more")?;
                } else {
                    let columns =
                        [("PLAYS", Fit::Whole), ("ARTIST", Fit::Cut), ("ALBUM", Fit::Cut), ("LAST PLAYED", Fit::Whole)];
                    let rows: Vec<Vec<String>> = albums
                        .iter()
                        .map(|album| {
                            vec![
                                album.plays.to_string(),
                                album.artist.clone(),
                                album.title.clone(),
                                date(album.last_played),
                            ]
                        })
                        .collect();
                    output::fitted_table(out, &columns, &rows, output::terminal_width())?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Random { format, genre, style, decade, folder, unplayed_months, session: name } => {
                let name = name.or_else(|| std::env::var("USER").ok()).unwrap_or_default();
                let picked =
                    client.collection_random(format, genre, style, decade, folder, unplayed_months, Some(name)).await?;
                match picked {
                    Some(item) if session.json => output::json(out, &item)?,
                    Some(item) => records_table(out, &[item])?,
                    None if session.json => output::json(out, &serde_json::Value::Null)?,
                    None => writeln!(out, "no record passes these filters")?,
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Export { path, format } => {
                let format = match format {
                    Some(FormatArg::Markdown) => ExportFormat::Markdown,
                    Some(FormatArg::Json) => ExportFormat::Json,
                    Some(FormatArg::Csv) => ExportFormat::Csv,
                    None => match path.extension().and_then(|extension| extension.to_str()) {
                        Some("md" | "markdown") => ExportFormat::Markdown,
                        Some("json") => ExportFormat::Json,
                        Some("csv") => ExportFormat::Csv,
                        _ => anyhow::bail!("say --format markdown, json or csv (the file's extension does not tell)"),
                    },
                };
                let path = std::path::absolute(&path)?;
                let written = client.collection_export(format, path.display().to_string()).await?;
                if session.json {
                    output::json(out, &written)?;
                } else {
                    writeln!(out, "wrote {} records to {} ({} bytes)", written.records, written.path, written.bytes)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Link { id, artist, album, none, auto } => {
                if !none && !auto && (artist.is_none() || album.is_none()) {
                    anyhow::bail!("give the ARTIST and ALBUM as your listens name them, or --none, or --auto");
                }
                let item =
                    client.collection_link(id, artist, album, none.then_some(true), auto.then_some(true)).await?;
                if session.json {
                    output::json(out, &item)?;
                } else {
                    let how = item.linked.as_deref().unwrap_or("not linked");
                    writeln!(out, "{} – {}: {how}, {} plays", item.artist, item.title, item.plays)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Show { id } => {
                let record = client.collection_get(id).await?;
                if session.json {
                    output::json(out, &record)?;
                } else {
                    show(out, &record)?;
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// A date, or nothing.
fn date(seconds: Option<i64>) -> String {
    seconds.map(|seconds| output::when(seconds).chars().take(10).collect()).unwrap_or_default()
}

/// Records as a table with their plays and last listen.
fn records_table(out: &mut impl Write, items: &[OwnedItem]) -> std::io::Result<()> {
    let columns = [
        ("ID", Fit::Whole),
        ("ARTIST", Fit::Cut),
        ("TITLE", Fit::Cut),
        ("FORMAT", Fit::Cut),
        ("PLAYS", Fit::Whole),
        ("LAST PLAYED", Fit::Whole),
    ];
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            vec![
                item.id.to_string(),
                item.artist.clone(),
                item.title.clone(),
                item.format.clone(),
                item.period_plays.unwrap_or(item.plays).to_string(),
                date(item.last_played),
            ]
        })
        .collect();
    output::fitted_table(out, &columns, &rows, output::terminal_width())
}

fn show_records(out: &mut impl Write, json: bool, items: &[OwnedItem], none: &str) -> anyhow::Result<ExitCode> {
    if json {
        output::json(out, &items)?;
    } else if items.is_empty() {
        writeln!(out, "{none}")?;
    } else {
        records_table(out, items)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What a sync did, in the collection's words.
fn sync_report(out: &mut impl Write, run: &ImportRun) -> std::io::Result<()> {
    let state = format!("{:?}", run.state).to_lowercase();
    writeln!(out, "sync {} {state}: {}", run.id, run.path)?;
    writeln!(out, "  records:   {} ({} new, {} already here)", run.records, run.imported, run.duplicates)?;
    writeln!(out, "  removed:   {}", run.skipped.get("removed").copied().unwrap_or(0))?;
    writeln!(out, "  releases:  {} of {} fetched", run.file_records_done, run.file_records_total)?;
    if run.rejected > 0 {
        writeln!(out, "  not found: {}", run.rejected)?;
        for sample in &run.rejected_samples {
            writeln!(out, "    {sample}")?;
        }
    }
    if run.resumed > 0 {
        writeln!(out, "  resumed:   {} time(s)", run.resumed)?;
    }
    if let Some(error) = &run.error {
        writeln!(out, "  error: {error}")?;
    }
    Ok(())
}

fn show(out: &mut impl Write, record: &OwnedRecordDetails) -> std::io::Result<()> {
    let item = &record.item;
    let year = item.year.map(|year| format!(" ({year})")).unwrap_or_default();
    writeln!(out, "{} – {}{year}", item.artist, item.title)?;
    let mut facts: Vec<(&str, String)> = vec![
        ("format", format!("{} ({})", item.format, item.formats.join("; "))),
        ("label", item.labels.join("; ")),
        ("genre", item.genres.iter().chain(&item.styles).cloned().collect::<Vec<_>>().join(", ")),
        ("folder", item.folder.clone().unwrap_or_else(|| item.folder_id.to_string())),
        ("added", output::when(item.added_at).chars().take(10).collect()),
    ];
    if item.rating > 0 {
        facts.push(("rating", format!("{}/5", item.rating)));
    }
    let played = match (item.album_id, item.last_played) {
        (Some(_), Some(_)) => format!("{} times, last on {}", item.plays, date(item.last_played)),
        (Some(_), None) => "never".to_owned(),
        (None, _) => "not linked to your listens (`musiquectl collection link`)".to_owned(),
    };
    facts.push(("played", played));
    for note in &item.notes {
        facts.push(("note", note.value.clone()));
    }
    if let Some(release) = &record.release {
        if let Some(country) = &release.country {
            facts.push(("country", country.clone()));
        }
        if let Some(released) = &release.released {
            facts.push(("released", released.clone()));
        }
    }
    for (name, value) in facts.into_iter().filter(|(_, value)| !value.is_empty()) {
        writeln!(out, "  {:<9} {value}", format!("{name}:"))?;
    }
    let Some(release) = &record.release else {
        return writeln!(out, "  (the release's details come with the next sync)");
    };
    writeln!(out)?;
    for track in &release.tracklist {
        let duration = |seconds: Option<u32>| {
            seconds.map(|seconds| format!("  {}:{:02}", seconds / 60, seconds % 60)).unwrap_or_default()
        };
        match track.kind.as_str() {
            "heading" => writeln!(out, "  {}", track.title)?,
            _ => writeln!(out, "  {:<5} {}{}", track.position, track.title, duration(track.duration_s))?,
        }
        for sub in &track.sub_tracks {
            writeln!(out, "    {:<5} {}{}", sub.position, sub.title, duration(sub.duration_s))?;
        }
    }
    if !release.credits.is_empty() {
        writeln!(out)?;
        for credit in &release.credits {
            let role = credit.role.as_deref().unwrap_or("");
            let tracks = credit.tracks.as_deref().map(|tracks| format!(" ({tracks})")).unwrap_or_default();
            writeln!(out, "  {role}: {}{tracks}", credit.name)?;
        }
    }
    Ok(())
}
