//! The `musiqued` command line: parse flags, read the config, start the daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use musique_config::{Config, DEFAULT_CONFIG_TOML};

use crate::{Daemon, Paths};

/// How long the exiting process waits for blocking work left on the async runtime.
const RUNTIME_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// musiqued: the musique daemon. Runs with no config at all.
#[derive(Debug, Parser)]
#[command(name = "musiqued", version, about)]
struct Args {
    /// Config file (default: $XDG_CONFIG_HOME/musique/config.toml, if it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the store and the index (overrides the config).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// JSON-RPC socket path (overrides the config).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print the default configuration, with comments, and exit.
    #[arg(long)]
    print_default_config: bool,
}

/// Runs `musiqued` with the process arguments.
pub fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_default_config {
        #[allow(clippy::print_stdout, reason = "this flag's whole job is printing")]
        {
            print!("{DEFAULT_CONFIG_TOML}");
        }
        return ExitCode::SUCCESS;
    }
    let config = match Config::load_or_default(args.config.as_deref()) {
        Ok((config, _)) => config,
        Err(err) => {
            eprintln!("musiqued: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log.level);
    // Before any thread starts: each thread keeps the malloc arena it first gets.
    crate::memory::tune();
    let paths = Paths {
        data_dir: args.data_dir.unwrap_or_else(|| config.data_dir()),
        socket: args.socket.unwrap_or_else(|| config.socket_path()),
        config_file: crate::watch::config_file(args.config),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("musiqued").build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("musiqued: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let daemon = Daemon::start(config, paths)?;
        daemon.run().await
    });
    // Everything that matters has stopped; blocking work still running (an RPC call
    // waiting on a plugin that hangs) is abandoned rather than waited for.
    runtime.shutdown_timeout(RUNTIME_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("musiqued: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging to stderr. The filter is the first of `MUSIQUE_LOG`, `RUST_LOG` (as
/// users of Rust tools expect) and the config's `[log] level`; an empty variable counts as unset.
fn init_logging(level: &str) {
    let from_env = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
    let filter = from_env("MUSIQUE_LOG").or_else(|| from_env("RUST_LOG")).unwrap_or_else(|| level.to_owned());
    let filter =
        tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colors only for a person at a terminal; journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
