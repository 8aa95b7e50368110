//! Two threads against one, and against what this machine's two cores allow at all, in short
//! interleaved slices: 784-64-10, batch 128, SGD. Each round runs, back to back for ~0.2 s each,
//! the plain one-thread `train_step`, `DataParallel` on two threads (chunks of 64, the loop in
//! `DataParallel::run`) and the ceiling: two threads each training a network of their own on a
//! batch of their own, sharing nothing. A VM's speed drifts within seconds; ratios taken within a
//! round, then their median over the rounds, are what a goal like "two threads ≥ 1.8× one" can be
//! judged on (criterion's separate multi-second windows drifted from 1.2× to 2.4× for the ceiling
//! alone).
//!
//! `cargo bench --bench threads` (~30 s)
use std::time::Instant;

use constnet::parallel::DataParallel;
use constnet::prelude::*;

mod cpu;
mod input;

network! { pub struct Mnist { Dense<784, 64, Relu>, Dense<64, 10, Softmax> } }

const STEPS: usize = 1000;
const ROUNDS: usize = 30;

fn main() {
    let (x, labels) = input::batch::<128>();
    let step = |net: &mut Mnist, grads: &mut Mnist, sgd: &mut Sgd| {
        net.train_step(
            SparseCategoricalCrossEntropy,
            &x,
            &labels,
            grads,
            sgd,
            &mut (),
        )
    };

    let (mut net, mut grads, mut sgd) =
        (Mnist::new_boxed(1), Mnist::boxed_zeroed(), Sgd::new(0.01));
    let mut dp = DataParallel::<Mnist, 64>::new(2).expect("two threads");
    let mut copies = [Mnist::new_boxed(1), Mnist::new_boxed(1)];

    // Samples per second of each mode, round by round.
    let (mut one, mut two, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        let t = Instant::now();
        for _ in 0..STEPS {
            std::hint::black_box(step(&mut net, &mut grads, &mut sgd));
        }
        let a = (STEPS * 128) as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        dp.run(|dp| {
            for _ in 0..STEPS {
                let loss = dp.train_step(
                    &mut *net,
                    SparseCategoricalCrossEntropy,
                    &x[..],
                    &labels,
                    &mut grads,
                    &mut sgd,
                    &mut (),
                );
                std::hint::black_box(loss.expect("whole chunks"));
            }
        });
        let b = (STEPS * 128) as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        std::thread::scope(|s| {
            for net in copies.iter_mut() {
                s.spawn(move || {
                    let (mut grads, mut sgd) = (Mnist::boxed_zeroed(), Sgd::new(0.01));
                    for _ in 0..STEPS {
                        std::hint::black_box(step(net, &mut grads, &mut sgd));
                    }
                });
            }
        });
        let c = (2 * STEPS * 128) as f64 / t.elapsed().as_secs_f64();
        // Round 0 warms the caches, the pool and the clocks.
        if round > 0 {
            one.push(a);
            two.push(b);
            ceiling.push(c);
        }
    }

    let ratios = |num: &[f64], den: &[f64]| -> Vec<f64> {
        num.iter().zip(den).map(|(n, d)| n / d).collect()
    };
    println!(
        "CPU: {}; 784-64-10, batch 128, SGD; {ROUNDS} interleaved rounds of {STEPS} steps per mode",
        cpu::name()
    );
    println!("median (quartiles), k samples/s:");
    for (name, v) in [
        ("one thread, plain train_step", &one),
        ("DataParallel, 2 threads", &two),
        ("ceiling: 2 networks, 2 threads", &ceiling),
    ] {
        let [q1, m, q3] = quartiles(v);
        println!(
            "  {name:32} {:7.0} ({:.0}–{:.0})",
            m / 1e3,
            q1 / 1e3,
            q3 / 1e3
        );
    }
    println!("ratios within a round, median (quartiles):");
    for (name, v) in [
        ("2 threads / one", ratios(&two, &one)),
        ("ceiling / one", ratios(&ceiling, &one)),
        ("2 threads / ceiling", ratios(&two, &ceiling)),
    ] {
        let [q1, m, q3] = quartiles(&v);
        println!("  {name:32} {m:.2}x ({q1:.2}–{q3:.2})");
    }
}

/// First quartile, median and third quartile (nearest rank).
fn quartiles(v: &[f64]) -> [f64; 3] {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}
