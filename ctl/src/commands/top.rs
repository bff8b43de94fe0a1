//! `musiquectl top`: the most played artists, albums or tracks.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use musique_api::{EntityKind, MusiqueApiClient, Period};

use super::{CalendarArgs, RangeArgs, Session};
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Top {
    /// What to rank.
    what: TopArg,
    /// A period ending today (UTC): day, week, month (30 days), year (365 days) or all.
    #[arg(long, value_enum, conflicts_with_all = ["from", "to", "year", "month", "week", "day"])]
    period: Option<PeriodArg>,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
    /// How many.
    #[arg(long, default_value_t = 20)]
    limit: u32,
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

impl Top {
    /// Mistakes seen without the daemon: a range that ends before it starts.
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.range.check()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let kind = match self.what {
            TopArg::Artists => EntityKind::Artist,
            TopArg::Albums => EntityKind::Album,
            TopArg::Tracks => EntityKind::Track,
        };
        let period = self.period.map(|period| match period {
            PeriodArg::Day => Period::Day,
            PeriodArg::Week => Period::Week,
            PeriodArg::Month => Period::Month,
            PeriodArg::Year => Period::Year,
            PeriodArg::All => Period::All,
        });
        let (from, to) = self.range.into_times();
        let calendar = self.calendar;
        let by = calendar.measure.measure();
        let top = session
            .client
            .stats_top(
                kind,
                period,
                from,
                to,
                Some(self.limit),
                calendar.year,
                calendar.month,
                calendar.week,
                calendar.day,
                Some(by),
                calendar.measure.tz,
            )
            .await?;
        if session.json {
            output::json(out, &top)?
        } else {
            output::top(out, &top)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
