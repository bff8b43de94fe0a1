//! Scrobbling: what the ListenBrainz- and Last.fm-compatible endpoints stand
//! on. The credentials clients sign in with ([`credentials`]), the user name
//! they name, what a client last said is playing, and their listens, which go
//! to the library like every other listen.
//!
//! `Scrobbling` is a cheap `Clone` handle; the `http` edge speaks the protocols.

pub(crate) mod credentials;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use credentials::{Api, Credentials};

use crate::clock::Clock;
use crate::error::Result;
use crate::events::{Event, EventBus};
use crate::library::{Library, Listen, Origin, SourceName};
use crate::store::ListenKey;

/// How long a now-playing report without a duration stays current.
const NOW_PLAYING_DEFAULT: Duration = Duration::from_secs(10 * 60);

/// The scrobbling side of the daemon.
#[derive(Clone)]
pub(crate) struct Scrobbling {
    state: Arc<State>,
}

struct State {
    /// Where submitted listens go.
    library: Library,
    /// Who may submit.
    credentials: Credentials,
    /// Now-playing reports are published here.
    events: EventBus,
    /// Times now-playing reports.
    clock: Clock,
    /// The user name scrobblers sign in with.
    user: String,
    /// What a client last said is playing, until it ends. Locked briefly, never across an await.
    now_playing: Mutex<Option<NowPlaying>>,
}

/// What a scrobbler says is playing now.
#[derive(Debug, Clone)]
pub(crate) struct NowPlaying {
    pub(crate) source: String,
    pub(crate) artist: String,
    pub(crate) track: String,
    pub(crate) album: Option<String>,
    pub(crate) duration_ms: Option<u64>,
    /// When it was reported, unix milliseconds.
    pub(crate) at_ms: i64,
}

impl Scrobbling {
    pub(crate) fn new(
        library: Library,
        credentials: Credentials,
        events: EventBus,
        user: Option<String>,
    ) -> Scrobbling {
        let clock = library.clock().clone();
        Scrobbling {
            state: Arc::new(State {
                library,
                credentials,
                events,
                clock,
                user: user.unwrap_or_else(login_name),
                now_playing: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The user name scrobblers sign in with (`[http] user`, else the login name).
    pub(crate) fn user(&self) -> &str {
        &self.state.user
    }

    /// Stores listens a client submitted under its credential's name, all or none.
    pub(crate) async fn submit(
        &self,
        client: &str,
        listens: Vec<Listen>,
        announce: bool,
    ) -> Result<Vec<(ListenKey, bool)>> {
        let source = SourceName::parse(client).map_err(|err| crate::error::Error::invalid(format!("source {err}")))?;
        self.state.library.add(Origin::Scrobbler(source), listens, announce).await
    }

    /// Publishes what a client says is playing, and keeps it until it ends.
    pub(crate) fn now_playing(&self, mut playing: NowPlaying) {
        playing.at_ms = self.state.clock.now_ms();
        self.state.events.send(Event::NowPlaying {
            source: playing.source.clone(),
            artist: playing.artist.clone(),
            track: playing.track.clone(),
            album: playing.album.clone(),
        });
        *self.state.now_playing.lock().expect("now playing lock") = Some(playing);
    }

    /// What is playing now, if a client said so and it has not ended.
    pub(crate) fn playing(&self) -> Option<NowPlaying> {
        let playing = self.state.now_playing.lock().expect("now playing lock").clone()?;
        let lasts = playing.duration_ms.map_or(NOW_PLAYING_DEFAULT, Duration::from_millis);
        let elapsed = Duration::from_millis(self.state.clock.now_ms().saturating_sub(playing.at_ms).max(0) as u64);
        (elapsed < lasts).then_some(playing)
    }
}

/// The login name, when it is a valid scrobbling user name; else `musique`.
fn login_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| musique_config::valid_user_name(name))
        .unwrap_or_else(|| "musique".to_owned())
}
