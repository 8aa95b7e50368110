//! `Fit::class_weight` and `Fit::sample_weight` against real Keras 3 (issue 13): from the same
//! starting weights and batches, `model.fit(..., class_weight=..)` / `sample_weight=..` and
//! constnet's `Fit` end within 1e-5 of each other after 40 steps, epoch losses included. The
//! reference is tests/data/keras/keras_weights.json, written by
//! scripts/reference/keras_weights.py. Bad weights are typed errors.
use constnet::data::Dataset;
use constnet::prelude::*;
use constnet::train::{Fit, FitError, Verbose};
use serde_json::Value;

network! { struct Three { hidden: Dense<4, 8, Tanh>, out: Dense<8, 3, Softmax> } }
network! { struct Binary { hidden: Dense<4, 8, Tanh>, out: Dense<8, 1, Sigmoid> } }

const TOLERANCE: f32 = 1e-5;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/keras/keras_weights.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("keras_weights.json")).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The fit of one recorded case: its weights set on `fit`, trained from its starting weights.
fn fit_case<N, L, const OUT: usize>(name: &str, loss: L, labels: impl Fn(usize) -> usize)
where
    N: Train<4, OUT, 8>,
    L: Loss<OUT> + Copy,
    L::Target: constnet::loss::FromTarget<usize>,
{
    let r = reference();
    let case = &r["cases"][name];
    let x: Vec<[f32; 4]> = f32s(&r["x"])
        .chunks(4)
        .map(|c| c.try_into().unwrap())
        .collect();
    let y: Vec<usize> = r["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| labels(v.as_u64().unwrap() as usize))
        .collect();
    let classes = if OUT == 1 { 2 } else { OUT };
    let data = Dataset::new(x, y, classes).unwrap();
    let split = case["validation_split"].as_f64().unwrap() as f32;
    let mut fit = Fit::<8>::epochs(r["epochs"].as_u64().unwrap() as usize)
        .shuffle(false)
        .validation_split(split)
        .verbose(Verbose::Silent);
    if let Some(pairs) = case["class_weight"].as_array() {
        fit = fit.class_weight(pairs.iter().map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_f64().unwrap() as f32,
            )
        }));
    }
    if !case["sample_weight"].is_null() {
        fit = fit.sample_weight(f32s(&case["sample_weight"]));
    }
    let mut net = N::boxed_zeroed();
    net.as_mut_slice().copy_from_slice(&f32s(&case["initial"]));
    let lr = case["lr"].as_f64().unwrap() as f32;
    let history = match case["optimizer"].as_str().unwrap() {
        "adam" => fit.run(
            &mut *net,
            loss,
            &mut Trainer::boxed(Adam::new(lr)),
            &data,
            None,
        ),
        "momentum" => fit.run(
            &mut *net,
            loss,
            &mut Trainer::boxed(Sgd::new(lr).momentum(0.9)),
            &data,
            None,
        ),
        other => panic!("optimizer {other}"),
    }
    .unwrap();
    let losses: Vec<f32> = history.epochs.iter().map(|e| e.loss).collect();
    let keras_losses = f32s(&case["epoch_loss"]);
    let (dl, dw) = (
        max_diff(&losses, &keras_losses),
        max_diff(net.as_slice(), &f32s(&case["final"])),
    );
    let val_losses: Vec<f32> = history
        .epochs
        .iter()
        .filter_map(|e| e.validation.map(|v| v.loss))
        .collect();
    let keras_val = f32s(&case["epoch_val_loss"]);
    let dv = max_diff(&val_losses, &keras_val);
    println!("{name}: max |Δloss| {dl:.2e}, |Δval_loss| {dv:.2e}, max |Δweight| {dw:.2e}");
    assert!(
        dv <= TOLERANCE,
        "{name}: val losses {val_losses:?}, Keras {keras_val:?}"
    );
    assert!(
        dl <= TOLERANCE,
        "{name}: losses {losses:?}, Keras {keras_losses:?}"
    );
    assert!(dw <= TOLERANCE, "{name}: weights differ by {dw}");

    // Without the weights the same run ends elsewhere: the weights are what made it agree.
    let mut plain = N::boxed_zeroed();
    plain
        .as_mut_slice()
        .copy_from_slice(&f32s(&case["initial"]));
    let unweighted = Fit::<8>::epochs(5)
        .shuffle(false)
        .validation_split(split)
        .verbose(Verbose::Silent);
    unweighted
        .run(
            &mut *plain,
            loss,
            &mut Trainer::boxed(Adam::new(lr)),
            &data,
            None,
        )
        .unwrap();
    assert!(max_diff(plain.as_slice(), &f32s(&case["final"])) > 100.0 * TOLERANCE);
}

#[test]
fn class_weight_matches_keras_on_softmax_with_adam() {
    fit_case::<Three, _, 3>(
        "softmax_class_weight_adam",
        SparseCategoricalCrossEntropy,
        |l| l,
    );
}

#[test]
fn sample_weight_matches_keras_on_softmax_with_momentum() {
    fit_case::<Three, _, 3>(
        "softmax_sample_weight_momentum",
        SparseCategoricalCrossEntropy,
        |l| l,
    );
}

/// With `validation_split`, Keras trains on the first 48 samples and validates on the last 16
/// with their sample weights: the validation loss is weighted as the training loss.
#[test]
fn sample_weight_with_validation_split_matches_keras_val_loss() {
    fit_case::<Three, _, 3>(
        "softmax_sample_weight_validation_split_adam",
        SparseCategoricalCrossEntropy,
        |l| l,
    );
}

#[test]
fn class_weight_matches_keras_on_one_sigmoid_output() {
    // The binary label is "class 2 or not", as in the script.
    fit_case::<Binary, _, 1>("sigmoid_class_weight_adam", BinaryCrossEntropy, |l| {
        usize::from(l == 2)
    });
}

#[test]
fn bad_weights_are_typed_errors() {
    let data = Dataset::new(vec![[0.0; 4]; 8], vec![0, 1, 2, 0, 1, 2, 0, 1], 3).unwrap();
    let fit = Fit::<4>::epochs(1).verbose(Verbose::Silent);
    let run = |fit: Fit<4>| {
        let mut net = Three::new(0);
        let before = net.as_slice().to_vec();
        let err = fit
            .run(
                &mut net,
                SparseCategoricalCrossEntropy,
                &mut Trainer::new(Adam::default()),
                &data,
                None,
            )
            .unwrap_err();
        assert_eq!(net.as_slice(), before, "nothing trained");
        err
    };
    assert_eq!(
        run(fit.clone().sample_weight(vec![1.0; 7])),
        FitError::SampleWeightLength {
            weights: 7,
            samples: 8
        }
    );
    let mut nan = vec![1.0; 8];
    nan[5] = f32::NAN;
    assert!(matches!(
        run(fit.clone().sample_weight(nan)),
        FitError::InvalidSampleWeight { index: 5, value } if value.is_nan()
    ));
    let mut negative = vec![1.0; 8];
    negative[2] = -0.5;
    assert_eq!(
        run(fit.clone().sample_weight(negative)).to_string(),
        "sample weight 2 is -0.5: weights must be finite and ≥ 0"
    );
    assert_eq!(
        run(fit.clone().class_weight([(3, 2.0)])),
        FitError::ClassWeightOutOfRange {
            class: 3,
            classes: 3
        }
    );
    assert_eq!(
        run(fit.clone().class_weight([(1, f32::INFINITY)])),
        FitError::InvalidClassWeight {
            class: 1,
            value: f32::INFINITY
        }
    );
    assert_eq!(
        run(fit.clone().class_weight([(1, 2.0), (1, 3.0)])),
        FitError::DuplicateClassWeight { class: 1 }
    );
    assert_eq!(
        run(fit
            .clone()
            .class_weight([(1, 2.0)])
            .sample_weight(vec![1.0; 8])),
        FitError::BothWeights
    );
    // Binary: classes 0 and 1 of a single output.
    let binary = Dataset::new(vec![[0.0; 4]; 4], vec![0, 1, 1, 0], 2).unwrap();
    let err = Fit::<4>::epochs(1)
        .verbose(Verbose::Silent)
        .class_weight([(2, 1.0)])
        .run(
            &mut Binary::new(0),
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::default()),
            &binary,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::ClassWeightOutOfRange {
            class: 2,
            classes: 2
        }
    );
}

/// Weights 1 everywhere train exactly as no weights (the weighted path multiplies by 1.0).
#[test]
fn unit_weights_train_exactly_as_none() {
    let r = reference();
    let x: Vec<[f32; 4]> = f32s(&r["x"])
        .chunks(4)
        .map(|c| c.try_into().unwrap())
        .collect();
    let y: Vec<usize> = r["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let data = Dataset::new(x, y, 3).unwrap();
    let train = |fit: Fit<8>| {
        let mut net = Three::new(4);
        fit.verbose(Verbose::Silent)
            .run(
                &mut net,
                SparseCategoricalCrossEntropy,
                &mut Trainer::new(Adam::new(0.01)),
                &data,
                None,
            )
            .unwrap();
        net.as_slice().to_vec()
    };
    let none = train(Fit::<8>::epochs(3));
    assert_eq!(
        train(Fit::<8>::epochs(3).sample_weight(vec![1.0; 64])),
        none
    );
    assert_eq!(
        train(Fit::<8>::epochs(3).class_weight([(0, 1.0), (2, 1.0)])),
        none
    );
    assert_ne!(train(Fit::<8>::epochs(3).class_weight([(2, 2.0)])), none);
}
