//! `musiqued`: see [`musique_daemon::cli`].

fn main() -> std::process::ExitCode {
    musique_daemon::cli::main()
}
