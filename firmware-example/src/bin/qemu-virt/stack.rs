//! Peak stack measurement: the free stack is painted at boot, and the deepest word that lost its
//! paint tells how far the stack has grown since.

use core::arch::asm;
use core::ptr;

/// The word the free stack is painted with.
const PAINT: u32 = 0xDEAD_C0DE;
/// Bytes below the stack pointer of [`paint`] left alone, for its own frame.
const MARGIN: usize = 256;

unsafe extern "C" {
    /// Lowest address of the stack region (`memory.x`).
    static _stack_bottom: u32;
    /// Top of the stack (riscv-rt's `link.x`).
    static _stack_start: u32;
}

fn bottom() -> usize {
    ptr::addr_of!(_stack_bottom) as usize
}

fn top() -> usize {
    ptr::addr_of!(_stack_start) as usize
}

/// Paints the stack from its bottom up to just below the current frame.
#[inline(never)]
pub fn paint() {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; no memory is touched.
    unsafe { asm!("mv {}, sp", out(reg) sp) };
    let mut word = bottom();
    while word < sp - MARGIN {
        // SAFETY: the words between the stack's bottom and below the live frames belong to no
        // one yet: the stack region holds nothing else (`memory.x`).
        unsafe { ptr::write_volatile(word as *mut u32, PAINT) };
        word += 4;
    }
}

/// The deepest the stack has been since [`paint`], in bytes from its top.
pub fn peak() -> usize {
    let mut word = bottom();
    // SAFETY: reads words of the stack region, all of which are initialised (painted or used).
    while word < top() && unsafe { ptr::read_volatile(word as *const u32) } == PAINT {
        word += 4;
    }
    top() - word
}
