//! Training and inference throughput of constnet beside the naive fixed-array baseline, in one run.
//!
//! `cargo bench --bench train` (criterion; add `-- --quick` for a fast pass). Figures are samples
//! per second; see BENCHMARKS.md.
use std::hint::black_box;

use constnet::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod input;
mod naive;
use input::batch;
use naive::Naive;

network! {
    pub struct Mnist { Dense<784, 64, Relu>, Dense<64, 10, Softmax> }
    pub struct Tutorial { Dense<784, 64, Relu>, Dense<64, 64, Relu>, Dense<64, 10, Softmax> }
    /// Where PyTorch's MKL/oneDNN matrix products are strongest.
    pub struct Wide { Dense<784, 512, Relu>, Dense<512, 512, Relu>, Dense<512, 10, Softmax> }
}

fn train_case<N, O, const B: usize>(c: &mut Criterion, name: &str, opt: O)
where
    N: Train<784, 10, B>,
    O: Optimizer<N> + Clone,
{
    let (x, labels) = batch::<B>();
    let mut net = N::boxed_zeroed();
    net.init(1);
    let mut grads = N::boxed_zeroed();
    let mut opt = opt;
    let mut state = O::State::boxed_zeroed();
    opt.reset(&mut state);
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function("constnet", |b| {
        b.iter(|| {
            net.train_step(
                SparseCategoricalCrossEntropy,
                &x,
                &labels,
                &mut grads,
                &mut opt,
                &mut state,
            )
        })
    });
    g.finish();
}

fn naive_train<const B: usize>(c: &mut Criterion, name: &str, adam: bool) {
    let (x, labels) = batch::<B>();
    let mut net = Naive::<784, 64, 10>::boxed(1);
    let mut grads = Naive::<784, 64, 10>::boxed(0);
    let (mut m, mut v) = (Naive::boxed(0), Naive::boxed(0));
    m.zero();
    v.zero();
    let mut t = 0;
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function("naive", |b| {
        b.iter(|| {
            if adam {
                grads.zero();
                for (x, &l) in x.iter().zip(&labels) {
                    net.backward(x, l, 1.0 / B as f32, &mut grads);
                }
                t += 1;
                net.adam(&mut grads, &mut m, &mut v, t);
            } else {
                net.train_sgd(&mut grads, &x[..], &labels, 0.01);
            }
        })
    });
    g.finish();
}

fn training(c: &mut Criterion) {
    train_case::<Mnist, _, 1>(c, "784-64-10 train b1 sgd", Sgd::new(0.01));
    naive_train::<1>(c, "784-64-10 train b1 sgd", false);
    train_case::<Mnist, _, 32>(c, "784-64-10 train b32 adam", Adam::default());
    naive_train::<32>(c, "784-64-10 train b32 adam", true);
    train_case::<Mnist, _, 32>(c, "784-64-10 train b32 sgd", Sgd::new(0.01));
    naive_train::<32>(c, "784-64-10 train b32 sgd", false);
    train_case::<Mnist, _, 128>(c, "784-64-10 train b128 sgd", Sgd::new(0.01));
    naive_train::<128>(c, "784-64-10 train b128 sgd", false);
    train_case::<Mnist, _, 128>(c, "784-64-10 train b128 adam", Adam::default());
    train_case::<Tutorial, _, 32>(c, "784-64-64-10 train b32 adam", Adam::default());
    train_case::<Tutorial, _, 128>(c, "784-64-64-10 train b128 sgd", Sgd::new(0.01));
    train_case::<Tutorial, _, 128>(c, "784-64-64-10 train b128 adam", Adam::default());
    train_case::<Wide, _, 128>(c, "784-512-512-10 train b128 sgd", Sgd::new(0.01));
    train_case::<Wide, _, 128>(c, "784-512-512-10 train b128 adam", Adam::default());
}

/// Batch 128, plain SGD: one thread's `train_step` beside `DataParallel` (chunks of 64) on one
/// and on two threads, its fused `train_step` (the update on the pool's threads) and its
/// `gradient` followed by the optimizer's step on the calling thread.
fn threads(c: &mut Criterion) {
    use constnet::parallel::DataParallel;
    let (x, labels) = batch::<128>();
    let mut g = c.benchmark_group("784-64-10 train b128 sgd threads");
    g.throughput(Throughput::Elements(128));
    let mut net = Mnist::boxed_zeroed();
    net.init(1);
    let mut grads = Mnist::boxed_zeroed();
    let mut sgd = Sgd::new(0.01);
    g.bench_function("constnet train_step, no pool", |b| {
        b.iter(|| {
            net.train_step(
                SparseCategoricalCrossEntropy,
                &x,
                &labels,
                &mut grads,
                &mut sgd,
                &mut (),
            )
        })
    });
    for threads in [1, 2] {
        let mut dp = DataParallel::<Mnist, 64>::new(threads).unwrap();
        g.bench_function(format!("constnet {threads} thread(s)"), |b| {
            // The loop on a pool thread (`DataParallel::run`): no hand-off per step.
            dp.run(|dp| {
                b.iter(|| {
                    dp.train_step(
                        &mut *net,
                        SparseCategoricalCrossEntropy,
                        &x[..],
                        &labels,
                        &mut grads,
                        &mut sgd,
                        &mut (),
                    )
                    .unwrap()
                })
            })
        });
        g.bench_function(
            format!("constnet {threads} thread(s), gradient then step"),
            |b| {
                dp.run(|dp| {
                    b.iter(|| {
                        dp.gradient(
                            &*net,
                            SparseCategoricalCrossEntropy,
                            &x[..],
                            &labels,
                            &mut grads,
                        )
                        .unwrap();
                        sgd.step(&mut *net, &*grads, &mut ());
                    })
                })
            },
        );
    }
    g.finish();
}

fn inference(c: &mut Criterion) {
    let (x, _) = batch::<128>();
    let net = {
        let mut n = Mnist::boxed_zeroed();
        n.init(1);
        n
    };
    let naive = Naive::<784, 64, 10>::boxed(1);

    let mut g = c.benchmark_group("784-64-10 infer b1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("constnet", |b| b.iter(|| net.forward(black_box(&x[0]))));
    g.bench_function("naive", |b| {
        b.iter(|| {
            let (mut h, mut y) = ([0.0; 64], [0.0; 10]);
            naive.forward(black_box(&x[0]), &mut h, &mut y);
            y
        })
    });
    g.finish();

    let mut g = c.benchmark_group("784-64-10 infer b128");
    g.throughput(Throughput::Elements(128));
    let mut y = [[0.0f32; 10]; 128];
    g.bench_function("constnet", |b| {
        b.iter(|| net.forward_batch(black_box(&*x), &mut y))
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            let mut h = [0.0; 64];
            for (x, y) in x.iter().zip(y.iter_mut()) {
                naive.forward(black_box(x), &mut h, y);
            }
        })
    });
    g.finish();
}

fn wide_inference(c: &mut Criterion) {
    let (x, _) = batch::<128>();
    let mut net = Wide::boxed_zeroed();
    net.init(1);
    let mut g = c.benchmark_group("784-512-512-10 infer b128");
    g.throughput(Throughput::Elements(128));
    let mut y = [[0.0f32; 10]; 128];
    g.bench_function("constnet", |b| {
        b.iter(|| net.forward_batch(black_box(&*x), &mut y))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = training, threads, inference, wide_inference
}
criterion_main!(benches);
