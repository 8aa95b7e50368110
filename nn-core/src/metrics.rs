//! Classification metrics as values (std only): accuracy, top-k and binary accuracy, a confusion
//! matrix, per-class and macro precision / recall / F1, and a report like scikit-learn's
//! `classification_report`.
//!
//! Everything is computed from predicted classes (or network outputs) and true labels, so it works
//! for any network: `predict_all` gives the classes, a loop over `forward` the outputs.
//!
//! Conventions, as Keras and scikit-learn:
//! - a ratio with nothing to count is 0: accuracy of no samples, precision of a class that is
//!   never predicted, recall of a class that never occurs (scikit-learn's `zero_division=0`, and
//!   Keras' `divide_no_nan`);
//! - F1 is `2·TP / (2·TP + FP + FN)`, the harmonic mean of precision and recall where both are
//!   defined, and 0 where that denominator is 0;
//! - macro averages weigh every class equally, including classes absent from the data (as
//!   scikit-learn with `labels=range(classes)`); weighted averages weigh by support.
//!
//! ```
//! use nn_core::metrics::ConfusionMatrix;
//! let predicted = [0, 1, 1, 2, 2, 2];
//! let labels = [0, 1, 2, 2, 2, 1];
//! let cm = ConfusionMatrix::new(&predicted, &labels, 3)?;
//! assert_eq!(cm.count(2, 1), 1); // one sample of class 2 predicted as 1
//! assert_eq!(cm.accuracy(), 4.0 / 6.0);
//! assert_eq!(cm.precision(2), 2.0 / 3.0);
//! assert_eq!(cm.recall(1), 0.5);
//! println!("{cm}\n{}", cm.report());
//! # Ok::<(), nn_core::metrics::MetricsError>(())
//! ```
use std::fmt;
use std::prelude::rust_2021::*;

use crate::data::Dataset;
use crate::{class_of, Network};

/// Why a metric cannot be computed from the values given.
///
/// ```
/// use nn_core::metrics::{accuracy, MetricsError};
/// let err = accuracy(&[0, 1], &[0]).unwrap_err();
/// assert_eq!(err, MetricsError::LengthMismatch { predictions: 2, labels: 1 });
/// assert_eq!(err.to_string(), "2 predictions but 1 labels");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Predictions (or outputs) and labels do not pair up.
    #[error("{predictions} predictions but {labels} labels")]
    LengthMismatch {
        /// Number of predictions or output vectors.
        predictions: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not one of the classes.
    #[error("sample {index} has label {label}, but there are {classes} classes")]
    LabelOutOfRange {
        /// Sample index.
        index: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A predicted class is not one of the classes (a network with more outputs than the data
    /// has classes).
    #[error("sample {index} is predicted as class {class}, but there are {classes} classes")]
    PredictionOutOfRange {
        /// Sample index.
        index: usize,
        /// The predicted class.
        class: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A matrix of `classes × classes` counts cannot exist in memory.
    #[error("{classes} classes are too many for a confusion matrix")]
    TooManyClasses {
        /// Number of classes.
        classes: usize,
    },
    /// The number of class names is not the number of classes.
    #[error("{names} class names for {classes} classes")]
    ClassNames {
        /// Number of classes.
        classes: usize,
        /// Number of names given.
        names: usize,
    },
}

fn check_lengths(predictions: usize, labels: usize) -> Result<(), MetricsError> {
    if predictions != labels {
        return Err(MetricsError::LengthMismatch {
            predictions,
            labels,
        });
    }
    Ok(())
}

/// `part / whole`, or 0 when there is nothing to count (Keras' `divide_no_nan`).
fn ratio(part: usize, whole: usize) -> f32 {
    ratio64(part, whole) as f32
}

fn ratio64(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The fraction of predicted classes that equal their label (0 for no samples).
///
/// ```
/// use nn_core::metrics::accuracy;
/// assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2])?, 0.75);
/// # Ok::<(), nn_core::metrics::MetricsError>(())
/// ```
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> Result<f32, MetricsError> {
    check_lengths(predicted.len(), labels.len())?;
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(ratio(hits, labels.len()))
}

/// The fraction of samples whose label is among the `k` largest of their outputs, as Keras'
/// `sparse_top_k_categorical_accuracy`.
///
/// Ties count in, as TensorFlow's `in_top_k`: the label is in the top `k` if fewer than `k`
/// outputs are strictly larger than its own (so `k = 1` with a tie at the top is a hit). An output
/// that is NaN is never in the top `k`. `k = 0` gives 0; `k ≥ OUT` gives 1 (NaN outputs aside).
///
/// ```
/// use nn_core::metrics::top_k_accuracy;
/// let outputs = [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6]];
/// let labels = [2, 1, 0];
/// assert_eq!(top_k_accuracy(&outputs, &labels, 1)?, 0.0);
/// assert_eq!(top_k_accuracy(&outputs, &labels, 2)?, 2.0 / 3.0); // 0.3 is second, 0.2 is third
/// # Ok::<(), nn_core::metrics::MetricsError>(())
/// ```
pub fn top_k_accuracy<const OUT: usize>(
    outputs: &[[f32; OUT]],
    labels: &[usize],
    k: usize,
) -> Result<f32, MetricsError> {
    check_lengths(outputs.len(), labels.len())?;
    let mut hits = 0;
    for (index, (y, &label)) in outputs.iter().zip(labels).enumerate() {
        let Some(&own) = y.get(label) else {
            return Err(MetricsError::LabelOutOfRange {
                index,
                label,
                classes: OUT,
            });
        };
        // `v > own` is false for every v when `own` is NaN: check it separately.
        if !own.is_nan() && y.iter().filter(|&&v| v > own).count() < k {
            hits += 1;
        }
    }
    Ok(ratio(hits, labels.len()))
}

/// The accuracy of a one-output binary classifier, as Keras' `binary_accuracy`: an output above
/// 0.5 predicts class 1, anything else (also NaN) class 0. Labels must be 0 or 1.
///
/// ```
/// use nn_core::metrics::binary_accuracy;
/// let outputs = [[0.9], [0.2], [0.5], [0.7]];
/// assert_eq!(binary_accuracy(&outputs, &[1, 0, 1, 0])?, 0.5); // 0.5 is not above 0.5
/// # Ok::<(), nn_core::metrics::MetricsError>(())
/// ```
pub fn binary_accuracy(outputs: &[[f32; 1]], labels: &[usize]) -> Result<f32, MetricsError> {
    check_lengths(outputs.len(), labels.len())?;
    let mut hits = 0;
    for (index, (y, &label)) in outputs.iter().zip(labels).enumerate() {
        if label > 1 {
            return Err(MetricsError::LabelOutOfRange {
                index,
                label,
                classes: 2,
            });
        }
        hits += usize::from(class_of(y) == label);
    }
    Ok(ratio(hits, labels.len()))
}

/// Counts of (true class, predicted class) pairs: row `t`, column `p` is the number of samples of
/// class `t` predicted as `p` (scikit-learn's layout). Precision, recall and F1 per class and
/// their averages follow from it; see the [module](self) for the conventions.
///
/// `Display` prints the matrix as an aligned table, with the class names if given
/// ([`with_class_names`](Self::with_class_names)); [`report`](Self::report) prints precision,
/// recall and F1 per class.
///
/// ```
/// use nn_core::metrics::ConfusionMatrix;
/// let cm = ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 1], 2)?.with_class_names(["cat", "dog"])?;
/// let table = cm.to_string();
/// let lines: Vec<&str> = table.lines().collect();
/// assert_eq!(lines[0], r"true \ predicted  cat  dog");
/// assert_eq!(lines[1], r"cat                 1    1");
/// assert_eq!(lines[2], r"dog                 0    1");
/// # Ok::<(), nn_core::metrics::MetricsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major, `classes × classes`.
    counts: Vec<usize>,
    names: Option<Vec<String>>,
}

impl ConfusionMatrix {
    /// Counts `predicted` against `labels`; every class must be `< classes`.
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[1, 1, 0], &[1, 0, 0], 2)?;
    /// assert_eq!((cm.count(0, 0), cm.count(0, 1), cm.count(1, 1)), (1, 1, 1));
    /// assert!(ConfusionMatrix::new(&[2], &[0], 2).is_err()); // no class 2
    /// assert!(ConfusionMatrix::new(&[0], &[0], usize::MAX).is_err()); // not in any memory
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn new(
        predicted: &[usize],
        labels: &[usize],
        classes: usize,
    ) -> Result<Self, MetricsError> {
        check_lengths(predicted.len(), labels.len())?;
        let too_many = MetricsError::TooManyClasses { classes };
        let cells = classes.checked_mul(classes).ok_or(too_many.clone())?;
        // Refused rather than aborting the program when the allocator has no such memory.
        let mut counts = Vec::new();
        counts.try_reserve_exact(cells).map_err(|_| too_many)?;
        counts.resize(cells, 0);
        for (index, (&class, &label)) in predicted.iter().zip(labels).enumerate() {
            if label >= classes {
                return Err(MetricsError::LabelOutOfRange {
                    index,
                    label,
                    classes,
                });
            }
            if class >= classes {
                return Err(MetricsError::PredictionOutOfRange {
                    index,
                    class,
                    classes,
                });
            }
            counts[label * classes + class] += 1;
        }
        Ok(ConfusionMatrix {
            classes,
            counts,
            names: None,
        })
    }

    /// Counts the classes that network outputs predict ([`class_of`]: arg-max, or for one output
    /// a 0.5 threshold) against `labels`.
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let outputs = [[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]];
    /// let cm = ConfusionMatrix::from_outputs(&outputs, &[0, 0, 1], 2)?;
    /// assert_eq!(cm, ConfusionMatrix::new(&[0, 1, 1], &[0, 0, 1], 2)?);
    /// // A sigmoid binary classifier:
    /// let cm = ConfusionMatrix::from_outputs(&[[0.9], [0.1]], &[1, 1], 2)?;
    /// assert_eq!((cm.count(1, 1), cm.count(1, 0)), (1, 1));
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn from_outputs<const OUT: usize>(
        outputs: &[[f32; OUT]],
        labels: &[usize],
        classes: usize,
    ) -> Result<Self, MetricsError> {
        let predicted: Vec<usize> = outputs.iter().map(class_of).collect();
        Self::new(&predicted, labels, classes)
    }

    /// The confusion matrix of `net` on `data`: each sample's predicted class
    /// ([`Network::predict`]) against its label, with the data's class names if it has them.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// network! { struct Pick { Dense<2, 2> } }
    /// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
    /// let data = Dataset::new(vec![[3.0, 1.0], [0.0, 2.0], [2.0, 1.0]], vec![0, 1, 1], 2)?
    ///     .with_class_names(vec!["left".into(), "right".into()])?;
    /// let cm = ConfusionMatrix::of(&net, &data)?;
    /// assert_eq!((cm.count(1, 0), cm.class_name(1)), (1, "right".to_string()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<N, const IN: usize, const OUT: usize>(
        net: &N,
        data: &Dataset<IN>,
    ) -> Result<Self, MetricsError>
    where
        N: Network<IN, OUT>,
    {
        let predicted: Vec<usize> = data.features().iter().map(|x| net.predict(x)).collect();
        let matrix = Self::new(&predicted, data.labels(), data.classes())?;
        match data.class_names() {
            Some(names) => matrix.with_class_names(names),
            None => Ok(matrix),
        }
    }

    /// Names the classes for `Display` and [`report`](Self::report), e.g. from
    /// `Dataset::class_names()`; there must be one name per class.
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0], &[0], 2)?;
    /// assert!(cm.clone().with_class_names(["only one"]).is_err());
    /// let names: Vec<String> = vec!["no".into(), "yes".into()];
    /// assert_eq!(cm.with_class_names(&names)?.class_name(1), "yes");
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, MetricsError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.classes {
            return Err(MetricsError::ClassNames {
                classes: self.classes,
                names: names.len(),
            });
        }
        self.names = Some(names);
        Ok(self)
    }

    /// The name of `class`: the one given, or its number.
    pub fn class_name(&self, class: usize) -> String {
        match &self.names {
            Some(names) if class < names.len() => names[class].clone(),
            _ => class.to_string(),
        }
    }

    /// Number of classes (rows and columns).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Samples of class `truth` predicted as `predicted` (0 outside the matrix).
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// Number of samples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Samples of class `class` (its row's sum), "support" in scikit-learn.
    pub fn support(&self, class: usize) -> usize {
        (0..self.classes).map(|p| self.count(class, p)).sum()
    }

    /// Samples predicted as `class` (its column's sum).
    pub fn predicted(&self, class: usize) -> usize {
        (0..self.classes).map(|t| self.count(t, class)).sum()
    }

    /// The fraction of samples on the diagonal (0 for none).
    pub fn accuracy(&self) -> f32 {
        let hits = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(hits, self.total())
    }

    /// Of the samples predicted as `class`, the fraction that are (0 if none is).
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 1, 1], 3)?;
    /// assert_eq!(cm.precision(0), 2.0 / 3.0);
    /// assert_eq!(cm.precision(2), 0.0); // never predicted: 0, as sklearn's zero_division=0
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn precision(&self, class: usize) -> f32 {
        self.precision64(class) as f32
    }

    /// Of the samples of `class`, the fraction predicted as such (0 if there are none).
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 1, 1], 2)?;
    /// assert_eq!(cm.recall(1), 0.5);
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn recall(&self, class: usize) -> f32 {
        self.recall64(class) as f32
    }

    /// F1 of `class`: `2·TP / (2·TP + FP + FN)`, the harmonic mean of precision and recall (0 if
    /// the class is neither predicted nor present).
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 1, 1], 2)?;
    /// assert_eq!(cm.f1(0), 0.8); // precision 2/3, recall 1
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn f1(&self, class: usize) -> f32 {
        self.f1_64(class) as f32
    }

    // The report prints these in f64, as scikit-learn computes them, so that its rounding to two
    // decimals agrees with scikit-learn's.
    fn precision64(&self, class: usize) -> f64 {
        ratio64(self.count(class, class), self.predicted(class))
    }

    fn recall64(&self, class: usize) -> f64 {
        ratio64(self.count(class, class), self.support(class))
    }

    fn f1_64(&self, class: usize) -> f64 {
        let tp = self.count(class, class);
        let wrong = self.predicted(class) + self.support(class) - 2 * tp; // FP + FN
        ratio64(2 * tp, 2 * tp + wrong)
    }

    /// Precision of every class, in class order.
    pub fn precisions(&self) -> Vec<f32> {
        (0..self.classes).map(|c| self.precision(c)).collect()
    }

    /// Recall of every class, in class order.
    pub fn recalls(&self) -> Vec<f32> {
        (0..self.classes).map(|c| self.recall(c)).collect()
    }

    /// F1 of every class, in class order.
    pub fn f1s(&self) -> Vec<f32> {
        (0..self.classes).map(|c| self.f1(c)).collect()
    }

    /// Unweighted mean of a per-class value over all classes (0 for no classes).
    fn macro_mean(&self, per_class: impl Fn(usize) -> f64) -> f64 {
        if self.classes == 0 {
            return 0.0;
        }
        (0..self.classes).map(per_class).sum::<f64>() / self.classes as f64
    }

    /// Mean of a per-class value weighted by support (0 for no samples).
    fn weighted_mean(&self, per_class: impl Fn(usize) -> f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let sum: f64 = (0..self.classes)
            .map(|c| per_class(c) * self.support(c) as f64)
            .sum();
        sum / total as f64
    }

    /// Mean precision over the classes, each counting equally (scikit-learn's `average='macro'`).
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 1, 1], 2)?;
    /// assert!((cm.macro_precision() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-6);
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn macro_precision(&self) -> f32 {
        self.macro_mean(|c| self.precision64(c)) as f32
    }

    /// Mean recall over the classes, each counting equally.
    pub fn macro_recall(&self) -> f32 {
        self.macro_mean(|c| self.recall64(c)) as f32
    }

    /// Mean F1 over the classes, each counting equally (Keras' `F1Score(average="macro")`).
    pub fn macro_f1(&self) -> f32 {
        self.macro_mean(|c| self.f1_64(c)) as f32
    }

    /// Precision averaged with each class weighted by its support (`average='weighted'`).
    pub fn weighted_precision(&self) -> f32 {
        self.weighted_mean(|c| self.precision64(c)) as f32
    }

    /// Recall averaged with each class weighted by its support.
    pub fn weighted_recall(&self) -> f32 {
        self.weighted_mean(|c| self.recall64(c)) as f32
    }

    /// F1 averaged with each class weighted by its support.
    pub fn weighted_f1(&self) -> f32 {
        self.weighted_mean(|c| self.f1_64(c)) as f32
    }

    /// Precision, recall, F1 and support per class, then accuracy and the macro and weighted
    /// averages, laid out as scikit-learn's `classification_report` (`Display` it).
    ///
    /// ```
    /// use nn_core::metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::new(&[0, 0, 0, 1], &[0, 0, 1, 1], 2)?.with_class_names(["no", "yes"])?;
    /// let text = cm.report().to_string();
    /// assert!(text.contains("         yes       1.00      0.50      0.67         2"), "{text}");
    /// # Ok::<(), nn_core::metrics::MetricsError>(())
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report { matrix: self }
    }
}

/// The confusion matrix as a table: one row per true class, one column per predicted class.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CORNER: &str = "true \\ predicted";
        let names: Vec<String> = (0..self.classes).map(|c| self.class_name(c)).collect();
        let first = names
            .iter()
            .map(|n| n.chars().count())
            .chain([CORNER.len()])
            .max()
            .unwrap_or(0);
        // Each column as wide as its name and its largest count.
        let widths: Vec<usize> = (0..self.classes)
            .map(|p| {
                let count = (0..self.classes)
                    .map(|t| self.count(t, p).to_string().len())
                    .max()
                    .unwrap_or(1);
                names[p].chars().count().max(count)
            })
            .collect();
        write!(f, "{CORNER:<first$}")?;
        for (name, &w) in names.iter().zip(&widths) {
            write!(f, "  {name:>w$}")?;
        }
        writeln!(f)?;
        for (t, name) in names.iter().enumerate() {
            write!(f, "{name:<first$}")?;
            for (p, &w) in widths.iter().enumerate() {
                write!(f, "  {:>w$}", self.count(t, p))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Per-class precision, recall and F1 of a [`ConfusionMatrix`], from
/// [`ConfusionMatrix::report`]; `Display` prints scikit-learn's `classification_report` layout
/// (two decimals).
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    matrix: &'a ConfusionMatrix,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.matrix;
        let names: Vec<String> = (0..m.classes).map(|c| m.class_name(c)).collect();
        // As scikit-learn: the name column fits the longest name and "weighted avg".
        let w = names
            .iter()
            .map(|n| n.chars().count())
            .chain(["weighted avg".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9} {:>9}\n",
            "", "precision", "recall", "f1-score", "support"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, p: f64, r: f64, f1: f64| {
            writeln!(
                f,
                "{name:>w$}  {p:>9.2} {r:>9.2} {f1:>9.2} {:>9}",
                m.total()
            )
        };
        for (c, name) in names.iter().enumerate() {
            writeln!(
                f,
                "{name:>w$}  {:>9.2} {:>9.2} {:>9.2} {:>9}",
                m.precision64(c),
                m.recall64(c),
                m.f1_64(c),
                m.support(c)
            )?;
        }
        writeln!(f)?;
        let accuracy = ratio64((0..m.classes).map(|c| m.count(c, c)).sum(), m.total());
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {accuracy:>9.2} {:>9}",
            "accuracy",
            "",
            "",
            m.total()
        )?;
        row(
            f,
            "macro avg",
            m.macro_mean(|c| m.precision64(c)),
            m.macro_mean(|c| m.recall64(c)),
            m.macro_mean(|c| m.f1_64(c)),
        )?;
        row(
            f,
            "weighted avg",
            m.weighted_mean(|c| m.precision64(c)),
            m.weighted_mean(|c| m.recall64(c)),
            m.weighted_mean(|c| m.f1_64(c)),
        )
    }
}

/// Why [`roc_auc`] cannot be computed.
///
/// ```
/// use nn_core::metrics::{roc_auc, AucError};
/// assert_eq!(roc_auc(&[0.2, 0.9], &[1, 1]), Err(AucError::OneClass { class: 1 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AucError {
    /// Lengths differ or a label is not 0 or 1.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// Every sample has the same label: ROC AUC is undefined (scikit-learn raises too).
    #[error("every sample has label {class}: ROC AUC needs both classes")]
    OneClass {
        /// The only label present.
        class: usize,
    },
    /// A score is NaN, which has no place in a ranking.
    #[error("sample {index} has a NaN score")]
    NaN {
        /// Sample index.
        index: usize,
    },
}

/// Area under the ROC curve of a binary classifier: the probability that a random positive
/// (label 1) scores above a random negative (label 0), ties counting half — the Mann–Whitney
/// statistic, which is what scikit-learn's `roc_auc_score` computes (trapezoids through tied
/// scores give the same half). `scores` are any monotone score (a sigmoid output, a logit).
///
/// O(n log n) time and one `(score, label)` pair per sample of memory; the sums are in `f64`, so
/// the value stays exact to ~1e-12 for millions of samples.
///
/// ```
/// use nn_core::metrics::roc_auc;
/// // Positives 0.8 and 0.4, negatives 0.4 and 0.1: pairs (0.8 > 0.4), (0.8 > 0.1), (0.4 = 0.4,
/// // half), (0.4 > 0.1): 3.5 of 4.
/// assert_eq!(roc_auc(&[0.8, 0.4, 0.4, 0.1], &[1, 1, 0, 0])?, 0.875);
/// # Ok::<(), nn_core::metrics::AucError>(())
/// ```
pub fn roc_auc(scores: &[f32], labels: &[usize]) -> Result<f64, AucError> {
    check_lengths(scores.len(), labels.len())?;
    let mut pairs = Vec::with_capacity(scores.len());
    for (index, (&score, &label)) in scores.iter().zip(labels).enumerate() {
        if label > 1 {
            return Err(MetricsError::LabelOutOfRange {
                index,
                label,
                classes: 2,
            }
            .into());
        }
        if score.is_nan() {
            return Err(AucError::NaN { index });
        }
        pairs.push((score, label == 1));
    }
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        let class = usize::from(positives > 0);
        return Err(AucError::OneClass { class });
    }
    // -0.0 and 0.0 are one score: compare as values, not bit patterns (NaN is excluded above).
    pairs.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(core::cmp::Ordering::Equal));
    // Sum of the 1-based ranks of the positives, a run of tied scores sharing its mean rank.
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < pairs.len() {
        let mut end = start + 1;
        while end < pairs.len() && pairs[end].0 == pairs[start].0 {
            end += 1;
        }
        let tied_positives = pairs[start..end].iter().filter(|p| p.1).count();
        // Ranks start+1 ..= end, mean (start + 1 + end) / 2.
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}
