//! Build script of the QEMU board support (feature `qemu`); without that feature it does nothing,
//! so the library builds on any host unchanged.
//!
//! It does two things for the `qemu-virt` binary:
//!
//! - **Linking**, for `riscv32imac-unknown-none-elf` only: `memory.x` goes where the linker looks,
//!   and the binary links with it, riscv-rt's `link.x` and defmt's `defmt.x`.
//! - **Configuration**: the firmware's settings come from `MQTTCERT_*` environment variables at
//!   build time, never from literals in the code. They are checked here and written as constants
//!   to `$OUT_DIR/config.rs`, which `src/bin/qemu-virt/config.rs` includes. The table below is the
//!   reference; a missing required variable or an invalid value stops the build with a message
//!   that names it.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `MQTTCERT_API_HOST` | `mqtt.tencentcloudapi.com` | API host name: the `Host` header that is signed, and the name the server certificate must carry |
//! | `MQTTCERT_API_IP` | required | IPv4 address to connect to (the firmware has no DNS resolver); under QEMU's user network the host is `10.0.2.2` |
//! | `MQTTCERT_API_PORT` | `443` | TCP port of the API |
//! | `MQTTCERT_REGION` | `ap-guangzhou` | region of the instance |
//! | `MQTTCERT_INSTANCE_ID` | required | TDMQ for MQTT instance id |
//! | `MQTTCERT_SERIAL` | required, unless `MQTTCERT_DEVICE_CERT` is set | serial number of this device's certificate |
//! | `MQTTCERT_DEVICE_CERT` | none | path of this device's own certificate (PEM); the firmware reads the serial from it at boot, instead of `MQTTCERT_SERIAL` |
//! | `MQTTCERT_SECRET_ID` | required | API key id |
//! | `MQTTCERT_SECRET_KEY` | required | API secret key; it is compiled into the image, so use a key allowed only `mqtt:DescribeDeviceCertificate` on the instance |
//! | `MQTTCERT_TOKEN` | none | session token, with a temporary key |
//! | `MQTTCERT_CA_PEM` | required | path of the PEM file holding the CA certificate the API's server certificate must chain to (the pin) |
//! | `MQTTCERT_CHECK_INTERVAL_SECS` | `86400` | time between two checks, after the one at boot |
//! | `MQTTCERT_WARN_DAYS` | `30` | a certificate expiring within this many days is reported as expiring |
//! | `MQTTCERT_CHECKS` | `0` | number of checks before the firmware exits with the last outcome (`0`: check forever) |
//! | `MQTTCERT_BRINGUP` | `0` | `1`: prove the board only, with one plain HTTP exchange with `MQTTCERT_API_IP:MQTTCERT_API_PORT` instead of a check |

// A build script reports a broken environment by panicking.
#![allow(clippy::expect_used)]

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[path = "src/pem.rs"]
mod pem;

/// The target the board support links for.
const BOARD_TARGET: &str = "riscv32imac-unknown-none-elf";

fn main() {
    if env::var_os("CARGO_FEATURE_QEMU").is_none() {
        return;
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    if env::var("TARGET").is_ok_and(|target| target == BOARD_TARGET) {
        fs::copy("memory.x", out.join("memory.x")).expect("memory.x is copied to OUT_DIR");
        println!("cargo:rustc-link-search={}", out.display());
        // riscv-rt's `link.x` expects the memory layout (the REGION_* aliases) to come first.
        println!("cargo:rustc-link-arg-bins=-Tmemory.x");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
        println!("cargo:rerun-if-changed=memory.x");
    }

    match config() {
        Ok(source) => {
            fs::write(out.join("config.rs"), source).expect("config.rs is written to OUT_DIR")
        }
        Err(problems) => {
            for problem in &problems {
                println!("cargo:warning={problem}");
            }
            panic!(
                "the firmware's build-time configuration is incomplete or invalid:\n  {}\n\
                 (see firmware-example/build.rs for every MQTTCERT_* variable)",
                problems.join("\n  ")
            );
        }
    }
}

/// Reads and checks every variable; returns the Rust source of the constants, or every problem.
fn config() -> Result<String, Vec<String>> {
    let mut vars = Vars::default();

    let host = vars.text("MQTTCERT_API_HOST", Some("mqtt.tencentcloudapi.com"));
    let ip = vars.parsed::<Ipv4Addr>("MQTTCERT_API_IP", None);
    let port = vars.parsed::<u16>("MQTTCERT_API_PORT", Some("443"));
    let region = vars.text("MQTTCERT_REGION", Some("ap-guangzhou"));
    let instance_id = vars.text("MQTTCERT_INSTANCE_ID", None);
    let serial = vars.optional("MQTTCERT_SERIAL");
    let device_cert_path = vars.optional("MQTTCERT_DEVICE_CERT");
    let secret_id = vars.text("MQTTCERT_SECRET_ID", None);
    let secret_key = vars.text("MQTTCERT_SECRET_KEY", None);
    let token = vars.optional("MQTTCERT_TOKEN");
    let ca_path = vars.text("MQTTCERT_CA_PEM", None);
    let interval = vars.parsed::<u32>("MQTTCERT_CHECK_INTERVAL_SECS", Some("86400"));
    let warn_days = vars.parsed::<u32>("MQTTCERT_WARN_DAYS", Some("30"));
    let checks = vars.parsed::<u32>("MQTTCERT_CHECKS", Some("0"));
    let bringup = vars.parsed::<u8>("MQTTCERT_BRINGUP", Some("0"));

    let ca = ca_path
        .as_deref()
        .and_then(|path| vars.certificate("MQTTCERT_CA_PEM", path));
    let device_cert = device_cert_path
        .as_deref()
        .and_then(|path| vars.certificate("MQTTCERT_DEVICE_CERT", path));
    match (&serial, &device_cert_path) {
        (None, None) => vars.problems.push(
            "MQTTCERT_SERIAL: required, not set (or set MQTTCERT_DEVICE_CERT to read it from \
             the device's certificate)"
                .into(),
        ),
        (Some(_), Some(_)) => vars
            .problems
            .push("MQTTCERT_SERIAL and MQTTCERT_DEVICE_CERT: set one of them, not both".into()),
        _ => {}
    }
    if matches!(bringup, Some(value) if value > 1) {
        vars.problems
            .push("MQTTCERT_BRINGUP: must be 0 or 1".into());
    }
    if !vars.problems.is_empty() {
        return Err(vars.problems);
    }

    // Every value is present: the problems would have said otherwise.
    let (Some(host), Some(ip), Some(port), Some(region), Some(instance_id)) =
        (host, ip, port, region, instance_id)
    else {
        unreachable!()
    };
    let (Some(secret_id), Some(secret_key), Some((ca_pem, ca_der))) = (secret_id, secret_key, ca)
    else {
        unreachable!()
    };
    let (Some(interval), Some(warn_days), Some(checks), Some(bringup)) =
        (interval, warn_days, checks, bringup)
    else {
        unreachable!()
    };

    let mut source = String::from("// Generated by build.rs from the MQTTCERT_* variables.\n");
    let mut constant = |doc: &str, name: &str, ty: &str, value: String| {
        let _ = writeln!(source, "/// {doc}\npub const {name}: {ty} = {value};");
    };
    constant(
        "API host name (`MQTTCERT_API_HOST`).",
        "API_HOST",
        "&str",
        format!("{host:?}"),
    );
    constant(
        "IPv4 address of the API (`MQTTCERT_API_IP`).",
        "API_IP",
        "[u8; 4]",
        format!("{:?}", ip.octets()),
    );
    constant(
        "TCP port of the API (`MQTTCERT_API_PORT`).",
        "API_PORT",
        "u16",
        port.to_string(),
    );
    constant(
        "Region (`MQTTCERT_REGION`).",
        "REGION",
        "&str",
        format!("{region:?}"),
    );
    constant(
        "Instance id (`MQTTCERT_INSTANCE_ID`).",
        "INSTANCE_ID",
        "&str",
        format!("{instance_id:?}"),
    );
    constant(
        "Certificate serial (`MQTTCERT_SERIAL`), unless it is read from `DEVICE_CERT`.",
        "SERIAL",
        "Option<&str>",
        format!("{serial:?}"),
    );
    constant(
        "The device's own certificate, DER (from `MQTTCERT_DEVICE_CERT`).",
        "DEVICE_CERT",
        "Option<&[u8]>",
        match device_cert {
            Some((_, der)) => format!("Some(&{der:?})"),
            None => "None".into(),
        },
    );
    constant(
        "API key id (`MQTTCERT_SECRET_ID`).",
        "SECRET_ID",
        "&str",
        format!("{secret_id:?}"),
    );
    constant(
        "API secret key (`MQTTCERT_SECRET_KEY`): never logged.",
        "SECRET_KEY",
        "&str",
        format!("{secret_key:?}"),
    );
    constant(
        "Session token of a temporary key (`MQTTCERT_TOKEN`): never logged.",
        "TOKEN",
        "Option<&str>",
        format!("{token:?}"),
    );
    constant(
        "The pinned CA certificate, PEM (`MQTTCERT_CA_PEM`).",
        "CA_PEM",
        "&str",
        format!("{ca_pem:?}"),
    );
    constant(
        "The pinned CA certificate, DER (from `MQTTCERT_CA_PEM`).",
        "CA_DER",
        "&[u8]",
        format!("&{ca_der:?}"),
    );
    constant(
        "Seconds between two checks (`MQTTCERT_CHECK_INTERVAL_SECS`).",
        "CHECK_INTERVAL_SECS",
        "u32",
        interval.to_string(),
    );
    constant(
        "Days before expiry that count as expiring (`MQTTCERT_WARN_DAYS`).",
        "WARN_DAYS",
        "u32",
        warn_days.to_string(),
    );
    constant(
        "Checks before exiting, 0 for ever (`MQTTCERT_CHECKS`).",
        "CHECKS",
        "u32",
        checks.to_string(),
    );
    constant(
        "Prove the board with a plain HTTP exchange instead of a check (`MQTTCERT_BRINGUP`).",
        "BRINGUP",
        "bool",
        (bringup == 1).to_string(),
    );
    Ok(source)
}

/// The variables read so far and the problems found.
#[derive(Default)]
struct Vars {
    problems: Vec<String>,
}

impl Vars {
    /// A non-empty value of `name`, or `default`; a problem when neither exists.
    fn text(&mut self, name: &str, default: Option<&str>) -> Option<String> {
        println!("cargo:rerun-if-env-changed={name}");
        match env::var(name) {
            Ok(value) if !value.is_empty() => Some(value),
            Ok(_) | Err(env::VarError::NotPresent) => match default {
                Some(default) => Some(default.to_owned()),
                None => {
                    self.problems.push(format!("{name}: required, not set"));
                    None
                }
            },
            Err(env::VarError::NotUnicode(_)) => {
                self.problems.push(format!("{name}: not valid UTF-8"));
                None
            }
        }
    }

    /// The value of `name`, when it is set and not empty.
    fn optional(&mut self, name: &str) -> Option<String> {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).ok().filter(|value| !value.is_empty())
    }

    /// The certificate in the PEM file at `path`, named by the variable `name`: its PEM text and
    /// DER bytes.
    fn certificate(&mut self, name: &str, path: &str) -> Option<(String, Vec<u8>)> {
        println!("cargo:rerun-if-changed={path}");
        let read = fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|pem| {
                let der = pem_to_der(&pem)?;
                Ok((pem, der))
            });
        match read {
            Ok(certificate) => Some(certificate),
            Err(err) => {
                self.problems.push(format!(
                    "{name}: cannot read {path} as a PEM certificate: {err}"
                ));
                None
            }
        }
    }

    /// The value of `name` (or `default`) parsed as a `T`.
    fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: Option<&str>) -> Option<T> {
        let text = self.text(name, default)?;
        let parsed = text.trim().parse().ok();
        if parsed.is_none() {
            self.problems.push(format!(
                "{name}: {text:?} is not a valid {}",
                std::any::type_name::<T>()
            ));
        }
        parsed
    }
}

/// The DER bytes of the first certificate in `pem`, decoded by the library's own decoder.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let mut der = vec![0u8; pem.len()];
    let len = pem::to_der(pem.as_bytes(), &mut der)
        .map_err(|err| err.to_string())?
        .len();
    if len == 0 {
        return Err("empty certificate".into());
    }
    der.truncate(len);
    Ok(der)
}
