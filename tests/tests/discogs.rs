//! The Discogs collection through musiqued and musiquectl, against the fake
//! Discogs serving the real response shapes: sync (pages, folders, release
//! details, items removed remotely), faults and clear errors, and a `kill -9`
//! in the middle of a sync with its resume.

use std::time::{Duration, Instant};

use musique_api::{ImportState, MusiqueApiClient};
use musique_tests::discogs::{FakeDiscogs, Fault, TOKEN, USER};
use musique_tests::{Daemon, wait_import};
use serde_json::Value;

use crate::analytics::{json, plain};

/// Every owned record, as `musiquectl --json collection list` gives them (sorted by id).
fn records(daemon: &Daemon) -> Vec<Value> {
    let page = json(daemon, &["collection", "list", "--limit", "500", "--sort", "added"]);
    let mut items = page["items"].as_array().unwrap().clone();
    assert_eq!(page["total"].as_u64(), Some(items.len() as u64));
    items.sort_by_key(|item| item["id"].as_u64());
    items
}

#[tokio::test]
async fn a_collection_syncs_its_pages_releases_and_removals() {
    let fake = FakeDiscogs::start();
    let ids = fake.add_items(40);
    let daemon = Daemon::start_with_config(&fake.config(""));
    let out = plain(&daemon, &["collection", "sync"]);
    // (A few hundred records over many pages: see `many_pages_sync_exactly`.)
    assert!(out.contains("completed"), "{out}");
    assert!(out.contains("records:   40 (40 new, 0 already here)"), "{out}");
    assert!(out.contains("releases:  36 of 36 fetched"), "every tenth record is a second copy: {out}");
    // Folders, six pages of seven, and each release once.
    assert_eq!(fake.count(&format!("/users/{USER}/collection/folders/0/releases")), 6);
    assert_eq!(fake.count("/releases/"), 36);
    fake.with(|state| {
        for (_, auth, agent) in &state.requests {
            assert_eq!(auth.as_deref(), Some(format!("Discogs token={TOKEN}").as_str()));
            assert!(agent.as_deref().is_some_and(|agent| agent.starts_with("musique/")), "{agent:?}");
        }
    });

    let items = records(&daemon);
    assert_eq!(items.iter().map(|item| item["id"].as_u64().unwrap()).collect::<Vec<_>>(), ids);
    let third = &items[3];
    assert_eq!(third["artist"], "Artist 3", "the namesake suffix ` (2)` is dropped");
    assert_eq!(third["title"], "Record 3");
    assert!(third.get("thumb").is_none() && third.get("cover").is_none(), "blank images are absent: {third}");
    assert!(items[4].get("year").is_none(), "year 0 is unknown: {}", items[4]);
    assert_eq!(items[0]["year"], 1990);
    assert_eq!(items[0]["formats"][0], "4×Vinyl, LP, Album, Reissue, Remastered");
    assert_eq!(items[0]["folder"], "Uncategorized folder");
    assert_eq!(items[1]["folder"], "Collection folder 2");
    assert_eq!(items[0]["notes"][0]["value"], "Near Mint (NM or M-)");
    assert_eq!(items[0]["added_at"], 1_420_142_400, "2015-01-01T12:00:00-08:00");
    assert_eq!(items[9]["release_id"], items[8]["release_id"], "two copies of one release");

    // One record with its release: a heading, an index track and its sub-tracks.
    let id = ids[3].to_string();
    let shown = json(&daemon, &["collection", "show", &id]);
    let tracklist = shown["release"]["tracklist"].as_array().unwrap();
    assert_eq!((tracklist[0]["kind"].as_str(), tracklist[0]["title"].as_str()), (Some("heading"), Some("Side One")));
    assert_eq!((tracklist[1]["position"].as_str(), tracklist[1]["duration_s"].as_u64()), (Some("A1"), Some(310)));
    let suite = tracklist.last().unwrap();
    assert_eq!(suite["kind"], "index");
    assert_eq!(suite["sub_tracks"][0]["duration_s"], 121);
    assert!(suite["sub_tracks"][1].get("duration_s").is_none());
    assert_eq!(shown["release"]["country"], "Australia");
    let text = plain(&daemon, &["collection", "show", &id]);
    assert!(text.starts_with("Artist 3 – Record 3 (1993)\n"), "{text}");
    assert!(text.contains("  Side One\n") && text.contains("  A1    Hells Bells  5:10"), "{text}");
    let table = plain(&daemon, &["collection", "list", "--limit", "2"]);
    assert!(table.starts_with("ID") && table.ends_with("2 of 40 records; next page: --cursor 2\n"), "{table}");
    let last = json(&daemon, &["collection", "list", "--limit", "5", "--cursor", "38"]);
    assert_eq!((last["items"].as_array().unwrap().len(), last.get("next_cursor")), (2, None));
    // The index finds records by title, artist, label, catalogue number, genre or style, with a typo.
    musique_tests::wait_indexed(&daemon.client().await).await;
    let found = json(&daemon, &["collection", "list", "--query", "RECORD 13"]);
    assert_eq!((found["total"].as_u64(), found["items"][0]["title"].as_str()), (Some(1), Some("Record 13")));
    let found = json(&daemon, &["collection", "list", "--query", "recrd 13"]);
    assert_eq!(found["items"][0]["title"], "Record 13", "{found}");
    assert_eq!(json(&daemon, &["collection", "list", "-q", "k7073", "--limit", "500"])["total"], 13);
    assert_eq!(json(&daemon, &["collection", "list", "-q", "trip hop", "--limit", "500"])["total"], 13);
    assert_eq!(json(&daemon, &["collection", "list", "-q", "polka"])["total"], 0);
    // Entity search keeps to artists, albums and tracks.
    assert!(json(&daemon, &["search", "Record 13"])["hits"].as_array().unwrap().is_empty());

    // An item removed on Discogs, three added: only the new releases are fetched.
    fake.with(|state| state.items.remove(5));
    let added = fake.add_items(3);
    let run = json(&daemon, &["collection", "sync"]);
    assert_eq!(run["state"], "completed");
    assert_eq!(
        (run["records"].as_u64(), run["imported"].as_u64(), run["duplicates"].as_u64()),
        (Some(42), Some(3), Some(39))
    );
    assert_eq!(run["skipped"]["removed"], 1);
    assert_eq!(fake.count("/releases/"), 39);
    let now: Vec<u64> = records(&daemon).iter().map(|item| item["id"].as_u64().unwrap()).collect();
    assert_eq!(now.len(), 42);
    assert!(!now.contains(&ids[5]) && added.iter().all(|id| now.contains(id)));
    // `--full` fetches every release again.
    let run = json(&daemon, &["collection", "sync", "--full"]);
    assert_eq!(run["file_records_done"], 38);
    assert_eq!(fake.count("/releases/"), 39 + 38);
}

#[tokio::test]
async fn a_collection_of_one_page_and_an_empty_one() {
    let fake = FakeDiscogs::start();
    let daemon = Daemon::start_with_config(&fake.config(""));
    let run = json(&daemon, &["collection", "sync"]);
    assert_eq!((run["state"].as_str(), run["records"].as_u64()), (Some("completed"), Some(0)));
    assert_eq!(plain(&daemon, &["collection", "list"]), "no records (`musiquectl collection sync` fetches them)\n");
    // Five records fit one page of seven: the page's `urls` is `{}`.
    fake.add_items(5);
    let run = json(&daemon, &["collection", "sync"]);
    assert_eq!(
        (run["records"].as_u64(), run["files_done"].as_u64(), run["files_total"].as_u64()),
        (Some(5), Some(1), Some(1))
    );
    assert_eq!(records(&daemon).len(), 5);
}

#[tokio::test]
async fn faults_are_retried_and_refusals_say_why() {
    let fake = FakeDiscogs::start();
    fake.add_items(10);
    // Every kind of transient fault on the first requests, and a release Discogs does not have.
    fake.with(|state| {
        state.faults =
            [Fault::Status(429), Fault::Status(500), Fault::Truncated, Fault::Malformed, Fault::Huge, Fault::Pass]
                .into_iter()
                .collect();
        state.releases.remove(&500_002);
    });
    let daemon = Daemon::start_with_config(&fake.config(""));
    let run = json(&daemon, &["collection", "sync"]);
    assert_eq!(run["state"], "completed", "{run}");
    assert_eq!((run["records"].as_u64(), run["rejected"].as_u64()), (Some(10), Some(1)));
    assert!(run["rejected_samples"][0].as_str().unwrap().contains("release 500002"), "{run}");
    assert!(daemon.log().contains("an answer larger than 8 MB"), "the 9 MB answer was cut off, not read whole");
    assert_eq!(records(&daemon).len(), 10);
    let out = plain(&daemon, &["collection", "show", "900002"]);
    assert!(out.contains("the release's details come with the next sync"), "{out}");
    drop(daemon);

    for (user, token, expected) in
        [(USER, "wrong-token-41", "token was refused"), ("nobody", TOKEN, "User does not exist")]
    {
        let config = fake.config_as(user, token, "");
        let daemon = Daemon::start_with_config(&config);
        let (code, out, err) = daemon.ctl(&["collection", "sync"]);
        assert_ne!(code, 0, "{out}");
        assert!(out.contains(expected) || err.contains(expected), "{out}{err}");
        assert!(!out.contains(token) && !err.contains(token), "the token never shows: {out}{err}");
        assert_eq!(json(&daemon, &["collection", "list"])["total"], 0, "nothing stored");
        assert!(!daemon.log().contains(token), "nor in the log");
    }
}

#[tokio::test]
async fn a_sync_killed_midway_resumes_with_exact_counts() {
    let fake = FakeDiscogs::start();
    let ids = fake.add_items(40);
    // Folders and two pages answered, then the third page is held.
    fake.with(|state| state.hold_after = Some(3));
    let mut daemon = Daemon::start_with_config(&fake.config(""));
    let client = daemon.client().await;
    let run = client.collection_sync(None, None).await.unwrap();
    let started = Instant::now();
    loop {
        let status = client.imports_status(run.id).await.unwrap();
        if fake.with(|state| state.held) > 0 && status.files_done == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the sync did not reach its third page: {status:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    daemon.kill9();
    fake.with(|state| state.hold_after = None);
    daemon.restart();
    let client = daemon.client().await;
    // The restarted daemon resumes the interrupted sync by itself.
    let started = Instant::now();
    while client.imports_status(run.id).await.unwrap().state == ImportState::Interrupted {
        assert!(started.elapsed() < Duration::from_secs(60), "the sync was not resumed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ended = wait_import(&client, run.id).await;
    assert_eq!(ended.state, ImportState::Completed, "{ended:?}");
    assert_eq!((ended.records, ended.imported, ended.resumed), (40, 40, 1));
    assert_eq!(ended.file_records_done, 36);
    // The two stored pages were not asked again; the one in flight was.
    assert_eq!(fake.count(&format!("/users/{USER}/collection/folders/0/releases")), 7);
    assert_eq!(fake.count("/releases/"), 36);
    let now: Vec<u64> = records(&daemon).iter().map(|item| item["id"].as_u64().unwrap()).collect();
    assert_eq!(now, ids);
}

#[tokio::test]
async fn the_adapter_runs_as_a_drop_in_plugin() {
    let fake = FakeDiscogs::start();
    fake.add_items(12);
    let mut daemon = Daemon::start_with_config(&fake.config(""));
    musique_tests::install_drop_in(&mut daemon, "musique_discogs_plugin", "libdiscogs.so");
    let client = daemon.client().await;
    let plugins = client.plugins_list().await.unwrap();
    let dynamic = plugins.iter().find(|plugin| plugin.name == "discogs" && plugin.origin == "dynamic");
    let dynamic = dynamic.unwrap_or_else(|| panic!("{plugins:?}"));
    let capabilities = vec!["collection".to_owned(), "enrich".to_owned()];
    assert_eq!((dynamic.state.as_str(), dynamic.capabilities.clone()), ("running", capabilities));

    let run = wait_import(&client, client.collection_sync(None, None).await.unwrap().id).await;
    assert_eq!((run.state, run.imported, run.file_records_done), (ImportState::Completed, 12, 11), "{run:?}");
    let plugins = client.plugins_list().await.unwrap();
    let dynamic = plugins.iter().find(|plugin| plugin.name == "discogs" && plugin.origin == "dynamic").unwrap();
    assert!(dynamic.calls >= 3, "the drop-in served the sync: {dynamic:?}");
    assert_eq!(dynamic.errors, 0, "no `start` is no error: {dynamic:?}");
}

/// A Last.fm CSV export of `(artist, album, track, days ago)` plays, at noon UTC.
fn lastfm_csv(plays: &[(&str, &str, &str, i64)]) -> String {
    let today = jiff::Timestamp::now().as_second() / 86_400 * 86_400 + 43_200;
    let mut csv = String::from("uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n");
    for (index, (artist, album, track, days_ago)) in plays.iter().enumerate() {
        let at = today - days_ago * 86_400 + index as i64 * 60;
        let time = jiff::Timestamp::from_second(at).unwrap().strftime("%d %b %Y, %H:%M");
        csv.push_str(&format!("{at},\"{time}\",{artist},,{album},,{track},\n"));
    }
    csv
}

#[tokio::test]
async fn the_collection_meets_the_listens() {
    let fake = FakeDiscogs::start();
    let ids = fake.add_items(40);
    let daemon = Daemon::start_with_config(&fake.config(""));
    assert!(plain(&daemon, &["collection", "sync"]).contains("completed"));
    // Record 3 under another edition's title, Record 0 three years ago, an album not owned, and one owned
    // under a name no rule links.
    let mut plays: Vec<(&str, &str, &str, i64)> = Vec::new();
    plays.extend((0..5).map(|n| ("Artist 3", "Record 3 (Remastered 2009)", "Track", n)));
    plays.extend((0..2).map(|_| ("Artist 0", "Record 0", "Opening", 3 * 365)));
    plays.extend((0..6).map(|n| ("Stereolab", "Dots and Loops", "Brakhage", 10 + n)));
    plays.extend((0..2).map(|n| ("Broadcast", "Haha Sound", "Pendulum", 20 + n)));
    plays.push(("Artist 1", "Rec One", "Side A", 40));
    let csv = daemon.dir.path().join("plays.csv");
    std::fs::write(&csv, lastfm_csv(&plays)).unwrap();
    let (code, out, err) = daemon.ctl(&["import", "lastfm-csv", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    let items = records(&daemon);
    let find = |items: &[Value], n: usize| items.iter().find(|item| item["id"] == ids[n]).unwrap().clone();
    let third = find(&items, 3);
    assert_eq!((third["plays"].as_u64(), third["linked"].as_str()), (Some(5), Some("auto")), "{third}");
    assert!(third["last_played"].as_i64().unwrap() > jiff::Timestamp::now().as_second() - 86_400 * 2);
    assert_eq!(find(&items, 0)["plays"], 2);
    assert_eq!(find(&items, 1)["plays"], 0);
    assert!(find(&items, 1).get("linked").is_none());
    // Artists link through the album, or by name when no album does (Artist 1 is in the listens, Artist 2 is not).
    assert!(third["artist_id"].is_u64(), "{third}");
    assert_eq!(find(&items, 7)["artist_id"], find(&items, 0)["artist_id"], "Record 7 is Artist 0's too, unplayed");
    assert!(find(&items, 7).get("album_id").is_none());
    assert!(find(&items, 1)["artist_id"].is_u64(), "{}", find(&items, 1));
    assert!(find(&items, 2).get("artist_id").is_none());

    let unplayed = json(&daemon, &["collection", "unplayed", "--limit", "500"]);
    assert_eq!(unplayed.as_array().unwrap().len(), 38);
    // Not played in the last ten days: all but Record 3.
    let since = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(240)).strftime("%Y-%m-%d").to_string();
    let recent = json(&daemon, &["collection", "unplayed", "--from", &since, "--limit", "500"]);
    let titles: Vec<&str> = recent.as_array().unwrap().iter().map(|item| item["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 39);
    assert!(!titles.contains(&"Record 3") && titles.contains(&"Record 0"));
    let dusty = json(&daemon, &["collection", "dusty", "--months", "12", "--limit", "500"]);
    let dusty = dusty.as_array().unwrap();
    assert_eq!(dusty.len(), 39, "never played, and Record 0");
    assert_eq!(dusty.last().unwrap()["title"], "Record 0", "the played one after the never played");
    let missing = json(&daemon, &["collection", "missing"]);
    assert_eq!(missing.as_array().unwrap().len(), 1, "{missing}");
    assert_eq!(
        (missing[0]["artist"].as_str(), missing[0]["title"].as_str(), missing[0]["plays"].as_u64()),
        (Some("Stereolab"), Some("Dots and Loops"), Some(6))
    );
    let text = plain(&daemon, &["collection", "missing", "--min-plays", "2"]);
    assert!(text.contains("Dots and Loops") && text.contains("Haha Sound") && !text.contains("Record 3"), "{text}");
    let stats = json(&daemon, &["collection", "stats"]);
    assert_eq!(
        (stats["records"].as_u64(), stats["releases"].as_u64(), stats["played"].as_u64()),
        (Some(40), Some(36), Some(2))
    );
    assert_eq!(stats["coverage"], 0.05);
    assert_eq!(stats["most_played"][0]["title"], "Record 3");
    assert_eq!(stats["forgotten"][0]["title"], "Record 0");
    assert_eq!(stats["formats"][0]["name"], "4×LP", "{}", stats["formats"]);
    let year = jiff::Timestamp::now().strftime("%Y").to_string();
    let this_year = json(&daemon, &["collection", "stats", "--year", &year]);
    assert!(
        this_year["played"].as_u64().unwrap() >= 1 && this_year["most_played"][0]["period_plays"].as_u64().is_some()
    );

    // Links the user sets win over the automatic ones, and go back.
    let id = ids[1].to_string();
    let linked = json(&daemon, &["collection", "link", &id, "Artist 1", "Rec One"]);
    assert_eq!((linked["linked"].as_str(), linked["plays"].as_u64()), (Some("user"), Some(1)));
    let id3 = ids[3].to_string();
    let none = json(&daemon, &["collection", "link", &id3, "--none"]);
    assert_eq!((none["linked"].as_str(), none["plays"].as_u64()), (Some("none"), Some(0)));
    assert_eq!(json(&daemon, &["collection", "link", &id3, "--auto"])["plays"], 5);
    let (code, _, err) = daemon.ctl(&["collection", "link", &id, "Nobody", "Nothing"]);
    assert_ne!(code, 0);
    assert!(err.contains("no album"), "{err}");

    // Random picks: no repeat within a session until every record came.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        let picked = json(&daemon, &["collection", "random", "--session", "t"]);
        assert!(seen.insert(picked["id"].as_u64().unwrap()), "{picked} came twice");
    }
    assert!(json(&daemon, &["collection", "random", "--session", "t"])["id"].is_u64(), "a new round");
    for _ in 0..5 {
        let picked = json(&daemon, &["collection", "random", "--decade", "1990", "--unplayed-months", "6"]);
        let year = picked["year"].as_i64().unwrap();
        let six_months_ago = jiff::Timestamp::now().as_second() - 180 * 86_400;
        let dusty = picked["last_played"].as_i64().is_none_or(|last| last < six_months_ago);
        assert!((1990..2000).contains(&year) && dusty, "{picked}");
    }
    assert!(json(&daemon, &["collection", "random", "--genre", "polka"]).is_null());
}

#[tokio::test]
async fn the_collection_exports_as_markdown_json_and_csv() {
    let fake = FakeDiscogs::start();
    let ids = fake.add_items(15);
    let daemon = Daemon::start_with_config(&fake.config(""));
    assert!(plain(&daemon, &["collection", "sync"]).contains("completed"));
    let dir = daemon.dir.path();
    use std::os::unix::fs::PermissionsExt;

    let out = plain(&daemon, &["collection", "export", dir.join("records.md").to_str().unwrap()]);
    assert!(out.starts_with("wrote 15 records to "), "{out}");
    let markdown = std::fs::read_to_string(dir.join("records.md")).unwrap();
    assert!(markdown.starts_with("# Record collection\n\n15 records by 12 artists.\n"), "{markdown}");
    assert!(markdown.contains("- [Artist 1 / MRMNK](#artist-1-mrmnk)\n"), "{markdown}");
    assert!(markdown.contains("- [Artist 0](#artist-0)\n"), "{markdown}");
    assert!(markdown.contains("<a id=\"artist-3\"></a>\n\n## Artist 3\n"), "{markdown}");
    assert!(markdown.contains("- **Record 3** (1993) — 4×LP — Death Row Records DRR 63008-1\n"), "{markdown}");
    let mode = std::fs::metadata(dir.join("records.md")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    plain(&daemon, &["collection", "export", dir.join("records.json").to_str().unwrap()]);
    let records: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("records.json")).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 15);
    let first = records.iter().find(|record| record["id"] == ids[0]).unwrap();
    assert_eq!(first["release"]["tracklist"][1]["title"], "Hells Bells", "after the heading");
    assert!(first["cover"].as_str().unwrap().starts_with("https://"));

    let csv_path = dir.join("records.txt");
    plain(&daemon, &["collection", "export", "--format", "csv", csv_path.to_str().unwrap()]);
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[2], "artist");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 15);
    let row = rows.iter().find(|row| &row[0] == ids[7].to_string().as_str()).unwrap();
    assert_eq!((&row[3], &row[5], &row[11]), ("Record 7", "5×LP", "2015-01-08"));

    // A folder that does not exist, or a relative path: a clear error, nothing written.
    let (code, _, err) = daemon.ctl(&["collection", "export", "/nonexistent/dir/x.md"]);
    assert_ne!(code, 0);
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, err) = daemon.ctl(&["collection", "export", "x.pdf"]);
    assert_ne!(code, 0);
    assert!(err.contains("--format"), "{err}");
}

#[tokio::test]
async fn many_pages_sync_exactly() {
    let fake = FakeDiscogs::start();
    let ids = fake.add_items(300);
    let daemon = Daemon::start_with_config(&fake.config(""));
    let run = json(&daemon, &["collection", "sync"]);
    // 43 pages of 7; every tenth record is a second copy of the one before.
    assert_eq!(
        (run["records"].as_u64(), run["files_done"].as_u64(), run["file_records_done"].as_u64()),
        (Some(300), Some(43), Some(270))
    );
    assert_eq!(records(&daemon).iter().map(|item| item["id"].as_u64().unwrap()).collect::<Vec<_>>(), ids);
    assert_eq!(fake.count("/releases/"), 270);
}

#[tokio::test]
async fn discogs_enriches_albums_and_artists() {
    let fake = FakeDiscogs::start();
    fake.add_items(4);
    let daemon = Daemon::start_with_config(&fake.config(""));
    // Record 0 has both covers; Record 3's are blank on Discogs.
    let album = json(&daemon, &["enrich", "Artist 0", "--album", "Record 0"]);
    assert_eq!(
        (album["found"].as_bool(), album["source"].as_str(), album["name"].as_str()),
        (Some(true), Some("discogs"), Some("Record 0")),
        "{album}"
    );
    let images = album["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{album}");
    assert!(images.iter().all(|image| image["url"].as_str().unwrap().starts_with("https://i.discogs.com/")));
    assert!(album["url"].as_str().unwrap().starts_with("https://www.discogs.com/release/"), "{album}");
    let blank = json(&daemon, &["enrich", "Artist 3", "--album", "Record 3"]);
    assert_eq!((blank["found"].as_bool(), blank["images"].as_array().map(Vec::len)), (Some(true), Some(0)), "{blank}");
    let artist = json(&daemon, &["enrich", "Artist 1"]);
    assert_eq!((artist["kind"].as_str(), artist["found"].as_bool()), (Some("artist"), Some(true)), "{artist}");
    let unknown = plain(&daemon, &["enrich", "Nobody", "--album", "Nothing"]);
    assert!(unknown.contains("discogs does not know Nobody – Nothing"), "{unknown}");
    assert!(fake.count("/database/search") >= 4);
    // Without a token, nothing is asked: the adapter says why.
    drop(daemon);
    let daemon =
        Daemon::start_with_config(&fake.config_as(USER, TOKEN, "").replace(&format!("token = \"{TOKEN}\"\n"), ""));
    let before = fake.count("/database/search");
    let (code, _, err) = daemon.ctl(&["enrich", "Artist 0", "--album", "Record 0"]);
    assert_ne!(code, 0);
    assert!(err.contains("no Discogs token"), "{err}");
    assert_eq!(fake.count("/database/search"), before);
}
