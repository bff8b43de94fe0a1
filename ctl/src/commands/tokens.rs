//! `musiquectl tokens`: credentials for scrobblers posting to the scrobbling endpoints.

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use musique_api::{MusiqueApiClient, TokenApi};

use super::Session;
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Tokens {
    #[command(subcommand)]
    action: TokensAction,
}

#[derive(Debug, Subcommand)]
enum TokensAction {
    /// Issue a credential; its secret is printed this once (the daemon keeps only a hash).
    Create {
        /// A name for the client, such as `navidrome`: also the source of the listens
        /// it submits (a-z, 0-9, '-', '_', '.').
        name: String,
        /// Which API the client speaks.
        #[arg(long, value_enum, default_value = "listenbrainz")]
        api: TokenApiArg,
    },
    /// Every live credential (never the secrets).
    List,
    /// Revoke a credential by id or name; its next request is refused.
    Revoke {
        /// The id or name.
        token: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TokenApiArg {
    /// A ListenBrainz user token.
    Listenbrainz,
    /// A Last.fm API key and shared secret.
    Lastfm,
}

impl Tokens {
    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let client = &session.client;
        match self.action {
            TokensAction::Create { name, api } => {
                let api = match api {
                    TokenApiArg::Listenbrainz => TokenApi::Listenbrainz,
                    TokenApiArg::Lastfm => TokenApi::Lastfm,
                };
                let token = client.tokens_create(name, api).await?;
                let url = client.status().await?.http;
                if session.json { output::json(out, &token)? } else { output::new_token(out, &token, url.as_deref())? }
            }
            TokensAction::List => {
                let tokens = client.tokens_list().await?;
                if session.json { output::json(out, &tokens)? } else { output::tokens(out, &tokens)? }
            }
            TokensAction::Revoke { token } => {
                let revoked = client.tokens_revoke(token).await?;
                if session.json {
                    output::json(out, &revoked)?
                } else {
                    writeln!(out, "revoked {} (id {})", revoked.name, revoked.id)?
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
