//! `musiquectl status`: counts, sizes, index lag and components.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Status {}

impl Status {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let status = session.client.status().await?;
        if session.json {
            output::json(out, &status)?
        } else {
            output::status(out, &status)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
