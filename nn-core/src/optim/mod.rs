//! Optimizers, one file each. An optimizer updates a whole network in one pass over its flat
//! parameter block ([`Parameters`]); its state (velocities, moment estimates) is a value of the
//! network's own shape that the caller owns, so it can live on the stack, in a `Box` or in a
//! `static` on a microcontroller.

mod adagrad;
mod adam;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::AdaGrad;
pub use adam::{Adam, AdamState};
pub use rmsprop::RmsProp;
pub use schedule::{
    Constant, CosineDecay, ExponentialDecay, InverseTimeDecay, Schedule, StepDecay,
};
pub use sgd::{Momentum, Sgd};

use crate::Parameters;

/// Updates parameters `P` from their gradients.
///
/// ```
/// use nn_core::{Dense, Identity, Optimizer, Parameters, Sgd};
/// let mut layer = Dense::<1, 1, Identity>::new([[1.0]], [0.0]);
/// let grad = Dense::new([[2.0]], [-1.0]);
/// let mut opt = Sgd::new(0.5);
/// opt.step(&mut layer, &grad, &mut ()); // plain SGD keeps no state
/// assert_eq!((layer.weight, layer.bias), ([[0.0]], [0.5]));
/// ```
pub trait Optimizer<P: Parameters> {
    /// Per-parameter state: `()` for plain SGD, `P` for momentum, two `P`s for Adam.
    type State: Parameters;

    /// Puts `state` into its initial condition (zero, unless the method says otherwise).
    fn reset(&self, state: &mut Self::State) {
        state.fill_zero();
    }

    /// A fresh state, by value. For a large network prefer [`Parameters::boxed_zeroed`] (std) or a
    /// `static` followed by [`reset`](Optimizer::reset).
    fn new_state(&self) -> Self::State {
        let mut state = Self::State::zeroed();
        self.reset(&mut state);
        state
    }

    /// The base learning rate (before any decay the optimizer applies itself).
    fn learning_rate(&self) -> f32;

    /// Sets the base learning rate: what a [`Schedule`] drives through the
    /// [`Trainer`](crate::Trainer).
    fn set_learning_rate(&mut self, lr: f32);

    /// One update of `params` from `grads`.
    fn step(&mut self, params: &mut P, grads: &P, state: &mut Self::State);
}
