//! The client against an in-test server: retries, clock correction, proxies, timeouts, TLS.

// Helpers outside `#[test]` functions fail the test the same way the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use mqttcert::{Client, Credentials, Error, NetworkKind, RateLimiter, RetryPolicy};
use mqttcert_core::Verdict;
use mqttcert_core::check::Policy;
use mqttcert_core::response::ErrorClass;

/// Retries quickly, so that tests do not wait for the real back-off.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

fn client_for(url: &str) -> Client {
    Client::builder()
        .endpoint(url)
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .retry(fast_retry())
        .no_proxy()
        .rate_limiter(Arc::new(RateLimiter::per_second(1000)))
        .build()
        .unwrap()
}

#[test]
fn a_healthy_certificate_in_one_attempt() {
    let server = Server::start(|_, _| certificate("ACTIVE", 120));
    let client = client_for(&server.url());
    let checked = client.check(INSTANCE, SN, &Policy::default()).unwrap();

    assert_eq!(checked.verdict.days_left(), Some(120));
    assert!(matches!(checked.verdict, Verdict::Healthy { .. }));
    assert_eq!(checked.described.attempts, 1);
    assert_eq!(checked.described.record.request_id.as_str(), REQUEST_ID);
    assert!(checked.described.server_date.is_some());

    let request = &server.received()[0];
    assert!(request.head.starts_with("POST / HTTP/1.1\r\n"));
    assert_eq!(
        request.header("Host"),
        Some(server.addr.to_string().as_str())
    );
    assert_eq!(request.header("X-TC-Region"), Some("ap-guangzhou"));
    assert_eq!(
        request.body,
        format!(r#"{{"DeviceCertificateSn":"{SN}","InstanceId":"{INSTANCE}"}}"#)
    );
    assert!(now_secs().abs_diff(request.timestamp()) <= 2);
}

#[test]
fn a_gateway_error_is_retried() {
    let server = Server::start(|n, _| match n {
        0 => gateway(502),
        _ => certificate("ACTIVE", 100),
    });
    let described = client_for(&server.url()).describe(INSTANCE, SN).unwrap();
    assert_eq!(described.attempts, 2);
    assert_eq!(server.received().len(), 2);
}

#[test]
fn a_rate_limit_is_retried() {
    let server = Server::start(|n, _| match n {
        0 => api_error("RequestLimitExceeded", "Too many requests.", now_secs()),
        1 => api_error("InternalError", "Try again.", now_secs()),
        _ => certificate("ACTIVE", 100),
    });
    let described = client_for(&server.url()).describe(INSTANCE, SN).unwrap();
    assert_eq!(described.attempts, 3);
}

#[test]
fn a_reply_cut_short_is_retried() {
    let server = Server::start(|n, _| match n {
        0 => {
            let mut whole = certificate("ACTIVE", 100);
            whole.truncate(whole.len() / 2);
            whole
        }
        _ => certificate("ACTIVE", 100),
    });
    let described = client_for(&server.url()).describe(INSTANCE, SN).unwrap();
    assert_eq!(described.attempts, 2);
}

#[test]
fn attempts_are_bounded() {
    let server = Server::start(|_, _| gateway(503));
    let err = client_for(&server.url())
        .describe(INSTANCE, SN)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Http {
            status: 503,
            from_proxy: false
        }
    ));
    assert_eq!(server.received().len(), 4);
}

#[test]
fn time_bounds_the_retries_too() {
    let server = Server::start(|_, _| gateway(503));
    let client = Client::builder()
        .endpoint(server.url())
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .retry(RetryPolicy {
            max_attempts: 100,
            max_elapsed: Duration::from_millis(300),
            base_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(80),
        })
        .no_proxy()
        .build()
        .unwrap();
    let started = Instant::now();
    assert!(client.describe(INSTANCE, SN).is_err());
    assert!(started.elapsed() < Duration::from_millis(600));
    let attempts = server.received().len();
    assert!((3..=10).contains(&attempts), "{attempts}");
}

#[test]
fn an_answer_is_not_retried() {
    let server = Server::start(|_, _| {
        api_error(
            "ResourceNotFound.Certificate",
            "The certificate does not exist.",
            now_secs(),
        )
    });
    let err = client_for(&server.url())
        .describe(INSTANCE, SN)
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.code, "ResourceNotFound.Certificate");
    assert_eq!(api.message, "The certificate does not exist.");
    assert_eq!(api.request_id, REQUEST_ID);
    assert_eq!(api.class, ErrorClass::NotFound);
    assert_eq!(server.received().len(), 1);
}

/// A server whose clock is an hour ahead, refusing timestamps more than 300 s from it.
fn server_an_hour_ahead() -> Server {
    Server::start(|_, request| {
        let server_now = now_secs() + 3600;
        if request.timestamp().abs_diff(server_now) > 300 {
            api_error(
                "AuthFailure.SignatureExpire",
                "The signature expired.",
                server_now,
            )
        } else {
            certificate("ACTIVE", 100)
        }
    })
}

#[test]
fn signature_expire_corrects_the_clock_and_signs_again_once() {
    let server = server_an_hour_ahead();
    let client = client_for(&server.url());
    let described = client.describe(INSTANCE, SN).unwrap();
    assert_eq!(described.attempts, 2);

    let received = server.received();
    assert!(received[0].timestamp().abs_diff(now_secs()) <= 2);
    assert!(received[1].timestamp().abs_diff(now_secs() + 3600) <= 2);
    assert!(client.clock_offset().secs().abs_diff(3600) <= 2);

    // The correction is kept: the next call is right the first time.
    assert_eq!(client.describe(INSTANCE, SN).unwrap().attempts, 1);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn signature_expire_from_the_message_when_there_is_no_date() {
    let server = Server::start(|n, _| match n {
        0 => {
            let server_now = now_secs() - 7200;
            let body = format!(
                r#"{{"Response":{{"Error":{{"Code":"AuthFailure.SignatureExpire","Message":"expired; server time {server_now}"}},"RequestId":"r"}}}}"#
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        _ => certificate("ACTIVE", 100),
    });
    let client = client_for(&server.url());
    client.describe(INSTANCE, SN).unwrap();
    assert!(server.received()[1].timestamp().abs_diff(now_secs() - 7200) <= 2);
}

#[test]
fn signature_expire_twice_is_reported() {
    let server = Server::start(|_, _| {
        api_error(
            "AuthFailure.SignatureExpire",
            "The signature expired.",
            now_secs() + 3600,
        )
    });
    let err = client_for(&server.url())
        .describe(INSTANCE, SN)
        .unwrap_err();
    assert_eq!(err.api().unwrap().class, ErrorClass::ClockSkew);
    assert_eq!(server.received().len(), 2);
}

/// Asks the server at `endpoint` with a 200 ms timeout and no retry: the answer must be a
/// network timeout, well before the server gives up.
fn timed_out(endpoint: &str) -> Error {
    let client = Client::builder()
        .endpoint(endpoint)
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::never())
        .no_proxy()
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.describe(INSTANCE, SN).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(700));
    err
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(800));
        drop(stream);
    });
    let err = timed_out(&format!("http://{addr}"));
    assert!(err.is_retryable());
    hold.join().unwrap();
}

/// A server that reads what the client sends first, then sends `bytes` one every 50 ms until
/// the client leaves: no read waits 200 ms, yet the exchange goes on and on.
fn trickling_server(bytes: Vec<u8>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{Read as _, Write as _};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let trickle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 2048];
        let _ = stream.read(&mut first).unwrap();
        for byte in bytes {
            if stream.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    (addr, trickle)
}

/// A reply sent a byte at a time is bounded as a whole by the timeout.
#[test]
fn a_trickling_reply_times_out_as_a_whole() {
    let mut reply =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            .to_vec();
    reply.extend([b' '; 200]);
    let (addr, trickle) = trickling_server(reply);
    timed_out(&format!("http://{addr}"));
    trickle.join().unwrap();
}

/// The same for the TLS handshake: the ClientHello is answered by the header of a 16 KiB
/// handshake record, whose body never finishes.
#[test]
fn a_trickling_handshake_times_out_as_a_whole() {
    let mut record = vec![0x16, 0x03, 0x03, 0x40, 0x00];
    record.extend([0u8; 200]);
    let (addr, trickle) = trickling_server(record);
    timed_out(&format!("https://{addr}"));
    trickle.join().unwrap();
}

#[test]
fn a_reply_that_stops_halfway_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};

        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 2048];
        let _ = stream.read(&mut request).unwrap();
        // The head and half of the announced body, then nothing, the connection kept open.
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n\
                  {\"Response\":{\"Status\":\"ACTIVE\"",
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(800));
        drop(stream);
    });
    timed_out(&format!("http://{addr}"));
    hold.join().unwrap();
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client_for(&format!("http://127.0.0.1:{port}"))
        .describe(INSTANCE, SN)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Network {
            kind: NetworkKind::Connect,
            ..
        }
    ));
}

#[test]
fn requests_go_through_a_connect_tunnel() {
    let server = Server::start(|_, _| certificate("ACTIVE", 100));
    let (proxy_url, proxy) = proxy(200);
    let client = Client::builder()
        .endpoint(server.url())
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .proxy(proxy_url)
        .build()
        .unwrap();
    client.describe(INSTANCE, SN).unwrap();
    let head = proxy.join().unwrap();
    assert!(head.starts_with(&format!("CONNECT {} HTTP/1.1\r\n", server.addr)));
    assert_eq!(server.received().len(), 1);
}

/// A proxy that accepts the connection and never answers `CONNECT` times out like a server.
#[test]
fn a_silent_proxy_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(800));
        drop(stream);
    });
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .proxy(format!("http://{addr}"))
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.describe(INSTANCE, SN).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(700));
    hold.join().unwrap();
}

#[test]
fn a_proxy_refusal_is_not_retried() {
    let (proxy_url, proxy) = proxy(403);
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
        .proxy(proxy_url)
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client.describe(INSTANCE, SN).unwrap_err();
    assert!(matches!(
        err,
        Error::Http {
            status: 403,
            from_proxy: true
        }
    ));
    proxy.join().unwrap();
}

#[test]
fn bad_options_are_reported_by_build() {
    let credentials = || Credentials::new(SECRET_ID, SECRET_KEY).unwrap();
    let no_region = Client::builder().credentials(credentials()).build();
    assert!(matches!(no_region, Err(Error::Config { .. })));
    let bad_region = Client::builder()
        .region("ap guangzhou")
        .credentials(credentials())
        .build();
    assert!(matches!(bad_region, Err(Error::Config { .. })));
    let no_credentials = Client::builder().region("ap-guangzhou").build();
    assert!(matches!(no_credentials, Err(Error::Credentials { .. })));
    let missing_ca = Client::builder()
        .region("ap-guangzhou")
        .credentials(credentials())
        .ca_file("/nonexistent/ca.pem")
        .build();
    assert!(matches!(missing_ca, Err(Error::Config { .. })));
}

mod tls {
    use super::*;

    #[test]
    fn https_with_a_ca_file() {
        let (server, ca_file) = tls_server(|_, _| certificate("ACTIVE", 100));
        let client = Client::builder()
            .endpoint(format!("https://127.0.0.1:{}", server.addr.port()))
            .region("ap-guangzhou")
            .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
            .ca_file(&ca_file)
            .no_proxy()
            .build()
            .unwrap();
        let checked = client.check(INSTANCE, SN, &Policy::default()).unwrap();
        assert_eq!(checked.verdict.days_left(), Some(100));
        let _ = std::fs::remove_file(ca_file);
    }

    #[test]
    fn an_untrusted_certificate_is_refused_and_not_retried() {
        let (server, ca_file) = tls_server(|_, _| certificate("ACTIVE", 100));
        let client = Client::builder()
            .endpoint(format!("https://127.0.0.1:{}", server.addr.port()))
            .region("ap-guangzhou")
            .credentials(Credentials::new(SECRET_ID, SECRET_KEY).unwrap())
            .retry(fast_retry())
            .no_proxy()
            .build()
            .unwrap();
        let err = client.describe(INSTANCE, SN).unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(!err.is_retryable());
        let chain = mqttcert::error_chain(&err);
        assert!(chain.contains("invalid peer certificate"), "{chain}");
        assert!(server.received().is_empty());
        let _ = std::fs::remove_file(ca_file);
    }
}
