//! `musiquectl search`: artists, albums and tracks by name.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use musique_api::{EntityKind, MusiqueApiClient};

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Search {
    /// What to look for.
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// Only these kinds.
    #[arg(long, value_enum)]
    kind: Vec<KindArg>,
    /// How many results.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Artist,
    Album,
    Track,
}

impl Search {
    /// Mistakes seen without the daemon: nothing to look for.
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        if self.query.iter().all(|word| word.trim().is_empty()) {
            return Err("the search is empty: give a name to look for, such as `musiquectl search beyonce`".to_owned());
        }
        Ok(())
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let kinds = (!self.kind.is_empty()).then(|| {
            self.kind
                .into_iter()
                .map(|kind| match kind {
                    KindArg::Artist => EntityKind::Artist,
                    KindArg::Album => EntityKind::Album,
                    KindArg::Track => EntityKind::Track,
                })
                .collect()
        });
        let results = session.client.search(self.query.join(" "), kinds, Some(self.limit)).await?;
        if session.json {
            output::json(out, &results)?
        } else {
            output::search(out, &results.hits)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
