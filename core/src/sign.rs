//! TC3-HMAC-SHA256, the signature of Tencent Cloud API 3.0.
//!
//! ```text
//! CanonicalRequest = Method \n / \n Query \n content-type:… \n host:… \n \n content-type;host \n hex(SHA256(payload))
//! StringToSign     = TC3-HMAC-SHA256 \n Timestamp \n Date/Service/tc3_request \n hex(SHA256(CanonicalRequest))
//! SigningKey       = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request")
//! Signature        = hex(HMAC(SigningKey, StringToSign))
//! ```
//!
//! Both the canonical request and the string to sign are streamed into the hash as they are
//! produced; neither is ever held in memory. The date is the **UTC** date of the timestamp.
//!
//! Counted in SHA-256 compressions (64-byte blocks), a `DescribeDeviceCertificate` signature
//! costs 2 for the payload hash, 3 for the canonical request, 12 for the three HMACs that derive
//! the signing key and 5 for the final HMAC: 22 in all, or 10 when [`Signer`] reuses the key
//! derived earlier the same UTC day.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::SecretKey;
use crate::bytes::{Decimal, FmtSink, Sink, hex32};
use crate::input::SERVICE_MAX;
use crate::time::UtcDate;

/// The algorithm name that starts the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The headers this crate signs. The official SDKs sign the same two.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// The HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// POST with a JSON body: what the service recommends.
    Post,
    /// GET with the parameters in a form-encoded query string and an empty body.
    Get,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Get => "GET",
        }
    }
}

/// The parts of an HTTP request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct Canonical<'a> {
    /// The method.
    pub method: Method,
    /// The `Host` header exactly as sent, port included when the endpoint has one.
    pub host: &'a str,
    /// The `Content-Type` header exactly as sent.
    pub content_type: &'a str,
    /// The query string as sent, without `?`; empty for POST.
    pub query: &'a str,
    /// The body bytes as sent; empty for GET.
    pub payload: &'a [u8],
}

impl Canonical<'_> {
    /// SHA-256 of the canonical request.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        self.write_to(&mut hasher);
        finish_hash(hasher)
    }

    fn write_to(&self, out: &mut impl Sink) {
        let mut hasher = Sha256::new();
        hasher.put(self.payload);
        let payload_hash = hex32(&finish_hash(hasher));

        out.put(self.method.as_str().as_bytes());
        out.put(b"\n/\n");
        out.put(self.query.as_bytes());
        out.put(b"\ncontent-type:");
        put_lowercase(out, self.content_type.as_bytes().trim_ascii());
        out.put(b"\nhost:");
        put_lowercase(out, self.host.as_bytes().trim_ascii());
        out.put(b"\n\n");
        out.put(SIGNED_HEADERS.as_bytes());
        out.put(b"\n");
        out.put(&payload_hash);
    }
}

/// Shows the canonical request, for debugging a signature mismatch.
impl fmt::Display for Canonical<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        self.write_to(&mut sink);
        sink.result
    }
}

/// Feeds `bytes` lowercased, in stack-sized pieces.
fn put_lowercase(out: &mut impl Sink, bytes: &[u8]) {
    let mut piece = [0u8; 32];
    for chunk in bytes.chunks(piece.len()) {
        let lower = &mut piece[..chunk.len()];
        lower.copy_from_slice(chunk);
        lower.make_ascii_lowercase();
        out.put(lower);
    }
}

/// The scope a signature is valid for: a UTC day and a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    /// The UTC date of the request's timestamp.
    pub date: UtcDate,
    /// The service, such as `mqtt`.
    pub service: &'a str,
}

impl CredentialScope<'_> {
    fn write_to(&self, out: &mut impl Sink) {
        out.put(&self.date.to_ascii());
        out.put(b"/");
        out.put(self.service.as_bytes());
        out.put(b"/tc3_request");
    }
}

impl fmt::Display for CredentialScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        self.write_to(&mut sink);
        sink.result
    }
}

/// The string that is signed: algorithm, timestamp, scope and the canonical request's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringToSign<'a> {
    /// Unix seconds, as sent in `X-TC-Timestamp`.
    pub timestamp: u64,
    /// The day and service.
    pub scope: CredentialScope<'a>,
    /// SHA-256 of the canonical request.
    pub canonical_request_hash: [u8; 32],
}

impl<'a> StringToSign<'a> {
    /// The string to sign for `request`, sent at `timestamp` to `service`.
    pub fn new(timestamp: u64, service: &'a str, request: &Canonical<'_>) -> Self {
        Self {
            timestamp,
            scope: CredentialScope {
                date: UtcDate::from_unix(timestamp),
                service,
            },
            canonical_request_hash: request.hash(),
        }
    }

    fn write_to(&self, out: &mut impl Sink) {
        out.put(ALGORITHM.as_bytes());
        out.put(b"\n");
        out.put(Decimal::new(self.timestamp).as_bytes());
        out.put(b"\n");
        self.scope.write_to(out);
        out.put(b"\n");
        out.put(&hex32(&self.canonical_request_hash));
    }
}

impl fmt::Display for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        self.write_to(&mut sink);
        sink.result
    }
}

/// A signature: 32 bytes, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 32]);

impl Signature {
    /// The raw MAC.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits the `Authorization` header carries.
    pub fn to_hex(&self) -> [u8; 64] {
        hex32(&self.0)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        f.write_str(core::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// The value of the `Authorization` header.
#[derive(Clone, Copy, Debug)]
pub struct Authorization<'a> {
    /// The `SecretId` (the public half of the key).
    pub secret_id: &'a str,
    /// The day and service.
    pub scope: CredentialScope<'a>,
    /// The signature.
    pub signature: Signature,
}

impl Authorization<'_> {
    pub(crate) fn write_to(&self, out: &mut impl Sink) {
        out.put(ALGORITHM.as_bytes());
        out.put(b" Credential=");
        out.put(self.secret_id.as_bytes());
        out.put(b"/");
        self.scope.write_to(out);
        out.put(b", SignedHeaders=");
        out.put(SIGNED_HEADERS.as_bytes());
        out.put(b", Signature=");
        out.put(&self.signature.to_hex());
    }
}

impl fmt::Display for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        self.write_to(&mut sink);
        sink.result
    }
}

// The hash and MAC steps are kept out of line: each is one copy in a firmware's flash rather
// than one per use, at the cost of a call.

/// A key for HMAC-SHA256; any length is accepted.
#[inline(never)]
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    match Hmac::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// HMAC-SHA256 of `data` under `key`.
#[inline(never)]
fn hmac_of(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = hmac(key);
    mac.put(data);
    finish_mac(mac)
}

#[inline(never)]
fn finish_mac(mac: Hmac<Sha256>) -> [u8; 32] {
    mac.finalize().into_bytes().into()
}

#[inline(never)]
fn finish_hash(hasher: Sha256) -> [u8; 32] {
    hasher.finalize().into()
}

/// The derived key for one UTC day and one service.
///
/// It is as sensitive as the secret key for that day: it is wiped on drop and its `Debug`
/// output is redacted.
pub struct SigningKey {
    key: [u8; 32],
    date: UtcDate,
    /// The service, or empty when the name was too long to keep, which makes
    /// [`SigningKey::is_for`] always false and the key never reused.
    service: heapless::String<SERVICE_MAX>,
}

impl SigningKey {
    /// Derives the key: three HMACs over the date, the service and `tc3_request`.
    pub fn derive(secret: &SecretKey, date: UtcDate, service: &str) -> Self {
        let secret = secret.expose();
        let mut tc3_secret = [0u8; 3 + crate::secret::SECRET_KEY_CAPACITY];
        tc3_secret[..3].copy_from_slice(b"TC3");
        tc3_secret[3..3 + secret.len()].copy_from_slice(secret);

        let mut key = hmac_of(&tc3_secret[..3 + secret.len()], &date.to_ascii());
        tc3_secret.zeroize();
        key = hmac_of(&key, service.as_bytes());
        key = hmac_of(&key, b"tc3_request");

        Self {
            key,
            date,
            service: heapless::String::try_from(service).unwrap_or_default(),
        }
    }

    /// Whether this key signs requests of `date` to `service`.
    pub fn is_for(&self, date: UtcDate, service: &str) -> bool {
        self.date == date && !self.service.is_empty() && self.service == service
    }

    /// Signs `string_to_sign`.
    ///
    /// The caller must use a key derived for the string's scope; [`Signer::sign`] takes care
    /// of that.
    pub fn sign(&self, string_to_sign: &StringToSign<'_>) -> Signature {
        let mut mac = hmac(&self.key);
        string_to_sign.write_to(&mut mac);
        Signature(finish_mac(mac))
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("date", &self.date)
            .field("service", &self.service.as_str())
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SigningKey {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "SigningKey {{ date: {}, service: {=str}, key: <redacted> }}",
            self.date,
            self.service.as_str()
        )
    }
}

/// Signs strings, deriving the signing key once per UTC day and service.
///
/// Keep one `Signer` per secret key; after the secret key changes (for example on rotation of
/// temporary credentials), call [`Signer::forget`].
#[derive(Debug, Default)]
pub struct Signer {
    key: Option<SigningKey>,
}

impl Signer {
    /// A signer with no key yet.
    pub const fn new() -> Self {
        Self { key: None }
    }

    /// The signing key for `date` and `service`, derived now unless the one kept matches.
    pub fn key(&mut self, secret: &SecretKey, date: UtcDate, service: &str) -> &SigningKey {
        if self
            .key
            .as_ref()
            .is_some_and(|key| !key.is_for(date, service))
        {
            self.key = None;
        }
        self.key.get_or_insert_with(|| {
            debug!("deriving the signing key for {} and {}", date, service);
            SigningKey::derive(secret, date, service)
        })
    }

    /// Signs `string_to_sign` with `secret`, reusing the kept key when its scope matches.
    pub fn sign(&mut self, secret: &SecretKey, string_to_sign: &StringToSign<'_>) -> Signature {
        let scope = string_to_sign.scope;
        self.key(secret, scope.date, scope.service)
            .sign(string_to_sign)
    }

    /// Drops (and wipes) the kept key.
    pub fn forget(&mut self) {
        self.key = None;
    }
}

#[cfg(test)]
mod tests {
    use std::format;

    use super::*;

    const SECRET: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    fn string_to_sign(timestamp: u64) -> StringToSign<'static> {
        let request = Canonical {
            method: Method::Post,
            host: "mqtt.intl.tencentcloudapi.com",
            content_type: "application/json",
            query: "",
            payload: b"{}",
        };
        StringToSign::new(timestamp, "mqtt", &request)
    }

    #[test]
    fn kept_key_signs_like_a_fresh_one() {
        let secret = SecretKey::new(SECRET).unwrap();
        let mut signer = Signer::new();
        for timestamp in [1_709_251_190, 1_709_251_199, 1_709_251_200, 1_709_251_300] {
            let sts = string_to_sign(timestamp);
            let fresh = SigningKey::derive(&secret, sts.scope.date, "mqtt").sign(&sts);
            assert_eq!(signer.sign(&secret, &sts), fresh, "{timestamp}");
        }
    }

    #[test]
    fn key_is_kept_for_the_day_only() {
        let secret = SecretKey::new(SECRET).unwrap();
        let mut signer = Signer::new();
        let day = UtcDate::from_unix(1_709_251_199);
        let next = UtcDate::from_unix(1_709_251_200);
        let first = signer.key(&secret, day, "mqtt").key;
        assert_eq!(signer.key(&secret, day, "mqtt").key, first);
        assert_ne!(signer.key(&secret, next, "mqtt").key, first);
        assert_ne!(signer.key(&secret, next, "cvm").key, first);
    }

    #[test]
    fn debug_output_hides_the_derived_key() {
        let secret = SecretKey::new(SECRET).unwrap();
        let key = SigningKey::derive(&secret, UtcDate::from_unix(0), "mqtt");
        let hex = format!("{}", Signature(key.key));
        let shown = format!("{key:?}");
        let shown = shown + &format!("{:?}", Signer { key: Some(key) });
        assert!(!shown.contains(&hex));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn canonical_request_lowercases_and_trims_header_values() {
        let request = Canonical {
            method: Method::Get,
            host: "MQTT.Example.COM:8443",
            content_type: " Application/X-WWW-Form-Urlencoded ",
            query: "InstanceId=mqtt-1",
            payload: b"",
        };
        assert_eq!(
            format!("{request}"),
            "GET\n/\nInstanceId=mqtt-1\ncontent-type:application/x-www-form-urlencoded\n\
             host:mqtt.example.com:8443\n\ncontent-type;host\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
