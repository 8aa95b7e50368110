//! The training API on real MNIST digits: it learns, it is deterministic, it refuses bad set-ups.
use constnet::data::{load_mnist, Dataset, Split};
use constnet::prelude::*;
use constnet::train::{evaluate, predict_all, Fit, FitError, Verbose};

network! {
    #[derive(Clone)]
    struct Mnist { hidden: Dense<784, 32, Relu>, out: Dense<32, 10, Softmax> }
}

fn data() -> (Dataset<784>, Dataset<784>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train).unwrap().take(600);
    let test = load_mnist::<784>(dir, Split::Test).unwrap().take(300);
    (train, test)
}

fn fit(seed: u64) -> (Box<Mnist>, constnet::train::History) {
    let (train, test) = data();
    let mut net = Mnist::boxed_zeroed();
    net.init(seed);
    let history = Fit::<16>::epochs(5)
        .seed(seed)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::default()),
            &train,
            Some(&test),
        )
        .unwrap();
    (net, history)
}

#[test]
fn mnist_smoke_test_learns() {
    let (net, history) = fit(1);
    let (_, test) = data();
    let first = history.epochs.first().unwrap();
    let last = history.epochs.last().unwrap();
    assert!(last.loss < first.loss, "{history:?}");
    let val = last.validation.unwrap();
    // Chance is 10 %; 600 samples and 5 epochs reach well above 70 %.
    assert!(val.accuracy > 0.7, "{val:?}");
    assert_eq!(
        evaluate(&*net, SparseCategoricalCrossEntropy, &test).unwrap(),
        val
    );
    let predictions = predict_all(&*net, test.features());
    let hits = predictions
        .iter()
        .zip(test.labels())
        .filter(|(p, l)| p == l)
        .count();
    assert_eq!(hits as f32 / test.len() as f32, val.accuracy);
}

#[test]
fn fit_is_deterministic_for_a_seed() {
    let (a, ha) = fit(3);
    let (b, hb) = fit(3);
    assert_eq!(a.as_slice(), b.as_slice());
    assert_eq!(
        ha.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
        hb.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
    );
}

#[test]
fn one_hot_losses_train_from_labels_too() {
    let (train, test) = data();
    let mut net = Mnist::boxed_zeroed();
    net.init(2);
    Fit::<16>::epochs(5)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            CategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::default()),
            &train,
            None,
        )
        .unwrap();
    assert!(
        evaluate(&*net, CategoricalCrossEntropy, &test)
            .unwrap()
            .accuracy
            > 0.7
    );
}

#[test]
fn refuses_too_few_samples_and_too_many_classes() {
    let (train, _) = data();
    let mut net = Mnist::boxed_zeroed();
    let small = train.take(10);
    let err = Fit::<16>::epochs(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Sgd::default()),
            &small,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::TooFewSamples {
            samples: 10,
            batch: 16
        }
    );

    network! { struct Binary { Dense<784, 1, Sigmoid> } }
    let mut bin = Binary::boxed_zeroed();
    let err = Fit::<16>::epochs(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *bin,
            BinaryCrossEntropy,
            &mut Trainer::boxed(Sgd::default()),
            &train,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::TooManyClasses {
            classes: 10,
            outputs: 1
        }
    );
}

/// A class index into a single output would index past it: refused before training starts.
#[test]
fn refuses_sparse_cross_entropy_on_one_output() {
    network! { struct One { Dense<784, 1, Sigmoid> } }
    let (train, _) = data();
    let binary = Dataset::new(
        train.features()[..32].to_vec(),
        (0..32).map(|i| i % 2).collect(),
        2,
    )
    .unwrap();
    let err = Fit::<16>::epochs(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *One::new_boxed(0),
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Sgd::default()),
            &binary,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SparseCategoricalCrossEntropy needs at least 2 outputs, but the network has 1; for one sigmoid output use BinaryCrossEntropy"
    );
}

/// A second `fit` continues the first (optimizer state, step counter and shuffle sequence kept):
/// ten runs of one epoch end with exactly the weights of one run of ten, as in Keras.
#[test]
fn a_second_fit_continues_where_the_first_stopped() {
    let (train, _) = data();
    let start = Mnist::new_boxed(4);
    let fit = |epochs: usize, net: &mut Mnist, trainer: &mut Trainer<Mnist, Adam, 16>| {
        Fit::<16>::epochs(epochs)
            .seed(9)
            .verbose(Verbose::Silent)
            .run(net, SparseCategoricalCrossEntropy, trainer, &train, None)
            .unwrap()
    };
    let mut once = start.clone();
    let mut trainer = Trainer::boxed(Adam::default());
    fit(4, &mut once, &mut trainer);
    let mut in_steps = start.clone();
    let mut resumed = Trainer::boxed(Adam::default());
    for _ in 0..4 {
        fit(1, &mut in_steps, &mut resumed);
    }
    assert_eq!(resumed.steps, trainer.steps);
    assert_eq!(once.as_slice(), in_steps.as_slice());
    // A fresh optimizer each time (the old behaviour) trains differently.
    let mut restarted = start.clone();
    for _ in 0..4 {
        fit(1, &mut restarted, &mut Trainer::boxed(Adam::default()));
    }
    assert_ne!(once.as_slice(), restarted.as_slice());
}

#[test]
fn divergence_stops_training_with_an_error_never_a_finite_loss() {
    let (train, _) = data();
    // A NaN learning rate: the first step's loss is finite, its update makes every weight NaN,
    // and the second batch's loss says so (before, cross-entropy's clamp reported 16.118).
    let mut net = Mnist::new_boxed(1);
    let err = Fit::<16>::epochs(2)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Sgd::new(f32::NAN)),
            &train,
            None,
        )
        .unwrap_err();
    assert!(
        matches!(err, FitError::NonFiniteLoss { epoch: 1, batch: 2, loss, .. } if loss.is_nan()),
        "{err}"
    );
    assert!(err
        .to_string()
        .starts_with("training stopped at batch 2 of epoch 1: the loss is NaN"));

    // One infinite feature: the batch that holds it reports it; the history keeps the epochs
    // before.
    let mut features = train.features().to_vec();
    features[100][300] = f32::INFINITY;
    let bad = Dataset::new(features, train.labels().to_vec(), 10).unwrap();
    let mut net = Mnist::new_boxed(1);
    let err = Fit::<16>::epochs(3)
        .shuffle(false)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::default()),
            &bad,
            None,
        )
        .unwrap_err();
    let FitError::NonFiniteLoss {
        epoch,
        batch,
        history,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((epoch, batch, history.epochs.len()), (1, 100 / 16 + 1, 0));
}

#[test]
fn evaluate_refuses_labels_the_network_cannot_score() {
    let net = Mnist::new_boxed(1);
    let twelve = Dataset::new(vec![[0.0; 784]; 3], vec![0, 11, 5], 12).unwrap();
    for err in [
        evaluate(&*net, SparseCategoricalCrossEntropy, &twelve).unwrap_err(),
        evaluate(&*net, CategoricalCrossEntropy, &twelve).unwrap_err(),
    ] {
        assert_eq!(
            err,
            FitError::TooManyClasses {
                classes: 12,
                outputs: 10
            }
        );
    }
}

#[test]
#[should_panic(expected = "a target is out of range for the network's 10 outputs")]
fn a_label_out_of_range_fed_directly_is_caught_once_per_batch() {
    let mut net = Mnist::new_boxed(1);
    let mut trainer = Trainer::boxed(Sgd::new(0.1));
    trainer.step(
        &mut *net,
        SparseCategoricalCrossEntropy,
        &[[0.0; 784]; 2],
        &[3, 10],
    );
}

#[test]
fn cross_entropy_of_a_nan_output_is_nan() {
    let y = [f32::NAN, 0.5];
    assert!(SparseCategoricalCrossEntropy::loss(&y, &0).is_nan());
    assert!(CategoricalCrossEntropy::loss(&y, &[1.0, 0.0]).is_nan());
    // Below the clamp, values are still clamped.
    assert_eq!(
        SparseCategoricalCrossEntropy::loss(&[0.0, 1.0], &0),
        -(1e-7f32).ln()
    );
}

#[test]
fn cross_entropy_on_sigmoid_outputs_trains_as_keras_does() {
    // Keras normalises non-softmax outputs by their sum before the cross-entropy; taking −Σ t·ln y
    // of raw sigmoids instead trained this network to ~35 % (issue 13).
    network! { struct Sig { hidden: Dense<784, 32, Relu>, out: Dense<32, 10, Sigmoid> } }
    let (train, test) = data();
    for loss in [0, 1] {
        let mut net = Sig::new_boxed(1);
        let fit = Fit::<16>::epochs(8).verbose(Verbose::Silent);
        let mut trainer = Trainer::boxed(Adam::default());
        let accuracy = if loss == 0 {
            fit.run(
                &mut *net,
                CategoricalCrossEntropy,
                &mut trainer,
                &train,
                None,
            )
            .unwrap();
            evaluate(&*net, CategoricalCrossEntropy, &test)
                .unwrap()
                .accuracy
        } else {
            fit.run(
                &mut *net,
                SparseCategoricalCrossEntropy,
                &mut trainer,
                &train,
                None,
            )
            .unwrap();
            evaluate(&*net, SparseCategoricalCrossEntropy, &test)
                .unwrap()
                .accuracy
        };
        assert!(accuracy > 0.8, "loss {loss}: accuracy {accuracy}");
    }
}

#[test]
fn a_one_output_classifier_is_scored_at_the_half_threshold() {
    // Label 1 when x0 + x1 > 1; one sigmoid output. Argmax of one output is
    // always 0, which reported the share of label 0 (issue 13).
    network! { struct Bin { hidden: Dense<2, 8, Tanh>, out: Dense<8, 1, Sigmoid> } }
    let mut rng = constnet::Rng::new(3);
    let x: Vec<[f32; 2]> = (0..512)
        .map(|_| [rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0)])
        .collect();
    let labels: Vec<usize> = x.iter().map(|p| usize::from(p[0] + p[1] > 1.0)).collect();
    let data = Dataset::new(x.clone(), labels.clone(), 2).unwrap();
    let mut net = Bin::new(1);
    let history = Fit::<16>::epochs(40)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &data,
            None,
        )
        .unwrap();
    let e = evaluate(&net, BinaryCrossEntropy, &data).unwrap();
    assert!(e.accuracy > 0.95, "{e:?}");
    assert!(history.epochs.last().unwrap().accuracy > 0.9);
    let predicted = predict_all(&net, &x);
    let hits = predicted
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    assert_eq!(hits as f32 / 512.0, e.accuracy);
    assert!(predicted.contains(&1));
}
