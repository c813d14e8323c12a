//! The parts of a signed `DescribeDeviceCertificate` request, generated, and the bytes the core
//! writes for them. Shared by the core's property tests and those of the emulator's verifier
//! (`tests/tests/signing_properties.rs` includes this file by its path).

use mqttcert_core::SecretKey;
use mqttcert_core::request::{self, Credential, DescribeDeviceCertificate, Endpoint};
use mqttcert_core::sign::Signer;
use proptest::prelude::*;

/// Everything a `DescribeDeviceCertificate` request is made of but its time.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
    pub host: String,
    pub region: String,
    pub instance_id: String,
    pub serial: String,
}

/// Inputs whose key id, region and instance id match these regular expressions; the secret
/// key, the optional token, the host (with a port or not) and the serial take any value the
/// core accepts.
pub fn inputs(
    secret_id: &'static str,
    region: &'static str,
    instance_id: &'static str,
) -> impl Strategy<Value = Inputs> {
    (
        secret_id,
        "[!-~]{1,64}",
        proptest::option::of("[!-~]{1,300}"),
        "[a-z0-9.-]{1,60}(:[0-9]{1,5})?",
        region,
        instance_id,
        "[0-9a-fA-F:]{1,64}",
    )
        .prop_map(
            |(secret_id, secret_key, token, host, region, instance_id, serial)| Inputs {
                secret_id,
                secret_key,
                token,
                host,
                region,
                instance_id,
                serial,
            },
        )
}

/// The request the core writes for `inputs` at `timestamp`, signed with `signer`.
pub fn write(inputs: &Inputs, timestamp: u64, signer: &mut Signer) -> Vec<u8> {
    let key = SecretKey::new(&inputs.secret_key).unwrap();
    let mut credential = Credential::new(&inputs.secret_id, &key);
    if let Some(token) = &inputs.token {
        credential = credential.with_token(token);
    }
    let endpoint = Endpoint::new(&inputs.host, &inputs.region);
    let query = DescribeDeviceCertificate {
        instance_id: &inputs.instance_id,
        serial: &inputs.serial,
    };

    let capacity =
        request::DESCRIBE_REQUEST_CAPACITY + inputs.token.as_ref().map_or(0, String::len);
    let mut buf = vec![0u8; capacity];
    let len = query
        .write_request(&mut buf, &endpoint, &credential, signer, timestamp)
        .unwrap();
    buf.truncate(len);
    buf
}
