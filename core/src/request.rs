//! Signed HTTP/1.1 requests, written into a caller-supplied buffer.
//!
//! [`Call`] writes any Tencent Cloud API 3.0 call; [`DescribeDeviceCertificate`] writes the one
//! this crate is about, with its JSON body produced by serde-json-core. Every input is validated
//! before anything is signed, and a buffer that is too small is an error, never a truncated
//! request.

use core::fmt;

use serde::Serialize;
use serde_json_core::str::EscapedStr;

use crate::SecretKey;
use crate::bytes::{Cursor, Decimal, Sink};
use crate::input::{self, Field, InvalidInput};
use crate::sign::{Authorization, Canonical, Method, Signer, StringToSign};

/// The service name of TDMQ for MQTT.
pub const SERVICE: &str = "mqtt";
/// The API version this crate speaks.
pub const VERSION: &str = "2024-05-16";
/// The action that describes one device certificate.
pub const DESCRIBE_DEVICE_CERTIFICATE: &str = "DescribeDeviceCertificate";
/// The international endpoint.
pub const INTERNATIONAL_HOST: &str = "mqtt.intl.tencentcloudapi.com";
/// The `Content-Type` of a JSON body.
pub const JSON: &str = "application/json";
/// The `Content-Type` of a GET request.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A buffer of this size holds any `DescribeDeviceCertificate` request whose inputs are within
/// their limits, except for the session token: add [`input::TOKEN_MAX`] (or the length of the
/// actual token) when temporary credentials are used.
pub const DESCRIBE_REQUEST_CAPACITY: usize = 1024;

/// The API key a request is signed with.
pub struct Credential<'a> {
    /// The `SecretId`: the public half of the key, sent in every request.
    pub secret_id: &'a str,
    /// The `SecretKey`.
    pub secret_key: &'a SecretKey,
    /// The session token of temporary (STS) credentials, sent as `X-TC-Token`.
    pub token: Option<&'a str>,
}

impl<'a> Credential<'a> {
    /// A permanent key.
    pub fn new(secret_id: &'a str, secret_key: &'a SecretKey) -> Self {
        Self {
            secret_id,
            secret_key,
            token: None,
        }
    }

    /// Temporary credentials: a key with its session token.
    pub fn with_token(self, token: &'a str) -> Self {
        Self {
            token: Some(token),
            ..self
        }
    }

    fn validate(&self) -> Result<(), InvalidInput> {
        input::token(Field::SecretId, self.secret_id, input::SECRET_ID_MAX)?;
        if let Some(token) = self.token {
            input::token(Field::Token, token, input::TOKEN_MAX)?;
        }
        Ok(())
    }
}

/// Shows the `SecretId` only; the key and the token are redacted.
impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("token", &self.token.map(|_| "<redacted>"))
            .finish()
    }
}

/// The language of error messages (`X-TC-Language`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Language {
    /// `en-US`
    English,
    /// `zh-CN`
    Chinese,
}

impl Language {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::English => "en-US",
            Language::Chinese => "zh-CN",
        }
    }
}

/// Where a TDMQ for MQTT request goes.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    /// The `Host` header: the API host, with `:port` when it is not the scheme's default.
    pub host: &'a str,
    /// The region of the instance, such as `ap-guangzhou`.
    pub region: &'a str,
    /// The language of error messages; the service's default when `None`.
    pub language: Option<Language>,
}

impl<'a> Endpoint<'a> {
    /// An endpoint with the service's default language.
    pub const fn new(host: &'a str, region: &'a str) -> Self {
        Self {
            host,
            region,
            language: None,
        }
    }
}

/// What a request carries.
#[derive(Clone, Copy, Debug)]
pub enum Payload<'a> {
    /// A POST with a JSON body.
    Json {
        /// The `Content-Type`, signed exactly as given: normally [`JSON`].
        content_type: &'a str,
        /// The body bytes, signed as they are.
        body: &'a [u8],
    },
    /// A GET whose parameters are in this form-encoded query string (without `?`).
    Query(&'a str),
}

/// One call of any Tencent Cloud API 3.0 action.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The `Host` header.
    pub host: &'a str,
    /// The service, such as `mqtt`.
    pub service: &'a str,
    /// The action, such as `DescribeDeviceCertificate`.
    pub action: &'a str,
    /// The API version, such as `2024-05-16`.
    pub version: &'a str,
    /// The region; some services' actions take none.
    pub region: Option<&'a str>,
    /// The language of error messages.
    pub language: Option<Language>,
    /// Unix seconds; the service accepts requests within 300 s of its own clock.
    pub timestamp: u64,
    /// The body or the query.
    pub payload: Payload<'a>,
}

/// Why a request could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BuildError {
    /// An input cannot go into a request.
    Input(InvalidInput),
    /// The buffer cannot hold the whole request. Nothing usable was written.
    BufferTooSmall,
}

impl From<InvalidInput> for BuildError {
    fn from(err: InvalidInput) -> Self {
        BuildError::Input(err)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Input(err) => write!(f, "invalid request input: {err}"),
            BuildError::BufferTooSmall => f.write_str("the request does not fit in the buffer"),
        }
    }
}

impl core::error::Error for BuildError {}

impl<'a> Call<'a> {
    /// The parts of the request the signature covers.
    pub fn canonical(&self) -> Canonical<'a> {
        let (method, content_type, query, payload): (_, _, _, &[u8]) = match self.payload {
            Payload::Json { content_type, body } => (Method::Post, content_type, "", body),
            Payload::Query(query) => (Method::Get, FORM, query, b""),
        };
        Canonical {
            method,
            host: self.host,
            content_type,
            query,
            payload,
        }
    }

    /// The string to sign.
    pub fn string_to_sign(&self) -> StringToSign<'a> {
        StringToSign::new(self.timestamp, self.service, &self.canonical())
    }

    /// Checks every input that goes into the head of the request.
    ///
    /// # Errors
    ///
    /// The first input that is empty, too long, or holds a character its place does not allow.
    pub fn validate(&self, credential: &Credential<'_>) -> Result<(), InvalidInput> {
        input::token_without(Field::Host, self.host, input::HOST_MAX, b"/?#@")?;
        input::token(Field::Service, self.service, input::SERVICE_MAX)?;
        input::token(Field::Action, self.action, input::ACTION_MAX)?;
        input::token(Field::Version, self.version, input::VERSION_MAX)?;
        if let Some(region) = self.region {
            input::token(Field::Region, region, input::REGION_MAX)?;
        }
        match self.payload {
            Payload::Json { content_type, .. } => {
                input::text(Field::ContentType, content_type, input::CONTENT_TYPE_MAX)?;
            }
            Payload::Query(query) => {
                input::token_without(Field::Query, query, input::QUERY_MAX, b"#")?;
            }
        }
        credential.validate()
    }

    /// Validates, signs and writes the whole request into `buf`; returns its length.
    ///
    /// `signer` keeps the derived key between calls on the same UTC day.
    ///
    /// # Errors
    ///
    /// [`BuildError::Input`] for an invalid input, [`BuildError::BufferTooSmall`] when the
    /// request does not fit. Either way nothing usable is left in `buf`.
    pub fn write(
        &self,
        buf: &mut [u8],
        credential: &Credential<'_>,
        signer: &mut Signer,
    ) -> Result<usize, BuildError> {
        let head = self.write_head(buf, credential, signer)?;
        let body = match self.payload {
            Payload::Json { body, .. } => body,
            Payload::Query(_) => b"",
        };
        let end = head + body.len();
        buf.get_mut(head..end)
            .ok_or(BuildError::BufferTooSmall)?
            .copy_from_slice(body);
        Ok(end)
    }

    /// Validates, signs and writes the head (through the blank line) into `buf`.
    fn write_head(
        &self,
        buf: &mut [u8],
        credential: &Credential<'_>,
        signer: &mut Signer,
    ) -> Result<usize, BuildError> {
        self.validate(credential)?;

        let canonical = self.canonical();
        let string_to_sign = StringToSign::new(self.timestamp, self.service, &canonical);
        let authorization = Authorization {
            secret_id: credential.secret_id,
            scope: string_to_sign.scope,
            signature: signer.sign(credential.secret_key, &string_to_sign),
        };

        let mut out = Cursor::new(buf);
        out.put(canonical.method.as_str().as_bytes());
        out.put(b" /");
        if !canonical.query.is_empty() {
            out.put(b"?");
            out.put(canonical.query.as_bytes());
        }
        out.put(b" HTTP/1.1");
        header(&mut out, "Host", self.host.as_bytes());
        header(&mut out, "Content-Type", canonical.content_type.as_bytes());
        if canonical.method == Method::Post {
            header(
                &mut out,
                "Content-Length",
                Decimal::new(canonical.payload.len() as u64).as_bytes(),
            );
        }
        out.put(b"\r\nAuthorization: ");
        authorization.write_to(&mut out);
        header(&mut out, "X-TC-Action", self.action.as_bytes());
        header(
            &mut out,
            "X-TC-Timestamp",
            Decimal::new(self.timestamp).as_bytes(),
        );
        header(&mut out, "X-TC-Version", self.version.as_bytes());
        if let Some(region) = self.region {
            header(&mut out, "X-TC-Region", region.as_bytes());
        }
        if let Some(token) = credential.token {
            header(&mut out, "X-TC-Token", token.as_bytes());
        }
        if let Some(language) = self.language {
            header(&mut out, "X-TC-Language", language.as_str().as_bytes());
        }
        header(&mut out, "User-Agent", USER_AGENT.as_bytes());
        out.put(b"\r\n\r\n");

        let len = out.finish().ok_or(BuildError::BufferTooSmall)?;
        debug!(
            "signed {} for {}: head of {} bytes",
            self.action, self.host, len
        );
        Ok(len)
    }
}

/// Sent as `User-Agent`, so that operators can tell this client in server logs.
const USER_AGENT: &str = concat!("mqttcert/", env!("CARGO_PKG_VERSION"));

/// Ends the previous line and writes `name: value`.
fn header(out: &mut Cursor<'_>, name: &str, value: &[u8]) {
    out.put(b"\r\n");
    out.put(name.as_bytes());
    out.put(b": ");
    out.put(value);
}

/// The question this crate asks: what does the service know of one device certificate?
#[derive(Clone, Copy, Debug)]
pub struct DescribeDeviceCertificate<'a> {
    /// The TDMQ-MQTT instance, such as `mqtt-jbgwp4ae`.
    pub instance_id: &'a str,
    /// The certificate's serial number in hex, as the service lists it.
    pub serial: &'a str,
}

/// The longest body: both fields at their limits, with the JSON around them.
const BODY_CAPACITY: usize = input::INSTANCE_ID_MAX + input::SERIAL_MAX + 64;

/// The JSON body, field names as the API spells them.
///
/// The values have been checked to hold no character that JSON escapes (no quote, backslash or
/// control character), so they are already valid JSON string contents, and serde-json-core is
/// told so: it copies them instead of escaping them character by character.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "DeviceCertificateSn")]
    serial: EscapedStr<'a>,
    #[serde(rename = "InstanceId")]
    instance_id: EscapedStr<'a>,
}

impl DescribeDeviceCertificate<'_> {
    /// Validates, signs and writes the request (POST, JSON body) into `buf`; returns its
    /// length. [`DESCRIBE_REQUEST_CAPACITY`] bytes are enough without a session token.
    ///
    /// # Errors
    ///
    /// [`BuildError::Input`] for an invalid input, [`BuildError::BufferTooSmall`] when the
    /// request does not fit.
    pub fn write_request(
        &self,
        buf: &mut [u8],
        endpoint: &Endpoint<'_>,
        credential: &Credential<'_>,
        signer: &mut Signer,
        timestamp: u64,
    ) -> Result<usize, BuildError> {
        input::json_token(Field::InstanceId, self.instance_id, input::INSTANCE_ID_MAX)?;
        input::json_token(Field::CertificateSerial, self.serial, input::SERIAL_MAX)?;

        // The body is serialised on the stack first: it is signed before the head is written,
        // and follows it in the buffer.
        let body = Body {
            serial: EscapedStr(self.serial),
            instance_id: EscapedStr(self.instance_id),
        };
        let mut body_buf = [0u8; BODY_CAPACITY];
        let body_len = serde_json_core::to_slice(&body, &mut body_buf)
            .map_err(|_| BuildError::BufferTooSmall)?;
        let body = &body_buf[..body_len];

        let call = Call {
            host: endpoint.host,
            service: SERVICE,
            action: DESCRIBE_DEVICE_CERTIFICATE,
            version: VERSION,
            region: Some(endpoint.region),
            language: endpoint.language,
            timestamp,
            payload: Payload::Json {
                content_type: JSON,
                body,
            },
        };
        call.write(buf, credential, signer)
    }
}

#[cfg(test)]
mod tests {
    use std::str;

    use super::*;

    const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";

    fn query() -> DescribeDeviceCertificate<'static> {
        DescribeDeviceCertificate {
            instance_id: "mqtt-jbgwp4ae",
            serial: "0eef68a582b94254296e54ce754f94d707a59911",
        }
    }

    #[test]
    fn writes_head_then_body() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let credential = Credential::new(SECRET_ID, &key).with_token("tok");
        let endpoint = Endpoint::new(INTERNATIONAL_HOST, "ap-guangzhou");
        let mut buf = [0u8; DESCRIBE_REQUEST_CAPACITY];
        let len = query()
            .write_request(
                &mut buf,
                &endpoint,
                &credential,
                &mut Signer::new(),
                1_551_113_065,
            )
            .unwrap();

        let text = str::from_utf8(&buf[..len]).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            body,
            r#"{"DeviceCertificateSn":"0eef68a582b94254296e54ce754f94d707a59911","InstanceId":"mqtt-jbgwp4ae"}"#
        );
        assert!(head.starts_with("POST / HTTP/1.1\r\nHost: mqtt.intl.tencentcloudapi.com\r\n"));
        assert!(head.contains(&std::format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(head.contains("\r\nX-TC-Token: tok\r\n"));
        assert!(head.contains("\r\nX-TC-Region: ap-guangzhou\r\n"));
    }

    #[test]
    fn every_short_buffer_is_refused() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let credential = Credential::new(SECRET_ID, &key);
        let endpoint = Endpoint::new(INTERNATIONAL_HOST, "ap-guangzhou");
        let mut signer = Signer::new();
        let mut buf = [0u8; DESCRIBE_REQUEST_CAPACITY];
        let full = query()
            .write_request(&mut buf, &endpoint, &credential, &mut signer, 1)
            .unwrap();
        // Each size signs anew; under Miri, thousands of times slower, a sample of them.
        let stride = if cfg!(miri) { 101 } else { 1 };
        for size in (0..full).step_by(stride) {
            let mut short = std::vec![0u8; size];
            assert_eq!(
                query().write_request(&mut short, &endpoint, &credential, &mut signer, 1),
                Err(BuildError::BufferTooSmall),
                "{size}"
            );
        }
    }

    #[test]
    fn a_buffer_of_the_exact_size_is_enough() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let credential = Credential::new(SECRET_ID, &key);
        let endpoint = Endpoint::new(INTERNATIONAL_HOST, "ap-guangzhou");
        let mut signer = Signer::new();
        let mut roomy = [0u8; DESCRIBE_REQUEST_CAPACITY];
        let len = query()
            .write_request(&mut roomy, &endpoint, &credential, &mut signer, 7)
            .unwrap();
        for extra in [0, 1, 100, 191, 192, 193] {
            let mut exact = std::vec![0u8; len + extra];
            let written = query()
                .write_request(&mut exact, &endpoint, &credential, &mut signer, 7)
                .unwrap();
            assert_eq!(&exact[..written], &roomy[..len], "{extra}");
        }
    }

    #[test]
    fn longest_inputs_fit_the_documented_capacity() {
        let key = SecretKey::new(&"k".repeat(crate::secret::SECRET_KEY_CAPACITY)).unwrap();
        let secret_id = "i".repeat(input::SECRET_ID_MAX);
        let credential = Credential::new(&secret_id, &key);
        let host = "h".repeat(input::HOST_MAX);
        let region = "r".repeat(input::REGION_MAX);
        let endpoint = Endpoint {
            host: &host,
            region: &region,
            language: Some(Language::Chinese),
        };
        let instance_id = "m".repeat(input::INSTANCE_ID_MAX);
        let serial = "0".repeat(input::SERIAL_MAX);
        let query = DescribeDeviceCertificate {
            instance_id: &instance_id,
            serial: &serial,
        };
        let mut buf = [0u8; DESCRIBE_REQUEST_CAPACITY];
        let len = query
            .write_request(
                &mut buf,
                &endpoint,
                &credential,
                &mut Signer::new(),
                u64::MAX,
            )
            .unwrap();
        assert!(len <= DESCRIBE_REQUEST_CAPACITY);
    }

    #[test]
    fn bad_inputs_are_named_before_signing() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let credential = Credential::new(SECRET_ID, &key);
        let mut buf = [0u8; DESCRIBE_REQUEST_CAPACITY];
        let mut signer = Signer::new();
        let good = Endpoint::new(INTERNATIONAL_HOST, "ap-guangzhou");
        let cases = [
            (good, "mqtt-1", "", Field::CertificateSerial),
            (good, "mqtt-1\r\nX: y", "0e", Field::InstanceId),
            (good, "mqtt-\"1", "0e", Field::InstanceId),
            (good, "mqtt-1", "0e\0", Field::CertificateSerial),
            (
                Endpoint::new("evil.com/x", "ap-guangzhou"),
                "m",
                "0e",
                Field::Host,
            ),
            (
                Endpoint::new(INTERNATIONAL_HOST, "ap\nx"),
                "m",
                "0e",
                Field::Region,
            ),
        ];
        for (endpoint, instance_id, serial, field) in cases {
            let query = DescribeDeviceCertificate {
                instance_id,
                serial,
            };
            match query.write_request(&mut buf, &endpoint, &credential, &mut signer, 1) {
                Err(BuildError::Input(err)) => assert_eq!(err.field, field, "{instance_id:?}"),
                other => panic!("{instance_id:?} {serial:?}: {other:?}"),
            }
        }
        let credential = Credential::new(SECRET_ID, &key).with_token("a\r\nb");
        let err = query().write_request(&mut buf, &good, &credential, &mut signer, 1);
        assert!(matches!(
            err,
            Err(BuildError::Input(InvalidInput {
                field: Field::Token,
                ..
            }))
        ));
    }

    #[test]
    fn credential_debug_hides_key_and_token() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let shown = std::format!(
            "{:?}",
            Credential::new(SECRET_ID, &key).with_token("tok-123")
        );
        assert!(shown.contains(SECRET_ID));
        assert!(!shown.contains("Gu5t9"));
        assert!(!shown.contains("tok-123"));
    }
}
