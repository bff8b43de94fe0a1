//! Issue 11, item 6: the import lifecycle tells the truth. When an import ends,
//! its listens are searchable; a finished run is never shown as running; a file
//! rejected whole fails the run; a resumed run keeps its options or refuses;
//! `imports.cancel` stops a run for good.

use musique_api::{ImportKind, ImportOptions, ImportState, MusiqueApiClient};
use musique_tests::{Daemon, spotify_record, wait_import, write_json};
use serde_json::json;

fn plays(artist: &str, count: usize) -> serde_json::Value {
    let records: Vec<serde_json::Value> = (0..count)
        .map(|index| {
            let at = format!("2023-05-{:02}T{:02}:{:02}:00Z", 1 + index / 1440 % 28, index / 60 % 24, index % 60);
            spotify_record(&at, 200_000, Some(artist), Some(&format!("Song {index}")), Some("Album"))
        })
        .collect();
    json!(records)
}

#[tokio::test]
async fn a_finished_import_is_searchable_and_not_running() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let file = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(&file, &plays("Zyxwvut Ensemble", 500));
    let run = client.imports_start(ImportKind::Spotify, file.display().to_string(), None).await.unwrap();
    let run = wait_import(&client, run.id).await;
    assert_eq!((run.state, run.imported), (ImportState::Completed, 500), "{run:?}");
    // No wait for the index: the run ended once its listens were searchable.
    let hits = client.search("Zyxwvut".into(), None, None).await.unwrap().hits;
    assert_eq!(hits.first().map(|hit| hit.name.as_str()), Some("Zyxwvut Ensemble"), "{hits:?}");
    let status = client.status().await.unwrap();
    let imports = status.components.iter().find(|component| component.name == "imports").unwrap();
    assert_eq!(imports.state, "idle", "{imports:?}");
    // The same import again reads the file again (all duplicates), not the finished run.
    let again = client.imports_start(ImportKind::Spotify, file.display().to_string(), None).await.unwrap();
    assert_ne!(again.id, run.id);
    let again = wait_import(&client, again.id).await;
    assert_eq!((again.state, again.imported, again.duplicates), (ImportState::Completed, 0, 500));
}

#[tokio::test]
async fn a_file_rejected_whole_fails_the_run() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let file = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    std::fs::write(&file, br#"{"not": "an export"}"#).unwrap();
    let run = client.imports_start(ImportKind::Spotify, file.display().to_string(), None).await.unwrap();
    let run = wait_import(&client, run.id).await;
    assert_eq!(run.state, ImportState::Failed, "{run:?}");
    assert!(run.error.as_deref().is_some_and(|error| error.contains("not an export")), "{run:?}");
    let (code, out, _) = daemon.ctl(&["import", "spotify", &file.display().to_string()]);
    assert_eq!(code, 1, "{out}");
}

#[tokio::test]
async fn a_resumed_import_keeps_its_options_or_refuses_and_cancel_ends_it() {
    let mut daemon = Daemon::start();
    let file = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(&file, &plays("Interrupted Band", 200_000));
    let path = file.display().to_string();
    let client = daemon.client().await;
    let options = ImportOptions { min_play_ms: Some(30_000), include_incognito: None };
    let run = client.imports_start(ImportKind::Spotify, path.clone(), Some(options)).await.unwrap();
    // A shutdown mid-import leaves it interrupted (200,000 records take far longer than a stop).
    drop(client);
    daemon.stop();
    daemon.restart();
    let client = daemon.client().await;
    let interrupted = client.imports_status(run.id).await.unwrap();
    assert_eq!(interrupted.state, ImportState::Interrupted, "{interrupted:?}");

    // Other options are refused with what to do; the same (or none) resume it.
    let other = ImportOptions { min_play_ms: Some(60_000), include_incognito: None };
    let err = client.imports_start(ImportKind::Spotify, path.clone(), Some(other)).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("interrupted with min_play_ms 30000 (asked 60000)"), "{message}");
    assert!(message.contains(&format!("musiquectl imports cancel {}", run.id)), "{message}");
    assert_eq!(client.imports_status(run.id).await.unwrap().state, ImportState::Interrupted, "refused: unchanged");

    // Cancelled, it is never resumed: the same files start a new run.
    let cancelled = client.imports_cancel(run.id).await.unwrap();
    assert_eq!(cancelled.state, ImportState::Cancelled, "{cancelled:?}");
    let err = client.imports_cancel(run.id).await.unwrap_err();
    assert!(err.to_string().contains("has ended already"), "{err}");
    let fresh = client.imports_start(ImportKind::Spotify, path.clone(), None).await.unwrap();
    assert_ne!(fresh.id, run.id, "a cancelled run is not resumed");

    // A running import stops at once when cancelled, and keeps what it stored.
    let stopped = client.imports_cancel(fresh.id).await;
    let ended = wait_import(&client, fresh.id).await;
    match stopped {
        Ok(stopped) => assert_eq!((stopped.state, ended.state), (ImportState::Cancelled, ImportState::Cancelled)),
        // It can only have ended first by completing.
        Err(err) => assert_eq!(ended.state, ImportState::Completed, "{err}"),
    }
    assert_eq!(client.status().await.unwrap().counts.listens, ended.imported + cancelled.imported);
}

// See: issue 11, item 6 — Ctrl-C in `musiquectl import` left users unsure whether the import went
// on; `imports follow` re-attaches, `imports cancel` stops it, reports say how long it took.
#[tokio::test]
async fn ctrl_c_leaves_the_import_running_and_follow_and_cancel_find_it() {
    let daemon = Daemon::start();
    let file = daemon.dir.path().join("Streaming_History_Audio_2023_0.json");
    write_json(&file, &plays("Followed Band", 200_000));
    let path = file.display().to_string();
    let ctl = std::process::Command::new(musique_tests::bin_dir().join("musiquectl"))
        .args(["import", "spotify", &path])
        .env("MUSIQUE_SOCKET", daemon.socket())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = daemon.client().await;
    // Once the run exists, musiquectl is following it.
    let started = std::time::Instant::now();
    let run = loop {
        if let Some(run) = client.imports_list(None).await.unwrap().into_iter().next() {
            break run;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the import never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(ctl.id() as i32, libc::SIGINT) };
    let output = ctl.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let id = run.id;
    assert!(stderr.contains(&format!("it goes on in musiqued: `musiquectl imports follow {id}`")), "{stderr}");
    assert!(stderr.contains(&format!("`musiquectl imports cancel {id}` stops it")), "{stderr}");
    let state = client.imports_status(id).await.unwrap().state;
    assert!(matches!(state, ImportState::Running | ImportState::Completed), "{state:?}: the import went on");

    // Re-attached, it is followed to its end, and the report says how long it took.
    let (code, out, err) = daemon.ctl(&["imports", "follow", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("import {id} (spotify) completed")), "{out}");
    assert!(out.contains("elapsed:"), "{out}");

    // A finished run cannot be cancelled; an unknown one is named.
    let (code, _, err) = daemon.ctl(&["imports", "cancel", &id.to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("has ended already"), "{err}");
    let (code, _, err) = daemon.ctl(&["imports", "cancel", "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no import run 999"), "{err}");
}
