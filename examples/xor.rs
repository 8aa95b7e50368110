//! The from-scratch XOR network of the MLP tutorials: 2-4-1, tanh then sigmoid, MSE, plain SGD,
//! trained with `Fit` on float targets (the whole data set is one batch of 4).
//!
//! `cargo run --release --example xor`
use constnet::data::Dataset;
use constnet::prelude::*;
use constnet::train::{Fit, Verbose};

network! {
    /// Two inputs, four tanh units, one sigmoid output.
    pub struct Xor {
        hidden: Dense<2, 4, Tanh>,
        out: Dense<4, 1, Sigmoid>,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let targets = [[0.0], [1.0], [1.0], [0.0]];
    let data = Dataset::from_slices(&inputs, &targets)?;

    let mut net = Xor::new(42);
    let mut trainer = Trainer::new(Sgd::new(0.5));
    println!("{}\n", Xor::summary());

    // Without shuffling, every epoch is the same full batch: plain gradient descent.
    let fit = |epochs| {
        Fit::<4>::epochs(epochs)
            .shuffle(false)
            .verbose(Verbose::Silent)
    };
    // Runs of 500 epochs: each continues where the last stopped (the trainer keeps the steps),
    // so the printout is epoch 0, 500, …, 4000 of one training.
    for epochs in std::iter::once(1).chain([500; 8]) {
        let history = fit(epochs).run(&mut net, Mse, &mut trainer, &data, None)?;
        let last = history.epochs.last().expect("at least one epoch ran");
        let epoch = trainer.epochs - 1;
        println!("epoch {epoch:>4}  mse {:.5}", last.loss);
    }
    println!();
    for (x, t) in inputs.iter().zip(&targets) {
        let y = net.forward(x)[0];
        println!("{x:?} -> {y:.3} (target {})", t[0]);
    }
    Ok(())
}
