//! Properties of the core's signatures, checked by the emulator's verifier, which was written
//! apart from the core's signer: every request the core signs is accepted, over generated keys,
//! regions, instances, serials, tokens and timestamps (many of them minutes from a UTC
//! midnight, where the credential scope's date changes); a request changed in any one byte of a
//! signed part is refused.
//!
//! The requests go straight to the emulator's API layer (`Api::handle`), with the server's
//! clock chosen by the test, rather than over a socket: the properties are about signatures,
//! and thousands of cases run in about a second.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../core/tests/common/signed_request.rs"]
mod signed_request;

use mqttcert_core::sign::Signer;
use mqttcert_tests::api::{Api, Request, SIGNATURE_WINDOW_SECS};
use mqttcert_tests::{Fleet, Instance, fleet};
use proptest::prelude::*;
use proptest::sample::Index;
use signed_request::{Inputs, write};

const SECONDS_PER_DAY: i64 = 86_400;
/// The last second of the year 9999.
const LAST_TIMESTAMP: i64 = 253_402_300_799;

const SIGNATURE_FAILURE: &str = "AuthFailure.SignatureFailure";
const SIGNATURE_EXPIRE: &str = "AuthFailure.SignatureExpire";

/// A timestamp within ten minutes of a UTC midnight, on either side, or anywhere up to the
/// year 9999.
fn timestamps() -> impl Strategy<Value = i64> {
    prop_oneof![
        (1..LAST_TIMESTAMP / SECONDS_PER_DAY, -600i64..=600)
            .prop_map(|(day, offset)| day * SECONDS_PER_DAY + offset),
        0..=LAST_TIMESTAMP,
    ]
}

/// Request parts as the emulator's fleet takes them: alphanumeric key ids, regions shaped like
/// `ap-guangzhou`, instance ids without dots or colons.
fn inputs() -> impl Strategy<Value = Inputs> {
    signed_request::inputs(
        "[A-Za-z0-9]{1,128}",
        "[a-z]{2}-[a-z0-9-]{1,29}",
        "[A-Za-z0-9_-]{1,64}",
    )
}

/// The request the core writes for `inputs`, signed at `timestamp`.
fn sign(inputs: &Inputs, timestamp: i64, signer: &mut Signer) -> Vec<u8> {
    write(inputs, u64::try_from(timestamp).unwrap(), signer)
}

/// An API that knows the key of `inputs` and one certificate with its serial, in its instance
/// and region; no rate limit.
fn api(inputs: &Inputs) -> Api {
    let mut certificate = Fleet::demo(0).instances[0].certificates[0].clone();
    certificate.device_certificate_sn = inputs.serial.clone();
    let fleet = Fleet {
        credentials: vec![fleet::Credential {
            secret_id: inputs.secret_id.clone(),
            secret_key: inputs.secret_key.clone(),
            token: inputs.token.clone(),
        }],
        instances: vec![Instance {
            instance_id: inputs.instance_id.clone(),
            region: inputs.region.clone(),
            certificates: vec![certificate],
        }],
    };
    Api::new(fleet, None)
}

/// The request as the emulator's server reads it off the connection.
fn parse(bytes: &[u8]) -> Request {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).unwrap() else {
        panic!("the core wrote an incomplete head")
    };
    Request {
        body: bytes[head_len..].to_vec(),
        ..Request::from_head(&parsed)
    }
}

/// The API's error code for `bytes` when its clock reads `now`; `None` when it answers the
/// certificate.
fn answer(api: &Api, bytes: &[u8], now: i64) -> Option<String> {
    api.handle(&parse(bytes), now).code
}

/// Where the value of header `name` sits in `bytes`.
fn header_value(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    span_after(bytes, format!("\r\n{name}: ").as_bytes(), b"\r\n")
}

/// The bytes after the first `start`, up to the next `end`.
fn span_after(bytes: &[u8], start: &[u8], end: &[u8]) -> std::ops::Range<usize> {
    let from = find(bytes, start, 0).unwrap() + start.len();
    let to = find(bytes, end, from).unwrap();
    from..to
}

fn find(bytes: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| from + at)
}

/// A signed part of the request.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// The `Host` header's value.
    Host,
    /// The `Content-Type` header's value.
    ContentType,
    /// The JSON body.
    Body,
    /// `X-TC-Timestamp`.
    Timestamp,
    /// The date of the credential scope in `Authorization`.
    ScopeDate,
    /// The signature in `Authorization`.
    Signature,
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        Just(Part::Host),
        Just(Part::ContentType),
        Just(Part::Body),
        Just(Part::Timestamp),
        Just(Part::ScopeDate),
        Just(Part::Signature),
    ]
}

/// Changes one byte of `part` in `bytes`: the byte at `at` within the part, to the replacement
/// `with` picks among those that keep the request well formed and change what is signed (for a
/// header value, not just its case: signed header values are compared lowercased).
fn change(bytes: &mut [u8], inputs: &Inputs, part: Part, at: Index, with: Index) {
    let digits: Vec<u8> = (b'0'..=b'9').collect();
    let hex: Vec<u8> = (b'0'..=b'9').chain(b'a'..=b'f').collect();
    let visible: Vec<u8> = (b'!'..=b'~').collect();
    let any: Vec<u8> = (0..=u8::MAX).collect();

    let (span, choices) = match part {
        Part::Host => (header_value(bytes, "Host"), visible),
        Part::ContentType => (header_value(bytes, "Content-Type"), visible),
        Part::Body => (find(bytes, b"\r\n\r\n", 0).unwrap() + 4..bytes.len(), any),
        Part::Timestamp => (header_value(bytes, "X-TC-Timestamp"), digits),
        Part::ScopeDate => {
            let start = format!("Credential={}/", inputs.secret_id);
            let date = span_after(bytes, start.as_bytes(), b"/");
            // The digits of yyyy-mm-dd, not its dashes.
            let digit = [0, 1, 2, 3, 5, 6, 8, 9][at.index(8)];
            (date.start + digit..date.start + digit + 1, digits)
        }
        Part::Signature => (span_after(bytes, b"Signature=", b"\r\n"), hex),
    };
    let position = span.start + at.index(span.len());
    let old = bytes[position];
    let choices: Vec<u8> = choices
        .into_iter()
        .filter(|b| !b.eq_ignore_ascii_case(&old))
        .collect();
    bytes[position] = choices[with.index(choices.len())];
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every request the core signs is accepted by a server whose clock is anywhere within the
    /// window, on either side of a midnight the timestamp is near.
    #[test]
    fn the_verifier_accepts_what_the_core_signs(
        inputs in inputs(),
        timestamp in timestamps(),
        skew in -SIGNATURE_WINDOW_SECS..=SIGNATURE_WINDOW_SECS,
    ) {
        let bytes = sign(&inputs, timestamp, &mut Signer::new());
        let now = timestamp + skew;
        prop_assert_eq!(answer(&api(&inputs), &bytes, now), None);
    }

    /// One signer, keeping its derived key, signs a request just before a UTC midnight and one
    /// just after: the second uses the new day's key, and both are accepted.
    #[test]
    fn a_kept_key_is_replaced_at_midnight(
        inputs in inputs(),
        day in 1..LAST_TIMESTAMP / SECONDS_PER_DAY,
        before in 1i64..=600,
        after in 0i64..600,
    ) {
        let api = api(&inputs);
        let midnight = day * SECONDS_PER_DAY;
        let mut signer = Signer::new();
        for timestamp in [midnight - before, midnight + after, midnight - before] {
            let bytes = sign(&inputs, timestamp, &mut signer);
            prop_assert_eq!(answer(&api, &bytes, timestamp), None, "at {}", timestamp);
        }
    }

    /// A request the core signed, outside the window of the server's clock, is refused as
    /// expired.
    #[test]
    fn the_window_is_enforced(
        inputs in inputs(),
        timestamp in timestamps(),
        distance in SIGNATURE_WINDOW_SECS + 1..=2 * SECONDS_PER_DAY,
        ahead in any::<bool>(),
    ) {
        let bytes = sign(&inputs, timestamp, &mut Signer::new());
        let now = if ahead { timestamp + distance } else { timestamp - distance };
        let code = answer(&api(&inputs), &bytes, now);
        prop_assert_eq!(code.as_deref(), Some(SIGNATURE_EXPIRE));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any one byte changed in a signed part makes the verifier refuse the request. A changed
    /// timestamp is refused by a clock near the old one (as expired, or by the signature) and,
    /// to show that the signature covers it, by a clock at the new one.
    #[test]
    fn one_changed_byte_is_refused(
        inputs in inputs(),
        timestamp in timestamps(),
        skew in -SIGNATURE_WINDOW_SECS..=SIGNATURE_WINDOW_SECS,
        part in part(),
        at in any::<Index>(),
        with in any::<Index>(),
    ) {
        let api = api(&inputs);
        let mut bytes = sign(&inputs, timestamp, &mut Signer::new());
        let now = timestamp + skew;
        prop_assert_eq!(answer(&api, &bytes, now), None, "before the change");

        change(&mut bytes, &inputs, part, at, with);
        let code = answer(&api, &bytes, now);
        match part {
            Part::Timestamp => {
                prop_assert!(
                    matches!(code.as_deref(), Some(SIGNATURE_FAILURE | SIGNATURE_EXPIRE)),
                    "{:?}",
                    code
                );
                let changed: i64 = parse(&bytes).header("X-TC-Timestamp").unwrap().parse().unwrap();
                let code = answer(&api, &bytes, changed);
                prop_assert_eq!(code.as_deref(), Some(SIGNATURE_FAILURE));
            }
            _ => prop_assert_eq!(code.as_deref(), Some(SIGNATURE_FAILURE)),
        }
    }

    /// The case of a signed header's value is not signed: the canonical request lowercases it,
    /// so a proxy that changes it does not break the signature.
    #[test]
    fn the_case_of_signed_values_is_not_signed(
        inputs in inputs(),
        timestamp in timestamps(),
        at in any::<Index>(),
    ) {
        let mut bytes = sign(&inputs, timestamp, &mut Signer::new());
        let letters: Vec<usize> = header_value(&bytes, "Host")
            .filter(|&i| bytes[i].is_ascii_lowercase())
            .collect();
        prop_assume!(!letters.is_empty());
        let position = letters[at.index(letters.len())];
        bytes[position] = bytes[position].to_ascii_uppercase();
        prop_assert_eq!(answer(&api(&inputs), &bytes, timestamp), None);
    }
}
