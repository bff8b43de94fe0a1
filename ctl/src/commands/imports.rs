//! `musiquectl imports`: import runs, newest first; `imports follow ID` follows a
//! running one to its end; `imports cancel ID` stops one for good.

use std::io::Write;
use std::process::ExitCode;

use musique_api::{ImportState, MusiqueApiClient};

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Imports {
    #[command(subcommand)]
    action: Option<Action>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Follows a running import to its end with a progress bar, and prints its report.
    Follow {
        /// The run's id (see `musiquectl imports`).
        id: u64,
    },
    /// Stops an import for good: a running one at its next record, an interrupted or failed one so
    /// that it is never resumed. What it stored stays.
    Cancel {
        /// The run's id (see `musiquectl imports`).
        id: u64,
    },
}

impl Imports {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        let run = match self.action {
            None => {
                let runs = client.imports_list(Some(self.limit)).await?;
                if session.json {
                    output::json(out, &runs)?
                } else {
                    output::import_runs(out, &runs)?
                }
                return Ok(ExitCode::SUCCESS);
            }
            Some(Action::Follow { id }) => {
                let mut interrupt = super::import::interrupt_signal()?;
                let mut events = client.events_subscribe().await?;
                let run = client.imports_status(id).await?;
                super::import::follow(client, &mut events, &mut interrupt, run, false, session.json).await?
            }
            Some(Action::Cancel { id }) => client.imports_cancel(id).await?,
        };
        if session.json {
            output::json(out, &run)?
        } else {
            output::import_report(out, &run)?
        }
        let failed = run.state == ImportState::Failed || !run.file_errors.is_empty();
        Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}
