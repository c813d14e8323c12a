//! Helpers shared by the integration tests.

// A panic is how a test reports a failure; not every test file uses every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use mqttcert_tests::client::{self, Call, RawRequest, Reply};
use mqttcert_tests::fleet::{
    DEMO_EXPIRING_SN, DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY,
};
use mqttcert_tests::{Credential, Emulator, Fleet, Options};

/// Every socket read and write in the tests gives up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub const TEMP_SECRET_ID: &str = "AKIDTEMPtestTemporaryCredential0001";
pub const TEMP_SECRET_KEY: &str = "TemporarySecretKeyOfTheTests0001";
pub const TEMP_TOKEN: &str = "session-token-of-the-tests-0001";

pub fn now() -> i64 {
    mqttcert_tests::time::system_now_ms() / 1000
}

/// The demo fleet plus a temporary credential with a token.
pub fn fleet() -> Fleet {
    let mut fleet = Fleet::demo(now() * 1000);
    fleet.credentials.push(Credential {
        secret_id: TEMP_SECRET_ID.to_owned(),
        secret_key: TEMP_SECRET_KEY.to_owned(),
        token: Some(TEMP_TOKEN.to_owned()),
    });
    fleet
}

/// An emulator over [`fleet`] without a rate limit.
pub fn emulator() -> Emulator {
    Emulator::start(Options {
        fleet: fleet(),
        rate_limit: None,
        ..Options::default()
    })
    .unwrap()
}

/// A signed request for the healthy demo certificate, with `Host` as the client would send it.
pub fn describe(addr: SocketAddr) -> Call {
    describe_sn(addr, DEMO_HEALTHY_SN)
}

pub fn describe_sn(addr: SocketAddr, serial: &str) -> Call {
    Call::describe(
        &addr.to_string(),
        DEMO_SECRET_ID,
        DEMO_SECRET_KEY,
        DEMO_INSTANCE_ID,
        serial,
        now(),
    )
}

pub fn send(addr: SocketAddr, request: &RawRequest) -> Reply {
    client::send(addr, &request.to_bytes(), TIMEOUT).unwrap()
}

/// Sends the request and returns the error code, or "Success".
pub fn code(addr: SocketAddr, request: &RawRequest) -> String {
    let reply = send(addr, request);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.error_code().unwrap_or_else(|| "Success".to_owned())
}

pub const EXPIRING: &str = DEMO_EXPIRING_SN;

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mqttcert-emu-{tag}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
