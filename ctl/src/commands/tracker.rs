//! `musiquectl tracker`: start, stop or show an adapter's live tracker.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Tracker {
    /// What to do.
    #[arg(value_enum, default_value = "status")]
    action: TrackerAction,
    /// The adapter (default: lastfm; all for `status`).
    adapter: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TrackerAction {
    Start,
    Stop,
    Status,
}

impl Tracker {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        let adapter = self.adapter;
        let trackers = match self.action {
            TrackerAction::Start => vec![client.trackers_start(adapter.unwrap_or_else(|| "lastfm".into())).await?],
            TrackerAction::Stop => client.trackers_stop(adapter.unwrap_or_else(|| "lastfm".into())).await?,
            TrackerAction::Status => client.trackers_status(adapter).await?,
        };
        if session.json {
            output::json(out, &trackers)?
        } else {
            output::trackers(out, &trackers)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
