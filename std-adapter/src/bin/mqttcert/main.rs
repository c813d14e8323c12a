//! `mqttcert`: ask Tencent Cloud about TDMQ for MQTT device certificates.

mod args;
mod batch;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use mqttcert::credentials::{self, Explicit};
use mqttcert::report::{self, Health};
use mqttcert::{Client, Credentials, Error};
use mqttcert_core::check::Policy;
use zeroize::Zeroizing;

use args::{Cli, Command, Common, Output};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; a usage error is "could not
            // check", 3, so that monitoring does not read it as a critical certificate.
            let _ = err.print();
            return ExitCode::from(if err.exit_code() == 0 { 0 } else { 3 });
        }
    };
    init_logging(&cli.common);
    ExitCode::from(run(cli).exit_code())
}

fn init_logging(common: &Common) {
    let mut builder = env_logger::Builder::new();
    builder.format_timestamp_millis();
    if std::env::var_os("RUST_LOG").is_some() {
        builder.parse_env("RUST_LOG");
    } else {
        let level = match (common.quiet, common.verbose) {
            (true, _) => log::LevelFilter::Error,
            (false, 0) => log::LevelFilter::Warn,
            (false, 1) => log::LevelFilter::Info,
            (false, 2) => log::LevelFilter::Debug,
            (false, _) => log::LevelFilter::Trace,
        };
        builder.filter_level(level);
        // The core logs the verdict at info too; one line per check is enough at -v.
        if level == log::LevelFilter::Info {
            builder.filter_module("mqttcert_core", log::LevelFilter::Warn);
        }
    }
    builder.init();
}

fn run(mut cli: Cli) -> Health {
    let client = match client(&mut cli.common) {
        Ok(client) => client,
        Err(err) => return fail(&err, Health::Unknown),
    };

    match cli.command {
        Command::Describe(args) => match client.describe(&args.instance_id, &args.sn) {
            Ok(described) => {
                let text = match args.output {
                    Output::Json => report::describe_json(&described.record),
                    Output::Table => report::describe_table(&described.record),
                };
                print(&text);
                Health::Ok
            }
            Err(err) => fail(&err, Health::Unknown),
        },
        Command::Check(args) => {
            let policy = Policy::warn_within_days(args.warn_days);
            match client.check(&args.instance_id, &args.sn, &policy) {
                Ok(checked) => {
                    print(&format!("{}\n", report::check_line(&args.sn, &checked)));
                    Health::of_verdict(checked.verdict)
                }
                Err(err) => fail(&err, Health::of_error(&err)),
            }
        }
        Command::Batch(args) => match batch::run(&client, &args, cli.common.quiet) {
            Ok(health) => health,
            Err(err) => fail(&err, Health::Unknown),
        },
    }
}

/// Builds the client from the common flags, taking the secret key out of them.
fn client(common: &mut Common) -> Result<Client, Error> {
    let explicit = Explicit {
        secret_id: common.secret_id.take(),
        secret_key: common.secret_key.take().map(Zeroizing::new),
        profile: common.profile.take(),
    };
    let home = std::env::home_dir();
    let (credentials, source) =
        Credentials::resolve(explicit, |name| std::env::var(name).ok(), home.as_deref())?;
    log::debug!("credentials {} from {source}", credentials.secret_id());

    let region = common
        .region
        .clone()
        .or_else(|| std::env::var(credentials::ENV_REGION).ok());
    let mut builder = Client::builder()
        .endpoint(common.endpoint.clone())
        .credentials(credentials)
        .timeout(common.timeout);
    if let Some(region) = region {
        builder = builder.region(region);
    }
    if let Some(path) = &common.ca_file {
        builder = builder.ca_file(path);
    }
    if let Some(language) = common.language {
        builder = builder.language(language.into());
    }
    builder.build()
}

/// Prints `err` and its causes on stderr; returns `health`.
fn fail(err: &Error, health: Health) -> Health {
    eprintln!("error: {}", mqttcert::error_chain(err));
    health
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
