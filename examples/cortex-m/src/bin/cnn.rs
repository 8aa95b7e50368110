//! A convolutional network on a microcontroller: the `mnist_cnn` example's CNN (two convolutions
//! with max pooling, 98.5 % on the 2,000 held-out digits), weights in flash (decoded at compile
//! time), no allocator. Prints each of the 20 test digits' predicted class and probability bits
//! (the same digits as `mnist`), then the stack and instructions of one inference.
//!
//! Needs about 135 KB of stack (the convolution kernel's 48 KB im2col buffer and the activations),
//! so it runs on mps2-an386 (4 MB RAM) but not on lm3s6965evb (64 KB) or the micro:bit (16 KB):
//! `run.sh` runs it on the Cortex-M4F only. On a board with too little RAM it says so and exits
//! with failure instead of overflowing the stack.
#![no_std]
#![no_main]

use constnet::prelude::*;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

network! {
    #[input(1, 28, 28)]
    pub struct Cnn {
        c1: Conv2d<16, 5, Relu>,
        p1: MaxPool2d<2>,
        c2: Conv2d<32, 3, Relu>,
        p2: MaxPool2d<2>,
        f: Flatten,
        d: Dropout<50>,
        out: Dense<800, 10, Softmax>,
    }
}

// The build fails here, before the linker, if the model outgrows the smallest board's flash.
const _: () = assert!(
    Cnn::WEIGHT_BYTES <= 220 * 1024,
    "the CNN model does not fit in flash"
);

/// In flash: a wrong-length file is a type error (`&[u8; 52264]` expected).
static NET: Cnn = Cnn::from_le_bytes(include_bytes!("../../data/cnn.bin"));
static DIGITS: &[u8; 20 * 784] = include_bytes!("../../data/digits.bin");

/// Stack the CNN is given: more than `forward` was measured to use on the Cortex-M4F (135,508
/// bytes: a 52 KB frame for the convolution kernel, mostly its im2col buffer, under an 81 KB frame
/// that holds the layers' activations), and what is painted to measure it (`stack_used_within`
/// panics if that was not enough).
const STACK: usize = 160 * 1024;

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
    let free = constnet_firmware::free_stack();
    if free < STACK + 4096 {
        hprintln!(
            "cnn needs about {} KB of stack; this board has {} KB free",
            STACK / 1024,
            free / 1024
        );
        debug::exit(debug::EXIT_FAILURE);
    }
    for digit in DIGITS.chunks_exact(784) {
        let (class, p) = classify(digit);
        hprintln!("cnn {} p={:08x}", class, p.to_bits());
    }
    // Stack of `forward` itself, with the input already built by the caller.
    let x: [f32; 784] = core::array::from_fn(|i| f32::from(DIGITS[i]) / 255.0);
    let (_, stack) =
        constnet_firmware::stack_used_within(STACK, || NET.forward(core::hint::black_box(&x)));
    let (_, ticks) = constnet_firmware::ticks(&mut cp.SYST, || classify(&DIGITS[..784]));
    hprintln!("stack {} bytes, {} ticks per inference", stack, ticks);
    hprintln!(
        "inference buffers {} bytes (INFERENCE_BYTES)",
        Cnn::INFERENCE_BYTES
    );
    debug::exit(debug::EXIT_SUCCESS);
    // Under a debugger or QEMU the exit above ends the program; on a bare board, idle.
    loop {
        cortex_m::asm::wfi();
    }
}
