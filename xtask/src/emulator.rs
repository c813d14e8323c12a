//! The emulator and the CLI as processes, for the demo and the benchmarks.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::util::{self, Result};

/// How long the emulator may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Builds the `mqttcert` CLI and the emulator in `profile` ("dev" or "release") and returns the
/// folder of the binaries.
pub fn build(profile: &str) -> Result<PathBuf> {
    util::run(util::cargo().args([
        "build",
        "--quiet",
        "--profile",
        profile,
        "-p",
        "mqttcert",
        "-p",
        "mqttcert-tests",
        "--bins",
    ]))?;
    let folder = if profile == "dev" { "debug" } else { profile };
    Ok(target_dir().join(folder))
}

/// The workspace's target folder.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// The emulator's log target for its line per answered request.
const REQUEST_LOG: &str = "mqttcert_tests::server";

/// How long [`Emulator::answered`] waits for requests beyond those expected.
const SETTLE: Duration = Duration::from_millis(200);

/// A running emulator, killed when dropped.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub http: String,
    /// `https://127.0.0.1:PORT`, when TLS was asked for.
    pub https: Option<String>,
    /// The emulator's log lines so far, when they are recorded.
    log: Option<Arc<Mutex<Vec<String>>>>,
}

impl Emulator {
    /// Starts `bin/mqttcert-emulator` with `args` and waits until it listens. With `tls_dir`,
    /// it also serves HTTPS with the certificates of that folder (made there when missing).
    pub fn start(bin: &Path, args: &[&str], tls_dir: Option<&Path>) -> Result<Self> {
        Self::spawn(bin, args, tls_dir, None, false)
    }

    /// [`Emulator::start`], with the soft limit on open files raised to `open_files` when given
    /// (it must not exceed the hard limit).
    pub fn start_with_open_files(
        bin: &Path,
        args: &[&str],
        tls_dir: Option<&Path>,
        open_files: Option<u64>,
    ) -> Result<Self> {
        Self::spawn(bin, args, tls_dir, open_files, false)
    }

    /// [`Emulator::start`], recording the line the emulator logs for each request it answers,
    /// so that [`Emulator::answered`] can count them.
    pub fn start_recording(bin: &Path, args: &[&str], tls_dir: Option<&Path>) -> Result<Self> {
        Self::spawn(bin, args, tls_dir, None, true)
    }

    fn spawn(
        bin: &Path,
        args: &[&str],
        tls_dir: Option<&Path>,
        open_files: Option<u64>,
        record: bool,
    ) -> Result<Self> {
        let mut command = Command::new(bin.join("mqttcert-emulator"));
        command.args(args).arg("--listen").arg("127.0.0.1:0");
        if let Some(dir) = tls_dir {
            command
                .args(["--tls-listen", "127.0.0.1:0", "--tls-dir"])
                .arg(dir);
        }
        if let Some(limit) = open_files {
            command = util::with_open_files(&command, limit);
        }
        if record {
            command
                .stderr(Stdio::piped())
                .env("RUST_LOG", format!("warn,{REQUEST_LOG}=info"));
        } else {
            command.stderr(Stdio::null()).env("RUST_LOG", "warn");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot start the emulator: {err}"))?;

        let log = match child.stderr.take() {
            Some(stderr) => {
                let log = Arc::new(Mutex::new(Vec::new()));
                let lines = Arc::clone(&log);
                std::thread::spawn(move || {
                    for line in BufReader::new(stderr)
                        .lines()
                        .map_while(std::io::Result::ok)
                    {
                        lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                    }
                });
                Some(log)
            }
            None => None,
        };

        // Read the `listening on …` lines on a thread, so that a silent emulator cannot hang us.
        let stdout = child.stdout.take().ok_or("the emulator has no stdout")?;
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });

        let wanted = 1 + usize::from(tls_dir.is_some());
        let mut emulator = Self {
            child,
            http: String::new(),
            https: None,
            log,
        };
        for _ in 0..wanted {
            let line = received
                .recv_timeout(START_LIMIT)
                .map_err(|_| "the emulator did not start listening in time".to_owned())?;
            match line.strip_prefix("listening on ") {
                Some(url) if url.starts_with("https://") => emulator.https = Some(url.to_owned()),
                Some(url) => emulator.http = url.to_owned(),
                None => return Err(format!("unexpected line from the emulator: {line}")),
            }
        }
        Ok(emulator)
    }

    /// The emulator's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many requests the emulator has answered, as its log tells, once it has told at
    /// least `expected` or `patience` has passed, and then [`SETTLE`] more for any it should
    /// not have answered: it logs a request just after answering it. `None` unless it was
    /// started with [`Emulator::start_recording`].
    pub fn answered(&self, expected: usize, patience: Duration) -> Option<usize> {
        let log = self.log.as_ref()?;
        let count = || {
            let lines = log.lock().unwrap_or_else(|e| e.into_inner());
            lines
                .iter()
                .filter(|line| line.contains(REQUEST_LOG) && line.contains(" -> "))
                .count()
        };
        let deadline = Instant::now() + patience;
        while count() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(SETTLE);
        Some(count())
    }

    /// The emulator's log lines so far (empty unless they are recorded).
    pub fn log(&self) -> Vec<String> {
        self.log.as_ref().map_or_else(Vec::new, |log| {
            log.lock().unwrap_or_else(|e| e.into_inner()).clone()
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo fleet, whose first key the demo and the benchmarks sign with.
pub fn demo_fleet_file() -> PathBuf {
    util::root().join("tests").join("fleets").join("demo.json")
}

/// A JSON file.
pub fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))
}

/// `demo` (the parsed demo fleet) with one instance, `instance_id` in ap-guangzhou, holding a
/// healthy certificate for each of `serials`, copied from the demo's first.
pub fn fleet_of(
    demo: &serde_json::Value,
    instance_id: &str,
    serials: &[String],
) -> serde_json::Value {
    let template = &demo["instances"][0]["certificates"][0];
    let certificates: Vec<serde_json::Value> = serials
        .iter()
        .map(|serial| {
            let mut certificate = template.clone();
            certificate["DeviceCertificateSn"] = serial.as_str().into();
            certificate
        })
        .collect();
    let mut fleet = demo.clone();
    fleet["instances"] = serde_json::json!([{
        "instance_id": instance_id,
        "region": "ap-guangzhou",
        "certificates": certificates,
    }]);
    fleet
}

/// An API key, as the fleet file lists it.
pub struct Key {
    pub secret_id: String,
    pub secret_key: String,
}

/// The first key of `fleet` (the parsed fleet file).
pub fn first_key(fleet: &serde_json::Value) -> Key {
    let text = |name: &str| {
        fleet["credentials"][0][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    Key {
        secret_id: text("secret_id"),
        secret_key: text("secret_key"),
    }
}

/// `bin/mqttcert --endpoint URL --region ap-guangzhou [--ca-file CA]`, with `key` in the
/// environment and no log settings inherited; the caller adds the command.
pub fn mqttcert(bin: &Path, endpoint: &str, ca_file: Option<&Path>, key: &Key) -> Command {
    let mut command = Command::new(bin.join("mqttcert"));
    command.args(["--endpoint", endpoint, "--region", "ap-guangzhou"]);
    if let Some(ca_file) = ca_file {
        command.arg("--ca-file").arg(ca_file);
    }
    command
        .env("TENCENTCLOUD_SECRET_ID", &key.secret_id)
        .env("TENCENTCLOUD_SECRET_KEY", &key.secret_key)
        .env_remove("RUST_LOG");
    command
}
