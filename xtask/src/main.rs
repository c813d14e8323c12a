//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask demo`: the main job, shown end to end.
//! - `cargo xtask test`: every check, installing what a fresh machine lacks.
//! - `cargo xtask firmware`: the example firmware under QEMU against the emulator.
//! - `cargo xtask size`: what the core adds to a microcontroller binary, and its peak stack.
//! - `cargo xtask fuzz`: the fuzz targets of the core's parsers and request builder.
//! - `cargo xtask setup`: only the installation step of `test`.
//! - `cargo xtask bench-rate`, `cargo xtask bench-tccli`, `cargo xtask bench-load`: benchmarks
//!   of the host side.

mod bench;
mod demo;
mod emulator;
mod firmware;
mod fuzz;
// The forms of a secret that the host tests look for in logs, compiled here for the firmware's
// trace log; not every helper of that file is used here.
#[path = "../../tests/src/hygiene.rs"]
#[allow(dead_code)]
mod hygiene;
mod load;
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
    /// Build the example firmware, run it under QEMU against the emulator and show its log.
    Firmware,
    /// Run a riscv32 firmware ELF under QEMU and print its decoded defmt log (the runner of
    /// `cargo run` for riscv32imac-unknown-none-elf).
    Qemu {
        /// The ELF file.
        elf: std::path::PathBuf,
    },
    /// Run the fuzz targets (nightly toolchain and cargo-fuzz, installed if missing) and report
    /// their executions, corpus and findings.
    Fuzz {
        /// How long to run each target.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
        /// The targets to run; all of them when none is named.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(fuzz::TARGETS))]
        targets: Vec<String>,
    },
    /// Install the cross targets and emulators the checks need.
    Setup,
    /// 200 serials through `mqttcert batch` against an emulator enforcing 20 requests/s.
    BenchRate,
    /// One `mqttcert check` beside the same query by the official tccli: time and memory.
    BenchTccli,
    /// 1,000 clients sending 20,000 signed requests at once to the release emulator over HTTPS:
    /// latency, throughput, errors and memory; fails if any request is not answered exactly once.
    BenchLoad,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::Size => size::run().map(|_| ()),
        Command::Firmware => firmware::run(),
        Command::Qemu { elf } => firmware::run_file(&elf),
        Command::Fuzz { seconds, targets } => fuzz::run(seconds, &targets),
        Command::Setup => setup::run(),
        Command::BenchRate => bench::rate(),
        Command::BenchTccli => bench::tccli(),
        Command::BenchLoad => load::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
