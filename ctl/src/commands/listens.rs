//! `musiquectl listens`: listens, newest first.

use std::io::Write;
use std::process::ExitCode;

use musique_api::MusiqueApiClient;

use super::{RangeArgs, Session};
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Listens {
    #[command(flatten)]
    range: RangeArgs,
    /// How many (at most 1000).
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

impl Listens {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let (from, to) = self.range.into_times();
        let page = session.client.listens_list(from, to, Some(self.limit), None).await?;
        if session.json {
            output::json(out, &page)?
        } else {
            output::listens(out, &page.listens)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
