//! Samples per second of one training step of the MNIST network (784-64-10) at every batch size
//! from 1 to 256, SGD and Adam, in one run (interleaved rounds, the best of each): no batch size
//! should be slower per sample than a smaller one.
//!
//! `cargo bench --bench batches` (`BATCH=128 OPT=sgd ROUNDS=50` run one case longer, for a profiler).
use std::hint::black_box;
use std::time::Instant;

use constnet::prelude::*;

mod cpu;

network! { pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

/// One case: a closure running `reps` steps at batch `B`, returning seconds.
type Case = Box<dyn FnMut(u32) -> f64>;

fn case<const B: usize, O: Optimizer<Mnist> + 'static>(opt: O) -> Case
where
    Mnist: Train<784, 10, B>,
{
    let mut x: Box<[[f32; 784]; B]> = Box::new([[0.0; 784]; B]);
    let mut s = 7u32;
    for v in x.iter_mut().flatten() {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        *v = (s >> 24) as f32 / 255.0;
    }
    let labels: [usize; B] = core::array::from_fn(|b| b % 10);
    let mut net = Mnist::new_boxed(1);
    let mut trainer = Trainer::<Mnist, O, B>::boxed(opt);
    Box::new(move |reps| {
        let t = Instant::now();
        for _ in 0..reps {
            black_box(trainer.step(&mut *net, SparseCategoricalCrossEntropy, &x, &labels));
        }
        t.elapsed().as_secs_f64()
    })
}

macro_rules! sizes {
    ($opt:expr; $($b:literal)*) => { vec![$( ($b, case::<$b, _>($opt)), )*] };
}

fn main() {
    let only_batch: Option<usize> = std::env::var("BATCH").ok().and_then(|v| v.parse().ok());
    let only_opt = std::env::var("OPT").ok();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for (name, mut cases) in [
        (
            "SGD (lr 0.01)",
            sizes!(Sgd::new(0.01); 1 2 4 8 16 32 64 128 256),
        ),
        ("Adam", sizes!(Adam::default(); 1 2 4 8 16 32 64 128 256)),
    ] {
        if only_opt
            .as_ref()
            .is_some_and(|o| !name.to_lowercase().starts_with(o.as_str()))
        {
            continue;
        }
        cases.retain(|(b, _)| only_batch.is_none_or(|o| o == *b));
        let mut best = vec![f64::INFINITY; cases.len()];
        for _round in 0..rounds {
            for ((b, run), best) in cases.iter_mut().zip(best.iter_mut()) {
                // About 20 k samples per measurement.
                let reps = (20_000 / *b) as u32;
                *best = best.min(run(reps) / f64::from(reps) / *b as f64);
            }
        }
        println!(
            "CPU: {}; 784-64-10 training, {name}, one thread, best of {rounds} interleaved rounds",
            cpu::name()
        );
        let mut prev = 0.0;
        for ((b, _), s) in cases.iter().zip(&best) {
            let rate = 1.0 / s;
            let mark = if rate < prev {
                "  <- slower per sample than a smaller batch"
            } else {
                ""
            };
            println!("  batch {b:>3}: {:>7.1} k samples/s{mark}", rate / 1e3);
            prev = f64::max(prev, rate);
        }
    }
}
