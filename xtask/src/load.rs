//! `cargo xtask bench-load`: the emulator under load.
//!
//! The release emulator serves a fleet of [`SERIALS`] certificates over HTTPS, as in the demo,
//! with its rate limit off. The load generator (`tests/examples/load.rs`, release build) runs
//! [`CLIENTS`] clients at once, each on its own keep-alive TLS connection, and sends
//! [`REQUESTS`] signed `DescribeDeviceCertificate` requests in all; every reply is read by
//! `mqttcert-core`. The report gives latency, throughput, errors by kind, the emulator's CPU
//! time and its resident memory before and after. The command fails unless every request got
//! exactly one well-formed answer about the serial it asked for.

use serde_json::Value;

use crate::emulator::{self, Emulator};
use crate::util::{self, Result};

/// Clients at once.
const CLIENTS: u64 = 1000;
/// Requests in all.
const REQUESTS: u64 = 20_000;
/// Certificates in the fleet; client N asks about serial N modulo this.
const SERIALS: usize = 100;
/// Descriptors each process needs beyond one per connection: listeners, runtime, pipes.
const SPARE_FILES: u64 = 64;

/// `cargo xtask bench-load`.
pub fn run() -> Result {
    let bin = emulator::build("release")?;
    util::run(util::cargo().args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "mqttcert-tests",
        "--example",
        "load",
    ]))?;
    let generator = bin.join("examples").join("load");
    let work = util::root().join("target").join("bench-load");
    std::fs::create_dir_all(&work).map_err(|err| format!("{}: {err}", work.display()))?;

    // A fleet of healthy certificates under the demo key.
    let demo = emulator::read_json(&emulator::demo_fleet_file())?;
    let key = emulator::first_key(&demo);
    let serials: Vec<String> = (0..SERIALS).map(|i| format!("10ad{i:036x}")).collect();
    let fleet = emulator::fleet_of(&demo, "mqtt-load01", &serials);
    let fleet_file = work.join("fleet.json");
    let serials_file = work.join("serials.txt");
    util::write(&fleet_file, &fleet.to_string())?;
    util::write(&serials_file, &(serials.join("\n") + "\n"))?;

    // Both processes hold one descriptor per connection.
    let needed = CLIENTS + SPARE_FILES;
    let (soft, hard) = util::open_files_limits()?;
    let raise = if soft >= needed {
        None
    } else if hard >= needed {
        println!("raising the soft limit on open files from {soft} to {needed} for the run");
        Some(needed)
    } else {
        return Err(format!(
            "{CLIENTS} connections need {needed} open files, the hard limit is {hard}: \
             raise it (`ulimit -Hn`, /etc/security/limits.conf) and run again"
        ));
    };

    let tls_dir = work.join("tls");
    let fleet_arg = fleet_file.to_string_lossy().into_owned();
    let emulator = Emulator::start_with_open_files(
        &bin,
        &["--fleet", &fleet_arg, "--no-rate-limit"],
        Some(&tls_dir),
        raise,
    )?;
    let endpoint = emulator
        .https
        .clone()
        .ok_or("the emulator serves no HTTPS")?;
    let pid = emulator.pid();
    let before = Memory::of(pid)?;
    let cpu_before = cpu_secs(pid)?;
    let overflows_before = listen_overflows();

    let mut command = std::process::Command::new(&generator);
    command
        .args(["--endpoint", &endpoint, "--ca-file"])
        .arg(tls_dir.join("ca.pem"))
        .args(["--instance-id", "mqtt-load01", "--sns"])
        .arg(&serials_file)
        .args(["--clients", &CLIENTS.to_string()])
        .args(["--requests", &REQUESTS.to_string()])
        .env("TENCENTCLOUD_SECRET_ID", &key.secret_id)
        .env("TENCENTCLOUD_SECRET_KEY", &key.secret_key);
    let mut command = match raise {
        Some(n) => util::with_open_files(&command, n),
        None => command,
    };
    let out = util::output(&mut command)?;

    let after = Memory::of(pid)?;
    let cpu = cpu_secs(pid)? - cpu_before;
    let overflows = listen_overflows().zip(overflows_before).map(|(a, b)| a - b);
    drop(emulator);
    let summary: Value = serde_json::from_str(out.trim())
        .map_err(|err| format!("the generator said {out:?}: {err}"))?;

    report(&summary, &before, &after, cpu, soft.max(raise.unwrap_or(0)));
    if let Some(overflows) = overflows {
        println!("  accept-queue overflows   {overflows} (the machine's TcpExt ListenOverflows)");
    }
    verdict(&summary)
}

/// Prints the figures.
fn report(summary: &Value, before: &Memory, after: &Memory, cpu: f64, open_files: u64) {
    let count = |kind: &str| summary["outcomes"][kind].as_u64().unwrap_or(0);
    let ms = |field: &str, at: &str| summary[field][at].as_f64().unwrap_or(0.0) / 1000.0;
    let wall = summary["wall_secs"].as_f64().unwrap_or(0.0);
    let answered = count("answered");

    println!(
        "\nthe emulator (release) under load: {CLIENTS} clients at once, {REQUESTS} signed \
         DescribeDeviceCertificate requests in all, over HTTPS on loopback, keep-alive, rate \
         limit off"
    );
    println!(
        "  answered, well formed    {answered} of {REQUESTS} ({} distinct RequestIds)",
        summary["unique_request_ids"]
    );
    println!("  connect errors           {}", count("connect_errors"));
    println!("  timeouts                 {}", count("timeouts"));
    println!("  closed before the reply  {}", count("closed_early"));
    println!("  non-200                  {}", count("non_200"));
    println!("  malformed                {}", count("malformed"));
    println!(
        "  API errors               {} {}",
        count("api_errors"),
        summary["api_errors"]
    );
    println!("  another serial's answer  {}", count("wrong_serial"));
    println!(
        "  unsolicited bytes        {}",
        summary["unsolicited_bytes"]
    );
    println!(
        "  latency                  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms \
         (request written to reply read)",
        ms("latency_us", "p50"),
        ms("latency_us", "p99"),
        ms("latency_us", "max"),
        ms("latency_us", "mean"),
    );
    println!(
        "  connect and handshake    p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} connections)",
        ms("connect_us", "p50"),
        ms("connect_us", "p99"),
        ms("connect_us", "max"),
        summary["connect_us"]["count"],
    );
    println!("  wall time                {wall:.2} s, connections included");
    println!(
        "  throughput               {:.0} requests/s",
        answered as f64 / wall.max(f64::EPSILON)
    );
    println!(
        "  emulator CPU time        {cpu:.2} s ({:.0} µs a request)",
        cpu * 1e6 / REQUESTS as f64
    );
    println!(
        "  emulator memory          VmRSS {:.1} MiB before, {:.1} MiB after; peak (VmHWM) {:.1} MiB",
        mib(before.rss_kib),
        mib(after.rss_kib),
        mib(after.peak_kib)
    );
    println!("  open files (soft limit)  {open_files}");
}

/// Fails unless every request got exactly one well-formed answer about its serial.
fn verdict(summary: &Value) -> Result {
    let mut problems = Vec::new();
    let outcomes = summary["outcomes"].as_object().cloned().unwrap_or_default();
    for (kind, n) in &outcomes {
        if kind != "answered" && n.as_u64() != Some(0) {
            problems.push(format!("{n} {kind}"));
        }
    }
    let answered = summary["outcomes"]["answered"].as_u64().unwrap_or(0);
    if answered != REQUESTS {
        problems.push(format!("{answered} of {REQUESTS} answered"));
    }
    let ids = summary["request_ids"].as_u64().unwrap_or(0);
    let unique = summary["unique_request_ids"].as_u64().unwrap_or(0);
    if ids != REQUESTS || unique != ids {
        problems.push(format!(
            "{ids} RequestIds for {REQUESTS} requests, {unique} distinct"
        ));
    }
    if summary["unsolicited_bytes"].as_u64() != Some(0) {
        problems.push(format!(
            "{} bytes nobody asked for",
            summary["unsolicited_bytes"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "requests were lost or answered wrongly: {}",
            problems.join(", ")
        ))
    }
}

/// Resident memory of a process, from `/proc/PID/status`.
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

impl Memory {
    fn of(pid: u32) -> Result<Self> {
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .ok_or_else(|| format!("no {name} in {path}"))
        };
        Ok(Self {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }
}

/// User and system CPU time of a process so far, in seconds, from `/proc/PID/stat`.
fn cpu_secs(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat =
        std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}"))?;
    // The fields after the command name, which is in parentheses and may hold spaces: the
    // state is the first, utime the 12th and stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| format!("cannot read the CPU time in {path}"))
    };
    let per_second = util::output(std::process::Command::new("getconf").arg("CLK_TCK"))
        .ok()
        .and_then(|out| out.trim().parse::<u64>().ok())
        .unwrap_or(100);
    Ok((ticks(11)? + ticks(12)?) as f64 / per_second as f64)
}

/// The machine's count of connections dropped because a listener's accept queue was full
/// (`TcpExt: ListenOverflows` in `/proc/net/netstat`), when it can be read.
fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let index = names
        .split_whitespace()
        .position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(answered: u64, timeouts: u64, ids: u64, unique: u64) -> Value {
        serde_json::json!({
            "outcomes": {"answered": answered, "timeouts": timeouts},
            "request_ids": ids,
            "unique_request_ids": unique,
            "unsolicited_bytes": 0,
        })
    }

    #[test]
    fn every_request_answered_once_passes() {
        assert!(verdict(&summary(REQUESTS, 0, REQUESTS, REQUESTS)).is_ok());
    }

    #[test]
    fn a_lost_or_doubled_answer_fails() {
        let err = verdict(&summary(REQUESTS - 1, 1, REQUESTS - 1, REQUESTS - 1)).unwrap_err();
        assert!(err.contains("1 timeouts"), "{err}");
        assert!(verdict(&summary(REQUESTS, 0, REQUESTS, REQUESTS - 1)).is_err());
        let mut extra = summary(REQUESTS, 0, REQUESTS, REQUESTS);
        extra["unsolicited_bytes"] = 17.into();
        assert!(verdict(&extra).is_err());
    }

    #[test]
    fn memory_is_read_from_proc() {
        let memory = Memory::of(std::process::id()).unwrap();
        assert!(memory.rss_kib > 0 && memory.peak_kib >= memory.rss_kib);
        assert!(cpu_secs(std::process::id()).unwrap() >= 0.0);
    }
}
