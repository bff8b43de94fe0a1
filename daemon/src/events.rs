//! The event bus: a broadcast channel every subscriber reads from.
//!
//! Slow subscribers do not hold anyone up: when one falls more than
//! [`EVENT_BUFFER`] events behind, it misses the oldest and is told how many
//! it missed (a `lagged` event on the RPC subscription).

use tokio::sync::broadcast;

use crate::store::records::{ImportRunRecord, ListenRecord};

/// Events kept for slow subscribers before they start missing some.
pub(crate) const EVENT_BUFFER: usize = 1024;

/// Something that happened in the daemon.
#[derive(Clone)]
pub(crate) enum Event {
    /// An import committed a batch.
    ImportProgress(ImportRunRecord),
    /// An import ended.
    ImportFinished(ImportRunRecord),
    /// A listen arrived through `listens.add` or a plugin.
    ListenRecorded(RecordedListen),
    /// A plugin reports what is playing now.
    NowPlaying { source: String, artist: String, track: String, album: Option<String> },
    /// A zone of a player plugin changed track or state.
    ZonePlayback { source: String, playback: musique_sdk::player::Playback },
    /// A plugin reports progress of a long job.
    PluginProgress { source: String, job: String, done: u64, total: Option<u64> },
}

/// A recorded listen with its key.
#[derive(Clone)]
pub(crate) struct RecordedListen {
    pub(crate) key: crate::store::ListenKey,
    pub(crate) record: ListenRecord,
    /// Whether its track is loved.
    pub(crate) loved: bool,
}

/// Sender side of the bus; cheap to clone.
#[derive(Clone)]
pub(crate) struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus { sender: broadcast::channel(EVENT_BUFFER).0 }
    }
}

impl EventBus {
    /// Publishes an event; no subscribers is fine.
    pub(crate) fn send(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    /// A new subscriber, seeing events from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}
