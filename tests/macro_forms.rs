//! What the `network!` syntax accepts beyond the basics, compiled as a user crate would: every
//! width form the docs name, a user's own activations (even ones named like built-ins), doc
//! comments on layers, and user items whose names the generated code must not capture.
#![deny(warnings)]
#![forbid(unsafe_code)]
use constnet::prelude::*;
use constnet::Differentiable;

/// Widths from a module.
mod cfg {
    pub const H: usize = 6;
}

// User consts named like things the expansion uses: they must neither clash nor be captured.
const B: usize = 3;
#[allow(dead_code)]
const LAYERS: usize = 99;
const SIDE: usize = 2;

/// ReLU capped at 6: a user's activation whose name is close to a built-in's.
pub struct Relu6;

impl Activation for Relu6 {
    const NAME: &'static str = "relu6";
    fn forward(z: &mut [f32]) {
        z.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0));
    }
}

impl Differentiable for Relu6 {
    fn backward(y: &[f32], dy: &mut [f32]) {
        for (y, d) in y.iter().zip(dy) {
            if *y <= 0.0 || *y >= 6.0 {
                *d = 0.0;
            }
        }
    }
}

network! {
    /// Every width form.
    pub struct Forms {
        /// The first layer: `{ SIDE * SIDE }` inputs.
        first: Dense<{ SIDE * SIDE }, cfg::H, Relu6>,
        second: Dense<cfg::H, { 2 * B }, Relu>,
        third: Dense<{ 2 * B }, B, Softmax>,
    }
}

const FILTERS: usize = 3;
const KERNEL: usize = 3;
const SIDE8: usize = 8;

network! {
    /// Convolution shapes from named consts: the macro passes expressions on, the layers check them.
    #[input(1, SIDE8, SIDE8)]
    pub struct NamedCnn {
        c: Conv2d<FILTERS, KERNEL, Relu>,
        p: MaxPool2d<2>,
        f: Flatten,
        out: Dense<{ FILTERS * 3 * 3 }, 2, Softmax>,
    }
}

#[test]
fn convolution_sizes_from_named_consts() {
    assert_eq!(NamedCnn::INPUTS, 64);
    assert_eq!(NamedCnn::summary().layers[0].output_shape, &[3, 6, 6]);
    let y = NamedCnn::new(1).forward(&[0.5; 64]);
    assert!((y[0] + y[1] - 1.0).abs() < 1e-6);
}

#[test]
fn every_width_form_compiles_and_runs() {
    assert_eq!((Forms::INPUTS, Forms::OUTPUTS, Forms::LAYERS), (4, 3, 3));
    let net = Forms::new(1);
    let y = net.forward(&[1.0; 4]);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let summary = Forms::summary();
    assert_eq!(summary.layers[0].activation, "relu6");
    assert_eq!(LAYERS, 99);
}

#[test]
fn a_custom_activation_trains() {
    let mut net = Forms::new(2);
    let mut trainer = Trainer::<Forms, _, 4>::new(Adam::new(0.01));
    let x = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let t = [0usize, 1, 2, 0];
    let first = trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &t);
    let mut last = first;
    for _ in 0..300 {
        last = trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &t);
    }
    assert!(last < first / 4.0, "{first} -> {last}");
}
