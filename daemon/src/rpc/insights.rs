//! The edge of sessions, streaks, discoveries, climbers, on this day, entity
//! pages and wrapped: resolves periods, calls the library, converts to the wire
//! types, and renders the Markdown report.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use musique_api::{
    Climber, Climbers, CoListened, DayBack, DayCount, DiscoveredKind, Discoveries, Discovery, DiscoveryMonth,
    EntityKind, EntityPage, EntityPeriod, EntityStreak, NamedCount, OnThisDay, ReportFile, SessionInfo, SessionsAnswer,
    Streak, StreaksAnswer, TopEntry, Wrapped, WrappedTotals, YearCount,
};

use super::analytics::{Ask, span};
use super::convert::{kind_of, listen_dto};
use crate::error::{Error, Result};
use crate::library::analytics::{self, CalendarPeriod};
use crate::library::insights::{self, Found, FoundKind, Run, Session, WrappedStats};
use crate::library::{Library, TopRow};

/// Most listens shown per session and per day.
const MAX_LISTENS: usize = 100;

/// The gap of a request (`gap_minutes`), else the configured one, in seconds.
pub(super) fn gap_s(library: &Library, gap_minutes: Option<u32>) -> Result<i64> {
    match gap_minutes {
        None => Ok(library.session_gap_s()),
        Some(minutes) if (1..=1440).contains(&minutes) => Ok(i64::from(minutes) * 60),
        Some(_) => Err(Error::invalid("`gap_minutes` must be between 1 and 1440")),
    }
}

fn local_time(seconds: i64, zone: &TimeZone) -> String {
    Timestamp::from_second(seconds)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn named(row: TopRow) -> NamedCount {
    NamedCount { id: row.id, name: row.name, artist: row.artist, count: row.plays }
}

fn session_info(library: &Library, session: &Session, zone: &TimeZone, listens: bool) -> Result<SessionInfo> {
    let names = library.artist_names(&[session.opener, session.closer])?;
    let listens = if listens {
        let end = session.end_s.max(session.start_s) + 1;
        library
            .listens_oldest_first(session.start_s as u64, end as u64, MAX_LISTENS)?
            .into_iter()
            .map(listen_dto)
            .collect()
    } else {
        Vec::new()
    };
    Ok(SessionInfo {
        start: session.start_s,
        end: session.end_s,
        start_local: local_time(session.start_s, zone),
        length_s: session.length_s().max(0) as u64,
        plays: session.plays,
        ms: session.ms,
        opener: names[0].clone(),
        closer: names[1].clone(),
        listens,
    })
}

fn streak(run: Run, today: i64) -> Streak {
    Streak {
        first_day: insights::date_of_day(run.first).to_string(),
        last_day: insights::date_of_day(run.last).to_string(),
        days: run.days(),
        current: run.last >= today - 1,
    }
}

fn found(kind: FoundKind) -> DiscoveredKind {
    DiscoveredKind {
        count: kind.count,
        top: kind
            .top
            .into_iter()
            .map(|Found { row, first_s }| Discovery {
                id: row.id,
                name: row.name,
                artist: row.artist,
                first_listen: first_s,
                plays: row.plays,
            })
            .collect(),
    }
}

fn top_entries(rows: Vec<TopRow>) -> Vec<TopEntry> {
    rows.into_iter()
        .enumerate()
        .map(|(rank, row)| TopEntry {
            rank: rank as u32 + 1,
            id: row.id,
            name: row.name,
            artist: row.artist,
            plays: row.plays,
            ms: row.ms,
        })
        .collect()
}

/// The range an answer covers: the period asked for, all time when none
/// (`None` when there is no listen at all).
fn range_of(library: &Library, ask: &Ask) -> Result<(i64, i64)> {
    Ok(ask.bounded(library)?.unwrap_or((0, 0)))
}

/// `stats.sessions`.
pub(super) fn sessions(library: &Library, ask: Ask, gap_s: i64, limit: usize) -> Result<SessionsAnswer> {
    let range = range_of(library, &ask)?;
    let stats = library.sessions(range, &ask.zone, gap_s, limit)?;
    let longest =
        stats.longest.iter().map(|session| session_info(library, session, &ask.zone, true)).collect::<Result<_>>()?;
    Ok(SessionsAnswer {
        span: span(library, &ask, stats.count == 0)?,
        gap_minutes: (gap_s / 60) as u32,
        count: stats.count,
        plays: stats.plays,
        total_s: stats.total_s,
        average_s: stats.total_s.checked_div(stats.count).unwrap_or(0),
        longest,
        per_weekday: stats.per_weekday.to_vec(),
        per_hour: stats.per_hour.to_vec(),
        openers: stats.openers.into_iter().map(named).collect(),
        closers: stats.closers.into_iter().map(named).collect(),
    })
}

/// `stats.streaks`.
pub(super) fn streaks(library: &Library, ask: Ask, limit: usize) -> Result<StreaksAnswer> {
    let range = range_of(library, &ask)?;
    let stats = library.streaks(range, &ask.zone, limit)?;
    let today = stats.today;
    let entities = |rows: Vec<(TopRow, Run)>| -> Vec<EntityStreak> {
        rows.into_iter()
            .map(|(row, run)| EntityStreak {
                id: row.id,
                name: row.name,
                artist: row.artist,
                streak: streak(run, today),
            })
            .collect()
    };
    Ok(StreaksAnswer {
        span: span(library, &ask, stats.days == 0)?,
        today: insights::date_of_day(today).to_string(),
        current: stats.current.map(|run| streak(run, today)),
        longest: stats.longest.map(|run| streak(run, today)),
        days: stats.days,
        artists: entities(stats.artists),
        albums: entities(stats.albums),
        current_artists: entities(stats.current_artists),
    })
}

/// `stats.discoveries`.
pub(super) fn discoveries(library: &Library, ask: Ask, limit: usize) -> Result<Discoveries> {
    let range = range_of(library, &ask)?;
    let stats = library.discoveries(range, &ask.zone, limit)?;
    let [artists, albums, tracks] = stats.kinds;
    let empty = artists.count == 0 && !library.any_listen_in(range)?;
    Ok(Discoveries {
        span: span(library, &ask, empty)?,
        artists: found(artists),
        albums: found(albums),
        tracks: found(tracks),
        per_month: stats
            .per_month
            .into_iter()
            .map(|(month, [artists, albums, tracks])| DiscoveryMonth { month, artists, albums, tracks })
            .collect(),
    })
}

/// `stats.climbers`: `against` names the period compared with; the one before by default.
pub(super) fn climbers(
    library: &Library,
    kind: EntityKind,
    ask: Ask,
    against: Option<String>,
    limit: usize,
) -> Result<Climbers> {
    let Some(range) = ask.range else {
        return Err(Error::invalid("give a period to compare (`year`, `month`, `week`, `day` or `from`/`to`)"));
    };
    let range = ask.bounded(library)?.unwrap_or(range);
    let against = match (against, ask.calendar) {
        (Some(text), _) => CalendarPeriod::parse(&text)?.range(&ask.zone)?,
        (None, Some(calendar)) => calendar.previous()?.range(&ask.zone)?,
        (None, None) => (range.0 - (range.1 - range.0), range.0),
    };
    let (risen, new) = library.climbers(kind_of(kind), range, against, limit)?;
    let climber = |climb: insights::Climb| Climber {
        id: climb.row.id,
        name: climb.row.name,
        artist: climb.row.artist,
        rank: climb.rank,
        plays: climb.row.plays,
        previous_rank: climb.previous_rank,
        previous_plays: climb.previous_plays,
    };
    let day = |seconds: i64| analytics::date_of(seconds, &ask.zone).to_string();
    let empty = risen.is_empty() && new.is_empty();
    Ok(Climbers {
        kind,
        span: span(library, &ask, empty)?,
        against_first_day: day(against.0),
        against_last_day: day(against.1 - 1),
        climbers: risen.into_iter().map(climber).collect(),
        new_entries: new.into_iter().map(climber).collect(),
    })
}

/// `stats.on_this_day`.
pub(super) fn on_this_day(
    library: &Library,
    date: Option<String>,
    years: Option<Vec<u32>>,
    zone: TimeZone,
    limit: usize,
) -> Result<OnThisDay> {
    let date = match date {
        Some(text) => match CalendarPeriod::day(&text)? {
            CalendarPeriod::Day(date) => date,
            _ => unreachable!("CalendarPeriod::day gives a day"),
        },
        None => analytics::date_of(library.clock().now_s(), &zone),
    };
    let years = years.unwrap_or_else(|| vec![1, 2, 5, 10]);
    if years.is_empty() || years.len() > 50 || years.iter().any(|years| !(1..=200).contains(years)) {
        return Err(Error::invalid("`years` takes 1 to 50 numbers of years, each from 1 to 200"));
    }
    let days = library.on_this_day(date, &years, &zone)?;
    let days = days
        .into_iter()
        .map(|day| {
            let listens = library.listens_oldest_first(day.range.0 as u64, day.range.1 as u64, limit)?;
            Ok(DayBack {
                years_ago: day.years_ago,
                date: day.date.to_string(),
                plays: day.plays,
                ms: day.ms,
                artists: day.artists.into_iter().map(named).collect(),
                listens: listens.into_iter().map(listen_dto).collect(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(OnThisDay { date: date.to_string(), tz: analytics::zone_label(&zone), days })
}

fn singular(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Artist => "artist",
        EntityKind::Album => "album",
        EntityKind::Track => "track",
    }
}

/// `stats.entity`: `id`, or `name` (and `artist` for albums and tracks).
#[allow(clippy::too_many_arguments)]
pub(super) fn entity(
    library: &Library,
    kind: EntityKind,
    id: Option<u64>,
    name: Option<String>,
    artist: Option<String>,
    ask: Ask,
    gap_s: i64,
    limit: usize,
) -> Result<EntityPage> {
    let domain = kind_of(kind);
    let id = match (id, &name) {
        (Some(id), None) => id,
        (None, Some(name)) => {
            let found = library.entity_id(domain, name, artist.as_deref())?;
            found.ok_or_else(|| match &artist {
                Some(artist) => Error::not_found(format!("no {} {name:?} by {artist:?}", singular(kind))),
                None => Error::not_found(format!("no {} {name:?}", singular(kind))),
            })?
        }
        _ => return Err(Error::invalid("name the entity by `id` or by `name` (and `artist`), not both")),
    };
    let range = ask.range.map(|_| ask.bounded(library)).transpose()?.flatten();
    let stats = library
        .entity(domain, id, range, &ask.zone, gap_s, limit)?
        .ok_or_else(|| Error::not_found(format!("no {} with id {id} has been played", singular(kind))))?;
    let recent_sessions = stats
        .recent_sessions
        .iter()
        .map(|session| session_info(library, session, &ask.zone, false))
        .collect::<Result<_>>()?;
    Ok(EntityPage {
        kind,
        id,
        name: stats.name,
        artist: stats.artist,
        span: span(library, &ask, stats.plays == 0)?,
        plays: stats.plays,
        ms: stats.ms,
        time_known: stats.known.known,
        time_from_length: stats.known.from_length,
        rank: stats.rank,
        first_listen: stats.first_s,
        last_listen: stats.last_s,
        period: stats.period.map(|(plays, ms, rank)| EntityPeriod { plays, ms, rank }),
        per_year: stats
            .per_year
            .into_iter()
            .map(|(year, plays, ms)| YearCount { year: i32::from(year), plays, ms })
            .collect(),
        top_tracks: stats.top_tracks.into_iter().map(named).collect(),
        top_albums: stats.top_albums.into_iter().map(named).collect(),
        sessions: stats.sessions,
        recent_sessions,
        co_listened: stats
            .co_listened
            .into_iter()
            .map(|(row, sessions, lift)| CoListened {
                id: row.id,
                name: row.name,
                sessions,
                lift: (lift * 100.0).round() / 100.0,
            })
            .collect(),
    })
}

/// `stats.wrapped`: the period asked for, this year so far when none.
pub(super) fn wrapped(library: &Library, mut ask: Ask, gap_s: i64, markdown: bool) -> Result<Wrapped> {
    if ask.range.is_none() {
        let year = CalendarPeriod::Year(analytics::date_of(library.clock().now_s(), &ask.zone).year());
        ask.range = Some(year.range(&ask.zone)?);
        ask.calendar = Some(year);
    }
    let range = range_of(library, &ask)?;
    let stats = library.wrapped(range, &ask.zone, gap_s)?;
    let mut wrapped = wrapped_dto(library, &ask, range, stats)?;
    if markdown {
        wrapped.markdown = Some(render_markdown(&wrapped));
    }
    Ok(wrapped)
}

fn wrapped_dto(library: &Library, ask: &Ask, range: (i64, i64), stats: WrappedStats) -> Result<Wrapped> {
    let today = analytics::date_of(library.clock().now_s(), &ask.zone);
    let today = today.since(jiff::civil::Date::constant(1970, 1, 1)).map(|span| span.get_days()).unwrap_or(0);
    let [top_artists, top_albums, top_tracks] = stats.top_plays;
    let [top_artists_by_time, top_albums_by_time, top_tracks_by_time] = stats.top_time;
    let [new_artists, new_albums, new_tracks] = stats.discoveries.kinds;
    let longest_session =
        stats.longest_session.map(|session| session_info(library, &session, &ask.zone, false)).transpose()?;
    Ok(Wrapped {
        span: span(library, ask, stats.plays == 0)?,
        from: range.0,
        to: range.1,
        totals: WrappedTotals {
            plays: stats.plays,
            ms: stats.ms,
            time_known: stats.known.known,
            time_from_length: stats.known.from_length,
            artists: stats.distinct[0],
            albums: stats.distinct[1],
            tracks: stats.distinct[2],
            days: stats.days,
            sessions: stats.sessions,
        },
        top_artists: top_entries(top_artists),
        top_albums: top_entries(top_albums),
        top_tracks: top_entries(top_tracks),
        top_artists_by_time: top_entries(top_artists_by_time),
        top_albums_by_time: top_entries(top_albums_by_time),
        top_tracks_by_time: top_entries(top_tracks_by_time),
        top_day: stats.top_day.map(|(day, plays, ms)| DayCount {
            date: insights::date_of_day(day).to_string(),
            plays,
            ms,
        }),
        longest_session,
        new_artists: found(new_artists),
        new_albums: new_albums.count,
        new_tracks: new_tracks.count,
        streak: stats.streak.map(|run| streak(run, i64::from(today))),
        clock: stats.clock.to_vec(),
        markdown: None,
    })
}

/// `stats.report`: writes `reports/<month>.md` in the data folder (the month
/// before the current one in the zone when none is named).
pub(super) fn report(library: &Library, month: Option<String>, zone: TimeZone, gap_s: i64) -> Result<ReportFile> {
    let period = match month {
        Some(text) => CalendarPeriod::month(&text)?,
        None => {
            let today = analytics::date_of(library.clock().now_s(), &zone);
            CalendarPeriod::Month(today.year(), today.month()).previous()?
        }
    };
    let CalendarPeriod::Month(year, month) = period else {
        return Err(Error::invalid("`month` must be a month such as 2024-05"));
    };
    let label = format!("{year:04}-{month:02}");
    let ask = Ask { range: Some(period.range(&zone)?), zone, calendar: Some(period) };
    let wrapped = wrapped(library, ask, gap_s, true)?;
    let text = wrapped.markdown.clone().unwrap_or_default();
    let path = library.write_report(&format!("{label}.md"), &text)?;
    Ok(ReportFile { month: label, path: path.display().to_string(), plays: wrapped.totals.plays })
}

fn duration(ms: u64) -> String {
    let minutes = ms / 60_000;
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes:02} min"),
    }
}

fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn entry_name(entry: &TopEntry) -> String {
    match &entry.artist {
        Some(artist) => format!("{} — {}", markdown_escape(&entry.name), markdown_escape(artist)),
        None => markdown_escape(&entry.name),
    }
}

/// The wrapped answer as a Markdown report.
pub(super) fn render_markdown(wrapped: &Wrapped) -> String {
    let mut out = String::new();
    let period = match (&wrapped.span.first_day, &wrapped.span.last_day) {
        (Some(first), Some(last)) if first == last => first.clone(),
        (Some(first), Some(last)) => format!("{first} to {last}"),
        _ => "all time".to_owned(),
    };
    let _ = writeln!(out, "# Listening, {period}\n");
    let totals = &wrapped.totals;
    if totals.plays == 0 {
        let _ = writeln!(out, "No listens in this period ({}).", wrapped.span.tz);
        return out;
    }
    let _ = writeln!(
        out,
        "{} listens, {} played ({} of them with a known length), {} artists, {} albums, {} tracks, on {} days in {} sessions.\n",
        totals.plays,
        duration(totals.ms),
        totals.time_known,
        totals.artists,
        totals.albums,
        totals.tracks,
        totals.days,
        totals.sessions,
    );
    let tables = [
        ("Top artists", &wrapped.top_artists, &wrapped.top_artists_by_time),
        ("Top albums", &wrapped.top_albums, &wrapped.top_albums_by_time),
        ("Top tracks", &wrapped.top_tracks, &wrapped.top_tracks_by_time),
    ];
    for (title, by_plays, by_time) in tables {
        if by_plays.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {title}\n\n| # | By plays | Plays | By time | Time |\n|---|---|---:|---|---:|");
        for index in 0..by_plays.len().max(by_time.len()) {
            let left = by_plays.get(index).map(|entry| (entry_name(entry), entry.plays.to_string()));
            let right = by_time.get(index).map(|entry| (entry_name(entry), duration(entry.ms.unwrap_or(0))));
            let (left_name, left_plays) = left.unwrap_or_default();
            let (right_name, right_time) = right.unwrap_or_default();
            let _ = writeln!(out, "| {} | {left_name} | {left_plays} | {right_name} | {right_time} |", index + 1);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Highlights\n");
    if let Some(day) = &wrapped.top_day {
        let _ = writeln!(out, "- Busiest day: {} ({} listens, {})", day.date, day.plays, duration(day.ms));
    }
    if let Some(session) = &wrapped.longest_session {
        let _ = writeln!(
            out,
            "- Longest session: {} ({} listens over {}, from {} to {})",
            session.start_local,
            session.plays,
            duration(session.length_s * 1000),
            markdown_escape(&session.opener),
            markdown_escape(&session.closer),
        );
    }
    if let Some(streak) = &wrapped.streak {
        let _ = writeln!(
            out,
            "- Longest streak: {} days in a row, {} to {}",
            streak.days, streak.first_day, streak.last_day
        );
    }
    let peak = wrapped.clock.iter().enumerate().max_by_key(|(hour, plays)| (**plays, std::cmp::Reverse(*hour)));
    if let Some((hour, plays)) = peak.filter(|(_, plays)| **plays > 0) {
        let _ = writeln!(out, "- Favourite hour: {hour:02}:00–{:02}:00 ({plays} listens)", (hour + 1) % 24);
    }
    let _ = writeln!(
        out,
        "- Discoveries: {} new artists, {} new albums, {} new tracks",
        wrapped.new_artists.count, wrapped.new_albums, wrapped.new_tracks
    );
    if !wrapped.new_artists.top.is_empty() {
        let _ = writeln!(out, "\n## New artists\n");
        for found in &wrapped.new_artists.top {
            let _ = writeln!(out, "- {} ({} listens)", markdown_escape(&found.name), found.plays);
        }
    }
    out
}
