//! Running commands and finding the workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An error that ends the task, with a sentence for the operator.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A `cargo` command run from the workspace root, with the toolchain that runs this task.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs `command`, echoing it; fails with its status.
pub fn run(command: &mut Command) -> Result {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|err| format!("cannot run {}: {err}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Runs `command` and returns its standard output; fails with its status and standard error.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .map_err(|err| format!("cannot run {}: {err}", describe(command)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}):\n{}",
            describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` is on the PATH.
pub fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `command` as a shell line, for echoes and error messages.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Writes `text` to `path`.
pub fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|err| format!("{}: {err}", path.display()))
}

/// The soft and hard limits on open files of this process, from `/proc/self/limits` (Linux);
/// `unlimited` reads as `u64::MAX`.
pub fn open_files_limits() -> Result<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits")
        .map_err(|err| format!("cannot read /proc/self/limits: {err}"))?;
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .ok_or("no open-files limit in /proc/self/limits")?;
    let mut values = line.split_whitespace().map(|value| match value {
        "unlimited" => Some(u64::MAX),
        value => value.parse().ok(),
    });
    match (values.next().flatten(), values.next().flatten()) {
        (Some(soft), Some(hard)) => Ok((soft, hard)),
        _ => Err(format!("cannot read the open-files limit {line:?}")),
    }
}

/// `command` run by `sh` after `ulimit -Sn limit`, which raises the soft limit on open files
/// up to the hard one without code of ours touching rlimits. Arguments and environment
/// changes are carried over.
pub fn with_open_files(command: &Command, limit: u64) -> Command {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(format!("ulimit -Sn {limit} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}
