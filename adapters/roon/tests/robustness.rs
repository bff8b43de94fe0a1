//! Dropped connections, restarts, garbage and oversized frames.

use musique_fake_roon::FakeTrack;
use musique_sdk::player::ConnectionState;

use crate::support::{WAIT, connected, playbacks, status, wait_for};

/// After the Core came back: a new connection, registered and subscribed, and changes flow again.
fn assert_back(setup: &mut crate::support::Setup, connections: u64) {
    assert!(setup.core.wait_until(WAIT, |state| state.connections_accepted == connections
        && state.subscriptions == 1
        && state.registrations == connections));
    wait_for("connected", || status(&mut setup.plugin).state == ConnectionState::Connected);
    let title = format!("Song {connections}");
    setup.core.play("zone-kitchen", FakeTrack::new(&title, "Artist", "Album", 100.0));
    wait_for("a change after the reconnect", || {
        playbacks(&setup.host, "zone-kitchen")
            .iter()
            .any(|playback| playback.track.as_ref().is_some_and(|track| track.title == title))
    });
    assert_eq!(setup.core.requests_named("com.roonlabs.transport:2/subscribe_zones").len() as u64, connections);
}

#[test]
fn a_dropped_connection_reconnects_and_resubscribes() {
    let mut setup = connected();
    setup.core.drop_connections();
    assert_back(&mut setup, 2);
    let states: Vec<ConnectionState> =
        crate::support::statuses(&setup.host).iter().map(|status| status.state).collect();
    assert!(states.contains(&ConnectionState::Disconnected), "{states:?}");
}

#[test]
fn a_core_restart_on_the_same_port() {
    let mut setup = connected();
    setup.core.restart(true);
    assert_back(&mut setup, 2);
}

#[test]
fn garbage_and_oversized_frames_drop_the_connection() {
    let mut setup = connected();
    // An empty frame is ignored: the same connection still answers pings.
    setup.core.send_raw(Vec::new());
    setup.core.ping_now();
    assert!(setup.core.wait_until(WAIT, |state| state.pings_answered == 1));
    assert_eq!(setup.core.state(|state| state.connections_accepted), 1);

    setup.core.send_raw(b"this is not MOO".to_vec());
    assert_back(&mut setup, 2);
    assert!(setup.host.logs().iter().any(|(_, line)| line.contains("bad frame")), "{:?}", setup.host.logs());

    setup.core.send_raw(vec![b'x'; musique_roon::client::MAX_FRAME_BYTES + 1]);
    assert_back(&mut setup, 3);
}
