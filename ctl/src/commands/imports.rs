//! `musiquectl imports`: import runs, newest first.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Imports {
    /// How many.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

impl Imports {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let runs = session.client.imports_list(Some(self.limit)).await?;
        if session.json {
            output::json(out, &runs)?
        } else {
            output::import_runs(out, &runs)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
