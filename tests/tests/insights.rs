//! Sessions, streaks, discoveries, climbers, on this day, entity pages, wrapped
//! and the monthly report, through musiqued's socket and musiquectl, on a small
//! history whose answers are worked out by hand in the comments.

use std::os::unix::fs::PermissionsExt;

use jsonrpsee::core::ClientError;
use musique_api::{EntityKind, MusiqueApiClient, NewListen, TimeArg, error_code};
use musique_tests::Daemon;

use crate::analytics::{json, plain};

/// `(artist, track, album, start in RFC 3339, seconds played)`; the zone is Europe/Paris
/// (UTC+1 in winter, +2 in summer).
type Row = (&'static str, &'static str, Option<&'static str>, &'static str, Option<u64>);

const LISTENS: [Row; 11] = [
    // 2023: Air, once.
    ("Air", "La femme d'argent", Some("Moon Safari"), "2023-06-10T18:00:00Z", Some(420)),
    // New Year's Eve 2024, one session from 23:30 to 00:30 in Paris.
    ("Air", "Sexy Boy", Some("Moon Safari"), "2024-12-31T22:30:00Z", Some(300)),
    ("Björk", "Jóga", Some("Homogenic"), "2024-12-31T22:40:00Z", Some(300)),
    ("Air", "Kelly Watch the Stars", Some("Moon Safari"), "2024-12-31T23:00:00Z", Some(240)),
    ("Cocteau Twins", "Heaven or Las Vegas", None, "2024-12-31T23:20:00Z", Some(600)),
    // January 1st 2025, 03:00 in Paris: a session of its own.
    ("Björk", "Hunter", Some("Homogenic"), "2025-01-01T02:00:00Z", Some(250)),
    // January 2nd and 3rd 2025: a three-day run with January 1st.
    ("Björk", "Jóga", Some("Homogenic"), "2025-01-02T12:00:00Z", Some(300)),
    ("Daft Punk", "Da Funk", None, "2025-01-02T12:05:00Z", Some(330)),
    ("Björk", "Jóga", Some("Homogenic"), "2025-01-03T12:00:00Z", Some(300)),
    ("Daft Punk", "Around the World", None, "2025-01-03T12:06:00Z", None),
    ("Daft Punk", "Da Funk", None, "2025-01-03T12:20:00Z", Some(330)),
];

async fn daemon_with_listens() -> Daemon {
    let daemon = Daemon::start_with_config("[general]\ntimezone = \"Europe/Paris\"\nsession_gap_minutes = 30\n");
    let listens = LISTENS
        .iter()
        .map(|(artist, track, album, at, seconds)| NewListen {
            artist: (*artist).to_owned(),
            track: (*track).to_owned(),
            album: album.map(str::to_owned),
            listened_at: TimeArg::Text((*at).to_owned()),
            duration_ms: seconds.map(|seconds| seconds * 1000),
            source: None,
        })
        .collect();
    let report = daemon.client().await.listens_add(None, Some(listens)).await.unwrap();
    assert_eq!(report.added, LISTENS.len() as u64);
    daemon
}

fn code_of(err: ClientError) -> i32 {
    match err {
        ClientError::Call(object) => object.code(),
        other => panic!("not a call error: {other}"),
    }
}

#[tokio::test]
async fn sessions_belong_to_the_year_they_start_in() {
    let daemon = daemon_with_listens().await;
    let sessions = json(&daemon, &["sessions", "--year", "2024"]);
    assert_eq!(sessions["tz"], "Europe/Paris");
    assert_eq!(sessions["gap_minutes"], 30);
    // The New Year's Eve session: 22:30 to 23:30 UTC, its four listens, the last one after midnight.
    assert_eq!((sessions["count"].as_u64(), sessions["plays"].as_u64()), (Some(1), Some(4)));
    let longest = &sessions["longest"][0];
    assert_eq!(longest["start_local"], "2024-12-31T23:30:00+01:00");
    assert_eq!(longest["length_s"], 3600);
    assert_eq!((longest["opener"].as_str(), longest["closer"].as_str()), (Some("Air"), Some("Cocteau Twins")));
    assert_eq!(longest["listens"].as_array().unwrap().len(), 4);
    assert_eq!(sessions["per_hour"][23], 1);
    assert_eq!(sessions["per_weekday"][1], 1, "a Tuesday");
    // 2025 holds the 03:00 session and one on each of the next two days.
    let next = json(&daemon, &["sessions", "--year", "2025"]);
    assert_eq!((next["count"].as_u64(), next["plays"].as_u64()), (Some(3), Some(6)));
    // A ten-minute gap ends the evening's session at 23:45 in Paris: what follows is 2025's.
    let split = json(&daemon, &["sessions", "--year", "2024", "--gap", "10"]);
    assert_eq!((split["count"].as_u64(), split["plays"].as_u64()), (Some(1), Some(2)));
    let out = plain(&daemon, &["sessions", "--year", "2024"]);
    assert!(out.contains("Air") && out.contains("Cocteau Twins"), "{out}");
    let client = daemon.client().await;
    let err = client.stats_sessions(None, None, None, None, None, None, None, Some(0), None).await.unwrap_err();
    assert_eq!(code_of(err), error_code::INVALID_PARAMS);
}

#[tokio::test]
async fn streaks_discoveries_and_climbers() {
    let daemon = daemon_with_listens().await;
    let streaks = json(&daemon, &["streaks"]);
    // Paris days: 2023-06-10, 2024-12-31, 2025-01-01, 02, 03.
    assert_eq!(streaks["days"], 5);
    assert_eq!(
        (streaks["longest"]["first_day"].as_str(), streaks["longest"]["days"].as_u64()),
        (Some("2024-12-31"), Some(4))
    );
    assert_eq!(streaks["artists"][0]["name"], "Björk");
    assert_eq!(streaks["artists"][0]["days"], 4);
    let found = json(&daemon, &["discoveries", "--year", "2025"]);
    // Cocteau Twins (00:20 on January 1st) and Daft Punk are new in 2025; Björk was
    // first heard on New Year's Eve.
    assert_eq!(found["artists"]["count"], 2);
    assert_eq!(found["artists"]["top"][0]["name"], "Daft Punk");
    assert_eq!(found["artists"]["top"][0]["plays"], 3);
    assert_eq!(found["tracks"]["count"], 5, "all but Jóga");
    assert_eq!(found["per_month"][0]["month"], "2025-01");
    let climbers = json(&daemon, &["climbers", "artists", "--year", "2025"]);
    // 2024: Air 1, Björk 1; 2025: Björk 3, Daft Punk 3, Air 1, Cocteau Twins 1.
    assert_eq!(climbers["against_first_day"], "2024-01-01");
    assert_eq!(climbers["climbers"][0]["name"], "Björk");
    assert_eq!(climbers["climbers"][0]["previous_rank"], 2);
    assert_eq!(climbers["new_entries"][0]["name"], "Daft Punk");
    let client = daemon.client().await;
    let err = client
        .stats_climbers(EntityKind::Artist, None, None, None, None, None, None, None, None, None)
        .await
        .unwrap_err();
    assert_eq!(code_of(err), error_code::INVALID_PARAMS, "all time has nothing to compare with");
}

#[tokio::test]
async fn on_this_day_and_entity_pages() {
    let daemon = daemon_with_listens().await;
    let days = json(&daemon, &["on-this-day", "--date", "2025-12-31", "--years", "1,2"]);
    assert_eq!(days["days"][0]["date"], "2024-12-31");
    // Two listens before midnight in Paris; the next two are on January 1st.
    assert_eq!(days["days"][0]["plays"], 2);
    assert_eq!(days["days"][0]["artists"][0]["name"], "Air");
    assert_eq!(days["days"][1]["plays"], 0);
    let air = json(&daemon, &["artist", "air"]);
    assert_eq!((air["name"].as_str(), air["plays"].as_u64()), (Some("Air"), Some(3)));
    // 2023, 2024, and 2025 from midnight in Paris.
    assert_eq!(air["per_year"].as_array().unwrap().len(), 3);
    assert_eq!(air["per_year"][2]["plays"], 1);
    assert_eq!(air["top_tracks"].as_array().unwrap().len(), 3);
    assert_eq!(air["sessions"], 2);
    let joga = json(&daemon, &["track", "Björk", "Jóga"]);
    assert_eq!((joga["plays"].as_u64(), joga["artist"].as_str()), (Some(3), Some("Björk")));
    let album = json(&daemon, &["album", "bjork", "homogenic", "--year", "2025"]);
    assert_eq!(album["period"]["plays"], 3);
    assert_eq!(album["period"]["rank"], 1);
    let out = plain(&daemon, &["artist", "Air"]);
    assert!(out.contains("first heard 2023-06-10, last 2025-01-01"), "{out}");
    let (code, _, err) = daemon.ctl(&["artist", "Nobody at all"]);
    assert_ne!(code, 0);
    assert!(err.contains("Nobody at all"), "{err}");
    let client = daemon.client().await;
    let err = client
        .stats_entity(
            EntityKind::Album,
            None,
            Some("Homogenic".into()),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(err), error_code::INVALID_PARAMS, "an album needs its artist");
}

#[tokio::test]
async fn wrapped_and_the_monthly_report() {
    let daemon = daemon_with_listens().await;
    let wrapped = json(&daemon, &["wrapped", "--month", "2025-01"]);
    // January in Paris: the last two listens of New Year's Eve and the six after them.
    assert_eq!(wrapped["totals"]["plays"], 8);
    assert_eq!(wrapped["totals"]["days"], 3);
    assert_eq!(wrapped["totals"]["sessions"], 3, "the one begun in December is December's");
    assert_eq!(wrapped["top_artists"][0]["name"], "Björk");
    assert_eq!(wrapped["top_artists_by_time"][0]["name"], "Björk");
    // January 1st and 3rd have three listens each: the first of equals.
    assert_eq!(wrapped["top_day"]["date"], "2025-01-01");
    assert_eq!(wrapped["new_artists"]["count"], 2);
    assert_eq!(wrapped["streak"]["days"], 3);
    let file = daemon.dir.path().join("wrapped.md");
    plain(&daemon, &["wrapped", "--month", "2025-01", "--markdown", file.to_str().unwrap()]);
    let markdown = std::fs::read_to_string(&file).unwrap();
    assert!(markdown.starts_with("# Listening, 2025-01-01 to 2025-01-31\n"), "{markdown}");
    assert!(markdown.contains("| 1 | Björk | 3 |"), "{markdown}");
    let report = json(&daemon, &["report", "--month", "2024-12"]);
    let path = std::path::PathBuf::from(report["path"].as_str().unwrap());
    assert!(path.ends_with("reports/2024-12.md"), "{path:?}");
    assert_eq!(report["plays"], 2);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the report is the owner's only");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Air"), "{text}");
    let client = daemon.client().await;
    let err = client.stats_report(Some("2024-13".into()), None).await.unwrap_err();
    assert_eq!(code_of(err), error_code::INVALID_PARAMS);
}
