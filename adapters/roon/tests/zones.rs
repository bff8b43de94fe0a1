//! Zones: the cache, Playback events on every change and seek, combined bodies, radio.

use musique_fake_roon::FakeTrack;
use musique_sdk::player::{PlayState, PlayingTrack};
use serde_json::json;

use crate::support::{connected, playbacks, wait_for, zone, zones};

#[test]
fn changes_and_seeks_emit_playback() {
    let mut setup = connected();
    setup.host.set_now_ms(1_000);
    setup.core.play("zone-kitchen", FakeTrack::new("Heart of Gold", "Neil Young", "Harvest", 187.0));
    wait_for("the track", || playbacks(&setup.host, "zone-kitchen").iter().any(|playback| playback.track.is_some()));
    let playback = playbacks(&setup.host, "zone-kitchen").pop().unwrap();
    assert_eq!(playback.zone, "Kitchen");
    assert_eq!(playback.state, PlayState::Playing);
    assert_eq!(playback.position_ms, Some(0));
    assert_eq!(playback.at_ms, 1_000);
    assert_eq!(
        playback.track,
        Some(PlayingTrack {
            artist: "Neil Young".into(),
            title: "Heart of Gold".into(),
            album: Some("Harvest".into()),
            length_ms: Some(187_000),
            image_key: Some("img-13".into()),
            radio: None,
        })
    );

    setup.host.set_now_ms(31_000);
    setup.core.tick("zone-kitchen", 30.5);
    wait_for("the seek", || {
        playbacks(&setup.host, "zone-kitchen").iter().any(|playback| playback.position_ms == Some(30_500))
    });
    let playback = playbacks(&setup.host, "zone-kitchen").pop().unwrap();
    assert_eq!((playback.at_ms, playback.state), (31_000, PlayState::Playing));
    assert_eq!(zone(&mut setup.plugin, "Kitchen").position_ms, Some(30_500));

    setup.core.set_state("zone-kitchen", "paused");
    wait_for("the pause", || playbacks(&setup.host, "zone-kitchen").last().unwrap().state == PlayState::Paused);
    // The living room was reported once, when the zones were subscribed, and not on the kitchen's changes.
    assert_eq!(playbacks(&setup.host, "zone-living").len(), 1);
}

#[test]
fn zones_list_and_added_removed_zones() {
    let mut setup = connected();
    let listed = zones(&mut setup.plugin);
    let names: Vec<&str> = listed.iter().map(|zone| zone.name.as_str()).collect();
    assert_eq!(names, ["Kitchen", "Living Room"]);
    let kitchen = &listed[0];
    assert_eq!(kitchen.state, PlayState::Stopped);
    assert_eq!(kitchen.outputs[0].volume.as_ref().unwrap().value, Some(40.0));
    assert_eq!(kitchen.settings.repeat, "disabled");

    setup.core.add_zone(musique_fake_roon::FakeZone::new("zone-study", "Study"));
    wait_for("the new zone", || zones(&mut setup.plugin).len() == 3);
    setup.core.remove_zone("zone-study");
    wait_for("the zone gone", || zones(&mut setup.plugin).len() == 2);
    let last = playbacks(&setup.host, "zone-study").pop().unwrap();
    assert_eq!((last.state, last.track), (PlayState::Stopped, None));
}

#[test]
fn a_combined_changed_body_is_applied_whole() {
    let mut setup = connected();
    setup.core.group(&["zone-kitchen", "zone-living"]);
    wait_for("the group", || zones(&mut setup.plugin).len() == 1);
    let grouped = zones(&mut setup.plugin).pop().unwrap();
    assert_eq!((grouped.name.as_str(), grouped.outputs.len()), ("Kitchen + 1", 2));
    assert_eq!(playbacks(&setup.host, "zone-living").pop().unwrap().state, PlayState::Stopped);

    // Added, seek and lenient fields in one body.
    setup.core.push_changed(json!({
        "zones_added": [{"zone_id": "zone-x", "display_name": "Garage", "state": "playing", "outputs": null,
            "now_playing": {"length": 200.5, "seek_position": 1, "three_line": {"line1": "Song", "line2": null}}}],
        "zones_seek_changed": [{"zone_id": "zone-x", "seek_position": 2.25}, {"zone_id": "zone-kitchen", "seek_position": 9}],
    }));
    wait_for("the added zone", || zones(&mut setup.plugin).len() == 2);
    let garage = zone(&mut setup.plugin, "Garage");
    assert_eq!(garage.position_ms, Some(2_250));
    let track = garage.track.unwrap();
    assert_eq!((track.title.as_str(), track.artist.as_str(), track.length_ms), ("Song", "", Some(200_500)));
    assert_eq!(playbacks(&setup.host, "zone-x").len(), 1, "one event per zone per message");
}

#[test]
fn radio_is_recognised() {
    let mut setup = connected();
    setup.core.play("zone-kitchen", FakeTrack::radio("Teardrop", "Massive Attack", "FIP"));
    wait_for("the radio", || playbacks(&setup.host, "zone-kitchen").iter().any(|playback| playback.track.is_some()));
    let track = playbacks(&setup.host, "zone-kitchen").pop().unwrap().track.unwrap();
    assert_eq!(track.radio.as_deref(), Some("FIP"));
    assert_eq!((track.album, track.length_ms), (None, None));
    assert_eq!((track.title.as_str(), track.artist.as_str()), ("Teardrop", "Massive Attack"));
    let kitchen = zone(&mut setup.plugin, "Kitchen");
    assert!(!kitchen.allowed.seek && !kitchen.allowed.next);
}
