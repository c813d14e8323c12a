//! Interrupts: the platform-level interrupt controller (PLIC) of QEMU's `virt` machine, through
//! which the virtio devices' interrupts reach hart 0 in machine mode, and the switch that lets
//! the hart take interrupts at all.
//!
//! The executor sleeps in `wfi` when no task is ready; the machine timer interrupt (the
//! `time_driver`) and the network card's interrupt (`virtio_net`) wake it.

use core::ptr;

use riscv::interrupt::Interrupt;

/// The PLIC's register window.
const BASE: usize = 0x0c00_0000;
/// Source priorities, one word per source; 0 disables the source.
const PRIORITY: usize = BASE;
/// Enable bits of context 0 (hart 0, machine mode), one bit per source.
const ENABLE: usize = BASE + 0x2000;
/// Priority threshold of context 0: sources above it interrupt.
const THRESHOLD: usize = BASE + 0x20_0000;
/// Claim (read) and complete (write) register of context 0.
const CLAIM: usize = BASE + 0x20_0004;

/// The PLIC source of the virtio-mmio slot `slot`: sources 1 to 8 in slot order.
pub const fn virtio_source(slot: usize) -> u32 {
    1 + slot as u32
}

/// Lets the hart take the interrupts enabled one by one (`mstatus.MIE`).
pub fn start() {
    // SAFETY: every interrupt enabled has its handler (the machine timer in `time_driver`, the
    // machine external interrupt here), and they share data only through critical sections and
    // atomics.
    unsafe { riscv::interrupt::enable() };
}

/// Lets `source` interrupt hart 0 and enables the machine external interrupt.
pub fn enable(source: u32) {
    let word = ENABLE + 4 * (source as usize / 32);
    // SAFETY: the registers are the PLIC's, mapped by the `virt` machine; the writes only
    // route `source` to hart 0.
    unsafe {
        ptr::write_volatile((PRIORITY + 4 * source as usize) as *mut u32, 1);
        let enabled = ptr::read_volatile(word as *const u32);
        ptr::write_volatile(word as *mut u32, enabled | 1 << (source % 32));
        ptr::write_volatile(THRESHOLD as *mut u32, 0);
        riscv::interrupt::enable_interrupt(Interrupt::MachineExternal);
    }
}

/// The highest-priority pending source, which the PLIC then holds until [`complete`].
pub fn claim() -> Option<u32> {
    // SAFETY: reading the claim register of context 0 takes the pending source.
    let source = unsafe { ptr::read_volatile(CLAIM as *const u32) };
    (source != 0).then_some(source)
}

/// Tells the PLIC that `source`, from [`claim`], has been served.
pub fn complete(source: u32) {
    // SAFETY: writing a claimed source back to the claim register completes it.
    unsafe { ptr::write_volatile(CLAIM as *mut u32, source) };
}

/// Serves every pending source: the network card is the only one enabled.
#[riscv_rt::core_interrupt(Interrupt::MachineExternal)]
fn machine_external() {
    while let Some(source) = claim() {
        crate::virtio_net::interrupt(source);
        complete(source);
    }
}
