//! What every test needs: a fake Core, the plugin connected to it, and waiting on conditions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use musique_fake_roon::{FakeCore, Options};
use musique_roon::Roon;
use musique_sdk::host::{CallError, Instance};
use musique_sdk::player::{ConnectionState, Playback, PlayerStatus, Zone};
use musique_sdk::protocol::Event;
use musique_sdk::testkit::RecordingHost;
use musique_sdk::{Error, ErrorKind};
use serde_json::{Value, json};

/// How long any wait may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A fake Core and the plugin talking to it.
pub(crate) struct Setup {
    pub(crate) core: FakeCore,
    pub(crate) host: Arc<RecordingHost>,
    pub(crate) plugin: Instance,
}

/// Starts a fake Core with `options` and the plugin aimed at it, without waiting.
pub(crate) fn start(options: Options) -> Setup {
    let core = FakeCore::with(options);
    let host = RecordingHost::new();
    let plugin = start_plugin(&host, json!({"host": "127.0.0.1", "port": core.port(), "tracking": {"unknown": true}}));
    Setup { core, host, plugin }
}

/// Starts the plugin on `host` with `config`.
pub(crate) fn start_plugin(host: &Arc<RecordingHost>, config: Value) -> Instance {
    let mut plugin = host.start::<Roon>(config).expect("the plugin starts");
    plugin.hello().expect("hello");
    plugin.call("start", &Value::Null).expect("start");
    plugin
}

/// Starts a fake Core approving at once and waits until the plugin is connected.
pub(crate) fn connected() -> Setup {
    let mut setup = start(Options::default());
    wait_for("connected", || status(&mut setup.plugin).state == ConnectionState::Connected);
    wait_for("zones", || zones(&mut setup.plugin).len() == 2);
    setup
}

/// Waits until `done` holds, polling; fails the test after [`WAIT`].
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(2));
    }
}

pub(crate) fn status(plugin: &mut Instance) -> PlayerStatus {
    serde_json::from_value(plugin.call("player.status", &Value::Null).expect("status")).expect("a status")
}

pub(crate) fn zones(plugin: &mut Instance) -> Vec<Zone> {
    serde_json::from_value(plugin.call("player.zones", &Value::Null).expect("zones")).expect("zones")
}

pub(crate) fn zone(plugin: &mut Instance, name: &str) -> Zone {
    zones(plugin).into_iter().find(|zone| zone.name == name).expect("the zone")
}

/// The Playback events so far for a zone.
pub(crate) fn playbacks(host: &RecordingHost, zone_id: &str) -> Vec<Playback> {
    host.events()
        .into_iter()
        .filter_map(|event| match event {
            Event::Playback(playback) if playback.zone_id == zone_id => Some(playback),
            _ => None,
        })
        .collect()
}

/// The PlayerStatus events so far.
pub(crate) fn statuses(host: &RecordingHost) -> Vec<PlayerStatus> {
    host.events()
        .into_iter()
        .filter_map(|event| match event {
            Event::PlayerStatus(status) => Some(status),
            _ => None,
        })
        .collect()
}

/// The plugin's error for a call that must fail.
pub(crate) fn call_error(plugin: &mut Instance, method: &str, payload: Value) -> Error {
    match plugin.call(method, &payload) {
        Err(CallError::Plugin(error)) => error,
        other => panic!("{method} {payload} should fail, got {other:?}"),
    }
}

/// Asserts an error's kind and that its message contains `part`.
pub(crate) fn assert_error(error: &Error, kind: ErrorKind, part: &str) {
    assert_eq!(error.kind, kind, "{error}");
    assert!(error.message.contains(part), "{:?} should contain {part:?}", error.message);
}
