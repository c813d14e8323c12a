//! Every log line of the emulator, at trace level, captured while it serves successes and
//! failures with a token, in process and from the binary's stderr: none holds a secret key, a
//! token or a derived key.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use common::{TEMP_SECRET_ID, TEMP_SECRET_KEY, TEMP_TOKEN, code, describe};
use mqttcert_tests::client::Call;
use mqttcert_tests::fleet::DEMO_SECRET_KEY;
use mqttcert_tests::hygiene::Secrets;
use mqttcert_tests::time::utc_date;
use mqttcert_tests::{Emulator, Fault, FaultMode, Options, TlsOptions};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        // Another test's failure poisons the lock; the lines are still worth keeping.
        LINES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }

    fn flush(&self) {}
}

/// The API's answer over plain HTTP at `addr` to a request with the temporary key and its
/// token, changed by `edit`.
fn temporary(addr: SocketAddr, edit: &dyn Fn(&mut Call)) -> String {
    let mut call = describe(addr);
    call.secret_id = TEMP_SECRET_ID.into();
    call.secret_key = TEMP_SECRET_KEY.into();
    call.token = Some(TEMP_TOKEN.into());
    edit(&mut call);
    code(addr, &call.sign())
}

/// A success with the temporary key, then a refusal of each kind the emulator logs: a wrong
/// key, a wrong token, an expired signature, and the demo key's id with a wrong key.
fn refusals_of_each_kind(addr: SocketAddr) {
    assert_eq!(temporary(addr, &|_| {}), "Success");
    assert_eq!(
        temporary(addr, &|c| c.secret_key = "wrong".into()),
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        temporary(addr, &|c| c.token = Some("wrong".into())),
        "AuthFailure.TokenFailure"
    );
    assert_eq!(
        temporary(addr, &|c| c.timestamp -= 1000),
        "AuthFailure.SignatureExpire"
    );
    let mut wrong_key = describe(addr);
    wrong_key.secret_key = "wrong".into();
    assert_eq!(
        code(addr, &wrong_key.sign()),
        "AuthFailure.SignatureFailure"
    );
}

#[test]
fn no_secret_in_any_log_line() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        tls: Some(TlsOptions::generate(["localhost"])),
        fault: Some(Fault::first(1, FaultMode::Chunked)),
        ..Options::default()
    })
    .unwrap();
    let addr = emu.http_addr();

    refusals_of_each_kind(addr);
    assert_eq!(temporary(addr, &|_| {}), "Success");
    // A client that signs its token too, with the wrong key: the debug line showing the
    // expected canonical request must not show the token.
    assert_eq!(
        temporary(addr, &|c| {
            c.secret_key = "wrong".into();
            c.extra_signed = vec![("x-tc-token".into(), TEMP_TOKEN.into())];
        }),
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        temporary(addr, &|c| c.extra_signed =
            vec![("x-tc-token".into(), TEMP_TOKEN.into())]),
        "Success"
    );
    drop(emu);

    let lines = LINES.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("INFO") && l.contains(TEMP_SECRET_ID)),
        "the request lines were not captured: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("expected canonical request"))
    );

    let days = [utc_date(common::now() - 1000), utc_date(common::now())];
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let mut secrets = Secrets::default();
    secrets.key("the demo key", DEMO_SECRET_KEY, &days, "mqtt");
    secrets.key("the temporary key", TEMP_SECRET_KEY, &days, "mqtt");
    secrets.text("the token", TEMP_TOKEN);
    for line in lines.iter() {
        if let Some(found) = secrets.find(line.as_bytes()) {
            panic!("{found} in: {line}");
        }
    }
}

/// Kills the emulator when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_emulator_binary_logs_no_secret_at_trace_level() {
    let dir = common::temp_dir("secrets");
    let fleet_file = dir.join("fleet.json");
    std::fs::write(&fleet_file, common::fleet().to_json()).unwrap();
    let tls_dir = dir.join("tls");

    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttcert-emulator"))
        .arg("--fleet")
        .arg(&fleet_file)
        .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
        .arg("--tls-dir")
        .arg(&tls_dir)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let log = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        BufReader::new(stderr).read_to_end(&mut bytes).unwrap();
        bytes
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut listening = |scheme: &str| -> SocketAddr {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(&format!("listening on {scheme}://"))
            .unwrap_or_else(|| panic!("unexpected line {line}"))
            .parse()
            .unwrap()
    };
    let (http, https) = (listening("http"), listening("https"));
    let ca_pem = std::fs::read_to_string(tls_dir.join("ca.pem")).unwrap();

    // Successes and refusals of each kind, with both keys, over both listeners.
    refusals_of_each_kind(http);
    let mut over_tls = describe(https);
    over_tls.host = format!("localhost:{}", https.port());
    let reply = common::send_https(https, &ca_pem, "localhost", &over_tls.sign()).unwrap();
    assert_eq!(reply.error_code(), None, "{reply:?}");

    // A clean stop, then every byte it wrote to stderr.
    let stopped = Command::new("kill")
        .args(["-INT", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let log = log.join().unwrap();
    drop(running);
    let text = String::from_utf8_lossy(&log);

    // The capture is the most verbose one: the TLS library's trace, the refused signature's
    // debug lines and the request lines are all there.
    assert!(text.contains("TRACE"), "no trace line:\n{text}");
    assert!(text.contains("expected canonical request"), "{text}");
    assert!(
        text.contains(&format!("SecretId={TEMP_SECRET_ID}")),
        "{text}"
    );
    assert!(text.contains("shutting down"), "{text}");

    let now = common::now();
    let days: Vec<String> = [now - 1000, now, now + 60]
        .into_iter()
        .map(utc_date)
        .collect();
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let mut secrets = Secrets::default();
    secrets.key("the demo key", DEMO_SECRET_KEY, &days, "mqtt");
    secrets.key("the temporary key", TEMP_SECRET_KEY, &days, "mqtt");
    secrets.text("the token", TEMP_TOKEN);
    if let Some(found) = secrets.find(&log) {
        panic!("{found} is in the emulator's log:\n{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
