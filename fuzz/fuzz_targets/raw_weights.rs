//! `Parameters::copy_from_le_bytes`, the raw little-endian weight format, on networks generated
//! by `network!`: a small CNN and an MLP.
//!
//! Input: byte 0 picks the network (bit 0) and whether to run inference on the loaded weights
//! (bit 1); the rest is the weight file. Right length: loaded bit for bit (`to_le_bytes` gives the
//! bytes back) and inference does not panic; a NaN or infinite value is refused. Wrong length: an
//! error, and the network is unchanged.
#![no_main]

use constnet::prelude::*;
use constnet::RawError;
use libfuzzer_sys::fuzz_target;

network! {
    #[input(1, 8, 8)]
    struct Cnn {
        c: Conv2d<4, 3, Relu>,
        p: MaxPool2d<2>,
        f: Flatten,
        out: Dense<36, 3, Softmax>,
    }
}

network! {
    struct Mlp {
        hidden: Dense<4, 8, Relu>,
        out: Dense<8, 3, Softmax>,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&opts, bytes)) = data.split_first() else {
        return;
    };
    let infer = opts & 2 != 0;
    if opts & 1 == 0 {
        let mut net = Cnn::new(7);
        load(&mut net, bytes);
        if infer {
            let _ = net.predict(&core::array::from_fn(|i| i as f32 / 64.0));
        }
    } else {
        let mut net = Mlp::new(7);
        load(&mut net, bytes);
        if infer {
            let _ = net.predict(&[0.5, -1.0, 2.0, 0.0]);
        }
    }
});

fn load<P: Parameters>(net: &mut P, bytes: &[u8]) {
    let before = net.to_le_bytes();
    match net.copy_from_le_bytes(bytes) {
        Ok(()) => {
            assert_eq!(bytes.len(), P::LEN * 4);
            assert!(net.as_slice().iter().all(|v| v.is_finite()));
            assert_eq!(net.to_le_bytes(), bytes);
        }
        Err(RawError::WrongLength { expected, found }) => {
            assert_eq!((expected, found), (P::LEN * 4, bytes.len()));
            assert_ne!(bytes.len(), P::LEN * 4);
            assert_eq!(
                net.to_le_bytes(),
                before,
                "a refused load changed the weights"
            );
        }
        Err(RawError::NonFinite { index, value }) => {
            assert_eq!(bytes.len(), P::LEN * 4);
            let b = &bytes[4 * index..4 * index + 4];
            assert!(!f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite() && !value.is_finite());
            assert_eq!(net.to_le_bytes(), before, "a refused load changed the weights");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}
