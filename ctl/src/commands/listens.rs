//! `musiquectl listens`: listens, newest first, a page at a time or all of them.
//!
//! One page prints the cursor of the next (older) page on stderr, or in `next_cursor`
//! with `--json`; `--cursor` asks for that page. `--all` follows the cursors to the end
//! and prints each page as it comes, so memory stays bounded by one page.

use std::io::Write;
use std::process::ExitCode;

use musique_api::{Listen, MusiqueApiClient};

use super::{RangeArgs, Session};
use crate::output;

#[derive(Debug, clap::Args)]
pub(crate) struct Listens {
    #[command(flatten)]
    range: RangeArgs,
    /// How many (at most 1000; default 20), or with --all how many a page (default 1000).
    #[arg(long)]
    limit: Option<u32>,
    /// Older listens: the page after this cursor, as a previous page gave it.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Every listen (of the range), following the cursors to the end.
    #[arg(long)]
    all: bool,
}

/// Listens on one page unless `--limit` says otherwise.
const PAGE: u32 = 20;

/// Listens a page with `--all` unless `--limit` says otherwise: the most `listens.list` gives.
const ALL_PAGE: u32 = 1000;

impl Listens {
    /// Mistakes seen without the daemon: a range that ends before it starts.
    pub(crate) fn check_usage(&self) -> Result<(), String> {
        self.range.check()
    }

    pub(crate) async fn run(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        if self.all {
            return self.all(session, out).await;
        }
        let next_page_hint = self.next_page_hint();
        let (from, to) = self.range.into_times();
        let limit = self.limit.unwrap_or(PAGE);
        let page = session.client.listens_list(from, to, Some(limit), self.cursor).await?;
        if session.json {
            output::json(out, &page)?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut table = output::ListensTable::default();
        table.page(out, &page.listens)?;
        table.finish(out)?;
        if let Some(cursor) = page.next_cursor {
            // On stderr, so stdout holds the table only.
            eprintln!("older listens: {next_page_hint} --cursor {cursor}");
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Prints every page, one at a time, then ends the table or the JSON document.
    async fn all(self, session: &Session, out: &mut impl Write) -> anyhow::Result<ExitCode> {
        let (from, to) = self.range.into_times();
        let limit = self.limit.unwrap_or(ALL_PAGE);
        let mut cursor = self.cursor;
        let mut table = output::ListensTable::default();
        let mut printed = 0_u64;
        if session.json {
            // The shape of one page, `{"listens": [...]}`, written as the pages come.
            write!(out, "{{\"listens\": [")?;
        }
        loop {
            let page = session.client.listens_list(from.clone(), to.clone(), Some(limit), cursor).await?;
            if session.json {
                json_items(out, &page.listens, &mut printed)?;
            } else {
                table.page(out, &page.listens)?;
            }
            out.flush()?;
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        if session.json {
            writeln!(out, "\n]}}")?;
        } else {
            table.finish(out)?;
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The command that gives the next page, but for its cursor.
    fn next_page_hint(&self) -> String {
        let mut hint = String::from("musiquectl listens");
        for (flag, value) in [("--from", &self.range.from), ("--to", &self.range.to)] {
            if let Some(value) = value {
                hint.push_str(&format!(" {flag} {value:?}"));
            }
        }
        if let Some(limit) = self.limit {
            hint.push_str(&format!(" --limit {limit}"));
        }
        hint
    }
}

/// Writes listens as items of a JSON array, one a line; `printed` counts those written so far.
fn json_items(out: &mut impl Write, listens: &[Listen], printed: &mut u64) -> anyhow::Result<()> {
    for listen in listens {
        let separator = if *printed == 0 { "" } else { "," };
        write!(out, "{separator}\n  ")?;
        serde_json::to_writer(&mut *out, listen)?;
        *printed += 1;
    }
    Ok(())
}
