//! Feeds arbitrary bytes, as a reply body, to the JSON envelope parser, [`parse_body`].
//!
//! The body is parsed into a record of the default capacities and into a small one. The parser
//! must never panic, and:
//!
//! - a failed parse, or an API error, leaves the record empty;
//! - every string it fills is within its capacity, an API error's included;
//! - parsing the same bytes again, into the record already filled, gives the same answer and
//!   the same record;
//! - what fits in the small record reads the same in the large one;
//! - a record written back as JSON by serde_json, an independent writer, reads back the same.
#![no_main]

use core::fmt::Write;

use libfuzzer_sys::fuzz_target;
use mqttcert_core::response::{
    Answer, CODE_CAPACITY, CertificateSource, DeviceCertificate, MESSAGE_CAPACITY,
    REQUEST_ID_CAPACITY, ReplyError, parse_body,
};

/// A record small enough that ordinary replies overflow it.
type Small = DeviceCertificate<64, 16>;

fuzz_target!(|body: &[u8]| {
    let mut large: Box<DeviceCertificate> = Box::new(DeviceCertificate::new());
    let answer = parse(body, &mut large);
    if answer == Ok(Answer::Certificate) {
        check_round_trip(&large);
    }
    let mut small = Box::new(Small::new());
    let small_answer = parse(body, &mut small);

    // What the small record holds, the large one holds too.
    if let Ok(Answer::Certificate) = small_answer {
        assert_eq!(
            answer,
            Ok(Answer::Certificate),
            "only the small record was filled"
        );
        assert_eq!(fields(&small), fields(&large), "the two records differ");
    }
    if let (Ok(small), Ok(large)) = (&small_answer, &answer) {
        assert_eq!(small, large, "the two records read different answers");
    }
});

/// Parses `body` into `record` twice and checks what can be checked.
fn parse<const PEM: usize, const TEXT: usize>(
    body: &[u8],
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Answer, ReplyError> {
    let answer = parse_body(body, record);
    let first = record.clone();
    match &answer {
        Ok(Answer::Certificate) => check_record(record),
        Ok(Answer::Error(err)) => {
            assert_eq!(
                *record,
                DeviceCertificate::new(),
                "an API error filled the record"
            );
            assert!(err.code.len() <= CODE_CAPACITY);
            assert!(err.message.len() <= MESSAGE_CAPACITY);
            assert!(err.request_id.len() <= REQUEST_ID_CAPACITY);
            let _ = err.class().is_retryable();
            render(err);
        }
        Err(err) => {
            assert_eq!(
                *record,
                DeviceCertificate::new(),
                "a failed parse filled the record"
            );
            render(err);
        }
    }

    // Again, into the record as the first parse left it.
    let again = parse_body(body, record);
    assert_eq!(again, answer, "a second parse answered differently");
    assert_eq!(
        *record, first,
        "a second parse filled the record differently"
    );
    answer
}

/// Every string of the record is within its capacity, and the labels print.
fn check_record<const PEM: usize, const TEXT: usize>(record: &DeviceCertificate<PEM, TEXT>) {
    assert!(record.device_certificate.len() <= PEM);
    for text in [
        &record.ca_sn,
        &record.client_id,
        &record.device_certificate_cn,
        &record.device_certificate_sn,
        &record.format,
        &record.organizational_unit,
        &record.request_id,
    ] {
        assert!(text.len() <= TEXT);
    }
    render(&record.status);
    render(&record.certificate_source);
}

/// The record, written as the API's `Response` by serde_json, parses back into the same record.
fn check_round_trip(record: &DeviceCertificate) {
    let json = serde_json::to_string(record).expect("a record serialises");
    let body = format!(r#"{{"Response":{json}}}"#);
    let mut again: Box<DeviceCertificate> = Box::new(DeviceCertificate::new());
    assert_eq!(
        parse_body(body.as_bytes(), &mut again),
        Ok(Answer::Certificate),
        "{body}"
    );
    // An absent source is written as an empty label, which reads back as an unknown one.
    if record.certificate_source == CertificateSource::Missing {
        again.certificate_source = CertificateSource::Missing;
    }
    assert_eq!(
        *again, *record,
        "the record changed on its way through JSON"
    );
}

/// The record's fields as plain values, to compare records of different capacities.
fn fields<const PEM: usize, const TEXT: usize>(
    record: &DeviceCertificate<PEM, TEXT>,
) -> Vec<String> {
    let texts = [
        record.ca_sn.as_str(),
        record.certificate_source.as_str(),
        record.client_id.as_str(),
        record.device_certificate.as_str(),
        record.device_certificate_cn.as_str(),
        record.device_certificate_sn.as_str(),
        record.format.as_str(),
        record.organizational_unit.as_str(),
        record.request_id.as_str(),
        record.status.as_str(),
    ];
    let times = [
        record.created_time,
        record.last_activation_time,
        record.last_inactivation_time,
        record.not_after_time,
        record.not_before_time,
        record.update_time,
    ];
    texts
        .into_iter()
        .map(str::to_owned)
        .chain(times.iter().map(u64::to_string))
        .collect()
}

/// Formats a value, as a log line or an error report would.
fn render(value: &dyn core::fmt::Display) {
    let mut out = String::new();
    let _ = write!(out, "{value}");
}
