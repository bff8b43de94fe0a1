//! Listening analytics through musiqued and musiquectl: the timeline, the clock,
//! the heatmap, the calendar and charts of calendar periods, in the configured
//! zone or one named per request, plain and `--json`.

use musique_api::{MusiqueApiClient, NewListen, TimeArg};
use musique_tests::Daemon;
use serde_json::Value;

/// `(artist, start in RFC 3339, duration in seconds)`.
const LISTENS: [(&str, &str, Option<u64>); 4] = [
    // 02:30 in Paris twice on the day summer time ends: at +02:00, then at +01:00.
    ("Air", "2024-10-27T00:30:00Z", Some(100)),
    ("Air", "2024-10-27T01:30:00Z", Some(100)),
    // 13:00 in Paris.
    ("Björk", "2024-10-27T12:00:00Z", Some(1000)),
    // A Thursday, 12:20 in Paris, 16:05 in Kathmandu; no duration.
    ("Cocteau Twins", "2024-05-23T10:20:00Z", None),
];

async fn daemon_with_listens() -> Daemon {
    let daemon = Daemon::start_with_config("[general]\ntimezone = \"Europe/Paris\"\n");
    let listens = LISTENS
        .iter()
        .enumerate()
        .map(|(index, (artist, at, seconds))| NewListen {
            artist: (*artist).to_owned(),
            track: format!("Song {index}"),
            album: None,
            listened_at: TimeArg::Text((*at).to_owned()),
            duration_ms: seconds.map(|seconds| seconds * 1000),
            source: None,
        })
        .collect();
    let report = daemon.client().await.listens_add(None, Some(listens)).await.unwrap();
    assert_eq!(report.added, 4);
    daemon
}

/// `musiquectl --json ARGS`, parsed; the command must succeed.
pub(crate) fn json(daemon: &Daemon, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = daemon.ctl(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|error| panic!("{args:?}: {error}: {out}"))
}

/// `musiquectl ARGS` as people see it (not a terminal: no colour); the command must succeed.
pub(crate) fn plain(daemon: &Daemon, args: &[&str]) -> String {
    let (code, out, err) = daemon.ctl(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(!out.contains('\u{1b}'), "no colour when stdout is not a terminal: {out}");
    out
}

#[tokio::test]
async fn timeline_of_a_25_hour_day_in_the_configured_zone() {
    let daemon = daemon_with_listens().await;
    let timeline = json(&daemon, &["timeline", "--day", "2024-10-27"]);
    assert_eq!(timeline["tz"], "Europe/Paris");
    assert_eq!(timeline["step"], "hour");
    let buckets = timeline["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 25);
    assert_eq!(buckets[2]["start"], "2024-10-27T02:00:00+02:00");
    assert_eq!(buckets[3]["start"], "2024-10-27T02:00:00+01:00");
    let plays: Vec<u64> = buckets.iter().map(|bucket| bucket["plays"].as_u64().unwrap()).collect();
    let mut expected = vec![0; 25];
    (expected[2], expected[3], expected[14]) = (1, 1, 1);
    assert_eq!(plays, expected);
    assert_eq!(timeline["time_known"], 3);
    let out = plain(&daemon, &["timeline", "--day", "2024-10-27"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "plays per hour, 2024-10-27 (Europe/Paris)");
    assert_eq!(lines.len(), 26, "{out}");
    assert_eq!(lines.iter().filter(|line| line.starts_with("2024-10-27 02:00")).count(), 2, "{out}");
    assert!(lines[3].contains('█') && lines[3].ends_with(" 1"), "{out}");
    // Another zone through `--tz`: a plain 24-hour day in UTC.
    let utc = json(&daemon, &["timeline", "--day", "2024-10-27", "--tz", "UTC"]);
    assert_eq!(utc["buckets"].as_array().unwrap().len(), 24);
    assert_eq!(utc["buckets"][0]["plays"], 1);
    // Days of a month, and the measure in time.
    let month = json(&daemon, &["timeline", "--month", "2024-10", "--by", "time"]);
    assert_eq!(month["buckets"].as_array().unwrap().len(), 31);
    assert_eq!(month["buckets"][26]["ms"], 1_200_000);
    let out =
        plain(&daemon, &["timeline", "--from", "2024-10-01", "--to", "2024-11-01", "--step", "week", "--by", "time"]);
    assert!(out.contains("20m00"), "{out}");
    assert!(out.contains("time counts the 3 listens with a known duration"), "{out}");
}

#[tokio::test]
async fn clock_heatmap_and_calendar() {
    let daemon = daemon_with_listens().await;
    let clock = json(&daemon, &["clock", "--tz", "Asia/Kathmandu"]);
    let hours: Vec<u64> = clock["plays"].as_array().unwrap().iter().map(|plays| plays.as_u64().unwrap()).collect();
    let mut expected = vec![0; 24];
    (expected[6], expected[7], expected[16], expected[17]) = (1, 1, 1, 1);
    assert_eq!(hours, expected);
    let out = plain(&daemon, &["clock", "--tz", "Asia/Kathmandu"]);
    assert_eq!(out.lines().count(), 25, "{out}");
    assert!(out.lines().nth(17).unwrap().starts_with("16h █"), "{out}");

    let heatmap = json(&daemon, &["heatmap", "--year", "2024"]);
    assert_eq!(heatmap["plays"][6][2], 2, "Sunday 02h in Paris");
    assert_eq!(heatmap["plays"][6][13], 1);
    assert_eq!(heatmap["plays"][3][12], 1, "Thursday 12h");
    let total: u64 = heatmap["plays"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|day| day.as_array().unwrap())
        .map(|plays| plays.as_u64().unwrap())
        .sum();
    assert_eq!(total, 4);
    let out = plain(&daemon, &["heatmap", "--year", "2024"]);
    let sunday = out.lines().find(|line| line.starts_with("Sun ")).unwrap();
    assert_eq!(sunday.chars().nth(4 + 2 * 2), Some('█'), "{out}");
    assert_eq!(
        out.lines()
            .filter(|line| line.len() > 3 && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&line[..3]))
            .count(),
        7
    );

    let calendar = json(&daemon, &["calendar", "--year", "2024"]);
    let plays = calendar["plays"].as_array().unwrap();
    assert_eq!(plays.len(), 366);
    assert_eq!(plays[300], 3, "October 27th");
    assert_eq!(plays[143], 1, "May 23rd");
    assert_eq!(plays.iter().map(|plays| plays.as_u64().unwrap()).sum::<u64>(), 4);
    let (code, out, err) = daemon.ctl(&["calendar", "--year", "2024"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("plays per day, 2024-01-01 to 2024-12-31 (Europe/Paris)"), "{out}");
    assert!(out.contains("Jan") && out.contains("Dec"), "{out}");
    assert_eq!(out.matches('█').count(), 2, "the busiest day, and the legend: {out}");
}

#[tokio::test]
async fn charts_of_calendar_periods_by_plays_and_by_time() {
    let daemon = daemon_with_listens().await;
    let top = json(&daemon, &["top", "artists", "--month", "2024-10"]);
    let names = |top: &Value| -> Vec<String> {
        top["entries"].as_array().unwrap().iter().map(|entry| entry["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&top), ["Air", "Björk"]);
    let by_time = json(&daemon, &["top", "artists", "--month", "2024-10", "--by", "time"]);
    assert_eq!(names(&by_time), ["Björk", "Air"]);
    assert_eq!(by_time["entries"][0]["ms"], 1_000_000);
    assert_eq!(by_time["time_known"], 3);
    let out = plain(&daemon, &["top", "artists", "--month", "2024-10", "--by", "time"]);
    assert!(out.contains("TIME") && out.contains("16m40"), "{out}");
    // In New York, the first listen is still on October 26th.
    let week = json(&daemon, &["top", "artists", "--day", "2024-10-26", "--tz", "America/New_York"]);
    assert_eq!(names(&week), ["Air"]);
    let out = plain(&daemon, &["top", "artists", "--year", "2023"]);
    assert_eq!(out, "no listens between 2023-01-01 and 2023-12-31; your listens run from 2024-05-23 to 2024-10-27\n");
    let empty = json(&daemon, &["top", "artists", "--week", "2020-W53"]);
    assert_eq!((empty["first_day"].as_str(), empty["last_day"].as_str()), (Some("2020-12-28"), Some("2021-01-03")));
    assert_eq!(empty["history_from"], "2024-05-23");
    let (code, _, err) = daemon.ctl(&["top", "artists", "--week", "2021-W53"]);
    assert_ne!(code, 0);
    assert!(err.contains("2021-W53"), "{err}");
    let (code, _, err) = daemon.ctl(&["clock", "--tz", "Mars/Olympus_Mons"]);
    assert_ne!(code, 0);
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");

    // Cocteau Twins' May listen has no duration; a June one of the same track tells
    // its length, which time listened then counts for May, saying so.
    let may = json(&daemon, &["top", "artists", "--month", "2024-05", "--by", "time"]);
    assert_eq!((may["entries"][0]["ms"].as_u64().unwrap_or(0), may["time_known"].as_u64()), (0, Some(0)));
    let june = NewListen {
        artist: "Cocteau Twins".into(),
        track: "Song 3".into(),
        album: None,
        listened_at: TimeArg::Text("2024-06-01T10:00:00Z".into()),
        duration_ms: Some(240_000),
        source: None,
    };
    assert_eq!(daemon.client().await.listens_add(None, Some(vec![june])).await.unwrap().added, 1);
    let may = json(&daemon, &["top", "artists", "--month", "2024-05", "--by", "time"]);
    assert_eq!(may["entries"][0]["ms"], 240_000);
    assert_eq!((may["time_known"].as_u64(), may["time_from_length"].as_u64()), (Some(1), Some(1)));
    let out = plain(&daemon, &["top", "artists", "--month", "2024-05", "--by", "time"]);
    assert!(out.contains("(1 by their track's length)"), "{out}");
    let timeline = json(&daemon, &["timeline", "--month", "2024-05", "--by", "time"]);
    let ms: u64 = timeline["buckets"].as_array().unwrap().iter().map(|bucket| bucket["ms"].as_u64().unwrap()).sum();
    assert_eq!((ms, timeline["time_from_length"].as_u64()), (240_000, Some(1)));
}

#[tokio::test]
async fn an_empty_store_says_so() {
    let daemon = Daemon::start();
    let out = plain(&daemon, &["timeline", "--day", "2024-05-23"]);
    assert_eq!(out, "no listens between 2024-05-23 and 2024-05-23; there are no listens yet\n");
    let clock = json(&daemon, &["clock"]);
    assert_eq!(clock["plays"].as_array().unwrap().len(), 24);
    assert!(clock.get("history_from").is_none());
}

#[test]
fn a_bad_time_zone_in_the_config_names_the_key() {
    let daemon = Daemon::start_with_config("[general]\ntimezone = \"Asia/Calcutta\"\n");
    drop(daemon);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[general]\ntimezone = \"Europe/Parris\"\n").unwrap();
    let output = std::process::Command::new(musique_tests::bin("musiqued"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--socket")
        .arg(dir.path().join("socket"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("general.timezone"), "{err}");
}

/// A new `[general] timezone` applies at the config's reload, to the whole history at once.
#[tokio::test]
async fn a_reloaded_time_zone_moves_the_buckets_at_once() {
    let daemon = daemon_with_listens().await;
    let client = daemon.client().await;
    let heatmap = client.stats_heatmap(None, None, Some("2024".into()), None, None, None, None, None).await.unwrap();
    assert_eq!((heatmap.span.tz.as_str(), heatmap.plays[3][12]), ("Europe/Paris", 1));
    let partial = daemon.dir.path().join("config.partial");
    std::fs::write(&partial, "[general]\ntimezone = \"Asia/Kathmandu\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    std::fs::rename(&partial, daemon.config_path()).unwrap();
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(daemon.pid() as i32, libc::SIGHUP) };
    let started = std::time::Instant::now();
    let heatmap = loop {
        let heatmap =
            client.stats_heatmap(None, None, Some("2024".into()), None, None, None, None, None).await.unwrap();
        if heatmap.span.tz == "Asia/Kathmandu" {
            break heatmap;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the reload");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((heatmap.plays[3][12], heatmap.plays[3][16]), (0, 1), "Thursday 16h in Kathmandu");
}
