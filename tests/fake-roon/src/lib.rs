//! A scripted fake Roon Core for tests, written from the protocol notes.
//!
//! It serves MOO/1 over a WebSocket at `/api` (registry, ping both ways,
//! transport:2, browse:1), images over plain HTTP at `/api/image/<key>`, and
//! SOOD on a UDP port of the test's choosing. Tests drive it through
//! [`FakeCore`]: add and change zones, move time on with [`FakeCore::tick`]
//! (there are no wall-clock timers), hold or approve registrations, drop
//! connections, restart, send garbage, and wait on its state with
//! [`FakeCore::wait_until`].
//!
//! # Layout
//! - [`library`]: the music, the browse tree and the zones' JSON.
//! - `net`: the listener, the connections, the image server and the SOOD responder.
//! - this file: the Core's state and its answers to requests.

pub mod library;
mod net;

/// The image every `GET /api/image/<key>` answers: a 1×1 PNG.
pub const PNG: &[u8] = net::PNG;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use musique_roon::moo::{Message, Verb};
use serde_json::{Value, json};

pub use library::{FakeAlbum, FakeArtist, FakeOutput, FakeTrack, FakeZone, Library, Node, Target};

/// Services the fake Core offers to extensions.
const OFFERED: &[&str] = &["com.roonlabs.transport:2", "com.roonlabs.browse:1", "com.roonlabs.image:1"];
/// The first request id of the Core's own requests: far from the extensions' ids.
const CORE_REQUEST_BASE: u64 = 1001;

/// How registrations without a known token are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// At once.
    Auto,
    /// When the test calls [`FakeCore::approve`].
    Hold,
    /// Never, not even with a known token.
    Never,
}

/// How to start a fake Core.
#[derive(Debug, Clone)]
pub struct Options {
    /// The core id.
    pub core_id: String,
    /// The Core's name.
    pub name: String,
    /// How registrations are answered.
    pub approval: Approval,
    /// The zones at start.
    pub zones: Vec<FakeZone>,
    /// The music.
    pub library: Library,
    /// The TCP port; 0 for any free one.
    pub port: u16,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            core_id: "fake-core-0000-0000-000000000001".to_owned(),
            name: "Fake Roon Core".to_owned(),
            approval: Approval::Auto,
            zones: vec![FakeZone::new("zone-kitchen", "Kitchen"), FakeZone::new("zone-living", "Living Room")],
            library: Library::default(),
            port: 0,
        }
    }
}

/// A request an extension sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The connection it came on (counting from 1).
    pub connection: u64,
    /// `<service>/<method>`.
    pub name: String,
    /// The body.
    pub body: Option<Value>,
}

/// Something a browse action started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// The zone.
    pub zone_id: String,
    /// `Play Now`, `Add Next`, `Queue`, `Start Radio`, or `Station`.
    pub action: String,
    /// The album, artist, playlist, track or station.
    pub title: String,
}

/// An extension's answer to a request of the Core.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The Core's request it answers, `<service>/<method>`.
    pub request: String,
    /// CONTINUE or COMPLETE.
    pub verb: Verb,
    /// `Success`, `Subscribed`, `InvalidRequest`, …
    pub name: String,
    /// The body.
    pub body: Option<Value>,
}

/// A registration the Core holds.
#[derive(Debug, Clone)]
struct Held {
    connection: u64,
    request_id: u64,
    body: Value,
}

/// A live connection.
#[derive(Debug)]
struct Connection {
    id: u64,
    out: Sender<net::Out>,
    /// The request id of its zones subscription.
    zones_subscription: Option<u64>,
    /// Whether it registered.
    registered: bool,
    /// Its browse stack (the top is the current list) and the keys it was given.
    stack: Vec<Node>,
    keys: HashMap<String, Node>,
}

/// The fake Core's state, as tests see it in [`FakeCore::wait_until`] and [`FakeCore::state`].
#[derive(Debug)]
pub struct CoreState {
    /// The core id.
    pub core_id: String,
    /// The name.
    pub name: String,
    /// How registrations are answered.
    pub approval: Approval,
    /// The zones.
    pub zones: Vec<FakeZone>,
    /// The music.
    pub library: Library,
    /// Tokens the Core has given.
    pub tokens: Vec<String>,
    /// Every request received, in order.
    pub requests: Vec<Received>,
    /// Every browse action that started something.
    pub played: Vec<Played>,
    /// WebSocket connections accepted so far.
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Connections that registered, so far.
    pub registrations: u64,
    /// Registrations held now.
    pub held: usize,
    /// Zones subscriptions open now.
    pub subscriptions: u64,
    /// Pings the Core sent that were answered `Success`.
    pub pings_answered: u64,
    /// Every answer to the Core's own requests.
    pub answers: Vec<Answer>,
    /// The port the WebSocket listens on.
    pub port: u16,
    connections: Vec<Connection>,
    held_registrations: Vec<Held>,
    /// The Core's own requests by id, to name their answers.
    core_requests: HashMap<u64, String>,
    next_request_id: u64,
    next_token: u64,
    next_key: u64,
}

/// The state and the condition variable tests wait on.
#[derive(Debug)]
struct Inner {
    state: Mutex<CoreState>,
    changed: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, CoreState> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `change` on the state and wakes the waiters.
    fn update<R>(&self, change: impl FnOnce(&mut CoreState) -> R) -> R {
        let result = change(&mut self.lock());
        self.changed.notify_all();
        result
    }
}

/// A running fake Core. Dropping it stops its threads and closes its sockets.
#[derive(Debug)]
pub struct FakeCore {
    inner: Arc<Inner>,
    server: Mutex<Option<net::Server>>,
    sood: Mutex<Option<net::Responder>>,
}

impl FakeCore {
    /// Starts a Core with the default zones and library, approving at once.
    pub fn start() -> FakeCore {
        FakeCore::with(Options::default())
    }

    /// Starts a Core.
    pub fn with(options: Options) -> FakeCore {
        let inner = Arc::new(Inner {
            state: Mutex::new(CoreState {
                core_id: options.core_id,
                name: options.name,
                approval: options.approval,
                zones: options.zones,
                library: options.library,
                tokens: Vec::new(),
                requests: Vec::new(),
                played: Vec::new(),
                connections_accepted: 0,
                connections_open: 0,
                registrations: 0,
                held: 0,
                subscriptions: 0,
                pings_answered: 0,
                answers: Vec::new(),
                core_requests: HashMap::new(),
                port: 0,
                connections: Vec::new(),
                held_registrations: Vec::new(),
                next_request_id: CORE_REQUEST_BASE,
                next_token: 1,
                next_key: 1,
            }),
            changed: Condvar::new(),
        });
        let server = net::Server::start(inner.clone(), options.port).expect("the fake Core listens");
        FakeCore { inner, server: Mutex::new(Some(server)), sood: Mutex::new(None) }
    }

    /// The WebSocket port (`http_port`).
    pub fn port(&self) -> u16 {
        self.inner.lock().port
    }

    /// The core id.
    pub fn core_id(&self) -> String {
        self.inner.lock().core_id.clone()
    }

    /// Starts answering SOOD queries on 127.0.0.1 at `port` (0 for any); returns the address.
    pub fn start_sood(&self, port: u16) -> SocketAddr {
        let responder = net::Responder::start(self.inner.clone(), port).expect("the SOOD responder binds");
        let address = responder.address();
        *self.sood.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(responder);
        address
    }

    /// Reads the state.
    pub fn state<R>(&self, read: impl FnOnce(&CoreState) -> R) -> R {
        read(&self.inner.lock())
    }

    /// Waits until `done` holds on the state, at most `timeout`; says whether it did.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&CoreState) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.inner.lock();
        loop {
            if done(&state) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.inner.changed.wait_timeout(state, left).unwrap_or_else(|poison| poison.into_inner()).0;
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.inner.lock().requests.clone()
    }

    /// The requests received with this `<service>/<method>` name.
    pub fn requests_named(&self, name: &str) -> Vec<Received> {
        self.inner.lock().requests.iter().filter(|request| request.name == name).cloned().collect()
    }

    /// Every browse action that started something.
    pub fn played(&self) -> Vec<Played> {
        self.inner.lock().played.clone()
    }

    /// A zone as it is now.
    pub fn zone(&self, zone_id: &str) -> Option<FakeZone> {
        self.inner.lock().zones.iter().find(|zone| zone.zone_id == zone_id).cloned()
    }

    /// Changes how registrations are answered.
    pub fn set_approval(&self, approval: Approval) {
        self.inner.update(|state| state.approval = approval);
    }

    /// Approves every held registration (the user clicked Enable).
    pub fn approve(&self) {
        self.inner.update(|state| {
            let held = std::mem::take(&mut state.held_registrations);
            state.held = 0;
            for registration in held {
                let reply = registered(state, registration.request_id, &registration.body, None);
                send_to(state, registration.connection, &reply);
            }
        });
    }

    /// Forgets every token, so the next registrations need approval.
    pub fn revoke_tokens(&self) {
        self.inner.update(|state| state.tokens.clear());
    }

    /// Adds a zone (`zones_added`).
    pub fn add_zone(&self, zone: FakeZone) {
        self.inner.update(|state| {
            let body = json!({"zones_added": [zone.to_json()]});
            state.zones.push(zone);
            push_zones(state, &body);
        });
    }

    /// Removes a zone (`zones_removed`).
    pub fn remove_zone(&self, zone_id: &str) {
        self.inner.update(|state| {
            state.zones.retain(|zone| zone.zone_id != zone_id);
            push_zones(state, &json!({"zones_removed": [zone_id]}));
        });
    }

    /// Removes a zone without telling anyone, so requests naming it fail with `ZoneNotFound`.
    pub fn forget_zone(&self, zone_id: &str) {
        self.inner.update(|state| state.zones.retain(|zone| zone.zone_id != zone_id));
    }

    /// Changes a zone and pushes it (`zones_changed`).
    pub fn update_zone(&self, zone_id: &str, change: impl FnOnce(&mut FakeZone)) {
        self.inner.update(|state| {
            let zone = state.zones.iter_mut().find(|zone| zone.zone_id == zone_id).expect("a zone of the fake");
            change(zone);
            let body = json!({"zones_changed": [zone.to_json()]});
            push_zones(state, &body);
        });
    }

    /// Plays a track on a zone from the start.
    pub fn play(&self, zone_id: &str, track: FakeTrack) {
        self.update_zone(zone_id, |zone| zone.play(track));
    }

    /// Sets a zone's state (`playing`, `paused`, `stopped`, `loading`).
    pub fn set_state(&self, zone_id: &str, new_state: &str) {
        self.update_zone(zone_id, |zone| zone.state = new_state.to_owned());
    }

    /// Moves a zone's position on by `seconds` (`zones_seek_changed`); at the end of a
    /// track with a length, the next track of the queue plays (`zones_changed`).
    pub fn tick(&self, zone_id: &str, seconds: f64) {
        self.inner.update(|state| {
            let zone = state.zones.iter_mut().find(|zone| zone.zone_id == zone_id).expect("a zone of the fake");
            zone.seek += seconds;
            let length = zone.now_playing.as_ref().and_then(|track| track.length);
            let body = if length.is_some_and(|length| zone.seek >= length) {
                zone.next();
                json!({"zones_changed": [zone.to_json()]})
            } else {
                let queue_time: f64 = zone.queue.iter().filter_map(|track| track.length).sum();
                json!({"zones_seek_changed": [{"zone_id": zone.zone_id, "seek_position": zone.seek,
                    "queue_time_remaining": queue_time}]})
            };
            push_zones(state, &body);
        });
    }

    /// Groups zones: the first takes the others' outputs, the others go, all in one
    /// `Changed` body carrying `zones_removed` and `zones_changed`.
    pub fn group(&self, zone_ids: &[&str]) {
        self.inner.update(|state| {
            let (first, rest) = zone_ids.split_first().expect("zones to group");
            let mut outputs = Vec::new();
            for zone_id in rest {
                if let Some(index) = state.zones.iter().position(|zone| zone.zone_id == *zone_id) {
                    outputs.extend(state.zones.remove(index).outputs);
                }
            }
            let zone = state.zones.iter_mut().find(|zone| zone.zone_id == *first).expect("a zone of the fake");
            zone.outputs.extend(outputs);
            zone.name = format!("{} + {}", zone.name, rest.len());
            let body = json!({"zones_removed": rest, "zones_changed": [zone.to_json()]});
            push_zones(state, &body);
        });
    }

    /// Pushes any `Changed` body to every zones subscription.
    pub fn push_changed(&self, body: Value) {
        self.inner.update(|state| push_zones(state, &body));
    }

    /// Sends the Core's ping to every connection; returns how many were sent.
    pub fn ping_now(&self) -> usize {
        self.request_now("com.roonlabs.ping:1/ping", None)
    }

    /// Sends a request of the Core's own to every connection (answers land in
    /// [`CoreState::answers`]); returns how many were sent.
    pub fn request_now(&self, name: &str, body: Option<Value>) -> usize {
        self.inner.update(|state| {
            let ids: Vec<u64> = state.connections.iter().map(|connection| connection.id).collect();
            for id in &ids {
                let request_id = state.next_request_id;
                state.next_request_id += 1;
                state.core_requests.insert(request_id, name.to_owned());
                send_to(state, *id, &Message::request(request_id, name, body.clone()));
            }
            ids.len()
        })
    }

    /// Sends raw bytes as one binary frame to every connection (garbage, empty or oversized frames).
    pub fn send_raw(&self, bytes: Vec<u8>) {
        self.inner.update(|state| {
            for connection in &state.connections {
                let _ = connection.out.send(net::Out::Frame(bytes.clone()));
            }
        });
    }

    /// Closes every connection (the Core went away for a moment).
    pub fn drop_connections(&self) {
        self.inner.update(|state| {
            for connection in &state.connections {
                let _ = connection.out.send(net::Out::Close);
            }
        });
    }

    /// Restarts the Core: every connection goes, and a new listener starts on the same
    /// port (`same_port`) or a new one. The core id, zones and tokens stay.
    pub fn restart(&self, same_port: bool) {
        let mut server = self.server.lock().unwrap_or_else(|poison| poison.into_inner());
        let port = if same_port { self.port() } else { 0 };
        if let Some(old) = server.take() {
            old.stop();
        }
        self.drop_connections();
        self.wait_until(Duration::from_secs(5), |state| state.connections_open == 0);
        *server = Some(net::Server::start(self.inner.clone(), port).expect("the fake Core listens again"));
    }
}

impl Drop for FakeCore {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap_or_else(|poison| poison.into_inner()).take() {
            server.stop();
        }
        self.drop_connections();
        if let Some(responder) = self.sood.lock().unwrap_or_else(|poison| poison.into_inner()).take() {
            responder.stop();
        }
    }
}

/// Sends a message to one connection.
fn send_to(state: &CoreState, connection: u64, message: &Message) {
    if let Some(connection) = state.connections.iter().find(|candidate| candidate.id == connection) {
        let _ = connection.out.send(net::Out::Frame(message.encode()));
    }
}

/// Pushes a zones `Changed` body to every subscription.
fn push_zones(state: &CoreState, body: &Value) {
    for connection in &state.connections {
        if let Some(request_id) = connection.zones_subscription {
            let message = Message::response(Verb::Continue, request_id, "Changed", Some(body.clone()));
            let _ = connection.out.send(net::Out::Frame(message.encode()));
        }
    }
}

/// The `Registered` answer; gives a new token unless `token` is one the Core knows.
fn registered(state: &mut CoreState, request_id: u64, body: &Value, token: Option<String>) -> Message {
    let token = token.unwrap_or_else(|| {
        let token = format!("fake-token-{}", state.next_token);
        state.next_token += 1;
        state.tokens.push(token.clone());
        token
    });
    let requested: Vec<&str> = ["required_services", "optional_services"]
        .iter()
        .flat_map(|key| body[*key].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .filter(|service| OFFERED.contains(service))
        .collect();
    state.registrations += 1;
    let reply = json!({
        "core_id": state.core_id, "display_name": state.name, "display_version": "2.0 (build 1500) production",
        "token": token, "provided_services": requested, "http_port": state.port,
    });
    Message::response(Verb::Continue, request_id, "Registered", Some(reply))
}

fn zone_index(state: &CoreState, id: &str) -> Option<usize> {
    state.zones.iter().position(|zone| zone.zone_id == id || zone.outputs.iter().any(|output| output.output_id == id))
}

fn output_index(state: &CoreState, id: &str) -> Option<(usize, usize)> {
    state.zones.iter().enumerate().find_map(|(zone, candidate)| {
        candidate.outputs.iter().position(|output| output.output_id == id).map(|output| (zone, output))
    })
}

/// Answers one request of connection `connection`; pushes go to the connections' queues.
fn handle(state: &mut CoreState, connection: u64, message: Message) -> Option<Message> {
    let id = message.request_id;
    match message.verb {
        Verb::Request => {}
        Verb::Complete | Verb::Continue => {
            let request = state.core_requests.get(&id).cloned()?;
            if request == "com.roonlabs.ping:1/ping" && message.name == "Success" {
                state.pings_answered += 1;
            }
            let body = message.json().cloned();
            state.answers.push(Answer { request, verb: message.verb, name: message.name, body });
            return None;
        }
    }
    let body = message.json().cloned().unwrap_or(Value::Null);
    state.requests.push(Received { connection, name: message.name.clone(), body: message.json().cloned() });
    let complete = |name: &str, body: Option<Value>| Some(Message::response(Verb::Complete, id, name, body));
    let (service, method) = message.name.split_once('/').unwrap_or((message.name.as_str(), ""));
    match (service, method) {
        ("com.roonlabs.registry:1", "info") => complete(
            "Success",
            Some(json!({"core_id": state.core_id, "display_name": state.name,
                "display_version": "2.0 (build 1500) production"})),
        ),
        ("com.roonlabs.registry:1", "register") => {
            let token = body["token"].as_str().filter(|token| state.tokens.iter().any(|known| known == token));
            let token = token.map(str::to_owned);
            if let Some(entry) = state.connections.iter_mut().find(|entry| entry.id == connection) {
                entry.registered = true;
            }
            match (state.approval, token) {
                (Approval::Never, _) | (Approval::Hold, None) => {
                    state.held_registrations.push(Held { connection, request_id: id, body });
                    state.held = state.held_registrations.len();
                    None
                }
                (_, token) => Some(registered(state, id, &body, token)),
            }
        }
        ("com.roonlabs.ping:1", "ping") => complete("Success", None),
        ("com.roonlabs.transport:2", method) => transport(state, connection, id, method, &body),
        ("com.roonlabs.browse:1", "browse") => browse(state, connection, id, &body),
        ("com.roonlabs.browse:1", "load") => load(state, connection, id, &body),
        ("com.roonlabs.registry:1" | "com.roonlabs.ping:1" | "com.roonlabs.browse:1", method) => {
            complete("InvalidRequest", Some(json!({"error": format!("unknown request name ({service}) : {method}")})))
        }
        _ => complete("InvalidRequest", Some(json!({"error": format!("unknown service: {service}")}))),
    }
}

fn transport(state: &mut CoreState, connection: u64, id: u64, method: &str, body: &Value) -> Option<Message> {
    let complete = |name: &str, body: Option<Value>| Some(Message::response(Verb::Complete, id, name, body));
    let zones_json =
        |state: &CoreState| json!({"zones": state.zones.iter().map(FakeZone::to_json).collect::<Vec<_>>()});
    match method {
        "subscribe_zones" => {
            if let Some(entry) = state.connections.iter_mut().find(|entry| entry.id == connection) {
                entry.zones_subscription = Some(id);
            }
            state.subscriptions =
                state.connections.iter().filter(|entry| entry.zones_subscription.is_some()).count() as u64;
            Some(Message::response(Verb::Continue, id, "Subscribed", Some(zones_json(state))))
        }
        "unsubscribe_zones" => {
            if let Some(entry) = state.connections.iter_mut().find(|entry| entry.id == connection) {
                entry.zones_subscription = None;
            }
            state.subscriptions =
                state.connections.iter().filter(|entry| entry.zones_subscription.is_some()).count() as u64;
            complete("Unsubscribed", None)
        }
        "get_zones" => complete("Success", Some(zones_json(state))),
        "control" | "seek" | "change_settings" => {
            let Some(index) = body["zone_or_output_id"].as_str().and_then(|zone| zone_index(state, zone)) else {
                return complete("ZoneNotFound", None);
            };
            let zone = &mut state.zones[index];
            let mut seek_only = false;
            match (method, body["control"].as_str()) {
                ("control", Some("play")) if zone.now_playing.is_some() => zone.state = "playing".to_owned(),
                ("control", Some("pause")) => zone.state = "paused".to_owned(),
                ("control", Some("playpause")) => {
                    zone.state = if zone.state == "playing" { "paused" } else { "playing" }.to_owned();
                }
                ("control", Some("stop")) => zone.state = "stopped".to_owned(),
                ("control", Some("next")) => zone.next(),
                ("control", Some("previous")) => zone.seek = 0.0,
                ("control", Some("play")) => {}
                ("control", _) => return complete("InvalidRequest", Some(json!({"error": "unknown control"}))),
                ("seek", _) => {
                    let seconds = body["seconds"].as_f64().unwrap_or(0.0);
                    zone.seek = if body["how"] == "relative" { zone.seek + seconds } else { seconds }.max(0.0);
                    seek_only = true;
                }
                _ => {
                    if let Some(shuffle) = body["shuffle"].as_bool() {
                        zone.shuffle = shuffle;
                    }
                    if let Some(repeat) = body["loop"].as_str() {
                        zone.repeat = repeat.to_owned();
                    }
                    if let Some(auto_radio) = body["auto_radio"].as_bool() {
                        zone.auto_radio = auto_radio;
                    }
                }
            }
            let push = if seek_only {
                json!({"zones_seek_changed": [{"zone_id": zone.zone_id, "seek_position": zone.seek}]})
            } else {
                json!({"zones_changed": [zone.to_json()]})
            };
            push_zones(state, &push);
            complete("Success", None)
        }
        "change_volume" | "mute" => {
            let Some((zone, output)) = body["output_id"].as_str().and_then(|output| output_index(state, output)) else {
                return complete("ZoneNotFound", None);
            };
            let entry = &mut state.zones[zone].outputs[output];
            if method == "mute" {
                entry.muted = body["how"] == "mute";
            } else if let Some(volume) = entry.volume.as_mut() {
                let value = body["value"].as_f64().unwrap_or(0.0);
                *volume = if body["how"] == "absolute" { value } else { *volume + value }.clamp(0.0, 100.0);
            }
            let push = json!({"zones_changed": [state.zones[zone].to_json()]});
            push_zones(state, &push);
            complete("Success", None)
        }
        _ => complete(
            "InvalidRequest",
            Some(json!({"error": format!("unknown request name (com.roonlabs.transport:2) : {method}")})),
        ),
    }
}

fn list_json(state: &CoreState, stack: &[Node]) -> Value {
    let node = *stack.last().unwrap_or(&Node::Root);
    let (title, _) = state.library.title(node);
    let hint = if matches!(node, Node::Actions(_)) { Some("action_list") } else { None };
    json!({"title": title, "count": state.library.children(node).len(), "level": stack.len().saturating_sub(1),
        "display_offset": 0, "hint": hint})
}

fn browse(state: &mut CoreState, connection: u64, id: u64, body: &Value) -> Option<Message> {
    let complete = |name: &str, body: Option<Value>| Some(Message::response(Verb::Complete, id, name, body));
    let zone = match body["zone_or_output_id"].as_str() {
        Some(zone) => match zone_index(state, zone) {
            Some(index) => Some(index),
            None => return complete("ZoneNotFound", None),
        },
        None => None,
    };
    let entry = state.connections.iter_mut().find(|entry| entry.id == connection)?;
    if body["pop_all"].as_bool() == Some(true) {
        entry.stack = vec![Node::Root];
    } else if let Some(levels) = body["pop_levels"].as_u64() {
        for _ in 0..levels {
            if entry.stack.len() > 1 {
                entry.stack.pop();
            }
        }
    } else if let Some(key) = body["item_key"].as_str() {
        let Some(node) = entry.keys.get(key).copied() else {
            return complete("InvalidItemKey", None);
        };
        match node {
            Node::Station(_) | Node::Action(..) => {
                let Some(zone) = zone else { return complete("ZoneNotFound", None) };
                entry.stack = vec![Node::Root];
                perform(state, zone, node);
                let list = list_json(state, &[Node::Root]);
                return complete("Success", Some(json!({"action": "list", "list": list})));
            }
            node => entry.stack.push(node),
        }
    }
    let stack = entry.stack.clone();
    complete("Success", Some(json!({"action": "list", "list": list_json(state, &stack)})))
}

fn load(state: &mut CoreState, connection: u64, id: u64, body: &Value) -> Option<Message> {
    let offset = body["offset"].as_u64().unwrap_or(0) as usize;
    let count = body["count"].as_u64().unwrap_or(100) as usize;
    let index = state.connections.iter().position(|entry| entry.id == connection)?;
    let stack = state.connections[index].stack.clone();
    let node = *stack.last().unwrap_or(&Node::Root);
    let level = stack.len().saturating_sub(1);
    let mut items = Vec::new();
    for child in state.library.children(node).into_iter().skip(offset).take(count) {
        let key = format!("{level}:{}", state.next_key);
        state.next_key += 1;
        let (title, hint) = state.library.title(child);
        state.connections[index].keys.insert(key.clone(), child);
        items.push(json!({"title": title, "item_key": key, "hint": hint}));
    }
    let list = list_json(state, &stack);
    Some(Message::response(
        Verb::Complete,
        id,
        "Success",
        Some(json!({"items": items, "offset": offset, "list": list})),
    ))
}

/// Runs a browse action on a zone and pushes the zone.
fn perform(state: &mut CoreState, zone: usize, node: Node) {
    let (action, title, tracks) = match node {
        Node::Station(station) => {
            let name = state.library.stations[station].clone();
            ("Station", name.clone(), vec![FakeTrack::radio("Live Song", "Live Artist", &name)])
        }
        Node::Action(target, action) => (action, state.library.target_title(target), state.library.tracks(target)),
        _ => return,
    };
    let entry = &mut state.zones[zone];
    match action {
        "Queue" => entry.queue.extend(tracks),
        "Add Next" => {
            for (index, track) in tracks.into_iter().enumerate() {
                entry.queue.insert(index, track);
            }
        }
        _ => {
            let mut tracks = tracks.into_iter();
            if let Some(first) = tracks.next() {
                entry.queue = tracks.collect();
                entry.auto_radio = action == "Start Radio" || entry.auto_radio;
                entry.play(first);
            }
        }
    }
    state.played.push(Played { zone_id: entry.zone_id.clone(), action: action.to_owned(), title });
    let push = json!({"zones_changed": [entry.to_json()]});
    push_zones(state, &push);
}
