//! The int8 twin against the float network it was quantised from, side by side in one run: the
//! MNIST MLP (784-64-10), one sample and batches of 128, interleaved rounds, the best of each.
//! int8 inputs are quantised beforehand (what a sensor pipeline hands over); "int8, float in"
//! includes quantising the input.
//!
//! `cargo bench --bench int8`
use std::hint::black_box;
use std::time::Instant;

use constnet::data::{load_mnist, Split};
use constnet::prelude::*;

mod cpu;

network! { pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

/// Nanoseconds per call of `f` over `n` calls.
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train).expect("bundled MNIST");
    let net = Mnist::new_boxed(1);
    let q = Box::new(net.quantize(&train.features()[..500]).expect("quantisable"));
    let x: Box<[[f32; 784]; 128]> = Box::new(std::array::from_fn(|i| train.features()[i]));
    let xq: Box<[[i8; 784]; 128]> = Box::new(std::array::from_fn(|i| q.quantize_input(&x[i])));
    let mut y = Box::new([[0.0f32; 10]; 128]);
    let mut yq = Box::new([[0i8; 10]; 128]);

    let names = [
        "f32, 1 sample",
        "int8, 1 sample",
        "int8 float in, 1 sample",
        "f32, batch 128",
        "int8, batch 128",
    ];
    let mut best = [f64::INFINITY; 5];
    for _round in 0..15 {
        let mut i = 0;
        let r = [
            time(20_000, || {
                i = (i + 1) % 128;
                black_box(net.forward(black_box(&x[i])));
            }),
            time(20_000, || {
                i = (i + 1) % 128;
                black_box(q.forward_int8(black_box(&xq[i])));
            }),
            time(20_000, || {
                i = (i + 1) % 128;
                black_box(q.forward(black_box(&x[i])));
            }),
            time(200, || net.forward_batch(black_box(&x), &mut y)),
            time(200, || q.forward_int8_batch(black_box(&xq), &mut yq)),
        ];
        for (b, r) in best.iter_mut().zip(r) {
            *b = b.min(r);
        }
    }
    println!(
        "CPU: {}; int8 kernel: {}; MNIST MLP 784-64-10, one thread, best of 15 interleaved rounds",
        cpu::name(),
        constnet::quant::kernel_name()
    );
    for (name, ns) in names.iter().zip(best) {
        if name.contains("batch") {
            println!(
                "{name:<26} {:>9.2} µs  {:>6.2} M samples/s",
                ns / 1e3,
                128.0 / ns * 1e3
            );
        } else {
            println!("{name:<26} {:>9.3} µs", ns / 1e3);
        }
    }
    println!(
        "int8 over f32: {:.2}x one sample, {:.2}x batch 128; weights {} B against {} B",
        best[0] / best[1],
        best[3] / best[4],
        MnistInt8::WEIGHT_BYTES,
        Mnist::WEIGHT_BYTES
    );
}
