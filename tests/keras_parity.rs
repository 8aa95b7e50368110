//! constnet against real Keras 3 (PyTorch backend): for every optimizer and loss, the same
//! networks from the same starting weights trained 100 steps on the same batches must give the
//! same loss at every step and the same final weights, within 1e-5 (issue 13, "Proof").
//!
//! The reference is tests/data/keras/keras_parity.json, written by
//! scripts/reference/keras_parity.py (see scripts/reference/keras_parity.md). Run with
//! `--nocapture --test-threads=1` for the table of differences.
use constnet::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

network! {
    struct SoftmaxNet { Dense<8, 16, Relu>, Dense<16, 4, Softmax> }
}
network! {
    struct SigmoidNet { Dense<8, 16, Relu>, Dense<16, 4, Sigmoid> }
}
network! {
    struct Sigmoid1Net { Dense<8, 16, Relu>, Dense<16, 1, Sigmoid> }
}
network! {
    struct LinearNet { Dense<8, 16, Relu>, Dense<16, 4, Identity> }
}

const TOLERANCE: f32 = 1e-5;
const BATCH: usize = 8;

fn reference() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/keras/keras_parity.json");
        let text = std::fs::read_to_string(path).expect("tests/data/keras/keras_parity.json");
        serde_json::from_str(&text).expect("valid JSON")
    })
}

fn f32s(v: &Value) -> Vec<f32> {
    let values = v.as_array().expect("an array of numbers");
    values.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn number(v: &Value, key: &str) -> f32 {
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}")) as f32
}

/// A loss target read from the reference: a float vector or a class index.
trait FromJson {
    fn from_json(v: &Value) -> Self;
}

impl<const N: usize> FromJson for [f32; N] {
    fn from_json(v: &Value) -> Self {
        f32s(v).try_into().expect("a target of the network's width")
    }
}

impl FromJson for usize {
    fn from_json(v: &Value) -> Self {
        v.as_u64().expect("a class index") as usize
    }
}

/// The per-step losses and final flat parameters of `steps` training steps.
fn train<N, L, O, const OUT: usize>(
    loss: L,
    mut opt: O,
    initial: &[f32],
    x: &[[f32; 8]],
    targets: &[L::Target],
    steps: usize,
) -> (Vec<f32>, Vec<f32>)
where
    N: Network<8, OUT> + Train<8, OUT, BATCH>,
    L: Loss<OUT> + Copy,
    L::Target: Clone,
    O: Optimizer<N>,
{
    let mut net = N::zeroed();
    net.as_mut_slice().copy_from_slice(initial);
    let mut grads = N::zeroed();
    let mut state = opt.new_state();
    // Keras' batch order: no shuffling, batch i of the data set at step i (mod batches).
    let batches = x.len() / BATCH;
    let losses = (0..steps)
        .map(|step| {
            let start = (step % batches) * BATCH;
            let xb: [[f32; 8]; BATCH] = core::array::from_fn(|i| x[start + i]);
            let tb: [L::Target; BATCH] = core::array::from_fn(|i| targets[start + i].clone());
            net.train_step(loss, &xb, &tb, &mut grads, &mut opt, &mut state)
        })
        .collect();
    (losses, net.as_slice().to_vec())
}

/// The largest |a − b|, NaN if any is (`f32::max` would drop a NaN and pass a diverged run).
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, |m, d| if d > m || d.is_nan() { d } else { m })
}

/// Trains network `N` with `loss` and the optimizer recorded as `optimizer`, and compares it with
/// Keras' run of the same case.
fn check<N, L, const OUT: usize>(network: &str, loss: L, loss_name: &str, optimizer: &str)
where
    N: Network<8, OUT> + Train<8, OUT, BATCH>,
    L: Loss<OUT> + Copy,
    L::Target: FromJson + Clone,
{
    let data = reference();
    let case = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["network"] == network && c["loss"] == loss_name && c["optimizer"] == optimizer)
        .unwrap_or_else(|| panic!("no recorded case {network} {loss_name} {optimizer}"));
    let initial = f32s(&data["initial"][network]);
    assert_eq!(initial.len(), N::LEN, "{network}: parameter count");
    let x: Vec<[f32; 8]> = data["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(<[f32; 8]>::from_json)
        .collect();
    let targets: Vec<L::Target> = data["targets"][case["targets"].as_str().unwrap()]
        .as_array()
        .unwrap()
        .iter()
        .map(L::Target::from_json)
        .collect();
    let steps = data["steps"].as_u64().unwrap() as usize;
    assert_eq!(data["batch"].as_u64(), Some(BATCH as u64));

    let h = &data["optimizers"][optimizer];
    let lr = number(h, "lr");
    let (losses, weights) = match optimizer {
        "sgd" => train::<N, L, _, OUT>(loss, Sgd::new(lr), &initial, &x, &targets, steps),
        "momentum" | "nesterov" => {
            let opt = Sgd::new(lr)
                .momentum(number(h, "momentum"))
                .nesterov(optimizer == "nesterov");
            train::<N, L, _, OUT>(loss, opt, &initial, &x, &targets, steps)
        }
        "adam" => {
            let opt = Adam {
                beta1: number(h, "beta1"),
                beta2: number(h, "beta2"),
                epsilon: number(h, "epsilon"),
                ..Adam::new(lr)
            };
            train::<N, L, _, OUT>(loss, opt, &initial, &x, &targets, steps)
        }
        "rmsprop" => {
            let opt = RmsProp {
                lr,
                rho: number(h, "rho"),
                epsilon: number(h, "epsilon"),
            };
            train::<N, L, _, OUT>(loss, opt, &initial, &x, &targets, steps)
        }
        "adagrad" | "adagrad_acc0" => {
            let opt = AdaGrad {
                lr,
                initial_accumulator: number(h, "initial_accumulator"),
                epsilon: number(h, "epsilon"),
            };
            train::<N, L, _, OUT>(loss, opt, &initial, &x, &targets, steps)
        }
        other => panic!("unknown optimizer {other}"),
    };

    let keras_losses = f32s(&case["losses"]);
    assert_eq!(keras_losses.len(), steps);
    let loss_diff = max_diff(&losses, &keras_losses);
    let weight_diff = max_diff(&weights, &f32s(&case["final"]));
    println!(
        "| {network:8} | {loss_name:10} | {optimizer:12} | {loss_diff:9.2e} | {weight_diff:9.2e} |"
    );
    assert!(
        loss_diff <= TOLERANCE && weight_diff <= TOLERANCE,
        "{network} {loss_name} {optimizer}: max loss difference {loss_diff:e}, max weight \
         difference {weight_diff:e} (tolerance {TOLERANCE:e}); losses {:?} vs Keras {:?}",
        &losses[..5],
        &keras_losses[..5],
    );
}

/// One test per network, loss and optimizer; an optimizer may carry `#[ignore = "why"]`.
macro_rules! cases {
    ($($module:ident: $net:ident<$out:literal>, $network:literal, $loss:expr, $loss_name:literal
        => [$($(#[$attr:meta])* $optimizer:ident),* $(,)?];)*) => {
        $(
            mod $module {
                use super::*;
                $(
                    #[test]
                    $(#[$attr])*
                    fn $optimizer() {
                        check::<$net, _, $out>($network, $loss, $loss_name, stringify!($optimizer));
                    }
                )*
            }
        )*

        /// Every case Keras recorded is one of the tests above, and the other way round.
        #[test]
        fn every_recorded_case_is_checked() {
            let mut checked = vec![$($(($network, $loss_name, stringify!($optimizer))),*),*];
            let mut recorded: Vec<(&str, &str, &str)> = reference()["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap();
                    (s("network"), s("loss"), s("optimizer"))
                })
                .collect();
            checked.sort();
            recorded.sort();
            assert_eq!(checked, recorded);
        }
    };
}

// AdaGrad from an accumulator of 0 (`adagrad_acc0`) tells where ε goes: Keras 3 divides by
// √(a + ε) (so does constnet); with √a + ε a gradient of 1e-4 would step lr·1.0, not lr·0.30.
cases! {
    linear_mse: LinearNet<4>, "linear", Mse, "mse"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    linear_mae: LinearNet<4>, "linear", Mae, "mae"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    linear_huber: LinearNet<4>, "linear", Huber, "huber"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    sigmoid1_bce: Sigmoid1Net<1>, "sigmoid1", BinaryCrossEntropy, "bce"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    softmax_cce: SoftmaxNet<4>, "softmax", CategoricalCrossEntropy, "cce"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    softmax_sparse_cce: SoftmaxNet<4>, "softmax", SparseCategoricalCrossEntropy, "sparse_cce"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
    sigmoid_cce: SigmoidNet<4>, "sigmoid", CategoricalCrossEntropy, "cce"
        => [
            sgd,
            momentum,
            nesterov,
            adam,
            rmsprop,
            adagrad,
            adagrad_acc0,
        ];
}
