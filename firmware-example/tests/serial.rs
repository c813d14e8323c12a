//! The serial number read from real certificates, made by rcgen with chosen serials.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mqttcert_firmware::serial::{self, SerialError};
use rcgen::{CertificateParams, KeyPair, SerialNumber};

fn certificate(serial: &[u8]) -> Vec<u8> {
    let mut params = CertificateParams::new(vec!["gateway-1.example".to_owned()]).unwrap();
    params.serial_number = Some(SerialNumber::from_slice(serial));
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

#[test]
fn reads_the_serial_as_lowercase_hex() {
    let cases: &[(&[u8], &str)] = &[
        (
            &[
                0x0e, 0xef, 0x68, 0xa5, 0x82, 0xb9, 0x42, 0x54, 0x29, 0x6e, 0x54, 0xce, 0x75, 0x4f,
                0x94, 0xd7, 0x07, 0xa5, 0x99, 0x11,
            ],
            "0eef68a582b94254296e54ce754f94d707a59911",
        ),
        (&[0x01], "01"),
        (&[0x7f, 0x00], "7f00"),
        // A high first bit: DER adds a zero byte, which is not part of the serial.
        (&[0x9f, 0x01, 0xab], "9f01ab"),
    ];
    for (bytes, hex) in cases {
        let der = certificate(bytes);
        assert_eq!(
            serial::from_der(&der).unwrap().as_str(),
            *hex,
            "serial {bytes:02x?}"
        );
    }
}

#[test]
fn refuses_what_is_not_a_certificate() {
    let der = certificate(&[0x42; 20]);
    assert_eq!(serial::from_der(&der[..10]), Err(SerialError::Malformed));
    assert_eq!(serial::from_der(b""), Err(SerialError::Malformed));
    assert_eq!(serial::from_der(&der[4..]), Err(SerialError::Malformed));
    assert_eq!(
        serial::from_der(b"\x30\x03\x02\x01\x05"),
        Err(SerialError::Malformed)
    );
}

#[test]
fn refuses_a_serial_longer_than_the_api_accepts() {
    // A 33-byte serial is 66 hex digits; the API takes 64.
    let mut long = [0x11u8; 33];
    long[0] = 0x01;
    assert_eq!(
        serial::from_der(&certificate(&long)),
        Err(SerialError::Unsupported)
    );
}
