//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask demo`: the main job, shown end to end.
//! - `cargo xtask test`: every check, installing what a fresh machine lacks.
//! - `cargo xtask size`: what the core adds to a microcontroller binary, and its peak stack.
//! - `cargo xtask setup`: only the installation step of `test`.

mod demo;
mod setup;
mod size;
mod test;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "The project's own commands", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a signed request for the documented example and the verdict on the documented reply.
    Demo,
    /// Run every check: formatting, lints, unit and integration tests, embedded builds, size.
    Test,
    /// Report the flash and RAM the core adds to a thumbv7em-none-eabihf binary, and its stack.
    Size,
    /// Install the cross targets and emulators the checks need.
    Setup,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::Size => size::run().map(|_| ()),
        Command::Setup => setup::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
