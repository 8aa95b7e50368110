//! `Fit` against a bare `train_step` loop on the same job, side by side in one run: the MNIST
//! network (784-64-10), Adam (lr 0.002), batch 32, one epoch over the 8,000 bundled digits per
//! measurement, shuffled. The bare loop gathers the same shuffled rows into a batch itself and
//! calls `Trainer::step`; `Fit` adds what a user gets from it (shuffling, the loss and accuracy
//! bookkeeping, the callbacks' hooks, the epoch line). Interleaved rounds, the best of each.
//!
//! `cargo bench --bench fit`
use std::time::Instant;

use constnet::data::{load_mnist, Split};
use constnet::prelude::*;
use constnet::train::{Fit, Verbose};

mod cpu;

network! { pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train).expect("bundled MNIST");
    let n = train.len() / 32 * 32;
    let mut order: Vec<usize> = (0..train.len()).collect();

    let mut fit_net = Mnist::new_boxed(1);
    let mut fit_trainer = Trainer::boxed(Adam::new(0.002));
    let mut bare_net = Mnist::new_boxed(1);
    let mut bare_trainer = Trainer::boxed(Adam::new(0.002));
    let mut x = Box::new([[0.0f32; 784]; 32]);
    let mut y = [0usize; 32];
    let mut rng = constnet::Rng::new(1);

    let (mut best_fit, mut best_bare) = (f64::INFINITY, f64::INFINITY);
    for round in 0..7 {
        let t = Instant::now();
        Fit::<32>::epochs(1)
            .seed(round)
            .verbose(Verbose::Silent)
            .run(
                &mut *fit_net,
                SparseCategoricalCrossEntropy,
                &mut fit_trainer,
                &train,
                None,
            )
            .expect("trains");
        best_fit = best_fit.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        // Fisher–Yates, as a user's loop would shuffle.
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut loss = 0.0;
        for chunk in order[..n].chunks_exact(32) {
            for (k, &i) in chunk.iter().enumerate() {
                x[k] = train.features()[i];
                y[k] = train.labels()[i];
            }
            loss += bare_trainer.step(&mut *bare_net, SparseCategoricalCrossEntropy, &x, &y);
        }
        std::hint::black_box(loss);
        best_bare = best_bare.min(t.elapsed().as_secs_f64());
    }
    println!(
        "CPU: {}; MNIST 784-64-10, Adam, batch 32, one epoch of {n} digits, best of 7 interleaved rounds",
        cpu::name()
    );
    println!(
        "Fit            {:7.1} ms  {:7.0} samples/s",
        best_fit * 1e3,
        n as f64 / best_fit
    );
    println!(
        "bare loop      {:7.1} ms  {:7.0} samples/s",
        best_bare * 1e3,
        n as f64 / best_bare
    );
    println!(
        "Fit takes {:.1} % longer than the bare loop (goal: within 10 %)",
        100.0 * (best_fit / best_bare - 1.0)
    );
}
