//! The `mqttcert` CLI against the API emulator over TLS on loopback: every verdict, every class
//! of API error and every fault mode gives its documented exit status and message, and no run
//! can hang (each is killed after a minute, which fails the test).

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mqttcert_tests::fleet::{
    DEMO_EXPIRING_SN, DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_REGION, DEMO_REVOKED_SN,
    DEMO_SECRET_ID, DEMO_SECRET_KEY,
};
use mqttcert_tests::{Emulator, Fault, FaultMode, Fleet, Options, TlsOptions};

/// Longest any run of the CLI may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What one run of the CLI did.
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// An emulator over HTTPS with the demo fleet, and its CA in a file.
struct Setup {
    emulator: Emulator,
    ca_file: PathBuf,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn start(tweak: impl FnOnce(&mut Options)) -> Setup {
    let mut options = Options {
        fleet: Fleet::demo(now_ms()),
        tls: Some(TlsOptions::generate(["localhost", "127.0.0.1"])),
        ..Options::default()
    };
    tweak(&mut options);
    let emulator = Emulator::start(options).expect("the emulator starts");

    let ca_file = std::env::temp_dir().join(format!(
        "mqttcert-e2e-{}-{}.pem",
        std::process::id(),
        emulator.https_addr().unwrap().port()
    ));
    std::fs::write(&ca_file, emulator.ca_pem().unwrap()).unwrap();
    Setup { emulator, ca_file }
}

impl Setup {
    /// Runs `mqttcert [global flags] ARGS` against the emulator with the demo key.
    fn mqttcert(&self, args: &[&str]) -> Run {
        self.mqttcert_as(DEMO_SECRET_ID, DEMO_SECRET_KEY, args)
    }

    fn mqttcert_as(&self, secret_id: &str, secret_key: &str, args: &[&str]) -> Run {
        run(self.command(secret_id, secret_key, args))
    }

    /// The command line of [`Setup::mqttcert_as`], for a test to add to before it runs.
    fn command(&self, secret_id: &str, secret_key: &str, args: &[&str]) -> Command {
        let endpoint = self.emulator.https_url().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mqttcert"));
        command
            .args(["--endpoint", &endpoint, "--ca-file"])
            .arg(&self.ca_file)
            .args(args)
            .env("TENCENTCLOUD_SECRET_ID", secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", secret_key)
            .env("TENCENTCLOUD_REGION", DEMO_REGION)
            .env("HOME", std::env::temp_dir().join("mqttcert-e2e-no-home"))
            .env_remove("TENCENTCLOUD_TOKEN")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("RUST_LOG");
        command
    }

    fn check(&self, serial: &str) -> Run {
        self.mqttcert(&["check", "--instance-id", DEMO_INSTANCE_ID, "--sn", serial])
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// Runs `command`, killing it (and failing) if it outlives [`RUN_LIMIT`].
fn run(mut command: Command) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("mqttcert hung for over {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        status: status.code().unwrap_or(-1),
        stdout,
        stderr,
        took: started.elapsed(),
    }
}

#[track_caller]
fn expect(run: &Run, status: i32, text: &str) {
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        run.status == status && all.contains(text),
        "expected exit {status} and {text:?}, got exit {}:\nstdout: {}\nstderr: {}",
        run.status,
        run.stdout,
        run.stderr
    );
}

#[test]
fn verdicts_over_tls() {
    let setup = start(|_| {});
    expect(&setup.check(DEMO_HEALTHY_SN), 0, "healthy");
    expect(&setup.check(DEMO_EXPIRING_SN), 1, "expiring");
    expect(&setup.check(DEMO_REVOKED_SN), 2, "revoked");

    let described = setup.mqttcert(&[
        "describe",
        "--instance-id",
        DEMO_INSTANCE_ID,
        "--sn",
        DEMO_HEALTHY_SN,
    ]);
    expect(
        &described,
        0,
        "\"DeviceCertificateSn\": \"5a1e0000000000000000000000000000000000a1\"",
    );
    let record: serde_json::Value = serde_json::from_str(&described.stdout).unwrap();
    assert_eq!(record["Status"], "ACTIVE");
    assert!(
        record["RequestId"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
}

#[test]
fn api_errors_name_code_and_request_id() {
    let setup = start(|_| {});
    let unknown_cert = setup.check("5a1e00000000000000000000000000000000ffff");
    expect(&unknown_cert, 2, "ResourceNotFound.Certificate");
    expect(&unknown_cert, 2, "request id");

    let unknown_instance = setup.mqttcert(&[
        "check",
        "--instance-id",
        "mqtt-nothere",
        "--sn",
        DEMO_HEALTHY_SN,
    ]);
    expect(&unknown_instance, 2, "ResourceNotFound.Instance");

    let region = setup.mqttcert(&[
        "--region",
        "ap-nowhere",
        "check",
        "--instance-id",
        DEMO_INSTANCE_ID,
        "--sn",
        DEMO_HEALTHY_SN,
    ]);
    expect(&region, 3, "UnsupportedRegion");

    let wrong_key = setup.mqttcert_as(
        DEMO_SECRET_ID,
        "NotTheDemoSecretKeyAtAll000000000",
        &[
            "check",
            "--instance-id",
            DEMO_INSTANCE_ID,
            "--sn",
            DEMO_HEALTHY_SN,
        ],
    );
    expect(&wrong_key, 3, "AuthFailure.SignatureFailure");

    let unknown_id = setup.mqttcert_as(
        "AKIDUNKNOWNUNKNOWNUNKNOWNUNKNOWN0000",
        DEMO_SECRET_KEY,
        &[
            "check",
            "--instance-id",
            DEMO_INSTANCE_ID,
            "--sn",
            DEMO_HEALTHY_SN,
        ],
    );
    expect(&unknown_id, 3, "AuthFailure.SecretIdNotFound");
}

#[test]
fn a_wrong_session_token_is_refused() {
    let setup = start(|options| {
        options.fleet.credentials[0].token = Some("the-right-token".to_owned());
    });
    let mut command = setup.command(
        DEMO_SECRET_ID,
        DEMO_SECRET_KEY,
        &[
            "check",
            "--instance-id",
            DEMO_INSTANCE_ID,
            "--sn",
            DEMO_HEALTHY_SN,
        ],
    );
    command.env("TENCENTCLOUD_TOKEN", "a-wrong-token");
    expect(&run(command), 3, "AuthFailure.TokenFailure");
}

#[test]
fn a_clock_an_hour_off_is_corrected_once() {
    let setup = start(|options| options.clock_offset_secs = 3600);
    expect(&setup.check(DEMO_HEALTHY_SN), 0, "healthy");
    assert_eq!(
        setup.emulator.requests(),
        2,
        "one refusal, one re-signed request"
    );
}

#[test]
fn the_rate_limit_is_waited_out() {
    // The server takes 2 requests a second; the batch of 4 has to back off and retry.
    let setup = start(|options| options.rate_limit = Some(2));
    let serials = std::env::temp_dir().join(format!("mqttcert-e2e-sns-{}", std::process::id()));
    std::fs::write(&serials, format!("{DEMO_HEALTHY_SN}\n").repeat(4)).unwrap();
    let batch = setup.mqttcert(&[
        "batch",
        "--instance-id",
        DEMO_INSTANCE_ID,
        "--sns",
        serials.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&serials);
    expect(&batch, 0, "healthy");
    assert_eq!(
        batch
            .stdout
            .lines()
            .filter(|l| l.contains("\"healthy\""))
            .count(),
        4,
        "{}",
        batch.stdout
    );
    assert!(
        setup.emulator.requests() > 4,
        "some requests were refused and retried"
    );
}

#[test]
fn faults_that_pass_are_retried() {
    for mode in [
        FaultMode::Reset,
        FaultMode::BadGateway,
        FaultMode::Truncated,
    ] {
        let setup = start(|options| options.fault = Some(Fault::first(1, mode)));
        expect(&setup.check(DEMO_HEALTHY_SN), 0, "healthy");
        assert_eq!(
            setup.emulator.requests(),
            2,
            "{mode:?}: one fault, one retry"
        );
    }
    for mode in [
        FaultMode::Chunked,
        FaultMode::Delay(Duration::from_millis(300)),
    ] {
        let setup = start(|options| options.fault = Some(Fault::always(mode)));
        expect(&setup.check(DEMO_HEALTHY_SN), 0, "healthy");
    }
}

#[test]
fn faults_that_last_end_in_could_not_check() {
    for (mode, text) in [
        (FaultMode::Reset, "reset"),
        (FaultMode::BadGateway, "502"),
        (FaultMode::Truncated, "closed"),
    ] {
        let setup = start(|options| options.fault = Some(Fault::always(mode)));
        let run = setup.check(DEMO_HEALTHY_SN);
        expect(&run, 3, text);
        assert!(
            run.took < Duration::from_secs(45),
            "{mode:?} took {:?}",
            run.took
        );
    }

    let slow = start(|options| {
        options.fault = Some(Fault::always(FaultMode::Delay(Duration::from_secs(5))))
    });
    let run = slow.mqttcert(&[
        "--timeout",
        "1",
        "check",
        "--instance-id",
        DEMO_INSTANCE_ID,
        "--sn",
        DEMO_HEALTHY_SN,
    ]);
    expect(&run, 3, "timed out");
}

#[test]
fn tls_is_verified() {
    let untrusted = start(|options| {
        options.tls =
            Some(TlsOptions::generate(["localhost", "127.0.0.1"]).with_untrusted_issuer());
    });
    let run = untrusted.check(DEMO_HEALTHY_SN);
    expect(&run, 3, "certificate");
    assert_eq!(
        untrusted.emulator.requests(),
        0,
        "no request crossed an untrusted handshake"
    );

    let other_host = start(|options| options.tls = Some(TlsOptions::generate(["api.example.com"])));
    let run = other_host.check(DEMO_HEALTHY_SN);
    expect(&run, 3, "certificate");
    assert_eq!(other_host.emulator.requests(), 0);
}
