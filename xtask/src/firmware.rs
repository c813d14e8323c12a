//! `cargo xtask firmware`: the example firmware under QEMU against the local emulator of the API.
//!
//! Each scenario starts the emulator (HTTP and HTTPS, with a CA made for the run), builds the
//! `qemu-virt` binary of `mqttcert-firmware` with the build-time configuration that points it at
//! the emulator (`MQTTCERT_*` variables, see `firmware-example/build.rs`), runs it on
//! `qemu-system-riscv32 -M virt` with a time limit, decodes the defmt frames the firmware wrote
//! to the UART with the ELF's table, prints them, and compares QEMU's exit status and the log
//! with what the scenario expects.
//!
//! One scenario is built with `DEFMT_LOG=trace`, every log statement of the firmware, the core
//! and embedded-tls compiled in, and its decoded log must hold neither the configured secret
//! key nor a key derived from it for the day (`kDate`, `kService`, `kSigning`), in any of the
//! forms of `tests/src/hygiene.rs`. It builds in a target folder of its own, so that switching
//! the log level does not rebuild the other scenarios' dependencies.
//!
//! Under QEMU's user network the guest reaches the host's `127.0.0.1:PORT` at `10.0.2.2:PORT`,
//! so the emulator listens on the loopback only and nothing leaves the machine.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use defmt_decoder::{DecodeError, Table};

use crate::emulator::{self, Emulator};
use crate::hygiene;
use crate::util::{self, Result};

/// The firmware's target.
pub const TARGET: &str = "riscv32imac-unknown-none-elf";
/// The package and binary of the board support.
const PACKAGE: &str = "mqttcert-firmware";
const BINARY: &str = "qemu-virt";
/// The cargo profile the firmware is built with (the root Cargo.toml: size-optimised, LTO).
const PROFILE: &str = "firmware";

/// How long one run under QEMU may take; a run normally ends within a few seconds.
const QEMU_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The host as the guest sees it on QEMU's user network.
const HOST_FROM_GUEST: &str = "10.0.2.2";
/// The API host name the firmware signs for and expects in the server certificate.
const API_HOST: &str = "mqtt.tencentcloudapi.com";
/// The emulator's demo fleet: its instance, region and first credential.
const DEMO_INSTANCE: &str = "mqtt-demo01";
const DEMO_REGION: &str = "ap-guangzhou";
const DEMO_SECRET_ID: &str = "AKIDDEMO7kq2ZCu4mQx9Tn3Lw8Rb5Hs6Jp1Vy0EXAMPLE";
const DEMO_SECRET_KEY: &str = "DemoSecretKeyForTheLocalEmulator01";
/// The demo fleet's healthy, expiring (in 10 days) and revoked certificates.
const DEMO_HEALTHY: &str = "5a1e0000000000000000000000000000000000a1";
const DEMO_EXPIRING: &str = "5a1e0000000000000000000000000000000000b2";
const DEMO_REVOKED: &str = "5a1e0000000000000000000000000000000000c3";
/// A serial the demo fleet does not have.
const UNKNOWN_SERIAL: &str = "5a1e00000000000000000000000000000000ffff";
/// What the firmware logs when it finds its clock slow and sets it by the server's (the
/// seconds vary by one with the moment of the run).
const CLOCK_CORRECTED: &[&str] = &[" s behind the server's", "; signing again"];

/// The log level of every scenario but the trace one: info, but for the network stack's own
/// link and address changes, which the firmware reports in its own words.
const INFO_LOG: &str = "info,embassy_net=warn";

/// How long the emulator may take to log the last request it answered after QEMU has exited.
const LOG_PATIENCE: Duration = Duration::from_secs(2);

/// The firmware's exit statuses (`firmware-example/src/bin/qemu-virt/exit.rs`), named.
const STATUSES: [(i32, &str); 8] = [
    (0, "usable certificate, or bring-up passed"),
    (2, "certificate not usable"),
    (3, "certificate not found"),
    (4, "TLS failure"),
    (5, "network failure"),
    (6, "API error or unreadable reply"),
    (7, "board failure"),
    (8, "firmware panic"),
];

/// One run of the firmware and what it must show.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// A name for the report.
    pub name: &'static str,
    /// Only the plain HTTP exchange (`MQTTCERT_BRINGUP=1`), against the emulator's HTTP port.
    pub bringup: bool,
    /// The certificate serial the firmware asks about (`MQTTCERT_SERIAL`).
    pub serial: &'static str,
    /// Instead of `serial`, the device's own certificate (a PEM file under the workspace) that
    /// the firmware reads its serial from (`MQTTCERT_DEVICE_CERT`).
    pub device_cert: Option<&'static str>,
    /// The DNS name of the emulator's server certificate.
    pub tls_name: &'static str,
    /// Options of the emulator besides its listeners and the demo fleet.
    pub emulator_args: &'static [&'static str],
    /// Checks the firmware makes, one second apart, before it exits (`MQTTCERT_CHECKS`).
    pub checks: u32,
    /// How far the guest's real-time clock is set from the host's, in seconds (`-rtc base=`).
    pub clock_offset_secs: i64,
    /// Whether the machine has its entropy device (`-device virtio-rng-device`).
    pub entropy: bool,
    /// The exit status QEMU must return.
    pub status: i32,
    /// Text that a line of the decoded log must contain, once per check.
    pub log_contains: &'static str,
    /// Other texts the decoded log must contain, each at least once.
    pub log_also: &'static [&'static str],
    /// How many requests must reach the emulator, answered or faulted: none when the TLS
    /// handshake fails.
    pub requests: usize,
    /// Built with `DEFMT_LOG=trace` rather than [`INFO_LOG`]: the log must then hold trace
    /// lines and no secret.
    pub trace: bool,
}

/// A check of the demo fleet's healthy certificate that succeeds: what the scenarios below
/// change.
const HEALTHY: Scenario = Scenario {
    name: "healthy certificate",
    bringup: false,
    serial: DEMO_HEALTHY,
    device_cert: None,
    tls_name: API_HOST,
    emulator_args: &[],
    checks: 1,
    clock_offset_secs: 0,
    entropy: true,
    status: 0,
    log_contains: "healthy, ",
    log_also: &[],
    requests: 1,
    trace: false,
};

/// The bring-up: boot, network, one HTTP exchange with the emulator.
pub const BRINGUP: Scenario = Scenario {
    name: "bring-up",
    bringup: true,
    log_contains: "bring-up reply: HTTP/1.1",
    ..HEALTHY
};

/// Full checks over TLS against the demo fleet, one per outcome the firmware tells apart.
pub const CHECKS: [Scenario; 11] = [
    Scenario {
        checks: 2,
        requests: 2,
        ..HEALTHY
    },
    Scenario {
        name: "serial read from the device's own certificate",
        device_cert: Some("tests/fleets/demo-gateway-1.pem"),
        log_contains: "certificate 5a1e0000000000000000000000000000000000a1: healthy",
        ..HEALTHY
    },
    Scenario {
        name: "device clock an hour slow",
        clock_offset_secs: -3600,
        log_also: CLOCK_CORRECTED,
        requests: 2,
        ..HEALTHY
    },
    Scenario {
        name: "expiring certificate",
        serial: DEMO_EXPIRING,
        log_contains: "expiring",
        ..HEALTHY
    },
    Scenario {
        name: "revoked certificate",
        serial: DEMO_REVOKED,
        status: 2,
        log_contains: "revoked",
        ..HEALTHY
    },
    Scenario {
        name: "unknown certificate",
        serial: UNKNOWN_SERIAL,
        status: 3,
        log_contains: "not found",
        ..HEALTHY
    },
    Scenario {
        name: "connection reset mid-reply once",
        emulator_args: &["--fault", "reset", "--fault-count", "1"],
        // The reset reaches the firmware through the socket or through embedded-tls, which
        // name it differently.
        log_also: &["attempt 1 of 4 failed: Transfer("],
        requests: 2,
        ..HEALTHY
    },
    Scenario {
        name: "connection reset mid-reply on every attempt",
        emulator_args: &["--fault", "reset"],
        status: 5,
        log_contains: "certificate check failed after 4 attempts",
        requests: 4,
        ..HEALTHY
    },
    Scenario {
        name: "server not signed by the pinned CA",
        emulator_args: &["--tls-untrusted-issuer"],
        status: 4,
        log_contains: "check failed: Handshake(InvalidCertificate)",
        requests: 0,
        ..HEALTHY
    },
    Scenario {
        name: "server certificate for another host",
        tls_name: "api.another-host.example",
        status: 4,
        log_contains: "refused: issued for another host name",
        requests: 0,
        ..HEALTHY
    },
    Scenario {
        name: "machine without an entropy device",
        entropy: false,
        status: 7,
        log_contains: "a virtio-net and a virtio-rng device are needed",
        requests: 0,
        ..HEALTHY
    },
];

/// A check with every log statement compiled in, the device clock an hour slow so that the
/// refused request, the clock correction and the second signature are logged too.
pub const TRACE: Scenario = Scenario {
    name: "trace log, device clock an hour slow: no secret in it",
    clock_offset_secs: -3600,
    log_contains: "healthy",
    log_also: CLOCK_CORRECTED,
    requests: 2,
    trace: true,
    ..HEALTHY
};

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    /// QEMU's exit status.
    pub status: i32,
    /// The decoded log, one line per frame.
    pub log: Vec<String>,
    /// Wall time from starting QEMU to its exit.
    pub elapsed: Duration,
}

/// What the firmware image takes, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Image {
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
}

/// `cargo xtask firmware`: the bring-up, then every check scenario.
pub fn run() -> Result {
    let mut scenarios = vec![BRINGUP];
    scenarios.extend(CHECKS);
    scenarios.push(TRACE);
    run_scenarios(&scenarios)
}

/// The step of `cargo xtask test`: every scenario, then clippy on the board support, which
/// needs a complete build-time configuration (the CA the last scenario's emulator made).
pub fn test() -> Result {
    run()?;
    let ca_pem = tls_dir().join("ca.pem");
    let mut clippy = util::cargo();
    clippy
        .args([
            "clippy",
            "-p",
            PACKAGE,
            "--features",
            "qemu",
            "--target",
            TARGET,
        ])
        .args(["--", "-D", "warnings"]);
    for (name, value) in configuration(&CHECKS[0], 443, &ca_pem) {
        clippy.env(name, value);
    }
    util::run(&mut clippy)
}

/// Builds the emulator, then runs each scenario; fails at the first one that does not show what
/// it must.
pub fn run_scenarios(scenarios: &[Scenario]) -> Result {
    if !util::has("qemu-system-riscv32") {
        return Err("qemu-system-riscv32 is missing: run `cargo xtask setup`".into());
    }
    let bin = emulator::build("dev")?;

    for scenario in scenarios {
        eprintln!("\n-- firmware scenario: {}", scenario.name);
        let tls_dir = tls_dir();
        // A fresh CA each time, so that the names of the server certificate are the ones asked.
        let _ = fs::remove_dir_all(&tls_dir);
        let mut args = vec!["--demo", "--tls-name", scenario.tls_name];
        args.extend(scenario.emulator_args);
        let emulator = Emulator::start_recording(&bin, &args, Some(&tls_dir))?;

        let port = if scenario.bringup {
            port_of(&emulator.http)?
        } else {
            port_of(emulator.https.as_deref().unwrap_or_default())?
        };
        let started = Instant::now();
        let elf = build(scenario, port, &tls_dir.join("ca.pem"))?;
        let build_time = started.elapsed();

        let run_started = unix_now()?;
        let run = run_elf(&elf, scenario.clock_offset_secs, scenario.entropy)?;
        let run_ended = unix_now()?;
        let answered = emulator
            .answered(scenario.requests, LOG_PATIENCE)
            .unwrap_or_default();
        let emulator_log = emulator.log();
        drop(emulator);
        for line in &run.log {
            println!("  {line}");
        }

        let image = image(&elf)?;
        println!(
            "{}: exit status {} ({}), {} reached the emulator, QEMU ran {:.2} s; build {:.1} s; \
             .text {} B, .rodata {} B, .data + .bss {} B",
            scenario.name,
            run.status,
            describe_status(run.status),
            requests(answered),
            run.elapsed.as_secs_f64(),
            build_time.as_secs_f64(),
            image.text,
            image.rodata,
            image.data + image.bss,
        );
        check(scenario, &run)?;
        if answered != scenario.requests {
            return Err(format!(
                "firmware scenario {}: {} reached the emulator, expected {}; its log:\n{}",
                scenario.name,
                requests(answered),
                scenario.requests,
                emulator_log.join("\n")
            ));
        }
        if scenario.trace {
            // The days the firmware may have signed for: its own clock's, then the server's.
            let mut days: Vec<String> = [run_started, run_ended]
                .into_iter()
                .flat_map(|now| [now + scenario.clock_offset_secs, now])
                .map(|secs| utc(secs)[..10].to_owned())
                .collect();
            days.sort();
            days.dedup();
            no_secret(scenario, &run, &days)?;
            println!(
                "{}: {} decoded lines at trace level, none holds the secret key or a key \
                 derived from it for {}",
                scenario.name,
                run.log.len(),
                days.join(" or ")
            );
        }
    }
    Ok(())
}

/// Whether the trace log of `run` shows trace lines and nothing of the configured secret key
/// or of the keys derived from it for `days`.
fn no_secret(scenario: &Scenario, run: &Run, days: &[String]) -> Result {
    if !run.log.iter().any(|line| line.contains("TRACE ")) {
        return Err(format!(
            "firmware scenario {}: no trace line in the log, so DEFMT_LOG=trace did not apply",
            scenario.name
        ));
    }
    let mut secrets = hygiene::Secrets::default();
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    secrets.key("the secret key", DEMO_SECRET_KEY, &days, "mqtt");
    let log = run.log.join("\n");
    match secrets.find(log.as_bytes()) {
        None => Ok(()),
        Some(found) => Err(format!(
            "firmware scenario {}: {found} is in the decoded log",
            scenario.name
        )),
    }
}

/// The host's clock, in Unix seconds.
fn unix_now() -> Result<i64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the host clock is before 1970".to_owned())?
        .as_secs() as i64)
}

/// Whether `run` shows what `scenario` expects.
fn check(scenario: &Scenario, run: &Run) -> Result {
    if run.status != scenario.status {
        return Err(format!(
            "firmware scenario {}: exit status {} ({}), expected {} ({})",
            scenario.name,
            run.status,
            describe_status(run.status),
            scenario.status,
            describe_status(scenario.status)
        ));
    }
    // Each check logs its outcome once.
    let found = run
        .log
        .iter()
        .filter(|line| line.contains(scenario.log_contains))
        .count();
    if found < scenario.checks as usize {
        return Err(format!(
            "firmware scenario {}: {found} log lines contain {:?}, expected {}",
            scenario.name, scenario.log_contains, scenario.checks
        ));
    }
    if let Some(missing) = scenario
        .log_also
        .iter()
        .find(|text| !run.log.iter().any(|line| line.contains(**text)))
    {
        return Err(format!(
            "firmware scenario {}: no log line contains {missing:?}",
            scenario.name
        ));
    }
    Ok(())
}

/// The port of an `http://127.0.0.1:PORT` address.
fn port_of(url: &str) -> Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("no port in the emulator's address {url:?}"))
}

/// Builds the firmware for `scenario` against the emulator at `port`; returns the ELF's path.
fn build(scenario: &Scenario, port: u16, ca_pem: &Path) -> Result<PathBuf> {
    let mut cargo = util::cargo();
    cargo
        .args([
            "build",
            "--profile",
            PROFILE,
            "-p",
            PACKAGE,
            "--features",
            "qemu",
        ])
        .args(["--bin", BINARY, "--target", TARGET]);
    for (name, value) in configuration(scenario, port, ca_pem) {
        cargo.env(name, value);
    }
    let target = if scenario.trace {
        let folder = target_dir().join("firmware-trace");
        cargo.env("CARGO_TARGET_DIR", &folder);
        folder
    } else {
        target_dir()
    };
    util::run(&mut cargo)?;
    Ok(target.join(TARGET).join(PROFILE).join(BINARY))
}

/// The build-time configuration of the firmware for `scenario`.
fn configuration(scenario: &Scenario, port: u16, ca_pem: &Path) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("MQTTCERT_API_HOST", API_HOST.into()),
        ("MQTTCERT_API_IP", HOST_FROM_GUEST.into()),
        ("MQTTCERT_API_PORT", port.to_string()),
        ("MQTTCERT_REGION", DEMO_REGION.into()),
        ("MQTTCERT_INSTANCE_ID", DEMO_INSTANCE.into()),
        ("MQTTCERT_SECRET_ID", DEMO_SECRET_ID.into()),
        ("MQTTCERT_SECRET_KEY", DEMO_SECRET_KEY.into()),
        ("MQTTCERT_CA_PEM", ca_pem.display().to_string()),
        ("MQTTCERT_CHECKS", scenario.checks.to_string()),
        ("MQTTCERT_CHECK_INTERVAL_SECS", "1".into()),
        ("MQTTCERT_BRINGUP", u8::from(scenario.bringup).to_string()),
        (
            "DEFMT_LOG",
            if scenario.trace { "trace" } else { INFO_LOG }.into(),
        ),
    ];
    match scenario.device_cert {
        Some(path) => vars.push((
            "MQTTCERT_DEVICE_CERT",
            util::root().join(path).display().to_string(),
        )),
        None => vars.push(("MQTTCERT_SERIAL", scenario.serial.into())),
    }
    vars
}

/// "1 request", "2 requests".
fn requests(count: usize) -> String {
    match count {
        1 => "1 request".into(),
        n => format!("{n} requests"),
    }
}

/// The workspace's target folder.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// Where the emulator keeps the CA and server certificate it makes for a scenario.
fn tls_dir() -> PathBuf {
    target_dir().join("firmware-emulator-tls")
}

/// `cargo xtask qemu ELF`, the runner of `cargo run` for the firmware's target: runs `elf` on
/// the scenarios' machine and prints its decoded log; fails unless the firmware exits with 0.
pub fn run_file(elf: &Path) -> Result {
    let run = run_elf(elf, 0, true)?;
    for line in &run.log {
        println!("{line}");
    }
    println!(
        "exit status {} ({}) after {:.2} s",
        run.status,
        describe_status(run.status),
        run.elapsed.as_secs_f64()
    );
    if run.status == 0 {
        Ok(())
    } else {
        Err(format!("the firmware exited with status {}", run.status))
    }
}

/// Runs `elf` under QEMU, its real-time clock `clock_offset_secs` from the host's and with or
/// without the `entropy` device, killing it after [`QEMU_TIME_LIMIT`]; decodes its log.
fn run_elf(elf: &Path, clock_offset_secs: i64, entropy: bool) -> Result<Run> {
    let elf_bytes = fs::read(elf).map_err(|err| format!("cannot read {}: {err}", elf.display()))?;
    let mut qemu = Command::new("qemu-system-riscv32");
    qemu.args(["-M", "virt", "-bios", "none", "-m", "128M", "-nographic"])
        .args(["-serial", "stdio", "-monitor", "none"])
        .args([
            "-netdev",
            "user,id=n0",
            "-device",
            "virtio-net-device,netdev=n0",
        ])
        .arg("-kernel")
        .arg(elf);
    if entropy {
        qemu.args(["-device", "virtio-rng-device"]);
    }
    if clock_offset_secs != 0 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the host clock is before 1970".to_owned())?
            .as_secs() as i64;
        qemu.args(["-rtc", &format!("base={}", utc(now + clock_offset_secs))]);
    }
    eprintln!("$ {}", util::describe(&qemu));

    let started = Instant::now();
    let (status, uart, stderr) = run_with_limit(&mut qemu, QEMU_TIME_LIMIT)?;
    let elapsed = started.elapsed();
    let log = decode(&elf_bytes, &uart)?;

    let Some(status) = status else {
        return Err(format!(
            "the firmware did not finish within {} s; its log:\n{}",
            QEMU_TIME_LIMIT.as_secs(),
            log.join("\n")
        ));
    };
    if !stderr.trim().is_empty() {
        eprintln!("qemu: {}", stderr.trim());
    }
    Ok(Run {
        status,
        log,
        elapsed,
    })
}

/// Runs `command`, killing it after `limit`; returns its exit status (none when killed, or
/// ended by a signal), its standard output as bytes and its standard error as text.
fn run_with_limit(
    command: &mut Command,
    limit: Duration,
) -> Result<(Option<i32>, Vec<u8>, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", util::describe(command)))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);

    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                // Killing fails only when the child has just exited, which is what we want.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(err) => return Err(format!("cannot wait for QEMU: {err}")),
        }
    };

    let bytes = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    };
    let out = bytes(stdout);
    let err = String::from_utf8_lossy(&bytes(stderr)).into_owned();
    Ok((status, out, err))
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // What was read before an error is still worth decoding.
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Decodes the defmt frames in `uart` with the table of the ELF `elf`, one line per frame:
/// timestamp, level and message. A malformed frame becomes a line that says so, and decoding
/// goes on with the next one.
pub fn decode(elf: &[u8], uart: &[u8]) -> Result<Vec<String>> {
    let table = Table::parse(elf)
        .map_err(|err| format!("cannot read the defmt table of the firmware: {err}"))?
        .ok_or("the firmware has no defmt table")?;
    let mut decoder = table.new_stream_decoder();
    decoder.received(uart);

    let mut lines = Vec::new();
    loop {
        match decoder.decode() {
            Ok(frame) => {
                let level = frame
                    .level()
                    .map(|level| level.as_str().to_uppercase())
                    .unwrap_or_else(|| "PRINT".into());
                let timestamp = frame
                    .display_timestamp()
                    .map(|t| format!("{t} "))
                    .unwrap_or_default();
                lines.push(format!("{timestamp}{level:<5} {}", frame.display_message()));
            }
            Err(DecodeError::UnexpectedEof) => break,
            Err(DecodeError::Malformed) => lines.push("(a malformed defmt frame)".into()),
        }
    }
    Ok(lines)
}

/// The section sizes of the firmware's ELF.
pub fn image(elf: &Path) -> Result<Image> {
    use object::{Object, ObjectSection};

    let bytes = fs::read(elf).map_err(|err| format!("cannot read {}: {err}", elf.display()))?;
    let file = object::File::parse(&*bytes)
        .map_err(|err| format!("cannot read {} as ELF: {err}", elf.display()))?;
    let mut image = Image::default();
    for section in file.sections() {
        let size = section.size();
        match section.name().unwrap_or_default() {
            ".text" => image.text += size,
            ".rodata" => image.rodata += size,
            ".data" => image.data += size,
            ".bss" | ".uninit" => image.bss += size,
            _ => {}
        }
    }
    Ok(image)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS` (UTC), as QEMU's `-rtc base=` takes it.
fn utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date in the proleptic Gregorian calendar, counting 400-year eras from
    // 0000-03-01 so that the leap day falls at the end of each year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The meaning of one of the firmware's exit statuses.
pub fn describe_status(status: i32) -> &'static str {
    STATUSES
        .iter()
        .find(|(code, _)| *code == status)
        .map_or("not a status of the firmware", |(_, meaning)| meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_named() {
        assert_eq!(describe_status(0), "usable certificate, or bring-up passed");
        assert_eq!(describe_status(5), "network failure");
        assert_eq!(describe_status(1), "not a status of the firmware");
    }

    #[test]
    fn a_log_without_a_table_is_an_error() {
        let err = decode(b"not an ELF file", &[0x01, 0x00]).unwrap_err();
        assert!(err.contains("defmt table"), "{err}");
    }

    #[test]
    fn clock_bases_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(utc(1_767_225_599), "2025-12-31T23:59:59");
        assert_eq!(utc(1_796_321_300), "2026-12-03T18:08:20");
    }

    #[test]
    fn the_port_is_read_from_the_address() {
        assert_eq!(port_of("http://127.0.0.1:8080").unwrap(), 8080);
        assert_eq!(port_of("https://127.0.0.1:49152/").unwrap(), 49152);
        assert!(port_of("http://127.0.0.1").is_err());
    }

    #[test]
    fn a_scenario_needs_its_status_and_its_line() {
        let run = |status, line: &str| Run {
            status,
            log: vec![format!("0.1 INFO  {line}")],
            elapsed: Duration::ZERO,
        };
        assert!(check(&BRINGUP, &run(0, "bring-up reply: HTTP/1.1 404 Not Found")).is_ok());
        assert!(check(&BRINGUP, &run(5, "bring-up reply: HTTP/1.1 404 Not Found")).is_err());
        assert!(check(&BRINGUP, &run(0, "something else")).is_err());
    }

    #[test]
    fn a_trace_log_with_a_key_fails() {
        let day = "2026-12-03";
        let run = |lines: &[String]| Run {
            status: 0,
            log: lines.to_vec(),
            elapsed: Duration::ZERO,
        };
        let clean = ["0.1 TRACE deriving the signing key".to_owned()];
        assert!(no_secret(&TRACE, &run(&clean), &[day.into()]).is_ok());
        assert!(
            no_secret(
                &TRACE,
                &run(&["0.1 INFO  healthy".to_owned()]),
                &[day.into()]
            )
            .is_err()
        );

        let signing = hygiene::derived_keys(DEMO_SECRET_KEY, day, "mqtt")[2];
        for leak in [
            format!("0.2 TRACE key {}", hygiene::hex(&signing)),
            format!("0.2 TRACE key {signing:?}"),
            format!("0.2 DEBUG secret {DEMO_SECRET_KEY}"),
        ] {
            let lines = [clean[0].clone(), leak];
            let err = no_secret(&TRACE, &run(&lines), &[day.into()]).unwrap_err();
            assert!(err.contains("is in the decoded log"), "{err}");
        }
    }

    #[test]
    fn the_trace_scenario_builds_at_trace_level() {
        let config = configuration(&TRACE, 8443, Path::new("/tmp/ca.pem"));
        assert!(config.contains(&("DEFMT_LOG", "trace".to_owned())));
        let config = configuration(&CHECKS[0], 8443, Path::new("/tmp/ca.pem"));
        assert!(config.contains(&("DEFMT_LOG", INFO_LOG.to_owned())));
    }

    #[test]
    fn the_configuration_names_every_setting() {
        let config = configuration(&BRINGUP, 8080, Path::new("/tmp/ca.pem"));
        let value = |name| {
            config
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(value("MQTTCERT_API_PORT"), Some("8080"));
        assert_eq!(value("MQTTCERT_BRINGUP"), Some("1"));
        assert_eq!(value("MQTTCERT_API_IP"), Some(HOST_FROM_GUEST));
    }
}
