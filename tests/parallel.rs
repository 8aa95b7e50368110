//! Data-parallel gradients give the same bits whatever the number of threads.
use constnet::parallel::{DataParallel, ParallelError};
use constnet::prelude::*;
use constnet::Rng;

network! {
    struct Mnist { Dense<784, 64, Relu>, Dense<64, 10, Softmax> }
}

#[test]
fn identical_for_any_thread_count_and_close_to_the_single_batch() {
    let mut net = Mnist::boxed_zeroed();
    net.init(3);
    let mut rng = Rng::new(4);
    let x: Vec<[f32; 784]> = (0..128)
        .map(|_| core::array::from_fn(|_| rng.next_f32()))
        .collect();
    let labels: Vec<usize> = (0..128).map(|i| i % 10).collect();

    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        // Called from outside the pool, and from a training loop run on it (`run`).
        for inside in [false, true] {
            let mut grads = Mnist::boxed_zeroed();
            let mut dp = DataParallel::<Mnist, 32>::new(threads).unwrap();
            let mut call = |dp: &mut DataParallel<Mnist, 32>| {
                dp.gradient(
                    &*net,
                    SparseCategoricalCrossEntropy,
                    &x,
                    &labels,
                    &mut grads,
                )
                .unwrap()
            };
            let loss = if inside {
                dp.run(|dp| call(dp))
            } else {
                call(&mut dp)
            };
            results.push((loss, grads));
        }
    }
    for (loss, grads) in &results[1..] {
        assert_eq!(loss.to_bits(), results[0].0.to_bits());
        assert_eq!(grads.as_slice(), results[0].1.as_slice());
    }

    // The same gradient as one 128-sample call, up to summation order.
    let batch: &[[f32; 784]; 128] = x.as_slice().try_into().unwrap();
    let targets: &[usize; 128] = labels.as_slice().try_into().unwrap();
    let mut whole = Mnist::boxed_zeroed();
    let loss = net.gradient(SparseCategoricalCrossEntropy, batch, targets, &mut whole);
    assert!((loss - results[0].0).abs() < 1e-5);
    for (a, b) in whole.as_slice().iter().zip(results[0].1.as_slice()) {
        assert!((a - b).abs() <= 1e-6 + 1e-4 * a.abs(), "{a} vs {b}");
    }
}

#[test]
fn rejects_partial_chunks_and_mismatched_targets() {
    let net = Mnist::boxed_zeroed();
    let mut grads = Mnist::boxed_zeroed();
    let mut dp = DataParallel::<Mnist, 32>::new(2).unwrap();
    let x = vec![[0.0f32; 784]; 40];
    let err = dp.gradient(
        &*net,
        SparseCategoricalCrossEntropy,
        &x,
        &[0; 40],
        &mut grads,
    );
    assert_eq!(
        err,
        Err(ParallelError::NotWholeChunks {
            samples: 40,
            chunk: 32
        })
    );
    let err = dp.gradient(
        &*net,
        SparseCategoricalCrossEntropy,
        &x[..32],
        &[0; 31],
        &mut grads,
    );
    assert_eq!(
        err,
        Err(ParallelError::CountMismatch {
            samples: 32,
            targets: 31
        })
    );
}

network! {
    #[input(1, 12, 12)]
    struct SmallCnn {
        c: Conv2d<4, 3, Relu>,
        p: MaxPool2d<2>,
        f: Flatten,
        d: Dropout<10>,
        out: Dense<100, 3, Softmax>,
    }
}

/// A CNN with dropout: the chunks' activations live on the heap, and the masks come from the chunk
/// index, so the gradient is bit-for-bit the same for any number of threads.
#[test]
fn cnn_gradients_do_not_depend_on_threads() {
    let net = SmallCnn::new(3);
    let mut rng = Rng::new(4);
    let x: Vec<[f32; 144]> = (0..32)
        .map(|_| core::array::from_fn(|_| rng.uniform(0.0, 1.0)))
        .collect();
    let labels: Vec<usize> = (0..32).map(|i| i % 3).collect();
    let mut grads = Vec::new();
    for threads in [1, 2, 3] {
        let mut g = SmallCnn::zeroed();
        DataParallel::<SmallCnn, 8>::new(threads)
            .unwrap()
            .gradient(&net, SparseCategoricalCrossEntropy, &x, &labels, &mut g)
            .unwrap();
        grads.push(g);
    }
    assert!(grads[0].as_slice().iter().any(|&v| v != 0.0));
    assert_eq!(grads[0].as_slice(), grads[1].as_slice());
    assert_eq!(grads[0].as_slice(), grads[2].as_slice());
}
