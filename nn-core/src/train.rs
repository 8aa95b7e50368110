//! The training loop (std only): Keras' `fit` / `evaluate`, with an indicatif progress bar.
use std::io::IsTerminal;
use std::prelude::rust_2021::*;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::data::{split_point, Dataset, Target};
use crate::loss::{FromTarget, Weighted, WeightedTarget};
use crate::optim::Schedule;
use crate::{class_of, Loss, Network, Optimizer, Rng, Train, Trainer};

mod callbacks;
mod checkpoint;
mod scores;
mod stream;

pub use callbacks::{
    Callback, Control, EarlyStopping, LearningRateScheduler, Monitor, ReduceLROnPlateau,
    TrainerAccess,
};
pub use checkpoint::{
    load_checkpoint, save_checkpoint, Checkpoint, CheckpointError, CheckpointFormat,
    CheckpointTensor, Mode, ModelCheckpoint, RawCheckpoint,
};
pub use scores::{evaluate_with, Metrics, Scores};
pub use stream::{
    evaluate_stream, predict_stream, score_stream, EpochData, StreamError, StreamHistory,
};

/// How much `fit` prints, as Keras' `verbose`.
///
/// The default, [`Bar`](Verbose::Bar), is Keras' `verbose="auto"` (1): a progress bar where one
/// can be seen, and a line per epoch in a log — never silence in CI.
///
/// ```
/// use constnet::train::Verbose;
/// assert_eq!(Verbose::default(), Verbose::Bar); // as Keras' verbose=1
/// // In CI (neither stdout nor stderr a terminal): a line per epoch, no bar.
/// assert_eq!(Verbose::Bar.shows(false, false), (false, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbose {
    /// Nothing (`verbose=0`).
    Silent,
    /// A progress bar per epoch on stderr if it is a terminal, and one line per epoch on stdout
    /// if stdout is not a terminal (a log file, a pipe, CI), as Keras' `verbose=1`, whose bar
    /// off a terminal prints only each epoch's final line.
    #[default]
    Bar,
    /// One line per epoch on stdout (`verbose=2`).
    Lines,
}

impl Verbose {
    /// Whether `fit` draws a progress bar (on stderr) and whether it prints a line per epoch (on
    /// stdout), given whether stdout and stderr are terminals.
    ///
    /// ```
    /// use constnet::train::Verbose;
    /// assert_eq!(Verbose::Bar.shows(true, true), (true, false)); // at a terminal: the bar
    /// assert_eq!(Verbose::Bar.shows(false, true), (true, true)); // `> log`: the bar, and lines in the log
    /// assert_eq!(Verbose::Lines.shows(true, true), (false, true));
    /// assert_eq!(Verbose::Silent.shows(false, false), (false, false));
    /// ```
    pub fn shows(self, stdout_is_terminal: bool, stderr_is_terminal: bool) -> (bool, bool) {
        match self {
            Verbose::Silent => (false, false),
            Verbose::Bar => (stderr_is_terminal, !stdout_is_terminal),
            Verbose::Lines => (false, true),
        }
    }
}

/// Training settings, with the batch size `B` in the type: `Fit::<32>::epochs(10)`.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::data::Dataset;
/// use constnet::train::{Fit, Verbose};
///
/// network! { struct Xor { Dense<2, 8, Tanh>, Dense<8, 2, Softmax> } }
/// let data = Dataset::new(vec![[0., 0.], [0., 1.], [1., 0.], [1., 1.]], vec![0, 1, 1, 0], 2)?;
/// let mut net = Xor::new(3);
/// let mut trainer = Trainer::new(Adam::new(0.05));
/// let history = Fit::<4>::epochs(500)
///     .verbose(Verbose::Silent)
///     .run(&mut net, SparseCategoricalCrossEntropy, &mut trainer, &data, None)?;
/// assert_eq!(history.epochs.last().unwrap().accuracy, 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<const B: usize> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Seed of the per-epoch shuffles (training is deterministic for a given seed).
    pub seed: u64,
    /// Shuffle the samples before every epoch.
    pub shuffle: bool,
    /// What to print.
    pub verbose: Verbose,
    /// The fraction of the training data held out for validation: the last samples, before any
    /// shuffling, as Keras' `validation_split` (0: none).
    pub validation_split: f32,
    /// Rows in the shuffle buffer of [`run_stream`](Fit::run_stream) (tf.data's `buffer_size`;
    /// default 100,000): memory for that many rows, and the window rows are shuffled within.
    pub shuffle_buffer: usize,
    /// A weight per training sample, as Keras' `sample_weight` ([`Fit::sample_weight`]).
    pub sample_weight: Option<Vec<f32>>,
    /// A weight per class, as Keras' `class_weight` ([`Fit::class_weight`]).
    pub class_weight: Option<Vec<(usize, f32)>>,
}

/// Loss and accuracy over a data set.
///
/// ```
/// use constnet::train::Evaluation;
/// let e = Evaluation { loss: 0.2, accuracy: 0.95 };
/// assert!(e.accuracy > 0.9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f32,
    /// Fraction of samples whose predicted class ([`class_of`]: arg-max, or a
    /// single output above 0.5) is their label.
    pub accuracy: f32,
}

/// What happened in one epoch.
///
/// ```
/// use std::time::Duration;
/// use constnet::train::{Epoch, History};
/// let epoch = Epoch { loss: 0.3, accuracy: 0.9, validation: None, duration: Duration::from_millis(30) };
/// let history = History { epochs: vec![epoch; 2] };
/// assert_eq!(history.duration(), Duration::from_millis(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// Mean training loss over the epoch's batches.
    pub loss: f32,
    /// Training accuracy over the epoch (outputs as they were during training, as Keras reports).
    pub accuracy: f32,
    /// Loss and accuracy on the validation data, if given.
    pub validation: Option<Evaluation>,
    /// Wall time of the epoch (training and validation).
    pub duration: Duration,
}

/// Per-epoch results of [`Fit::run`], as Keras' `History`.
///
/// ```
/// let history = constnet::train::History::default();
/// assert!(history.epochs.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One entry per epoch.
    pub epochs: Vec<Epoch>,
}

impl History {
    /// Total wall time.
    pub fn duration(&self) -> Duration {
        self.epochs.iter().map(|e| e.duration).sum()
    }
}

/// Why training could not start, or stopped.
///
/// ```
/// use constnet::train::FitError;
/// let e = FitError::TooFewSamples { samples: 2, batch: 4 };
/// assert_eq!(e.to_string(), "2 training samples do not fill one batch of 4");
/// ```
// Keras' `TerminateOnNaN` is built in: `NonFiniteLoss` and `NonFiniteWeights` below.
#[doc(alias = "TerminateOnNaN")]
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum FitError {
    /// Fewer samples than one batch.
    #[error("{samples} training samples do not fill one batch of {batch}")]
    TooFewSamples {
        /// Samples in the data set.
        samples: usize,
        /// Batch size.
        batch: usize,
    },
    /// The loss needs more outputs than the network has (a class index into one sigmoid output).
    #[error("{loss} needs at least {needed} outputs, but the network has {outputs}; for one sigmoid output use BinaryCrossEntropy")]
    TooFewOutputs {
        /// The loss's type name.
        loss: &'static str,
        /// Outputs the loss needs.
        needed: usize,
        /// Network outputs.
        outputs: usize,
    },
    /// The data has more classes than the network has outputs.
    #[error("the data has {classes} classes, but the network has {outputs} outputs")]
    TooManyClasses {
        /// Classes in the data set.
        classes: usize,
        /// Network outputs.
        outputs: usize,
    },
    /// Training diverged: a batch's loss is NaN or infinite (as Keras' `TerminateOnNaN`, always
    /// on). The network holds the weights of that step; the epochs before are in `history`.
    #[error("training stopped at batch {batch} of epoch {epoch}: the loss is {loss} (a learning rate too high, or a non-finite input?)")]
    NonFiniteLoss {
        /// 1-based epoch of this run.
        epoch: usize,
        /// 1-based batch within it.
        batch: usize,
        /// The loss.
        loss: f32,
        /// The epochs completed before.
        history: History,
    },
    /// [`Fit::validation_split`] leaves no sample for training or none for validation.
    #[error(
        "a validation split of {fraction} leaves no training or no validation samples of {samples}"
    )]
    ValidationSplit {
        /// The fraction asked for.
        fraction: f32,
        /// Samples in the training data.
        samples: usize,
    },
    /// A metric of [`evaluate_with`] could not be computed.
    #[error("{0}")]
    Metrics(crate::metrics::MetricsError),
    /// [`Fit::sample_weight`] and [`Fit::class_weight`] were both given.
    #[error("class_weight and sample_weight cannot both be given (as in Keras): fold the class weights into the sample weights")]
    BothWeights,
    /// [`Fit::sample_weight`] has a length other than the training data's.
    #[error("{weights} sample weights for {samples} training samples")]
    SampleWeightLength {
        /// Weights given.
        weights: usize,
        /// Samples in the training data (before any validation split).
        samples: usize,
    },
    /// A sample weight is negative, NaN or infinite.
    #[error("sample weight {index} is {value}: weights must be finite and ≥ 0")]
    InvalidSampleWeight {
        /// Index of the first such weight.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A class weight is negative, NaN or infinite.
    #[error("the weight of class {class} is {value}: weights must be finite and ≥ 0")]
    InvalidClassWeight {
        /// The class.
        class: usize,
        /// Its weight.
        value: f32,
    },
    /// [`Fit::class_weight`] names a class the network cannot output.
    #[error(
        "class_weight names class {class}, but the network has {classes} classes (0..{classes})"
    )]
    ClassWeightOutOfRange {
        /// The class.
        class: usize,
        /// Classes of the network's outputs (2 for a single sigmoid output).
        classes: usize,
    },
    /// [`Fit::class_weight`] names a class twice.
    #[error("class_weight names class {class} twice")]
    DuplicateClassWeight {
        /// The class.
        class: usize,
    },
    /// Training left a NaN or infinite weight (checked after every epoch).
    #[error("training stopped after epoch {epoch}: parameter {index} is {value}")]
    NonFiniteWeights {
        /// 1-based epoch of this run.
        epoch: usize,
        /// Index of the first such parameter in `Parameters::as_slice`.
        index: usize,
        /// Its value.
        value: f32,
        /// The epochs completed, this one included.
        history: History,
    },
    /// The training or validation source failed (a bad row, a broken file; for
    /// [`evaluate_stream`] and [`predict_stream`] epoch 0). The network holds a partly trained
    /// epoch: not a result to keep.
    #[error("epoch {epoch}: {error}")]
    Data {
        /// 1-based epoch of this run in which it happened (0: not training).
        epoch: usize,
        /// The source's error, e.g. a [`DataError`](crate::data::DataError) naming file, line
        /// and column.
        error: StreamError,
        /// The epochs completed before.
        history: History,
    },
    /// [`predict_stream`] could not write its output.
    #[error("cannot write the predictions: {0}")]
    Write(StreamError),
    /// [`Fit::validation_split`] with [`Fit::run_stream`]: a stream's row count is not known
    /// before it is read.
    #[error("validation_split needs the row count, which a stream only knows at its end: hold out rows with data::split_last or data::Rows and pass them as the validation source")]
    StreamValidationSplit,
    /// [`Fit::sample_weight`] or [`Fit::class_weight`] with [`Fit::run_stream`], which does not
    /// weigh samples (yet): refused rather than ignored.
    #[error("sample_weight and class_weight are not supported by run_stream: train from a Dataset with Fit::run to weigh samples")]
    StreamWeights,
}

impl<const B: usize> Fit<B> {
    /// `epochs` passes, shuffled from seed 0, with a progress bar ([`Verbose::Bar`]).
    pub fn epochs(epochs: usize) -> Self {
        Fit {
            epochs,
            seed: 0,
            shuffle: true,
            verbose: Verbose::Bar,
            validation_split: 0.0,
            shuffle_buffer: 100_000,
            sample_weight: None,
            class_weight: None,
        }
    }

    /// Weighs each training sample's loss, as Keras' `sample_weight`: sample `i` of the training
    /// data (before any validation split) counts `weights[i]` times. Each sample's loss and
    /// gradient are multiplied by its weight and the batch loss is divided by the batch size, not
    /// by the weights' sum (Keras' `sum_over_batch_size`), so the reported loss is the weighted
    /// one; accuracy is not weighted (Keras' `metrics`, not `weighted_metrics`). With
    /// [`validation_split`](Fit::validation_split) the held-out samples keep their weights and the
    /// validation loss is weighted the same way, as in Keras; validation data passed to
    /// [`run`](Fit::run) has no weights. A length other than the data's, or a negative or
    /// non-finite weight, is a [`FitError`] when training starts.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::data::Dataset;
    /// use constnet::train::{Fit, Verbose};
    /// network! { struct Line { Dense<1, 1> } }
    /// let data = Dataset::from_vecs(vec![[1.0], [1.0]], vec![[0.0], [2.0]])?;
    /// // Only the second sample counts: the line learns to output 2 at x = 1.
    /// let mut net = Line::new(0);
    /// Fit::<2>::epochs(200)
    ///     .sample_weight(vec![0.0, 1.0])
    ///     .verbose(Verbose::Silent)
    ///     .run(&mut net, Mse, &mut Trainer::new(Sgd::new(0.5)), &data, None)?;
    /// assert!((net.forward(&[1.0])[0] - 2.0).abs() < 1e-3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sample_weight(mut self, weights: impl Into<Vec<f32>>) -> Self {
        self.sample_weight = Some(weights.into());
        self
    }

    /// Weighs each sample by the weight of its class, as Keras' `class_weight` (a dict
    /// `{class: weight}`): pairs `(class, weight)`, classes not listed weigh 1. The class of a
    /// sample is its label, or [`Target::class`] of a float target (arg-max of one-hot, 0/1 of a
    /// single value). Then as [`sample_weight`](Fit::sample_weight), which cannot be given too (as
    /// in Keras); unlike sample weights, class weights are for training only (the validation loss
    /// is not weighted, as in Keras). A class the network cannot output, a class listed twice, or a negative or
    /// non-finite weight is a [`FitError`] when training starts.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::data::Dataset;
    /// use constnet::train::{Fit, FitError, Verbose};
    /// network! { struct Pick { Dense<2, 2, Softmax> } }
    /// let data = Dataset::new(vec![[1.0, 0.0], [0.0, 1.0]], vec![0, 1], 2)?;
    /// let fit = Fit::<2>::epochs(1).verbose(Verbose::Silent);
    /// let mut trainer = Trainer::new(Adam::default());
    /// // The rare class 1 counts five times.
    /// fit.clone().class_weight([(1, 5.0)])
    ///     .run(&mut Pick::new(0), SparseCategoricalCrossEntropy, &mut trainer, &data, None)?;
    /// let err = fit.class_weight([(2, 1.0)])
    ///     .run(&mut Pick::new(0), SparseCategoricalCrossEntropy, &mut trainer, &data, None)
    ///     .unwrap_err();
    /// assert_eq!(err, FitError::ClassWeightOutOfRange { class: 2, classes: 2 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn class_weight(mut self, weights: impl IntoIterator<Item = (usize, f32)>) -> Self {
        self.class_weight = Some(weights.into_iter().collect());
        self
    }

    /// The weight of every training sample, from [`sample_weight`](Fit::sample_weight) or
    /// [`class_weight`](Fit::class_weight), checked; `None` without weights.
    fn weights<const IN: usize, const OUT: usize, T: Target>(
        &self,
        train: &Dataset<IN, T>,
    ) -> Result<Option<Vec<f32>>, FitError> {
        match (&self.sample_weight, &self.class_weight) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(FitError::BothWeights),
            (Some(w), None) => {
                if w.len() != train.len() {
                    return Err(FitError::SampleWeightLength {
                        weights: w.len(),
                        samples: train.len(),
                    });
                }
                if let Some(index) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(FitError::InvalidSampleWeight {
                        index,
                        value: w[index],
                    });
                }
                Ok(Some(w.clone()))
            }
            (None, Some(pairs)) => {
                let classes = if OUT == 1 { 2 } else { OUT };
                let mut per_class = vec![1.0f32; classes];
                let mut seen = vec![false; classes];
                for &(class, weight) in pairs {
                    if class >= classes {
                        return Err(FitError::ClassWeightOutOfRange { class, classes });
                    }
                    if !(weight.is_finite() && weight >= 0.0) {
                        return Err(FitError::InvalidClassWeight {
                            class,
                            value: weight,
                        });
                    }
                    if std::mem::replace(&mut seen[class], true) {
                        return Err(FitError::DuplicateClassWeight { class });
                    }
                    per_class[class] = weight;
                }
                // Classes are checked against the outputs before this (`check_classes`).
                let weights = train
                    .targets()
                    .iter()
                    .map(|t| per_class.get(t.class()).copied().unwrap_or(1.0))
                    .collect();
                Ok(Some(weights))
            }
        }
    }

    /// Holds out the last `fraction` of the training data for validation (before any shuffling:
    /// the held-out samples are the same in every epoch and every run), as Keras'
    /// `validation_split`: training uses the first `⌊len · (1 − fraction)⌋` samples (see
    /// [`Dataset::split_fraction`]). Validation data passed to [`run`](Fit::run) takes precedence,
    /// as in Keras. A fraction that leaves either part empty is a
    /// [`FitError::ValidationSplit`].
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::data::Dataset;
    /// use constnet::train::{evaluate, Fit, Verbose};
    /// network! { struct Line { Dense<1, 1> } }
    /// let x: Vec<[f32; 1]> = (0..10).map(|i| [i as f32 / 10.0]).collect();
    /// let t: Vec<[f32; 1]> = x.iter().map(|&[x]| [2.0 * x + 1.0]).collect();
    /// let data = Dataset::from_vecs(x, t)?;
    /// let mut net = Line::new(0);
    /// let history = Fit::<2>::epochs(3)
    ///     .validation_split(0.2)
    ///     .verbose(Verbose::Silent)
    ///     .run(&mut net, Mse, &mut Trainer::new(Sgd::new(0.1)), &data, None)?;
    /// // Validated on the last two samples, 0.8 and 0.9.
    /// let (_, last_two) = data.split(8);
    /// assert_eq!(history.epochs[2].validation, Some(evaluate(&net, Mse, &last_two)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validation_split(mut self, fraction: f32) -> Self {
        self.validation_split = fraction;
        self
    }

    /// Sets the shuffling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Turns shuffling on or off.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets what is printed.
    pub fn verbose(mut self, verbose: Verbose) -> Self {
        self.verbose = verbose;
        self
    }

    /// Trains `net` on `train` with `trainer` (optimizer, its state, gradients and batch buffers)
    /// and returns the per-epoch history: [`run_with`](Fit::run_with) without callbacks.
    ///
    /// Each epoch runs `⌊len / B⌋` full batches over a fresh shuffle, so the samples left out
    /// change from epoch to epoch (as `drop_remainder` in tf.data). A second `run` with the same
    /// trainer continues where the first stopped, as Keras' second `fit` does: the optimizer state
    /// and step counter are kept, and the shuffles continue the sequence (ten runs of one epoch
    /// train exactly as one run of ten). Only the batch buffer is allocated here, once; the
    /// training steps allocate nothing (with `Verbose::Bar`, the progress bar's messages do).
    ///
    /// The data's targets are labels or float vectors ([`Dataset`]); the loss's target is built
    /// from them ([`FromTarget`]). Training accuracy compares [`class_of`] of the outputs with the
    /// target's class ([`Target::class`]); for a regression it means little.
    ///
    /// A NaN or infinite loss stops training at that batch ([`FitError::NonFiniteLoss`]), and a
    /// NaN or infinite weight at the end of the epoch ([`FitError::NonFiniteWeights`]), as Keras'
    /// `TerminateOnNaN`; the errors carry the history so far. A [`Dataset`] may hold non-finite
    /// features (the file loaders refuse them): training on one reports it this way.
    pub fn run<N, L, O, S, T, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, S>,
        train: &Dataset<IN, T>,
        validation: Option<&Dataset<IN, T>>,
    ) -> Result<History, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<T>,
        O: Optimizer<N>,
        S: Schedule,
        T: Target,
    {
        self.run_with(net, loss, trainer, train, validation, &mut [])
    }

    /// [`run`](Fit::run) with [`Callback`]s, called in order at the start and end of training and
    /// of every epoch ([`EarlyStopping`], [`LearningRateScheduler`], [`ReduceLROnPlateau`], or
    /// your own). Training stops after an epoch at which one of them calls
    /// [`Control::stop_training`]; the history ends with that epoch.
    pub fn run_with<N, L, O, S, T, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, S>,
        train: &Dataset<IN, T>,
        validation: Option<&Dataset<IN, T>>,
        callbacks: &mut [&mut dyn Callback<N>],
    ) -> Result<History, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<T>,
        O: Optimizer<N>,
        S: Schedule,
        T: Target,
    {
        check_outputs::<L, OUT>()?;
        check_classes::<IN, OUT, T>(train)?;
        if let Some(v) = validation {
            check_classes::<IN, OUT, T>(v)?;
        }
        let weights = self.weights::<IN, OUT, T>(train)?;
        // Training uses the first `samples`; validation the given data or the held-out rest.
        let (samples, validation) = match validation {
            Some(v) => (train.len(), Some((v.features(), v.targets(), None))),
            None if self.validation_split != 0.0 => {
                let at = split_point(train.len(), self.validation_split);
                if at == 0 || at == train.len() {
                    return Err(FitError::ValidationSplit {
                        fraction: self.validation_split,
                        samples: train.len(),
                    });
                }
                // As Keras: the held-out samples keep their sample weights (checked above to be
                // one per sample), not the class weights, which are for training only.
                let held_out = (
                    &train.features()[at..],
                    &train.targets()[at..],
                    self.sample_weight.as_deref().map(|w| &w[at..]),
                );
                (at, Some(held_out))
            }
            None => (train.len(), None),
        };
        if samples < B || B == 0 {
            return Err(FitError::TooFewSamples { samples, batch: B });
        }
        // A trainer made in const evaluation reads its base rate now, before callbacks see it.
        trainer.prepare();
        notify(callbacks, net, trainer, |c, ctl| c.on_train_begin(ctl));
        let result = self.epochs_loop(
            net,
            loss,
            trainer,
            (train, weights.as_deref()),
            samples,
            validation,
            callbacks,
        );
        notify(callbacks, net, trainer, |c, ctl| c.on_train_end(ctl));
        result
    }

    /// The epochs of [`run_with`](Fit::run_with), on the first `samples` of `train`.
    #[allow(clippy::too_many_arguments)]
    fn epochs_loop<N, L, O, S, T, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, S>,
        (train, weights): (&Dataset<IN, T>, Option<&[f32]>),
        samples: usize,
        validation: Option<Samples<'_, IN, T>>,
        callbacks: &mut [&mut dyn Callback<N>],
    ) -> Result<History, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<T>,
        O: Optimizer<N>,
        S: Schedule,
        T: Target,
    {
        let mut x: Box<[[f32; IN]; B]> = vec![[0.0f32; IN]; B]
            .into_boxed_slice()
            .try_into()
            .expect("the vector has B rows");
        let mut order: Vec<usize> = (0..samples).collect();
        let mut rng = Rng::new(self.seed);
        if self.shuffle {
            // Continue the shuffle sequence of earlier runs with this trainer.
            for _ in 0..trainer.epochs {
                rng.shuffle(&mut order);
            }
        }
        let batches = samples / B;
        let (show_bar, lines) = self.verbose.shows(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        let mut history = History::default();

        for epoch in 0..self.epochs {
            let start = Instant::now();
            let absolute = trainer.epochs;
            notify(callbacks, net, trainer, |c, ctl| {
                c.on_epoch_begin(absolute, ctl)
            });
            if self.shuffle {
                rng.shuffle(&mut order);
            }
            let bar = if show_bar {
                Some(self.progress_bar(epoch, batches))
            } else {
                None
            };
            let (mut loss_sum, mut hits) = (0.0f64, 0usize);
            for (b, batch) in order.chunks_exact(B).enumerate() {
                gather(train.features(), batch, &mut x[..]);
                let target = |j: usize| L::Target::from_target(&train.targets()[batch[j]]);
                let batch_loss = match weights {
                    None => trainer.step(net, loss, &x, &core::array::from_fn(target)),
                    Some(w) => {
                        let weighted: [WeightedTarget<L::Target>; B] =
                            core::array::from_fn(|j| WeightedTarget {
                                target: target(j),
                                weight: w[batch[j]],
                            });
                        trainer.step(net, Weighted(loss), &x, &weighted)
                    }
                };
                if !batch_loss.is_finite() {
                    if let Some(bar) = bar {
                        bar.abandon();
                    }
                    return Err(FitError::NonFiniteLoss {
                        epoch: epoch + 1,
                        batch: b + 1,
                        loss: batch_loss,
                        history,
                    });
                }
                loss_sum += f64::from(batch_loss);
                hits += trainer
                    .outputs()
                    .iter()
                    .zip(batch)
                    .filter(|(y, &i)| class_of(y) == train.targets()[i].class())
                    .count();
                if let Some(bar) = &bar {
                    bar.set_position(b as u64 + 1);
                    if b % 16 == 0 {
                        bar.set_message(format!(
                            "loss {:.4}  accuracy {:.4}",
                            loss_sum / (b + 1) as f64,
                            hits as f64 / ((b + 1) * B) as f64
                        ));
                    }
                }
            }
            trainer.epochs += 1;
            let validation = validation.map(|(x, t, w)| evaluate_unchecked(&*net, loss, x, t, w));
            let result = Epoch {
                loss: (loss_sum / batches as f64) as f32,
                accuracy: hits as f32 / (batches * B) as f32,
                validation,
                duration: start.elapsed(),
            };
            if let Some(bar) = bar {
                bar.finish_with_message(describe(&result));
            }
            if lines {
                std::println!("epoch {}/{}  {}", epoch + 1, self.epochs, describe(&result));
            }
            history.epochs.push(result);
            // A loss can stay finite while a weight is not (a dead unit's NaN never reaches it).
            if let Some(index) = net.as_slice().iter().position(|v| !v.is_finite()) {
                return Err(FitError::NonFiniteWeights {
                    epoch: epoch + 1,
                    index,
                    value: net.as_slice()[index],
                    history,
                });
            }
            let logs = history.epochs.last().expect("pushed above");
            if notify(callbacks, net, trainer, |c, ctl| {
                c.on_epoch_end(absolute, logs, ctl)
            }) {
                break;
            }
        }
        Ok(history)
    }

    fn progress_bar(&self, epoch: usize, batches: usize) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, self.epochs));
        bar
    }
}

/// Features, targets and (optionally) sample weights of a validation set.
type Samples<'a, const IN: usize, T> = (&'a [[f32; IN]], &'a [T], Option<&'a [f32]>);

/// `x[j] = rows[batch[j]]`: the shuffled rows of a batch. On x86-64 each row's copy first asks
/// for the row two ahead (`prefetcht0` over its cache lines): the rows lie scattered over the
/// dataset (25 MB in the MNIST job, beyond L2), and alone the copy ran 25 % faster so.
#[inline]
fn gather<const IN: usize>(rows: &[[f32; IN]], batch: &[usize], x: &mut [[f32; IN]]) {
    for (j, (row, &i)) in x.iter_mut().zip(batch).enumerate() {
        #[cfg(target_arch = "x86_64")]
        if let Some(&ahead) = batch.get(j + 2) {
            let p = rows[ahead].as_ptr().cast::<i8>();
            for line in (0..IN * 4).step_by(64) {
                // SAFETY: SSE is part of x86-64; a prefetch only hints the cache and never faults,
                // and `line < IN · 4` keeps the address inside the row anyway.
                unsafe {
                    core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                        p.add(line),
                    )
                }
            }
        }
        *row = rows[i];
    }
}

/// Calls `f` on every callback with one [`Control`]; returns whether one asked to stop.
fn notify<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    callbacks: &mut [&mut dyn Callback<N>],
    net: &mut N,
    trainer: &mut dyn TrainerAccess,
    mut f: impl FnMut(&mut dyn Callback<N>, &mut Control<'_, N>),
) -> bool {
    if callbacks.is_empty() {
        return false;
    }
    let mut ctl = Control::new(net, trainer).with_summary(N::summary());
    for callback in callbacks.iter_mut() {
        f(&mut **callback, &mut ctl);
    }
    ctl.stopping()
}

fn describe(e: &Epoch) -> String {
    // Milliseconds, so that an epoch that slows down late in training is visible.
    let mut s = format!(
        "loss {:.4}  accuracy {:.4}  ({:.1} ms)",
        e.loss,
        e.accuracy,
        e.duration.as_secs_f64() * 1e3
    );
    if let Some(v) = e.validation {
        s += &format!("  val_loss {:.4}  val_accuracy {:.4}", v.loss, v.accuracy);
    }
    s
}

fn check_outputs<L: Loss<OUT>, const OUT: usize>() -> Result<(), FitError> {
    if OUT < L::MIN_OUTPUTS {
        return Err(FitError::TooFewOutputs {
            loss: core::any::type_name::<L>()
                .rsplit("::")
                .next()
                .unwrap_or("the loss"),
            needed: L::MIN_OUTPUTS,
            outputs: OUT,
        });
    }
    Ok(())
}

fn check_classes<const IN: usize, const OUT: usize, T: Target>(
    data: &Dataset<IN, T>,
) -> Result<(), FitError> {
    // A single output holds a binary label itself (0 or 1); float targets have no classes (their
    // width is checked by the type system).
    let capacity = if OUT == 1 { 2 } else { OUT };
    if data.classes() > capacity {
        return Err(FitError::TooManyClasses {
            classes: data.classes(),
            outputs: OUT,
        });
    }
    Ok(())
}

/// Mean loss and accuracy of `net` on `data`, as Keras' `evaluate`. Forward passes only, in
/// batches of 64 and then one by one; allocates nothing.
///
/// Fails as [`Fit::run`] does if the data has more classes than the network has outputs, or the
/// loss needs more outputs than it has.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::{data::Dataset, train::evaluate};
/// network! { struct Pick { Dense<2, 2, Softmax> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
/// let data = Dataset::new(vec![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], vec![0, 1, 1], 2)?;
/// let e = evaluate(&net, SparseCategoricalCrossEntropy, &data)?;
/// assert!((e.accuracy - 2.0 / 3.0).abs() < 1e-6);
/// // Labels 0..12 cannot be scored by two outputs:
/// let wide = Dataset::new(vec![[1.0, 0.0]], vec![11], 12)?;
/// assert!(evaluate(&net, SparseCategoricalCrossEntropy, &wide).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate<N, L, T, const IN: usize, const OUT: usize>(
    net: &N,
    loss: L,
    data: &Dataset<IN, T>,
) -> Result<Evaluation, FitError>
where
    N: Network<IN, OUT>,
    L: Loss<OUT>,
    L::Target: FromTarget<T>,
    T: Target,
{
    check_outputs::<L, OUT>()?;
    check_classes::<IN, OUT, T>(data)?;
    Ok(evaluate_unchecked(
        net,
        loss,
        data.features(),
        data.targets(),
        None,
    ))
}

/// [`evaluate`] on samples whose classes have been checked.
fn evaluate_unchecked<N, L, T, const IN: usize, const OUT: usize>(
    net: &N,
    loss: L,
    features: &[[f32; IN]],
    targets: &[T],
    weights: Option<&[f32]>,
) -> Evaluation
where
    N: Network<IN, OUT>,
    L: Loss<OUT>,
    L::Target: FromTarget<T>,
    T: Target,
{
    let _ = loss;
    let (mut loss_sum, mut hits) = (0.0f64, 0usize);
    for_outputs(net, features, |i, y| {
        let t = &targets[i];
        let l = L::loss(y, &L::Target::from_target(t));
        // Weighted as in training: w·l summed, divided by the number of samples.
        loss_sum += f64::from(weights.map_or(l, |w| w[i] * l));
        hits += usize::from(class_of(y) == t.class());
    });
    let n = features.len().max(1) as f64;
    Evaluation {
        loss: (loss_sum / n) as f32,
        accuracy: (hits as f64 / n) as f32,
    }
}

/// Calls `f(i, outputs)` for every sample `i` of `x`, in order, with batched forward passes whose
/// activations stay on the stack: big batches for small networks, small ones for wide
/// convolutions (≤ 256 KB of activations either way). Allocates nothing.
fn for_outputs<N, const IN: usize, const OUT: usize>(
    net: &N,
    x: &[[f32; IN]],
    f: impl FnMut(usize, &[f32; OUT]),
) where
    N: Network<IN, OUT>,
{
    const STACK: usize = 256 * 1024;
    // `const` conditions: only the batch size taken is compiled for the network.
    if const { N::INFERENCE_BYTES * 64 <= STACK } {
        for_outputs_in::<N, IN, OUT, 64>(net, x, f);
    } else if const { N::INFERENCE_BYTES * 8 <= STACK } {
        for_outputs_in::<N, IN, OUT, 8>(net, x, f);
    } else {
        for_outputs_in::<N, IN, OUT, 1>(net, x, f);
    }
}

/// [`for_outputs`] in batches of `C`, then one by one.
fn for_outputs_in<N, const IN: usize, const OUT: usize, const C: usize>(
    net: &N,
    x: &[[f32; IN]],
    mut f: impl FnMut(usize, &[f32; OUT]),
) where
    N: Network<IN, OUT>,
{
    let mut y = [[0.0f32; OUT]; C];
    let (chunks, rest) = x.as_chunks::<C>();
    for (k, x) in chunks.iter().enumerate() {
        net.forward_batch(x, &mut y);
        for (j, y) in y.iter().enumerate() {
            f(k * C + j, y);
        }
    }
    let done = chunks.len() * C;
    for (j, x) in rest.iter().enumerate() {
        f(done + j, &net.forward(x));
    }
}

/// The predicted class of every sample ([`class_of`]), as Keras' `predict`
/// followed by arg-max (or a 0.5 threshold for one output): the classes of
/// [`predict_outputs`], so they agree with [`evaluate`]'s accuracy.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Pick { Dense<2, 2> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
/// assert_eq!(constnet::train::predict_all(&net, &[[3.0, 1.0], [0.0, 2.0]]), vec![0, 1]);
/// ```
pub fn predict_all<N, const IN: usize, const OUT: usize>(net: &N, x: &[[f32; IN]]) -> Vec<usize>
where
    N: Network<IN, OUT>,
{
    let mut classes = Vec::with_capacity(x.len());
    for_outputs(net, x, |_, y| classes.push(class_of(y)));
    classes
}

/// The network's outputs for every sample — the probabilities of a softmax or sigmoid output, the
/// values of a regression — as Keras' `predict`. Batched forward passes as in [`evaluate`]; only
/// the returned vector is allocated.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::predict_outputs;
/// network! { struct Pick { Dense<2, 2, Softmax> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
/// let p = predict_outputs(&net, &[[0.0, 0.0], [2.0, 0.0]]);
/// assert_eq!(p[0], [0.5, 0.5]);
/// assert!(p[1][0] > 0.8 && (p[1][0] + p[1][1] - 1.0).abs() < 1e-6);
/// ```
pub fn predict_outputs<N, const IN: usize, const OUT: usize>(
    net: &N,
    x: &[[f32; IN]],
) -> Vec<[f32; OUT]>
where
    N: Network<IN, OUT>,
{
    let mut outputs = Vec::with_capacity(x.len());
    for_outputs(net, x, |_, y| outputs.push(*y));
    outputs
}
