//! The device library on a host: std implementations of what `mqttcert-firmware` asks of a
//! board, so that the firmware's code, embedded-tls included, runs in ordinary tests.
//!
//! - [`TokioTcp`] opens tokio TCP connections and speaks embedded-io-async through
//!   `embedded-io-adapters`;
//! - [`SystemClock`] reads the system clock, optionally shifted to play a device whose clock
//!   is wrong (the checker corrects it from the server's replies);
//! - [`OsRng`] is the operating system's generator;
//! - [`TokioDelay`] waits with tokio's timer.
//!
//! All of them need a tokio runtime with the time and I/O drivers enabled.
//!
//! ```no_run
//! use mqttcert::device::{OsRng, SystemClock, TokioDelay, TokioTcp};
//! use mqttcert_firmware::Platform;
//!
//! # async fn demo() {
//! let (tcp, clock, mut rng, mut delay) = (TokioTcp, SystemClock::new(), OsRng, TokioDelay);
//! let mut platform = Platform::new(&tcp, &clock, &mut rng, &mut delay);
//! # let _ = &mut platform;
//! # }
//! ```

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use embedded_io_adapters::tokio_1::FromTokio;
use mqttcert_firmware::platform::Clock;
use tokio::net::TcpStream;

pub use rand_core::OsRng;

/// TCP connections over the host's sockets, through tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTcp;

impl embedded_nal_async::TcpConnect for TokioTcp {
    type Error = std::io::Error;
    type Connection<'a> = FromTokio<TcpStream>;

    async fn connect<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> Result<Self::Connection<'a>, Self::Error> {
        let stream = TcpStream::connect(remote).await?;
        stream.set_nodelay(true)?;
        Ok(FromTokio::new(stream))
    }
}

/// The system clock, shifted by a fixed number of seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock {
    offset_secs: i64,
}

impl SystemClock {
    /// The system clock as it is.
    pub const fn new() -> Self {
        Self { offset_secs: 0 }
    }

    /// A clock `offset_secs` ahead of the system's (behind when negative), like a device whose
    /// clock was never set right.
    pub const fn skewed(offset_secs: i64) -> Self {
        Self { offset_secs }
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        system_now_ms().saturating_add_signed(self.offset_secs.saturating_mul(1000))
    }
}

fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Waits with tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioDelay;

impl embedded_hal_async::delay::DelayNs for TokioDelay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(u64::from(ns))).await;
    }

    async fn delay_ms(&mut self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
    }
}
