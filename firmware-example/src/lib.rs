//! A device asks Tencent Cloud about its own certificate, with no heap.
//!
//! This is the board-independent part of the gateway firmware: given a TCP stack, a clock, a
//! random number generator and a timer (the [`platform`]), a [`Checker`] connects to the
//! `DescribeDeviceCertificate` API over TLS 1.3, verifies the server against one pinned CA,
//! sends the request that [`mqttcert_core`] signs and writes, reads the reply as far as its own
//! framing, and judges the certificate. Memory is the caller's ([`Buffers`]), so a firmware can
//! keep all of it in statics and know its RAM before flashing.
//!
//! A check goes through these modules:
//!
//! - [`config`]: what to ask (instance, serial), whom (host, address, pinned CA), with which key,
//!   and the retry bounds;
//! - [`platform`]: the traits a board implements or already has, [`platform::Clock`] being the
//!   only one of this crate;
//! - [`tls`]: embedded-tls with `TLS_AES_128_GCM_SHA256` and a P-256 key share, and
//!   [`tls::PinnedVerifier`], which checks the server's chain in place with rustls-webpki up to
//!   the configured CA and the handshake signature with the leaf's key; no path skips
//!   verification;
//! - [`Checker::check_once`]: one attempt, bounded in time;
//! - [`Checker::check`]: the policy: correct the clock and sign again once after
//!   `AuthFailure.SignatureExpire`, back off and retry after network failures, timeouts and
//!   `RequestLimitExceeded`, give up after [`Retry::attempts`];
//! - [`serial`] and [`pem`]: the device's serial read from its own DER certificate, and a
//!   PEM-to-DER decoder for the pinned CA.
//!
//! # Example
//!
//! ```no_run
//! # async fn run<N, C, R, D>(tcp: &N, clock: &C, rng: &mut R, delay: &mut D)
//! # where
//! #     N: embedded_nal_async::TcpConnect,
//! #     C: mqttcert_firmware::platform::Clock,
//! #     R: rand_core::CryptoRngCore,
//! #     D: embedded_hal_async::delay::DelayNs,
//! # {
//! use mqttcert_core::SecretKey;
//! use mqttcert_core::check::Policy;
//! use mqttcert_firmware::{BufferStorage, Checker, Config, Outcome, Platform, Retry};
//!
//! static CA_DER: &[u8] = &[/* the pinned CA certificate, DER */];
//! let secret_key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
//! let mut checker = Checker::new(Config {
//!     host: "mqtt.intl.tencentcloudapi.com",
//!     addr: "10.0.2.2:8443".parse().unwrap(),
//!     region: "ap-guangzhou",
//!     instance_id: "mqtt-jbgwp4ae",
//!     serial: "0eef68a582b94254296e54ce754f94d707a59911",
//!     secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
//!     secret_key: &secret_key,
//!     token: None,
//!     ca_der: CA_DER,
//!     policy: Policy::warn_within_days(30),
//!     retry: Retry::default(),
//! });
//!
//! let mut storage = BufferStorage::new(); // about 34 KB: a static on a device
//! let mut platform = Platform::new(tcp, clock, rng, delay);
//! match checker.check(&mut platform, &mut storage.buffers()).await {
//!     Ok(outcome) if outcome.is_usable() => { /* carry on; check again later */ }
//!     Ok(outcome) if outcome.says_stop() => { /* revoked, expired, not found…: stop */ }
//!     Ok(_) | Err(_) => { /* the API could not tell (key, network…): try again later */ }
//! }
//! # }
//! ```
//!
//! # Buffers
//!
//! | Buffer | Bytes | Constant |
//! |---|---|---|
//! | TLS records in | 16 640 | [`TLS_READ_BUFFER`] |
//! | TLS records out | 4 096 | [`TLS_WRITE_BUFFER`] |
//! | request, then reply | 8 192 | [`MESSAGE_BUFFER`] |
//! | the certificate record | about 5 160 | [`mqttcert_core::DeviceCertificate`] |
//!
//! The future of [`Checker::check`] measures about 6 KB on x86-64 (the test
//! `the_future_of_a_check_is_small` of `mqttcert` prints it): on embassy, the task that awaits
//! a check needs that much in its arena.
//!
//! Measured on QEMU's riscv32 `virt` board (`cargo xtask firmware`, size-optimised build): a
//! check adds about 7 KB of stack at its deepest, in the TLS handshake while the server's chain
//! is verified (a server the pin refuses reaches the same depth), and takes 60 to 200 ms under
//! emulation. On a host, one check over loopback takes about 2 ms.
//!
//! # Limits
//!
//! embedded-tls speaks TLS 1.3 only, with a P-256 key share, and the verifier accepts ECDSA
//! P-256 with SHA-256 only, with at most [`tls::MAX_INTERMEDIATES`] certificates between the
//! server's and the pinned CA, and no revocation checking. The device's clock must be within
//! the server certificates' validity windows for a handshake to succeed.
//!
//! # Features
//!
//! `defmt` or `log` (not both) route this crate's, the core's and (with `defmt`)
//! embedded-tls's logs; with neither, nothing is logged. Levels: debug for attempts, retries
//! and clock corrections, info for a healthy certificate, warn for one expiring, error for one
//! to stop using or a check that failed. No log line holds the secret key or the token.
#![no_std]
// The package allows `unsafe` in the board glue of its binary only; the library has none.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The logging shim comes first so that its macros are visible in every module below.
#[macro_use]
mod fmt;

pub mod buffers;
mod checker;
pub mod config;
mod der;
mod error;
pub mod pem;
pub mod platform;
pub mod serial;
pub mod tls;

#[cfg(feature = "defmt")]
impl defmt::Format for pem::PemError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

/// The TLS crate this one uses, for its error type ([`Error::Handshake`] carries one).
pub use embedded_tls;

pub use buffers::{BufferStorage, Buffers, MESSAGE_BUFFER, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
pub use checker::{Checker, Outcome};
pub use config::{Config, Retry};
pub use error::Error;
pub use platform::{Clock, Platform};
