//! The fake Core itself, through a raw MOO client: the answers the adapter never provokes.

use std::net::TcpStream;

use musique_fake_roon::FakeCore;
use musique_roon::moo::{Message, Verb};
use serde_json::{Value, json};

/// A bare WebSocket client speaking MOO to the fake.
struct Raw {
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
}

impl Raw {
    fn connect(core: &FakeCore) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", core.port())).expect("connects");
        let url = format!("ws://127.0.0.1:{}/api", core.port());
        let (socket, _) = tungstenite::client::client(url.as_str(), stream).expect("handshake");
        Raw { socket, next_id: 0 }
    }

    /// Sends a request and returns the first message answering it.
    fn request(&mut self, name: &str, body: Option<Value>) -> Message {
        let id = self.next_id;
        self.next_id += 1;
        self.socket.send(tungstenite::Message::binary(Message::request(id, name, body).encode())).expect("sends");
        loop {
            let frame = self.socket.read().expect("reads");
            let Ok(Some(message)) = Message::decode(&frame.into_data()) else { continue };
            if message.verb != Verb::Request && message.request_id == id {
                return message;
            }
        }
    }
}

#[test]
fn registry_without_info_and_error_names() {
    let core = FakeCore::start();
    let mut raw = Raw::connect(&core);
    // Like pyroon: register straight away, no info first.
    let registered = raw.request(
        "com.roonlabs.registry:1/register",
        Some(json!({"extension_id": "x", "required_services": ["com.roonlabs.transport:2", "com.roonlabs.nothing:1"]})),
    );
    assert_eq!((registered.verb, registered.name.as_str()), (Verb::Continue, "Registered"));
    let body = registered.json().unwrap();
    assert_eq!(body["provided_services"], json!(["com.roonlabs.transport:2"]));
    assert_eq!(body["http_port"], core.port());

    let browse = "com.roonlabs.browse:1/browse";
    let answer = raw.request(browse, Some(json!({"hierarchy": "browse", "item_key": "99:99"})));
    assert_eq!(answer.name, "InvalidItemKey");
    let answer =
        raw.request(browse, Some(json!({"hierarchy": "browse", "zone_or_output_id": "nope", "pop_all": true})));
    assert_eq!(answer.name, "ZoneNotFound");
    let answer = raw.request(browse, Some(json!({"hierarchy": "browse", "pop_all": true})));
    assert_eq!(
        answer.json().unwrap()["list"],
        json!({"title": "Explore", "count": 3, "level": 0, "display_offset": 0, "hint": null})
    );
    let answer =
        raw.request("com.roonlabs.browse:1/load", Some(json!({"hierarchy": "browse", "offset": 1, "count": 5})));
    let titles: Vec<&str> = answer.json().unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Playlists", "My Live Radio"]);

    let answer = raw.request("com.roonlabs.transport:2/get_zones", None);
    assert_eq!(answer.json().unwrap()["zones"].as_array().unwrap().len(), 2);
    let answer =
        raw.request("com.roonlabs.transport:2/control", Some(json!({"zone_or_output_id": "nope", "control": "play"})));
    assert_eq!(answer.name, "ZoneNotFound");
    let answer = raw.request("com.roonlabs.nothing:1/thing", None);
    assert_eq!(
        (answer.name.as_str(), answer.json().unwrap()["error"].as_str()),
        ("InvalidRequest", Some("unknown service: com.roonlabs.nothing:1"))
    );
    let answer = raw.request("com.roonlabs.ping:1/ping", None);
    assert_eq!((answer.verb, answer.name.as_str(), answer.body), (Verb::Complete, "Success", None));
}

#[test]
fn dropping_the_plugin_closes_its_connection() {
    let mut setup = crate::support::connected();
    assert_eq!(setup.core.state(|state| state.connections_open), 1);
    let plugin = std::mem::replace(&mut setup.plugin, crate::support::start_plugin(&setup.host, json!({"port": 1})));
    drop(plugin);
    assert!(setup.core.wait_until(crate::support::WAIT, |state| state.connections_open == 0));
}
