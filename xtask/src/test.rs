//! `cargo xtask test`: every check, in the order that fails fastest.

use std::time::Instant;

use crate::firmware;
use crate::fuzz;
use crate::setup::{self, TARGETS};
use crate::size;
use crate::util::{self, Result};

pub fn run() -> Result {
    let started = Instant::now();
    setup::run()?;

    step("formatting", &[&["fmt", "--all", "--", "--check"]])?;
    step(
        "lints",
        &[
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[
                "clippy",
                "-p",
                "mqttcert-core",
                "--all-targets",
                "--features",
                "log",
                "--",
                "-D",
                "warnings",
            ],
        ],
    )?;
    step(
        "tests",
        &[
            &["test", "--workspace"],
            &["test", "-p", "mqttcert-core", "--features", "log"],
        ],
    )?;
    eprintln!("\n== documentation (broken links are errors)");
    util::run(
        util::cargo()
            .args(["doc", "-p", "mqttcert-core", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    eprintln!("\n== fuzzing ({} s per target)", fuzz::TEST_SECONDS);
    if fuzz::has_nightly() {
        fuzz::run(fuzz::TEST_SECONDS, &[])?;
    } else {
        eprintln!("fuzzing skipped: no nightly toolchain (rustup toolchain install nightly)");
    }

    for target in TARGETS {
        step(
            &format!("the core for {target} (no_std, no alloc)"),
            &[
                &[
                    "build",
                    "-p",
                    "mqttcert-core",
                    "--no-default-features",
                    "--target",
                    target,
                ],
                &[
                    "clippy",
                    "-p",
                    "mqttcert-core",
                    "--features",
                    "defmt",
                    "--target",
                    target,
                    "--",
                    "-D",
                    "warnings",
                ],
            ],
        )?;
    }

    eprintln!("\n== firmware under QEMU (riscv32 virt) against the emulator");
    firmware::test()?;

    eprintln!("\n== size and stack on thumbv7em-none-eabihf");
    size::run()?;

    eprintln!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs each cargo invocation of one named step.
fn step(name: &str, invocations: &[&[&str]]) -> Result {
    eprintln!("\n== {name}");
    for args in invocations {
        util::run(util::cargo().args(*args))?;
    }
    Ok(())
}
