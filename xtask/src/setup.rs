//! Installs what the checks need on a fresh machine: the cross targets and QEMU.

use std::process::Command;

use crate::util::{self, Result};

/// The embedded targets the core is built for.
pub const TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "riscv32imac-unknown-none-elf"];

/// Debian packages and the program each provides.
const PACKAGES: [(&str, &str); 2] = [
    ("qemu-system-arm", "qemu-system-arm"),
    ("qemu-system-misc", "qemu-system-riscv32"),
];

pub fn run() -> Result {
    targets()?;
    packages()
}

/// `rustup target add` for the pinned toolchain: `rust-toolchain.toml` lists the targets, but
/// automatic installation is not something to count on.
fn targets() -> Result {
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    let missing: Vec<&str> = TARGETS
        .into_iter()
        .filter(|target| !installed.lines().any(|line| line.trim() == *target))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    util::run(
        Command::new("rustup")
            .current_dir(util::root())
            .args(["target", "add"])
            .args(&missing),
    )
}

/// Debian packages, one `apt-get install` each (installing some of them together fails on
/// these machines because of held packages).
fn packages() -> Result {
    let missing: Vec<&str> = PACKAGES
        .into_iter()
        .filter(|(_, program)| !util::has(program))
        .map(|(package, _)| package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !util::has("apt-get") {
        return Err(format!(
            "{} missing and there is no apt-get: install {} by hand",
            missing.join(", "),
            missing.join(" ")
        ));
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut command = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    util::run(&mut apt(&["update", "-qq"]))?;
    for package in missing {
        util::run(&mut apt(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            package,
        ]))?;
    }
    Ok(())
}

fn is_root() -> bool {
    util::output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}
