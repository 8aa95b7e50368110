//! The TinyML "hello world": a 1→16→16→1 ReLU network that learns `sin(x)` on `[0, 2π)`, trained
//! with `Fit` on 1,024 samples with float targets.
//!
//! `cargo run --release --example sine [-- --save PATH]`
use std::f32::consts::TAU;

use constnet::data::Dataset;
use constnet::prelude::*;
use constnet::train::{Fit, Verbose};
use constnet::Rng;

network! {
    /// The model of TensorFlow Lite Micro's hello-world example.
    pub struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let save = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, path] if flag == "--save" => Some(path.clone()),
        _ => return Err("usage: sine [--save PATH]".into()),
    };
    let mut rng = Rng::new(2);
    let x: Vec<[f32; 1]> = (0..1024).map(|_| [rng.uniform(0.0, TAU)]).collect();
    let t: Vec<[f32; 1]> = x.iter().map(|&[x]| [x.sin()]).collect();
    let data = Dataset::from_vecs(x, t)?;

    let mut net = Sine::new(1);
    let mut trainer = Trainer::new(Adam::new(0.01));
    // 32 batches of 32 per epoch; runs of 31 epochs continue one another (about 1,000 steps each).
    for epochs in std::iter::once(1).chain([31; 6]) {
        let history = Fit::<32>::epochs(epochs)
            .seed(3)
            .verbose(Verbose::Silent)
            .run(&mut net, Mse, &mut trainer, &data, None)?;
        let last = history.epochs.last().expect("at least one epoch ran");
        println!("epoch {:>3}  mse {:.5}", trainer.epochs - 1, last.loss);
    }
    let worst = (0..100)
        .map(|i| {
            let x = i as f32 / 100.0 * TAU;
            (net.forward(&[x])[0] - x.sin()).abs()
        })
        .fold(0.0f32, f32::max);
    println!("largest error on 100 points: {worst:.3}");
    if let Some(path) = save {
        std::fs::write(&path, net.to_le_bytes())?;
        println!("weights written to {path} ({} bytes)", Sine::WEIGHT_BYTES);
    }
    Ok(())
}
