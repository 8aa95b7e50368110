//! The int8 MNIST MLP on a microcontroller: integer weights in flash (decoded at compile time),
//! int8 inputs quantised on the host, integer arithmetic only — it runs on a Cortex-M0 without an
//! FPU as on a Cortex-M4F. Prints each of 20 test digits' predicted class and its 10 int8 output
//! codes, then the stack and instructions of one inference (digit 0) and of all 20.
#![no_std]
#![no_main]

use constnet::prelude::*;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

network! {
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
}

// The flash budget for the int8 weights, checked before the linker.
const _: () = assert!(
    MnistInt8::WEIGHT_BYTES <= 52 * 1024,
    "the int8 MNIST model is over 52 KB"
);

/// In flash: a wrong-length file is a type error (`&[u8; 51432]` expected), invalid parameters
/// fail to compile.
static NET: MnistInt8 = MnistInt8::from_le_bytes(include_bytes!("../../data/mnist.q8"));
/// The 20 test digits, quantised on the host with `NET`'s input parameters (`digits.q8`, one
/// int8 per pixel): no float arithmetic runs here.
static DIGITS: &[u8; 20 * 784] = include_bytes!("../../data/digits.q8");

/// Digit `i` as the network's input (`i8` from the file's bytes).
fn digit(i: usize) -> [i8; 784] {
    core::array::from_fn(|k| DIGITS[i * 784 + k] as i8)
}

#[inline(never)]
fn infer(x: &[i8; 784]) -> [i8; 10] {
    NET.forward_int8(x)
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    for i in 0..20 {
        let y = infer(&digit(i));
        let class = constnet::quant::argmax_i8(&y);
        hprintln!(
            "int8 {} {} {} {} {} {} {} {} {} {} {}",
            class,
            y[0],
            y[1],
            y[2],
            y[3],
            y[4],
            y[5],
            y[6],
            y[7],
            y[8],
            y[9]
        );
    }
    // Stack of the forward pass itself, with the input already built by the caller.
    let x = digit(0);
    let (_, stack) = constnet_firmware::stack_used(|| infer(core::hint::black_box(&x)));
    let (_, ticks) = constnet_firmware::ticks(&mut cp.SYST, || infer(core::hint::black_box(&x)));
    // The kernels skip an image's background, so the count depends on the digit: the sum over
    // all 20 too (each input built before its count starts).
    let mut all = 0;
    for i in 0..20 {
        let x = digit(i);
        all += constnet_firmware::ticks(&mut cp.SYST, || infer(core::hint::black_box(&x))).1;
    }
    // The worst case: no value at the zero point (digit 0 with every code moved by one).
    let dense = x.map(|v| if v < 127 { v + 1 } else { v - 1 });
    let (_, dense) =
        constnet_firmware::ticks(&mut cp.SYST, || infer(core::hint::black_box(&dense)));
    hprintln!("dense input: {} ticks", dense);
    hprintln!(
        "stack {} bytes, {} ticks per inference, {} ticks for the 20 digits",
        stack,
        ticks,
        all
    );
    debug::exit(debug::EXIT_SUCCESS);
    // Under a debugger or QEMU the exit above ends the program; on a bare board, idle.
    loop {
        cortex_m::asm::wfi();
    }
}
