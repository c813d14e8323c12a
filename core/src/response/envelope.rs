//! The JSON envelope of a reply: `{"Response": {…}}`, holding either the record's fields or an
//! `Error` object, and always a `RequestId`.
//!
//! serde-json-core reads the envelope into borrowed, still-escaped strings; the strings are then
//! unescaped straight into the caller's fixed-capacity record, so no scratch buffer and no
//! second copy of the PEM text is needed. Before serde-json-core sees the body, its nesting is
//! bounded: the parser recurses into values it ignores, with no depth limit of its own.

use core::fmt;

use heapless::String;
use heapless::string::StringView;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json_core::str::EscapedStr;

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

impl ReplyField {
    /// Whether the field is a time in milliseconds (a JSON number) rather than text.
    fn is_time(self) -> bool {
        matches!(
            self,
            ReplyField::CreatedTime
                | ReplyField::LastActivationTime
                | ReplyField::LastInactivationTime
                | ReplyField::NotAfterTime
                | ReplyField::NotBeforeTime
                | ReplyField::UpdateTime
        )
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
    /// A field does not fit in its place in the record: text longer than its capacity, or a
    /// time with more digits than a `u64` holds.
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

/// The record's fields in the order of [`ReplyField`], which indexes [`Inner::values`].
const RECORD_FIELDS: [ReplyField; 16] = [
    ReplyField::CaSn,
    ReplyField::CertificateSource,
    ReplyField::ClientId,
    ReplyField::CreatedTime,
    ReplyField::DeviceCertificate,
    ReplyField::DeviceCertificateCn,
    ReplyField::DeviceCertificateSn,
    ReplyField::Format,
    ReplyField::LastActivationTime,
    ReplyField::LastInactivationTime,
    ReplyField::NotAfterTime,
    ReplyField::NotBeforeTime,
    ReplyField::OrganizationalUnit,
    ReplyField::RequestId,
    ReplyField::Status,
    ReplyField::UpdateTime,
];

/// A field's value as read, still escaped; `null` reads as absent.
#[derive(Clone, Copy, Default)]
enum Value<'a> {
    #[default]
    Absent,
    Text(EscapedStr<'a>),
    Number(u64),
}

/// What the envelope holds, borrowed from the body.
#[derive(Default)]
struct Inner<'a> {
    /// The whole body, to look at a value the parser refused.
    body: &'a [u8],
    /// A time whose value is an unsigned number too large for a `u64`, when the parser stopped
    /// there.
    overflow: Option<ReplyField>,
    /// A `Response` object was there.
    response: bool,
    /// An `Error` object was there, with these fields.
    error: bool,
    code: Option<EscapedStr<'a>>,
    message: Option<EscapedStr<'a>>,
    /// The record's fields, indexed by [`ReplyField`].
    values: [Value<'a>; RECORD_FIELDS.len()],
}

impl<'a> Inner<'a> {
    fn text(&self, field: ReplyField) -> Option<EscapedStr<'a>> {
        match self.values[field as usize] {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    fn number(&self, field: ReplyField) -> Option<u64> {
        match self.values[field as usize] {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// Which object of the envelope is being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The top level, holding `Response`.
    Envelope,
    /// `Response`, holding the record's fields or `Error`.
    Response,
    /// `Response.Error`, holding `Code` and `Message`.
    Error,
}

/// Where a key's value goes.
enum Slot {
    Record(usize),
    Object(Level),
    Code,
    Message,
    Ignored,
}

/// Reads one object of the envelope (or `null`) into the shared [`Inner`].
///
/// The three levels are read by hand, by one visitor type, rather than by derived visitors: a
/// derive inlines the parser once per field and per struct, which costs kilobytes of flash and
/// of stack, where this reads every text through one call and every number through another,
/// straight into a structure the caller owns.
struct Object<'i, 'a> {
    inner: &'i mut Inner<'a>,
    level: Level,
}

impl Object<'_, '_> {
    /// The slot of `key` at this level, with the `'static` name a duplicate is reported by and
    /// its bit in the set of keys seen.
    fn slot(&self, key: &str) -> (Slot, &'static str, u32) {
        const NESTED: u32 = 1 << RECORD_FIELDS.len();
        match (self.level, key) {
            (Level::Envelope, "Response") => (Slot::Object(Level::Response), "Response", NESTED),
            (Level::Response, "Error") => (Slot::Object(Level::Error), "Error", NESTED),
            (Level::Response, _) => match RECORD_FIELDS.iter().position(|f| f.name() == key) {
                Some(i) => (Slot::Record(i), RECORD_FIELDS[i].name(), 1 << i),
                None => (Slot::Ignored, "", 0),
            },
            (Level::Error, "Code") => (Slot::Code, "Code", 1),
            (Level::Error, "Message") => (Slot::Message, "Message", 2),
            _ => (Slot::Ignored, "", 0),
        }
    }
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for Object<'_, 'a> {
    /// Whether an object (rather than `null`) was there.
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Object<'_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.level {
            Level::Envelope => "the reply envelope",
            Level::Response => "the Response object",
            Level::Error => "the Error object",
        })
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut seen = 0u32;
        while let Some(key) = map.next_key::<&'de str>()? {
            let (slot, name, bit) = self.slot(key);
            if seen & bit != 0 {
                return Err(de::Error::duplicate_field(name));
            }
            seen |= bit;

            let inner = &mut *self.inner;
            match slot {
                Slot::Record(i) if RECORD_FIELDS[i].is_time() => match next_number(&mut map) {
                    Ok(n) => inner.values[i] = n.map_or(Value::Absent, Value::Number),
                    Err(err) => {
                        // serde-json-core reports a number beyond `u64` as it reports a
                        // negative one; only the value's first character tells them apart.
                        if starts_with_digit(inner.body, key) {
                            inner.overflow = Some(RECORD_FIELDS[i]);
                        }
                        return Err(err);
                    }
                },
                Slot::Record(i) => {
                    inner.values[i] = next_text(&mut map)?.map_or(Value::Absent, Value::Text);
                }
                Slot::Object(level) => {
                    let present = map.next_value_seed(Object { inner, level })?;
                    match level {
                        Level::Response => self.inner.response = present,
                        _ => self.inner.error = present,
                    }
                }
                Slot::Code => inner.code = next_text(&mut map)?,
                Slot::Message => inner.message = next_text(&mut map)?,
                Slot::Ignored => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }
}

/// Whether the value of `key`, a key borrowed from `body`, starts with a decimal digit.
fn starts_with_digit(body: &[u8], key: &str) -> bool {
    // The key is a slice of the body (the parser does not unescape); its closing quote, the
    // colon and any whitespace come before the value.
    let Some(start) = key.as_ptr().addr().checked_sub(body.as_ptr().addr()) else {
        return false;
    };
    let Some(after_key) = body.get(start + key.len() + 1..) else {
        return false;
    };
    let mut rest = after_key.trim_ascii_start();
    if let [b':', value @ ..] = rest {
        rest = value.trim_ascii_start();
    }
    rest.first().is_some_and(u8::is_ascii_digit)
}

/// The next value as text or `null`; one copy of the string parser for every field.
#[inline(never)]
fn next_text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<EscapedStr<'de>>, A::Error> {
    map.next_value()
}

/// The next value as an unsigned integer or `null`.
#[inline(never)]
fn next_number<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<u64>, A::Error> {
    map.next_value()
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
        record.clear();
    }
    result
}

// Out of line, so that its locals and those of the HTTP reader never share a stack frame.
#[inline(never)]
fn parse_into<const PEM: usize, const TEXT: usize>(
    body: &[u8],
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Answer, ReplyError> {
    check_nesting(body)?;
    let mut inner = Inner {
        body,
        ..Inner::default()
    };
    let mut deserializer = serde_json_core::de::Deserializer::new(body, None);
    let envelope = Object {
        inner: &mut inner,
        level: Level::Envelope,
    };
    if let Err(err) = envelope.deserialize(&mut deserializer) {
        return Err(match (err, inner.overflow) {
            (serde_json_core::de::Error::InvalidNumber, Some(field)) => ReplyError::Capacity(field),
            (err, _) => ReplyError::Json(err),
        });
    }
    deserializer.end().map_err(ReplyError::Json)?;
    if !inner.response {
        return Err(ReplyError::MissingResponse);
    }

    if inner.error {
        let mut api = ApiError::default();
        unescape(
            ReplyField::ErrorCode,
            inner.code,
            api.code.as_mut_view(),
            Overflow::Refuse,
        )?;
        unescape(
            ReplyField::ErrorMessage,
            inner.message,
            api.message.as_mut_view(),
            Overflow::Cut,
        )?;
        // An error must be reported even when its request id is absent or too long.
        let request_id = inner.text(ReplyField::RequestId);
        let _ = unescape(
            ReplyField::RequestId,
            request_id,
            api.request_id.as_mut_view(),
            Overflow::Cut,
        );
        debug!("the API answered {}", api.code.as_str());
        return Ok(Answer::Error(api));
    }

    for field in [
        ReplyField::DeviceCertificateSn,
        ReplyField::Status,
        ReplyField::RequestId,
        ReplyField::NotBeforeTime,
        ReplyField::NotAfterTime,
    ] {
        if matches!(inner.values[field as usize], Value::Absent) {
            return Err(ReplyError::MissingField(field));
        }
    }

    let time = |field| inner.number(field).unwrap_or(0);
    record.created_time = time(ReplyField::CreatedTime);
    record.update_time = time(ReplyField::UpdateTime);
    record.not_before_time = time(ReplyField::NotBeforeTime);
    record.not_after_time = time(ReplyField::NotAfterTime);
    record.last_activation_time = time(ReplyField::LastActivationTime);
    record.last_inactivation_time = time(ReplyField::LastInactivationTime);

    let pem = inner.text(ReplyField::DeviceCertificate);
    unescape(
        ReplyField::DeviceCertificate,
        pem,
        record.device_certificate.as_mut_view(),
        Overflow::Refuse,
    )?;
    for (field, out) in [
        (ReplyField::CaSn, &mut record.ca_sn),
        (ReplyField::ClientId, &mut record.client_id),
        (
            ReplyField::DeviceCertificateCn,
            &mut record.device_certificate_cn,
        ),
        (
            ReplyField::DeviceCertificateSn,
            &mut record.device_certificate_sn,
        ),
        (ReplyField::Format, &mut record.format),
        (
            ReplyField::OrganizationalUnit,
            &mut record.organizational_unit,
        ),
        (ReplyField::RequestId, &mut record.request_id),
    ] {
        unescape(
            field,
            inner.text(field),
            out.as_mut_view(),
            Overflow::Refuse,
        )?;
    }

    // Labels longer than any known one are kept cut; the enums say they are unknown.
    let mut label: String<{ super::record::LABEL_CAPACITY }> = String::new();
    unescape(
        ReplyField::Status,
        inner.text(ReplyField::Status),
        label.as_mut_view(),
        Overflow::Cut,
    )?;
    record.status = Status::from_label(&label);
    let source = inner.text(ReplyField::CertificateSource);
    unescape(
        ReplyField::CertificateSource,
        source,
        label.as_mut_view(),
        Overflow::Cut,
    )?;
    record.certificate_source = match source {
        Some(_) => CertificateSource::from_label(&label),
        None => CertificateSource::Missing,
    };
    Ok(Answer::Certificate)
}

/// Rejects bodies whose objects and arrays nest deeper than [`MAX_NESTING`].
///
/// Strings are skipped from quote to quote, so that the brackets in them do not count and the
/// long PEM text costs a quick scan rather than a walk byte by byte. A malformed body passes
/// here and is refused by the parser.
fn check_nesting(body: &[u8]) -> Result<(), ReplyError> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = body.get(at) {
        at += 1;
        match b {
            b'"' => match string_end(body, at) {
                Some(end) => at = end,
                None => return Ok(()),
            },
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

/// Where the string that starts at `at` (just after its opening quote) ends: just after its
/// closing quote. `None` when it does not end.
fn string_end(body: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let rest = body.get(at..)?;
        let found = crate::bytes::find2(rest, b'"', b'\\')?;
        if rest[found] == b'"' {
            return Some(at + found + 1);
        }
        at += found + 2; // a backslash and the character it escapes
    }
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
///
/// Written here rather than taken from serde-json-core, whose unescaper rejects the surrogate
/// pairs (`\uD83D\uDE00`) that JSON uses for characters beyond the Basic Multilingual Plane, and
/// slices strings in ways that pull panic formatting into a firmware. It takes a view of the
/// string, so that one copy serves every capacity.
fn unescape(
    field: ReplyField,
    value: Option<EscapedStr<'_>>,
    out: &mut StringView,
    overflow: Overflow,
) -> Result<(), ReplyError> {
    out.clear();
    let Some(EscapedStr(mut rest)) = value else {
        return Ok(());
    };
    let invalid = ReplyError::InvalidEscape(field);
    let full = match overflow {
        Overflow::Refuse => Err(ReplyError::Capacity(field)),
        Overflow::Cut => Ok(()),
    };
    loop {
        // A run of plain text, then an escape or the end.
        let run = crate::bytes::find2(rest.as_bytes(), b'\\', b'\\').unwrap_or(rest.len());
        let (Some(text), Some(after)) = (rest.get(..run), rest.get(run..)) else {
            return Err(invalid);
        };
        let fits = out.push_str(text).is_ok()
            || (overflow == Overflow::Cut && text.chars().all(|c| out.push(c).is_ok()));
        if !fits {
            return full;
        }
        if after.is_empty() {
            return Ok(());
        }

        let (c, used) = decode_escape(after.as_bytes()).ok_or(invalid)?;
        if out.push(c).is_err() {
            return full;
        }
        rest = after.get(used..).ok_or(invalid)?;
    }
}

/// The character of the escape sequence that starts `bytes`, and the bytes it takes. `None` for
/// an invalid sequence, a lone surrogate among them.
fn decode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let simple = match *bytes.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(bytes.get(2..6)?)?;
            if !(0xD800..0xDC00).contains(&unit) {
                return Some((char::from_u32(unit)?, 6));
            }
            // A high surrogate must be followed by an escaped low one.
            if bytes.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex4(bytes.get(8..12)?)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            return Some((char::from_u32(code)?, 12));
        }
        _ => return None,
    };
    Some((simple, 2))
}

/// Four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_are_indexed_by_their_reply_field() {
        for (i, field) in RECORD_FIELDS.iter().enumerate() {
            assert_eq!(*field as usize, i, "{field}");
        }
    }
}
