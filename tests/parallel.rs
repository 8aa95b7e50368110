//! Data-parallel gradients give the same bits whatever the number of threads.
use constnet::parallel::{DataParallel, ParallelError};
use constnet::prelude::*;
use constnet::BlockUpdate;
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
    // A label out of range for 10 outputs: an error naming it, not a panic on a worker thread.
    let mut labels = [3usize; 64];
    labels[45] = 10;
    let err = dp.gradient(
        &*net,
        SparseCategoricalCrossEntropy,
        &vec![[0.0f32; 784]; 64],
        &labels,
        &mut grads,
    );
    assert_eq!(err, Err(ParallelError::InvalidTarget { index: 45 }));
}

/// A loss that panics on target 7 (and says every target is valid).
#[derive(Clone, Copy)]
struct PanicsOnSeven;

impl Loss<10> for PanicsOnSeven {
    type Target = usize;
    fn loss(y: &[f32; 10], target: &usize) -> f32 {
        assert_ne!(*target, 7, "seven");
        y[*target]
    }
    fn delta<A: constnet::Differentiable>(_: &[f32; 10], target: &usize, dz: &mut [f32; 10]) {
        *dz = [0.0; 10];
        dz[*target] = 1.0;
    }
}

/// A panic in either half of a two-thread step reaches the caller; the other half, waiting at
/// the barrier between the chunks and the update, does not spin for ever.
#[test]
fn a_panic_on_either_thread_reaches_the_caller() {
    let net = Mnist::new_boxed(1);
    let mut grads = Mnist::boxed_zeroed();
    let mut dp = DataParallel::<Mnist, 32>::new(2).unwrap();
    let x = vec![[0.5f32; 784]; 64];
    for at in [5, 40] {
        let mut labels = [1usize; 64];
        labels[at] = 7;
        for _ in 0..20 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                dp.run(|dp| dp.gradient(&*net, PanicsOnSeven, &x, &labels, &mut grads))
            }));
            assert!(r.is_err(), "label 7 at {at}");
        }
    }
    // The pool still works.
    let ok = dp.gradient(&*net, PanicsOnSeven, &x, &[1; 64], &mut grads);
    assert!(ok.is_ok());
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

/// `train_step` updates the parameters on the pool's threads, block by block: bit-for-bit
/// `gradient` followed by the optimizer's `step`, for every optimizer and thread count.
#[test]
fn train_step_is_gradient_then_step_for_every_optimizer() {
    fn check<O: BlockUpdate<Mnist> + Clone + core::fmt::Debug + PartialEq>(opt: O)
    where
        O::State: Send,
    {
        let mut rng = Rng::new(5);
        let x: Vec<[f32; 784]> = (0..64)
            .map(|_| core::array::from_fn(|_| rng.next_f32()))
            .collect();
        let labels: Vec<usize> = (0..64).map(|i| (i * 7) % 10).collect();
        for threads in [1, 2, 3] {
            let (mut fused, mut apart) = (Mnist::boxed_zeroed(), Mnist::boxed_zeroed());
            fused.init(3);
            apart.init(3);
            let (mut o1, mut o2) = (opt.clone(), opt.clone());
            let (mut s1, mut s2) = (O::State::boxed_zeroed(), O::State::boxed_zeroed());
            o1.reset(&mut s1);
            o2.reset(&mut s2);
            let (mut g1, mut g2) = (Mnist::boxed_zeroed(), Mnist::boxed_zeroed());
            let mut dp = DataParallel::<Mnist, 16>::new(threads).unwrap();
            for _ in 0..3 {
                let l1 = dp
                    .train_step(
                        &mut *fused,
                        SparseCategoricalCrossEntropy,
                        &x,
                        &labels,
                        &mut g1,
                        &mut o1,
                        &mut s1,
                    )
                    .unwrap();
                let l2 = dp
                    .gradient(&*apart, SparseCategoricalCrossEntropy, &x, &labels, &mut g2)
                    .unwrap();
                o2.step(&mut *apart, &*g2, &mut s2);
                assert_eq!(l1.to_bits(), l2.to_bits());
            }
            assert_eq!(g1.as_slice(), g2.as_slice(), "{opt:?}, {threads} threads");
            assert_eq!(
                fused.as_slice(),
                apart.as_slice(),
                "{opt:?}, {threads} threads"
            );
            assert_eq!(o1, o2);
            let (mut b1, mut b2) = (Vec::new(), Vec::new());
            o1.state_blocks(&s1, &mut |_, b| b1.extend_from_slice(b));
            o2.state_blocks(&s2, &mut |_, b| b2.extend_from_slice(b));
            assert_eq!(b1, b2);
            let mut init = Mnist::boxed_zeroed();
            init.init(3);
            assert_ne!(fused.as_slice(), init.as_slice());
        }
    }
    check(Sgd::new(0.1).decay(0.01));
    check(Sgd::new(0.05).momentum(0.9).nesterov(true));
    check(Sgd::new(0.05).momentum(0.9));
    check(Adam::new(0.01));
    check(RmsProp::new(0.01));
    check(AdaGrad::new(0.1));
}

/// A refused step leaves the network and the optimizer's step counter as they were.
#[test]
fn a_refused_train_step_changes_nothing() {
    let mut net = Mnist::boxed_zeroed();
    net.init(1);
    let before = net.as_slice().to_vec();
    let mut grads = Mnist::boxed_zeroed();
    let mut adam = Adam::new(0.01);
    let mut state = Box::new(adam.new_state());
    let mut dp = DataParallel::<Mnist, 32>::new(2).unwrap();
    let x = vec![[0.5f32; 784]; 40];
    let err = dp.train_step(
        &mut *net,
        SparseCategoricalCrossEntropy,
        &x,
        &[0; 40],
        &mut grads,
        &mut adam,
        &mut *state,
    );
    assert_eq!(
        err,
        Err(ParallelError::NotWholeChunks {
            samples: 40,
            chunk: 32
        })
    );
    assert_eq!(adam.iterations, 0);
    assert_eq!(net.as_slice(), &before[..]);
}

/// On two threads the chunks' gradients and the update meet at a barrier, unless the second
/// thread is busy elsewhere when the first is done (then the first does not wait for it). Both
/// ways give one thread's bits, for an even and an odd number of chunks.
#[test]
fn two_threads_match_one_with_the_other_thread_free_or_busy() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut rng = Rng::new(6);
    let x: Vec<[f32; 784]> = (0..96)
        .map(|_| core::array::from_fn(|_| rng.next_f32()))
        .collect();
    let labels: Vec<usize> = (0..96).map(|i| (i * 3) % 10).collect();
    for samples in [64, 96] {
        let (x, labels) = (&x[..samples], &labels[..samples]);
        let mut results = Vec::new();
        for (threads, busy) in [(1, false), (2, false), (2, true)] {
            let mut net = Mnist::boxed_zeroed();
            net.init(2);
            let mut adam = Adam::new(0.01);
            let mut state = Box::new(adam.new_state());
            let mut grads = Mnist::boxed_zeroed();
            let mut dp = DataParallel::<Mnist, 32>::new(threads).unwrap();
            let mut losses = Vec::new();
            dp.run(|dp| {
                for _ in 0..2 {
                    let held = Arc::new(AtomicBool::new(false));
                    if busy {
                        // Keeps the pool's other thread asleep through the step.
                        let h = Arc::clone(&held);
                        rayon::spawn(move || {
                            h.store(true, Ordering::Release);
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        });
                        while !held.load(Ordering::Acquire) {
                            std::hint::spin_loop();
                        }
                    }
                    let loss = dp.train_step(
                        &mut *net,
                        SparseCategoricalCrossEntropy,
                        x,
                        labels,
                        &mut grads,
                        &mut adam,
                        &mut *state,
                    );
                    losses.push(loss.unwrap().to_bits());
                }
            });
            results.push((losses, net, grads));
        }
        for (losses, net, grads) in &results[1..] {
            assert_eq!(losses, &results[0].0, "{samples} samples");
            assert_eq!(net.as_slice(), results[0].1.as_slice(), "{samples} samples");
            assert_eq!(
                grads.as_slice(),
                results[0].2.as_slice(),
                "{samples} samples"
            );
        }
    }
}
