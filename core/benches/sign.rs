//! What one signed `DescribeDeviceCertificate` request costs, measured beside the `aws-sigv4`
//! crate doing the comparable work, and beside the SHA-256 compression both are made of.
//!
//! # The floor
//!
//! HMAC-SHA256 with a key of at most 64 bytes hashes one padded-key block, then the message
//! (inner hash), then another padded-key block and the 32-byte inner digest (outer hash).
//! SHA-256 pads a message of `n` bytes to `ceil((n + 9) / 64)` blocks of 64 bytes. For the
//! request measured here (timestamp 1724100000, a 10-digit number, UTC date 2024-08-19):
//!
//! | Step | Key; message, in bytes | Compressions |
//! |---|---|---|
//! | payload hash | JSON body, 95 | ceil(104 / 64) = 2 |
//! | canonical request hash | 156 | ceil(165 / 64) = 3 |
//! | key, round 1 | `TC3` + secret, 35; date, 10 | 1 + ceil(19 / 64) + 1 + ceil(41 / 64) = 4 |
//! | key, round 2 | 32; `mqtt`, 4 | 1 + ceil(13 / 64) + 1 + ceil(41 / 64) = 4 |
//! | key, round 3 | 32; `tc3_request`, 11 | 1 + ceil(20 / 64) + 1 + ceil(41 / 64) = 4 |
//! | signature | 32; string to sign, 119 | 1 + ceil(128 / 64) + 1 + ceil(41 / 64) = 5 |
//!
//! The canonical request is `POST\n` (5) `/\n` (2) `\n` (1, empty query)
//! `content-type:application/json\n` (30) `host:mqtt.intl.tencentcloudapi.com\n` (35) `\n` (1)
//! `content-type;host\n` (18) and the 64 hex digits of the payload hash: 156 bytes. The string
//! to sign is `TC3-HMAC-SHA256\n` (16) `1724100000\n` (11) `2024-08-19/mqtt/tc3_request\n`
//! (28) and 64 hex digits: 119 bytes, which with its 9 bytes of padding fills exactly two
//! blocks. A signature therefore costs 22 compressions when the key is derived, and 10 when
//! [`Signer`] reuses it. Everything above `22 × sha256/one block` is the cost of writing the
//! request, validating the inputs and keeping state.

#![allow(
    clippy::expect_used,
    reason = "a benchmark whose set-up fails has nothing to measure and should stop loudly"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SigningParams, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use criterion::Criterion;
use mqttcert_core::SecretKey;
use mqttcert_core::request::{
    Credential, DESCRIBE_REQUEST_CAPACITY, DescribeDeviceCertificate, Endpoint, JSON,
};
use mqttcert_core::sign::{Canonical, Method, Signer, SigningKey, StringToSign};
use mqttcert_core::time::UtcDate;
use sha2::{Digest, Sha256};

const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const HOST: &str = "mqtt.intl.tencentcloudapi.com";
const REGION: &str = "ap-guangzhou";
const SERVICE: &str = "mqtt";
/// Unix seconds, 2024-08-19 20:40:00 UTC.
const NOW: u64 = 1_724_100_000;

const QUERY: DescribeDeviceCertificate<'static> = DescribeDeviceCertificate {
    instance_id: "mqtt-jbgwp4ae",
    serial: "0eef68a582b94254296e54ce754f94d707a59911",
};

/// The body `write_request` produces for [`QUERY`], given to aws-sigv4 ready-made.
const BODY: &[u8] = concat!(
    r#"{"DeviceCertificateSn":"0eef68a582b94254296e54ce754f94d707a59911","#,
    r#""InstanceId":"mqtt-jbgwp4ae"}"#,
)
.as_bytes();

fn signing(c: &mut Criterion) {
    let secret_key = SecretKey::new(SECRET_KEY).expect("a valid secret key");
    let credential = Credential::new(SECRET_ID, &secret_key);
    let endpoint = Endpoint::new(HOST, REGION);
    let mut buf = [0u8; DESCRIBE_REQUEST_CAPACITY];

    // Both ways of calling must write the same request, and its body must be the one given to
    // aws-sigv4, or the comparison below compares different work.
    let mut kept = Signer::new();
    let len = QUERY
        .write_request(&mut buf, &endpoint, &credential, &mut kept, NOW)
        .expect("the documented request is valid");
    assert!(buf[..len].ends_with(BODY));
    let first = buf[..len].to_vec();
    QUERY
        .write_request(&mut buf, &endpoint, &credential, &mut Signer::new(), NOW)
        .expect("the documented request is valid");
    assert_eq!(buf[..len], first[..]);

    // The lengths the compression count in the module docs rests on.
    let canonical = Canonical {
        method: Method::Post,
        host: HOST,
        content_type: JSON,
        query: "",
        payload: BODY,
    };
    assert_eq!(BODY.len(), 95);
    assert_eq!(canonical.to_string().len(), 156);
    let string_to_sign = StringToSign::new(NOW, SERVICE, &canonical);
    assert_eq!(string_to_sign.to_string().len(), 119);

    let mut group = c.benchmark_group("sign");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("mqttcert/sign+build", |b| {
        b.iter(|| {
            let mut signer = Signer::new();
            QUERY.write_request(
                &mut buf,
                &endpoint,
                &credential,
                &mut signer,
                black_box(NOW),
            )
        })
    });

    group.bench_function("mqttcert/sign+build, key cached", |b| {
        b.iter(|| QUERY.write_request(&mut buf, &endpoint, &credential, &mut kept, black_box(NOW)))
    });

    // The same work done the usual way on a host: parameters and settings made per request,
    // an `http::Request` built, signed (aws-sigv4 derives its key on every call) and given its
    // `x-amz-date` and `authorization` headers. Serialising the request to bytes is left to
    // the HTTP client and not measured, which favours this side slightly.
    let identity = Credentials::new(SECRET_ID, SECRET_KEY, None, None, "benchmark").into();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    let uri = format!("https://{HOST}/");
    group.bench_function("aws-sigv4/sign", |b| {
        b.iter(|| {
            let params: SigningParams<'_> = v4::SigningParams::builder()
                .identity(&identity)
                .region(REGION)
                .name(SERVICE)
                .time(black_box(time))
                .settings(SigningSettings::default())
                .build()
                .expect("complete signing parameters")
                .into();
            let mut request = http::Request::builder()
                .method("POST")
                .uri(uri.as_str())
                .header("content-type", JSON)
                .header("host", HOST)
                .body(BODY)
                .expect("a valid request");

            let signable = SignableRequest::new(
                "POST",
                uri.as_str(),
                [("content-type", JSON), ("host", HOST)].into_iter(),
                SignableBody::Bytes(BODY),
            )
            .expect("a signable request");
            let (instructions, _signature) = sign(signable, &params).expect("signed").into_parts();
            instructions.apply_to_request_http1x(&mut request);
            request
        })
    });

    let date = UtcDate::from_unix(NOW);
    group.bench_function("mqttcert/derive key", |b| {
        b.iter(|| SigningKey::derive(&secret_key, black_box(date), SERVICE))
    });

    // 55 bytes and 9 of padding fill exactly one block.
    let message = [b'a'; 55];
    group.bench_function("sha256/one block", |b| {
        b.iter(|| Sha256::digest(black_box(message)))
    });

    group.finish();
}

// Written out rather than through `criterion_group!`, whose generated function has no docs.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    signing(&mut criterion);
    criterion.final_summary();
}
