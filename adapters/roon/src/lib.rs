//! The Roon adapter: a `player` plugin on the musique SDK, linked into
//! musiqued and also built as a drop-in library (`musique-roon-plugin`).
//!
//! It pairs with a Roon Core as a Roon extension, watches every zone and
//! reports each change with `Event::Playback` (the host turns playback into
//! listens), and drives zones for the host: transport controls and
//! browse-to-play.
//!
//! # Layout
//! - [`moo`][]: the MOO/1 codec, shared with the fake Core of the tests.
//! - [`sood`][]: SOOD discovery.
//! - [`client`][]: the connection thread (pairing, zones, ping, reconnects) and its config.
//! - [`model`][]: the Core's JSON, read leniently, and the radio heuristics.
//! - [`browse`][]: browse-to-play.
//!
//! # Config (`[adapters.roon]`)
//! `host`, `port` (when set, no discovery), `discovery_address` (one address or
//! a list; default the SOOD multicast group and the broadcast address),
//! `extension_id` (default `dev.musique.roon`) and `display_name` (default
//! `musique`). Other keys are the host's.

pub mod browse;
pub mod client;
pub mod model;
pub mod moo;
pub mod sood;

use musique_sdk::player::{Action, ConnectionState, Control, PlayRequest, PlayerStatus, Zone, method};
use musique_sdk::protocol::method as sdk_method;
use musique_sdk::{Capability, Error, ErrorKind, Host, Plugin};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use client::{Config, Connection};
use model::RoonZone;

const TRANSPORT: &str = "com.roonlabs.transport:2";

/// The Roon adapter.
pub struct Roon {
    /// The host, to hand to the connection thread.
    host: Host,
    /// The `[adapters.roon]` table, read.
    config: Config,
    /// The running connection, once `start` was called.
    connection: Option<Connection>,
}

impl std::fmt::Debug for Roon {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Roon").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Plugin for Roon {
    const NAME: &'static str = "roon";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: &'static [Capability] = &[Capability::Live, Capability::Player];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        let config = Config::from_json(&config)?;
        Ok(Roon { host, config, connection: None })
    }

    fn call(&mut self, method: &str, payload: Value) -> Result<Value, Error> {
        match method {
            sdk_method::START => {
                if self.connection.is_none() {
                    self.connection = Some(Connection::start(self.host, self.config.clone())?);
                }
                Ok(Value::Null)
            }
            method::STATUS => to_json(&self.status()),
            method::ZONES => to_json(&self.zones()),
            method::CONTROL => {
                let control: Control = from_json(payload)?;
                self.control(&control)?;
                Ok(Value::Null)
            }
            method::PLAY => {
                let request: PlayRequest = from_json(payload)?;
                let connection = self.connected()?;
                let zone = find_zone(connection, &request.zone)?;
                let shared = connection.shared();
                let mut remember = |station: &str| {
                    shared.lock().radio_started.insert(zone.zone_id.clone(), station.to_owned());
                };
                to_json(&browse::play(connection, &zone.zone_id, &request, &mut remember)?)
            }
            other => Err(Error::unknown_method(other)),
        }
    }
}

impl Roon {
    fn status(&self) -> PlayerStatus {
        match &self.connection {
            Some(connection) => connection.shared().lock().status.clone(),
            None => PlayerStatus {
                state: ConnectionState::Disconnected,
                message: "not started".to_owned(),
                core: None,
                zones: 0,
            },
        }
    }

    fn zones(&self) -> Vec<Zone> {
        let Some(connection) = &self.connection else { return Vec::new() };
        let state = connection.shared().lock();
        let mut zones: Vec<Zone> = state
            .zones
            .values()
            .map(|zone| zone.to_zone(state.radio_started.get(&zone.zone_id).map(String::as_str)))
            .collect();
        zones.sort_by_key(|zone| zone.name.to_lowercase());
        zones
    }

    fn connected(&self) -> Result<&Connection, Error> {
        let connection =
            self.connection.as_ref().ok_or_else(|| Error::new(ErrorKind::Unavailable, "roon: not started"))?;
        let status = connection.shared().lock().status.clone();
        if status.state != ConnectionState::Connected {
            return Err(Error::new(ErrorKind::Unavailable, format!("roon: not connected: {}", status.message)));
        }
        Ok(connection)
    }

    fn control(&self, control: &Control) -> Result<(), Error> {
        let connection = self.connected()?;
        let zone = find_zone(connection, &control.zone)?;
        let not_allowed = |what: &str| {
            Err(Error::new(ErrorKind::InvalidInput, format!("`{what}` is not allowed on {} now", zone.display_name)))
        };
        let zone_id = json!(zone.zone_id);
        let transport = |name: &str, body: Value| connection.call_ok(&format!("{TRANSPORT}/{name}"), Some(body));
        let simple = |name: &str, allowed: bool| {
            if !allowed {
                return not_allowed(name);
            }
            transport("control", json!({"zone_or_output_id": zone_id, "control": name})).map(drop)
        };
        match &control.action {
            Action::Play => simple("play", zone.is_play_allowed),
            Action::Pause => simple("pause", zone.is_pause_allowed),
            Action::Playpause => simple("playpause", zone.is_play_allowed || zone.is_pause_allowed),
            Action::Stop => simple("stop", true),
            Action::Next => simple("next", zone.is_next_allowed),
            Action::Previous => simple("previous", zone.is_previous_allowed),
            Action::Seek { seconds, relative } => {
                if !zone.is_seek_allowed {
                    return not_allowed("seek");
                }
                let how = if *relative { "relative" } else { "absolute" };
                transport("seek", json!({"zone_or_output_id": zone_id, "how": how, "seconds": seconds})).map(drop)
            }
            Action::Volume { value, relative } => {
                let outputs: Vec<_> = zone.outputs.iter().filter(|output| output.volume.is_some()).collect();
                if outputs.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!("{} has a fixed volume", zone.display_name),
                    ));
                }
                let how = if *relative { "relative" } else { "absolute" };
                for output in outputs {
                    transport("change_volume", json!({"output_id": output.output_id, "how": how, "value": value}))?;
                }
                Ok(())
            }
            Action::Mute { on } => {
                let outputs: Vec<_> = zone.outputs.iter().filter(|output| output.volume.is_some()).collect();
                if outputs.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!("{} has a fixed volume", zone.display_name),
                    ));
                }
                let how = if *on { "mute" } else { "unmute" };
                for output in outputs {
                    transport("mute", json!({"output_id": output.output_id, "how": how}))?;
                }
                Ok(())
            }
            Action::Shuffle { on } => {
                transport("change_settings", json!({"zone_or_output_id": zone_id, "shuffle": on})).map(drop)
            }
            Action::Repeat { mode } => {
                if !matches!(mode.as_str(), "disabled" | "loop" | "loop_one") {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!("repeat `{mode}` is not one of disabled, loop, loop_one"),
                    ));
                }
                transport("change_settings", json!({"zone_or_output_id": zone_id, "loop": mode})).map(drop)
            }
        }
    }
}

/// The zone named `wanted` (case-insensitively) or with that id.
fn find_zone(connection: &Connection, wanted: &str) -> Result<RoonZone, Error> {
    let state = connection.shared().lock();
    let found =
        state.zones.values().find(|zone| zone.zone_id == wanted).or_else(|| {
            state.zones.values().find(|zone| zone.display_name.to_lowercase() == wanted.trim().to_lowercase())
        });
    if let Some(zone) = found {
        return Ok(zone.clone());
    }
    let mut known: Vec<&str> = state.zones.values().map(|zone| zone.display_name.as_str()).collect();
    known.sort_by_key(|name| name.to_lowercase());
    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    Err(Error::new(ErrorKind::InvalidInput, format!("no zone `{wanted}` in Roon; known zones: {known}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|err| Error::new(ErrorKind::Internal, err.to_string()))
}

fn from_json<T: DeserializeOwned>(payload: Value) -> Result<T, Error> {
    serde_json::from_value(payload).map_err(|err| Error::new(ErrorKind::InvalidInput, format!("roon: {err}")))
}
