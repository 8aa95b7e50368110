//! Loading labelled data sets (std only): MNIST's IDX files (gzip or plain) and CSV.
//!
//! Every problem with a file is a [`DataError`] that says what is wrong and where; nothing panics,
//! nothing is silently cut short.

mod csv;
mod idx;
mod stream;
mod stream_csv;

use std::path::PathBuf;
use std::prelude::rust_2021::*;

pub use self::csv::{load_csv, read_csv, Csv, LabelColumn, MAX_LINE};
pub use idx::{load_idx, load_mnist, read_idx, IdxSource, Split};
pub use stream::{count_rows, split_last, ByteProgress, DatasetSource, Rows, Source};
pub use stream_csv::{CsvSource, CsvTarget, LabelRule};

/// Samples of `N` features with a target each: a class label (`T = usize`, the default, as the
/// file loaders give) or a vector of floats (`T = [f32; M]`: regression, XOR's 0/1 outputs, …).
///
/// The target decides which losses [`Fit`](crate::train::Fit) can train: a label becomes a class
/// index or a one-hot vector ([`FromLabel`](crate::loss::FromLabel)), an `[f32; M]` is used as it
/// is, so `M` must be the network's output width (a type error otherwise).
///
/// ```
/// use nn_core::data::Dataset;
/// let d = Dataset::<2>::new(vec![[0.0, 1.0], [1.0, 0.0]], vec![1, 0], 2).unwrap();
/// assert_eq!((d.len(), d.classes()), (2, 2));
/// assert!(Dataset::<2>::new(vec![[0.0, 1.0]], vec![3], 2).is_err()); // label out of range
/// // Float targets: XOR as a regression.
/// let xor = Dataset::from_vecs(
///     vec![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
///     vec![[0.0], [1.0], [1.0], [0.0]],
/// )
/// .unwrap();
/// assert_eq!(xor.targets()[1], [1.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<const N: usize, T = usize> {
    features: Vec<[f32; N]>,
    targets: Vec<T>,
    classes: usize,
    class_names: Option<Vec<String>>,
}

/// What a [`Dataset`] can hold per sample: a class label (`usize`) or a float vector (`[f32; M]`).
///
/// ```
/// use nn_core::data::Target;
/// assert_eq!(3usize.class(), 3);
/// assert_eq!([0.1f32, 0.7, 0.2].class(), 1); // arg-max
/// assert_eq!([0.8f32].class(), 1);           // one value: above 0.5
/// assert_eq!(usize::classes(&[0, 4, 2]), 5);
/// assert_eq!(<[f32; 1]>::classes(&[[1.0]]), 0);
/// ```
pub trait Target: Clone + core::fmt::Debug + PartialEq {
    /// The class this target stands for, to score accuracy against the network's
    /// [`class_of`](crate::class_of): the label itself, or `class_of` of the vector (arg-max, or
    /// the 0.5 threshold for one value — Keras' binary accuracy on 0/1 targets).
    fn class(&self) -> usize;

    /// The number of classes of a set of targets: one more than the largest label, 0 for float
    /// targets (which have no classes to check against the outputs).
    fn classes(targets: &[Self]) -> usize;

    /// A value to fill buffers with before rows are read into them (0, or zeros): streamed
    /// sources ([`Source`]) write targets into buffers the caller made.
    ///
    /// ```
    /// use nn_core::data::Target;
    /// assert_eq!((usize::empty(), <[f32; 2]>::empty()), (0, [0.0; 2]));
    /// ```
    fn empty() -> Self;
}

impl Target for usize {
    fn class(&self) -> usize {
        *self
    }

    fn classes(targets: &[Self]) -> usize {
        targets.iter().max().map_or(0, |&l| l + 1)
    }

    fn empty() -> Self {
        0
    }
}

impl<const M: usize> Target for [f32; M] {
    fn class(&self) -> usize {
        crate::class_of(self)
    }

    fn classes(_: &[Self]) -> usize {
        0
    }

    fn empty() -> Self {
        [0.0; M]
    }
}

impl<const N: usize> Dataset<N> {
    /// A labelled data set from its parts; the counts must agree and every label must be
    /// `< classes`.
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
            targets: labels,
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

    /// The labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.targets
    }
}

impl<const N: usize, T: Target> Dataset<N, T> {
    /// A data set from features and targets in memory, as Keras' `fit(x, y)`: labels (`usize`,
    /// classes = largest label + 1; use [`new`](Dataset::new) to state the number of classes) or
    /// float vectors (`[f32; M]`). Fails only if the counts differ.
    ///
    /// ```
    /// use nn_core::data::{DataError, Dataset};
    /// let labels = Dataset::from_vecs(vec![[0.5], [1.5], [2.5]], vec![0, 2, 1])?;
    /// assert_eq!(labels.classes(), 3);
    /// let sine = Dataset::from_vecs(vec![[0.0f32], [1.0]], vec![[0.0], [1.0f32.sin()]])?;
    /// assert_eq!(sine.len(), 2);
    /// assert!(matches!(
    ///     Dataset::from_vecs(vec![[0.0]], vec![[0.0], [1.0]]),
    ///     Err(DataError::CountMismatch { samples: 1, labels: 2 })
    /// ));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn from_vecs(features: Vec<[f32; N]>, targets: Vec<T>) -> Result<Self, DataError> {
        if features.len() != targets.len() {
            return Err(DataError::CountMismatch {
                samples: features.len(),
                labels: targets.len(),
            });
        }
        Ok(Dataset {
            classes: T::classes(&targets),
            features,
            targets,
            class_names: None,
        })
    }

    /// [`from_vecs`](Dataset::from_vecs) from borrowed slices (copied).
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let t = [[0.0], [1.0], [1.0], [0.0]];
    /// let xor = Dataset::from_slices(&x, &t).unwrap();
    /// assert_eq!(xor.features(), &x);
    /// ```
    pub fn from_slices(features: &[[f32; N]], targets: &[T]) -> Result<Self, DataError> {
        Self::from_vecs(features.to_vec(), targets.to_vec())
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
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Number of classes (every label is below it); 0 for float targets.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The feature vectors.
    pub fn features(&self) -> &[[f32; N]] {
        &self.features
    }

    /// The targets, one per sample (for labelled data the same as [`labels`](Dataset::labels)).
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// The first `n` samples (all if fewer), e.g. for a quick experiment.
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Dataset {
            features: self.features[..n].to_vec(),
            targets: self.targets[..n].to_vec(),
            classes: self.classes,
            class_names: self.class_names.clone(),
        }
    }

    /// Shuffles the samples (features and targets together) with a seeded permutation: the same
    /// seed gives the same order.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let mut d = Dataset::from_vecs((0..10).map(|i| [i as f32]).collect(), (0..10).collect())?;
    /// d.shuffle(7);
    /// assert_ne!(d.labels(), (0..10).collect::<Vec<_>>());
    /// assert!(d.features().iter().zip(d.labels()).all(|(x, &l)| x[0] == l as f32));
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn shuffle(&mut self, seed: u64) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        crate::Rng::new(seed).shuffle(&mut order);
        self.features = order.iter().map(|&i| self.features[i]).collect();
        self.targets = order.iter().map(|&i| self.targets[i].clone()).collect();
    }

    /// The first `at` samples and the rest (`at` is capped at the length); both keep the classes
    /// and their names.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let d = Dataset::from_vecs(vec![[0.0], [1.0], [2.0]], vec![[0.0], [1.0], [4.0]])?;
    /// let (train, test) = d.split(2);
    /// assert_eq!((train.len(), test.features()), (2, &[[2.0]][..]));
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn split(mut self, at: usize) -> (Self, Self) {
        let at = at.min(self.len());
        let rest = Dataset {
            features: self.features.split_off(at),
            targets: self.targets.split_off(at),
            classes: self.classes,
            class_names: self.class_names.clone(),
        };
        (self, rest)
    }

    /// Splits off the last `fraction` of the samples, as Keras' `validation_split` does ("the
    /// validation data is selected from the last samples … before shuffling"): the first part
    /// keeps `⌊len · (1 − fraction)⌋` samples, the second the rest. `fraction` is clamped to
    /// `[0, 1]`.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let d = Dataset::from_vecs((0..10).map(|i| [i as f32]).collect(), (0..10).collect())?;
    /// let (train, validation) = d.split_fraction(0.3);
    /// assert_eq!(validation.labels(), [7, 8, 9]);
    /// assert_eq!(train.len(), 7);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn split_fraction(self, fraction: f32) -> (Self, Self) {
        let at = split_point(self.len(), fraction);
        self.split(at)
    }
}

/// Where Keras' `validation_split` cuts `len` samples: `⌊len · (1 − fraction)⌋`, computed on the
/// decimal the user wrote (`0.3` as Python's double, not `0.3f32` widened to 0.30000001, which
/// would cut 10 samples at 6 where Keras cuts at 7).
pub(crate) fn split_point(len: usize, fraction: f32) -> usize {
    let fraction: f64 = fraction.to_string().parse().unwrap_or(0.0);
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    ((len as f64 * (1.0 - fraction)).floor() as usize).min(len)
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
    /// A row of a streamed file is invalid: where (file, 1-based line counting a header, and the
    /// 1-based column of the file if one field is at fault) and what. Its text is
    /// `file:line: column c: message`, as compilers print locations.
    ///
    /// ```
    /// use nn_core::data::DataError;
    /// let e = DataError::Row {
    ///     path: "big.csv".into(),
    ///     line: 123457,
    ///     column: Some(2),
    ///     message: "\"abc\" is not a number".into(),
    /// };
    /// assert_eq!(e.to_string(), "big.csv:123457: column 2: \"abc\" is not a number");
    /// ```
    #[error("{}:{line}: {}{message}", path.display(), column.map_or(String::new(), |c| format!("column {c}: ")))]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line (a header counts), or row number for a binary file.
        line: u64,
        /// 1-based column of the file (the label's column counts), if one field is at fault.
        column: Option<usize>,
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
