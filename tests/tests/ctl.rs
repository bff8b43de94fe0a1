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
