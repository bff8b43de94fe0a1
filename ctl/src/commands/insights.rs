//! `musiquectl sessions`, `streaks`, `discoveries`, `climbers`, `on-this-day`,
//! `artist`, `album`, `track`, `wrapped` and `report`: insights into the history,
//! drawn by `insights` (or JSON with `--json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::ValueEnum;
use musique_api::{EntityKind, MusiqueApiClient};

use super::analytics::show;
use super::{PeriodArgs, Session};
use crate::{insights, output};

#[derive(Debug, clap::Args)]
pub(crate) struct Sessions {
    #[command(flatten)]
    period: PeriodArgs,
    /// Minutes without a listen that end a session (default: the daemon's
    /// `[general] session_gap_minutes`).
    #[arg(long, value_name = "MINUTES")]
    gap: Option<u32>,
    /// How many of the longest sessions, openers and closers.
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Streaks {
    #[command(flatten)]
    period: PeriodArgs,
    /// How many artists and albums.
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Discoveries {
    #[command(flatten)]
    period: PeriodArgs,
    /// How many of each kind.
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Climbers {
    /// What to rank.
    what: KindArg,
    #[command(flatten)]
    period: PeriodArgs,
    /// The period to compare against: a year (2023), month (2023-05), ISO week
    /// (2023-W21) or day (2023-05-23) (default: the period before).
    #[arg(long)]
    against: Option<String>,
    /// How many climbers and new entries.
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Artists,
    Albums,
    Tracks,
}

#[derive(Debug, clap::Args)]
pub(crate) struct OnThisDay {
    /// The date to look back from (default: today in the zone).
    #[arg(long)]
    date: Option<String>,
    /// How many years back, comma separated (default: 1,2,5,10).
    #[arg(long, value_delimiter = ',')]
    years: Option<Vec<u32>>,
    /// How many listens per day.
    #[arg(long)]
    limit: Option<u32>,
    /// The time zone, an IANA name (default: the daemon's `[general] timezone`).
    #[arg(long)]
    tz: Option<String>,
}

/// `musiquectl artist NAME`.
#[derive(Debug, clap::Args)]
pub(crate) struct Artist {
    /// The artist's name.
    #[arg(required_unless_present = "id", conflicts_with = "id")]
    name: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// `musiquectl album ARTIST TITLE` and `musiquectl track ARTIST TITLE`.
#[derive(Debug, clap::Args)]
pub(crate) struct Titled {
    /// The artist.
    #[arg(required_unless_present = "id", conflicts_with = "id")]
    artist: Option<String>,
    /// The title.
    #[arg(required_unless_present = "id", conflicts_with = "id")]
    title: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// What `artist`, `album` and `track` share.
#[derive(Debug, clap::Args)]
struct PageArgs {
    /// Its id (as `--json` answers show it) instead of its name.
    #[arg(long)]
    id: Option<u64>,
    #[command(flatten)]
    period: PeriodArgs,
    /// Minutes without a listen that end a session (default: the daemon's
    /// `[general] session_gap_minutes`).
    #[arg(long, value_name = "MINUTES")]
    gap: Option<u32>,
    /// How many tracks, albums, sessions and artists played with it.
    #[arg(long)]
    limit: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Wrapped {
    #[command(flatten)]
    period: PeriodArgs,
    /// Write the daemon's Markdown report to FILE (`-`: stdout) instead of drawing it.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Report {
    /// The month (2024-05; default: the month before the current one).
    #[arg(long)]
    month: Option<String>,
    /// The time zone, an IANA name (default: the daemon's `[general] timezone`).
    #[arg(long)]
    tz: Option<String>,
}

impl PeriodArgs {
    /// Mistakes seen without the daemon: a range that ends before it starts.
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.range.check()
    }
}

impl Sessions {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let answer = session.client.stats_sessions(from, to, year, month, week, day, tz, self.gap, self.limit).await?;
        show(session, out, &answer, insights::sessions)
    }
}

impl Streaks {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let answer = session.client.stats_streaks(from, to, year, month, week, day, tz, self.limit).await?;
        show(session, out, &answer, insights::streaks)
    }
}

impl Discoveries {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let answer = session.client.stats_discoveries(from, to, year, month, week, day, tz, self.limit).await?;
        show(session, out, &answer, insights::discoveries)
    }
}

impl Climbers {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let kind = match self.what {
            KindArg::Artists => EntityKind::Artist,
            KindArg::Albums => EntityKind::Album,
            KindArg::Tracks => EntityKind::Track,
        };
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let answer =
            session.client.stats_climbers(kind, from, to, year, month, week, day, self.against, tz, self.limit).await?;
        show(session, out, &answer, insights::climbers)
    }
}

impl OnThisDay {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let answer = session.client.stats_on_this_day(self.date, self.years, self.tz, self.limit).await?;
        show(session, out, &answer, insights::on_this_day)
    }
}

impl Artist {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.page.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        self.page.run(session, out, EntityKind::Artist, self.name, None).await
    }
}

impl Titled {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.page.period.check_usage()
    }

    /// `album` (`kind` an album) or `track`.
    pub(crate) async fn run(
        self,
        session: &Session,
        out: &mut impl Write,
        kind: EntityKind,
    ) -> anyhow::Result<ExitCode> {
        self.page.run(session, out, kind, self.title, self.artist).await
    }
}

impl PageArgs {
    async fn run(
        self,
        session: &Session,
        out: &mut impl Write,
        kind: EntityKind,
        name: Option<String>,
        artist: Option<String>,
    ) -> anyhow::Result<ExitCode> {
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let page = session
            .client
            .stats_entity(kind, self.id, name, artist, from, to, year, month, week, day, tz, self.gap, self.limit)
            .await?;
        show(session, out, &page, insights::entity)
    }
}

impl Wrapped {
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.period.check_usage()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let PeriodArgs { range, year, month, week, day, tz } = self.period;
        let (from, to) = range.into_times();
        let markdown = self.markdown.is_some();
        let wrapped = session.client.stats_wrapped(from, to, year, month, week, day, tz, Some(markdown)).await?;
        let Some(path) = self.markdown else {
            return show(session, out, &wrapped, insights::wrapped);
        };
        let Some(text) = &wrapped.markdown else {
            bail!("musiqued sent no Markdown report (use matching versions)");
        };
        let to_stdout = path.as_os_str() == "-";
        if session.json {
            // The JSON holds the Markdown too; a file asked for is still written.
            output::json(out, &wrapped)?;
        } else if to_stdout {
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                writeln!(out)?;
            }
        }
        if !to_stdout {
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

impl Report {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let report = session.client.stats_report(self.month, self.tz).await?;
        if session.json {
            output::json(out, &report)?
        } else {
            writeln!(out, "{}", report.path)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
