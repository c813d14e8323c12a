//! The one error type of the adapter.
//!
//! Every failure of a check ends up as an [`Error`], whatever layer it comes from: a flag that
//! makes no sense, missing credentials, a socket that would not connect, a certificate that did
//! not verify, a gateway's 502, a reply the core could not read, or an error the API answered.
//! The lower-level error, when there is one, stays reachable through
//! [`std::error::Error::source`].

use std::fmt;
use std::io;

use mqttcert_core::response::{self, ErrorClass, HttpError};

/// A boxed lower-level error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong on the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkKind {
    /// The name did not resolve or no address accepted the connection.
    Connect,
    /// Connecting, sending or waiting for the reply took longer than the timeout.
    Timeout,
    /// The peer reset or closed the connection before the reply was complete.
    Reset,
    /// Any other I/O failure.
    Other,
}

impl NetworkKind {
    /// Classifies an I/O error.
    pub fn of(err: &io::Error) -> Self {
        use io::ErrorKind as K;
        match err.kind() {
            K::ConnectionRefused
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::AddrNotAvailable
            | K::NotFound => NetworkKind::Connect,
            K::TimedOut | K::WouldBlock => NetworkKind::Timeout,
            K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::NotConnected => NetworkKind::Reset,
            _ => NetworkKind::Other,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            NetworkKind::Connect => "could not connect to",
            NetworkKind::Timeout => "timed out talking to",
            NetworkKind::Reset => "connection lost with",
            NetworkKind::Other => "network error with",
        }
    }
}

/// An error the API answered: the reply was valid, the request was not granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    /// The error code, such as `ResourceNotFound.Certificate`.
    pub code: String,
    /// The message, in the language asked for.
    pub message: String,
    /// The request id, which Tencent Cloud support asks for.
    pub request_id: String,
    /// What a client should make of the code.
    pub class: ErrorClass,
}

impl From<&response::ApiError> for ApiFailure {
    fn from(err: &response::ApiError) -> Self {
        Self {
            code: err.code.as_str().to_owned(),
            message: err.message.as_str().to_owned(),
            request_id: err.request_id.as_str().to_owned(),
            class: err.class(),
        }
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (request id {})",
            self.code, self.message, self.request_id
        )
    }
}

impl std::error::Error for ApiFailure {}

/// Why a check could not be made, or what the API refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An option or input is not usable: a malformed endpoint URL, a missing region, an
    /// unreadable CA file, an instance id the core refuses.
    Config {
        /// What is wrong, naming the option.
        what: String,
        /// The underlying error, if any.
        source: Option<BoxError>,
    },
    /// No credentials were found, or the ones found are not usable.
    Credentials {
        /// What is wrong, naming the source (never the secret).
        what: String,
        /// The underlying error, if any.
        source: Option<BoxError>,
    },
    /// The network failed: connecting, a timeout, a reset.
    Network {
        /// Which kind of failure.
        kind: NetworkKind,
        /// The peer: `host:port`.
        peer: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The TLS handshake or session failed (an untrusted certificate among others).
    Tls {
        /// The peer: `host:port`.
        peer: String,
        /// The rustls error.
        source: BoxError,
    },
    /// A non-200 HTTP status: a gateway, load balancer or proxy answered, not the API.
    Http {
        /// The status code.
        status: u16,
        /// Whether the proxy answered it (to the `CONNECT`), rather than the endpoint.
        from_proxy: bool,
    },
    /// The reply is not a valid reply of the API.
    Malformed(response::Error),
    /// The API answered an error.
    Api(ApiFailure),
}

impl Error {
    pub(crate) fn config(what: impl Into<String>) -> Self {
        Error::Config {
            what: what.into(),
            source: None,
        }
    }

    pub(crate) fn config_because(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Config {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn credentials(what: impl Into<String>) -> Self {
        Error::Credentials {
            what: what.into(),
            source: None,
        }
    }

    /// Classifies an I/O error on the way to `peer`: a rustls error carried by it is
    /// [`Error::Tls`], anything else [`Error::Network`].
    pub(crate) fn io(peer: &str, err: io::Error) -> Self {
        match err.downcast::<rustls::Error>() {
            Ok(tls) => Error::Tls {
                peer: peer.to_owned(),
                source: Box::new(tls),
            },
            Err(err) => Error::Network {
                kind: NetworkKind::of(&err),
                peer: peer.to_owned(),
                source: err,
            },
        }
    }

    /// The API's error, when the API answered one.
    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            Error::Api(failure) => Some(failure),
            _ => None,
        }
    }

    /// Whether the same request may succeed if sent again a little later: a rate limit or a
    /// server-side error of the API, a 5xx from a gateway, a failed connection, a timeout, a
    /// reset or a reply cut short.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(failure) => failure.class.is_retryable(),
            Error::Http {
                status,
                from_proxy: false,
            } => (500..=599).contains(status),
            Error::Network { kind, .. } => *kind != NetworkKind::Other,
            Error::Malformed(response::Error::Http(HttpError::Truncated)) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { what, .. } => f.write_str(what),
            Error::Credentials { what, .. } => write!(f, "credentials: {what}"),
            Error::Network { kind, peer, .. } => write!(f, "{} {peer}", kind.describe()),
            Error::Tls { peer, .. } => write!(f, "TLS failed with {peer}"),
            Error::Http {
                status,
                from_proxy: true,
            } => write!(f, "the proxy refused the tunnel with HTTP status {status}"),
            Error::Http { status, .. } => {
                write!(f, "HTTP status {status}: the request did not reach the API")
            }
            Error::Malformed(err) => write!(f, "unreadable reply: {err}"),
            Error::Api(failure) => failure.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config { source, .. } | Error::Credentials { source, .. } => source
                .as_deref()
                .map(|err| err as &(dyn std::error::Error + 'static)),
            Error::Network { source, .. } => Some(source),
            Error::Tls { source, .. } => Some(source.as_ref()),
            Error::Malformed(err) => Some(err),
            Error::Http { .. } | Error::Api(_) => None,
        }
    }
}

impl From<response::Error> for Error {
    fn from(err: response::Error) -> Self {
        match err {
            response::Error::Status { status, .. } => Error::Http {
                status,
                from_proxy: false,
            },
            other => Error::Malformed(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn api(code: &str) -> Error {
        Error::Api(ApiFailure {
            code: code.to_owned(),
            message: "m".to_owned(),
            request_id: "r".to_owned(),
            class: ErrorClass::of(code),
        })
    }

    #[test]
    fn retryable_errors() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        let cases = [
            (api("RequestLimitExceeded.UinLimitExceeded"), true),
            (api("InternalError"), true),
            (api("ServiceUnavailable"), true),
            (api("AuthFailure.SignatureFailure"), false),
            (api("AuthFailure.SignatureExpire"), false),
            (api("ResourceNotFound.Certificate"), false),
            (
                Error::Http {
                    status: 502,
                    from_proxy: false,
                },
                true,
            ),
            (
                Error::Http {
                    status: 502,
                    from_proxy: true,
                },
                false,
            ),
            (
                Error::Http {
                    status: 404,
                    from_proxy: false,
                },
                false,
            ),
            (Error::io("h:443", reset), true),
            (
                Error::Malformed(response::Error::Http(HttpError::Truncated)),
                true,
            ),
            (Error::Malformed(response::Error::ContentType), false),
            (Error::config("bad"), false),
        ];
        for (err, retryable) in cases {
            assert_eq!(err.is_retryable(), retryable, "{err:?}");
        }
    }

    #[test]
    fn the_cause_chain_is_kept() {
        let err = Error::io("h:443", io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(matches!(
            err,
            Error::Network {
                kind: NetworkKind::Connect,
                ..
            }
        ));
        assert_eq!(err.to_string(), "could not connect to h:443");
        assert!(err.source().is_some());

        let tls = io::Error::other(rustls::Error::DecryptError);
        let err = Error::io("h:443", tls);
        assert!(matches!(err, Error::Tls { .. }));
        let source = err.source().and_then(|e| e.downcast_ref::<rustls::Error>());
        assert_eq!(source, Some(&rustls::Error::DecryptError));
    }

    #[test]
    fn api_errors_read_like_the_official_tools() {
        let err = Error::Api(ApiFailure {
            code: "ResourceNotFound.Certificate".to_owned(),
            message: "The certificate does not exist.".to_owned(),
            request_id: "1b5f".to_owned(),
            class: ErrorClass::NotFound,
        });
        assert_eq!(
            err.to_string(),
            "ResourceNotFound.Certificate: The certificate does not exist. (request id 1b5f)"
        );
    }
}
