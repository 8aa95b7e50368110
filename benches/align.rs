//! One-sample inference latency against where the weights land: the MNIST MLP placed at each
//! 4-byte offset modulo 64, interleaved rounds, the best of each. Before the generated struct was
//! aligned to 64 bytes, a network's address modulo 64 depended on the allocator or the enclosing
//! struct; now every offset lands on a cache-line boundary and the spread should vanish.
//!
//! `cargo bench --bench align`
use std::hint::black_box;
use std::time::Instant;

use constnet::prelude::*;

network! { pub struct Mnist { Dense<784, 64, Relu>, Dense<64, 10, Softmax> } }

/// A 64-byte-aligned block with the network `PAD` floats in.
#[repr(C, align(64))]
struct At<const PAD: usize> {
    pad: [f32; PAD],
    net: Mnist,
}

fn placed<const PAD: usize>() -> Box<At<PAD>> {
    let mut at = Box::new(At {
        pad: [0.0; PAD],
        net: Mnist::zeroed(),
    });
    at.net.init(1);
    at
}

/// Nanoseconds per `forward`, the best of `rounds` timings of `n` calls.
fn time(net: &Mnist, x: &[f32; 784], n: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        black_box(net.forward(black_box(x)));
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

macro_rules! offsets {
    ($($pad:literal)*) => {{
        let nets: Vec<(usize, Box<dyn Fn(&[f32; 784], u32) -> (usize, f64)>)> = vec![$(
            ($pad, {
                let at = placed::<$pad>();
                Box::new(move |x, n| ((&at.net as *const Mnist as usize) % 64, time(&at.net, x, n)))
            }),
        )*];
        nets
    }};
}

fn main() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l[13..].trim().to_string())
        })
        .unwrap_or_default();
    println!("CPU: {cpu}");
    let x: [f32; 784] = core::array::from_fn(|i| (i % 255) as f32 / 255.0);
    let nets = offsets!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    let mut best = vec![f64::INFINITY; nets.len()];
    let mut addr = vec![0; nets.len()];
    for _round in 0..15 {
        for (i, (_, f)) in nets.iter().enumerate() {
            let (a, ns) = f(&x, 20_000);
            addr[i] = a;
            best[i] = best[i].min(ns);
        }
    }
    for (i, (pad, _)) in nets.iter().enumerate() {
        println!(
            "pad {:>2} floats: address mod 64 = {:>2}: {:.0} ns",
            pad, addr[i], best[i]
        );
    }
    let (lo, hi) = best
        .iter()
        .fold((f64::INFINITY, 0f64), |(l, h), &v| (l.min(v), h.max(v)));
    println!("spread: {lo:.0}–{hi:.0} ns ({:.2}x)", hi / lo);
}
