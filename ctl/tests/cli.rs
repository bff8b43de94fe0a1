//! The `musiquectl` command line, without a daemon.

use std::process::Command;

fn musiquectl(args: &[&str], socket: &str) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_musiquectl"))
        .args(args)
        .env("MUSIQUE_SOCKET", socket)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(musiquectl(&[], "/nonexistent.sock").0, 2);
    assert_eq!(musiquectl(&["import", "itunes", "/x"], "/nonexistent.sock").0, 2);
    assert_eq!(musiquectl(&["top", "artists", "--period", "week", "--from", "2024-01-01"], "/nonexistent.sock").0, 2);
}

#[test]
fn help_lists_the_commands() {
    let (code, out, _) = musiquectl(&["--help"], "/nonexistent.sock");
    assert_eq!(code, 0);
    for command in ["status", "import", "listens", "search", "top", "reindex", "events"] {
        assert!(out.contains(command), "{command} missing from:\n{out}");
    }
}

#[test]
fn no_daemon_is_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("musiquectl-test-{}", std::process::id()));
    let socket = dir.join("none.sock");
    let (code, out, err) = musiquectl(&["status"], socket.to_str().unwrap());
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim().lines().count(), 1);
    assert!(err.contains("musiqued is not running") && err.contains(socket.to_str().unwrap()), "{err}");
}
