//! A minimal HTTP server for the transport and CLI tests: it answers each request with what a
//! handler makes of it, and keeps what it received.

#![allow(dead_code)]
// each test file uses its own part of this module
// A helper that cannot do its job fails the test, as an assertion would.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use mqttcert_core::time::UtcDate;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

pub const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
pub const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
pub const INSTANCE: &str = "mqtt-jbgwp4ae";
pub const SN: &str = "0eef68a582b94254296e54ce754f94d707a59911";
pub const REQUEST_ID: &str = "1b5fc3fa-4bbf-421a-aad1-c45d49119a2c";
pub const DAY_MS: u64 = 86_400_000;

/// The documented reply's body.
pub const DOCUMENTED: &str = include_str!("../../../core/tests/data/documented-reply.json");

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub head: String,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn timestamp(&self) -> u64 {
        self.header("X-TC-Timestamp").unwrap().parse().unwrap()
    }

    pub fn signature(&self) -> &str {
        let auth = self.header("Authorization").unwrap();
        auth.rsplit_once("Signature=").unwrap().1
    }
}

/// What to send back: the bytes, and whether to close without sending them all.
pub type Handler = dyn Fn(usize, &Received) -> Vec<u8> + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    /// A plain-HTTP server on a free port of 127.0.0.1; `handler` gets the request's index
    /// (0 for the first) and the request.
    pub fn start(handler: impl Fn(usize, &Received) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self::start_with(handler, |tcp| Box::new(tcp))
    }

    /// Like [`Server::start`], with each accepted connection wrapped by `wrap` (for TLS).
    pub fn start_with(
        handler: impl Fn(usize, &Received) -> Vec<u8> + Send + Sync + 'static,
        wrap: impl Fn(TcpStream) -> Box<dyn Stream> + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let mut stream = wrap(tcp);
                let Some(request) = read_request(stream.as_mut()) else {
                    continue;
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(request.clone());
                    log.len() - 1
                };
                let reply = handler(index, &request);
                let _ = stream.write_all(&reply);
                let _ = stream.flush();
                stream.finish();
            }
        });
        Self { addr, received }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A connection the server can close politely.
pub trait Stream: Read + Write + Send {
    fn finish(&mut self) {}
}

impl Stream for TcpStream {
    fn finish(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

fn read_request(stream: &mut dyn Stream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buf[head_end..head_end + length].to_vec()).ok()?;
    Some(Received { head, body })
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// An IMF-fixdate, as a `Date` header carries it.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = UtcDate::from_unix(secs).ymd();
    let of_day = secs % 86_400;
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(secs / 86_400 % 7) as usize],
        MONTHS[usize::from(m) - 1],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// A reply with this status, `Content-Type` and body, dated `date`.
pub fn reply(status: u16, content_type: &str, body: &str, date: u64) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nDate: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        http_date(date),
        body.len()
    )
    .into_bytes()
}

/// The documented record, with this status and expiry.
pub fn certificate_body(status: &str, not_after_ms: u64) -> String {
    DOCUMENTED
        .replace("\"ACTIVE\"", &format!("\"{status}\""))
        .replace("1758185683000", &not_after_ms.to_string())
}

/// A 200 reply with the documented record, this status, expiring `days` from now.
pub fn certificate(status: &str, days: u64) -> Vec<u8> {
    let body = certificate_body(status, now_ms() + days * DAY_MS + DAY_MS / 2);
    reply(200, "application/json", &body, now_secs())
}

/// A 200 reply carrying an API error.
pub fn api_error(code: &str, message: &str, date: u64) -> Vec<u8> {
    let body = format!(
        r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"{message}"}},"RequestId":"{REQUEST_ID}"}}}}"#
    );
    reply(200, "application/json", &body, date)
}

/// A gateway's error page.
pub fn gateway(status: u16) -> Vec<u8> {
    reply(status, "text/html", "<html>bad gateway</html>", now_secs())
}

/// A number no other call in this run returns, for names of temporary files.
pub fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

impl Stream for StreamOwned<ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// A CA, written to a PEM file, and a TLS server for 127.0.0.1 whose certificate it signed.
pub fn tls_server(
    handler: impl Fn(usize, &Received) -> Vec<u8> + Send + Sync + 'static,
) -> (Server, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();

    let ca_file = std::env::temp_dir().join(format!(
        "mqttcert-ca-{}-{}.pem",
        std::process::id(),
        unique()
    ));
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let server = Server::start_with(handler, move |tcp| {
        let conn = ServerConnection::new(Arc::clone(&config)).unwrap();
        Box::new(StreamOwned::new(conn, tcp))
    });
    (server, ca_file)
}

/// A proxy that answers one `CONNECT` and relays the tunnel's bytes both ways.
pub fn proxy(status: u16) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        write!(client, "HTTP/1.1 {status} X\r\n\r\n").unwrap();
        if status != 200 {
            return head;
        }
        let target = head.split(' ').nth(1).unwrap().to_owned();
        let upstream = TcpStream::connect(target).unwrap();
        let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let up = std::thread::spawn(move || std::io::copy(&mut c2, &mut u2));
        let (mut u, mut c) = (upstream, client);
        let _ = std::io::copy(&mut u, &mut c);
        let _ = c.shutdown(std::net::Shutdown::Both);
        let _ = up.join();
        head
    });
    (url, handle)
}
