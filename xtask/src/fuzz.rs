//! `cargo xtask fuzz`: the fuzz targets of `fuzz/`, run by cargo-fuzz on the nightly toolchain.
//!
//! Each target runs for a fixed time from its own corpus in the target folder
//! (`fuzz/corpus/<target>` there), which starts as a copy of the seeds committed in
//! `fuzz/corpus/<target>` and keeps what later runs add. libFuzzer's final statistics give the
//! executions and their rate; a crash, a timeout or running out of memory leaves an artifact in
//! `fuzz/artifacts/<target>/` and fails the task.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{self, Result};

/// The fuzz targets, one file each in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 4] = [
    "http_reply",
    "json_envelope",
    "reply_verdict",
    "request_build",
];

/// How long `cargo xtask fuzz` runs each target unless told otherwise.
pub const DEFAULT_SECONDS: u64 = 60;

/// How long `cargo xtask test` runs each target.
pub const TEST_SECONDS: u64 = 15;

/// The longest input libFuzzer makes: a reply a little larger than the core's reply buffer.
const MAX_LEN: usize = 10 * 1024;

/// A single input that takes longer than this, in seconds, is a finding.
const UNIT_TIMEOUT_SECS: u64 = 10;

/// What one run of one target did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Inputs executed.
    pub execs: u64,
    /// Inputs executed per second, on average.
    pub execs_per_sec: u64,
    /// Inputs in the corpus at the end.
    pub corpus: u64,
    /// The file libFuzzer wrote the failing input to, if it found one.
    pub artifact: Option<String>,
    /// libFuzzer's description of the failure (`deadly signal`, `timeout`, …).
    pub failure: Option<String>,
}

/// Whether a nightly toolchain is installed.
pub fn has_nightly() -> bool {
    util::output(Command::new("rustup").args(["toolchain", "list"]))
        .is_ok_and(|list| list.lines().any(|line| line.starts_with("nightly")))
}

/// `cargo xtask fuzz`: runs `targets` (every target when empty) for `seconds` each.
pub fn run(seconds: u64, targets: &[String]) -> Result {
    if !has_nightly() {
        return Err("fuzzing needs a nightly toolchain: rustup toolchain install nightly".into());
    }
    let targets = select(targets)?;
    install_cargo_fuzz()?;
    util::run(nightly().args(["fuzz", "build"]))?;

    let mut outcomes = Vec::with_capacity(targets.len());
    for target in &targets {
        let outcome = run_target(target, seconds)?;
        outcomes.push((*target, outcome));
    }

    print_table(seconds, &outcomes);
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|(target, outcome)| {
            let failure = outcome.failure.as_deref()?;
            let artifact = outcome.artifact.as_deref().unwrap_or("no artifact written");
            Some(format!(
                "{target}: {failure} ({artifact}); reproduce with \
                 `cargo +nightly fuzz run {target} {artifact}`"
            ))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found a failure:\n  {}",
            failures.join("\n  ")
        ))
    }
}

/// The targets named, checked against [`TARGETS`]; all of them when none is named.
fn select(names: &[String]) -> Result<Vec<&'static str>> {
    if names.is_empty() {
        return Ok(TARGETS.to_vec());
    }
    names
        .iter()
        .map(|name| {
            TARGETS
                .into_iter()
                .find(|target| target == name)
                .ok_or_else(|| format!("no fuzz target {name}; there are {}", TARGETS.join(", ")))
        })
        .collect()
}

/// `cargo install cargo-fuzz` when `cargo +nightly fuzz` is missing.
fn install_cargo_fuzz() -> Result {
    let present = nightly()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    util::run(nightly().args(["install", "cargo-fuzz", "--locked"]))
}

/// `cargo +nightly`, run from the workspace root (cargo-fuzz finds `fuzz/` from there).
fn nightly() -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").current_dir(util::root());
    command
}

/// Runs one target for `seconds`, its output going to a log file, and reads the outcome.
fn run_target(target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = corpus_dir(target)?;
    let log_path = fuzz_dir().join("logs").join(format!("{target}.log"));
    create_dir(log_path.parent().unwrap_or(Path::new(".")))?;
    let log =
        fs::File::create(&log_path).map_err(|err| format!("{}: {err}", log_path.display()))?;

    let mut command = nightly();
    command
        .args(["fuzz", "run", target])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!("-timeout={UNIT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::null())
        .stderr(log);
    eprintln!("$ {} 2> {}", util::describe(&command), log_path.display());
    let status = command
        .status()
        .map_err(|err| format!("cannot run cargo +nightly fuzz: {err}"))?;

    let text =
        fs::read_to_string(&log_path).map_err(|err| format!("{}: {err}", log_path.display()))?;
    let mut outcome = parse_log(&text);
    if !status.success() && outcome.failure.is_none() {
        outcome.failure = Some(format!(
            "cargo fuzz failed ({status}), see {}",
            log_path.display()
        ));
    }
    Ok(outcome)
}

/// The target's working corpus, with every committed seed copied in.
fn corpus_dir(target: &str) -> Result<PathBuf> {
    let seeds = util::root().join("fuzz").join("corpus").join(target);
    let corpus = fuzz_dir().join("corpus").join(target);
    create_dir(&corpus)?;
    let entries = fs::read_dir(&seeds).map_err(|err| format!("{}: {err}", seeds.display()))?;
    for entry in entries {
        let seed = entry
            .map_err(|err| format!("{}: {err}", seeds.display()))?
            .path();
        if let Some(name) = seed.file_name() {
            fs::copy(&seed, corpus.join(name))
                .map_err(|err| format!("{}: {err}", seed.display()))?;
        }
    }
    Ok(corpus)
}

/// Where fuzzing keeps its corpora and logs: `fuzz/` in the target folder.
fn fuzz_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
        .join("fuzz")
}

fn create_dir(dir: &Path) -> Result {
    fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))
}

/// Reads libFuzzer's output: the final statistics (`-print_final_stats=1`), the last status
/// line for the corpus, and the failure and its artifact if there was one.
pub fn parse_log(text: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(n) = stat(line, "stat::number_of_executed_units:") {
            outcome.execs = n;
        } else if let Some(n) = stat(line, "stat::average_exec_per_sec:") {
            outcome.execs_per_sec = n;
        } else if let Some(corpus) = corpus_of(line) {
            outcome.corpus = corpus;
        } else if let Some(summary) = line.strip_prefix("SUMMARY: ") {
            // `libFuzzer: deadly signal`, `libFuzzer: timeout`, `AddressSanitizer: …`
            let failure = summary.strip_prefix("libFuzzer: ").unwrap_or(summary);
            outcome.failure.get_or_insert_with(|| failure.to_owned());
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            outcome.artifact = Some(path.trim().to_owned());
        }
    }
    outcome
}

/// The number after `name` on a statistics line.
fn stat(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(name)?.trim().parse().ok()
}

/// The corpus size on a status line: `#1234  NEW  cov: 10 ft: 20 corp: 56/7890b …`.
fn corpus_of(line: &str) -> Option<u64> {
    if !line.starts_with('#') {
        return None;
    }
    let (_, after) = line.split_once(" corp: ")?;
    after.split('/').next()?.parse().ok()
}

fn print_table(seconds: u64, outcomes: &[(&str, Outcome)]) {
    println!(
        "\n{:<14} {:>8} {:>12} {:>9} {:>7}  findings",
        "target", "seconds", "execs", "exec/s", "corpus"
    );
    for (target, outcome) in outcomes {
        let found = match (&outcome.failure, &outcome.artifact) {
            (None, _) => "none".to_owned(),
            (Some(failure), Some(artifact)) => format!("{failure}: {artifact}"),
            (Some(failure), None) => failure.clone(),
        };
        println!(
            "{target:<14} {seconds:>8} {:>12} {:>9} {:>7}  {found}",
            outcome.execs, outcome.execs_per_sec, outcome.corpus
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "\
INFO: seed corpus: files: 10 min: 67b max: 2158b total: 9152b rss: 36Mb
#11\tINITED cov: 377 ft: 598 corp: 10/9152b exec/s: 0 rss: 37Mb
#4096\tNEW    cov: 400 ft: 700 corp: 42/12Kb lim: 2158 exec/s: 2048 rss: 40Mb L: 3/9 MS: 1 \
ChangeBit-
#178464\tDONE   cov: 950 ft: 2054 corp: 549/127Kb lim: 1945 exec/s: 8498 rss: 415Mb
Done 178464 runs in 21 second(s)
stat::number_of_executed_units: 178464
stat::average_exec_per_sec:     8498
stat::new_units_added:          2460
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              415
";

    #[test]
    fn a_clean_run_gives_its_figures() {
        assert_eq!(
            parse_log(CLEAN),
            Outcome {
                execs: 178_464,
                execs_per_sec: 8498,
                corpus: 549,
                artifact: None,
                failure: None,
            }
        );
    }

    #[test]
    fn a_crash_names_its_artifact() {
        let log = "\
#2048\tpulse  cov: 377 ft: 598 corp: 12/9200b exec/s: 1024 rss: 37Mb
thread '<unnamed>' panicked at fuzz_targets/http_reply.rs:109:5:
==21999== ERROR: libFuzzer: deadly signal
SUMMARY: libFuzzer: deadly signal
MS: 1 ChangeByte-; base unit: 0000
artifact_prefix='fuzz/artifacts/http_reply/'; Test unit written to \
fuzz/artifacts/http_reply/crash-798d
stat::number_of_executed_units: 139089
stat::average_exec_per_sec:     17386
";
        let outcome = parse_log(log);
        assert_eq!(outcome.execs, 139_089);
        assert_eq!(outcome.corpus, 12);
        assert_eq!(outcome.failure.as_deref(), Some("deadly signal"));
        assert_eq!(
            outcome.artifact.as_deref(),
            Some("fuzz/artifacts/http_reply/crash-798d")
        );
    }

    #[test]
    fn a_sanitizer_report_and_a_timeout_are_failures() {
        let asan = "==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n\
                    SUMMARY: AddressSanitizer: heap-buffer-overflow src/x.rs:1:1 in f\n";
        assert_eq!(
            parse_log(asan).failure.as_deref(),
            Some("AddressSanitizer: heap-buffer-overflow src/x.rs:1:1 in f")
        );
        let timeout = "==7== ERROR: libFuzzer: timeout after 10 seconds\n\
                       SUMMARY: libFuzzer: timeout\n";
        assert_eq!(parse_log(timeout).failure.as_deref(), Some("timeout"));
    }

    #[test]
    fn only_known_targets_are_selected() {
        assert_eq!(select(&[]).unwrap(), TARGETS.to_vec());
        assert_eq!(select(&["http_reply".into()]).unwrap(), ["http_reply"]);
        assert!(select(&["nope".into()]).is_err());
    }
}
