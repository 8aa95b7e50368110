//! Loading labelled data sets (std only): MNIST's IDX files (gzip or plain) and CSV.
//!
//! Every problem with a file is a [`DataError`] that says what is wrong and where; nothing panics,
//! nothing is silently cut short.

mod csv;
mod idx;

use std::path::PathBuf;
use std::prelude::rust_2021::*;

pub use self::csv::{load_csv, read_csv, Csv, LabelColumn, MAX_LINE};
pub use idx::{load_idx, load_mnist, read_idx, Split};

/// Samples of `N` features with a class label each.
///
/// ```
/// use nn_core::data::Dataset;
/// let d = Dataset::<2>::new(vec![[0.0, 1.0], [1.0, 0.0]], vec![1, 0], 2).unwrap();
/// assert_eq!((d.len(), d.classes()), (2, 2));
/// assert!(Dataset::<2>::new(vec![[0.0, 1.0]], vec![3], 2).is_err()); // label out of range
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<const N: usize> {
    features: Vec<[f32; N]>,
    labels: Vec<usize>,
    classes: usize,
    class_names: Option<Vec<String>>,
}

impl<const N: usize> Dataset<N> {
    /// A data set from its parts; the counts must agree and every label must be `< classes`.
    pub fn new(
        features: Vec<[f32; N]>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        if features.len() != labels.len() {
            return Err(DataError::CountMismatch {
                samples: features.len(),
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            return Err(DataError::LabelOutOfRange {
                path: PathBuf::new(),
                index,
                label,
                classes,
            });
        }
        Ok(Dataset {
            features,
            labels,
            classes,
            class_names: None,
        })
    }

    /// Names the classes (e.g. a CSV's string labels), so that predictions and reports can say
    /// `setosa` rather than `0`. There must be one name per class.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let d = Dataset::<1>::new(vec![[0.0], [1.0]], vec![1, 0], 2).unwrap();
    /// let d = d.with_class_names(vec!["cat".into(), "dog".into()]).unwrap();
    /// assert_eq!(d.class_name(1), Some("dog"));
    /// ```
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self, DataError> {
        if names.len() != self.classes {
            return Err(DataError::ClassNames {
                classes: self.classes,
                names: names.len(),
            });
        }
        self.class_names = Some(names);
        Ok(self)
    }

    /// The classes' names, if the data has them.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// The name of class `class`, if the data names its classes.
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.class_names.as_ref()?.get(class).map(String::as_str)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (every label is below it).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The feature vectors.
    pub fn features(&self) -> &[[f32; N]] {
        &self.features
    }

    /// The labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The first `n` samples (all if fewer), e.g. for a quick experiment.
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Dataset {
            features: self.features[..n].to_vec(),
            labels: self.labels[..n].to_vec(),
            classes: self.classes,
            class_names: self.class_names.clone(),
        }
    }
}

/// What is wrong with a data file.
///
/// ```
/// use nn_core::data::{load_mnist, DataError, Split};
/// match load_mnist::<784>("no/such/dir", Split::Train) {
///     Err(DataError::Io { path, .. }) => assert!(path.ends_with("train-images-idx3-ubyte")),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read (missing, unreadable, or a broken gzip stream).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not start with the magic number of the expected IDX kind.
    #[error("{}: not an IDX {kind} file: magic number {found:#010x}, expected {expected:#010x}", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// `images` or `labels`.
        kind: &'static str,
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        expected: u32,
    },
    /// The file is shorter than its header says.
    #[error("{}: truncated: the header describes {expected} bytes, the file has {found}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header describes (header included).
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file is longer than its header says (nothing is silently ignored).
    #[error("{}: {extra} bytes follow the {expected} bytes that the header describes", path.display())]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes the header describes.
        expected: usize,
        /// Bytes beyond them.
        extra: usize,
    },
    /// Images and labels do not pair up.
    #[error("{samples} samples but {labels} labels")]
    CountMismatch {
        /// Number of samples.
        samples: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not a valid class.
    #[error("{}: sample {index} has label {label}, but there are {classes} classes{}", path.display(), label_range(*classes))]
    LabelOutOfRange {
        /// The file (empty for in-memory data).
        path: PathBuf,
        /// Sample index.
        index: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
    /// The samples do not have the number of features the network takes.
    #[error("{}: samples have {found} features, but the network takes {expected}", path.display())]
    FeatureMismatch {
        /// The file.
        path: PathBuf,
        /// Features the network takes.
        expected: usize,
        /// Features per sample in the file.
        found: usize,
    },
    /// The number of class names is not the number of classes.
    #[error("{names} class names for {classes} classes")]
    ClassNames {
        /// Number of classes.
        classes: usize,
        /// Number of names given.
        names: usize,
    },
    /// A CSV record cannot be read.
    #[error("{}, line {line}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// ` (labels 0 to N-1)`, or nothing when there are no classes at all.
fn label_range(classes: usize) -> String {
    match classes {
        0 => String::new(),
        n => format!(" (labels 0 to {})", n - 1),
    }
}
