//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mqttcert::{DEFAULT_ENDPOINT, Language};

const EXIT_CODES: &str = "\
Exit status (check and batch; the monitoring-plugin convention):
  0  healthy
  1  expiring within --warn-days
  2  revoked, expired, not yet valid, inactive, pending activation, serial mismatch,
     unknown status, or not found (ResourceNotFound.*)
  3  could not check: usage, credentials, network, TLS, or any other API error
describe exits 0 on success and 3 on any error.";

const LONG_HELP: &str = "\
Examples:
  export TENCENTCLOUD_SECRET_ID=AKID... TENCENTCLOUD_SECRET_KEY=... TENCENTCLOUD_REGION=ap-guangzhou

  mqttcert describe --instance-id mqtt-jbgwp4ae --sn 0eef68a582b94254296e54ce754f94d707a59911
  mqttcert describe --instance-id mqtt-jbgwp4ae --sn 0eef68a5... --output table
  mqttcert check --instance-id mqtt-jbgwp4ae --sn 0eef68a5... --warn-days 45
  mqttcert batch --instance-id mqtt-jbgwp4ae --sns serials.txt --format csv --out report.csv
  cut -d, -f1 fleet.csv | mqttcert batch --instance-id mqtt-jbgwp4ae --sns - > report.jsonl

Credentials, first found wins:
  1. --secret-id and --secret-key, or --profile NAME
  2. TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY and, for temporary keys, TENCENTCLOUD_TOKEN
  3. the [default] profile of ~/.tencentcloud/credentials (secret_id, secret_key, token)

Network: HTTPS_PROXY (an http:// proxy, used through CONNECT) and NO_PROXY are honoured.
Requests are paced at 19 a second, under the API's limit of 20. Rate limits, server errors
and network failures are retried, up to 4 attempts within 30 s.

Logging goes to stderr: -v for one line per check, -vv for attempts and retries, -vvv for
everything; RUST_LOG overrides. No secret is ever logged.

";

/// Check Tencent Cloud TDMQ for MQTT device certificates.
///
/// Asks the API (DescribeDeviceCertificate) what it knows of a device certificate, and judges
/// it: revoked, inactive, expired, or healthy for so many days.
#[derive(Debug, Parser)]
#[command(
    name = "mqttcert",
    version,
    after_help = EXIT_CODES,
    after_long_help = format!("{LONG_HELP}{EXIT_CODES}"),
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The API endpoint: https://host[:port], or http:// for a local emulator.
    #[arg(long, global = true, value_name = "URL", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// The region of the instance, such as ap-guangzhou.
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        env = "TENCENTCLOUD_REGION"
    )]
    pub region: Option<String>,

    /// Trust the CA certificates of this PEM file instead of the standard web roots.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Limit for connecting to each address, then for the exchange (TLS handshake, request
    /// and whole reply), in seconds.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = secs)]
    pub timeout: Duration,

    /// The language of the API's error messages.
    #[arg(long, global = true, value_enum)]
    pub language: Option<LanguageArg>,

    /// The API key's SecretId (default: TENCENTCLOUD_SECRET_ID).
    #[arg(long, global = true, value_name = "ID")]
    pub secret_id: Option<String>,

    /// The API key's SecretKey. Discouraged: other users can read it in the process list;
    /// prefer TENCENTCLOUD_SECRET_KEY or a profile.
    #[arg(long, global = true, value_name = "KEY")]
    pub secret_key: Option<String>,

    /// Read the credentials from this section of ~/.tencentcloud/credentials.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// More logging on stderr: -v, -vv, -vvv.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what the API returns for one certificate, as tccli does.
    Describe(DescribeArgs),
    /// Judge one certificate; the exit status says how it stands.
    Check(CheckArgs),
    /// Judge many certificates, one serial a line, at the API's rate limit.
    Batch(BatchArgs),
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The TDMQ-MQTT instance, such as mqtt-jbgwp4ae.
    #[arg(long, value_name = "ID")]
    pub instance_id: String,
    /// The certificate's serial number, in hex.
    #[arg(long, value_name = "SN")]
    pub sn: String,
    /// json: the Response fields, as tccli prints them; table: for people.
    #[arg(long, value_enum, default_value = "json")]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The TDMQ-MQTT instance, such as mqtt-jbgwp4ae.
    #[arg(long, value_name = "ID")]
    pub instance_id: String,
    /// The certificate's serial number, in hex.
    #[arg(long, value_name = "SN")]
    pub sn: String,
    /// Warn (exit 1) when the certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub warn_days: u32,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The TDMQ-MQTT instance, such as mqtt-jbgwp4ae.
    #[arg(long, value_name = "ID")]
    pub instance_id: String,
    /// File of serials, one a line, `-` for stdin; blank lines and `#` comments are skipped.
    #[arg(long, value_name = "FILE")]
    pub sns: PathBuf,
    /// Warn (exit 1) when a certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub warn_days: u32,
    /// jsonl: one JSON object a line; csv: a header, then one row a serial.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Write the records to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Requests in flight at once (the rate limit applies to all of them together).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    pub jobs: u16,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Output {
    Json,
    Table,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LanguageArg {
    #[value(name = "en-US")]
    English,
    #[value(name = "zh-CN")]
    Chinese,
}

impl From<LanguageArg> for Language {
    fn from(arg: LanguageArg) -> Self {
        match arg {
            LanguageArg::English => Language::English,
            LanguageArg::Chinese => Language::Chinese,
        }
    }
}

fn secs(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err("expected a number of seconds, above 0 and at most 3600".to_owned()),
    }
}
