//! `musiquectl`: the command line for musiqued.
//!
//! Every command connects to the daemon socket, checks the API version with
//! `daemon.hello`, calls one method and prints the answer: a table for
//! people, or JSON with `--json` (only machine output goes to stdout).
//! Exit codes: 0 ok, 1 failure, 2 usage.

mod output;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use jsonrpsee::async_client::Client;
use jsonrpsee::core::client::Subscription;
use musique_api::client::{ConnectError, connect};
use musique_api::{
    CURRENT_API_VERSION, EntityKind, Event, FetchMode, ImportKind, ImportOptions, ImportRun, ImportState,
    MusiqueApiClient, Period, TimeArg, TokenApi,
};

/// musiquectl: talk to the musique daemon.
#[derive(Debug, Parser)]
#[command(name = "musiquectl", version, about)]
struct Args {
    /// Daemon socket (default: $MUSIQUE_SOCKET, else the configured or XDG default).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Counts, sizes, index lag and components of the running daemon.
    Status,
    /// Import an export file, folder or zip, or history from an adapter's service
    /// (`import lastfm`: what is new since the last import, or --full, --since, --from/--to),
    /// with a live progress bar.
    Import {
        /// The export's format, or `lastfm` for the Last.fm API.
        kind: ImportKindArg,
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
    },
    /// Import runs, newest first.
    Imports {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Listens, newest first.
    Listens {
        #[command(flatten)]
        range: RangeArgs,
        /// How many (at most 1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Search artists, albums and tracks (typos and accents are fine).
    Search {
        /// What to look for.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Only these kinds.
        #[arg(long, value_enum)]
        kind: Vec<KindArg>,
        /// How many results.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The most played artists, albums or tracks.
    Top {
        /// What to rank.
        what: TopArg,
        /// A period ending today (UTC): day, week, month (30 days), year (365 days) or all.
        #[arg(long, value_enum, conflicts_with_all = ["from", "to"])]
        period: Option<PeriodArg>,
        #[command(flatten)]
        range: RangeArgs,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Rebuild the search index from the store.
    Reindex,
    /// Live trackers: start, stop or show (the default) an adapter's tracker.
    Tracker {
        /// What to do.
        #[arg(value_enum, default_value = "status")]
        action: TrackerAction,
        /// The adapter (default: lastfm; all for `status`).
        adapter: Option<String>,
    },
    /// Credentials for scrobblers posting to musiqued's ListenBrainz and Last.fm
    /// endpoints (see docs/scrobbling.md).
    Tokens {
        #[command(subcommand)]
        action: TokensAction,
    },
    /// Last.fm: sign in (for loving tracks).
    Lastfm {
        #[command(subcommand)]
        action: LastfmAction,
    },
    /// Love a track (also on Last.fm).
    Love {
        /// The artist.
        artist: String,
        /// The track.
        track: String,
    },
    /// Unlove a track (also on Last.fm).
    Unlove {
        /// The artist.
        artist: String,
        /// The track.
        track: String,
    },
    /// Images and summary of an artist, or of an album with `--album` (cached; --refresh fetches again).
    Enrich {
        /// The artist.
        artist: String,
        /// An album of that artist.
        #[arg(long)]
        album: Option<String>,
        /// Fetch again even when the cached answer is fresh.
        #[arg(long)]
        refresh: bool,
    },
    /// Drop-in plugins: list them (the default), rescan the plugins directory, or disable/enable one.
    Plugins {
        #[command(subcommand)]
        action: Option<PluginsAction>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TrackerAction {
    Start,
    Stop,
    Status,
}

#[derive(Debug, Subcommand)]
enum TokensAction {
    /// Issue a credential; its secret is printed this once (the daemon keeps only a hash).
    Create {
        /// A name for the client, such as `navidrome`: also the source of the listens
        /// it submits (a-z, 0-9, '-', '_', '.').
        name: String,
        /// Which API the client speaks.
        #[arg(long, value_enum, default_value = "listenbrainz")]
        api: TokenApiArg,
    },
    /// Every live credential (never the secrets).
    List,
    /// Revoke a credential by id or name; its next request is refused.
    Revoke {
        /// The id or name.
        token: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TokenApiArg {
    /// A ListenBrainz user token.
    Listenbrainz,
    /// A Last.fm API key and shared secret.
    Lastfm,
}

#[derive(Debug, Subcommand)]
enum LastfmAction {
    /// Print the page to open, then wait until access is allowed there (up to 10 minutes).
    Login,
}

#[derive(Debug, Subcommand)]
enum PluginsAction {
    /// Every plugin file and its state.
    List,
    /// Rescan the plugins directory now.
    Reload,
    /// Stop a plugin until it is enabled again.
    Disable {
        /// The plugin's name.
        name: String,
    },
    /// Start a disabled plugin.
    Enable {
        /// The plugin's name.
        name: String,
    },
}

/// A time range, `[from, to)`.
#[derive(Debug, clap::Args)]
struct RangeArgs {
    /// From this time (unix seconds, RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    from: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    to: Option<String>,
}

impl RangeArgs {
    fn into_times(self) -> (Option<TimeArg>, Option<TimeArg>) {
        (self.from.map(TimeArg::Text), self.to.map(TimeArg::Text))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportKindArg {
    Spotify,
    LastfmCsv,
    Listenbrainz,
    /// The Last.fm API (needs `[adapters.lastfm]` with `api_key` and `user`).
    Lastfm,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Artist,
    Album,
    Track,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TopArg {
    Artists,
    Albums,
    Tracks,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PeriodArg {
    Day,
    Week,
    Month,
    Year,
    All,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("musiquectl: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(err) => {
            if err.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("musiquectl: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let socket = musique_config::client_socket_path(args.socket.as_deref());
    let client = match connect(&socket).await {
        Ok(client) => client,
        Err(ConnectError::NotRunning { socket }) => {
            bail!(
                "musiqued is not running (no daemon at {}); start it with `musiqued` \
                 or `systemctl --user start musiqued`",
                socket.display()
            );
        }
        Err(err) => return Err(err.into()),
    };
    let hello = client.hello().await.context("daemon.hello failed")?;
    if hello.api_version != CURRENT_API_VERSION {
        bail!(
            "musiqued {} speaks API version {}, this musiquectl speaks {}; use matching versions",
            hello.daemon_version,
            hello.api_version,
            CURRENT_API_VERSION
        );
    }
    let json = args.json;

    let mut out = std::io::stdout().lock();
    match args.command {
        Command::Status => {
            let status = client.status().await?;
            if json { output::json(&mut out, &status)? } else { output::status(&mut out, &status)? }
        }
        Command::Import { kind, path, full, since, range, min_play_ms, include_incognito, no_wait } => {
            let mut events: Subscription<Event> =
                client.events_subscribe().await.context("cannot subscribe to events")?;
            let started = match (kind, path) {
                (ImportKindArg::Lastfm, Some(path)) => {
                    bail!(
                        "`import lastfm` reads the Last.fm API, not a file ({}); for a CSV export use `import lastfm-csv`",
                        path.display()
                    )
                }
                (ImportKindArg::Lastfm, None) => {
                    let (mode, from, to) = match (full, since, range.into_times()) {
                        (true, _, _) => (FetchMode::Full, None, None),
                        (false, Some(since), _) => (FetchMode::Range, Some(TimeArg::Text(since)), None),
                        (false, None, (None, None)) => (FetchMode::Incremental, None, None),
                        (false, None, (from, to)) => (FetchMode::Range, from, to),
                    };
                    client.imports_fetch("lastfm".to_owned(), mode, from, to).await?
                }
                (_, None) => bail!("give the export's path"),
                (kind, Some(path)) => {
                    if full || since.is_some() || range.from.is_some() || range.to.is_some() {
                        bail!("--full, --since, --from and --to are for `import lastfm`");
                    }
                    let kind = match kind {
                        ImportKindArg::Spotify => ImportKind::Spotify,
                        ImportKindArg::LastfmCsv => ImportKind::LastfmCsv,
                        _ => ImportKind::Listenbrainz,
                    };
                    let path = std::path::absolute(&path).with_context(|| format!("bad path {}", path.display()))?;
                    let options = ImportOptions { min_play_ms, include_incognito: include_incognito.then_some(true) };
                    client.imports_start(kind, path.display().to_string(), Some(options)).await?
                }
            };
            let run = follow(&client, &mut events, started, no_wait, json).await?;
            if json {
                output::json(&mut out, &run)?
            } else {
                output::import_report(&mut out, &run)?
            }
            let failed = run.state == ImportState::Failed || !run.file_errors.is_empty();
            return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
        Command::Imports { limit } => {
            let runs = client.imports_list(Some(limit)).await?;
            if json { output::json(&mut out, &runs)? } else { output::import_runs(&mut out, &runs)? }
        }
        Command::Listens { range, limit } => {
            let (from, to) = range.into_times();
            let page = client.listens_list(from, to, Some(limit), None).await?;
            if json { output::json(&mut out, &page)? } else { output::listens(&mut out, &page.listens)? }
        }
        Command::Search { query, kind, limit } => {
            let kinds = (!kind.is_empty()).then(|| {
                kind.into_iter()
                    .map(|kind| match kind {
                        KindArg::Artist => EntityKind::Artist,
                        KindArg::Album => EntityKind::Album,
                        KindArg::Track => EntityKind::Track,
                    })
                    .collect()
            });
            let results = client.search(query.join(" "), kinds, Some(limit)).await?;
            if json { output::json(&mut out, &results)? } else { output::search(&mut out, &results.hits)? }
        }
        Command::Top { what, period, range, limit } => {
            let kind = match what {
                TopArg::Artists => EntityKind::Artist,
                TopArg::Albums => EntityKind::Album,
                TopArg::Tracks => EntityKind::Track,
            };
            let period = period.map(|period| match period {
                PeriodArg::Day => Period::Day,
                PeriodArg::Week => Period::Week,
                PeriodArg::Month => Period::Month,
                PeriodArg::Year => Period::Year,
                PeriodArg::All => Period::All,
            });
            let (from, to) = range.into_times();
            let top = client.stats_top(kind, period, from, to, Some(limit)).await?;
            if json { output::json(&mut out, &top)? } else { output::top(&mut out, &top)? }
        }
        Command::Plugins { action } => {
            let plugins = match action.unwrap_or(PluginsAction::List) {
                PluginsAction::List => client.plugins_list().await?,
                PluginsAction::Reload => client.plugins_reload().await?,
                PluginsAction::Disable { name } => client.plugins_disable(name).await?,
                PluginsAction::Enable { name } => client.plugins_enable(name).await?,
            };
            if json { output::json(&mut out, &plugins)? } else { output::plugins(&mut out, &plugins)? }
        }
        Command::Tracker { action, adapter } => {
            let trackers = match action {
                TrackerAction::Start => vec![client.trackers_start(adapter.unwrap_or_else(|| "lastfm".into())).await?],
                TrackerAction::Stop => client.trackers_stop(adapter.unwrap_or_else(|| "lastfm".into())).await?,
                TrackerAction::Status => client.trackers_status(adapter).await?,
            };
            if json { output::json(&mut out, &trackers)? } else { output::trackers(&mut out, &trackers)? }
        }
        Command::Lastfm { action: LastfmAction::Login } => {
            let begun = client.auth_begin("lastfm".to_owned()).await?;
            eprintln!("Open this page and allow musique to use your Last.fm account:\n\n  {}\n", begun.url);
            eprintln!("Waiting for Last.fm (Ctrl-C to give up)…");
            let deadline = std::time::Instant::now() + Duration::from_secs(600);
            let status = loop {
                let status = client.auth_complete("lastfm".to_owned(), begun.token.clone()).await?;
                if status.done || std::time::Instant::now() > deadline {
                    break status;
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            };
            if json {
                output::json(&mut out, &status)?
            } else if status.done {
                writeln!(out, "signed in to Last.fm as {}", status.user.as_deref().unwrap_or("?"))?
            } else {
                bail!("access was not allowed within 10 minutes; run `musiquectl lastfm login` again");
            }
        }
        Command::Tokens { action } => match action {
            TokensAction::Create { name, api } => {
                let api = match api {
                    TokenApiArg::Listenbrainz => TokenApi::Listenbrainz,
                    TokenApiArg::Lastfm => TokenApi::Lastfm,
                };
                let token = client.tokens_create(name, api).await?;
                let url = client.status().await?.http;
                if json {
                    output::json(&mut out, &token)?
                } else {
                    output::new_token(&mut out, &token, url.as_deref())?
                }
            }
            TokensAction::List => {
                let tokens = client.tokens_list().await?;
                if json { output::json(&mut out, &tokens)? } else { output::tokens(&mut out, &tokens)? }
            }
            TokensAction::Revoke { token } => {
                let revoked = client.tokens_revoke(token).await?;
                if json {
                    output::json(&mut out, &revoked)?
                } else {
                    writeln!(out, "revoked {} (id {})", revoked.name, revoked.id)?
                }
            }
        },
        Command::Love { artist, track } => love(&client, &mut out, artist, track, true, json).await?,
        Command::Unlove { artist, track } => love(&client, &mut out, artist, track, false, json).await?,
        Command::Enrich { artist, album, refresh } => {
            let info = client.enrich_run(artist, album, Some(refresh)).await?;
            if json { output::json(&mut out, &info)? } else { output::enrichment(&mut out, &info)? }
        }
        Command::Reindex => {
            let report = client.index_rebuild().await?;
            if json {
                output::json(&mut out, &report)?
            } else {
                writeln!(out, "search index rebuilt: {} documents in {} ms", report.documents, report.elapsed_ms)?
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Loves or unloves a track and says so.
async fn love(
    client: &Client,
    out: &mut impl Write,
    artist: String,
    track: String,
    loved: bool,
    json: bool,
) -> anyhow::Result<()> {
    let report = client.tracks_love(artist, track, loved, None).await?;
    if json {
        output::json(out, &report)?
    } else {
        let verb = if report.loved { "loved" } else { "unloved" };
        writeln!(out, "{verb} {} – {} (also on {})", report.artist, report.track, report.adapter)?
    }
    Ok(())
}

/// Follows a started import to its end through the event subscription.
async fn follow(
    client: &Client,
    events: &mut Subscription<Event>,
    run: ImportRun,
    no_wait: bool,
    json: bool,
) -> anyhow::Result<ImportRun> {
    if no_wait || run.state != ImportState::Running {
        return Ok(run);
    }
    let bar = output::progress_bar(&run, json);
    let mut poll = tokio::time::interval(Duration::from_secs(2));
    let mut current = run;
    loop {
        tokio::select! {
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
