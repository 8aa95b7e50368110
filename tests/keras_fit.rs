//! Keras' `fit` for a tutorial reader (issue 13): data from memory with float targets or labels,
//! validation split, predictions for a whole data set, callbacks.
use constnet::data::Dataset;
use constnet::prelude::*;
use constnet::train::{evaluate, predict_all, predict_outputs, Fit, FitError, History, Verbose};
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

/// `Dataset::split_fraction` cuts where Keras' `validation_split` does: `⌊len · (1 − f)⌋` with the
/// fraction as the decimal written (values from Python: `int(math.floor(n * (1.0 - f)))`).
#[test]
fn split_fraction_cuts_where_keras_does() {
    for (n, f, at) in [
        (10, 0.3, 7),
        (10, 0.2, 8),
        (100, 0.1, 90),
        (7, 0.5, 3),
        (3, 0.34, 1),
        (1000, 0.33, 669),
        (20, 0.15, 17),
    ] {
        let d = Dataset::from_vecs(vec![[0.0f32]; n], (0..n).collect()).unwrap();
        let (train, validation) = d.split_fraction(f);
        assert_eq!(train.labels(), (0..at).collect::<Vec<_>>(), "{n} {f}");
        assert_eq!(validation.labels(), (at..n).collect::<Vec<_>>(), "{n} {f}");
        assert_eq!(validation.classes(), n);
    }
    let d = Dataset::from_vecs(vec![[0.0f32]; 4], vec![[1.0f32]; 4]).unwrap();
    assert_eq!(d.clone().split(9).0.len(), 4);
    assert_eq!(d.split_fraction(2.0).0.len(), 0);
}

#[test]
fn shuffle_permutes_samples_with_their_targets_reproducibly() {
    let x: Vec<[f32; 2]> = (0..50).map(|i| [i as f32, -(i as f32)]).collect();
    let t: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 * 10.0]).collect();
    let d = Dataset::from_vecs(x, t).unwrap();
    let (mut a, mut b, mut c) = (d.clone(), d.clone(), d.clone());
    a.shuffle(1);
    b.shuffle(1);
    c.shuffle(2);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
    for (x, t) in a.features().iter().zip(a.targets()) {
        assert_eq!((x[1], t[0]), (-x[0], x[0] * 10.0));
    }
    let mut seen: Vec<f32> = a.features().iter().map(|x| x[0]).collect();
    seen.sort_by(f32::total_cmp);
    assert_eq!(seen, (0..50).map(|i| i as f32).collect::<Vec<_>>());
}

network! {
    #[derive(Clone)]
    struct Line { Dense<1, 1> }
}

/// The last 20 % are held out before any shuffling, in every epoch: their targets are far off the
/// line, so training on any of them would show in the training loss; validation is exactly
/// `evaluate` on them.
#[test]
fn validation_split_holds_out_exactly_the_last_samples() {
    let x: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 / 50.0]).collect();
    let mut t: Vec<[f32; 1]> = x.iter().map(|&[x]| [3.0 * x - 1.0]).collect();
    for t in &mut t[40..] {
        t[0] = 1e4;
    }
    let data = Dataset::from_vecs(x, t).unwrap();
    let mut net = Line::new(3);
    let history = Fit::<5>::epochs(40)
        .seed(11)
        .validation_split(0.2)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            Mse,
            &mut Trainer::new(Adam::new(0.05)),
            &data,
            None,
        )
        .unwrap();
    let (_, held_out) = data.clone().split(40);
    for e in &history.epochs {
        assert!(e.loss < 5.0, "trained on a held-out sample: {e:?}");
    }
    let last = history.epochs.last().unwrap();
    assert!(last.loss < 0.01, "{last:?}");
    assert_eq!(
        last.validation,
        Some(evaluate(&net, Mse, &held_out).unwrap())
    );
    assert!(last.validation.unwrap().loss > 1e7);

    // Validation data given to `run` takes precedence, as in Keras.
    let mut other = Line::new(3);
    let h = Fit::<5>::epochs(1)
        .validation_split(0.2)
        .verbose(Verbose::Silent)
        .run(
            &mut other,
            Mse,
            &mut Trainer::new(Adam::new(0.05)),
            &data,
            Some(&data),
        )
        .unwrap();
    assert_eq!(
        h.epochs[0].validation,
        Some(evaluate(&other, Mse, &data).unwrap())
    );

    for fraction in [1.0, -0.1, f32::NAN] {
        let err = Fit::<5>::epochs(1)
            .validation_split(fraction)
            .verbose(Verbose::Silent)
            .run(
                &mut Line::new(0),
                Mse,
                &mut Trainer::new(Sgd::new(0.1)),
                &data,
                None,
            )
            .unwrap_err();
        assert!(
            matches!(err, FitError::ValidationSplit { samples: 50, .. }),
            "{err}"
        );
    }
    // 0.95 of 50 leaves 2 training samples: fewer than a batch.
    let err = Fit::<5>::epochs(1)
        .validation_split(0.95)
        .verbose(Verbose::Silent)
        .run(
            &mut Line::new(0),
            Mse,
            &mut Trainer::new(Sgd::new(0.1)),
            &data,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::TooFewSamples {
            samples: 2,
            batch: 5
        }
    );
}

/// Ten `fit`s of one epoch end bit-identical to one of ten (optimizer state, step counter and
/// shuffle sequence continue), also with float targets and a validation split.
#[test]
fn ten_fits_of_one_epoch_equal_one_fit_of_ten() {
    let (x, labels) = clusters(120, 8);
    let t: Vec<[f32; 1]> = labels.iter().map(|&l| [l as f32 / 2.0]).collect();
    let data = Dataset::from_vecs(x, t).unwrap();
    network! { #[derive(Clone)] struct Reg { Dense<2, 8, Tanh>, Dense<8, 1> } }
    let fit = |epochs| {
        Fit::<8>::epochs(epochs)
            .seed(5)
            .validation_split(0.25)
            .verbose(Verbose::Silent)
    };
    let mut once = Reg::new(2);
    let mut trainer = Trainer::new(Adam::new(0.01));
    let h10 = fit(10)
        .run(&mut once, Huber, &mut trainer, &data, None)
        .unwrap();
    let mut stepped = Reg::new(2);
    let mut resumed = Trainer::new(Adam::new(0.01));
    let mut h1 = Vec::new();
    for _ in 0..10 {
        h1.extend(
            fit(1)
                .run(&mut stepped, Huber, &mut resumed, &data, None)
                .unwrap()
                .epochs,
        );
    }
    assert_eq!(once.as_slice(), stepped.as_slice());
    assert_eq!((trainer.steps, resumed.steps), (110, 110));
    let val = |e: &[constnet::train::Epoch]| e.iter().map(|e| e.validation).collect::<Vec<_>>();
    assert_eq!(val(&h10.epochs), val(&h1));
    // Restarting the shuffles each time (the behaviour before) trains differently.
    let mut restarted = Reg::new(2);
    let mut fresh_shuffles = Trainer::new(Adam::new(0.01));
    for _ in 0..10 {
        fit(1)
            .run(&mut restarted, Huber, &mut fresh_shuffles, &data, None)
            .unwrap();
        fresh_shuffles.epochs = 0;
    }
    assert_ne!(once.as_slice(), restarted.as_slice());
}

/// `predict_outputs` gives the whole data set's outputs: each within rounding of the one-sample
/// forward pass (bit-identical across the batched part and the one-by-one tail is not promised),
/// with exactly the classes `predict_all` reports and the loss `evaluate` reports.
#[test]
fn predict_outputs_are_the_probabilities_evaluate_scores() {
    let (x, labels) = clusters(100, 9);
    let data = Dataset::from_vecs(x.clone(), labels).unwrap();
    let mut net = Three::new(1);
    Fit::<10>::epochs(5)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &data,
            None,
        )
        .unwrap();
    let p = predict_outputs(&net, &x);
    assert_eq!(p.len(), 100);
    for (p, x) in p.iter().zip(&x) {
        let single = net.forward(x);
        assert!(p.iter().zip(&single).all(|(a, b)| (a - b).abs() < 1e-6));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let classes: Vec<usize> = p.iter().map(constnet::class_of).collect();
    assert_eq!(classes, predict_all(&net, &x));
    let loss: f64 = p
        .iter()
        .zip(data.labels())
        .map(|(y, &l)| f64::from(SparseCategoricalCrossEntropy::loss(y, &l)))
        .sum();
    let e = evaluate(&net, SparseCategoricalCrossEntropy, &data).unwrap();
    assert_eq!((loss / 100.0) as f32, e.loss);
}
