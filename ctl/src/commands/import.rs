//! `musiquectl import`: an export file, folder or zip, or the history of an
//! adapter (Last.fm, or any plugin that can import history), followed to its
//! end with a progress bar.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use jsonrpsee::async_client::Client;
use jsonrpsee::core::client::Subscription;
use musique_api::{
    Event, Feature, FetchMode, ImportKind, ImportOptions, ImportRun, ImportState, MusiqueApiClient, RunKind, TimeArg,
};

use super::{RangeArgs, Session};
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Import {
    /// The export's format (spotify, lastfm-csv, lastfm-json, listenbrainz, maloja, koito,
    /// scrobbler-log; leave it out to let musiqued tell it by content), or the adapter to fetch
    /// history from: lastfm (needs `[adapters.lastfm]` with `api_key` and `user`) or the name of
    /// a plugin that can import history (see `musiquectl plugins`).
    kind: String,
    /// The file, folder or zip (export formats only).
    path: Option<PathBuf>,
    /// The whole history (adapter imports).
    #[arg(long, conflicts_with_all = ["since", "from", "to"])]
    full: bool,
    /// From this date on (adapter imports; YYYY-MM-DD, RFC 3339 or unix seconds, UTC).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    since: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// Plays shorter than this many milliseconds are skipped (Spotify).
    #[arg(long)]
    min_play_ms: Option<u64>,
    /// Keep plays from private sessions (Spotify).
    #[arg(long)]
    include_incognito: bool,
    /// Start the import and return at once.
    #[arg(long)]
    no_wait: bool,
}

/// The adapter whose name is easily confused with an export format (`lastfm-csv`).
const LASTFM: &str = "lastfm";

/// How often a followed import's status is read, in case events were missed.
const STATUS_POLL: Duration = Duration::from_secs(2);

/// What to import, once the arguments make sense together.
enum Source {
    /// The history of this adapter.
    Adapter(String),
    /// An export file, folder or zip of this format.
    File(ImportKind, PathBuf),
}

impl Import {
    /// Mistakes seen without the daemon: a path where none belongs or none where one
    /// does, adapter options for a file, a range that ends before it starts.
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.source()?;
        self.range.check()
    }

    /// What the arguments ask to import.
    fn source(&self) -> Result<Source, String> {
        let ranged = self.full || self.since.is_some() || self.range.from.is_some() || self.range.to.is_some();
        // `import FILE`: a path alone is an export whose format musiqued tells by content.
        if self.path.is_none() && looks_like_path(&self.kind) {
            if ranged {
                return Err(
                    "--full, --since, --from and --to are for adapter imports (such as `import lastfm`)".to_owned()
                );
            }
            return Ok(Source::File(ImportKind::Auto, PathBuf::from(&self.kind)));
        }
        match (RunKind::from_name(&self.kind), &self.path) {
            (RunKind::Adapter(adapter), Some(path)) if adapter == LASTFM => Err(format!(
                "`import lastfm` reads the Last.fm API, not a file; for a CSV export use `musiquectl import lastfm-csv {}`",
                path.display()
            )),
            (RunKind::Adapter(adapter), Some(_)) => Err(format!(
                "`{adapter}` is not an export format (spotify, lastfm-csv, lastfm-json, listenbrainz, maloja, \
                 koito, scrobbler-log, auto); an adapter's history is imported without a PATH"
            )),
            (RunKind::Adapter(adapter), None) => Ok(Source::Adapter(adapter)),
            (RunKind::File(kind), None) => Err(format!(
                "give the export's path, such as `musiquectl import {} ~/Downloads/export.zip`",
                kind.as_str()
            )),
            (RunKind::File(_), Some(_)) if ranged => {
                Err("--full, --since, --from and --to are for adapter imports (such as `import lastfm`)".to_owned())
            }
            (RunKind::File(kind), Some(path)) => Ok(Source::File(kind, path.clone())),
        }
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        // Checked before connecting (`check_usage`); this only unpacks.
        let source = self.source().map_err(anyhow::Error::msg)?;
        session.require(Feature::Events)?;
        // Ctrl-C is caught before the import starts, so it never kills musiquectl mid-way.
        let mut interrupt = interrupt_signal()?;
        let mut events: Subscription<Event> = client.events_subscribe().await.context("cannot subscribe to events")?;
        let started = match source {
            Source::Adapter(adapter) => {
                session.require(Feature::Adapters)?;
                let (mode, from, to) = match (self.full, self.since, self.range.into_times()) {
                    (true, _, _) => (FetchMode::Full, None, None),
                    (false, Some(since), _) => (FetchMode::Range, Some(TimeArg::Text(since)), None),
                    (false, None, (None, None)) => (FetchMode::Incremental, None, None),
                    (false, None, (from, to)) => (FetchMode::Range, from, to),
                };
                client.imports_fetch(adapter, mode, from, to).await?
            }
            Source::File(kind, path) => {
                session.require(Feature::Imports)?;
                let path = normalised(&path).with_context(|| format!("cannot resolve the path {}", path.display()))?;
                let options = ImportOptions {
                    min_play_ms: self.min_play_ms,
                    include_incognito: self.include_incognito.then_some(true),
                };
                client.imports_start(kind, path.display().to_string(), Some(options)).await?
            }
        };
        let run = follow(client, &mut events, &mut interrupt, started, self.no_wait, session.json).await?;
        if session.json {
            output::json(out, &run)?
        } else {
            output::import_report(out, &run)?
        }
        let failed = run.state == ImportState::Failed || !run.file_errors.is_empty();
        Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

/// Whether a lone argument of `import` is a path rather than an adapter's name: it
/// exists, or it is written as a path (adapter names have no `/`).
fn looks_like_path(argument: &str) -> bool {
    Path::new(argument).exists() || argument.contains('/')
}

/// Ctrl-C, as a stream (catching it from now on).
pub(crate) fn interrupt_signal() -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).context("cannot catch Ctrl-C")
}

/// The path as musiqued is to read it and as runs show it: absolute, with `.` and `..`
/// resolved (and links followed, when it exists; otherwise resolved by name, so the
/// daemon's "cannot read" names the path the user meant).
fn normalised(path: &Path) -> std::io::Result<PathBuf> {
    if let Ok(path) = std::fs::canonicalize(path) {
        return Ok(path);
    }
    let mut normalised = PathBuf::new();
    for component in std::path::absolute(path)?.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalised.pop();
            }
            component => normalised.push(component),
        }
    }
    Ok(normalised)
}

/// Follows a started import to its end through the event subscription. Ctrl-C
/// stops following, not the import: it says so, and how to follow or cancel it.
pub(crate) async fn follow(
    client: &Client,
    events: &mut Subscription<Event>,
    interrupt: &mut tokio::signal::unix::Signal,
    run: ImportRun,
    no_wait: bool,
    json: bool,
) -> anyhow::Result<ImportRun> {
    if no_wait || run.state != ImportState::Running {
        return Ok(run);
    }
    let bar = output::progress_bar(&run, json);
    let mut poll = tokio::time::interval(STATUS_POLL);
    let mut current = run;
    loop {
        tokio::select! {
            _ = interrupt.recv() => {
                bar.finish_and_clear();
                let id = current.id;
                bail!(
                    "stopped following import {id}; it goes on in musiqued: `musiquectl imports follow {id}` \
                     follows it again, `musiquectl imports cancel {id}` stops it"
                );
            }
            event = events.next() => match event {
                Some(Ok(Event::ImportProgress { run })) if run.id == current.id => current = run,
                Some(Ok(Event::ImportFinished { run })) if run.id == current.id => {
                    current = run;
                    break;
                }
                Some(_) => {}
                None => bail!("the daemon closed the connection during the import (it resumes when started again)"),
            },
            _ = poll.tick() => {
                // Events can be missed by a slow terminal; the status is the truth.
                current = client.imports_status(current.id).await?;
                if current.state != ImportState::Running {
                    break;
                }
            }
        }
        output::update_progress(&bar, &current);
    }
    bar.finish_and_clear();
    Ok(current)
}
