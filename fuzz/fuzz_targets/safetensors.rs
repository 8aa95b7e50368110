//! `from_safetensors_bytes` (and its renamed form) on an MLP and a CNN with batch norm: any bytes
//! give a network or a `WeightsError`, never a panic, and memory stays bounded by the input (the
//! header's claims are checked against the bytes before anything is allocated for them). A
//! network that loads has finite weights and saves back to a file that loads to the same bits.
#![no_main]

use constnet::prelude::*;
use libfuzzer_sys::fuzz_target;

network! { struct Mlp { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
network! {
    #[input(1, 6, 6)]
    struct Cnn { conv: Conv2d<2, 3, Relu>, bn: BatchNorm, pool: MaxPool2d<2>, flat: Flatten, out: Dense<8, 2, Softmax> }
}

fn check<N: ModelFile<IN, OUT>, const IN: usize, const OUT: usize>(net: &N) {
    assert!(net.as_slice().iter().all(|v| v.is_finite()));
    let back = N::from_safetensors_bytes_renamed(&net.to_safetensors_bytes(), &[]).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = Mlp::from_safetensors_bytes_renamed(data, &[]) {
        check(&*net);
    }
    if let Ok(net) = Mlp::from_safetensors_bytes_renamed(data, &[("hidden", "0"), ("out", "2")]) {
        check(&*net);
    }
    if let Ok(net) = Cnn::from_safetensors_bytes_renamed(data, &[]) {
        check(&*net);
    }
});
