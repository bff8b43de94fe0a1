//! The messages that cross the ABI, as JSON: the `hello` negotiation, events
//! a plugin emits, and errors. Unknown fields are ignored and unknown
//! variants decode to `Unknown`, so either side may be newer.

use serde::{Deserialize, Serialize};

use crate::Capability;

/// The protocol major version: a plugin and a host of different majors do not talk.
pub const PROTOCOL_MAJOR: u32 = 1;
/// The protocol minor version: additions only.
pub const PROTOCOL_MINOR: u32 = 0;

/// Method names the SDK itself answers.
pub mod method {
    /// The first call: [`super::Hello`] in, [`super::HelloReply`] out.
    pub const HELLO: &str = "hello";
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
