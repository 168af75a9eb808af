//! `cargo-cloudport`: `cargo cloudport package --cloud aws --example NAME --out DIR`,
//! `cargo cloudport up --local --cloud azure --example NAME`, ….

use std::process::ExitCode;

use clap::Parser;
use cloudport_cli::args::{Cli, normalize};

fn main() -> ExitCode {
    match cloudport_cli::package::run(Cli::parse_from(normalize(std::env::args_os()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
