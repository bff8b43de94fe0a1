//! An example plugin, built as a `cdylib` and loaded by tests through the
//! real ABI: it echoes, reports a listen, keeps state, and misbehaves on
//! demand (panics, never returns) so the host's defences can be tested.

use musique_sdk::protocol::{Event, Listen};
use musique_sdk::{Capability, Error, Host, Level, Plugin, export_plugin};
use serde_json::{Value, json};

/// The example plugin.
pub struct Echo {
    host: Host,
    config: Value,
}

impl Plugin for Echo {
    const NAME: &'static str = "echo";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: &'static [Capability] = &[Capability::Live];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        if config["panic_on_create"].as_bool() == Some(true) {
            panic!("asked to panic on create");
        }
        host.log(Level::Info, "echo plugin created");
        Ok(Echo { host, config })
    }

    fn call(&mut self, method: &str, payload: Value) -> Result<Value, Error> {
        match method {
            "echo" => {
                tracing::info!(size = payload.to_string().len(), "echoing");
                Ok(payload)
            }
            // Called by the host once the plugin is loaded; its behavior comes from the config.
            "start" => {
                if self.config["panic_on_start"].as_bool() == Some(true) {
                    panic!("asked to panic on start");
                }
                if self.config["hang_on_start"].as_bool() == Some(true) {
                    loop {
                        std::thread::park();
                    }
                }
                if let (Some(artist), Some(track)) =
                    (self.config["start_artist"].as_str(), self.config["start_track"].as_str())
                {
                    let now_playing =
                        Event::NowPlaying { artist: artist.to_owned(), track: track.to_owned(), album: None };
                    self.host.emit(&now_playing)?;
                    self.host.emit(&Event::Progress { job: "start".into(), done: 1, total: Some(1) })?;
                    let listen = Listen {
                        artist: artist.to_owned(),
                        track: track.to_owned(),
                        album: None,
                        listened_at: self.config["start_at"].as_i64().unwrap_or(self.host.now_ms() / 1000),
                        duration_ms: None,
                        loved: None,
                    };
                    self.host.emit(&Event::Listens { listens: vec![listen] })?;
                }
                Ok(Value::Null)
            }
            "listen" => {
                let listen = Listen {
                    artist: payload["artist"].as_str().unwrap_or("Unknown Artist").to_owned(),
                    track: payload["track"].as_str().unwrap_or("Unknown Track").to_owned(),
                    album: None,
                    listened_at: self.host.now_ms() / 1000,
                    duration_ms: None,
                    loved: None,
                };
                self.host.emit(&Event::Listens { listens: vec![listen] })?;
                Ok(json!({ "emitted": 1 }))
            }
            "count" => {
                let count = self
                    .host
                    .kv_get("count")
                    .and_then(|bytes| String::from_utf8(bytes).ok()?.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                self.host.kv_put("count", count.to_string().as_bytes())?;
                Ok(json!(count))
            }
            "panic" => panic!("asked to panic"),
            "hang" => loop {
                std::thread::park();
            },
            other => Err(Error::unknown_method(other)),
        }
    }
}

export_plugin!(Echo);
