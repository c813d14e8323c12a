//! Validation of everything a caller puts into a request.
//!
//! A request is checked whole before anything is signed or written, so that a bad value is
//! reported by name instead of producing a request that breaks a header line, escapes the JSON
//! body or is refused by the service for a reason that is hard to trace back.

use core::fmt;

/// Longest endpoint host accepted, port included (`host:port`).
pub const HOST_MAX: usize = 260;
/// Longest service name accepted (`mqtt`, `cvm`, …).
pub const SERVICE_MAX: usize = 32;
/// Longest action name accepted.
pub const ACTION_MAX: usize = 64;
/// Longest API version accepted (`2024-05-16`).
pub const VERSION_MAX: usize = 16;
/// Longest region accepted (`ap-guangzhou`).
pub const REGION_MAX: usize = 32;
/// Longest `SecretId` accepted.
pub const SECRET_ID_MAX: usize = 128;
/// Longest session token accepted; STS tokens run to a few hundred characters.
pub const TOKEN_MAX: usize = 4096;
/// Longest `Content-Type` accepted.
pub const CONTENT_TYPE_MAX: usize = 128;
/// Longest query string accepted for a GET request.
pub const QUERY_MAX: usize = 2048;
/// Longest instance id accepted (`mqtt-jbgwp4ae`).
pub const INSTANCE_ID_MAX: usize = 64;
/// Longest certificate serial accepted. X.509 serials are at most 20 octets: 40 hex digits,
/// or 59 characters with `:` separators.
pub const SERIAL_MAX: usize = 64;

/// The input a problem was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Field {
    /// The endpoint host.
    Host,
    /// The service name.
    Service,
    /// The action name.
    Action,
    /// The API version.
    Version,
    /// The region.
    Region,
    /// The `SecretId`.
    SecretId,
    /// The `SecretKey`.
    SecretKey,
    /// The session token.
    Token,
    /// The `Content-Type` of a POST body.
    ContentType,
    /// The query string of a GET request.
    Query,
    /// The TDMQ-MQTT instance id.
    InstanceId,
    /// The device certificate serial.
    CertificateSerial,
}

impl Field {
    /// The name the API, or the HTTP header, gives this input.
    pub fn name(self) -> &'static str {
        match self {
            Field::Host => "Host",
            Field::Service => "Service",
            Field::Action => "Action",
            Field::Version => "Version",
            Field::Region => "Region",
            Field::SecretId => "SecretId",
            Field::SecretKey => "SecretKey",
            Field::Token => "Token",
            Field::ContentType => "Content-Type",
            Field::Query => "Query",
            Field::InstanceId => "InstanceId",
            Field::CertificateSerial => "DeviceCertificateSn",
        }
    }
}

/// What is wrong with an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Problem {
    /// The value is empty.
    Empty,
    /// The value is longer than the field allows.
    TooLong,
    /// The value contains CR, LF, NUL or another control character, which would break a header
    /// line.
    ControlCharacter,
    /// The value contains a space where none may stand.
    Whitespace,
    /// The value contains a character outside ASCII.
    NonAscii,
    /// The value contains `"` or `\`, which have no place in the field and would have to be
    /// escaped in the JSON body.
    JsonSpecial,
    /// The value contains a character the field does not allow (such as `?` or `#` in a query,
    /// or `/` in a host).
    Character,
}

/// An input that cannot go into a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidInput {
    /// Which input.
    pub field: Field,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.problem {
            Problem::Empty => "is empty",
            Problem::TooLong => "is too long",
            Problem::ControlCharacter => "contains a control character (CR, LF, NUL, …)",
            Problem::Whitespace => "contains whitespace",
            Problem::NonAscii => "contains a non-ASCII character",
            Problem::JsonSpecial => "contains a quote or a backslash",
            Problem::Character => "contains a character it may not contain",
        };
        write!(f, "{} {what}", self.field.name())
    }
}

impl core::error::Error for InvalidInput {}

/// Whether every byte of `value` passes `ok`. One pass without an early exit, which the
/// compiler turns into vector code: valid input, the common case, is checked at a few bytes a
/// cycle.
fn all_bytes(value: &str, ok: impl Fn(u8) -> bool) -> bool {
    value.bytes().fold(true, |all, b| all & ok(b))
}

/// Visible ASCII: `!` to `~`.
fn visible(b: u8) -> bool {
    b.wrapping_sub(b'!') <= b'~' - b'!'
}

/// The first problem of an input that failed a fast check, in a fixed order: emptiness, length,
/// control characters, non-ASCII, whitespace (inner spaces only where `spaces` allows them),
/// then any of `forbidden`, reported as `problem`.
#[cold]
fn diagnose(
    field: Field,
    value: &str,
    max: usize,
    spaces: bool,
    forbidden: &[u8],
    problem: Problem,
) -> Result<(), InvalidInput> {
    let bytes = value.as_bytes();
    let edge_space = bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ');
    let found = if value.is_empty() {
        Problem::Empty
    } else if value.len() > max {
        Problem::TooLong
    } else if bytes.iter().any(u8::is_ascii_control) {
        Problem::ControlCharacter
    } else if !value.is_ascii() {
        Problem::NonAscii
    } else if edge_space || (!spaces && bytes.contains(&b' ')) {
        Problem::Whitespace
    } else if bytes.iter().any(|b| forbidden.contains(b)) {
        problem
    } else {
        return Ok(());
    };
    Err(InvalidInput {
        field,
        problem: found,
    })
}

/// A header value or identifier: visible ASCII, no spaces.
pub(crate) fn token(field: Field, value: &str, max: usize) -> Result<(), InvalidInput> {
    if !value.is_empty() && value.len() <= max && all_bytes(value, visible) {
        return Ok(());
    }
    diagnose(field, value, max, false, b"", Problem::Character)
}

/// A header value that may contain inner spaces (`application/json; charset=utf-8`).
pub(crate) fn text(field: Field, value: &str, max: usize) -> Result<(), InvalidInput> {
    let bytes = value.as_bytes();
    let edges =
        bytes.first().is_some_and(|&b| visible(b)) && bytes.last().is_some_and(|&b| visible(b));
    if edges && value.len() <= max && all_bytes(value, |b| visible(b) | (b == b' ')) {
        return Ok(());
    }
    diagnose(field, value, max, true, b"", Problem::Character)
}

/// A token that may not contain any of `forbidden`.
pub(crate) fn token_without(
    field: Field,
    value: &str,
    max: usize,
    forbidden: &[u8],
) -> Result<(), InvalidInput> {
    let clean = !value.bytes().any(|b| forbidden.contains(&b));
    if clean && !value.is_empty() && value.len() <= max && all_bytes(value, visible) {
        return Ok(());
    }
    diagnose(field, value, max, false, forbidden, Problem::Character)
}

/// A value that goes into the JSON body: a token without `"` or `\`.
pub(crate) fn json_token(field: Field, value: &str, max: usize) -> Result<(), InvalidInput> {
    let ok = |b| visible(b) & (b != b'"') & (b != b'\\');
    if !value.is_empty() && value.len() <= max && all_bytes(value, ok) {
        return Ok(());
    }
    diagnose(field, value, max, false, b"\"\\", Problem::JsonSpecial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_and_the_problem() {
        let err = json_token(Field::InstanceId, "mqtt-\"x", INSTANCE_ID_MAX).unwrap_err();
        assert_eq!(err.field, Field::InstanceId);
        assert_eq!(err.problem, Problem::JsonSpecial);

        for bad in ["a\rb", "a\nb", "a\0b", "a\tb", "a\x7fb"] {
            let err = token(Field::Region, bad, REGION_MAX).unwrap_err();
            assert_eq!(err.problem, Problem::ControlCharacter, "{bad:?}");
        }
        assert_eq!(
            token(Field::Region, "ap guangzhou", REGION_MAX)
                .unwrap_err()
                .problem,
            Problem::Whitespace
        );
        assert_eq!(
            token(Field::Region, "ap-广州", REGION_MAX)
                .unwrap_err()
                .problem,
            Problem::NonAscii
        );
        assert_eq!(
            text(Field::ContentType, " application/json", CONTENT_TYPE_MAX)
                .unwrap_err()
                .problem,
            Problem::Whitespace
        );
        assert!(text(Field::ContentType, "application/json; charset=utf-8", 64).is_ok());
    }

    #[test]
    fn every_problem_of_every_kind_of_field() {
        let long = "a".repeat(INSTANCE_ID_MAX + 1);
        let cases = [
            (
                json_token(Field::InstanceId, "", INSTANCE_ID_MAX),
                Problem::Empty,
            ),
            (
                json_token(Field::InstanceId, &long, INSTANCE_ID_MAX),
                Problem::TooLong,
            ),
            (
                json_token(Field::InstanceId, "a\\b", INSTANCE_ID_MAX),
                Problem::JsonSpecial,
            ),
            (
                json_token(Field::InstanceId, "m\u{e9}", INSTANCE_ID_MAX),
                Problem::NonAscii,
            ),
            (token(Field::SecretId, "", SECRET_ID_MAX), Problem::Empty),
            (
                token(Field::Token, "t\r\nX-Evil: 1", TOKEN_MAX),
                Problem::ControlCharacter,
            ),
            (
                text(Field::ContentType, "application/json ", 64),
                Problem::Whitespace,
            ),
            (text(Field::ContentType, "", 64), Problem::Empty),
        ];
        for (result, problem) in cases {
            assert_eq!(result.map_err(|err| err.problem), Err(problem));
        }
        for host in ["evil.com/x", "a?b", "a#b", "user@host"] {
            assert_eq!(
                token_without(Field::Host, host, HOST_MAX, b"/?#@").map_err(|err| err.problem),
                Err(Problem::Character),
                "{host}"
            );
        }
    }
}
