//! `mqttcert-emulator`: serves a local emulation of TDMQ for MQTT's `DescribeDeviceCertificate`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mqttcert_tests::{Emulator, Fault, FaultMode, Fleet, Options, TlsOptions, api, tls};

/// A local emulator of Tencent Cloud's TDMQ for MQTT API action DescribeDeviceCertificate.
///
/// It verifies TC3-HMAC-SHA256 signatures against the keys in the fleet file and answers with
/// the certificates listed there, in the API's envelope and error codes. Once listening, it
/// prints one line per listener to stdout, e.g. `listening on http://127.0.0.1:40123`. Logs go to
/// stderr; set RUST_LOG=debug to see why a signature was refused.
#[derive(Debug, Parser)]
#[command(name = "mqttcert-emulator", version, after_help = EXAMPLES)]
struct Args {
    /// Address of the plain HTTP listener (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Fleet file: credentials, instances and certificates, as JSON.
    #[arg(long, value_name = "FILE", required_unless_present = "demo")]
    fleet: Option<PathBuf>,

    /// Serve the built-in demo fleet (times computed from now) instead of a file.
    #[arg(long, conflicts_with = "fleet")]
    demo: bool,

    /// Also serve HTTPS on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", requires = "tls_dir")]
    tls_listen: Option<SocketAddr>,

    /// Directory of ca.pem, server.pem and server.key; generated there when missing.
    #[arg(long, value_name = "DIR", requires = "tls_listen")]
    tls_dir: Option<PathBuf>,

    /// Subject alternative name of a generated server certificate (repeat for several).
    #[arg(long = "tls-name", value_name = "NAME", default_values = tls::DEFAULT_NAMES.iter().copied())]
    tls_names: Vec<String>,

    /// Sign the server certificate with a throw-away CA instead of the one in ca.pem, so that
    /// clients pinning ca.pem refuse the handshake. Regenerates the files in --tls-dir.
    #[arg(long)]
    tls_untrusted_issuer: bool,

    /// Requests per second and SecretId before RequestLimitExceeded.
    #[arg(long, value_name = "N", default_value_t = api::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,

    /// Switch the rate limit off (for load tests).
    #[arg(long)]
    no_rate_limit: bool,

    /// Inject a fault into replies: delay:MS, reset, chunked, 502 or truncated.
    #[arg(long, value_name = "FAULT")]
    fault: Option<FaultMode>,

    /// Inject the fault into the first N requests only; 0 means every request.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "fault")]
    fault_count: u64,

    /// Shift the server's clock by this many seconds (negative for the past).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    clock_offset_secs: i64,

    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = mqttcert_tests::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, value_name = "SECS", default_value_t = mqttcert_tests::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout_secs: u64,
}

const EXAMPLES: &str = "\
Examples:
  mqttcert-emulator --listen 127.0.0.1:8080 --fleet tests/fleets/demo.json
  mqttcert-emulator --demo --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --tls-dir /tmp/emu-tls
  mqttcert-emulator --fleet fleet.json --fault reset --fault-count 2";

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = format!("mqttcert-emulator: {e}");
            let mut source = std::error::Error::source(&*e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let fleet = match &args.fleet {
        Some(path) => Fleet::load(path)?,
        None => Fleet::demo(mqttcert_tests::time::system_now_ms()),
    };
    let tls = match (args.tls_listen, &args.tls_dir) {
        (Some(listen), Some(dir)) => Some(TlsOptions {
            listen,
            names: args.tls_names.clone(),
            dir: Some(dir.clone()),
            untrusted_issuer: args.tls_untrusted_issuer,
        }),
        _ => None,
    };
    let options = Options {
        fleet,
        listen: args.listen,
        tls,
        fault: args.fault.map(|mode| Fault::first(args.fault_count, mode)),
        rate_limit: (!args.no_rate_limit).then_some(args.rate_limit),
        clock_offset_secs: args.clock_offset_secs,
        max_body_bytes: args.max_body_bytes,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    let (fault, rate_limit) = (options.fault, options.rate_limit);
    let emulator = Emulator::start(options)?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", emulator.http_url())?;
    if let Some(url) = emulator.https_url() {
        writeln!(stdout, "listening on {url}")?;
    }
    stdout.flush()?;
    drop(stdout);

    match rate_limit {
        Some(n) => log::info!("rate limit: {n} requests per second and SecretId"),
        None => log::info!("rate limit: off"),
    }
    if let Some(fault) = fault {
        match fault.count {
            0 => log::info!("fault {} on every request", fault.mode),
            n => log::info!("fault {} on the first {n} requests", fault.mode),
        }
    }
    if args.clock_offset_secs != 0 {
        log::info!("server clock shifted by {} s", args.clock_offset_secs);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(tokio::signal::ctrl_c())?;
    log::info!("shutting down");
    drop(emulator);
    Ok(())
}
