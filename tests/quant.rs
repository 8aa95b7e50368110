//! The int8 twin that `network!` generates (`Mnist::quantize` → `MnistInt8`): accuracy against the
//! float network on real digits, integer outputs against a plain reference, the byte format, and
//! typed errors for bad calibration data and bad bytes.
use constnet::data::{load_mnist, Dataset, Split};
use constnet::prelude::*;
use constnet::quant::{Fused, QDense, QuantError, QuantParams};
use constnet::train::{evaluate, Fit, Verbose};

network! {
    /// The bundled example's network.
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
}

network! {
    struct Deep { Dense<6, 5, Relu>, Dense<5, 4>, Dense<4, 1, Sigmoid> }
}

network! {
    struct Hidden { Dense<3, 4, Tanh>, Dense<4, 2, Softmax> }
}

network! {
    /// The bundled CNN example's network.
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

network! {
    /// The other int8 layer kinds TFLite Micro has: depthwise convolution and average pooling.
    #[input(3, 8, 8)]
    pub struct Mobile {
        c: Conv2d<4, 3, Relu, padding = Same>,
        dw: DepthwiseConv2d<3, Relu, padding = Same, stride = 2>,
        pool: AvgPool2d<2>,
        f: Flatten,
        out: Dense<16, 3, Softmax>,
    }
}

network! {
    /// Strides and 'same' padding (whose pads are the input's zero point in int8).
    #[input(2, 9, 9)]
    struct Padded {
        c: Conv2d<3, 3, Relu, stride = 2, padding = Same>,
        f: Flatten,
        out: Dense<75, 4>,
    }
}

fn mnist() -> (Dataset<784>, Dataset<784>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    (
        load_mnist::<784>(dir, Split::Train).unwrap(),
        load_mnist::<784>(dir, Split::Test).unwrap(),
    )
}

/// The bundled example's job: 10 epochs of Adam (lr 0.002), batch 32.
fn trained() -> (Box<Mnist>, Dataset<784>, Dataset<784>) {
    let (train, test) = mnist();
    let mut net = Mnist::new_boxed(1);
    Fit::<32>::epochs(10)
        .seed(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::new(0.002)),
            &train,
            None,
        )
        .unwrap();
    (net, train, test)
}

#[test]
fn quantized_mnist_loses_at_most_half_a_point() {
    let (net, train, test) = trained();
    // 500 calibration digits from the training set, as TFLite's representative dataset.
    let q = net.quantize(&train.features()[..500]).unwrap();
    let float = evaluate(&*net, SparseCategoricalCrossEntropy, &test)
        .unwrap()
        .accuracy;
    let int8 = test
        .features()
        .iter()
        .zip(test.labels())
        .filter(|(x, &label)| q.predict(x) == label)
        .count() as f32
        / test.len() as f32;
    println!("float {:.2} %, int8 {:.2} %", 100.0 * float, 100.0 * int8);
    assert!(float > 0.93, "the float network learned: {float}");
    assert!(
        float - int8 <= 0.005,
        "int8 {int8} loses more than half a point against float {float}"
    );
    // Probabilities: a softmax in float after the integer layers, close to the float network's.
    for x in &test.features()[..50] {
        let (f, i) = (net.forward(x), q.forward(x));
        assert!((i.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for (a, b) in f.iter().zip(&i) {
            assert!((a - b).abs() < 0.1, "{f:?} against {i:?}");
        }
    }
}

/// TFLite's integer fully connected layer, written out plainly: `clamp(zp_out + M·(Σ w·(x − zp_in)
/// + b))`, with the multiplier applied by the reference gemmlowp arithmetic.
fn reference<const I: usize, const O: usize>(layer: &QDense<I, O>, x: &[i8; I]) -> [i8; O] {
    let (lo, hi) = layer.output_range();
    core::array::from_fn(|o| {
        let acc: i32 = (0..I)
            .map(|i| i32::from(layer.weight()[o][i]) * (i32::from(x[i]) - layer.input().zero_point))
            .sum::<i32>()
            + layer.bias()[o];
        let y = layer.multiplier()[o].apply(acc) + layer.output().zero_point;
        y.clamp(i32::from(lo), i32::from(hi)) as i8
    })
}

#[test]
fn integer_outputs_match_the_reference_on_every_sample() {
    let (train, test) = mnist();
    let mut net = Mnist::new_boxed(3);
    // A few steps, so that the weights are not the initial ones.
    Fit::<32>::epochs(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::new(0.002)),
            &train.take(640),
            None,
        )
        .unwrap();
    let q = net.quantize(&train.features()[..200]).unwrap();
    let xs: Vec<[i8; 784]> = test.features()[..256]
        .iter()
        .map(|x| q.quantize_input(x))
        .collect();
    let mut batch = Box::new([[0i8; 10]; 128]);
    for (chunk, xs) in xs.chunks_exact(128).enumerate() {
        q.forward_int8_batch(xs.try_into().unwrap(), &mut batch);
        for (b, x) in xs.iter().enumerate() {
            let hidden = reference(&q.hidden, x);
            let expected = reference(&q.out, &hidden);
            assert_eq!(q.forward_int8(x), expected, "sample {}", chunk * 128 + b);
            assert_eq!(batch[b], expected, "sample {} in a batch", chunk * 128 + b);
        }
    }
    // The relu is a clamp at the hidden layer's zero point, and the softmax stays in float.
    assert_eq!(q.hidden.fused(), Fused::Relu);
    assert_eq!(q.out.fused(), Fused::None);
}

#[test]
fn bytes_round_trip_and_are_a_quarter_of_the_floats() {
    let (train, _) = mnist();
    let q = Mnist::new(5).quantize(&train.features()[..100]).unwrap();
    let bytes = q.to_le_bytes();
    assert_eq!(bytes.len(), MnistInt8::WEIGHT_BYTES);
    // Input params 8 + (784·64 + 8·64 + 8) + (64·10 + 8·10 + 8).
    assert_eq!(MnistInt8::WEIGHT_BYTES, 51_432);
    assert_eq!(MnistInt8::F32_WEIGHT_BYTES, 203_560);
    const { assert!(MnistInt8::WEIGHT_BYTES <= 52_000) };
    let back = MnistInt8::from_le_bytes(&bytes);
    assert_eq!(back, q);
    assert_eq!(MnistInt8::try_from_le_bytes(&bytes), Ok(q.clone()));
    let summary = q.summary().to_string();
    assert!(summary.contains("relu (fused)"), "{summary}");
    assert!(summary.contains("softmax (float)"), "{summary}");
    assert!(
        summary.contains("Stored: 51432 bytes (f32: 203560 bytes"),
        "{summary}"
    );
    assert_eq!(q.summary().bytes(), MnistInt8::WEIGHT_BYTES);
}

// A three-layer network decoded at compile time, as firmware keeps it in flash: its bytes are
// the input's parameters, then per layer weights, biases, weight scales and output parameters.
const DEEP_BYTES: [u8; DeepInt8::WEIGHT_BYTES] = deep_bytes();

const fn deep_bytes() -> [u8; DeepInt8::WEIGHT_BYTES] {
    let mut b = [0u8; DeepInt8::WEIGHT_BYTES];
    let mut at = 0;
    // Input: scale 1/64, zero point -3.
    let head = (1.0f32 / 64.0).to_le_bytes();
    let mut k = 0;
    while k < 4 {
        b[at + k] = head[k];
        k += 1;
    }
    b[at + 4] = (-3i32).to_le_bytes()[0];
    b[at + 5] = 0xff;
    b[at + 6] = 0xff;
    b[at + 7] = 0xff;
    at += 8;
    let widths = [(6, 5), (5, 4), (4, 1)];
    let mut l = 0;
    while l < 3 {
        let (i, o) = widths[l];
        let mut w = 0;
        while w < i * o {
            // Weights in [-127, 127], varied.
            b[at + w] = (((w * 37 + l * 11) % 255) as i32 - 127) as i8 as u8;
            w += 1;
        }
        at += i * o;
        let mut r = 0;
        while r < o {
            let bias = ((r as i32) - 2) * 100;
            let bytes = bias.to_le_bytes();
            let mut k = 0;
            while k < 4 {
                b[at + 4 * r + k] = bytes[k];
                k += 1;
            }
            let scale = (0.01f32 * (r + 1) as f32).to_le_bytes();
            let mut k = 0;
            while k < 4 {
                b[at + 4 * o + 4 * r + k] = scale[k];
                k += 1;
            }
            r += 1;
        }
        at += 8 * o;
        let scale = 0.05f32.to_le_bytes();
        let mut k = 0;
        while k < 4 {
            b[at + k] = scale[k];
            k += 1;
        }
        b[at + 4] = 5;
        at += 8;
        l += 1;
    }
    b
}

static DEEP: DeepInt8 = DeepInt8::from_le_bytes(&DEEP_BYTES);

#[test]
fn a_static_network_decodes_at_compile_time() {
    assert_eq!(
        DEEP.input_params(),
        QuantParams {
            scale: 1.0 / 64.0,
            zero_point: -3
        }
    );
    assert_eq!(DEEP.to_le_bytes(), DEEP_BYTES);
    assert_eq!(DEEP.l0.fused(), Fused::Relu);
    assert_eq!(DEEP.l1.fused(), Fused::None);
    // The sigmoid of the last layer is applied in float.
    assert_eq!(DEEP.l2.fused(), Fused::None);
    let x = [0.5, -0.25, 0.125, 1.0, 0.0, -1.0];
    let q = DEEP.quantize_input(&x);
    let expected = reference(&DEEP.l2, &reference(&DEEP.l1, &reference(&DEEP.l0, &q)));
    assert_eq!(DEEP.forward_int8(&q), expected);
    let p = DEEP.output_params();
    let y = 1.0 / (1.0 + (-p.dequantize(expected[0])).exp());
    assert!((DEEP.forward(&x)[0] - y).abs() < 1e-6);
    assert_eq!(DEEP.predict(&x), usize::from(y > 0.5));
}

#[test]
fn bad_bytes_are_errors_not_panics() {
    let good = DEEP_BYTES;
    assert_eq!(
        DeepInt8::try_from_le_bytes(&good[1..]),
        Err(QuantError::Length)
    );
    assert_eq!(DeepInt8::try_from_le_bytes(&[]), Err(QuantError::Length));
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(DeepInt8::try_from_le_bytes(&long), Err(QuantError::Length));
    let mut bad = good;
    bad[8] = 0x80; // weight -128
    assert_eq!(DeepInt8::try_from_le_bytes(&bad), Err(QuantError::Weight));
    let mut bad = good;
    bad[..4].copy_from_slice(&f32::NAN.to_le_bytes()); // input scale
    assert_eq!(DeepInt8::try_from_le_bytes(&bad), Err(QuantError::Params));
    let mut bad = good;
    bad[4..8].copy_from_slice(&300i32.to_le_bytes()); // input zero point
    assert_eq!(DeepInt8::try_from_le_bytes(&bad), Err(QuantError::Params));
    let mut bad = good;
    let scale0 = 8 + 30 + 4 * 5; // first layer's first weight scale
    bad[scale0..scale0 + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
    assert_eq!(DeepInt8::try_from_le_bytes(&bad), Err(QuantError::Scale));
    let mut bad = good;
    bad[scale0..scale0 + 4].copy_from_slice(&1e30f32.to_le_bytes());
    assert_eq!(
        DeepInt8::try_from_le_bytes(&bad),
        Err(QuantError::Multiplier)
    );
    // Every single-byte truncation and every flipped byte: an error or a valid network, never a
    // panic.
    for cut in 0..good.len() {
        assert!(DeepInt8::try_from_le_bytes(&good[..cut]).is_err());
    }
    for at in 0..good.len() {
        let mut flipped = good;
        flipped[at] ^= 0xa5;
        let _ = DeepInt8::try_from_le_bytes(&flipped);
    }
}

#[test]
fn bad_calibration_and_unfusable_activations_are_errors() {
    let net = Mnist::new(1);
    assert_eq!(net.quantize(&[]).unwrap_err(), QuantError::NoCalibration);
    let mut x = [[0.5f32; 784]; 2];
    x[1][300] = f32::NAN;
    assert_eq!(net.quantize(&x).unwrap_err(), QuantError::NonFinite);
    // A hidden tanh has no int8 form in TFLite's scheme (it would need a lookup table).
    assert_eq!(
        Hidden::new(1).quantize(&[[0.1, 0.2, 0.3]]).unwrap_err(),
        QuantError::Activation("tanh")
    );
    assert_eq!(
        QuantError::Activation("tanh").to_string(),
        "activation `tanh` cannot be fused into an int8 layer"
    );
}

/// TFLite's int8 convolution written out: every output pixel's sum over the kernel window, the
/// input's zero point where the window overhangs, then the output stage.
// Index loops: the reference spells out TFLite's indices rather than iterate.
#[allow(clippy::needless_range_loop)]
fn conv_reference<
    const C: usize,
    const H: usize,
    const W: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    const N: usize,
>(
    layer: &constnet::quant::QConv2d<C, H, W, F, K, S, SAME, OH, OW, N>,
    x: &[[[i8; W]; H]; C],
) -> [[[i8; OW]; OH]; F] {
    let rows = layer.rows();
    let zp = rows.input().zero_point;
    // TensorFlow's 'same': the padding that is not even goes after.
    let pad = |n: usize, out: usize| {
        if SAME {
            ((out - 1) * S + K).saturating_sub(n) / 2
        } else {
            0
        }
    };
    let (pt, pl) = (pad(H, OH), pad(W, OW));
    let (lo, hi) = rows.output_range();
    let mut y = [[[0i8; OW]; OH]; F];
    for f in 0..F {
        for oy in 0..OH {
            for ox in 0..OW {
                let mut acc = rows.bias()[f];
                for c in 0..C {
                    for kh in 0..K {
                        for kw in 0..K {
                            let (iy, ix) = (
                                (oy * S + kh) as isize - pt as isize,
                                (ox * S + kw) as isize - pl as isize,
                            );
                            let v = if iy < 0 || ix < 0 || iy >= H as isize || ix >= W as isize {
                                zp
                            } else {
                                i32::from(x[c][iy as usize][ix as usize])
                            };
                            acc += i32::from(rows.weight()[f][(c * K + kh) * K + kw]) * (v - zp);
                        }
                    }
                }
                let v = rows.multiplier()[f].apply(acc) + rows.output().zero_point;
                y[f][oy][ox] = v.clamp(i32::from(lo), i32::from(hi)) as i8;
            }
        }
    }
    y
}

/// TFLite's int8 depthwise convolution written out.
#[allow(clippy::needless_range_loop)]
fn depthwise_reference<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    const N: usize,
>(
    layer: &constnet::quant::QDepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, N>,
    x: &[[[i8; W]; H]; C],
) -> [[[i8; OW]; OH]; C] {
    let rows = layer.rows();
    let zp = rows.input().zero_point;
    let pad = |n: usize, out: usize| {
        if SAME {
            ((out - 1) * S + K).saturating_sub(n) / 2
        } else {
            0
        }
    };
    let (pt, pl) = (pad(H, OH), pad(W, OW));
    let (lo, hi) = rows.output_range();
    let mut y = [[[0i8; OW]; OH]; C];
    for c in 0..C {
        for oy in 0..OH {
            for ox in 0..OW {
                let mut acc = rows.bias()[c];
                for kh in 0..K {
                    for kw in 0..K {
                        let (iy, ix) = (
                            (oy * S + kh) as isize - pt as isize,
                            (ox * S + kw) as isize - pl as isize,
                        );
                        let v = if iy < 0 || ix < 0 || iy >= H as isize || ix >= W as isize {
                            zp
                        } else {
                            i32::from(x[c][iy as usize][ix as usize])
                        };
                        acc += i32::from(rows.weight()[c][kh * K + kw]) * (v - zp);
                    }
                }
                let v = rows.multiplier()[c].apply(acc) + rows.output().zero_point;
                y[c][oy][ox] = v.clamp(i32::from(lo), i32::from(hi)) as i8;
            }
        }
    }
    y
}

#[test]
fn depthwise_and_average_pooling_match_the_reference() {
    use constnet::quant::QLayer;
    let mut rng = constnet::Rng::new(8);
    let samples: Vec<[f32; 192]> = (0..60)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let net = Mobile::new(3);
    let q = net.quantize(&samples).unwrap();
    let mut agree = 0;
    for x in &samples {
        let xq = q.quantize_input(x);
        let image: [[[i8; 8]; 8]; 3] = core::array::from_fn(|c| {
            core::array::from_fn(|r| core::array::from_fn(|k| xq[c * 64 + r * 8 + k]))
        });
        let mut c = [[[[0i8; 8]; 8]; 4]];
        q.c.forward_batch(&[image], &mut c);
        assert_eq!(c[0], conv_reference(&q.c, &image));
        let mut dw = [[[[0i8; 4]; 4]; 4]];
        q.dw.forward_batch(&c, &mut dw);
        assert_eq!(dw[0], depthwise_reference(&q.dw, &c[0]));
        let mut pool = [[[[0i8; 2]; 2]; 4]];
        q.pool.forward_batch(&dw, &mut pool);
        for ch in 0..4 {
            for oy in 0..2 {
                for ox in 0..2 {
                    let sum: i32 = (0..4)
                        .map(|k| i32::from(dw[0][ch][oy * 2 + k / 2][ox * 2 + k % 2]))
                        .sum();
                    // Half away from zero, as TFLite.
                    let avg = (f64::from(sum) / 4.0)
                        .abs()
                        .round()
                        .copysign(f64::from(sum)) as i32;
                    assert_eq!(i32::from(pool[0][ch][oy][ox]), avg);
                }
            }
        }
        let flat: [i8; 16] = core::array::from_fn(|i| pool[0][i / 4][(i % 4) / 2][i % 2]);
        assert_eq!(q.forward_int8(&xq), reference(&q.out, &flat));
        agree += usize::from(q.predict(x) == net.predict(x));
    }
    // Quantisation moves few decisions of the float network.
    assert!(agree >= 50, "{agree} of 60 agree");
    let bytes = q.to_le_bytes();
    assert_eq!(MobileInt8::try_from_le_bytes(&bytes).as_ref(), Ok(&q));
    assert_eq!(
        MobileInt8::from_onnx_bytes(&q.to_onnx_bytes().unwrap()).unwrap(),
        q
    );
    assert_eq!(
        MobileInt8::from_safetensors_bytes(&q.to_safetensors_bytes()).unwrap(),
        q
    );
}

#[test]
fn quantized_cnn_loses_at_most_half_a_point() {
    let (train, test) = mnist();
    let mut net = Cnn::new_boxed(1);
    let mut trainer = Trainer::<Cnn, _, 32, _>::boxed(Adam::new(0.004));
    Fit::<32>::epochs(1)
        .seed(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut *trainer,
            &train,
            None,
        )
        .unwrap();
    let q = net.quantize(&train.features()[..500]).unwrap();
    let float = evaluate(&*net, SparseCategoricalCrossEntropy, &test)
        .unwrap()
        .accuracy;
    let int8 = test
        .features()
        .iter()
        .zip(test.labels())
        .filter(|(x, &label)| q.predict(x) == label)
        .count() as f32
        / test.len() as f32;
    println!(
        "CNN: float {:.2} %, int8 {:.2} %",
        100.0 * float,
        100.0 * int8
    );
    assert!(float > 0.9, "the float network learned: {float}");
    assert!(float - int8 <= 0.005, "int8 {int8} against float {float}");
    // Weights: 16·25 + 32·144 + 10·800 int8, with biases, scales and parameters.
    assert_eq!(
        CnnInt8::WEIGHT_BYTES,
        8 + (400 + 8 * 16 + 8) + (4608 + 8 * 32 + 8) + (8000 + 80 + 8)
    );
    let bytes = q.to_le_bytes();
    assert_eq!(CnnInt8::try_from_le_bytes(&bytes).as_ref(), Ok(&q));
}

#[test]
fn int8_convolutions_match_the_reference() {
    let (train, test) = mnist();
    let net = Cnn::new_boxed(4);
    let q = net.quantize(&train.features()[..50]).unwrap();
    for x in &test.features()[..20] {
        let xq = q.quantize_input(x);
        let image: [[[i8; 28]; 28]; 1] = [core::array::from_fn(|r| {
            core::array::from_fn(|c| xq[r * 28 + c])
        })];
        let mut c1 = [[[[0i8; 24]; 24]; 16]];
        constnet::quant::QLayer::forward_batch(&q.c1, &[image], &mut c1);
        assert_eq!(c1[0], conv_reference(&q.c1, &image));
        let mut p1 = [[[[0i8; 12]; 12]; 16]];
        constnet::quant::QLayer::forward_batch(&q.p1, &c1, &mut p1);
        let mut c2 = [[[[0i8; 10]; 10]; 32]];
        constnet::quant::QLayer::forward_batch(&q.c2, &p1, &mut c2);
        assert_eq!(c2[0], conv_reference(&q.c2, &p1[0]));
        // The pools' maxima, and the whole network against the layers one by one.
        let mut p2 = [[[[0i8; 5]; 5]; 32]];
        constnet::quant::QLayer::forward_batch(&q.p2, &c2, &mut p2);
        for c in 0..32 {
            for oy in 0..5 {
                for ox in 0..5 {
                    let window = (0..4).map(|k| c2[0][c][oy * 2 + k / 2][ox * 2 + k % 2]);
                    assert_eq!(p2[0][c][oy][ox], window.max().unwrap());
                }
            }
        }
        let flat: [i8; 800] = core::array::from_fn(|i| p2[0][i / 25][(i % 25) / 5][i % 5]);
        assert_eq!(q.forward_int8(&xq), reference(&q.out, &flat));
    }
    // Strides and 'same' padding.
    let padded = Padded::new(2);
    let mut rng = constnet::Rng::new(5);
    let samples: Vec<[f32; 162]> = (0..40)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 2.0)))
        .collect();
    let q = padded.quantize(&samples).unwrap();
    for x in &samples {
        let xq = q.quantize_input(x);
        let image: [[[i8; 9]; 9]; 2] = core::array::from_fn(|c| {
            core::array::from_fn(|r| core::array::from_fn(|k| xq[c * 81 + r * 9 + k]))
        });
        let mut y = [[[[0i8; 5]; 5]; 3]];
        constnet::quant::QLayer::forward_batch(&q.c, &[image], &mut y);
        assert_eq!(y[0], conv_reference(&q.c, &image));
    }
}

use constnet::io::QuantizedModelFile;

mod files {
    use super::*;
    use constnet::io::WeightsError;

    fn quantized() -> MnistInt8 {
        let (train, _) = mnist();
        Mnist::new(9).quantize(&train.features()[..64]).unwrap()
    }

    #[test]
    fn safetensors_and_onnx_round_trip_through_files() {
        let q = quantized();
        let dir = std::env::temp_dir().join(format!("constnet-int8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        q.save_safetensors(&dir.join("q.safetensors")).unwrap();
        q.save_onnx(&dir.join("q.onnx")).unwrap();
        assert_eq!(
            MnistInt8::load_safetensors(&dir.join("q.safetensors")).unwrap(),
            q
        );
        assert_eq!(MnistInt8::load_onnx(&dir.join("q.onnx")).unwrap(), q);
        // The CNN's layers too (4-D convolution weights; pools, flatten and dropout store
        // nothing).
        let (train, _) = mnist();
        let cnn = Cnn::new_boxed(2).quantize(&train.features()[..32]).unwrap();
        assert_eq!(
            CnnInt8::from_safetensors_bytes(&cnn.to_safetensors_bytes()).unwrap(),
            cnn
        );
        assert_eq!(
            CnnInt8::from_onnx_bytes(&cnn.to_onnx_bytes().unwrap()).unwrap(),
            cnn
        );
        // A file of another network is refused with the tensor that differs.
        let other = DeepInt8::from_le_bytes(&DEEP_BYTES);
        let err = MnistInt8::from_safetensors_bytes(&other.to_safetensors_bytes()).unwrap_err();
        assert!(
            matches!(err, WeightsError::UnexpectedTensor { .. }),
            "{err}"
        );
        let err = MnistInt8::from_onnx_bytes(&other.to_onnx_bytes().unwrap()).unwrap_err();
        assert!(matches!(err, WeightsError::GraphMismatch(_)), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_files_are_errors_never_panics() {
        let q = DeepInt8::from_le_bytes(&DEEP_BYTES);
        for bytes in [q.to_safetensors_bytes(), q.to_onnx_bytes().unwrap()] {
            let is_onnx = bytes[0] != DeepInt8::to_safetensors_bytes(&q)[0];
            let load = |b: &[u8]| {
                if is_onnx {
                    DeepInt8::from_onnx_bytes(b)
                } else {
                    DeepInt8::from_safetensors_bytes(b)
                }
            };
            assert_eq!(load(&bytes).unwrap(), q);
            for cut in 0..bytes.len() {
                assert!(load(&bytes[..cut]).is_err(), "cut at {cut} loaded");
            }
            for at in 0..bytes.len() {
                let mut flipped = bytes.clone();
                flipped[at] ^= 0x5a;
                let _ = load(&flipped); // an error or a valid network; no panic
            }
        }
    }

    #[test]
    fn a_weight_of_minus_128_in_a_file_is_refused() {
        let q = DeepInt8::from_le_bytes(&DEEP_BYTES);
        let mut bytes = q.to_safetensors_bytes();
        // The first weight of l0 sits at the start of its tensor's data; find it by value.
        let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let json: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header]).unwrap();
        let start = json["l0.weight"]["data_offsets"][0].as_u64().unwrap() as usize;
        bytes[8 + header + start] = 0x80;
        let err = DeepInt8::from_safetensors_bytes(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid int8 parameters: an int8 weight is -128; weights are in [-127, 127]"
        );
    }

    #[test]
    fn int8_exports_for_the_python_check() {
        // Writes what `scripts/interop/check_int8.py` reads (CI runs onnxruntime on it): three
        // quantised networks as ONNX (QDQ) and safetensors, inputs, and constnet's dequantised
        // int8 outputs and probabilities on them.
        let Some(dir) = std::env::var_os("CONSTNET_EXPORT_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();

        // `NAME.onnx`, `NAME.safetensors`, and `NAME_io.safetensors` with the samples (each of
        // `shape`), the dequantised int8 outputs `logits`, the probabilities `output` and the
        // output's scale. A macro: the twins share these methods' names, not a trait.
        macro_rules! export {
            ($name:literal, $q:expr, $samples:expr, $shape:expr) => {{
                use safetensors::{tensor::TensorView, Dtype};
                let (q, samples) = (&$q, $samples);
                q.save_onnx(&dir.join(concat!($name, ".onnx"))).unwrap();
                q.save_safetensors(&dir.join(concat!($name, ".safetensors")))
                    .unwrap();
                let p = q.output_params();
                let f32s = |v: &mut dyn Iterator<Item = f32>| {
                    v.flat_map(f32::to_le_bytes).collect::<Vec<u8>>()
                };
                let input = f32s(&mut samples.iter().flatten().copied());
                let logits = f32s(&mut samples.iter().flat_map(|x| {
                    q.forward_int8(&q.quantize_input(x))
                        .map(|c| p.dequantize(c))
                }));
                let output = f32s(&mut samples.iter().flat_map(|x| q.forward(x)));
                let (n, outputs) = (samples.len(), output.len() / 4 / samples.len());
                let scale = p.scale.to_le_bytes();
                let shape: Vec<usize> = std::iter::once(n).chain($shape).collect();
                let tensors = [
                    ("input", TensorView::new(Dtype::F32, shape, &input).unwrap()),
                    (
                        "logits",
                        TensorView::new(Dtype::F32, vec![n, outputs], &logits).unwrap(),
                    ),
                    (
                        "output",
                        TensorView::new(Dtype::F32, vec![n, outputs], &output).unwrap(),
                    ),
                    (
                        "output_scale",
                        TensorView::new(Dtype::F32, vec![], &scale).unwrap(),
                    ),
                ];
                let io = dir.join(concat!($name, "_io.safetensors"));
                safetensors::serialize_to_file(tensors, None, &io).unwrap();
            }};
        }

        // The bundled MLP, trained as the example trains it; 200 test digits.
        let (net, train, test) = trained();
        let digits = &test.features()[..200];
        export!(
            "mnist_int8",
            net.quantize(&train.features()[..500]).unwrap(),
            digits,
            [784]
        );

        // The CNN: convolutions, pools, flatten and dropout in QDQ form.
        let mut cnn = Cnn::new_boxed(1);
        let mut trainer = Trainer::<Cnn, _, 32, _>::boxed(Adam::new(0.004));
        Fit::<32>::epochs(1)
            .seed(1)
            .verbose(Verbose::Silent)
            .run(
                &mut *cnn,
                SparseCategoricalCrossEntropy,
                &mut *trainer,
                &train,
                None,
            )
            .unwrap();
        let q = cnn.quantize(&train.features()[..500]).unwrap();
        export!("cnn_int8", q, digits, [1, 28, 28]);

        // Depthwise convolution and average pooling, on random inputs.
        let mut rng = constnet::Rng::new(8);
        let samples: Vec<[f32; 192]> = (0..200)
            .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
            .collect();
        export!(
            "mobile_int8",
            Mobile::new(3).quantize(&samples).unwrap(),
            &samples[..],
            [3, 8, 8]
        );
    }
}
