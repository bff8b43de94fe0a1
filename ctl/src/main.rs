//! `musiquectl`: the command line for musiqued.
//!
//! Every command connects to the daemon socket, checks the API version with
//! `daemon.hello`, calls the daemon and prints the answer: a table for
//! people, or JSON with `--json` (only machine output goes to stdout).
//! Each command lives in its own module under [`commands`], with its
//! arguments and one `run` function; this file parses, connects and dispatches.
//! Exit codes: 0 ok, 1 failure, 2 usage.

mod commands;
mod draw;
mod insights;
mod output;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};
use musique_api::client::{ConnectError, connect};
use musique_api::{CURRENT_API_VERSION, MusiqueApiClient};

use commands::Session;

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
    Status(commands::status::Status),
    /// Import an export file, folder or zip, or history from an adapter's service
    /// (`import lastfm` or `import <plugin>`: what is new since the last import, or --full, --since, --from/--to),
    /// with a live progress bar.
    Import(commands::import::Import),
    /// Import runs, newest first.
    Imports(commands::imports::Imports),
    /// The records you own, synced from Discogs: sync, list, show.
    Collection(commands::collection::Collection),
    /// Listens, newest first.
    Listens(commands::listens::Listens),
    /// Search artists, albums and tracks (typos and accents are fine).
    Search(commands::search::Search),
    /// The most played artists, albums or tracks (by plays or --by time).
    Top(commands::top::Top),
    /// Plays step by step (hours of a day, days, weeks, months, years), gaps as zero.
    Timeline(commands::analytics::Timeline),
    /// The listening clock: plays per hour of the day.
    Clock(commands::analytics::Clock),
    /// Plays per weekday and hour.
    Heatmap(commands::analytics::Heatmap),
    /// Every day of a year with its plays.
    Calendar(commands::analytics::Calendar),
    /// Listening sessions: how many, the longest, when they start, who opens and closes them.
    Sessions(commands::insights::Sessions),
    /// Days in a row with a listen: the current and longest runs, per artist and album.
    Streaks(commands::insights::Streaks),
    /// Artists, albums and tracks first heard in a period, and how many each month.
    Discoveries(commands::insights::Discoveries),
    /// The artists, albums or tracks that rose most against another period.
    Climbers(commands::insights::Climbers),
    /// What you played on this date 1, 2, 5 and 10 years ago (or --years).
    OnThisDay(commands::insights::OnThisDay),
    /// One artist: totals, first and last listen, plays per year, top tracks, sessions.
    Artist(commands::insights::Artist),
    /// One album (ARTIST TITLE, or --id): totals, plays per year, top tracks, sessions.
    Album(commands::insights::Titled),
    /// One track (ARTIST TITLE, or --id): totals, plays per year, sessions.
    Track(commands::insights::Titled),
    /// A summary of a period (this year so far by default), or its Markdown report with --markdown.
    Wrapped(commands::insights::Wrapped),
    /// Write a month's Markdown report into the data folder's reports/ and print its path.
    Report(commands::insights::Report),
    /// Rebuild the search index from the store.
    Reindex(commands::reindex::Reindex),
    /// Live trackers: start, stop or show (the default) an adapter's tracker.
    Tracker(commands::tracker::Tracker),
    /// Roon: zones, now playing, transport controls, play albums, playlists and radio
    /// (see docs/roon.md).
    Roon(commands::roon::Roon),
    /// Credentials for scrobblers posting to musiqued's ListenBrainz and Last.fm
    /// endpoints (see docs/scrobbling.md).
    Tokens(commands::tokens::Tokens),
    /// Last.fm: sign in (for loving tracks).
    Lastfm(commands::lastfm::Lastfm),
    /// Love a track (also on Last.fm).
    Love(commands::love::Love),
    /// Unlove a track (also on Last.fm).
    Unlove(commands::love::Love),
    /// Images and summary of an artist, or of an album with `--album` (cached; --refresh fetches again).
    Enrich(commands::enrich::Enrich),
    /// Drop-in plugins: list them (the default), rescan the plugins directory, or disable/enable one.
    Plugins(commands::plugins::Plugins),
    /// What happens in the daemon: what plays now and running imports, or with --follow
    /// every event as it comes (now playing, listens, import and plugin progress) until Ctrl-C.
    Events(commands::events::Events),
}

impl Command {
    /// Mistakes seen without the daemon (usage errors, exit 2): the subcommand and what is wrong.
    fn check_usage(&self) -> Result<(), (&'static str, String)> {
        match self {
            Command::Import(import) => import.check_usage().map_err(|usage| ("import", usage)),
            Command::Listens(listens) => listens.check_usage().map_err(|usage| ("listens", usage)),
            Command::Search(search) => search.check_usage().map_err(|usage| ("search", usage)),
            Command::Top(top) => top.check_usage().map_err(|usage| ("top", usage)),
            Command::Sessions(command) => command.check_usage().map_err(|usage| ("sessions", usage)),
            Command::Streaks(command) => command.check_usage().map_err(|usage| ("streaks", usage)),
            Command::Discoveries(command) => command.check_usage().map_err(|usage| ("discoveries", usage)),
            Command::Climbers(command) => command.check_usage().map_err(|usage| ("climbers", usage)),
            Command::Artist(command) => command.check_usage().map_err(|usage| ("artist", usage)),
            Command::Album(command) => command.check_usage().map_err(|usage| ("album", usage)),
            Command::Track(command) => command.check_usage().map_err(|usage| ("track", usage)),
            Command::Wrapped(command) => command.check_usage().map_err(|usage| ("wrapped", usage)),
            _ => Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Mistakes the daemon is not needed to see are usage errors (exit 2), before connecting.
    if let Err((name, usage)) = args.command.check_usage() {
        let mut command = <Args as clap::CommandFactory>::command();
        // Built, the subcommand knows its full name for the usage line.
        command.build();
        let subcommand = command.find_subcommand_mut(name).expect("a subcommand");
        subcommand.error(clap::error::ErrorKind::ValueValidation, usage).exit();
    }
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
            eprintln!("musiquectl: {}", output::error(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let socket = musique_config::client_socket_path(args.socket.as_deref());
    let client = match connect(&socket).await {
        Ok(client) => client,
        Err(ConnectError::NotRunning { socket }) => {
            bail!("musiqued is not running (no daemon at {}); {}", socket.display(), output::START_HINT);
        }
        Err(err) => return Err(err.into()),
    };
    let hello = client.hello().await?;
    if hello.api_version != CURRENT_API_VERSION {
        bail!(
            "musiqued {} speaks API version {}, this musiquectl speaks {}; use matching versions",
            hello.daemon_version,
            hello.api_version,
            CURRENT_API_VERSION
        );
    }
    let session = Session { client, json: args.json, features: hello.features };
    let mut out = std::io::stdout().lock();
    let code = match args.command {
        Command::Status(command) => command.run(&session, &mut out).await?,
        Command::Import(command) => command.run(&session, &mut out).await?,
        Command::Imports(command) => command.run(&session, &mut out).await?,
        Command::Collection(command) => command.run(&session, &mut out).await?,
        Command::Listens(command) => command.run(&session, &mut out).await?,
        Command::Search(command) => command.run(&session, &mut out).await?,
        Command::Top(command) => command.run(&session, &mut out).await?,
        Command::Timeline(command) => command.run(&session, &mut out).await?,
        Command::Clock(command) => command.run(&session, &mut out).await?,
        Command::Heatmap(command) => command.run(&session, &mut out).await?,
        Command::Calendar(command) => command.run(&session, &mut out).await?,
        Command::Sessions(command) => command.run(&session, &mut out).await?,
        Command::Streaks(command) => command.run(&session, &mut out).await?,
        Command::Discoveries(command) => command.run(&session, &mut out).await?,
        Command::Climbers(command) => command.run(&session, &mut out).await?,
        Command::OnThisDay(command) => command.run(&session, &mut out).await?,
        Command::Artist(command) => command.run(&session, &mut out).await?,
        Command::Album(command) => command.run(&session, &mut out, musique_api::EntityKind::Album).await?,
        Command::Track(command) => command.run(&session, &mut out, musique_api::EntityKind::Track).await?,
        Command::Wrapped(command) => command.run(&session, &mut out).await?,
        Command::Report(command) => command.run(&session, &mut out).await?,
        Command::Reindex(command) => command.run(&session, &mut out).await?,
        Command::Tracker(command) => command.run(&session, &mut out).await?,
        Command::Roon(command) => command.run(&session, &mut out).await?,
        Command::Tokens(command) => command.run(&session, &mut out).await?,
        Command::Lastfm(command) => command.run(&session, &mut out).await?,
        Command::Love(command) => command.run(&session, &mut out, true).await?,
        Command::Unlove(command) => command.run(&session, &mut out, false).await?,
        Command::Enrich(command) => command.run(&session, &mut out).await?,
        Command::Plugins(command) => command.run(&session, &mut out).await?,
        Command::Events(command) => command.run(&session, &mut out).await?,
    };
    out.flush()?;
    Ok(code)
}
