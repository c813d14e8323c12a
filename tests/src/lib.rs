//! A local emulator of Tencent Cloud's TDMQ for MQTT API action `DescribeDeviceCertificate`,
//! for tests, demos and firmware bring-up without a cloud account.
//!
//! It answers as the service does: HTTP 200 with the `{"Response": …}` envelope, a fresh
//! `RequestId`, `Content-Type: application/json` and a `Date` header, over plain HTTP and,
//! optionally, HTTPS with a private CA it generates.
//!
//! The pipeline, one module per stage:
//!
//! - [`server`] reads requests off the connection (heads with `httparse`, bodies by
//!   `Content-Length`, keep-alive, timeouts) and writes replies, injecting a [`Fault`] when
//!   asked to.
//! - [`api`] checks the request in the service's order: common parameters, `Authorization`,
//!   the 300 s window, the SecretId, the signature, the token, the rate limit, the action,
//!   version and region, the parameters, then looks the certificate up in the [`Fleet`].
//! - [`tc3`] is the TC3-HMAC-SHA256 verifier, written from the API reference and independent
//!   of `mqttcert-core`'s signer, so that each checks the other.
//! - [`tls`] makes and loads the CA and server certificates.
//! - [`client`] is a blocking test client whose requests are signed by [`tc3`].
//!
//! No secret key, session token or derived key is ever logged, at any level; `Debug` of the
//! types that hold them hides them.
//!
//! ```
//! use mqttcert_tests::client::{self, Call};
//! use mqttcert_tests::fleet::{self, Fleet};
//! use mqttcert_tests::{Emulator, Options, TlsOptions, time};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = Emulator::start(Options {
//!     fleet: Fleet::demo(time::system_now_ms()),
//!     tls: Some(TlsOptions::generate(["localhost", "127.0.0.1"])),
//!     ..Options::default()
//! })?;
//! let https = emu.https_addr(); // Some(127.0.0.1:port), serving a certificate of...
//! let ca_pem = emu.ca_pem(); // ...this CA, which a client pins
//! # assert!(https.is_some() && ca_pem.is_some());
//!
//! // A request signed by this crate's own TC3 code, over plain HTTP.
//! let addr = emu.http_addr();
//! let call = Call::describe(
//!     &addr.to_string(), // the Host header, signed as sent
//!     fleet::DEMO_SECRET_ID,
//!     fleet::DEMO_SECRET_KEY,
//!     fleet::DEMO_INSTANCE_ID,
//!     fleet::DEMO_REVOKED_SN,
//!     time::system_now_ms() / 1000,
//! );
//! let reply = client::send(addr, &call.sign().to_bytes(), std::time::Duration::from_secs(5))?;
//! assert_eq!(reply.json()["Response"]["Status"], "REVOKED");
//! // The server stops when `emu` is dropped.
//! # Ok(())
//! # }
//! ```

pub mod api;
pub mod client;
mod error;
pub mod fault;
pub mod fleet;
pub mod hygiene;
pub mod server;
pub mod tc3;
pub mod time;
pub mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use error::Error;

// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use fault::{Fault, FaultMode};
pub use fleet::{Certificate, Credential, Fleet, Instance};
pub use tls::{Pki, TlsOptions};

/// Largest request body accepted by default; larger ones get `RequestSizeLimitExceeded`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How long an idle keep-alive connection is kept by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections each listener queues before they are accepted (the kernel may cap it lower, at
/// `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 1024;

/// How to run the emulator. `Options::default()` serves an empty fleet on `127.0.0.1:0`, plain
/// HTTP only, rate limited to 20 requests per second and SecretId, with no fault.
#[derive(Clone, Debug)]
pub struct Options {
    /// Who may call and what there is to find.
    pub fleet: Fleet,
    /// Where the plain HTTP listener binds; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The HTTPS listener, if any.
    pub tls: Option<TlsOptions>,
    /// A fault to inject into replies.
    pub fault: Option<Fault>,
    /// Requests per second and SecretId; `None` switches the limit off.
    pub rate_limit: Option<u32>,
    /// Added to the system clock for the server's notion of now, in seconds.
    pub clock_offset_secs: i64,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long an idle keep-alive connection is kept.
    pub idle_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fleet: Fleet::default(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            fault: None,
            rate_limit: Some(api::DEFAULT_RATE_LIMIT),
            clock_offset_secs: 0,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// A running emulator. Dropping it stops the server and waits for its thread.
#[derive(Debug)]
pub struct Emulator {
    http_addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    pki: Option<Pki>,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds the listeners, makes or loads the certificates, and serves on a background
    /// thread. The listeners accept connections as soon as this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a listener cannot bind or the runtime cannot start, and the errors of
    /// [`Fleet::validate`], [`Pki::generate`], [`Pki::load_or_generate`] and
    /// [`Pki::server_config`].
    pub fn start(options: Options) -> Result<Self, Error> {
        options.fleet.validate()?;

        let pki = match &options.tls {
            None => None,
            Some(tls) => Some(match &tls.dir {
                Some(dir) => Pki::load_or_generate(dir, &tls.names, tls.untrusted_issuer)?,
                None => Pki::generate(&tls.names, tls.untrusted_issuer)?,
            }),
        };
        let acceptor = match &pki {
            Some(pki) => Some(tokio_rustls::TlsAcceptor::from(pki.server_config()?)),
            None => None,
        };

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mqttcert-emulator")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the tokio runtime", e))?;

        // The listeners belong to the runtime, so they are made inside it. std's `bind` would
        // queue only 128 connections: a burst of clients connecting at once overflows that, and
        // the refused handshakes come back only when the clients retransmit, a second later.
        let bind = |addr: SocketAddr| {
            let _guard = runtime.enter();
            let socket = match addr {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
            }
            .map_err(|e| Error::io(format!("opening a socket for {addr}"), e))?;
            socket
                .set_reuseaddr(true)
                .map_err(|e| Error::io(format!("configuring {addr}"), e))?;
            socket
                .bind(addr)
                .map_err(|e| Error::io(format!("binding {addr}"), e))?;
            let listener = socket
                .listen(LISTEN_BACKLOG)
                .map_err(|e| Error::io(format!("listening on {addr}"), e))?;
            let local = listener
                .local_addr()
                .map_err(|e| Error::io(format!("reading the address of {addr}"), e))?;
            Ok::<_, Error>((listener, local))
        };
        let (http, http_addr) = bind(options.listen)?;
        let https = match &options.tls {
            Some(tls) => Some(bind(tls.listen)?),
            None => None,
        };
        let https_addr = https.as_ref().map(|(_, addr)| *addr);

        let shared = Arc::new(server::Shared {
            api: api::Api::new(options.fleet, options.rate_limit),
            fault: options.fault,
            clock_offset_secs: options.clock_offset_secs,
            max_body_bytes: options.max_body_bytes,
            idle_timeout: options.idle_timeout,
            requests: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let listeners = (http, https.map(|(listener, _)| listener));

        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("mqttcert-emulator".to_owned())
            .spawn(move || {
                let (http, https) = listeners;
                let mut done = stopped.clone();
                runtime.block_on(async move {
                    tokio::spawn(server::serve(
                        http,
                        None,
                        Arc::clone(&task_shared),
                        stopped.clone(),
                    ));
                    if let (Some(listener), Some(acceptor)) = (https, acceptor) {
                        tokio::spawn(server::serve(
                            listener,
                            Some(acceptor),
                            task_shared,
                            stopped,
                        ));
                    }
                    let _ = done.changed().await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| Error::io("spawning the server thread", e))?;

        Ok(Self {
            http_addr,
            https_addr,
            pki,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The address of the plain HTTP listener.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The address of the HTTPS listener, when TLS is on.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// `http://ip:port`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://ip:port`, when TLS is on.
    pub fn https_url(&self) -> Option<String> {
        self.https_addr.map(|addr| format!("https://{addr}"))
    }

    /// The CA certificate, PEM text, that clients pin; `None` without TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.pki.as_ref().map(|pki| pki.ca_pem.as_str())
    }

    /// The certificates the HTTPS listener uses.
    pub fn pki(&self) -> Option<&Pki> {
        self.pki.as_ref()
    }

    /// How many requests reached the API so far (every complete request, faulted or not).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
