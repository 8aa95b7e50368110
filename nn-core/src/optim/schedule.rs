//! Learning-rate schedules: the learning rate of step `t` as a function of the optimizer's base
//! rate, applied by the [`Trainer`](crate::Trainer) before every step (Keras'
//! `LearningRateSchedule`s, with the base rate kept in the optimizer as in PyTorch).

/// A learning rate per step.
///
/// ```
/// use nn_core::optim::{Schedule, StepDecay};
/// let s = StepDecay { every: 100, factor: 0.5 };
/// assert_eq!(s.learning_rate(0.1, 99), 0.1);
/// assert_eq!(s.learning_rate(0.1, 250), 0.025);
/// ```
pub trait Schedule {
    /// The learning rate of step `step` (0 for the first) given the base rate `base`.
    fn learning_rate(&self, base: f32, step: u64) -> f32;
}

/// The base rate at every step.
///
/// ```
/// use nn_core::optim::{Constant, Schedule};
/// assert_eq!(Constant.learning_rate(0.01, 1_000_000), 0.01);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Constant;

impl Schedule for Constant {
    #[inline]
    fn learning_rate(&self, base: f32, _: u64) -> f32 {
        base
    }
}

/// `base · factor^⌊step / every⌋`: the rate drops by `factor` every `every` steps (PyTorch's
/// `StepLR`; Keras' `ExponentialDecay(staircase=True)`).
///
/// ```
/// use nn_core::optim::{Schedule, StepDecay};
/// let s = StepDecay { every: 10, factor: 0.1 };
/// assert_eq!(s.learning_rate(1.0, 10), 0.1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDecay {
    /// Steps between drops (at least 1).
    pub every: u64,
    /// Multiplier at each drop.
    pub factor: f32,
}

impl Schedule for StepDecay {
    fn learning_rate(&self, base: f32, step: u64) -> f32 {
        let drops = step / self.every.max(1);
        base * libm::powf(self.factor, drops as f32)
    }
}

/// `base · rate^(step / steps)`, Keras' `ExponentialDecay(decay_steps=steps, decay_rate=rate)`.
///
/// ```
/// use nn_core::optim::{ExponentialDecay, Schedule};
/// let s = ExponentialDecay { steps: 100, rate: 0.5 };
/// assert!((s.learning_rate(1.0, 50) - 0.5f32.sqrt()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialDecay {
    /// Steps over which the rate is multiplied by `rate`.
    pub steps: u64,
    /// Decay per `steps` steps.
    pub rate: f32,
}

impl Schedule for ExponentialDecay {
    fn learning_rate(&self, base: f32, step: u64) -> f32 {
        base * libm::powf(self.rate, step as f32 / self.steps.max(1) as f32)
    }
}

/// `base / (1 + rate · step / steps)`, Keras' `InverseTimeDecay`. With `steps = 1` it is exactly
/// the legacy `decay` argument of Keras' SGD (and [`Sgd::decay`](crate::Sgd::decay)).
///
/// ```
/// use nn_core::optim::{InverseTimeDecay, Schedule};
/// let s = InverseTimeDecay { steps: 1, rate: 1.0 };
/// assert_eq!(s.learning_rate(1.0, 1), 0.5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseTimeDecay {
    /// Steps per unit of decay.
    pub steps: u64,
    /// Decay rate.
    pub rate: f32,
}

impl Schedule for InverseTimeDecay {
    fn learning_rate(&self, base: f32, step: u64) -> f32 {
        // Written as Sgd's decay is, so that the two give identical numbers for steps = 1.
        base / (1.0 + self.rate * (step as f32 / self.steps.max(1) as f32))
    }
}

/// Cosine decay from `base` to `base · floor` over `steps` steps, then constant (Keras'
/// `CosineDecay(alpha=floor)`, without warm-up).
///
/// ```
/// use nn_core::optim::{CosineDecay, Schedule};
/// let s = CosineDecay { steps: 100, floor: 0.0 };
/// assert_eq!(s.learning_rate(1.0, 0), 1.0);
/// assert!((s.learning_rate(1.0, 50) - 0.5).abs() < 1e-6);
/// assert_eq!(s.learning_rate(1.0, 500), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineDecay {
    /// Length of the decay.
    pub steps: u64,
    /// Final rate as a fraction of `base`.
    pub floor: f32,
}

impl Schedule for CosineDecay {
    fn learning_rate(&self, base: f32, step: u64) -> f32 {
        let t = step.min(self.steps) as f32 / self.steps.max(1) as f32;
        let cosine = 0.5 * (1.0 + libm::cosf(core::f32::consts::PI * t));
        base * ((1.0 - self.floor) * cosine + self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Identity, Optimizer, Sgd};

    /// Keras' legacy SGD `decay` and `InverseTimeDecay(steps = 1)` give the same parameters, bit
    /// for bit, over many steps.
    #[test]
    fn inverse_time_decay_is_sgd_decay() {
        let g = Dense::<2, 1, Identity>::new([[0.3, -0.7]], [0.1]);
        let mut legacy = Dense::<2, 1, Identity>::new([[1.0, 2.0]], [0.5]);
        let mut scheduled = legacy;
        let mut old = Sgd::new(0.05).decay(1e-3);
        let mut new = Sgd::new(0.05);
        let schedule = InverseTimeDecay {
            steps: 1,
            rate: 1e-3,
        };
        for step in 0..1000 {
            old.step(&mut legacy, &g, &mut ());
            let lr = schedule.learning_rate(0.05, step);
            Optimizer::<Dense<2, 1, Identity>>::set_learning_rate(&mut new, lr);
            new.step(&mut scheduled, &g, &mut ());
        }
        assert_eq!(legacy, scheduled);
    }
}
