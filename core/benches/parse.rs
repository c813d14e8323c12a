//! What reading the documented `DescribeDeviceCertificate` reply costs: the body alone, the
//! same body read by serde_json into the owned struct a host program would write, and the
//! whole HTTP reply.
//!
//! The body is `tests/data/documented-reply.json`: the documentation's example in the live
//! `{"Response":{…}}` shape, carrying a 1350-byte PEM certificate with `\n` escapes.

#![allow(
    clippy::expect_used,
    reason = "a benchmark whose set-up fails has nothing to measure and should stop loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use mqttcert_core::response::{self, DeviceCertificate, REPLY_CAPACITY, Read};
use serde::Deserialize;

const BODY: &[u8] = include_bytes!("../tests/data/documented-reply.json");

/// The reply as a host program would model it: every field owned, strings as `String`.
#[derive(Deserialize)]
struct OwnedReply {
    #[serde(rename = "Response")]
    response: OwnedRecord,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[expect(dead_code, reason = "only the parsing is measured")]
struct OwnedRecord {
    ca_sn: String,
    certificate_source: String,
    client_id: String,
    created_time: u64,
    device_certificate: String,
    device_certificate_cn: String,
    device_certificate_sn: String,
    format: String,
    last_activation_time: u64,
    last_inactivation_time: u64,
    not_after_time: u64,
    not_before_time: u64,
    organizational_unit: String,
    request_id: String,
    status: String,
    update_time: u64,
}

/// The body behind the head the service sends.
fn http_reply() -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 19 Aug 2024 20:40:00 GMT\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        BODY.len()
    );
    [head.as_bytes(), BODY].concat()
}

fn parsing(c: &mut Criterion) {
    let mut record: DeviceCertificate = DeviceCertificate::new();
    let reply = http_reply();
    let mut buf = vec![0u8; REPLY_CAPACITY];

    // All three must read the same certificate, or they are not doing the same work.
    response::parse_body(BODY, &mut record).expect("the documented reply parses");
    let owned: OwnedReply = serde_json::from_slice(BODY).expect("serde_json reads the reply");
    assert_eq!(
        record.device_certificate.as_str(),
        owned.response.device_certificate
    );
    assert_eq!(record.device_certificate.len(), 1350);
    buf[..reply.len()].copy_from_slice(&reply);
    let read = response::read_reply(&mut buf, reply.len(), false, &mut record);
    assert!(matches!(read, Ok(Read::Complete(_))));

    let mut group = c.benchmark_group("parse");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("mqttcert/parse body", |b| {
        b.iter(|| response::parse_body(black_box(BODY), &mut record))
    });

    group.bench_function("serde_json/owned struct", |b| {
        b.iter(|| serde_json::from_slice::<OwnedReply>(black_box(BODY)))
    });

    // The reply is copied into the buffer on every iteration, as it would arrive from the
    // socket; the copy of these 2 KB is part of the figure.
    group.bench_function("mqttcert/read_reply", |b| {
        b.iter(|| {
            buf[..reply.len()].copy_from_slice(black_box(&reply));
            response::read_reply(&mut buf, reply.len(), false, &mut record)
        })
    });

    group.finish();
}

// Written out rather than through `criterion_group!`, whose generated function has no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    parsing(&mut criterion);
    criterion.final_summary();
}
