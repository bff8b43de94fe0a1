//! `musiquectl reindex`: rebuild the search index from the store.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Reindex {}

impl Reindex {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let report = session.client.index_rebuild().await?;
        if session.json {
            output::json(out, &report)?
        } else {
            writeln!(out, "search index rebuilt: {} documents in {} ms", report.documents, report.elapsed_ms)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
