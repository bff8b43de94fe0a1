//! Every import format, the skip rules, overlaps, re-imports and broken files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use musique_api::{EntityKind, ImportKind, ImportRun, ImportState, MusiqueApiClient, TimeArg};
use musique_tests::generate::{self, Sources};
use musique_tests::{Daemon, spotify_record, wait_import, wait_indexed, write_json};
use serde_json::json;

async fn import(daemon: &Daemon, kind: ImportKind, path: &Path) -> ImportRun {
    let client = daemon.client().await;
    let run = client.imports_start(kind, path.display().to_string(), None).await.expect("imports.start");
    wait_import(&client, run.id).await
}

fn skipped(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(rule, count)| (rule.to_string(), *count)).collect()
}

/// Two plays that both files of the overlap fixture hold.
fn shared_plays() -> [serde_json::Value; 2] {
    [
        spotify_record("2023-03-01T08:05:00Z", 270_000, Some("Sigur Rós"), Some("Hoppípolla"), Some("Takk...")),
        spotify_record("2023-03-01T08:10:00Z", 300_000, Some("Simon & Garfunkel"), Some("The Boxer"), Some("Bridge")),
    ]
}

/// The first file of the overlap fixture: every kind of record.
fn spotify_file_a() -> serde_json::Value {
    let mut podcast = spotify_record("2023-03-01T10:00:00Z", 900_000, None, None, None);
    podcast["episode_name"] = json!("James Marsden");
    podcast["episode_show_name"] = json!("Armchair Expert");
    podcast["spotify_episode_uri"] = json!("spotify:episode:12FTez5OfZ3Jdub5oVmMbV");
    let mut incognito = spotify_record("2023-03-01T11:00:00Z", 200_000, Some("Secret Artist"), Some("Hidden"), None);
    incognito["incognito_mode"] = json!(true);
    let [sigur, simon] = shared_plays();
    json!([
        spotify_record(
            "2023-03-01T08:00:00Z",
            236_000,
            Some("Beyoncé"),
            Some("Crazy in Love (feat. JAY-Z)"),
            Some("Dangerously in Love")
        ),
        sigur,
        simon,
        podcast,
        incognito,
        spotify_record("2023-03-01T12:00:00Z", 10_000, Some("Skipped Band"), Some("Too Short"), None),
        spotify_record("2023-03-01T13:00:00Z", 50_000, None, None, None),
        spotify_record(
            "2023-03-01T14:00:00Z",
            220_538,
            Some("John Summit"),
            Some("Go Back (feat. Julia Church)"),
            Some("Go Back")
        ),
    ])
}

/// The second file: the shared plays again, and two new ones.
fn spotify_file_b() -> serde_json::Value {
    let [sigur, simon] = shared_plays();
    json!([
        sigur,
        simon,
        spotify_record("2023-03-02T09:00:00Z", 180_000, Some("宇多田ヒカル"), Some("First Love"), Some("First Love")),
        spotify_record("2023-03-02T09:05:00Z", 240_000, Some("Beyoncé"), Some("Halo"), Some("I Am... Sasha Fierce")),
    ])
}

#[tokio::test]
async fn spotify_extended_folder_with_overlapping_files() {
    let daemon = Daemon::start();
    let export = daemon.dir.path().join("Spotify Extended Streaming History");
    std::fs::create_dir_all(&export).unwrap();
    write_json(&export.join("Streaming_History_Audio_2023_0.json"), &spotify_file_a());
    write_json(&export.join("Streaming_History_Audio_2023_1.json"), &spotify_file_b());
    write_json(&export.join("Streaming_History_Video_2023.json"), &json!([video_record()]));
    std::fs::write(export.join("ReadMeFirst.pdf"), b"%PDF").unwrap();

    let run = import(&daemon, ImportKind::Spotify, &export).await;
    assert_eq!(run.state, ImportState::Completed, "{run:?}");
    assert_eq!(run.files_total, 3, "the video history is read, to be skipped; other files are not read");
    assert_eq!((run.records, run.imported, run.duplicates, run.rejected), (13, 6, 2, 0));
    assert_eq!(
        run.skipped,
        skipped(&[("incognito", 1), ("no_track", 1), ("podcast", 1), ("too_short", 1), ("video", 1)])
    );
    assert!(run.file_errors.is_empty(), "{:?}", run.file_errors);

    let client = daemon.client().await;
    let page = client.listens_list(None, None, Some(100), None).await.unwrap();
    assert_eq!(page.listens.len(), 6);
    let newest = &page.listens[0];
    assert_eq!((newest.artist.as_str(), newest.track.as_str()), ("Beyoncé", "Halo"));
    // Start time is the end time minus the time played.
    assert_eq!(newest.listened_at, 1_677_747_900 - 240);
    let crazy = page.listens.iter().find(|listen| listen.track == "Crazy in Love").expect("feat. split off the title");
    assert_eq!(crazy.featured, vec!["JAY-Z".to_owned()]);
    assert_eq!(crazy.sources, vec!["spotify".to_owned()]);
    assert!(page.listens.iter().any(|listen| listen.artist == "Simon & Garfunkel"), "band names stay whole");
    assert!(page.listens.iter().all(|listen| listen.artist != "Secret Artist"), "incognito plays are skipped");

    let top = client
        .stats_top(EntityKind::Artist, None, None, None, Some(10), None, None, None, None, None, None)
        .await
        .unwrap();
    assert_eq!((top.entries[0].name.as_str(), top.entries[0].plays), ("Beyoncé", 2));
    assert_eq!(top.entries.len(), 5, "JAY-Z and Julia Church are featured, not counted: {:?}", top.entries);

    wait_indexed(&client).await;
    let hits = client.search("sigur ros hoppipolla".into(), None, None).await.unwrap().hits;
    assert_eq!(hits[0].name, "Hoppípolla", "{hits:?}");
    let hits = client.search("utada".into(), None, None).await.unwrap().hits;
    assert!(hits.is_empty(), "no false friends: {hits:?}");
    let hits = client.search("宇多田ヒカル".into(), Some(vec![EntityKind::Artist]), None).await.unwrap().hits;
    assert_eq!(hits.len(), 1);

    // Importing the same export again changes nothing.
    let before = client.status().await.unwrap().counts;
    let again = import(&daemon, ImportKind::Spotify, &export).await;
    assert_eq!((again.imported, again.duplicates), (0, 8));
    assert_eq!(client.status().await.unwrap().counts, before);
}

/// A play of Spotify's video history: an episode of a video podcast.
fn video_record() -> serde_json::Value {
    let mut video = spotify_record("2023-03-01T20:00:00Z", 600_000, None, None, None);
    video["episode_name"] = json!("Episode 12");
    video["episode_show_name"] = json!("A Video Show");
    video["spotify_episode_uri"] = json!("spotify:episode:5bHxQzcGCeT1TuLpqoqgLJ");
    video
}

/// A play made offline: `ts` is when the app synced, `offline_timestamp` when it started.
fn offline_record(ts: &str, offline_timestamp: serde_json::Value, artist: &str, track: &str) -> serde_json::Value {
    let mut record = spotify_record(ts, 200_000, Some(artist), Some(track), Some("Offline Album"));
    record["offline"] = json!(true);
    record["offline_timestamp"] = offline_timestamp;
    record
}

#[tokio::test]
async fn offline_plays_start_when_played_and_files_without_music_are_skipped_by_content() {
    let daemon = Daemon::start();
    let export = daemon.dir.path().join("my_spotify_data");
    std::fs::create_dir_all(&export).unwrap();
    // Synced on 2023-06-01, played months before: seconds in current exports, milliseconds in old ones.
    write_json(
        &export.join("Streaming_History_Audio_2023_0.json"),
        &json!([
            offline_record("2023-06-01T12:00:00Z", json!(1_675_000_000), "Offline Band", "On the Train"),
            offline_record("2023-06-01T12:00:00Z", json!(0), "Offline Band", "Unknown Start"),
            offline_record("2023-06-01T12:05:00Z", json!(null), "Offline Band", "No Start"),
        ]),
    );
    write_json(
        &export.join("endsong_0.json"),
        &json!([offline_record("2023-06-01T12:10:00Z", json!(1_677_000_000_500i64), "Offline Band", "Old Export")]),
    );
    // Files holding no music, whatever their names: video, podcast and audiobook histories.
    write_json(&export.join("Streaming_History_Video_2023.json"), &json!([video_record(), video_record()]));
    write_json(
        &export.join("StreamingHistory_podcast_0.json"),
        &json!([{"endTime": "2024-01-05 14:23", "podcastName": "Example Show", "episodeName": "One", "msPlayed": 1_200_000}]),
    );
    let mut chapter = spotify_record("2023-04-01T20:00:00Z", 600_000, None, None, None);
    chapter["audiobook_title"] = json!("A Book");
    chapter["audiobook_uri"] = json!("spotify:show:7iHfbu1YPACw6oZPAFJtqe");
    chapter["audiobook_chapter_title"] = json!("Chapter 1");
    write_json(&export.join("Streaming_History_Audio_2023_1.json"), &json!([chapter]));

    let run = import(&daemon, ImportKind::Spotify, &export).await;
    assert_eq!(run.state, ImportState::Completed, "{run:?}");
    assert_eq!((run.files_total, run.records, run.imported, run.rejected), (5, 8, 4, 0), "{run:?}");
    assert_eq!(run.skipped, skipped(&[("audiobook", 1), ("podcast", 1), ("video", 2)]));
    assert!(run.file_errors.is_empty(), "{:?}", run.file_errors);

    let client = daemon.client().await;
    let page = client.listens_list(None, None, Some(10), None).await.unwrap();
    let start = |track: &str| page.listens.iter().find(|listen| listen.track == track).expect(track).listened_at;
    assert_eq!(start("On the Train"), 1_675_000_000);
    assert_eq!(start("Old Export"), 1_677_000_000);
    // Without an offline start, a play starts its time played before `ts`.
    assert_eq!(start("Unknown Start"), 1_685_620_800 - 200);
    assert_eq!(start("No Start"), 1_685_620_800 + 300 - 200);
}

#[tokio::test]
async fn spotify_export_zip_and_account_data() {
    let daemon = Daemon::start();
    let zip_path = daemon.dir.path().join("my_spotify_data.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("Spotify Extended Streaming History/Streaming_History_Audio_2023_0.json", options).unwrap();
    zip.write_all(&serde_json::to_vec(&spotify_file_a()).unwrap()).unwrap();
    zip.start_file("Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf", options).unwrap();
    zip.write_all(b"%PDF").unwrap();
    zip.finish().unwrap();
    let run = import(&daemon, ImportKind::Spotify, &zip_path).await;
    assert_eq!((run.state, run.files_total, run.imported), (ImportState::Completed, 1, 4), "{run:?}");

    let account = daemon.dir.path().join("StreamingHistory_music_0.json");
    write_json(
        &account,
        &json!([
            {"endTime": "2022-12-05 16:52", "artistName": "Rainbow Kitten Surprise", "trackName": "It's Called: Freefall", "msPlayed": 152293},
            {"endTime": "2021-02-04 19:02", "artistName": "Angèle", "trackName": "Ta reine", "msPlayed": 38160},
            {"endTime": "2021-02-04 19:05", "artistName": "Angèle", "trackName": "Balance ton quoi", "msPlayed": 2000},
            {"endTime": "2024-01-05 14:23", "podcastName": "Example Show", "episodeName": "Example Episode", "msPlayed": 1200000}
        ]),
    );
    let run = import(&daemon, ImportKind::Spotify, &account).await;
    assert_eq!((run.imported, run.rejected), (2, 0), "{run:?}");
    assert_eq!(run.skipped, skipped(&[("podcast", 1), ("too_short", 1)]));
    let client = daemon.client().await;
    let page = client
        .listens_list(Some(TimeArg::Text("2022-12-05".into())), Some(TimeArg::Text("2022-12-06".into())), None, None)
        .await
        .unwrap();
    assert_eq!(page.listens.len(), 1);
    assert_eq!(page.listens[0].listened_at, 1_670_259_120 - 153);
}

#[tokio::test]
async fn truncated_and_foreign_files_are_rejected_whole() {
    let daemon = Daemon::start();
    let export = daemon.dir.path().join("export");
    std::fs::create_dir_all(&export).unwrap();
    write_json(&export.join("Streaming_History_Audio_2023_0.json"), &spotify_file_b());
    let full = serde_json::to_string_pretty(&json!([
        spotify_record("2023-04-01T08:00:00Z", 200_000, Some("Only In The Truncated File"), Some("Lost"), None),
        spotify_record("2023-04-01T09:00:00Z", 200_000, Some("Only In The Truncated File"), Some("Lost Too"), None),
    ]))
    .unwrap();
    std::fs::write(export.join("Streaming_History_Audio_2023_1.json"), &full[..full.len() * 2 / 3]).unwrap();
    std::fs::write(export.join("Streaming_History_Audio_2023_2.json"), br#"{"not": "an export"}"#).unwrap();
    write_json(&export.join("Streaming_History_Audio_2023_3.json"), &json!([{"name": "a list of something else"}]));

    let run = import(&daemon, ImportKind::Spotify, &export).await;
    assert_eq!((run.state, run.files_done, run.imported), (ImportState::Completed, 4, 4), "{run:?}");
    assert_eq!(run.file_errors.len(), 3, "{:?}", run.file_errors);
    assert!(run.file_errors[0].contains("Streaming_History_Audio_2023_1.json: truncated"), "{}", run.file_errors[0]);
    assert!(run.file_errors[0].contains("line "), "{}", run.file_errors[0]);
    assert!(run.file_errors[1].contains("2023_2.json: not an export"), "{}", run.file_errors[1]);
    assert!(run.file_errors[2].contains("2023_3.json: not a Spotify"), "{}", run.file_errors[2]);
    let client = daemon.client().await;
    let page = client.listens_list(None, None, Some(100), None).await.unwrap();
    assert!(
        page.listens.iter().all(|listen| listen.artist != "Only In The Truncated File"),
        "nothing of a broken file is kept"
    );

    // Records that cannot be read are reported with file and position, and the rest is kept.
    let mixed = daemon.dir.path().join("Streaming_History_Audio_2024_0.json");
    write_json(
        &mixed,
        &json!([
            spotify_record("2024-01-01T08:00:00Z", 200_000, Some("Good"), Some("Record"), None),
            {"ts": "not a time", "ms_played": 200000},
            {"ts": "2024-01-01T09:00:00Z", "ms_played": "long"},
        ]),
    );
    let run = import(&daemon, ImportKind::Spotify, &mixed).await;
    assert_eq!((run.imported, run.rejected), (1, 2), "{run:?}");
    assert!(
        run.rejected_samples[0].contains("Streaming_History_Audio_2024_0.json record 2"),
        "{:?}",
        run.rejected_samples
    );

    // A path with nothing to import is a clear error.
    let empty = daemon.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = client.imports_start(ImportKind::Spotify, empty.display().to_string(), None).await.unwrap_err();
    assert!(err.to_string().contains("no spotify files found"), "{err}");
    let err = client.imports_start(ImportKind::Spotify, "relative/path".into(), None).await.unwrap_err();
    assert!(err.to_string().contains("not absolute"), "{err}");
}

#[tokio::test]
async fn options_override_the_rules() {
    let daemon = Daemon::start_with_config("[import]\nmin_play_ms = 5000\n");
    let file = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(&file, &spotify_file_a());
    let client = daemon.client().await;
    let options = musique_api::ImportOptions { min_play_ms: None, include_incognito: Some(true) };
    let run = client.imports_start(ImportKind::Spotify, file.display().to_string(), Some(options)).await.unwrap();
    let run = wait_import(&client, run.id).await;
    // The config lowered the threshold; the option let incognito plays in.
    assert_eq!(run.imported, 6, "{run:?}");
    assert_eq!(run.skipped, skipped(&[("no_track", 1), ("podcast", 1)]));
}

#[tokio::test]
async fn lastfm_csv() {
    let daemon = Daemon::start();
    let csv = daemon.dir.path().join("recenttracks-someone-1779022440.csv");
    std::fs::write(
        &csv,
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n\
         \"1779022440\",\"17 May 2026, 12:54\",\"Beyoncé\",\"\",\"Lemonade\",\"\",\"Hold Up\",\"\"\n\
         \"1779022200\",\"17 May 2026, 12:50\",\"Jay-Z feat. Alicia Keys\",\"\",\"The Blueprint 3\",\"\",\"Empire State of Mind\",\"\"\n\
         \"1779022000\",\"17 May 2026, 12:46\",\"Sigur Rós\",\"\",\"\",\"\",\"Svefn-g-englar\",\"\"\n\
         \"0\",\"\",\"Bad\",\"\",\"\",\"\",\"Time\",\"\"\n",
    )
    .unwrap();
    let run = import(&daemon, ImportKind::LastfmCsv, &csv).await;
    // Dated 1970 (`uts` 0, from old library imports): not a play, under its own reason.
    assert_eq!((run.imported, run.rejected), (3, 0), "{run:?}");
    assert_eq!(run.skipped, skipped(&[("before_lastfm", 1)]));
    let client = daemon.client().await;
    let listens = client.listens_list(None, None, None, None).await.unwrap().listens;
    assert_eq!(listens[0].listened_at, 1_779_022_440);
    assert_eq!(listens[1].artist, "Jay-Z");
    assert_eq!(listens[1].featured, vec!["Alicia Keys".to_owned()]);
    assert_eq!(listens[1].sources, vec!["lastfm".to_owned()]);
    assert_eq!(listens[2].album, None);

    let truncated = daemon.dir.path().join("cut.csv");
    std::fs::write(
        &truncated,
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n\"1779000000\",\"x\",\"A\",\"\",\"B\"",
    )
    .unwrap();
    let run = import(&daemon, ImportKind::LastfmCsv, &truncated).await;
    assert_eq!(run.imported, 0);
    assert!(run.file_errors[0].contains("line 2"), "{:?}", run.file_errors);
}

fn lb_listen(at: i64, artist: &str, track: &str, release: Option<&str>) -> serde_json::Value {
    json!({
        "listened_at": at,
        "inserted_at": at + 2,
        "track_metadata": {
            "artist_name": artist,
            "track_name": track,
            "release_name": release,
            "additional_info": {"duration_ms": 402390, "submission_client": "navidrome", "recording_msid": "fd0cad33-ea33-453b-8155-1292379277db"},
            "mbid_mapping": null
        }
    })
}

#[tokio::test]
async fn listenbrainz_zip_jsonl_and_json() {
    let daemon = Daemon::start();
    let zip_path = daemon.dir.path().join("listenbrainz_rob_1771414200.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("user.json", options).unwrap();
    zip.write_all(br#"{"user_id": 1, "username": "rob"}"#).unwrap();
    zip.start_file("feedback.jsonl", options).unwrap();
    zip.write_all(b"{\"score\": 1}\n").unwrap();
    zip.start_file("listens/2026/1.jsonl", options).unwrap();
    for (at, track) in [(1_767_300_000, "Some Resolve"), (1_767_300_500, "Sorry")] {
        writeln!(zip, "{}", lb_listen(at, "Röyksopp", track, Some("Profound Mysteries II"))).unwrap();
    }
    zip.start_file("listens/2026/2.jsonl", options).unwrap();
    writeln!(zip, "{}", lb_listen(1_770_000_000, "Daft Punk", "One More Time", None)).unwrap();
    writeln!(zip, "{}", json!({"listened_at": 1_770_000_100, "track_metadata": {"artist_name": "No Track"}})).unwrap();
    zip.finish().unwrap();

    let run = import(&daemon, ImportKind::Listenbrainz, &zip_path).await;
    assert_eq!((run.state, run.files_total, run.imported), (ImportState::Completed, 2, 3), "{run:?}");
    assert_eq!(run.skipped, skipped(&[("no_track", 1)]));
    let client = daemon.client().await;
    let listens = client.listens_list(None, None, None, None).await.unwrap().listens;
    assert_eq!(listens.len(), 3);
    assert_eq!(listens[2].duration_ms, Some(402_390));
    assert_eq!(listens[2].sources, vec!["listenbrainz".to_owned()]);

    // The older single-JSON export, overlapping the zip.
    let old = daemon.dir.path().join("rob_lb-2026-02-18.json");
    write_json(
        &old,
        &json!([
            lb_listen(1_770_000_000, "Daft Punk", "One More Time", None),
            lb_listen(1_770_000_900, "Daft Punk", "Aerodynamic", None)
        ]),
    );
    let run = import(&daemon, ImportKind::Listenbrainz, &old).await;
    assert_eq!((run.imported, run.duplicates), (1, 1), "{run:?}");

    // A plain JSONL file, with a truncated last line: rejected whole.
    let lines = daemon.dir.path().join("listens.jsonl");
    let good = lb_listen(1_770_001_000, "Air", "La femme d'argent", None).to_string();
    std::fs::write(&lines, format!("{good}\n{}", &good[..30])).unwrap();
    let run = import(&daemon, ImportKind::Listenbrainz, &lines).await;
    assert_eq!(run.imported, 0);
    assert!(run.file_errors[0].contains("line 2: truncated"), "{:?}", run.file_errors);
}

// ---- Bad files: issue 21, item 1 ---------------------------------------------------------------------

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Writes `head`, `size` bytes of `fill`, then `tail`, without holding them in memory.
fn write_large(path: &Path, head: &[u8], fill: u8, size: usize, tail: &[u8]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(head).unwrap();
    let chunk = vec![fill; 1 << 20];
    for _ in 0..size / chunk.len() {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(tail).unwrap();
    file.flush().unwrap();
}

/// The daemon's peak resident memory must stay well under what the files would cost if read whole.
const MEMORY_BOUND: u64 = 400 << 20;

// See: issue 21, item 1 ("`musiquectl import spotify /dev/zero` grew the daemon past 2 GB").
#[tokio::test]
async fn r21_devices_fifos_and_oversized_records_cannot_eat_the_machine() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let start = async |kind: ImportKind, path: &Path| {
        // A FIFO used to block `imports.start` forever: the bound only turns a hang into a failure.
        let call = client.imports_start(kind, path.display().to_string(), None);
        tokio::time::timeout(std::time::Duration::from_secs(60), call).await.expect("imports.start answers")
    };

    // Devices and FIFOs are refused up front, named, in a folder too.
    let err = start(ImportKind::Spotify, Path::new("/dev/zero")).await.unwrap_err();
    assert!(err.to_string().contains("/dev/zero is a character device, not a regular file"), "{err}");
    let folder = daemon.dir.path().join("export");
    std::fs::create_dir_all(&folder).unwrap();
    let fifo = folder.join("Streaming_History_Audio_2024_0.json");
    mkfifo(&fifo);
    let err = start(ImportKind::Spotify, &fifo).await.unwrap_err();
    assert!(err.to_string().contains(&format!("{} is a FIFO (named pipe)", fifo.display())), "{err}");
    let err = start(ImportKind::Spotify, &folder).await.unwrap_err();
    assert!(err.to_string().contains(&format!("{} is a FIFO (named pipe)", fifo.display())), "{err}");
    let (code, _, stderr) = daemon.ctl(&["import", "spotify", "/dev/zero"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("/dev/zero is a character device"), "{stderr}");

    // A gigabyte of garbage without a newline (a sparse file: zeros that take no disk).
    let garbage = daemon.dir.path().join("listens.jsonl");
    std::fs::File::create(&garbage).unwrap().set_len(1 << 30).unwrap();
    let run = wait_import(&client, start(ImportKind::Listenbrainz, &garbage).await.unwrap().id).await;
    // Its only file rejected whole, the run failed (issue 11, item 6).
    assert_eq!((run.state, run.imported), (ImportState::Failed, 0), "{run:?}");
    assert!(run.file_errors[0].contains("line 1 is larger than 1 MiB"), "{:?}", run.file_errors);

    // A JSON export whose first record holds one giant string (streamed: it is larger than 64 MB).
    let giant = daemon.dir.path().join("Streaming_History_Audio_2024_1.json");
    write_large(&giant, br#"[{"ts":""#, b'a', 300 << 20, br#"","ms_played":1}]"#);
    let run = wait_import(&client, start(ImportKind::Spotify, &giant).await.unwrap().id).await;
    assert!(run.file_errors[0].contains("record 1 is larger than 1 MiB"), "{:?}", run.file_errors);
    std::fs::remove_file(&giant).unwrap();

    // A zip bomb: half a gigabyte of one string, compressed to about half a megabyte.
    let bomb = daemon.dir.path().join("my_spotify_data.zip");
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&bomb).unwrap()));
    let options = zip::write::SimpleFileOptions::default().compression_level(Some(9)).large_file(true);
    zip.start_file("Spotify Extended Streaming History/Streaming_History_Audio_2024_2.json", options).unwrap();
    zip.write_all(br#"[{"ts":""#).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..512 {
        zip.write_all(&chunk).unwrap();
    }
    zip.write_all(br#"","ms_played":1}]"#).unwrap();
    zip.finish().unwrap();
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 4 << 20, "the bomb is small: {size} bytes");
    let run = wait_import(&client, start(ImportKind::Spotify, &bomb).await.unwrap().id).await;
    assert!(run.file_errors[0].contains("record 1 is larger than 1 MiB"), "{:?}", run.file_errors);

    let (_, peak) = daemon.rss();
    assert!(peak < MEMORY_BOUND, "the daemon's memory peaked at {} MB", peak >> 20);
    assert_eq!(client.status().await.unwrap().counts.listens, 0, "the daemon still answers");
}

/// The hand-made export files of every format musique reads (`tests/fixtures/exports`).
const EXPORTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/exports");

#[tokio::test]
async fn every_export_is_told_by_its_content() {
    let daemon = Daemon::start();
    // Copied under names that say nothing, so only the content can tell the format.
    type Case<'a> = (&'a str, &'a str, u64, &'a [(&'a str, u64)]);
    let cases: [Case<'_>; 7] = [
        ("lastfm-to-csv.csv", "lastfm-csv", 2, &[("before_lastfm", 1)]),
        ("recenttracks-me-1779022500.csv", "lastfm-csv", 1, &[("before_lastfm", 2)]),
        ("recenttracks-me-1700000000.json", "lastfm-json", 2, &[("before_lastfm", 1), ("now_playing", 1)]),
        ("me_lb-2020-06-01.json", "listenbrainz", 2, &[]),
        ("maloja_export_2024-02-01.json", "maloja", 2, &[]),
        ("koito_export_1706800000.json", "koito", 2, &[]),
        (".scrobbler.log", "scrobbler-log", 2, &[("skipped", 1)]),
    ];
    let mut total = 0;
    for (index, (name, kind, imported, skips)) in cases.into_iter().enumerate() {
        let path = daemon.dir.path().join(format!("export-{index}"));
        std::fs::copy(Path::new(EXPORTS).join(name), &path).unwrap();
        let run = import(&daemon, ImportKind::Auto, &path).await;
        assert_eq!(run.state, ImportState::Completed, "{name}: {run:?}");
        assert_eq!(run.kind.as_str(), kind, "{name}");
        assert_eq!((run.imported, run.rejected), (imported, 0), "{name}: {run:?}");
        assert_eq!(run.skipped, skipped(skips), "{name}");
        total += imported;
    }
    let client = daemon.client().await;
    assert_eq!(client.status().await.unwrap().counts.listens, total);
    // What each format carries arrives: Maloja's album and its two credited artists, Koito's primary artist.
    let page = client.listens_list(None, None, Some(100), None).await.unwrap();
    let stars = page.listens.iter().find(|listen| listen.track == "All the Stars").expect("the Maloja listen");
    assert_eq!((stars.artist.as_str(), stars.album.as_deref()), ("Kendrick Lamar", Some("Black Panther: The Album")));
    assert_eq!(stars.featured, vec!["SZA".to_owned()]);
    let pressure = page.listens.iter().find(|listen| listen.track == "Under Pressure").expect("the Koito listen");
    assert_eq!(pressure.artist, "Queen");
    let teardrop = page.listens.iter().find(|listen| listen.track == "Teardrop").expect("the Last.fm JSON listen");
    assert_eq!((teardrop.listened_at, teardrop.album.as_deref()), (1_699_998_000, None));
    let hey = page.listens.iter().find(|listen| listen.track == "Hey").expect("the .scrobbler.log listen");
    assert_eq!((hey.listened_at, hey.duration_ms), (1_600_000_000, Some(211_000)));
    let paranoid = page.listens.iter().find(|listen| listen.track == "Paranoid Android").expect("the headerless CSV");
    assert_eq!(paranoid.listened_at, 1_612_106_040);
}

#[test]
fn musiquectl_import_tells_the_format_and_answers_the_wrong_kind_with_the_right_one() {
    let daemon = Daemon::start();
    let csv = daemon.dir.path().join("history.csv");
    std::fs::copy(Path::new(EXPORTS).join("lastfm-to-csv.csv"), &csv).unwrap();
    let csv = csv.display().to_string();
    let (code, _, stderr) = daemon.ctl(&["import", "spotify", &csv]);
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("this is a Last.fm CSV: `musiquectl import lastfm-csv {csv}`")), "{stderr}");
    assert!(!stderr.contains("not valid JSON"), "{stderr}");
    let (code, stdout, stderr) = daemon.ctl(&["import", &csv]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = daemon.ctl(&["--json", "imports"]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(runs[0]["kind"], "lastfm-csv", "{runs}");
    assert_eq!(runs[0]["imported"], 2, "{runs}");
}

/// An account-data record (`endTime` to the minute) of a play.
fn account_record(end_time: &str, ms_played: u64, artist: &str, track: &str) -> serde_json::Value {
    json!({"endTime": end_time, "artistName": artist, "trackName": track, "msPlayed": ms_played})
}

#[tokio::test]
async fn spotify_account_data_and_extended_history_are_one_source() {
    let daemon = Daemon::start();
    let dir = daemon.dir.path();
    // The issue's play: `"ts":"2024-05-23T06:49:10Z"` and `"endTime":"2024-05-23 06:49"`.
    let extended = json!([
        spotify_record("2024-05-23T06:49:10Z", 220_538, Some("John Summit"), Some("Go Back"), Some("Go Back")),
        spotify_record("2024-05-23T07:01:59Z", 180_000, Some("Röyksopp"), Some("Some Resolve"), Some("Profound")),
    ]);
    let account = json!([
        account_record("2024-05-23 06:49", 220_538, "John Summit", "Go Back"),
        account_record("2024-05-23 07:01", 180_000, "Röyksopp", "Some Resolve"),
        // A second play of the track, a few minutes later: its own listen.
        account_record("2024-05-23 07:05", 180_000, "Röyksopp", "Some Resolve"),
    ]);
    write_json(&dir.join("Streaming_History_Audio_2024.json"), &extended);
    write_json(&dir.join("StreamingHistory_music_0.json"), &account);
    let first = import(&daemon, ImportKind::Spotify, &dir.join("Streaming_History_Audio_2024.json")).await;
    assert_eq!(first.imported, 2, "{first:?}");
    let second = import(&daemon, ImportKind::Spotify, &dir.join("StreamingHistory_music_0.json")).await;
    assert_eq!((second.imported, second.duplicates), (1, 2), "{second:?}");
    // Again, both ways round: nothing changes.
    let again = import(&daemon, ImportKind::Spotify, &dir.join("StreamingHistory_music_0.json")).await;
    assert_eq!((again.imported, again.duplicates), (0, 3), "{again:?}");
    let again = import(&daemon, ImportKind::Spotify, &dir.join("Streaming_History_Audio_2024.json")).await;
    assert_eq!((again.imported, again.duplicates), (0, 2), "{again:?}");
    let client = daemon.client().await;
    let listens = client.listens_list(None, None, Some(10), None).await.unwrap().listens;
    assert_eq!(listens.len(), 3, "{listens:?}");
    // The play to the second is the one kept.
    let go_back = listens.iter().find(|listen| listen.track == "Go Back").unwrap();
    assert_eq!(go_back.listened_at, (1_716_446_950_000 - 220_538) / 1000);

    // Account data first, then the extended history: the same.
    let daemon = Daemon::start();
    let dir = daemon.dir.path();
    write_json(&dir.join("StreamingHistory_music_0.json"), &account);
    write_json(&dir.join("Streaming_History_Audio_2024.json"), &extended);
    let first = import(&daemon, ImportKind::Spotify, &dir.join("StreamingHistory_music_0.json")).await;
    assert_eq!(first.imported, 3, "{first:?}");
    let second = import(&daemon, ImportKind::Spotify, &dir.join("Streaming_History_Audio_2024.json")).await;
    assert_eq!((second.imported, second.duplicates), (0, 2), "{second:?}");
    let client = daemon.client().await;
    assert_eq!(client.status().await.unwrap().counts.listens, 3);
}

#[tokio::test]
async fn what_reports_carry_is_kept_and_a_merged_play_gains_it() {
    const OWN: &str = "7cc64b4e-8ebc-4b57-bbee-e2d5c2d4b39e";
    const MAPPED: &str = "0b3f5e4a-1c7e-4f7c-9d55-bf1a8f1b2c3d";
    const RELEASE: &str = "c6b3c4f0-9d3a-4b4e-8a7a-2f3e4d5c6b7a";
    let daemon = Daemon::start();
    // ListenBrainz's export: the player's own MBID, the mapper's (to fill what the player lacks), and an explicit null.
    let mut own = lb_listen(1_716_446_730, "John Summit", "Go Back", Some("Go Back"));
    own["track_metadata"]["additional_info"] = json!({
        "recording_mbid": OWN,
        "submission_client": "Web Scrobbler",
        "music_service": "spotify.com",
        "origin_url": "https://open.spotify.com/track/68R0zVUeMJ2C852Ov6d2Mh",
        "duration_ms": 220_538
    });
    own["track_metadata"]["mbid_mapping"] =
        json!({"recording_mbid": MAPPED, "release_mbid": RELEASE, "artist_mbids": []});
    let mut mapped = lb_listen(1_716_000_000, "Sigur Rós", "Hoppípolla", None);
    mapped["track_metadata"]["mbid_mapping"] = json!({"recording_mbid": MAPPED});
    let mut null = lb_listen(1_715_000_000, "Beyoncé", "Halo", None);
    null["track_metadata"]["mbid_mapping"] = json!(null);
    let lines = [own, mapped, null].iter().map(|listen| listen.to_string()).collect::<Vec<_>>().join("\n");
    let file = daemon.dir.path().join("listens.jsonl");
    std::fs::write(&file, lines).unwrap();
    let run = import(&daemon, ImportKind::Listenbrainz, &file).await;
    assert_eq!((run.imported, run.rejected), (3, 0), "{run:?}");

    // Spotify's report of the first play: the listen gains Spotify's play details, keeps ListenBrainz's.
    let mut spotify =
        spotify_record("2024-05-23T06:49:10Z", 220_538, Some("John Summit"), Some("Go Back"), Some("Go Back"));
    spotify["spotify_track_uri"] = json!("spotify:track:68R0zVUeMJ2C852Ov6d2Mh");
    spotify["reason_start"] = json!("clickrow");
    spotify["reason_end"] = json!("fwdbtn");
    spotify["skipped"] = json!(true);
    spotify["shuffle"] = json!(true);
    spotify["platform"] = json!("osx");
    let history = daemon.dir.path().join("Streaming_History_Audio_2024_0.json");
    write_json(&history, &json!([spotify]));
    let run = import(&daemon, ImportKind::Spotify, &history).await;
    assert_eq!((run.imported, run.duplicates), (0, 1), "{run:?}");

    let client = daemon.client().await;
    let listens = client.listens_list(None, None, None, None).await.unwrap().listens;
    assert_eq!(listens.len(), 3);
    let go_back = &listens[0];
    assert_eq!(go_back.sources, vec!["listenbrainz".to_owned(), "spotify".to_owned()]);
    let reported = go_back.reported.as_ref().expect("reported");
    assert_eq!(reported.recording_mbid.as_deref(), Some(OWN), "the player's own MBID wins over the mapper's");
    assert_eq!(reported.release_mbid.as_deref(), Some(RELEASE));
    assert_eq!(
        (reported.submission_client.as_deref(), reported.music_service.as_deref()),
        (Some("Web Scrobbler"), Some("spotify.com"))
    );
    assert_eq!(reported.origin_url.as_deref(), Some("https://open.spotify.com/track/68R0zVUeMJ2C852Ov6d2Mh"));
    assert_eq!(reported.spotify_track_uri.as_deref(), Some("spotify:track:68R0zVUeMJ2C852Ov6d2Mh"));
    assert_eq!((reported.reason_start.as_deref(), reported.reason_end.as_deref()), (Some("clickrow"), Some("fwdbtn")));
    assert_eq!(
        (reported.skipped, reported.shuffle, reported.platform.as_deref()),
        (Some(true), Some(true), Some("osx"))
    );
    assert_eq!(listens[1].reported.as_ref().and_then(|reported| reported.recording_mbid.as_deref()), Some(MAPPED));
    let halo = listens[2].reported.as_ref().expect("its client");
    assert_eq!((halo.recording_mbid.as_deref(), halo.submission_client.as_deref()), (None, Some("navidrome")));
}

/// Plays in the history of the acceptance test; `MUSIQUE_HISTORY_PLAYS=100000` runs it at full size.
fn history_plays() -> u64 {
    std::env::var("MUSIQUE_HISTORY_PLAYS").ok().and_then(|plays| plays.parse().ok()).unwrap_or(5_000)
}

#[tokio::test]
async fn one_history_from_five_exports_is_each_play_once_with_its_album() {
    let history = generate::history(history_plays(), 11);
    let daemon = Daemon::start();
    let paths = generate::write_history(&daemon.dir.path().join("exports"), &history).unwrap();
    let kinds = [
        ImportKind::LastfmCsv,
        ImportKind::LastfmCsv,
        ImportKind::Listenbrainz,
        ImportKind::Spotify,
        ImportKind::Spotify,
    ];
    let sources = [
        Sources::LASTFM_CSV,
        Sources::LASTFM_HEADERLESS,
        Sources::LISTENBRAINZ,
        Sources::SPOTIFY_ACCOUNT,
        Sources::SPOTIFY_EXTENDED,
    ];
    for ((kind, path), source) in kinds.into_iter().zip(&paths).zip(sources) {
        let run = import(&daemon, kind, path).await;
        let reports = history.iter().filter(|play| play.sources & source != 0).count() as u64;
        assert_eq!(run.state, ImportState::Completed, "{run:?}");
        assert_eq!((run.records, run.imported + run.duplicates, run.rejected), (reports, reports, 0), "{run:?}");
        assert!(run.skipped.is_empty() && run.file_errors.is_empty(), "{run:?}");
    }

    // Each play is one listen, at the time its first imported report gives, with its album.
    let minute = |seconds: i64| seconds - seconds.rem_euclid(60);
    let mut expected: Vec<(i64, String, String, String)> = history
        .iter()
        .map(|play| {
            let end = play.start_s + (play.duration_ms / 1000) as i64;
            let at = match play.sources.trailing_zeros() {
                1 => minute(play.start_s),
                3 => minute(end) - (play.duration_ms / 1000) as i64,
                _ => play.start_s,
            };
            let track = play.track.split(" (feat. ").next().unwrap().to_owned();
            (at, play.artist.clone(), track, play.album.clone())
        })
        .collect();
    expected.sort();
    let client = daemon.client().await;
    let mut stored = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.listens_list(None, None, Some(1000), cursor).await.unwrap();
        for listen in &page.listens {
            let album = listen.album.clone().unwrap_or_default();
            stored.push((listen.listened_at, listen.artist.clone(), listen.track.clone(), album));
        }
        match page.next_cursor {
            Some(next) if !page.listens.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    stored.sort();
    let missing: Vec<_> = expected.iter().filter(|play| stored.binary_search(play).is_err()).take(5).collect();
    let extra: Vec<_> = stored.iter().filter(|listen| expected.binary_search(listen).is_err()).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} listens for {} plays; missing {missing:?}; extra {extra:?}",
        stored.len(),
        expected.len()
    );
    assert_eq!(stored.len(), expected.len());
    assert_eq!(client.status().await.unwrap().counts.listens, history.len() as u64);
}
