//! Optimizers, one file each. An optimizer updates a whole network in one pass over its flat
//! parameter block ([`Parameters`]); its state (velocities, moment estimates) is a value of the
//! network's own shape that the caller owns, so it can live on the stack, in a `Box` or in a
//! `static` on a microcontroller.

mod adagrad;
mod adam;
mod block;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::AdaGrad;
pub use adam::{Adam, AdamState, AdamStep};
pub use block::{BlockUpdate, StateSlices};
pub use rmsprop::RmsProp;
pub use schedule::{
    Constant, CosineDecay, ExponentialDecay, InverseTimeDecay, Schedule, StepDecay,
};
pub use sgd::{Momentum, Sgd, SgdStep};

use crate::{Parameters, Zeroed};

/// `1 − β` as Keras computes it: from the decimal the user wrote (Python's `1 - 0.999` in f64,
/// then rounded to f32 gives 0.001), not in f32 from the rounded `β` (which gives 0.00099998713,
/// a 1.3e-5 relative difference in Adam's second moment that shows after a few steps). `β` is
/// taken as the decimal with the fewest places that rounds to it (for an f32 written as a decimal
/// literal, that literal); a few operations per optimizer step, no formatting (it runs on MCUs).
pub(crate) fn complement(beta: f32) -> f32 {
    let b = f64::from(beta);
    let mut scale = 1.0;
    for _ in 0..12 {
        scale *= 10.0;
        // k / 10^d, correctly rounded: the f64 nearest to the decimal with d places.
        let decimal = libm::round(b * scale) / scale;
        if decimal as f32 == beta {
            return (1.0 - decimal) as f32;
        }
    }
    (1.0 - b) as f32
}

/// Optimizer state (moments, velocities) below `f32::MIN_POSITIVE` becomes 0.
///
/// A dead unit's gradient is 0, so its moments decay geometrically and, after a few hundred
/// steps, become subnormal floats, which x86 cores handle up to 100 times slower: the MNIST job
/// lost a third of its speed after epoch 3 to them. Flushing here is portable and deterministic
/// (the same on the host and on a microcontroller, so the firmware stays bit-identical), and it
/// only touches values under 1.2e-38, whose effect on a weight is below f32's resolution. PyTorch
/// and Keras keep them; their results agree with constnet's until a moment gets that small.
#[inline(always)]
pub(crate) fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

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
    type State: Zeroed;

    /// Puts `state` into its initial condition (zero, unless the method says otherwise).
    fn reset(&self, state: &mut Self::State) {
        state.fill_zero();
    }

    /// A fresh state, by value. For a large network prefer [`Zeroed::boxed_zeroed`] (std) or a
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

    /// The optimizer's own step counter, for those whose update depends on it (Adam's bias
    /// correction, SGD's decay); 0 for the others. A checkpoint saves it.
    fn iterations(&self) -> u64 {
        0
    }

    /// Sets the step counter (when a checkpoint is restored); ignored by optimizers without one.
    fn set_iterations(&mut self, iterations: u64) {
        let _ = iterations;
    }

    /// Calls `f(name, block)` for every block of `state`, each `P::LEN` values in the order of
    /// [`Parameters::as_slice`] (Adam: `m` then `v`), so that checkpoints can save the state
    /// tensor by tensor with Keras' names; returns whether the optimizer describes its state.
    ///
    /// The default describes a state without bytes (plain SGD's `()`) and refuses any other: an
    /// optimizer of your own with state must override this and
    /// [`state_blocks_mut`](Optimizer::state_blocks_mut) to be checkpointed.
    ///
    /// ```
    /// use nn_core::{Adam, Dense, Identity, Optimizer};
    /// let adam = Adam::default();
    /// let state = Optimizer::<Dense<2, 1, Identity>>::new_state(&adam);
    /// let mut names = Vec::new();
    /// assert!(Optimizer::<Dense<2, 1, Identity>>::state_blocks(&adam, &state, &mut |name, block| {
    ///     names.push((name, block.len()))
    /// }));
    /// assert_eq!(names, [("m", 3), ("v", 3)]);
    /// ```
    fn state_blocks(&self, state: &Self::State, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        let _ = (state, f);
        core::mem::size_of::<Self::State>() == 0
    }

    /// [`state_blocks`](Optimizer::state_blocks), mutably (to restore a checkpoint).
    fn state_blocks_mut(
        &self,
        state: &mut Self::State,
        f: &mut dyn FnMut(&'static str, &mut [f32]),
    ) -> bool {
        let _ = (state, f);
        core::mem::size_of::<Self::State>() == 0
    }
}

#[cfg(test)]
mod tests {
    use crate::{Adam, Dense, Identity, Optimizer, Parameters, RmsProp, Sgd, Zeroed};

    type L = Dense<1, 1, Identity>;

    /// A unit whose gradient stops (a dead ReLU): its optimizer state decays to exactly 0, never
    /// through subnormal floats, on every optimizer with a decaying state.
    #[test]
    fn state_of_a_dead_unit_decays_to_zero_not_to_subnormals() {
        let g1 = L::new([[1.0]], [1.0]);
        let zero = L::zeroed();
        let mut p = L::zeroed();

        let mut adam = Adam::new(0.001);
        let mut s = adam.new_state();
        adam.step(&mut p, &g1, &mut s);
        let mut sgd = Sgd::new(0.01).momentum(0.9);
        let mut v = sgd.new_state();
        sgd.step(&mut p, &g1, &mut v);
        let mut rms = RmsProp::new(0.001);
        let mut a = rms.new_state();
        rms.step(&mut p, &g1, &mut a);
        for _ in 0..200_000 {
            adam.step(&mut p, &zero, &mut s);
            sgd.step(&mut p, &zero, &mut v);
            rms.step(&mut p, &zero, &mut a);
            let states = [s.m.as_slice(), s.v.as_slice(), v.as_slice(), a.as_slice()];
            assert!(states
                .iter()
                .flat_map(|s| s.iter())
                .all(|x| !x.is_subnormal()));
        }
        // β2 = 0.999 takes ~87,000 steps from 1e-3 down to 1.2e-38.
        assert!(s.m.as_slice().iter().all(|&x| x == 0.0));
        assert!(s.v.as_slice().iter().all(|&x| x == 0.0));
        assert!(v.as_slice().iter().all(|&x| x == 0.0));
        assert!(a.as_slice().iter().all(|&x| x == 0.0));
    }
}

#[cfg(test)]
mod complement_tests {
    use super::complement;

    /// Python: `np.float32(1 - 0.999)` etc., the values Keras multiplies by.
    #[test]
    fn complements_are_those_of_the_decimals() {
        assert_eq!(complement(0.999), 0.001);
        assert_eq!(complement(0.9), 0.1);
        assert_eq!(complement(0.95), 0.05);
        assert_eq!(complement(0.9999), 0.0001);
        assert_eq!(complement(0.0), 1.0);
        // In f32 the complement of 0.999 is off by 1.3e-5 relative.
        assert_ne!(1.0 - 0.999f32, 0.001);
        // Any other f32: the complement of its shortest decimal, as Python's float of it.
        for bits in [
            0.999f32.to_bits() + 1,
            0.9f32.to_bits() - 3,
            0.123_456_79f32.to_bits(),
        ] {
            let beta = f32::from_bits(bits);
            let decimal: f64 = std::format!("{beta}").parse().unwrap();
            assert_eq!(complement(beta), (1.0 - decimal) as f32, "{beta}");
        }
    }
}
