//! `musiquectl roon`: Roon's zones, now playing, transport controls and
//! browse-to-play, through the daemon's Roon adapter.
//!
//! Commands that act on a zone take `--zone NAME` (or an id); without it, the only
//! zone, or else the only one playing, is meant.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use musique_api::{Event, Feature, MusiqueApiClient, PlayState, TrackRef, Zone};
use tokio::signal::unix::{SignalKind, signal};

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Roon {
    #[command(subcommand)]
    action: RoonAction,
    /// The zone, by name (any case) or id; default: the only zone, or the only one playing.
    #[arg(long, global = true)]
    zone: Option<String>,
}

#[derive(Debug, Subcommand)]
enum RoonAction {
    /// Pairing and connection: the Core, how many zones, what to do next.
    Status,
    /// Every zone: state, volume, outputs, now playing.
    Zones,
    /// What each zone (or `--zone`) plays now; `--follow` keeps printing changes until Ctrl-C.
    Now {
        /// Keep printing changes as they happen.
        #[arg(long)]
        follow: bool,
    },
    /// Start playing.
    Play,
    /// Pause.
    Pause,
    /// Play when paused, pause when playing.
    Playpause,
    /// Stop.
    Stop,
    /// The next track.
    Next,
    /// The start of the track, or the previous one.
    Prev,
    /// Move in the track: `90` goes to 1:30, `+10` and `-10` move by ten seconds.
    Seek {
        /// Seconds, absolute or with a sign.
        #[arg(allow_hyphen_values = true)]
        seconds: String,
    },
    /// Set the volume: `30` sets it, `+2` and `-2` change it; `mute` and `unmute`.
    Volume {
        /// A value, a change with a sign, `mute` or `unmute`.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Shuffle on or off.
    Shuffle {
        /// `on` or `off`.
        on: OnOff,
    },
    /// Repeat: disabled, loop (the queue) or loop_one (the track).
    Repeat {
        /// The mode.
        mode: String,
    },
    /// Play an album from Roon's library.
    Album {
        /// The artist.
        artist: String,
        /// The album.
        title: String,
        /// When several match: the one to play (from the list printed).
        #[arg(long)]
        choice: Option<u32>,
    },
    /// Start radio seeded by an artist.
    Artist {
        /// The artist.
        name: String,
        /// When several match: the one to play.
        #[arg(long)]
        choice: Option<u32>,
    },
    /// Play one of Roon's playlists.
    Playlist {
        /// Its name.
        name: String,
        /// When several match: the one to play.
        #[arg(long)]
        choice: Option<u32>,
    },
    /// Play a live-radio station.
    Radio {
        /// Its name.
        station: String,
        /// When several match: the one to play.
        #[arg(long)]
        choice: Option<u32>,
    },
    /// Play tracks: the first now, the rest queued. Each is `ARTIST - TITLE`.
    Tracks {
        /// `ARTIST - TITLE`, one per argument.
        #[arg(required = true)]
        tracks: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl Roon {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        let zone = self.zone;
        match self.action {
            RoonAction::Status => {
                let status = client.roon_status().await?;
                if session.json { output::json(out, &status)? } else { output::roon_status(out, &status)? }
            }
            RoonAction::Zones => {
                let zones = client.roon_zones().await?;
                if session.json { output::json(out, &zones)? } else { output::zones(out, &zones)? }
            }
            RoonAction::Now { follow } => return now(session, out, zone, follow).await,
            RoonAction::Play => control(session, out, zone, "play", Arg::None).await?,
            RoonAction::Pause => control(session, out, zone, "pause", Arg::None).await?,
            RoonAction::Playpause => control(session, out, zone, "playpause", Arg::None).await?,
            RoonAction::Stop => control(session, out, zone, "stop", Arg::None).await?,
            RoonAction::Next => control(session, out, zone, "next", Arg::None).await?,
            RoonAction::Prev => control(session, out, zone, "previous", Arg::None).await?,
            RoonAction::Seek { seconds } => {
                let (value, relative) = signed(&seconds)?;
                control(session, out, zone, "seek", Arg::Seconds(value, relative)).await?
            }
            RoonAction::Volume { value } => match value.as_str() {
                "mute" => control(session, out, zone, "mute", Arg::On(true)).await?,
                "unmute" => control(session, out, zone, "mute", Arg::On(false)).await?,
                _ => {
                    let (value, relative) = signed(&value)?;
                    control(session, out, zone, "volume", Arg::Value(value, relative)).await?
                }
            },
            RoonAction::Shuffle { on } => {
                control(session, out, zone, "shuffle", Arg::On(matches!(on, OnOff::On))).await?
            }
            RoonAction::Repeat { mode } => control(session, out, zone, "repeat", Arg::Mode(mode)).await?,
            RoonAction::Album { artist, title, choice } => {
                let zone = pick_zone(session, zone).await?;
                let outcome =
                    client.roon_play(zone, "album".into(), Some(artist), Some(title), None, None, None, choice).await?;
                print_outcome(session, out, &outcome)?;
            }
            RoonAction::Artist { name, choice } => {
                let zone = pick_zone(session, zone).await?;
                let outcome =
                    client.roon_play(zone, "artist".into(), None, None, Some(name), None, None, choice).await?;
                print_outcome(session, out, &outcome)?;
            }
            RoonAction::Playlist { name, choice } => {
                let zone = pick_zone(session, zone).await?;
                let outcome =
                    client.roon_play(zone, "playlist".into(), None, None, Some(name), None, None, choice).await?;
                print_outcome(session, out, &outcome)?;
            }
            RoonAction::Radio { station, choice } => {
                let zone = pick_zone(session, zone).await?;
                let outcome =
                    client.roon_play(zone, "radio".into(), None, None, None, Some(station), None, choice).await?;
                print_outcome(session, out, &outcome)?;
            }
            RoonAction::Tracks { tracks } => {
                let tracks = tracks.iter().map(|track| track_ref(track)).collect::<anyhow::Result<Vec<_>>>()?;
                let zone = pick_zone(session, zone).await?;
                let outcome =
                    client.roon_play(zone, "tracks".into(), None, None, None, None, Some(tracks), None).await?;
                print_outcome(session, out, &outcome)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The argument of a control.
enum Arg {
    None,
    Seconds(f64, bool),
    Value(f64, bool),
    On(bool),
    Mode(String),
}

async fn control(
    session: &Session,
    out: &mut impl Write,
    zone: Option<String>,
    action: &str,
    arg: Arg,
) -> anyhow::Result<()> {
    let zone = pick_zone(session, zone).await?;
    let (mut seconds, mut value, mut relative, mut on, mut mode) = (None, None, None, None, None);
    match arg {
        Arg::None => {}
        Arg::Seconds(number, by) => (seconds, relative) = (Some(number), Some(by)),
        Arg::Value(number, by) => (value, relative) = (Some(number), Some(by)),
        Arg::On(flag) => on = Some(flag),
        Arg::Mode(text) => mode = Some(text),
    }
    let zone = session.client.roon_control(zone, action.to_owned(), seconds, value, relative, on, mode).await?;
    if session.json {
        output::json(out, &zone)?;
    } else {
        output::zones(out, std::slice::from_ref(&zone))?;
    }
    Ok(())
}

fn print_outcome(session: &Session, out: &mut impl Write, outcome: &musique_api::PlayOutcome) -> anyhow::Result<()> {
    if session.json {
        output::json(out, outcome)?
    } else {
        output::play_outcome(out, outcome)?
    }
    Ok(())
}

/// `30` → (30, absolute); `+10` / `-10` → (±10, relative).
fn signed(text: &str) -> anyhow::Result<(f64, bool)> {
    let text = text.trim();
    let relative = text.starts_with('+') || text.starts_with('-');
    let number: f64 = text.parse().with_context(|| format!("{text:?} is not a number"))?;
    if !number.is_finite() {
        bail!("{text:?} is not a number");
    }
    Ok((number, relative))
}

/// `ARTIST - TITLE` as a track to find.
fn track_ref(text: &str) -> anyhow::Result<TrackRef> {
    let Some((artist, title)) = text.split_once(" - ").or_else(|| text.split_once(" – ")) else {
        bail!("{text:?}: write each track as \"ARTIST - TITLE\"");
    };
    Ok(TrackRef { artist: artist.trim().to_owned(), title: title.trim().to_owned(), album: None })
}

/// The zone meant: the one named, else the only zone, else the only one playing.
async fn pick_zone(session: &Session, zone: Option<String>) -> anyhow::Result<String> {
    if let Some(zone) = zone {
        return Ok(zone);
    }
    let zones = session.client.roon_zones().await?;
    let playing: Vec<&Zone> = zones.iter().filter(|zone| zone.state == PlayState::Playing).collect();
    match (zones.as_slice(), playing.as_slice()) {
        ([only], _) => Ok(only.zone_id.clone()),
        (_, [only]) => Ok(only.zone_id.clone()),
        ([], _) => bail!("Roon has no zones (see `musiquectl roon status`)"),
        _ => {
            let names: Vec<&str> = zones.iter().map(|zone| zone.name.as_str()).collect();
            bail!("which zone? give --zone: {}", names.join(", "))
        }
    }
}

/// Prints what the zones play; with `follow`, every change until Ctrl-C.
async fn now(session: &Session, out: &mut impl Write, zone: Option<String>, follow: bool) -> anyhow::Result<ExitCode> {
    let wanted =
        |id: &str, name: &str| zone.as_deref().is_none_or(|zone| zone == id || zone.eq_ignore_ascii_case(name));
    let zones = session.client.roon_zones().await?;
    let mut subscription = None;
    if follow {
        session.require(Feature::Events)?;
        // Subscribed before printing the current state, so no change falls between the two.
        let events: Subscription<Event> = session
            .client
            .subscribe("events.subscribe", ArrayParams::new(), "events.unsubscribe")
            .await
            .context("cannot subscribe to events")?;
        subscription = Some(events);
    }
    for zone in zones.iter().filter(|zone| wanted(&zone.zone_id, &zone.name)) {
        let playback = musique_api::Playback {
            zone_id: zone.zone_id.clone(),
            zone: zone.name.clone(),
            state: zone.state,
            track: zone.track.clone(),
            position_ms: zone.position_ms,
            at_ms: 0,
        };
        if session.json {
            output::json(out, &playback)?
        } else {
            writeln!(out, "{}", output::playback_line(&playback))?
        }
    }
    out.flush()?;
    let Some(mut events) = subscription else { return Ok(ExitCode::SUCCESS) };
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    eprintln!("following Roon's zones (Ctrl-C to stop)");
    loop {
        let event = tokio::select! {
            _ = interrupt.recv() => return Ok(ExitCode::SUCCESS),
            event = events.next() => event,
        };
        match event {
            Some(Ok(Event::ZonePlayback { source, playback }))
                if source == "roon" && wanted(&playback.zone_id, &playback.zone) =>
            {
                if session.json {
                    output::json(out, &playback)?
                } else {
                    writeln!(out, "{}", output::playback_line(&playback))?
                }
                out.flush()?;
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err).context("a malformed event"),
            None => bail!("musiqued closed the connection (it stopped)"),
        }
    }
}
