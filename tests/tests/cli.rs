//! The `mqttcert-emulator` binary: it prints its listeners, answers, and reads the example
//! fleet file.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::{TIMEOUT, code, describe};
use mqttcert_tests::Fleet;

const BIN: &str = env!("CARGO_BIN_EXE_mqttcert-emulator");
const DEMO_FLEET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fleets/demo.json");

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and reads the `listening on` lines, within the test timeout.
fn start(args: &[&str], lines: usize) -> (Running, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let printed = (0..lines)
        .map(|_| rx.recv_timeout(TIMEOUT).unwrap())
        .collect();
    (running, printed)
}

fn addr_of(line: &str, scheme: &str) -> SocketAddr {
    line.strip_prefix(&format!("listening on {scheme}://"))
        .unwrap_or_else(|| panic!("unexpected line {line}"))
        .parse()
        .unwrap()
}

#[test]
fn serves_the_demo_fleet_file_on_port_zero() {
    let dir = common::temp_dir("cli");
    let dir_text = dir.to_str().unwrap();
    let (_running, lines) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--fleet",
            DEMO_FLEET,
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-dir",
            dir_text,
        ],
        2,
    );
    let http = addr_of(&lines[0], "http");
    let https = addr_of(&lines[1], "https");
    assert_ne!(http.port(), 0);
    assert_ne!(https.port(), 0);
    assert!(dir.join("ca.pem").is_file());

    assert_eq!(code(http, &describe(http).sign()), "Success");
    let revoked = common::describe_sn(http, mqttcert_tests::fleet::DEMO_REVOKED_SN);
    assert_eq!(
        common::send(http, &revoked.sign()).json()["Response"]["Status"],
        "REVOKED"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fault_and_rate_limit_flags() {
    let (_running, lines) = start(
        &[
            "--demo",
            "--fault",
            "502",
            "--fault-count",
            "1",
            "--no-rate-limit",
        ],
        1,
    );
    let http = addr_of(&lines[0], "http");
    let first = common::send(http, &describe(http).sign());
    assert_eq!(first.status, 502);
    for _ in 0..25 {
        assert_eq!(code(http, &describe(http).sign()), "Success");
    }
}

#[test]
fn help_and_bad_arguments() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--listen",
        "--fleet",
        "--tls-dir",
        "--fault",
        "--fault-count",
    ] {
        assert!(text.contains(option), "{option} missing from --help");
    }

    let bad = Command::new(BIN)
        .args(["--demo", "--fault", "sometimes"])
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let missing = Command::new(BIN)
        .args(["--fleet", "/nonexistent/fleet.json"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/fleet.json"));
}

#[test]
fn the_example_fleet_file_is_valid() {
    let fleet = Fleet::load(DEMO_FLEET).unwrap();
    let demo = &fleet.instances[0];
    assert_eq!(demo.instance_id, "mqtt-demo01");
    let statuses: Vec<&str> = demo
        .certificates
        .iter()
        .map(|c| c.status.as_str())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "ACTIVE", "REVOKED"]);
}
