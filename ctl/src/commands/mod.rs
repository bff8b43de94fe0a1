//! One module per command, each with its clap arguments and one `run`
//! function that calls the daemon and prints the answer.
//!
//! If you're adding a command, it goes in a new module here, plus a variant of
//! `Command` in `main.rs`.

pub(crate) mod analytics;
pub(crate) mod collection;
pub(crate) mod enrich;
pub(crate) mod events;
pub(crate) mod import;
pub(crate) mod imports;
pub(crate) mod insights;
pub(crate) mod lastfm;
pub(crate) mod listens;
pub(crate) mod love;
pub(crate) mod plugins;
pub(crate) mod reindex;
pub(crate) mod roon;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod tokens;
pub(crate) mod top;
pub(crate) mod tracker;

use anyhow::bail;
use jsonrpsee::async_client::Client;
use musique_api::{Feature, Measure, TimeArg};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// What every command works with: the connection, and how to print.
pub(crate) struct Session {
    /// The connection to the daemon, its API version already checked.
    pub(crate) client: Client,
    /// Print JSON instead of tables.
    pub(crate) json: bool,
    /// What the daemon announced in `daemon.hello`.
    pub(crate) features: Vec<Feature>,
}

impl Session {
    /// Fails unless the daemon announced `feature`.
    pub(crate) fn require(&self, feature: Feature) -> anyhow::Result<()> {
        if !self.features.contains(&feature) {
            bail!("this musiqued does not offer `{feature}`");
        }
        Ok(())
    }
}

/// A time range, `[from, to)`.
#[derive(Debug, clap::Args)]
pub(crate) struct RangeArgs {
    /// From this time (unix seconds, RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    pub(crate) to: Option<String>,
}

/// A calendar period in the listener's zone, what to measure, and the zone.
#[derive(Debug, clap::Args)]
pub(crate) struct CalendarArgs {
    /// A year in the zone (2024).
    #[arg(long, conflicts_with_all = ["month", "week", "day", "from", "to"])]
    pub(crate) year: Option<String>,
    /// A month in the zone (2024-05).
    #[arg(long, conflicts_with_all = ["week", "day", "from", "to"])]
    pub(crate) month: Option<String>,
    /// An ISO week in the zone (2024-W21).
    #[arg(long, conflicts_with_all = ["day", "from", "to"])]
    pub(crate) week: Option<String>,
    /// A day in the zone (2024-05-23).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub(crate) day: Option<String>,
    #[command(flatten)]
    pub(crate) measure: MeasureArgs,
}

/// The period flags of the insights commands: a range or a calendar period in the
/// listener's zone (nothing for all time), and the zone. As [`RangeArgs`] and
/// [`CalendarArgs`], without `--by`: these answers count plays and time together.
#[derive(Debug, clap::Args)]
pub(crate) struct PeriodArgs {
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// A year in the zone (2024).
    #[arg(long, conflicts_with_all = ["month", "week", "day", "from", "to"])]
    pub(crate) year: Option<String>,
    /// A month in the zone (2024-05).
    #[arg(long, conflicts_with_all = ["week", "day", "from", "to"])]
    pub(crate) month: Option<String>,
    /// An ISO week in the zone (2024-W21).
    #[arg(long, conflicts_with_all = ["day", "from", "to"])]
    pub(crate) week: Option<String>,
    /// A day in the zone (2024-05-23).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub(crate) day: Option<String>,
    /// The time zone, an IANA name (default: the daemon's `[general] timezone`).
    #[arg(long)]
    pub(crate) tz: Option<String>,
}

/// What to measure and in which zone.
#[derive(Debug, clap::Args)]
pub(crate) struct MeasureArgs {
    /// Plays, or time listened (known durations; the answer says how many had one).
    #[arg(long, value_enum, default_value_t = MeasureArg::Plays)]
    pub(crate) by: MeasureArg,
    /// The time zone, an IANA name (default: the daemon's `[general] timezone`).
    #[arg(long)]
    pub(crate) tz: Option<String>,
}

/// `--by`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum MeasureArg {
    Plays,
    Time,
}

impl MeasureArgs {
    pub(crate) fn measure(&self) -> Measure {
        match self.by {
            MeasureArg::Plays => Measure::Plays,
            MeasureArg::Time => Measure::Time,
        }
    }
}

impl RangeArgs {
    /// Refuses a range that ends before it starts (or where it starts). Times this
    /// musiquectl cannot read are left to the daemon, which says what it accepts.
    pub(crate) fn check(&self) -> Result<(), String> {
        if let (Some(from), Some(to)) = (&self.from, &self.to)
            && let (Some(from_s), Some(to_s)) = (time_s(from), time_s(to))
            && from_s >= to_s
        {
            return Err(format!("the range is empty: --from {from} is not before --to {to}"));
        }
        Ok(())
    }

    pub(crate) fn into_times(self) -> (Option<TimeArg>, Option<TimeArg>) {
        (self.from.map(TimeArg::Text), self.to.map(TimeArg::Text))
    }
}

/// Reads a time as the daemon does (unix seconds, RFC 3339, `YYYY-MM-DD HH:MM` or a
/// date, UTC) into unix seconds.
fn time_s(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(time.unix_timestamp());
    }
    if let Ok(time) = PrimitiveDateTime::parse(text, format_description!("[year]-[month]-[day] [hour]:[minute]")) {
        return Some(time.assume_utc().unix_timestamp());
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::{RangeArgs, time_s};

    fn range(from: &str, to: &str) -> RangeArgs {
        RangeArgs { from: Some(from.to_owned()), to: Some(to.to_owned()) }
    }

    #[test]
    fn times_read_as_the_daemon_reads_them() {
        assert_eq!(time_s("1704067200"), Some(1_704_067_200));
        assert_eq!(time_s("2024-01-01"), Some(1_704_067_200));
        assert_eq!(time_s("2024-01-01 00:01"), Some(1_704_067_260));
        assert_eq!(time_s("2024-01-01T01:00:00+01:00"), Some(1_704_067_200));
        assert_eq!(time_s("last tuesday"), None);
    }

    #[test]
    fn a_range_must_start_before_it_ends() {
        assert_eq!(range("2024-01-01", "2024-01-02").check(), Ok(()));
        assert!(range("2024-01-02", "2024-01-01").check().unwrap_err().contains("not before"));
        assert!(range("2024-01-01", "1704067200").check().is_err(), "an empty range");
        assert_eq!(range("last tuesday", "2024-01-01").check(), Ok(()), "left to the daemon");
    }
}
