//! The from-scratch XOR network of the MLP tutorials: 2-4-1, tanh then sigmoid, MSE, plain SGD.
//!
//! `cargo run --release --example xor`
use constnet::prelude::*;

network! {
    /// Two inputs, four tanh units, one sigmoid output.
    pub struct Xor {
        hidden: Dense<2, 4, Tanh>,
        out: Dense<4, 1, Sigmoid>,
    }
}

fn main() {
    let inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let targets = [[0.0], [1.0], [1.0], [0.0]];

    let mut net = Xor::new(42);
    let mut grads = Xor::zeroed();
    let mut sgd = Sgd::new(0.5);
    println!("{}\n", Xor::summary());

    for epoch in 0..=4000 {
        // The whole data set is one batch of 4.
        let loss = net.train_step(Mse, &inputs, &targets, &mut grads, &mut sgd, &mut ());
        if epoch % 500 == 0 {
            println!("epoch {epoch:>4}  mse {loss:.5}");
        }
    }
    println!();
    for (x, t) in inputs.iter().zip(&targets) {
        let y = net.forward(x)[0];
        println!("{x:?} -> {y:.3} (target {})", t[0]);
    }
}
