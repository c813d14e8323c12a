//! The verifier against every TC3 vector of the official SDK, read from the core's data file.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mqttcert_tests::api::{self, Api, Request};
use mqttcert_tests::fleet::{Certificate, Fleet, Instance};
use mqttcert_tests::tc3::{self, Authorization, Canonical};
use mqttcert_tests::{Credential, time::utc_date};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/data/tc3-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap().clone();
    assert!(vectors.len() >= 6, "expected at least six vectors");
    vectors
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing {key}"))
}

/// The request the vector's headers describe, as the HTTP layer would hand it over.
fn rebuilt(inputs: &Value, expected: &Value) -> Request {
    let method = text(inputs, "method");
    let query = text(inputs, "query");
    let headers = expected["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    Request {
        method: method.to_owned(),
        target: if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        },
        headers,
        body: if method == "POST" {
            text(inputs, "payload").as_bytes().to_vec()
        } else {
            Vec::new()
        },
    }
}

#[test]
fn signatures_match_every_vector() {
    for vector in vectors() {
        let name = text(&vector, "name");
        let (inputs, expected) = (&vector["inputs"], &vector["expected"]);
        let timestamp = inputs["timestamp"].as_i64().unwrap();
        let host = text(inputs, "host");
        let content_type = text(inputs, "content_type");
        let headers: Vec<(&str, &str)> = text(inputs, "signed_headers")
            .split(';')
            .map(|name| match name {
                "content-type" => (name, content_type),
                "host" => (name, host),
                other => panic!("{name}: unexpected signed header {other}"),
            })
            .collect();
        let is_post = text(inputs, "method") == "POST";
        let canonical = Canonical {
            method: text(inputs, "method"),
            query: text(inputs, "query"),
            headers: &headers,
            payload: if is_post {
                text(inputs, "payload").as_bytes()
            } else {
                b""
            },
        };

        let signed = tc3::sign(
            &canonical,
            text(inputs, "secret_id"),
            text(inputs, "secret_key"),
            text(inputs, "service"),
            timestamp,
        );
        let hashed_payload = signed.canonical_request.rsplit('\n').next().unwrap();
        assert_eq!(hashed_payload, text(expected, "hashed_payload"), "{name}");
        assert_eq!(
            signed.credential_scope,
            text(expected, "credential_scope"),
            "{name}"
        );
        assert_eq!(
            signed.string_to_sign,
            text(expected, "string_to_sign"),
            "{name}"
        );
        assert_eq!(signed.signature, text(expected, "signature"), "{name}");
        assert_eq!(
            signed.authorization,
            text(expected, "authorization"),
            "{name}"
        );
    }
}

#[test]
fn requests_rebuilt_from_vector_headers_verify() {
    for vector in vectors() {
        let name = text(&vector, "name");
        let (inputs, expected) = (&vector["inputs"], &vector["expected"]);
        let request = rebuilt(inputs, expected);
        let timestamp = inputs["timestamp"].as_i64().unwrap();
        let auth = Authorization::parse(request.header("Authorization").unwrap()).unwrap();
        assert_eq!(auth.date, utc_date(timestamp), "{name}");

        let verdict = api::verify_signature(&request, &auth, timestamp, text(inputs, "secret_key"));
        assert_eq!(verdict, Ok(()), "{name}");

        // One changed byte of the key, the body or the Host fails.
        assert!(
            api::verify_signature(&request, &auth, timestamp, "wrong").is_err(),
            "{name}"
        );
        let mut moved = request.clone();
        for (n, v) in &mut moved.headers {
            if n == "Host" {
                v.push('x');
            }
        }
        assert!(
            api::verify_signature(&moved, &auth, timestamp, text(inputs, "secret_key")).is_err(),
            "{name}"
        );
    }
}

/// The mqtt vectors pass the whole API, token included, at the vector's own time.
#[test]
fn mqtt_vectors_are_answered() {
    for vector in vectors() {
        let name = text(&vector, "name");
        let (inputs, expected) = (&vector["inputs"], &vector["expected"]);
        if text(inputs, "service") != "mqtt" {
            continue;
        }
        let payload: Value = if text(inputs, "method") == "POST" {
            serde_json::from_str(text(inputs, "payload")).unwrap()
        } else {
            Value::Null
        };
        let query = text(inputs, "query");
        let field = |key: &str| {
            payload[key].as_str().map(str::to_owned).unwrap_or_else(|| {
                let pair = query.split('&').find(|p| p.starts_with(key)).unwrap();
                pair.split_once('=').unwrap().1.to_owned()
            })
        };

        let certificate = Certificate {
            ca_sn: "ca".into(),
            certificate_source: "API".into(),
            client_id: "client1".into(),
            created_time: 1,
            device_certificate: "-----BEGIN CERTIFICATE-----\n".into(),
            device_certificate_cn: "cn".into(),
            device_certificate_sn: field("DeviceCertificateSn"),
            format: "PEM".into(),
            last_activation_time: 0,
            last_inactivation_time: 0,
            not_after_time: 2,
            not_before_time: 1,
            organizational_unit: "ou".into(),
            status: "ACTIVE".into(),
            update_time: 1,
        };
        let fleet = Fleet {
            credentials: vec![Credential {
                secret_id: text(inputs, "secret_id").into(),
                secret_key: text(inputs, "secret_key").into(),
                token: inputs["token"].as_str().map(str::to_owned),
            }],
            instances: vec![Instance {
                instance_id: field("InstanceId"),
                region: text(inputs, "region").into(),
                certificates: vec![certificate],
            }],
        };
        let api = Api::new(fleet, None);
        let outcome = api.handle(
            &rebuilt(inputs, expected),
            inputs["timestamp"].as_i64().unwrap(),
        );
        assert_eq!(outcome.code, None, "{name}: {}", outcome.body);
    }
}
