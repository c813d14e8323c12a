//! Replies, good and bad: every malformed reply gets its typed error, and nothing from the
//! network can panic the parser.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mqttcert_core::Verdict;
use mqttcert_core::check::{self, Policy};
use mqttcert_core::response::{
    self, Answer, CertificateSource, DeviceCertificate, Error, ErrorClass, HttpError, Read,
    ReplyError, ReplyField, Status, parse_body,
};
use serde_json_core::de::Error as JsonError;

const LIVE: &str = include_str!("data/documented-reply.json");
const DOC_SHAPE: &str = include_str!("data/documented-reply-doc-shape.json");
const SERIAL: &str = "0eef68a582b94254296e54ce754f94d707a59911";

/// The exhaustive loops visit every position; under Miri, which runs them thousands of times
/// slower, every 97th (a prime, so that the positions fall on every kind of byte).
const STRIDE: usize = if cfg!(miri) { 97 } else { 1 };

/// The documented reply wrapped in an HTTP head.
fn http_reply(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Date: Thu, 03 Dec 2026 16:00:00 GMT\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads a whole reply; a certificate gives the record, an API error its answer.
fn read(bytes: &[u8], closed: bool) -> Result<Read<Box<DeviceCertificate>>, Error> {
    match read_answer(bytes, closed)? {
        Read::Incomplete => Ok(Read::Incomplete),
        Read::Complete((Answer::Certificate, _, record)) => Ok(Read::Complete(record)),
        Read::Complete((Answer::Error(err), ..)) => panic!("the API answered {err}"),
    }
}

/// A complete reply: the answer, the server's date and the record.
type Outcome = (Answer, Option<u64>, Box<DeviceCertificate>);

fn read_answer(bytes: &[u8], closed: bool) -> Result<Read<Outcome>, Error> {
    let mut buf = vec![0u8; response::REPLY_CAPACITY];
    buf[..bytes.len()].copy_from_slice(bytes);
    let mut record = Box::new(DeviceCertificate::new());
    Ok(
        match response::read_reply(&mut buf, bytes.len(), closed, &mut record)? {
            Read::Incomplete => Read::Incomplete,
            Read::Complete(reply) => Read::Complete((reply.answer, reply.date, record)),
        },
    )
}

fn body_error(body: &str) -> ReplyError {
    let mut record: DeviceCertificate = DeviceCertificate::new();
    let err = parse_body(body.as_bytes(), &mut record).expect_err(body);
    assert_eq!(
        record,
        DeviceCertificate::new(),
        "a failed parse leaves the record empty"
    );
    err
}

#[test]
fn documented_reply_fills_all_sixteen_fields() {
    for body in [LIVE, DOC_SHAPE] {
        let Read::Complete(record) = read(&http_reply(body), false).expect("a valid reply") else {
            panic!("incomplete")
        };
        assert_eq!(record.ca_sn, "1b1e3bf3702110125887a3a721a7e66f05522513");
        assert_eq!(record.certificate_source, CertificateSource::Api);
        assert_eq!(record.client_id, "client1");
        assert_eq!(record.created_time, 1_724_050_379_000);
        assert!(
            record
                .device_certificate
                .starts_with("-----BEGIN CERTIFICATE-----\n")
        );
        assert!(
            record
                .device_certificate
                .ends_with("\n-----END CERTIFICATE-----\n")
        );
        assert!(!record.device_certificate.contains('\\'));
        assert_eq!(record.device_certificate_cn, "mqtt-test.xxx.tencent.com");
        assert_eq!(record.device_certificate_sn, SERIAL);
        assert_eq!(record.format, "PEM");
        assert_eq!(record.last_activation_time, 1_724_050_378_987);
        assert_eq!(record.last_inactivation_time, 0);
        assert_eq!(record.not_after_time, 1_758_185_683_000);
        assert_eq!(record.not_before_time, 1_714_985_683_000);
        assert_eq!(record.organizational_unit, "TencentCloud");
        assert_eq!(record.request_id, "1b5fc3fa-4bbf-421a-aad1-c45d49119a2c");
        assert_eq!(record.status, Status::Active);
        assert_eq!(record.update_time, 1_724_050_379_000);

        let now = 1_724_100_000_000;
        let verdict = check::judge(&record, SERIAL, now, &Policy::default());
        assert!(matches!(verdict, Verdict::Healthy { .. }), "{verdict:?}");
    }
}

#[test]
fn record_serialises_to_the_api_shape() {
    let mut record: DeviceCertificate = DeviceCertificate::new();
    parse_body(LIVE.as_bytes(), &mut record).expect("a valid reply");
    let ours: serde_json::Value = serde_json::to_value(&record).expect("serialisable");
    let theirs: serde_json::Value = serde_json::from_str(LIVE).expect("valid JSON");
    assert_eq!(ours, theirs["Response"]);
}

#[test]
fn chunked_reply_gives_the_same_record() {
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for piece in LIVE.as_bytes().chunks(100) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let Read::Complete(from_chunks) = read(&chunked, false).expect("valid") else {
        panic!("incomplete")
    };
    let Read::Complete(from_length) = read(&http_reply(LIVE), false).expect("valid") else {
        panic!("incomplete")
    };
    assert_eq!(from_chunks, from_length);
}

#[test]
fn api_errors_keep_code_message_and_request_id() {
    let body = r#"{"Response":{"Error":{"Code":"ResourceNotFound.Certificate","Message":"The certificate \"0e\" does not exist."},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}"#;
    let Ok(Read::Complete((Answer::Error(api), date, record))) =
        read_answer(&http_reply(body), false)
    else {
        panic!("not an API error")
    };
    assert_eq!(*record, DeviceCertificate::new());
    assert_eq!(api.code, "ResourceNotFound.Certificate");
    assert_eq!(api.message, "The certificate \"0e\" does not exist.");
    assert_eq!(api.request_id, "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6");
    assert_eq!(api.class(), ErrorClass::NotFound);
    assert_eq!(date, Some(1_796_313_600));

    let long_message = "長".repeat(200);
    let body = format!(
        r#"{{"Response":{{"Error":{{"Code":"InternalError","Message":"{long_message}"}},"RequestId":"r"}}}}"#
    );
    let mut record: DeviceCertificate = DeviceCertificate::new();
    let Ok(Answer::Error(api)) = parse_body(body.as_bytes(), &mut record) else {
        panic!("not an API error")
    };
    assert_eq!(api.class(), ErrorClass::RetryLater);
    assert!(long_message.starts_with(api.message.as_str()));
    assert!(
        api.message.len() > 250,
        "the message is cut at the capacity"
    );
}

#[test]
fn truncation_at_every_byte() {
    let reply = http_reply(LIVE);
    for cut in (0..reply.len()).step_by(STRIDE) {
        assert!(
            matches!(read(&reply[..cut], false), Ok(Read::Incomplete)),
            "cut at {cut} while open"
        );
        assert_eq!(
            read(&reply[..cut], true).map(|_| ()),
            Err(Error::Http(HttpError::Truncated)),
            "cut at {cut} after close"
        );
    }
    // A body cut short is a body that ended early, wherever the cut falls: in a key, a string,
    // a number or between values.
    for cut in (0..LIVE.len()).step_by(STRIDE) {
        let err = body_error(&LIVE[..cut]);
        assert!(
            matches!(
                err,
                ReplyError::Json(
                    JsonError::EofWhileParsingObject
                        | JsonError::EofWhileParsingString
                        | JsonError::EofWhileParsingValue
                )
            ),
            "body cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn every_field_over_its_capacity_is_named() {
    let value: serde_json::Value = serde_json::from_str(LIVE).expect("valid JSON");
    let fields = [
        ("CaSn", ReplyField::CaSn),
        ("ClientId", ReplyField::ClientId),
        ("DeviceCertificate", ReplyField::DeviceCertificate),
        ("DeviceCertificateCn", ReplyField::DeviceCertificateCn),
        ("DeviceCertificateSn", ReplyField::DeviceCertificateSn),
        ("Format", ReplyField::Format),
        ("OrganizationalUnit", ReplyField::OrganizationalUnit),
        ("RequestId", ReplyField::RequestId),
    ];
    for (name, field) in fields {
        let capacity = match field {
            ReplyField::DeviceCertificate => response::PEM_CAPACITY,
            _ => response::TEXT_CAPACITY,
        };
        // Mostly two-byte characters: capacities count bytes, not characters.
        let with_length = |len: usize| {
            let mut changed = value.clone();
            changed["Response"][name] =
                format!("{}{}", "x".repeat(len % 2), "é".repeat(len / 2)).into();
            let mut record: DeviceCertificate = DeviceCertificate::new();
            parse_body(changed.to_string().as_bytes(), &mut record).map(|_| ())
        };
        assert_eq!(with_length(capacity), Ok(()), "{name} at its capacity");
        assert_eq!(
            with_length(capacity + 1),
            Err(ReplyError::Capacity(field)),
            "{name} one byte over"
        );
    }

    // The API error's code is refused too; its message and request id are cut instead.
    let body = format!(
        r#"{{"Response":{{"Error":{{"Code":"{}","Message":"m"}},"RequestId":"r"}}}}"#,
        "C".repeat(response::CODE_CAPACITY + 1)
    );
    assert_eq!(
        body_error(&body),
        ReplyError::Capacity(ReplyField::ErrorCode)
    );

    // Small capacities apply to the whole record.
    let mut small: DeviceCertificate<512, 40> = DeviceCertificate::new();
    assert_eq!(
        parse_body(LIVE.as_bytes(), &mut small),
        Err(ReplyError::Capacity(ReplyField::DeviceCertificate))
    );
}

#[test]
fn times_beyond_u64_are_named() {
    let with_time = |value: &str| LIVE.replacen("1758185683000", value, 1);
    let mut record: DeviceCertificate = DeviceCertificate::new();
    parse_body(with_time("18446744073709551615").as_bytes(), &mut record).expect("u64::MAX");
    assert_eq!(record.not_after_time, u64::MAX);

    let spaced = format!(" 1{} ", "0".repeat(39));
    for too_large in [
        "18446744073709551616",
        "99999999999999999999999999",
        &spaced,
    ] {
        assert_eq!(
            body_error(&with_time(too_large)),
            ReplyError::Capacity(ReplyField::NotAfterTime),
            "{too_large}"
        );
    }
    // A negative time is not too large: it is not a time at all.
    assert_eq!(
        body_error(&with_time("-18446744073709551616")),
        ReplyError::Json(JsonError::InvalidNumber)
    );
}

#[test]
fn wrong_types_and_bad_json() {
    let value: serde_json::Value = serde_json::from_str(LIVE).expect("valid JSON");
    let retyped = |name: &str, replacement: serde_json::Value| {
        let mut changed = value.clone();
        changed["Response"][name] = replacement;
        body_error(&changed.to_string())
    };
    assert_eq!(
        retyped("NotAfterTime", "soon".into()),
        ReplyError::Json(JsonError::InvalidType)
    );
    assert_eq!(
        retyped("NotAfterTime", (-1).into()),
        ReplyError::Json(JsonError::InvalidNumber)
    );
    assert_eq!(
        retyped("Status", 5.into()),
        ReplyError::Json(JsonError::InvalidType)
    );
    assert_eq!(
        retyped("CaSn", serde_json::json!(["a"])),
        ReplyError::Json(JsonError::InvalidType)
    );
    assert_eq!(
        retyped("NotBeforeTime", serde_json::Value::Null),
        ReplyError::MissingField(ReplyField::NotBeforeTime)
    );
    assert_eq!(
        retyped("DeviceCertificateSn", serde_json::Value::Null),
        ReplyError::MissingField(ReplyField::DeviceCertificateSn)
    );

    let cases: [(&str, ReplyError); 6] = [
        ("", ReplyError::Json(JsonError::EofWhileParsingValue)),
        ("[]", ReplyError::Json(JsonError::InvalidType)),
        ("{}", ReplyError::MissingResponse),
        (r#"{"Response":null}"#, ReplyError::MissingResponse),
        (
            r#"{"Response":{}} x"#,
            ReplyError::Json(JsonError::TrailingCharacters),
        ),
        (
            r#"{"Response":{"Status":"ACTIVE","Status":"REVOKED"}}"#,
            ReplyError::Json(JsonError::CustomError),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(body_error(body), expected, "{body}");
    }
}

#[test]
fn duplicate_keys_are_refused() {
    let duplicated = LIVE.replacen(
        r#""Status":"ACTIVE""#,
        r#""Status":"ACTIVE","Status":"REVOKED""#,
        1,
    );
    assert_ne!(duplicated, LIVE, "the fixture spells Status as expected");
    assert_eq!(
        body_error(&duplicated),
        ReplyError::Json(JsonError::CustomError)
    );
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let deep = |depth: usize, open: &str, close: &str| {
        format!(
            r#"{{"Response":{{"Extra":{}{}, "Status":"ACTIVE"}}}}"#,
            open.repeat(depth),
            close.repeat(depth)
        )
    };
    for (open, close) in [("[", "]"), (r#"{"a":"#, "}")] {
        assert_eq!(body_error(&deep(10_000, open, close)), ReplyError::TooDeep);
        assert_eq!(body_error(&deep(10_000, open, "")), ReplyError::TooDeep);
    }
    assert_eq!(body_error(&"[".repeat(10_000)), ReplyError::TooDeep);

    // Brackets inside strings do not count.
    let quoted = LIVE.replacen(r#""client1""#, &format!("\"{}\"", "[{".repeat(5000)), 1);
    let mut record: DeviceCertificate<4096, 16384> = DeviceCertificate::new();
    parse_body(quoted.as_bytes(), &mut record).expect("brackets in a string are text");
}

#[test]
fn invalid_utf8_and_escapes() {
    let mut bytes = LIVE.as_bytes().to_vec();
    let at = LIVE.find("client1").expect("fixture");
    bytes[at] = 0xff;
    let mut record: DeviceCertificate = DeviceCertificate::new();
    assert_eq!(
        parse_body(&bytes, &mut record),
        Err(ReplyError::Json(JsonError::InvalidUnicodeCodePoint))
    );

    for escape in [
        r"\x",
        r"\u12",
        r"\uD800",
        r"\uDE00",
        r"\uD83D\u0041",
        r"\uZZZZ",
        r"\",
    ] {
        let body = LIVE.replacen("client1", &format!("client{escape}1"), 1);
        assert_eq!(
            body_error(&body),
            ReplyError::InvalidEscape(ReplyField::ClientId),
            "{escape}"
        );
    }
    let body = LIVE.replacen(
        "client1",
        r#"client\u00e9\n\t\/\u4e2d\uD83D\uDE00\\\"\b\f\r"#,
        1,
    );
    let mut record: DeviceCertificate = DeviceCertificate::new();
    parse_body(body.as_bytes(), &mut record).expect("valid escapes");
    assert_eq!(record.client_id, "clienté\n\t/中😀\\\"\u{8}\u{c}\r");
}

#[test]
fn unknown_labels_are_kept_as_data() {
    let body =
        LIVE.replacen(r#""ACTIVE""#, r#""SUSPENDED""#, 1)
            .replacen(r#""API""#, r#""BATCH""#, 1);
    let mut record: DeviceCertificate = DeviceCertificate::new();
    parse_body(body.as_bytes(), &mut record).expect("valid");
    assert_eq!(record.status.as_str(), "SUSPENDED");
    assert!(matches!(record.status, Status::Unknown(_)));
    assert_eq!(record.certificate_source.as_str(), "BATCH");
    assert_eq!(
        check::judge(&record, SERIAL, 0, &Policy::default()),
        Verdict::UnknownStatus
    );
}

#[test]
fn replies_that_are_not_the_api() {
    let html = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 17\r\n\
                 Date: Thu, 03 Dec 2026 16:00:00 GMT\r\n\r\n<html>oops</html>";
    assert_eq!(
        read(html, true).map(|_| ()),
        Err(Error::Status {
            status: 502,
            date: Some(1_796_313_600)
        })
    );

    let text = String::from_utf8(http_reply(LIVE))
        .expect("ASCII")
        .replace("application/json", "application/json; charset=utf-8");
    assert_eq!(
        read(text.as_bytes(), false).map(|_| ()),
        Err(Error::ContentType)
    );
}

#[test]
fn damaged_replies_never_panic() {
    // Every single-byte change of the reply, at a sample of positions and values: each gives a
    // record or a typed error, never a panic.
    let reply = http_reply(LIVE);
    for at in (0..reply.len()).step_by(7 * STRIDE) {
        for value in [0u8, b'"', b'\\', b'{', b']', b'9', 0x80, 0xff] {
            let mut damaged = reply.clone();
            damaged[at] = value;
            let _ = read_answer(&damaged, true);
        }
    }
}

#[test]
fn framing_errors_are_typed() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    let framed = |headers: &str, body: &str| format!("{head}{headers}\r\n{body}");
    let cases = [
        // Both framings, in either order: a smuggling pattern.
        (
            framed("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", "{}"),
            HttpError::AmbiguousFraming,
        ),
        (
            framed("Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", "{}"),
            HttpError::AmbiguousFraming,
        ),
        // Content-Length: negative, signed, empty, not a number, a list, beyond 19 digits,
        // or two that disagree.
        (
            framed("Content-Length: -2\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: +2\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: \r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: two\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: 0x2\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: 2, 2\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: 18446744073709551617\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        (
            framed("Content-Length: 2\r\nContent-Length: 3\r\n", "{}"),
            HttpError::InvalidContentLength,
        ),
        // A valid length beyond the buffer.
        (
            framed("Content-Length: 9999999999999999999\r\n", "{}"),
            HttpError::BodyTooLarge,
        ),
        (
            framed("Content-Length: 8192\r\n", "{}"),
            HttpError::BodyTooLarge,
        ),
        // Transfer codings other than one `chunked`.
        (
            framed("Transfer-Encoding: gzip\r\n", "{}"),
            HttpError::UnsupportedTransferEncoding,
        ),
        (
            framed(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                "",
            ),
            HttpError::UnsupportedTransferEncoding,
        ),
        // Bad chunk sizes and terminators.
        (chunked("zz\r\n{}\r\n0\r\n\r\n"), HttpError::InvalidChunk),
        (chunked("-2\r\n{}\r\n0\r\n\r\n"), HttpError::InvalidChunk),
        (chunked("\r\n{}\r\n0\r\n\r\n"), HttpError::InvalidChunk),
        (chunked(" 2\r\n{}\r\n0\r\n\r\n"), HttpError::InvalidChunk),
        (
            chunked("ffffffffffffffffff\r\n{}\r\n"),
            HttpError::InvalidChunk,
        ),
        (chunked("2\r\n{}XX0\r\n\r\n"), HttpError::InvalidChunk),
        (chunked("3\r\n{}\r\n0\r\n\r\n"), HttpError::InvalidChunk),
        (chunked("100000\r\n{}"), HttpError::BodyTooLarge),
        // Bytes after the body.
        (
            framed("Content-Length: 2\r\n", "{}{}"),
            HttpError::TrailingData,
        ),
        (
            chunked("2\r\n{}\r\n0\r\n\r\nHTTP/1.1"),
            HttpError::TrailingData,
        ),
        // Heads that are not HTTP/1.x.
        (
            "HTTP/1.1 20 OK\r\n\r\n".to_owned(),
            HttpError::MalformedHead,
        ),
        ("HTTP/2 200\r\n\r\n".to_owned(), HttpError::MalformedHead),
        (
            "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_owned(),
            HttpError::MalformedHead,
        ),
        (framed("Bad Header: x\r\n", "{}"), HttpError::MalformedHead),
        (
            framed(&"X-Filler: y\r\n".repeat(33), "{}"),
            HttpError::TooManyHeaders,
        ),
    ];
    for (reply, expected) in cases {
        assert_eq!(
            read_answer(reply.as_bytes(), true).map(|_| ()),
            Err(Error::Http(expected)),
            "{reply:?}"
        );
    }
}

/// A chunked reply with this body.
fn chunked(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
         {body}"
    )
}

#[test]
fn a_header_line_longer_than_the_buffer() {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Long: ".to_vec();
    reply.resize(response::REPLY_CAPACITY, b'a');
    for closed in [false, true] {
        assert_eq!(
            read_answer(&reply, closed).map(|_| ()),
            Err(Error::Http(HttpError::HeadTooLarge)),
            "closed: {closed}"
        );
    }
}

#[test]
fn server_errors_with_html_bodies() {
    let page = "<html><body><h1>503 Service Unavailable</h1></body></html>";
    let date = "Date: Thu, 03 Dec 2026 16:00:00 GMT\r\n";
    let cases = [
        (
            format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n{date}\
                 Content-Length: {}\r\n\r\n{page}",
                page.len()
            ),
            500,
            Some(1_796_313_600),
        ),
        (
            format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{page}\r\n0\r\n\r\n",
                page.len()
            ),
            502,
            None,
        ),
        // Framed by the end of the connection.
        (
            format!("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n{page}"),
            503,
            None,
        ),
        // A JSON body does not make a gateway's answer the API's.
        (
            format!(
                "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\n{date}\
                 Content-Length: {}\r\n\r\n{LIVE}",
                LIVE.len()
            ),
            504,
            Some(1_796_313_600),
        ),
    ];
    for (reply, status, date) in cases {
        assert_eq!(
            read_answer(reply.as_bytes(), true).map(|_| ()),
            Err(Error::Status { status, date }),
            "{status}"
        );
    }

    // An HTML page with status 200 is not the API either.
    let html = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    assert_eq!(
        read_answer(html.as_bytes(), true).map(|_| ()),
        Err(Error::ContentType)
    );
}

#[test]
fn invalid_utf8_outside_string_values() {
    let invalid = |from: &str, to: &[u8]| {
        let at = LIVE.find(from).expect("fixture");
        let mut body = LIVE.as_bytes()[..at].to_vec();
        body.extend_from_slice(to);
        body.extend_from_slice(&LIVE.as_bytes()[at + from.len()..]);
        let mut record: DeviceCertificate = DeviceCertificate::new();
        let result = parse_body(&body, &mut record).map(|_| ());
        assert_eq!(record, DeviceCertificate::new());
        result
    };
    let utf8 = Err(ReplyError::Json(JsonError::InvalidUnicodeCodePoint));
    // In a key, in a value the record ignores, a sequence cut short, a surrogate written in
    // UTF-8, and a byte between values.
    assert_eq!(invalid(r#""ClientId""#, b"\"Client\xffId\""), utf8);
    assert_eq!(invalid(r#""Format""#, b"\"X\":\"\xc3\",\"Format\""), utf8);
    assert_eq!(invalid("client1", b"client\xe4\xb8"), utf8);
    assert_eq!(invalid("client1", b"client\xed\xa0\x80"), utf8);
    assert_eq!(
        invalid(r#","Format""#, b",\xff\"Format\""),
        Err(ReplyError::Json(JsonError::KeyMustBeAString))
    );

    // In the head: a Content-Type that is not UTF-8 is not `application/json`.
    let reply = String::from_utf8(http_reply(LIVE)).expect("ASCII");
    let mut bytes = reply.into_bytes();
    let at = bytes
        .windows(4)
        .position(|w| w == b"json")
        .expect("the head names JSON");
    bytes[at] = 0xff;
    assert_eq!(
        read_answer(&bytes, false).map(|_| ()),
        Err(Error::ContentType)
    );
}
