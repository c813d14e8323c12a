//! What a board provides: a TCP stack, a wall clock, random numbers and a way to wait.
//!
//! The TCP stack is [`embedded_nal_async::TcpConnect`] (embassy-net's `TcpClient` implements it),
//! the random numbers come from any [`rand_core::CryptoRngCore`], and waiting is
//! [`embedded_hal_async::delay::DelayNs`] (embassy-time's `Delay` implements it). Only the clock
//! is this crate's own trait, because no common one tells the time of day.

use embedded_hal_async::delay::DelayNs;
use embedded_nal_async::TcpConnect;
use rand_core::CryptoRngCore;

pub use embedded_tls::{NoClock, TlsClock};

/// The device's idea of the time of day.
///
/// It may be wrong: the checker learns the server's time from each reply and corrects the
/// timestamps it signs, so `now_ms` only has to be monotonic enough to measure a few seconds.
pub trait Clock {
    /// The time source embedded-tls checks the server certificate's validity window against.
    ///
    /// embedded-tls asks it through a function without `self` ([`TlsClock::now`]), so it is a
    /// type, usually reading the same hardware as [`Clock::now_ms`]. [`embedded_tls::NoClock`]
    /// skips the validity check; use it only on a device with no idea of the date.
    type Validity: TlsClock;

    /// Unix time in milliseconds, as the device believes it.
    fn now_ms(&self) -> u64;
}

impl<C: Clock> Clock for &C {
    type Validity = C::Validity;

    fn now_ms(&self) -> u64 {
        C::now_ms(self)
    }
}

/// Everything a check needs from the board, borrowed for the duration of one call.
pub struct Platform<'p, N, C, R, D> {
    /// Opens TCP connections to the API.
    pub tcp: &'p N,
    /// The wall clock.
    pub clock: &'p C,
    /// Random numbers for the TLS key exchange and for back-off jitter.
    pub rng: &'p mut R,
    /// Waits between attempts and bounds each attempt in time.
    pub delay: &'p mut D,
}

impl<'p, N, C, R, D> Platform<'p, N, C, R, D>
where
    N: TcpConnect,
    C: Clock,
    R: CryptoRngCore,
    D: DelayNs,
{
    /// Borrows the four pieces.
    pub fn new(tcp: &'p N, clock: &'p C, rng: &'p mut R, delay: &'p mut D) -> Self {
        Self {
            tcp,
            clock,
            rng,
            delay,
        }
    }
}
