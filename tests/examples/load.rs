//! A load generator for the emulator: many clients at once, each on its own keep-alive
//! connection, sending `DescribeDeviceCertificate` requests signed by `mqttcert-core` and
//! reading every reply with the core's parser.
//!
//! Every request gets exactly one outcome: a well-formed certificate answer for the serial it
//! asked about, or one kind of failure (connect, timeout, connection closed, a status other than
//! 200, a malformed reply, an API error, another serial). A connection is dropped after any
//! failure and the next request opens a new one; nothing is retried. After its last reply each
//! client closes its side and reads until the server closes, so that a reply nobody asked for
//! shows up; the `RequestId` of every answer is collected, so that a reply given twice shows up.
//!
//! It prints one JSON object on stdout (counts, latency percentiles, wall time) and leaves the
//! judgement to its caller, `cargo xtask bench-load`. The key comes from
//! `TENCENTCLOUD_SECRET_ID` and `TENCENTCLOUD_SECRET_KEY`, never from the command line.
//!
//! ```sh
//! cargo build --release -p mqttcert-tests --example load
//! TENCENTCLOUD_SECRET_ID=… TENCENTCLOUD_SECRET_KEY=… target/release/examples/load \
//!     --endpoint https://127.0.0.1:8443 --ca-file target/emulator-tls/ca.pem \
//!     --instance-id mqtt-demo01 --sns serials.txt --clients 1000 --requests 20000
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use mqttcert_core::SecretKey;
use mqttcert_core::request::{
    Credential, DESCRIBE_REQUEST_CAPACITY, DescribeDeviceCertificate, Endpoint,
};
use mqttcert_core::response::{self, Answer, DeviceCertificate, Read};
use mqttcert_core::sign::Signer;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// Concurrent clients sending signed requests to the emulator; prints the results as JSON.
#[derive(Debug, Parser)]
#[command(name = "load")]
struct Args {
    /// `https://IP:PORT` (with --ca-file) or `http://IP:PORT`.
    #[arg(long, value_name = "URL")]
    endpoint: String,

    /// The CA certificate the HTTPS endpoint's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,

    /// Region of the instance.
    #[arg(long, default_value = "ap-guangzhou")]
    region: String,

    /// Instance the certificates belong to.
    #[arg(long, value_name = "ID")]
    instance_id: String,

    /// File of serials, one a line; client N asks about serial N modulo their number.
    #[arg(long, value_name = "FILE")]
    sns: PathBuf,

    /// Clients at once, each with its own connection.
    #[arg(long, default_value_t = 1000)]
    clients: usize,

    /// Requests in all, shared evenly between the clients.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,

    /// Limit for a connection (TCP and TLS) and for each request's reply, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout_secs: u64,

    /// Worker threads of the generator's runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,

    /// API key id.
    #[arg(long, env = "TENCENTCLOUD_SECRET_ID", hide_env_values = true)]
    secret_id: String,
}

/// What every client shares.
struct Context {
    addr: String,
    host: String,
    region: String,
    instance_id: String,
    serials: Vec<String>,
    secret_id: String,
    secret_key: SecretKey,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    limit: Duration,
}

/// A connection, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How one request ended.
#[derive(Debug)]
enum Outcome {
    /// A well-formed certificate answer for the serial asked about.
    Answered,
    /// The TCP connection or the TLS handshake failed.
    Connect,
    /// No connection, or no complete reply, within the limit.
    Timeout,
    /// The connection ended (closed, reset, write failed) before a complete reply.
    Closed,
    /// An HTTP status other than 200.
    NotOk,
    /// A reply the core refuses: framing, content type, body.
    Malformed,
    /// A well-formed answer with this API error code.
    Api(String),
    /// A certificate answer about another serial.
    WrongSerial,
}

/// What one client saw.
#[derive(Default)]
struct Report {
    outcomes: BTreeMap<&'static str, usize>,
    api_errors: BTreeMap<String, usize>,
    /// Microseconds from the first byte written to the last byte of each complete reply.
    latencies: Vec<u32>,
    /// Microseconds of each TCP connect and TLS handshake.
    connects: Vec<u32>,
    request_ids: Vec<String>,
    /// Bytes the server sent after this client's last reply.
    unsolicited: usize,
    /// When the client had its last reply.
    done: Option<Instant>,
}

impl Report {
    fn count(&mut self, outcome: Outcome) {
        let kind = match outcome {
            Outcome::Answered => "answered",
            Outcome::Connect => "connect_errors",
            Outcome::Timeout => "timeouts",
            Outcome::Closed => "closed_early",
            Outcome::NotOk => "non_200",
            Outcome::Malformed => "malformed",
            Outcome::WrongSerial => "wrong_serial",
            Outcome::Api(code) => {
                *self.api_errors.entry(code).or_default() += 1;
                "api_errors"
            }
        };
        *self.outcomes.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: Report) {
        for (kind, n) in other.outcomes {
            *self.outcomes.entry(kind).or_default() += n;
        }
        for (code, n) in other.api_errors {
            *self.api_errors.entry(code).or_default() += n;
        }
        self.latencies.extend(other.latencies);
        self.connects.extend(other.connects);
        self.request_ids.extend(other.request_ids);
        self.unsolicited += other.unsolicited;
        self.done = self.done.max(other.done);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    // Each client holds one descriptor, and the runtime a few; say so before connecting
    // rather than count a thousand connect errors.
    let needed = args.clients as u64 + 64;
    let limit = open_files_limit()?;
    if limit < needed {
        return Err(format!(
            "{} clients need about {needed} open files, the soft limit is {limit}: raise it \
             with `ulimit -n {needed}`",
            args.clients
        ));
    }
    if args.clients == 0 || args.requests < args.clients {
        return Err("at least one client, and at least one request per client".into());
    }

    let context = Arc::new(context(&args)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the runtime: {err}"))?;

    let started = Instant::now();
    let total = runtime.block_on(async {
        let mut tasks = Vec::with_capacity(args.clients);
        for index in 0..args.clients {
            let share =
                args.requests / args.clients + usize::from(index < args.requests % args.clients);
            tasks.push(tokio::spawn(client(Arc::clone(&context), index, share)));
        }
        let mut total = Report::default();
        for task in tasks {
            total.merge(
                task.await
                    .map_err(|err| format!("a client failed: {err}"))?,
            );
        }
        Ok::<_, String>(total)
    })?;
    let wall = total.done.unwrap_or(started).duration_since(started);

    let unique: HashSet<&str> = total.request_ids.iter().map(String::as_str).collect();
    let mut latencies = total.latencies.clone();
    let mut connects = total.connects.clone();
    let summary = json!({
        "clients": args.clients,
        "requests": args.requests,
        "outcomes": total.outcomes,
        "api_errors": total.api_errors,
        "request_ids": total.request_ids.len(),
        "unique_request_ids": unique.len(),
        "unsolicited_bytes": total.unsolicited,
        "wall_secs": wall.as_secs_f64(),
        "latency_us": percentiles(&mut latencies),
        "connect_us": percentiles(&mut connects),
        "open_files_limit": limit,
    });
    println!("{summary}");
    Ok(())
}

/// The shared context: the address, the key, the serials and the TLS set-up.
fn context(args: &Args) -> Result<Context, String> {
    let secret_key = std::env::var("TENCENTCLOUD_SECRET_KEY")
        .map_err(|_| "TENCENTCLOUD_SECRET_KEY is not set".to_owned())?;
    let secret_key = SecretKey::new(&secret_key).map_err(|err| format!("the key: {err}"))?;

    let (tls, host) = match (
        args.endpoint.strip_prefix("https://"),
        args.endpoint.strip_prefix("http://"),
    ) {
        (Some(host), _) => (true, host),
        (None, Some(host)) => (false, host),
        _ => return Err(format!("not an http(s) URL: {}", args.endpoint)),
    };
    let host = host.trim_end_matches('/').to_owned();
    let tls = if tls {
        let ca_file = args
            .ca_file
            .as_ref()
            .ok_or("an https endpoint needs --ca-file")?;
        let mut roots = RootCertStore::empty();
        let bad = |err: rustls_pki_types::pem::Error| format!("{}: {err}", ca_file.display());
        for cert in CertificateDer::pem_file_iter(ca_file).map_err(bad)? {
            roots
                .add(cert.map_err(bad)?)
                .map_err(|err| format!("{}: {err}", ca_file.display()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| format!("TLS set-up: {err}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = host
            .rsplit_once(':')
            .map_or(host.as_str(), |(name, _)| name);
        let name = ServerName::try_from(name.to_owned())
            .map_err(|err| format!("server name {name}: {err}"))?;
        Some((TlsConnector::from(Arc::new(config)), name))
    } else {
        None
    };

    let serials: Vec<String> = std::fs::read_to_string(&args.sns)
        .map_err(|err| format!("{}: {err}", args.sns.display()))?
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if serials.is_empty() {
        return Err(format!("no serial in {}", args.sns.display()));
    }

    // Every request the clients will write, once, so that bad inputs stop the run here.
    let credential = Credential::new(&args.secret_id, &secret_key);
    let endpoint = Endpoint::new(&host, &args.region);
    let mut buf = vec![0u8; DESCRIBE_REQUEST_CAPACITY];
    for serial in &serials {
        let query = DescribeDeviceCertificate {
            instance_id: &args.instance_id,
            serial,
        };
        query
            .write_request(&mut buf, &endpoint, &credential, &mut Signer::new(), 0)
            .map_err(|err| format!("cannot write a request for {serial}: {err}"))?;
    }

    Ok(Context {
        addr: host.clone(),
        host,
        region: args.region.clone(),
        instance_id: args.instance_id.clone(),
        serials,
        secret_id: args.secret_id.clone(),
        secret_key,
        tls,
        limit: Duration::from_secs(args.timeout_secs),
    })
}

/// One client: `count` requests in turn, a new connection whenever the last one failed.
async fn client(context: Arc<Context>, index: usize, count: usize) -> Report {
    let serial = context.serials[index % context.serials.len()].as_str();
    let query = DescribeDeviceCertificate {
        instance_id: &context.instance_id,
        serial,
    };
    let endpoint = Endpoint::new(&context.host, &context.region);
    let credential = Credential::new(&context.secret_id, &context.secret_key);
    let mut signer = Signer::new();
    let mut request = vec![0u8; DESCRIBE_REQUEST_CAPACITY];
    let mut reply = vec![0u8; response::REPLY_CAPACITY];
    let mut record: Box<DeviceCertificate> = Box::new(DeviceCertificate::new());
    let mut report = Report::default();
    let mut connection: Option<Box<dyn Io>> = None;

    for _ in 0..count {
        if connection.is_none() {
            let started = Instant::now();
            match timeout(context.limit, connect(&context)).await {
                Ok(Ok(stream)) => {
                    report.connects.push(micros(started));
                    connection = Some(stream);
                }
                Ok(Err(())) => {
                    report.count(Outcome::Connect);
                    continue;
                }
                Err(_) => {
                    report.count(Outcome::Timeout);
                    continue;
                }
            }
        }
        let Some(stream) = connection.as_mut() else {
            continue;
        };

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        // The inputs were checked by `context`, so writing cannot fail.
        let len = match query.write_request(&mut request, &endpoint, &credential, &mut signer, now)
        {
            Ok(len) => len,
            Err(err) => panic!("the request cannot be written: {err}"),
        };

        let started = Instant::now();
        let exchanged = timeout(
            context.limit,
            exchange(stream, &request[..len], &mut reply, &mut record),
        )
        .await;
        let outcome = match exchanged {
            Err(_) => Outcome::Timeout,
            Ok(Err(outcome)) => outcome,
            Ok(Ok(answer)) => {
                report.latencies.push(micros(started));
                report.done = Some(Instant::now());
                match answer {
                    Answer::Certificate => {
                        report
                            .request_ids
                            .push(record.request_id.as_str().to_owned());
                        if record.device_certificate_sn.as_str() == serial {
                            Outcome::Answered
                        } else {
                            Outcome::WrongSerial
                        }
                    }
                    Answer::Error(err) => {
                        report.request_ids.push(err.request_id.as_str().to_owned());
                        Outcome::Api(err.code.as_str().to_owned())
                    }
                }
            }
        };
        if !matches!(outcome, Outcome::Answered | Outcome::Api(_)) {
            connection = None;
        }
        report.count(outcome);
    }

    // Close our side; whatever the server still sends was never asked for.
    if let Some(mut stream) = connection {
        let _ = stream.shutdown().await;
        let mut rest = [0u8; 1024];
        while let Ok(Ok(n)) = timeout(Duration::from_secs(5), stream.read(&mut rest)).await {
            if n == 0 {
                break;
            }
            report.unsolicited += n;
        }
    }
    report
}

/// A TCP connection, with TLS when the endpoint is HTTPS.
async fn connect(context: &Context) -> Result<Box<dyn Io>, ()> {
    let tcp = TcpStream::connect(&context.addr).await.map_err(|_| ())?;
    let _ = tcp.set_nodelay(true);
    match &context.tls {
        None => Ok(Box::new(tcp)),
        Some((connector, name)) => {
            let tls = connector.connect(name.clone(), tcp).await.map_err(|_| ())?;
            Ok(Box::new(tls))
        }
    }
}

/// Writes one request and reads its reply with the core.
async fn exchange(
    stream: &mut Box<dyn Io>,
    request: &[u8],
    buf: &mut [u8],
    record: &mut DeviceCertificate,
) -> Result<Answer, Outcome> {
    stream
        .write_all(request)
        .await
        .map_err(|_| Outcome::Closed)?;
    stream.flush().await.map_err(|_| Outcome::Closed)?;

    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // A reply larger than the core's buffer.
            return Err(Outcome::Malformed);
        }
        let n = stream
            .read(&mut buf[filled..])
            .await
            .map_err(|_| Outcome::Closed)?;
        filled += n;
        let closed = n == 0;
        match response::read_reply(buf, filled, closed, record) {
            Ok(Read::Complete(reply)) => return Ok(reply.answer),
            Ok(Read::Incomplete) if closed => return Err(Outcome::Closed),
            Ok(Read::Incomplete) => {}
            Err(response::Error::Status { .. }) => return Err(Outcome::NotOk),
            Err(_) => return Err(Outcome::Malformed),
        }
    }
}

fn micros(since: Instant) -> u32 {
    since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32
}

/// p50, p99, max and mean of `values` (microseconds); zeros when there are none.
fn percentiles(values: &mut [u32]) -> serde_json::Value {
    values.sort_unstable();
    let at = |q: f64| {
        values
            .get(((values.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0)
    };
    let mean = values.iter().map(|&v| u64::from(v)).sum::<u64>() / values.len().max(1) as u64;
    json!({
        "count": values.len(),
        "p50": at(0.50),
        "p99": at(0.99),
        "max": values.last().copied().unwrap_or(0),
        "mean": mean,
    })
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Result<u64, String> {
    let limits = std::fs::read_to_string("/proc/self/limits")
        .map_err(|err| format!("cannot read /proc/self/limits: {err}"))?;
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|soft| {
            if soft == "unlimited" {
                Ok(u64::MAX)
            } else {
                soft.parse()
                    .map_err(|_| format!("odd open-files limit {soft:?}"))
            }
        })
        .unwrap_or_else(|| Err("no open-files limit in /proc/self/limits".into()))
}
