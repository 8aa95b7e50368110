//! Metrics against scikit-learn 1.9.1 (scripts/reference/metrics.py; its output is
//! scripts/reference/metrics.out) and hand-computed values.
use constnet::metrics::{accuracy, binary_accuracy, top_k_accuracy, ConfusionMatrix, MetricsError};

/// Three classes, 20 samples (`three` in the script).
const TRUE3: [usize; 20] = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2];
const PRED3: [usize; 20] = [0, 0, 0, 0, 1, 2, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2, 2, 1, 0];
/// Four classes, class 2 never predicted, class 3 absent (`four`).
const TRUE4: [usize; 8] = [0, 0, 1, 1, 1, 2, 2, 0];
const PRED4: [usize; 8] = [0, 1, 1, 1, 0, 0, 1, 0];

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() < 1e-6
}

fn assert_all_close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    assert!(
        got.iter().zip(want).all(|(&g, &w)| close(g, w)),
        "{got:?} != {want:?}"
    );
}

fn matrix(cm: &ConfusionMatrix) -> Vec<Vec<usize>> {
    (0..cm.classes())
        .map(|t| (0..cm.classes()).map(|p| cm.count(t, p)).collect())
        .collect()
}

#[test]
fn three_classes_match_scikit_learn() {
    let cm = ConfusionMatrix::new(&PRED3, &TRUE3, 3).unwrap();
    assert_eq!(matrix(&cm), [[4, 1, 1], [1, 4, 2], [1, 1, 5]]);
    assert_eq!(cm.total(), 20);
    assert!(close(accuracy(&PRED3, &TRUE3).unwrap(), 0.65));
    assert!(close(cm.accuracy(), 0.65));
    assert_all_close(
        &cm.precisions(),
        &[0.6666666666666666, 0.6666666666666666, 0.625],
    );
    assert_all_close(
        &cm.recalls(),
        &[0.6666666666666666, 0.5714285714285714, 0.7142857142857143],
    );
    assert_all_close(
        &cm.f1s(),
        &[0.6666666666666666, 0.6153846153846154, 0.6666666666666666],
    );
    assert_eq!((0..3).map(|c| cm.support(c)).collect::<Vec<_>>(), [6, 7, 7]);
    assert!(close(cm.macro_precision(), 0.6527777777777778));
    assert!(close(cm.macro_recall(), 0.6507936507936508));
    assert!(close(cm.macro_f1(), 0.6495726495726495));
    assert!(close(cm.weighted_precision(), 0.6520833333333333));
    assert!(close(cm.weighted_recall(), 0.65));
    assert!(close(cm.weighted_f1(), 0.6487179487179487));
}

/// A class that is never predicted has precision 0 (`zero_division=0`), one that never occurs
/// recall 0; both count in the macro average.
#[test]
fn absent_and_unpredicted_classes_match_scikit_learn() {
    let cm = ConfusionMatrix::new(&PRED4, &TRUE4, 4).unwrap();
    assert_eq!(
        matrix(&cm),
        [[2, 1, 0, 0], [1, 2, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    );
    assert!(close(cm.accuracy(), 0.5));
    assert_all_close(&cm.precisions(), &[0.5, 0.5, 0.0, 0.0]);
    assert_all_close(
        &cm.recalls(),
        &[0.6666666666666666, 0.6666666666666666, 0.0, 0.0],
    );
    assert_all_close(
        &cm.f1s(),
        &[0.5714285714285714, 0.5714285714285714, 0.0, 0.0],
    );
    assert!(close(cm.macro_precision(), 0.25));
    assert!(close(cm.macro_recall(), 0.3333333333333333));
    assert!(close(cm.macro_f1(), 0.2857142857142857));
    assert!(close(cm.weighted_precision(), 0.375));
    assert!(close(cm.weighted_recall(), 0.5));
    assert!(close(cm.weighted_f1(), 0.42857142857142855));
}

/// The report is scikit-learn's `classification_report`, character for character.
#[test]
fn report_is_scikit_learns_classification_report() {
    let cm = ConfusionMatrix::new(&PRED3, &TRUE3, 3).unwrap();
    assert_eq!(
        cm.report().to_string(),
        "              precision    recall  f1-score   support

           0       0.67      0.67      0.67         6
           1       0.67      0.57      0.62         7
           2       0.62      0.71      0.67         7

    accuracy                           0.65        20
   macro avg       0.65      0.65      0.65        20
weighted avg       0.65      0.65      0.65        20
"
    );
    let named = cm
        .with_class_names(["setosa", "versicolor", "virginica"])
        .unwrap();
    assert_eq!(
        named.report().to_string(),
        "              precision    recall  f1-score   support

      setosa       0.67      0.67      0.67         6
  versicolor       0.67      0.57      0.62         7
   virginica       0.62      0.71      0.67         7

    accuracy                           0.65        20
   macro avg       0.65      0.65      0.65        20
weighted avg       0.65      0.65      0.65        20
"
    );
    let cm = ConfusionMatrix::new(&PRED4, &TRUE4, 4).unwrap();
    assert_eq!(
        cm.report().to_string(),
        "              precision    recall  f1-score   support

           0       0.50      0.67      0.57         3
           1       0.50      0.67      0.57         3
           2       0.00      0.00      0.00         2
           3       0.00      0.00      0.00         0

    accuracy                           0.50         8
   macro avg       0.25      0.33      0.29         8
weighted avg       0.38      0.50      0.43         8
"
    );
}

#[test]
fn confusion_matrix_prints_an_aligned_table_with_names() {
    let cm = ConfusionMatrix::new(&PRED3, &TRUE3, 3).unwrap();
    assert_eq!(
        cm.to_string(),
        "true \\ predicted  0  1  2
0                 4  1  1
1                 1  4  2
2                 1  1  5
"
    );
    // Columns as wide as their name or largest count, rows as wide as the longest name.
    let many: Vec<usize> = std::iter::repeat_n(0, 120).chain([1, 2]).collect();
    let cm = ConfusionMatrix::new(&many, &many, 3)
        .unwrap()
        .with_class_names(["a", "versicolor", "extraordinarily long"])
        .unwrap();
    assert_eq!(
        cm.to_string(),
        "true \\ predicted        a  versicolor  extraordinarily long
a                     120           0                     0
versicolor              0           1                     0
extraordinarily long    0           0                     1
"
    );
}

/// From network outputs: arg-max, or the 0.5 threshold of one output.
#[test]
fn confusion_matrix_from_outputs() {
    let outputs = [
        [0.2, 0.7, 0.1],
        [0.5, 0.3, 0.2],
        [0.1, 0.1, 0.8],
        [0.3, 0.3, 0.4],
    ];
    let cm = ConfusionMatrix::from_outputs(&outputs, &[1, 1, 2, 0], 3).unwrap();
    assert_eq!(matrix(&cm), [[0, 0, 1], [1, 1, 0], [0, 0, 1]]);
    let cm =
        ConfusionMatrix::from_outputs(&[[0.9], [0.5], [0.51], [0.0]], &[1, 1, 0, 0], 2).unwrap();
    assert_eq!(matrix(&cm), [[1, 1], [1, 1]]);
}

/// Top-k against scikit-learn's `top_k_accuracy_score` (no ties), then the tie convention.
#[test]
fn top_k_accuracy_matches_scikit_learn() {
    let scores = [
        [0.1, 0.5, 0.3, 0.1],
        [0.7, 0.1, 0.15, 0.05],
        [0.2, 0.3, 0.4, 0.1],
        [0.05, 0.05, 0.1, 0.8],
        [0.25, 0.35, 0.3, 0.1],
        [0.4, 0.3, 0.2, 0.1],
    ];
    let labels = [2, 0, 0, 1, 3, 3];
    let want = [
        0.16666666666666666,
        0.3333333333333333,
        0.6666666666666666,
        1.0,
    ];
    for (k, want) in (1..=4).zip(want) {
        assert!(
            close(top_k_accuracy(&scores, &labels, k).unwrap(), want),
            "k = {k}"
        );
    }
    assert_eq!(top_k_accuracy(&scores, &labels, 0).unwrap(), 0.0);
    assert_eq!(top_k_accuracy(&scores, &labels, 9).unwrap(), 1.0);
    // Ties count in (TensorFlow's in_top_k): 0.3 ties for first place, so label 1 and label 2
    // are both in the top 1. A NaN output is never in the top k.
    let tied = [[0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.1, f32::NAN, 0.2]];
    assert_eq!(top_k_accuracy(&tied, &[0, 2, 1], 1).unwrap(), 1.0 / 3.0);
    assert_eq!(top_k_accuracy(&tied, &[0, 1, 1], 2).unwrap(), 2.0 / 3.0);
    assert_eq!(
        top_k_accuracy(&tied, &[0, 1, 3], 2),
        Err(MetricsError::LabelOutOfRange {
            index: 2,
            label: 3,
            classes: 3
        })
    );
}

/// Keras' `binary_accuracy`: above 0.5 is class 1.
#[test]
fn binary_accuracy_thresholds_at_one_half() {
    let outputs = [[0.9], [0.1], [0.5], [0.500_001], [f32::NAN]];
    assert_eq!(binary_accuracy(&outputs, &[1, 0, 0, 1, 0]).unwrap(), 1.0);
    assert_eq!(binary_accuracy(&outputs, &[0, 1, 1, 0, 1]).unwrap(), 0.0);
    assert_eq!(binary_accuracy(&outputs[..4], &[1, 1, 1, 1]).unwrap(), 0.5);
    assert_eq!(
        binary_accuracy(&outputs[..1], &[2]),
        Err(MetricsError::LabelOutOfRange {
            index: 0,
            label: 2,
            classes: 2
        })
    );
}

#[test]
fn no_samples_give_zero_and_bad_input_is_an_error() {
    assert_eq!(accuracy(&[], &[]).unwrap(), 0.0);
    assert_eq!(top_k_accuracy::<3>(&[], &[], 1).unwrap(), 0.0);
    assert_eq!(binary_accuracy(&[], &[]).unwrap(), 0.0);
    let empty = ConfusionMatrix::new(&[], &[], 2).unwrap();
    assert_eq!(
        (empty.accuracy(), empty.macro_f1(), empty.weighted_f1()),
        (0.0, 0.0, 0.0)
    );

    let mismatch = MetricsError::LengthMismatch {
        predictions: 3,
        labels: 2,
    };
    assert_eq!(accuracy(&[0, 1, 1], &[0, 1]), Err(mismatch.clone()));
    assert_eq!(
        top_k_accuracy(&[[0.0; 2]; 3], &[0, 1], 1),
        Err(mismatch.clone())
    );
    assert_eq!(binary_accuracy(&[[0.0]; 3], &[0, 1]), Err(mismatch.clone()));
    assert_eq!(ConfusionMatrix::new(&[0, 1, 1], &[0, 1], 2), Err(mismatch));

    let err = ConfusionMatrix::new(&[0, 1], &[0, 2], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sample 1 has label 2, but there are 2 classes"
    );
    let err = ConfusionMatrix::new(&[0, 5], &[0, 1], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sample 1 is predicted as class 5, but there are 2 classes"
    );
    // Labels from a file can be any integer: a matrix that cannot exist is an error, not an abort.
    for classes in [usize::MAX, 1 << 31] {
        assert_eq!(
            ConfusionMatrix::new(&[0], &[0], classes),
            Err(MetricsError::TooManyClasses { classes })
        );
    }
    let err = empty.with_class_names(["a", "b", "c"]).unwrap_err();
    assert_eq!(err.to_string(), "3 class names for 2 classes");
}

/// A data set's class names carry over to the matrix (its `class_names()` are `&[String]`).
#[test]
fn class_names_from_a_dataset() {
    let data = constnet::data::Dataset::<1>::new(vec![[0.0], [1.0]], vec![0, 1], 2)
        .unwrap()
        .with_class_names(vec!["cat".into(), "dog".into()])
        .unwrap();
    let cm = ConfusionMatrix::new(&[1, 1], data.labels(), data.classes())
        .unwrap()
        .with_class_names(data.class_names().unwrap())
        .unwrap();
    assert_eq!(
        (cm.class_name(0), cm.class_name(1)),
        ("cat".into(), "dog".into())
    );
    assert!(cm
        .to_string()
        .starts_with("true \\ predicted  cat  dog\ncat"));
    assert_eq!(cm.precision(1), 0.5);
}

constnet::network! { struct Pick3 { Dense<3, 3> } }
constnet::network! { struct Threshold { Dense<1, 1> } }

/// From a network and a data set: its predictions (arg-max, or 0.5 for one output) against the
/// labels, with the data's class names.
#[test]
fn confusion_matrix_of_a_network_on_a_dataset() {
    use constnet::data::Dataset;
    use constnet::Dense;
    // The identity: the largest input is the class.
    let eye = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let net = Pick3 {
        l0: Dense::new(eye, [0.0; 3]),
    };
    let data = Dataset::new(
        vec![
            [1.0, 0.0, 0.0],
            [0.0, 2.0, 1.0],
            [0.0, 0.0, 3.0],
            [5.0, 1.0, 0.0],
        ],
        vec![0, 1, 2, 2],
        3,
    )
    .unwrap()
    .with_class_names(vec!["a".into(), "b".into(), "c".into()])
    .unwrap();
    let cm = ConfusionMatrix::of(&net, &data).unwrap();
    assert_eq!(matrix(&cm), [[1, 0, 0], [0, 1, 0], [1, 0, 1]]);
    assert_eq!(cm.class_name(2), "c");
    // Predicting a class the data does not have is an error, not a panic.
    let two = Dataset::new(vec![[0.0, 0.0, 1.0]], vec![0], 2).unwrap();
    assert_eq!(
        ConfusionMatrix::of(&net, &two),
        Err(MetricsError::PredictionOutOfRange {
            index: 0,
            class: 2,
            classes: 2
        })
    );
    // One output: above 0.5 is class 1 (y = x here).
    let net = Threshold {
        l0: Dense::new([[1.0]], [0.0]),
    };
    let data = Dataset::new(vec![[0.9], [0.2], [0.6], [0.5]], vec![1, 1, 0, 0], 2).unwrap();
    let cm = ConfusionMatrix::of(&net, &data).unwrap();
    assert_eq!(matrix(&cm), [[1, 1], [1, 1]]);
    assert_eq!(cm.class_name(1), "1"); // no names: the numbers
}
