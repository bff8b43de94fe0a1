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
fn insights_usage_errors_exit_2_before_connecting() {
    let none = "/nonexistent.sock";
    let usage = |args: &[&str]| {
        let (code, _, err) = musiquectl(args, none);
        assert_eq!(code, 2, "{args:?}: {err}");
        err
    };
    usage(&["sessions", "--year", "2024", "--from", "2024-01-01"]);
    usage(&["climbers", "--month", "2024-05"]);
    usage(&["album", "Radiohead"]);
    usage(&["artist", "Radiohead", "--id", "3"]);
    usage(&["artist"]);
    usage(&["on-this-day", "--years", "1,two"]);
    let err = usage(&["wrapped", "--from", "2024-02-01", "--to", "2024-01-01"]);
    assert!(err.contains("not before"), "{err}");
    // Well formed: they get as far as the missing daemon.
    for args in [
        &["artist", "--id", "3"][..],
        &["track", "Radiohead", "Creep", "--year", "2024"],
        &["on-this-day", "--years", "1,5"],
    ] {
        let (code, _, err) = musiquectl(args, none);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("not running"), "{args:?}: {err}");
    }
}

#[test]
fn help_lists_the_commands() {
    let (code, out, _) = musiquectl(&["--help"], "/nonexistent.sock");
    assert_eq!(code, 0);
    for command in [
        "status",
        "import",
        "listens",
        "search",
        "top",
        "reindex",
        "events",
        "sessions",
        "streaks",
        "discoveries",
        "climbers",
        "on-this-day",
        "artist",
        "album",
        "track",
        "wrapped",
        "report",
    ] {
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
