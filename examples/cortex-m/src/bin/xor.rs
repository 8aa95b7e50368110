//! Training on the microcontroller: the XOR network learns with Adam; the trainer (gradients, Adam's
//! state and step counter, batch buffers) is a `static`, made in const evaluation, so its RAM is
//! placed by the linker; no allocator. Exits with failure unless all four predictions are right.
#![no_std]
#![no_main]

use core::cell::RefCell;

use constnet::prelude::*;
use cortex_m::interrupt::{self, Mutex};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

network! {
    pub struct Xor { Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid> }
}

/// In `.bss`: training RAM known at link time.
static TRAINER: Mutex<RefCell<Trainer<Xor, Adam, 4>>> =
    Mutex::new(RefCell::new(Trainer::new_static(Adam::new(0.05))));

#[entry]
fn main() -> ! {
    let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let t = [[0.0], [1.0], [1.0], [0.0]];
    let mut net = Xor::new(7);
    let mut loss = 0.0;
    interrupt::free(|cs| {
        let mut trainer = TRAINER.borrow(cs).borrow_mut();
        for _ in 0..1500 {
            loss = trainer.step(&mut net, Mse, &x, &t);
        }
    });
    hprintln!("xor trained on the MCU: mse {}", loss);
    let mut right = 0;
    for (x, t) in x.iter().zip(&t) {
        let y = net.forward(x)[0];
        hprintln!("{:?} -> {}", x, y);
        right += usize::from((y > 0.5) == (t[0] > 0.5));
    }
    hprintln!(
        "training RAM {} bytes (weights, gradients, Adam state, activations)",
        Xor::training_bytes::<Adam, 4>()
    );
    debug::exit(if right == 4 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Under a debugger or QEMU the exit above ends the program; on a bare board, idle.
    loop {
        cortex_m::asm::wfi();
    }
}
