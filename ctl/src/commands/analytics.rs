//! `musiquectl timeline`, `clock`, `heatmap` and `calendar`: listening patterns in
//! the listener's zone, drawn with Unicode blocks (see `draw`).

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use musique_api::{MusiqueApiClient, Step};

use super::{CalendarArgs, MeasureArgs, RangeArgs, Session};
use crate::{draw, output};

#[derive(Debug, clap::Args)]
pub(crate) struct Timeline {
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
    /// The buckets' length (default: hours for a day, days for a week or month,
    /// months for a year).
    #[arg(long, value_enum)]
    step: Option<StepArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StepArg {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Clock {
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Heatmap {
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Calendar {
    /// The year, in the zone (default: this year).
    #[arg(long)]
    year: Option<String>,
    #[command(flatten)]
    measure: MeasureArgs,
}

impl Timeline {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let step = self.step.map(|step| match step {
            StepArg::Hour => Step::Hour,
            StepArg::Day => Step::Day,
            StepArg::Week => Step::Week,
            StepArg::Month => Step::Month,
            StepArg::Year => Step::Year,
        });
        let (from, to) = self.range.into_times();
        let calendar = self.calendar;
        let by = calendar.measure.measure();
        let timeline = session
            .client
            .stats_timeline(
                from,
                to,
                calendar.year,
                calendar.month,
                calendar.week,
                calendar.day,
                step,
                Some(by),
                calendar.measure.tz,
            )
            .await?;
        show(session, out, &timeline, draw::timeline)
    }
}

impl Clock {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let (from, to) = self.range.into_times();
        let calendar = self.calendar;
        let by = calendar.measure.measure();
        let clock = session
            .client
            .stats_clock(
                from,
                to,
                calendar.year,
                calendar.month,
                calendar.week,
                calendar.day,
                Some(by),
                calendar.measure.tz,
            )
            .await?;
        show(session, out, &clock, draw::clock)
    }
}

impl Heatmap {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let (from, to) = self.range.into_times();
        let calendar = self.calendar;
        let by = calendar.measure.measure();
        let heatmap = session
            .client
            .stats_heatmap(
                from,
                to,
                calendar.year,
                calendar.month,
                calendar.week,
                calendar.day,
                Some(by),
                calendar.measure.tz,
            )
            .await?;
        show(session, out, &heatmap, draw::heatmap)
    }
}

impl Calendar {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let by = self.measure.measure();
        let calendar = session.client.stats_calendar(self.year, Some(by), self.measure.tz).await?;
        show(session, out, &calendar, draw::calendar)
    }
}

/// Prints an answer: its JSON with `--json`, else drawn to fit the terminal.
pub(super) fn show<T: serde::Serialize, W: Write>(
    session: &Session,
    out: &mut W,
    answer: &T,
    drawn: impl FnOnce(&mut W, &T, &draw::Canvas) -> std::io::Result<()>,
) -> anyhow::Result<ExitCode> {
    if session.json {
        output::json(out, answer)?
    } else {
        drawn(out, answer, &draw::Canvas::stdout())?
    }
    Ok(ExitCode::SUCCESS)
}
