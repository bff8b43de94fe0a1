//! The daemon's own small state (`SERVICE_STATE`): one typed key per kind of
//! value, every value in the records' encoding ([`super::records::encode`]).
//!
//! Schema 1 stored some of these as JSON or raw little-endian numbers;
//! [`upgrade_v1`] rewrites them when a schema-1 store is opened.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{ImportRequestRecord, TrackerRecord, decode, encode};
use super::tables;
use crate::error::{Result, store_err};

/// What a row of the daemon's state is, and whose.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum StateKey {
    /// A scrobbling credential ([`crate::store::records`] `CredentialRecord` of the scrobbling module), by id.
    Credential(u64),
    /// A Last.fm session of the scrobbling endpoints, by the SHA-256 (hex) of its key.
    LastfmSession(String),
    /// Whether an adapter's tracker runs, and since when.
    Tracker(String),
    /// What an adapter import run asked, by run id.
    ImportRequest(u64),
    /// An adapter import run's cursor for its next page (the adapter's JSON, as text), by run id.
    ImportCursor(u64),
    /// An adapter's sync watermark: unix seconds before which its listens are stored.
    SyncWatermark(String),
    /// The background enricher's position: the last album id it handled.
    EnricherPosition,
    /// A player adapter's play in progress on one zone, by adapter and zone id
    /// (`PlaySessionRecord` of the adapters' playback policy).
    PlaySession(String, String),
    /// A collection adapter's folders (the SDK's `Vec<Folder>` as JSON text), by adapter.
    CollectionFolders(String),
}

/// The kinds of [`StateKey`], for listing all rows of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateScope {
    Credential,
    LastfmSession,
    Tracker,
    ImportRequest,
    ImportCursor,
    SyncWatermark,
    Enricher,
    PlaySession,
    CollectionFolders,
}

impl StateScope {
    /// The scope's name in the table (unchanged since schema 1).
    fn name(self) -> &'static str {
        match self {
            StateScope::Credential => "credential",
            StateScope::LastfmSession => "lastfm-session",
            StateScope::Tracker => "tracker",
            StateScope::ImportRequest => "import-request",
            StateScope::ImportCursor => "import-cursor",
            StateScope::SyncWatermark => "sync",
            StateScope::Enricher => "enrich",
            StateScope::PlaySession => "play-session",
            StateScope::CollectionFolders => "collection-folders",
        }
    }
}

impl StateKey {
    pub(crate) fn scope(&self) -> StateScope {
        match self {
            StateKey::Credential(_) => StateScope::Credential,
            StateKey::LastfmSession(_) => StateScope::LastfmSession,
            StateKey::Tracker(_) => StateScope::Tracker,
            StateKey::ImportRequest(_) => StateScope::ImportRequest,
            StateKey::ImportCursor(_) => StateScope::ImportCursor,
            StateKey::SyncWatermark(_) => StateScope::SyncWatermark,
            StateKey::EnricherPosition => StateScope::Enricher,
            StateKey::PlaySession(..) => StateScope::PlaySession,
            StateKey::CollectionFolders(_) => StateScope::CollectionFolders,
        }
    }

    /// The row's key within its scope.
    fn key(&self) -> String {
        match self {
            StateKey::Credential(id) => format!("{id:016x}"),
            StateKey::ImportRequest(run) | StateKey::ImportCursor(run) => run.to_string(),
            StateKey::LastfmSession(name)
            | StateKey::Tracker(name)
            | StateKey::SyncWatermark(name)
            | StateKey::CollectionFolders(name) => name.clone(),
            StateKey::EnricherPosition => "album-cursor".to_owned(),
            // Unit separator: neither an adapter name nor a zone id contains it.
            StateKey::PlaySession(adapter, zone) => format!("{adapter}\u{1f}{zone}"),
        }
    }

    /// The table row: (scope, key).
    pub(super) fn row(&self) -> (&'static str, String) {
        (self.scope().name(), self.key())
    }
}

/// Encodes a state value.
pub(super) fn encode_value<T: Serialize>(value: &T) -> Vec<u8> {
    encode(value)
}

/// Decodes a state value.
pub(super) fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    decode(bytes, "service_state")
}

/// The scope name of a row, for listing.
pub(super) fn scope_name(scope: StateScope) -> &'static str {
    scope.name()
}

/// Rewrites schema-1 state values (JSON and raw numbers) in the records' encoding.
/// A value that cannot be read is dropped with a warning: all of them are
/// cursors or flags that the daemon rebuilds (a run resumes from its start, a
/// tracker is started again).
pub(super) fn upgrade_v1(txn: &redb::WriteTransaction) -> Result<()> {
    use redb::ReadableTable;
    let mut table = txn.open_table(tables::SERVICE_STATE).map_err(store_err("open service state"))?;
    let mut rewrites: Vec<(String, String, Option<Vec<u8>>)> = Vec::new();
    for row in table.iter().map_err(store_err("scan service state"))? {
        let (key, value) = row.map_err(store_err("scan service state"))?;
        let (scope, name) = key.value();
        let bytes = value.value();
        let converted = match scope {
            "tracker" => Some(serde_json::from_slice::<TrackerRecord>(bytes).ok().map(|record| encode(&record))),
            "import-request" => {
                Some(serde_json::from_slice::<ImportRequestRecord>(bytes).ok().map(|record| encode(&record)))
            }
            "import-cursor" => Some(
                std::str::from_utf8(bytes)
                    .ok()
                    .filter(|text| serde_json::from_str::<serde_json::Value>(text).is_ok())
                    .map(|text| encode(&text.to_owned())),
            ),
            "sync" => Some(<[u8; 8]>::try_from(bytes).ok().map(|raw| encode(&i64::from_le_bytes(raw)))),
            "enrich" => Some(<[u8; 8]>::try_from(bytes).ok().map(|raw| encode(&u64::from_le_bytes(raw)))),
            // Credentials and sessions were in the records' encoding already.
            _ => None,
        };
        if let Some(converted) = converted {
            if converted.is_none() {
                tracing::warn!(scope, key = name, "dropping an unreadable schema-1 state value");
            }
            rewrites.push((scope.to_owned(), name.to_owned(), converted));
        }
    }
    for (scope, name, value) in rewrites {
        match value {
            Some(value) => {
                table.insert((scope.as_str(), name.as_str()), value.as_slice()).map_err(store_err("upgrade state"))?;
            }
            None => {
                table.remove((scope.as_str(), name.as_str())).map_err(store_err("upgrade state"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_schema_1_rows() {
        let cases = [
            (StateKey::Credential(10), ("credential", "000000000000000a")),
            (StateKey::LastfmSession("ab12".into()), ("lastfm-session", "ab12")),
            (StateKey::Tracker("lastfm".into()), ("tracker", "lastfm")),
            (StateKey::ImportRequest(7), ("import-request", "7")),
            (StateKey::ImportCursor(7), ("import-cursor", "7")),
            (StateKey::SyncWatermark("lastfm".into()), ("sync", "lastfm")),
            (StateKey::EnricherPosition, ("enrich", "album-cursor")),
        ];
        for (key, (scope, name)) in cases {
            assert_eq!(key.row(), (scope, name.to_owned()), "{key:?}");
        }
    }
}
