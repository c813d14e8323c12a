//! Helpers shared by the integration tests.

// A panic is how a test reports a failure; not every test file uses every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;

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

/// Sends the request over TLS to `addr`, trusting only `ca_pem` and naming the server `name`.
pub fn send_https(
    addr: SocketAddr,
    ca_pem: &str,
    name: &str,
    request: &RawRequest,
) -> Result<Reply, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();

    let socket = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    tls.write_all(&request.to_bytes())
        .map_err(|e| e.to_string())?;
    client::read_reply(&mut tls).map_err(|e| e.to_string())
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
