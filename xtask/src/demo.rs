//! `cargo xtask demo`: the core's whole job on the documented example, with nothing sent
//! anywhere: the signed request for `DescribeDeviceCertificate`, the documented reply read into
//! a record, and the verdict on it.

use std::time::{SystemTime, UNIX_EPOCH};

use mqttcert_core::SecretKey;
use mqttcert_core::check::{self, Policy};
use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint, INTERNATIONAL_HOST};
use mqttcert_core::response::{self, Answer, DeviceCertificate, Read};
use mqttcert_core::sign::Signer;

use crate::util::{self, Result};

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

    println!(
        "\nNothing was sent. `cargo xtask test` runs every check; the README shows how to use \
         the core on a device."
    );
    Ok(())
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
