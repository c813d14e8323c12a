//! Properties over generated inputs: a signed request is a pure function of its inputs; any
//! record the API can send within the capacities comes back field for field, whatever the
//! framing and however the bytes arrive; a text or time beyond its capacity is refused with the
//! field's name.
//!
//! The emulator's verifier accepting the core's signatures is a property of both crates, tested
//! in `tests/tests/signing_properties.rs`. Under Miri these tests are ignored: they are too slow
//! there, and the examples in `reply.rs` go through the same code.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/signed_request.rs"]
mod signed_request;

use mqttcert_core::response::{
    self, Answer, CertificateSource, DeviceCertificate, Error, LABEL_CAPACITY, MESSAGE_CAPACITY,
    PEM_CAPACITY, Read, ReplyError, ReplyField, Status, TEXT_CAPACITY,
};
use mqttcert_core::sign::Signer;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use signed_request::{Inputs, write};

/// Request parts as the core takes them: any printable key id, lowercase regions, instance ids
/// with the punctuation real ones use.
fn inputs() -> impl Strategy<Value = Inputs> {
    signed_request::inputs("[!-~]{1,128}", "[a-z0-9-]{1,32}", "[A-Za-z0-9_.:-]{1,64}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same inputs give the same bytes: with a fresh signer each time, and with a signer
    /// that kept the key of another day (`earlier` is some other timestamp).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn signing_is_deterministic(
        inputs in inputs(),
        timestamp in any::<u64>(),
        earlier in any::<u64>(),
    ) {
        let first = write(&inputs, timestamp, &mut Signer::new());
        let second = write(&inputs, timestamp, &mut Signer::new());
        prop_assert_eq!(&first, &second);

        let mut kept = Signer::new();
        write(&inputs, earlier, &mut kept);
        let with_kept_key = write(&inputs, timestamp, &mut kept);
        prop_assert_eq!(&first, &with_kept_key);
    }
}

/// Text of at most `capacity` bytes, any characters (controls, quotes, backslashes, characters
/// beyond the Basic Multilingual Plane); half the time padded with `x` to exactly `capacity`.
fn text(capacity: usize) -> impl Strategy<Value = String> {
    (vec(any::<char>(), 0..=capacity.min(200)), any::<bool>()).prop_map(move |(chars, fill)| {
        let mut text = String::new();
        for c in chars {
            if text.len() + c.len_utf8() > capacity {
                break;
            }
            text.push(c);
        }
        if fill {
            while text.len() < capacity {
                text.push('x');
            }
        }
        text
    })
}

/// Text longer than `capacity`: `capacity` bytes, then one to eight more characters.
fn too_long(capacity: usize) -> impl Strategy<Value = String> {
    (text(capacity), vec(any::<char>(), 1..=8)).prop_map(move |(mut text, extra)| {
        while text.len() < capacity {
            text.push('x');
        }
        text.extend(extra);
        text
    })
}

/// A `Status` or `CertificateSource` label: one of the known ones or any other of at most
/// [`LABEL_CAPACITY`] bytes.
fn label(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(known).prop_map(str::to_owned),
        text(LABEL_CAPACITY),
    ]
}

const STATUSES: &[&str] = &["ACTIVE", "INACTIVE", "REVOKED", "PENDING_ACTIVATION"];
const SOURCES: &[&str] = &["API", "JITP"];

/// What the API sends for one certificate, as plain Rust values.
#[derive(Clone, Debug)]
struct Sent {
    texts: [(ReplyField, String); 8],
    times: [(ReplyField, u64); 6],
    status: String,
    source: String,
}

fn sent() -> impl Strategy<Value = Sent> {
    let texts = (
        (text(TEXT_CAPACITY), text(TEXT_CAPACITY), text(PEM_CAPACITY)),
        (
            text(TEXT_CAPACITY),
            text(TEXT_CAPACITY),
            text(TEXT_CAPACITY),
        ),
        (text(TEXT_CAPACITY), text(TEXT_CAPACITY)),
    );
    let times = vec(any::<u64>(), 6);
    (texts, times, label(STATUSES), label(SOURCES)).prop_map(
        |(((ca, client, pem), (cn, sn, format), (ou, request_id)), times, status, source)| Sent {
            texts: [
                (ReplyField::CaSn, ca),
                (ReplyField::ClientId, client),
                (ReplyField::DeviceCertificate, pem),
                (ReplyField::DeviceCertificateCn, cn),
                (ReplyField::DeviceCertificateSn, sn),
                (ReplyField::Format, format),
                (ReplyField::OrganizationalUnit, ou),
                (ReplyField::RequestId, request_id),
            ],
            times: [
                (ReplyField::CreatedTime, times[0]),
                (ReplyField::LastActivationTime, times[1]),
                (ReplyField::LastInactivationTime, times[2]),
                (ReplyField::NotAfterTime, times[3]),
                (ReplyField::NotBeforeTime, times[4]),
                (ReplyField::UpdateTime, times[5]),
            ],
            status,
            source,
        },
    )
}

impl Sent {
    /// The body as the API writes it: `{"Response":{…}}` with the API's field names.
    fn body(&self) -> Value {
        let mut response = serde_json::Map::new();
        for (field, text) in &self.texts {
            response.insert(field.name().to_owned(), json!(text));
        }
        for (field, time) in &self.times {
            response.insert(field.name().to_owned(), json!(time));
        }
        response.insert("Status".to_owned(), json!(self.status));
        response.insert("CertificateSource".to_owned(), json!(self.source));
        json!({ "Response": response })
    }

    fn text(&self, field: ReplyField) -> &str {
        let (_, text) = self.texts.iter().find(|(f, _)| *f == field).unwrap();
        text
    }

    fn time(&self, field: ReplyField) -> u64 {
        let (_, time) = self.times.iter().find(|(f, _)| *f == field).unwrap();
        *time
    }
}

/// JSON text with every character outside ASCII written as a `\u` escape (a surrogate pair
/// beyond the Basic Multilingual Plane), as some servers write it. Outside strings a JSON text
/// holds only ASCII, so escaping every such character is safe.
fn ascii_only(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// How the body travels.
#[derive(Clone, Debug)]
enum Framing {
    Length,
    /// Chunks of these sizes, repeated until the body is sent.
    Chunked(Vec<usize>),
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Length),
        vec(1usize..3000, 1..5).prop_map(Framing::Chunked),
    ]
}

/// The body behind an HTTP/1.1 head.
fn http_reply(body: &[u8], framing: &Framing) -> Vec<u8> {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    match framing {
        Framing::Length => {
            reply.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            reply.extend_from_slice(body);
        }
        Framing::Chunked(sizes) => {
            reply.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body;
            for size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, after) = rest.split_at((*size).min(rest.len()));
                reply.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                reply.extend_from_slice(chunk);
                reply.extend_from_slice(b"\r\n");
                rest = after;
            }
            reply.extend_from_slice(b"0\r\n\r\n");
        }
    }
    reply
}

/// Reads `bytes` as they would arrive in pieces ending at `cuts` (positions in 0..1, scaled to
/// the length): the reply must be incomplete until its last byte is in.
fn read_in_pieces(
    bytes: &[u8],
    cuts: &[f64],
    record: &mut DeviceCertificate,
) -> Result<Answer, Error> {
    // Room for the largest reply the strategies make (every character escaped);
    // `REPLY_CAPACITY` is sized for the API's real records.
    let mut buf = vec![0u8; bytes.len().max(response::REPLY_CAPACITY)];
    let mut ends: Vec<usize> = cuts
        .iter()
        .map(|cut| (cut * bytes.len() as f64) as usize)
        .collect();
    ends.sort_unstable();
    ends.push(bytes.len());

    let mut filled = 0;
    for end in ends {
        buf[filled..end].copy_from_slice(&bytes[filled..end]);
        filled = end;
        match response::read_reply(&mut buf, filled, false, record)? {
            Read::Complete(reply) => {
                assert_eq!(filled, bytes.len(), "complete before the last byte");
                return Ok(reply.answer);
            }
            Read::Incomplete => assert!(filled < bytes.len(), "incomplete at the end"),
        }
    }
    unreachable!("the last piece ends the reply")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any record within the capacities, written by serde_json (or with every character
    /// escaped), framed by length or in chunks and received in pieces, comes back field for
    /// field.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn records_round_trip(
        sent in sent(),
        escape_all in any::<bool>(),
        framing in framing(),
        cuts in vec(0.0f64..1.0, 0..4),
    ) {
        let mut body = sent.body().to_string();
        if escape_all {
            body = ascii_only(&body);
        }
        let reply = http_reply(body.as_bytes(), &framing);
        let mut record: Box<DeviceCertificate> = Box::default();
        let answer = read_in_pieces(&reply, &cuts, &mut record);
        prop_assert_eq!(answer, Ok(Answer::Certificate));

        let texts = [
            (ReplyField::CaSn, record.ca_sn.as_str()),
            (ReplyField::ClientId, record.client_id.as_str()),
            (ReplyField::DeviceCertificate, record.device_certificate.as_str()),
            (ReplyField::DeviceCertificateCn, record.device_certificate_cn.as_str()),
            (ReplyField::DeviceCertificateSn, record.device_certificate_sn.as_str()),
            (ReplyField::Format, record.format.as_str()),
            (ReplyField::OrganizationalUnit, record.organizational_unit.as_str()),
            (ReplyField::RequestId, record.request_id.as_str()),
        ];
        for (field, got) in texts {
            prop_assert_eq!(got, sent.text(field), "{}", field);
        }
        let times = [
            (ReplyField::CreatedTime, record.created_time),
            (ReplyField::LastActivationTime, record.last_activation_time),
            (ReplyField::LastInactivationTime, record.last_inactivation_time),
            (ReplyField::NotAfterTime, record.not_after_time),
            (ReplyField::NotBeforeTime, record.not_before_time),
            (ReplyField::UpdateTime, record.update_time),
        ];
        for (field, got) in times {
            prop_assert_eq!(got, sent.time(field), "{}", field);
        }

        let status = match sent.status.as_str() {
            "ACTIVE" => Status::Active,
            "INACTIVE" => Status::Inactive,
            "REVOKED" => Status::Revoked,
            "PENDING_ACTIVATION" => Status::PendingActivation,
            other => Status::Unknown(other.try_into().unwrap()),
        };
        prop_assert_eq!(&record.status, &status);
        let source = match sent.source.as_str() {
            "API" => CertificateSource::Api,
            "JITP" => CertificateSource::Jitp,
            other => CertificateSource::Unknown(other.try_into().unwrap()),
        };
        prop_assert_eq!(&record.certificate_source, &source);
    }

    /// A text beyond its capacity is refused, naming the field, and the
    /// record is left empty.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn text_beyond_capacity_is_named(
        sent in sent(),
        which in 0usize..8,
        long_text in too_long(TEXT_CAPACITY),
        long_pem in too_long(PEM_CAPACITY),
    ) {
        let field = sent.texts[which].0;
        let long = if field == ReplyField::DeviceCertificate { long_pem } else { long_text };
        let mut body = sent.body();
        body["Response"][field.name()] = json!(long);
        let reply = http_reply(body.to_string().as_bytes(), &Framing::Length);

        let mut record: Box<DeviceCertificate> = Box::default();
        let answer = read_in_pieces(&reply, &[], &mut record);
        prop_assert_eq!(answer, Err(Error::Reply(ReplyError::Capacity(field))));
        prop_assert_eq!(&*record, &DeviceCertificate::new());
    }

    /// A time with more digits than a `u64` holds is refused, naming the field.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn time_beyond_u64_is_named(
        sent in sent(),
        which in 0usize..6,
        value in u128::from(u64::MAX) + 1..=u128::MAX,
        spaces in "[ \t\r\n]{0,3}",
    ) {
        let field = sent.times[which].0;
        let mut body = sent.body();
        body["Response"][field.name()] = json!("TIME");
        let body = body
            .to_string()
            .replacen(r#""TIME""#, &format!("{spaces}{value}{spaces}"), 1);
        let reply = http_reply(body.as_bytes(), &Framing::Length);

        let mut record: Box<DeviceCertificate> = Box::default();
        let answer = read_in_pieces(&reply, &[], &mut record);
        prop_assert_eq!(answer, Err(Error::Reply(ReplyError::Capacity(field))));
    }

    /// An API error comes back with its code; its message and request id are cut at their
    /// capacities, at a character boundary, and a code beyond its capacity is refused.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn api_errors_round_trip(
        code in prop_oneof![text(response::CODE_CAPACITY), too_long(response::CODE_CAPACITY)],
        message in text(2 * MESSAGE_CAPACITY),
        request_id in text(2 * response::REQUEST_ID_CAPACITY),
    ) {
        let body = json!({"Response": {
            "Error": {"Code": code, "Message": message},
            "RequestId": request_id,
        }});
        let reply = http_reply(body.to_string().as_bytes(), &Framing::Length);
        let mut record: Box<DeviceCertificate> = Box::default();
        let answer = read_in_pieces(&reply, &[], &mut record);

        if code.len() > response::CODE_CAPACITY {
            prop_assert_eq!(answer, Err(Error::Reply(ReplyError::Capacity(ReplyField::ErrorCode))));
            return Ok(());
        }
        let Ok(Answer::Error(api)) = answer else {
            return Err(TestCaseError::fail(format!("not an API error: {answer:?}")));
        };
        prop_assert_eq!(api.code.as_str(), code.as_str());
        prop_assert_eq!(api.message.as_str(), cut(&message, MESSAGE_CAPACITY));
        prop_assert_eq!(api.request_id.as_str(), cut(&request_id, response::REQUEST_ID_CAPACITY));
        prop_assert_eq!(&*record, &DeviceCertificate::new());
    }

    /// A label longer than [`LABEL_CAPACITY`] is kept cut, as an unknown status.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn long_labels_are_cut(sent in sent(), long in too_long(LABEL_CAPACITY)) {
        let mut body = sent.body();
        body["Response"]["Status"] = json!(long);
        let reply = http_reply(body.to_string().as_bytes(), &Framing::Length);
        let mut record: Box<DeviceCertificate> = Box::default();
        prop_assert_eq!(read_in_pieces(&reply, &[], &mut record), Ok(Answer::Certificate));
        let Status::Unknown(label) = &record.status else {
            return Err(TestCaseError::fail(format!("{:?}", record.status)));
        };
        prop_assert_eq!(label.as_str(), cut(&long, LABEL_CAPACITY));
    }
}

/// The longest prefix of `text` of at most `capacity` bytes that ends at a character boundary.
fn cut(text: &str, capacity: usize) -> &str {
    let mut end = text.len().min(capacity);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
