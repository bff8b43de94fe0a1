//! musiqued: the musique daemon.
//!
//! It remembers every play, keeps them in a redb store with a tantivy search
//! index, and serves JSON-RPC on a Unix socket.
//!
//! # Layout
//! - [`cli`]: the `musiqued` command line; `main.rs` only calls it.
//! - `daemon`: start-up and shutdown of the components, in order.
//! - `rpc`: the JSON-RPC edge (socket server, conversions, error mapping).
//! - `service`: the logic behind each method.
//! - `store`: redb tables, records, the single writer with group commit, aggregates.
//! - `index`: the tantivy index and the indexer thread that follows the change log.
//! - `import`: export-file imports (Spotify, Last.fm CSV, ListenBrainz), resumable.
//! - `plugins`: the plugin host (drop-in plugins, one thread per instance, timeouts).
//! - `identity`: canonical keys and artist-credit splitting.
//! - `watch`: one file watcher for the plugins directory and the config file (hot reload).
//! - `events`: the broadcast bus behind `events.subscribe`.
//! - `http`: the ListenBrainz- and Last.fm-compatible scrobbling endpoints and `/health`.
//! - `clock`: time parsing and UTC day/month buckets.

pub mod cli;
mod clock;
mod daemon;
mod error;
mod events;
mod http;
mod identity;
mod import;
mod index;
mod plugins;
mod retry;
mod rpc;
mod service;
mod store;
mod trackers;
mod watch;

pub use daemon::{Daemon, Paths};
pub use error::{Error, InternalError, Result, StartupError, UserError};
