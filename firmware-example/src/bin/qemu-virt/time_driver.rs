//! embassy-time on the CLINT's `mtime`, a 10 MHz counter: one tick is 100 ns.
//!
//! Wake-ups are not scheduled with `mtimecmp` and the timer interrupt: the firmware busy-polls
//! (the executor spins), so a timer asking to be woken at a later tick is woken at once and looks
//! at the time again on its next poll. That costs a host CPU core while the firmware waits, which
//! is acceptable for an example under QEMU; a board that must sleep would program `mtimecmp`,
//! enable the machine timer interrupt and wake the earliest waker from its handler.

use core::ptr;
use core::task::Waker;

use embassy_time_driver::Driver;

/// `mtime` in the CLINT of QEMU's `virt` machine (`0x0200_0000 + 0xBFF8`).
const MTIME: usize = 0x0200_BFF8;

/// Reads the 64-bit `mtime` as two 32-bit halves, again when the low half wrapped in between.
fn mtime() -> u64 {
    loop {
        // SAFETY: MTIME is the CLINT's 64-bit timer register, mapped by the `virt` machine;
        // reading its halves has no effect on memory.
        let (high, low, again) = unsafe {
            let high = ptr::read_volatile((MTIME + 4) as *const u32);
            let low = ptr::read_volatile(MTIME as *const u32);
            let again = ptr::read_volatile((MTIME + 4) as *const u32);
            (high, low, again)
        };
        if high == again {
            return (u64::from(high) << 32) | u64::from(low);
        }
    }
}

struct Mtime;

impl Driver for Mtime {
    fn now(&self) -> u64 {
        mtime()
    }

    fn schedule_wake(&self, _at: u64, waker: &Waker) {
        waker.wake_by_ref();
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: Mtime = Mtime);
