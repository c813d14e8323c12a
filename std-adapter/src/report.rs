//! What the CLI prints and how it exits, as pure functions of a result.
//!
//! Exit statuses follow the monitoring-plugin convention, so that `mqttcert check` drops into
//! Nagios, Icinga or a cron job unchanged: [`Health::Ok`] 0, [`Health::Warning`] 1,
//! [`Health::Critical`] 2, [`Health::Unknown`] 3.

use std::fmt::Write as _;

use mqttcert_core::response::ErrorClass;
use mqttcert_core::time::UtcDate;
use mqttcert_core::{DeviceCertificate, Verdict};
use serde::Serialize;

use crate::{Checked, Error};

/// How bad a result is, ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// The certificate is healthy. Exit status 0.
    Ok,
    /// It expires within the warning period. Exit status 1.
    Warning,
    /// It must not be used: revoked, expired, not yet valid, inactive, pending activation,
    /// another serial, an unknown status, or not found at all. Exit status 2.
    Critical,
    /// It could not be checked: network, TLS, credentials, usage, or any other API error.
    /// Exit status 3.
    Unknown,
}

impl Health {
    /// The health of a verdict.
    pub fn of_verdict(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Healthy { .. } => Health::Ok,
            Verdict::Expiring { .. } => Health::Warning,
            Verdict::Expired { .. }
            | Verdict::NotYetValid { .. }
            | Verdict::Revoked
            | Verdict::Inactive
            | Verdict::PendingActivation
            | Verdict::UnknownStatus
            | Verdict::SerialMismatch => Health::Critical,
        }
    }

    /// The health of a failed check: [`Health::Critical`] when the API says the certificate
    /// or instance does not exist, [`Health::Unknown`] otherwise.
    pub fn of_error(err: &Error) -> Self {
        match err.api() {
            Some(failure) if failure.class == ErrorClass::NotFound => Health::Critical,
            _ => Health::Unknown,
        }
    }

    /// The process exit status.
    pub fn exit_code(self) -> u8 {
        match self {
            Health::Ok => 0,
            Health::Warning => 1,
            Health::Critical => 2,
            Health::Unknown => 3,
        }
    }
}

/// `2025-09-18` for Unix milliseconds.
pub fn iso_date(ms: u64) -> String {
    UtcDate::from_unix(ms / 1000).to_string()
}

/// `2025-09-18 08:54:43 UTC` for Unix milliseconds; `never` for 0, which the API uses for a
/// time that has not happened.
pub fn utc_time(ms: u64) -> String {
    if ms == 0 {
        return "never".to_owned();
    }
    let secs = ms / 1000;
    let of_day = secs % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        UtcDate::from_unix(secs),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The `Response` object's fields, pretty-printed with a 4-space indent and a final newline,
/// as `tccli mqtt DescribeDeviceCertificate` prints them.
pub fn describe_json(record: &DeviceCertificate) -> String {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Writing into a Vec fails only if serialising fails, and the record's fields are plain
    // strings and integers.
    if record.serialize(&mut serializer).is_err() {
        return String::from("{}\n");
    }
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push('\n');
    text
}

/// The record as an aligned two-column table for people, times as UTC dates.
pub fn describe_table(record: &DeviceCertificate) -> String {
    let pem = &record.device_certificate;
    let rows: [(&str, String); 16] = [
        (
            "DeviceCertificateSn",
            record.device_certificate_sn.to_string(),
        ),
        ("Status", record.status.to_string()),
        ("NotBeforeTime", utc_time(record.not_before_time)),
        ("NotAfterTime", utc_time(record.not_after_time)),
        (
            "DeviceCertificateCn",
            record.device_certificate_cn.to_string(),
        ),
        ("OrganizationalUnit", record.organizational_unit.to_string()),
        ("ClientId", record.client_id.to_string()),
        ("CaSn", record.ca_sn.to_string()),
        ("CertificateSource", record.certificate_source.to_string()),
        ("Format", record.format.to_string()),
        (
            "DeviceCertificate",
            format!("{} lines, {} bytes", pem.lines().count(), pem.len()),
        ),
        ("CreatedTime", utc_time(record.created_time)),
        ("UpdateTime", utc_time(record.update_time)),
        ("LastActivationTime", utc_time(record.last_activation_time)),
        (
            "LastInactivationTime",
            utc_time(record.last_inactivation_time),
        ),
        ("RequestId", record.request_id.to_string()),
    ];
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{name:<width$}  {value}");
    }
    out
}

/// The one line `mqttcert check` prints: serial, verdict, status and expiry.
pub fn check_line(serial: &str, checked: &Checked) -> String {
    let record = &checked.described.record;
    format!(
        "{serial}: {}; status {}, not after {}",
        checked.verdict,
        record.status,
        utc_time(record.not_after_time)
    )
}

/// One line of `mqttcert batch`'s output; its JSON has the fields in this order, absent
/// values as `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchRow {
    /// The serial as read from the input.
    pub serial: String,
    /// The verdict's short name, `not-found`, or `error`.
    pub verdict: String,
    /// Whole days left, for a healthy or expiring certificate.
    pub days_left: Option<u64>,
    /// The API's `Status`.
    pub status: Option<String>,
    /// `NotAfterTime` as an ISO date.
    pub not_after: Option<String>,
    /// The error code: the API's, or the adapter's kind of failure.
    pub error_code: Option<String>,
    /// The error message.
    pub error_message: Option<String>,
    /// The request id of an API error.
    pub request_id: Option<String>,
    /// How bad it is.
    #[serde(skip)]
    pub health: Option<Health>,
}

/// The CSV header of [`BatchRow::to_csv`].
pub const CSV_HEADER: &str =
    "serial,verdict,days_left,status,not_after,error_code,error_message,request_id";

impl BatchRow {
    /// The row of a check's result.
    pub fn of_result(serial: &str, result: &Result<Checked, Error>) -> Self {
        match result {
            Ok(checked) => {
                let record = &checked.described.record;
                Self {
                    serial: serial.to_owned(),
                    verdict: checked.verdict.as_str().to_owned(),
                    days_left: checked.verdict.days_left(),
                    status: Some(record.status.to_string()),
                    not_after: Some(iso_date(record.not_after_time)),
                    request_id: Some(record.request_id.to_string()),
                    health: Some(Health::of_verdict(checked.verdict)),
                    ..Self::default()
                }
            }
            Err(err) => {
                let health = Health::of_error(err);
                let (code, message, request_id) = match err.api() {
                    Some(api) => (
                        api.code.clone(),
                        api.message.clone(),
                        Some(api.request_id.clone()),
                    ),
                    None => (error_kind(err).to_owned(), crate::client::chain(err), None),
                };
                Self {
                    serial: serial.to_owned(),
                    verdict: if health == Health::Critical {
                        "not-found"
                    } else {
                        "error"
                    }
                    .to_owned(),
                    error_code: Some(code),
                    error_message: Some(message),
                    request_id,
                    health: Some(health),
                    ..Self::default()
                }
            }
        }
    }

    /// The row as one line of JSON (without the newline).
    pub fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The row as one CSV record (RFC 4180 quoting; without the newline).
    pub fn to_csv(&self) -> String {
        let fields = [
            Some(self.serial.clone()),
            Some(self.verdict.clone()),
            self.days_left.map(|d| d.to_string()),
            self.status.clone(),
            self.not_after.clone(),
            self.error_code.clone(),
            self.error_message.clone(),
            self.request_id.clone(),
        ];
        fields
            .iter()
            .map(|field| csv_field(field.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A short name for an adapter error, used as the error code of a batch row.
pub fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::Config { .. } => "config",
        Error::Credentials { .. } => "credentials",
        Error::Network { kind, .. } => match kind {
            crate::NetworkKind::Connect => "network.connect",
            crate::NetworkKind::Timeout => "network.timeout",
            crate::NetworkKind::Reset => "network.reset",
            crate::NetworkKind::Other => "network",
        },
        Error::Tls { .. } => "tls",
        Error::Http { .. } => "http",
        Error::Malformed(_) => "malformed-reply",
        Error::Api(_) => "api",
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc() {
        assert_eq!(iso_date(1_758_185_683_000), "2025-09-18");
        assert_eq!(utc_time(1_758_185_683_000), "2025-09-18 08:54:43 UTC");
        assert_eq!(utc_time(0), "never");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn exit_codes_of_verdicts_and_errors() {
        let cases = [
            (Verdict::Healthy { expires_in_ms: 1 }, 0),
            (Verdict::Expiring { expires_in_ms: 1 }, 1),
            (Verdict::Expired { expired_for_ms: 1 }, 2),
            (Verdict::NotYetValid { valid_in_ms: 1 }, 2),
            (Verdict::Revoked, 2),
            (Verdict::Inactive, 2),
            (Verdict::PendingActivation, 2),
            (Verdict::UnknownStatus, 2),
            (Verdict::SerialMismatch, 2),
        ];
        for (verdict, code) in cases {
            assert_eq!(Health::of_verdict(verdict).exit_code(), code, "{verdict}");
        }

        let api = |code: &str| {
            Error::Api(crate::ApiFailure {
                code: code.to_owned(),
                message: String::new(),
                request_id: String::new(),
                class: ErrorClass::of(code),
            })
        };
        for (err, code) in [
            (api("ResourceNotFound.Certificate"), 2),
            (api("ResourceNotFound.Instance"), 2),
            (api("AuthFailure.SignatureFailure"), 3),
            (api("RequestLimitExceeded"), 3),
            (api("InvalidParameterValue"), 3),
            (
                Error::Http {
                    status: 502,
                    from_proxy: false,
                },
                3,
            ),
            (Error::config("x"), 3),
        ] {
            assert_eq!(Health::of_error(&err).exit_code(), code, "{err}");
        }
    }

    #[test]
    fn batch_rows_keep_their_field_order() {
        let row = BatchRow {
            serial: "aa01".to_owned(),
            verdict: "revoked".to_owned(),
            status: Some("REVOKED".to_owned()),
            not_after: Some("2025-09-18".to_owned()),
            health: Some(Health::Critical),
            ..BatchRow::default()
        };
        assert_eq!(
            row.to_json(),
            r#"{"serial":"aa01","verdict":"revoked","days_left":null,"status":"REVOKED","not_after":"2025-09-18","error_code":null,"error_message":null,"request_id":null}"#
        );
        assert_eq!(row.to_csv(), "aa01,revoked,,REVOKED,2025-09-18,,,");
        assert_eq!(
            CSV_HEADER.split(',').count(),
            row.to_csv().split(',').count()
        );
    }

    #[test]
    fn health_orders_from_best_to_worst() {
        assert!(Health::Ok < Health::Warning);
        assert!(Health::Warning < Health::Critical);
        assert!(Health::Critical < Health::Unknown);
        assert_eq!(
            [Health::Ok, Health::Critical, Health::Warning]
                .into_iter()
                .max(),
            Some(Health::Critical)
        );
    }
}
