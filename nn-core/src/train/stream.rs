//! Training, scoring and predicting from a [`Source`]: the data is read on a background thread,
//! a bounded queue of chunks ahead of the training, and shuffled through a bounded buffer, as
//! tf.data does; memory does not grow with the data.

use std::io::{IsTerminal, Write};
use std::prelude::rust_2021::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    check_outputs, describe, for_outputs, notify, Callback, Epoch, Evaluation, Fit, FitError,
    History,
};
use crate::data::{ByteProgress, Source, Target};
use crate::loss::FromTarget;
use crate::optim::Schedule;
use crate::{class_of, Loss, Network, Optimizer, Rng, Train, Trainer};

/// Rows per chunk handed from the reading thread to the training: big enough that the channel
/// costs nothing per row, small enough that the queue stays a few hundred kilobytes.
const CHUNK: usize = 1024;
/// Chunks ready ahead of the training at most.
const DEPTH: usize = 4;

/// An error of a source or of a prediction writer, boxed so that [`FitError`] need not be
/// generic; [`downcast_ref`](StreamError::downcast_ref) gets the source's own type back (a
/// [`DataError`](crate::data::DataError) for the file sources). Two are equal when their messages
/// are.
///
/// ```
/// use nn_core::train::StreamError;
/// let e = StreamError::new(std::io::Error::other("disk gone"));
/// assert_eq!(e.to_string(), "disk gone");
/// assert!(e.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Debug)]
pub struct StreamError(Box<dyn std::error::Error + Send + Sync>);

impl StreamError {
    /// Boxes `error`.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StreamError(Box::new(error))
    }

    /// The error as its own type, if it is a `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for StreamError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// What one streamed epoch read, besides [`Epoch`]'s loss and accuracy.
///
/// ```
/// use std::time::Duration;
/// use nn_core::train::EpochData;
/// let d = EpochData { rows: 1000, trained: 992, skipped: 3, waited: Duration::from_millis(5) };
/// assert_eq!(d.rows - d.trained, 8); // the last partial batch is dropped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EpochData {
    /// Rows read from the training source.
    pub rows: u64,
    /// Rows trained on: whole batches (the last partial batch is dropped, as in-memory `Fit`).
    pub trained: u64,
    /// Invalid rows the source skipped ([`Source::skipped`]).
    pub skipped: u64,
    /// Time the training waited for the reading thread (an I/O or parsing bottleneck when it is
    /// a large part of the epoch).
    pub waited: Duration,
}

/// What [`Fit::run_stream`] returns: the [`History`], as from in-memory training, and per epoch
/// what was read.
///
/// ```
/// let h = nn_core::train::StreamHistory::default();
/// assert!(h.history.epochs.is_empty() && h.data.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamHistory {
    /// Loss, accuracy, validation and time per epoch.
    pub history: History,
    /// Rows, skipped rows and waiting time per epoch.
    pub data: Vec<EpochData>,
}

/// Progress of a pass, as the reading thread saw it after a chunk.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    bytes: Option<ByteProgress>,
    skipped: u64,
}

struct Chunk<const N: usize, T> {
    x: Vec<[f32; N]>,
    t: Vec<T>,
    n: usize,
    progress: Progress,
}

/// Why a pass over a source stopped early.
enum PassError<E> {
    Source(E),
    Stop(FitError),
}

impl<E: std::error::Error + Send + Sync + 'static> PassError<E> {
    /// The error of a pass outside training (scoring, evaluating, predicting): no epoch, no
    /// history.
    fn outside_training(self) -> FitError {
        match self {
            PassError::Stop(e) => e,
            PassError::Source(e) => FitError::Data {
                epoch: 0,
                error: StreamError::new(e),
                history: History::default(),
            },
        }
    }
}

/// Reads one pass of `source` (rewound first) on a background thread and hands each chunk of
/// rows, in order, to `f`; returns the time spent waiting for chunks and the skipped count.
/// `f` returning an error ends the pass (the thread stops at its next chunk).
fn pass<S, const N: usize>(
    source: &mut S,
    mut f: impl FnMut(&[[f32; N]], &[S::Target], &Progress) -> Result<(), FitError>,
) -> Result<(Duration, u64), PassError<S::Error>>
where
    S: Source<N> + Send,
    S::Target: Send,
{
    source.rewind().map_err(PassError::Source)?;
    let (ready, receive) = mpsc::sync_channel::<Result<Chunk<N, S::Target>, S::Error>>(DEPTH);
    let (recycle, reuse) = mpsc::channel::<Chunk<N, S::Target>>();
    std::thread::scope(|scope| {
        // Owned by this closure: dropped when it returns, also early, so that a reading thread
        // blocked on a full queue wakes up (its send fails) and the scope can join it.
        let receive = receive;
        scope.spawn(move || loop {
            let mut chunk = reuse.try_recv().unwrap_or_else(|_| Chunk {
                x: vec![[0.0; N]; CHUNK],
                t: vec![S::Target::empty(); CHUNK],
                n: 0,
                progress: Progress::default(),
            });
            let result = source.read(&mut chunk.x, &mut chunk.t).map(|n| {
                chunk.n = n;
                chunk.progress = Progress {
                    bytes: source.bytes_hint(),
                    skipped: source.skipped(),
                };
                chunk
            });
            let last = !matches!(&result, Ok(c) if c.n > 0);
            // A closed channel: the training stopped; so does the reading.
            if ready.send(result).is_err() || last {
                break;
            }
        });
        let mut waited = Duration::ZERO;
        let mut skipped = 0;
        loop {
            let start = Instant::now();
            let message = receive.recv();
            waited += start.elapsed();
            match message {
                Ok(Ok(chunk)) if chunk.n == 0 => {
                    skipped = chunk.progress.skipped;
                    break;
                }
                Ok(Ok(chunk)) => {
                    f(&chunk.x[..chunk.n], &chunk.t[..chunk.n], &chunk.progress)
                        .map_err(PassError::Stop)?;
                    let _ = recycle.send(chunk);
                }
                Ok(Err(e)) => return Err(PassError::Source(e)),
                // The reading thread panicked (a source's bug): the scope re-raises it.
                Err(_) => break,
            }
        }
        Ok((waited, skipped))
    })
}

/// The classes a single output or `OUT` outputs can hold, as in-memory `Fit` checks them.
fn check_targets<T: Target, const OUT: usize>(targets: &[T]) -> Result<(), FitError> {
    let capacity = if OUT == 1 { 2 } else { OUT };
    let classes = T::classes(targets);
    if classes > capacity {
        return Err(FitError::TooManyClasses {
            classes,
            outputs: OUT,
        });
    }
    Ok(())
}

/// tf.data's shuffle buffer, with in-memory `Fit`'s permutation when the data fits in it.
///
/// Rows fill the buffer; once it is full, each new row takes the place of a random one, which is
/// emitted. At the end of a pass the buffer is emitted in a random order. When the whole pass fit
/// in the buffer, that order is exactly the permutation in-memory [`Fit::run`] uses for this
/// epoch (same seed, same RNG calls), so training is bit-identical.
struct Shuffler<const N: usize, T> {
    capacity: usize,
    x: Vec<[f32; N]>,
    t: Vec<T>,
    rng: Rng,
    /// In-memory `Fit`'s running permutation (it is shuffled again each epoch, not redrawn).
    order: Vec<usize>,
    /// Trainer epochs before this run: in-memory `Fit` shuffles that often before its first
    /// epoch, to continue an earlier run's sequence.
    warmup: u64,
    overflowed: bool,
}

impl<const N: usize, T: Clone> Shuffler<N, T> {
    fn push<E>(
        &mut self,
        x: &[f32; N],
        t: &T,
        emit: &mut impl FnMut(&[f32; N], &T) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.x.len() < self.capacity {
            self.x.push(*x);
            self.t.push(t.clone());
            return Ok(());
        }
        self.overflowed = true;
        let j = self.rng.below(self.capacity);
        emit(&self.x[j], &self.t[j])?;
        self.x[j] = *x;
        self.t[j] = t.clone();
        Ok(())
    }

    /// Emits the rest of the pass and empties the buffer.
    fn finish<E>(
        &mut self,
        emit: &mut impl FnMut(&[f32; N], &T) -> Result<(), E>,
    ) -> Result<(), E> {
        let len = self.x.len();
        if self.overflowed {
            let mut rest: Vec<usize> = (0..len).collect();
            self.rng.shuffle(&mut rest);
            self.order = rest;
        } else {
            if self.order.len() != len {
                // The first pass (or the file changed size): in-memory `Fit` starts here.
                self.order = (0..len).collect();
                for _ in 0..self.warmup {
                    self.rng.shuffle(&mut self.order);
                }
            }
            self.rng.shuffle(&mut self.order);
        }
        let result = self
            .order
            .iter()
            .try_for_each(|&i| emit(&self.x[i], &self.t[i]));
        if self.overflowed {
            self.order.clear();
        }
        self.overflowed = false;
        self.x.clear();
        self.t.clear();
        result
    }
}

impl<const B: usize> Fit<B> {
    /// Sets the shuffle buffer of [`run_stream`](Fit::run_stream), in rows (see
    /// [`shuffle_buffer`](Fit::shuffle_buffer)).
    ///
    /// ```
    /// use nn_core::train::Fit;
    /// assert_eq!(Fit::<32>::epochs(1).shuffle_buffer(1000).shuffle_buffer, 1000);
    /// assert_eq!(Fit::<32>::epochs(1).shuffle_buffer, 100_000); // the default
    /// ```
    pub fn shuffle_buffer(mut self, rows: usize) -> Self {
        self.shuffle_buffer = rows.max(1);
        self
    }

    /// Trains `net` on a streamed [`Source`] (a CSV file, an IDX file, a data set's
    /// [`source`](crate::data::Dataset::source), …) at constant memory:
    /// [`run_stream_with`](Fit::run_stream_with) without callbacks.
    pub fn run_stream<N, L, O, Sc, S, V, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, Sc>,
        train: &mut S,
        validation: Option<&mut V>,
    ) -> Result<StreamHistory, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<S::Target>,
        O: Optimizer<N>,
        Sc: Schedule,
        S: Source<IN> + Send,
        S::Target: Send,
        V: Source<IN, Target = S::Target> + Send,
    {
        self.run_stream_with(net, loss, trainer, train, validation, &mut [])
    }

    /// Trains `net` from a [`Source`] as [`run_with`](Fit::run_with) trains from a
    /// [`Dataset`](crate::data::Dataset), with the same callbacks and [`History`]:
    ///
    /// - **Passes**: every epoch [`rewind`](Source::rewind)s the source and reads it to its end
    ///   on a background thread, which parses a few chunks of rows ahead (a bounded queue), so
    ///   training waits for data only when parsing is slower than training; the time it waited
    ///   is in [`EpochData::waited`].
    /// - **Shuffling** (if [`shuffle`](Fit::shuffle)): through a buffer of
    ///   [`shuffle_buffer`](Fit::shuffle_buffer) rows (default 100,000), as tf.data's
    ///   `shuffle(buffer_size)`: once it is full each new row replaces a random one, which is
    ///   trained on. A buffer as large as the data holds all of it, and then the order is in-memory
    ///   [`run`](Fit::run)'s: **with the same seed and trainer, the weights are bit-identical**.
    /// - **Batches**: as in memory, whole batches of `B`; the last partial batch is dropped.
    /// - **Validation**: a second source, scored after every epoch (as [`evaluate_stream`]) and
    ///   read the same way, so neither part is loaded: a separate file or stream (any
    ///   [`Source`] with the same target type: another CSV, Parquet or Arrow file), or the last
    ///   rows of the training file held out by position with [`Rows`](crate::data::Rows) (`take`
    ///   for training, `skip` on a second handle for the held-out rest;
    ///   [`split_last`](crate::data::split_last) does both).
    ///   [`validation_split`](Fit::validation_split) is refused
    ///   ([`FitError::StreamValidationSplit`]): in memory it holds out a fraction of the rows,
    ///   which needs the row count before training, and a CSV file knows it only after a pass.
    /// - **Weights**: [`sample_weight`](Fit::sample_weight) and
    ///   [`class_weight`](Fit::class_weight) are refused ([`FitError::StreamWeights`]): sample
    ///   weights are given per row of an in-memory data set, by index, which a stream does not
    ///   have; class weights are not applied to streams (yet).
    /// - **Per-epoch reading figures**: in the returned [`StreamHistory::data`], and for
    ///   callbacks in [`Callback::on_stream_epoch_end`].
    /// - **Errors**: a source's error (a bad row, a broken file) stops training with
    ///   [`FitError::Data`], which carries the epochs completed before; the network then holds a
    ///   partly trained epoch, so it must not be saved as a result. A label the network cannot
    ///   output is [`FitError::TooManyClasses`] when it is read. Fewer rows than a batch is
    ///   [`FitError::TooFewSamples`].
    /// - **Progress**: the bar counts rows against [`Source::rows_hint`] when the source knows
    ///   it, and otherwise bytes against [`Source::bytes_hint`] (CSV), with rows/s and an ETA.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::data::Dataset;
    /// use constnet::train::{Fit, Verbose};
    ///
    /// network! { struct Xor { Dense<2, 8, Tanh>, Dense<8, 2, Softmax> } }
    /// let data = Dataset::new(vec![[0., 0.], [0., 1.], [1., 0.], [1., 1.]], vec![0, 1, 1, 0], 2)?;
    /// let fit = Fit::<4>::epochs(300).verbose(Verbose::Silent).seed(5);
    /// let (mut a, mut b) = (Xor::new(3), Xor::new(3));
    /// let streamed = fit.run_stream(
    ///     &mut a, SparseCategoricalCrossEntropy, &mut Trainer::new(Adam::new(0.05)),
    ///     &mut data.source(), None::<&mut constnet::data::DatasetSource<2>>,
    /// )?;
    /// fit.run(&mut b, SparseCategoricalCrossEntropy, &mut Trainer::new(Adam::new(0.05)), &data, None)?;
    /// assert_eq!(a.as_slice(), b.as_slice()); // the buffer (100,000 rows) holds all four
    /// assert_eq!(streamed.data[0].trained, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_stream_with<N, L, O, Sc, S, V, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, Sc>,
        train: &mut S,
        mut validation: Option<&mut V>,
        callbacks: &mut [&mut dyn Callback<N>],
    ) -> Result<StreamHistory, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<S::Target>,
        O: Optimizer<N>,
        Sc: Schedule,
        S: Source<IN> + Send,
        S::Target: Send,
        V: Source<IN, Target = S::Target> + Send,
    {
        check_outputs::<L, OUT>()?;
        if self.validation_split != 0.0 {
            return Err(FitError::StreamValidationSplit);
        }
        if self.sample_weight.is_some() || self.class_weight.is_some() {
            return Err(FitError::StreamWeights);
        }
        if B == 0 {
            return Err(FitError::TooFewSamples {
                samples: 0,
                batch: B,
            });
        }
        trainer.prepare();
        notify(callbacks, net, trainer, |c, ctl| c.on_train_begin(ctl));
        let result = self.stream_epochs(net, loss, trainer, train, &mut validation, callbacks);
        notify(callbacks, net, trainer, |c, ctl| c.on_train_end(ctl));
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn stream_epochs<N, L, O, Sc, S, V, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        loss: L,
        trainer: &mut Trainer<N, O, B, Sc>,
        train: &mut S,
        validation: &mut Option<&mut V>,
        callbacks: &mut [&mut dyn Callback<N>],
    ) -> Result<StreamHistory, FitError>
    where
        N: Train<IN, OUT, B>,
        L: Loss<OUT> + Copy,
        L::Target: FromTarget<S::Target>,
        O: Optimizer<N>,
        Sc: Schedule,
        S: Source<IN> + Send,
        S::Target: Send,
        V: Source<IN, Target = S::Target> + Send,
    {
        let mut x: Box<[[f32; IN]; B]> = vec![[0.0f32; IN]; B]
            .into_boxed_slice()
            .try_into()
            .expect("the vector has B rows");
        let mut t: Vec<S::Target> = vec![S::Target::empty(); B];
        let mut shuffler = Shuffler {
            capacity: self.shuffle_buffer.max(1),
            x: Vec::new(),
            t: Vec::new(),
            rng: Rng::new(self.seed),
            order: Vec::new(),
            warmup: trainer.epochs,
            overflowed: false,
        };
        let (show_bar, lines) = self.verbose.shows(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        let mut out = StreamHistory::default();
        for epoch in 0..self.epochs {
            let start = Instant::now();
            let absolute = trainer.epochs;
            notify(callbacks, net, trainer, |c, ctl| {
                c.on_epoch_begin(absolute, ctl)
            });
            let rows_known = train.rows_hint().is_some();
            let bar = show_bar.then(|| self.stream_bar(epoch, train.rows_hint()));
            let (mut loss_sum, mut hits, mut batches) = (0.0f64, 0usize, 0usize);
            let (mut rows, mut filled) = (0u64, 0usize);
            let mut failed: Option<FitError> = None;
            // Every row, in training order: a full batch is a training step.
            let mut emit = |row: &[f32; IN], target: &S::Target| -> Result<(), FitError> {
                x[filled] = *row;
                t[filled] = target.clone();
                filled += 1;
                if filled < B {
                    return Ok(());
                }
                filled = 0;
                check_targets::<_, OUT>(&t)?;
                let targets: [L::Target; B] =
                    core::array::from_fn(|j| L::Target::from_target(&t[j]));
                let batch_loss = trainer.step(net, loss, &x, &targets);
                batches += 1;
                if !batch_loss.is_finite() {
                    return Err(FitError::NonFiniteLoss {
                        epoch: epoch + 1,
                        batch: batches,
                        loss: batch_loss,
                        history: History::default(),
                    });
                }
                loss_sum += f64::from(batch_loss);
                hits += trainer
                    .outputs()
                    .iter()
                    .zip(&t)
                    .filter(|(y, t)| class_of(y) == t.class())
                    .count();
                Ok(())
            };
            let read = pass(train, |xs, ts, progress| {
                for (row, target) in xs.iter().zip(ts) {
                    if self.shuffle {
                        shuffler.push(row, target, &mut emit)?;
                    } else {
                        emit(row, target)?;
                    }
                }
                rows += xs.len() as u64;
                if let Some(bar) = &bar {
                    update_bar(bar, rows_known, rows, progress, start);
                }
                Ok(())
            });
            let read = match read {
                Ok(read) => {
                    if self.shuffle {
                        if let Err(e) = shuffler.finish(&mut emit) {
                            failed = Some(e);
                        }
                    }
                    Some(read)
                }
                Err(PassError::Stop(e)) => {
                    failed = Some(e);
                    None
                }
                Err(PassError::Source(e)) => {
                    failed = Some(FitError::Data {
                        epoch: epoch + 1,
                        error: StreamError::new(e),
                        history: History::default(),
                    });
                    None
                }
            };
            if let Some(bar) = &bar {
                if failed.is_some() {
                    bar.abandon();
                }
            }
            // The shuffler's leftovers of a failed pass must not leak into the next run.
            shuffler.x.clear();
            shuffler.t.clear();
            if let Some(mut e) = failed {
                // The error carries the epochs completed before it.
                match &mut e {
                    FitError::NonFiniteLoss { history, .. } | FitError::Data { history, .. } => {
                        *history = out.history.clone();
                    }
                    _ => {}
                }
                return Err(e);
            }
            let (waited, skipped) = read.expect("no error: the pass was read");
            if batches == 0 {
                return Err(FitError::TooFewSamples {
                    samples: usize::try_from(rows).unwrap_or(usize::MAX),
                    batch: B,
                });
            }
            trainer.epochs += 1;
            let validation = match validation.as_deref_mut() {
                Some(v) => Some(
                    evaluate_stream(&*net, loss, v)
                        .map_err(|e| with_history(e, epoch, &out.history))?,
                ),
                None => None,
            };
            let result = Epoch {
                loss: (loss_sum / batches as f64) as f32,
                accuracy: hits as f32 / (batches * B) as f32,
                validation,
                duration: start.elapsed(),
            };
            let data = EpochData {
                rows,
                trained: (batches * B) as u64,
                skipped,
                waited,
            };
            let line = format!(
                "{}  {rows} rows, {:.0} rows/s, waited {:.1} ms for data{}",
                describe(&result),
                rows as f64 / result.duration.as_secs_f64().max(1e-9),
                waited.as_secs_f64() * 1e3,
                if skipped > 0 {
                    format!(", {skipped} invalid rows skipped")
                } else {
                    String::new()
                }
            );
            if let Some(bar) = bar {
                bar.finish_with_message(line.clone());
            }
            if lines {
                std::println!("epoch {}/{}  {line}", epoch + 1, self.epochs);
            }
            out.history.epochs.push(result);
            out.data.push(data);
            if let Some(index) = net.as_slice().iter().position(|v| !v.is_finite()) {
                return Err(FitError::NonFiniteWeights {
                    epoch: epoch + 1,
                    index,
                    value: net.as_slice()[index],
                    history: out.history,
                });
            }
            let logs = out.history.epochs.last().expect("pushed above");
            let stop_after_data = notify(callbacks, net, trainer, |c, ctl| {
                c.on_stream_epoch_end(absolute, &data, ctl)
            });
            if notify(callbacks, net, trainer, |c, ctl| {
                c.on_epoch_end(absolute, logs, ctl)
            }) || stop_after_data
            {
                break;
            }
        }
        Ok(out)
    }

    /// A bar over the rows if the source knows how many, else over the file's bytes.
    fn stream_bar(&self, epoch: usize, rows: Option<u64>) -> ProgressBar {
        let template = match rows {
            // The message says the rows/s (`{per_sec}` would print four decimals of it).
            Some(_) => "epoch {prefix} [{bar:30}] {human_pos}/{human_len} rows ETA {eta} {msg}",
            None => "epoch {prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        };
        let bar = ProgressBar::with_draw_target(rows, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, self.epochs));
        bar
    }
}

fn update_bar(bar: &ProgressBar, rows_known: bool, rows: u64, progress: &Progress, start: Instant) {
    match progress.bytes {
        Some(ByteProgress { read, total }) if !rows_known => {
            if bar.length().is_none() {
                if let Some(total) = total {
                    bar.set_length(total);
                }
            }
            bar.set_position(read);
        }
        _ => bar.set_position(rows),
    }
    bar.set_message(format!(
        "{rows} rows, {:.0} rows/s",
        rows as f64 / start.elapsed().as_secs_f64().max(1e-9)
    ));
}

fn with_history(e: FitError, epoch: usize, done: &History) -> FitError {
    match e {
        FitError::Data { error, .. } => FitError::Data {
            epoch: epoch + 1,
            error,
            history: done.clone(),
        },
        other => other,
    }
}

/// Mean loss and accuracy of `net` over one pass of a [`Source`] (rewound first), as
/// [`evaluate`](super::evaluate) over a data set, at constant memory: rows are read on a
/// background thread and scored in batches as they come. A source's error is
/// [`FitError::Data`] (epoch 0); a label the network cannot output is
/// [`FitError::TooManyClasses`].
///
/// ```
/// use constnet::prelude::*;
/// use constnet::{data::Dataset, train::{evaluate, evaluate_stream}};
/// network! { struct Pick { Dense<2, 2, Softmax> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
/// let data = Dataset::new(vec![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], vec![0, 1, 1], 2)?;
/// let streamed = evaluate_stream(&net, SparseCategoricalCrossEntropy, &mut data.source())?;
/// assert_eq!(streamed, evaluate(&net, SparseCategoricalCrossEntropy, &data)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate_stream<N, L, S, const IN: usize, const OUT: usize>(
    net: &N,
    loss: L,
    source: &mut S,
) -> Result<Evaluation, FitError>
where
    N: Network<IN, OUT>,
    L: Loss<OUT>,
    L::Target: FromTarget<S::Target>,
    S: Source<IN> + Send,
    S::Target: Send,
{
    check_outputs::<L, OUT>()?;
    let _ = loss;
    let (mut loss_sum, mut hits, mut rows) = (0.0f64, 0usize, 0usize);
    pass(source, |xs, ts, _| {
        check_targets::<_, OUT>(ts)?;
        for_outputs(net, xs, |i, y| {
            let t = &ts[i];
            loss_sum += f64::from(L::loss(y, &L::Target::from_target(t)));
            hits += usize::from(class_of(y) == t.class());
        });
        rows += xs.len();
        Ok(())
    })
    .map_err(PassError::outside_training)?;
    let n = rows.max(1) as f64;
    Ok(Evaluation {
        loss: (loss_sum / n) as f32,
        accuracy: (hits as f64 / n) as f32,
    })
}

/// Writes `net`'s outputs for every row of one pass of a [`Source`] (rewound first) to `out`, a
/// line per row, the outputs separated by commas (shortest round-trip decimals: each reads back
/// as the same `f32`), in the source's order; returns the number of rows. Memory stays constant
/// (`out` is written through a buffer, flushed at the end). A source's error is
/// [`FitError::Data`]; a write's is [`FitError::Write`]: what was written before it is a prefix
/// of the predictions, not all of them.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::{data::Dataset, train::predict_stream};
/// network! { struct Pick { Dense<2, 2> } }
/// let net = Pick { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
/// let data = Dataset::from_vecs(vec![[3.0, 1.0], [0.0, 2.5]], vec![0, 1])?;
/// let mut out = Vec::new();
/// assert_eq!(predict_stream(&net, &mut data.source(), &mut out)?, 2);
/// assert_eq!(String::from_utf8(out)?, "3,1\n0,2.5\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn predict_stream<N, S, W, const IN: usize, const OUT: usize>(
    net: &N,
    source: &mut S,
    out: W,
) -> Result<u64, FitError>
where
    N: Network<IN, OUT>,
    S: Source<IN> + Send,
    S::Target: Send,
    W: Write,
{
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let mut rows = 0u64;
    let write_error = |e: std::io::Error| FitError::Write(StreamError::new(e));
    pass(source, |xs, _, _| {
        let mut result = Ok(());
        for_outputs(net, xs, |_, y| {
            if result.is_ok() {
                result = write_row(&mut out, y);
            }
        });
        rows += xs.len() as u64;
        result.map_err(write_error)
    })
    .map_err(PassError::outside_training)?;
    out.flush().map_err(write_error)?;
    Ok(rows)
}

/// Calls `f` with `net`'s outputs and the target of every row of one pass of a [`Source`]
/// (rewound first), in the source's order, and returns the number of rows: the streamed form of
/// [`predict_outputs`](super::predict_outputs) for metrics that need more than
/// [`evaluate_stream`]'s loss and accuracy (collect the scores for a ROC AUC, fill a confusion
/// matrix), keeping only what `f` keeps. Rows are read on a background thread and scored in
/// batches. A source's error is [`FitError::Data`] (epoch 0); rows passed to `f` before it were
/// scored, the rest were not.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::{data::Dataset, metrics::roc_auc, train::score_stream};
/// network! { struct Gate { Dense<1, 1, Sigmoid> } }
/// let net = Gate { l0: Dense::new([[4.0]], [-2.0]) };
/// let data = Dataset::from_vecs(vec![[0.0], [1.0], [0.4], [0.9]], vec![0, 1, 0, 1])?;
/// let (mut scores, mut labels) = (Vec::new(), Vec::new());
/// let rows = score_stream(&net, &mut data.source(), |y, &t| {
///     scores.push(y[0]);
///     labels.push(t);
/// })?;
/// assert_eq!(rows, 4);
/// assert_eq!(roc_auc(&scores, &labels)?, 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_stream<N, S, F, const IN: usize, const OUT: usize>(
    net: &N,
    source: &mut S,
    mut f: F,
) -> Result<u64, FitError>
where
    N: Network<IN, OUT>,
    S: Source<IN> + Send,
    S::Target: Send,
    F: FnMut(&[f32; OUT], &S::Target),
{
    let mut rows = 0u64;
    pass(source, |xs, ts, _| {
        for_outputs(net, xs, |i, y| f(y, &ts[i]));
        rows += xs.len() as u64;
        Ok(())
    })
    .map_err(PassError::outside_training)?;
    Ok(rows)
}

fn write_row<const OUT: usize>(out: &mut impl Write, y: &[f32; OUT]) -> std::io::Result<()> {
    for (i, v) in y.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "{v}")?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar counts rows when the source knows how many, else the file's bytes.
    #[test]
    fn progress_counts_rows_or_bytes() {
        let fit = Fit::<4>::epochs(2);
        let start = Instant::now();
        let bytes = Progress {
            bytes: Some(ByteProgress {
                read: 300,
                total: Some(1000),
            }),
            skipped: 0,
        };
        let rows = fit.stream_bar(0, Some(50));
        rows.set_draw_target(ProgressDrawTarget::hidden());
        update_bar(&rows, true, 20, &bytes, start);
        assert_eq!((rows.length(), rows.position()), (Some(50), 20));
        let file = fit.stream_bar(1, None);
        file.set_draw_target(ProgressDrawTarget::hidden());
        update_bar(&file, false, 20, &bytes, start);
        assert_eq!((file.length(), file.position()), (Some(1000), 300));
        assert!(file.message().starts_with("20 rows, "));
        // Neither known: the rows, without a length.
        let neither = fit.stream_bar(1, None);
        neither.set_draw_target(ProgressDrawTarget::hidden());
        update_bar(&neither, false, 7, &Progress::default(), start);
        assert_eq!((neither.length(), neither.position()), (None, 7));
    }
}
