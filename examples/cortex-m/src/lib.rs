//! Measurements shared by the firmware binaries.
#![no_std]

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// Counts SysTick ticks of the core clock around `f`. Under QEMU with `-icount shift=0` a tick is
/// a fixed number of instructions (40 on the mps2 boards, 80 on lm3s6965evb).
pub fn ticks<R>(syst: &mut SYST, f: impl FnOnce() -> R) -> (R, u32) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00FF_FFFF);
    syst.clear_current();
    syst.enable_counter();
    let start = SYST::get_current();
    let r = f();
    let end = SYST::get_current();
    syst.disable_counter();
    (r, start.wrapping_sub(end) & 0x00FF_FFFF)
}

/// Bytes of stack `f` uses, found by painting the free stack below the current frame with a
/// pattern and looking for the deepest word `f` overwrote. Paints 8 KB: enough for the dense
/// networks; see [`stack_used_within`] for more.
pub fn stack_used<R>(f: impl FnOnce() -> R) -> (R, usize) {
    stack_used_within(8 * 1024, f)
}

/// [`stack_used`] painting `depth` bytes below the current frame, for functions that need more
/// than 8 KB (a convolution keeps its im2col buffer on the stack). Panics if `depth` is more than
/// the free stack ([`free_stack`]), or if `f` overwrote the deepest painted word: then the count
/// would only be a lower bound.
pub fn stack_used_within<R>(depth: usize, f: impl FnOnce() -> R) -> (R, usize) {
    const PATTERN: u32 = 0xDEAD_BEEF;
    let sp = cortex_m::register::msp::read() as usize;
    // Leave 64 bytes for this function's own calls before `f` runs.
    let top = (sp - 64) & !3;
    assert!(
        depth + 64 <= free_stack(),
        "stack_used_within: cannot paint below the end of the stack"
    );
    let bottom = top - (depth & !3);
    let mut addr = bottom;
    while addr < top {
        // SAFETY: free stack below the current frame, above the end of the stack (checked).
        unsafe { core::ptr::write_volatile(addr as *mut u32, PATTERN) };
        addr += 4;
    }
    let r = f();
    let mut addr = bottom;
    // SAFETY: as above.
    while addr < top && unsafe { core::ptr::read_volatile(addr as *const u32) } == PATTERN {
        addr += 4;
    }
    assert!(
        addr > bottom,
        "stack_used_within: the whole painted depth was used; paint deeper"
    );
    (r, sp - addr)
}

/// Bytes between the current stack pointer and the end of the stack (cortex-m-rt's `_stack_end`,
/// just above `.bss`): what a function called from here may use before it overwrites statics or
/// leaves RAM.
pub fn free_stack() -> usize {
    extern "C" {
        static _stack_end: u32;
    }
    let sp = cortex_m::register::msp::read() as usize;
    // Only the symbol's address is taken (safe); the linker script defines it.
    let end = core::ptr::addr_of!(_stack_end) as usize;
    sp.saturating_sub(end)
}
