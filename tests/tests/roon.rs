//! Roon end to end: a real musiqued paired with the fake Roon Core
//! (`tests/fake-roon`), driven through musiquectl and the RPC.
//!
//! The fake has no clock of its own: a test moves each zone on with `tick`, one
//! second at a time, and waits on state (the fake's, or the daemon's answers),
//! never for a while.

use std::time::{Duration, Instant};

use musique_api::{Listen, MusiqueApiClient};
use musique_fake_roon::{Approval, FakeCore, FakeTrack, FakeZone, Options};
use musique_tests::{Daemon, all_listens};

/// The longest a test waits for a state.
const WAIT: Duration = Duration::from_secs(30);

/// The config that points musiqued at `core`, with extra lines.
fn config(core: &FakeCore, extra: &str) -> String {
    format!("[adapters.roon]\nhost = \"127.0.0.1\"\nport = {}\n{extra}\n", core.port())
}

/// Runs musiquectl and returns (exit code, stdout, stderr).
fn ctl(daemon: &Daemon, args: &[&str]) -> (i32, String, String) {
    daemon.ctl(args)
}

/// Waits until `roon.status` says `state`.
async fn wait_status(daemon: &Daemon, state: &str) -> musique_api::PlayerStatus {
    let client = daemon.client().await;
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < WAIT {
        match client.roon_status().await {
            Ok(status) if serde_json::to_value(status.state).unwrap() == state => return status,
            Ok(status) => last = Some(format!("{status:?}")),
            Err(err) => last = Some(err.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("roon.status never said {state}; last: {last:?}");
}

/// Waits until the daemon's listens satisfy `done`; returns them.
async fn wait_listens(daemon: &Daemon, what: &str, done: impl Fn(&[Listen]) -> bool) -> Vec<Listen> {
    let started = Instant::now();
    loop {
        let listens = all_listens(daemon).await;
        if done(&listens) {
            return listens;
        }
        assert!(started.elapsed() < WAIT, "{what}; listens: {listens:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the daemon's `roon.zones` shows `zone` at `position_s` (so every report
/// before has reached the adapter).
async fn wait_position(daemon: &Daemon, zone: &str, position_s: u64) {
    let client = daemon.client().await;
    let started = Instant::now();
    loop {
        let zones = client.roon_zones().await.unwrap_or_default();
        let at = zones.iter().find(|known| known.zone_id == zone).and_then(|known| known.position_ms);
        if at.is_some_and(|at| at / 1000 == position_s) {
            return;
        }
        assert!(started.elapsed() < WAIT, "{zone} never reached {position_s} s (at {at:?})");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the daemon's `roon.zones` shows `zone` as `done` wants it.
async fn wait_zone(daemon: &Daemon, zone: &str, done: impl Fn(&musique_api::Zone) -> bool) {
    let client = daemon.client().await;
    let started = Instant::now();
    loop {
        let zones = client.roon_zones().await.unwrap_or_default();
        let found = zones.iter().find(|known| known.zone_id == zone);
        if found.is_some_and(&done) {
            return;
        }
        assert!(started.elapsed() < WAIT, "{zone} never became as expected: {found:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the daemon's `roon.zones` shows `zone` in state `state`.
async fn wait_zone_state(daemon: &Daemon, zone: &str, state: &str) {
    wait_zone(daemon, zone, |known| serde_json::to_value(known.state).unwrap() == state).await;
}

/// Plays `seconds` of a zone, one second a report, each seen by the adapter before the next.
async fn play_for(core: &FakeCore, daemon: &Daemon, zone: &str, seconds: u64) {
    for _ in 0..seconds {
        core.tick(zone, 1.0);
        let position = core.zone(zone).map(|zone| zone.seek as u64).unwrap_or(0);
        if core.zone(zone).is_some_and(|zone| zone.now_playing.is_some() && zone.state == "playing") {
            wait_position(daemon, zone, position).await;
        }
    }
}

/// Plays a track that counts on `zone` and waits for its listen: every report sent
/// before it has then been handled (the daemon handles a player's reports in order).
async fn sentinel(core: &FakeCore, daemon: &Daemon, zone: &str, title: &str) -> Vec<Listen> {
    core.play(zone, FakeTrack::new(title, "Sentinel", "Ends", 60.0));
    play_for(core, daemon, zone, 31).await;
    wait_listens(daemon, "the sentinel is recorded", |listens| listens.iter().any(|listen| listen.track == title)).await
}

fn titles(listens: &[Listen]) -> Vec<String> {
    let mut titles: Vec<String> = listens.iter().map(|listen| listen.track.clone()).collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn pairing_waits_for_approval_and_the_token_pairs_again_after_a_restart() {
    let core = FakeCore::with(Options { approval: Approval::Hold, ..Options::default() });
    let mut daemon = Daemon::start_with_config(&config(&core, ""));
    let status = wait_status(&daemon, "waiting_approval").await;
    assert!(status.message.contains("Settings → Extensions"), "{status:?}");
    let (code, out, _) = ctl(&daemon, &["roon", "status"]);
    assert_eq!(code, 0);
    assert!(out.contains("waiting for approval"), "{out}");
    core.approve();
    let status = wait_status(&daemon, "connected").await;
    assert_eq!(status.core.as_ref().map(|core| core.id.as_str()), Some("fake-core-0000-0000-000000000001"));
    assert_eq!(status.zones, 2);
    let (code, out, _) = ctl(&daemon, &["roon", "zones"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Kitchen") && out.contains("Living Room"), "{out}");
    // After a restart the stored token registers at once: no approval is held.
    daemon.stop();
    daemon.restart();
    wait_status(&daemon, "connected").await;
    assert_eq!(core.state(|state| state.held), 0);
    assert!(core.state(|state| state.registrations) >= 2);
}

#[tokio::test]
async fn a_core_that_never_approves_leaves_the_daemon_serving() {
    let core = FakeCore::with(Options { approval: Approval::Never, ..Options::default() });
    let daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "waiting_approval").await;
    let (code, _, err) = ctl(&daemon, &["roon", "pause", "--zone", "Kitchen"]);
    assert_ne!(code, 0);
    assert!(err.contains("approval") || err.contains("not connected"), "{err}");
    let (code, out, _) = ctl(&daemon, &["status"]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn a_listening_session_becomes_exactly_the_expected_listens() {
    let core = FakeCore::start();
    let mut daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "connected").await;
    let (kitchen, living) = ("zone-kitchen", "zone-living");

    // Played through: a listen.
    core.play(kitchen, FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    play_for(&core, &daemon, kitchen, 100).await;
    // Skipped at 10 %: none.
    core.play(kitchen, FakeTrack::new("Harvest", "Neil Young", "Harvest", 191.0));
    play_for(&core, &daemon, kitchen, 19).await;
    // Paused half-way, then played on: one.
    core.play(kitchen, FakeTrack::new("Tell Me Why", "Neil Young", "After the Gold Rush", 175.0));
    play_for(&core, &daemon, kitchen, 50).await;
    core.set_state(kitchen, "paused");
    core.set_state(kitchen, "playing");
    play_for(&core, &daemon, kitchen, 40).await;
    // Sought forward from 20 s to 250 s, then 20 s more: 40 s played of 341, none.
    core.play(kitchen, FakeTrack::new("Southern Man", "Neil Young", "After the Gold Rush", 341.0));
    play_for(&core, &daemon, kitchen, 20).await;
    core.update_zone(kitchen, |zone| zone.seek = 250.0);
    play_for(&core, &daemon, kitchen, 20).await;
    // Repeated on the other zone: two.
    for _ in 0..2 {
        core.play(
            living,
            FakeTrack::new("Wildlife Analysis", "Boards of Canada", "Music Has the Right to Children", 77.0),
        );
        play_for(&core, &daemon, living, 76).await;
    }
    // A radio song: recorded, flagged, left out of charts.
    core.play(living, FakeTrack::radio("Brakhage", "Stereolab", "Radio Paradise"));
    play_for(&core, &daemon, living, 65).await;
    // Grouped: one zone, one listen.
    core.set_state(living, "stopped");
    core.group(&[kitchen, living]);
    core.play(kitchen, FakeTrack::new("Roygbiv", "Boards of Canada", "Music Has the Right to Children", 151.0));
    play_for(&core, &daemon, kitchen, 80).await;
    // Across a restart of the daemon: half before, half after; one listen.
    core.play(kitchen, FakeTrack::new("Miss Modular", "Stereolab", "Dots and Loops", 271.0));
    play_for(&core, &daemon, kitchen, 70).await;
    daemon.kill9();
    daemon.restart();
    wait_status(&daemon, "connected").await;
    play_for(&core, &daemon, kitchen, 80).await;
    play_for(&core, &daemon, kitchen, 100).await;

    let listens = sentinel(&core, &daemon, kitchen, "Sentinel One").await;
    assert_eq!(
        titles(&listens),
        [
            "Brakhage",
            "Heart of Gold",
            "Miss Modular",
            "Roygbiv",
            "Sentinel One",
            "Tell Me Why",
            "Wildlife Analysis",
            "Wildlife Analysis"
        ],
        "{listens:#?}"
    );
    for listen in &listens {
        assert_eq!(listen.sources, ["roon"], "{listen:?}");
        let reported = listen.reported.as_ref().expect("reported");
        assert_eq!(reported.media_player.as_deref(), Some("Roon"));
        assert!(reported.platform.is_some(), "{listen:?}");
    }
    let radio = listens.iter().find(|listen| listen.track == "Brakhage").unwrap();
    assert_eq!(radio.reported.as_ref().unwrap().radio.as_deref(), Some("Radio Paradise"));
    assert_eq!(radio.reported.as_ref().unwrap().platform.as_deref(), Some("Living Room"));
    // The radio play is not ranked.
    let client = daemon.client().await;
    let top = client
        .stats_top(musique_api::EntityKind::Artist, None, None, None, Some(10), None, None, None, None, None, None)
        .await
        .unwrap();
    let stereolab = top.entries.iter().find(|entry| entry.name == "Stereolab").map(|entry| entry.plays);
    assert_eq!(stereolab, Some(1), "{top:?}");
    // A play's start is when it began playing.
    let heart = listens.iter().find(|listen| listen.track == "Heart of Gold").unwrap();
    assert_eq!(heart.duration_ms, Some(187_000));
}

#[tokio::test]
async fn every_control_and_browse_action_reaches_the_core() {
    let core = FakeCore::start();
    let daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "connected").await;
    core.play("zone-kitchen", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    wait_zone_state(&daemon, "zone-kitchen", "playing").await;
    let kitchen = |check: &dyn Fn(&FakeZone) -> bool| {
        core.wait_until(WAIT, |state| state.zones.iter().any(|zone| zone.zone_id == "zone-kitchen" && check(zone)))
    };
    let run = |args: &[&str]| {
        let (code, out, err) = ctl(&daemon, args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    };
    run(&["roon", "pause", "--zone", "kitchen"]);
    assert!(kitchen(&|zone| zone.state == "paused"));
    run(&["roon", "playpause", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.state == "playing"));
    run(&["roon", "seek", "90", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.seek as u64 == 90));
    run(&["roon", "seek", "-10", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.seek as u64 == 80));
    run(&["roon", "volume", "25", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.outputs[0].volume == Some(25.0)));
    run(&["roon", "volume", "+5", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.outputs[0].volume == Some(30.0)));
    run(&["roon", "volume", "mute", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.outputs[0].muted));
    run(&["roon", "volume", "unmute", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| !zone.outputs[0].muted));
    run(&["roon", "shuffle", "on", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.shuffle));
    run(&["roon", "repeat", "loop_one", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.repeat == "loop_one"));
    run(&["roon", "stop", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.state == "stopped"));
    wait_zone_state(&daemon, "zone-kitchen", "stopped").await;
    run(&["roon", "play", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.state == "playing"));
    core.update_zone("zone-kitchen", |zone| {
        zone.queue = vec![FakeTrack::new("Harvest", "Neil Young", "Harvest", 191.0)]
    });
    wait_zone(&daemon, "zone-kitchen", |zone| zone.allowed.next).await;
    run(&["roon", "next", "--zone", "Kitchen"]);
    assert!(kitchen(&|zone| zone.now_playing.as_ref().is_some_and(|track| track.title == "Harvest")));
    wait_zone(&daemon, "zone-kitchen", |zone| zone.track.as_ref().is_some_and(|track| track.title == "Harvest")).await;
    run(&["roon", "prev", "--zone", "Kitchen"]);
    let controls: Vec<String> = core
        .requests_named("com.roonlabs.transport:2/control")
        .iter()
        .filter_map(|request| request.body.as_ref()?.get("control")?.as_str().map(str::to_owned))
        .collect();
    for control in ["pause", "playpause", "stop", "play", "next", "previous"] {
        assert!(controls.iter().any(|sent| sent == control), "{control} not in {controls:?}");
    }

    // Errors say what is wrong.
    let (code, _, err) = ctl(&daemon, &["roon", "pause", "--zone", "Garage"]);
    assert_ne!(code, 0);
    assert!(err.contains("Garage") && err.contains("Kitchen"), "{err}");
    core.play("zone-living", FakeTrack::radio("Song", "Someone", "FIP"));
    wait_zone_state(&daemon, "zone-living", "playing").await;
    let (code, _, err) = ctl(&daemon, &["roon", "next", "--zone", "Living Room"]);
    assert_ne!(code, 0);
    assert!(err.contains("next"), "{err}");

    // Browse to play.
    run(&["roon", "album", "Neil Young", "Harvest", "--zone", "Kitchen"]);
    run(&["roon", "artist", "Stereolab", "--zone", "Kitchen"]);
    run(&["roon", "playlist", "morning coffee", "--zone", "Kitchen"]);
    run(&["roon", "radio", "Radio Paradise", "--zone", "Living Room"]);
    let out = run(&[
        "roon",
        "tracks",
        "Neil Young - Southern Man",
        "Stereolab - Brakhage",
        "Nobody - Nothing",
        "--zone",
        "Kitchen",
    ]);
    assert!(out.contains("Nobody"), "{out}");
    let played = core.played();
    let has = |action: &str, title: &str| played.iter().any(|played| played.action == action && played.title == title);
    assert!(has("Play Now", "Harvest"), "{played:?}");
    assert!(has("Start Radio", "Stereolab"), "{played:?}");
    assert!(has("Play Now", "Morning Coffee"), "{played:?}");
    assert!(has("Station", "Radio Paradise"), "{played:?}");
    assert!(has("Play Now", "Southern Man") && has("Queue", "Brakhage"), "{played:?}");
    // Two albums match "Live": the choices come back, and --choice plays one.
    let (code, out, _) = ctl(&daemon, &["roon", "album", "Neil Young", "Live", "--zone", "Kitchen", "--json"]);
    let outcome: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    if code == 0 && outcome["choices"].as_array().is_some_and(|choices| choices.len() >= 2) {
        run(&["roon", "album", "Neil Young", "Live", "--zone", "Kitchen", "--choice", "0"]);
        assert!(core.played().len() > played.len());
    } else {
        panic!("an ambiguous album gives choices: {code} {out}");
    }
    let (code, _, err) = ctl(&daemon, &["roon", "album", "Neil Young", "Zuma", "--zone", "Kitchen"]);
    assert_ne!(code, 0);
    assert!(err.contains("Zuma"), "{err}");
}

#[tokio::test]
async fn a_vanishing_core_and_garbage_frames_leave_the_daemon_serving() {
    let core = FakeCore::start();
    let daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "connected").await;
    let accepted = core.state(|state| state.connections_accepted);
    // Garbage, an empty frame, an oversized one: the adapter reconnects.
    core.send_raw(b"MOO/1 NONSENSE\n\n{".to_vec());
    core.send_raw(Vec::new());
    core.send_raw(vec![b'x'; 9 * 1024 * 1024]);
    assert!(core.wait_until(WAIT, |state| state.connections_accepted > accepted && state.subscriptions >= 1));
    wait_status(&daemon, "connected").await;
    // The Core goes away: the daemon says so and keeps serving; it comes back on the same port.
    core.restart(true);
    assert!(core.wait_until(WAIT, |state| state.subscriptions >= 1));
    wait_status(&daemon, "connected").await;
    core.drop_connections();
    let (code, out, _) = ctl(&daemon, &["status"]);
    assert_eq!(code, 0, "{out}");
    wait_status(&daemon, "connected").await;
    let plugins = daemon.client().await.plugins_list().await.unwrap();
    let roon = plugins.iter().find(|plugin| plugin.name == "roon").unwrap();
    assert_eq!(roon.state, musique_api::PluginState::Running, "{roon:?}");
}

#[tokio::test]
async fn the_drop_in_plugin_tracks_the_same_way() {
    let core = FakeCore::start();
    let daemon = Daemon::start_with_config(&config(&core, ""));
    let plugins_dir = daemon.data_dir().join("plugins");
    let file = format!("{}musique_roon_plugin{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let bytes = std::fs::read(musique_tests::bin_dir().join("deps").join(&file)).expect("run `cargo test --workspace`");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    std::fs::write(plugins_dir.join(".roon.partial"), bytes).unwrap();
    std::fs::rename(plugins_dir.join(".roon.partial"), plugins_dir.join("libroon.so")).unwrap();
    let client = daemon.client().await;
    let started = Instant::now();
    loop {
        let plugins = client.plugins_list().await.unwrap();
        if plugins.iter().any(|plugin| {
            plugin.name == "roon"
                && plugin.file.as_deref() == Some("libroon.so")
                && plugin.state == musique_api::PluginState::Running
        }) {
            break;
        }
        assert!(started.elapsed() < WAIT, "the drop-in Roon plugin never ran: {plugins:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_status(&daemon, "connected").await;
    // The built-in instance stepped aside: one extension talks to the Core.
    let plugins = client.plugins_list().await.unwrap();
    let builtin = plugins.iter().find(|plugin| plugin.name == "roon" && plugin.file.is_none()).unwrap();
    assert_eq!(builtin.state, musique_api::PluginState::Disabled, "{builtin:?}");
    assert_eq!(builtin.last_error.as_deref(), Some("replaced by libroon.so"));
    assert!(
        core.wait_until(WAIT, |state| state.connections_open == 1),
        "{:?}",
        core.state(|state| state.connections_open)
    );
    core.play("zone-kitchen", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    play_for(&core, &daemon, "zone-kitchen", 95).await;
    let listens = wait_listens(&daemon, "the drop-in's play is recorded", |listens| listens.len() == 1).await;
    assert_eq!(listens[0].track, "Heart of Gold");
    // Without the file, the built-in adapter runs again.
    std::fs::remove_file(plugins_dir.join("libroon.so")).unwrap();
    let started = Instant::now();
    loop {
        let plugins = client.plugins_list().await.unwrap();
        let running = plugins.iter().filter(|plugin| plugin.name == "roon").collect::<Vec<_>>();
        if let [only] = running.as_slice()
            && only.file.is_none()
            && only.state == musique_api::PluginState::Running
        {
            break;
        }
        assert!(started.elapsed() < WAIT, "the built-in Roon adapter did not come back: {plugins:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_status(&daemon, "connected").await;
}

#[tokio::test]
async fn now_follow_prints_changes_as_they_happen() {
    let core = FakeCore::start();
    let daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "connected").await;
    let mut follow = std::process::Command::new(musique_tests::bin("musiquectl"))
        .args(["--socket", daemon.socket().to_str().unwrap(), "roon", "now", "--follow", "--zone", "Kitchen"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It says on stderr once it follows.
    let mut stderr = std::io::BufReader::new(follow.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("following"), "{line}");
    core.play("zone-kitchen", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    let mut stdout = std::io::BufReader::new(follow.stdout.take().unwrap());
    let started = Instant::now();
    let mut seen = String::new();
    while !seen.contains("Heart of Gold") {
        assert!(started.elapsed() < WAIT, "{seen}");
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("Kitchen: playing Neil Young – Heart of Gold"), "{seen}");
    // SAFETY: kill only sends SIGINT to the child we started.
    unsafe { libc::kill(follow.id() as i32, libc::SIGINT) };
    let status = follow.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_tracker_stops_and_starts_and_stays_as_left_across_restarts() {
    let core = FakeCore::start();
    let mut daemon = Daemon::start_with_config(&config(&core, ""));
    wait_status(&daemon, "connected").await;
    let (_, out, _) = ctl(&daemon, &["tracker", "status", "roon"]);
    assert!(out.contains("roon: running"), "{out}");
    let (code, out, err) = ctl(&daemon, &["tracker", "stop", "roon"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("roon: stopped"), "{out}");
    // Stopped, it still follows the zones but records nothing, across a restart too.
    daemon.stop();
    daemon.restart();
    wait_status(&daemon, "connected").await;
    let (_, out, _) = ctl(&daemon, &["tracker", "status", "roon"]);
    assert!(out.contains("roon: stopped"), "{out}");
    core.play("zone-kitchen", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    play_for(&core, &daemon, "zone-kitchen", 100).await;
    let (code, _, _) = ctl(&daemon, &["tracker", "start", "roon"]);
    assert_eq!(code, 0);
    let listens = sentinel(&core, &daemon, "zone-kitchen", "Sentinel Two").await;
    assert_eq!(titles(&listens), ["Sentinel Two"]);
    let (_, out, _) = ctl(&daemon, &["tracker", "status", "roon"]);
    assert!(out.contains("roon: running") && out.contains("1 listens recorded"), "{out}");
}

#[tokio::test]
async fn only_the_zones_listed_are_tracked() {
    let core = FakeCore::start();
    let daemon = Daemon::start_with_config(&config(&core, "zones = [\"kitchen\"]\nmin_play = \"20s\""));
    wait_status(&daemon, "connected").await;
    core.play("zone-living", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    play_for(&core, &daemon, "zone-living", 100).await;
    // 21 s of a 40 s track: half of it, and the minimum set here.
    core.play("zone-kitchen", FakeTrack::new("Short", "Neil Young", "Harvest", 40.0));
    play_for(&core, &daemon, "zone-kitchen", 21).await;
    let listens = sentinel(&core, &daemon, "zone-kitchen", "Sentinel Three").await;
    assert_eq!(titles(&listens), ["Sentinel Three", "Short"]);
}
