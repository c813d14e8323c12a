//! `mqttcert batch`: many serials, a few threads, one rate limit, results in input order.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mqttcert::report::{self, BatchRow, Health};
use mqttcert::{Client, Error};
use mqttcert_core::check::Policy;

use crate::args::{BatchArgs, Format};

/// Checks every serial of `args.sns`; returns the worst health of them all.
pub fn run(client: &Client, args: &BatchArgs, quiet: bool) -> Result<Health, Error> {
    let serials = read_serials(&args.sns)?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|err| {
            Error::Config {
                what: format!("cannot create {}", path.display()),
                source: Some(Box::new(err)),
            }
        })?)),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };

    let bar = if quiet || !io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(serials.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} serials, {per_sec}, eta {eta}")
        {
            bar.set_style(style);
        }
        bar
    };

    let started = Instant::now();
    let total = serials.len();
    let rows = check_all(client, &args.instance_id, serials, args, &bar);

    // Rows arrive as they finish; they are written in input order.
    if let Format::Csv = args.format {
        write_line(&mut out, report::CSV_HEADER);
    }
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut worst = Health::Ok;
    let mut counts = BTreeMap::<String, usize>::new();
    for (index, row) in rows {
        pending.insert(index, row);
        while let Some(row) = pending.remove(&next) {
            worst = worst.max(row.health.unwrap_or(Health::Unknown));
            *counts.entry(row.verdict.clone()).or_default() += 1;
            let line = match args.format {
                Format::Jsonl => row.to_json(),
                Format::Csv => row.to_csv(),
            };
            write_line(&mut out, &line);
            next += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let _ = out.flush();

    let elapsed = started.elapsed();
    let counts: Vec<String> = counts
        .iter()
        .map(|(verdict, n)| format!("{n} {verdict}"))
        .collect();
    if !quiet {
        eprintln!(
            "checked {total} serials in {:.1} s ({:.1}/s): {}",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64().max(1e-3),
            if counts.is_empty() {
                "nothing to do".to_owned()
            } else {
                counts.join(", ")
            }
        );
    }
    Ok(worst)
}

/// Runs the checks on `args.jobs` threads; the rows come back through the returned receiver,
/// with their index in the input, as they finish.
fn check_all(
    client: &Client,
    instance_id: &str,
    serials: Vec<String>,
    args: &BatchArgs,
    bar: &ProgressBar,
) -> mpsc::IntoIter<(usize, BatchRow)> {
    let policy = Policy::warn_within_days(args.warn_days);
    let queue = Arc::new(Mutex::new(
        serials.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    let (send, receive) = mpsc::channel();
    for _ in 0..args.jobs {
        let (client, queue, send) = (client.clone(), Arc::clone(&queue), send.clone());
        let (instance_id, bar) = (instance_id.to_owned(), bar.clone());
        std::thread::spawn(move || {
            loop {
                let next = queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                let Some((index, serial)) = next else { break };
                let result = client.check(&instance_id, &serial, &policy);
                if let Err(err) = &result {
                    bar.suspend(|| log::warn!("SN {serial}: {}", mqttcert::error_chain(err)));
                }
                if send
                    .send((index, BatchRow::of_result(&serial, &result)))
                    .is_err()
                {
                    break;
                }
            }
        });
    }
    receive.into_iter()
}

/// The serials of a file, or of stdin for `-`: one a line, trimmed; blank lines and
/// everything after a `#` skipped.
fn read_serials(path: &Path) -> Result<Vec<String>, Error> {
    let unreadable = |err: io::Error| Error::Config {
        what: format!("cannot read serials from {}", path.display()),
        source: Some(Box::new(err)),
    };
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(File::open(path).map_err(unreadable)?))
    };
    let mut serials = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(unreadable)?;
        let serial = line.split('#').next().unwrap_or("").trim();
        if !serial.is_empty() {
            serials.push(serial.to_owned());
        }
    }
    Ok(serials)
}

fn write_line(out: &mut dyn Write, line: &str) {
    // A closed pipe stops the output, not the checks' exit status.
    let _ = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"));
}
