//! Real third-party scrobbling clients against a real musiqued over HTTPS:
//! liblistenbrainz (the ListenBrainz project's Python client) and pylast.
//! Each listen they submit must show up exactly once, through `listens.list`
//! and through `musiquectl listens`.

use std::process::Command;

use musique_api::MusiqueApiClient;
use musique_tests::Daemon;
use musique_tests::all_listens;
use musique_tests::scrobble::{create_token, python, python_dir, self_signed};

/// Runs a client script; returns what it printed as JSON.
fn run_client(script: &str, args: &[&str], ca_file: &std::path::Path) -> serde_json::Value {
    let output = Command::new(python())
        .arg(python_dir().join(script))
        .args(args)
        // requests (under liblistenbrainz) trusts this bundle; pylast is told in the script.
        .env("REQUESTS_CA_BUNDLE", ca_file)
        .output()
        .expect("run the Python client");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script} failed:\n{stderr}\n{stdout}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{script} printed {stdout:?}: {err}"))
}

#[tokio::test]
async fn liblistenbrainz_and_pylast_scrobble_over_https() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path());
    let daemon = Daemon::start_with_config(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    let url = daemon.http_url().await;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let subscriber = daemon.client().await;
    let mut events = subscriber.events_subscribe().await.expect("subscribe");

    // liblistenbrainz: single (twice), import, playing_now, then reading back.
    let lb = create_token(&daemon, "liblistenbrainz", "listenbrainz");
    let now_arg = now.to_string();
    let seen = run_client("listenbrainz_client.py", &[&url, &lb.secret, &lb.user, &now_arg], &cert);
    assert_eq!(seen["single"], serde_json::json!({"status": "ok"}));
    assert_eq!(seen["import"], serde_json::json!({"status": "ok"}));
    assert_eq!(seen["playing_now"], serde_json::json!({"status": "ok"}));
    assert_eq!(seen["playing"], serde_json::json!(["Aphex Twin", "Windowlicker"]));
    assert_eq!(seen["count"], 31, "one single (sent twice) and 30 imported: {seen}");
    let newest = seen["newest"].as_array().unwrap();
    assert_eq!(newest.len(), 10);
    assert_eq!(newest[0], serde_json::json!([now - 600, "Daft Punk feat. Pharrell Williams", "Get Lucky"]));
    assert_eq!(newest[1], serde_json::json!([now - 3600, "Import Artist", "Import Track 0"]));
    let older: Vec<i64> = seen["older"].as_array().unwrap().iter().map(|at| at.as_i64().unwrap()).collect();
    assert_eq!(older.len(), 21, "paging back with max_ts gives the rest");
    assert!(older.windows(2).all(|pair| pair[0] > pair[1]), "newest first: {older:?}");
    assert_eq!(seen["after"], serde_json::json!([now - 3600 - 2 * 300, now - 3600 - 3 * 300, now - 3600 - 4 * 300]));
    assert_eq!(seen["invalid_token"], "refused");
    assert_eq!(seen["unknown_user"], 404);
    assert!(seen["remaining"].as_u64().is_some(), "X-RateLimit-Remaining was read: {seen}");
    // delete-listen with the listen as read back, and love/hate feedback.
    assert_eq!(seen["deleted"], serde_json::json!([now - 3600 - 29 * 300, "Import Track 29"]));
    assert_eq!(seen["count_after_delete"], 30);
    assert_eq!(seen["feedback"], serde_json::json!([[1, "5d7d3d2e-8e6f-4c4e-9b1b-3b0a2f8c2e11"]]));

    // pylast over HTTPS: getMobileSession, now playing, scrobbles (1 + 50 + 10), getInfo,
    // the getToken/getSession flow, and refusals for a wrong password and a wrong secret.
    let lastfm = create_token(&daemon, "pylast", "lastfm");
    let host = url.trim_start_matches("https://").to_owned();
    let api_key = lastfm.info.api_key.clone().expect("api key");
    let seen = run_client(
        "lastfm_client.py",
        &[&host, &api_key, &lastfm.secret, &lastfm.user, &cert.display().to_string(), &now_arg],
        &cert,
    );
    assert_eq!(seen["mobile_session"], true, "{seen}");
    assert_eq!(seen["web_session"], true, "{seen}");
    assert!(seen["web_url"].as_str().unwrap().starts_with(&format!("{url}/api/auth/?api_key={api_key}&token=")));
    assert_eq!(seen["playcount"], 30 + 61, "user.getInfo counts every listen: {seen}");
    // Unsigned reads: what plays now, and user.getRecentTracks over every page.
    assert_eq!(seen["now_playing"], serde_json::json!(["Aphex Twin", "Xtal"]));
    let recent = seen["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 30 + 61, "every listen, once");
    assert_eq!(recent[0], serde_json::json!([now - 600, "Daft Punk feat. Pharrell Williams", "Get Lucky"]));
    let times: Vec<i64> = recent.iter().map(|played| played[0].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {times:?}");
    let mut distinct = recent.iter().map(ToString::to_string).collect::<Vec<_>>();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), recent.len(), "no listen twice across pages");
    assert!(recent.contains(&serde_json::json!([now - 1200, "BANKS", "Love Is Unkind"])));
    assert_eq!(seen["wrong_password"], 4);
    assert_eq!(seen["wrong_secret"], 13);

    // Each listen exactly once, with its source.
    let listens = all_listens(&daemon).await;
    assert_eq!(listens.len(), 30 + 62, "31 from liblistenbrainz less the one deleted, 62 from pylast");
    assert!(!listens.iter().any(|listen| listen.track == "Import Track 29"), "deleted");
    let mut keys: Vec<(i64, &str, &str)> =
        listens.iter().map(|listen| (listen.listened_at, listen.artist.as_str(), listen.track.as_str())).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), listens.len(), "no listen twice");
    let lucky = listens.iter().find(|listen| listen.track == "Get Lucky").expect("the single listen");
    assert_eq!(lucky.artist, "Daft Punk", "artist_names[0] is the primary artist");
    assert_eq!(lucky.featured, ["Pharrell Williams", "Nile Rodgers"]);
    assert_eq!(lucky.album.as_deref(), Some("Random Access Memories"));
    assert_eq!(lucky.sources, ["liblistenbrainz"]);
    let batch = listens.iter().filter(|listen| listen.artist == "Batch Artist").count();
    assert_eq!(batch, 60);
    let banks = listens.iter().find(|listen| listen.artist == "BANKS").expect("pylast's scrobble");
    assert_eq!((banks.listened_at, banks.sources.as_slice()), (now - 1200, ["pylast".to_owned()].as_slice()));
    assert!(banks.loved, "pylast's track.love");
    assert!(listens.iter().any(|listen| listen.artist == "Mk.gee"), "scrobbled with the web-flow session");

    // musiquectl shows them too.
    let (code, stdout, stderr) = daemon.ctl(&["listens", "--limit", "1000"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("Get Lucky").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("Love Is Unkind").count(), 1);
    assert_eq!(stdout.matches("Batch Artist").count(), 60);

    // Both clients' now-playing reports reached the event stream.
    let mut playing = Vec::new();
    while playing.len() < 2 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), events.next())
            .await
            .expect("events arrive")
            .expect("stream open")
            .expect("event decodes");
        if let musique_api::Event::NowPlaying { source, track, .. } = event {
            playing.push((source, track));
        }
    }
    assert_eq!(
        playing,
        [("liblistenbrainz".to_owned(), "Windowlicker".to_owned()), ("pylast".to_owned(), "Xtal".to_owned())]
    );
}
