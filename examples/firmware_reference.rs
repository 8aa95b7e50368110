//! Writes what the firmware in `examples/cortex-m` needs and what it must print.
//!
//! `cargo run --release --example firmware_reference -- DIR` reads `DIR/mnist.bin`, `DIR/sine.bin`
//! and `DIR/cnn.bin` (weights saved by the `mnist`, `sine` and `mnist_cnn` examples), writes `DIR/digits.bin` (the first 20 digits
//! of the bundled test split, one byte per pixel) and prints the lines the firmware prints for them.
//! If `DIR/mnist.q8` exists (the int8 network `--example mnist_int8 -- --save` writes), it also
//! writes `DIR/digits.q8` (the same digits quantised with that network's input parameters, one
//! int8 per pixel, so the firmware needs no float) and prints its lines: `int8 CLASS` and the 10
//! int8 output codes.
//! Run it with `CONSTNET_PORTABLE=1`: the firmware has no FMA, and with the same arithmetic the
//! outputs are bit-identical, so the comparison is exact.
use constnet::data::{load_mnist, Split};
use constnet::prelude::*;

network! {
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
    pub struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> }
    /// The `mnist_cnn` example's network (and the firmware's `cnn`).
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

/// Digits the firmware classifies.
const DIGITS: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: firmware_reference DIR")?;
    let dir = std::path::Path::new(&dir);
    let mut mnist = Mnist::boxed_zeroed();
    mnist.copy_from_le_bytes(&std::fs::read(dir.join("mnist.bin"))?)?;
    let mut sine = Sine::zeroed();
    sine.copy_from_le_bytes(&std::fs::read(dir.join("sine.bin"))?)?;
    let mut cnn = Cnn::boxed_zeroed();
    cnn.copy_from_le_bytes(&std::fs::read(dir.join("cnn.bin"))?)?;

    let test = load_mnist::<784>(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k"),
        Split::Test,
    )?;
    let mut pixels = Vec::with_capacity(DIGITS * 784);
    for (x, label) in test.features().iter().zip(test.labels()).take(DIGITS) {
        // The loader scaled bytes by 1/255; undo it exactly for the firmware's copy.
        pixels.extend(x.iter().map(|p| (p * 255.0).round() as u8));
        let y = mnist.forward(x);
        let class = constnet::argmax(&y);
        println!("digit {class} p={:08x} label {label}", y[class].to_bits());
    }
    std::fs::write(dir.join("digits.bin"), &pixels)?;
    let q8 = dir.join("mnist.q8");
    if q8.exists() {
        let q = MnistInt8::try_from_le_bytes(&std::fs::read(&q8)?)
            .map_err(|e| format!("{}: {e}", q8.display()))?;
        let mut quantised = Vec::with_capacity(pixels.len());
        for digit in pixels.chunks_exact(784) {
            // As the f32 firmware builds its input (byte / 255), then the network's quantisation.
            let x: [f32; 784] = std::array::from_fn(|i| f32::from(digit[i]) / 255.0);
            let xq = q.quantize_input(&x);
            quantised.extend(xq.iter().map(|&v| v as u8));
            let y = q.forward_int8(&xq);
            let codes: Vec<String> = y.iter().map(i8::to_string).collect();
            println!("int8 {} {}", q.predict_int8(&xq), codes.join(" "));
        }
        write_atomically(&dir.join("digits.q8"), &quantised)?;
    }
    for digit in pixels.chunks_exact(784) {
        // As the firmware builds its input: byte / 255.
        let x: [f32; 784] = std::array::from_fn(|i| f32::from(digit[i]) / 255.0);
        let y = cnn.forward(&x);
        let class = constnet::argmax(&y);
        println!("cnn {class} p={:08x}", y[class].to_bits());
    }
    for i in 0..8 {
        let x = i as f32 * 0.75;
        println!(
            "sine {:08x} -> {:08x}",
            x.to_bits(),
            sine.forward(&[x])[0].to_bits()
        );
    }
    Ok(())
}

/// `bytes` into `path` through a temporary file and a rename: a reader never sees half a file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
