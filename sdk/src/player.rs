//! The `player` capability: an adapter that watches and drives a player with
//! zones (Roon today; MPD or Sonos later). Since protocol 1.2.
//!
//! The adapter reports what each zone plays with [`crate::protocol::Event::Playback`],
//! on every change and on position updates, and nothing more: turning playback into
//! listens (thresholds, pauses, seeks, repeats, radio, listening hours) is the
//! host's policy, the same for every player. The host asks the adapter with the
//! methods of [`method`].

use serde::{Deserialize, Serialize};

/// Method names of the `player` capability.
pub mod method {
    /// The connection to the player: `null` in, [`super::PlayerStatus`] out.
    pub const STATUS: &str = "player.status";
    /// Every zone as it is now: `null` in, `Vec<`[`super::Zone`]`>` out.
    pub const ZONES: &str = "player.zones";
    /// A transport control on one zone: [`super::Control`] in, `null` out.
    pub const CONTROL: &str = "player.control";
    /// Plays something found by browsing the player's library: [`super::PlayRequest`] in,
    /// [`super::PlayOutcome`] out.
    pub const PLAY: &str = "player.play";
}

/// Where the connection to the player stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Looking for a player on the network.
    Discovering,
    /// Connecting (or reconnecting, after a backoff) to a known player.
    Connecting,
    /// Connected, waiting for the user to allow the extension in the player.
    WaitingApproval,
    /// Connected and allowed: zones are watched.
    Connected,
    /// Not connected; `message` says why and when it tries again.
    Disconnected,
    /// A state this side does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

/// The player the adapter is paired with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerCore {
    /// The player's stable id (Roon's `core_id`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its version, as it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was reached (`host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The answer to [`method::STATUS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerStatus {
    /// Where the connection stands.
    pub state: ConnectionState,
    /// What a person should know or do, e.g. "waiting for approval in Roon → Settings → Extensions".
    pub message: String,
    /// The player, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<PlayerCore>,
    /// Zones known now.
    pub zones: u32,
}

/// What a zone is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayState {
    /// Playing.
    Playing,
    /// Paused.
    Paused,
    /// Loading the next thing to play.
    Loading,
    /// Stopped (nothing loaded, or stopped after the end).
    Stopped,
    /// A state this side does not know.
    #[serde(other)]
    Unknown,
}

/// The track a zone has loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayingTrack {
    /// The artist credit.
    pub artist: String,
    /// The title.
    pub title: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// The length, when the player knows it (live radio has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_ms: Option<u64>,
    /// The player's image key for the cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_key: Option<String>,
    /// The station, when the adapter recognised radio (a stream without a length,
    /// or a station it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio: Option<String>,
}

/// One zone's playback as it is now: the payload of [`crate::protocol::Event::Playback`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playback {
    /// The zone's stable id.
    pub zone_id: String,
    /// The zone's name (for grouped outputs, the group's name).
    pub zone: String,
    /// What it does.
    pub state: PlayState,
    /// What it has loaded; `None` when nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<PlayingTrack>,
    /// Where in the track it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_ms: Option<u64>,
    /// When the adapter saw this, unix milliseconds (the host's clock, `Host::now_ms`).
    pub at_ms: i64,
}

/// A volume control of an output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// `number`, `db` or `incremental` (only steps up and down).
    pub kind: String,
    /// The lowest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The highest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The value now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The step between values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Whether it is muted.
    #[serde(default)]
    pub muted: bool,
}

/// An output (a device) of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The output's stable id.
    pub output_id: String,
    /// Its name.
    pub name: String,
    /// Its volume control; `None` for fixed volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Volume>,
}

/// Which controls a zone allows right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowed {
    /// `play`.
    pub play: bool,
    /// `pause`.
    pub pause: bool,
    /// `next`.
    pub next: bool,
    /// `previous`.
    pub previous: bool,
    /// `seek`.
    pub seek: bool,
}

/// A zone's play settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSettings {
    /// Shuffle on.
    pub shuffle: bool,
    /// `disabled`, `loop` or `loop_one`.
    pub repeat: String,
    /// Roon Radio after the queue ends.
    pub auto_radio: bool,
}

/// A zone as the answer to [`method::ZONES`] shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// The zone's stable id.
    pub zone_id: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub state: PlayState,
    /// Its outputs: more than one when outputs are grouped.
    pub outputs: Vec<Output>,
    /// What it has loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<PlayingTrack>,
    /// Where in the track it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_ms: Option<u64>,
    /// Which controls it allows now.
    pub allowed: Allowed,
    /// Its settings.
    pub settings: ZoneSettings,
    /// Tracks left in its queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_items_remaining: Option<u64>,
    /// Time left in its queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms_remaining: Option<u64>,
}

/// A transport control: [`method::CONTROL`]'s payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// The zone, by name (case-insensitive) or id.
    pub zone: String,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
}

/// What a [`Control`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Start playing when paused or stopped.
    Play,
    /// Pause when playing.
    Pause,
    /// Play when paused, pause when playing.
    Playpause,
    /// Stop and release the device.
    Stop,
    /// The next track.
    Next,
    /// The start of the track, or the previous track.
    Previous,
    /// Move in the track: to `seconds`, or by `seconds` when `relative`.
    Seek {
        /// Where to, or by how much.
        seconds: f64,
        /// Whether `seconds` is relative to the position now.
        #[serde(default)]
        relative: bool,
    },
    /// Set the volume of every output of the zone: to `value`, or by `value` when `relative`.
    Volume {
        /// The value in the output's own unit, or the change.
        value: f64,
        /// Whether `value` is a change.
        #[serde(default)]
        relative: bool,
    },
    /// Mute (`on`) or unmute every output of the zone.
    Mute {
        /// Mute or unmute.
        on: bool,
    },
    /// Shuffle on or off.
    Shuffle {
        /// On or off.
        on: bool,
    },
    /// Repeat: `disabled`, `loop` (the queue) or `loop_one` (the track).
    Repeat {
        /// The mode.
        mode: String,
    },
}

/// A track to find and play, for [`PlayWhat::Tracks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    /// The artist.
    pub artist: String,
    /// The title.
    pub title: String,
    /// The album, when known (narrows the search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
}

/// What to play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlayWhat {
    /// An album of an artist.
    Album {
        /// The artist.
        artist: String,
        /// The album's title.
        title: String,
    },
    /// Radio seeded by an artist.
    Artist {
        /// The artist.
        name: String,
    },
    /// One of the player's playlists.
    Playlist {
        /// Its name.
        name: String,
    },
    /// A live-radio station.
    Radio {
        /// Its name.
        station: String,
    },
    /// Tracks: the first plays now, the rest are queued in order.
    Tracks {
        /// The tracks.
        tracks: Vec<TrackRef>,
    },
}

/// [`method::PLAY`]'s payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayRequest {
    /// The zone, by name (case-insensitive) or id.
    pub zone: String,
    /// What to play.
    #[serde(flatten)]
    pub what: PlayWhat,
    /// When an earlier answer listed `choices`, the one picked (0-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<u32>,
}

/// What [`method::PLAY`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayOutcome {
    /// Whether something started playing.
    pub played: bool,
    /// What started, as the player titles it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When several items matched and none was picked: their titles, to pick one with `choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// For tracks: how many were queued after the first.
    #[serde(default)]
    pub queued: u32,
    /// For tracks: those the player's library does not have ("artist — title").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}
