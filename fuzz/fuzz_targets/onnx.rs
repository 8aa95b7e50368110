//! `from_onnx_bytes` on an MLP, a CNN with batch norm and a wider MLP whose first weight (4,800
//! bytes) is large enough to be read from the source after the walk rather than kept in the
//! message: any bytes give a network or a `WeightsError`, never a panic (every length is bounded by
//! the input, prost bounds nesting by depth 100; the importer compares shapes before it decodes
//! data). A network that loads has finite weights and
//! exports to a model that imports to the same bits.
#![no_main]

use constnet::prelude::*;
use libfuzzer_sys::fuzz_target;

network! { struct Mlp { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
network! { struct Wide { hidden: Dense<40, 30, Relu>, out: Dense<30, 2> } }
network! {
    #[input(1, 6, 6)]
    struct Cnn { conv: Conv2d<2, 3, Relu>, bn: BatchNorm, pool: MaxPool2d<2>, flat: Flatten, out: Dense<8, 2, Softmax> }
}

fn check<N: ModelFile<IN, OUT>, const IN: usize, const OUT: usize>(net: &N) {
    assert!(net.as_slice().iter().all(|v| v.is_finite()));
    let back = N::from_onnx_bytes_boxed(&net.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = Mlp::from_onnx_bytes_boxed(data) {
        check(&*net);
    }
    if let Ok(net) = Cnn::from_onnx_bytes_boxed(data) {
        check(&*net);
    }
    if let Ok(net) = Wide::from_onnx_bytes_boxed(data) {
        check(&*net);
    }
});
