//! The firmware's job: check the device certificate at boot, then every
//! `MQTTCERT_CHECK_INTERVAL_SECS`, with the device library over embassy-net and the board's
//! clock, random numbers and timer.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use embassy_net::Stack;
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_time::{Delay, Duration, Timer};
use mqttcert_core::SecretKey;
use mqttcert_core::check::Policy;
use mqttcert_firmware::embedded_tls::TlsError;
use mqttcert_firmware::serial::{self, Serial};
use mqttcert_firmware::{BufferStorage, Checker, Clock, Config, Error, Outcome, Platform, Retry};
use rand_chacha::ChaCha20Rng;
use static_cell::ConstStaticCell;

use crate::{config, exit, rtc};

/// Bytes of each TCP socket buffer; TLS records are reassembled in the library's own buffers.
const TCP_BUFFER: usize = 4096;

/// The check's memory (about 34 KB), in RAM rather than in the task.
static STORAGE: ConstStaticCell<BufferStorage> = ConstStaticCell::new(BufferStorage::new());
/// The TCP socket of the connection to the API.
static TCP_STATE: ConstStaticCell<TcpClientState<1, TCP_BUFFER, TCP_BUFFER>> =
    ConstStaticCell::new(TcpClientState::new());

/// The wall clock: the goldfish RTC, which QEMU sets from the host (or `-rtc base=…`).
struct Rtc;

impl Clock for Rtc {
    fn now_ms(&self) -> u64 {
        rtc::now_ns() / 1_000_000
    }
}

/// Checks `config::CHECKS` times (for ever when 0) and returns the exit status of the last
/// outcome.
pub async fn run(stack: Stack<'static>, mut rng: ChaCha20Rng) -> u16 {
    let Ok(secret_key) = SecretKey::new(config::SECRET_KEY) else {
        defmt::error!("MQTTCERT_SECRET_KEY is not a valid secret key");
        return exit::API;
    };
    let Some(serial) = serial() else {
        return exit::BOARD;
    };
    let api = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::from(config::API_IP),
        config::API_PORT,
    ));
    let mut checker = Checker::new(Config {
        host: config::API_HOST,
        addr: api,
        region: config::REGION,
        instance_id: config::INSTANCE_ID,
        serial: &serial,
        secret_id: config::SECRET_ID,
        secret_key: &secret_key,
        token: config::TOKEN,
        ca_der: config::CA_DER,
        policy: Policy::warn_within_days(config::WARN_DAYS),
        retry: Retry::default(),
    });
    let tcp = TcpClient::new(stack, TCP_STATE.take());
    let storage = STORAGE.take();
    let mut delay = Delay;

    let mut done = 0u32;
    loop {
        defmt::info!(
            "checking certificate {=str} of {=str} at {=str}",
            serial.as_str(),
            config::INSTANCE_ID,
            config::API_HOST
        );
        let mut platform = Platform::new(&tcp, &Rtc, &mut rng, &mut delay);
        // The library has logged the outcome or the failure.
        let status = status(&checker.check(&mut platform, &mut storage.buffers()).await);
        done += 1;
        defmt::info!("check {=u32} done: exit status {=u16}", done, status);

        if done == config::CHECKS {
            return status;
        }
        Timer::after(Duration::from_secs(config::CHECK_INTERVAL_SECS.into())).await;
    }
}

/// The serial of the certificate to ask about: read from the device's own certificate when the
/// build has one (`MQTTCERT_DEVICE_CERT`), else as configured (`MQTTCERT_SERIAL`).
fn serial() -> Option<Serial> {
    match (config::DEVICE_CERT, config::SERIAL) {
        (Some(certificate), _) => match serial::from_der(certificate) {
            Ok(serial) => {
                defmt::info!(
                    "serial {=str} read from the device certificate",
                    serial.as_str()
                );
                Some(serial)
            }
            Err(err) => {
                defmt::error!("the device certificate gives no serial: {}", err);
                None
            }
        },
        (None, Some(text)) => {
            let serial = Serial::try_from(text).ok();
            if serial.is_none() {
                defmt::error!("MQTTCERT_SERIAL is longer than a serial can be");
            }
            serial
        }
        // The build script requires one of the two.
        (None, None) => None,
    }
}

/// The exit status of a check's result (the table is in `exit`).
fn status(result: &Result<Outcome, Error>) -> u16 {
    match result {
        Ok(outcome) if outcome.is_usable() => exit::SUCCESS,
        Ok(Outcome::Verdict(_)) => exit::UNUSABLE,
        Ok(Outcome::NotFound(_)) => exit::NOT_FOUND,
        Ok(_) => exit::API,
        Err(Error::Handshake(TlsError::Io(_) | TlsError::IoError | TlsError::ConnectionClosed)) => {
            exit::NETWORK
        }
        Err(Error::Handshake(_)) => exit::TLS,
        Err(Error::Connect(_) | Error::Transfer(_) | Error::Timeout) => exit::NETWORK,
        Err(_) => exit::API,
    }
}
