//! Reading a reply: HTTP first ([`http`]), then the JSON envelope ([`parse_body`]).
//!
//! [`read_reply`] does both for `DescribeDeviceCertificate`; the two halves are public for
//! callers that frame the HTTP message themselves or read other actions.

pub mod http;

mod api_error;
mod envelope;
mod record;

use core::fmt;

pub use api_error::{ApiError, CODE_CAPACITY, ErrorClass, MESSAGE_CAPACITY, REQUEST_ID_CAPACITY};
pub use envelope::{Answer, MAX_NESTING, ReplyError, ReplyField, parse_body};
pub use http::{HttpError, Read};
pub use record::{
    CertificateSource, DeviceCertificate, LABEL_CAPACITY, Label, PEM_CAPACITY, Status,
    TEXT_CAPACITY,
};

/// A buffer of this size holds the head of any ordinary reply and a record with a PEM of up to
/// 4 KiB, JSON-escaped.
pub const REPLY_CAPACITY: usize = 8192;

/// A complete, valid reply of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reply {
    /// The record was filled, or the API answered an error.
    pub answer: Answer,
    /// The server's `Date`, in Unix seconds, when the reply carried a valid one; use it with
    /// [`crate::clock`] to correct the local clock (an `AuthFailure.SignatureExpire` answer
    /// carries one too).
    pub date: Option<u64>,
}

impl Reply {
    /// The API's error, when it answered one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.answer {
            Answer::Error(err) => Some(err),
            Answer::Certificate => None,
        }
    }
}

/// Why a reply could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The body is not a valid reply of the API.
    Reply(ReplyError),
}

impl Error {
    /// The server's `Date`, when the reply got far enough to show one.
    pub fn date(&self) -> Option<u64> {
        match self {
            Error::Status { date, .. } => *date,
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
            Error::Reply(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

/// Reads a `DescribeDeviceCertificate` reply from `buf[..filled]` into `record`.
///
/// An error answered by the API is a valid reply: [`Answer::Error`].
///
/// Call it after every read from the connection, with `closed` set once the peer has closed it;
/// [`Read::Incomplete`] asks for more bytes. `buf.len()` is the capacity (see
/// [`REPLY_CAPACITY`]). A chunked body is decoded in place, so `buf` is modified once the reply
/// is complete.
///
/// # Errors
///
/// [`Error`] when the bytes are not a valid reply of the API: the HTTP framing, the status,
/// the content type or the body.
pub fn read_reply<const PEM: usize, const TEXT: usize>(
    buf: &mut [u8],
    filled: usize,
    closed: bool,
    record: &mut DeviceCertificate<PEM, TEXT>,
) -> Result<Read<Reply>, Error> {
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
    let answer = parse_body(message.body, record).map_err(Error::Reply)?;
    Ok(Read::Complete(Reply { answer, date }))
}
