//! Networks of every layer kind through `network!`: shapes, summary, training end to end.
use constnet::prelude::*;
use constnet::Rng;

network! {
    /// A 1-D network: pool, batch norm, global pool.
    #[input(2, 16)]
    pub struct Seq {
        p: MaxPool1d<2>,
        bn: BatchNorm,
        g: GlobalAvgPool,
        out: Dense<2, 2, Softmax>,
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
    assert!(s.contains("(None, 2, 8)"), "{s}");
    assert!(s.contains("(None, 2)"), "{s}");
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
