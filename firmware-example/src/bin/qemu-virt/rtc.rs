//! The goldfish real-time clock at `0x0010_1000`: the host's UTC time (or `-rtc base=…`).

use core::ptr;

/// Base address of the RTC on QEMU's `virt` machine.
const BASE: usize = 0x0010_1000;
/// Low 32 bits of the time in nanoseconds; reading it latches the high word.
const TIME_LOW: usize = BASE;
/// High 32 bits of the time latched by the last read of `TIME_LOW`.
const TIME_HIGH: usize = BASE + 4;

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    // SAFETY: TIME_LOW and TIME_HIGH are 32-bit registers of the RTC the `virt` machine maps at
    // BASE; reading them has no effect on memory. The low word is read first, as it latches the
    // high one.
    let (low, high) = unsafe {
        let low = ptr::read_volatile(TIME_LOW as *const u32);
        let high = ptr::read_volatile(TIME_HIGH as *const u32);
        (low, high)
    };
    (u64::from(high) << 32) | u64::from(low)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    now_ns() / 1_000_000_000
}
