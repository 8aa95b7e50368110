//! Networks of every layer kind through `network!`: shapes, summary, training end to end.
use constnet::prelude::*;
use constnet::Rng;

network! {
    /// A 1-D network: conv, pool, batch norm, global pool.
    #[input(2, 16)]
    pub struct Seq {
        c: Conv1d<4, 3, Relu>,
        p: MaxPool1d<2>,
        bn: BatchNorm,
        g: GlobalAvgPool,
        out: Dense<4, 2, Softmax>,
    }

    /// The LeNet of the issue.
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

    /// Strides, 'same' padding, depthwise, global pooling.
    #[input(3, 32, 32)]
    pub struct Mobile {
        stem: Conv2d<8, 3, Relu, stride = 2, padding = Same>,
        dw: DepthwiseConv2d<3, Relu, padding = Same>,
        pw: Conv2d<16, 1, Relu>,
        g: GlobalAvgPool,
        out: Dense<16, 4, Softmax>,
    }

    #[input(4)]
    pub struct Tab {
        bn: BatchNorm,
        h: Dense<4, 8, Relu>,
        d: Dropout<50>,
        out: Dense<8, 1, Sigmoid>,
    }
}

#[test]
fn shapes_flow_through_the_macro() {
    let s = Seq::summary().to_string();
    assert!(s.contains("(None, 4, 14)"), "{s}");
    assert!(s.contains("(None, 4, 7)"), "{s}");
    assert_eq!(Seq::INPUTS, 32);
    assert_eq!(Tab::PARAMS, 8 + 40 + 9);
    // Batch norm's running statistics are values, not trained parameters.
    assert_eq!(Tab::WEIGHT_BYTES, (Tab::PARAMS + 8) * 4);
    let mut net = Tab::new(1);
    net.bn.running_var = [1.0; 4];
    let y = net.forward(&[0.0; 4]);
    assert_eq!(y, [0.5]);
}

#[test]
fn tabular_network_with_batch_norm_and_dropout_trains() {
    let mut net = Tab::new(2);
    let mut trainer = Trainer::<Tab, _, 8>::new(Adam::new(0.01));
    let mut rng = Rng::new(3);
    let mut last = f32::MAX;
    for step in 0..400 {
        let x: [[f32; 4]; 8] =
            core::array::from_fn(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0) * 3.0 + 1.0));
        let t: [[f32; 1]; 8] =
            core::array::from_fn(|b| [f32::from(u8::from(x[b][0] + x[b][1] > 2.0))]);
        let loss = trainer.step(&mut net, BinaryCrossEntropy, &x, &t);
        if step >= 390 {
            last = last.min(loss);
        }
    }
    assert!(last < 0.4, "loss {last}");
    // The running statistics moved towards the data's (mean 1, variance 3).
    assert!(
        (net.bn.running_mean[0] - 1.0).abs() < 0.5,
        "{:?}",
        net.bn.running_mean
    );
}

#[test]
fn lenet_shapes_params_and_memory() {
    let s = LeNet::summary().to_string();
    for shape in [
        "(None, 6, 24, 24)",
        "(None, 6, 12, 12)",
        "(None, 16, 8, 8)",
        "(None, 16, 4, 4)",
        "(None, 256)",
        "(None, 10)",
    ] {
        assert!(s.contains(shape), "{shape} missing in\n{s}");
    }
    // PyTorch's count for the same module: 156 + 2,416 + 2,570.
    assert_eq!(LeNet::PARAMS, 6 * 25 + 6 + 16 * 6 * 25 + 16 + 256 * 10 + 10);
    assert_eq!(LeNet::WEIGHT_BYTES, 4 * LeNet::PARAMS);
    assert_eq!(
        std::mem::size_of::<LeNet>(),
        LeNet::WEIGHT_BYTES.next_multiple_of(64)
    );
    // Inference hands activations along in two buffers of the largest output (c1's).
    assert_eq!(LeNet::INFERENCE_BYTES, 2 * 6 * 24 * 24 * 4);
    // Training: weights and gradients, Adam's two moments, the input batch, and per layer its
    // outputs and their gradients, plus max pooling's argmax and dropout's mask.
    let outputs = 6 * 576 + 6 * 144 + 16 * 64 + 16 * 16 + 256 + 256 + 10;
    let scratch = 6 * 144 + 16 * 16 + 256;
    assert_eq!(
        LeNet::training_bytes::<Adam, 32>(),
        4 * std::mem::size_of::<LeNet>() + 32 * 4 * (784 + 2 * outputs + scratch)
    );
    assert_eq!(Mobile::summary().layers[0].output_shape, &[8, 16, 16]);
    assert_eq!(Mobile::summary().layers[2].output_shape, &[16, 16, 16]);
}

/// The batch's activations live in the trainer on the heap: a CNN trains with batch 64 on a test
/// thread's 2 MB stack (its activations alone are 2.6 MB).
#[test]
fn lenet_trains_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut net = LeNet::new_boxed(1);
            let mut trainer = Trainer::<LeNet, _, 64>::boxed(Adam::new(0.002));
            let mut x = Box::new([[0.0f32; 784]; 64]);
            let mut rng = Rng::new(5);
            let labels: [usize; 64] = core::array::from_fn(|b| b % 10);
            for (row, &label) in x.iter_mut().zip(&labels) {
                // A class-dependent blob: learnable in a few steps.
                for (i, v) in row.iter_mut().enumerate() {
                    let (r, c) = (i / 28, i % 28);
                    let on = (r / 7 + c / 7 * 4) % 10 == label;
                    *v = f32::from(u8::from(on)) + 0.1 * rng.uniform(0.0, 1.0);
                }
            }
            let first = trainer.step(&mut *net, SparseCategoricalCrossEntropy, &x, &labels);
            let mut last = first;
            for _ in 0..30 {
                last = trainer.step(&mut *net, SparseCategoricalCrossEntropy, &x, &labels);
            }
            assert!(last < first / 2.0, "{first} -> {last}");
            let hits = x
                .iter()
                .zip(&labels)
                .filter(|(x, l)| net.predict(x) == **l)
                .count();
            assert!(hits >= 60, "{hits} of 64");
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn mobile_style_network_trains() {
    let mut net = Mobile::new(3);
    let mut trainer = Trainer::<Mobile, _, 8>::boxed(Adam::new(0.01));
    let mut rng = Rng::new(1);
    let x: Box<[[f32; 3072]; 8]> = Box::new(core::array::from_fn(|b| {
        core::array::from_fn(|i| {
            if i / 1024 == b % 3 {
                1.0
            } else {
                rng.uniform(0.0, 0.2)
            }
        })
    }));
    let labels: [usize; 8] = core::array::from_fn(|b| b % 3);
    let first = trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &labels);
    let mut last = first;
    for _ in 0..60 {
        last = trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &labels);
    }
    assert!(last < first / 2.0, "{first} -> {last}");
}

network! {
    /// Batch norms after layers without activation (foldable) and after one with (not).
    #[input(2, 10, 10)]
    pub struct Folding {
        c: Conv2d<4, 3>,
        bn1: BatchNorm,
        p: MaxPool2d<2>,
        f: Flatten,
        h: Dense<64, 8, Relu>,
        bn2: BatchNorm,
        out: Dense<8, 3>,
        bn3: BatchNorm,
    }
}

/// Folding moves the batch norms that follow a linear layer into it: the same outputs (to
/// rounding), and those batch norms become the identity; the one after a ReLU stays.
#[test]
fn batch_norm_folds_into_the_layer_before() {
    let mut net = Folding::new(4);
    let mut rng = Rng::new(9);
    for bn in [
        &mut net.bn1.weight[..],
        &mut net.bn1.bias,
        &mut net.bn1.running_mean,
    ] {
        bn.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0));
    }
    net.bn1.running_var = core::array::from_fn(|_| rng.uniform(0.2, 2.0));
    net.bn2.running_mean = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
    net.bn3.running_var = [3.0; 3];
    net.bn3.weight = [0.5, -2.0, 1.5];
    let x: [f32; 200] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
    let before = net.forward(&x);
    let bn2 = net.bn2;
    net.fold_batch_norm();
    let after = net.forward(&x);
    for (b, a) in before.iter().zip(&after) {
        assert!(
            (b - a).abs() < 1e-5 * b.abs().max(1.0),
            "{before:?} vs {after:?}"
        );
    }
    assert_eq!(net.bn1.weight, [1.0; 4]);
    assert_eq!(net.bn3.running_mean, [0.0; 3]);
    assert_eq!(
        net.bn2, bn2,
        "a batch norm after an activation cannot be folded"
    );
}
