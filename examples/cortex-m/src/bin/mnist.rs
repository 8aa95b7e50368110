//! MNIST inference on a microcontroller: weights in flash (decoded at compile time), no allocator.
//! Prints each of 20 test digits' predicted class and probability bits, then the stack and
//! instructions of one inference.
#![no_std]
#![no_main]

use constnet::prelude::*;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

network! {
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
}

// The build fails here, before the linker, if the model outgrows the smallest board's flash.
const _: () = assert!(
    Mnist::WEIGHT_BYTES <= 220 * 1024,
    "the MNIST model does not fit in flash"
);

/// In flash: a wrong-length file is a type error (`&[u8; 203560]` expected).
static NET: Mnist = Mnist::from_le_bytes(include_bytes!("../../data/mnist.bin"));
static DIGITS: &[u8; 20 * 784] = include_bytes!("../../data/digits.bin");

#[inline(never)]
fn classify(pixels: &[u8]) -> (usize, f32) {
    let x: [f32; 784] = core::array::from_fn(|i| f32::from(pixels[i]) / 255.0);
    let y = NET.forward(&x);
    let class = constnet::argmax(&y);
    (class, y[class])
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    for digit in DIGITS.chunks_exact(784) {
        let (class, p) = classify(digit);
        hprintln!("digit {} p={:08x}", class, p.to_bits());
    }
    // Stack of `forward` itself, with the input already built by the caller.
    let x: [f32; 784] = core::array::from_fn(|i| f32::from(DIGITS[i]) / 255.0);
    let (_, stack) = constnet_firmware::stack_used(|| NET.forward(core::hint::black_box(&x)));
    let (_, ticks) = constnet_firmware::ticks(&mut cp.SYST, || classify(&DIGITS[..784]));
    hprintln!("stack {} bytes, {} ticks per inference", stack, ticks);
    hprintln!(
        "inference buffers {} bytes (INFERENCE_BYTES)",
        Mnist::INFERENCE_BYTES
    );
    debug::exit(debug::EXIT_SUCCESS);
    // Under a debugger or QEMU the exit above ends the program; on a bare board, idle.
    loop {
        cortex_m::asm::wfi();
    }
}
