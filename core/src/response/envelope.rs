//! The JSON envelope of a reply: `{"Response": {…}}`, holding either the record's fields or an
//! `Error` object, and always a `RequestId`.
//!
//! serde-json-core reads the envelope into borrowed, still-escaped strings; the strings are then
//! unescaped straight into the caller's fixed-capacity record, so no scratch buffer and no
//! second copy of the PEM text is needed. Before serde-json-core sees the body, its nesting is
//! bounded: the parser recurses into values it ignores, with no depth limit of its own.

use core::fmt;

use heapless::String;
use serde::Deserialize;
use serde_json_core::str::{EscapedStr, EscapedStringFragment};

use super::api_error::ApiError;
use super::record::{CertificateSource, DeviceCertificate, Status};

/// Deepest nesting of objects and arrays accepted in a reply body. The envelope itself needs 3.
pub const MAX_NESTING: usize = 8;

/// A field of the reply, to name in an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)] // The variants are the API's own field names.
pub enum ReplyField {
    CaSn,
    CertificateSource,
    ClientId,
    CreatedTime,
    DeviceCertificate,
    DeviceCertificateCn,
    DeviceCertificateSn,
    Format,
    LastActivationTime,
    LastInactivationTime,
    NotAfterTime,
    NotBeforeTime,
    OrganizationalUnit,
    RequestId,
    Status,
    UpdateTime,
    /// `Error.Code`
    ErrorCode,
    /// `Error.Message`
    ErrorMessage,
}

impl ReplyField {
    /// The field's name as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            ReplyField::CaSn => "CaSn",
            ReplyField::CertificateSource => "CertificateSource",
            ReplyField::ClientId => "ClientId",
            ReplyField::CreatedTime => "CreatedTime",
            ReplyField::DeviceCertificate => "DeviceCertificate",
            ReplyField::DeviceCertificateCn => "DeviceCertificateCn",
            ReplyField::DeviceCertificateSn => "DeviceCertificateSn",
            ReplyField::Format => "Format",
            ReplyField::LastActivationTime => "LastActivationTime",
            ReplyField::LastInactivationTime => "LastInactivationTime",
            ReplyField::NotAfterTime => "NotAfterTime",
            ReplyField::NotBeforeTime => "NotBeforeTime",
            ReplyField::OrganizationalUnit => "OrganizationalUnit",
            ReplyField::RequestId => "RequestId",
            ReplyField::Status => "Status",
            ReplyField::UpdateTime => "UpdateTime",
            ReplyField::ErrorCode => "Error.Code",
            ReplyField::ErrorMessage => "Error.Message",
        }
    }
}

impl fmt::Display for ReplyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a valid reply body says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
// The error is a few hundred bytes and lives as long as one reply; a heap-free crate has no
// box to put it in.
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    /// The record was filled.
    Certificate,
    /// The API answered with an error; the record is left empty.
    Error(ApiError),
}

/// Why a reply body is not a valid reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReplyError {
    /// Objects and arrays are nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// The body is not JSON of the expected shape: a syntax error, a value of the wrong type,
    /// invalid UTF-8, a duplicate key (serde-json-core's `CustomError`), trailing bytes.
    Json(serde_json_core::de::Error),
    /// There is no `Response` object.
    MissingResponse,
    /// A field the verdict needs is absent or `null`.
    MissingField(ReplyField),
    /// A field is longer than its capacity in the record.
    Capacity(ReplyField),
    /// A string holds an invalid escape sequence (a lone surrogate `\uD800` among them).
    InvalidEscape(ReplyField),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::TooDeep => write!(f, "the reply nests deeper than {MAX_NESTING} levels"),
            ReplyError::Json(err) => write!(f, "the reply is not the expected JSON: {err}"),
            ReplyError::MissingResponse => f.write_str("the reply has no Response object"),
            ReplyError::MissingField(field) => write!(f, "the reply has no {field}"),
            ReplyError::Capacity(field) => write!(f, "the reply's {field} exceeds its capacity"),
            ReplyError::InvalidEscape(field) => {
                write!(f, "the reply's {field} holds an invalid escape sequence")
            }
        }
    }
}

impl core::error::Error for ReplyError {}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Response", borrow)]
    response: Option<Inner<'a>>,
}

/// Every field is optional here; which ones are required is decided below, with a named error.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inner<'a> {
    #[serde(borrow)]
    error: Option<ErrorBody<'a>>,
    #[serde(borrow)]
    request_id: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    ca_sn: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    certificate_source: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    client_id: Option<EscapedStr<'a>>,
    created_time: Option<u64>,
    #[serde(borrow)]
    device_certificate: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    device_certificate_cn: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    device_certificate_sn: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    format: Option<EscapedStr<'a>>,
    last_activation_time: Option<u64>,
    last_inactivation_time: Option<u64>,
    not_after_time: Option<u64>,
    not_before_time: Option<u64>,
    #[serde(borrow)]
    organizational_unit: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    status: Option<EscapedStr<'a>>,
    update_time: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    #[serde(borrow)]
    code: Option<EscapedStr<'a>>,
    #[serde(borrow)]
    message: Option<EscapedStr<'a>>,
}

/// Parses a reply body into `record`.
///
/// Both the live shape `{"Response":{…}}` and the documentation's
/// `{"Error":null,"RequestId":null,"Response":{…}}` are accepted; unknown keys are ignored.
/// `DeviceCertificateSn`, `Status`, `NotBeforeTime`, `NotAfterTime` and `RequestId` are
/// required; other absent or `null` fields are left empty (0 for times).
///
/// An answer of the API is not an error of this function: it is returned as
/// [`Answer::Error`], with its code, message and request id.
///
/// # Errors
///
/// A [`ReplyError`] when the body is not a valid reply. Whenever the result is not
/// [`Answer::Certificate`], the record is left empty.
pub fn parse_body<const PEM: usize, const TEXT: usize>(
    body: &[u8],
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Answer, ReplyError> {
    let result = parse_into(body, record);
    if !matches!(result, Ok(Answer::Certificate)) {
        *record = DeviceCertificate::new();
    }
    result
}

fn parse_into<const PEM: usize, const TEXT: usize>(
    body: &[u8],
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Answer, ReplyError> {
    check_nesting(body)?;
    let (envelope, _) =
        serde_json_core::from_slice::<Envelope<'_>>(body).map_err(ReplyError::Json)?;
    let inner = envelope.response.ok_or(ReplyError::MissingResponse)?;

    if let Some(error) = inner.error {
        let mut api = ApiError::default();
        unescape(
            ReplyField::ErrorCode,
            error.code,
            &mut api.code,
            Overflow::Refuse,
        )?;
        unescape(
            ReplyField::ErrorMessage,
            error.message,
            &mut api.message,
            Overflow::Cut,
        )?;
        // An error must be reported even when its request id is absent or too long.
        let _ = unescape(
            ReplyField::RequestId,
            inner.request_id,
            &mut api.request_id,
            Overflow::Cut,
        );
        debug!("the API answered {}", api.code.as_str());
        return Ok(Answer::Error(api));
    }

    let required = |value: Option<u64>, field| value.ok_or(ReplyError::MissingField(field));
    record.not_before_time = required(inner.not_before_time, ReplyField::NotBeforeTime)?;
    record.not_after_time = required(inner.not_after_time, ReplyField::NotAfterTime)?;
    record.created_time = inner.created_time.unwrap_or(0);
    record.update_time = inner.update_time.unwrap_or(0);
    record.last_activation_time = inner.last_activation_time.unwrap_or(0);
    record.last_inactivation_time = inner.last_inactivation_time.unwrap_or(0);

    for (field, value) in [
        (ReplyField::DeviceCertificateSn, inner.device_certificate_sn),
        (ReplyField::Status, inner.status),
        (ReplyField::RequestId, inner.request_id),
    ] {
        if value.is_none() {
            return Err(ReplyError::MissingField(field));
        }
    }
    unescape(
        ReplyField::RequestId,
        inner.request_id,
        &mut record.request_id,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::DeviceCertificateSn,
        inner.device_certificate_sn,
        &mut record.device_certificate_sn,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::CaSn,
        inner.ca_sn,
        &mut record.ca_sn,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::ClientId,
        inner.client_id,
        &mut record.client_id,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::DeviceCertificate,
        inner.device_certificate,
        &mut record.device_certificate,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::DeviceCertificateCn,
        inner.device_certificate_cn,
        &mut record.device_certificate_cn,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::Format,
        inner.format,
        &mut record.format,
        Overflow::Refuse,
    )?;
    unescape(
        ReplyField::OrganizationalUnit,
        inner.organizational_unit,
        &mut record.organizational_unit,
        Overflow::Refuse,
    )?;

    let mut label: String<{ super::record::LABEL_CAPACITY }> = String::new();
    unescape(ReplyField::Status, inner.status, &mut label, Overflow::Cut)?;
    record.status = Status::from_label(&label);
    label.clear();
    if inner.certificate_source.is_some() {
        unescape(
            ReplyField::CertificateSource,
            inner.certificate_source,
            &mut label,
            Overflow::Cut,
        )?;
        record.certificate_source = CertificateSource::from_label(&label);
    }
    Ok(Answer::Certificate)
}

/// Rejects bodies whose objects and arrays nest deeper than [`MAX_NESTING`].
fn check_nesting(body: &[u8]) -> Result<(), ReplyError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(ReplyError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// What to do with text beyond a field's capacity.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    /// Fail with [`ReplyError::Capacity`].
    Refuse,
    /// Keep what fits, cut at a character boundary.
    Cut,
}

/// Unescapes `value` into `out`; absent or `null` leaves `out` empty.
fn unescape<const N: usize>(
    field: ReplyField,
    value: Option<EscapedStr<'_>>,
    out: &mut String<N>,
    overflow: Overflow,
) -> Result<(), ReplyError> {
    out.clear();
    let Some(value) = value else {
        return Ok(());
    };
    for fragment in value.fragments() {
        let fits = match fragment.map_err(|_| ReplyError::InvalidEscape(field))? {
            EscapedStringFragment::NotEscaped(text) => {
                out.push_str(text).is_ok()
                    || (overflow == Overflow::Cut && text.chars().all(|c| out.push(c).is_ok()))
            }
            EscapedStringFragment::Escaped(c) => out.push(c).is_ok(),
        };
        if !fits {
            return match overflow {
                Overflow::Refuse => Err(ReplyError::Capacity(field)),
                Overflow::Cut => Ok(()),
            };
        }
    }
    Ok(())
}
