//! One-sample inference latency against where the weights land, side by side in one run: the
//! MNIST MLP's two layers in a plain `#[repr(C)]` struct (4-byte aligned, as every network was
//! before `network!` aligned its struct to 64 bytes) placed at each 4-byte offset modulo 64, and
//! the generated network, which lands on a 64-byte boundary wherever it is put. Interleaved
//! rounds, the best of each.
//!
//! `cargo bench --bench align`
use std::hint::black_box;
use std::time::Instant;

use constnet::layer::Layer;
use constnet::prelude::*;

mod cpu;

network! { pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

/// The same layers without the network's alignment.
#[repr(C)]
struct Plain {
    hidden: Dense<784, 64, Relu>,
    out: Dense<64, 10, Softmax>,
}

impl Plain {
    fn forward(&self, x: &[f32; 784]) -> [f32; 10] {
        let (mut h, mut y) = ([[0.0; 64]], [[0.0; 10]]);
        self.hidden
            .forward(core::slice::from_ref(x).try_into().unwrap(), &mut h);
        self.out.forward(&h, &mut y);
        y[0]
    }
}

/// A 64-byte-aligned block with the plain layers `PAD` floats in, and a network after them.
#[repr(C, align(64))]
struct At<const PAD: usize> {
    pad: [f32; PAD],
    plain: Plain,
    net: Mnist,
}

fn placed<const PAD: usize>() -> Box<At<PAD>> {
    let net = Mnist::new(1);
    Box::new(At {
        pad: [0.0; PAD],
        plain: Plain {
            hidden: net.hidden,
            out: net.out,
        },
        net,
    })
}

/// Nanoseconds per call of `f`, over `n` calls.
fn time(n: u32, mut f: impl FnMut() -> [f32; 10]) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

type Case = Box<dyn Fn(&[f32; 784], u32) -> [(usize, f64); 2]>;

macro_rules! offsets {
    ($($pad:literal)*) => {{
        let cases: Vec<(usize, Case)> = vec![$(
            ($pad, {
                let at = placed::<$pad>();
                Box::new(move |x: &[f32; 784], n| {
                    let addr = |p: *const u8| p as usize % 64;
                    assert_eq!(at.plain.forward(x), at.net.forward(x));
                    [
                        (addr((&at.plain as *const Plain).cast()), time(n, || at.plain.forward(black_box(x)))),
                        (addr((&at.net as *const Mnist).cast()), time(n, || at.net.forward(black_box(x)))),
                    ]
                }) as Case
            }),
        )*];
        cases
    }};
}

fn main() {
    let cpu = cpu::name();
    println!("CPU: {cpu}");
    let x: [f32; 784] = core::array::from_fn(|i| (i % 255) as f32 / 255.0);
    let cases = offsets!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    let mut best = vec![[f64::INFINITY; 2]; cases.len()];
    let mut addr = vec![[0; 2]; cases.len()];
    for _round in 0..15 {
        for (i, (_, f)) in cases.iter().enumerate() {
            for (k, (a, ns)) in f(&x, 20_000).into_iter().enumerate() {
                addr[i][k] = a;
                best[i][k] = best[i][k].min(ns);
            }
        }
    }
    println!("offset of the plain layers (mod 64) -> ns | the network (mod 64) -> ns");
    for i in 0..cases.len() {
        println!(
            "{:>2} -> {:>5.0} | {:>2} -> {:>5.0}",
            addr[i][0], best[i][0], addr[i][1], best[i][1]
        );
    }
    for (k, name) in ["plain layers", "network"].iter().enumerate() {
        let (lo, hi) = best.iter().fold((f64::INFINITY, 0f64), |(l, h), b| {
            (l.min(b[k]), h.max(b[k]))
        });
        println!(
            "{name}: {lo:.0}-{hi:.0} ns ({:.2}x between the best and worst offset)",
            hi / lo
        );
    }
}
