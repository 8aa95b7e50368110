//! The `Normalization` layer (Keras' `keras.layers.Normalization`): outputs, input gradients and
//! `adapt` against Keras 3, mean and variance as state that every weight format carries and no
//! optimizer moves, and the layer inside a network that trains.
use constnet::layer::{Backprop, Layer};
use constnet::prelude::*;
use constnet::Optimizer;

// Printed by scripts/reference/normalization.py (keras 3.15.1 on torch 2.15.0+cu132, numpy 2.4.6,
// KERAS_BACKEND=torch): the adapt data, what `Normalization().adapt(DATA)` stored, and the layer's
// outputs on X with the input gradient of `(y * R).sum()`.
const DATA: [[f32; 4]; 24] = [
    [127.40135, 0.0031829844, 3.5, -3.929048],
    [53.82502, 0.014807634, 3.5, -2.1750793],
    [114.37096, -0.009501236, 3.5, -5.0735426],
    [101.044556, 0.012586181, 3.5, -3.732811],
    [119.77375, -0.014804237, 3.5, -5.2518063],
    [105.78444, 0.0034323637, 3.5, -2.9428892],
    [127.40888, 0.010648765, 3.5, -3.6667266],
    [100.47616, 0.0022363213, 3.5, -3.248361],
    [92.25656, -0.0036713749, 3.5, -4.303154],
    [108.707275, -0.0080556, 3.5, -1.7199923],
    [106.481606, -0.0034280003, 3.5, -5.722301],
    [94.64741, 0.010511251, 3.5, -5.668332],
    [96.29044, 0.008908395, 3.5, -6.18372],
    [110.79161, -0.0026213147, 3.5, -3.7780745],
    [110.56474, -0.012460044, 3.5, -6.2448006],
    [92.59099, 0.0067399726, 3.5, -6.2890654],
    [94.48429, -0.0144987395, 3.5, -3.5450504],
    [72.89815, -0.005308549, 3.5, -2.6758084],
    [125.18811, -0.0073482837, 3.5, -3.8512971],
    [96.635635, 0.007432652, 3.5, -10.366207],
    [120.05916, 0.0023594974, 3.5, -6.9072647],
    [106.261986, 0.0046185474, 3.5, -7.146979],
    [129.15944, 0.0027240792, 3.5, -7.4150224],
    [123.05665, -0.006779301, 3.5, -5.815535],
];
const KERAS_MEAN: [f32; 4] = [105.42329, 7.1331895e-05, 3.5, -4.902203];
const KERAS_VARIANCE: [f32; 4] = [304.08102, 7.2614086e-05, 0.0, 3.7644463];
const X: [[f32; 4]; 3] = [
    [112.5, 0.0125, 3.5, -4.0],
    [80.25, -0.02, 3.75, -9.5],
    [100.0, 0.0, 3.5, 0.5],
];
const R: [[f32; 4]; 3] = [
    [1.0, -0.5, 0.25, 2.0],
    [-1.5, 0.75, 1.0, -0.25],
    [0.5, 1.25, -2.0, 1.0],
];
const KERAS_Y: [[f32; 4]; 3] = [
    [0.40582326, 1.4585259, 0.0, 0.46500087],
    [-1.4435946, -2.3554058, 2.5e+06, -2.369732],
    [-0.31100535, -0.008370922, 0.0, 2.7843277],
];
const KERAS_DX: [[f32; 4]; 3] = [
    [0.05734629, -58.675873, 2.5e+06, 1.0308119],
    [-0.086019434, 88.01381, 1e+07, -0.12885149],
    [0.028673146, 146.68968, -2e+07, 0.51540595],
];

/// With Keras' mean and variance, the outputs and the input gradient are Keras' to the bit: both
/// compute `(x − mean) / max(√var, 1e-7)` with one correctly rounded operation each (the constant
/// third feature divides by the floor 1e-7: 0.25 / 1e-7 = 2.5e6).
#[test]
fn forward_and_backward_match_keras_bit_for_bit() {
    let norm = Normalization::new(KERAS_MEAN, KERAS_VARIANCE);
    let mut y = [[0.0; 4]; 3];
    Layer::forward(&norm, &X, &mut y);
    assert_eq!(y, KERAS_Y);

    let mut train_y = [[0.0; 4]; 3];
    norm.forward_train(&X, &mut train_y, &mut (), &mut constnet::Rng::new(0));
    assert_eq!(train_y, KERAS_Y);
    let mut grad = Normalization::new([9.0; 4], [9.0; 4]);
    let mut dx = [[0.0; 4]; 3];
    norm.backward(&X, &y, &R, &(), &mut grad, Some(&mut dx));
    assert_eq!(dx, KERAS_DX);
    // Mean and variance are state: their gradient is zero, overwriting what was there.
    assert_eq!(grad, Normalization::new([0.0; 4], [0.0; 4]));
}

/// `adapt` against Keras' `adapt` on the same 24 samples. Keras sums in float32 (numpy's pairwise
/// sums), constnet in f64 and rounds once, so the two may differ in the last bits: relative 1e-6
/// of the feature's spread for the mean (the second feature's mean is 7e-5 against a spread of
/// 8.5e-3, where float32 sums lose relative precision), 1e-6 relative for the variance.
#[test]
fn adapt_matches_keras() {
    let mut norm = Normalization::<4>::default();
    norm.adapt(&DATA).unwrap();
    for f in 0..4 {
        let spread = KERAS_VARIANCE[f].sqrt();
        let (mean, want) = (norm.mean[f], KERAS_MEAN[f]);
        assert!(
            (mean - want).abs() <= 1e-6 * spread,
            "feature {f}: mean {mean}, Keras {want}"
        );
        let (var, want) = (norm.variance[f], KERAS_VARIANCE[f]);
        assert!(
            (var - want).abs() <= 1e-6 * want,
            "feature {f}: variance {var}, Keras {want}"
        );
    }
    // A constant feature has variance exactly 0, and is only centred.
    assert_eq!((norm.mean[2], norm.variance[2]), (3.5, 0.0));
}

network! {
    /// Keras' tabular model: normalisation first, as the tutorials adapt it to the training set.
    #[derive(Clone)]
    struct Tabular {
        norm: Normalization<4>,
        hidden: Dense<4, 8, Relu>,
        out: Dense<8, 3, Softmax>,
    }
}

/// What the net holds besides the trained weights: mean and variance, named as Keras names them.
#[test]
fn mean_and_variance_are_state_counted_and_named() {
    assert_eq!(Tabular::PARAMS, 8 * 4 + 8 + 3 * 8 + 3); // the normalisation trains nothing
    assert_eq!(Tabular::WEIGHT_BYTES, (8 + 8 * 4 + 8 + 3 * 8 + 3) * 4);
    assert_eq!(std::mem::size_of::<Tabular>(), 320); // 300 bytes in whole 64-byte lines
    assert_eq!(Tabular::INFERENCE_BYTES, 2 * 8 * 4); // two buffers of the widest hand-off (8)
    let text = Tabular::summary().to_string();
    assert!(text.contains("norm (Normalization, linear)"), "{text}");
    assert!(text.contains("Non-trainable params: 8"), "{text}");
    let names: Vec<String> = constnet::io::tensors::<Tabular, 4, 3>(&[])
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names[..2],
        ["norm.mean".to_string(), "norm.variance".to_string()]
    );
    // A new network's normalisation is the identity until adapted.
    let net = Tabular::new(1);
    assert_eq!(net.norm, Normalization::new([0.0; 4], [1.0; 4]));
}

fn adapted() -> Tabular {
    let mut net = Tabular::new(3);
    net.norm.adapt(&DATA).unwrap();
    net
}

/// Raw bytes, safetensors and ONNX each give back the network bit for bit, mean and variance
/// included.
#[test]
fn round_trips_through_every_weight_format() {
    let net = adapted();
    let raw = net.to_le_bytes();
    let back = Tabular::from_le_bytes(raw[..].try_into().unwrap());
    assert_eq!(back.as_slice(), net.as_slice());
    let back = Tabular::from_safetensors_bytes(&net.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    let onnx = net.to_onnx_bytes().unwrap();
    let back = Tabular::from_onnx_bytes(&onnx).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    assert_eq!(back.norm, net.norm);
}

/// A graph whose normalisation floors the deviation at another ε is not this layer.
#[test]
fn onnx_import_checks_the_floor() {
    let net = adapted();
    let onnx = net.to_onnx_bytes().unwrap();
    // The ε initializer's four bytes: 1e-7 as f32, replaced by 1e-5.
    let eps = 1e-7f32.to_le_bytes();
    let at = onnx.windows(4).position(|w| w == eps).unwrap();
    let mut changed = onnx.clone();
    changed[at..at + 4].copy_from_slice(&1e-5f32.to_le_bytes());
    let err = Tabular::from_onnx_bytes(&changed)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("Max(Sqrt(variance), 0.0000001)"), "{err}");
}

/// Training moves the dense layers, never mean or variance: with every optimizer (their updates
/// are zero for a zero gradient, which the layer's backward pass gives them), bit for bit.
#[test]
fn no_optimizer_moves_mean_or_variance() {
    fn train<O: Optimizer<Tabular>>(optimizer: O) {
        let mut net = adapted();
        let before = net.clone();
        let mut trainer = Trainer::<Tabular, O, 6>::new(optimizer);
        let labels = [0, 1, 2, 1, 0, 2];
        for step in 0..50 {
            let x: [[f32; 4]; 6] = std::array::from_fn(|i| DATA[(step * 6 + i) % 24]);
            let loss = trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &labels);
            assert!(loss.is_finite());
        }
        let name = std::any::type_name::<O>();
        assert_eq!(net.norm.mean, before.norm.mean, "{name}");
        assert_eq!(net.norm.variance, before.norm.variance, "{name}");
        assert_ne!(net.hidden.weight, before.hidden.weight, "{name}");
    }
    train(Sgd::new(0.1));
    train(Sgd::new(0.1).decay(1e-2));
    train(Sgd::new(0.05).momentum(0.9));
    train(Sgd::new(0.05).momentum(0.9).nesterov(true));
    train(Adam::new(0.01));
    train(RmsProp::new(0.01));
    train(AdaGrad::new(0.1));
}

/// Normalising makes a job with features of very different scales learnable: the class is the
/// sign of a weighted sum of a feature of scale 100 and one of scale 0.01. From the same start,
/// 300 Adam steps on the raw features leave the second feature all but ignored; with the adapted
/// normalisation first, the network separates the classes.
#[test]
fn normalisation_makes_mixed_scales_learnable() {
    network! {
        struct Raw { hidden: Dense<2, 8, Tanh>, out: Dense<8, 2, Softmax> }
        struct Normed { norm: Normalization<2>, hidden: Dense<2, 8, Tanh>, out: Dense<8, 2, Softmax> }
    }
    let mut rng = constnet::Rng::new(5);
    let samples: Vec<[f32; 2]> = (0..256)
        .map(|_| {
            [
                100.0 + 20.0 * rng.uniform(-1.0, 1.0),
                0.01 * rng.uniform(-1.0, 1.0),
            ]
        })
        .collect();
    // Class 1 when (x0 − 100)/20 + x1/0.01 > 0: both features matter equally once scaled.
    let label = |x: &[f32; 2]| usize::from((x[0] - 100.0) / 20.0 + x[1] / 0.01 > 0.0);
    let labels: Vec<usize> = samples.iter().map(label).collect();
    let accuracy = |predict: &dyn Fn(&[f32; 2]) -> usize| {
        let right = samples
            .iter()
            .zip(&labels)
            .filter(|(x, &t)| predict(x) == t);
        right.count() as f32 / samples.len() as f32
    };

    let mut raw = Raw::new(1);
    let mut normed = Normed::new(1);
    normed.norm.adapt(&samples).unwrap();
    let mut raw_trainer = Trainer::<Raw, _, 32>::new(Adam::new(0.01));
    let mut normed_trainer = Trainer::<Normed, _, 32>::new(Adam::new(0.01));
    for step in 0..300 {
        let at = (step * 32) % 256;
        let x: [[f32; 2]; 32] = samples[at..at + 32].try_into().unwrap();
        let t: [usize; 32] = labels[at..at + 32].try_into().unwrap();
        raw_trainer.step(&mut raw, SparseCategoricalCrossEntropy, &x, &t);
        normed_trainer.step(&mut normed, SparseCategoricalCrossEntropy, &x, &t);
    }
    let (raw_acc, normed_acc) = (
        accuracy(&|x| raw.predict(x)),
        accuracy(&|x| normed.predict(x)),
    );
    assert!(normed_acc >= 0.95, "normalised: {normed_acc}");
    assert!(
        raw_acc < normed_acc - 0.1,
        "raw {raw_acc}, normalised {normed_acc}"
    );
}

/// Without `#[input]`, `Normalization<N>` first declares the network's input width, as a first
/// `Dense` does; after a `Flatten` it normalises each flattened value.
#[test]
fn normalization_first_or_after_flatten() {
    network! {
        #[input(1, 2, 2)]
        struct AfterFlatten { f: Flatten, norm: Normalization<4>, out: Dense<4, 2> }
    }
    assert_eq!(Tabular::INPUTS, 4);
    let mut net = AfterFlatten::new(2);
    net.norm = Normalization::new([1.0, 2.0, 3.0, 4.0], [4.0, 4.0, 4.0, 4.0]);
    net.out = Dense::new([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], [0.0; 2]);
    // (5 − 1)/2 = 2 and (0 − 4)/2 = −2.
    assert_eq!(net.forward(&[5.0, 0.0, 0.0, 0.0]), [2.0, -2.0]);
}
