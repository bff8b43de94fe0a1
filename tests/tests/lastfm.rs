//! The Last.fm adapter through a real musiqued and musiquectl, against the
//! fake Last.fm of `musique_tests::lastfm`: history imports (full,
//! incremental, range) with faults and a crash, the live tracker, sign-in,
//! loving, enrichment, cross-source identity, and the adapter loaded as a
//! drop-in plugin.

use std::time::{Duration, Instant};

use musique_api::{Event, FetchMode, ImportRun, ImportState, MusiqueApiClient, NewListen, TimeArg};
use musique_tests::lastfm::{FakeLastfm, Fault, Scrobble};
use musique_tests::{Daemon, wait_import};

/// 2024-03-01T00:00:00Z: the newest scrobble of the fixtures.
const NEWEST: i64 = 1_709_251_200;

async fn count_listens(daemon: &Daemon) -> usize {
    let client = daemon.client().await;
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = client.listens_list(None, None, Some(1000), cursor).await.expect("listens.list");
        count += page.listens.len();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return count,
        }
    }
}

async fn fetch(daemon: &Daemon, mode: FetchMode, from: Option<i64>, to: Option<i64>) -> ImportRun {
    let client = daemon.client().await;
    let run = client
        .imports_fetch("lastfm".into(), mode, from.map(TimeArg::Unix), to.map(TimeArg::Unix))
        .await
        .expect("imports.fetch");
    wait_import(&client, run.id).await
}

/// Waits (polling, bounded) until `check` holds.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn full_incremental_and_range_imports_with_loved_tracks_and_now_playing() {
    let fake = FakeLastfm::start();
    let history = fake.add_history("rj", 1000, NEWEST);
    fake.with(|state| {
        state.now_playing.insert("rj".into(), ("Tame Impala".into(), "Apocalypse Dreams".into()));
        state.loved.insert((history[5].artist.clone(), history[5].track.clone()));
    });
    let daemon = Daemon::start_with_config(&fake.config(""));

    let (code, stdout, stderr) = daemon.ctl(&["--json", "import", "lastfm", "--full"]);
    assert_eq!(code, 0, "{stderr}");
    let run: ImportRun = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run.state, ImportState::Completed);
    assert_eq!((run.imported, run.duplicates, run.rejected), (1000, 0, 0), "{run:?}");
    assert_eq!(run.files_done, run.files_total, "pages done of total");
    assert!(run.files_done >= 5, "{run:?}");
    assert_eq!(count_listens(&daemon).await, 1000, "the now-playing entry is not a listen");

    let client = daemon.client().await;
    let newest = client.listens_list(None, None, Some(10), None).await.unwrap().listens;
    assert_eq!(newest[0].listened_at, NEWEST);
    assert_eq!(newest[0].sources, vec!["lastfm".to_owned()]);
    let loved: Vec<&str> = newest.iter().filter(|listen| listen.loved).map(|listen| listen.track.as_str()).collect();
    assert_eq!(loved, vec![history[5].track.as_str()]);
    let (_, table, _) = daemon.ctl(&["listens", "--limit", "10"]);
    assert!(table.contains(&format!("{} ♥", history[5].track)), "{table}");

    // New scrobbles: an incremental import brings just those.
    // New scrobbles, some dated a little before the import ran (scrobbled late, as phones do).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let newer: Vec<Scrobble> = (1..=7)
        .map(|i| Scrobble {
            artist: "Low".into(),
            track: format!("New {i}"),
            album: "Hey What".into(),
            uts: now - 600 + i * 60,
        })
        .collect();
    fake.with(|state| state.scrobbles.get_mut("rj").unwrap().extend(newer));
    let (code, stdout, stderr) = daemon.ctl(&["--json", "import", "lastfm"]);
    assert_eq!(code, 0, "{stderr}");
    let run: ImportRun = serde_json::from_str(&stdout).unwrap();
    assert_eq!((run.state, run.imported), (ImportState::Completed, 7), "{run:?}");
    assert!(run.path.contains("since"), "{}", run.path);

    // A range already imported: only duplicates.
    let run = fetch(&daemon, FetchMode::Range, Some(NEWEST - 100 * 180), Some(NEWEST - 50 * 180)).await;
    assert_eq!((run.imported, run.duplicates), (0, 50), "{run:?}");
    assert_eq!(count_listens(&daemon).await, 1007);

    // The human report names pages.
    let (code, report, _) = daemon.ctl(&["import", "lastfm", "--since", "2024-03-01"]);
    assert_eq!(code, 0);
    assert!(report.contains("pages:") && report.contains("duplicates:  8"), "{report}");
    let (code, _, stderr) = daemon.ctl(&["import", "lastfm", "/tmp/x.csv"]);
    assert_eq!(code, 2, "a usage error");
    assert!(stderr.contains("lastfm-csv"), "{stderr}");
}

#[tokio::test]
async fn fifty_thousand_scrobbles_through_faults_and_a_crash_end_exact() {
    let fake = FakeLastfm::start();
    fake.add_history("rj", 50_000, NEWEST);
    fake.with(|state| {
        // Every kind of fault, spread over the first pages (a few in a row, within the retry budget).
        for fault in [
            Fault::Error { status: 429, code: 29 },
            Fault::Error { status: 500, code: 8 },
            Fault::Html(503),
            Fault::Truncated,
            Fault::Malformed,
            Fault::Huge,
            Fault::Slow(Duration::from_millis(300)),
            Fault::Hang,
            Fault::Error { status: 503, code: 16 },
            Fault::EmptyPage,
        ] {
            state.faults.extend([fault.clone(), fault, Fault::Pass, Fault::Pass, Fault::Pass]);
        }
        // Scrobbles arriving during the import are newer than its bound: the next incremental gets them.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let arriving = (1..=20)
            .map(|i| Scrobble {
                artist: "Arriving".into(),
                track: format!("Live {i}"),
                album: String::new(),
                uts: now - 300 + i,
            })
            .collect();
        state.arriving = Some((60, "rj".into(), arriving));
    });
    let mut daemon = Daemon::start_with_config(&fake.config("requests_per_second = 200\n"));
    let client = daemon.client().await;
    let run = client.imports_fetch("lastfm".into(), FetchMode::Full, None, None).await.unwrap();
    // Crash in the middle, then start again: the run resumes by itself from its cursor.
    let id = run.id;
    eventually("a third of the pages", || {
        let client = &client;
        async move { client.imports_status(id).await.unwrap().files_done >= 80 }
    })
    .await;
    drop(client);
    daemon.kill9();
    daemon.restart();
    let client = daemon.client().await;
    eventually("the run resuming by itself", || {
        let client = &client;
        async move { client.imports_status(id).await.unwrap().resumed == 1 }
    })
    .await;
    let run = wait_import(&client, id).await;
    assert_eq!(run.state, ImportState::Completed, "{run:?}");
    assert!(daemon.log().contains("an answer larger than 8 MB"), "the 9 MB answers were cut off");
    // 250 pages of 200, and a few more where a second's scrobbles straddle a page (asked again, skipped).
    assert!(run.files_done >= 250 && run.files_done == run.files_total, "{run:?}");
    assert_eq!(count_listens(&daemon).await, 50_000);
    assert_eq!(client.status().await.unwrap().counts.listens, 50_000);
    assert!(fake.with(|state| state.faults.is_empty()), "every fault was served");

    let run = fetch(&daemon, FetchMode::Incremental, None, None).await;
    assert_eq!(run.imported, 20, "{run:?}");
    assert_eq!(count_listens(&daemon).await, 50_020);
}

#[tokio::test]
async fn fatal_errors_say_what_is_wrong_and_exhausted_retries_resume() {
    let fake = FakeLastfm::start();
    fake.add_history("rj", 450, NEWEST);
    let daemon = Daemon::start_with_config(&fake.config(""));

    fake.with(|state| state.private.insert("rj".into()));
    let run = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!(run.state, ImportState::Failed);
    assert!(run.error.as_deref().unwrap().contains("private"), "{run:?}");
    fake.with(|state| state.private.clear());

    fake.with(|state| state.always = Some(Fault::Error { status: 403, code: 10 }));
    let run = fetch(&daemon, FetchMode::Range, Some(0), Some(NEWEST)).await;
    assert_eq!(run.state, ImportState::Failed);
    assert!(run.error.as_deref().unwrap().contains("api_key"), "{run:?}");

    // Persistent 503s: bounded tries, then the reason is kept.
    fake.with(|state| state.always = Some(Fault::Html(503)));
    let run = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!(run.state, ImportState::Failed);
    let error = run.error.clone().unwrap();
    assert!(error.contains("gave up after 8 tries") && error.contains("503"), "{error}");
    // Once the service is back, the same import resumes that run and completes it.
    fake.with(|state| state.always = None);
    let resumed = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!((resumed.id, resumed.state, resumed.imported), (run.id, ImportState::Completed, 450), "{resumed:?}");

    let (code, _, stderr) = daemon.ctl(&["import", "lastfm", "--from", "2024-02-01", "--to", "2024-01-01"]);
    assert_eq!(code, 2, "a usage error, refused before the daemon is asked");
    assert!(stderr.contains("range is empty"), "{stderr}");
}

#[tokio::test]
async fn the_tracker_records_scrobbles_publishes_now_playing_and_catches_up_after_downtime() {
    let fake = FakeLastfm::start();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    fake.with(|state| {
        state.scrobbles.insert("rj".into(), Vec::new());
    });
    let mut daemon = Daemon::start_with_config(&fake.config(""));
    let client = daemon.client().await;
    let mut events = client.events_subscribe().await.unwrap();
    let (code, _, stderr) = daemon.ctl(&["tracker", "start", "lastfm"]);
    assert_eq!(code, 0, "{stderr}");

    fake.with(|state| {
        state.now_playing.insert("rj".into(), ("Broadcast".into(), "Pendulum".into()));
        state.scrobbles.get_mut("rj").unwrap().push(Scrobble {
            artist: "Stereolab".into(),
            track: "French Disko".into(),
            album: "Jenny Ondioline".into(),
            uts: now - 30,
        });
    });
    let mut saw_now_playing = false;
    let mut saw_listen = false;
    let started = Instant::now();
    while !(saw_now_playing && saw_listen) {
        assert!(started.elapsed() < Duration::from_secs(30), "no events from the tracker");
        match tokio::time::timeout(Duration::from_secs(30), events.next()).await {
            Ok(Some(Ok(Event::NowPlaying { source, track, .. }))) => {
                saw_now_playing |= source == "lastfm" && track == "Pendulum"
            }
            Ok(Some(Ok(Event::ListenRecorded { listen }))) => saw_listen |= listen.track == "French Disko",
            _ => {}
        }
    }
    // The poll that recorded the listen ends, and plans the next one.
    eventually("the poll to end", || {
        let client = &client;
        async move {
            let status = client.trackers_status(Some("lastfm".into())).await.unwrap();
            status[0].polls >= 1 && status[0].next_poll_ms.is_some()
        }
    })
    .await;
    let status = client.trackers_status(Some("lastfm".into())).await.unwrap();
    assert!(status[0].running, "{status:?}");
    assert_eq!(status[0].last_track.as_ref().unwrap().track, "French Disko");
    assert_eq!(status[0].now_playing.as_ref().unwrap().track, "Pendulum");
    drop(events);
    drop(client);

    // Down for a while: 450 scrobbles (3 pages) arrive; the tracker restarts with the daemon and catches up.
    daemon.stop();
    let missed: Vec<Scrobble> = (0..450)
        .map(|i| Scrobble {
            artist: "Can".into(),
            track: format!("Missed {i}"),
            album: String::new(),
            uts: now - 900 + i,
        })
        .collect();
    fake.with(|state| state.scrobbles.get_mut("rj").unwrap().extend(missed));
    daemon.restart();
    eventually("the catch-up", || async { count_listens(&daemon).await == 451 }).await;
    let (code, text, _) = daemon.ctl(&["tracker"]);
    assert_eq!(code, 0);
    assert!(text.contains("lastfm: running"), "{text}");

    let (code, _, _) = daemon.ctl(&["tracker", "stop"]);
    assert_eq!(code, 0);
    let (_, text, _) = daemon.ctl(&["tracker", "status", "lastfm"]);
    assert!(text.contains("lastfm: stopped"), "{text}");
    daemon.stop();
    daemon.restart();
    let client = daemon.client().await;
    let trackers = client.trackers_status(None).await.unwrap();
    // Roon's tracker (a player adapter's) is listed whenever it is loaded.
    assert!(
        trackers.iter().all(|tracker| tracker.adapter != "lastfm"),
        "a stopped tracker stays stopped: {trackers:?}"
    );
    let (code, _, stderr) = daemon.ctl(&["tracker", "stop"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no tracker"), "{stderr}");
}

#[tokio::test]
async fn login_love_enrich_and_no_secret_in_logs_or_answers() {
    let fake = FakeLastfm::start();
    fake.add_history("rj", 3, NEWEST);
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../adapters/lastfm/tests/data/albuminfo.json"))
            .unwrap(),
    )
    .unwrap();
    fake.with(|state| {
        state.albums.insert(("Vela Sound".into(), "Northern Quiet".into()), sample["response"]["body"].clone());
    });
    let mut daemon = Daemon::start_with_config("");
    daemon.set_log_level("debug");
    daemon.set_config(&fake.config(""));
    daemon.stop();
    daemon.restart();

    // Loving needs a session first; nothing is stored when it fails.
    let (code, _, stderr) = daemon.ctl(&["love", "Artist 1", "Track 1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("musiquectl lastfm login"), "{stderr}");

    let (code, stdout, stderr) = daemon.ctl(&["lastfm", "login"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("http://127.0.0.1:9/auth/?api_key=") && stderr.contains("&token=token0001"), "{stderr}");
    assert_eq!(stdout.trim(), "signed in to Last.fm as rj");
    assert_eq!(fake.count("auth.getSession"), 2, "polled past error 14");

    fetch(&daemon, FetchMode::Full, None, None).await;
    let (code, stdout, stderr) = daemon.ctl(&["love", "Artist 1", "Track 1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("loved Artist 1 – Track 1"), "{stdout}");
    assert!(fake.with(|state| state.loved.contains(&("Artist 1".into(), "Track 1".into()))));
    let client = daemon.client().await;
    let listens = client.listens_list(None, None, Some(10), None).await.unwrap().listens;
    assert!(listens.iter().find(|listen| listen.track == "Track 1").unwrap().loved);
    let (code, _, _) = daemon.ctl(&["unlove", "Artist 1", "Track 1"]);
    assert_eq!(code, 0);
    assert!(fake.with(|state| state.loved.is_empty()));
    let listens = client.listens_list(None, None, Some(10), None).await.unwrap().listens;
    assert!(listens.iter().all(|listen| !listen.loved));

    // Album images (every size) and the wiki summary, fetched once, then cached.
    let (code, stdout, stderr) = daemon.ctl(&["--json", "enrich", "Vela Sound", "--album", "Northern Quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let info: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((info["found"].as_bool(), info["cached"].as_bool()), (Some(true), Some(false)));
    assert_eq!(info["images"].as_array().unwrap().len(), 6);
    assert!(info["summary"].as_str().unwrap().starts_with("Northern Quiet ist"), "{info}");
    let (_, stdout, _) = daemon.ctl(&["--json", "enrich", "Vela Sound", "--album", "Northern Quiet"]);
    let again: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(again["cached"].as_bool(), Some(true));
    assert_eq!(fake.count_with("album.getInfo", "album", "Northern Quiet"), 1, "never refetched while fresh");
    let (_, text, _) = daemon.ctl(&["enrich", "Nobody", "--album", "Nothing"]);
    assert!(text.contains("lastfm does not know Nobody – Nothing"), "{text}");
    let artist = client.enrich_run("Stereolab".into(), None, None).await.unwrap();
    assert_eq!((artist.kind.as_str(), artist.summary.as_deref()), ("artist", Some("Stereolab is a test artist.")));
    // New albums are enriched in the background.
    eventually("background enrichment", || async {
        (0..3).all(|album| fake.count_with("album.getInfo", "album", &format!("Album {album}")) == 1)
    })
    .await;

    let session = fake.with(|state| state.sessions.keys().next().unwrap().clone());
    let log = daemon.log();
    for secret in [musique_tests::lastfm::API_KEY, musique_tests::lastfm::SHARED_SECRET, session.as_str()] {
        assert!(!log.contains(secret), "a secret is in the daemon log");
    }
    let (_, status, _) = daemon.ctl(&["--json", "status"]);
    let (_, plugins, _) = daemon.ctl(&["--json", "plugins"]);
    assert!(!status.contains(musique_tests::lastfm::SHARED_SECRET) && !plugins.contains(&session));
}

#[tokio::test]
async fn the_same_play_from_two_sources_is_one_listen() {
    let fake = FakeLastfm::start();
    fake.with(|state| {
        state.scrobbles.insert(
            "rj".into(),
            vec![
                Scrobble {
                    artist: "Air".into(),
                    track: "La femme d'argent".into(),
                    album: "Moon Safari".into(),
                    uts: NEWEST,
                },
                Scrobble {
                    artist: "Air".into(),
                    track: "Sexy Boy".into(),
                    album: "Moon Safari".into(),
                    uts: NEWEST + 420,
                },
            ],
        );
    });
    let daemon = Daemon::start_with_config(&fake.config(""));
    let client = daemon.client().await;
    let listen = |track: &str, at: i64| NewListen {
        artist: "Air".into(),
        track: track.into(),
        album: None,
        listened_at: TimeArg::Unix(at),
        duration_ms: None,
        source: Some("roon".into()),
    };
    // Roon saw the first play 25 s later than Last.fm dates it, and the second one 3 minutes off (another play).
    let added = client
        .listens_add(None, Some(vec![listen("La Femme d'Argent", NEWEST + 25), listen("Sexy Boy", NEWEST + 420 + 180)]))
        .await
        .unwrap();
    assert_eq!(added.added, 2);
    let run = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!((run.imported, run.duplicates), (1, 1), "{run:?}");
    let listens = client.listens_list(None, None, Some(10), None).await.unwrap().listens;
    assert_eq!(listens.len(), 3);
    let merged = listens.iter().find(|listen| listen.track.eq_ignore_ascii_case("La femme d'argent")).unwrap();
    assert_eq!(merged.sources, vec!["roon".to_owned(), "lastfm".to_owned()]);
    assert_eq!(merged.track, "La Femme d'Argent", "names as first reported");
    assert_eq!(merged.listened_at, NEWEST + 25, "the first report keeps its time");
    // Importing again changes nothing, and Roon reporting it again neither.
    let run = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!((run.imported, run.duplicates), (0, 2), "{run:?}");
    let again = client.listens_add(None, Some(vec![listen("La Femme d'Argent", NEWEST + 25)])).await.unwrap();
    assert_eq!(again.added, 0);
    assert_eq!(count_listens(&daemon).await, 3);
}

#[tokio::test]
async fn the_adapter_runs_as_a_drop_in_plugin() {
    let fake = FakeLastfm::start();
    fake.add_history("rj", 250, NEWEST);
    let mut daemon = Daemon::start_with_config(&fake.config(""));
    musique_tests::install_drop_in(&mut daemon, "musique_lastfm_plugin", "liblastfm.so");
    let client = daemon.client().await;
    let plugins = client.plugins_list().await.unwrap();
    let dynamic = plugins.iter().find(|plugin| plugin.name == "lastfm" && plugin.origin == "dynamic");
    let dynamic = dynamic.unwrap_or_else(|| panic!("{plugins:?}"));
    assert_eq!(dynamic.state, "running", "{dynamic:?}");
    assert_eq!(dynamic.capabilities, vec!["history", "live", "enrich"]);

    let run = fetch(&daemon, FetchMode::Full, None, None).await;
    assert_eq!((run.state, run.imported), (ImportState::Completed, 250), "{run:?}");
    let plugins = client.plugins_list().await.unwrap();
    let dynamic = plugins.iter().find(|plugin| plugin.name == "lastfm" && plugin.origin == "dynamic").unwrap();
    assert!(dynamic.calls >= 2, "the drop-in served the import: {dynamic:?}");
}
