//! musiqued: the musique daemon.
//!
//! It remembers every play, keeps them in a redb store with a tantivy search
//! index, and serves JSON-RPC on a Unix socket.
//!
//! # Layout
//! Edges (they speak a protocol and hold the handles they need):
//! - [`cli`]: the `musiqued` command line; `main.rs` only calls it.
//! - `daemon`: start-up and shutdown of the components, in order.
//! - `rpc`: the JSON-RPC edge (socket server, conversions, error mapping).
//! - `http`: the ListenBrainz- and Last.fm-compatible scrobbling endpoints and `/health`.
//! - `watch`: one file watcher for the plugins directory and the config file (hot reload).
//!
//! Domain handles (each a cheap `Clone` owning one concept):
//! - `library`: listens, charts, search, and the one validated ingest path.
//! - `imports`: export-file imports (Spotify, Last.fm CSV, ListenBrainz), and the runs of both kinds.
//! - `adapters`: typed plugin calls, history imports, trackers, retries, enrichment.
//! - `scrobbling`: credentials, now-playing and submissions of the scrobbling endpoints.
//! - `runtime`: the config in force, the components, the status.
//! - `handles`: the handles together, as the edges get them.
//!
//! Foundations:
//! - `store`: redb tables, records, the single writer with group commit, aggregates, typed state.
//! - `index`: the tantivy index and the indexer thread that follows the change log.
//! - `plugins`: the plugin host (drop-in plugins, one thread per instance, timeouts).
//! - `components`: the one shape of long-lived parts (name, health, stop).
//! - `memory`: the allocator's arenas capped, and freed memory handed back after bursts.
//! - `identity`: canonical keys and artist-credit splitting.
//! - `events`: the broadcast bus behind `events.subscribe`.
//! - `clock`: the injectable clock, time parsing and UTC day/month buckets.
//! - `error`: the error taxonomy.

mod adapters;
pub mod cli;
mod clock;
mod components;
mod daemon;
mod error;
mod events;
mod handles;
#[cfg(test)]
mod harness;
mod http;
mod identity;
mod imports;
mod index;
mod library;
mod memory;
mod plugins;
mod rpc;
mod runtime;
mod scrobbling;
mod store;
mod watch;

pub use daemon::{Daemon, Paths};
pub use error::{Error, InternalError, Result, StartupError, UserError};
