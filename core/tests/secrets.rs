//! No secret reaches a log: a whole check is run with every log line captured at the most
//! verbose level, and neither the secret key nor the derived signing key may appear in them,
//! in any common encoding.
//!
//! Runs with the `log` feature (`cargo test -p mqttcert-core --features log`), which
//! `cargo xtask test` enables.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use hmac::{Hmac, Mac};
use mqttcert_core::SecretKey;
use mqttcert_core::check::{self, Policy};
use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint};
use mqttcert_core::response::{self, DeviceCertificate, Read};
use mqttcert_core::sign::Signer;
use sha2::Sha256;

const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const TOKEN: &str = "session-token-0123456789";

static LINES: Mutex<String> = Mutex::new(String::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!(
            "{} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        LINES.lock().unwrap().push_str(&line);
    }

    fn flush(&self) {}
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_whole_check_logs_no_secret() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let timestamp = 1_724_100_000;
    let key = SecretKey::new(SECRET_KEY).unwrap();
    let credential = Credential::new("AKIDEXAMPLE", &key).with_token(TOKEN);
    let endpoint = Endpoint::new("mqtt.intl.tencentcloudapi.com", "ap-guangzhou");
    let query = DescribeDeviceCertificate {
        instance_id: "mqtt-jbgwp4ae",
        serial: "0eef68a582b94254296e54ce754f94d707a59911",
    };
    let mut signer = Signer::new();
    let mut buf = vec![0u8; response::REPLY_CAPACITY];
    query
        .write_request(&mut buf, &endpoint, &credential, &mut signer, timestamp)
        .unwrap();
    let shown = format!("{credential:?} {key:?} {signer:?}");

    let body = include_str!("data/documented-reply.json");
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    buf[..reply.len()].copy_from_slice(reply.as_bytes());
    let mut record: DeviceCertificate = DeviceCertificate::new();
    let read = response::read_reply(&mut buf, reply.len(), true, &mut record).unwrap();
    assert!(matches!(read, Read::Complete(_)));
    check::judge(&record, query.serial, timestamp * 1000, &Policy::default());

    let date = mqttcert_core::time::UtcDate::from_unix(timestamp).to_string();
    assert_eq!(
        date, "2024-08-19",
        "the keys below are those of the request's day"
    );
    let date_key = hmac(format!("TC3{SECRET_KEY}").as_bytes(), date.as_bytes());
    let service_key = hmac(&date_key, b"mqtt");
    let signing_key = hmac(&service_key, b"tc3_request");

    let lines = LINES.lock().unwrap().clone() + &shown;
    assert!(
        lines.contains("deriving the signing key"),
        "the log was captured:\n{lines}"
    );
    assert!(
        lines.contains("healthy"),
        "the verdict was logged:\n{lines}"
    );
    for secret in [
        SECRET_KEY.to_owned(),
        TOKEN.to_owned(),
        hex(&date_key),
        hex(&service_key),
        hex(&signing_key),
        format!("{:?}", &signing_key[..]),
        format!("{:?}", SECRET_KEY.as_bytes()),
    ] {
        assert!(
            !lines.contains(&secret),
            "a secret reached the log:\n{lines}"
        );
    }
}
