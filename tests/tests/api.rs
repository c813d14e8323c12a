//! The API over HTTP: the success reply, every error code, and signatures that break when any
//! signed part of a request is changed after signing.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{TEMP_SECRET_ID, TEMP_SECRET_KEY, TEMP_TOKEN, TIMEOUT, code, describe, send};
use mqttcert_tests::client::{self, Call};
use mqttcert_tests::fleet::{DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_REVOKED_SN};
use mqttcert_tests::{Emulator, Options};

const FIELDS: [&str; 16] = [
    "CaSn",
    "CertificateSource",
    "ClientId",
    "CreatedTime",
    "DeviceCertificate",
    "DeviceCertificateCn",
    "DeviceCertificateSn",
    "Format",
    "LastActivationTime",
    "LastInactivationTime",
    "NotAfterTime",
    "NotBeforeTime",
    "OrganizationalUnit",
    "RequestId",
    "Status",
    "UpdateTime",
];

fn is_uuid_v4(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}

fn is_imf_fixdate(date: &str) -> bool {
    // e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
    let b = date.as_bytes();
    b.len() == 29 && &b[3..5] == b", " && date.ends_with(" GMT") && b[19] == b':'
}

#[test]
fn success_carries_every_field_in_the_envelope() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let reply = send(addr, &describe(addr).sign());

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(
        reply.header("Content-Length"),
        Some(reply.body.len().to_string().as_str())
    );
    assert!(is_imf_fixdate(reply.header("Date").unwrap()), "{reply:?}");

    let json = reply.json();
    let response = json["Response"].as_object().unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1);
    let mut keys: Vec<&str> = response.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, FIELDS);
    assert_eq!(response["DeviceCertificateSn"], DEMO_HEALTHY_SN);
    assert_eq!(response["Status"], "ACTIVE");
    assert!(response["NotAfterTime"].as_i64().unwrap() > common::now() * 1000);
    assert!(is_uuid_v4(response["RequestId"].as_str().unwrap()));

    // A fresh RequestId each time; the serial matches without case.
    let mut call = describe(addr);
    call.payload = call.payload.replace("5a1e", "5A1E");
    let again = send(addr, &call.sign()).json();
    assert_eq!(again["Response"]["DeviceCertificateSn"], DEMO_HEALTHY_SN);
    assert_ne!(again["Response"]["RequestId"], response["RequestId"]);

    let revoked = common::describe_sn(addr, DEMO_REVOKED_SN);
    assert_eq!(
        send(addr, &revoked.sign()).json()["Response"]["Status"],
        "REVOKED"
    );
}

#[test]
fn errors_are_200_in_the_envelope() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let mut call = describe(addr);
    call.secret_key = "wrong".into();
    let reply = send(addr, &call.sign());

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert!(is_imf_fixdate(reply.header("Date").unwrap()));
    let json = reply.json();
    let response = json["Response"].as_object().unwrap();
    assert_eq!(response.len(), 2);
    assert_eq!(response["Error"]["Code"], "AuthFailure.SignatureFailure");
    assert!(!response["Error"]["Message"].as_str().unwrap().is_empty());
    assert!(is_uuid_v4(response["RequestId"].as_str().unwrap()));
}

#[test]
fn get_host_with_scheme_and_extra_signed_headers_verify() {
    let emu = common::emulator();
    let addr = emu.http_addr();

    let get = describe(addr).into_get(DEMO_INSTANCE_ID, DEMO_HEALTHY_SN);
    assert_eq!(code(addr, &get.sign()), "Success");

    // tccli sends and signs the scheme in Host.
    let mut tccli = describe(addr);
    tccli.host = format!("http://{addr}");
    assert_eq!(code(addr, &tccli.sign()), "Success");

    // Header values are compared trimmed and lowercased.
    let mut request = describe(addr).sign();
    request.set_header("Host", format!(" {} ", addr).to_uppercase());
    assert_eq!(code(addr, &request), "Success");

    let mut signed = describe(addr);
    signed.extra_signed = vec![
        ("x-tc-action".into(), "DescribeDeviceCertificate".into()),
        ("x-tc-region".into(), "ap-guangzhou".into()),
    ];
    assert_eq!(code(addr, &signed.sign()), "Success");
}

#[test]
fn changes_after_signing_break_the_signature() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let failure = "AuthFailure.SignatureFailure";

    let mut body = describe(addr).sign();
    body.body = String::from_utf8(body.body)
        .unwrap()
        .replace(DEMO_HEALTHY_SN, DEMO_REVOKED_SN)
        .into_bytes();
    assert_eq!(code(addr, &body), failure);

    let mut host = describe(addr).sign();
    host.set_header("Host", format!("localhost:{}", addr.port()));
    assert_eq!(code(addr, &host), failure);

    let mut timestamp = describe(addr).sign();
    let ts: i64 = timestamp.header("X-TC-Timestamp").unwrap().parse().unwrap();
    timestamp.set_header("X-TC-Timestamp", (ts + 1).to_string());
    assert_eq!(code(addr, &timestamp), failure);

    let mut content_type = describe(addr).sign();
    content_type.set_header("Content-Type", "application/json; charset=utf-8");
    assert_eq!(code(addr, &content_type), failure);

    let get = describe(addr).into_get(DEMO_INSTANCE_ID, DEMO_HEALTHY_SN);
    let mut query = get.sign();
    query.target = query.target.replace(DEMO_HEALTHY_SN, DEMO_REVOKED_SN);
    assert_eq!(code(addr, &query), failure);

    // A header outside SignedHeaders may change; one inside may not.
    let mut unsigned = describe(addr).sign();
    unsigned.set_header("X-TC-Region", "ap-shanghai");
    assert_eq!(code(addr, &unsigned), "ResourceNotFound.Instance");

    let mut call = describe(addr);
    call.extra_signed = vec![("x-tc-region".into(), "ap-guangzhou".into())];
    let mut signed = call.sign();
    signed.set_header("X-TC-Region", "ap-shanghai");
    assert_eq!(code(addr, &signed), failure);

    let mut call = describe(addr);
    call.extra_signed = vec![("x-tc-action".into(), "DescribeDeviceCertificate".into())];
    let mut signed = call.sign();
    signed.set_header("X-TC-Action", "DescribeDeviceCertificates");
    assert_eq!(code(addr, &signed), failure);

    // A signed header that is not sent at all.
    let mut call = describe(addr);
    call.extra_signed = vec![("x-custom".into(), "1".into())];
    let mut missing = call.sign();
    missing.remove_header("x-custom");
    assert_eq!(code(addr, &missing), failure);
}

#[test]
fn every_error_code() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let with = |edit: &dyn Fn(&mut Call)| {
        let mut call = describe(addr);
        edit(&mut call);
        code(addr, &call.sign())
    };
    let body = |json: &str| {
        let json = json.to_owned();
        with(&move |c: &mut Call| c.payload = json.clone())
    };

    assert_eq!(
        with(&|c| c.secret_id = "AKIDnobody".into()),
        "AuthFailure.SecretIdNotFound"
    );
    assert_eq!(
        with(&|c| c.secret_key = "wrong".into()),
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(with(&|c| c.timestamp -= 301), "AuthFailure.SignatureExpire");
    assert_eq!(with(&|c| c.timestamp += 301), "AuthFailure.SignatureExpire");
    assert_eq!(with(&|c| c.timestamp -= 290), "Success");

    // Tokens: required and exact with temporary credentials, refused with permanent ones.
    let temp = |token: Option<&str>| {
        let token = token.map(str::to_owned);
        with(&move |c: &mut Call| {
            c.secret_id = TEMP_SECRET_ID.into();
            c.secret_key = TEMP_SECRET_KEY.into();
            c.token = token.clone();
        })
    };
    assert_eq!(temp(Some(TEMP_TOKEN)), "Success");
    assert_eq!(temp(None), "AuthFailure.TokenFailure");
    assert_eq!(temp(Some("stale-token")), "AuthFailure.TokenFailure");
    assert_eq!(
        with(&|c| c.token = Some("a-token".into())),
        "AuthFailure.TokenFailure"
    );

    assert_eq!(
        with(&|c| c.action = "DescribeDeviceCertificates".into()),
        "InvalidAction"
    );
    assert_eq!(with(&|c| c.version = "2019-01-01".into()), "NoSuchVersion");
    assert_eq!(
        with(&|c| c.region = Some("xx-nowhere".into())),
        "UnsupportedRegion"
    );
    assert_eq!(with(&|c| c.region = None), "MissingParameter");

    assert_eq!(body(r#"{"InstanceId":"mqtt-demo01"}"#), "MissingParameter");
    assert_eq!(body(r#"{"DeviceCertificateSn":"ab"}"#), "MissingParameter");
    assert_eq!(
        body(r#"{"InstanceId":"mqtt-demo01","DeviceCertificateSn":12}"#),
        "InvalidParameter"
    );
    assert_eq!(body("not json"), "InvalidParameter");
    assert_eq!(body("[1,2]"), "InvalidParameter");
    assert_eq!(
        body(r#"{"InstanceId":"mqtt-demo01","DeviceCertificateSn":"xyz!"}"#),
        "InvalidParameterValue"
    );
    assert_eq!(
        body(r#"{"InstanceId":"","DeviceCertificateSn":"ab"}"#),
        "InvalidParameterValue"
    );
    assert_eq!(
        body(r#"{"InstanceId":"mqtt-demo01","DeviceCertificateSn":"ab","Limit":1}"#),
        "UnknownParameter"
    );
    assert_eq!(
        body(r#"{"InstanceId":"mqtt-nothere","DeviceCertificateSn":"ab"}"#),
        "ResourceNotFound.Instance"
    );
    assert_eq!(
        body(r#"{"InstanceId":"mqtt-demo01","DeviceCertificateSn":"abcdef"}"#),
        "ResourceNotFound.Certificate"
    );

    // Headers the signature does not cover.
    let mut no_version = describe(addr).sign();
    no_version.remove_header("X-TC-Version");
    assert_eq!(code(addr, &no_version), "MissingParameter");
    let mut no_action = describe(addr).sign();
    no_action.remove_header("X-TC-Action");
    assert_eq!(code(addr, &no_action), "MissingParameter");
    let mut bad_time = describe(addr).sign();
    bad_time.set_header("X-TC-Timestamp", "soon");
    assert_eq!(code(addr, &bad_time), "InvalidParameter");

    for authorization in [
        "",
        "garbage",
        "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/mqtt/tc3_request",
        "TC3-HMAC-SHA256 Credential=AKID, SignedHeaders=content-type;host, Signature=00",
    ] {
        let mut request = describe(addr).sign();
        request.set_header("Authorization", authorization);
        assert_eq!(
            code(addr, &request),
            "AuthFailure.InvalidAuthorization",
            "{authorization}"
        );
    }
    let mut no_auth = describe(addr).sign();
    no_auth.remove_header("Authorization");
    assert_eq!(code(addr, &no_auth), "AuthFailure.InvalidAuthorization");
}

#[test]
fn signature_expire_names_the_server_time() {
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        clock_offset_secs: 3600,
        ..Options::default()
    })
    .unwrap();
    let addr = emu.http_addr();

    let reply = send(addr, &describe(addr).sign());
    let json = reply.json();
    assert_eq!(
        json["Response"]["Error"]["Code"],
        "AuthFailure.SignatureExpire"
    );
    let message = json["Response"]["Error"]["Message"].as_str().unwrap();
    let server_time: i64 = message
        .split("server time ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    assert!((server_time - common::now() - 3600).abs() <= 2, "{message}");

    // A client that signs with the server's time gets through.
    let mut call = describe(addr);
    call.timestamp = server_time;
    assert_eq!(code(addr, &call.sign()), "Success");
}

#[test]
fn rate_limit_per_secret_id() {
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        rate_limit: Some(20),
        ..Options::default()
    })
    .unwrap();
    let addr = emu.http_addr();

    let codes: Vec<String> = (0..25)
        .map(|_| code(addr, &describe(addr).sign()))
        .collect();
    let limited = codes
        .iter()
        .filter(|c| *c == "RequestLimitExceeded")
        .count();
    assert!(codes[..20].iter().all(|c| c == "Success"), "{codes:?}");
    assert!(limited >= 1, "{codes:?}");

    // Another SecretId has its own budget.
    let mut other = describe(addr);
    other.secret_id = TEMP_SECRET_ID.into();
    other.secret_key = TEMP_SECRET_KEY.into();
    other.token = Some(TEMP_TOKEN.into());
    assert_eq!(code(addr, &other.sign()), "Success");
}

#[test]
fn oversized_bodies_are_refused() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        mqttcert_tests::DEFAULT_MAX_BODY_BYTES + 1
    );
    let reply = client::send(addr, head.as_bytes(), TIMEOUT).unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.error_code().as_deref(),
        Some("RequestSizeLimitExceeded")
    );
}

#[test]
fn keep_alive_and_garbage() {
    let emu = common::emulator();
    let addr = emu.http_addr();

    // Two requests on one connection.
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    for _ in 0..2 {
        let mut request = describe(addr).sign();
        request.remove_header("Connection");
        stream.write_all(&request.to_bytes()).unwrap();
        let reply = client::read_reply(&mut stream).unwrap();
        assert_eq!(reply.error_code(), None);
    }

    // Garbage gets a 400 and a closed connection; the server keeps serving.
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(b"\x00\x01 nonsense\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 400 "), "{reply:?}");

    assert_eq!(code(addr, &describe(addr).sign()), "Success");
    assert_eq!(emu.requests(), 3);
}

#[test]
fn idle_connections_are_closed() {
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        idle_timeout: std::time::Duration::from_millis(200),
        ..Options::default()
    })
    .unwrap();
    let mut stream = TcpStream::connect_timeout(&emu.http_addr(), TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
    assert!(started.elapsed() < TIMEOUT);
}

/// Random bytes, and valid requests with bytes flipped or cut short: each connection ends in a
/// reply or a close, and the server answers normally afterwards.
#[test]
fn network_garbage_never_stops_the_server() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let valid = describe(addr).sign().to_bytes();
    let mut rng = fastrand::Rng::with_seed(0x5eed);

    for round in 0..300 {
        let bytes: Vec<u8> = match round % 3 {
            0 => (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect(),
            1 => {
                let mut bytes = valid.clone();
                for _ in 0..rng.usize(1..8) {
                    let i = rng.usize(..bytes.len());
                    bytes[i] = rng.u8(..);
                }
                bytes
            }
            _ => valid[..rng.usize(..valid.len())].to_vec(),
        };
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        // The server may close before reading everything; only the reading side matters.
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        match stream.read_to_end(&mut reply) {
            Ok(_) => {}
            Err(e) => assert_eq!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset,
                "round {round}"
            ),
        }
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 "),
            "round {round}"
        );
    }
    assert_eq!(code(addr, &describe(addr).sign()), "Success");
}

/// Started and dropped from async code, as a `#[tokio::test]` of another crate would.
#[tokio::test]
async fn starts_and_stops_inside_a_runtime() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let code = tokio::task::spawn_blocking(move || code(addr, &describe(addr).sign()))
        .await
        .unwrap();
    assert_eq!(code, "Success");
    drop(emu);
}
