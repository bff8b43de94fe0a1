//! `musiquectl lastfm login`: sign in to Last.fm (for loving tracks).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Subcommand;
use musique_api::MusiqueApiClient;

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Lastfm {
    #[command(subcommand)]
    action: LastfmAction,
}

#[derive(Debug, Subcommand)]
enum LastfmAction {
    /// Print the page to open, then wait until access is allowed there (up to 10 minutes).
    Login,
}

/// How long `login` waits for the user to allow access.
const LOGIN_WAIT: Duration = Duration::from_secs(600);
/// How often `login` asks whether access was allowed.
const LOGIN_POLL: Duration = Duration::from_secs(3);

impl Lastfm {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let LastfmAction::Login = self.action;
        let client = &session.client;
        let begun = client.auth_begin("lastfm".to_owned()).await?;
        eprintln!("Open this page and allow musique to use your Last.fm account:\n\n  {}\n", begun.url);
        eprintln!("Waiting for Last.fm (Ctrl-C to give up)…");
        let deadline = Instant::now() + LOGIN_WAIT;
        let status = loop {
            let status = client.auth_complete("lastfm".to_owned(), begun.token.clone()).await?;
            if status.done || Instant::now() > deadline {
                break status;
            }
            tokio::time::sleep(LOGIN_POLL).await;
        };
        if session.json {
            output::json(out, &status)?
        } else if status.done {
            writeln!(out, "signed in to Last.fm as {}", status.user.as_deref().unwrap_or("?"))?
        } else {
            bail!("access was not allowed within 10 minutes; run `musiquectl lastfm login` again");
        }
        Ok(ExitCode::SUCCESS)
    }
}
