//! The memory figures a network publishes as consts agree with the types, and weights round-trip
//! through the little-endian byte layout, also in const evaluation.
use constnet::optim::AdamState;
use constnet::prelude::*;
use constnet::RawError;
use core::mem::size_of;

network! {
    #[derive(Debug, PartialEq)]
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
    pub struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> }
}

// A build fails if the model outgrows the chip: here it fits a 256 KB flash.
const _: () = assert!(Mnist::WEIGHT_BYTES <= 256 * 1024);

#[test]
fn counts_and_bytes_match_the_types() {
    assert_eq!(Mnist::PARAMS, 50_890);
    assert_eq!(Mnist::WEIGHT_BYTES, 203_560);
    // The struct is rounded up to whole 64-byte lines (`align(64)`); the values are not.
    assert_eq!(size_of::<Mnist>(), 203_584);
    assert_eq!(core::mem::align_of::<Mnist>(), 64);
    assert_eq!(Mnist::new(1).to_le_bytes().len(), Mnist::WEIGHT_BYTES);
    assert_eq!(<Mnist as Parameters>::LEN, Mnist::PARAMS);
    assert_eq!((Mnist::INPUTS, Mnist::OUTPUTS, Mnist::LAYERS), (784, 10, 2));
    // The 64 hidden activations pass in one buffer (input and output are the caller's).
    assert_eq!(Mnist::INFERENCE_BYTES, 64 * 4);
    assert_eq!(Sine::PARAMS, 16 + 16 + 16 * 16 + 16 + 16 + 1);
    // Three layers: two buffers of 16.
    assert_eq!(Sine::INFERENCE_BYTES, 2 * 16 * 4);
}

#[test]
fn training_bytes_add_up() {
    // Input batch, then every layer's outputs and their gradients.
    let activations = size_of::<[[f32; 784]; 32]>() + 2 * size_of::<[[f32; 64 + 10]; 32]>();
    assert_eq!(
        Mnist::training_bytes::<Adam, 32>(),
        size_of::<Mnist>() * 2 + size_of::<AdamState<Mnist>>() + activations
    );
    // A trainer is the gradients, the optimizer state and the batch buffers, plus a few counters.
    let blocks =
        size_of::<Mnist>() + size_of::<AdamState<Mnist>>() + 2 * size_of::<[[f32; 64 + 10]; 32]>();
    let trainer = size_of::<Trainer<Mnist, Adam, 32>>();
    assert!(
        (blocks..blocks + 128).contains(&trainer),
        "{trainer} vs {blocks}"
    );
    assert_eq!(size_of::<AdamState<Mnist>>(), 2 * size_of::<Mnist>());
    // Plain SGD keeps no state.
    assert_eq!(
        Mnist::training_bytes::<Sgd, 32>(),
        Mnist::training_bytes::<Adam, 32>() - 2 * size_of::<Mnist>()
    );
}

#[test]
fn weights_round_trip_through_le_bytes() {
    let net = Mnist::boxed_zeroed();
    let mut net = net;
    net.init(5);
    let bytes = net.to_le_bytes();
    assert_eq!(bytes.len(), Mnist::WEIGHT_BYTES);
    // Layout: first layer's row 0 weights come first, its biases after all its weights.
    assert_eq!(bytes[..4], net.hidden.weight[0][0].to_le_bytes());
    let bias_at = 784 * 64 * 4;
    net.hidden.bias[0] = 1.5;
    let bytes = net.to_le_bytes();
    assert_eq!(bytes[bias_at..bias_at + 4], 1.5f32.to_le_bytes());

    let array: &[u8; Mnist::WEIGHT_BYTES] = bytes.as_slice().try_into().unwrap();
    let back = Box::new(Mnist::from_le_bytes(array));
    assert_eq!(back.as_slice(), net.as_slice());

    let mut other = Mnist::boxed_zeroed();
    other.copy_from_le_bytes(&bytes).unwrap();
    assert_eq!(other.as_slice(), net.as_slice());
    // A buffer of the wrong length is refused and leaves the network as it was.
    let err = other.copy_from_le_bytes(&bytes[1..]).unwrap_err();
    assert_eq!(
        err,
        RawError::WrongLength {
            expected: Mnist::WEIGHT_BYTES,
            found: Mnist::WEIGHT_BYTES - 1
        }
    );
    // So is one with a NaN weight (forward would return NaN and predict class 0 for everything).
    let mut nan = bytes.clone();
    nan[400..404].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = other.copy_from_le_bytes(&nan).unwrap_err();
    assert!(
        matches!(err, RawError::NonFinite { index: 100, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "parameter 100 is NaN: weights must be finite"
    );
    assert_eq!(other.as_slice(), net.as_slice());
    assert!(Mnist::boxed_from_le_bytes(&nan).is_err());
    assert_eq!(other.as_slice(), net.as_slice());
}

/// Weights decoded in const evaluation, as for a `static` in flash.
static SINE: Sine = Sine::from_le_bytes(&{
    let mut bytes = [0u8; Sine::WEIGHT_BYTES];
    // Every parameter 0.5 (0x3f000000 little-endian).
    let mut i = 0;
    while i < bytes.len() {
        bytes[i + 3] = 0x3f;
        i += 4;
    }
    bytes
});

#[test]
fn const_decoding_into_a_static() {
    assert!(SINE.as_slice().iter().all(|&p| p == 0.5));
    // relu(0.5·1 + 0.5) = 1 → 16 units of 0.5·16·1 + 0.5 = 8.5 → 0.5·16·8.5 + 0.5 = 68.5
    assert_eq!(SINE.forward(&[1.0]), [68.5]);
}

network! {
    /// 134 MB of weights: far more than any thread's stack.
    struct Big {
        a: Dense<4096, 4096, Relu>,
        b: Dense<4096, 4096, Relu>,
        out: Dense<4096, 10, Softmax>,
    }
}

/// Every way of making, loading and training a network too big for the stack works through its
/// boxed form, on a test thread's 2 MB stack: nothing that scales with the layer widths or the
/// batch is a local.
#[test]
fn a_network_of_134_mb_is_made_loaded_and_trained_off_the_stack() {
    use constnet::data::Dataset;
    use constnet::train::{evaluate, Fit, Verbose};

    let mut net = Big::new_boxed(1);
    let zeroed = Big::boxed_zeroed();
    assert!(zeroed.as_slice().iter().all(|&v| v == 0.0));
    drop(zeroed);
    let bytes = net.to_le_bytes();
    let back = Big::boxed_from_le_bytes(&bytes).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    drop((back, bytes));
    let st = net.to_safetensors_bytes();
    let back = Big::from_safetensors_bytes_renamed(&st, &[]).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    drop((back, st));

    let features: Vec<[f32; 4096]> = (0..128)
        .map(|i| core::array::from_fn(|j| ((i * 31 + j) % 17) as f32 / 17.0))
        .collect();
    let data = Dataset::new(features, (0..128).map(|i| i % 10).collect(), 10).unwrap();
    let mut trainer = Trainer::boxed(Sgd::new(0.01));
    let history = Fit::<128>::epochs(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &data,
            None,
        )
        .unwrap();
    assert!(history.epochs[0].loss.is_finite());
    let e = evaluate(&*net, SparseCategoricalCrossEntropy, &data).unwrap();
    assert!(e.loss.is_finite());
}
