//! Transport controls and their errors.

use musique_fake_roon::FakeTrack;
use musique_sdk::ErrorKind;
use musique_sdk::player::PlayState;
use serde_json::{Value, json};

use crate::support::{Setup, assert_error, call_error, connected, wait_for, zone};

/// Sends a control and returns the body of the transport request the Core received for it.
fn control(setup: &mut Setup, payload: Value) -> (String, Value) {
    let before = setup.core.requests().len();
    setup.plugin.call("player.control", &payload).unwrap_or_else(|err| panic!("{payload}: {err}"));
    let requests = setup.core.requests();
    let sent: Vec<_> = requests[before..].iter().filter(|request| request.name.contains("transport")).collect();
    assert!(!sent.is_empty(), "{payload} sent nothing");
    let last = sent.last().unwrap();
    (last.name.trim_start_matches("com.roonlabs.transport:2/").to_owned(), last.body.clone().unwrap())
}

#[test]
fn every_control_reaches_the_core() {
    let mut setup = connected();
    setup.core.update_zone("zone-kitchen", |zone| {
        zone.play(FakeTrack::new("Harvest", "Neil Young", "Harvest", 191.0));
        zone.queue = vec![FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0)];
    });
    wait_for("playing", || zone(&mut setup.plugin, "Kitchen").state == PlayState::Playing);
    let kitchen = json!("zone-kitchen");
    let output = json!("zone-kitchen-out");

    let (name, body) = control(&mut setup, json!({"zone": "KITCHEN", "action": "pause"}));
    assert_eq!((name.as_str(), body), ("control", json!({"zone_or_output_id": kitchen, "control": "pause"})));
    wait_for("paused", || zone(&mut setup.plugin, "Kitchen").state == PlayState::Paused);

    let (name, body) = control(&mut setup, json!({"zone": "kitchen", "action": "play"}));
    assert_eq!((name.as_str(), body), ("control", json!({"zone_or_output_id": kitchen, "control": "play"})));
    wait_for("playing", || zone(&mut setup.plugin, "Kitchen").state == PlayState::Playing);

    let (_, body) = control(&mut setup, json!({"zone": "zone-kitchen", "action": "playpause"}));
    assert_eq!(body["control"], "playpause");
    wait_for("paused", || zone(&mut setup.plugin, "Kitchen").state == PlayState::Paused);

    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "previous"}));
    assert_eq!(body["control"], "previous");

    let (name, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "seek", "seconds": 30}));
    assert_eq!(
        (name.as_str(), body),
        ("seek", json!({"zone_or_output_id": kitchen, "how": "absolute", "seconds": 30.0}))
    );
    wait_for("the seek", || zone(&mut setup.plugin, "Kitchen").position_ms == Some(30_000));
    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "seek", "seconds": -10, "relative": true}));
    assert_eq!((body["how"].clone(), body["seconds"].clone()), (json!("relative"), json!(-10.0)));
    wait_for("the relative seek", || zone(&mut setup.plugin, "Kitchen").position_ms == Some(20_000));

    let (name, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "volume", "value": 55}));
    assert_eq!(
        (name.as_str(), body),
        ("change_volume", json!({"output_id": output, "how": "absolute", "value": 55.0}))
    );
    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "volume", "value": 5, "relative": true}));
    assert_eq!(body["how"], "relative");
    wait_for("the volume", || {
        zone(&mut setup.plugin, "Kitchen").outputs[0].volume.as_ref().unwrap().value == Some(60.0)
    });

    let (name, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "mute", "on": true}));
    assert_eq!((name.as_str(), body), ("mute", json!({"output_id": output, "how": "mute"})));
    wait_for("muted", || zone(&mut setup.plugin, "Kitchen").outputs[0].volume.as_ref().unwrap().muted);
    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "mute", "on": false}));
    assert_eq!(body["how"], "unmute");

    let (name, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "shuffle", "on": true}));
    assert_eq!((name.as_str(), body), ("change_settings", json!({"zone_or_output_id": kitchen, "shuffle": true})));
    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "repeat", "mode": "loop_one"}));
    assert_eq!(body, json!({"zone_or_output_id": kitchen, "loop": "loop_one"}));
    wait_for("the settings", || {
        let settings = zone(&mut setup.plugin, "Kitchen").settings;
        settings.shuffle && settings.repeat == "loop_one"
    });

    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "next"}));
    assert_eq!(body["control"], "next");
    wait_for("the next track", || {
        zone(&mut setup.plugin, "Kitchen").track.is_some_and(|track| track.title == "Heart of Gold")
    });

    let (_, body) = control(&mut setup, json!({"zone": "Kitchen", "action": "stop"}));
    assert_eq!(body["control"], "stop");
    wait_for("stopped", || zone(&mut setup.plugin, "Kitchen").state == PlayState::Stopped);
}

#[test]
fn control_errors() {
    let mut setup = connected();
    let error = call_error(&mut setup.plugin, "player.control", json!({"zone": "Attic", "action": "play"}));
    assert_error(&error, ErrorKind::InvalidInput, "no zone `Attic` in Roon; known zones: Kitchen, Living Room");

    // A stopped zone with nothing loaded and an empty queue.
    for (action, what) in [("next", "`next`"), ("previous", "`previous`"), ("play", "`play`"), ("pause", "`pause`")] {
        let error = call_error(&mut setup.plugin, "player.control", json!({"zone": "Living Room", "action": action}));
        assert_error(&error, ErrorKind::InvalidInput, &format!("{what} is not allowed on Living Room now"));
    }
    let error =
        call_error(&mut setup.plugin, "player.control", json!({"zone": "Living Room", "action": "seek", "seconds": 3}));
    assert_error(&error, ErrorKind::InvalidInput, "`seek` is not allowed");
    let error = call_error(
        &mut setup.plugin,
        "player.control",
        json!({"zone": "Living Room", "action": "repeat", "mode": "forever"}),
    );
    assert_error(&error, ErrorKind::InvalidInput, "repeat `forever`");
    let error = call_error(&mut setup.plugin, "player.control", json!({"zone": "Kitchen", "action": "dance"}));
    assert_eq!(error.kind, ErrorKind::InvalidInput);

    setup.core.update_zone("zone-living", |zone| zone.outputs[0].volume = None);
    wait_for("fixed volume", || zone(&mut setup.plugin, "Living Room").outputs[0].volume.is_none());
    let error =
        call_error(&mut setup.plugin, "player.control", json!({"zone": "Living Room", "action": "volume", "value": 3}));
    assert_error(&error, ErrorKind::InvalidInput, "fixed volume");

    // The Core's own error names come back.
    setup.core.forget_zone("zone-kitchen");
    let error = call_error(&mut setup.plugin, "player.control", json!({"zone": "Kitchen", "action": "stop"}));
    assert_error(&error, ErrorKind::Protocol, "ZoneNotFound");
}
