//! The TinyML "hello world": a 1→16→16→1 ReLU network that learns `sin(x)` on `[0, 2π)`.
//!
//! `cargo run --release --example sine [-- --save PATH]`
use std::f32::consts::TAU;

use constnet::prelude::*;
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
    let mut net = Sine::new(1);
    let mut grads = Sine::zeroed();
    let mut adam = Adam::new(0.01);
    let mut state = adam.new_state();
    let mut rng = Rng::new(2);
    for step in 0..=6000 {
        let x: [[f32; 1]; 32] = core::array::from_fn(|_| [rng.uniform(0.0, TAU)]);
        let t = x.map(|[x]| [x.sin()]);
        let loss = net.train_step(Mse, &x, &t, &mut grads, &mut adam, &mut state);
        if step % 1000 == 0 {
            println!("step {step:>4}  mse {loss:.5}");
        }
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
