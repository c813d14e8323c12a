//! Reading a reply: HTTP first ([`http`]), then the JSON envelope ([`parse_body`]).
//!
//! [`read_reply`] does both for `DescribeDeviceCertificate`; the two halves are public for
//! callers that frame the HTTP message themselves or read other actions.

pub mod http;

mod api_error;
mod envelope;
mod record;

use core::fmt;

pub use api_error::{
    ApiError, ErrorClass, CODE_CAPACITY, MESSAGE_CAPACITY, REQUEST_ID_CAPACITY,
};
pub use envelope::{parse_body, ReplyError, ReplyField, MAX_NESTING};
pub use http::{HttpError, Read};
pub use record::{
    CertificateSource, DeviceCertificate, Label, Status, LABEL_CAPACITY, PEM_CAPACITY,
    TEXT_CAPACITY,
};

/// A buffer of this size holds the head of any ordinary reply and a record with a PEM of up to
/// 4 KiB, JSON-escaped.
pub const REPLY_CAPACITY: usize = 8192;

/// What a complete reply told besides the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplyInfo {
    /// The server's `Date`, in Unix seconds, when the reply carried a valid one; use it with
    /// [`crate::clock`] to correct the local clock.
    pub date: Option<u64>,
}

/// Why a reply could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a complete, well-framed HTTP reply.
    Http(HttpError),
    /// The HTTP status is not 200: the request did not reach the API (a gateway, proxy or load
    /// balancer answered). The API itself reports errors with status 200.
    Status {
        /// The status code.
        status: u16,
        /// The reply's `Date`, if any.
        date: Option<u64>,
    },
    /// The status is 200 but the `Content-Type` is not exactly `application/json`, so the body
    /// is not the API's (the official SDKs make the same check).
    ContentType,
    /// The body is not a valid reply, or the API answered with an error.
    Reply {
        /// What is wrong, or the API's error.
        error: ReplyError,
        /// The reply's `Date`, if any: a `SignatureExpire` answer carries the server's time.
        date: Option<u64>,
    },
}

impl Error {
    /// The API's error, when the API answered one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Reply {
                error: ReplyError::Api(api),
                ..
            } => Some(api),
            _ => None,
        }
    }

    /// The server's `Date`, when the reply got far enough to show one.
    pub fn date(&self) -> Option<u64> {
        match self {
            Error::Status { date, .. } | Error::Reply { date, .. } => *date,
            _ => None,
        }
    }
}

impl From<HttpError> for Error {
    fn from(err: HttpError) -> Self {
        Error::Http(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Http(err) => err.fmt(f),
            Error::Status { status, .. } => {
                write!(f, "HTTP status {status}: the request did not reach the API")
            }
            Error::ContentType => f.write_str("the reply is not application/json"),
            Error::Reply { error, .. } => error.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

/// Reads a `DescribeDeviceCertificate` reply from `buf[..filled]` into `record`.
///
/// Call it after every read from the connection, with `closed` set once the peer has closed it;
/// [`Read::Incomplete`] asks for more bytes. `buf.len()` is the capacity (see
/// [`REPLY_CAPACITY`]). A chunked body is decoded in place, so `buf` is modified once the reply
/// is complete.
///
/// # Errors
///
/// [`Error`]: the HTTP framing, the status, the content type, the body or the API's own answer.
pub fn read_reply<const PEM: usize, const TEXT: usize>(
    buf: &mut [u8],
    filled: usize,
    closed: bool,
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Read<ReplyInfo>, Error> {
    let message = match http::read(buf, filled, closed)? {
        Read::Incomplete => return Ok(Read::Incomplete),
        Read::Complete(message) => message,
    };
    let date = message.date;
    if message.status != 200 {
        warn!("HTTP status {} from the endpoint", message.status);
        return Err(Error::Status {
            status: message.status,
            date,
        });
    }
    if message.content_type != Some(crate::request::JSON) {
        return Err(Error::ContentType);
    }
    parse_body(message.body, record).map_err(|error| Error::Reply { error, date })?;
    Ok(Read::Complete(ReplyInfo { date }))
}
