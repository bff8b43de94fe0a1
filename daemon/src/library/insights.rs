//! What a history says beyond counts: listening sessions, streaks of days,
//! discoveries and climbers, a date years ago, one entity's page, and a
//! summary ("wrapped") of any period.
//!
//! Each answer reads its period's listens once (`Reader::scan_plays`, heads
//! only) on one snapshot; nothing is kept per listen on the import path, so an
//! answer is exact the moment an import commits. A session is a run of listens
//! where each starts at most the gap after the previous one ended; it belongs
//! to the period it starts in, whole: the walk looks at the listen before the
//! period to know whether the first ones continue an older session, and reads
//! past the period's end until its last session ends (at most a day past it: a
//! session still going then is cut there).
//!
//! A long period is read in two parts at once (split at a local midnight), each
//! walking its own part the same way, and the parts' tallies are added up: a
//! session is counted by the part it starts in, a listen by the part it is in.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Library;
use super::analytics::{self, Offsets, Step};
use super::charts::{TopRow, name_rows};
use crate::error::{Error, Result};
use crate::store::{Kind, Play, Reader, Tally, TimeKnown};

/// The gap that ends a session unless `[general] session_gap_minutes` says otherwise.
pub(crate) const DEFAULT_GAP_S: i64 = 30 * 60;
/// How far past its period a walk reads to finish the period's last session.
const READ_AHEAD_S: i64 = 86_400;
/// Periods at least this long are read in two parts at once.
const SPLIT_S: i64 = 60 * 86_400;
/// How many of the period's top entities `climbers` looks at.
const CLIMBER_WINDOW: usize = 100;

const KINDS: [Kind; 3] = [Kind::Artist, Kind::Album, Kind::Track];

/// A listening session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) start_s: i64,
    /// The last listen's end: its start plus its time (its start alone when unknown).
    pub(crate) end_s: i64,
    pub(crate) plays: u64,
    /// Known durations added up.
    pub(crate) ms: u64,
    /// The artists of the first and the last listen.
    pub(crate) opener: u64,
    pub(crate) closer: u64,
}

impl Session {
    fn of(play: &Play) -> Session {
        Session {
            start_s: play.start_s,
            end_s: end_of(play),
            plays: 1,
            ms: play.ms.unwrap_or(0),
            opener: play.artist,
            closer: play.artist,
        }
    }

    fn extend(&mut self, play: &Play) {
        self.end_s = self.end_s.max(end_of(play));
        self.plays += 1;
        self.ms += play.ms.unwrap_or(0);
        self.closer = play.artist;
    }

    pub(crate) fn length_s(&self) -> i64 {
        self.end_s - self.start_s
    }
}

fn end_of(play: &Play) -> i64 {
    play.start_s + play.ms.map_or(0, |ms| (ms / 1000) as i64)
}

/// What a walk over a period's listens sees, in time order.
enum Seen<'a> {
    /// A listen; `counted` is false for those past the period's end, read to
    /// finish its last session.
    Play { play: &'a Play, counted: bool },
    /// A session ended; `ours` is false for one that began before the period.
    Ended { session: &'a Session, ours: bool },
}

/// Walks the listens of `[from, to)` and the sessions they make (see the module docs).
fn walk(reader: &Reader, (from, to): (i64, i64), gap_s: i64, mut seen: impl FnMut(Seen)) -> Result<()> {
    let mut current = reader.play_before(from)?.map(|play| Session::of(&play));
    let mut ours = current.is_none();
    reader.scan_plays(from, i64::MAX, |play| {
        let continues = current.as_ref().is_some_and(|session| play.start_s - session.end_s <= gap_s);
        if play.start_s >= to && (!continues || play.start_s >= to.saturating_add(READ_AHEAD_S)) {
            return ControlFlow::Break(());
        }
        match current.as_mut() {
            Some(session) if continues => session.extend(&play),
            _ => {
                if let Some(ended) = current.replace(Session::of(&play)) {
                    seen(Seen::Ended { session: &ended, ours });
                }
                ours = true;
            }
        }
        seen(Seen::Play { play: &play, counted: play.start_s < to });
        ControlFlow::Continue(())
    })?;
    if let Some(ended) = current {
        seen(Seen::Ended { session: &ended, ours });
    }
    Ok(())
}

/// Keeps the `limit` best sessions by a key (ties: the earlier one).
struct Best {
    limit: usize,
    sessions: Vec<Session>,
    key: fn(&Session) -> i64,
}

impl Best {
    fn new(limit: usize, key: fn(&Session) -> i64) -> Best {
        Best { limit, sessions: Vec::new(), key }
    }

    fn offer(&mut self, session: &Session) {
        if self.limit == 0 {
            return;
        }
        let key = self.key;
        if self.sessions.len() < self.limit {
            self.sessions.push(*session);
        } else if let Some((index, worst)) =
            self.sessions.iter().enumerate().min_by_key(|(_, kept)| (key(kept), std::cmp::Reverse(kept.start_s)))
            && key(session) > key(worst)
        {
            self.sessions[index] = *session;
        }
    }

    fn merge(&mut self, other: Best) {
        for session in &other.sessions {
            self.offer(session);
        }
    }

    fn into_sorted(mut self) -> Vec<Session> {
        let key = self.key;
        self.sessions.sort_by_key(|session| (std::cmp::Reverse(key(session)), session.start_s));
        self.sessions
    }
}

/// Runs `work` on `range`, or on its two halves at once when it is long (split at
/// the local midnight nearest the middle, so no day is in both); results in time order.
fn in_parts<T: Send>(
    reader: &Reader,
    range: (i64, i64),
    zone: &TimeZone,
    work: impl Fn((i64, i64)) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    // Split the part of the range that holds listens.
    let (first, last) = reader.listen_bounds()?.map_or((range.0, range.1), |(first, last)| (first as i64, last as i64));
    let (from, to) = (range.0.max(first), range.1.min(last.saturating_add(1)));
    if to.saturating_sub(from) < SPLIT_S {
        return Ok(vec![work(range)?]);
    }
    let middle = analytics::date_of(from + (to - from) / 2, zone);
    let middle = analytics::CalendarPeriod::Day(middle).range(zone)?.0;
    if middle <= range.0 || middle >= range.1 {
        return Ok(vec![work(range)?]);
    }
    let (early, late) = std::thread::scope(|scope| {
        let late = scope.spawn(|| work((middle, range.1)));
        (work((range.0, middle)), late.join().expect("a listen walk panicked"))
    });
    Ok(vec![early?, late?])
}

/// The local day number (days since 1970-01-01 in the zone) and hour of a second.
fn local_day_hour(offsets: &mut Offsets, seconds: i64) -> (i64, usize) {
    let local = seconds + offsets.at(seconds);
    (local.div_euclid(86_400), (local.rem_euclid(86_400) / 3600) as usize)
}

/// The weekday of a local day number, Monday 0 (1970-01-01 was a Thursday).
fn weekday_of(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// The date of a local day number.
pub(crate) fn date_of_day(day: i64) -> Date {
    Date::constant(1970, 1, 1).checked_add(day.days()).unwrap_or(Date::MAX)
}

/// Sessions of a period.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionStats {
    pub(crate) count: u64,
    pub(crate) plays: u64,
    pub(crate) total_s: u64,
    /// Longest first.
    pub(crate) longest: Vec<Session>,
    pub(crate) per_weekday: [u64; 7],
    pub(crate) per_hour: [u64; 24],
    pub(crate) openers: Vec<TopRow>,
    pub(crate) closers: Vec<TopRow>,
}

/// A run of days with a listen (local day numbers, both ends in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) first: i64,
    pub(crate) last: i64,
}

impl Run {
    pub(crate) fn days(&self) -> u32 {
        (self.last - self.first + 1) as u32
    }
}

/// Streaks of a period.
#[derive(Debug, Clone)]
pub(crate) struct StreakStats {
    pub(crate) today: i64,
    pub(crate) days: u32,
    pub(crate) current: Option<Run>,
    pub(crate) longest: Option<Run>,
    pub(crate) artists: Vec<(TopRow, Run)>,
    pub(crate) albums: Vec<(TopRow, Run)>,
    pub(crate) current_artists: Vec<(TopRow, Run)>,
}

/// Something first heard in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) row: TopRow,
    pub(crate) first_s: i64,
}

/// Discoveries of one kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct FoundKind {
    pub(crate) count: u64,
    pub(crate) top: Vec<Found>,
}

/// Discoveries of a period: per kind (artists, albums, tracks), and per month.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiscoveryStats {
    pub(crate) kinds: [FoundKind; 3],
    /// Each month's start in the zone (`2024-05`) and its new artists, albums, tracks.
    pub(crate) per_month: Vec<(String, [u64; 3])>,
}

/// An entity ranked in two periods.
#[derive(Debug, Clone)]
pub(crate) struct Climb {
    pub(crate) row: TopRow,
    pub(crate) rank: u32,
    pub(crate) previous_rank: Option<u32>,
    pub(crate) previous_plays: u64,
}

/// What one day some years ago held.
#[derive(Debug, Clone)]
pub(crate) struct DayBack {
    pub(crate) years_ago: u32,
    pub(crate) date: Date,
    pub(crate) range: (i64, i64),
    pub(crate) plays: u64,
    pub(crate) ms: u64,
    pub(crate) artists: Vec<TopRow>,
}

/// One artist, album or track.
#[derive(Debug, Clone, Default)]
pub(crate) struct EntityStats {
    pub(crate) name: String,
    pub(crate) artist: Option<String>,
    pub(crate) plays: u64,
    pub(crate) ms: u64,
    pub(crate) known: TimeKnown,
    pub(crate) rank: Option<u32>,
    pub(crate) first_s: Option<i64>,
    pub(crate) last_s: Option<i64>,
    /// `(plays, ms, rank)` in the period asked for.
    pub(crate) period: Option<(u64, u64, Option<u32>)>,
    /// `(year, plays, ms)`, every year from the first listen's to the last's.
    pub(crate) per_year: Vec<(i16, u64, u64)>,
    pub(crate) top_tracks: Vec<TopRow>,
    pub(crate) top_albums: Vec<TopRow>,
    pub(crate) sessions: u64,
    /// Latest first.
    pub(crate) recent_sessions: Vec<Session>,
    /// Artists sharing its sessions: the artist, sessions together, lift.
    pub(crate) co_listened: Vec<(TopRow, u64, f64)>,
}

/// A summary of a period.
#[derive(Debug, Clone, Default)]
pub(crate) struct WrappedStats {
    pub(crate) plays: u64,
    pub(crate) ms: u64,
    pub(crate) known: TimeKnown,
    /// Distinct artists, albums, tracks.
    pub(crate) distinct: [u64; 3],
    pub(crate) days: u64,
    pub(crate) sessions: u64,
    /// The top five by plays and by time, per kind.
    pub(crate) top_plays: [Vec<TopRow>; 3],
    pub(crate) top_time: [Vec<TopRow>; 3],
    /// `(local day, plays, ms)`.
    pub(crate) top_day: Option<(i64, u64, u64)>,
    pub(crate) longest_session: Option<Session>,
    pub(crate) discoveries: DiscoveryStats,
    pub(crate) streak: Option<Run>,
    pub(crate) clock: [u64; 24],
}

/// What was heard before a period: plays per kind.
struct Before([Tally; 3]);

impl Before {
    /// From the counters of the shorter side: what lies before `from`, or all time
    /// less what lies after.
    fn new(library: &Library, reader: &Reader, from: i64) -> Result<Before> {
        let mut before: [Tally; 3] = Default::default();
        if let Some((first, last)) = reader.listen_bounds()?
            && (first as i64) < from
        {
            let (first, end) = (first as i64, last as i64 + 1);
            for (index, kind) in KINDS.into_iter().enumerate() {
                before[index] = if from - first <= end - from {
                    library.tally(reader, kind, Some((first, from)))?
                } else {
                    let mut all = library.tally(reader, kind, None)?;
                    all.subtract(&library.tally(reader, kind, Some((from, end.max(from + 1))))?);
                    all
                };
            }
        }
        Ok(Before(before))
    }
}

/// First listens in (a part of) a period of what was not heard before it.
#[derive(Default)]
struct FirstSeen {
    /// First listen of each new entity, per kind (`i64::MAX`: not new, or not heard).
    first: [Vec<i64>; 3],
}

impl FirstSeen {
    fn see(&mut self, before: &Before, play: &Play) {
        let ids = [Some(play.artist), play.album, Some(play.track)];
        for (index, id) in ids.into_iter().enumerate() {
            let Some(id) = id else { continue };
            if before.0[index].get(id) > 0 {
                continue;
            }
            let first = &mut self.first[index];
            let slot = id as usize;
            if slot >= first.len() {
                first.resize(slot + 1, i64::MAX);
            }
            first[slot] = first[slot].min(play.start_s);
        }
    }

    /// Adds a later part.
    fn merge(&mut self, later: FirstSeen) {
        for index in 0..3 {
            let (mine, theirs) = (&mut self.first[index], &later.first[index]);
            if theirs.len() > mine.len() {
                mine.resize(theirs.len(), i64::MAX);
            }
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                *mine = (*mine).min(*theirs);
            }
        }
    }

    /// Names the `limit` most played new entities of each kind (`plays`: the period's
    /// plays per kind) and counts the new ones per month of `range`.
    fn finish(
        self,
        reader: &Reader,
        plays: &[Tally; 3],
        range: (i64, i64),
        zone: &TimeZone,
        limit: usize,
    ) -> Result<DiscoveryStats> {
        let months = analytics::bucket_starts(range.0, range.1, Step::Month, zone)?;
        let starts: Vec<i64> = months.iter().map(|start| start.timestamp().as_second()).collect();
        let mut per_month: Vec<(String, [u64; 3])> =
            months.iter().map(|start| (start.strftime("%Y-%m").to_string(), [0; 3])).collect();
        let mut kinds: [FoundKind; 3] = Default::default();
        for (index, kind) in KINDS.into_iter().enumerate() {
            let (mut count, mut new) = (0, Tally::default());
            for (id, &first) in self.first[index].iter().enumerate().filter(|(_, first)| **first != i64::MAX) {
                count += 1;
                new.add(id as u64, plays[index].get(id as u64));
                let month = starts.partition_point(|start| *start <= first).saturating_sub(1);
                if let Some((_, counts)) = per_month.get_mut(month) {
                    counts[index] += 1;
                }
            }
            let top = new.top(limit);
            let firsts: Vec<i64> = top.iter().map(|(id, _)| self.first[index][*id as usize]).collect();
            let rows = name_rows(reader, kind, top, None)?;
            kinds[index] = FoundKind {
                count,
                top: rows.into_iter().zip(firsts).map(|(row, first_s)| Found { row, first_s }).collect(),
            };
        }
        Ok(DiscoveryStats { kinds, per_month })
    }
}

/// The runs of consecutive days in ascending, distinct day numbers.
fn runs(days: &[i64]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for &day in days {
        match runs.last_mut() {
            Some(run) if run.last + 1 == day => run.last = day,
            _ => runs.push(Run { first: day, last: day }),
        }
    }
    runs
}

/// The longest run (the latest of equals).
fn longest(runs: &[Run]) -> Option<Run> {
    runs.iter().copied().max_by_key(|run| (run.days(), run.last))
}

/// One entity's days in (a part of) a period, seen in order (local day numbers:
/// 32 bits hold them for millions of years, and keep the vector small).
#[derive(Clone, Copy)]
struct EntityRun {
    /// The first day, and how many days in a row from it (until the first break).
    first: i32,
    lead: u32,
    /// The last day, and the run ending on it.
    last: i32,
    run: u32,
    /// The longest run and its last day.
    best: u32,
    best_last: i32,
    broken: bool,
}

impl Default for EntityRun {
    fn default() -> EntityRun {
        EntityRun { first: i32::MIN, lead: 0, broken: false, last: i32::MIN, run: 0, best: 0, best_last: i32::MIN }
    }
}

impl EntityRun {
    fn see(&mut self, day: i64) {
        let day = day as i32;
        if day == self.last {
            return;
        }
        if self.run == 0 {
            self.first = day;
            self.run = 1;
        } else if self.last + 1 == day {
            self.run += 1;
        } else {
            self.run = 1;
            self.broken = true;
        }
        if !self.broken {
            self.lead = self.run;
        }
        self.last = day;
        if self.run >= self.best {
            (self.best, self.best_last) = (self.run, day);
        }
    }

    /// Adds the same entity's days of a later part (no day in both).
    fn merge(&mut self, later: &EntityRun) {
        if later.run == 0 {
            return;
        }
        if self.run == 0 {
            *self = *later;
            return;
        }
        // The longest of the three (the latest of equals): this part's, the run
        // across the split, the later part's.
        let mut best = (self.best, self.best_last).max((later.best, later.best_last));
        if self.last + 1 == later.first {
            let joined = self.run + later.lead;
            best = best.max((joined, later.first + later.lead as i32 - 1));
            if !self.broken {
                self.lead = joined;
            }
            self.run = if later.broken { later.run } else { self.run + later.run };
        } else {
            self.broken = true;
            self.run = later.run;
        }
        (self.best, self.best_last) = best;
        self.broken |= later.broken;
        self.last = later.last;
    }
}

fn see_run(runs: &mut Vec<EntityRun>, id: u64, day: i64) {
    let slot = id as usize;
    if slot >= runs.len() {
        runs.resize(slot + 1, EntityRun::default());
    }
    runs[slot].see(day);
}

fn merge_runs(runs: &mut Vec<EntityRun>, later: &[EntityRun]) {
    if later.len() > runs.len() {
        runs.resize(later.len(), EntityRun::default());
    }
    for (mine, theirs) in runs.iter_mut().zip(later) {
        mine.merge(theirs);
    }
}

/// Ranks (1-based, by plays, ties by id) of every entity with plays.
fn ranks(tally: &Tally) -> Vec<(u64, u64)> {
    tally.top(usize::MAX)
}

/// Sessions of (a part of) a period, before naming.
struct SessionTally {
    count: u64,
    plays: u64,
    total_s: u64,
    per_weekday: [u64; 7],
    per_hour: [u64; 24],
    openers: Tally,
    closers: Tally,
    longest: Best,
}

impl SessionTally {
    fn new(limit: usize) -> SessionTally {
        SessionTally {
            count: 0,
            plays: 0,
            total_s: 0,
            per_weekday: [0; 7],
            per_hour: [0; 24],
            openers: Tally::default(),
            closers: Tally::default(),
            longest: Best::new(limit, Session::length_s),
        }
    }

    fn add(&mut self, session: &Session, offsets: &mut Offsets) {
        self.count += 1;
        self.plays += session.plays;
        self.total_s += session.length_s().max(0) as u64;
        let (day, hour) = local_day_hour(offsets, session.start_s);
        self.per_weekday[weekday_of(day)] += 1;
        self.per_hour[hour] += 1;
        self.openers.add(session.opener, 1);
        self.closers.add(session.closer, 1);
        self.longest.offer(session);
    }

    fn merge(&mut self, other: SessionTally) {
        self.count += other.count;
        self.plays += other.plays;
        self.total_s += other.total_s;
        for (mine, theirs) in self.per_weekday.iter_mut().zip(other.per_weekday) {
            *mine += theirs;
        }
        for (mine, theirs) in self.per_hour.iter_mut().zip(other.per_hour) {
            *mine += theirs;
        }
        self.openers.merge(&other.openers);
        self.closers.merge(&other.closers);
        self.longest.merge(other.longest);
    }
}

/// An entity in (a part of) the history, before naming.
struct EntityTally {
    plays: u64,
    ms: u64,
    known: TimeKnown,
    first_s: Option<i64>,
    last_s: Option<i64>,
    /// `(year, plays, ms)`, years in order, those without a listen left out.
    per_year: Vec<(i16, u64, u64)>,
    period_plays: u64,
    period_ms: u64,
    tracks: Tally,
    albums: Tally,
    /// Sessions of the period: all of them, those holding the entity, and per artist.
    all_sessions: u64,
    sessions: u64,
    recent: Best,
    sessions_with: Tally,
    together: Tally,
}

impl EntityTally {
    fn merge(&mut self, later: EntityTally) {
        self.plays += later.plays;
        self.ms += later.ms;
        self.known.merge(later.known);
        self.first_s = self.first_s.or(later.first_s);
        self.last_s = later.last_s.or(self.last_s);
        for (year, plays, ms) in later.per_year {
            match self.per_year.last_mut() {
                Some((last, my_plays, my_ms)) if *last == year => {
                    *my_plays += plays;
                    *my_ms += ms;
                }
                _ => self.per_year.push((year, plays, ms)),
            }
        }
        self.period_plays += later.period_plays;
        self.period_ms += later.period_ms;
        self.tracks.merge(&later.tracks);
        self.albums.merge(&later.albums);
        self.all_sessions += later.all_sessions;
        self.sessions += later.sessions;
        self.recent.merge(later.recent);
        self.sessions_with.merge(&later.sessions_with);
        self.together.merge(&later.together);
    }
}

/// What wrapped adds up in (a part of) a period, before naming.
struct WrappedTally {
    plays: u64,
    ms: u64,
    known: TimeKnown,
    by_plays: [Tally; 3],
    by_time: [Tally; 3],
    /// `(local day, plays, ms)`, days in order.
    days: Vec<(i64, u64, u64)>,
    clock: [u64; 24],
    sessions: u64,
    longest: Best,
    firsts: FirstSeen,
}

impl WrappedTally {
    fn merge(&mut self, later: WrappedTally) {
        self.plays += later.plays;
        self.ms += later.ms;
        self.known.merge(later.known);
        for index in 0..3 {
            self.by_plays[index].merge(&later.by_plays[index]);
            self.by_time[index].merge(&later.by_time[index]);
        }
        self.days.extend(later.days);
        for (mine, theirs) in self.clock.iter_mut().zip(later.clock) {
            *mine += theirs;
        }
        self.sessions += later.sessions;
        self.longest.merge(later.longest);
        self.firsts.merge(later.firsts);
    }
}

/// Adds `ms` to the last `(key, plays, ms)` row when it has `key`, else starts a row.
fn count_in<K: PartialEq>(rows: &mut Vec<(K, u64, u64)>, key: K, ms: u64) {
    match rows.last_mut() {
        Some((last, plays, total)) if *last == key => {
            *plays += 1;
            *total += ms;
        }
        _ => rows.push((key, 1, ms)),
    }
}

/// Merges the parts' results in order.
fn merged<T>(parts: Vec<T>, merge: impl Fn(&mut T, T)) -> T {
    let mut parts = parts.into_iter();
    let mut all = parts.next().expect("at least one part");
    for part in parts {
        merge(&mut all, part);
    }
    all
}

impl Library {
    /// The gap that ends a session (`[general] session_gap_minutes`), in seconds.
    pub(crate) fn session_gap_s(&self) -> i64 {
        self.state.session_gap_s.load(Ordering::Relaxed)
    }

    /// Applies `[general] session_gap_minutes`.
    pub(crate) fn configure_session_gap(&self, minutes: u32) {
        self.state.session_gap_s.store(i64::from(minutes.max(1)) * 60, Ordering::Relaxed);
    }

    /// The names of artists by id.
    pub(crate) fn artist_names(&self, ids: &[u64]) -> Result<Vec<String>> {
        let reader = self.state.store.read()?;
        let mut names = reader.names()?;
        ids.iter().map(|id| Ok(names.artist(*id)?.to_string())).collect()
    }

    /// How many listens that count start in `range`, stopping at the first.
    pub(crate) fn any_listen_in(&self, range: (i64, i64)) -> Result<bool> {
        let mut any = false;
        self.state.store.read()?.scan_plays(range.0, range.1, |_| {
            any = true;
            ControlFlow::Break(())
        })?;
        Ok(any)
    }

    /// Writes `text` to `reports/<name>` in the data folder (owner-only, replaced
    /// whole: a crash leaves the old report or the new one).
    pub(crate) fn write_report(&self, name: &str, text: &str) -> Result<std::path::PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.state.store.data_dir().join("reports");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|err| crate::error::io_err("write a report", &dir)(err))?;
        let path = dir.join(name);
        super::write_private(&path, text.as_bytes(), "write a report")?;
        Ok(path)
    }

    /// The plays of every artist, album and track in `range`, from the counters.
    fn period_tallies(&self, reader: &Reader, range: (i64, i64)) -> Result<[Tally; 3]> {
        let [artists, albums, tracks] = KINDS;
        Ok([
            self.tally(reader, artists, Some(range))?,
            self.tally(reader, albums, Some(range))?,
            self.tally(reader, tracks, Some(range))?,
        ])
    }

    /// Sessions that start in `range`, in `zone`; the `limit` longest are kept.
    pub(crate) fn sessions(
        &self,
        range: (i64, i64),
        zone: &TimeZone,
        gap_s: i64,
        limit: usize,
    ) -> Result<SessionStats> {
        let reader = self.state.store.read()?;
        let parts = in_parts(&reader, range, zone, |part| {
            let mut tally = SessionTally::new(limit);
            let mut offsets = Offsets::new(zone);
            walk(&reader, part, gap_s, |seen| {
                if let Seen::Ended { session, ours: true } = seen {
                    tally.add(session, &mut offsets);
                }
            })?;
            Ok(tally)
        })?;
        let tally = merged(parts, SessionTally::merge);
        Ok(SessionStats {
            count: tally.count,
            plays: tally.plays,
            total_s: tally.total_s,
            longest: tally.longest.into_sorted(),
            per_weekday: tally.per_weekday,
            per_hour: tally.per_hour,
            openers: name_rows(&reader, Kind::Artist, tally.openers.top(10), None)?,
            closers: name_rows(&reader, Kind::Artist, tally.closers.top(10), None)?,
        })
    }

    /// Runs of days with a listen in `range`, overall and per artist and album,
    /// in `zone`; "current" runs end today or yesterday by the clock.
    pub(crate) fn streaks(&self, range: (i64, i64), zone: &TimeZone, limit: usize) -> Result<StreakStats> {
        let reader = self.state.store.read()?;
        let today = local_day_hour(&mut Offsets::new(zone), self.clock().now_s()).0;
        let parts = in_parts(&reader, range, zone, |part| {
            let (mut days, mut artists, mut albums) = (Vec::<i64>::new(), Vec::new(), Vec::new());
            let mut offsets = Offsets::new(zone);
            reader.scan_plays(part.0, part.1, |play| {
                let day = local_day_hour(&mut offsets, play.start_s).0;
                if days.last() != Some(&day) {
                    days.push(day);
                }
                see_run(&mut artists, play.artist, day);
                if let Some(album) = play.album {
                    see_run(&mut albums, album, day);
                }
                ControlFlow::Continue(())
            })?;
            Ok((days, artists, albums))
        })?;
        let (mut days, artists, albums) =
            merged(parts, |(days, artists, albums), (later_days, later_artists, later_albums)| {
                days.extend(later_days);
                merge_runs(artists, &later_artists);
                merge_runs(albums, &later_albums);
            });
        // A zone that turns its clocks back across midnight repeats a day.
        days.sort_unstable();
        days.dedup();
        let overall = runs(&days);
        let alive = |last: i32| i64::from(last) >= today - 1;
        let best = |runs: &[EntityRun], kind: Kind| -> Result<Vec<(TopRow, Run)>> {
            let mut rows: Vec<(u64, EntityRun)> =
                runs.iter().enumerate().filter(|(_, run)| run.best > 0).map(|(id, run)| (id as u64, *run)).collect();
            rows.sort_by_key(|(id, run)| (std::cmp::Reverse(run.best), std::cmp::Reverse(run.best_last), *id));
            rows.truncate(limit);
            named_runs(&reader, kind, rows.into_iter().map(|(id, run)| (id, run.best, i64::from(run.best_last))))
        };
        let mut current: Vec<(u64, EntityRun)> = artists
            .iter()
            .enumerate()
            .filter(|(_, run)| run.run > 0 && alive(run.last))
            .map(|(id, run)| (id as u64, *run))
            .collect();
        current.sort_by_key(|(id, run)| (std::cmp::Reverse(run.run), *id));
        current.truncate(limit);
        Ok(StreakStats {
            today,
            days: days.len() as u32,
            current: overall.last().copied().filter(|run| run.last >= today - 1),
            longest: longest(&overall),
            artists: best(&artists, Kind::Artist)?,
            albums: best(&albums, Kind::Album)?,
            current_artists: named_runs(
                &reader,
                Kind::Artist,
                current.into_iter().map(|(id, run)| (id, run.run, i64::from(run.last))),
            )?,
        })
    }

    /// The artists, albums and tracks first heard in `range`, the `limit` most
    /// played of each, and how many each month of the range brought, in `zone`.
    pub(crate) fn discoveries(&self, range: (i64, i64), zone: &TimeZone, limit: usize) -> Result<DiscoveryStats> {
        let reader = self.state.store.read()?;
        let before = Before::new(self, &reader, range.0)?;
        let parts = in_parts(&reader, range, zone, |part| {
            let mut firsts = FirstSeen::default();
            reader.scan_plays(part.0, part.1, |play| {
                firsts.see(&before, &play);
                ControlFlow::Continue(())
            })?;
            Ok(firsts)
        })?;
        let plays = self.period_tallies(&reader, range)?;
        merged(parts, FirstSeen::merge).finish(&reader, &plays, range, zone, limit)
    }

    /// The entities of `kind` that rose most from `against` to `range` (among
    /// the top of `range`), and the best ranked of those new in `range`.
    pub(crate) fn climbers(
        &self,
        kind: Kind,
        range: (i64, i64),
        against: (i64, i64),
        limit: usize,
    ) -> Result<(Vec<Climb>, Vec<Climb>)> {
        let reader = self.state.store.read()?;
        let now = ranks(&self.tally(&reader, kind, Some(range))?);
        let before = ranks(&self.tally(&reader, kind, Some(against))?);
        let mut previous: Vec<(u32, u64)> = Vec::new();
        for (rank, (id, plays)) in before.iter().enumerate() {
            let slot = *id as usize;
            if slot >= previous.len() {
                previous.resize(slot + 1, (0, 0));
            }
            previous[slot] = (rank as u32 + 1, *plays);
        }
        let mut climbers: Vec<(u64, u64, u32, Option<u32>, u64)> = Vec::new();
        for (rank, (id, plays)) in now.iter().take(CLIMBER_WINDOW).enumerate() {
            let (previous_rank, previous_plays) = previous.get(*id as usize).copied().unwrap_or((0, 0));
            let previous_rank = (previous_rank > 0).then_some(previous_rank);
            climbers.push((*id, *plays, rank as u32 + 1, previous_rank, previous_plays));
        }
        let mut risen: Vec<_> =
            climbers.iter().copied().filter(|(_, _, rank, previous, _)| previous.is_some_and(|p| p > *rank)).collect();
        risen.sort_by_key(|(_, _, rank, previous, _)| (std::cmp::Reverse(previous.unwrap_or(0) - rank), *rank));
        risen.truncate(limit);
        let mut new: Vec<_> = climbers.iter().copied().filter(|(_, _, _, previous, _)| previous.is_none()).collect();
        new.truncate(limit);
        let name = |rows: Vec<(u64, u64, u32, Option<u32>, u64)>| -> Result<Vec<Climb>> {
            let named = name_rows(&reader, kind, rows.iter().map(|row| (row.0, row.1)).collect(), None)?;
            Ok(named
                .into_iter()
                .zip(rows)
                .map(|(row, (_, _, rank, previous_rank, previous_plays))| Climb {
                    row,
                    rank,
                    previous_rank,
                    previous_plays,
                })
                .collect())
        };
        Ok((name(risen)?, name(new)?))
    }

    /// What `date` some years ago held, in `zone`, for each of `years`.
    pub(crate) fn on_this_day(&self, date: Date, years: &[u32], zone: &TimeZone) -> Result<Vec<DayBack>> {
        let reader = self.state.store.read()?;
        let mut days = Vec::with_capacity(years.len());
        for &years_ago in years {
            let back = date
                .checked_sub(i64::from(years_ago).years())
                .map_err(|_| Error::invalid(format!("{years_ago} years before {date} is out of range")))?;
            let range = analytics::CalendarPeriod::Day(back).range(zone)?;
            let (mut plays, mut ms, mut artists) = (0, 0, Tally::default());
            reader.scan_plays(range.0, range.1, |play| {
                plays += 1;
                ms += play.ms.unwrap_or(0);
                artists.add(play.artist, 1);
                ControlFlow::Continue(())
            })?;
            let artists = name_rows(&reader, Kind::Artist, artists.top(5), None)?;
            days.push(DayBack { years_ago, date: back, range, plays, ms, artists });
        }
        Ok(days)
    }

    /// The id of an entity named like a listen names it: an artist's name, or an
    /// album's or track's artist and title.
    pub(crate) fn entity_id(&self, kind: Kind, name: &str, artist: Option<&str>) -> Result<Option<u64>> {
        let key = match (kind, artist) {
            (Kind::Artist, _) => self.artist_key(name),
            (Kind::Album, Some(artist)) => self.album_key(artist, name),
            (Kind::Track, Some(artist)) => self.track_key(artist, name),
            (_, None) => return Err(Error::invalid("an album or track is named by `artist` and `name`")),
        };
        self.state.store.read()?.entity_id(kind, &key)
    }

    /// One entity's page: all-time totals, first and last listen, rank, plays
    /// per year; within `range` (all time when `None`): its plays and rank, what
    /// it holds, its sessions and the artists played with it.
    pub(crate) fn entity(
        &self,
        kind: Kind,
        id: u64,
        range: Option<(i64, i64)>,
        zone: &TimeZone,
        gap_s: i64,
        limit: usize,
    ) -> Result<Option<EntityStats>> {
        let reader = self.state.store.read()?;
        let Some((first, last)) = reader.listen_bounds()? else {
            return Ok(None);
        };
        let all_time = (first as i64, last as i64 + 1);
        let Some(named) = name_rows(&reader, kind, vec![(id, 0)], None)?.pop().filter(|row| !row.name.is_empty())
        else {
            return Ok(None);
        };
        let own_artist = match kind {
            Kind::Artist => id,
            Kind::Album => reader.album(id)?.map_or(u64::MAX, |album| album.artist_id),
            Kind::Track => reader.track(id)?.map_or(u64::MAX, |track| track.artist_id),
        };
        let matches = |play: &Play| play.id(kind) == Some(id);
        let (from, to) = range.unwrap_or(all_time);
        let in_period = |seconds: i64| seconds >= from && seconds < to;
        let parts = in_parts(&reader, all_time, zone, |part| {
            let mut tally = EntityTally {
                plays: 0,
                ms: 0,
                known: TimeKnown::default(),
                first_s: None,
                last_s: None,
                per_year: Vec::new(),
                period_plays: 0,
                period_ms: 0,
                tracks: Tally::default(),
                albums: Tally::default(),
                all_sessions: 0,
                sessions: 0,
                recent: Best::new(5, |session| session.start_s),
                sessions_with: Tally::default(),
                together: Tally::default(),
            };
            let mut offsets = Offsets::new(zone);
            // The current session: its artists (each once: `stamp` holds the session
            // each artist was last listed in) and whether it holds the entity.
            let (mut artists, mut stamp, mut session_no, mut holds) = (Vec::new(), Vec::<u32>::new(), 1u32, false);
            walk(&reader, part, gap_s, |seen| match seen {
                Seen::Play { play, counted } => {
                    let hit = matches(play);
                    if counted && hit {
                        let ms = play.ms.unwrap_or(0);
                        tally.plays += 1;
                        tally.ms += ms;
                        tally.known.count(play);
                        tally.first_s.get_or_insert(play.start_s);
                        tally.last_s = Some(play.start_s);
                        let (day, _) = local_day_hour(&mut offsets, play.start_s);
                        count_in(&mut tally.per_year, date_of_day(day).year(), ms);
                        if in_period(play.start_s) {
                            tally.period_plays += 1;
                            tally.period_ms += ms;
                            tally.tracks.add(play.track, 1);
                            if let Some(album) = play.album {
                                tally.albums.add(album, 1);
                            }
                        }
                    }
                    holds |= hit;
                    let slot = play.artist as usize;
                    if slot >= stamp.len() {
                        stamp.resize(slot + 1, 0);
                    }
                    if stamp[slot] != session_no {
                        stamp[slot] = session_no;
                        artists.push(play.artist);
                    }
                }
                Seen::Ended { session, ours } => {
                    if ours && in_period(session.start_s) {
                        tally.all_sessions += 1;
                        for artist in &artists {
                            tally.sessions_with.add(*artist, 1);
                        }
                        if holds {
                            tally.sessions += 1;
                            tally.recent.offer(session);
                            for artist in artists.iter().filter(|artist| **artist != own_artist) {
                                tally.together.add(*artist, 1);
                            }
                        }
                    }
                    artists.clear();
                    session_no += 1;
                    holds = false;
                }
            })?;
            Ok(tally)
        })?;
        let tally = merged(parts, EntityTally::merge);
        let mut stats = EntityStats {
            name: named.name,
            artist: named.artist,
            plays: tally.plays,
            ms: tally.ms,
            known: tally.known,
            rank: rank_of(&self.tally(&reader, kind, None)?, id),
            first_s: tally.first_s,
            last_s: tally.last_s,
            sessions: tally.sessions,
            recent_sessions: tally.recent.into_sorted(),
            ..EntityStats::default()
        };
        // Every year between the first and the last, empty ones included.
        if let (Some(first), Some(last)) = (tally.per_year.first(), tally.per_year.last()) {
            stats.per_year = (first.0..=last.0)
                .map(|year| {
                    let found = tally.per_year.iter().find(|(y, ..)| *y == year);
                    found.map_or((year, 0, 0), |(_, plays, ms)| (year, *plays, *ms))
                })
                .collect();
        }
        if let Some(range) = range {
            let ranked = self.tally(&reader, kind, Some(range))?;
            stats.period = Some((tally.period_plays, tally.period_ms, rank_of(&ranked, id)));
        }
        if kind != Kind::Track {
            stats.top_tracks = name_rows(&reader, Kind::Track, tally.tracks.top(limit), None)?;
        }
        if kind != Kind::Album {
            stats.top_albums = name_rows(&reader, Kind::Album, tally.albums.top(limit), None)?;
        }
        let (own, all) = (tally.sessions, tally.all_sessions);
        let mut co: Vec<(u64, u64, f64)> = tally
            .together
            .top(usize::MAX)
            .into_iter()
            .filter(|(_, both)| *both >= 2)
            .map(|(artist, both)| {
                let lift = (both * all) as f64 / (own * tally.sessions_with.get(artist)).max(1) as f64;
                (artist, both, lift)
            })
            .collect();
        co.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        co.truncate(limit);
        let rows = name_rows(&reader, Kind::Artist, co.iter().map(|(id, both, _)| (*id, *both)).collect(), None)?;
        stats.co_listened = rows.into_iter().zip(co).map(|(row, (_, both, lift))| (row, both, lift)).collect();
        Ok(Some(stats))
    }

    /// A summary of `range` in `zone`.
    pub(crate) fn wrapped(&self, range: (i64, i64), zone: &TimeZone, gap_s: i64) -> Result<WrappedStats> {
        let reader = self.state.store.read()?;
        let before = Before::new(self, &reader, range.0)?;
        let parts = in_parts(&reader, range, zone, |part| {
            let mut tally = WrappedTally {
                plays: 0,
                ms: 0,
                known: TimeKnown::default(),
                by_plays: Default::default(),
                by_time: Default::default(),
                days: Vec::new(),
                clock: [0; 24],
                sessions: 0,
                longest: Best::new(1, Session::length_s),
                firsts: FirstSeen::default(),
            };
            let mut offsets = Offsets::new(zone);
            walk(&reader, part, gap_s, |seen| match seen {
                Seen::Play { play, counted: true } => {
                    let ms = play.ms.unwrap_or(0);
                    tally.plays += 1;
                    tally.ms += ms;
                    tally.known.count(play);
                    for (index, id) in [Some(play.artist), play.album, Some(play.track)].into_iter().enumerate() {
                        if let Some(id) = id {
                            tally.by_plays[index].add(id, 1);
                            tally.by_time[index].add(id, ms);
                        }
                    }
                    let (day, hour) = local_day_hour(&mut offsets, play.start_s);
                    tally.clock[hour] += 1;
                    count_in(&mut tally.days, day, ms);
                    tally.firsts.see(&before, play);
                }
                Seen::Play { .. } => {}
                Seen::Ended { session, ours } => {
                    if ours {
                        tally.sessions += 1;
                        tally.longest.offer(session);
                    }
                }
            })?;
            Ok(tally)
        })?;
        let tally = merged(parts, WrappedTally::merge);
        let by_plays = &tally.by_plays;
        let mut stats = WrappedStats {
            plays: tally.plays,
            ms: tally.ms,
            known: tally.known,
            days: tally.days.len() as u64,
            sessions: tally.sessions,
            clock: tally.clock,
            ..WrappedStats::default()
        };
        for (index, kind) in KINDS.into_iter().enumerate() {
            let (plays, time) = (&by_plays[index], &tally.by_time[index]);
            stats.distinct[index] = plays.distinct();
            stats.top_plays[index] = name_rows(&reader, kind, plays.top(5), None)?;
            let by_time = time.top(5);
            let counts: Vec<u64> = by_time.iter().map(|(id, _)| plays.get(*id)).collect();
            stats.top_time[index] = name_rows(&reader, kind, by_time, Some(&counts))?;
        }
        stats.top_day = tally.days.iter().copied().max_by_key(|(day, plays, _)| (*plays, std::cmp::Reverse(*day)));
        stats.longest_session = tally.longest.into_sorted().pop();
        let day_numbers: Vec<i64> = tally.days.iter().map(|(day, ..)| *day).collect();
        stats.streak = longest(&runs(&day_numbers));
        stats.discoveries = tally.firsts.finish(&reader, by_plays, range, zone, 5)?;
        Ok(stats)
    }
}

/// The 1-based rank by plays of `id` (ties share the better rank), when it has plays.
fn rank_of(tally: &Tally, id: u64) -> Option<u32> {
    let plays = tally.get(id);
    (plays > 0).then(|| tally.count_above(plays) as u32 + 1)
}

/// Names `(id, days, last day)` runs.
fn named_runs(reader: &Reader, kind: Kind, runs: impl Iterator<Item = (u64, u32, i64)>) -> Result<Vec<(TopRow, Run)>> {
    let runs: Vec<(u64, u32, i64)> = runs.collect();
    let rows = name_rows(reader, kind, runs.iter().map(|(id, days, _)| (*id, u64::from(*days))).collect(), None)?;
    Ok(rows
        .into_iter()
        .zip(runs)
        .map(|(row, (_, days, last))| (row, Run { first: last - i64::from(days) + 1, last }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use crate::harness::Harness;
    use crate::library::analytics::zone_named;
    use crate::library::{Commit, Listen, Origin, SourceName};

    /// `(artist, track, album, start in RFC 3339, seconds played)`.
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, Option<u64>);

    fn at(time: &str) -> i64 {
        clock::parse_user_time_s(time).unwrap()
    }

    fn add(harness: &Harness, rows: &[Row]) {
        let origin = Origin::Rpc(SourceName::parse("rpc").unwrap());
        let mut intake = harness.library.intake(&origin);
        let listens = rows
            .iter()
            .map(|(artist, track, album, start, seconds)| {
                let listen = Listen {
                    artist: (*artist).to_owned(),
                    track: (*track).to_owned(),
                    album: album.map(str::to_owned),
                    artists: Vec::new(),
                    started_ms: at(start) * 1000,
                    duration_ms: seconds.map(|seconds| seconds * 1000),
                    loved: None,
                    details: None,
                };
                intake.admit(listen).unwrap()
            })
            .collect();
        harness.library.commit(Commit { listens, ..Commit::default() }).unwrap().wait_blocking().unwrap();
    }

    fn year(year: i16, zone: &TimeZone) -> (i64, i64) {
        analytics::CalendarPeriod::Year(year).range(zone).unwrap()
    }

    fn names(rows: &[TopRow]) -> Vec<(&str, u64)> {
        rows.iter().map(|row| (row.name.as_str(), row.plays)).collect()
    }

    /// A session that starts on New Year's Eve in Paris and ends after midnight
    /// belongs to the old year, whole.
    #[test]
    fn a_new_years_eve_session_belongs_to_the_year_it_starts_in() {
        let harness = Harness::at("2025-06-01T00:00:00Z");
        add(
            &harness,
            &[
                ("Early", "Morning", None, "2024-12-31T10:00:00Z", Some(300)),
                ("Air", "One", None, "2024-12-31T22:30:00Z", Some(600)),
                ("Björk", "Two", None, "2024-12-31T22:50:00Z", Some(600)),
                // 00:20 in Paris on January 1st, twenty minutes after the last one ended.
                ("Cocteau Twins", "Three", None, "2024-12-31T23:20:00Z", Some(600)),
                ("Late", "Night", None, "2025-01-01T02:00:00Z", None),
            ],
        );
        let paris = zone_named("Europe/Paris").unwrap();
        let sessions = harness.library.sessions(year(2024, &paris), &paris, DEFAULT_GAP_S, 5).unwrap();
        assert_eq!((sessions.count, sessions.plays), (2, 4));
        assert_eq!(sessions.total_s, 300 + 3600);
        let longest = sessions.longest[0];
        assert_eq!(
            (longest.start_s, longest.end_s, longest.plays),
            (at("2024-12-31T22:30:00Z"), at("2024-12-31T23:30:00Z"), 3)
        );
        assert_eq!(sessions.per_hour[23], 1, "23:30 in Paris");
        assert_eq!(sessions.per_hour[11], 1);
        assert_eq!(sessions.per_weekday[1], 2, "a Tuesday");
        // Ties go to the artist seen first.
        assert_eq!(names(&sessions.openers), [("Early", 1), ("Air", 1)]);
        assert_eq!(names(&sessions.closers), [("Early", 1), ("Cocteau Twins", 1)]);
        // 2025 holds only the session that starts in it.
        let next = harness.library.sessions(year(2025, &paris), &paris, DEFAULT_GAP_S, 5).unwrap();
        assert_eq!((next.count, next.plays), (1, 1));
        assert_eq!(next.longest[0].opener, next.longest[0].closer);
        // A ten-minute gap splits it: the part after midnight is 2025's.
        let split = harness.library.sessions(year(2024, &paris), &paris, 600, 5).unwrap();
        assert_eq!((split.count, split.plays), (2, 3));
        let next = harness.library.sessions(year(2025, &paris), &paris, 600, 5).unwrap();
        assert_eq!((next.count, next.plays), (2, 2));
        // In UTC the whole evening is 2024's too, and so is nothing of 2025 but the last.
        let utc = zone_named("UTC").unwrap();
        let sessions = harness.library.sessions(year(2024, &utc), &utc, DEFAULT_GAP_S, 5).unwrap();
        assert_eq!((sessions.count, sessions.per_hour[22]), (2, 1));
    }

    /// Runs of days are counted in the zone, across the change to summer time.
    #[test]
    fn streaks_are_runs_of_local_days() {
        // April 4th, 12:00 in Paris.
        let harness = Harness::at("2024-04-04T10:00:00Z");
        add(
            &harness,
            &[
                ("Air", "One", Some("Moon Safari"), "2024-03-28T23:30:00Z", None),
                ("Air", "One", Some("Moon Safari"), "2024-03-29T23:30:00Z", None),
                ("Björk", "Joga", Some("Homogenic"), "2024-03-29T23:40:00Z", None),
                ("Air", "Two", Some("Moon Safari"), "2024-03-30T23:30:00Z", None),
                ("Björk", "Joga", Some("Homogenic"), "2024-03-30T23:40:00Z", None),
                ("Air", "Two", Some("Moon Safari"), "2024-03-31T22:30:00Z", None),
                ("Air", "Three", Some("Moon Safari"), "2024-04-01T21:30:00Z", None),
                ("Air", "Three", Some("Talkie Walkie"), "2024-04-02T22:30:00Z", None),
            ],
        );
        let paris = zone_named("Europe/Paris").unwrap();
        let all = (at("2024-01-01"), at("2025-01-01"));
        let streaks = harness.library.streaks(all, &paris, 10).unwrap();
        let day = |run: Run| (date_of_day(run.first).to_string(), date_of_day(run.last).to_string());
        // Local days: March 29, 30, 31, April 1, then April 3.
        assert_eq!(streaks.days, 5);
        assert_eq!(day(streaks.longest.unwrap()), ("2024-03-29".into(), "2024-04-01".into()));
        assert_eq!(day(streaks.current.unwrap()), ("2024-04-03".into(), "2024-04-03".into()), "yesterday");
        let artists: Vec<(&str, u32)> =
            streaks.artists.iter().map(|(row, run)| (row.name.as_str(), run.days())).collect();
        assert_eq!(artists, [("Air", 4), ("Björk", 2)]);
        let albums: Vec<(&str, u32)> =
            streaks.albums.iter().map(|(row, run)| (row.name.as_str(), run.days())).collect();
        assert_eq!(albums, [("Moon Safari", 4), ("Homogenic", 2), ("Talkie Walkie", 1)]);
        let current: Vec<&str> = streaks.current_artists.iter().map(|(row, _)| row.name.as_str()).collect();
        assert_eq!(current, ["Air"]);
        // In UTC the same listens make one run of six days, still alive.
        let utc = zone_named("UTC").unwrap();
        let streaks = harness.library.streaks(all, &utc, 10).unwrap();
        assert_eq!(day(streaks.longest.unwrap()), ("2024-03-28".into(), "2024-04-02".into()));
        assert_eq!(streaks.current, None, "April 2nd is two days before today");
    }

    #[test]
    fn discoveries_are_first_listens_ever_counted_in_the_zone() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(
            &harness,
            &[
                ("Air", "One", Some("Moon Safari"), "2023-05-01T12:00:00Z", None),
                // 00:30 on January 1st in Paris, still 2023 in UTC.
                ("Daft Punk", "Da Funk", None, "2023-12-31T23:30:00Z", None),
                ("Air", "Two", Some("Moon Safari"), "2024-01-10T12:00:00Z", None),
                ("Björk", "Joga", Some("Homogenic"), "2024-01-11T12:00:00Z", None),
                ("Björk", "Joga", Some("Homogenic"), "2024-02-11T12:00:00Z", None),
                ("Björk", "Joga", Some("Homogenic"), "2024-02-12T12:00:00Z", None),
                ("Cocteau Twins", "Heaven", None, "2024-02-13T12:00:00Z", None),
                ("Air", "One", Some("Moon Safari"), "2024-03-01T12:00:00Z", None),
            ],
        );
        let paris = zone_named("Europe/Paris").unwrap();
        let found = harness.library.discoveries(year(2024, &paris), &paris, 10).unwrap();
        let [artists, albums, tracks] = &found.kinds;
        let top: Vec<(&str, u64)> =
            artists.top.iter().map(|found| (found.row.name.as_str(), found.row.plays)).collect();
        assert_eq!(top, [("Björk", 3), ("Daft Punk", 1), ("Cocteau Twins", 1)]);
        assert_eq!(artists.top[0].first_s, at("2024-01-11T12:00:00Z"));
        assert_eq!((artists.count, albums.count, tracks.count), (3, 1, 4));
        assert_eq!(found.per_month.len(), 12);
        assert_eq!(found.per_month[0], ("2024-01".to_owned(), [2, 1, 3]));
        assert_eq!(found.per_month[1], ("2024-02".to_owned(), [1, 0, 1]));
        assert!(found.per_month[2..].iter().all(|(_, counts)| *counts == [0; 3]));
        // In UTC, Daft Punk was first heard in 2023.
        let utc = zone_named("UTC").unwrap();
        let found = harness.library.discoveries(year(2024, &utc), &utc, 10).unwrap();
        assert_eq!(found.kinds[0].count, 2);
    }

    #[test]
    fn climbers_rise_in_rank_and_new_entries_are_apart() {
        let harness = Harness::at("2024-06-01T00:00:00Z");
        let mut rows: Vec<Row> = Vec::new();
        let january = ["2024-01-05T10:00:00Z", "2024-01-06T10:00:00Z", "2024-01-07T10:00:00Z"];
        let february = ["2024-02-05T10:00:00Z", "2024-02-06T10:00:00Z", "2024-02-07T10:00:00Z"];
        for (artist, plays) in [("Air", 3), ("Björk", 2), ("Cocteau Twins", 1)] {
            rows.extend(january[..plays].iter().map(|at| (artist, "Song", None, *at, None)));
        }
        for (artist, plays) in [("Cocteau Twins", 3), ("Air", 2), ("Daft Punk", 1)] {
            rows.extend(february[..plays].iter().map(|at| (artist, "Song", None, *at, None)));
        }
        add(&harness, &rows);
        let utc = zone_named("UTC").unwrap();
        let month = |text: &str| analytics::CalendarPeriod::month(text).unwrap().range(&utc).unwrap();
        let (risen, new) = harness.library.climbers(Kind::Artist, month("2024-02"), month("2024-01"), 10).unwrap();
        let risen: Vec<(&str, u32, Option<u32>)> =
            risen.iter().map(|climb| (climb.row.name.as_str(), climb.rank, climb.previous_rank)).collect();
        assert_eq!(risen, [("Cocteau Twins", 1, Some(3))]);
        let new: Vec<(&str, u32)> = new.iter().map(|climb| (climb.row.name.as_str(), climb.rank)).collect();
        assert_eq!(new, [("Daft Punk", 3)]);
    }

    #[test]
    fn on_this_day_looks_back_whole_local_days() {
        let harness = Harness::at("2025-02-28T12:00:00Z");
        add(
            &harness,
            &[
                // February 28th 2024 in Paris: 00:10 local, and 23:50 local.
                ("Air", "One", None, "2024-02-27T23:10:00Z", Some(120)),
                ("Air", "Two", None, "2024-02-28T22:50:00Z", Some(60)),
                // February 29th 2024 in Paris.
                ("Björk", "Joga", None, "2024-02-28T23:10:00Z", None),
                ("Cocteau Twins", "Heaven", None, "2020-02-28T12:00:00Z", None),
            ],
        );
        let paris = zone_named("Europe/Paris").unwrap();
        let date: Date = "2025-02-28".parse().unwrap();
        let days = harness.library.on_this_day(date, &[1, 2, 5], &paris).unwrap();
        let seen: Vec<(u32, String, u64, u64)> =
            days.iter().map(|day| (day.years_ago, day.date.to_string(), day.plays, day.ms)).collect();
        assert_eq!(
            seen,
            [(1, "2024-02-28".into(), 2, 180_000), (2, "2023-02-28".into(), 0, 0), (5, "2020-02-28".into(), 1, 0)]
        );
        assert_eq!(names(&days[0].artists), [("Air", 2)]);
        // A leap day looks back to February 28th in common years.
        let leap: Date = "2024-02-29".parse().unwrap();
        let days = harness.library.on_this_day(leap, &[1], &paris).unwrap();
        assert_eq!(days[0].date.to_string(), "2023-02-28");
    }

    #[test]
    fn an_entity_page_counts_years_sessions_and_who_shares_them() {
        let harness = Harness::at("2025-01-01T00:00:00Z");
        add(
            &harness,
            &[
                // Session 1: Air, Björk.
                ("Air", "One", Some("Moon Safari"), "2022-05-01T10:00:00Z", Some(200)),
                ("Björk", "Joga", None, "2022-05-01T10:05:00Z", Some(200)),
                // Session 2: Air twice, Björk, Cocteau Twins.
                ("Air", "Two", Some("Moon Safari"), "2024-05-01T10:00:00Z", Some(100)),
                ("Air", "One", Some("Moon Safari"), "2024-05-01T10:03:00Z", None),
                ("Björk", "Joga", None, "2024-05-01T10:05:00Z", Some(200)),
                ("Cocteau Twins", "Heaven", None, "2024-05-01T10:10:00Z", Some(200)),
                // Sessions 3 and 4, without Air.
                ("Cocteau Twins", "Heaven", None, "2024-06-01T10:00:00Z", Some(200)),
                ("Daft Punk", "Da Funk", None, "2024-06-01T10:05:00Z", Some(200)),
                ("Cocteau Twins", "Heaven", None, "2024-07-01T10:00:00Z", Some(200)),
            ],
        );
        let utc = zone_named("UTC").unwrap();
        let air = harness.library.entity_id(Kind::Artist, "air", None).unwrap().unwrap();
        let page = harness.library.entity(Kind::Artist, air, None, &utc, DEFAULT_GAP_S, 10).unwrap().unwrap();
        assert_eq!(page.name, "Air");
        // The 2024 "One" has no duration: it counts the track's length, 200 s as reported in 2022.
        assert_eq!((page.plays, page.ms), (3, 500_000));
        assert_eq!(page.known, TimeKnown { known: 3, from_length: 1 });
        assert_eq!(page.rank, Some(1), "tied with Cocteau Twins");
        assert_eq!((page.first_s, page.last_s), (Some(at("2022-05-01T10:00:00Z")), Some(at("2024-05-01T10:03:00Z"))));
        assert_eq!(page.per_year, [(2022, 1, 200_000), (2023, 0, 0), (2024, 2, 300_000)]);
        assert_eq!(names(&page.top_tracks), [("One", 2), ("Two", 1)]);
        assert_eq!(names(&page.top_albums), [("Moon Safari", 3)]);
        assert_eq!(page.sessions, 2);
        assert_eq!(page.recent_sessions[0].start_s, at("2024-05-01T10:00:00Z"));
        // Björk shares both of Air's sessions and has no other: 2 × 4 sessions ÷ (2 × 2).
        let co: Vec<(&str, u64, f64)> =
            page.co_listened.iter().map(|(row, both, lift)| (row.name.as_str(), *both, *lift)).collect();
        assert_eq!(co, [("Björk", 2, 2.0)]);
        // Within 2024 only.
        let range = year(2024, &utc);
        let page = harness.library.entity(Kind::Artist, air, Some(range), &utc, DEFAULT_GAP_S, 10).unwrap().unwrap();
        assert_eq!(page.period, Some((2, 300_000, Some(2))));
        assert_eq!(page.sessions, 1);
        assert!(page.co_listened.is_empty(), "one session together is not enough");
        // A track, named by artist and title.
        let joga = harness.library.entity_id(Kind::Track, "Joga", Some("björk")).unwrap().unwrap();
        let page = harness.library.entity(Kind::Track, joga, None, &utc, DEFAULT_GAP_S, 10).unwrap().unwrap();
        assert_eq!((page.name.as_str(), page.artist.as_deref(), page.plays), ("Joga", Some("Björk"), 2));
        assert!(harness.library.entity_id(Kind::Artist, "Nobody", None).unwrap().is_none());
    }

    #[test]
    fn wrapped_ranks_by_plays_and_by_time_in_one_read() {
        let harness = Harness::at("2024-06-01T00:00:00Z");
        add(
            &harness,
            &[
                ("Air", "One", Some("Moon Safari"), "2024-05-01T10:00:00Z", Some(60)),
                ("Air", "Two", Some("Moon Safari"), "2024-05-01T10:01:00Z", Some(60)),
                ("Björk", "Joga", Some("Homogenic"), "2024-05-02T10:00:00Z", Some(600)),
                ("Air", "One", Some("Moon Safari"), "2024-05-03T10:00:00Z", Some(60)),
                ("Cocteau Twins", "Heaven", None, "2024-05-03T10:01:00Z", None),
                ("Air", "One", Some("Moon Safari"), "2024-04-30T10:00:00Z", Some(60)),
            ],
        );
        let utc = zone_named("UTC").unwrap();
        let may = analytics::CalendarPeriod::month("2024-05").unwrap().range(&utc).unwrap();
        let wrapped = harness.library.wrapped(may, &utc, DEFAULT_GAP_S).unwrap();
        assert_eq!((wrapped.plays, wrapped.ms, wrapped.known.known), (5, 780_000, 4));
        assert_eq!(wrapped.distinct, [3, 2, 4]);
        assert_eq!((wrapped.days, wrapped.sessions), (3, 3));
        assert_eq!(names(&wrapped.top_plays[0]), [("Air", 3), ("Björk", 1), ("Cocteau Twins", 1)]);
        let by_time: Vec<(&str, Option<u64>)> =
            wrapped.top_time[0].iter().map(|row| (row.name.as_str(), row.ms)).collect();
        assert_eq!(by_time[..2], [("Björk", Some(600_000)), ("Air", Some(180_000))]);
        assert_eq!(wrapped.top_day, Some((date_day("2024-05-01"), 2, 120_000)));
        // Björk's ten minutes alone outlast the two-minute sessions.
        let longest = wrapped.longest_session.unwrap();
        assert_eq!((longest.plays, longest.length_s()), (1, 600));
        assert_eq!(wrapped.streak.map(|run| run.days()), Some(3));
        assert_eq!(wrapped.clock[10], 5);
        // Air was heard in April: not a discovery of May.
        let [artists, ..] = &wrapped.discoveries.kinds;
        assert_eq!(artists.count, 2);
    }

    fn date_day(text: &str) -> i64 {
        at(text).div_euclid(86_400)
    }

    /// A run of days read in two parts and merged is the run read whole, wherever the split.
    #[test]
    fn entity_runs_merge_across_a_split() {
        let sets: [&[i64]; 6] = [
            &[1, 2, 3, 5, 6, 7, 8, 10],
            &[1, 2, 3, 4],
            &[1, 3, 5, 7],
            &[4, 5, 9, 10, 11, 12, 13, 20, 21],
            &[1],
            &[2, 3, 4, 7, 8, 9],
        ];
        for days in sets {
            let mut whole = EntityRun::default();
            days.iter().for_each(|day| whole.see(*day));
            for split in 0..=days.len() {
                let (mut early, mut late) = (EntityRun::default(), EntityRun::default());
                days[..split].iter().for_each(|day| early.see(*day));
                days[split..].iter().for_each(|day| late.see(*day));
                early.merge(&late);
                let got = (early.best, early.best_last, early.run, early.last);
                assert_eq!(got, (whole.best, whole.best_last, whole.run, whole.last), "{days:?} split at {split}");
            }
        }
    }

    /// A generated history, checked against answers computed here from the rows alone.
    #[test]
    fn a_generated_history_matches_a_direct_count() {
        let harness = Harness::at("2030-01-01T00:00:00Z");
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let artists: Vec<String> = (0..40).map(|index| format!("Artist {index}")).collect();
        let mut plays: Vec<(i64, usize, u64)> = Vec::new();
        let mut time = at("2024-01-01T00:00:00Z");
        for _ in 0..3000 {
            time += match next(10) {
                0 => 86_400 * (1 + next(3) as i64),
                1..=2 => 3600 + next(7200) as i64,
                _ => 60 + next(400) as i64,
            };
            plays.push((time, next(artists.len() as u64) as usize, 30 + next(300)));
        }
        let stamps: Vec<String> =
            plays.iter().map(|(start, ..)| jiff::Timestamp::from_second(*start).unwrap().to_string()).collect();
        let rows: Vec<Row> = plays
            .iter()
            .zip(&stamps)
            .map(|((_, artist, seconds), stamp)| {
                (artists[*artist].as_str(), "Song", None, stamp.as_str(), Some(*seconds))
            })
            .collect();
        for chunk in rows.chunks(500) {
            add(&harness, chunk);
        }
        let utc = zone_named("UTC").unwrap();
        let range = (at("2024-01-01"), at("2029-01-01"));
        assert!(plays.last().unwrap().0 < range.1);
        // Sessions: split where a listen starts more than the gap after the last one ended.
        let gap = 1800;
        let (mut count, mut longest, mut start, mut end) = (0u64, 0i64, 0, 0);
        for (at, _, seconds) in &plays {
            if count == 0 || *at - end > gap {
                if count > 0 {
                    longest = longest.max(end - start);
                }
                count += 1;
                start = *at;
            }
            end = end.max(*at + *seconds as i64);
        }
        longest = longest.max(end - start);
        let sessions = harness.library.sessions(range, &utc, gap, 1).unwrap();
        assert_eq!(sessions.count, count);
        assert_eq!(sessions.longest[0].length_s(), longest);
        // Days with a listen and the longest run of them.
        let mut days: Vec<i64> = plays.iter().map(|(at, ..)| at.div_euclid(86_400)).collect();
        days.dedup();
        let (mut best, mut run) = (0, 0);
        for (index, day) in days.iter().enumerate() {
            run = if index > 0 && days[index - 1] + 1 == *day { run + 1 } else { 1 };
            best = best.max(run);
        }
        let streaks = harness.library.streaks(range, &utc, 5).unwrap();
        assert_eq!(streaks.days as usize, days.len());
        assert_eq!(streaks.longest.unwrap().days(), best);
        // Each artist's longest run of days (the range is read in two parts: runs join across them).
        let mut expected: Vec<u32> = (0..artists.len())
            .map(|artist| {
                let mut days: Vec<i64> =
                    plays.iter().filter(|(_, who, _)| *who == artist).map(|(at, ..)| at.div_euclid(86_400)).collect();
                days.dedup();
                let (mut best, mut run) = (0, 0);
                for (index, day) in days.iter().enumerate() {
                    run = if index > 0 && days[index - 1] + 1 == *day { run + 1 } else { 1 };
                    best = best.max(run);
                }
                best
            })
            .collect();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        let got: Vec<u32> = streaks.artists.iter().map(|(_, run)| run.days()).collect();
        assert_eq!(got, expected[..5]);
        // The page of the most played artist adds up its listens from both parts.
        let top = harness.library.top(Kind::Artist, None, 1).unwrap().remove(0);
        let page = harness.library.entity(Kind::Artist, top.id, None, &utc, gap, 5).unwrap().unwrap();
        let mine: Vec<&(i64, usize, u64)> = plays.iter().filter(|(_, who, _)| artists[*who] == top.name).collect();
        assert_eq!(page.plays, mine.len() as u64);
        assert_eq!(page.ms, mine.iter().map(|(_, _, seconds)| seconds * 1000).sum::<u64>());
        assert_eq!((page.first_s, page.last_s), (mine.first().map(|play| play.0), mine.last().map(|play| play.0)));
        // Every artist is new in the year; in its second half, only those unheard in the first.
        let middle = at("2024-07-01");
        let heard_before: std::collections::HashSet<usize> =
            plays.iter().filter(|(at, ..)| *at < middle).map(|(_, artist, _)| *artist).collect();
        let heard_after: std::collections::HashSet<usize> =
            plays.iter().filter(|(at, ..)| *at >= middle).map(|(_, artist, _)| *artist).collect();
        let found = harness.library.discoveries((middle, range.1), &utc, 5).unwrap();
        assert_eq!(found.kinds[0].count as usize, heard_after.difference(&heard_before).count());
        let wrapped = harness.library.wrapped(range, &utc, gap).unwrap();
        assert_eq!(wrapped.plays, plays.len() as u64);
        assert_eq!(wrapped.sessions, count);
        assert_eq!(wrapped.discoveries.kinds[0].count, heard_before.union(&heard_after).count() as u64);
    }
}
