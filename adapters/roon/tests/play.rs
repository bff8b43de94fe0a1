//! Browse-to-play: albums, artist radio, playlists, stations, tracks, choices.

use musique_fake_roon::Played;
use musique_sdk::ErrorKind;
use musique_sdk::player::PlayOutcome;
use serde_json::{Value, json};

use crate::support::{Setup, assert_error, call_error, connected, playbacks, wait_for};

fn play(setup: &mut Setup, payload: Value) -> PlayOutcome {
    let outcome = setup.plugin.call("player.play", &payload).unwrap_or_else(|err| panic!("{payload}: {err}"));
    serde_json::from_value(outcome).expect("an outcome")
}

fn played(action: &str, title: &str) -> Played {
    Played { zone_id: "zone-kitchen".into(), action: action.into(), title: title.into() }
}

#[test]
fn an_album() {
    let mut setup = connected();
    let outcome =
        play(&mut setup, json!({"zone": "kitchen", "kind": "album", "artist": "neil young", "title": "HARVEST"}));
    assert_eq!(outcome, PlayOutcome { played: true, title: Some("Harvest".into()), ..PlayOutcome::default() });
    assert_eq!(setup.core.played(), [played("Play Now", "Harvest")]);
    let kitchen = setup.core.zone("zone-kitchen").unwrap();
    assert_eq!(kitchen.now_playing.unwrap().title, "Out on the Weekend");
    assert_eq!(kitchen.queue.len(), 2);
}

#[test]
fn artist_radio_playlist_and_station() {
    let mut setup = connected();
    let outcome = play(&mut setup, json!({"zone": "Kitchen", "kind": "artist", "name": "stereolab"}));
    assert_eq!(outcome.title.as_deref(), Some("Stereolab"));
    let outcome = play(&mut setup, json!({"zone": "Kitchen", "kind": "playlist", "name": "morning coffee"}));
    assert_eq!(outcome.title.as_deref(), Some("Morning Coffee"));
    let outcome = play(&mut setup, json!({"zone": "Kitchen", "kind": "radio", "station": "fip"}));
    assert_eq!((outcome.played, outcome.title.as_deref()), (true, Some("FIP")));
    assert_eq!(
        setup.core.played(),
        [played("Start Radio", "Stereolab"), played("Play Now", "Morning Coffee"), played("Station", "FIP")]
    );
    wait_for("the station", || {
        playbacks(&setup.host, "zone-kitchen")
            .last()
            .and_then(|playback| playback.track.clone())
            .is_some_and(|track| track.radio.as_deref() == Some("FIP"))
    });
    // Every browse named the zone.
    for request in setup.core.requests_named("com.roonlabs.browse:1/browse") {
        assert_eq!(request.body.unwrap()["zone_or_output_id"], "zone-kitchen");
    }
}

#[test]
fn tracks_first_plays_the_rest_queue() {
    let mut setup = connected();
    let outcome = play(
        &mut setup,
        json!({"zone": "Kitchen", "kind": "tracks", "tracks": [
            {"artist": "Neil Young", "title": "heart of gold", "album": "Harvest"},
            {"artist": "Stereolab", "title": "Miss Modular"},
            {"artist": "Nobody", "title": "Nothing"},
            {"artist": "Boards of Canada", "title": "Roygbiv", "album": "Wrong Album"},
        ]}),
    );
    assert_eq!(
        outcome,
        PlayOutcome {
            played: true,
            title: Some("Heart of Gold".into()),
            choices: Vec::new(),
            queued: 2,
            missing: vec!["Nobody — Nothing".into()],
        }
    );
    assert_eq!(
        setup.core.played(),
        [played("Play Now", "Heart of Gold"), played("Queue", "Miss Modular"), played("Queue", "Roygbiv")]
    );
    let kitchen = setup.core.zone("zone-kitchen").unwrap();
    let queue: Vec<&str> = kitchen.queue.iter().map(|track| track.title.as_str()).collect();
    assert_eq!(
        (kitchen.now_playing.unwrap().title.as_str(), queue),
        ("Heart of Gold", vec!["Miss Modular", "Roygbiv"])
    );
}

#[test]
fn several_matches_give_choices() {
    let mut setup = connected();
    let request = json!({"zone": "Kitchen", "kind": "album", "artist": "Neil Young", "title": "live"});
    let outcome = play(&mut setup, request.clone());
    assert_eq!(
        outcome,
        PlayOutcome { choices: vec!["Live Rust".into(), "Live at Massey Hall 1971".into()], ..PlayOutcome::default() }
    );
    assert!(setup.core.played().is_empty());
    let mut picked = request;
    picked["choice"] = json!(1);
    let outcome = play(&mut setup, picked);
    assert_eq!(outcome.title.as_deref(), Some("Live at Massey Hall 1971"));
    assert_eq!(setup.core.played(), [played("Play Now", "Live at Massey Hall 1971")]);
}

#[test]
fn nothing_found() {
    let mut setup = connected();
    let cases = [
        (
            json!({"kind": "album", "artist": "Neil Young", "title": "Nope"}),
            "no album `Nope` by Neil Young in Roon's library",
        ),
        (json!({"kind": "album", "artist": "Nobody", "title": "Nope"}), "no artist `Nobody` in Roon's library"),
        (json!({"kind": "artist", "name": "Nobody"}), "no artist `Nobody`"),
        (json!({"kind": "playlist", "name": "Nope"}), "no playlist `Nope` in Roon's library"),
        (json!({"kind": "radio", "station": "Nope"}), "no station `Nope`"),
        (json!({"kind": "tracks", "tracks": [{"artist": "Nobody", "title": "Nothing"}]}), "none of the tracks"),
    ];
    for (mut request, message) in cases {
        request["zone"] = json!("Kitchen");
        let error = call_error(&mut setup.plugin, "player.play", request);
        assert_error(&error, ErrorKind::InvalidInput, message);
    }
    let error = call_error(&mut setup.plugin, "player.play", json!({"zone": "Attic", "kind": "artist", "name": "x"}));
    assert_error(&error, ErrorKind::InvalidInput, "known zones");
    assert!(setup.core.played().is_empty());
}
