//! Zero heap use, proven: a counting global allocator around `forward`, a training step on a batch
//! and an optimizer step. Runs without the test harness so no other thread allocates meanwhile.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use constnet::prelude::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

network! {
    pub struct Mnist { Dense<784, 64, Relu>, Dense<64, 10, Softmax> }

    /// Every layer kind with state or scratch: convolution, pooling, batch norm, dropout.
    #[input(1, 28, 28)]
    pub struct Cnn {
        c1: Conv2d<6, 5, Relu>,
        b1: BatchNorm,
        p1: MaxPool2d<2>,
        c2: Conv2d<8, 3, Relu, padding = Same>,
        p2: AvgPool2d<2>,
        f: Flatten,
        d: Dropout<25>,
        out: Dense<288, 10, Softmax>,
    }
}

fn allocations_in(what: &str, f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    let n = ALLOCATIONS.load(Ordering::SeqCst) - before;
    println!("{what}: {n} allocations");
    n
}

fn main() {
    // Everything large is set up first, on the heap; the measured calls get only references.
    let mut net = Mnist::boxed_zeroed();
    net.init(1);
    let mut grads = Mnist::boxed_zeroed();
    let mut adam = Adam::default();
    let mut state = <Adam as Optimizer<Mnist>>::State::boxed_zeroed();
    let mut x: Box<[[f32; 784]; 32]> = vec![[0.5f32; 784]; 32]
        .into_boxed_slice()
        .try_into()
        .unwrap();
    x[3][100] = 1.0;
    let labels: [usize; 32] = core::array::from_fn(|i| i % 10);
    let one_hot: [[f32; 10]; 32] =
        core::array::from_fn(|i| core::array::from_fn(|k| f32::from(u8::from(k == i % 10))));
    // The first call detects the CPU's features (std caches them): not part of the steady state.
    let _ = net.forward(&x[0]);

    let mut failures = 0;
    let mut check = |what: &str, n: usize| {
        if n != 0 {
            eprintln!("FAIL: {what} allocated {n} times");
            failures += 1;
        }
    };
    check(
        "forward",
        allocations_in("forward", || {
            std::hint::black_box(net.forward(&x[0]));
        }),
    );
    check(
        "predict_batch",
        allocations_in("predict_batch", || {
            std::hint::black_box(net.predict_batch(&x));
        }),
    );
    check(
        "train_step b32 adam",
        allocations_in("train_step b32 adam", || {
            let loss = net.train_step(
                SparseCategoricalCrossEntropy,
                &x,
                &labels,
                &mut grads,
                &mut adam,
                &mut state,
            );
            std::hint::black_box(loss);
        }),
    );
    check(
        "gradient b32",
        allocations_in("gradient b32 cce", || {
            std::hint::black_box(net.gradient(CategoricalCrossEntropy, &x, &one_hot, &mut grads));
        }),
    );
    check(
        "optimizer step",
        allocations_in("adam step", || adam.step(&mut *net, &*grads, &mut *state)),
    );
    let mut sgd = Sgd::new(0.1).momentum(0.9).nesterov(true);
    let mut velocity = Mnist::boxed_zeroed();
    check(
        "nesterov step",
        allocations_in("nesterov step", || {
            sgd.step(&mut *net, &*grads, &mut *velocity)
        }),
    );

    // A CNN: its trainer (gradients, Adam state, batch buffers) is boxed up front; the steps and the
    // inference then allocate nothing.
    let mut cnn = Cnn::new_boxed(2);
    let mut trainer = Trainer::<Cnn, _, 32>::boxed(Adam::default());
    let _ = trainer.step(&mut *cnn, SparseCategoricalCrossEntropy, &x, &labels);
    check(
        "cnn trainer step b32 adam",
        allocations_in("cnn trainer step b32 adam", || {
            let loss = trainer.step(&mut *cnn, SparseCategoricalCrossEntropy, &x, &labels);
            std::hint::black_box(loss);
        }),
    );
    check(
        "cnn forward",
        allocations_in("cnn forward", || {
            std::hint::black_box(cnn.forward(&x[0]));
        }),
    );

    // The counter itself works: a Vec allocates.
    assert!(
        allocations_in("a Vec (control)", || drop(std::hint::black_box(vec![
            1u8;
            10
        ]))) >= 1
    );
    if failures > 0 {
        std::process::exit(1);
    }
    println!("no allocations");
}
