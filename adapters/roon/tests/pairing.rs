//! Pairing: held registrations, the stored token, ping.

use musique_fake_roon::{Approval, Options};
use musique_roon::client::WAITING_APPROVAL;
use musique_sdk::ErrorKind;
use musique_sdk::player::ConnectionState;
use serde_json::json;

use crate::support::{WAIT, assert_error, call_error, start, status, statuses, wait_for};

#[test]
fn held_then_approved_keeps_the_token_and_reconnects_without_approval() {
    let mut setup = start(Options { approval: Approval::Hold, ..Options::default() });
    wait_for("waiting for approval", || status(&mut setup.plugin).state == ConnectionState::WaitingApproval);
    assert_eq!(status(&mut setup.plugin).message, WAITING_APPROVAL);
    assert!(setup.core.wait_until(WAIT, |state| state.held == 1));
    assert!(setup.host.state().is_empty(), "no token before approval");
    let register = &setup.core.requests_named("com.roonlabs.registry:1/register")[0];
    let body = register.body.clone().unwrap();
    assert_eq!(body["extension_id"], "dev.musique.roon");
    assert_eq!(body["display_name"], "musique");
    assert_eq!(body["required_services"], json!(["com.roonlabs.transport:2", "com.roonlabs.browse:1"]));
    assert!(body["provided_services"].as_array().unwrap().contains(&json!("com.roonlabs.ping:1")));
    assert!(body.get("token").is_none());

    setup.core.approve();
    wait_for("connected", || status(&mut setup.plugin).state == ConnectionState::Connected);
    let key = format!("token:{}", setup.core.core_id());
    assert_eq!(setup.host.state().get(&key).map(Vec::as_slice), Some(&b"fake-token-1"[..]));
    let connected = status(&mut setup.plugin);
    let core = connected.core.expect("the core");
    assert_eq!((core.id.as_str(), core.name.as_str()), (setup.core.core_id().as_str(), "Fake Roon Core"));
    let states: Vec<ConnectionState> = statuses(&setup.host).iter().map(|status| status.state).collect();
    let waiting = states.iter().position(|state| *state == ConnectionState::WaitingApproval).unwrap();
    assert!(states[waiting..].contains(&ConnectionState::Connected), "{states:?}");

    // Approval is still held for new tokens, but the stored token needs none.
    setup.core.drop_connections();
    assert!(setup.core.wait_until(WAIT, |state| state.registrations == 2 && state.subscriptions == 1));
    assert_eq!(setup.core.state(|state| state.held), 0);
    let registers = setup.core.requests_named("com.roonlabs.registry:1/register");
    assert_eq!(registers[1].body.as_ref().unwrap()["token"], "fake-token-1");
    wait_for("connected again", || status(&mut setup.plugin).state == ConnectionState::Connected);
}

#[test]
fn calls_while_waiting_for_approval_are_unavailable() {
    let mut setup = start(Options { approval: Approval::Never, ..Options::default() });
    wait_for("waiting for approval", || status(&mut setup.plugin).state == ConnectionState::WaitingApproval);
    let error = call_error(&mut setup.plugin, "player.control", json!({"zone": "Kitchen", "action": "play"}));
    assert_error(&error, ErrorKind::Unavailable, "waiting for approval");
    let error =
        call_error(&mut setup.plugin, "player.play", json!({"zone": "Kitchen", "kind": "radio", "station": "FIP"}));
    assert_error(&error, ErrorKind::Unavailable, "waiting for approval");
}

#[test]
fn the_cores_ping_is_answered() {
    let setup = crate::support::connected();
    assert_eq!(setup.core.ping_now(), 1);
    assert!(setup.core.wait_until(WAIT, |state| state.pings_answered == 1));
    assert_eq!(setup.core.ping_now(), 1);
    assert!(setup.core.wait_until(WAIT, |state| state.pings_answered == 2));
}

#[test]
fn unknown_methods_and_bad_config() {
    let mut setup = crate::support::connected();
    let error = call_error(&mut setup.plugin, "history.page", json!({}));
    assert_eq!(error.kind, ErrorKind::UnknownMethod);
    let host = musique_sdk::testkit::RecordingHost::new();
    let error = host.start::<musique_roon::Roon>(json!({"port": "nine"})).expect_err("a bad port");
    assert!(error.to_string().contains("`port`"), "{error}");
}

#[test]
fn the_cores_other_requests_are_answered() {
    let setup = crate::support::connected();
    let status = "com.roonlabs.status:1/subscribe_status";
    assert_eq!(setup.core.request_now(status, Some(json!({"subscription_key": "261"}))), 1);
    setup.core.request_now("com.roonlabs.settings:1/subscribe_settings", Some(json!({"subscription_key": "262"})));
    setup.core.request_now("com.roonlabs.ping:1/pong", None);
    assert!(setup.core.wait_until(WAIT, |state| state.answers.len() == 3));
    let answers = setup.core.state(|state| state.answers.clone());
    assert_eq!((answers[0].verb, answers[0].name.as_str()), (musique_roon::moo::Verb::Continue, "Subscribed"));
    let body = answers[0].body.clone().unwrap();
    assert_eq!(
        (body["message"].as_str(), body["is_error"].as_bool()),
        (Some("musique is watching 2 zones"), Some(false))
    );
    assert_eq!(answers[1].name, "InvalidRequest");
    assert_eq!(answers[1].body.clone().unwrap()["error"], "unknown service: com.roonlabs.settings:1");
    assert_eq!(answers[2].body.clone().unwrap()["error"], "unknown request name (com.roonlabs.ping:1) : pong");
}
