//! Why an attempt failed, and whether another may succeed.

use core::fmt;

use embedded_io_async::ErrorKind;
use embedded_tls::TlsError;
use mqttcert_core::request::BuildError;
use mqttcert_core::response;

/// Why one attempt gave no answer from the API.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be opened.
    Connect(ErrorKind),
    /// The TLS handshake failed: a network failure, or a server that could not be verified
    /// (`InvalidCertificate`: not signed by the pinned CA, another host name, out of its
    /// validity window). Nothing was sent.
    Handshake(TlsError),
    /// Sending the request or receiving the reply failed after the handshake.
    Transfer(TlsError),
    /// The attempt took longer than [`crate::Retry::attempt_timeout_ms`].
    Timeout,
    /// The request could not be written: an invalid input in the configuration, or a message
    /// buffer too small.
    Request(BuildError),
    /// The reply is not a valid reply of the API (framing, status, content type or body).
    Reply(response::Error),
}

impl Error {
    /// Whether trying again later may succeed: network failures, timeouts and gateway errors
    /// may pass; an unverifiable server, an invalid request or a malformed reply will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect(_) | Error::Transfer(_) | Error::Timeout => true,
            Error::Handshake(err) => matches!(
                err,
                TlsError::Io(_) | TlsError::IoError | TlsError::ConnectionClosed
            ),
            Error::Reply(response::Error::Status { status, .. }) => {
                *status == 429 || *status >= 500
            }
            Error::Reply(response::Error::Http(response::HttpError::Truncated)) => true,
            Error::Request(_) | Error::Reply(_) => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(kind) => write!(f, "could not connect: {kind:?}"),
            Error::Handshake(TlsError::InvalidCertificate) => {
                f.write_str("TLS handshake: the server's certificate is not trusted")
            }
            Error::Handshake(err) => write!(f, "TLS handshake: {err:?}"),
            Error::Transfer(err) => write!(f, "TLS transfer: {err:?}"),
            Error::Timeout => f.write_str("the attempt timed out"),
            Error::Request(err) => write!(f, "request: {err}"),
            Error::Reply(err) => write!(f, "reply: {err}"),
        }
    }
}

impl core::error::Error for Error {}
