//! The size report: what the core adds to a Cortex-M4F firmware, in flash, RAM and stack.
//!
//! The probe firmware in `core/size-probe` is built twice for `thumbv7em-none-eabihf` at
//! opt-level "s" with LTO: as a baseline that does everything but call the core, and with its
//! `work` feature, which signs and writes a `DescribeDeviceCertificate` request, reads the
//! documented reply and judges it. Each build is read as an ELF file for its section sizes and
//! symbols, then run under QEMU (`mps2-an386`), where it measures its own peak stack by painting
//! the free stack before the work and looking for the lowest word that lost its paint.
//!
//! The difference between the two builds is what the core adds. The task fails when a probe
//! fails or hangs, or when the core misses a goal.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

use crate::util::{self, Result};

/// The target the probe is built for.
pub const TARGET: &str = "thumbv7em-none-eabihf";

/// The core must add less code (`.text`) than this, in bytes: 24 KB, less than the C libraries
/// for the same job.
pub const TEXT_GOAL: u64 = 24_000;
/// The core must add less stack than this, in bytes.
pub const STACK_GOAL: u64 = 4 * 1024;

/// What C libraries for the same job take at `-Os`, for comparison.
const C_COMPARISON: &str = "C libraries for the same job at -Os: SigV4 signer 4.8 KB + \
                            HTTP client 22.3 KB + JSON parser 2.5 KB = 29.6 KB";

/// How long one run of the probe under QEMU may take; it normally ends in well under a second.
const QEMU_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The line in which the probe reports its peak stack.
const STACK_LINE: &str = "stack-peak-bytes=";

/// How many of the symbols that grew the most the report lists.
const LARGEST: usize = 15;

/// The flash, RAM and stack one build of the probe takes, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Code (`.text`).
    pub text: u64,
    /// Constants (`.rodata`).
    pub rodata: u64,
    /// Initialised statics (`.data`): RAM, and their initial values in flash.
    pub data: u64,
    /// Zeroed and uninitialised statics (`.bss` and `.uninit`).
    pub bss: u64,
    /// The deepest the stack went, counted from its top.
    pub stack: u64,
}

impl Footprint {
    /// Everything stored in flash: code, constants and the initial values of `.data`.
    pub fn flash(&self) -> u64 {
        self.text + self.rodata + self.data
    }

    /// Every static in RAM.
    pub fn static_ram(&self) -> u64 {
        self.data + self.bss
    }
}

/// A symbol that is larger in the full build than in the baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Growth {
    /// The demangled name, without its hash; constants without a name are counted together.
    pub name: String,
    /// Bytes in the full build minus bytes in the baseline.
    pub bytes: u64,
}

/// Both builds of the probe, and what the core adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeReport {
    /// The probe without the core.
    pub baseline: Footprint,
    /// The probe running one complete check with the core.
    pub full: Footprint,
    /// The symbols in flash that grew the most, largest first.
    pub largest: Vec<Growth>,
}

impl SizeReport {
    /// The code the core adds.
    pub fn added_text(&self) -> i64 {
        difference(self.full.text, self.baseline.text)
    }

    /// The flash the core adds: code, constants and initial values.
    pub fn added_flash(&self) -> i64 {
        difference(self.full.flash(), self.baseline.flash())
    }

    /// The stack the core adds.
    pub fn added_stack(&self) -> i64 {
        difference(self.full.stack, self.baseline.stack)
    }

    /// The goals the core misses, in words.
    pub fn missed_goals(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.added_text() >= TEXT_GOAL as i64 {
            missed.push(format!(
                "the core adds {} bytes of code, the goal is under {TEXT_GOAL}",
                self.added_text()
            ));
        }
        if self.added_stack() >= STACK_GOAL as i64 {
            missed.push(format!(
                "the core adds {} of stack, the goal is under {}",
                kib(self.added_stack()),
                kib(STACK_GOAL as i64)
            ));
        }
        missed
    }
}

impl fmt::Display for SizeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (base, full) = (&self.baseline, &self.full);
        let rows: [(&str, u64, u64); 7] = [
            (".text", base.text, full.text),
            (".rodata", base.rodata, full.rodata),
            (".data", base.data, full.data),
            (".bss", base.bss, full.bss),
            ("flash", base.flash(), full.flash()),
            ("static RAM", base.static_ram(), full.static_ram()),
            ("peak stack", base.stack, full.stack),
        ];

        writeln!(
            f,
            "What the core adds to a {TARGET} binary (opt-level \"s\", LTO), in bytes:"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<12}{:>10}{:>10}{:>12}",
            "", "baseline", "full", "core adds"
        )?;
        for (name, base, full) in rows {
            let added = difference(full, base);
            writeln!(f, "{name:<12}{base:>10}{full:>10}{added:>12}")?;
        }
        writeln!(f)?;
        writeln!(f, "flash = .text + .rodata + .data (its initial values)")?;
        writeln!(f, "{}", goal(".text", self.added_text(), TEXT_GOAL))?;
        writeln!(f, "{}", goal("stack", self.added_stack(), STACK_GOAL))?;
        writeln!(
            f,
            "In all the core adds {} bytes of flash (code and constants); for comparison, \
             {C_COMPARISON}.",
            self.added_flash()
        )?;

        if !self.largest.is_empty() {
            writeln!(f)?;
            writeln!(f, "Largest additions to flash, by symbol:")?;
            for growth in &self.largest {
                writeln!(f, "{:>8}  {}", growth.bytes, growth.name)?;
            }
        }
        Ok(())
    }
}

/// Builds and runs both probes, prints the report and checks it against the goals.
///
/// # Errors
///
/// When a build fails, a probe fails or runs out of time, or the core misses a goal (the report
/// is printed first).
pub fn run() -> Result<SizeReport> {
    if !util::has("qemu-system-arm") {
        return Err("qemu-system-arm is missing: run `cargo xtask setup`".into());
    }

    let (baseline, base_symbols) = measure(Variant::Baseline)?;
    let (full, full_symbols) = measure(Variant::Full)?;
    let report = SizeReport {
        baseline,
        full,
        largest: largest_growth(&base_symbols, &full_symbols),
    };
    println!("{report}");

    let missed = report.missed_goals();
    if missed.is_empty() {
        Ok(report)
    } else {
        Err(missed.join("; "))
    }
}

/// The two builds of the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Baseline,
    Full,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::Full => "full",
        }
    }
}

/// Bytes of flash per symbol name.
type Symbols = HashMap<String, u64>;

/// Builds `variant`, reads its sizes and runs it for its stack.
///
/// Each build is copied out as `target/<variant>.elf` in the probe's folder, since both builds
/// link to the same path.
fn measure(variant: Variant) -> Result<(Footprint, Symbols)> {
    let probe = probe_dir();
    let mut build = util::cargo();
    build
        .current_dir(&probe)
        .args(["build", "--release", "--target", TARGET])
        // The probe's own configuration must apply, whatever the caller's environment says.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if variant == Variant::Full {
        build.args(["--features", "work"]);
    }
    util::run(&mut build)?;

    let built = probe
        .join("target")
        .join(TARGET)
        .join("release")
        .join("mqttcert-size-probe");
    let elf = probe.join("target").join(format!("{}.elf", variant.name()));
    fs::copy(&built, &elf).map_err(|err| format!("cannot copy {}: {err}", built.display()))?;

    let bytes = fs::read(&elf).map_err(|err| format!("cannot read {}: {err}", elf.display()))?;
    let (mut footprint, symbols) =
        read_elf(&bytes).map_err(|err| format!("cannot read {} as ELF: {err}", elf.display()))?;
    footprint.stack = run_probe(&elf)?;
    Ok((footprint, symbols))
}

fn probe_dir() -> PathBuf {
    util::root().join("core").join("size-probe")
}

/// The section sizes and the flash symbols of an ELF file.
fn read_elf(bytes: &[u8]) -> object::Result<(Footprint, Symbols)> {
    let file = object::File::parse(bytes)?;

    let mut footprint = Footprint::default();
    for section in file.sections() {
        let size = section.size();
        match section.name()? {
            ".text" => footprint.text += size,
            ".rodata" => footprint.rodata += size,
            ".data" => footprint.data += size,
            ".bss" | ".uninit" => footprint.bss += size,
            _ => {}
        }
    }

    let mut symbols = Symbols::new();
    for symbol in file.symbols() {
        let Some(index) = symbol.section_index() else {
            continue;
        };
        let in_flash = file.section_by_index(index).is_ok_and(|section| {
            matches!(
                section.kind(),
                SectionKind::Text | SectionKind::ReadOnlyData | SectionKind::ReadOnlyString
            )
        });
        if symbol.size() == 0 || !in_flash {
            continue;
        }
        *symbols.entry(symbol_name(symbol.name()?)).or_default() += symbol.size();
    }
    Ok((footprint, symbols))
}

/// A symbol's demangled name without its hash. Unnamed constants (`.Lanon.*`) carry a hash of
/// their crate, which differs between the builds, so they are counted together.
fn symbol_name(raw: &str) -> String {
    if raw.starts_with(".L") {
        return "(unnamed constants)".into();
    }
    format!("{:#}", rustc_demangle::demangle(raw))
}

/// The symbols that are larger in `full` than in `baseline`, the largest growth first.
fn largest_growth(baseline: &Symbols, full: &Symbols) -> Vec<Growth> {
    let mut growth: Vec<Growth> = full
        .iter()
        .filter_map(|(name, &bytes)| {
            let before = baseline.get(name).copied().unwrap_or(0);
            (bytes > before).then(|| Growth {
                name: name.clone(),
                bytes: bytes - before,
            })
        })
        .collect();
    growth.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    growth.truncate(LARGEST);
    growth
}

/// Runs the probe at `elf` under QEMU and returns the peak stack it reports.
fn run_probe(elf: &Path) -> Result<u64> {
    let mut qemu = Command::new("qemu-system-arm");
    qemu.args(["-M", "mps2-an386", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(elf);
    eprintln!("$ {}", describe(&qemu));

    let (status, output) = run_with_limit(&mut qemu, QEMU_TIME_LIMIT)?;
    let Some(status) = status else {
        return Err(format!(
            "the probe {} did not finish within {} s:\n{output}",
            elf.display(),
            QEMU_TIME_LIMIT.as_secs()
        ));
    };
    if !status.success() {
        return Err(format!(
            "the probe {} failed ({status}):\n{output}",
            elf.display()
        ));
    }

    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(STACK_LINE))
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| format!("the probe {} reported no stack:\n{output}", elf.display()))
}

/// Runs `command` with its output captured, killing it after `limit`; returns its status (none
/// when it was killed) and its standard output followed by its standard error.
fn run_with_limit(command: &mut Command, limit: Duration) -> Result<(Option<ExitStatus>, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", describe(command)))?;

    // Read both pipes while waiting, so that a chatty child never blocks on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);

    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                // Killing fails only when the child has just exited, which is what we want.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(err) => return Err(format!("cannot wait for {}: {err}", describe(command))),
        }
    };

    let mut output = String::new();
    for reader in [stdout, stderr].into_iter().flatten() {
        output.push_str(&reader.join().unwrap_or_default());
    }
    Ok((status, output))
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // What was read before an error is still worth showing.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// `command` as a shell line, for the echo.
fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

fn difference(a: u64, b: u64) -> i64 {
    a as i64 - b as i64
}

/// `bytes` in KiB with one decimal.
fn kib(bytes: i64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// One line comparing what the core adds against its goal.
fn goal(what: &str, added: i64, goal: u64) -> String {
    let verdict = if added < goal as i64 { "met" } else { "MISSED" };
    format!(
        "Goal for {what}: under {goal} bytes added; the core adds {added} bytes ({}): {verdict}.",
        kib(added)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footprint(text: u64, stack: u64) -> Footprint {
        Footprint {
            text,
            rodata: 100,
            data: 0,
            bss: 10,
            stack,
        }
    }

    #[test]
    fn goals_are_judged_on_the_difference() {
        let mut report = SizeReport {
            baseline: footprint(5_000, 200),
            full: footprint(5_000 + TEXT_GOAL - 1, 200 + STACK_GOAL - 1),
            largest: Vec::new(),
        };
        assert!(report.missed_goals().is_empty());

        report.full.text += 1;
        report.full.stack += 1;
        assert_eq!(report.missed_goals().len(), 2);
    }

    #[test]
    fn growth_lists_only_what_grew_largest_first() {
        let baseline = Symbols::from([("memcpy".to_string(), 300), ("main".to_string(), 50)]);
        let full = Symbols::from([
            ("memcpy".to_string(), 300),
            ("main".to_string(), 80),
            ("sha256".to_string(), 2_000),
        ]);
        let growth = largest_growth(&baseline, &full);
        let names: Vec<&str> = growth.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["sha256", "main"]);
        assert_eq!(growth[1].bytes, 30);
    }

    #[test]
    fn a_command_out_of_time_is_killed() {
        let started = Instant::now();
        let (status, _) =
            run_with_limit(Command::new("sleep").arg("10"), Duration::from_millis(100)).unwrap();
        assert_eq!(status, None);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn names_lose_their_hash() {
        assert_eq!(
            symbol_name("_ZN4core3fmt5write17h0123456789abcdefE"),
            "core::fmt::write"
        );
        assert_eq!(symbol_name(".Lanon.0123.46"), "(unnamed constants)");
    }
}
