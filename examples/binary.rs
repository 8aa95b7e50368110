//! A binary classifier, as Keras' tutorials write one: one sigmoid output, binary cross-entropy,
//! binary accuracy (an output above 0.5 is class 1), class weights for an imbalanced problem (as
//! Keras' "Imbalanced classification" tutorial computes them), then `evaluate` with precision,
//! recall, F1 and the confusion matrix.
//!
//! The data is the bundled MNIST subset relabelled "is this digit a 0?": about 10 % positives.
//!
//! ```text
//! cargo run --release --example binary [-- --epochs N] [--seed N] [--unweighted] [--checkpoint PATH]
//! ```
//! `--unweighted` trains without class weights (fewer zeros found, more precise); `--checkpoint
//! PATH` saves the best epoch (by validation loss) with its optimizer state, as Keras'
//! `ModelCheckpoint(save_best_only=True)`; `{epoch}` in PATH is replaced by the epoch.
use std::path::PathBuf;
use std::process::ExitCode;

use constnet::data::{load_mnist, Dataset, Split};
use constnet::prelude::*;
use constnet::train::{evaluate_with, Fit, Metrics, ModelCheckpoint, Monitor, Verbose};

network! {
    /// 784 pixels, 32 ReLU units, one sigmoid output: the probability that the digit is a 0.
    pub struct IsZero {
        hidden: Dense<784, 32, Relu>,
        out: Dense<32, 1, Sigmoid>,
    }
}

struct Args {
    epochs: usize,
    seed: u64,
    weighted: bool,
    checkpoint: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        epochs: 5,
        seed: 1,
        weighted: true,
        checkpoint: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--epochs" => args.epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--unweighted" => args.weighted = false,
            "--checkpoint" => args.checkpoint = Some(value()?.into()),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --epochs N, --seed N, --unweighted, --checkpoint PATH"
                ))
            }
        }
    }
    Ok(args)
}

/// MNIST relabelled: 1 for the digit 0, 0 for any other, with names for the printouts.
fn is_zero(data: &Dataset<784>) -> Result<Dataset<784>, Box<dyn std::error::Error>> {
    let labels = data.labels().iter().map(|&l| usize::from(l == 0)).collect();
    let names = vec!["other".to_string(), "zero".to_string()];
    Ok(Dataset::new(data.features().to_vec(), labels, 2)?.with_class_names(names)?)
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
    let train = is_zero(&load_mnist::<784>(dir, Split::Train)?)?;
    let test = is_zero(&load_mnist::<784>(dir, Split::Test)?)?;
    let positives = train.labels().iter().filter(|&&l| l == 1).count();
    let total = train.len();
    println!(
        "Number of positive samples in training data: {positives} ({:.2}% of total)\n",
        100.0 * positives as f64 / total as f64
    );
    println!("{}\n", IsZero::summary());

    let mut fit = Fit::<32>::epochs(args.epochs)
        .seed(args.seed)
        .validation_split(0.1)
        .verbose(Verbose::Lines);
    if args.weighted {
        // The tutorial's weights: each class weighs as much in total as the other.
        let negatives = total - positives;
        let weight_for_0 = (1.0 / negatives as f64) * (total as f64 / 2.0);
        let weight_for_1 = (1.0 / positives as f64) * (total as f64 / 2.0);
        println!("Weight for class 0: {weight_for_0:.2}\nWeight for class 1: {weight_for_1:.2}\n");
        fit = fit.class_weight([(0, weight_for_0 as f32), (1, weight_for_1 as f32)]);
    }

    let mut net = IsZero::new_boxed(args.seed);
    let mut trainer = Trainer::boxed(Adam::new(0.001));
    let mut best = args.checkpoint.as_ref().map(|path| {
        ModelCheckpoint::new(path)
            .monitor(Monitor::ValLoss)
            .save_best_only(true)
    });
    let mut callbacks: Vec<&mut dyn Callback<IsZero>> = Vec::new();
    if let Some(best) = &mut best {
        callbacks.push(best);
    }
    fit.run_with(
        &mut *net,
        BinaryCrossEntropy,
        &mut trainer,
        &train,
        None,
        &mut callbacks,
    )?;
    if let Some(best) = &best {
        if let Some(e) = best.error() {
            return Err(format!("the checkpoint could not be saved: {e}").into());
        }
        if let Some(path) = best.saved().last() {
            println!("best epoch saved to {}", path.display());
        }
    }

    println!("\nevaluate on {} held-out digits:", test.len());
    let metrics = Metrics::new()
        .precision()
        .recall()
        .f1()
        .confusion_matrix()
        .report()
        .print();
    let scores = evaluate_with(&*net, BinaryCrossEntropy, &test, &metrics)?;
    let cm = scores.confusion_matrix.as_ref().expect("asked for");
    println!(
        "\nzeros found: {} of {} ({} other digits taken for a zero)",
        cm.count(1, 1),
        cm.support(1),
        cm.count(0, 1)
    );
    Ok(())
}
