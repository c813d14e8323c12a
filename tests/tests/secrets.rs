//! Every log line of the emulator, at trace level, captured while it serves successes and
//! failures with a token: none holds a secret key, a token or a derived key.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;

use common::{TEMP_SECRET_ID, TEMP_SECRET_KEY, TEMP_TOKEN, code, describe};
use mqttcert_tests::fleet::DEMO_SECRET_KEY;
use mqttcert_tests::tc3::{self, hex};
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
        LINES.lock().unwrap().push(line);
    }

    fn flush(&self) {}
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

    let temp = |edit: &dyn Fn(&mut mqttcert_tests::client::Call)| {
        let mut call = describe(addr);
        call.secret_id = TEMP_SECRET_ID.into();
        call.secret_key = TEMP_SECRET_KEY.into();
        call.token = Some(TEMP_TOKEN.into());
        edit(&mut call);
        code(addr, &call.sign())
    };
    assert_eq!(temp(&|_| {}), "Success");
    assert_eq!(temp(&|_| {}), "Success");
    assert_eq!(
        temp(&|c| c.secret_key = "wrong".into()),
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        temp(&|c| c.token = Some("wrong".into())),
        "AuthFailure.TokenFailure"
    );
    assert_eq!(
        temp(&|c| c.timestamp -= 1000),
        "AuthFailure.SignatureExpire"
    );
    // A client that signs its token too, with the wrong key: the debug line showing the
    // expected canonical request must not show the token.
    assert_eq!(
        temp(&|c| {
            c.secret_key = "wrong".into();
            c.extra_signed = vec![("x-tc-token".into(), TEMP_TOKEN.into())];
        }),
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        temp(&|c| c.extra_signed = vec![("x-tc-token".into(), TEMP_TOKEN.into())]),
        "Success"
    );
    let mut wrong_key = describe(addr);
    wrong_key.secret_key = "wrong".into();
    assert_eq!(
        code(addr, &wrong_key.sign()),
        "AuthFailure.SignatureFailure"
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

    let today = utc_date(common::now());
    let mut secrets = vec![
        DEMO_SECRET_KEY.to_owned(),
        TEMP_SECRET_KEY.to_owned(),
        TEMP_TOKEN.to_owned(),
    ];
    for key in [DEMO_SECRET_KEY, TEMP_SECRET_KEY] {
        secrets.push(hex(&tc3::signing_key(key, &today, "mqtt")));
    }
    for line in lines.iter() {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a secret in: {line}");
        }
    }
}
