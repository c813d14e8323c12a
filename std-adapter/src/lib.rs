//! Check Tencent Cloud TDMQ for MQTT device certificates from a host.
//!
//! This crate puts [`mqttcert_core`] on std. The core signs the `DescribeDeviceCertificate`
//! request into a buffer and reads the reply's bytes; everything around it lives here:
//!
//! - [`url`] splits the endpoint URL (`https://host[:port]`), whose host the core signs;
//! - [`proxy`] reads `HTTPS_PROXY` and `NO_PROXY` and opens `CONNECT` tunnels;
//! - the transport (private) connects over TCP, through the proxy if any, and runs rustls
//!   (TLS 1.2 and 1.3, ring) with the web roots or a CA file; certificates are always verified;
//! - [`retry`] bounds retries in number and time, with jittered exponential back-off, and keeps
//!   the process under the API's 20 requests a second;
//! - [`credentials`] finds the key in flags, the environment or `~/.tencentcloud/credentials`
//!   and keeps it where it is wiped on drop;
//! - [`Client`] ties them together: sign, send, read, retry, correct the clock once on
//!   `AuthFailure.SignatureExpire`, judge;
//! - [`report`] is what the `mqttcert` CLI prints and how it exits.
//!
//! Every failure is one [`Error`], which keeps its cause chain.
//!
//! # Secrets
//!
//! No log line, `Debug` output or error message of this crate contains the secret key, the
//! session token or anything derived from them (the signing key, the signature). Log levels:
//! `info` for one line per check, `debug` for attempts, retries and clock corrections, `trace`
//! for byte counts.
//!
//! # Example
//!
//! ```no_run
//! use mqttcert::{Client, Credentials};
//! use mqttcert_core::check::Policy;
//!
//! let (credentials, _source) = Credentials::resolve(
//!     mqttcert::credentials::Explicit::default(),
//!     |name| std::env::var(name).ok(),
//!     std::env::home_dir().as_deref(),
//! )?;
//! let client = Client::builder()
//!     .endpoint("https://mqtt.intl.tencentcloudapi.com")
//!     .region("ap-guangzhou")
//!     .credentials(credentials)
//!     .build()?;
//! let checked = client.check(
//!     "mqtt-jbgwp4ae",
//!     "0eef68a582b94254296e54ce754f94d707a59911",
//!     &Policy::warn_within_days(30),
//! )?;
//! println!("{}", checked.verdict);
//! # Ok::<(), mqttcert::Error>(())
//! ```

mod client;
pub mod credentials;
#[cfg(feature = "device")]
pub mod device;
mod error;
pub mod proxy;
pub mod report;
pub mod retry;
mod transport;
pub mod url;

pub use client::{Checked, Client, ClientBuilder, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT, Described};
pub use credentials::Credentials;
pub use error::{ApiFailure, BoxError, Error, NetworkKind};
pub use mqttcert_core::request::Language;
pub use retry::{RateLimiter, RetryPolicy};

/// An error and its causes on one line, `outer: cause: root cause`, as the CLI prints it.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    client::chain(err)
}

/// The project README's examples (the core's and this crate's), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
