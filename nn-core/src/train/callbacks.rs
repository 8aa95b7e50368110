//! Callbacks of [`Fit::run_with`](super::Fit::run_with), as Keras': code run at the start and end
//! of training and of every epoch, which can read and change the weights and the learning rate
//! and stop training.
//!
//! Keras' `TerminateOnNaN` is built in and always on: a NaN or infinite loss or weight stops `Fit`
//! with [`FitError::NonFiniteLoss`](super::FitError::NonFiniteLoss) or
//! [`FitError::NonFiniteWeights`](super::FitError::NonFiniteWeights). As after Keras'
//! `TerminateOnNaN`, the callbacks' [`on_train_end`](Callback::on_train_end) still runs, so
//! [`EarlyStopping::restore_best_weights`] puts the best weights back before the error returns.

use std::prelude::rust_2021::*;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::{Epoch, EpochData};
use crate::{Optimizer, Parameters, Summary, TrainBuffers, Trainer};

/// What a callback can see and change of the [`Trainer`], whatever its optimizer, batch size and
/// schedule (so that [`Callback`] stays object-safe).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::TrainerAccess;
/// network! { struct Line { Dense<1, 1> } }
/// let mut trainer = Trainer::<Line, _, 4>::new(Adam::new(0.01));
/// let access: &mut dyn TrainerAccess = &mut trainer;
/// access.set_learning_rate(0.005);
/// assert_eq!((access.learning_rate(), access.steps()), (0.005, 0));
/// # let _ = access;
/// ```
pub trait TrainerAccess {
    /// The learning rate the trainer's schedule starts from ([`Trainer::base_lr`]); with the
    /// default constant schedule, the rate of every step.
    fn learning_rate(&self) -> f32;

    /// Sets the rate of [`learning_rate`](TrainerAccess::learning_rate), from the next step on.
    fn set_learning_rate(&mut self, lr: f32);

    /// Training steps taken with this trainer.
    fn steps(&self) -> u64;

    /// Epochs completed by `Fit` with this trainer, over all runs.
    fn epochs(&self) -> u64;

    /// The optimizer's type name without its path (`Adam`), which checkpoints record.
    fn optimizer_name(&self) -> &'static str;

    /// The optimizer's own step counter ([`Optimizer::iterations`]).
    fn optimizer_iterations(&self) -> u64;

    /// Sets the optimizer's step counter.
    fn set_optimizer_iterations(&mut self, iterations: u64);

    /// Calls `f(name, block)` for every block of the optimizer's state
    /// ([`Optimizer::state_blocks`]); returns whether the optimizer describes its state.
    fn optimizer_state(&self, f: &mut dyn FnMut(&'static str, &[f32])) -> bool;

    /// [`optimizer_state`](TrainerAccess::optimizer_state), mutably.
    fn optimizer_state_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) -> bool;

    /// Sets the step and epoch counters (restoring a checkpoint).
    fn set_counters(&mut self, steps: u64, epochs: u64);

    /// The state of the dropout generator ([`Rng::state`](crate::Rng::state)).
    fn rng_state(&self) -> u64;

    /// Continues the dropout generator from `state`.
    fn set_rng_state(&mut self, state: u64);
}

impl<N, O, const B: usize, S> TrainerAccess for Trainer<N, O, B, S>
where
    N: TrainBuffers<B>,
    O: Optimizer<N>,
{
    fn learning_rate(&self) -> f32 {
        self.base_lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.base_lr = lr;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn epochs(&self) -> u64 {
        self.epochs
    }

    fn optimizer_name(&self) -> &'static str {
        Self::optimizer_type_name()
    }

    fn optimizer_iterations(&self) -> u64 {
        self.optimizer.iterations()
    }

    fn set_optimizer_iterations(&mut self, iterations: u64) {
        self.optimizer.set_iterations(iterations);
    }

    fn optimizer_state(&self, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        self.optimizer.state_blocks(&self.state, f)
    }

    fn optimizer_state_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) -> bool {
        self.optimizer.state_blocks_mut(&mut self.state, f)
    }

    fn set_counters(&mut self, steps: u64, epochs: u64) {
        self.restore_counters(steps, epochs);
    }

    fn rng_state(&self) -> u64 {
        Trainer::rng_state(self)
    }

    fn set_rng_state(&mut self, state: u64) {
        Trainer::set_rng_state(self, state);
    }
}

/// A callback's handle on the training: the network (typed, so a checkpoint can save it in any
/// format), the trainer, and the stop switch.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::Control;
/// network! { struct Line { Dense<1, 1> } }
/// let mut net = Line::new(0);
/// let mut trainer = Trainer::<Line, _, 1>::new(Sgd::new(0.1));
/// let mut ctl = Control::new(&mut net, &mut trainer);
/// ctl.weights_mut()[0] = 2.0;
/// ctl.set_learning_rate(0.05);
/// ctl.stop_training();
/// assert!(ctl.stopping());
/// assert_eq!(ctl.network().forward(&[1.0]), [2.0]);
/// assert_eq!(trainer.base_lr, 0.05);
/// ```
pub struct Control<'a, N> {
    net: &'a mut N,
    trainer: &'a mut dyn TrainerAccess,
    summary: Option<Summary<'static>>,
    stop: bool,
}

impl<'a, N: Parameters> Control<'a, N> {
    /// A handle on `net` and `trainer` (`Fit` makes these; tests of a callback can too).
    pub fn new(net: &'a mut N, trainer: &'a mut dyn TrainerAccess) -> Self {
        Control {
            net,
            trainer,
            summary: None,
            stop: false,
        }
    }

    /// The same handle knowing the network's layers, so that [`checkpoint`](Control::checkpoint)
    /// names tensors by layer (`Fit` does this).
    pub fn with_summary(mut self, summary: Summary<'static>) -> Self {
        self.summary = Some(summary);
        self
    }

    /// The network's weights and the trainer's state as a [`Checkpoint`]: tensors named by layer
    /// when the handle has the network's summary ([`with_summary`](Control::with_summary)), one
    /// `parameters` block otherwise.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::train::Control;
    /// network! { struct Line { out: Dense<1, 1> } }
    /// let (mut net, mut trainer) = (Line::new(0), Trainer::<Line, _, 1>::new(Adam::default()));
    /// let ctl = Control::new(&mut net, &mut trainer).with_summary(Line::summary());
    /// let names: Vec<_> = ctl.checkpoint()?.tensors.into_iter().map(|t| t.name).collect();
    /// assert_eq!(names, ["out.weight", "out.bias", "optimizer.m.out.weight", "optimizer.m.out.bias",
    ///                    "optimizer.v.out.weight", "optimizer.v.out.bias"]);
    /// # Ok::<(), constnet::train::CheckpointError>(())
    /// ```
    pub fn checkpoint(&self) -> Result<Checkpoint, CheckpointError> {
        let unnamed = Summary {
            name: "",
            layers: &[],
        };
        let summary = self.summary.as_ref().unwrap_or(&unnamed);
        Checkpoint::from_parts(summary, self.net.as_slice(), &*self.trainer)
    }

    /// The network.
    pub fn network(&self) -> &N {
        self.net
    }

    /// The network, to change.
    pub fn network_mut(&mut self) -> &mut N {
        self.net
    }

    /// All the network's parameters ([`Parameters::as_slice`]), e.g. to snapshot them.
    pub fn weights(&self) -> &[f32] {
        self.net.as_slice()
    }

    /// All the network's parameters, to change or restore.
    pub fn weights_mut(&mut self) -> &mut [f32] {
        self.net.as_mut_slice()
    }

    /// The trainer.
    pub fn trainer(&self) -> &dyn TrainerAccess {
        self.trainer
    }

    /// The trainer, to change.
    pub fn trainer_mut(&mut self) -> &mut dyn TrainerAccess {
        self.trainer
    }

    /// The learning rate ([`TrainerAccess::learning_rate`]).
    pub fn learning_rate(&self) -> f32 {
        self.trainer.learning_rate()
    }

    /// Sets the learning rate from the next step on.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.trainer.set_learning_rate(lr);
    }

    /// Stops training after this epoch (Keras' `model.stop_training = True`).
    pub fn stop_training(&mut self) {
        self.stop = true;
    }

    /// Whether a callback has asked to stop.
    pub fn stopping(&self) -> bool {
        self.stop
    }
}

/// Code that `Fit` runs during training, as Keras' `Callback`. Every method does nothing by
/// default. `epoch` counts from 0 over all runs with the same trainer (a second `run` continues
/// the count, as its shuffles).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::data::Dataset;
/// use constnet::train::{Callback, Control, Epoch, Fit, Verbose};
/// network! { struct Line { Dense<1, 1> } }
///
/// /// Stops once the loss is below a threshold.
/// struct GoodEnough(f32);
/// impl<N: Parameters> Callback<N> for GoodEnough {
///     fn on_epoch_end(&mut self, _: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
///         if logs.loss < self.0 {
///             ctl.stop_training();
///         }
///     }
/// }
///
/// let x: Vec<[f32; 1]> = (0..8).map(|i| [i as f32 / 8.0]).collect();
/// let data = Dataset::from_vecs(x.clone(), x.iter().map(|&[x]| [1.0 - x]).collect())?;
/// let mut net = Line::new(0);
/// let history = Fit::<4>::epochs(1000).verbose(Verbose::Silent).run_with(
///     &mut net,
///     Mse,
///     &mut Trainer::new(Sgd::new(0.2)),
///     &data,
///     None,
///     &mut [&mut GoodEnough(1e-3)],
/// )?;
/// assert!(history.epochs.len() < 1000 && history.epochs.last().unwrap().loss < 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Callback<N> {
    /// Before the first epoch of a run.
    fn on_train_begin(&mut self, ctl: &mut Control<'_, N>) {
        let _ = ctl;
    }

    /// Before epoch `epoch`.
    fn on_epoch_begin(&mut self, epoch: u64, ctl: &mut Control<'_, N>) {
        let _ = (epoch, ctl);
    }

    /// After epoch `epoch` (its validation included), with its results.
    fn on_epoch_end(&mut self, epoch: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
        let _ = (epoch, logs, ctl);
    }

    /// After the last epoch of a run, however it ended (also before a `FitError` returns).
    fn on_train_end(&mut self, ctl: &mut Control<'_, N>) {
        let _ = ctl;
    }

    /// After a streamed epoch ([`Fit::run_stream_with`](super::Fit::run_stream_with)), with what
    /// it read: rows, rows trained on, skipped rows and the time spent waiting for data. Called
    /// just before [`on_epoch_end`](Callback::on_epoch_end); in-memory training does not call it.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::data::Dataset;
    /// use constnet::train::{Control, EpochData, Fit, Verbose};
    ///
    /// /// Prints the rows and the waiting time of every epoch.
    /// struct Waits(Vec<EpochData>);
    /// impl<N> Callback<N> for Waits {
    ///     fn on_stream_epoch_end(&mut self, _: u64, data: &EpochData, _: &mut Control<'_, N>) {
    ///         self.0.push(*data);
    ///     }
    /// }
    /// network! { struct Line { Dense<1, 1> } }
    /// let data = Dataset::from_vecs(vec![[0.5f32]; 10], vec![[1.0f32]; 10])?;
    /// let mut waits = Waits(Vec::new());
    /// let mut net = Line::new(1);
    /// Fit::<4>::epochs(2).verbose(Verbose::Silent).run_stream_with(
    ///     &mut net, Mse, &mut Trainer::new(Sgd::new(0.1)), &mut data.source(),
    ///     None::<&mut constnet::data::DatasetSource<1, [f32; 1]>>, &mut [&mut waits],
    /// )?;
    /// assert_eq!(waits.0.len(), 2);
    /// assert_eq!((waits.0[1].rows, waits.0[1].trained), (10, 8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_stream_epoch_end(&mut self, epoch: u64, data: &EpochData, ctl: &mut Control<'_, N>) {
        let _ = (epoch, data, ctl);
    }
}

/// The quantity a callback watches, as Keras' `monitor`: smaller is better for the losses, larger
/// for the accuracies (Keras' `mode="auto"`).
///
/// ```
/// use std::time::Duration;
/// use constnet::train::{Epoch, Monitor};
/// let e = Epoch { loss: 0.3, accuracy: 0.9, validation: None, duration: Duration::ZERO };
/// assert_eq!(Monitor::Accuracy.value(&e), Some(0.9));
/// assert_eq!(Monitor::ValLoss.value(&e), None); // no validation data
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    /// `loss`.
    Loss,
    /// `accuracy`.
    Accuracy,
    /// `val_loss` (Keras' default).
    ValLoss,
    /// `val_accuracy`.
    ValAccuracy,
}

impl Monitor {
    /// The value in an epoch's results; `None` for a validation value without validation data.
    pub fn value(self, e: &Epoch) -> Option<f32> {
        match self {
            Monitor::Loss => Some(e.loss),
            Monitor::Accuracy => Some(e.accuracy),
            Monitor::ValLoss => e.validation.map(|v| v.loss),
            Monitor::ValAccuracy => e.validation.map(|v| v.accuracy),
        }
    }

    /// Keras' name of the value.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
        }
    }

    /// Whether `current` beats `best` by more than `min_delta` (≥ 0).
    fn improves(self, current: f32, best: f32, min_delta: f32) -> bool {
        match self {
            Monitor::Loss | Monitor::ValLoss => current + min_delta < best,
            Monitor::Accuracy | Monitor::ValAccuracy => current - min_delta > best,
        }
    }

    /// The value of `e`, warning once (as Keras does) when it is missing.
    pub(super) fn read(self, e: &Epoch, warned: &mut bool, who: &str) -> Option<f32> {
        let value = self.value(e);
        if value.is_none() && !*warned {
            *warned = true;
            std::eprintln!(
                "warning: {who} watches {} but there is no validation data; it does nothing",
                self.name()
            );
        }
        value
    }
}

/// Stops training when the monitored value has not improved for `patience` epochs, as Keras'
/// `EarlyStopping` (defaults: `val_loss`, patience 0, `min_delta` 0, weights of the last epoch
/// kept). With [`restore_best_weights`](EarlyStopping::restore_best_weights), the weights of the
/// best epoch are put back when training ends (also when it ends without stopping early, as in
/// Keras 3).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::data::Dataset;
/// use constnet::train::{EarlyStopping, Fit, Monitor, Verbose};
/// network! { struct Line { Dense<1, 1> } }
/// let x: Vec<[f32; 1]> = (0..16).map(|i| [i as f32 / 16.0]).collect();
/// let data = Dataset::from_vecs(x.clone(), x.iter().map(|&[x]| [2.0 * x]).collect())?;
/// let mut stop = EarlyStopping::new(Monitor::ValLoss)
///     .patience(3)
///     .min_delta(1e-4)
///     .restore_best_weights(true);
/// let history = Fit::<4>::epochs(10_000)
///     .validation_split(0.25)
///     .verbose(Verbose::Silent)
///     .run_with(&mut Line::new(0), Mse, &mut Trainer::new(Sgd::new(0.1)), &data, None, &mut [&mut stop])?;
/// assert!(history.epochs.len() < 10_000);
/// assert_eq!(stop.stopped_epoch(), Some(history.epochs.len() as u64 - 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    min_delta: f32,
    restore_best_weights: bool,
    wait: usize,
    best: Option<f32>,
    best_epoch: Option<u64>,
    best_weights: Option<Vec<f32>>,
    stopped_epoch: Option<u64>,
    warned: bool,
}

impl Default for EarlyStopping {
    /// Keras' defaults: `val_loss`, patience 0.
    fn default() -> Self {
        EarlyStopping::new(Monitor::ValLoss)
    }
}

impl EarlyStopping {
    /// Watches `monitor`, with patience 0 and `min_delta` 0.
    pub fn new(monitor: Monitor) -> Self {
        EarlyStopping {
            monitor,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            wait: 0,
            best: None,
            best_epoch: None,
            best_weights: None,
            stopped_epoch: None,
            warned: false,
        }
    }

    /// Epochs without improvement after which training stops.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The smallest change that counts as an improvement (its absolute value, as Keras).
    pub fn min_delta(mut self, delta: f32) -> Self {
        self.min_delta = delta.abs();
        self
    }

    /// Whether to put back the weights of the best epoch when training ends.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// The epoch at which it stopped training in the last run, if it did.
    pub fn stopped_epoch(&self) -> Option<u64> {
        self.stopped_epoch
    }

    /// The best value seen, over all runs (as in Keras, a reused instance keeps it, so that a
    /// continued training must beat the earlier runs' best).
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// The epoch whose weights [`restore_best_weights`](EarlyStopping::restore_best_weights) puts
    /// back (Keras' `best_epoch`): the best epoch of this run, or its first epoch if none of its
    /// epochs beat the earlier runs' best.
    pub fn best_epoch(&self) -> Option<u64> {
        self.best_epoch
    }
}

impl<N: Parameters> Callback<N> for EarlyStopping {
    fn on_train_begin(&mut self, _: &mut Control<'_, N>) {
        // Reusable for several runs, as in Keras: everything but the best value starts afresh.
        self.wait = 0;
        self.best_epoch = None;
        self.best_weights = None;
        self.stopped_epoch = None;
    }

    fn on_epoch_end(&mut self, epoch: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
        let Some(current) = self.monitor.read(logs, &mut self.warned, "EarlyStopping") else {
            return;
        };
        if self.restore_best_weights && self.best_weights.is_none() {
            // Until something improves, the first weights seen are the best.
            self.best_weights = Some(ctl.weights().to_vec());
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        let improved = match self.best {
            None => true,
            Some(best) => self.monitor.improves(current, best, self.min_delta),
        };
        if improved {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                match &mut self.best_weights {
                    Some(w) => w.copy_from_slice(ctl.weights()),
                    None => self.best_weights = Some(ctl.weights().to_vec()),
                }
            }
            self.wait = 0;
            return;
        }
        // Keras never stops at the very first epoch.
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctl.stop_training();
        }
    }

    fn on_train_end(&mut self, ctl: &mut Control<'_, N>) {
        if self.restore_best_weights {
            if let Some(best) = &self.best_weights {
                ctl.weights_mut().copy_from_slice(best);
            }
        }
    }
}

/// Sets the learning rate before every epoch from `schedule(epoch, current rate)`, as Keras'
/// `LearningRateScheduler` (the rate is the trainer's base rate, which its step schedule, constant
/// by default, starts from).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::data::Dataset;
/// use constnet::train::{Fit, LearningRateScheduler, Verbose};
/// network! { struct Line { Dense<1, 1> } }
/// let data = Dataset::from_vecs(vec![[0.0], [1.0]], vec![[0.0], [1.0]])?;
/// // Keras' tutorial schedule: constant for 10 epochs, then ×e^-0.1 per epoch.
/// let mut decay = LearningRateScheduler::new(|epoch, lr| if epoch < 10 { lr } else { lr * (-0.1f32).exp() });
/// let mut trainer = Trainer::new(Sgd::new(0.1));
/// Fit::<2>::epochs(15)
///     .verbose(Verbose::Silent)
///     .run_with(&mut Line::new(0), Mse, &mut trainer, &data, None, &mut [&mut decay])?;
/// assert!((trainer.base_lr - 0.1 * (-0.5f32).exp()).abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LearningRateScheduler<F> {
    schedule: F,
}

impl<F: FnMut(u64, f32) -> f32> LearningRateScheduler<F> {
    /// The rate of each epoch from `schedule(epoch, rate)`.
    pub fn new(schedule: F) -> Self {
        LearningRateScheduler { schedule }
    }
}

impl<N: Parameters, F: FnMut(u64, f32) -> f32> Callback<N> for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: u64, ctl: &mut Control<'_, N>) {
        let lr = (self.schedule)(epoch, ctl.learning_rate());
        ctl.set_learning_rate(lr);
    }
}

/// Multiplies the learning rate by `factor` when the monitored value has not improved for
/// `patience` epochs, as Keras' `ReduceLROnPlateau` (defaults: `val_loss`, factor 0.1, patience
/// 10, `min_delta` 1e-4, cooldown 0, `min_lr` 0).
///
/// ```
/// use std::time::Duration;
/// use constnet::prelude::*;
/// use constnet::train::{Callback, Control, Epoch, Monitor, ReduceLROnPlateau};
/// network! { struct Line { Dense<1, 1> } }
/// let (mut net, mut trainer) = (Line::new(0), Trainer::<Line, _, 1>::new(Sgd::new(0.1)));
/// let mut plateau = ReduceLROnPlateau::new(Monitor::Loss).factor(0.5).patience(2);
/// let mut ctl = Control::new(&mut net, &mut trainer);
/// for (epoch, loss) in [1.0, 0.9, 0.9, 0.9, 0.9].into_iter().enumerate() {
///     let logs = Epoch { loss, accuracy: 0.0, validation: None, duration: Duration::ZERO };
///     plateau.on_epoch_end(epoch as u64, &logs, &mut ctl);
/// }
/// assert_eq!(ctl.learning_rate(), 0.05); // halved once, after two epochs without improvement
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f32,
    patience: usize,
    min_delta: f32,
    cooldown: usize,
    min_lr: f32,
    best: Option<f32>,
    wait: usize,
    cooldown_counter: usize,
    warned: bool,
}

impl Default for ReduceLROnPlateau {
    /// Keras' defaults, watching `val_loss`.
    fn default() -> Self {
        ReduceLROnPlateau::new(Monitor::ValLoss)
    }
}

impl ReduceLROnPlateau {
    /// Watches `monitor`, with Keras' defaults otherwise.
    pub fn new(monitor: Monitor) -> Self {
        ReduceLROnPlateau {
            monitor,
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            best: None,
            wait: 0,
            cooldown_counter: 0,
            warned: false,
        }
    }

    /// The multiplier (below 1).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before the rate drops.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, delta: f32) -> Self {
        self.min_delta = delta.abs();
        self
    }

    /// Epochs after a drop during which no further drop happens.
    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }

    /// The rate never drops below this.
    pub fn min_lr(mut self, lr: f32) -> Self {
        self.min_lr = lr;
        self
    }
}

impl<N: Parameters> Callback<N> for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _: &mut Control<'_, N>) {
        self.best = None;
        self.wait = 0;
        self.cooldown_counter = 0;
    }

    fn on_epoch_end(&mut self, _: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
        let Some(current) = self
            .monitor
            .read(logs, &mut self.warned, "ReduceLROnPlateau")
        else {
            return;
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        let improved = match self.best {
            None => true,
            Some(best) => self.monitor.improves(current, best, self.min_delta),
        };
        if improved {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let lr = ctl.learning_rate();
                if lr > self.min_lr {
                    ctl.set_learning_rate((lr * self.factor).max(self.min_lr));
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
    }
}
