//! Charts: the most played artists, albums and tracks of a period.
//!
//! A range adds whole UTC months from the month counters and counts the
//! partial months at its edges from the listens themselves, so any range
//! costs about two scans of at most a month each.

use super::Library;
use crate::clock::{self, DAY_S};
use crate::error::Result;
use crate::store::{Kind, Reader, Tally, TimeKnown};

/// Named chart periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    Day,
    Week,
    Month,
    Year,
    All,
}

/// One row of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopRow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) artist: Option<String>,
    pub(crate) plays: u64,
    /// Milliseconds played, when the chart ranks by time.
    pub(crate) ms: Option<u64>,
}

impl Library {
    /// The `[from, to)` range of a named period, in whole UTC days ending today.
    pub(crate) fn period_range(&self, period: Period) -> Option<(i64, i64)> {
        let tomorrow = (clock::day_of(self.state.clock.now_s()) + 1) * DAY_S;
        let days = match period {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
            Period::Year => 365,
            Period::All => return None,
        };
        Some((tomorrow - days * DAY_S, tomorrow))
    }

    /// The most played entities of a kind in `[from_s, to_s)` (all time when `None`).
    pub(crate) fn top(&self, kind: Kind, range: Option<(i64, i64)>, limit: usize) -> Result<Vec<TopRow>> {
        let reader = self.state.store.read()?;
        let tally = self.tally(&reader, kind, range)?;
        name_rows(&reader, kind, tally.top(limit), None)
    }

    /// The plays of every entity of a kind in `[from_s, to_s)` (all time when `None`).
    pub(crate) fn tally(&self, reader: &Reader, kind: Kind, range: Option<(i64, i64)>) -> Result<Tally> {
        let mut tally = Tally::default();
        match range {
            None => reader.add_all_time(kind, &mut tally)?,
            Some((from, to)) => {
                let (from, to) = (from.max(0), to.max(0));
                let months = whole_months(from, to);
                match months {
                    None => reader.add_listen_counts(kind, from as u64, to as u64, &mut tally)?,
                    Some(months) => {
                        let months_from = clock::first_day_of_month(months.start) * DAY_S;
                        let months_to = clock::first_day_of_month(months.end) * DAY_S;
                        reader.add_listen_counts(kind, from as u64, months_from as u64, &mut tally)?;
                        reader.add_listen_counts(kind, months_to as u64, to as u64, &mut tally)?;
                        let bucket = |month: i64| u32::try_from(month.max(0)).unwrap_or(u32::MAX);
                        reader.add_months(kind, bucket(months.start)..bucket(months.end), &mut tally)?;
                    }
                }
            }
        }
        Ok(tally)
    }

    /// The entities of a kind with the most time played in `[from_s, to_s)`
    /// (all time when `None`), by scanning the range's listens; listens without
    /// a duration count 0 ms. Also returns how many listens had a duration.
    pub(crate) fn top_by_time(
        &self,
        kind: Kind,
        range: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<(Vec<TopRow>, TimeKnown)> {
        let reader = self.state.store.read()?;
        let (from, to) = range.unwrap_or((0, i64::MAX));
        let (mut from, mut to) = (from.max(0) as u64, to.max(0) as u64);
        if let Some((first, last)) = reader.listen_bounds()? {
            (from, to) = (from.max(first), to.min(last.saturating_add(1)));
        }
        // Every listen of the range is read: both halves at once, on one snapshot.
        let middle = from + to.saturating_sub(from) / 2;
        let scan = |from: u64, to: u64| -> Result<(Tally, Tally, TimeKnown)> {
            let (mut time, mut plays, mut known) = (Tally::default(), Tally::default(), TimeKnown::default());
            reader.add_listen_time(kind, from, to, &mut time, &mut plays, &mut known)?;
            Ok((time, plays, known))
        };
        let (early, late) = std::thread::scope(|scope| {
            let late = scope.spawn(|| scan(middle, to));
            let early = scan(from, middle);
            (early, late.join().expect("a listen scan panicked"))
        });
        let (mut time, mut plays, mut known) = early?;
        let (late_time, late_plays, late_known) = late?;
        time.merge(&late_time);
        plays.merge(&late_plays);
        known.merge(late_known);
        let rows = time.top(limit);
        let plays: Vec<u64> = rows.iter().map(|(id, _)| plays.get(*id)).collect();
        let rows = name_rows(&reader, kind, rows, Some(&plays))?;
        Ok((rows, known))
    }
}

/// Names the `(id, value)` rows of a chart; `plays` are the rows' plays when
/// the values are milliseconds.
pub(super) fn name_rows(
    reader: &Reader,
    kind: Kind,
    rows: Vec<(u64, u64)>,
    plays: Option<&[u64]>,
) -> Result<Vec<TopRow>> {
    let mut names = reader.names()?;
    rows.into_iter()
        .enumerate()
        .map(|(index, (id, value))| {
            let (name, artist) = match kind {
                Kind::Artist => (names.artist(id)?, None),
                Kind::Album => {
                    let (title, artist_id) = names.album(id)?;
                    (title, Some(names.artist(artist_id)?))
                }
                Kind::Track => {
                    let (title, artist_id, _) = names.track(id)?;
                    (title, Some(names.artist(artist_id)?))
                }
            };
            let (plays, ms) = match plays {
                Some(plays) => (plays[index], Some(value)),
                None => (value, None),
            };
            Ok(TopRow { id, name: name.to_string(), artist: artist.map(|artist| artist.to_string()), plays, ms })
        })
        .collect()
}

/// The whole UTC months (month numbers, end exclusive) inside `[from, to)`,
/// when there is at least one.
fn whole_months(from: i64, to: i64) -> Option<std::ops::Range<i64>> {
    let first_day = clock::day_of(from - 1) + 1;
    let mut first_month = clock::month_of_day(first_day);
    if clock::first_day_of_month(first_month) < first_day {
        first_month += 1;
    }
    let end_month = clock::month_of_day(clock::day_of(to));
    (first_month < end_month).then_some(first_month..end_month)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Month numbers since 1970-01 of `YYYY-MM-DD`.
    fn month(date: &str) -> i64 {
        clock::month_of_day(clock::day_of(clock::parse_date_s(date).unwrap()))
    }

    fn at(time: &str) -> i64 {
        clock::parse_user_time_s(time).unwrap()
    }

    #[test]
    fn ranges_split_into_whole_months_and_edges() {
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
        let cases: [Case; 7] = [
            // A whole month, exactly.
            ("2024-02-01", "2024-03-01", Some(("2024-02-01", "2024-03-01"))),
            // Starting a second after midnight: February is not whole.
            ("2024-02-01T00:00:01Z", "2024-03-01", None),
            // Whole February inside, with edges on both sides.
            ("2024-01-31", "2024-03-15", Some(("2024-02-01", "2024-03-01"))),
            // Within one month.
            ("2024-03-02", "2024-03-30", None),
            // Across a year end.
            ("2023-11-15", "2024-02-10", Some(("2023-12-01", "2024-02-01"))),
            // A leap day at the end of the range.
            ("2024-02-01", "2024-02-29", None),
            // Empty.
            ("2024-02-01", "2024-02-01", None),
        ];
        for (from, to, expected) in cases {
            let expected = expected.map(|(first, end)| month(first)..month(end));
            assert_eq!(whole_months(at(from), at(to)), expected, "{from} .. {to}");
        }
    }
}

#[cfg(test)]
mod harness_tests {
    use super::*;
    use crate::harness::Harness;
    use crate::library::{Commit, Listen, Origin, SourceName};

    fn add(harness: &Harness, plays: &[(&str, &str)]) {
        let origin = Origin::Rpc(SourceName::parse("rpc").unwrap());
        let mut intake = harness.library.intake(&origin);
        let listens = plays
            .iter()
            .map(|(artist, at)| {
                let listen = Listen {
                    artist: (*artist).to_owned(),
                    track: format!("Song at {at}"),
                    album: None,
                    artists: Vec::new(),
                    started_ms: clock::parse_user_time_s(at).unwrap() * 1000,
                    duration_ms: None,
                    loved: None,
                    details: None,
                };
                intake.admit(listen).unwrap()
            })
            .collect();
        harness.library.commit(Commit { listens, ..Commit::default() }).unwrap().wait_blocking().unwrap();
    }

    fn chart(harness: &Harness, range: Option<(i64, i64)>) -> Vec<(String, u64)> {
        let rows = harness.library.top(Kind::Artist, range, 10).unwrap();
        rows.into_iter().map(|row| (row.name, row.plays)).collect()
    }

    #[test]
    fn named_periods_end_with_today_in_the_clock() {
        // A minute after midnight: a listen two minutes ago was yesterday.
        let harness = Harness::at("2024-03-15T00:01:00Z");
        add(&harness, &[("Yesterday Band", "2024-03-14T23:59:00Z"), ("Today Band", "2024-03-15T00:00:30Z")]);
        let day = harness.library.period_range(Period::Day);
        assert_eq!(day, Some((clock::parse_date_s("2024-03-15").unwrap(), clock::parse_date_s("2024-03-16").unwrap())));
        assert_eq!(chart(&harness, day), [("Today Band".to_owned(), 1)]);
        let week = harness.library.period_range(Period::Week);
        assert_eq!(chart(&harness, week).len(), 2);
        // The next day, today's listen is yesterday's.
        harness.clock.advance_ms(DAY_S * 1000);
        assert!(chart(&harness, harness.library.period_range(Period::Day)).is_empty());
        assert_eq!(harness.library.period_range(Period::All), None);
    }

    #[test]
    fn ranges_count_the_same_as_the_listens_inside() {
        let harness = Harness::at("2024-06-01T12:00:00Z");
        let plays = [
            ("Air", "2024-01-31T12:00:00Z"),
            ("Air", "2024-02-01T00:00:00Z"),
            ("Björk", "2024-02-01T00:00:01Z"),
            ("Björk", "2024-02-29T23:59:59Z"),
            ("Björk", "2024-03-01T00:00:00Z"),
            ("Cocteau Twins", "2024-03-15T08:00:00Z"),
            ("Air", "2024-04-30T23:59:59Z"),
        ];
        add(&harness, &plays);
        let bounds = [
            "2024-01-01",
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00:01Z",
            "2024-02-01",
            "2024-02-01T00:00:01Z",
            "2024-02-15",
            "2024-03-01",
            "2024-03-01T00:00:01Z",
            "2024-04-30T23:59:59Z",
            "2024-05-01",
        ];
        for from in bounds {
            for to in bounds {
                let (from_s, to_s) = (clock::parse_user_time_s(from).unwrap(), clock::parse_user_time_s(to).unwrap());
                if to_s <= from_s {
                    continue;
                }
                let mut expected: Vec<(String, u64)> = Vec::new();
                for (artist, at) in plays {
                    let at = clock::parse_user_time_s(at).unwrap();
                    if (from_s..to_s).contains(&at) {
                        match expected.iter_mut().find(|(name, _)| name == artist) {
                            Some(row) => row.1 += 1,
                            None => expected.push((artist.to_owned(), 1)),
                        }
                    }
                }
                expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let mut got = chart(&harness, Some((from_s, to_s)));
                got.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                assert_eq!(got, expected, "{from} .. {to}");
            }
        }
    }
}
