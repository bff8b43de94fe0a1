//! The analytics methods' edge: resolves a request's period and zone, calls
//! the library, and converts its answers to the wire types.

use jiff::tz::TimeZone;
use musique_api::{CalendarAnswer, ClockAnswer, HeatmapAnswer, Measure, Span, Step, TimeArg, Timeline, TimelineBucket};

use super::{RpcResult, invalid, time_of};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::analytics::{self, CalendarPeriod};

/// A request's period, as its parameters name it.
pub(super) struct PeriodParams {
    pub(super) from: Option<TimeArg>,
    pub(super) to: Option<TimeArg>,
    pub(super) year: Option<String>,
    pub(super) month: Option<String>,
    pub(super) week: Option<String>,
    pub(super) day: Option<String>,
    pub(super) tz: Option<String>,
}

/// A request's period resolved in its zone.
pub(super) struct Ask {
    /// `[from, to)` in unix seconds; `None` for all time.
    pub(super) range: Option<(i64, i64)>,
    pub(super) zone: TimeZone,
    /// The calendar period, when one was named.
    pub(super) calendar: Option<CalendarPeriod>,
}

impl Ask {
    /// Resolves the period and zone; the listener's zone when `tz` is absent.
    pub(super) fn new(library: &Library, params: PeriodParams) -> RpcResult<Ask> {
        let zone = match &params.tz {
            Some(name) => analytics::zone_named(name)?,
            None => library.time_zone(),
        };
        let named: Vec<Result<CalendarPeriod>> = [
            params.year.as_deref().map(CalendarPeriod::year),
            params.month.as_deref().map(CalendarPeriod::month),
            params.week.as_deref().map(CalendarPeriod::week),
            params.day.as_deref().map(CalendarPeriod::day),
        ]
        .into_iter()
        .flatten()
        .collect();
        if named.len() > 1 {
            return Err(invalid("give one of `year`, `month`, `week` and `day`"));
        }
        let from = time_of("from", params.from)?;
        let to = time_of("to", params.to)?;
        if let Some(calendar) = named.into_iter().next() {
            if from.is_some() || to.is_some() {
                return Err(invalid("give either a calendar period or `from`/`to`, not both"));
            }
            let calendar = calendar?;
            let range = calendar.range(&zone)?;
            return Ok(Ask { range: Some(range), zone, calendar: Some(calendar) });
        }
        let range = match (from, to) {
            (None, None) => None,
            (from, to) => {
                let from = from.unwrap_or(0);
                let to = to.unwrap_or(i64::MAX / 2);
                if to <= from {
                    return Err(invalid("`to` must be after `from`"));
                }
                Some((from, to))
            }
        };
        Ok(Ask { range, zone, calendar: None })
    }

    /// The range, all time being the first listen to the last (`None` when there is none).
    pub(super) fn bounded(&self, library: &Library) -> Result<Option<(i64, i64)>> {
        match self.range {
            Some((from, to)) => {
                let to = match library.all_time()? {
                    Some((_, last)) if to >= i64::MAX / 2 => last.max(from + 1),
                    _ => to.min(i64::MAX / 2),
                };
                Ok(Some((from, to)))
            }
            None => library.all_time(),
        }
    }
}

/// The span of an answer: the zone, the period's days, and the history when nothing is in it.
pub(super) fn span(library: &Library, ask: &Ask, empty: bool) -> Result<Span> {
    let zone = &ask.zone;
    let day = |seconds: i64| analytics::date_of(seconds, zone).to_string();
    let (first_day, last_day) = match ask.range {
        Some((from, to)) if to < i64::MAX / 2 => (Some(day(from)), Some(day(to - 1))),
        Some((from, _)) => (Some(day(from)), None),
        None => (None, None),
    };
    let history = if empty { library.history(zone)? } else { None };
    Ok(Span {
        tz: analytics::zone_label(zone),
        first_day,
        last_day,
        history_from: history.map(|(first, _)| first.to_string()),
        history_to: history.map(|(_, last)| last.to_string()),
    })
}

fn step_of(step: Step) -> analytics::Step {
    match step {
        Step::Hour => analytics::Step::Hour,
        Step::Day => analytics::Step::Day,
        Step::Week => analytics::Step::Week,
        Step::Month => analytics::Step::Month,
        Step::Year => analytics::Step::Year,
    }
}

/// The step a timeline takes when none is asked for: hours for a day, days up to a
/// quarter, months up to five years, years beyond.
fn default_step(ask: &Ask, range: (i64, i64)) -> Step {
    match ask.calendar {
        Some(CalendarPeriod::Day(_)) => Step::Hour,
        Some(CalendarPeriod::Week(..) | CalendarPeriod::Month(..)) => Step::Day,
        Some(CalendarPeriod::Year(_)) => Step::Month,
        None => match range.1 - range.0 {
            length if length <= 2 * 86_400 => Step::Hour,
            length if length <= 92 * 86_400 => Step::Day,
            length if length <= 5 * 366 * 86_400 => Step::Month,
            _ => Step::Year,
        },
    }
}

/// `stats.timeline`.
pub(super) fn timeline(library: &Library, ask: Ask, step: Option<Step>, by: Measure) -> Result<Timeline> {
    let range = ask.bounded(library)?.unwrap_or((0, 0));
    let step = step.unwrap_or_else(|| default_step(&ask, range));
    let buckets = library.timeline(range, step_of(step), &ask.zone)?;
    let plays: u64 = buckets.iter().map(|bucket| bucket.totals.plays).sum();
    let time_known = buckets.iter().map(|bucket| bucket.totals.known).sum();
    let time_from_length = buckets.iter().map(|bucket| bucket.totals.from_length).sum();
    Ok(Timeline {
        from: range.0,
        to: range.1,
        span: span(library, &ask, plays == 0)?,
        step,
        by,
        time_known,
        time_from_length,
        buckets: buckets
            .iter()
            .map(|bucket| TimelineBucket {
                start: bucket.start.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                plays: bucket.totals.plays,
                ms: bucket.totals.ms,
            })
            .collect(),
    })
}

/// `stats.clock`.
pub(super) fn clock(library: &Library, ask: Ask, by: Measure) -> Result<ClockAnswer> {
    let range = ask.bounded(library)?.unwrap_or((0, 0));
    let hours = library.clock_hours(range, &ask.zone)?;
    let plays: u64 = hours.iter().map(|hour| hour.plays).sum();
    Ok(ClockAnswer {
        from: ask.range.map(|(from, _)| from),
        to: ask.range.map(|(_, to)| to).filter(|to| *to < i64::MAX / 2),
        span: span(library, &ask, plays == 0)?,
        by,
        time_known: hours.iter().map(|hour| hour.known).sum(),
        time_from_length: hours.iter().map(|hour| hour.from_length).sum(),
        plays: hours.iter().map(|hour| hour.plays).collect(),
        ms: hours.iter().map(|hour| hour.ms).collect(),
    })
}

/// `stats.heatmap`.
pub(super) fn heatmap(library: &Library, ask: Ask, by: Measure) -> Result<HeatmapAnswer> {
    let range = ask.bounded(library)?.unwrap_or((0, 0));
    let days = library.heatmap(range, &ask.zone)?;
    let plays: u64 = days.iter().flatten().map(|hour| hour.plays).sum();
    Ok(HeatmapAnswer {
        from: ask.range.map(|(from, _)| from),
        to: ask.range.map(|(_, to)| to).filter(|to| *to < i64::MAX / 2),
        span: span(library, &ask, plays == 0)?,
        by,
        time_known: days.iter().flatten().map(|hour| hour.known).sum(),
        time_from_length: days.iter().flatten().map(|hour| hour.from_length).sum(),
        plays: days.iter().map(|day| day.iter().map(|hour| hour.plays).collect()).collect(),
        ms: days.iter().map(|day| day.iter().map(|hour| hour.ms).collect()).collect(),
    })
}

/// `stats.calendar`: `year` in the zone, this year (by the daemon's clock) when absent.
pub(super) fn calendar(
    library: &Library,
    year: Option<String>,
    by: Measure,
    tz: Option<String>,
) -> Result<CalendarAnswer> {
    let zone = match &tz {
        Some(name) => analytics::zone_named(name)?,
        None => library.time_zone(),
    };
    let calendar = match year {
        Some(year) => CalendarPeriod::year(&year)?,
        None => CalendarPeriod::Year(analytics::date_of(library.clock().now_s(), &zone).year()),
    };
    let CalendarPeriod::Year(year) = calendar else {
        return Err(Error::invalid("`year` must be a year"));
    };
    let days = library.calendar(year, &zone)?;
    let plays: u64 = days.iter().map(|(_, totals)| totals.plays).sum();
    let ask = Ask { range: Some(calendar.range(&zone)?), zone, calendar: Some(calendar) };
    Ok(CalendarAnswer {
        year: i32::from(year),
        span: span(library, &ask, plays == 0)?,
        by,
        time_known: days.iter().map(|(_, totals)| totals.known).sum(),
        time_from_length: days.iter().map(|(_, totals)| totals.from_length).sum(),
        plays: days.iter().map(|(_, totals)| totals.plays).collect(),
        ms: days.iter().map(|(_, totals)| totals.ms).collect(),
    })
}
