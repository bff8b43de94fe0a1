//! One module per command, each with its clap arguments and one `run`
//! function that calls the daemon and prints the answer.
//!
//! If you're adding a command, it goes in a new module here, plus a variant of
//! `Command` in `main.rs`.

pub(crate) mod enrich;
pub(crate) mod events;
pub(crate) mod import;
pub(crate) mod imports;
pub(crate) mod lastfm;
pub(crate) mod listens;
pub(crate) mod love;
pub(crate) mod plugins;
pub(crate) mod reindex;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod tokens;
pub(crate) mod top;
pub(crate) mod tracker;

use anyhow::bail;
use jsonrpsee::async_client::Client;
use musique_api::{Feature, TimeArg};

/// What every command works with: the connection, and how to print.
pub(crate) struct Session {
    /// The connection to the daemon, its API version already checked.
    pub(crate) client: Client,
    /// Print JSON instead of tables.
    pub(crate) json: bool,
    /// What the daemon announced in `daemon.hello`.
    pub(crate) features: Vec<Feature>,
}

impl Session {
    /// Fails unless the daemon announced `feature`.
    pub(crate) fn require(&self, feature: Feature) -> anyhow::Result<()> {
        if !self.features.contains(&feature) {
            bail!("this musiqued does not offer `{feature}`");
        }
        Ok(())
    }
}

/// A time range, `[from, to)`.
#[derive(Debug, clap::Args)]
pub(crate) struct RangeArgs {
    /// From this time (unix seconds, RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    pub(crate) to: Option<String>,
}

impl RangeArgs {
    pub(crate) fn into_times(self) -> (Option<TimeArg>, Option<TimeArg>) {
        (self.from.map(TimeArg::Text), self.to.map(TimeArg::Text))
    }
}
