//! musique-sdk: the contract between musiqued and its source adapters.
//!
//! This crate will hold the stable plugin ABI (a C entry point returning a
//! versioned table, JSON messages across it), the safe trait adapter authors
//! implement, and the `export_plugin!` macro. Today it defines the
//! vocabulary both sides already share: what an adapter can do.
//!
//! It depends on no other workspace crate, and never will: adapters build
//! against it alone.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// What an adapter can do, declared when it is loaded.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_snake_case_on_the_wire() {
        let json = serde_json::to_string(&[Capability::History, Capability::Generate]).unwrap();
        assert_eq!(json, r#"["history","generate"]"#);
        let back: Vec<Capability> = serde_json::from_str(r#"["live","enrich"]"#).unwrap();
        assert_eq!(back, vec![Capability::Live, Capability::Enrich]);
        assert!(serde_json::from_str::<Capability>(r#""teleport""#).is_err());
    }
}
