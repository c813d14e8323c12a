//! `mqttcert-core` as the client, the emulator as the server: the core's signature verifies,
//! its reader takes the emulator's replies, every fault included, and its clock correction
//! reads the emulator's `SignatureExpire` message and `Date` header.
//!
//! The emulator's own tests sign with its own code; this one checks that two independent
//! implementations of TC3 agree.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use common::TIMEOUT;
use mqttcert_core::clock::ClockOffset;
use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint};
use mqttcert_core::response::{self, Answer, DeviceCertificate, Read};
use mqttcert_core::sign::Signer;
use mqttcert_core::{SecretKey, Verdict, check};
use mqttcert_tests::fleet::{
    DEMO_EXPIRING_SN, DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_REGION, DEMO_REVOKED_SN,
    DEMO_SECRET_ID, DEMO_SECRET_KEY,
};
use mqttcert_tests::{Emulator, Fault, FaultMode, Options};

/// What one exchange gave: the answer's code (`None` for a certificate), the record, and the
/// reply's `Date`.
struct Outcome {
    code: Option<String>,
    message: String,
    record: Box<DeviceCertificate>,
    date: Option<u64>,
}

/// The core writes the request for `serial`, signed at `timestamp`, and reads the reply.
fn check(addr: SocketAddr, serial: &str, timestamp: u64) -> Result<Outcome, String> {
    let secret_key = SecretKey::new(DEMO_SECRET_KEY).unwrap();
    let credential = Credential::new(DEMO_SECRET_ID, &secret_key);
    let host = addr.to_string();
    let endpoint = Endpoint::new(&host, DEMO_REGION);
    let mut signer = Signer::new();
    let query = DescribeDeviceCertificate {
        instance_id: DEMO_INSTANCE_ID,
        serial,
    };
    let mut buf = vec![0u8; response::REPLY_CAPACITY];
    let len = query
        .write_request(&mut buf, &endpoint, &credential, &mut signer, timestamp)
        .unwrap();

    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(&buf[..len]).unwrap();

    let mut record = Box::new(DeviceCertificate::new());
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).map_err(|e| e.to_string())?;
        filled += n;
        match response::read_reply(&mut buf, filled, n == 0, &mut record) {
            Ok(Read::Incomplete) if n > 0 => continue,
            Ok(Read::Incomplete) => return Err("incomplete at close".into()),
            Ok(Read::Complete(reply)) => {
                let (code, message) = match &reply.answer {
                    Answer::Certificate => (None, String::new()),
                    Answer::Error(e) => (Some(e.code.to_string()), e.message.to_string()),
                };
                return Ok(Outcome {
                    code,
                    message,
                    record,
                    date: reply.date,
                });
            }
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

#[test]
fn the_core_checks_the_demo_fleet() {
    let emu = common::emulator();
    let addr = emu.http_addr();
    let now = common::now() as u64;

    let judge = |serial: &str| {
        let outcome = check(addr, serial, now).unwrap();
        assert_eq!(outcome.code, None, "{serial}: {}", outcome.message);
        assert!(outcome.date.is_some());
        check::judge(
            &outcome.record,
            serial,
            now * 1000,
            &check::Policy::default(),
        )
    };
    assert!(matches!(judge(DEMO_HEALTHY_SN), Verdict::Healthy { .. }));
    assert!(matches!(judge(DEMO_EXPIRING_SN), Verdict::Expiring { .. }));
    assert_eq!(judge(DEMO_REVOKED_SN), Verdict::Revoked);

    let missing = check(addr, "abcdef", now).unwrap();
    assert_eq!(
        missing.code.as_deref(),
        Some("ResourceNotFound.Certificate")
    );
}

#[test]
fn the_core_corrects_its_clock_from_the_emulator() {
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        clock_offset_secs: -7200,
        ..Options::default()
    })
    .unwrap();
    let addr = emu.http_addr();
    let local = common::now() as u64;

    let refused = check(addr, DEMO_HEALTHY_SN, local).unwrap();
    assert_eq!(refused.code.as_deref(), Some("AuthFailure.SignatureExpire"));

    let from_message = ClockOffset::from_signature_expire(&refused.message, local).unwrap();
    let retried = check(addr, DEMO_HEALTHY_SN, from_message.correct(local)).unwrap();
    assert_eq!(retried.code, None, "{}", retried.message);

    let from_date = ClockOffset::from_date(refused.date.unwrap(), local);
    let retried = check(addr, DEMO_HEALTHY_SN, from_date.correct(local)).unwrap();
    assert_eq!(retried.code, None, "{}", retried.message);
}

#[test]
fn the_core_reads_or_refuses_every_fault() {
    let now = common::now() as u64;
    let faulty = |mode| {
        let emu = Emulator::start(Options {
            fleet: common::fleet(),
            fault: Some(Fault::always(mode)),
            rate_limit: None,
            ..Options::default()
        })
        .unwrap();
        let result = check(emu.http_addr(), DEMO_HEALTHY_SN, now);
        drop(emu);
        result
    };

    assert_eq!(faulty(FaultMode::Chunked).unwrap().code, None);
    assert_eq!(
        faulty(FaultMode::Delay(std::time::Duration::from_millis(50)))
            .unwrap()
            .code,
        None
    );
    for mode in [
        FaultMode::Reset,
        FaultMode::Truncated,
        FaultMode::BadGateway,
    ] {
        assert!(faulty(mode).is_err(), "{mode} was read as a reply");
    }
}
