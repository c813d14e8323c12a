//! Ask Tencent Cloud about a device certificate, from a device with no heap.
//!
//! This crate is the sans-I/O heart of `mqttcert`: it turns a credential, a timestamp and the
//! identity of a certificate into the exact bytes of a signed `DescribeDeviceCertificate` request
//! for TDMQ for MQTT, turns the bytes of the reply into a fixed-capacity record or a typed API
//! error, and judges the certificate. It never reads a clock, draws a random number, touches a
//! socket or allocates: the caller moves the bytes (over embedded-tls on a device, rustls on a
//! host, or a test fixture) and hands in the current time.
//!
//! The modules follow the path of one check:
//!
//! - [`sign`] implements TC3-HMAC-SHA256 for any Tencent Cloud API 3.0 action. The canonical
//!   request and the string to sign are streamed into SHA-256 rather than assembled in memory.
//!   The derived signing key depends only on the secret key, the UTC day and the service, and
//!   [`sign::Signer`] keeps it for reuse, which saves three of the four HMACs of a signature.
//! - [`request`] writes a complete HTTP/1.1 request into a caller-supplied buffer: any action
//!   through [`request::Call`], and `DescribeDeviceCertificate` through
//!   [`request::DescribeDeviceCertificate`], whose JSON body is produced by serde-json-core. Every
//!   input is validated before anything is signed.
//! - [`response`] reads the reply: the head with `httparse`, the body framed by `Content-Length`
//!   or chunked coding (decoded in place), then the JSON envelope into a
//!   [`DeviceCertificate`] or an [`ApiError`]. Nesting is bounded before the JSON parser runs.
//! - [`check`] turns a record and the current time into a [`Verdict`].
//! - [`clock`] estimates the offset between the local clock and the server's, so that a caller
//!   whose request was refused as expired can correct its clock and sign again once.
//!
//! Secrets live in [`SecretKey`] and [`sign::SigningKey`], which wipe themselves on drop and
//! print as `<redacted>`; no log line of this crate contains key material.
//!
//! # Example
//!
//! ```
//! use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint};
//! use mqttcert_core::response::{self, Read};
//! use mqttcert_core::sign::Signer;
//! use mqttcert_core::{check, DeviceCertificate, SecretKey, Verdict};
//!
//! let secret_key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")?;
//! let credential = Credential::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", &secret_key);
//! let endpoint = Endpoint::new("mqtt.intl.tencentcloudapi.com", "ap-guangzhou");
//! let query = DescribeDeviceCertificate {
//!     instance_id: "mqtt-jbgwp4ae",
//!     serial: "0eef68a582b94254296e54ce754f94d707a59911",
//! };
//!
//! // Sign and write the request; send `buf[..len]` over TLS.
//! let mut signer = Signer::new();
//! let mut buf = [0u8; 1024];
//! let now = 1_724_100_000; // Unix seconds, from the device's clock
//! let len = query.write_request(&mut buf, &endpoint, &credential, &mut signer, now)?;
//! assert!(buf[..len].starts_with(b"POST / HTTP/1.1\r\n"));
//!
//! // Read the reply into the same buffer as it arrives, then judge the certificate.
//! let reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 207\r\n\r\n\
//!     {\"Response\":{\"DeviceCertificateSn\":\"0eef68a582b94254296e54ce754f94d707a59911\",\
//!     \"Status\":\"ACTIVE\",\"NotBeforeTime\":1714985683000,\"NotAfterTime\":1758185683000,\
//!     \"RequestId\":\"1b5fc3fa-4bbf-421a-aad1-c45d49119a2c\"}}";
//! buf[..reply.len()].copy_from_slice(reply);
//!
//! let mut record: DeviceCertificate = DeviceCertificate::new();
//! let Read::Complete(reply) = response::read_reply(&mut buf, reply.len(), true, &mut record)?
//! else {
//!     unreachable!("the whole reply is in the buffer")
//! };
//! if let Some(err) = reply.api_error() {
//!     panic!("the API answered {err}"); // a device would act on `err.class()`
//! }
//! let verdict = check::judge(&record, query.serial, now * 1000, &check::Policy::default());
//! assert!(matches!(verdict, Verdict::Healthy { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `defmt`: log through `defmt` and derive `defmt::Format` for the public types.
//! - `log`: log through the `log` facade.
//!
//! With neither, the crate logs nothing. Enabling both is a compile error.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate std;

// The logging shim comes first so that its macros are visible in every module below.
#[macro_use]
mod fmt;

pub mod check;
pub mod clock;
pub mod input;
pub mod request;
pub mod response;
mod secret;
pub mod sign;
pub mod time;

mod bytes;

pub use check::Verdict;
pub use response::{ApiError, DeviceCertificate};
pub use secret::{SECRET_KEY_CAPACITY, SecretKey};
