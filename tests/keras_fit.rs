//! Keras' `fit` for a tutorial reader (issue 13): data from memory with float targets or labels,
//! validation split, predictions for a whole data set, callbacks.
use constnet::data::Dataset;
use constnet::prelude::*;
use constnet::train::{evaluate, Fit, History, Verbose};
use constnet::Rng;

network! {
    #[derive(Clone)]
    struct Xor { hidden: Dense<2, 4, Tanh>, out: Dense<4, 1, Sigmoid> }
}

network! {
    #[derive(Clone)]
    struct Three { hidden: Dense<2, 8, Tanh>, out: Dense<8, 3, Softmax> }
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_T: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// Loss and accuracy per epoch (the durations differ from run to run).
fn scores(h: &History) -> Vec<(f32, f32)> {
    h.epochs.iter().map(|e| (e.loss, e.accuracy)).collect()
}

/// Three clusters in the plane, labelled by which third of the angle a point is in.
fn clusters(n: usize, seed: u64) -> (Vec<[f32; 2]>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let x: Vec<[f32; 2]> = (0..n)
        .map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)])
        .collect();
    let labels = x
        .iter()
        .map(|p| {
            let a = p[1].atan2(p[0]) + std::f32::consts::PI;
            ((a / std::f32::consts::TAU * 3.0) as usize).min(2)
        })
        .collect();
    (x, labels)
}

/// `Fit` on float targets trains exactly what the hand-written loop of the XOR tutorial trains:
/// the targets reach the loss unchanged.
#[test]
fn float_targets_train_exactly_as_the_hand_written_loop() {
    let data = Dataset::from_slices(&XOR_X, &XOR_T).unwrap();
    let mut fitted = Xor::new(42);
    let history = Fit::<4>::epochs(2000)
        .shuffle(false)
        .verbose(Verbose::Silent)
        .run(
            &mut fitted,
            Mse,
            &mut Trainer::new(Sgd::new(0.5)),
            &data,
            None,
        )
        .unwrap();

    let mut by_hand = Xor::new(42);
    let mut trainer = Trainer::<Xor, _, 4>::new(Sgd::new(0.5));
    let mut losses = Vec::new();
    for _ in 0..2000 {
        losses.push(trainer.step(&mut by_hand, Mse, &XOR_X, &XOR_T));
    }
    assert_eq!(fitted.as_slice(), by_hand.as_slice());
    let fit_losses: Vec<f32> = history.epochs.iter().map(|e| e.loss).collect();
    assert_eq!(fit_losses, losses);
    // It learned XOR; accuracy of one output is the 0.5 threshold on output and target alike.
    let e = evaluate(&fitted, Mse, &data).unwrap();
    assert_eq!(e.accuracy, 1.0);
    assert!(e.loss < 0.01, "{e:?}");
    assert_eq!(history.epochs.last().unwrap().accuracy, 1.0);
}

/// A regression: `Fit` with MSE on `sin(x)` brings the validation loss far below the variance.
#[test]
fn regression_on_float_targets_learns_a_sine() {
    network! { struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> } }
    let mut rng = Rng::new(2);
    let x: Vec<[f32; 1]> = (0..512)
        .map(|_| [rng.uniform(0.0, std::f32::consts::TAU)])
        .collect();
    let t: Vec<[f32; 1]> = x.iter().map(|&[x]| [x.sin()]).collect();
    let train = Dataset::from_vecs(x[..384].to_vec(), t[..384].to_vec()).unwrap();
    let test = Dataset::from_vecs(x[384..].to_vec(), t[384..].to_vec()).unwrap();
    let mut net = Sine::new(1);
    let before = evaluate(&net, Mse, &test).unwrap().loss;
    let history = Fit::<16>::epochs(150)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            Mse,
            &mut Trainer::new(Adam::new(0.01)),
            &train,
            Some(&test),
        )
        .unwrap();
    let val = history.epochs.last().unwrap().validation.unwrap();
    assert_eq!(val, evaluate(&net, Mse, &test).unwrap());
    // sin² averages 0.5 over a period; a fitted curve is within a few hundredths.
    assert!(before > 0.1 && val.loss < 0.02, "{before} -> {val:?}");
}

/// One-hot float targets and the labels they encode train bit-identically with categorical
/// cross-entropy, and are scored identically.
#[test]
fn one_hot_float_targets_equal_their_labels() {
    let (x, labels) = clusters(96, 5);
    let one_hot: Vec<[f32; 3]> = labels
        .iter()
        .map(|&l| std::array::from_fn(|k| f32::from(u8::from(k == l))))
        .collect();
    let by_label = Dataset::from_vecs(x.clone(), labels).unwrap();
    let by_vector = Dataset::from_vecs(x, one_hot).unwrap();
    assert_eq!((by_label.classes(), by_vector.classes()), (3, 0));
    let fit = Fit::<8>::epochs(20).seed(4).verbose(Verbose::Silent);
    let (mut a, mut b) = (Three::new(1), Three::new(1));
    let ha = fit
        .run(
            &mut a,
            CategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &by_label,
            None,
        )
        .unwrap();
    let hb = fit
        .run(
            &mut b,
            CategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &by_vector,
            None,
        )
        .unwrap();
    assert_eq!(a.as_slice(), b.as_slice());
    assert_eq!(scores(&ha), scores(&hb));
    let (ea, eb) = (
        evaluate(&a, CategoricalCrossEntropy, &by_label).unwrap(),
        evaluate(&b, CategoricalCrossEntropy, &by_vector).unwrap(),
    );
    assert_eq!(ea, eb);
    assert!(ea.accuracy > 0.9, "{ea:?}");
}
