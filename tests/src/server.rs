//! The HTTP/1.1 server: one task per connection, keep-alive, request heads parsed by
//! `httparse`, bodies framed by `Content-Length`, faults injected on the way out.
//!
//! Nothing a peer sends can panic it: every malformed input ends in a reply or a closed
//! connection, and every read has a timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, Api, Request};
use crate::fault::{Fault, FaultMode};
use crate::time::{UtcTime, system_now_ms};

/// Largest request head accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields accepted in a request.
pub const MAX_HEADERS: usize = 64;
/// How long a started request may take to arrive, and a TLS handshake to finish.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) api: Api,
    pub(crate) fault: Option<Fault>,
    pub(crate) clock_offset_secs: i64,
    pub(crate) max_body_bytes: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) requests: AtomicU64,
}

impl Shared {
    fn now_secs(&self) -> i64 {
        system_now_ms().div_euclid(1000) + self.clock_offset_secs
    }
}

/// A connection the server can also reset at the TCP level.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Transport for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Transport for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Accepts connections until `stop` changes, one task each.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors and the like: wait a little rather than spin.
                log::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        match &tls {
            None => {
                tokio::spawn(connection(stream, peer, shared));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, peer, shared).await,
                        Ok(Err(e)) => log::info!("{peer} TLS handshake failed: {e}"),
                        Err(_) => log::info!("{peer} TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

/// What to do with the connection after a reply.
enum After {
    KeepAlive,
    Close,
    /// The fault already ended the connection.
    Gone,
}

async fn connection<S: Transport>(mut stream: S, peer: SocketAddr, shared: Arc<Shared>) {
    log::debug!("{peer} connected");
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        match exchange(&mut stream, &mut buf, peer, &shared).await {
            Ok(After::KeepAlive) => continue,
            Ok(After::Close) => {
                let _ = stream.shutdown().await;
                break;
            }
            Ok(After::Gone) => break,
            Err(why) => {
                log::debug!("{peer} connection ended: {why}");
                break;
            }
        }
    }
}

/// Reads one request and answers it.
async fn exchange<S: Transport>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
    shared: &Shared,
) -> Result<After, String> {
    // The head: wait for the first byte as long as an idle connection may live.
    let (head_len, mut request, http10) = loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            match parsed.parse(buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let request = Request::from_head(&parsed);
                    break (len, request, parsed.version == Some(0));
                }
                Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                    plain_error(stream, "431 Request Header Fields Too Large", shared).await;
                    return Err("request head too large".into());
                }
                Err(e) => {
                    plain_error(stream, "400 Bad Request", shared).await;
                    return Err(format!("malformed request head: {e}"));
                }
            }
        }
        let limit = if buf.is_empty() {
            shared.idle_timeout
        } else {
            READ_TIMEOUT
        };
        if read_more(stream, buf, limit).await? == 0 {
            return if buf.is_empty() {
                Ok(After::Gone)
            } else {
                Err("closed in the middle of a request head".into())
            };
        }
    };
    let started = Instant::now();

    // Framing: Content-Length only.
    let connection = request
        .header("Connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    if request.header("Transfer-Encoding").is_some() {
        plain_error(stream, "501 Not Implemented", shared).await;
        return Err("a request body with Transfer-Encoding".into());
    }
    let mut lengths = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.trim().parse::<usize>());
    let body_len = match (lengths.next(), lengths.next()) {
        (None, _) => 0,
        (Some(Ok(len)), None) => len,
        _ => {
            plain_error(stream, "400 Bad Request", shared).await;
            return Err("invalid or repeated Content-Length".into());
        }
    };
    if body_len > shared.max_body_bytes {
        let message = format!(
            "The request body of {body_len} bytes exceeds the limit of {} bytes.",
            shared.max_body_bytes
        );
        let body = api::error_body("RequestSizeLimitExceeded", &message);
        log_line(
            peer,
            &request,
            None,
            "RequestSizeLimitExceeded",
            started,
            "",
        );
        write_json(stream, &body, true, shared).await?;
        return Ok(After::Close);
    }

    // The body.
    if body_len > 0
        && buf.len() < head_len + body_len
        && request
            .header("Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        write_all(stream, b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    while buf.len() < head_len + body_len {
        if read_more(stream, buf, READ_TIMEOUT).await? == 0 {
            return Err("closed in the middle of a request body".into());
        }
    }
    request.body = buf[head_len..head_len + body_len].to_vec();
    buf.drain(..head_len + body_len);

    // The answer, and the fault if this request gets one.
    let outcome = shared.api.handle(&request, shared.now_secs());
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let fault = shared.fault.filter(|f| f.applies_to(n)).map(|f| f.mode);
    let code = outcome.code.as_deref().unwrap_or("Success");
    let note = fault.map(|f| format!(" [fault {f}]")).unwrap_or_default();
    let close = !keep_alive;

    let after = match fault {
        None => {
            write_json(stream, &outcome.body, close, shared).await?;
            if close {
                After::Close
            } else {
                After::KeepAlive
            }
        }
        Some(FaultMode::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            write_json(stream, &outcome.body, close, shared).await?;
            if close {
                After::Close
            } else {
                After::KeepAlive
            }
        }
        Some(FaultMode::Reset) => {
            let head = json_head(outcome.body.len(), close, shared);
            let half = &outcome.body.as_bytes()[..outcome.body.len() / 2];
            write_all(stream, &[head.as_bytes(), half].concat()).await?;
            // A zero linger turns the close into a reset.
            let _ = stream.tcp().set_zero_linger();
            After::Gone
        }
        Some(FaultMode::Truncated) => {
            let head = json_head(outcome.body.len(), true, shared);
            let half = &outcome.body.as_bytes()[..outcome.body.len() / 2];
            write_all(stream, &[head.as_bytes(), half].concat()).await?;
            After::Close
        }
        Some(FaultMode::Chunked) => {
            write_chunked(stream, &outcome.body, close, shared).await?;
            if close {
                After::Close
            } else {
                After::KeepAlive
            }
        }
        Some(FaultMode::BadGateway) => {
            let head = head(
                "502 Bad Gateway",
                "text/html",
                Some(BAD_GATEWAY_HTML.len()),
                close,
                shared,
            );
            write_all(
                stream,
                &[head.as_bytes(), BAD_GATEWAY_HTML.as_bytes()].concat(),
            )
            .await?;
            if close {
                After::Close
            } else {
                After::KeepAlive
            }
        }
    };
    log_line(
        peer,
        &request,
        outcome.secret_id.as_deref(),
        code,
        started,
        &note,
    );
    Ok(after)
}

/// The operator's line: who, what, which key, the verdict and how long it took.
fn log_line(
    peer: SocketAddr,
    request: &Request,
    secret_id: Option<&str>,
    code: &str,
    started: Instant,
    note: &str,
) {
    log::info!(
        "{peer} {} {} SecretId={} -> {code} in {:.1} ms{note}",
        request.method,
        printable(request.header("X-TC-Action").unwrap_or("-")),
        printable(secret_id.unwrap_or("-")),
        started.elapsed().as_secs_f64() * 1000.0,
    );
}

/// A value from the network as a log shows it: at most 64 characters, control characters and
/// non-ASCII replaced, so that it cannot forge lines or drive a terminal.
fn printable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

async fn read_more<S: Transport>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limit: Duration,
) -> Result<usize, String> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(limit, stream.read(&mut chunk)).await {
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Ok(Err(e)) => Err(format!("read failed: {e}")),
        Err(_) => Err(format!("nothing read for {} s", limit.as_secs())),
    }
}

async fn write_all<S: Transport>(stream: &mut S, bytes: &[u8]) -> Result<(), String> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(READ_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err("write timed out".into()),
    }
}

fn head(
    status: &str,
    content_type: &str,
    content_length: Option<usize>,
    close: bool,
    shared: &Shared,
) -> String {
    let date = UtcTime::from_unix(shared.now_secs()).imf_fixdate();
    let framing = match content_length {
        Some(len) => format!("Content-Length: {len}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 {status}\r\nDate: {date}\r\nContent-Type: {content_type}\r\n{framing}\r\n{connection}\r\n"
    )
}

fn json_head(len: usize, close: bool, shared: &Shared) -> String {
    head("200 OK", "application/json", Some(len), close, shared)
}

async fn write_json<S: Transport>(
    stream: &mut S,
    body: &str,
    close: bool,
    shared: &Shared,
) -> Result<(), String> {
    let head = json_head(body.len(), close, shared);
    write_all(stream, &[head.as_bytes(), body.as_bytes()].concat()).await
}

/// The body in four chunks (fewer for tiny bodies), each flushed on its own.
async fn write_chunked<S: Transport>(
    stream: &mut S,
    body: &str,
    close: bool,
    shared: &Shared,
) -> Result<(), String> {
    write_all(
        stream,
        head("200 OK", "application/json", None, close, shared).as_bytes(),
    )
    .await?;
    let size = body.len().div_ceil(4).max(1);
    for chunk in body.as_bytes().chunks(size) {
        let framed = [
            format!("{:x}\r\n", chunk.len()).as_bytes(),
            chunk,
            b"\r\n".as_slice(),
        ]
        .concat();
        write_all(stream, &framed).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    write_all(stream, b"0\r\n\r\n").await
}

/// A reply from the HTTP layer, before the API: a status and a one-line text body. The
/// connection is closed after it.
async fn plain_error<S: Transport>(stream: &mut S, status: &str, shared: &Shared) {
    let body = format!("{status}\n");
    let head = head(status, "text/plain", Some(body.len()), true, shared);
    let _ = write_all(stream, &[head.as_bytes(), body.as_bytes()].concat()).await;
    let _ = stream.shutdown().await;
}
