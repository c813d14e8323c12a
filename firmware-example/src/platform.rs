//! What a board provides: a TCP stack, a wall clock, random numbers and a way to wait.
//!
//! The TCP stack is [`embedded_nal_async::TcpConnect`] (embassy-net's `TcpClient` implements it),
//! the random numbers come from any [`rand_core::CryptoRngCore`], and waiting is
//! [`embedded_hal_async::delay::DelayNs`] (embassy-time's `Delay` implements it). Only the clock
//! is this crate's own trait, because no common one tells the time of day.

use embedded_hal_async::delay::DelayNs;
use embedded_nal_async::TcpConnect;
use rand_core::CryptoRngCore;

/// The device's idea of the time of day.
///
/// It may be wrong: the checker learns the server's time from each reply and corrects the
/// timestamps it signs and the time it checks the server's certificates at. It must still be
/// within the validity window of those certificates (usually months), or no handshake
/// succeeds and the server's time cannot be learnt.
pub trait Clock {
    /// Unix time in milliseconds, as the device believes it.
    fn now_ms(&self) -> u64;
}

impl<C: Clock> Clock for &C {
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
