//! Post-training int8 quantisation of the bundled MNIST network, as TensorFlow Lite does it:
//! trains the float network (or loads its weights), calibrates on 500 training digits, and compares
//! the int8 twin with the float network — accuracy on the 2,000 test digits, stored bytes, and one-
//! sample latency.
//!
//! ```text
//! cargo run --release --example mnist_int8 [-- --load mnist.bin] [--save mnist.q8] [--calibration N]
//! ```
//! `--load PATH` reads float weights written by `--example mnist -- --save PATH.bin` (raw
//! little-endian) instead of training. `--save PATH` writes the int8 network in the format its
//! extension names: `.q8` (its raw bytes, which `MnistInt8::from_le_bytes(include_bytes!(…))`
//! decodes into a `static`, as the firmware in `examples/cortex-m` does), `.onnx`
//! (QuantizeLinear/DequantizeLinear form) or `.safetensors`; `--save-float PATH.safetensors`
//! writes the float network it came from (benches/compare/int8.sh converts it with TFLite).
//! ONNX and safetensors files need the `io` feature (`--features io`), off by default.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use constnet::data::{load_mnist, Split};
use constnet::prelude::*;
use constnet::train::{evaluate, Fit, Verbose};

network! {
    /// The bundled example's network: 784 pixels, 64 ReLU units, 10 classes.
    pub struct Mnist {
        hidden: Dense<784, 64, Relu>,
        out: Dense<64, 10, Softmax>,
    }
}

struct Args {
    load: Option<PathBuf>,
    save: Option<PathBuf>,
    save_float: Option<PathBuf>,
    calibration: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        load: None,
        save: None,
        save_float: None,
        calibration: 500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--load" => args.load = Some(value()?.into()),
            "--save" => {
                let path = PathBuf::from(value()?);
                // Checked before training, not after it.
                match path.extension().and_then(|e| e.to_str()) {
                    Some("q8") => args.save = Some(path),
                    Some("onnx" | "safetensors") => {
                        needs_io("--save", &path)?;
                        args.save = Some(path);
                    }
                    _ => {
                        return Err(format!(
                            "--save {}: the extension picks the format: .q8, .onnx or .safetensors",
                            path.display()
                        ))
                    }
                }
            }
            "--save-float" => {
                let path = PathBuf::from(value()?);
                needs_io("--save-float", &path)?;
                args.save_float = Some(path);
            }
            "--calibration" => {
                args.calibration = value()?
                    .parse()
                    .map_err(|e| format!("--calibration: {e}"))?
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --load PATH, --save PATH, --save-float PATH, --calibration N"
                ))
            }
        }
    }
    Ok(args)
}

/// ONNX and safetensors files are the `io` feature's; without it, the error says how to turn it on.
fn needs_io(flag: &str, path: &Path) -> Result<(), String> {
    if cfg!(feature = "io") {
        return Ok(());
    }
    Err(format!(
        "{flag} {}: ONNX and safetensors files need the `io` feature: cargo run --release --example mnist_int8 --features io -- {flag} {0}",
        path.display()
    ))
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

    let mut net = Mnist::new_boxed(1);
    match &args.load {
        Some(path) => {
            let bytes = std::fs::read(path)?;
            net.copy_from_le_bytes(&bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("float weights loaded from {}", path.display());
        }
        None => {
            // The bundled example's job: Adam (lr 0.002), batch 32, 10 epochs.
            Fit::<32>::epochs(10).seed(1).verbose(Verbose::Silent).run(
                &mut *net,
                SparseCategoricalCrossEntropy,
                &mut Trainer::boxed(Adam::new(0.002)),
                &train,
                None,
            )?;
            println!("float network trained (10 epochs of Adam)");
        }
    }

    let n = args.calibration.min(train.len());
    let started = Instant::now();
    let q = net.quantize(&train.features()[..n])?;
    println!(
        "quantised with {n} calibration digits in {:.1} ms\n",
        started.elapsed().as_secs_f64() * 1e3
    );
    println!("{}\n", q.summary());

    let float = evaluate(&*net, SparseCategoricalCrossEntropy, &test)?.accuracy;
    let correct = test
        .features()
        .iter()
        .zip(test.labels())
        .filter(|(x, &label)| q.predict(x) == label)
        .count();
    let int8 = correct as f32 / test.len() as f32;
    println!(
        "test accuracy: float {:.2} %, int8 {:.2} % ({:+.2} points) on {} digits",
        100.0 * float,
        100.0 * int8,
        100.0 * (int8 - float),
        test.len()
    );

    // One sample at a time, inputs already int8 (what a sensor pipeline hands over) and float.
    let xs: Vec<[i8; 784]> = test
        .features()
        .iter()
        .map(|x| q.quantize_input(x))
        .collect();
    let time = |f: &mut dyn FnMut(usize) -> usize| {
        let started = Instant::now();
        let mut sink = 0;
        let reps = 20_000;
        for i in 0..reps {
            sink += f(i % xs.len());
        }
        std::hint::black_box(sink);
        started.elapsed().as_secs_f64() / reps as f64 * 1e6
    };
    let int8_us = time(&mut |i| q.predict_int8(&xs[i]));
    let f32_us = time(&mut |i| net.predict(&test.features()[i]));
    println!(
        "one-sample predict: int8 {int8_us:.2} µs, float {f32_us:.2} µs (this machine, noisy; \
         benches/int8.rs measures it properly)"
    );

    if let Some(path) = &args.save {
        match path.extension().and_then(|e| e.to_str()) {
            #[cfg(feature = "io")]
            Some("onnx") => q.save_onnx(path)?,
            #[cfg(feature = "io")]
            Some("safetensors") => q.save_safetensors(path)?,
            _ => std::fs::write(path, q.to_le_bytes())?,
        }
        println!(
            "int8 network written to {} ({} bytes)",
            path.display(),
            std::fs::metadata(path)?.len()
        );
    }
    #[cfg(feature = "io")]
    if let Some(path) = &args.save_float {
        net.save_safetensors(path)?;
        println!("float network written to {}", path.display());
    }
    Ok(())
}
