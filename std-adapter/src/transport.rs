//! Moving the core's bytes: TCP, an optional proxy tunnel, TLS, one exchange per connection.
//!
//! Each attempt opens its own connection, sends the request the core wrote, and reads until the
//! core says the reply is whole. Once connected, the whole exchange (TLS handshake, request,
//! reply) has one deadline, so a server that trickles bytes cannot hold an attempt longer than
//! a silent one. Certificates are always verified, against the standard web
//! roots or the CA file given; there is no switch to turn that off.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mqttcert_core::DeviceCertificate;
use mqttcert_core::response::{self, Read as ReadState, Reply};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::Error;
use crate::url::{Scheme, Url};

/// Builds the TLS configuration: TLS 1.2 and 1.3 with ring, and the web roots or, when
/// `ca_file` is given, the certificates of that PEM file instead.
///
/// # Errors
///
/// [`Error::Config`] when the CA file cannot be read or holds no certificate.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let bad = |err: rustls::pki_types::pem::Error| {
                Error::config_because(format!("cannot read CA file {}", path.display()), err)
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(bad)? {
                roots.add(cert.map_err(bad)?).map_err(|err| {
                    Error::config_because(format!("unusable CA in {}", path.display()), err)
                })?;
            }
            if roots.is_empty() {
                return Err(Error::config(format!(
                    "the CA file {} holds no certificate",
                    path.display()
                )));
            }
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|err| Error::config_because("TLS set-up failed", err))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How to reach the endpoint.
#[derive(Clone, Debug)]
pub struct Route {
    /// The endpoint.
    pub endpoint: Url,
    /// The proxy to tunnel through, if any.
    pub proxy: Option<Url>,
    /// The limit for connecting (each address, and the proxy's answer).
    pub connect_timeout: Duration,
    /// The limit for the exchange once connected: the TLS handshake, the request and the
    /// whole reply.
    pub io_timeout: Duration,
}

/// A connection to the endpoint, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP connection under the stream.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }
}

/// Bounds the reads and writes on `tcp` that follow by the time left until `deadline`; a
/// timeout error once it has passed.
fn bound(tcp: &TcpStream, deadline: Instant, peer: &str) -> Result<(), Error> {
    limit(tcp, deadline).map_err(|err| Error::io(peer, err))
}

/// [`bound`], with the error as `io` gives it.
fn limit(tcp: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the time allowed ran out",
        ));
    }
    tcp.set_read_timeout(Some(left))?;
    tcp.set_write_timeout(Some(left))
}

/// A TCP connection whose every read and write must be done by a deadline.
struct Bounded<'a> {
    tcp: &'a TcpStream,
    deadline: Instant,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        limit(self.tcp, self.deadline)?;
        (&mut &*self.tcp).read(buf)
    }
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        limit(self.tcp, self.deadline)?;
        (&mut &*self.tcp).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Connects along `route`, sends `request` and reads the reply into `buf` and `record`.
///
/// # Errors
///
/// [`Error::Network`], [`Error::Tls`], [`Error::Http`] from a proxy, or [`Error::Malformed`]
/// and [`Error::Http`] from the core's reading of the reply.
pub fn exchange(
    route: &Route,
    tls: Option<&Arc<ClientConfig>>,
    request: &[u8],
    buf: &mut [u8],
    record: &mut DeviceCertificate,
) -> Result<Reply, Error> {
    let endpoint = &route.endpoint;
    let peer = endpoint.authority();
    let mut stream = connect(route, tls)?;
    let deadline = Instant::now() + route.io_timeout;

    if let Stream::Tls(tls) = &mut stream {
        handshake(tls, deadline, &peer)?;
    }
    bound(stream.tcp(), deadline, &peer)?;
    stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .map_err(|err| Error::io(&peer, err))?;
    log::trace!("sent {} bytes to {peer}", request.len());

    let mut filled = 0;
    loop {
        // A full buffer is not read into (a read of nothing would look like the end of the
        // connection): the core reports the reply as too large.
        let closed = if filled == buf.len() {
            false
        } else {
            bound(stream.tcp(), deadline, &peer)?;
            match stream.read(&mut buf[filled..]) {
                Ok(0) => true,
                Ok(n) => {
                    filled += n;
                    false
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                // A TLS peer that closes without close_notify: the core decides whether the
                // reply was whole (its framing says so) or cut short.
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => true,
                Err(err) => return Err(Error::io(&peer, err)),
            }
        };
        match response::read_reply(buf, filled, closed, record)? {
            ReadState::Complete(reply) => {
                log::trace!("read a reply of {filled} bytes from {peer}");
                return Ok(reply);
            }
            // The core reports a full buffer or a closed connection as an error, so an
            // incomplete reply here always has room and a live peer; the check is a guard.
            ReadState::Incomplete if closed || filled == buf.len() => {
                return Err(Error::Malformed(response::Error::Http(
                    response::HttpError::Truncated,
                )));
            }
            ReadState::Incomplete => {}
        }
    }
}

/// Completes the TLS handshake by `deadline`. (`StreamOwned` would do it on the first write,
/// with as many reads as the server likes, each bounded alone.)
fn handshake(
    tls: &mut StreamOwned<ClientConnection, TcpStream>,
    deadline: Instant,
    peer: &str,
) -> Result<(), Error> {
    let StreamOwned { conn, sock } = tls;
    let mut io = Bounded {
        tcp: sock,
        deadline,
    };
    while conn.is_handshaking() {
        if conn.wants_write() {
            conn.write_tls(&mut io)
                .map_err(|err| Error::io(peer, err))?;
            continue;
        }
        match conn.read_tls(&mut io) {
            Ok(0) => return Err(Error::io(peer, io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Error::io(peer, err)),
        }
        if let Err(err) = conn.process_new_packets() {
            // Send the alert that says why, if the server still listens.
            let _ = conn.write_tls(&mut io);
            return Err(Error::Tls {
                peer: peer.to_owned(),
                source: Box::new(err),
            });
        }
    }
    Ok(())
}

fn connect(route: &Route, tls: Option<&Arc<ClientConfig>>) -> Result<Stream, Error> {
    let endpoint = &route.endpoint;
    let tcp = match &route.proxy {
        None => open_tcp(endpoint.bare_host(), endpoint.port(), route)?,
        Some(proxy) => {
            let tcp = open_tcp(proxy.bare_host(), proxy.port(), route)?;
            let mut bounded = Bounded {
                tcp: &tcp,
                deadline: Instant::now() + route.connect_timeout,
            };
            crate::proxy::connect_tunnel(&mut bounded, &endpoint.authority(), &proxy.authority())?;
            log::debug!("tunnel to {} through {proxy}", endpoint.authority());
            tcp
        }
    };
    match (endpoint.scheme(), tls) {
        (Scheme::Http, _) => Ok(Stream::Plain(tcp)),
        (Scheme::Https, Some(config)) => {
            let name = ServerName::try_from(endpoint.bare_host().to_owned()).map_err(|err| {
                Error::config_because(format!("{} is not a valid TLS name", endpoint.host()), err)
            })?;
            let conn =
                ClientConnection::new(Arc::clone(config), name).map_err(|err| Error::Tls {
                    peer: endpoint.authority(),
                    source: Box::new(err),
                })?;
            Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
        }
        (Scheme::Https, None) => Err(Error::config("an https:// endpoint needs a TLS setup")),
    }
}

/// Resolves `host` and connects to the first address that answers within the timeout.
fn open_tcp(host: &str, port: u16, route: &Route) -> Result<TcpStream, Error> {
    let peer = format!("{host}:{port}");
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|err| Error::Network {
            kind: crate::NetworkKind::Connect,
            peer: peer.clone(),
            source: err,
        })?
        .collect();

    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, route.connect_timeout) {
            Ok(tcp) => {
                // Requests are written in one piece; no reason to wait for more.
                let _ = tcp.set_nodelay(true);
                log::debug!("connected to {peer} ({addr})");
                return Ok(tcp);
            }
            Err(err) => {
                log::debug!("connecting to {addr} failed: {err}");
                last = err;
            }
        }
    }
    Err(Error::io(&peer, last))
}
