//! `cargo-cloudport`: `cargo cloudport package --cloud aws --example NAME --out DIR`.

use std::process::ExitCode;

use clap::Parser;
use cloudport_cli::args::{Cli, normalize};

fn main() -> ExitCode {
    let cli = Cli::parse_from(normalize(std::env::args_os()));
    match cloudport_cli::package::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
