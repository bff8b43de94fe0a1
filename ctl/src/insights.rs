//! The insights drawn for people: sessions, streaks, discoveries, climbers, on this
//! day, an artist's, album's or track's page, and wrapped. Small aligned tables for
//! lists, Unicode blocks for series (see `draw`), durations as `output::time_listened`.
//!
//! Times: sessions come with their start in the answer's zone (`start_local`); other
//! times are unix seconds, shown in the zone the answer names (its `tz`).

use std::io::{self, Write};

use musique_api::{
    Climber, Climbers, DiscoveredKind, Discoveries, EntityKind, EntityPage, EntityStreak, Listen, NamedCount,
    OnThisDay, SessionInfo, SessionsAnswer, Streak, StreaksAnswer, TopEntry, Wrapped,
};

use crate::draw::{self, Canvas, WEEKDAYS};
use crate::output::{Fit, fitted_table, nothing_in, time_listened};

/// Per-month series longer than this are drawn per year.
const MONTHS_DRAWN: usize = 24;

/// `musiquectl sessions`.
pub(crate) fn sessions(out: &mut impl Write, answer: &SessionsAnswer, canvas: &Canvas) -> io::Result<()> {
    if answer.count == 0 {
        return writeln!(out, "{}", nothing_in(&answer.span));
    }
    writeln!(
        out,
        "{} (split by {} min without a listen), {}",
        several(answer.count, "session"),
        answer.gap_minutes,
        draw::heading(&answer.span)
    )?;
    writeln!(
        out,
        "  {}, {} in all, {} on average",
        several(answer.plays, "listen"),
        seconds(answer.total_s),
        seconds(answer.average_s)
    )?;
    if !answer.longest.is_empty() {
        writeln!(out)?;
        writeln!(out, "Longest")?;
        sessions_table(out, &answer.longest, canvas)?;
    }
    writeln!(out)?;
    writeln!(out, "Sessions started per hour of the day")?;
    draw::hours(out, &answer.per_hour, "  ", canvas)?;
    writeln!(out)?;
    writeln!(out, "Sessions started per weekday")?;
    let rows: Vec<(String, u64)> =
        WEEKDAYS.iter().zip(&answer.per_weekday).map(|(day, count)| ((*day).to_owned(), *count)).collect();
    draw::bars(out, &rows, musique_api::Measure::Plays, canvas)?;
    for (title, artists) in [("Opened most sessions", &answer.openers), ("Closed most sessions", &answer.closers)] {
        if !artists.is_empty() {
            writeln!(out)?;
            writeln!(out, "{title}")?;
            artists_table(out, artists, canvas)?;
        }
    }
    Ok(())
}

/// `musiquectl streaks`.
pub(crate) fn streaks(out: &mut impl Write, answer: &StreaksAnswer, canvas: &Canvas) -> io::Result<()> {
    if answer.days == 0 {
        return writeln!(out, "{}", nothing_in(&answer.span));
    }
    writeln!(out, "Days in a row with a listen, {}; today is {}", draw::heading(&answer.span), answer.today)?;
    writeln!(out, "  days with a listen: {}", answer.days)?;
    match &answer.current {
        Some(streak) => writeln!(out, "  current: {}", streak_words(streak))?,
        // A period that ended before yesterday has none, whatever today holds.
        None if answer.span.last_day.is_some() => writeln!(out, "  current: none")?,
        None => writeln!(out, "  current: none (no listen today or yesterday)")?,
    }
    if let Some(streak) = &answer.longest {
        writeln!(out, "  longest: {}", streak_words(streak))?;
    }
    for (title, what, streaks) in [
        ("Artists", "ARTIST", &answer.artists),
        ("Albums", "ALBUM", &answer.albums),
        ("Artists on a streak now", "ARTIST", &answer.current_artists),
    ] {
        if !streaks.is_empty() {
            writeln!(out)?;
            writeln!(out, "{title}")?;
            streaks_table(out, what, streaks, canvas)?;
        }
    }
    Ok(())
}

/// `musiquectl discoveries`.
pub(crate) fn discoveries(out: &mut impl Write, answer: &Discoveries, canvas: &Canvas) -> io::Result<()> {
    let found = answer.artists.count + answer.albums.count + answer.tracks.count;
    if found == 0 {
        if answer.span.history_from.is_some() {
            return writeln!(out, "{}", nothing_in(&answer.span));
        }
        return writeln!(out, "nothing first heard, {}", draw::heading(&answer.span));
    }
    writeln!(out, "First heard, {}", draw::heading(&answer.span))?;
    writeln!(
        out,
        "  {}, {}, {}",
        several(answer.artists.count, "artist"),
        several(answer.albums.count, "album"),
        several(answer.tracks.count, "track")
    )?;
    for (title, what, kind) in [
        ("Artists", "ARTIST", &answer.artists),
        ("Albums", "ALBUM", &answer.albums),
        ("Tracks", "TRACK", &answer.tracks),
    ] {
        if !kind.top.is_empty() {
            writeln!(out)?;
            writeln!(out, "{title} (most played first)")?;
            discovered_table(out, what, kind, &answer.span.tz, canvas)?;
        }
    }
    if answer.per_month.iter().any(|month| month.artists > 0) {
        let mut rows: Vec<(String, u64)> =
            answer.per_month.iter().map(|month| (month.month.clone(), month.artists)).collect();
        let step = if rows.len() > MONTHS_DRAWN {
            rows = per_year(&rows);
            "year"
        } else {
            "month"
        };
        writeln!(out)?;
        writeln!(out, "New artists per {step}")?;
        draw::bars(out, &rows, musique_api::Measure::Plays, canvas)?;
    }
    Ok(())
}

/// `musiquectl climbers`.
pub(crate) fn climbers(out: &mut impl Write, answer: &Climbers, canvas: &Canvas) -> io::Result<()> {
    if answer.climbers.is_empty() && answer.new_entries.is_empty() {
        if answer.span.history_from.is_some() {
            return writeln!(out, "{}", nothing_in(&answer.span));
        }
        return writeln!(out, "no {} climbed, {}", answer.kind.plural(), draw::heading(&answer.span));
    }
    let against = if answer.against_first_day == answer.against_last_day {
        answer.against_first_day.clone()
    } else {
        format!("{} to {}", answer.against_first_day, answer.against_last_day)
    };
    writeln!(
        out,
        "{} climbing, {}, against {against}",
        capitalised(answer.kind.plural()),
        draw::heading(&answer.span)
    )?;
    let with_artist = answer.kind != EntityKind::Artist;
    if !answer.climbers.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = answer
            .climbers
            .iter()
            .map(|climber| {
                let was = climber.previous_rank.map_or_else(|| "-".to_owned(), |rank| rank.to_string());
                let up = climber
                    .previous_rank
                    .map_or_else(String::new, |rank| format!("{:+}", i64::from(rank) - i64::from(climber.rank)));
                let mut row = vec![
                    climber.rank.to_string(),
                    was,
                    up,
                    climber.plays.to_string(),
                    climber.previous_plays.to_string(),
                ];
                push_name(&mut row, climber, with_artist);
                row
            })
            .collect();
        let mut columns = vec![
            ("#", Fit::Whole),
            ("WAS", Fit::Whole),
            ("UP", Fit::Whole),
            ("PLAYS", Fit::Whole),
            ("BEFORE", Fit::Whole),
        ];
        name_columns(&mut columns, answer.kind, with_artist);
        fitted_table(out, &columns, &rows, canvas.tables)?;
    }
    if !answer.new_entries.is_empty() {
        writeln!(out)?;
        writeln!(out, "New entries (not played in {against})")?;
        let rows: Vec<Vec<String>> = answer
            .new_entries
            .iter()
            .map(|climber| {
                let mut row = vec![climber.rank.to_string(), climber.plays.to_string()];
                push_name(&mut row, climber, with_artist);
                row
            })
            .collect();
        let mut columns = vec![("#", Fit::Whole), ("PLAYS", Fit::Whole)];
        name_columns(&mut columns, answer.kind, with_artist);
        fitted_table(out, &columns, &rows, canvas.tables)?;
    }
    Ok(())
}

/// `musiquectl on-this-day`.
pub(crate) fn on_this_day(out: &mut impl Write, answer: &OnThisDay, canvas: &Canvas) -> io::Result<()> {
    writeln!(out, "On this day, {} ({})", answer.date, answer.tz)?;
    if answer.days.is_empty() {
        return writeln!(out, "  no years asked for");
    }
    for day in &answer.days {
        writeln!(out)?;
        let ago = if day.years_ago == 1 { "1 year ago".to_owned() } else { format!("{} years ago", day.years_ago) };
        if day.plays == 0 {
            writeln!(out, "{ago}, {}: no listens", day.date)?;
            continue;
        }
        writeln!(out, "{ago}, {}: {}, {}", day.date, several(day.plays, "listen"), time_listened(day.ms))?;
        if !day.artists.is_empty() {
            let artists: Vec<String> =
                day.artists.iter().map(|artist| format!("{} ({})", artist.name, artist.count)).collect();
            writeln!(out, "  most played: {}", artists.join(", "))?;
        }
        if !day.listens.is_empty() {
            listens_table(out, &day.listens, &answer.tz, canvas)?;
        }
    }
    Ok(())
}

/// `musiquectl artist`, `album` and `track`.
pub(crate) fn entity(out: &mut impl Write, page: &EntityPage, canvas: &Canvas) -> io::Result<()> {
    let kind = singular(page.kind);
    let title = match &page.artist {
        Some(artist) => format!("{} by {artist}", page.name),
        None => page.name.clone(),
    };
    writeln!(out, "{title} ({kind} {}), {}", page.id, draw::heading(&page.span))?;
    if page.plays == 0 {
        return writeln!(out, "  no listens of this {kind}");
    }
    let rank = page.rank.map(|rank| format!(", #{rank} of {}", page.kind.plural())).unwrap_or_default();
    writeln!(out, "  all time: {}, {}{rank}", several(page.plays, "listen"), time_listened(page.ms))?;
    if page.time_known < page.plays {
        writeln!(out, "  {}", crate::draw::time_note(page.time_known, page.time_from_length))?;
    }
    match (page.first_listen, page.last_listen) {
        (Some(first), Some(last)) => {
            let (first, last) = (local_day(first, &page.span.tz), local_day(last, &page.span.tz));
            writeln!(out, "  first heard {first}, last {last}")?
        }
        (Some(first), None) => writeln!(out, "  first heard {}", local_day(first, &page.span.tz))?,
        _ => {}
    }
    if let Some(period) = &page.period {
        if period.plays == 0 {
            writeln!(out, "  {}", nothing_in(&page.span))?;
        } else {
            let rank = period.rank.map(|rank| format!(", #{rank}")).unwrap_or_default();
            let plays = several(period.plays, "listen");
            writeln!(out, "  in the period: {plays}, {}{rank}", time_listened(period.ms))?;
        }
    }
    writeln!(out, "  sessions: {}", page.sessions)?;
    if page.per_year.iter().any(|year| year.plays > 0) {
        writeln!(out)?;
        writeln!(out, "Listens per year")?;
        let rows: Vec<(String, u64)> = page.per_year.iter().map(|year| (year.year.to_string(), year.plays)).collect();
        draw::bars(out, &rows, musique_api::Measure::Plays, canvas)?;
    }
    for (title, what, list) in [("Top tracks", "TRACK", &page.top_tracks), ("Top albums", "ALBUM", &page.top_albums)] {
        if list.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title}")?;
        // Its own artist is not repeated on every row.
        let own_artist = page.artist.as_deref().unwrap_or(&page.name);
        let with_artist = list.iter().any(|entry| entry.artist.as_deref().is_some_and(|artist| artist != own_artist));
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|entry| {
                let mut row = vec![entry.count.to_string(), entry.name.clone()];
                if with_artist {
                    row.push(entry.artist.clone().unwrap_or_default());
                }
                row
            })
            .collect();
        let mut columns = vec![("PLAYS", Fit::Whole), (what, Fit::Cut)];
        if with_artist {
            columns.push(("ARTIST", Fit::Cut));
        }
        fitted_table(out, &columns, &rows, canvas.tables)?;
    }
    if !page.recent_sessions.is_empty() {
        writeln!(out)?;
        writeln!(out, "Latest sessions with it")?;
        sessions_table(out, &page.recent_sessions, canvas)?;
    }
    if !page.co_listened.is_empty() {
        writeln!(out)?;
        writeln!(out, "Played in the same sessions")?;
        let rows: Vec<Vec<String>> = page
            .co_listened
            .iter()
            .map(|artist| vec![artist.sessions.to_string(), format!("{:.1}", artist.lift), artist.name.clone()])
            .collect();
        fitted_table(
            out,
            &[("SESSIONS", Fit::Whole), ("LIFT", Fit::Whole), ("ARTIST", Fit::Cut)],
            &rows,
            canvas.tables,
        )?;
    }
    Ok(())
}

/// `musiquectl wrapped`.
pub(crate) fn wrapped(out: &mut impl Write, wrapped: &Wrapped, canvas: &Canvas) -> io::Result<()> {
    let totals = &wrapped.totals;
    if totals.plays == 0 {
        return writeln!(out, "{}", nothing_in(&wrapped.span));
    }
    writeln!(out, "Wrapped, {}", draw::heading(&wrapped.span))?;
    writeln!(out, "  {}, {} listened", several(totals.plays, "listen"), time_listened(totals.ms))?;
    if totals.time_known < totals.plays {
        writeln!(out, "  {}", crate::draw::time_note(totals.time_known, totals.time_from_length))?;
    }
    writeln!(
        out,
        "  {}, {}, {}, on {}, in {}",
        several(totals.artists, "artist"),
        several(totals.albums, "album"),
        several(totals.tracks, "track"),
        several(totals.days, "day"),
        several(totals.sessions, "session")
    )?;
    for (title, by_plays, by_time) in [
        ("Top artists", &wrapped.top_artists, &wrapped.top_artists_by_time),
        ("Top albums", &wrapped.top_albums, &wrapped.top_albums_by_time),
        ("Top tracks", &wrapped.top_tracks, &wrapped.top_tracks_by_time),
    ] {
        if by_plays.is_empty() && by_time.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title}")?;
        let rows: Vec<Vec<String>> = (0..by_plays.len().max(by_time.len()))
            .map(|index| {
                let plays = by_plays.get(index);
                let time = by_time.get(index);
                vec![
                    (index + 1).to_string(),
                    plays.map(entry_name).unwrap_or_default(),
                    plays.map(|entry| entry.plays.to_string()).unwrap_or_default(),
                    time.map(entry_name).unwrap_or_default(),
                    time.map(|entry| time_listened(entry.ms.unwrap_or(0))).unwrap_or_default(),
                ]
            })
            .collect();
        let columns = [
            ("#", Fit::Whole),
            ("BY PLAYS", Fit::Cut),
            ("PLAYS", Fit::Whole),
            ("BY TIME", Fit::Cut),
            ("TIME", Fit::Whole),
        ];
        fitted_table(out, &columns, &rows, canvas.tables)?;
    }
    writeln!(out)?;
    if let Some(day) = &wrapped.top_day {
        writeln!(out, "Top day:         {}, {}, {}", day.date, several(day.plays, "listen"), time_listened(day.ms))?;
    }
    if let Some(session) = &wrapped.longest_session {
        writeln!(
            out,
            "Longest session: {}, {}, {}, {} to {}",
            local_time(&session.start_local),
            seconds(session.length_s),
            several(session.plays, "listen"),
            session.opener,
            session.closer
        )?;
    }
    if let Some(streak) = &wrapped.streak {
        writeln!(out, "Longest streak:  {}", streak_words(streak))?;
    }
    let new_artists = &wrapped.new_artists;
    let names: Vec<&str> = new_artists.top.iter().map(|artist| artist.name.as_str()).collect();
    let names = if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
    writeln!(
        out,
        "First heard:     {} artists{names}, {} albums, {} tracks",
        new_artists.count, wrapped.new_albums, wrapped.new_tracks
    )?;
    if wrapped.clock.iter().any(|plays| *plays > 0) {
        writeln!(out)?;
        writeln!(out, "Listens per hour of the day")?;
        draw::hours(out, &wrapped.clock, "  ", canvas)?;
    }
    Ok(())
}

/// Sessions as a table: start (in the answer's zone), length, listens, first and last artist.
fn sessions_table(out: &mut impl Write, sessions: &[SessionInfo], canvas: &Canvas) -> io::Result<()> {
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|session| {
            vec![
                local_time(&session.start_local),
                seconds(session.length_s),
                session.plays.to_string(),
                session.opener.clone(),
                session.closer.clone(),
            ]
        })
        .collect();
    fitted_table(
        out,
        &[
            ("STARTED", Fit::Whole),
            ("LENGTH", Fit::Whole),
            ("PLAYS", Fit::Whole),
            ("OPENER", Fit::Cut),
            ("CLOSER", Fit::Cut),
        ],
        &rows,
        canvas.tables,
    )
}

/// Artists and the sessions they open or close.
fn artists_table(out: &mut impl Write, artists: &[NamedCount], canvas: &Canvas) -> io::Result<()> {
    let rows: Vec<Vec<String>> =
        artists.iter().map(|artist| vec![artist.count.to_string(), artist.name.clone()]).collect();
    fitted_table(out, &[("SESSIONS", Fit::Whole), ("ARTIST", Fit::Cut)], &rows, canvas.tables)
}

/// Streaks of artists or albums (`what` names the column).
fn streaks_table(out: &mut impl Write, what: &str, streaks: &[EntityStreak], canvas: &Canvas) -> io::Result<()> {
    let with_artist = streaks.iter().any(|streak| streak.artist.is_some());
    let rows: Vec<Vec<String>> = streaks
        .iter()
        .map(|entity| {
            let days = if entity.streak.current {
                format!("{} (now)", entity.streak.days)
            } else {
                entity.streak.days.to_string()
            };
            let mut row =
                vec![days, entity.streak.first_day.clone(), entity.streak.last_day.clone(), entity.name.clone()];
            if with_artist {
                row.push(entity.artist.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut columns = vec![("DAYS", Fit::Whole), ("FROM", Fit::Whole), ("TO", Fit::Whole), (what, Fit::Cut)];
    if with_artist {
        columns.push(("ARTIST", Fit::Cut));
    }
    fitted_table(out, &columns, &rows, canvas.tables)
}

/// What was first heard, of one kind (`what` names the column).
fn discovered_table(
    out: &mut impl Write,
    what: &str,
    kind: &DiscoveredKind,
    tz: &str,
    canvas: &Canvas,
) -> io::Result<()> {
    let with_artist = kind.top.iter().any(|found| found.artist.is_some());
    let rows: Vec<Vec<String>> = kind
        .top
        .iter()
        .map(|found| {
            let mut row = vec![local_day(found.first_listen, tz), found.plays.to_string(), found.name.clone()];
            if with_artist {
                row.push(found.artist.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut columns = vec![("FIRST", Fit::Whole), ("PLAYS", Fit::Whole), (what, Fit::Cut)];
    if with_artist {
        columns.push(("ARTIST", Fit::Cut));
    }
    fitted_table(out, &columns, &rows, canvas.tables)
}

fn listens_table(out: &mut impl Write, listens: &[Listen], tz: &str, canvas: &Canvas) -> io::Result<()> {
    let rows: Vec<Vec<String>> = listens
        .iter()
        .map(|listen| {
            let at = in_zone(listen.listened_at, tz).map(|time| time.strftime("%H:%M").to_string()).unwrap_or_default();
            vec![at, listen.artist.clone(), listen.track.clone(), listen.album.clone().unwrap_or_default()]
        })
        .collect();
    fitted_table(
        out,
        &[("TIME", Fit::Whole), ("ARTIST", Fit::Cut), ("TRACK", Fit::Cut), ("ALBUM", Fit::Cut)],
        &rows,
        canvas.tables,
    )
}

fn push_name(row: &mut Vec<String>, climber: &Climber, with_artist: bool) {
    row.push(climber.name.clone());
    if with_artist {
        row.push(climber.artist.clone().unwrap_or_default());
    }
}

fn name_columns(columns: &mut Vec<(&str, Fit)>, kind: EntityKind, with_artist: bool) {
    columns.push((
        match kind {
            EntityKind::Artist => "ARTIST",
            EntityKind::Album => "ALBUM",
            EntityKind::Track => "TRACK",
        },
        Fit::Cut,
    ));
    if with_artist {
        columns.push(("ARTIST", Fit::Cut));
    }
}

/// A top entry's name, with its artist for albums and tracks.
fn entry_name(entry: &TopEntry) -> String {
    match &entry.artist {
        Some(artist) => format!("{} – {artist}", entry.name),
        None => entry.name.clone(),
    }
}

/// `12 days, 2024-05-12 to 2024-05-23` (or one day).
fn streak_words(streak: &Streak) -> String {
    let now = if streak.current { " (still going)" } else { "" };
    if streak.days == 1 {
        format!("1 day, {}{now}", streak.first_day)
    } else {
        format!("{} days, {} to {}{now}", streak.days, streak.first_day, streak.last_day)
    }
}

/// A count and its noun: `1 listen`, `2 listens`.
fn several(count: u64, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

/// Seconds as `output::time_listened` shows milliseconds.
fn seconds(seconds: u64) -> String {
    time_listened(seconds.saturating_mul(1000))
}

/// A time in the zone (`2024-05-23T21:04:00+02:00`) as `2024-05-23 21:04`.
fn local_time(rfc3339: &str) -> String {
    rfc3339.chars().take(16).collect::<String>().replace('T', " ")
}

/// Unix seconds in the zone the answer names (UTC when it names none musiquectl knows).
fn in_zone(seconds: i64, tz: &str) -> Option<jiff::Zoned> {
    let zone = jiff::tz::db().get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(seconds).ok().map(|time| time.to_zoned(zone))
}

/// Unix seconds as a date in the answer's zone.
fn local_day(seconds: i64, tz: &str) -> String {
    in_zone(seconds, tz).map_or_else(|| seconds.to_string(), |time| time.date().to_string())
}

/// Monthly rows (`2024-05`) added up per year (`2024`), in order.
fn per_year(months: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut years: Vec<(String, u64)> = Vec::new();
    for (month, value) in months {
        let year: String = month.chars().take(4).collect();
        match years.last_mut() {
            Some((last, total)) if *last == year => *total += value,
            _ => years.push((year, *value)),
        }
    }
    years
}

fn singular(kind: EntityKind) -> &'static str {
    kind.plural().trim_end_matches('s')
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
