//! `cargo xtask demo`: the project's main job, shown to a newcomer.
//!
//! First the core alone, with nothing sent anywhere: the signed request for
//! `DescribeDeviceCertificate`, the documented reply read into a record, and the verdict on it.
//! Then the host side for real: the local emulator of the API over HTTPS with a small demo
//! fleet, and the `mqttcert` CLI checking a healthy, an expiring and a revoked certificate.
//! Last the device: the example firmware under QEMU checks its own certificate against the
//! emulator over embedded TLS, and its decoded log is shown.

use std::time::{SystemTime, UNIX_EPOCH};

use mqttcert_core::SecretKey;
use mqttcert_core::check::{self, Policy};
use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint, INTERNATIONAL_HOST};
use mqttcert_core::response::{self, Answer, DeviceCertificate, Read};
use mqttcert_core::sign::Signer;

use crate::emulator::{self, Emulator, Key};
use crate::util::{self, Result};
use crate::{firmware, setup};

/// Placeholder credentials: the demo signs, but sends nothing.
const EXAMPLE_SECRET_ID: &str = "AKIDEXAMPLEEXAMPLEEXAMPLEEXAMPLE0000";
const EXAMPLE_SECRET_KEY: &str = "EXAMPLEsecretKEYexampleSECRETkey";

pub fn run() -> Result {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_owned())?
        .as_secs();

    println!("mqttcert: ask Tencent Cloud whether a device certificate is still good\n");
    let query = DescribeDeviceCertificate {
        instance_id: "mqtt-jbgwp4ae",
        serial: "0eef68a582b94254296e54ce754f94d707a59911",
    };
    let request = sign(&query, now)?;
    println!("1. The signed request the device sends (TC3-HMAC-SHA256, example credentials):\n");
    for line in request.lines() {
        println!("   {line}");
    }

    let record = read_documented_reply()?;
    println!("\n2. The documented reply, read into a fixed-capacity record:\n");
    println!("   DeviceCertificateSn  {}", record.device_certificate_sn);
    println!("   Status               {}", record.status);
    println!("   DeviceCertificateCn  {}", record.device_certificate_cn);
    println!("   ClientId             {}", record.client_id);
    println!("   NotBeforeTime        {}", date(record.not_before_time));
    println!("   NotAfterTime         {}", date(record.not_after_time));
    println!(
        "   DeviceCertificate    {} bytes of PEM, first line {:?}",
        record.device_certificate.len(),
        record.device_certificate.lines().next().unwrap_or("")
    );
    println!("   RequestId            {}", record.request_id);

    let policy = Policy::warn_within_days(30);
    println!("\n3. The verdict (warning 30 days ahead):\n");
    for (label, at_ms) in [
        ("when the example was published", 1_724_050_379_000),
        (
            "a week before expiry",
            record.not_after_time - 7 * check::MS_PER_DAY,
        ),
        ("today", now * 1000),
    ] {
        let verdict = check::judge(&record, query.serial, at_ms, &policy);
        let usable = if verdict.is_usable() {
            "keep using it"
        } else {
            "stop using it"
        };
        println!("   {label:<31} {} → {verdict}: {usable}", date(at_ms));
    }

    println!("\nNothing was sent so far.");
    host_side()
}

/// The emulator over HTTPS, and the CLI checking three certificates of the demo fleet.
fn host_side() -> Result {
    println!(
        "\n4. The host side: the local emulator of the API over HTTPS, and the mqttcert CLI.\n"
    );
    let bin = emulator::build("dev")?;
    let tls_dir = util::root().join("target").join("demo-tls");
    let emulator = Emulator::start(&bin, &["--demo"], Some(&tls_dir))?;
    let endpoint = emulator
        .https
        .clone()
        .ok_or("the emulator serves no HTTPS")?;
    let ca_file = tls_dir.join("ca.pem");
    println!("   emulator: {endpoint}, its CA in {}", ca_file.display());

    let fleet = demo_fleet()?;
    println!(
        "   credentials: the demo fleet's key {}, in the environment\n",
        fleet.key.secret_id
    );
    for (serial, label) in &fleet.certificates {
        let mut check = emulator::mqttcert(&bin, &endpoint, Some(&ca_file), &fleet.key);
        check.args(["check", "--instance-id", &fleet.instance_id, "--sn", serial]);
        println!(
            "   $ mqttcert check --instance-id {} --sn {serial}    # {label}",
            fleet.instance_id
        );
        let out = check
            .output()
            .map_err(|err| format!("cannot run mqttcert: {err}"))?;
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
        {
            println!("     {line}");
        }
        let status = out.status.code().unwrap_or(-1);
        println!("     exit status {status}: {}\n", meaning(status));
    }
    drop(emulator);
    device_side()?;

    println!(
        "\nAgainst the real API: drop --endpoint and --ca-file, and set TENCENTCLOUD_SECRET_ID, \
         TENCENTCLOUD_SECRET_KEY and TENCENTCLOUD_REGION (see the README). `cargo xtask test` \
         runs every check."
    );
    Ok(())
}

/// The example firmware under QEMU, checking its own certificate against the emulator.
fn device_side() -> Result {
    println!(
        "5. The device: the example firmware on QEMU's riscv32 `virt` machine checks its own \
         certificate over embedded TLS (the emulator's CA pinned), twice, and leaves QEMU with \
         an exit status per outcome. Its defmt log, decoded:"
    );
    setup::run()?;
    firmware::run_scenarios(std::slice::from_ref(&firmware::CHECKS[0]))
}

/// What an exit status of `mqttcert check` means.
fn meaning(status: i32) -> &'static str {
    match status {
        0 => "healthy",
        1 => "expiring soon: renew it",
        2 => "revoked, expired, inactive or unknown: stop using it",
        3 => "could not check",
        _ => "unexpected",
    }
}

/// The demo fleet's key and certificates, from `tests/fleets/demo.json`.
struct DemoFleet {
    key: Key,
    instance_id: String,
    /// Serial and a few words on each certificate.
    certificates: Vec<(String, String)>,
}

fn demo_fleet() -> Result<DemoFleet> {
    let path = emulator::demo_fleet_file();
    let fleet = emulator::read_json(&path)?;
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    let instance = &fleet["instances"][0];
    let certificates = instance["certificates"]
        .as_array()
        .ok_or_else(|| format!("{} lists no certificates", path.display()))?
        .iter()
        .map(|c| {
            let label = format!("{}, {}", text(&c["ClientId"]), text(&c["Status"]));
            (text(&c["DeviceCertificateSn"]), label)
        })
        .collect();
    Ok(DemoFleet {
        key: emulator::first_key(&fleet),
        instance_id: text(&instance["instance_id"]),
        certificates,
    })
}

/// Signs the request as of `now` and returns it as text.
fn sign(query: &DescribeDeviceCertificate<'_>, now: u64) -> Result<String> {
    let key = SecretKey::new(EXAMPLE_SECRET_KEY).map_err(|err| err.to_string())?;
    let credential = Credential::new(EXAMPLE_SECRET_ID, &key);
    let endpoint = Endpoint::new(INTERNATIONAL_HOST, "ap-guangzhou");
    let mut buf = [0u8; mqttcert_core::request::DESCRIBE_REQUEST_CAPACITY];
    let len = query
        .write_request(&mut buf, &endpoint, &credential, &mut Signer::new(), now)
        .map_err(|err| err.to_string())?;
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// The reply of the API documentation, behind an HTTP head.
fn read_documented_reply() -> Result<Box<DeviceCertificate>> {
    let path = util::root().join("core/tests/data/documented-reply.json");
    let body = std::fs::read(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body);

    let mut buf = vec![0u8; response::REPLY_CAPACITY];
    let filled = reply.len().min(buf.len());
    buf[..filled].copy_from_slice(&reply[..filled]);
    let mut record = Box::new(DeviceCertificate::new());
    match response::read_reply(&mut buf, filled, true, &mut record) {
        Ok(Read::Complete(reply)) => match reply.answer {
            Answer::Certificate => Ok(record),
            Answer::Error(err) => Err(format!("the documented reply is an error: {err}")),
        },
        Ok(Read::Incomplete) => Err("the documented reply is incomplete".into()),
        Err(err) => Err(format!("the documented reply does not parse: {err}")),
    }
}

/// `yyyy-mm-dd` of Unix milliseconds.
fn date(ms: u64) -> String {
    mqttcert_core::time::UtcDate::from_unix(ms / 1000).to_string()
}
