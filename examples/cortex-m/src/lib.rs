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
/// pattern and looking for the deepest word `f` overwrote.
pub fn stack_used<R>(f: impl FnOnce() -> R) -> (R, usize) {
    const PATTERN: u32 = 0xDEAD_BEEF;
    const DEPTH: usize = 8 * 1024; // words below the current frame that are painted
    let sp = cortex_m::register::msp::read() as usize;
    // Leave 64 bytes for this function's own calls before `f` runs.
    let top = (sp - 64) & !3;
    let bottom = top - DEPTH;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: free stack below the current frame, inside RAM (the boards have ≥ 16 KB).
        unsafe { core::ptr::write_volatile(addr as *mut u32, PATTERN) };
        addr += 4;
    }
    let r = f();
    let mut addr = bottom;
    // SAFETY: as above.
    while addr < top && unsafe { core::ptr::read_volatile(addr as *const u32) } == PATTERN {
        addr += 4;
    }
    (r, sp - addr)
}
