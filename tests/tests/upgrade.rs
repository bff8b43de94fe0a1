//! A store written by the first release (`tests/fixtures/store-v1`, made by its
//! `make.py` with the 0.1.0 binaries) opened by the current musiqued: every
//! kind of state it held is still there and still works, and the upgraded
//! store opens again after a restart.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use musique_api::{ImportKind, ImportState, MusiqueApiClient, RunKind, TokenApi};
use musique_tests::lastfm::{API_KEY, FakeLastfm, SHARED_SECRET, api_sig};
use musique_tests::{Daemon, wait_indexed};
use serde_json::Value;

/// The fixture: see its README.md for how it was made and what it holds.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/store-v1");

/// The ListenBrainz token issued as `navidrome`.
const NAVIDROME_TOKEN: &str = "0c368167-a0fa-4b52-ae9c-75e8d3bd71b7";
/// The Last.fm API key and shared secret issued as `phone`.
const PHONE_API_KEY: &str = "ac7316e917c75972e57ab63ec30b7f68";
const PHONE_SECRET: &str = "fa4ba8256501c39ff457a5c49e88cf38";
/// The session `phone` got from `auth.getMobileSession`.
const PHONE_SESSION: &str = "97cf26b94ffc0f041417cd0cd96dd73a";
/// The session the Last.fm adapter got from `musiquectl lastfm login` (kept in its plugin state).
const ADAPTER_SESSION: &str = "fixture-adapter-session-5b2e";
/// When the fixture's credentials were issued and its imports ran (unix seconds).
const MADE_AT: i64 = 1_796_093_246;
/// When the cached enrichments were fetched: 2099-01-01, so they stay fresh.
const ENRICHED_AT_MS: i64 = 4_070_908_800_000;

/// Every listen, newest first: id, names, duration, sources and the loved flag.
const LISTENS: [&str; 9] = [
    "1612200000-4 The Fennel Quartet (feat. Ines Moro) – Green Room Waltz (Green Room) [lastfm]",
    "1612100000-5 Orla Vance – Tidewater (Harbour Lights) [lastfm]",
    "1612000600-9 Vela Sound – Night Ferry (Northern Quiet) [phone]",
    "1612000262-6 Vela Sound – Salt on the Glass (Northern Quiet) [lastfm] loved",
    "1612000000-7 Vela Sound – Lantern Bay (Northern Quiet) [lastfm] loved",
    "1611310300-3 The Fennel Quartet – Copper Wire (Green Room) 264000 ms [spotify]",
    "1611310000-2 Orla Vance – Slow Ferry (Harbour Lights) 201000 ms [spotify, navidrome]",
    "1611223344-1 Marsh Lanterns – Kettle on the Hob (Rooms Without Clocks) 248000 ms [spotify, lastfm]",
    "1611223094-8 Marsh Lanterns – Attic Fan (Rooms Without Clocks) [lastfm]",
];

/// The daemon's config; Last.fm at `api_url`.
fn config(api_url: &str) -> String {
    format!(
        "[import]\nretry_tries = 1\nretry_base_ms = 10\nretry_max_ms = 10\n\n\
         [http]\nlisten = \"127.0.0.1:0\"\nuser = \"fixture\"\n\n\
         [adapters.lastfm]\napi_key = \"{API_KEY}\"\nshared_secret = \"{SHARED_SECRET}\"\nuser = \"quiet_orchard\"\n\
         api_url = \"{api_url}\"\nauth_url = \"http://127.0.0.1:9/auth/\"\npoll_interval = \"10m\"\ntimeout = \"1s\"\n"
    )
}

/// Copies the store and the scrobbling key of the fixture into a data directory.
fn seed(data_dir: &Path) {
    for name in ["musique.redb", "scrobble.key"] {
        let to = data_dir.join(name);
        std::fs::copy(Path::new(FIXTURE).join(name), &to).unwrap_or_else(|err| panic!("copy {name}: {err}"));
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[tokio::test]
async fn a_store_from_the_first_release_keeps_everything() {
    // Nothing answers on port 9: whatever needs Last.fm fails, so what works comes from the store.
    let mut daemon = Daemon::start_seeded(&config("http://127.0.0.1:9/2.0/"), seed);
    check(&daemon).await;
    daemon.stop();
    daemon.restart();
    check(&daemon).await;

    // The adapter's own session survived too: it still signs `track.love`.
    let fake = FakeLastfm::start();
    fake.with(|state| {
        state.sessions.insert(ADAPTER_SESSION.into(), "quiet_orchard".into());
        state.scrobbles.insert("quiet_orchard".into(), Vec::new());
    });
    daemon.stop();
    daemon.set_config(&config(&fake.url));
    daemon.restart();
    let (code, stdout, stderr) = daemon.ctl(&["love", "Orla Vance", "Tidewater"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("loved Orla Vance – Tidewater"), "{stdout}");
    assert!(fake.with(|state| state.loved.contains(&("Orla Vance".into(), "Tidewater".into()))));
    let client = daemon.client().await;
    let album = client.enrich_run("Vela Sound".into(), Some("Northern Quiet".into()), None).await.unwrap();
    assert!(album.cached, "{album:?}");
    assert_eq!(fake.count_with("album.getInfo", "album", "Northern Quiet"), 0, "answered from the cache");
}

/// Everything the fixture holds, through the socket, musiquectl and the scrobbling endpoints.
async fn check(daemon: &Daemon) {
    let client = daemon.client().await;
    let counts = client.status().await.unwrap().counts;
    assert_eq!((counts.artists, counts.albums, counts.tracks, counts.listens), (5, 4, 9, 9));

    let page = client.listens_list(None, None, Some(100), None).await.unwrap();
    let listens: Vec<String> = page
        .listens
        .iter()
        .map(|listen| {
            let featured = if listen.featured.is_empty() {
                String::new()
            } else {
                format!(" (feat. {})", listen.featured.join(", "))
            };
            let album = listen.album.as_deref().map(|album| format!(" ({album})")).unwrap_or_default();
            let duration = listen.duration_ms.map(|ms| format!(" {ms} ms")).unwrap_or_default();
            let loved = if listen.loved { " loved" } else { "" };
            format!(
                "{} {}{featured} – {}{album}{duration} [{}]{loved}",
                listen.id,
                listen.artist,
                listen.track,
                listen.sources.join(", ")
            )
        })
        .collect();
    assert_eq!(listens, LISTENS);
    assert_eq!(page.next_cursor, None);
    // Walks over time read the plays table, filled from the listens when the store was upgraded.
    let sessions = crate::analytics::json(daemon, &["sessions", "--tz", "UTC"]);
    assert_eq!((sessions["count"].as_u64(), sessions["plays"].as_u64()), (Some(5), Some(9)), "{sessions}");

    let runs = client.imports_list(None).await.unwrap();
    let summary: Vec<_> = runs
        .iter()
        .map(|run| (run.id, run.kind.clone(), run.state, run.records, run.imported, run.duplicates))
        .collect();
    assert_eq!(
        summary,
        [
            (2, RunKind::Adapter("lastfm".into()), ImportState::Completed, 6, 5, 1),
            (1, RunKind::File(ImportKind::Spotify), ImportState::Completed, 5, 3, 0)
        ]
    );
    let skipped: BTreeMap<String, u64> = [("podcast".to_owned(), 1), ("too_short".to_owned(), 1)].into();
    assert_eq!(runs[1].skipped, skipped);
    assert!(runs[1].path.ends_with("/Streaming_History_Audio_2021.json"), "{}", runs[1].path);
    assert_eq!(runs[0].path, "lastfm: full history");
    assert!(runs.iter().all(|run| run.started_at == MADE_AT && run.resumed == 0), "{runs:?}");

    let tokens: Vec<_> = client
        .tokens_list()
        .await
        .unwrap()
        .into_iter()
        .map(|token| (token.id, token.name, token.api, token.api_key, token.created_at))
        .collect();
    assert_eq!(
        tokens,
        [
            (1, "navidrome".to_owned(), TokenApi::Listenbrainz, None, MADE_AT),
            (2, "phone".to_owned(), TokenApi::Lastfm, Some(PHONE_API_KEY.to_owned()), MADE_AT)
        ]
    );
    let (_, text, _) = daemon.ctl(&["tokens", "list"]);
    assert!(text.contains("navidrome") && text.contains(PHONE_API_KEY), "{text}");

    // The credentials still open the scrobbling endpoints (the secrets derive from scrobble.key).
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let validate = |token: &str| {
        http.get(format!("{url}/1/validate-token")).header("Authorization", format!("Token {token}")).send()
    };
    let answer: Value = validate(NAVIDROME_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!((answer["valid"].as_bool(), answer["user_name"].as_str()), (Some(true), Some("fixture")), "{answer}");
    let answer: Value = validate("0c368167-0000-4b52-ae9c-75e8d3bd71b7").await.unwrap().json().await.unwrap();
    assert_eq!(answer["valid"].as_bool(), Some(false), "{answer}");
    for (session, expected) in [(PHONE_SESSION, None), ("97cf26b94ffc0f041417cd0cd96dd73b", Some(9))] {
        let mut params: BTreeMap<String, String> = [
            ("method", "track.updateNowPlaying"),
            ("api_key", PHONE_API_KEY),
            ("sk", session),
            ("artist", "Vela Sound"),
            ("track", "Night Ferry"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        params.insert("api_sig".into(), api_sig(&params, PHONE_SECRET));
        params.insert("format".into(), "json".into());
        let response = http.post(format!("{url}/2.0/")).form(&params).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"].as_i64(), expected, "{body}");
        if expected.is_none() {
            assert_eq!(status, 200, "{body}");
            assert!(body["nowplaying"].is_object(), "{body}");
        }
    }

    // The tracker was left running: it starts again with the daemon (just after the socket opens).
    let started = Instant::now();
    let trackers = loop {
        let mut trackers = client.trackers_status(None).await.unwrap();
        // Roon's tracker (a player adapter's) is listed whenever it is loaded.
        trackers.retain(|tracker| tracker.adapter != "roon");
        if !trackers.is_empty() {
            break trackers;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the stored tracker did not start again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let trackers: Vec<_> = trackers.iter().map(|tracker| (tracker.adapter.as_str(), tracker.running)).collect();
    assert_eq!(trackers, [("lastfm", true)]);
    let (_, text, _) = daemon.ctl(&["tracker", "status", "lastfm"]);
    assert!(text.contains("lastfm: running"), "{text}");

    // Enrichments come from the cache: Last.fm cannot be reached.
    let album = client.enrich_run("Vela Sound".into(), Some("Northern Quiet".into()), None).await.unwrap();
    assert!(album.cached && album.found, "{album:?}");
    assert_eq!(
        (album.kind.as_str(), album.source.as_str(), album.name.as_deref()),
        ("album", "lastfm", Some("Northern Quiet"))
    );
    assert_eq!(album.fetched_at_ms / 1000, ENRICHED_AT_MS / 1000);
    let sizes: Vec<&str> = album.images.iter().map(|image| image.size.as_str()).collect();
    assert_eq!(sizes, ["small", "medium", "large", "extralarge", "mega", "original"]);
    assert!(album.summary.as_deref().is_some_and(|summary| summary.starts_with("Northern Quiet ist")), "{album:?}");
    let (code, stdout, stderr) = daemon.ctl(&["--json", "enrich", "Vela Sound"]);
    assert_eq!(code, 0, "{stderr}");
    let artist: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(artist["cached"].as_bool(), Some(true), "{artist}");
    assert_eq!(artist["summary"].as_str(), Some("Vela Sound make slow, warm records."), "{artist}");

    // The index is rebuilt from the store.
    wait_indexed(&client).await;
    let hits = client.search("vela sund".into(), None, Some(5)).await.unwrap().hits;
    assert!(hits.iter().any(|hit| hit.name == "Vela Sound"), "{hits:?}");
    let (_, text, _) = daemon.ctl(&["search", "kettle"]);
    assert!(text.contains("Kettle on the Hob"), "{text}");
}
