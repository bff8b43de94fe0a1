//! `fake-roon`: serves the scripted fake Roon Core for manual runs.
//!
//! `fake-roon [--port N] [--sood-port N] [--hold]` listens on 127.0.0.1 (any
//! free port unless given), answers SOOD when `--sood-port` is given, and
//! holds registrations until approved when `--hold` is given (approve with a
//! line on standard input). It runs until standard input closes.

use std::io::BufRead;

use musique_fake_roon::{Approval, FakeCore, Options};

fn main() {
    let mut options = Options::default();
    let mut sood_port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> u16 {
            args.next().and_then(|value| value.parse().ok()).unwrap_or_else(|| {
                eprintln!("fake-roon: {name} needs a port number");
                std::process::exit(2);
            })
        };
        match arg.as_str() {
            "--port" => options.port = number("--port"),
            "--sood-port" => sood_port = Some(number("--sood-port")),
            "--hold" => options.approval = Approval::Hold,
            other => {
                eprintln!(
                    "fake-roon: unknown argument {other:?}; usage: fake-roon [--port N] [--sood-port N] [--hold]"
                );
                std::process::exit(2);
            }
        }
    }
    let core = FakeCore::with(options);
    eprintln!("fake-roon: core {} listening on ws://127.0.0.1:{}/api", core.core_id(), core.port());
    if let Some(port) = sood_port {
        eprintln!("fake-roon: SOOD on {}", core.start_sood(port));
    }
    eprintln!("fake-roon: press Enter to approve held registrations; close standard input to stop");
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        core.approve();
        eprintln!("fake-roon: approved");
    }
}
