//! Listening analytics in the listener's time zone: calendar periods, the
//! timeline, the listening clock, the weekday × hour heatmap and the calendar
//! of days.
//!
//! Storage stays UTC. The writer counts plays and milliseconds per UTC
//! quarter-hour in the same commit as the listen (see
//! `store::series::LISTENS_PER_QUARTER_HOUR`). Every real zone offset is a
//! multiple of 15 minutes, so each quarter-hour lies in exactly one local hour,
//! and any zone's hours, days, weeks, months and years are sums of them: a year
//! is at most 35,136 buckets to add, all time a few hundred thousand.

use std::sync::OnceLock;

use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Timestamp, ToSpan, Zoned};

use super::Library;
use crate::error::{Error, Result};
use crate::store::QuarterHour;

/// Most buckets one timeline returns (about eleven years of hours).
pub(crate) const MAX_BUCKETS: usize = 100_000;

/// The length of a timeline's buckets, in the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Hour,
    Day,
    /// ISO weeks, Monday first.
    Week,
    Month,
    Year,
}

/// A calendar period, resolved in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CalendarPeriod {
    Year(i16),
    /// Year and month (1–12).
    Month(i16, i8),
    /// ISO week-numbering year and week (1–53).
    Week(i16, i8),
    Day(Date),
}

/// What some listens add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) plays: u64,
    /// Of the plays, how many had a time (a duration or their track's length).
    pub(crate) known: u64,
    /// Of those, how many took their track's length.
    pub(crate) from_length: u64,
    /// The known durations added up.
    pub(crate) ms: u64,
}

/// One bucket of a timeline: its start in the zone and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) start: Zoned,
    pub(crate) totals: Totals,
}

/// Plays per weekday (Monday first) and hour of the day.
pub(crate) type Heatmap = [[Totals; 24]; 7];

impl Totals {
    fn add(&mut self, quarter: &QuarterHour) {
        self.plays += quarter.plays;
        self.known += quarter.known;
        self.from_length += quarter.from_length;
        self.ms += quarter.ms;
    }
}

/// A zone by its IANA name (aliases such as `Asia/Calcutta` included), from the
/// time-zone database built into musiqued, so every machine answers alike.
pub(crate) fn zone_named(name: &str) -> Result<TimeZone> {
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    let database = DATABASE.get_or_init(TimeZoneDatabase::bundled);
    database
        .get(name)
        .map_err(|_| Error::invalid(format!("unknown time zone {name:?}: use an IANA name such as Europe/Paris")))
}

/// The zone's name for answers: its IANA name, or its offset now.
pub(crate) fn zone_label(zone: &TimeZone) -> String {
    match zone.iana_name() {
        Some(name) => name.to_owned(),
        None => zone.to_offset(Timestamp::now()).to_string(),
    }
}

impl CalendarPeriod {
    /// Parses `2024` (a year).
    pub(crate) fn year(text: &str) -> Result<CalendarPeriod> {
        parse_year(text).map(CalendarPeriod::Year).ok_or_else(|| Error::invalid(format!("bad year {text:?}: use 2024")))
    }

    /// Parses `2024-05` (a month).
    pub(crate) fn month(text: &str) -> Result<CalendarPeriod> {
        let bad = || Error::invalid(format!("bad month {text:?}: use 2024-05"));
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let year = parse_year(year).ok_or_else(bad)?;
        let month: i8 = digits(month, 2).ok_or_else(bad)?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(CalendarPeriod::Month(year, month))
    }

    /// Parses `2024-W21` (an ISO week; week 53 only in the years that have one).
    pub(crate) fn week(text: &str) -> Result<CalendarPeriod> {
        let bad = || Error::invalid(format!("bad week {text:?}: use an ISO week such as 2024-W21"));
        let (year, week) = text.split_once("-W").ok_or_else(bad)?;
        let year = parse_year(year).ok_or_else(bad)?;
        let week: i8 = digits(week, 2).ok_or_else(bad)?;
        ISOWeekDate::new(year, week, Weekday::Monday).map_err(|_| bad())?;
        Ok(CalendarPeriod::Week(year, week))
    }

    /// Parses `2024-05-23` (a day).
    pub(crate) fn day(text: &str) -> Result<CalendarPeriod> {
        let bad = || Error::invalid(format!("bad day {text:?}: use 2024-05-23"));
        if text.len() != 10 || parse_year(&text[..4]).is_none() {
            return Err(bad());
        }
        text.parse::<Date>().map(CalendarPeriod::Day).map_err(|_| bad())
    }

    /// Parses a year (`2024`), a month (`2024-05`), an ISO week (`2024-W21`) or a day
    /// (`2024-05-23`), told apart by their shape.
    pub(crate) fn parse(text: &str) -> Result<CalendarPeriod> {
        match text.len() {
            4 => CalendarPeriod::year(text),
            7 => CalendarPeriod::month(text),
            8 if text.contains("-W") => CalendarPeriod::week(text),
            10 => CalendarPeriod::day(text),
            _ => Err(Error::invalid(format!(
                "bad period {text:?}: use a year (2024), a month (2024-05), a week (2024-W21) or a day (2024-05-23)"
            ))),
        }
    }

    /// The period of the same kind just before this one.
    pub(crate) fn previous(self) -> Result<CalendarPeriod> {
        let overflow = |_| Error::invalid("the period is out of range");
        let (first, _) = self.dates()?;
        Ok(match self {
            CalendarPeriod::Year(year) => CalendarPeriod::Year(year - 1),
            CalendarPeriod::Month(..) => {
                let date = first.checked_sub(1.month()).map_err(overflow)?;
                CalendarPeriod::Month(date.year(), date.month())
            }
            CalendarPeriod::Week(..) => {
                let week = first.checked_sub(1.week()).map_err(overflow)?.iso_week_date();
                CalendarPeriod::Week(week.year(), week.week())
            }
            CalendarPeriod::Day(day) => CalendarPeriod::Day(day.checked_sub(1.day()).map_err(overflow)?),
        })
    }

    /// The first and the following day of the period.
    fn dates(self) -> Result<(Date, Date)> {
        let overflow = |_| Error::invalid("the period is out of range");
        let first = match self {
            CalendarPeriod::Year(year) => Date::new(year, 1, 1).map_err(overflow)?,
            CalendarPeriod::Month(year, month) => Date::new(year, month, 1).map_err(overflow)?,
            CalendarPeriod::Week(year, week) => ISOWeekDate::new(year, week, Weekday::Monday).map_err(overflow)?.date(),
            CalendarPeriod::Day(day) => day,
        };
        let span = match self {
            CalendarPeriod::Year(_) => 1.year(),
            CalendarPeriod::Month(..) => 1.month(),
            CalendarPeriod::Week(..) => 1.week(),
            CalendarPeriod::Day(_) => 1.day(),
        };
        Ok((first, first.checked_add(span).map_err(overflow)?))
    }

    /// The period's `[from, to)` in unix seconds: from its first local midnight
    /// to the one after it, in `zone`.
    pub(crate) fn range(self, zone: &TimeZone) -> Result<(i64, i64)> {
        let (first, end) = self.dates()?;
        Ok((midnight(first, zone)?, midnight(end, zone)?))
    }
}

impl Library {
    /// The listener's zone (`[general] timezone`, else the system's).
    pub(crate) fn time_zone(&self) -> TimeZone {
        self.state.time_zone.read().expect("time zone lock").clone()
    }

    /// Makes the zone named by the config (`None`: the system's) the listener's
    /// zone; answers follow at once, as nothing is stored per zone. The config
    /// checked the name; a name unknown all the same leaves the zone as it was.
    pub(crate) fn configure_time_zone(&self, name: Option<&str>) {
        let zone = match name {
            None => TimeZone::system(),
            Some(name) => match zone_named(name) {
                Ok(zone) => zone,
                Err(err) => {
                    tracing::error!(error = %err, "[general] timezone is unknown; the zone stays");
                    return;
                }
            },
        };
        *self.state.time_zone.write().expect("time zone lock") = zone;
    }

    /// The dates of the first and the last listen in `zone`, when there are any.
    pub(crate) fn history(&self, zone: &TimeZone) -> Result<Option<(Date, Date)>> {
        let bounds = self.state.store.read()?.listen_bounds()?;
        Ok(bounds.map(|(first, last)| (date_of(first as i64, zone), date_of(last as i64, zone))))
    }

    /// The `[from, to)` of all time: from the first listen's quarter-hour to
    /// the second after the last one (`None` when there is no listen).
    pub(crate) fn all_time(&self) -> Result<Option<(i64, i64)>> {
        let bounds = self.state.store.read()?.listen_bounds()?;
        Ok(bounds.map(|(first, last)| (first as i64, last as i64 + 1)))
    }

    /// What `[from, to)` holds, step by step in `zone`, every bucket listed
    /// (gaps as zero). The first bucket starts where its step does (a local
    /// midnight, a Monday, …) at or before `from`; listens are counted by
    /// whole UTC quarter-hours (see `Reader::quarter_hours`).
    pub(crate) fn timeline(&self, (from, to): (i64, i64), step: Step, zone: &TimeZone) -> Result<Vec<Bucket>> {
        let starts = bucket_starts(from, to, step, zone)?;
        let mut buckets: Vec<Bucket> =
            starts.into_iter().map(|start| Bucket { start, totals: Totals::default() }).collect();
        let quarters = self.state.store.read()?.quarter_hours(from, to)?;
        let mut index = 0;
        for quarter in &quarters {
            while index + 1 < buckets.len() && buckets[index + 1].start.timestamp().as_second() <= quarter.start_s {
                index += 1;
            }
            if let Some(bucket) = buckets.get_mut(index) {
                bucket.totals.add(quarter);
            }
        }
        Ok(buckets)
    }

    /// What `[from, to)` holds per hour of the day (0–23) in `zone`.
    pub(crate) fn clock_hours(&self, range: (i64, i64), zone: &TimeZone) -> Result<[Totals; 24]> {
        let heatmap = self.heatmap(range, zone)?;
        let mut hours = [Totals::default(); 24];
        for day in &heatmap {
            for (hour, totals) in day.iter().enumerate() {
                hours[hour].plays += totals.plays;
                hours[hour].known += totals.known;
                hours[hour].from_length += totals.from_length;
                hours[hour].ms += totals.ms;
            }
        }
        Ok(hours)
    }

    /// What `[from, to)` holds per weekday (Monday first) and hour in `zone`.
    pub(crate) fn heatmap(&self, (from, to): (i64, i64), zone: &TimeZone) -> Result<Heatmap> {
        let quarters = self.state.store.read()?.quarter_hours(from, to)?;
        let mut heatmap = [[Totals::default(); 24]; 7];
        let mut offsets = Offsets::new(zone);
        for quarter in &quarters {
            let local = quarter.start_s + offsets.at(quarter.start_s);
            let day = local.div_euclid(86_400);
            let hour = (local.rem_euclid(86_400) / 3600) as usize;
            // 1970-01-01 was a Thursday (3 days after a Monday).
            let weekday = (day + 3).rem_euclid(7) as usize;
            heatmap[weekday][hour].add(quarter);
        }
        Ok(heatmap)
    }

    /// Every day of `year` in `zone` with what it holds.
    pub(crate) fn calendar(&self, year: i16, zone: &TimeZone) -> Result<Vec<(Date, Totals)>> {
        let range = CalendarPeriod::Year(year).range(zone)?;
        let buckets = self.timeline(range, Step::Day, zone)?;
        Ok(buckets.into_iter().map(|bucket| (bucket.start.date(), bucket.totals)).collect())
    }
}

/// A zone's offset at a time, remembered until its next transition: scans
/// move forward in time, so a year costs a couple of lookups.
pub(crate) struct Offsets<'zone> {
    zone: &'zone TimeZone,
    /// The offset, in seconds, holds in `[start, end)`.
    start: i64,
    end: i64,
    offset: i64,
}

impl<'zone> Offsets<'zone> {
    pub(crate) fn new(zone: &'zone TimeZone) -> Offsets<'zone> {
        Offsets { zone, start: 0, end: 0, offset: 0 }
    }

    pub(crate) fn at(&mut self, seconds: i64) -> i64 {
        if seconds < self.start || seconds >= self.end {
            let timestamp = Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH);
            self.offset = i64::from(self.zone.to_offset(timestamp).seconds());
            self.start = seconds;
            self.end =
                self.zone.following(timestamp).next().map_or(i64::MAX, |transition| transition.timestamp().as_second());
        }
        self.offset
    }
}

/// The first moment of `date` in `zone` (after the gap when midnight does not exist).
fn midnight(date: Date, zone: &TimeZone) -> Result<i64> {
    let zoned = date.to_zoned(zone.clone()).map_err(|_| Error::invalid("the period is out of range"))?;
    let start = zoned.start_of_day().map_err(|_| Error::invalid("the period is out of range"))?;
    Ok(start.timestamp().as_second())
}

/// The date of a unix second in `zone`.
pub(crate) fn date_of(seconds: i64, zone: &TimeZone) -> Date {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(zone.clone()).date()
}

/// Where each bucket of `[from, to)` starts, in `zone`.
pub(crate) fn bucket_starts(from: i64, to: i64, step: Step, zone: &TimeZone) -> Result<Vec<Zoned>> {
    let out_of_range = |_| Error::invalid("the range is out of range");
    let at = |seconds: i64| -> Result<Zoned> {
        Ok(Timestamp::from_second(seconds).map_err(out_of_range)?.to_zoned(zone.clone()))
    };
    let mut starts = Vec::new();
    if to <= from {
        return Ok(starts);
    }
    let too_many = || Error::invalid(format!("more than {MAX_BUCKETS} buckets: use a longer step or a shorter range"));
    if step == Step::Hour {
        // Local hours start where UTC quarter-hours do; an hour is 3600 s even across a change.
        let offset = i64::from(at(from)?.offset().seconds());
        let mut start = from - (from + offset).rem_euclid(3600);
        while start < to {
            if starts.len() >= MAX_BUCKETS {
                return Err(too_many());
            }
            starts.push(at(start)?);
            start += 3600;
        }
        return Ok(starts);
    }
    let first = at(from)?.date();
    let mut date = match step {
        Step::Hour | Step::Day => first,
        Step::Week => {
            first.checked_sub((first.weekday().to_monday_zero_offset() as i64).days()).map_err(out_of_range)?
        }
        Step::Month => first.first_of_month(),
        Step::Year => first.first_of_year(),
    };
    let span = match step {
        Step::Hour | Step::Day => 1.day(),
        Step::Week => 1.week(),
        Step::Month => 1.month(),
        Step::Year => 1.year(),
    };
    loop {
        let start = date.to_zoned(zone.clone()).and_then(|zoned| zoned.start_of_day()).map_err(out_of_range)?;
        if start.timestamp().as_second() >= to {
            break;
        }
        if starts.len() >= MAX_BUCKETS {
            return Err(too_many());
        }
        starts.push(start);
        date = date.checked_add(span).map_err(out_of_range)?;
    }
    Ok(starts)
}

fn parse_year(text: &str) -> Option<i16> {
    digits(text, 4).filter(|year: &i16| (1970..=9998).contains(year))
}

/// `text` as a number of exactly `width` ASCII digits.
fn digits<T: std::str::FromStr>(text: &str, width: usize) -> Option<T> {
    (text.len() == width && text.bytes().all(|byte| byte.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use crate::harness::Harness;
    use crate::library::{Commit, Listen, Origin, SourceName};
    use crate::store::{Kind, TimeKnown};

    /// Adds listens `(artist, start in RFC 3339, duration in seconds)`.
    fn add(harness: &Harness, plays: &[(&str, &str, Option<u64>)]) {
        let origin = Origin::Rpc(SourceName::parse("rpc").unwrap());
        let mut intake = harness.library.intake(&origin);
        let listens = plays
            .iter()
            .enumerate()
            .map(|(index, (artist, at, seconds))| {
                let listen = Listen {
                    artist: (*artist).to_owned(),
                    track: format!("Song {index}"),
                    album: None,
                    artists: Vec::new(),
                    started_ms: clock::parse_rfc3339_ms(at).unwrap(),
                    duration_ms: seconds.map(|seconds| seconds * 1000),
                    loved: None,
                    details: None,
                };
                intake.admit(listen).unwrap()
            })
            .collect();
        harness.library.commit(Commit { listens, ..Commit::default() }).unwrap().wait_blocking().unwrap();
    }

    fn zone(name: &str) -> TimeZone {
        zone_named(name).unwrap()
    }

    /// The non-empty buckets of a timeline as `(start, plays)`, and how many buckets there are.
    fn timeline(harness: &Harness, period: CalendarPeriod, step: Step, name: &str) -> (usize, Vec<(String, u64)>) {
        let zone = zone(name);
        let buckets = harness.library.timeline(period.range(&zone).unwrap(), step, &zone).unwrap();
        let filled = buckets
            .iter()
            .filter(|bucket| bucket.totals.plays > 0)
            .map(|bucket| (bucket.start.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), bucket.totals.plays))
            .collect();
        (buckets.len(), filled)
    }

    fn day(text: &str) -> CalendarPeriod {
        CalendarPeriod::day(text).unwrap()
    }

    fn owned(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
        rows.iter().map(|(start, plays)| ((*start).to_owned(), *plays)).collect()
    }

    #[test]
    fn paris_spring_forward_has_23_hours_and_fall_back_25() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(
            &harness,
            &[
                // 00:30 in Paris (+01:00), the first hour of the day.
                ("Air", "2024-03-30T23:30:00Z", None),
                // 03:10 in Paris (+02:00): 02:00 does not exist that day.
                ("Air", "2024-03-31T01:10:00Z", None),
                // 23:59 in Paris, the last hour.
                ("Air", "2024-03-31T21:59:00Z", None),
                // Already April 1st in Paris.
                ("Air", "2024-03-31T22:00:00Z", None),
                // 02:30 in Paris twice: first at +02:00, then at +01:00.
                ("Björk", "2024-10-27T00:30:00Z", None),
                ("Björk", "2024-10-27T01:30:00Z", None),
            ],
        );
        let (hours, filled) = timeline(&harness, day("2024-03-31"), Step::Hour, "Europe/Paris");
        assert_eq!(hours, 23);
        let expected =
            [("2024-03-31T00:00:00+01:00", 1), ("2024-03-31T03:00:00+02:00", 1), ("2024-03-31T23:00:00+02:00", 1)];
        assert_eq!(filled, owned(&expected));
        let (hours, filled) = timeline(&harness, day("2024-10-27"), Step::Hour, "Europe/Paris");
        assert_eq!(hours, 25);
        assert_eq!(filled, owned(&[("2024-10-27T02:00:00+02:00", 1), ("2024-10-27T02:00:00+01:00", 1)]));
        // The same hour of the clock, though an hour apart.
        let paris = zone("Europe/Paris");
        let hours = harness.library.clock_hours(day("2024-10-27").range(&paris).unwrap(), &paris).unwrap();
        assert_eq!(hours[2].plays, 2);
        assert_eq!(hours.iter().map(|hour| hour.plays).sum::<u64>(), 2);
        // The 23-hour day is one day of the week's timeline, with its three listens.
        let (days, filled) = timeline(&harness, CalendarPeriod::week("2024-W13").unwrap(), Step::Day, "Europe/Paris");
        assert_eq!(days, 7);
        assert_eq!(filled, owned(&[("2024-03-31T00:00:00+01:00", 3)]));
    }

    #[test]
    fn new_years_eve_session_splits_at_midnight_in_new_york_not_in_utc() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        // 23:30 and 00:15 in New York (-05:00): both on January 1st in UTC.
        add(&harness, &[("Air", "2024-01-01T04:30:00Z", Some(200)), ("Björk", "2024-01-01T05:15:00Z", Some(100))]);
        let new_york = zone("America/New_York");
        let calendar = harness.library.calendar(2023, &new_york).unwrap();
        assert_eq!(calendar.len(), 365);
        assert_eq!(calendar.last().unwrap().0.to_string(), "2023-12-31");
        assert_eq!(calendar.last().unwrap().1, Totals { plays: 1, known: 1, from_length: 0, ms: 200_000 });
        assert_eq!(calendar.iter().map(|(_, totals)| totals.plays).sum::<u64>(), 1);
        let new_year = &harness.library.calendar(2024, &new_york).unwrap()[0];
        assert_eq!((new_year.0.to_string(), new_year.1.plays), ("2024-01-01".to_owned(), 1));
        let utc = zone("UTC");
        assert!(harness.library.calendar(2023, &utc).unwrap().iter().all(|(_, totals)| totals.plays == 0));
        assert_eq!(harness.library.calendar(2024, &utc).unwrap()[0].1.plays, 2);
        // Charts of the year follow the zone.
        let top = |year: i16, zone: &TimeZone| {
            let range = CalendarPeriod::Year(year).range(zone).unwrap();
            let rows = harness.library.top(Kind::Artist, Some(range), 10).unwrap();
            rows.into_iter().map(|row| row.name).collect::<Vec<_>>()
        };
        assert_eq!(top(2023, &new_york), ["Air"]);
        assert!(top(2023, &utc).is_empty());
        assert_eq!(
            harness.library.history(&utc).unwrap().map(|(first, last)| (first.to_string(), last.to_string())),
            Some(("2024-01-01".to_owned(), "2024-01-01".to_owned()))
        );
        assert_eq!(
            harness.library.history(&new_york).unwrap().map(|(first, last)| (first.to_string(), last.to_string())),
            Some(("2023-12-31".to_owned(), "2024-01-01".to_owned()))
        );
    }

    #[test]
    fn half_and_three_quarter_hour_offsets_bucket_by_quarter_hour() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        // 10:20Z is 15:50 in Kolkata (+05:30) and 16:05 in Kathmandu (+05:45);
        // 10:40Z is 16:10 and 16:25.
        add(&harness, &[("Air", "2024-05-23T10:20:00Z", None), ("Air", "2024-05-23T10:40:00Z", None)]);
        let hours_in = |name: &str| {
            let zone = zone(name);
            let hours = harness.library.clock_hours(day("2024-05-23").range(&zone).unwrap(), &zone).unwrap();
            hours
                .iter()
                .enumerate()
                .filter(|(_, totals)| totals.plays > 0)
                .map(|(hour, totals)| (hour, totals.plays))
                .collect::<Vec<_>>()
        };
        assert_eq!(hours_in("Asia/Calcutta"), [(15, 1), (16, 1)]);
        assert_eq!(hours_in("Asia/Kolkata"), [(15, 1), (16, 1)]);
        assert_eq!(hours_in("Asia/Kathmandu"), [(16, 2)]);
        assert_eq!(hours_in("UTC"), [(10, 2)]);
        let (_, filled) = timeline(&harness, day("2024-05-23"), Step::Hour, "Asia/Kathmandu");
        assert_eq!(filled, owned(&[("2024-05-23T16:00:00+05:45", 2)]));
        // Thursday in every one of them.
        let kathmandu = zone("Asia/Kathmandu");
        let heatmap = harness.library.heatmap(day("2024-05-23").range(&kathmandu).unwrap(), &kathmandu).unwrap();
        assert_eq!(heatmap[3][16].plays, 2);
    }

    #[test]
    fn the_listeners_zone_moves_the_buckets_of_the_same_listens() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(&harness, &[("Air", "2024-05-23T22:30:00Z", None)]);
        let weekday_hour = |harness: &Harness| {
            let zone = harness.library.time_zone();
            let range = CalendarPeriod::Year(2024).range(&zone).unwrap();
            let heatmap = harness.library.heatmap(range, &zone).unwrap();
            let mut cells = Vec::new();
            for (weekday, hours) in heatmap.iter().enumerate() {
                for (hour, totals) in hours.iter().enumerate() {
                    if totals.plays > 0 {
                        cells.push((weekday, hour));
                    }
                }
            }
            cells
        };
        harness.library.configure_time_zone(Some("UTC"));
        assert_eq!(weekday_hour(&harness), [(3, 22)], "Thursday 22h in UTC");
        harness.library.configure_time_zone(Some("Asia/Tokyo"));
        assert_eq!(weekday_hour(&harness), [(4, 7)], "Friday 07h in Tokyo");
        harness.library.configure_time_zone(Some("No/Such_Zone"));
        assert_eq!(weekday_hour(&harness), [(4, 7)], "an unknown name leaves the zone");
    }

    #[test]
    fn iso_week_53_of_2020_runs_into_2021() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(
            &harness,
            &[
                ("Air", "2020-12-27T12:00:00Z", None),
                ("Air", "2021-01-03T12:00:00Z", None),
                ("Air", "2021-01-04T00:00:00Z", None),
            ],
        );
        let week = CalendarPeriod::week("2020-W53").unwrap();
        let utc = zone("UTC");
        assert_eq!(
            week.range(&utc).unwrap(),
            (clock::parse_date_s("2020-12-28").unwrap(), clock::parse_date_s("2021-01-04").unwrap())
        );
        let (days, filled) = timeline(&harness, week, Step::Day, "UTC");
        assert_eq!(days, 7);
        assert_eq!(filled, owned(&[("2021-01-03T00:00:00+00:00", 1)]));
        assert!(CalendarPeriod::week("2021-W53").is_err(), "2021 has 52 weeks");
        assert!(CalendarPeriod::week("2020-W54").is_err());
        for bad in ["2024-5", "2024-13", "24-05"] {
            assert!(CalendarPeriod::month(bad).is_err(), "{bad}");
        }
        for bad in ["2024-02-30", "2024-5-23", "20240523"] {
            assert!(CalendarPeriod::day(bad).is_err(), "{bad}");
        }
        assert!(zone_named("Mars/Olympus_Mons").is_err());
        // Weeks of a month start on Mondays.
        let (weeks, _) = timeline(&harness, CalendarPeriod::month("2021-01").unwrap(), Step::Week, "UTC");
        assert_eq!(weeks, 5, "the weeks starting 2020-12-28, 01-04, 01-11, 01-18, 01-25");
    }

    #[test]
    fn time_listened_ranks_differently_from_plays() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(
            &harness,
            &[
                ("Air", "2024-05-01T10:00:00Z", Some(60)),
                ("Air", "2024-05-01T11:00:00Z", Some(60)),
                ("Air", "2024-05-01T12:00:00Z", None),
                ("Björk", "2024-05-02T10:00:00Z", Some(600)),
            ],
        );
        let range = CalendarPeriod::month("2024-05").unwrap().range(&zone("UTC")).unwrap();
        let plays = harness.library.top(Kind::Artist, Some(range), 10).unwrap();
        assert_eq!(
            plays.iter().map(|row| (row.name.as_str(), row.plays)).collect::<Vec<_>>(),
            [("Air", 3), ("Björk", 1)]
        );
        let (time, known) = harness.library.top_by_time(Kind::Artist, Some(range), 10).unwrap();
        let rows: Vec<_> = time.iter().map(|row| (row.name.as_str(), row.plays, row.ms)).collect();
        assert_eq!(rows, [("Björk", 1, Some(600_000)), ("Air", 3, Some(120_000))]);
        assert_eq!(known, TimeKnown { known: 3, from_length: 0 });
        let utc = zone("UTC");
        let month = |harness: &Harness| harness.library.timeline(range, Step::Month, &utc).unwrap()[0].totals;
        assert_eq!(month(&harness), Totals { plays: 4, known: 3, from_length: 0, ms: 720_000 });
        // A June listen of the third track (`Song 2`) tells its length: the May one
        // without a duration counts it, in charts and timelines alike.
        add(
            &harness,
            &[
                ("Björk", "2024-06-01T08:00:00Z", Some(1)),
                ("Björk", "2024-06-01T09:00:00Z", Some(1)),
                ("Air", "2024-06-01T10:00:00Z", Some(240)),
            ],
        );
        let (time, known) = harness.library.top_by_time(Kind::Artist, Some(range), 10).unwrap();
        let rows: Vec<_> = time.iter().map(|row| (row.name.as_str(), row.plays, row.ms)).collect();
        assert_eq!(rows, [("Björk", 1, Some(600_000)), ("Air", 3, Some(360_000))]);
        assert_eq!(known, TimeKnown { known: 4, from_length: 1 });
        assert_eq!(month(&harness), Totals { plays: 4, known: 4, from_length: 1, ms: 960_000 });
        let clock = harness.library.clock_hours(range, &utc).unwrap();
        assert_eq!(clock[12], Totals { plays: 1, known: 1, from_length: 1, ms: 240_000 });
    }

    #[test]
    fn deleting_a_listen_uncounts_it() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(&harness, &[("Air", "2024-05-01T10:00:00Z", Some(60)), ("Air", "2024-05-01T10:05:00Z", Some(30))]);
        let utc = zone("UTC");
        let range = day("2024-05-01").range(&utc).unwrap();
        assert_eq!(
            harness.library.clock_hours(range, &utc).unwrap()[10],
            Totals { plays: 2, known: 2, from_length: 0, ms: 90_000 }
        );
        let key = crate::store::ListenKey::new(clock::parse_user_time_s("2024-05-01T10:05:00Z").unwrap() as u64, 2);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let reader = harness.store.read().unwrap();
        let key = reader.listens_reported_at(key.start_s).unwrap()[0].0;
        drop(reader);
        assert!(runtime.block_on(harness.library.delete_listen(key)).unwrap());
        assert_eq!(
            harness.library.clock_hours(range, &utc).unwrap()[10],
            Totals { plays: 1, known: 1, from_length: 0, ms: 60_000 }
        );
        let reader = harness.store.read().unwrap();
        let key =
            reader.listens_reported_at(clock::parse_user_time_s("2024-05-01T10:00:00Z").unwrap() as u64).unwrap()[0].0;
        drop(reader);
        assert!(runtime.block_on(harness.library.delete_listen(key)).unwrap());
        assert!(harness.store.read().unwrap().quarter_hours(0, i64::MAX / 2).unwrap().is_empty(), "no counter left");
    }

    /// A store of the first release gets the quarter-hour counters when it is
    /// opened (the schema upgrade counts its listens), and only once.
    #[test]
    fn a_store_of_the_first_release_is_counted_by_quarter_hour_at_open() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store-v1/musique.redb");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&fixture, dir.path().join(crate::store::STORE_FILE)).unwrap();
        let clock = crate::clock::Clock::at_ms(1_796_093_246_000);
        for _ in 0..2 {
            let store = crate::store::Store::open(dir.path(), 8, clock.clone()).unwrap();
            let reader = store.read().unwrap();
            let mut expected: Vec<QuarterHour> = Vec::new();
            for (key, listen) in reader.listens_oldest_first(0, u64::MAX, usize::MAX).unwrap() {
                let start_s = key.start_s as i64 / 900 * 900;
                if expected.last().is_none_or(|last| last.start_s != start_s) {
                    expected.push(QuarterHour { start_s, ..QuarterHour::default() });
                }
                let last = expected.last_mut().unwrap();
                last.plays += 1;
                last.known += u64::from(listen.duration_ms.is_some());
                last.ms += listen.duration_ms.unwrap_or(0);
            }
            assert_eq!(expected.iter().map(|quarter| quarter.plays).sum::<u64>(), 9, "the fixture's listens");
            assert_eq!(expected.iter().map(|quarter| quarter.ms).sum::<u64>(), 264_000 + 201_000 + 248_000);
            assert_eq!(reader.quarter_hours(0, i64::MAX / 2).unwrap(), expected);
            drop(reader);
            store.close();
        }
    }

    /// A seeded history of a few thousand listens over two years, checked against
    /// buckets computed listen by listen with jiff.
    #[test]
    fn a_generated_history_adds_up_listen_by_listen() {
        let harness = Harness::at("2026-01-01T00:00:00Z");
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let first = clock::parse_user_time_s("2023-11-20T00:00:00Z").unwrap();
        let mut plays: Vec<(String, String, Option<u64>)> = Vec::new();
        for _ in 0..3000 {
            let at = first + (next() % (700 * 86_400)) as i64;
            let duration = (next() % 3 != 0).then(|| 30 + next() % 400);
            let artist = format!("Artist {}", next() % 20);
            let at = Timestamp::from_second(at).unwrap().to_string();
            plays.push((artist, at, duration));
        }
        let borrowed: Vec<(&str, &str, Option<u64>)> =
            plays.iter().map(|(artist, at, duration)| (artist.as_str(), at.as_str(), *duration)).collect();
        for chunk in borrowed.chunks(500) {
            add(&harness, chunk);
        }
        // `add` names tracks by their place in the call: the same in every chunk.
        let track_of = |index: usize| (borrowed[index].0, index % 500);
        let mut lengths = std::collections::HashMap::<(&str, usize), u64>::new();
        for (index, (_, _, duration)) in borrowed.iter().enumerate() {
            if let Some(duration) = duration {
                let length = lengths.entry(track_of(index)).or_insert(0);
                *length = (*length).max(*duration);
            }
        }
        assert!(
            borrowed.iter().enumerate().any(|(index, play)| play.2.is_none() && lengths.contains_key(&track_of(index))),
            "some listens count their track's length"
        );
        for name in ["Europe/Paris", "America/New_York", "Asia/Kathmandu"] {
            let zone = zone(name);
            let range = CalendarPeriod::Year(2024).range(&zone).unwrap();
            let mut days = std::collections::BTreeMap::<Date, Totals>::new();
            let mut hours = [Totals::default(); 24];
            let mut heatmap = [[Totals::default(); 24]; 7];
            for (index, (_, at, duration)) in borrowed.iter().enumerate() {
                // A listen without a duration counts its track's length: the longest duration reported.
                let duration = duration.or(lengths.get(&track_of(index)).copied());
                let from_length = borrowed[index].2.is_none() && duration.is_some();
                let timestamp: Timestamp = at.parse().unwrap();
                if !(range.0..range.1).contains(&timestamp.as_second()) {
                    continue;
                }
                let local = timestamp.to_zoned(zone.clone());
                let add = |totals: &mut Totals| {
                    totals.plays += 1;
                    totals.known += u64::from(duration.is_some());
                    totals.from_length += u64::from(from_length);
                    totals.ms += duration.unwrap_or(0) * 1000;
                };
                add(days.entry(local.date()).or_default());
                add(&mut hours[local.hour() as usize]);
                add(&mut heatmap[local.weekday().to_monday_zero_offset() as usize][local.hour() as usize]);
            }
            let calendar = harness.library.calendar(2024, &zone).unwrap();
            assert_eq!(calendar.len(), 366, "{name}");
            for (date, totals) in &calendar {
                assert_eq!(*totals, days.get(date).copied().unwrap_or_default(), "{name} {date}");
            }
            let timeline = harness.library.timeline(range, Step::Day, &zone).unwrap();
            assert_eq!(
                timeline.iter().map(|bucket| (bucket.start.date(), bucket.totals)).collect::<Vec<_>>(),
                calendar
            );
            assert_eq!(harness.library.clock_hours(range, &zone).unwrap(), hours, "{name}");
            assert_eq!(harness.library.heatmap(range, &zone).unwrap(), heatmap, "{name}");
            let months = harness.library.timeline(range, Step::Month, &zone).unwrap();
            assert_eq!(months.len(), 12);
            let mut by_month = [Totals::default(); 12];
            for (date, totals) in &days {
                let month = &mut by_month[date.month() as usize - 1];
                month.plays += totals.plays;
                month.known += totals.known;
                month.from_length += totals.from_length;
                month.ms += totals.ms;
            }
            assert_eq!(months.iter().map(|bucket| bucket.totals).collect::<Vec<_>>(), by_month, "{name}");
        }
    }
}
