//! Samples per second of one training step of the MNIST network (784-64-10) at every batch size
//! from 1 to 256, SGD and Adam, in one run (interleaved rounds, the best of each): no batch size
//! should be slower per sample than a smaller one.
//!
//! As in a training job, the steps go through a data set batch after batch: 8,192 samples
//! (25.7 MB, the size of the bundled MNIST training set), so that every batch size reads its
//! inputs from memory as an epoch does. `REPEAT=1` repeats one batch instead (its inputs then stay
//! in L2 from step to step up to batch 128, and not at 256).
//!
//! `cargo bench --bench batches` (`BATCH=128 OPT=sgd ROUNDS=50` run one case longer, for a profiler).
use std::hint::black_box;
use std::time::Instant;

use constnet::prelude::*;

mod cpu;

network! { pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

/// One case: a closure running `reps` steps at batch `B`, returning seconds.
type Case = Box<dyn FnMut(u32) -> f64>;

fn case<const B: usize, O: Optimizer<Mnist> + 'static>(data: &'static [[f32; 784]], opt: O) -> Case
where
    Mnist: Train<784, 10, B>,
{
    let (mut batches, _) = data.as_chunks::<B>();
    if std::env::var_os("REPEAT").is_some() {
        batches = &batches[..1];
    }
    let labels: [usize; B] = core::array::from_fn(|b| b % 10);
    let mut net = Mnist::new_boxed(1);
    let mut trainer = Trainer::<Mnist, O, B>::boxed(opt);
    let mut next = 0;
    Box::new(move |reps| {
        let t = Instant::now();
        for _ in 0..reps {
            let x = &batches[next];
            next = (next + 1) % batches.len();
            black_box(trainer.step(&mut *net, SparseCategoricalCrossEntropy, x, &labels));
        }
        t.elapsed().as_secs_f64()
    })
}

/// The data set the steps go through: `SAMPLES` (default 8,192; at least one batch of 256).
fn data() -> &'static [[f32; 784]] {
    let samples = std::env::var("SAMPLES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(8192)
        .max(256);
    let mut s = 7u32;
    let rows = (0..samples)
        .map(|_| {
            core::array::from_fn(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                (s >> 24) as f32 / 255.0
            })
        })
        .collect::<Vec<[f32; 784]>>();
    rows.leak()
}

macro_rules! sizes {
    ($data:expr, $opt:expr; $($b:literal)*) => { vec![$( ($b, case::<$b, _>($data, $opt)), )*] };
}

fn main() {
    let data = data();
    let only_batch: Option<usize> = std::env::var("BATCH").ok().and_then(|v| v.parse().ok());
    let only_opt = std::env::var("OPT").ok();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for (name, mut cases) in [
        (
            "SGD (lr 0.01)",
            sizes!(data, Sgd::new(0.01); 1 2 4 8 16 32 64 128 256),
        ),
        (
            "Adam",
            sizes!(data, Adam::default(); 1 2 4 8 16 32 64 128 256),
        ),
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
        let over = if std::env::var_os("REPEAT").is_some() {
            "one batch repeated".to_string()
        } else {
            format!("{} samples batch after batch", data.len())
        };
        println!(
            "CPU: {}; 784-64-10 training, {name}, {over}, one thread, best of {rounds} interleaved rounds",
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
