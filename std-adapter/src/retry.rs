//! When to try again, and how fast to go.
//!
//! [`RetryPolicy`] bounds the attempts of one call in number and in time, and spaces them with
//! jittered exponential back-off. [`RateLimiter`] keeps every request of a process, retries
//! included, under the API's rate limit: requests take slots on one shared schedule and sleep
//! until theirs comes.
//!
//! Both are pure arithmetic over a time handed in, so that tests need no clock.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The API's documented rate limit, per second.
pub const API_RATE_LIMIT: u32 = 20;
/// The spacing the process keeps to by default: 51.3 ms, about 19.5 requests a second. Twenty
/// of these slots span 1.026 s, so that no one-second window, even one counted at both ends,
/// holds more than [`API_RATE_LIMIT`] requests, with a little room for network jitter.
pub const DEFAULT_INTERVAL: Duration = Duration::from_micros(51_300);

/// How often and for how long one call is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// No retry starts after this much time since the first attempt began.
    pub max_elapsed: Duration,
    /// The back-off before the first retry; it doubles for each one after.
    pub base_delay: Duration,
    /// The longest back-off.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts within 30 s, waiting about 0.5, 1 and 2 s between them.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(30),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub const fn never() -> Self {
        Self {
            max_attempts: 1,
            max_elapsed: Duration::ZERO,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// The back-off before retry number `retry` (0 for the first), with `jitter` in `[0, 1)`:
    /// between half and all of `base_delay × 2^retry`, capped at `max_delay`.
    ///
    /// Half the delay is kept whatever the jitter, so a retry never comes too soon; the other
    /// half is random so that clients failing together do not retry together.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The wait before the next attempt, after `attempts` attempts have failed with a
    /// retryable error, `elapsed` after the first began; `None` when the budget of attempts
    /// or of time is spent.
    pub fn next_delay(&self, attempts: u32, elapsed: Duration, jitter: f64) -> Option<Duration> {
        if attempts == 0 || attempts >= self.max_attempts {
            return None;
        }
        let delay = self.backoff(attempts - 1, jitter);
        (elapsed.saturating_add(delay) < self.max_elapsed).then_some(delay)
    }
}

/// A schedule of request slots, `interval` apart, shared by every request that holds it.
///
/// Each request reserves the next free slot and sleeps until it; nothing spins. The schedule
/// does not bank unused time: after a pause the next request goes at once, and the ones after
/// it are spaced again.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

static PROCESS: LazyLock<Arc<RateLimiter>> =
    LazyLock::new(|| Arc::new(RateLimiter::with_interval(DEFAULT_INTERVAL)));

impl RateLimiter {
    /// At most `rate` requests a second (at least 1).
    pub fn per_second(rate: u32) -> Self {
        Self::with_interval(Duration::from_secs(1) / rate.max(1))
    }

    /// Slots `interval` apart.
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    /// The limiter every client of this process shares by default: one request every
    /// [`DEFAULT_INTERVAL`].
    pub fn process() -> Arc<Self> {
        Arc::clone(&PROCESS)
    }

    /// The time between slots.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the first free slot at or after `now` and returns its time.
    pub fn reserve(&self, now: Instant) -> Instant {
        // The schedule is a plain `Instant`: a panic elsewhere cannot leave it inconsistent.
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = next.map_or(now, |next| next.max(now));
        *next = Some(slot + self.interval);
        slot
    }

    /// Waits for a slot; returns how long it waited.
    pub fn wait(&self) -> Duration {
        let now = Instant::now();
        let slot = self.reserve(now);
        let wait = slot.saturating_duration_since(now);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter_and_cap() {
        let policy = RetryPolicy::default();
        for (retry, full_ms) in [
            (0, 500),
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (9, 8000),
        ] {
            let low = policy.backoff(retry, 0.0);
            let high = policy.backoff(retry, 0.999_999);
            assert_eq!(low, Duration::from_millis(full_ms / 2), "{retry}");
            assert!(high <= Duration::from_millis(full_ms), "{retry}");
            assert!(high > Duration::from_millis(full_ms * 99 / 100), "{retry}");
        }
        assert_eq!(policy.backoff(40, 0.5), policy.backoff(4, 0.5));
        assert_eq!(policy.backoff(u32::MAX, 2.0), Duration::from_secs(8));
    }

    #[test]
    fn retries_stop_at_the_attempt_and_time_budgets() {
        let policy = RetryPolicy::default();
        let zero = Duration::ZERO;
        assert_eq!(
            policy.next_delay(1, zero, 0.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            policy.next_delay(3, zero, 0.0),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(policy.next_delay(4, zero, 0.0), None);
        assert_eq!(policy.next_delay(0, zero, 0.0), None);
        assert_eq!(
            policy.next_delay(1, Duration::from_secs(29), 0.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            policy.next_delay(1, Duration::from_millis(29_800), 0.0),
            None
        );
        assert_eq!(RetryPolicy::never().next_delay(1, zero, 0.0), None);

        // The worst case of the default policy: every attempt times out after `t`.
        let t = Duration::from_secs(10);
        let mut elapsed = t;
        let mut attempts = 1;
        while let Some(delay) = policy.next_delay(attempts, elapsed, 0.999) {
            elapsed += delay + t;
            attempts += 1;
        }
        assert_eq!(attempts, 3);
        assert!(elapsed < policy.max_elapsed + t);
    }

    #[test]
    fn the_limiter_spaces_slots_evenly() {
        let limiter = RateLimiter::per_second(20);
        assert_eq!(limiter.interval(), Duration::from_millis(50));
        let t0 = Instant::now();

        // A burst takes consecutive slots.
        let slots: Vec<_> = (0..5).map(|_| limiter.reserve(t0)).collect();
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(*slot - t0, Duration::from_millis(50) * i as u32);
        }

        // A request during the burst waits behind it; one after a pause goes at once.
        let later = t0 + Duration::from_millis(120);
        assert_eq!(limiter.reserve(later) - t0, Duration::from_millis(250));
        let idle = t0 + Duration::from_secs(2);
        assert_eq!(limiter.reserve(idle), idle);
        assert_eq!(limiter.reserve(idle) - idle, Duration::from_millis(50));
    }

    #[test]
    fn threads_share_one_schedule() {
        let limiter = Arc::new(RateLimiter::with_interval(Duration::from_millis(10)));
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                std::thread::spawn(move || {
                    for _ in 0..3 {
                        limiter.wait();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Twelve slots 10 ms apart: the last is at 110 ms at the earliest.
        assert!(start.elapsed() >= Duration::from_millis(110));
    }
}
