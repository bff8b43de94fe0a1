//! Starting and stopping: locks, the socket's permissions, schema versions.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use musique_api::MusiqueApiClient;
use musique_tests::Daemon;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn second_daemon_on_the_same_data_dir_refuses_to_start() {
    let daemon = Daemon::start();
    let other_socket = daemon.dir.path().join("other.sock");
    let output = daemon.command_with(&daemon.data_dir(), &other_socket).stderr(Stdio::piped()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is in use by another musiqued"), "{stderr}");

    // Another data dir on the same socket: refused too, and the first keeps its socket.
    let output = daemon
        .command_with(&daemon.dir.path().join("other-data"), &daemon.socket())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already listening"), "{stderr}");
    assert_eq!(daemon.client().await.status().await.unwrap().counts.listens, 0, "the first daemon still serves");
}

#[tokio::test]
async fn socket_and_data_are_owner_only() {
    let daemon = Daemon::start();
    assert_eq!(mode(&daemon.socket()), 0o600);
    assert_eq!(mode(&daemon.data_dir()), 0o700);
    // A socket in a directory the daemon creates gets a 0700 directory.
    let nested = daemon.dir.path().join("run").join("musique");
    let socket = nested.join("musiqued.sock");
    let mut second = daemon.command_with(&daemon.dir.path().join("data2"), &socket).spawn().unwrap();
    let started = std::time::Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "second daemon did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&socket), 0o600);
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test]
async fn clean_stop_removes_the_socket_and_a_stale_one_is_replaced() {
    let mut daemon = Daemon::start();
    daemon.stop();
    assert!(!daemon.socket().exists());
    daemon.restart();
    daemon.kill9();
    assert!(daemon.socket().exists(), "a crash leaves the socket behind");
    daemon.restart();
    assert_eq!(daemon.client().await.hello().await.unwrap().api_version, musique_api::CURRENT_API_VERSION);
}

#[tokio::test]
async fn a_store_from_a_newer_musiqued_is_refused() {
    let mut daemon = Daemon::start();
    daemon.stop();
    let store = daemon.data_dir().join("musique.redb");
    {
        let db = redb::Database::create(&store).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta")).unwrap();
            meta.insert("schema_version", 99u32.to_le_bytes().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let output = daemon.command().stderr(Stdio::piped()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schema version 99") && stderr.contains("downgrades are not supported"), "{stderr}");
}
