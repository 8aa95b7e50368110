//! [`evaluate_with`]: Keras' `evaluate` with the metrics a user asks for, as values and printed.

use std::fmt;
use std::prelude::rust_2021::*;

use super::{check_classes, check_outputs, predict_outputs, FitError};
use crate::data::{Dataset, Target};
use crate::loss::FromTarget;
use crate::metrics::{top_k_accuracy, ConfusionMatrix, MetricsError};
use crate::{class_of, Loss, Network};

/// The metrics [`evaluate_with`] computes besides the loss and accuracy, as Keras' `metrics=[…]`.
///
/// Precision, recall and F1 are those of class 1 for a one-output network (Keras'
/// `Precision()`, `Recall()`, `F1Score(threshold=0.5)` on a binary classifier), and the macro
/// averages over the classes otherwise (scikit-learn's `average="macro"`), from
/// [`ConfusionMatrix`].
///
/// ```
/// use constnet::train::Metrics;
/// let m = Metrics::new().top_k(5).precision().recall().f1().confusion_matrix();
/// assert!(m.wants_confusion_matrix() && !Metrics::new().wants_confusion_matrix());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    top_k: Vec<usize>,
    precision: bool,
    recall: bool,
    f1: bool,
    confusion_matrix: bool,
    report: bool,
    print: bool,
}

impl Metrics {
    /// Loss and accuracy only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Precision, recall, F1, the confusion matrix and the per-class report: everything.
    pub fn all() -> Self {
        Metrics::new()
            .precision()
            .recall()
            .f1()
            .confusion_matrix()
            .report()
    }

    /// Top-`k` accuracy, as Keras' `sparse_top_k_categorical_accuracy` (may be asked for several
    /// `k`).
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k.push(k);
        self
    }

    /// Precision (class 1 of a binary classifier, macro otherwise).
    pub fn precision(mut self) -> Self {
        self.precision = true;
        self
    }

    /// Recall (class 1 of a binary classifier, macro otherwise).
    pub fn recall(mut self) -> Self {
        self.recall = true;
        self
    }

    /// F1 (class 1 of a binary classifier, macro otherwise).
    pub fn f1(mut self) -> Self {
        self.f1 = true;
        self
    }

    /// The confusion matrix, with the data's class names if it has them.
    pub fn confusion_matrix(mut self) -> Self {
        self.confusion_matrix = true;
        self
    }

    /// Whether the confusion matrix is asked for.
    pub fn wants_confusion_matrix(&self) -> bool {
        self.confusion_matrix
    }

    /// The per-class precision / recall / F1 table (scikit-learn's `classification_report`) in
    /// the printout; implies the confusion matrix it is computed from.
    pub fn report(mut self) -> Self {
        self.report = true;
        self.confusion_matrix = true;
        self
    }

    /// Prints the scores to stdout when computed (Keras' `evaluate(verbose=1)`, as one line and
    /// the tables).
    pub fn print(mut self) -> Self {
        self.print = true;
        self
    }
}

/// What [`evaluate_with`] computed: loss and accuracy always, the rest if asked for. `Display`
/// prints Keras' line (`loss: 0.1234 - accuracy: 0.9500 - precision: …`), then the confusion
/// matrix and the report if asked for.
///
/// ```
/// use constnet::train::Scores;
/// let s = Scores { loss: 0.25, accuracy: 0.9, top_k: vec![(3, 1.0)], precision: Some(0.8),
///                  recall: None, f1: None, confusion_matrix: None, report: false };
/// assert_eq!(s.to_string(), "loss: 0.2500 - accuracy: 0.9000 - top_3_accuracy: 1.0000 - precision: 0.8000\n");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Mean loss per sample.
    pub loss: f32,
    /// Accuracy ([`class_of`]: arg-max, or the 0.5 threshold of one output).
    pub accuracy: f32,
    /// `(k, top-k accuracy)` for every `k` asked for.
    pub top_k: Vec<(usize, f32)>,
    /// Precision, if asked for.
    pub precision: Option<f32>,
    /// Recall, if asked for.
    pub recall: Option<f32>,
    /// F1, if asked for.
    pub f1: Option<f32>,
    /// The confusion matrix, if asked for.
    pub confusion_matrix: Option<ConfusionMatrix>,
    /// Whether `Display` prints the per-class report (needs the confusion matrix).
    pub report: bool,
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss: {:.4} - accuracy: {:.4}", self.loss, self.accuracy)?;
        for (k, v) in &self.top_k {
            write!(f, " - top_{k}_accuracy: {v:.4}")?;
        }
        for (name, value) in [
            ("precision", self.precision),
            ("recall", self.recall),
            ("f1_score", self.f1),
        ] {
            if let Some(v) = value {
                write!(f, " - {name}: {v:.4}")?;
            }
        }
        writeln!(f)?;
        if let Some(cm) = &self.confusion_matrix {
            write!(f, "\n{cm}")?;
            if self.report {
                write!(f, "\n{}", cm.report())?;
            }
        }
        Ok(())
    }
}

/// Loss, accuracy and the [`Metrics`] asked for of `net` on `data`, as Keras' `evaluate` on a
/// model compiled with those metrics; printed too if [`Metrics::print`] is set. The loss and
/// accuracy are [`evaluate`](super::evaluate)'s, computed from the same forward passes.
///
/// Fails as `evaluate` does (more classes than outputs, a loss that needs more outputs), and
/// with [`FitError::Metrics`] if a metric cannot be computed.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::{evaluate, evaluate_with, Metrics};
/// network! { struct Pick { Dense<2, 3, Softmax> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0; 3]) };
/// let data = Dataset::new(vec![[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 0.0]], vec![0, 1, 1, 2], 3)?
///     .with_class_names(vec!["a".into(), "b".into(), "c".into()])?;
/// let s = evaluate_with(&net, SparseCategoricalCrossEntropy, &data,
///     &Metrics::new().top_k(2).precision().recall().f1().confusion_matrix())?;
/// assert_eq!(s.accuracy, evaluate(&net, SparseCategoricalCrossEntropy, &data)?.accuracy);
/// let cm = s.confusion_matrix.as_ref().unwrap();
/// assert_eq!((cm.count(1, 0), cm.class_name(2)), (1, "c".to_string()));
/// assert_eq!(s.recall, Some(cm.macro_recall()));
/// println!("{s}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate_with<N, L, T, const IN: usize, const OUT: usize>(
    net: &N,
    loss: L,
    data: &Dataset<IN, T>,
    metrics: &Metrics,
) -> Result<Scores, FitError>
where
    N: Network<IN, OUT>,
    L: Loss<OUT>,
    L::Target: FromTarget<T>,
    T: Target,
{
    let _ = loss;
    check_outputs::<L, OUT>()?;
    check_classes::<IN, OUT, T>(data)?;
    let outputs = predict_outputs(net, data.features());
    let labels: Vec<usize> = data.targets().iter().map(Target::class).collect();
    let predicted: Vec<usize> = outputs.iter().map(class_of).collect();
    let n = outputs.len().max(1) as f64;
    // In f64 and in order, as `evaluate` sums, so that both give the same loss.
    let loss_sum: f64 = outputs
        .iter()
        .zip(data.targets())
        .map(|(y, t)| f64::from(L::loss(y, &L::Target::from_target(t))))
        .sum();
    let hits = predicted
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    let mut top_k = Vec::new();
    for &k in &metrics.top_k {
        top_k.push((k, top_k_accuracy(&outputs, &labels, k)?));
    }
    let classes = if OUT == 1 { 2 } else { OUT };
    let wants_matrix =
        metrics.confusion_matrix || metrics.precision || metrics.recall || metrics.f1;
    let matrix = if wants_matrix {
        let cm = ConfusionMatrix::new(&predicted, &labels, classes)?;
        Some(match data.class_names() {
            Some(names) if names.len() == classes => cm.with_class_names(names)?,
            _ => cm,
        })
    } else {
        None
    };
    let pick =
        |asked: bool, binary: fn(&ConfusionMatrix) -> f32, macro_: fn(&ConfusionMatrix) -> f32| {
            let cm = matrix.as_ref()?;
            asked.then(|| if OUT == 1 { binary(cm) } else { macro_(cm) })
        };
    let scores = Scores {
        loss: (loss_sum / n) as f32,
        accuracy: (hits as f64 / n) as f32,
        top_k,
        precision: pick(
            metrics.precision,
            |m| m.precision(1),
            ConfusionMatrix::macro_precision,
        ),
        recall: pick(
            metrics.recall,
            |m| m.recall(1),
            ConfusionMatrix::macro_recall,
        ),
        f1: pick(metrics.f1, |m| m.f1(1), ConfusionMatrix::macro_f1),
        confusion_matrix: matrix.filter(|_| metrics.confusion_matrix),
        report: metrics.report,
    };
    if metrics.print {
        std::print!("{scores}");
    }
    Ok(scores)
}

impl From<MetricsError> for FitError {
    fn from(e: MetricsError) -> Self {
        FitError::Metrics(e)
    }
}
