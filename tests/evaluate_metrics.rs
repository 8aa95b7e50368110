//! `evaluate_with` (issue 13): Keras' `evaluate` with the metrics the user asks for — top-k,
//! precision / recall / F1 (class 1 of a binary classifier as Keras' `Precision()`, macro
//! otherwise), the confusion matrix with class names — as values and as Keras' printed line.
use constnet::data::Dataset;
use constnet::metrics::{accuracy, top_k_accuracy, ConfusionMatrix};
use constnet::prelude::*;
use constnet::train::{
    evaluate, evaluate_with, predict_all, predict_outputs, Fit, FitError, Metrics, Verbose,
};
use constnet::Rng;

network! { struct Four { hidden: Dense<2, 12, Tanh>, out: Dense<12, 4, Softmax> } }
network! { struct Pick { Dense<2, 3, Softmax> } }
network! { struct Threshold { Dense<1, 1, Sigmoid> } }

/// Four quadrants, with noise in the labels so that no metric is trivially 1.
fn quadrants(n: usize, seed: u64) -> Dataset<2, usize> {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let p = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
        let mut label = usize::from(p[0] > 0.0) + 2 * usize::from(p[1] > 0.0);
        if rng.next_f32() < 0.15 {
            label = (label + 1) % 4;
        }
        x.push(p);
        y.push(label);
    }
    Dataset::new(x, y, 4)
        .unwrap()
        .with_class_names(["sw", "se", "nw", "ne"].map(String::from).to_vec())
        .unwrap()
}

/// Every value agrees with nn_core::metrics computed from the predictions independently, and the
/// loss and accuracy with `evaluate`.
#[test]
fn evaluate_with_agrees_with_the_metrics_module_and_evaluate() {
    let data = quadrants(400, 1);
    let mut net = Four::new(2);
    Fit::<16>::epochs(3)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &data,
            None,
        )
        .unwrap();
    let metrics = Metrics::all().top_k(2).top_k(3);
    let s = evaluate_with(&net, SparseCategoricalCrossEntropy, &data, &metrics).unwrap();
    let plain = evaluate(&net, SparseCategoricalCrossEntropy, &data).unwrap();
    assert_eq!((s.loss, s.accuracy), (plain.loss, plain.accuracy));

    let predicted = predict_all(&net, data.features());
    let outputs = predict_outputs(&net, data.features());
    let cm = ConfusionMatrix::of(&net, &data).unwrap();
    assert_eq!(s.confusion_matrix.as_ref(), Some(&cm));
    assert_eq!(s.accuracy, accuracy(&predicted, data.labels()).unwrap());
    assert_eq!(
        s.top_k,
        vec![
            (2, top_k_accuracy(&outputs, data.labels(), 2).unwrap()),
            (3, top_k_accuracy(&outputs, data.labels(), 3).unwrap())
        ]
    );
    assert_eq!(s.precision, Some(cm.macro_precision()));
    assert_eq!(s.recall, Some(cm.macro_recall()));
    assert_eq!(s.f1, Some(cm.macro_f1()));
    // Not trivial: noisy labels keep every score below 1, training above chance.
    assert!(s.accuracy > 0.4 && s.accuracy < 0.95, "{s}");
    assert!(s.top_k[0].1 > s.accuracy && s.top_k[1].1 > s.top_k[0].1);

    let text = s.to_string();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "loss: {:.4} - accuracy: {:.4} - top_2_accuracy: {:.4} - top_3_accuracy: {:.4} - precision: {:.4} - recall: {:.4} - f1_score: {:.4}",
            s.loss, s.accuracy, s.top_k[0].1, s.top_k[1].1, cm.macro_precision(), cm.macro_recall(), cm.macro_f1()
        )
    );
    assert!(
        text.contains(&cm.to_string()) && text.contains(&cm.report().to_string()),
        "{text}"
    );
    assert!(text.contains("true \\ predicted  sw  se  nw  ne"), "{text}");

    // Only what is asked for.
    let s = evaluate_with(&net, SparseCategoricalCrossEntropy, &data, &Metrics::new()).unwrap();
    assert_eq!(
        (s.precision, s.confusion_matrix.is_none(), s.top_k.len()),
        (None, true, 0)
    );
    assert_eq!(
        s.to_string(),
        format!("loss: {:.4} - accuracy: {:.4}\n", s.loss, s.accuracy)
    );
}

/// Hand-computed: a fixed network, four samples.
#[test]
fn macro_scores_of_a_small_case_by_hand() {
    // Class = arg-max of (x0, x1, 0): [2,0] → 0, [0,2] → 1, [1,0] → 0, [-1,-1] → 2.
    let net = Pick {
        l0: Dense::new([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0; 3]),
    };
    let data = Dataset::new(
        vec![[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [-1.0, -1.0]],
        vec![0, 1, 1, 2],
        3,
    )
    .unwrap();
    let s = evaluate_with(
        &net,
        SparseCategoricalCrossEntropy,
        &data,
        &Metrics::new().precision().recall().f1().top_k(2),
    )
    .unwrap();
    // Predicted 0,1,0,2 against 0,1,1,2: precision per class 1/2, 1, 1 → macro 5/6; recall 1,
    // 1/2, 1 → 5/6; F1 2/3, 2/3, 1 → 7/9. Top-2: sample 3 ([1,0] → softmax(1,0,0)) has its
    // label's output 1/(e+2) tied with class 2's, fewer than 2 larger → a hit: all four.
    assert_eq!(s.accuracy, 0.75);
    assert!((s.precision.unwrap() - 5.0 / 6.0).abs() < 1e-6);
    assert!((s.recall.unwrap() - 5.0 / 6.0).abs() < 1e-6);
    assert!((s.f1.unwrap() - 7.0 / 9.0).abs() < 1e-6);
    assert_eq!(s.top_k, vec![(2, 1.0)]);
}

/// One sigmoid output: precision, recall and F1 are class 1's, as Keras' `Precision()`.
#[test]
fn binary_scores_are_those_of_the_positive_class() {
    // y = sigmoid(x): positive above x = 0.
    let net = Threshold {
        l0: Dense::new([[1.0]], [0.0]),
    };
    let x = vec![[2.0], [1.0], [-1.0], [0.5], [-2.0], [-0.5], [3.0]];
    let y = vec![1, 0, 0, 1, 0, 1, 1];
    let data = Dataset::new(x, y, 2).unwrap();
    let s = evaluate_with(&net, BinaryCrossEntropy, &data, &Metrics::all()).unwrap();
    // Predicted 1,1,0,1,0,0,1: TP 3, FP 1, FN 1, TN 2.
    assert_eq!(s.precision, Some(0.75));
    assert_eq!(s.recall, Some(0.75));
    assert_eq!(s.f1, Some(0.75));
    assert!((s.accuracy - 5.0 / 7.0).abs() < 1e-6);
    let cm = s.confusion_matrix.unwrap();
    assert_eq!(
        [
            cm.count(0, 0),
            cm.count(0, 1),
            cm.count(1, 0),
            cm.count(1, 1)
        ],
        [2, 1, 1, 3]
    );
}

#[test]
fn evaluate_with_refuses_what_evaluate_refuses() {
    let net = Pick {
        l0: Dense::new([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0; 3]),
    };
    let wide = Dataset::new(vec![[0.0, 0.0]], vec![4], 5).unwrap();
    let err =
        evaluate_with(&net, SparseCategoricalCrossEntropy, &wide, &Metrics::all()).unwrap_err();
    assert_eq!(
        err,
        FitError::TooManyClasses {
            classes: 5,
            outputs: 3
        }
    );
}

network! { struct IsZero { hidden: Dense<784, 32, Relu>, out: Dense<32, 1, Sigmoid> } }

/// What examples/binary.rs does, smaller: MNIST "is it a 0?" with one sigmoid output, binary
/// cross-entropy and the tutorial's class weights. Accuracy is Keras' binary accuracy (the 0.5
/// threshold), far above the 90 % that predicting "not a zero" always would score, and the zeros
/// are found.
#[test]
fn the_binary_example_pipeline_finds_the_zeros() {
    use constnet::data::{load_mnist, Split};
    use constnet::metrics::binary_accuracy;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let relabel = |d: Dataset<784>, n: usize| {
        let d = d.take(n);
        let labels = d.labels().iter().map(|&l| usize::from(l == 0)).collect();
        Dataset::new(d.features().to_vec(), labels, 2).unwrap()
    };
    let train = relabel(load_mnist::<784>(dir, Split::Train).unwrap(), 2000);
    let test = relabel(load_mnist::<784>(dir, Split::Test).unwrap(), 1000);
    let positives = train.labels().iter().filter(|&&l| l == 1).count() as f32;
    let total = train.len() as f32;
    let (w0, w1) = (total / 2.0 / (total - positives), total / 2.0 / positives);
    let mut net = IsZero::new_boxed(1);
    Fit::<32>::epochs(3)
        .class_weight([(0, w0), (1, w1)])
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            BinaryCrossEntropy,
            &mut Trainer::boxed(Adam::new(0.001)),
            &train,
            None,
        )
        .unwrap();
    let s = evaluate_with(&*net, BinaryCrossEntropy, &test, &Metrics::all()).unwrap();
    let outputs = predict_outputs(&*net, test.features());
    assert_eq!(
        s.accuracy,
        binary_accuracy(&outputs, test.labels()).unwrap()
    );
    let share_of_others = 1.0 - test.labels().iter().sum::<usize>() as f32 / test.len() as f32;
    assert!(s.accuracy > share_of_others + 0.05, "{s}");
    assert!(s.recall.unwrap() > 0.9 && s.precision.unwrap() > 0.7, "{s}");
}
