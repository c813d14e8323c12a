//! Fault modes seen byte by byte from a raw socket, and the HTTPS listener with a pinned CA,
//! a wrong name and a foreign issuer.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{TIMEOUT, describe};
use mqttcert_tests::client::{self, Reply};
use mqttcert_tests::{Emulator, Fault, FaultMode, Options, TlsOptions};

fn with_fault(fault: Fault) -> Emulator {
    Emulator::start(Options {
        fleet: common::fleet(),
        fault: Some(fault),
        rate_limit: None,
        ..Options::default()
    })
    .unwrap()
}

/// Sends a signed request and reads until the server closes or resets: the bytes received,
/// and the error that ended the read, if any.
fn raw(emu: &Emulator) -> (Vec<u8>, Option<ErrorKind>) {
    let addr = emu.http_addr();
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(&describe(addr).sign().to_bytes()).unwrap();

    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (received, None),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) => {
                assert_ne!(e.kind(), ErrorKind::WouldBlock, "the server never closed");
                assert_ne!(e.kind(), ErrorKind::TimedOut, "the server never closed");
                return (received, Some(e.kind()));
            }
        }
    }
}

fn split_head(bytes: &[u8]) -> (String, &[u8]) {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    (
        String::from_utf8(bytes[..end].to_vec()).unwrap(),
        &bytes[end..],
    )
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn reset_mid_body() {
    let emu = with_fault(Fault::always(FaultMode::Reset));
    let (bytes, error) = raw(&emu);
    assert_eq!(error, Some(ErrorKind::ConnectionReset), "{bytes:?}");
    // Whatever arrived before the reset is a head and less than the announced body.
    if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let (head, body) = split_head(&bytes);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(body.len() < content_length(&head), "{end}");
    }
}

#[test]
fn truncated_body() {
    let emu = with_fault(Fault::always(FaultMode::Truncated));
    let (bytes, error) = raw(&emu);
    assert_eq!(error, None, "a normal close, not a reset");
    let (head, body) = split_head(&bytes);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(head.contains("Content-Type: application/json\r\n"));
    let announced = content_length(&head);
    assert!(
        !body.is_empty() && body.len() < announced,
        "{} of {announced}",
        body.len()
    );
}

#[test]
fn chunked_body() {
    let emu = with_fault(Fault::always(FaultMode::Chunked));
    let (bytes, _) = raw(&emu);
    let (head, body) = split_head(&bytes);
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(!head.contains("Content-Length"));
    assert!(body.ends_with(b"\r\n0\r\n\r\n"));

    // Several chunks, which together are the usual JSON.
    let sizes: Vec<usize> = {
        let mut sizes = Vec::new();
        let mut rest = body;
        loop {
            let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
            sizes.push(size);
            if size == 0 {
                break sizes;
            }
            rest = &rest[line + 2 + size + 2..];
        }
    };
    assert!(sizes.len() >= 3, "{sizes:?}");
    let json: serde_json::Value = serde_json::from_slice(&client::dechunk(body).unwrap()).unwrap();
    assert_eq!(json["Response"]["Status"], "ACTIVE");
}

#[test]
fn bad_gateway_html() {
    let emu = with_fault(Fault::always(FaultMode::BadGateway));
    let addr = emu.http_addr();
    let reply = client::send(addr, &describe(addr).sign().to_bytes(), TIMEOUT).unwrap();
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    assert!(String::from_utf8_lossy(&reply.body).contains("<h1>502 Bad Gateway</h1>"));
}

#[test]
fn delay() {
    let emu = with_fault(Fault::always(FaultMode::Delay(Duration::from_millis(300))));
    let addr = emu.http_addr();
    let started = Instant::now();
    let reply = client::send(addr, &describe(addr).sign().to_bytes(), TIMEOUT).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.error_code(), None);
}

#[test]
fn fault_on_the_first_requests_only() {
    let emu = with_fault(Fault::first(2, FaultMode::BadGateway));
    let addr = emu.http_addr();
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            client::send(addr, &describe(addr).sign().to_bytes(), TIMEOUT)
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(statuses, [502, 502, 200, 200]);

    let emu = with_fault(Fault::first(1, FaultMode::Reset));
    assert_eq!(raw(&emu).1, Some(ErrorKind::ConnectionReset));
    assert_eq!(raw(&emu).1, None);
}

/// One HTTPS request with a client that trusts only `ca_pem`, naming the server `name`.
fn https(emu: &Emulator, ca_pem: &str, name: &str) -> Result<Reply, String> {
    let addr = emu.https_addr().unwrap();
    let mut call = describe(addr);
    call.host = format!("{name}:{}", addr.port());
    common::send_https(addr, ca_pem, name, &call.sign())
}

#[test]
fn https_with_the_pinned_ca() {
    let dir = common::temp_dir("tls");
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        tls: Some(TlsOptions::in_dir(&dir)),
        ..Options::default()
    })
    .unwrap();
    let ca = emu.ca_pem().unwrap().to_owned();
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), ca);
    assert!(dir.join("server.pem").is_file() && dir.join("server.key").is_file());

    for name in ["localhost", "127.0.0.1"] {
        let reply = https(&emu, &ca, name).unwrap();
        assert_eq!(reply.error_code(), None, "{name}");
    }
    // The plain listener still answers.
    let addr = emu.http_addr();
    assert_eq!(common::code(addr, &describe(addr).sign()), "Success");
    drop(emu);

    // A second start reuses the files: the same CA.
    let emu = Emulator::start(Options {
        fleet: common::fleet(),
        tls: Some(TlsOptions::in_dir(&dir)),
        ..Options::default()
    })
    .unwrap();
    assert_eq!(emu.ca_pem(), Some(ca.as_str()));
    assert_eq!(https(&emu, &ca, "localhost").unwrap().error_code(), None);
    drop(emu);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn https_handshake_fails_for_another_name_or_issuer() {
    let other_name = Emulator::start(Options {
        fleet: common::fleet(),
        tls: Some(TlsOptions::generate(["elsewhere.example"])),
        ..Options::default()
    })
    .unwrap();
    let ca = other_name.ca_pem().unwrap().to_owned();
    let error = https(&other_name, &ca, "localhost").unwrap_err();
    assert!(error.contains("not valid for name"), "{error}");
    assert!(https(&other_name, &ca, "elsewhere.example").is_ok());

    let foreign = Emulator::start(Options {
        fleet: common::fleet(),
        tls: Some(TlsOptions::generate(["localhost"]).with_untrusted_issuer()),
        ..Options::default()
    })
    .unwrap();
    let ca = foreign.ca_pem().unwrap().to_owned();
    let error = https(&foreign, &ca, "localhost").unwrap_err();
    assert!(
        error.contains("UnknownIssuer") || error.contains("BadSignature"),
        "{error}"
    );
}
