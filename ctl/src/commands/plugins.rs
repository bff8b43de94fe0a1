//! `musiquectl plugins`: list, rescan, disable or enable drop-in plugins.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Plugins {
    #[command(subcommand)]
    action: Option<PluginsAction>,
}

#[derive(Debug, Subcommand)]
enum PluginsAction {
    /// Every plugin file and its state.
    List,
    /// Rescan the plugins directory now.
    Reload,
    /// Stop a plugin until it is enabled again.
    Disable {
        /// The plugin's name.
        name: String,
    },
    /// Start a disabled plugin.
    Enable {
        /// The plugin's name.
        name: String,
    },
}

impl Plugins {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        let plugins = match self.action.unwrap_or(PluginsAction::List) {
            PluginsAction::List => client.plugins_list().await?,
            PluginsAction::Reload => client.plugins_reload().await?,
            PluginsAction::Disable { name } => client.plugins_disable(name).await?,
            PluginsAction::Enable { name } => client.plugins_enable(name).await?,
        };
        if session.json {
            output::json(out, &plugins)?
        } else {
            output::plugins(out, &plugins)?
        }
        Ok(ExitCode::SUCCESS)
    }
}
