//! Time: the [`Clock`] every handle reads "now" from, parsing the forms exports
//! and callers use, and the UTC day and month numbers the aggregates are
//! bucketed by. All times are UTC.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Seconds in a day.
pub(crate) const DAY_S: i64 = 86_400;

/// Where "now" comes from. Every handle takes one, so tests can set the time;
/// the daemon runs on [`Clock::system`]. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Clock {
    /// `None`: the system clock. `Some`: a clock that only moves when told to (tests).
    set: Option<Arc<AtomicI64>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.set {
            None => formatter.write_str("Clock::system"),
            Some(at) => write!(formatter, "Clock::at({})", at.load(Ordering::Relaxed)),
        }
    }
}

impl Clock {
    /// The system's clock.
    pub(crate) fn system() -> Clock {
        Clock { set: None }
    }

    /// A clock standing at `ms` (unix milliseconds) until [`Clock::set_ms`] or [`Clock::advance_ms`].
    #[cfg(test)]
    pub(crate) fn at_ms(ms: i64) -> Clock {
        Clock { set: Some(Arc::new(AtomicI64::new(ms))) }
    }

    /// Moves a set clock forward; the system clock ignores it.
    #[cfg(test)]
    pub(crate) fn advance_ms(&self, ms: i64) {
        if let Some(at) = &self.set {
            at.fetch_add(ms, Ordering::Relaxed);
        }
    }

    /// Now, in unix milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        match &self.set {
            Some(at) => at.load(Ordering::Relaxed),
            None => now_ms(),
        }
    }

    /// Now, in unix seconds.
    pub(crate) fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system's now, in unix milliseconds. Handles use their [`Clock`] instead.
fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Parses `2024-05-23T06:49:10Z` (and any RFC 3339 time) into unix milliseconds.
pub(crate) fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    if let Some(ms) = parse_zulu_fast(text.as_bytes()) {
        return Some(ms);
    }
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Parses `2022-12-05 16:52` (Spotify account data, UTC) into unix milliseconds.
pub(crate) fn parse_minute_ms(text: &str) -> Option<i64> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]");
    let parsed = PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    Some(parsed.unix_timestamp() * 1000)
}

/// The UTC unix seconds of `local`, a wall-clock time of this machine's time
/// zone written as if it were UTC (what a `.scrobbler.log` with `#TZ/UNKNOWN` holds).
pub(crate) fn local_to_utc_s(local: i64) -> i64 {
    // The zone's offset at the guess, then again at the corrected time (right across a DST change).
    let offset_at = |utc: i64| -> i64 {
        let time: libc::time_t = utc as libc::time_t;
        // SAFETY: `localtime_r` only reads `time` and writes the `tm` it is given.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let converted = unsafe { libc::localtime_r(&time, &mut tm) };
        if converted.is_null() { 0 } else { tm.tm_gmtoff as i64 }
    };
    let guess = local - offset_at(local);
    local - offset_at(guess)
}

/// Parses `2024-05-23` (a UTC date) into the unix seconds of its midnight.
pub(crate) fn parse_date_s(text: &str) -> Option<i64> {
    let format = format_description!("[year]-[month]-[day]");
    let date = Date::parse(text, format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Parses a caller's time: unix seconds as text, RFC 3339, `YYYY-MM-DD HH:MM` or a date.
pub(crate) fn parse_user_time_s(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if let Some(ms) = parse_rfc3339_ms(text) {
        return Some(ms.div_euclid(1000));
    }
    if let Some(ms) = parse_minute_ms(text) {
        return Some(ms / 1000);
    }
    parse_date_s(text)
}

/// The fixed shape `YYYY-MM-DDTHH:MM:SSZ`, which every Spotify record uses, without allocation.
fn parse_zulu_fast(bytes: &[u8]) -> Option<i64> {
    if bytes.len() != 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
        || bytes[19] != b'Z'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut value = 0i64;
        for &byte in &bytes[range] {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
        }
        Some(value)
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
/// A unix time as its UTC date, `2024-05-23`.
pub(crate) fn format_date(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(day_of(seconds));
    format!("{year:04}-{month:02}-{day:02}")
}

pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month 1..=12, day) of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC day number (days since 1970-01-01) of a unix second.
pub(crate) fn day_of(seconds: i64) -> i64 {
    seconds.div_euclid(DAY_S)
}

/// Months since 1970-01 of a day number.
pub(crate) fn month_of_day(day: i64) -> i64 {
    let (year, month, _) = civil_from_days(day);
    (year - 1970) * 12 + month - 1
}

/// The first day number of a month number.
pub(crate) fn first_day_of_month(month: i64) -> i64 {
    days_from_civil(1970 + month.div_euclid(12), month.rem_euclid(12) + 1, 1)
}

/// Hour of the week, 0 = Monday 00:00–01:00 UTC, 167 = Sunday 23:00.
pub(crate) fn hour_of_week(seconds: i64) -> u32 {
    // 1970-01-01 was a Thursday (weekday 3 counting from Monday = 0).
    let weekday = (day_of(seconds) + 3).rem_euclid(7);
    let hour = seconds.rem_euclid(DAY_S) / 3600;
    u32::try_from(weekday * 24 + hour).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_export_times() {
        assert_eq!(parse_rfc3339_ms("2024-05-23T06:49:10Z"), Some(1_716_446_950_000));
        assert_eq!(parse_rfc3339_ms("2024-05-23T08:49:10+02:00"), Some(1_716_446_950_000));
        assert_eq!(parse_rfc3339_ms("2024-05-23"), None);
        assert_eq!(parse_rfc3339_ms("2024-13-23T06:49:10Z"), None);
        assert_eq!(parse_minute_ms("2022-12-05 16:52"), Some(1_670_259_120_000));
        assert_eq!(parse_user_time_s("2024-05-23"), Some(1_716_422_400));
        assert_eq!(parse_user_time_s("1716422400"), Some(1_716_422_400));
        assert_eq!(parse_user_time_s("yesterday"), None);
    }

    #[test]
    fn civil_round_trip() {
        for day in (-800_000..800_000).step_by(997) {
            let (year, month, dom) = civil_from_days(day);
            assert_eq!(days_from_civil(year, month, dom), day);
        }
        assert_eq!(month_of_day(day_of(1_716_446_950)), (2024 - 1970) * 12 + 4);
        assert_eq!(first_day_of_month(month_of_day(19_866)), 19_844);
    }

    #[test]
    fn hours_of_week() {
        // 2024-05-20 was a Monday.
        assert_eq!(hour_of_week(parse_user_time_s("2024-05-20T00:30:00Z").unwrap()), 0);
        assert_eq!(hour_of_week(parse_user_time_s("2024-05-26T23:59:00Z").unwrap()), 167);
    }
}
