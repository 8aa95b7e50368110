//! Finite-difference checks of every activation × loss combination that trains, through two Dense
//! layers, plus "a batch gradient is the mean of per-sample gradients".
use constnet::loss::FromLabel;
use constnet::prelude::*;
use constnet::Rng;

/// Central differences on the f32 network. With step `H/2`, the truncation error is O(H²·f''') ≈ 1e-5
/// here and the f32 rounding of a loss near 1 contributes ≈ 6e-8 / H ≈ 4e-5: the tolerance below
/// (2e-3 relative, 2e-4 absolute) sits an order of magnitude above both, and far below the size of a
/// real mistake (a wrong sign, factor or missing term is off by ≥ 10 %).
const H: f32 = 3e-3;
const REL: f32 = 2e-3;
const ABS: f32 = 2e-4;

fn check<N, L, const IN: usize, const OUT: usize, const B: usize>(
    mut net: N,
    x: &[[f32; IN]; B],
    t: &[L::Target; B],
) where
    N: Train<IN, OUT, B>,
    L: Loss<OUT>,
{
    let mut grads = N::zeroed();
    net.backprop::<L>(x, t, &mut [[0.0; OUT]; B], &mut grads);
    let mut scratch = N::zeroed();
    let mut central = |net: &mut N, k: usize, h: f32| {
        let p = net.as_slice()[k];
        net.as_mut_slice()[k] = p + h;
        let up = net.backprop::<L>(x, t, &mut [[0.0; OUT]; B], &mut scratch);
        net.as_mut_slice()[k] = p - h;
        let down = net.backprop::<L>(x, t, &mut [[0.0; OUT]; B], &mut scratch);
        net.as_mut_slice()[k] = p;
        (up - down) / (2.0 * h)
    };
    let mut worst = 0.0f32;
    let mut kinks = 0;
    // State that training does not follow by gradient (normalisation's mean and variance, batch
    // norm's running statistics) has gradient zero, whatever the loss does when it changes.
    let trainable: Vec<bool> = N::summary()
        .layers
        .iter()
        .flat_map(|l| l.tensors)
        .flat_map(|t| std::iter::repeat_n(t.trainable, t.len()))
        .collect();
    assert_eq!(trainable.len(), N::LEN);
    for (k, &trainable) in trainable.iter().enumerate() {
        if !trainable {
            assert_eq!(grads.as_slice()[k], 0.0, "state {k} has a gradient");
            continue;
        }
        // Where the loss is smooth, central differences at H and H/2 agree to O(H²). A ReLU-like
        // kink within reach of the step makes them disagree; a difference across a kink means
        // nothing, so such parameters are counted (and bounded below), not checked.
        let (wide, numeric) = (central(&mut net, k, H), central(&mut net, k, H / 2.0));
        if (wide - numeric).abs() > ABS + REL * wide.abs().max(numeric.abs()) {
            kinks += 1;
            continue;
        }
        let analytic = grads.as_slice()[k];
        let err = (numeric - analytic).abs();
        assert!(
            err <= ABS + REL * analytic.abs().max(numeric.abs()),
            "{}: parameter {k}: analytic {analytic}, numeric {numeric}",
            std::any::type_name::<(N, L)>()
        );
        worst = worst.max(err);
    }
    assert!(worst.is_finite());
    assert!(
        kinks * 10 <= N::LEN,
        "{kinks} of {} parameters sit on a kink",
        N::LEN
    );
}

fn inputs<const IN: usize, const B: usize>(seed: u64) -> [[f32; IN]; B] {
    let mut rng = Rng::new(seed);
    [[0.0; IN]; B].map(|row| row.map(|_| rng.uniform(-1.0, 1.0)))
}

fn targets<const OUT: usize, const B: usize>(seed: u64) -> [[f32; OUT]; B] {
    let mut rng = Rng::new(seed);
    [[0.0; OUT]; B].map(|row| row.map(|_| rng.uniform(0.05, 0.95)))
}

fn labels<T: FromLabel, const B: usize>(classes: usize) -> [T; B] {
    core::array::from_fn(|b| T::from_label(b % classes))
}

macro_rules! gradient_checks {
    ($($test:ident: $hidden:ident -> $out:ident with $loss:ty, $targets:expr;)*) => {$(
        #[test]
        fn $test() {
            network! { struct Net { Dense<5, 6, $hidden>, Dense<6, 3, $out> } }
            for seed in 1..4 {
                // Inputs from their own stream: drawn from the weights' stream they correlate with them.
                let x = inputs::<5, 4>(1000 + seed);
                let t = $targets;
                check::<Net, $loss, 5, 3, 4>(Net::new(seed), &x, &t);
            }
        }
    )*};
}

// Every output activation that trains, with every loss that fits it: the regression losses after
// any activation; the cross-entropies after the probability outputs (Sigmoid, Softmax), through
// the fused gradient or the chain rule. Hidden activations rotate so each is checked in a hidden layer.
gradient_checks! {
    tanh_identity_mse: Tanh -> Identity with Mse, targets::<3, 4>(9);
    relu_identity_mae: Relu -> Identity with Mae, targets::<3, 4>(9);
    sigmoid_identity_huber: Sigmoid -> Identity with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    leaky_relu_relu_mse: LeakyRelu -> Relu with Mse, targets::<3, 4>(9);
    identity_relu_mae: Identity -> Relu with Mae, targets::<3, 4>(9);
    softmax_relu_huber: Softmax -> Relu with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    tanh_leaky_relu_mse: Tanh -> LeakyRelu with Mse, targets::<3, 4>(9);
    relu_leaky_relu_mae: Relu -> LeakyRelu with Mae, targets::<3, 4>(9);
    sigmoid_leaky_relu_huber: Sigmoid -> LeakyRelu with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    leaky_relu_sigmoid_mse: LeakyRelu -> Sigmoid with Mse, targets::<3, 4>(9);
    identity_sigmoid_mae: Identity -> Sigmoid with Mae, targets::<3, 4>(9);
    softmax_sigmoid_huber: Softmax -> Sigmoid with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    tanh_tanh_mse: Tanh -> Tanh with Mse, targets::<3, 4>(9);
    relu_tanh_mae: Relu -> Tanh with Mae, targets::<3, 4>(9);
    sigmoid_tanh_huber: Sigmoid -> Tanh with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    leaky_relu_softmax_mse: LeakyRelu -> Softmax with Mse, targets::<3, 4>(9);
    identity_softmax_mae: Identity -> Softmax with Mae, targets::<3, 4>(9);
    softmax_softmax_huber: Softmax -> Softmax with Huber, targets::<3, 4>(9).map(|r| r.map(|v| 4.0 * v - 2.0));
    tanh_sigmoid_bce: Tanh -> Sigmoid with BinaryCrossEntropy, targets::<3, 4>(9);
    relu_sigmoid_cce: Relu -> Sigmoid with CategoricalCrossEntropy, labels::<[f32; 3], 4>(3);
    sigmoid_sigmoid_sparse: Sigmoid -> Sigmoid with SparseCategoricalCrossEntropy, labels::<usize, 4>(3);
    leaky_relu_softmax_bce: LeakyRelu -> Softmax with BinaryCrossEntropy, targets::<3, 4>(9);
    identity_softmax_cce: Identity -> Softmax with CategoricalCrossEntropy, labels::<[f32; 3], 4>(3);
    softmax_softmax_sparse: Softmax -> Softmax with SparseCategoricalCrossEntropy, labels::<usize, 4>(3);
    tanh_softmax_cce_soft_targets: Tanh -> Softmax with CategoricalCrossEntropy, targets::<3, 4>(9);
}

network! {
    #[derive(Clone)]
    struct Batchy { Dense<4, 8, Tanh>, Dense<8, 3, Softmax> }
}

#[test]
fn batch_gradient_is_mean_of_sample_gradients() {
    let net = Batchy::new(11);
    let x = inputs::<4, 6>(1012);
    let t: [usize; 6] = labels::<usize, 6>(3);
    let mut batch = Batchy::zeroed();
    let batch_loss = net.gradient(SparseCategoricalCrossEntropy, &x, &t, &mut batch);

    let mut mean = Batchy::zeroed();
    let mut loss_sum = 0.0;
    for (x, t) in x.iter().zip(&t) {
        let mut one = Batchy::zeroed();
        loss_sum += net.gradient(SparseCategoricalCrossEntropy, &[*x], &[*t], &mut one);
        for (m, g) in mean.as_mut_slice().iter_mut().zip(one.as_slice()) {
            *m += g / 6.0;
        }
    }
    assert!((batch_loss - loss_sum / 6.0).abs() < 1e-6);
    for (a, b) in batch.as_slice().iter().zip(mean.as_slice()) {
        assert!((a - b).abs() <= 1e-6 + 1e-5 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn extreme_logits_stay_finite() {
    // ±1e4 pre-activations: saturated softmax and sigmoid outputs must give finite losses and
    // gradients under every cross-entropy.
    network! { struct Big { Dense<1, 2, Softmax> } struct BigSig { Dense<1, 2, Sigmoid> } }
    let big = Big {
        l0: Dense::new([[1e4], [-1e4]], [0.0; 2]),
    };
    let sig = BigSig {
        l0: Dense::new([[1e4], [-1e4]], [0.0; 2]),
    };
    let x = [[1.0], [-1.0]];
    let mut g = Big::zeroed();
    for loss in [
        big.gradient(SparseCategoricalCrossEntropy, &x, &[1, 0], &mut g),
        big.gradient(
            CategoricalCrossEntropy,
            &x,
            &[[0.0, 1.0], [1.0, 0.0]],
            &mut g,
        ),
    ] {
        assert!(loss.is_finite() && loss > 10.0, "{loss}");
        assert!(g.as_slice().iter().all(|v| v.is_finite()));
    }
    let mut gs = BigSig::zeroed();
    let loss = sig.gradient(BinaryCrossEntropy, &x, &[[0.0, 1.0], [1.0, 0.0]], &mut gs);
    assert!(loss.is_finite() && loss > 10.0, "{loss}");
    assert!(gs.as_slice().iter().all(|v| v.is_finite()));
}

// Every layer kind inside a network, through `network!`'s generated backward pass: the hand-offs
// between shapes, the batch-mean scaling and the layers' own gradients together. Max pooling is
// checked at the layer level (nn-core) instead: behind a convolution, every output of a channel
// depends on every weight of its filter, so one near-tie in any pooling window of the batch is a
// kink for the whole filter, and the checker could not tell that from an error.
network! {
    #[input(2, 6, 6)]
    struct SmallCnn {
        c: Conv2d<3, 3, Tanh>,
        p: AvgPool2d<2>,
        f: Flatten,
        d: Dropout<20>,
        out: Dense<12, 3, Softmax>,
    }

    #[input(2, 8)]
    struct SmallSeq {
        c: Conv1d<3, 3, Tanh, padding = Same>,
        p: AvgPool1d<2>,
        bn: BatchNorm,
        g: GlobalAvgPool,
        out: Dense<3, 2, Sigmoid>,
    }

    #[input(2, 5, 5)]
    struct SmallDepthwise {
        dw: DepthwiseConv2d<3, Tanh, stride = 2, padding = Same>,
        a: AvgPool2d<3>,
        f: Flatten,
        bn: BatchNorm,
        out: Dense<2, 2>,
    }

    /// Normalisation between two layers: its input gradient reaches the first layer's weights.
    struct SmallNormalized {
        a: Dense<5, 6, Tanh>,
        norm: Normalization<6>,
        out: Dense<6, 3, Softmax>,
    }

    #[input(3, 4, 4)]
    struct SmallGlobal {
        c: Conv2d<4, 2, Relu, stride = 2>,
        g: GlobalAvgPool,
        out: Dense<4, 3, Softmax>,
    }
}

#[test]
fn conv_pool_dropout_network() {
    for seed in 1..4 {
        let x = inputs::<72, 4>(2000 + seed);
        check::<SmallCnn, SparseCategoricalCrossEntropy, 72, 3, 4>(
            SmallCnn::new(seed),
            &x,
            &labels::<usize, 4>(3),
        );
    }
}

#[test]
fn conv1d_same_padding_global_pool_network() {
    for seed in 1..4 {
        let x = inputs::<16, 4>(3000 + seed);
        check::<SmallSeq, BinaryCrossEntropy, 16, 2, 4>(
            SmallSeq::new(seed),
            &x,
            &targets::<2, 4>(7),
        );
    }
}

#[test]
fn depthwise_strided_network() {
    for seed in 1..4 {
        let x = inputs::<50, 4>(4000 + seed);
        check::<SmallDepthwise, Mse, 50, 2, 4>(SmallDepthwise::new(seed), &x, &targets::<2, 4>(8));
    }
}

#[test]
fn strided_conv_network() {
    for seed in 1..4 {
        let x = inputs::<48, 4>(5000 + seed);
        check::<SmallGlobal, CategoricalCrossEntropy, 48, 3, 4>(
            SmallGlobal::new(seed),
            &x,
            &labels::<[f32; 3], 4>(3),
        );
    }
}

#[test]
fn normalization_network() {
    for seed in 1..4 {
        let x = inputs::<5, 4>(6000 + seed);
        let mut net = SmallNormalized::new(seed);
        // Means and spreads that differ per feature, so that a missing or misplaced division shows.
        net.norm = Normalization::new(
            [0.1, -0.2, 0.05, 0.3, -0.1, 0.0],
            [0.25, 0.04, 1.0, 0.5, 0.09, 2.25],
        );
        check::<SmallNormalized, SparseCategoricalCrossEntropy, 5, 3, 4>(
            net,
            &x,
            &labels::<usize, 4>(3),
        );
    }
}

/// A batch whose inputs would crowd the weights out of L2 (128 or 256 × 784 floats) is trained in
/// parts of 64 samples, each part's forward and backward pass back to back; the loss, gradient and
/// outputs must be bit for bit those of one pass over the whole batch, computed here layer by
/// layer through `Backprop<B>` (what the generated code did before it took batches in parts).
#[test]
fn a_batch_in_parts_is_one_pass_bit_for_bit() {
    network! { struct Mlp { a: Dense<784, 32, Relu>, b: Dense<32, 16, Tanh>, c: Dense<16, 10, Softmax> } }
    check::<128>();
    check::<256>();
    fn check<const B: usize>()
    where
        Mlp: Train<784, 10, B>,
    {
        use constnet::layer::{activation_backward, output_delta, Backprop};
        assert!(constnet::layer::in_parts(B, 784, Mlp::PARAMS, true));
        let mut rng = Rng::new(5);
        let mut net = Mlp::new_boxed(3);
        // Biases too, so that their gradients' chains matter.
        for v in net.as_mut_slice() {
            *v += rng.uniform(-0.05, 0.05);
        }
        let mut x = Box::new([[0.0f32; 784]; B]);
        for v in x.as_flattened_mut() {
            *v = rng.uniform(-1.0, 1.0);
        }
        let labels: [usize; B] = core::array::from_fn(|i| (i * 7 + 3) % 10);

        let mut grads = Mlp::boxed_zeroed();
        let mut buf = <Mlp as TrainBuffers<B>>::Buffers::boxed_zeroed();
        let loss = net.backprop_with::<SparseCategoricalCrossEntropy>(
            &x,
            &labels,
            &mut buf,
            &mut grads,
            &mut Rng::new(0),
        );

        let mut want = Mlp::boxed_zeroed();
        let (mut h1, mut d1) = (Box::new([[0.0f32; 32]; B]), Box::new([[0.0f32; 32]; B]));
        let (mut h2, mut d2) = (Box::new([[0.0f32; 16]; B]), Box::new([[0.0f32; 16]; B]));
        let (mut y, mut d3) = (Box::new([[0.0f32; 10]; B]), Box::new([[0.0f32; 10]; B]));
        let r = &mut Rng::new(0);
        Backprop::<B>::forward_train(&net.a, &x, &mut h1, &mut (), r);
        Backprop::<B>::forward_train(&net.b, &h1, &mut h2, &mut (), r);
        Backprop::<B>::forward_train(&net.c, &h2, &mut y, &mut (), r);
        let want_loss =
            output_delta::<SparseCategoricalCrossEntropy, Softmax, 10, B>(&y, &labels, &mut d3);
        Backprop::<B>::backward(&net.c, &h2, &y, &d3, &(), &mut want.c, Some(&mut d2));
        activation_backward::<Dense<32, 16, Tanh>, B>(&h2, &mut d2);
        Backprop::<B>::backward(&net.b, &h1, &h2, &d2, &(), &mut want.b, Some(&mut d1));
        activation_backward::<Dense<784, 32, Relu>, B>(&h1, &mut d1);
        Backprop::<B>::backward(&net.a, &x, &h1, &d1, &(), &mut want.a, None);

        assert_eq!(loss.to_bits(), want_loss.to_bits());
        let bits = |n: &Mlp| n.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&grads), bits(&want));
        // Not vacuous: every layer's gradient has nonzero entries.
        assert!(want.a.weight.as_flattened().iter().any(|g| *g != 0.0));
        assert!(want.c.bias.iter().any(|g| *g != 0.0));
        // The outputs of every part, where `outputs` reads them.
        let rows = |y: &[[f32; 10]; B]| {
            y.as_flattened()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(Mlp::outputs(&buf)), rows(&y));
    }
}
