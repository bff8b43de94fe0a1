//! SOOD discovery against the fake's responder on 127.0.0.1.

use std::time::Duration;

use musique_fake_roon::FakeCore;
use musique_roon::sood;
use musique_sdk::player::ConnectionState;
use musique_sdk::testkit::RecordingHost;
use serde_json::json;

use crate::support::{start_plugin, status, wait_for};

#[test]
fn discovery_finds_the_fake_once() {
    let core = FakeCore::start();
    let responder = core.start_sood(0);
    let found = sood::discover(&[responder, responder], Duration::from_millis(300)).expect("discovery runs");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].core_id, core.core_id());
    assert_eq!((found[0].host.as_str(), found[0].port), ("127.0.0.1", core.port()));
    assert_eq!(found[0].name, "Fake Roon Core");
}

#[test]
fn the_plugin_discovers_and_connects() {
    let core = FakeCore::start();
    let responder = core.start_sood(0);
    let host = RecordingHost::new();
    let mut plugin = start_plugin(&host, json!({"discovery_address": responder.to_string()}));
    wait_for("connected", || status(&mut plugin).state == ConnectionState::Connected);
    let address = status(&mut plugin).core.unwrap().address.unwrap();
    assert_eq!(address, format!("127.0.0.1:{}", core.port()));
}
