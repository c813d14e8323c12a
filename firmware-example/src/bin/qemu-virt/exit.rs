//! Leaving QEMU through the `sifive_test` device at `0x0010_0000`, with an exit status.
//!
//! | Status | Meaning |
//! |---|---|
//! | 0 | the check ran and the certificate is usable (healthy or expiring); or the bring-up exchange worked |
//! | 2 | the certificate is not usable: revoked, expired, not yet valid, inactive, pending activation, serial mismatch or an unknown status |
//! | 3 | the API does not know the certificate (`ResourceNotFound.*`) |
//! | 4 | TLS failed: handshake, or the server's certificate does not chain to the pinned CA |
//! | 5 | the network failed: no address, connection refused or reset, time-out |
//! | 6 | the API answered with another error (credentials, clock, rate limit…) or a reply that could not be read |
//! | 7 | the board failed: a virtio device is missing or refused to start |
//! | 8 | the firmware panicked |
//!
//! QEMU itself exits with 1 when it cannot start, which is why no outcome uses 1.

use core::ptr;

/// The certificate is usable, or the bring-up worked.
pub const SUCCESS: u16 = 0;
/// The certificate is not usable.
pub const UNUSABLE: u16 = 2;
/// The API does not know the certificate.
pub const NOT_FOUND: u16 = 3;
/// TLS failed.
pub const TLS: u16 = 4;
/// The network failed.
pub const NETWORK: u16 = 5;
/// Another API error, or an unreadable reply.
pub const API: u16 = 6;
/// A device of the board is missing or failed.
pub const BOARD: u16 = 7;
/// The firmware panicked.
pub const PANIC: u16 = 8;

/// Address of the `sifive_test` device.
const SIFIVE_TEST: usize = 0x0010_0000;
/// Ends the machine with status 0.
const PASS: u32 = 0x5555;
/// Ends the machine with the status in the upper half-word.
const FAIL: u32 = 0x3333;

/// Stops the machine; QEMU exits with `status`.
pub fn exit(status: u16) -> ! {
    let command = if status == SUCCESS {
        PASS
    } else {
        (u32::from(status) << 16) | FAIL
    };
    // SAFETY: the `virt` machine maps the sifive_test device's one register at SIFIVE_TEST; the
    // write ends the emulation and touches no memory of the program.
    unsafe { ptr::write_volatile(SIFIVE_TEST as *mut u32, command) };
    // QEMU stops at the write; a machine without the device waits here.
    loop {
        riscv::asm::wfi();
    }
}
