//! `musiquectl collection`: the records owned, synced from a collection adapter
//! (Discogs): `sync` with a progress bar, `list` as a table, `show` one record.

use std::io::Write;
use std::process::ExitCode;

use musique_api::{CollectionSort, ImportRun, ImportState, MusiqueApiClient, OwnedRecordDetails};

use super::Session;
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
        /// Words in the title, artist, label or catalogue number.
        #[arg(long, short)]
        query: Option<String>,
        /// How to sort.
        #[arg(long, value_enum, default_value_t = SortArg::Artist)]
        sort: SortArg,
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
                let sort = match sort {
                    SortArg::Artist => CollectionSort::Artist,
                    SortArg::Title => CollectionSort::Title,
                    SortArg::Year => CollectionSort::Year,
                    SortArg::Added => CollectionSort::Added,
                };
                let page = client.collection_list(folder, query, Some(sort), Some(limit), cursor).await?;
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
                            item.formats.first().cloned().unwrap_or_default(),
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
        ("format", item.formats.join("; ")),
        ("label", item.labels.join("; ")),
        ("genre", item.genres.iter().chain(&item.styles).cloned().collect::<Vec<_>>().join(", ")),
        ("folder", item.folder.clone().unwrap_or_else(|| item.folder_id.to_string())),
        ("added", output::when(item.added_at).chars().take(10).collect()),
    ];
    if item.rating > 0 {
        facts.push(("rating", format!("{}/5", item.rating)));
    }
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
