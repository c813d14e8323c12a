//! The one error type of the emulator's setup: loading a fleet, making certificates, binding
//! sockets. Requests never produce it; they get API errors in the reply.

use std::fmt;
use std::io;

/// Why the emulator could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file, binding a socket.
    Io {
        /// What was being done, e.g. `reading fleets/demo.json`.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// A fleet file that is not the expected JSON.
    Json {
        /// Which file or text.
        context: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// A fleet that parses but contradicts itself (duplicate SecretId, empty key, …).
    InvalidFleet(String),
    /// Generating a certificate failed.
    Certificate(rcgen::Error),
    /// The TLS configuration was refused.
    Tls(rustls::Error),
    /// A PEM file holds no usable certificate or key.
    Pem(String),
    /// The server thread stopped before it was ready.
    Startup(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { context, .. } => write!(f, "{context} failed"),
            Self::Json { context, .. } => write!(f, "{context} is not a valid fleet"),
            Self::InvalidFleet(why) => write!(f, "invalid fleet: {why}"),
            Self::Certificate(_) => f.write_str("generating a certificate failed"),
            Self::Tls(_) => f.write_str("the TLS configuration was refused"),
            Self::Pem(why) => write!(f, "unusable PEM: {why}"),
            Self::Startup(why) => write!(f, "the emulator did not start: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json { source, .. } => Some(source),
            Self::Certificate(source) => Some(source),
            Self::Tls(source) => Some(source),
            Self::InvalidFleet(_) | Self::Pem(_) | Self::Startup(_) => None,
        }
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
