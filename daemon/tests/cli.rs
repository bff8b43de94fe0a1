//! The `musiqued` command line, without starting a daemon.

use std::process::Command;

fn musiqued(args: &[&str]) -> (i32, String, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_musiqued")).args(args).env_remove("XDG_CONFIG_HOME").output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn prints_the_default_config() {
    let (code, out, _) = musiqued(&["--print-default-config"]);
    assert_eq!(code, 0);
    assert_eq!(out, musique_config::DEFAULT_CONFIG_TOML);
}

#[test]
fn invalid_config_names_the_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[import]\nmin_play_ms = \"thirty\"\n").unwrap();
    let (code, _, err) = musiqued(&["--config", config.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("min_play_ms") && err.contains("config.toml"), "{err}");
    std::fs::write(&config, "[imports]\nmin_play_ms = 1\n").unwrap();
    let (code, _, err) = musiqued(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("imports"), "{err}");
    let (code, _, err) = musiqued(&["--config", dir.path().join("missing.toml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    assert_eq!(musiqued(&["--frobnicate"]).0, 2);
}
