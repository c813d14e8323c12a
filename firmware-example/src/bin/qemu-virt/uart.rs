//! The NS16550 UART at `0x1000_0000`, polled, and defmt's global logger on it.
//!
//! Every defmt frame goes out as the encoder makes it (rzCOBS, zero-delimited), so the host can
//! decode the serial stream with the firmware's ELF. `-serial stdio` passes the bytes unchanged.
//! Nothing else is written to the UART: a stray byte would only cost the decoder one frame.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

/// Base address of the UART on QEMU's `virt` machine.
const BASE: usize = 0x1000_0000;
/// Transmit holding register (write).
const THR: usize = BASE;
/// Line status register.
const LSR: usize = BASE + 5;
/// LSR: the transmit holding register is empty.
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Sends `bytes`, waiting for room before each one.
fn send(bytes: &[u8]) {
    for &byte in bytes {
        // SAFETY: LSR and THR are byte registers of the NS16550 the `virt` machine maps at BASE;
        // volatile accesses to them have no effect on memory the program uses.
        unsafe {
            while ptr::read_volatile(LSR as *const u8) & LSR_THR_EMPTY == 0 {}
            ptr::write_volatile(THR as *mut u8, byte);
        }
    }
}

#[defmt::global_logger]
struct Logger;

/// The encoder and the interrupt state to restore, used only between `acquire` and `release`.
struct State {
    encoder: UnsafeCell<defmt::Encoder>,
    restore: UnsafeCell<critical_section::RestoreState>,
}

// SAFETY: the fields are touched only by the holder of the logger, inside a critical section on
// this single hart (`TAKEN` rejects re-entry), so there is never a second access at a time.
unsafe impl Sync for State {}

static STATE: State = State {
    encoder: UnsafeCell::new(defmt::Encoder::new()),
    restore: UnsafeCell::new(critical_section::RestoreState::invalid()),
};

/// Whether a frame is being written.
static TAKEN: AtomicBool = AtomicBool::new(false);

// SAFETY: `acquire` enters a critical section and refuses re-entry, so `write` and `release` run
// alone, in order, as defmt requires.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        // SAFETY: released in `release`, which defmt calls after every `acquire`.
        let restore = unsafe { critical_section::acquire() };
        if TAKEN.swap(true, Ordering::Relaxed) {
            // A log statement inside the logger: nothing sensible can be written any more.
            crate::exit::exit(crate::exit::PANIC);
        }
        // SAFETY: the logger is held (see `State`).
        unsafe {
            *STATE.restore.get() = restore;
            (*STATE.encoder.get()).start_frame(send);
        }
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // SAFETY: the logger is held (see `State`); the restore state is the one `acquire` saved.
        unsafe {
            (*STATE.encoder.get()).end_frame(send);
            TAKEN.store(false, Ordering::Relaxed);
            critical_section::release(*STATE.restore.get());
        }
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: the logger is held (see `State`).
        unsafe { (*STATE.encoder.get()).write(bytes, send) }
    }
}
