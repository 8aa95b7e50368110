//! Convolutional-network training throughput: one thread, batch 32, Adam, the steady-state step of
//! the LeNet of the layer-contract issue and of the `mnist_cnn` example's network.
//!
//! `cargo bench --bench cnn` prints samples per second; `benches/compare/cnn.sh` runs it beside
//! PyTorch doing the same (see BENCHMARKS.md).
use std::hint::black_box;
use std::time::Instant;

use constnet::prelude::*;

mod cpu;

network! {
    /// 1x28x28 -> 6x24x24 -> 6x12x12 -> 16x8x8 -> 16x4x4 -> 256 -> 10.
    #[input(1, 28, 28)]
    pub struct LeNet {
        c1: Conv2d<6, 5, Relu>,
        p1: MaxPool2d<2>,
        c2: Conv2d<16, 5, Relu>,
        p2: MaxPool2d<2>,
        f: Flatten,
        d: Dropout<25>,
        out: Dense<256, 10, Softmax>,
    }

    /// `examples/mnist_cnn.rs`.
    #[input(1, 28, 28)]
    pub struct Cnn {
        c1: Conv2d<16, 5, Relu>,
        p1: MaxPool2d<2>,
        c2: Conv2d<32, 3, Relu>,
        p2: MaxPool2d<2>,
        f: Flatten,
        d: Dropout<50>,
        out: Dense<800, 10, Softmax>,
    }
}

/// Samples per second of `step` on batches of `batch`, over about `seconds`, after a warm-up.
fn rate(batch: usize, seconds: f64, mut step: impl FnMut()) -> f64 {
    for _ in 0..20 {
        step();
    }
    let (start, mut n) = (Instant::now(), 0usize);
    while start.elapsed().as_secs_f64() < seconds {
        step();
        n += 1;
    }
    (n * batch) as f64 / start.elapsed().as_secs_f64()
}

fn train<N>(name: &str)
where
    N: Train<784, 10, 32>,
{
    let mut net = N::new_boxed(1);
    let mut trainer = Trainer::<N, _, 32>::boxed(Adam::new(0.002));
    let mut x: Box<[[f32; 784]; 32]> = Box::new([[0.0; 784]; 32]);
    let mut s = 7u32;
    for v in x.iter_mut().flatten() {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (s >> 24) as f32 / 255.0;
    }
    let labels: [usize; 32] = core::array::from_fn(|b| b % 10);
    let r = rate(32, 3.0, || {
        black_box(trainer.step(&mut *net, SparseCategoricalCrossEntropy, &x, &labels));
    });
    println!(
        "{name:30} {:8.1} k samples/s ({:.0} us per step)",
        r / 1e3,
        32e6 / r
    );
}

fn main() {
    let cpu = cpu::name();
    println!("constnet, 1 thread, {cpu}");
    train::<LeNet>("lenet train b32 adam step");
    train::<Cnn>("cnn train b32 adam step");
}
