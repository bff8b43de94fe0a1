//! The messages that cross the ABI, as JSON: the `hello` negotiation, events
//! a plugin emits, and errors. Unknown fields are ignored and unknown
//! variants decode to `Unknown`, so either side may be newer.

use serde::{Deserialize, Serialize};

use crate::Capability;

/// The protocol major version: a plugin and a host of different majors do not talk.
pub const PROTOCOL_MAJOR: u32 = 1;
/// The protocol minor version: additions only.
pub const PROTOCOL_MINOR: u32 = 3;

/// Method names the SDK itself answers.
pub mod method {
    /// The first call: [`super::Hello`] in, [`super::HelloReply`] out.
    pub const HELLO: &str = "hello";
    /// Called once after `hello`; live plugins begin their own work here. Optional.
    pub const START: &str = "start";
    /// `history` capability: one page of past listens, [`super::HistoryRequest`] in,
    /// [`super::HistoryPage`] out. Since 1.1.
    pub const HISTORY_PAGE: &str = "history.page";
    /// `live` capability: how the host should poll, `null` in, [`super::LiveConfig`] out. Since 1.1.
    pub const LIVE_CONFIG: &str = "live.config";
    /// Sign-in, step one: `null` in, [`super::AuthBegin`] out. Since 1.1.
    pub const AUTH_BEGIN: &str = "auth.begin";
    /// Sign-in, step two (poll until done): [`super::AuthComplete`] in, [`super::AuthStatus`] out. Since 1.1.
    pub const AUTH_COMPLETE: &str = "auth.complete";
    /// Loves or unloves a track on the remote service: [`super::Love`] in, `null` out. Since 1.1.
    pub const LOVE: &str = "track.love";
    /// `enrich` capability: [`super::EnrichRequest`] in, `Option<`[`super::Enrichment`]`>` out. Since 1.1.
    pub const ENRICH: &str = "enrich";
}

/// A protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolVersion {
    /// Incompatible changes.
    pub major: u32,
    /// Compatible additions.
    pub minor: u32,
}

impl ProtocolVersion {
    /// The version this crate speaks.
    pub const CURRENT: ProtocolVersion = ProtocolVersion { major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR };
}

/// The host's first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The host's protocol version.
    pub protocol: ProtocolVersion,
    /// Optional features the host supports.
    #[serde(default)]
    pub features: Vec<String>,
}

/// The plugin's answer to [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloReply {
    /// The plugin's protocol version (same major as the host's).
    pub protocol: ProtocolVersion,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// What the plugin can do.
    pub capabilities: Vec<Capability>,
    /// Optional features both sides support.
    #[serde(default)]
    pub features: Vec<String>,
}

/// A play reported by a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listen {
    /// The artist credit (`"A feat. B"` is split by the host).
    pub artist: String,
    /// The track title.
    pub track: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// When the play started, unix seconds.
    pub listened_at: i64,
    /// How long it played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Whether the listener loves the track, when the source says (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loved: Option<bool>,
}

/// What is playing now, as a source reports it (not yet a listen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowPlaying {
    /// The artist credit.
    pub artist: String,
    /// The track title.
    pub track: String,
    /// The album, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
}

/// Asks a `history` plugin for one page of past listens.
///
/// The host drives the walk: it sends `cursor: null` first, stores each page's
/// listens together with the page's `next` cursor, and sends that cursor back
/// for the following page until `next` is `null`. A cursor is the plugin's own
/// JSON; the host only keeps it, so a walk resumes after a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// Listens at or after this time, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Listens before this time, unix seconds (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// Where the walk stands; `null` to begin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

/// One page of past listens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The listens of this page.
    pub listens: Vec<Listen>,
    /// What plays now, when the source said so on this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_playing: Option<NowPlaying>,
    /// The cursor of the next page; `null` when the walk is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<serde_json::Value>,
    /// Pages done so far in this walk, this one included.
    pub pages_done: u64,
    /// Pages in the whole walk, as far as the source knows now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_total: Option<u64>,
}

/// How a `live` plugin wants to be polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveConfig {
    /// Time between two polls.
    pub poll_interval_ms: u64,
}

/// The first step of signing in: a page for the user to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthBegin {
    /// The address the user opens to allow access.
    pub url: String,
    /// What the host passes back to [`method::AUTH_COMPLETE`].
    pub token: String,
}

/// The second step of signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthComplete {
    /// The token from [`AuthBegin`].
    pub token: String,
}

/// Where signing in stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStatus {
    /// `true` once the session is stored; `false` while the user has not allowed access yet.
    pub done: bool,
    /// The account signed in to, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Loves (or unloves) a track on the remote service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Love {
    /// The artist credit.
    pub artist: String,
    /// The track title.
    pub track: String,
    /// `true` to love, `false` to unlove.
    pub loved: bool,
}

/// What to enrich: an artist, or an album when `album` is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichRequest {
    /// The artist.
    pub artist: String,
    /// The album of that artist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
}

/// An image at one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The size as the source names it (`small`, `extralarge`, `mega`, …).
    pub size: String,
    /// Where it is.
    pub url: String,
}

/// What a source knows about an artist or album.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The name as the source spells it.
    pub name: String,
    /// The source's page for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Images, every size the source has.
    #[serde(default)]
    pub images: Vec<Image>,
    /// A short text about it, plain (no markup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Something a plugin tells the host through [`crate::Host::emit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// Plays to record.
    Listens {
        /// The plays.
        listens: Vec<Listen>,
    },
    /// What is playing now (not yet a listen).
    NowPlaying {
        /// The artist credit.
        artist: String,
        /// The track title.
        track: String,
        /// The album, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        album: Option<String>,
    },
    /// What a zone of a `player` adapter plays now (since 1.2): sent on every change
    /// and on position updates; the host turns it into listens.
    Playback(crate::player::Playback),
    /// Where a `player` adapter's connection stands, sent when it changes (since 1.2).
    PlayerStatus(crate::player::PlayerStatus),
    /// Progress of a long job.
    Progress {
        /// The job.
        job: String,
        /// Units done.
        done: u64,
        /// Units in all, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    },
    /// An event this side does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

/// What went wrong, in terms the host can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Credentials are missing, wrong or revoked.
    Unauthorized,
    /// The remote service asks to slow down; see `retry_after_ms`.
    RateLimited,
    /// The remote service is down or unreachable; try again later.
    Unavailable,
    /// A message did not follow the protocol (bad JSON, wrong version).
    Protocol,
    /// The caller's input is not acceptable.
    InvalidInput,
    /// The plugin does not have this method.
    UnknownMethod,
    /// A bug or an unexpected failure inside the plugin.
    Internal,
    /// A kind this side does not know.
    #[serde(other)]
    Unknown,
}

/// An error as it crosses the boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What kind of error.
    pub kind: ErrorKind,
    /// What happened, for people.
    pub message: String,
    /// For [`ErrorKind::RateLimited`]: how long to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}
