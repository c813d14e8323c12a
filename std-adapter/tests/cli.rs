//! The `mqttcert` binary against an in-test server: output shapes, exit statuses, and no
//! secret in anything it prints.

// Helpers outside `#[test]` functions fail the test the same way the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;
use hmac::{Hmac, Mac};
use mqttcert_core::time::UtcDate;
use serde_json::Value;
use sha2::Sha256;

const TOKEN: &str = "sts-session-token-0123456789abcdef";

/// A home directory that does not exist, so that no real profile is read.
fn empty_home() -> PathBuf {
    std::env::temp_dir().join("mqttcert-test-home-that-does-not-exist")
}

/// A directory of the test's own for input and output files; the test removes it.
fn scratch_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mqttcert-cli-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with the test's credentials in the environment and nothing else of the
/// caller's that could change its behaviour.
fn mqttcert(server: &Server) -> Command {
    mqttcert_at(&server.url())
}

/// [`mqttcert`] for any endpoint.
fn mqttcert_at(endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqttcert"));
    for var in [
        "RUST_LOG",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "TENCENTCLOUD_REGION",
    ] {
        command.env_remove(var);
    }
    command
        .env("HOME", empty_home())
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .env_remove("TENCENTCLOUD_TOKEN")
        .args(["--endpoint", endpoint, "--region", "ap-guangzhou"])
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.code().unwrap(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn check(reply: fn() -> Vec<u8>, extra: &[&str]) -> (i32, String, String) {
    let server = Server::start(move |_, _| reply());
    run(mqttcert(&server)
        .args(["check", "--instance-id", INSTANCE, "--sn", SN])
        .args(extra))
}

#[test]
fn check_exit_statuses_follow_the_verdict() {
    let (code, out, _) = check(|| certificate("ACTIVE", 120), &[]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("{SN}: healthy (120 days left)")),
        "{out}"
    );

    let (code, out, _) = check(|| certificate("ACTIVE", 10), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expiring (10 days left)"));
    let (code, _, _) = check(|| certificate("ACTIVE", 10), &["--warn-days", "5"]);
    assert_eq!(code, 0);

    for status in ["REVOKED", "INACTIVE", "PENDING_ACTIVATION", "SUSPENDED"] {
        let server = Server::start(move |_, _| certificate(status, 100));
        let (code, out, _) =
            run(mqttcert(&server).args(["check", "--instance-id", INSTANCE, "--sn", SN]));
        assert_eq!(code, 2, "{status}: {out}");
    }
    let (code, out, _) = check(
        || {
            let body = certificate_body("ACTIVE", now_ms() - DAY_MS);
            reply(200, "application/json", &body, now_secs())
        },
        &[],
    );
    assert_eq!(code, 2);
    assert!(out.contains("expired"), "{out}");
}

#[test]
fn check_exit_statuses_of_failures() {
    let (code, out, err) = check(
        || {
            api_error(
                "ResourceNotFound.Certificate",
                "The certificate does not exist.",
                now_secs(),
            )
        },
        &[],
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        format!(
            "error: ResourceNotFound.Certificate: The certificate does not exist. (request id {REQUEST_ID})"
        )
    );

    let (code, _, err) = check(
        || api_error("AuthFailure.SecretIdNotFound", "Unknown key.", now_secs()),
        &[],
    );
    assert_eq!(code, 3);
    assert!(err.contains("AuthFailure.SecretIdNotFound"), "{err}");

    let (code, _, err) = check(|| gateway(404), &[]);
    assert_eq!(code, 3);
    assert!(err.contains("HTTP status 404"), "{err}");
}

#[test]
fn network_and_usage_errors_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = run(Command::new(env!("CARGO_BIN_EXE_mqttcert"))
        .env("HOME", empty_home())
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .args(["--endpoint", &format!("http://127.0.0.1:{port}")])
        .args(["--region", "ap-guangzhou", "--timeout", "0.5"])
        .args(["check", "--instance-id", INSTANCE, "--sn", SN]));
    assert_eq!(code, 3);
    assert!(err.contains("could not connect to 127.0.0.1"), "{err}");

    let (code, _, err) =
        run(Command::new(env!("CARGO_BIN_EXE_mqttcert")).args(["check", "--sn", SN]));
    assert_eq!(code, 3);
    assert!(err.contains("--instance-id"), "{err}");

    let server = Server::start(|_, _| certificate("ACTIVE", 100));
    let (code, _, err) = run(mqttcert(&server)
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .args(["check", "--instance-id", INSTANCE, "--sn", SN]));
    assert_eq!(code, 3);
    assert!(err.contains("TENCENTCLOUD_SECRET_KEY"), "{err}");
    assert!(server.received().is_empty());

    let (code, out, _) = run(Command::new(env!("CARGO_BIN_EXE_mqttcert")).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("Exit status") && out.contains("Examples:"));
}

#[test]
fn describe_prints_the_response_fields_as_tccli_does() {
    let server = Server::start(|_, _| reply(200, "application/json", DOCUMENTED, now_secs()));
    let (code, out, _) =
        run(mqttcert(&server).args(["describe", "--instance-id", INSTANCE, "--sn", SN]));
    assert_eq!(code, 0);

    let printed: Value = serde_json::from_str(&out).unwrap();
    let documented: Value = serde_json::from_str(DOCUMENTED).unwrap();
    assert_eq!(printed, documented["Response"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "{");
    assert_eq!(
        lines[1],
        "    \"CaSn\": \"1b1e3bf3702110125887a3a721a7e66f05522513\","
    );
    assert_eq!(lines.last(), Some(&"}"));
    assert!(out.contains(&format!("    \"RequestId\": \"{REQUEST_ID}\",")));
}

#[test]
fn describe_table_is_aligned_with_utc_dates() {
    let server = Server::start(|_, _| reply(200, "application/json", DOCUMENTED, now_secs()));
    let (code, out, _) = run(mqttcert(&server).args([
        "describe",
        "--instance-id",
        INSTANCE,
        "--sn",
        SN,
        "--output",
        "table",
    ]));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 16);
    let column = lines[0].find(SN).unwrap();
    for line in &lines {
        let (name, value) = line.split_at(column);
        assert!(name.ends_with("  ") && !value.starts_with(' '), "{line}");
    }
    assert!(
        out.contains("NotAfterTime          2025-09-18 08:54:43 UTC"),
        "{out}"
    );
    assert!(out.contains("LastInactivationTime  never"), "{out}");
}

#[test]
fn describe_reports_api_errors_with_status_3() {
    let server = Server::start(|_, _| {
        api_error(
            "ResourceNotFound.Certificate",
            "The certificate does not exist.",
            now_secs(),
        )
    });
    let (code, out, err) =
        run(mqttcert(&server).args(["describe", "--instance-id", INSTANCE, "--sn", SN]));
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert!(
        err.starts_with("error: ResourceNotFound.Certificate: "),
        "{err}"
    );
    assert!(err.contains(REQUEST_ID));
}

/// A server that knows three certificates by serial.
fn batch_server() -> Server {
    Server::start(|_, request| {
        let serial = request.body.split('"').nth(3).unwrap().to_owned();
        let body = |status: &str, days: u64| {
            certificate_body(status, now_ms() + days * DAY_MS + DAY_MS / 2).replace(SN, &serial)
        };
        match serial.as_str() {
            "aa01" => reply(200, "application/json", &body("ACTIVE", 200), now_secs()),
            "aa02" => reply(200, "application/json", &body("ACTIVE", 3), now_secs()),
            "aa03" => reply(200, "application/json", &body("REVOKED", 100), now_secs()),
            _ => api_error(
                "ResourceNotFound.Certificate",
                // Quotes, escaped in the JSON, for the CSV to quote.
                "The certificate does not exist, \\\"really\\\".",
                now_secs(),
            ),
        }
    })
}

const SERIALS: &str = "# fleet A\naa01\n\n  aa02  \naa03 # revoked last week\naa04\n";

#[test]
fn batch_writes_json_lines_in_input_order() {
    let server = batch_server();
    let mut child = mqttcert(&server)
        .args(["batch", "--instance-id", INSTANCE, "--sns", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SERIALS.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));

    let out = String::from_utf8(output.stdout).unwrap();
    assert!(
        out.starts_with(
            r#"{"serial":"aa01","verdict":"healthy","days_left":200,"status":"ACTIVE","#
        ),
        "{out}"
    );
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let serials: Vec<&str> = rows.iter().map(|r| r["serial"].as_str().unwrap()).collect();
    assert_eq!(serials, ["aa01", "aa02", "aa03", "aa04"]);
    let verdicts: Vec<&str> = rows
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["healthy", "expiring", "revoked", "not-found"]);
    assert_eq!(rows[0]["days_left"], 200);
    assert_eq!(rows[0]["status"], "ACTIVE");
    let expiry = UtcDate::from_unix((now_ms() + 200 * DAY_MS + DAY_MS / 2) / 1000).to_string();
    assert_eq!(rows[0]["not_after"], expiry.as_str());
    assert_eq!(rows[0]["error_code"], Value::Null);
    assert_eq!(rows[2]["days_left"], Value::Null);
    assert_eq!(rows[3]["error_code"], "ResourceNotFound.Certificate");
    assert_eq!(rows[3]["request_id"], REQUEST_ID);

    let err = String::from_utf8(output.stderr).unwrap();
    let summary = err.lines().last().unwrap();
    assert!(summary.starts_with("checked 4 serials in "), "{err}");
    assert!(
        summary.ends_with("1 expiring, 1 healthy, 1 not-found, 1 revoked"),
        "{summary}"
    );
}

#[test]
fn batch_writes_csv_to_a_file() {
    let server = batch_server();
    let dir = scratch_dir();
    let input = dir.join("serials.txt");
    let output = dir.join("report.csv");
    std::fs::write(&input, "aa01\naa02\naa04\n").unwrap();
    let (code, out, _) = run(mqttcert(&server)
        .args(["batch", "--instance-id", INSTANCE])
        .arg("--sns")
        .arg(&input)
        .args(["--format", "csv", "--out"])
        .arg(&output));
    assert_eq!(code, 2);
    assert!(out.is_empty());

    let csv = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "serial,verdict,days_left,status,not_after,error_code,error_message,request_id"
    );
    assert!(lines[1].starts_with("aa01,healthy,200,ACTIVE,"), "{csv}");
    assert!(lines[2].starts_with("aa02,expiring,3,ACTIVE,"), "{csv}");
    assert_eq!(
        lines[3],
        format!(
            "aa04,not-found,,,,ResourceNotFound.Certificate,\"The certificate does not exist, \"\"really\"\".\",{REQUEST_ID}"
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn batch_exit_status_is_the_worst_of_the_serials() {
    let server = batch_server();
    let dir = scratch_dir();
    let input = dir.join("serials.txt");
    std::fs::write(&input, "aa01\naa02\n").unwrap();
    let (code, _, _) = run(mqttcert(&server)
        .args(["batch", "--instance-id", INSTANCE])
        .arg("--sns")
        .arg(&input));
    assert_eq!(code, 1);
    std::fs::write(&input, "aa01\n").unwrap();
    let (code, _, _) = run(mqttcert(&server)
        .args(["-q", "batch", "--instance-id", INSTANCE])
        .arg("--sns")
        .arg(&input));
    assert_eq!(code, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The key the signatures of today are made with: TC3-HMAC-SHA256's three HMACs.
fn signing_key_hex(date: UtcDate) -> String {
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    let key = hmac(
        format!("TC3{SECRET_KEY}").as_bytes(),
        date.to_string().as_bytes(),
    );
    let key = hmac(&key, b"mqtt");
    let key = hmac(&key, b"tc3_request");
    key.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn no_secret_reaches_the_output_at_trace_level() {
    // The first request is refused as expired, so that the clock correction is logged too.
    let server = Server::start(|_, request| {
        let server_now = now_secs() + 3600;
        if request.timestamp().abs_diff(server_now) > 300 {
            api_error("AuthFailure.SignatureExpire", "Expired.", server_now)
        } else {
            certificate("ACTIVE", 100)
        }
    });

    let runs = [
        run(mqttcert(&server).env("TENCENTCLOUD_TOKEN", TOKEN).args([
            "-vvv",
            "check",
            "--instance-id",
            INSTANCE,
            "--sn",
            SN,
        ])),
        run(mqttcert(&server)
            .env_remove("TENCENTCLOUD_SECRET_ID")
            .env_remove("TENCENTCLOUD_SECRET_KEY")
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .args(["-vvv", "describe", "--instance-id", INSTANCE, "--sn", SN])),
        run(mqttcert(&server).env("RUST_LOG", "trace").args([
            "batch",
            "--instance-id",
            INSTANCE,
            "--sns",
            "/dev/null",
        ])),
    ];

    let received = server.received();
    assert!(received.len() >= 4, "{received:?}");
    assert!(received[0].head.contains(&format!("X-TC-Token: {TOKEN}")));
    let server_day = UtcDate::from_unix(now_secs() + 3600);
    let mut secrets = vec![
        SECRET_KEY.to_owned(),
        TOKEN.to_owned(),
        signing_key_hex(UtcDate::from_unix(now_secs())),
        signing_key_hex(server_day),
    ];
    secrets.extend(received.iter().map(|r| r.signature().to_owned()));

    for (code, out, err) in &runs {
        assert_eq!(*code, 0, "{err}");
        assert!(err.contains("TRACE") || err.contains("DEBUG"), "{err}");
        for secret in &secrets {
            assert!(!out.contains(secret.as_str()), "stdout holds {secret}");
            assert!(!err.contains(secret.as_str()), "stderr holds {secret}");
            // Nor a good part of it.
            assert!(
                !err.contains(&secret[..16]),
                "stderr holds part of {secret}"
            );
        }
    }
    assert!(runs[0].2.contains("signing again"), "{}", runs[0].2);
}

#[test]
fn https_with_a_ca_file_directly_and_through_the_environments_proxy() {
    let (server, ca_file) = tls_server(|_, _| certificate("ACTIVE", 100));
    let endpoint = format!("https://127.0.0.1:{}", server.addr.port());
    let check = ["check", "--instance-id", INSTANCE, "--sn", SN];

    let (code, out, err) = run(mqttcert_at(&endpoint)
        .env("TENCENTCLOUD_TOKEN", TOKEN)
        .arg("--ca-file")
        .arg(&ca_file)
        .arg("-vvv")
        .args(check));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("healthy (100 days left)"), "{out}");
    let signature = server.received()[0].signature().to_owned();
    for secret in [SECRET_KEY, TOKEN, signature.as_str()] {
        assert!(!out.contains(secret) && !err.contains(secret), "{secret}");
    }
    assert_eq!(
        server.received()[0].header("Host"),
        Some(format!("127.0.0.1:{}", server.addr.port()).as_str())
    );

    let (proxy_url, proxy) = proxy(200);
    let (code, _, err) = run(mqttcert_at(&endpoint)
        .env("HTTPS_PROXY", &proxy_url)
        .env("NO_PROXY", "localhost,.example.com")
        .arg("--ca-file")
        .arg(&ca_file)
        .args(check));
    assert_eq!(code, 0, "{err}");
    assert!(proxy.join().unwrap().starts_with("CONNECT 127.0.0.1:"));

    let (code, _, err) = run(mqttcert_at(&endpoint)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1")
        .arg("--ca-file")
        .arg(&ca_file)
        .args(check));
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = run(mqttcert_at(&endpoint).args(check));
    assert_eq!(code, 3);
    assert!(err.contains("TLS failed with 127.0.0.1:"), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert_eq!(server.received().len(), 3);
    let _ = std::fs::remove_file(ca_file);
}

#[test]
fn no_secret_reaches_the_output_against_the_emulator() {
    use mqttcert_tests::fleet::{
        DEMO_EXPIRING_SN, DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_REVOKED_SN, DEMO_SECRET_ID,
        DEMO_SECRET_KEY,
    };
    use mqttcert_tests::hygiene::Secrets;
    use mqttcert_tests::{Credential, Emulator, Fleet, Options, TlsOptions};

    const WRONG_KEY: &str = "WrongSecretKeyGivenToTheCli00001";

    // The emulator's clock is an hour ahead, so that every run is first refused as expired and
    // logs its clock correction too. The tests' key is a temporary one there, with a token.
    let mut fleet = Fleet::demo(now_ms() as i64);
    fleet.credentials.push(Credential {
        secret_id: SECRET_ID.to_owned(),
        secret_key: SECRET_KEY.to_owned(),
        token: Some(TOKEN.to_owned()),
    });
    let emulator = Emulator::start(Options {
        fleet,
        tls: Some(TlsOptions::generate(["127.0.0.1"])),
        rate_limit: None,
        clock_offset_secs: 3600,
        ..Options::default()
    })
    .unwrap();
    let dir = scratch_dir();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem().unwrap()).unwrap();
    let serials = dir.join("serials.txt");
    let unknown = "5a1e00000000000000000000000000000000ffff";
    std::fs::write(
        &serials,
        [DEMO_HEALTHY_SN, DEMO_EXPIRING_SN, DEMO_REVOKED_SN, unknown].join("\n"),
    )
    .unwrap();
    let endpoint = emulator.https_url().unwrap();
    let cli = |secret_id: &str, secret_key: &str| {
        let mut command = mqttcert_at(&endpoint);
        command
            .env("TENCENTCLOUD_SECRET_ID", secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", secret_key)
            .arg("--ca-file")
            .arg(&ca_file);
        command
    };
    let check = ["check", "--instance-id", DEMO_INSTANCE_ID, "--sn"];

    let runs = [
        (
            0,
            run(cli(DEMO_SECRET_ID, DEMO_SECRET_KEY)
                .arg("-vvv")
                .args(check)
                .arg(DEMO_HEALTHY_SN)),
        ),
        (
            0,
            run(cli("", "")
                .env_remove("TENCENTCLOUD_SECRET_ID")
                .env_remove("TENCENTCLOUD_SECRET_KEY")
                .args([
                    "--secret-id",
                    DEMO_SECRET_ID,
                    "--secret-key",
                    DEMO_SECRET_KEY,
                ])
                .args(["-vvv", "describe", "--instance-id", DEMO_INSTANCE_ID])
                .args(["--sn", DEMO_HEALTHY_SN])),
        ),
        (
            2,
            run(cli(DEMO_SECRET_ID, DEMO_SECRET_KEY)
                .env("RUST_LOG", "trace")
                .args(["-vvv", "batch", "--instance-id", DEMO_INSTANCE_ID, "--sns"])
                .arg(&serials)),
        ),
        (
            0,
            run(cli(SECRET_ID, SECRET_KEY)
                .env("TENCENTCLOUD_TOKEN", TOKEN)
                .arg("-vvv")
                .args(check)
                .arg(DEMO_HEALTHY_SN)),
        ),
        (
            3,
            run(cli(DEMO_SECRET_ID, WRONG_KEY)
                .arg("-vvv")
                .args(check)
                .arg(DEMO_HEALTHY_SN)),
        ),
    ];
    assert!(emulator.requests() >= 8, "{} requests", emulator.requests());

    let now = now_secs() as i64;
    let days: Vec<String> = [now, now + 120, now + 3600, now + 3720]
        .into_iter()
        .map(mqttcert_tests::time::utc_date)
        .collect();
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let mut secrets = Secrets::default();
    secrets.key("the demo key", DEMO_SECRET_KEY, &days, "mqtt");
    secrets.key("the temporary key", SECRET_KEY, &days, "mqtt");
    secrets.key("the wrong key", WRONG_KEY, &days, "mqtt");
    secrets.text("the token", TOKEN);

    for (i, (expected, (code, out, err))) in runs.iter().enumerate() {
        assert_eq!(code, expected, "run {i}: {err}");
        // The most verbose output: the TLS library's trace and the clock correction.
        assert!(err.contains("TRACE"), "run {i}: {err}");
        assert!(err.contains("signing again"), "run {i}: {err}");
        for (name, text) in [("stdout", out), ("stderr", err)] {
            if let Some(found) = secrets.find(text.as_bytes()) {
                panic!("run {i}: {found} is in its {name}:\n{text}");
            }
        }
    }
    assert!(
        runs[4].1.2.contains("AuthFailure.SignatureFailure"),
        "{}",
        runs[4].1.2
    );
    std::fs::remove_dir_all(dir).unwrap();
}
