//! A small convolutional network on the bundled 8,000 MNIST digits, tested on the 2,000 held out:
//! two convolutions with max pooling, dropout and a softmax layer, trained with Adam (lr 0.004,
//! cosine decay to zero over the run) and sparse categorical cross-entropy.
//!
//! ```text
//! cargo run --release --example mnist_cnn [-- --epochs N] [--seed N] [--save PATH]
//! ```
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use constnet::data::{load_mnist, Split};
use constnet::optim::CosineDecay;
use constnet::prelude::*;
use constnet::train::{evaluate, Fit, Verbose};

network! {
    /// 1x28x28 -> 16x24x24 -> 16x12x12 -> 32x10x10 -> 32x5x5 -> 800 -> 10.
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

struct Args {
    epochs: usize,
    seed: u64,
    save: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        epochs: 10,
        seed: 1,
        save: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--epochs" => args.epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--save" => args.save = Some(value()?.into()),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --epochs N, --seed N, --save PATH"
                ))
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train)?;
    let test = load_mnist::<784>(dir, Split::Test)?;
    println!("{}\n", Cnn::summary());

    let mut net = Cnn::new_boxed(args.seed);
    // The trainer holds the batch's activations (16x24x24 per sample and more): on the heap.
    let steps = (args.epochs * (train.len() / 32)) as u64;
    let mut trainer = Trainer::<Cnn, _, 32, _>::boxed_with_schedule(
        Adam::new(0.004),
        CosineDecay { steps, floor: 0.0 },
    );
    trainer.seed(args.seed);
    let started = Instant::now();
    let history = Fit::<32>::epochs(args.epochs)
        .seed(args.seed)
        .verbose(Verbose::Lines)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut *trainer,
            &train,
            None,
        )?;
    let elapsed = started.elapsed().as_secs_f64();
    let seen = history.epochs.len() * (train.len() / 32) * 32;
    let result = evaluate(&*net, SparseCategoricalCrossEntropy, &test)?;
    println!(
        "\ntrained {} epochs in {:.2} s ({:.0} samples/s)",
        history.epochs.len(),
        elapsed,
        seen as f64 / elapsed
    );
    println!(
        "test accuracy {:.2} % (loss {:.4}) on {} held-out digits",
        100.0 * result.accuracy,
        result.loss,
        test.len()
    );
    // Post-training int8 quantisation (TFLite's scheme) from 500 training digits.
    let q = net.quantize(&train.features()[..500])?;
    let correct = test
        .features()
        .iter()
        .zip(test.labels())
        .filter(|(x, &label)| q.predict(x) == label)
        .count();
    let int8 = correct as f32 / test.len() as f32;
    println!(
        "int8 twin: test accuracy {:.2} % ({:+.2} points), {} bytes of weights (f32: {})",
        100.0 * int8,
        100.0 * (int8 - result.accuracy),
        CnnInt8::WEIGHT_BYTES,
        Cnn::WEIGHT_BYTES
    );
    if let Some(path) = args.save {
        std::fs::write(&path, net.to_le_bytes())?;
        println!(
            "weights written to {} ({} bytes)",
            path.display(),
            Cnn::WEIGHT_BYTES
        );
    }
    Ok(())
}
