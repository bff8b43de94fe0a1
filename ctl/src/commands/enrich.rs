//! `musiquectl enrich`: images and summary of an artist or album.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Enrich {
    /// The artist.
    artist: String,
    /// An album of that artist.
    #[arg(long)]
    album: Option<String>,
    /// Fetch again even when the cached answer is fresh.
    #[arg(long)]
    refresh: bool,
}

impl Enrich {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let info = session.client.enrich_run(self.artist, self.album, Some(self.refresh)).await?;
        if session.json {
            output::json(out, &info)?
        } else {
            output::enrichment(out, &info)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
