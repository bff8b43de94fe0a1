//! musiquectl against a real daemon: tables, `--json`, exit codes, the event stream.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use musique_api::{MusiqueApiClient, NewListen, TimeArg};
use musique_tests::scrobble::create_token;
use musique_tests::{Daemon, bin, run_ctl, spotify_record, write_json};
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

/// A running `musiquectl events --follow` and the lines it prints.
struct Follower {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Follower {
    /// Starts it and waits until it says its subscription is live.
    fn start(daemon: &Daemon, args: &[&str]) -> Follower {
        let mut child = Command::new(bin("musiquectl"))
            .args(args)
            .env("MUSIQUE_SOCKET", daemon.socket())
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn musiquectl");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let follower = Follower { child, stdout, stderr };
        let ready = follower.stderr.recv_timeout(Duration::from_secs(30)).expect("musiquectl never subscribed");
        assert!(ready.starts_with("following musiqued's events"), "{ready}");
        follower
    }

    /// The next line on stdout.
    fn next(&self) -> String {
        self.stdout.recv_timeout(Duration::from_secs(30)).expect("no event line within 30 s")
    }

    /// Waits for the exit code.
    fn wait(mut self) -> (i32, Vec<String>) {
        let status = self.child.wait().expect("wait for musiquectl");
        (status.code().unwrap_or(-1), self.stderr.iter().collect())
    }
}

/// Lines read from a pipe on a thread of their own.
fn lines(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            if sender.send(line.expect("utf-8 line")).is_err() {
                return;
            }
        }
    });
    receiver
}

#[tokio::test]
async fn events_follow_prints_each_event_until_ctrl_c_or_the_daemon_stops() {
    let mut daemon = Daemon::start();
    let token = create_token(&daemon, "navidrome", "listenbrainz");
    let url = daemon.http_url().await;
    let json_lines = Follower::start(&daemon, &["--json", "events", "--follow"]);
    let readable = Follower::start(&daemon, &["events", "--follow"]);

    // A listen through the API: its event is announced after the answer, so wait for its lines.
    let client = daemon.client().await;
    let listen = NewListen {
        artist: "Stereolab".into(),
        track: "French Disko".into(),
        album: None,
        listened_at: TimeArg::Unix(1_700_000_000),
        duration_ms: None,
        source: None,
    };
    client.listens_add(Some(listen), None).await.unwrap();
    let recorded: Value = serde_json::from_str(&json_lines.next()).expect("one JSON event per line");
    assert_eq!(recorded["type"], "listen_recorded", "{recorded}");
    assert_eq!(
        (recorded["listen"]["track"].as_str(), recorded["listen"]["listened_at"].as_i64()),
        (Some("French Disko"), Some(1_700_000_000))
    );
    assert_eq!(readable.next(), "listen: 2023-11-14 22:13 Stereolab – French Disko [rpc]");

    // What a scrobbler says plays now.
    let playing = json!({"listen_type": "playing_now", "payload": [{"track_metadata": {"artist_name": "Broadcast", "track_name": "Pendulum"}}]});
    let answer = reqwest::Client::new()
        .post(format!("{url}/1/submit-listens"))
        .header("Authorization", format!("Token {}", token.secret))
        .body(playing.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let now_playing: Value = serde_json::from_str(&json_lines.next()).unwrap();
    assert_eq!(
        now_playing,
        json!({"type": "now_playing", "source": "navidrome", "artist": "Broadcast", "track": "Pendulum"})
    );
    assert_eq!(readable.next(), "now playing: Broadcast – Pendulum [navidrome]");

    // Ctrl-C ends it cleanly.
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(json_lines.child.id() as i32, libc::SIGINT) };
    let (code, _) = json_lines.wait();
    assert_eq!(code, 0);

    // The daemon stopping ends it with a failure that says so.
    drop(client);
    daemon.stop();
    let (code, stderr) = readable.wait();
    assert_eq!(code, 1);
    assert!(stderr.iter().any(|line| line.contains("musiqued closed the connection")), "{stderr:?}");
}

/// Runs musiquectl against `daemon` with extra environment variables; returns (exit code, stdout, stderr).
fn ctl_with_env(daemon: &Daemon, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let output = Command::new(bin("musiquectl"))
        .args(args)
        .env("MUSIQUE_SOCKET", daemon.socket())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run musiquectl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Terminal columns taken by `text`: two for the wide Chinese, Japanese and Korean
/// characters these tests use, one for every other character.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|character| {
            let wide = ('\u{1100}'..='\u{115f}').contains(&character)
                || ('\u{2e80}'..='\u{a4cf}').contains(&character)
                || ('\u{ac00}'..='\u{d7a3}').contains(&character)
                || ('\u{f900}'..='\u{faff}').contains(&character)
                || ('\u{ff00}'..='\u{ff60}').contains(&character);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// A listen for `listens.add`.
fn new_listen(artist: &str, track: &str, album: &str, listened_at: i64) -> NewListen {
    NewListen {
        artist: artist.into(),
        track: track.into(),
        album: Some(album.into()),
        listened_at: TimeArg::Unix(listened_at),
        duration_ms: None,
        source: None,
    }
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_a_refused_call_is_one_sentence_printed_once() {
    let daemon = Daemon::start();
    let (code, out, err) = daemon.ctl(&["tokens", "revoke", "nosuch"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", "musiquectl: no credential \"nosuch\"\n"));
    let (code, _, err) = daemon.ctl(&["listens", "--from", "last tuesday"]);
    assert_eq!(code, 1);
    assert_eq!(err, "musiquectl: `from` \"last tuesday\" is not a time: use unix seconds, RFC 3339 or YYYY-MM-DD\n");
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_usage_mistakes_are_refused_with_a_reason_before_calling_the_daemon() {
    let daemon = Daemon::start();
    let nobody = daemon.dir.path().join("nobody.sock");
    let cases: [(&[&str], &str); 7] = [
        (&["search", ""], "the search is empty"),
        (&["search", "  ", " "], "the search is empty"),
        (&["listens", "--from", "2024-02-01", "--to", "2024-01-01"], "--from 2024-02-01 is not before --to 2024-01-01"),
        (&["top", "artists", "--from", "2024-01-01T10:00:00Z", "--to", "1704067200"], "is not before"),
        (&["import", "lastfm", "--from", "2024-02-01", "--to", "2024-02-01"], "the range is empty"),
        (&["import", "lastfm", "/tmp/x.csv"], "musiquectl import lastfm-csv"),
        (&["import", "spotify"], "give the export's path"),
    ];
    for (args, reason) in cases {
        // Against a daemon and against none: the same answer, so the daemon was not asked.
        for (code, out, err) in [daemon.ctl(args), run_ctl(&nobody, args)] {
            assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
            assert!(err.contains(reason), "{args:?}: {err}");
        }
    }
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_tables_line_up_wide_characters_and_fit_the_terminal() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let listens = vec![
        new_listen("坂本龍一", "戦場のメリークリスマス", "Merry Christmas Mr. Lawrence", 1_700_000_300),
        new_listen("아이유", "밤편지", "Palette", 1_700_000_200),
        new_listen("Massive Attack", "Teardrop", "Mezzanine", 1_700_000_100),
        new_listen("Björk", "Jóga", "Homogenic", 1_700_000_000),
    ];
    client.listens_add(None, Some(listens)).await.unwrap();

    let (code, out, err) = daemon.ctl(&["listens"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let column =
        |line: &str, text: &str| display_width(&line[..line.find(text).unwrap_or_else(|| panic!("{text} in {line}"))]);
    let (track, album) = (column(lines[0], "TRACK"), column(lines[0], "ALBUM"));
    for (line, (name, record)) in lines[1..].iter().zip([
        ("戦場のメリークリスマス", "Merry Christmas"),
        ("밤편지", "Palette"),
        ("Teardrop", "Mezzanine"),
        ("Jóga", "Homogenic"),
    ]) {
        assert_eq!((column(line, name), column(line, record)), (track, album), "{out}");
    }

    // A narrow terminal: every line fits, long cells end with an ellipsis.
    let (code, out, err) = ctl_with_env(&daemon, &[("COLUMNS", "50")], &["listens"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().all(|line| display_width(line) <= 50), "{out}");
    assert!(out.contains('…'), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("2023-11-14 22:18"), "{out}");
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_listens_pages_with_a_cursor_or_all_of_them() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let listens: Vec<NewListen> = (0..25)
        .map(|index| {
            new_listen("Stereolab", &format!("Track {index:02}"), "Dots and Loops", 1_700_000_000 + index * 600)
        })
        .collect();
    client.listens_add(None, Some(listens)).await.unwrap();
    let tracks = |out: &str| -> Vec<String> {
        out.lines().skip(1).map(|line| line.split("Stereolab").nth(1).unwrap().trim()[..8].to_owned()).collect()
    };

    // A page says how to get the next one, on stderr.
    let (code, out, err) = daemon.ctl(&["listens", "--limit", "10"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tracks(&out).first().map(String::as_str), Some("Track 24"));
    assert_eq!(tracks(&out).len(), 10);
    let cursor = err.split("--cursor ").nth(1).expect("the next cursor on stderr").split_whitespace().next().unwrap();
    let (code, out, err) = daemon.ctl(&["listens", "--limit", "10", "--cursor", cursor]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tracks(&out), (5..15).rev().map(|index| format!("Track {index:02}")).collect::<Vec<_>>());
    // With --json, the cursor is in the answer.
    let (_, out, _) = daemon.ctl(&["--json", "listens", "--limit", "10", "--cursor", cursor]);
    let page: Value = serde_json::from_str(&out).unwrap();
    let next = page["next_cursor"].as_str().expect("next_cursor");
    let (_, out, err) = daemon.ctl(&["listens", "--limit", "10", "--cursor", next]);
    assert_eq!(tracks(&out).len(), 5);
    assert_eq!(err, "", "the last page has no next cursor");

    // --all follows the cursors to the end: one header, every listen once, newest first.
    let (code, out, err) = daemon.ctl(&["listens", "--all", "--limit", "7"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().filter(|line| line.starts_with("WHEN")).count(), 1, "{out}");
    assert_eq!(tracks(&out), (0..25).rev().map(|index| format!("Track {index:02}")).collect::<Vec<_>>());
    let (code, out, _) = daemon.ctl(&["--json", "listens", "--all", "--limit", "7"]);
    assert_eq!(code, 0);
    let all: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(all["listens"].as_array().unwrap().len(), 25);
    assert_eq!(all["listens"][24]["track"], "Track 00");
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_status_shows_the_defaults_without_a_config_file() {
    let daemon = Daemon::start_without_config_file();
    let (code, out, err) = daemon.ctl(&["status"]);
    assert_eq!(code, 0, "{err}");
    let config = out.lines().find(|line| line.starts_with("config")).expect("a config row");
    let cells: Vec<&str> = config.split_whitespace().collect();
    assert_eq!(cells[1], "defaults", "{out}");
    assert!(config.contains("no config file"), "{out}");
    assert!(!config.contains("config.toml"), "{out}");
}

// See: issue 11, item 9.
#[tokio::test]
async fn r11_import_paths_are_sent_and_shown_normalised() {
    let daemon = Daemon::start();
    std::fs::create_dir(daemon.dir.path().join("sub")).unwrap();
    let export = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(
        &export,
        &json!([spotify_record("2023-05-01T10:00:00Z", 200_000, Some("Broadcast"), Some("Pendulum"), None)]),
    );
    let expected = std::fs::canonicalize(&export).unwrap().display().to_string();
    let roundabout = daemon.dir.path().join("sub/./../Streaming_History_Audio_2023_0.json");
    let (code, out, err) = daemon.ctl(&["import", "spotify", roundabout.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().ends_with(&format!(": {expected}")), "{out}");
    let (_, out, _) = daemon.ctl(&["--json", "imports"]);
    let runs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs[0]["path"].as_str(), Some(expected.as_str()));
}
