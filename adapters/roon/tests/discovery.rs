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

#[test]
fn a_core_restarting_on_a_new_port_is_found_again() {
    let core = FakeCore::start();
    let responder = core.start_sood(0);
    let host = RecordingHost::new();
    let mut plugin = start_plugin(&host, json!({"discovery_address": [responder.to_string()]}));
    wait_for("connected", || status(&mut plugin).state == ConnectionState::Connected);
    let old_port = core.port();
    core.restart(false);
    assert_ne!(core.port(), old_port);
    wait_for("connected on the new port", || {
        let status = status(&mut plugin);
        status.state == ConnectionState::Connected
            && status.core.and_then(|core| core.address) == Some(format!("127.0.0.1:{}", core.port()))
    });
    assert!(core.wait_until(crate::support::WAIT, |state| state.subscriptions == 1 && state.registrations == 2));
}

#[test]
fn the_fake_serves_images_over_http() {
    use std::io::{Read, Write};
    let core = FakeCore::start();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", core.port())).expect("connects");
    stream.write_all(b"GET /api/image/img-13?scale=fit&width=500&height=500 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").expect("a head") + 4;
    let head = String::from_utf8_lossy(&response[..split]);
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("image/png"), "{head}");
    assert_eq!(&response[split..], musique_fake_roon::PNG);
}
