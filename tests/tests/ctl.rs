//! musiquectl against a real daemon: tables, `--json`, exit codes.

use musique_tests::{Daemon, run_ctl, spotify_record, write_json};
use serde_json::{Value, json};

#[tokio::test]
async fn tour_through_musiquectl() {
    let daemon = Daemon::start();
    let export = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(
        &export,
        &json!([
            spotify_record(
                "2023-05-01T10:00:00Z",
                200_000,
                Some("Beyoncé"),
                Some("Halo"),
                Some("I Am... Sasha Fierce")
            ),
            spotify_record(
                "2023-05-01T10:05:00Z",
                200_000,
                Some("Beyoncé"),
                Some("Single Ladies"),
                Some("I Am... Sasha Fierce")
            ),
            spotify_record("2023-05-01T10:10:00Z", 5_000, Some("Beyoncé"), Some("Skipped"), None),
            spotify_record(
                "2023-05-02T10:00:00Z",
                200_000,
                Some("Massive Attack"),
                Some("Teardrop"),
                Some("Mezzanine")
            ),
        ]),
    );
    let (code, out, err) = daemon.ctl(&["import", "spotify", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported:    3"), "{out}");
    assert!(out.contains("skipped:     1 (too_short 1)"), "{out}");

    let (code, out, _) = daemon.ctl(&["--json", "import", "spotify", export.to_str().unwrap()]);
    assert_eq!(code, 0);
    let run: Value = serde_json::from_str(&out).expect("only JSON on stdout");
    assert_eq!((run["imported"].as_u64(), run["duplicates"].as_u64()), (Some(0), Some(3)));

    let (code, out, _) = daemon.ctl(&["listens", "--limit", "2"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("WHEN (UTC)"), "{out}");
    assert!(lines[1].contains("2023-05-02 09:56") && lines[1].contains("Massive Attack"), "{out}");
    assert_eq!(lines.len(), 3);

    let (code, out, _) = daemon.ctl(&["top", "artists"]);
    assert_eq!(code, 0);
    assert!(out.lines().nth(1).unwrap().starts_with("1  2      Beyoncé"), "{out}");
    let (_, out, _) = daemon.ctl(&["--json", "top", "tracks", "--from", "2023-05-02", "--to", "2023-05-03"]);
    let top: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(top["entries"][0]["name"], "Teardrop");

    let (code, out, _) = daemon.ctl(&["reindex"]);
    assert_eq!(code, 0);
    assert!(out.contains("search index rebuilt: 7 documents"), "{out}");
    let (code, out, _) = daemon.ctl(&["search", "masive", "atack"]);
    assert_eq!(code, 0);
    assert!(out.lines().nth(1).unwrap().contains("Massive Attack"), "{out}");

    let (code, out, _) = daemon.ctl(&["--json", "status"]);
    assert_eq!(code, 0);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["counts"]["listens"], 3);
    let (code, out, _) = daemon.ctl(&["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("3 listens, 2 artists, 2 albums, 3 tracks"), "{out}");
    let (code, out, _) = daemon.ctl(&["imports"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[tokio::test]
async fn exit_codes() {
    let daemon = Daemon::start();
    // Usage errors: 2.
    assert_eq!(daemon.ctl(&["top", "planets"]).0, 2);
    assert_eq!(daemon.ctl(&["frobnicate"]).0, 2);
    // Failures reported by the daemon: 1, with the reason on stderr.
    let (code, out, err) = daemon.ctl(&["listens", "--from", "last tuesday"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("last tuesday"), "{err}");
    let broken = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    std::fs::write(&broken, b"[{\"ts\":").unwrap();
    let (code, out, _) = daemon.ctl(&["import", "spotify", broken.to_str().unwrap()]);
    assert_eq!(code, 1, "a file rejected whole fails the command");
    assert!(out.contains("file rejected:") && out.contains("truncated"), "{out}");
    // No daemon: one line saying so and how to start it.
    let (code, out, err) = run_ctl(&daemon.dir.path().join("nobody.sock"), &["status"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("musiqued is not running") && err.contains("start it with"), "{err}");
}
