//! The signing vectors computed by the official SDK's signing code (`data/tc3-vectors.json`),
//! checked through the public API: canonical request, scope, string to sign, signature, and
//! every header of the written request.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mqttcert_core::SecretKey;
use mqttcert_core::request::{Call, Credential, Language, Payload};
use mqttcert_core::sign::{Signer, SigningKey};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    inputs: Inputs,
    expected: Expected,
}

#[derive(Deserialize)]
struct Inputs {
    method: String,
    host: String,
    service: String,
    action: String,
    version: String,
    region: Option<String>,
    timestamp: u64,
    secret_id: String,
    secret_key: String,
    token: Option<String>,
    language: Option<String>,
    content_type: String,
    query: String,
    payload: String,
    signed_headers: String,
}

#[derive(Deserialize)]
struct Expected {
    hashed_payload: String,
    credential_scope: String,
    string_to_sign: String,
    authorization: String,
    signature: String,
    headers: std::collections::BTreeMap<String, String>,
}

fn vectors() -> Vec<Vector> {
    // Compiled in rather than read at run time, so that the test also runs under Miri, which
    // keeps tests away from the file system.
    let text = include_str!("data/tc3-vectors.json");
    let file: File = serde_json::from_str(text).expect("the vectors file is valid");
    assert!(file.vectors.len() >= 6, "the vectors file lost vectors");
    file.vectors
}

fn language(name: &str) -> Language {
    match name {
        "en-US" => Language::English,
        "zh-CN" => Language::Chinese,
        other => panic!("a vector uses language {other}, which the API does not offer"),
    }
}

fn call(inputs: &Inputs) -> Call<'_> {
    Call {
        host: &inputs.host,
        service: &inputs.service,
        action: &inputs.action,
        version: &inputs.version,
        region: inputs.region.as_deref(),
        language: inputs.language.as_deref().map(language),
        timestamp: inputs.timestamp,
        payload: match inputs.method.as_str() {
            "POST" => Payload::Json {
                content_type: &inputs.content_type,
                body: inputs.payload.as_bytes(),
            },
            "GET" => {
                assert_eq!(inputs.content_type, "application/x-www-form-urlencoded");
                assert!(inputs.payload.is_empty());
                Payload::Query(&inputs.query)
            }
            other => panic!("unexpected method {other}"),
        },
    }
}

#[test]
fn signatures_match_the_official_sdk() {
    for vector in vectors() {
        let (inputs, expected) = (&vector.inputs, &vector.expected);
        let name = &vector.name;
        assert_eq!(
            inputs.signed_headers,
            mqttcert_core::sign::SIGNED_HEADERS,
            "{name}"
        );

        let call = call(inputs);
        let canonical = call.canonical().to_string();
        assert!(
            canonical.ends_with(&format!("\n{}", expected.hashed_payload)),
            "{name}: payload hash in\n{canonical}"
        );

        let string_to_sign = call.string_to_sign();
        assert_eq!(
            string_to_sign.scope.to_string(),
            expected.credential_scope,
            "{name}: credential scope"
        );
        assert_eq!(
            string_to_sign.to_string(),
            expected.string_to_sign,
            "{name}: string to sign"
        );

        let secret_key = SecretKey::new(&inputs.secret_key).expect("a valid secret key");
        let key = SigningKey::derive(&secret_key, string_to_sign.scope.date, &inputs.service);
        assert_eq!(
            key.sign(&string_to_sign).to_string(),
            expected.signature,
            "{name}: signature"
        );
    }
}

#[test]
fn written_requests_carry_every_expected_header() {
    let mut signer = Signer::new();
    for vector in vectors() {
        let (inputs, expected) = (&vector.inputs, &vector.expected);
        let name = &vector.name;
        let secret_key = SecretKey::new(&inputs.secret_key).expect("a valid secret key");
        let mut credential = Credential::new(&inputs.secret_id, &secret_key);
        if let Some(token) = &inputs.token {
            credential = credential.with_token(token);
        }

        let mut buf = [0u8; 2048];
        let len = call(inputs)
            .write(&mut buf, &credential, &mut signer)
            .unwrap_or_else(|err| panic!("{name}: {err}"));

        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut request = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head_len) = request.parse(&buf[..len]).expect("valid HTTP")
        else {
            panic!("{name}: incomplete head");
        };
        assert_eq!(request.method, Some(inputs.method.as_str()), "{name}");
        let target = match inputs.query.as_str() {
            "" => "/".to_owned(),
            query => format!("/?{query}"),
        };
        assert_eq!(request.path, Some(target.as_str()), "{name}");
        assert_eq!(
            &buf[head_len..len],
            inputs.payload.as_bytes(),
            "{name}: body"
        );

        let sent = |wanted: &str| -> Option<&str> {
            let mut found = request
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(wanted));
            let first = found.next()?;
            assert!(found.next().is_none(), "{name}: {wanted} sent twice");
            Some(std::str::from_utf8(first.value).expect("ASCII header"))
        };
        for (header, value) in &expected.headers {
            assert_eq!(
                sent(header),
                Some(value.as_str()),
                "{name}: header {header}"
            );
        }
        assert_eq!(sent("Authorization"), Some(expected.authorization.as_str()));

        // Nothing else is sent but the framing and the client's name.
        for header in request.headers.iter() {
            let known = expected
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case(header.name));
            assert!(
                known || ["Content-Length", "User-Agent"].contains(&header.name),
                "{name}: unexpected header {}",
                header.name
            );
        }
        let content_length = sent("Content-Length").map(|v| v.parse::<usize>().expect("number"));
        match inputs.method.as_str() {
            "POST" => assert_eq!(content_length, Some(inputs.payload.len()), "{name}"),
            _ => assert_eq!(content_length, None, "{name}"),
        }
    }
}
