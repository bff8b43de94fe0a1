//! musique-sdk: write musique adapters as plugins.
//!
//! A complete plugin, which musiqued can load from its plugins directory
//! when built as a `cdylib`:
//!
//! ```
//! use musique_sdk::protocol::{Event, Listen};
//! use musique_sdk::{Capability, Error, Host, Level, Plugin, export_plugin};
//! use serde_json::{Value, json};
//!
//! /// Reports one made-up play each time it is asked to sync.
//! struct Hello {
//!     host: Host,
//!     greeting: String,
//! }
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const CAPABILITIES: &'static [Capability] = &[Capability::Live];
//!
//!     fn create(host: Host, config: Value) -> Result<Self, Error> {
//!         // `config` is the plugin's `[adapters.hello]` table.
//!         let greeting = config["greeting"].as_str().unwrap_or("hello").to_owned();
//!         host.log(Level::Info, "hello plugin created");
//!         Ok(Hello { host, greeting })
//!     }
//!
//!     fn call(&mut self, method: &str, _payload: Value) -> Result<Value, Error> {
//!         match method {
//!             "sync" => {
//!                 let listen = Listen {
//!                     artist: "Stereolab".into(),
//!                     track: "French Disko".into(),
//!                     album: None,
//!                     listened_at: self.host.now_ms() / 1000,
//!                     duration_ms: None,
//!                     loved: None,
//!                 };
//!                 self.host.emit(&Event::Listens { listens: vec![listen] })?;
//!                 Ok(json!({ "said": self.greeting }))
//!             }
//!             other => Err(Error::unknown_method(other)),
//!         }
//!     }
//! }
//!
//! export_plugin!(Hello);
//!
//! # let host = musique_sdk::testkit::RecordingHost::new();
//! # let mut plugin = host.start::<Hello>(json!({"greeting": "hi"})).unwrap();
//! # assert_eq!(plugin.call("sync", &Value::Null).unwrap(), json!({"said": "hi"}));
//! # assert_eq!(host.events().len(), 1);
//! ```
//!
//! Its `Cargo.toml` needs `crate-type = ["cdylib"]` and `musique-sdk` and
//! `serde_json` as dependencies; keep the default `panic = "unwind"`.
//!
//! # Layout
//! - [`Plugin`], [`Host`], [`Error`], [`export_plugin!`]: what a plugin author uses.
//! - [`protocol`]: the JSON messages (the `hello` negotiation, events, errors).
//! - [`player`]: the `player` capability's messages (zones, playback, control, browse-to-play).
//! - [`abi`]: the frozen C ABI under it all.
//! - [`host`]: the host's side of the ABI (used by musiqued).
//! - [`testkit`]: run a plugin in-process without a daemon.

#![deny(missing_docs)]

pub mod abi;
pub mod collection;
mod forward;
pub mod host;
pub mod player;
mod plugin;
pub mod protocol;
pub mod settings;
pub mod testkit;

#[doc(hidden)]
pub use plugin::__private;
pub use plugin::{Error, Host, Level, Plugin};
pub use protocol::ErrorKind;

use serde::{Deserialize, Serialize};

/// What an adapter can do, declared in its `hello` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Capability {
    /// Imports past listens.
    History,
    /// Reports plays as they happen.
    Live,
    /// Syncs a record collection.
    Collection,
    /// Adds images and descriptions.
    Enrich,
    /// Controls a player (zones, transport).
    Player,
    /// Generates text (descriptions, playlists).
    Generate,
    /// A capability this side does not know (declared by a newer plugin).
    #[serde(other, skip_serializing)]
    Unknown,
}

#[cfg(test)]
mod tests;

/// `docs/plugins.md`, compiled as doctests so its example always builds.
#[cfg(doctest)]
#[doc = include_str!("../../docs/plugins.md")]
pub struct PluginsGuide;
