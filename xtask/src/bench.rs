//! Benchmarks of the host side, as commands rather than timed tests:
//!
//! - `cargo xtask bench-rate`: 200 serials through `mqttcert batch` against an emulator that
//!   enforces 20 requests/s per key; prints the rate, and fails below 19/s or on any
//!   `RequestLimitExceeded`.
//! - `cargo xtask bench-tccli`: one `mqttcert check` as a whole process beside the same query by
//!   the official `tccli`, both against the emulator; median wall time and peak memory.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::emulator::{self, Emulator, Key};
use crate::util::{self, Result};

/// Serials in the rate benchmark.
const SERIALS: usize = 200;
/// The slowest acceptable rate of the batch, per second.
const MIN_RATE: f64 = 19.0;
/// Runs of each command in the tccli comparison.
const RUNS: usize = 11;

/// `cargo xtask bench-rate`.
pub fn rate() -> Result {
    let bin = emulator::build("release")?;
    let work = util::root().join("target").join("bench-rate");
    std::fs::create_dir_all(&work).map_err(|err| format!("{}: {err}", work.display()))?;

    // A fleet of 200 healthy certificates under the demo key.
    let demo = emulator::read_json(&emulator::demo_fleet_file())?;
    let key = emulator::first_key(&demo);
    let serials: Vec<String> = (0..SERIALS).map(|i| format!("be0c{i:036x}")).collect();
    let fleet = emulator::fleet_of(&demo, "mqtt-bench01", &serials);
    let fleet_file = work.join("fleet.json");
    let serials_file = work.join("serials.txt");
    util::write(&fleet_file, &fleet.to_string())?;
    util::write(&serials_file, &(serials.join("\n") + "\n"))?;

    let tls_dir = work.join("tls");
    let fleet_arg = fleet_file.to_string_lossy().into_owned();
    let emulator = Emulator::start(
        &bin,
        &["--fleet", &fleet_arg, "--rate-limit", "20"],
        Some(&tls_dir),
    )?;
    let endpoint = emulator
        .https
        .clone()
        .ok_or("the emulator serves no HTTPS")?;

    let started = Instant::now();
    let out = emulator::mqttcert(&bin, &endpoint, Some(&tls_dir.join("ca.pem")), &key)
        .args(["batch", "--instance-id", "mqtt-bench01", "--sns"])
        .arg(&serials_file)
        .output()
        .map_err(|err| format!("cannot run mqttcert: {err}"))?;
    let elapsed = started.elapsed();
    drop(emulator);

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let records = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .count();
    let healthy = stdout
        .lines()
        .filter(|line| line.contains("\"healthy\""))
        .count();
    let limited = stdout.matches("RequestLimitExceeded").count()
        + stderr.matches("RequestLimitExceeded").count();
    let rate = SERIALS as f64 / elapsed.as_secs_f64();

    println!(
        "mqttcert batch: {SERIALS} serials over HTTPS against an emulator enforcing 20 requests/s"
    );
    println!("  records written        {records}");
    println!("  healthy                {healthy}");
    println!("  RequestLimitExceeded   {limited}");
    println!("  wall time              {:.2} s", elapsed.as_secs_f64());
    println!("  rate                   {rate:.2} requests/s (goal: at least {MIN_RATE})");
    println!(
        "  exit status            {}",
        out.status.code().unwrap_or(-1)
    );
    if let Some(summary) = stderr.lines().last() {
        println!("  summary                {summary}");
    }

    if records != SERIALS || healthy != SERIALS || limited > 0 || rate < MIN_RATE {
        return Err(format!(
            "the batch fell short: {records} records, {healthy} healthy, {limited} rate-limit \
             errors, {rate:.2} requests/s"
        ));
    }
    Ok(())
}

/// `cargo xtask bench-tccli`.
pub fn tccli() -> Result {
    if !util::has("tccli") {
        util::run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "tccli"]))?;
    }
    let gnu_time = Path::new("/usr/bin/time");
    if !gnu_time.exists() {
        return Err("GNU time is needed for peak memory: apt-get install time".into());
    }
    let bin = emulator::build("release")?;
    let emulator = Emulator::start(&bin, &["--demo", "--no-rate-limit"], None)?;
    let endpoint = emulator.http.clone();
    let key = emulator::first_key(&emulator::read_json(&emulator::demo_fleet_file())?);
    let serial = "5a1e0000000000000000000000000000000000a1";

    let mut ours = emulator::mqttcert(&bin, &endpoint, None, &key);
    ours.args(["check", "--instance-id", "mqtt-demo01", "--sn", serial]);
    let theirs = {
        let mut command = Command::new("tccli");
        command.args([
            "mqtt",
            "DescribeDeviceCertificate",
            "--endpoint",
            &endpoint,
            "--region",
            "ap-guangzhou",
            "--InstanceId",
            "mqtt-demo01",
            "--DeviceCertificateSn",
            serial,
        ]);
        command
    };

    let ours = measure(gnu_time, &ours, &key)?;
    let theirs = measure(gnu_time, &theirs, &key)?;
    drop(emulator);

    println!("One certificate query as a whole process, against the emulator on loopback (HTTP),");
    println!("median of {RUNS} runs each:\n");
    println!("  {:<10} {:>12} {:>14}", "", "wall time", "peak memory");
    println!(
        "  {:<10} {:>9.1} ms {:>10.1} MiB",
        "mqttcert",
        ms(ours.0),
        mib(ours.1)
    );
    println!(
        "  {:<10} {:>9.1} ms {:>10.1} MiB",
        "tccli",
        ms(theirs.0),
        mib(theirs.1)
    );
    println!(
        "\n  mqttcert is {:.0}× faster and uses {:.1}× less memory (goals: 20× faster, under 10 MiB).",
        theirs.0.as_secs_f64() / ours.0.as_secs_f64(),
        theirs.1 as f64 / ours.1 as f64
    );
    Ok(())
}

/// Median wall time and median peak resident memory (KiB) of `RUNS` runs of `command`.
fn measure(gnu_time: &Path, command: &Command, key: &Key) -> Result<(Duration, u64)> {
    let mut times = Vec::with_capacity(RUNS);
    let mut memory = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut timed = Command::new(gnu_time);
        timed
            .args(["-f", "peak-rss-kib=%M"])
            .arg(command.get_program())
            .args(command.get_args())
            .env("TENCENTCLOUD_SECRET_ID", &key.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", &key.secret_key)
            .env_remove("RUST_LOG");
        let started = Instant::now();
        let out = timed
            .output()
            .map_err(|err| format!("cannot run {:?}: {err}", command.get_program()))?;
        times.push(started.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "{:?} failed ({}): {stderr}",
                command.get_program(),
                out.status
            ));
        }
        let peak = stderr
            .lines()
            .find_map(|line| line.strip_prefix("peak-rss-kib="))
            .and_then(|kib| kib.trim().parse().ok())
            .ok_or_else(|| format!("GNU time reported no memory: {stderr}"))?;
        memory.push(peak);
    }
    times.sort();
    memory.sort_unstable();
    Ok((times[RUNS / 2], memory[RUNS / 2]))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
