//! Feeds arbitrary inputs (credential, endpoint, instance id, serial, timestamp, buffer length,
//! or the parts of any other call) to the signer and the request builder:
//! [`DescribeDeviceCertificate::write_request`] and [`Call::write`].
//!
//! Nothing may panic. A bad input must be refused as [`BuildError::Input`] whatever the buffer,
//! and a buffer too small as [`BuildError::BufferTooSmall`] only when the request is longer
//! than it. A written request must be well-formed HTTP/1.1: the method line, the `Host`, an
//! `Authorization` whose signature is the one the low-level signer computes, and a
//! `Content-Length` equal to the body's length. Writing it again, with a fresh signer or the
//! one that keeps the derived key, must give the same bytes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mqttcert_core::SecretKey;
use mqttcert_core::request::{
    self, BuildError, Call, Credential, DescribeDeviceCertificate, Endpoint, Language, Payload,
};
use mqttcert_core::sign::{Signer, SigningKey};
use mqttcert_core::time::UtcDate;

/// Room for any request the inputs can make: the head's fields at their limits and a body.
const ROOM: usize = 16 * 1024;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secret_id: &'a str,
    secret_key: &'a str,
    token: Option<&'a str>,
    host: &'a str,
    region: &'a str,
    language: Option<bool>,
    timestamp: u64,
    buf_len: u16,
    what: What<'a>,
}

/// The request to write.
#[derive(Arbitrary, Debug)]
enum What<'a> {
    /// `DescribeDeviceCertificate`.
    Describe {
        instance_id: &'a str,
        serial: &'a str,
    },
    /// Any call: a POST of `body`, or a GET of `query` when there is one.
    Call {
        service: &'a str,
        action: &'a str,
        version: &'a str,
        content_type: &'a str,
        query: Option<&'a str>,
        body: &'a [u8],
    },
}

fuzz_target!(|input: Input<'_>| {
    let Ok(secret_key) = SecretKey::new(input.secret_key) else {
        return;
    };
    let mut credential = Credential::new(input.secret_id, &secret_key);
    if let Some(token) = input.token {
        credential = credential.with_token(token);
    }
    let mut endpoint = Endpoint::new(input.host, input.region);
    endpoint.language = input.language.map(|english| match english {
        true => Language::English,
        false => Language::Chinese,
    });

    let mut signer = Signer::new();
    let mut room = vec![0u8; ROOM];
    let full = write(&input, &endpoint, &credential, &mut signer, &mut room);
    let mut buf = vec![0u8; usize::from(input.buf_len)];
    let sized = write(&input, &endpoint, &credential, &mut signer, &mut buf);

    let len = match full {
        Ok(len) => len,
        Err(BuildError::Input(err)) => {
            assert_eq!(
                sized,
                Err(BuildError::Input(err)),
                "the buffer changed the verdict"
            );
            return;
        }
        Err(err) => panic!("{err:?} with {ROOM} bytes of room"),
    };
    match sized {
        Ok(n) => {
            assert_eq!(n, len);
            assert_eq!(buf[..n], room[..len], "the request depends on the buffer");
        }
        Err(BuildError::BufferTooSmall) => assert!(buf.len() < len, "refused a buffer of {len}"),
        Err(err) => panic!("{err:?} after success"),
    }

    // The same bytes again with a fresh signer, and again with the one that kept the key.
    for mut signer in [Signer::new(), signer] {
        let mut again = vec![0u8; len];
        let n = write(&input, &endpoint, &credential, &mut signer, &mut again);
        assert_eq!(n, Ok(len));
        assert_eq!(again, room[..len], "signing is not deterministic");
    }

    check_request(&input, &endpoint, &credential, &room[..len]);
});

/// Writes the request `input` describes.
fn write(
    input: &Input<'_>,
    endpoint: &Endpoint<'_>,
    credential: &Credential<'_>,
    signer: &mut Signer,
    buf: &mut [u8],
) -> Result<usize, BuildError> {
    match input.what {
        What::Describe {
            instance_id,
            serial,
        } => DescribeDeviceCertificate {
            instance_id,
            serial,
        }
        .write_request(buf, endpoint, credential, signer, input.timestamp),
        What::Call { .. } => call(input, endpoint, b"").write(buf, credential, signer),
    }
}

/// The call `input` describes; `describe_body` is the body of a `DescribeDeviceCertificate`.
fn call<'a>(input: &Input<'a>, endpoint: &Endpoint<'a>, describe_body: &'a [u8]) -> Call<'a> {
    let (service, action, version, payload) = match input.what {
        What::Describe { .. } => (
            request::SERVICE,
            request::DESCRIBE_DEVICE_CERTIFICATE,
            request::VERSION,
            Payload::Json {
                content_type: request::JSON,
                body: describe_body,
            },
        ),
        What::Call {
            service,
            action,
            version,
            content_type,
            query,
            body,
        } => (
            service,
            action,
            version,
            match query {
                Some(query) => Payload::Query(query),
                None => Payload::Json { content_type, body },
            },
        ),
    };
    Call {
        host: endpoint.host,
        service,
        action,
        version,
        region: Some(endpoint.region),
        language: endpoint.language,
        timestamp: input.timestamp,
        payload,
    }
}

/// The request is well-formed HTTP/1.1 and carries the signature the low-level signer computes.
fn check_request(
    input: &Input<'_>,
    endpoint: &Endpoint<'_>,
    credential: &Credential<'_>,
    bytes: &[u8],
) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = parsed.parse(bytes) else {
        panic!("not an HTTP request: {:?}", String::from_utf8_lossy(bytes));
    };
    let body = &bytes[head_len..];
    let header = |name: &str| {
        let found = parsed.headers.iter().find(|h| h.name == name);
        found.map(|h| std::str::from_utf8(h.value).expect("ASCII header"))
    };

    let call = call(input, endpoint, body);
    let line = match call.payload {
        Payload::Json { .. } => "POST / HTTP/1.1\r\n".to_owned(),
        Payload::Query(query) => format!("GET /?{query} HTTP/1.1\r\n"),
    };
    assert!(bytes.starts_with(line.as_bytes()), "method line");
    assert_eq!(header("Host"), Some(endpoint.host));
    match call.payload {
        Payload::Json { body: sent, .. } => {
            let length = header("Content-Length").expect("Content-Length");
            assert_eq!(length, body.len().to_string(), "Content-Length");
            if let What::Call { .. } = input.what {
                assert_eq!(sent, body, "body");
            }
        }
        Payload::Query(_) => assert!(body.is_empty(), "a GET with a body"),
    }

    // The signature, computed again from the signer's parts.
    let string_to_sign = call.string_to_sign();
    let date = UtcDate::from_unix(input.timestamp);
    let key = SigningKey::derive(credential.secret_key, date, call.service);
    let signature = key.sign(&string_to_sign).to_string();
    let authorization = header("Authorization").expect("Authorization");
    let expected = format!(
        "TC3-HMAC-SHA256 Credential={}/{}/{}/tc3_request, SignedHeaders=content-type;host, \
         Signature={signature}",
        credential.secret_id, date, call.service
    );
    assert_eq!(authorization, expected, "Authorization");
}
