//! embassy-time on the CLINT of QEMU's `virt` machine: `mtime` is the clock, a 10 MHz counter
//! (one tick is 100 ns), and `mtimecmp` the alarm.
//!
//! Timers waiting to expire are kept in embassy's integrated queue, in the tasks themselves.
//! The alarm is set for the earliest of them; when it fires, the machine timer interrupt wakes
//! every task whose time has come and sets the alarm for the next one. Between two, the hart
//! sleeps in `wfi`.

use core::cell::RefCell;
use core::ptr;
use core::task::Waker;

use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;
use riscv::interrupt::Interrupt;

/// `mtime` in the CLINT (`0x0200_0000 + 0xBFF8`).
const MTIME: usize = 0x0200_BFF8;
/// `mtimecmp` of hart 0 in the CLINT (`0x0200_0000 + 0x4000`).
const MTIMECMP: usize = 0x0200_4000;

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

/// Sets the alarm for tick `at` (`u64::MAX`: none). The high half goes to its maximum first, so
/// that no value half-written in between is in the past and fires early.
fn set_alarm(at: u64) {
    // SAFETY: MTIMECMP is hart 0's compare register in the CLINT, mapped by the `virt` machine;
    // writing it only moves the time of the next machine timer interrupt.
    unsafe {
        ptr::write_volatile((MTIMECMP + 4) as *mut u32, u32::MAX);
        ptr::write_volatile(MTIMECMP as *mut u32, at as u32);
        ptr::write_volatile((MTIMECMP + 4) as *mut u32, (at >> 32) as u32);
    }
}

struct Mtime {
    queue: Mutex<RefCell<Queue>>,
}

impl Mtime {
    /// Wakes the timers that have expired and sets the alarm for the next one.
    fn expire(&self, queue: &mut Queue) {
        set_alarm(queue.next_expiration(mtime()));
    }
}

impl Driver for Mtime {
    fn now(&self) -> u64 {
        mtime()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            if queue.schedule_wake(at, waker) {
                self.expire(&mut queue);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: Mtime = Mtime {
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Clears the alarm (`mtimecmp` is 0 at reset, which would fire at once) and enables the
/// machine timer interrupt; interrupts are taken once `mstatus.MIE` is set.
pub fn init() {
    set_alarm(u64::MAX);
    // SAFETY: the handler below is defined and only touches the queue inside a critical
    // section.
    unsafe { riscv::interrupt::enable_interrupt(Interrupt::MachineTimer) };
}

#[riscv_rt::core_interrupt(Interrupt::MachineTimer)]
fn machine_timer() {
    critical_section::with(|cs| DRIVER.expire(&mut DRIVER.queue.borrow_ref_mut(cs)));
}
