use super::{BlockUpdate, Optimizer, StateSlices};
use crate::kernel::{self, Kernel, Math};
use crate::Parameters;

/// Stochastic gradient descent, `p ← p − lr_t · g`, with Keras' time-based decay
/// `lr_t = lr / (1 + decay · iterations)`.
///
/// Keras' `SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)` is written
/// `Sgd::new(0.01).decay(1e-6).momentum(0.9).nesterov(true)`; adding momentum turns it into a
/// [`Momentum`], which carries a velocity, so plain SGD keeps no state at all.
///
/// ```
/// use nn_core::{Dense, Identity, Optimizer, Sgd};
/// let mut opt = Sgd::new(1.0).decay(1.0);
/// let mut p = Dense::<1, 1, Identity>::new([[0.0]], [0.0]);
/// let g = Dense::new([[1.0]], [1.0]);
/// opt.step(&mut p, &g, &mut ()); // lr 1
/// opt.step(&mut p, &g, &mut ()); // lr 1 / (1 + 1·1)
/// assert_eq!(p.weight, [[-1.5]]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    /// Base learning rate.
    pub lr: f32,
    /// Time-based decay of the learning rate.
    pub decay: f32,
    /// Steps taken so far.
    pub iterations: u64,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub const fn new(lr: f32) -> Self {
        Sgd {
            lr,
            decay: 0.0,
            iterations: 0,
        }
    }

    /// Sets the time-based learning-rate decay.
    pub const fn decay(mut self, decay: f32) -> Self {
        self.decay = decay;
        self
    }

    /// Adds classical momentum.
    pub const fn momentum(self, momentum: f32) -> Momentum {
        Momentum {
            lr: self.lr,
            decay: self.decay,
            momentum,
            nesterov: false,
            iterations: self.iterations,
        }
    }

    /// The learning rate of the next step.
    pub fn current_lr(&self) -> f32 {
        decayed(self.lr, self.decay, self.iterations)
    }
}

impl Default for Sgd {
    /// Keras' default: `lr = 0.01`.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

pub(crate) fn decayed(lr: f32, decay: f32, iterations: u64) -> f32 {
    lr / (1.0 + decay * iterations as f32)
}

impl<P: Parameters> Optimizer<P> for Sgd {
    type State = ();

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut P, grads: &P, state: &mut ()) {
        super::block::step_whole(self, params, grads, state);
    }
}

impl<P: Parameters> BlockUpdate<P> for Sgd {
    type Step = SgdStep;

    fn begin_step(&mut self) -> SgdStep {
        let step = SgdStep {
            lr: self.current_lr(),
            momentum: 0.0,
            nesterov: false,
        };
        self.iterations += 1;
        step
    }

    fn state_slices(_: &mut ()) -> StateSlices<'_> {
        StateSlices::none()
    }

    fn update_block(step: &SgdStep, params: &mut [f32], grads: &[f32], _: StateSlices<'_>) {
        step.update(params, grads, &mut []);
    }
}

/// One step of [`Sgd`] or [`Momentum`]: its decayed learning rate and the momentum
/// ([`BlockUpdate::Step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdStep {
    lr: f32,
    momentum: f32,
    nesterov: bool,
}

impl SgdStep {
    fn update(&self, params: &mut [f32], grads: &[f32], velocity: &mut [f32]) {
        assert_eq!(grads.len(), params.len(), "a gradient per parameter");
        MomentumUpdate {
            params,
            grads,
            velocity,
            lr: self.lr,
            momentum: self.momentum,
            nesterov: self.nesterov,
        }
        .launch();
    }
}

/// SGD with momentum, as Keras' `SGD(momentum=..., nesterov=...)`:
/// `v ← μ·v − lr_t·g`, then `p ← p + v`, or with Nesterov `p ← p + μ·v − lr_t·g`.
///
/// ```
/// use nn_core::{Dense, Identity, Optimizer, Sgd};
/// let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
/// let mut p = Dense::<1, 1, Identity>::new([[1.0]], [0.0]);
/// let g = Dense::new([[1.0]], [0.0]);
/// let mut v = opt.new_state();
/// opt.step(&mut p, &g, &mut v);
/// // v = −0.1; p = 1 + 0.9·(−0.1) − 0.1 = 0.81
/// assert!((p.weight[0][0] - 0.81).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Momentum {
    /// Base learning rate.
    pub lr: f32,
    /// Time-based decay of the learning rate.
    pub decay: f32,
    /// Momentum factor μ.
    pub momentum: f32,
    /// Nesterov's look-ahead update.
    pub nesterov: bool,
    /// Steps taken so far.
    pub iterations: u64,
}

impl Momentum {
    /// Turns Nesterov's update on or off.
    pub const fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the time-based learning-rate decay.
    pub const fn decay(mut self, decay: f32) -> Self {
        self.decay = decay;
        self
    }
}

impl<P: Parameters> Optimizer<P> for Momentum {
    /// The velocity (Keras' `momentum` variable).
    type State = P;

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    fn state_blocks(&self, state: &P, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        f("momentum", state.as_slice());
        true
    }

    fn state_blocks_mut(&self, state: &mut P, f: &mut dyn FnMut(&'static str, &mut [f32])) -> bool {
        f("momentum", state.as_mut_slice());
        true
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut P, grads: &P, velocity: &mut P) {
        super::block::step_whole(self, params, grads, velocity);
    }
}

impl<P: Parameters> BlockUpdate<P> for Momentum {
    type Step = SgdStep;

    fn begin_step(&mut self) -> SgdStep {
        let step = SgdStep {
            lr: decayed(self.lr, self.decay, self.iterations),
            momentum: self.momentum,
            nesterov: self.nesterov,
        };
        self.iterations += 1;
        step
    }

    fn state_slices(velocity: &mut P) -> StateSlices<'_> {
        StateSlices::one(velocity.as_mut_slice())
    }

    fn update_block(step: &SgdStep, params: &mut [f32], grads: &[f32], state: StateSlices<'_>) {
        let [velocity, _] = state.into_parts();
        assert_eq!(velocity.len(), params.len(), "a velocity per parameter");
        step.update(params, grads, velocity);
    }
}

/// One pass of SGD, with momentum if `velocity` is not empty.
struct MomentumUpdate<'a> {
    params: &'a mut [f32],
    grads: &'a [f32],
    velocity: &'a mut [f32],
    lr: f32,
    momentum: f32,
    nesterov: bool,
}

impl Kernel for MomentumUpdate<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let n = self.params.len();
        let (p, g) = (self.params, &self.grads[..n]);
        let (lr, mu) = (self.lr, self.momentum);
        if self.velocity.is_empty() {
            for i in 0..n {
                p[i] = M::mul_add(-lr, g[i], p[i]);
            }
            return;
        }
        let v = &mut self.velocity[..n];
        if self.nesterov {
            for i in 0..n {
                v[i] = super::flush(M::mul_add(mu, v[i], -lr * g[i]));
                p[i] += M::mul_add(mu, v[i], -lr * g[i]);
            }
        } else {
            for i in 0..n {
                v[i] = super::flush(M::mul_add(mu, v[i], -lr * g[i]));
                p[i] += v[i];
            }
        }
    }
}

kernel::compiled_once!(MomentumUpdate);
