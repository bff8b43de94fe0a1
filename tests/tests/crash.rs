//! Crashes: `kill -9` during an import, and between a store commit and an index commit.

use musique_api::{ImportKind, ImportState, MusiqueApiClient};
use musique_tests::{Daemon, generate, wait_import, wait_indexed};

#[tokio::test]
async fn kill_during_import_then_resume_gives_exact_counts() {
    let mut daemon = Daemon::start();
    let export = generate::spotify_extended(&daemon.dir.path().join("export"), 150_000, 3).unwrap();
    let path = export.dir.display().to_string();

    let client = daemon.client().await;
    let run = client.imports_start(ImportKind::Spotify, path.clone(), None).await.unwrap();
    // Wait for the first committed batch, then crash.
    loop {
        let status = client.imports_status(run.id).await.unwrap();
        assert_eq!(status.state, ImportState::Running, "the import ended before the crash: make the export larger");
        if status.imported > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    drop(client);
    daemon.kill9();

    daemon.restart();
    let client = daemon.client().await;
    let interrupted = client.imports_status(run.id).await.unwrap();
    assert_eq!(interrupted.state, ImportState::Interrupted);
    assert!(interrupted.imported > 0 && interrupted.imported < export.listens, "{interrupted:?}");
    let stored = client.status().await.unwrap().counts.listens;
    assert_eq!(stored, interrupted.imported, "what the run reports is exactly what is stored");

    let resumed = client.imports_start(ImportKind::Spotify, path.clone(), None).await.unwrap();
    assert_eq!((resumed.id, resumed.resumed), (run.id, 1), "the same run resumes");
    let finished = wait_import(&client, run.id).await;
    assert_eq!(finished.state, ImportState::Completed, "{finished:?}");

    // An uninterrupted import of the same files on a fresh daemon gives the same report.
    let fresh = Daemon::start();
    let fresh_client = fresh.client().await;
    let clean = fresh_client.imports_start(ImportKind::Spotify, path, None).await.unwrap();
    let clean = wait_import(&fresh_client, clean.id).await;
    assert_eq!(
        (finished.records, finished.imported, finished.duplicates, &finished.skipped, finished.rejected),
        (clean.records, clean.imported, clean.duplicates, &clean.skipped, clean.rejected)
    );
    assert_eq!(finished.imported, export.listens);
    assert_eq!(client.status().await.unwrap().counts, fresh_client.status().await.unwrap().counts);
}

#[tokio::test]
async fn index_catches_up_after_a_kill_between_store_and_index_commits() {
    // The indexer never commits on its own in the first life of this daemon.
    let mut daemon = Daemon::start_with_config("[index]\ncommit_interval_ms = 3600000\n");
    let client = daemon.client().await;
    let listen = musique_api::NewListen {
        artist: "Khruangbin".into(),
        track: "Maria También".into(),
        album: Some("Con Todo El Mundo".into()),
        listened_at: musique_api::TimeArg::Unix(1_700_000_000),
        duration_ms: None,
        source: None,
    };
    client.listens_add(Some(listen), None).await.unwrap();
    let status = client.status().await.unwrap();
    assert!(status.index_lag > 0, "the change is stored but not indexed: {status:?}");
    assert!(client.search("khruangbin".into(), None, None).await.unwrap().hits.is_empty());
    drop(client);
    daemon.kill9();

    daemon.set_config("");
    daemon.restart();
    let client = daemon.client().await;
    wait_indexed(&client).await;
    let hits = client.search("khruangbin maria tambien".into(), None, None).await.unwrap().hits;
    assert_eq!(hits[0].name, "Maria También", "{hits:?}");
}

#[tokio::test]
async fn corrupt_or_missing_index_is_rebuilt() {
    let mut daemon = Daemon::start();
    let client = daemon.client().await;
    let listen = |artist: &str, at: i64| musique_api::NewListen {
        artist: artist.into(),
        track: "Song".into(),
        album: None,
        listened_at: musique_api::TimeArg::Unix(at),
        duration_ms: None,
        source: None,
    };
    client
        .listens_add(None, Some(vec![listen("Portishead", 1_700_000_000), listen("Massive Attack", 1_700_000_300)]))
        .await
        .unwrap();
    wait_indexed(&client).await;
    drop(client);
    daemon.stop();

    let index = daemon.data_dir().join("index");
    std::fs::write(index.join("meta.json"), b"{ garbage").unwrap();
    daemon.restart();
    let client = daemon.client().await;
    assert_eq!(client.search("portishead".into(), None, None).await.unwrap().hits[0].name, "Portishead");
    drop(client);
    daemon.stop();

    std::fs::remove_dir_all(&index).unwrap();
    daemon.restart();
    let client = daemon.client().await;
    assert_eq!(client.search("massive atack".into(), None, None).await.unwrap().hits[0].name, "Massive Attack");
    let report = client.index_rebuild().await.unwrap();
    assert_eq!(report.documents, 4, "two artists and two tracks");
}
