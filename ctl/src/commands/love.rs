//! `musiquectl love` and `musiquectl unlove`: (un)love a track, also on Last.fm.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Love {
    /// The artist.
    artist: String,
    /// The track.
    track: String,
}

impl Love {
    /// Loves (`loved`) or unloves the track and says so.
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write, loved: bool) -> anyhow::Result<ExitCode> {
        let report = session.client.tracks_love(self.artist, self.track, loved, None).await?;
        if session.json {
            output::json(out, &report)?
        } else {
            let verb = if report.loved { "loved" } else { "unloved" };
            writeln!(out, "{verb} {} – {} (also on {})", report.artist, report.track, report.adapter)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
