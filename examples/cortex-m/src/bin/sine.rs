//! The TinyML "hello world" (1→16→16→1, ReLU) on a microcontroller, for a footprint comparison.
#![no_std]
#![no_main]

use constnet::prelude::*;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

network! {
    pub struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> }
}

static NET: Sine = Sine::from_le_bytes(include_bytes!("../../data/sine.bin"));

#[inline(never)]
fn infer(x: f32) -> f32 {
    NET.forward(&[x])[0]
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    for i in 0..8 {
        let x = i as f32 * 0.75;
        hprintln!("sine {:08x} -> {:08x}", x.to_bits(), infer(x).to_bits());
    }
    let (_, stack) = constnet_firmware::stack_used(|| infer(1.0));
    let (_, ticks) = constnet_firmware::ticks(&mut cp.SYST, || infer(core::hint::black_box(1.0)));
    hprintln!("stack {} bytes, {} ticks per inference", stack, ticks);
    debug::exit(debug::EXIT_SUCCESS);
    // Under a debugger or QEMU the exit above ends the program; on a bare board, idle.
    loop {
        cortex_m::asm::wfi();
    }
}
