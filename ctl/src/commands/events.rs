//! `musiquectl events`: what happens in the daemon.
//!
//! Without `--follow` it prints the current state as events and exits: what
//! each running tracker says plays now (`now_playing`) and each running
//! import (`import_progress`). With `--follow` it prints every event of
//! `events.subscribe` as it comes, until Ctrl-C (exit 0) or until the daemon
//! stops (exit 1). One line per event: readable text, or with `--json` the
//! event's JSON exactly as the daemon sent it (JSON lines).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use musique_api::{Event, Feature, ImportState, MusiqueApiClient};
use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Events {
    /// Keep printing events as they come, until Ctrl-C or until the daemon stops.
    #[arg(long)]
    follow: bool,
}

/// The subscription's methods (see `MusiqueApi::events_subscribe`): subscribed to
/// directly, so events this musiquectl does not know still print as the daemon sent them.
const SUBSCRIBE: &str = "events.subscribe";
const UNSUBSCRIBE: &str = "events.unsubscribe";

/// Most import runs read to find the running ones (`imports.list` answers at most this many).
const MAX_RUNS: u32 = 1000;

impl Events {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        if self.follow { follow(session, out).await } else { current(session, out).await }
    }
}

/// Prints every event until Ctrl-C or until the daemon closes the connection.
async fn follow(session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    session.require(Feature::Events)?;
    let mut events: Subscription<Value> = session
        .client
        .subscribe(SUBSCRIBE, ArrayParams::new(), UNSUBSCRIBE)
        .await
        .context("cannot subscribe to events")?;
    // Listening for Ctrl-C from here on, before saying so.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    // On stderr, so stdout holds events only; it also tells scripts the subscription is live.
    eprintln!("following musiqued's events (Ctrl-C to stop)");
    loop {
        let event = tokio::select! {
            _ = interrupt.recv() => return Ok(ExitCode::SUCCESS),
            event = events.next() => event,
        };
        match event {
            Some(Ok(event)) => print(session, out, event)?,
            Some(Err(err)) => return Err(err).context("a malformed event"),
            None => bail!("musiqued closed the connection (it stopped)"),
        }
        out.flush()?;
    }
}

/// Prints what plays now and the running imports, as events.
async fn current(session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    session.require(Feature::Adapters)?;
    session.require(Feature::Imports)?;
    let client = &session.client;
    let mut events = Vec::new();
    for tracker in client.trackers_status(None).await? {
        if let (true, Some(now)) = (tracker.running, tracker.now_playing) {
            events.push(Event::NowPlaying {
                source: tracker.adapter,
                artist: now.artist,
                track: now.track,
                album: now.album,
            });
        }
    }
    let mut runs = client.imports_list(Some(MAX_RUNS)).await?;
    runs.retain(|run| run.state == ImportState::Running);
    // Oldest first, like a stream.
    runs.reverse();
    events.extend(runs.into_iter().map(|run| Event::ImportProgress { run }));
    if events.is_empty() && !session.json {
        writeln!(out, "nothing plays now and no import runs (`musiquectl events --follow` waits for events)")?;
    }
    for event in events {
        print(session, out, serde_json::to_value(event)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one event: its JSON on one line, or a readable line.
fn print(session: &Session, out: &mut impl Write, event: Value) -> anyhow::Result<()> {
    if session.json {
        serde_json::to_writer(&mut *out, &event)?;
        writeln!(out)?;
        return Ok(());
    }
    match serde_json::from_value::<Event>(event.clone()) {
        Ok(Event::Unknown) | Err(_) => {
            let kind = event["type"].as_str().unwrap_or("?");
            writeln!(out, "{kind}: (an event this musiquectl does not know; --json shows it)")?;
        }
        Ok(known) => output::event(out, &known)?,
    }
    Ok(())
}
