//! The insights as drawn for people, plain (not a terminal: no colour, tables whole).

use musique_api::{
    Climber, Climbers, DayBack, DayCount, DiscoveredKind, Discoveries, Discovery, DiscoveryMonth, EntityKind,
    EntityPage, EntityPeriod, EntityStreak, Listen, NamedCount, OnThisDay, SessionInfo, SessionsAnswer, Span, Streak,
    StreaksAnswer, TopEntry, Wrapped, WrappedTotals, YearCount,
};

use crate::draw::Canvas;

const PLAIN: Canvas = Canvas { width: 80, colour: false, tables: None };

fn text<T>(draw: impl FnOnce(&mut Vec<u8>, &T, &Canvas) -> std::io::Result<()>, answer: &T) -> String {
    let mut out = Vec::new();
    draw(&mut out, answer, &PLAIN).expect("drawn");
    String::from_utf8(out).expect("UTF-8")
}

fn span(first: &str, last: &str) -> Span {
    Span {
        tz: "Europe/Paris".to_owned(),
        first_day: Some(first.to_owned()),
        last_day: Some(last.to_owned()),
        history_from: None,
        history_to: None,
    }
}

/// A period without a listen, in a history from 2019 to 2024.
fn empty_span() -> Span {
    Span {
        history_from: Some("2019-03-02".to_owned()),
        history_to: Some("2024-05-22".to_owned()),
        ..span("1990-01-01", "1990-12-31")
    }
}

const NOTHING: &str = "no listens between 1990-01-01 and 1990-12-31; your listens run from 2019-03-02 to 2024-05-22";

fn named(name: &str, artist: Option<&str>, count: u64) -> NamedCount {
    NamedCount { id: 1, name: name.to_owned(), artist: artist.map(str::to_owned), count }
}

fn session(start_local: &str, length_s: u64, plays: u64, opener: &str, closer: &str) -> SessionInfo {
    SessionInfo {
        start: 1_716_490_000,
        end: 1_716_490_000 + length_s as i64,
        start_local: start_local.to_owned(),
        length_s,
        plays,
        ms: length_s * 1000,
        opener: opener.to_owned(),
        closer: closer.to_owned(),
        listens: Vec::new(),
    }
}

fn sessions_answer() -> SessionsAnswer {
    let mut per_hour = vec![0; 24];
    per_hour[21] = 40;
    per_hour[8] = 10;
    SessionsAnswer {
        span: span("2024-01-01", "2024-12-31"),
        gap_minutes: 30,
        count: 412,
        plays: 5230,
        total_s: 1_843_800,
        average_s: 4475,
        longest: vec![
            session("2024-05-23T21:04:00+02:00", 22_320, 98, "Radiohead", "Björk"),
            session("2024-02-10T14:30:00+01:00", 18_000, 70, "Can", "Neu!"),
        ],
        per_weekday: vec![50, 40, 45, 60, 80, 90, 47],
        per_hour,
        openers: vec![named("Radiohead", None, 31), named("Can", None, 12)],
        closers: vec![named("Björk", None, 20)],
    }
}

#[test]
fn sessions_show_the_count_and_the_longest_session() {
    let text = text(super::sessions, &sessions_answer());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "412 sessions (split by 30 min without a listen), 2024-01-01 to 2024-12-31 (Europe/Paris)");
    assert_eq!(lines[1], "  5230 listens, 512h10 in all, 1h14 on average");
    let longest = lines.iter().position(|line| *line == "Longest").expect("a Longest section");
    assert!(lines[longest + 1].starts_with("STARTED"), "{text}");
    let first = lines[longest + 2];
    assert!(first.starts_with("2024-05-23 21:04  6h12"), "in the zone, longest first: {first:?}");
    assert!(first.contains("Radiohead") && first.ends_with("Björk"), "{first:?}");
    // The weekday bars: Saturday's (90) is the longest.
    let saturday = lines.iter().find(|line| line.starts_with("Sat ")).expect("a Saturday bar");
    assert!(saturday.ends_with(" 90") && saturday.contains('█'), "{saturday:?}");
    // The hour sparkline peaks at 21h: two columns an hour at 80 columns.
    let hours = lines.iter().position(|line| line.starts_with("Sessions started per hour")).expect("hours");
    let spark: Vec<char> = lines[hours + 1].chars().collect();
    assert_eq!(spark[2 + 2 * 21], '█', "{:?}", lines[hours + 1]);
    assert_eq!(spark[2 + 2 * 8], '▂', "{:?}", lines[hours + 1]);
    assert!(lines[hours + 2].trim_start().starts_with("0           6"), "{:?}", lines[hours + 2]);
    assert!(text.contains("Opened most sessions\nSESSIONS  ARTIST\n31        Radiohead\n"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn empty_periods_say_where_the_listens_are() {
    let sessions = SessionsAnswer {
        span: empty_span(),
        count: 0,
        plays: 0,
        total_s: 0,
        average_s: 0,
        longest: Vec::new(),
        per_weekday: vec![0; 7],
        per_hour: vec![0; 24],
        openers: Vec::new(),
        closers: Vec::new(),
        ..sessions_answer()
    };
    assert_eq!(text(super::sessions, &sessions), format!("{NOTHING}\n"));
    let streaks = StreaksAnswer { span: empty_span(), days: 0, current: None, longest: None, ..streaks_answer() };
    assert_eq!(text(super::streaks, &streaks), format!("{NOTHING}\n"));
    let wrapped = Wrapped { span: empty_span(), totals: WrappedTotals::default(), ..wrapped_answer() };
    assert_eq!(text(super::wrapped, &wrapped), format!("{NOTHING}\n"));
    let discoveries = Discoveries {
        span: empty_span(),
        artists: DiscoveredKind::default(),
        albums: DiscoveredKind::default(),
        tracks: DiscoveredKind::default(),
        per_month: Vec::new(),
    };
    assert_eq!(text(super::discoveries, &discoveries), format!("{NOTHING}\n"));
    let climbers = Climbers { span: empty_span(), climbers: Vec::new(), new_entries: Vec::new(), ..climbers_answer() };
    assert_eq!(text(super::climbers, &climbers), format!("{NOTHING}\n"));
}

#[test]
fn a_period_with_listens_but_nothing_new_is_not_called_empty() {
    let discoveries = Discoveries {
        span: span("2024-05-01", "2024-05-31"),
        artists: DiscoveredKind::default(),
        albums: DiscoveredKind::default(),
        tracks: DiscoveredKind::default(),
        per_month: vec![DiscoveryMonth { month: "2024-05".to_owned(), artists: 0, albums: 0, tracks: 0 }],
    };
    assert_eq!(
        text(super::discoveries, &discoveries),
        "nothing first heard, 2024-05-01 to 2024-05-31 (Europe/Paris)\n"
    );
}

fn streak(first: &str, last: &str, days: u32, current: bool) -> Streak {
    Streak { first_day: first.to_owned(), last_day: last.to_owned(), days, current }
}

fn streaks_answer() -> StreaksAnswer {
    StreaksAnswer {
        span: Span { tz: "Europe/Paris".to_owned(), ..Span::default() },
        today: "2024-05-23".to_owned(),
        current: Some(streak("2024-05-12", "2024-05-23", 12, true)),
        longest: Some(streak("2023-01-01", "2023-02-14", 45, false)),
        days: 812,
        artists: vec![EntityStreak {
            id: 7,
            name: "Radiohead".to_owned(),
            artist: None,
            streak: streak("2023-01-03", "2023-01-11", 9, false),
        }],
        albums: vec![EntityStreak {
            id: 9,
            name: "Kid A".to_owned(),
            artist: Some("Radiohead".to_owned()),
            streak: streak("2024-05-20", "2024-05-23", 4, true),
        }],
        current_artists: Vec::new(),
    }
}

#[test]
fn streaks_show_the_current_and_longest_runs() {
    let text = text(super::streaks, &streaks_answer());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Days in a row with a listen, all time (Europe/Paris); today is 2024-05-23");
    assert_eq!(lines[1], "  days with a listen: 812");
    assert_eq!(lines[2], "  current: 12 days, 2024-05-12 to 2024-05-23 (still going)");
    assert_eq!(lines[3], "  longest: 45 days, 2023-01-01 to 2023-02-14");
    assert!(
        text.contains("Artists\nDAYS  FROM        TO          ARTIST\n9     2023-01-03  2023-01-11  Radiohead\n"),
        "{text}"
    );
    assert!(text.contains("4 (now)  2024-05-20  2024-05-23  Kid A  Radiohead"), "{text}");
    assert!(!text.contains("on a streak now"), "an empty list gets no title: {text}");
}

#[test]
fn a_past_period_has_no_current_streak() {
    let past = StreaksAnswer { span: span("2020-01-01", "2020-12-31"), current: None, ..streaks_answer() };
    let drawn = text(super::streaks, &past);
    assert_eq!(drawn.lines().nth(2), Some("  current: none"), "{drawn}");
    let all_time = StreaksAnswer { current: None, ..streaks_answer() };
    let drawn = text(super::streaks, &all_time);
    assert_eq!(drawn.lines().nth(2), Some("  current: none (no listen today or yesterday)"), "{drawn}");
}

fn climber(rank: u32, name: &str, previous_rank: Option<u32>, plays: u64, previous_plays: u64) -> Climber {
    Climber { id: 1, name: name.to_owned(), artist: None, rank, plays, previous_rank, previous_plays }
}

fn climbers_answer() -> Climbers {
    Climbers {
        kind: EntityKind::Artist,
        span: span("2024-05-01", "2024-05-31"),
        against_first_day: "2023-05-01".to_owned(),
        against_last_day: "2023-05-31".to_owned(),
        climbers: vec![climber(3, "Can", Some(17), 40, 12), climber(8, "Neu!", Some(9), 20, 18)],
        new_entries: vec![climber(1, "Stereolab", None, 60, 0)],
    }
}

#[test]
fn climbers_show_places_gained_and_new_entries() {
    let text = text(super::climbers, &climbers_answer());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Artists climbing, 2024-05-01 to 2024-05-31 (Europe/Paris), against 2023-05-01 to 2023-05-31");
    assert_eq!(lines[2], "#  WAS  UP   PLAYS  BEFORE  ARTIST");
    assert_eq!(lines[3], "3  17   +14  40     12      Can");
    assert_eq!(lines[4], "8  9    +1   20     18      Neu!");
    assert!(
        text.contains("New entries (not played in 2023-05-01 to 2023-05-31)\n#  PLAYS  ARTIST\n1  60     Stereolab\n")
    );
}

fn discoveries_answer() -> Discoveries {
    let found = |name: &str, artist: Option<&str>, plays| Discovery {
        id: 1,
        name: name.to_owned(),
        artist: artist.map(str::to_owned),
        first_listen: 1_715_990_400, // 2024-05-18 00:00 UTC
        plays,
    };
    Discoveries {
        span: span("2022-01-01", "2024-12-31"),
        artists: DiscoveredKind { count: 40, top: vec![found("Stereolab", None, 60)] },
        albums: DiscoveredKind { count: 12, top: vec![found("Dots and Loops", Some("Stereolab"), 30)] },
        tracks: DiscoveredKind { count: 300, top: Vec::new() },
        per_month: (0..36)
            .map(|index| DiscoveryMonth {
                month: format!("{}-{:02}", 2022 + index / 12, index % 12 + 1),
                artists: if index >= 24 { 2 } else { 1 },
                albums: 0,
                tracks: 0,
            })
            .collect(),
    }
}

#[test]
fn discoveries_list_the_new_and_add_long_series_up_per_year() {
    let text = text(super::discoveries, &discoveries_answer());
    assert!(
        text.starts_with("First heard, 2022-01-01 to 2024-12-31 (Europe/Paris)\n  40 artists, 12 albums, 300 tracks\n")
    );
    assert!(text.contains("2024-05-18  60     Stereolab\n"), "the first listen as a date in the zone: {text}");
    assert!(
        text.contains("FIRST       PLAYS  ALBUM           ARTIST\n2024-05-18  30     Dots and Loops  Stereolab\n"),
        "{text}"
    );
    assert!(!text.contains("Tracks (most played first)"), "{text}");
    assert!(text.contains("New artists per year\n"), "36 months are drawn as years: {text}");
    let year = text.lines().find(|line| line.starts_with("2024 ")).expect("a 2024 bar");
    assert!(year.ends_with(" 24"), "twelve months of two: {year:?}");
    assert!(text.lines().find(|line| line.starts_with("2022 ")).is_some_and(|line| line.ends_with(" 12")));
}

fn listen(at: i64, artist: &str, track: &str) -> Listen {
    Listen {
        id: format!("{at}"),
        listened_at: at,
        duration_ms: Some(200_000),
        artist: artist.to_owned(),
        featured: Vec::new(),
        track: track.to_owned(),
        album: None,
        sources: vec!["lastfm".to_owned()],
        loved: false,
        reported: None,
    }
}

#[test]
fn on_this_day_shows_every_year_asked_for() {
    let answer = OnThisDay {
        date: "2024-05-23".to_owned(),
        tz: "Europe/Paris".to_owned(),
        days: vec![
            DayBack {
                years_ago: 1,
                date: "2023-05-23".to_owned(),
                plays: 2,
                ms: 400_000,
                artists: vec![named("Can", None, 2)],
                listens: vec![listen(1_684_850_400, "Can", "Vitamin C"), listen(1_684_850_600, "Can", "Spoon")],
            },
            DayBack {
                years_ago: 5,
                date: "2019-05-23".to_owned(),
                plays: 0,
                ms: 0,
                artists: Vec::new(),
                listens: Vec::new(),
            },
        ],
    };
    let text = text(super::on_this_day, &answer);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "On this day, 2024-05-23 (Europe/Paris)");
    assert_eq!(lines[2], "1 year ago, 2023-05-23: 2 listens, 6m40");
    assert_eq!(lines[3], "  most played: Can (2)");
    assert!(lines[5].starts_with("16:00  Can     Vitamin C"), "14:00 UTC is 16:00 in Paris: {text}");
    assert_eq!(lines.last(), Some(&"5 years ago, 2019-05-23: no listens"));
}

fn page() -> EntityPage {
    EntityPage {
        kind: EntityKind::Album,
        id: 17,
        name: "Kid A".to_owned(),
        artist: Some("Radiohead".to_owned()),
        span: span("2024-01-01", "2024-12-31"),
        plays: 120,
        ms: 30_600_000,
        time_known: 118,
        time_from_length: 0,
        rank: Some(4),
        first_listen: Some(1_230_854_400), // 2009-01-02 UTC
        last_listen: Some(1_716_336_000),  // 2024-05-22 UTC
        period: Some(EntityPeriod { plays: 30, ms: 7_200_000, rank: Some(2) }),
        per_year: vec![
            YearCount { year: 2009, plays: 40, ms: 0 },
            YearCount { year: 2010, plays: 0, ms: 0 },
            YearCount { year: 2024, plays: 80, ms: 0 },
        ],
        top_tracks: vec![named("Idioteque", Some("Radiohead"), 25)],
        top_albums: Vec::new(),
        sessions: 33,
        recent_sessions: vec![session("2024-05-22T20:00:00+02:00", 3600, 10, "Radiohead", "Björk")],
        co_listened: vec![musique_api::CoListened { id: 3, name: "Björk".to_owned(), sessions: 6, lift: 3.25 }],
    }
}

#[test]
fn an_entity_page_shows_its_totals_years_and_company() {
    let text = text(super::entity, &page());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Kid A by Radiohead (album 17), 2024-01-01 to 2024-12-31 (Europe/Paris)");
    assert_eq!(lines[1], "  all time: 120 listens, 8h30, #4 of albums");
    assert_eq!(lines[2], "  time counts the 118 listens with a known duration");
    assert_eq!(lines[3], "  first heard 2009-01-02, last 2024-05-22");
    assert_eq!(lines[4], "  in the period: 30 listens, 2h00, #2");
    assert!(text.contains("\n2010 "), "a year without listens still has its line: {text}");
    let year = lines.iter().find(|line| line.starts_with("2024 ")).expect("a 2024 bar");
    assert!(year.ends_with(" 80") && year.contains('█'), "{year:?}");
    assert!(text.contains("Top tracks\nPLAYS  TRACK\n25     Idioteque\n"), "its own artist is not repeated: {text}");
    assert!(text.contains("2024-05-22 20:00  1h00    10     Radiohead  Björk"), "{text}");
    assert!(text.contains("6         3.2   Björk") || text.contains("6         3.3   Björk"), "{text}");
}

#[test]
fn an_entity_not_played_in_the_period_says_so() {
    let page = EntityPage { span: empty_span(), period: Some(EntityPeriod { plays: 0, ms: 0, rank: None }), ..page() };
    let text = text(super::entity, &page);
    assert!(text.contains(&format!("\n  {NOTHING}\n")), "{text}");
}

fn top(rank: u32, name: &str, plays: u64, ms: Option<u64>) -> TopEntry {
    TopEntry { rank, id: u64::from(rank), name: name.to_owned(), artist: None, plays, ms }
}

fn wrapped_answer() -> Wrapped {
    Wrapped {
        span: span("2024-01-01", "2024-12-31"),
        from: 1_704_063_600,
        to: 1_735_686_000,
        totals: WrappedTotals {
            plays: 5230,
            ms: 1_080_000_000,
            time_known: 5230,
            time_from_length: 0,
            artists: 412,
            albums: 800,
            tracks: 2100,
            days: 300,
            sessions: 412,
        },
        top_artists: vec![top(1, "Radiohead", 320, None), top(2, "Can", 200, None)],
        top_albums: Vec::new(),
        top_tracks: vec![TopEntry { artist: Some("Can".to_owned()), ..top(1, "Vitamin C", 40, None) }],
        top_artists_by_time: vec![top(1, "Can", 180, Some(72_000_000)), top(2, "Radiohead", 320, Some(54_000_000))],
        top_albums_by_time: Vec::new(),
        top_tracks_by_time: Vec::new(),
        top_day: Some(DayCount { date: "2024-05-23".to_owned(), plays: 98, ms: 22_320_000 }),
        longest_session: Some(session("2024-05-23T21:04:00+02:00", 22_320, 98, "Radiohead", "Björk")),
        new_artists: DiscoveredKind {
            count: 40,
            top: vec![Discovery {
                id: 5,
                name: "Stereolab".to_owned(),
                artist: None,
                first_listen: 1_715_990_400,
                plays: 60,
            }],
        },
        new_albums: 100,
        new_tracks: 500,
        streak: Some(streak("2024-01-01", "2024-02-14", 45, false)),
        clock: (0..24).collect(),
        markdown: None,
    }
}

#[test]
fn wrapped_shows_its_top_artist_and_highlights() {
    let text = text(super::wrapped, &wrapped_answer());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Wrapped, 2024-01-01 to 2024-12-31 (Europe/Paris)");
    assert_eq!(lines[1], "  5230 listens, 300h00 listened");
    assert_eq!(lines[2], "  412 artists, 800 albums, 2100 tracks, on 300 days, in 412 sessions");
    let artists = lines.iter().position(|line| *line == "Top artists").expect("top artists");
    assert_eq!(lines[artists + 1], "#  BY PLAYS   PLAYS  BY TIME    TIME");
    assert_eq!(lines[artists + 2], "1  Radiohead  320    Can        20h00");
    assert_eq!(lines[artists + 3], "2  Can        200    Radiohead  15h00");
    assert!(!text.contains("Top albums"), "no albums, no table: {text}");
    assert!(text.contains("1  Vitamin C – Can  40"), "{text}");
    assert!(text.contains("Top day:         2024-05-23, 98 listens, 6h12\n"), "{text}");
    assert!(text.contains("Longest session: 2024-05-23 21:04, 6h12, 98 listens, Radiohead to Björk\n"), "{text}");
    assert!(text.contains("Longest streak:  45 days, 2024-01-01 to 2024-02-14\n"), "{text}");
    assert!(text.contains("First heard:     40 artists (Stereolab), 100 albums, 500 tracks\n"), "{text}");
    let clock = lines.iter().position(|line| *line == "Listens per hour of the day").expect("the clock");
    assert!(lines[clock + 1].ends_with("██"), "hour 23 is the most: {:?}", lines[clock + 1]);
    assert!(lines[clock + 2].ends_with("(most: 23)"), "{:?}", lines[clock + 2]);
}

#[test]
fn a_narrow_canvas_draws_an_hour_a_column() {
    let narrow = Canvas { width: 30, colour: false, tables: Some(30) };
    let mut out = Vec::new();
    super::wrapped(&mut out, &wrapped_answer(), &narrow).expect("drawn");
    let text = String::from_utf8(out).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    let clock = lines.iter().position(|line| *line == "Listens per hour of the day").expect("the clock");
    assert_eq!(lines[clock + 1], format!("   {}", lines[clock + 1].trim_start()), "hour 0 is blank");
    assert_eq!(lines[clock + 1].chars().count(), 2 + 24, "a column an hour: {:?}", lines[clock + 1]);
    let artists = lines.iter().position(|line| *line == "Top artists").expect("top artists");
    for line in &lines[artists + 1..artists + 4] {
        assert!(line.chars().count() <= 30, "the table fits: {line:?}");
    }
}

#[test]
fn one_is_singular() {
    let sessions = SessionsAnswer { count: 1, plays: 1, ..sessions_answer() };
    let text = text(super::sessions, &sessions);
    assert!(text.starts_with("1 session (split by 30 min"), "{text}");
    assert!(text.contains("\n  1 listen, "), "{text}");
}
