//! The [`Trainer`]: everything a training run keeps between steps, in one value.

use crate::optim::{Constant, Schedule};
use crate::{Loss, Optimizer, Rng, Train, TrainBuffers, Zeroed};

/// Everything training keeps between steps: the optimizer with its complete state (step counter,
/// moments, accumulators), the gradients, the batch buffers (every layer's activations, off the
/// stack when the trainer is boxed), the learning-rate schedule and the dropout generator.
///
/// One trainer per model: a second [`Fit`](crate::train::Fit) run with the same trainer continues
/// where the first stopped (moments and step counter kept, as Keras' second `fit` does). It has a
/// fixed size, so on a microcontroller it can live in a `static`; on the host,
/// [`Trainer::boxed`] builds it on the heap.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Xor { Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid> } }
/// let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let t = [[0.0], [1.0], [1.0], [0.0]];
/// let mut net = Xor::new(3);
/// let mut trainer = Trainer::<Xor, _, 4>::new(Adam::new(0.05));
/// for _ in 0..500 {
///     trainer.step(&mut net, BinaryCrossEntropy, &x, &t);
/// }
/// assert_eq!(trainer.steps, 500);
/// assert!(net.forward(&[0.0, 1.0])[0] > 0.5 && net.forward(&[1.0, 1.0])[0] < 0.5);
/// ```
pub struct Trainer<N: TrainBuffers<B>, O: Optimizer<N>, const B: usize, S = Constant> {
    /// The optimizer (its hyper-parameters, and its own step counter where it has one).
    pub optimizer: O,
    /// The optimizer's per-parameter state.
    pub state: O::State,
    /// The gradients of the last step.
    pub grads: N,
    /// The batch buffers of the last step.
    pub buffers: N::Buffers,
    /// The learning-rate schedule.
    pub schedule: S,
    /// The learning rate the schedule starts from: the optimizer's rate when the trainer was made.
    pub base_lr: f32,
    /// Steps taken.
    pub steps: u64,
    /// Epochs completed by [`Fit`](crate::train::Fit) (it continues the shuffle sequence).
    pub epochs: u64,
    /// Draws the dropout masks.
    pub rng: Rng,
    /// Whether the optimizer state has been put into its initial condition; a trainer made in
    /// const evaluation ([`Trainer::new_static`]) does that at its first step.
    ready: bool,
}

impl<N: TrainBuffers<B>, O: Optimizer<N>, const B: usize> Trainer<N, O, B> {
    /// A trainer by value, with the optimizer's state in its initial condition (as
    /// [`Optimizer::reset`] defines it) and a constant learning rate. Its size is about three
    /// times the network's plus `B` samples of activations: for large networks or batches use
    /// [`boxed`](Trainer::boxed) or a `static`.
    pub fn new(optimizer: O) -> Self {
        Self::with_schedule(optimizer, Constant)
    }

    /// A trainer built in const evaluation, for a `static` (a microcontroller's RAM, known at
    /// link time): gradients and buffers zero, the optimizer state put into its initial condition
    /// and the base learning rate read at the first step. Behind a lock, since training mutates it.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use constnet::prelude::*;
    /// network! { pub struct Xor { Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid> } }
    /// static TRAINER: Mutex<Trainer<Xor, AdaGrad, 4>> = Mutex::new(Trainer::new_static(AdaGrad::new(0.5)));
    /// let mut trainer = TRAINER.lock().unwrap();
    /// let mut net = Xor::new(1);
    /// let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// trainer.step(&mut net, Mse, &x, &[[0.0], [1.0], [1.0], [0.0]]);
    /// assert_eq!(trainer.steps, 1);
    /// ```
    pub const fn new_static(optimizer: O) -> Self {
        Trainer {
            optimizer,
            state: zeroed(),
            grads: zeroed(),
            buffers: zeroed(),
            schedule: Constant,
            base_lr: 0.0,
            steps: 0,
            epochs: 0,
            rng: Rng::new(0x5EED),
            ready: false,
        }
    }

    /// A trainer built in place on the heap: nothing of the network's size passes through the
    /// stack.
    #[cfg(feature = "std")]
    pub fn boxed(optimizer: O) -> std::boxed::Box<Self> {
        Self::boxed_with_schedule(optimizer, Constant)
    }
}

/// All-zero parameters in const evaluation.
const fn zeroed<P: Zeroed>() -> P {
    // SAFETY: all-zero bytes are a valid value of every `Zeroed` type (the trait's contract).
    unsafe { core::mem::MaybeUninit::<P>::zeroed().assume_init() }
}

impl<N: TrainBuffers<B>, O: Optimizer<N>, const B: usize, S> Trainer<N, O, B, S> {
    /// A trainer by value with a learning-rate schedule (see [`new`](Trainer::new)).
    pub fn with_schedule(optimizer: O, schedule: S) -> Self {
        let mut trainer = Trainer {
            base_lr: optimizer.learning_rate(),
            state: O::State::zeroed(),
            optimizer,
            grads: N::zeroed(),
            buffers: N::Buffers::zeroed(),
            schedule,
            steps: 0,
            epochs: 0,
            rng: Rng::new(0x5EED),
            ready: true,
        };
        trainer.optimizer.reset(&mut trainer.state);
        trainer
    }

    /// A trainer on the heap with a learning-rate schedule, built in place.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::optim::CosineDecay;
    /// network! { struct Line { Dense<1, 1> } }
    /// let trainer = Trainer::<Line, _, 8, _>::boxed_with_schedule(
    ///     Adam::new(0.01),
    ///     CosineDecay { steps: 1000, floor: 0.0 },
    /// );
    /// assert_eq!(trainer.base_lr, 0.01);
    /// ```
    #[cfg(feature = "std")]
    pub fn boxed_with_schedule(optimizer: O, schedule: S) -> std::boxed::Box<Self> {
        use core::ptr::addr_of_mut;
        let mut b = std::boxed::Box::<Self>::new_uninit();
        let p = b.as_mut_ptr();
        // SAFETY: every field is written before `assume_init`: the three `Parameters` blocks as
        // all-zero bytes (all-zero f32s are valid values of a `Parameters` type, by its contract),
        // the others with `write`.
        unsafe {
            addr_of_mut!((*p).state).write_bytes(0, 1);
            addr_of_mut!((*p).grads).write_bytes(0, 1);
            addr_of_mut!((*p).buffers).write_bytes(0, 1);
            addr_of_mut!((*p).base_lr).write(optimizer.learning_rate());
            addr_of_mut!((*p).optimizer).write(optimizer);
            addr_of_mut!((*p).schedule).write(schedule);
            addr_of_mut!((*p).steps).write(0);
            addr_of_mut!((*p).epochs).write(0);
            addr_of_mut!((*p).rng).write(Rng::new(0x5EED));
            addr_of_mut!((*p).ready).write(true);
        }
        // SAFETY: all fields initialised above.
        let mut trainer = unsafe { b.assume_init() };
        trainer.optimizer.reset(&mut trainer.state);
        trainer
    }
}

impl<N: TrainBuffers<B>, O: Optimizer<N>, const B: usize, S> Trainer<N, O, B, S> {
    /// The same trainer with a learning-rate schedule, applied from the next step on.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::optim::StepDecay;
    /// network! { struct Line { Dense<1, 1> } }
    /// let mut net = Line::new(0);
    /// let mut trainer = Trainer::<Line, _, 1>::new(Sgd::new(0.1))
    ///     .schedule(StepDecay { every: 1, factor: 0.5 });
    /// trainer.step(&mut net, Mse, &[[1.0]], &[[1.0]]);
    /// trainer.step(&mut net, Mse, &[[1.0]], &[[1.0]]);
    /// assert_eq!(trainer.optimizer.lr, 0.05); // the second step ran at half the rate
    /// ```
    pub fn schedule<T: Schedule>(self, schedule: T) -> Trainer<N, O, B, T> {
        Trainer {
            optimizer: self.optimizer,
            state: self.state,
            grads: self.grads,
            buffers: self.buffers,
            schedule,
            base_lr: self.base_lr,
            steps: self.steps,
            epochs: self.epochs,
            rng: self.rng,
            ready: self.ready,
        }
    }

    /// Seeds the dropout masks.
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.rng = Rng::new(seed);
        self
    }

    /// Sets the initial condition of a trainer made in const evaluation (no-op otherwise).
    #[cfg(feature = "std")]
    pub(crate) fn prepare(&mut self) {
        if !self.ready {
            self.reset();
        }
    }

    /// Puts the optimizer state back into its initial condition and the step counter to zero
    /// (a fresh start for new weights).
    pub fn reset(&mut self) {
        if !self.ready {
            self.base_lr = self.optimizer.learning_rate();
            self.ready = true;
        }
        self.optimizer.reset(&mut self.state);
        self.steps = 0;
        self.epochs = 0;
    }
}

impl<N: TrainBuffers<B>, O: Optimizer<N>, const B: usize, S: Schedule> Trainer<N, O, B, S> {
    /// One training step on a batch: gradient, optimizer update at the scheduled learning rate,
    /// non-trainable state (batch norm statistics). Returns the batch-mean loss before the update.
    /// Allocates nothing.
    pub fn step<L: Loss<OUT>, const IN: usize, const OUT: usize>(
        &mut self,
        net: &mut N,
        loss: L,
        x: &[[f32; IN]; B],
        target: &[L::Target; B],
    ) -> f32
    where
        N: Train<IN, OUT, B>,
    {
        let _ = loss;
        if !self.ready {
            // Made in const evaluation: the initial condition is set here, once.
            self.reset();
        }
        let lr = self.schedule.learning_rate(self.base_lr, self.steps);
        self.optimizer.set_learning_rate(lr);
        let value =
            net.backprop_with::<L>(x, target, &mut self.buffers, &mut self.grads, &mut self.rng);
        self.optimizer.step(net, &self.grads, &mut self.state);
        net.update_state(&self.buffers);
        self.steps += 1;
        value
    }

    /// The network's outputs in the last step (before its update).
    pub fn outputs<const IN: usize, const OUT: usize>(&self) -> &[[f32; OUT]; B]
    where
        N: Train<IN, OUT, B>,
    {
        N::outputs(&self.buffers)
    }
}
