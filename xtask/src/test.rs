//! `cargo xtask test`: every check, in the order that fails fastest.

use std::process::Command;
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
    miri()?;
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

/// The core's tests under Miri, which finds undefined behaviour in the core's dependencies
/// (the core itself forbids unsafe code): the unit tests, `reply.rs`, `vectors.rs` and the
/// doctests, with the exhaustive loops sampled. The property tests are ignored under Miri, too
/// slow there; `cargo test` runs them. Miri needs a nightly toolchain: without one the step says
/// it is skipped.
fn miri() -> Result {
    eprintln!("\n== the core under Miri");
    let toolchains =
        util::output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !toolchains.lines().any(|line| line.starts_with("nightly")) {
        eprintln!("miri skipped: no nightly toolchain");
        return Ok(());
    }

    util::run(Command::new("rustup").args([
        "component",
        "add",
        "--toolchain",
        "nightly",
        "miri",
        "rust-src",
    ]))?;

    // The rustup proxy, not the pinned toolchain's cargo, so that `+nightly` chooses the
    // toolchain; the variables the pinned cargo set would choose it instead. Miri builds into
    // its own `miri` folder of the target directory.
    let started = Instant::now();
    util::run(
        Command::new("cargo")
            .current_dir(util::root())
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .args(["+nightly", "miri", "test", "-p", "mqttcert-core"]),
    )?;
    eprintln!("miri passed in {:.0} s", started.elapsed().as_secs_f64());
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
