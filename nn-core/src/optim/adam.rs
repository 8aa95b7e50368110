use super::{BlockUpdate, Optimizer, StateSlices};
use crate::kernel::{self, Kernel, Math};
use crate::{Parameters, Zeroed};

/// Adam (Kingma & Ba), with Keras' defaults: `lr = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7`.
///
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)`. As in Keras, `1 − β` is the complement of the
/// decimal β (exactly 0.001 for 0.999), not of its f32 rounding; `tests/keras_parity.rs` checks
/// 100 steps of every loss against Keras 3.
///
/// ```
/// use nn_core::{Adam, Dense, Identity, Optimizer};
/// let mut opt = Adam::new(0.1);
/// let mut p = Dense::<1, 1, Identity>::new([[1.0]], [0.0]);
/// let g = Dense::new([[0.5]], [0.0]);
/// let mut state = opt.new_state();
/// opt.step(&mut p, &g, &mut state);
/// // The first step moves every parameter with a non-zero gradient by ≈ lr.
/// assert!((p.weight[0][0] - 0.9).abs() < 1e-5);
/// assert_eq!(p.bias, [0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first-moment estimate.
    pub beta1: f32,
    /// Decay of the second-moment estimate.
    pub beta2: f32,
    /// Added to `√v` to avoid division by zero.
    pub epsilon: f32,
    /// Steps taken so far.
    pub iterations: u64,
}

impl Adam {
    /// Adam with learning rate `lr` and Keras' other defaults.
    pub const fn new(lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            iterations: 0,
        }
    }
}

impl Default for Adam {
    /// Keras' defaults (`lr = 0.001`).
    fn default() -> Self {
        Adam::new(0.001)
    }
}

/// Adam's moment estimates, each of the network's shape.
///
/// ```
/// use nn_core::{optim::AdamState, Adam, Dense, Optimizer, Parameters};
/// let state: AdamState<Dense<2, 1>> = Adam::default().new_state();
/// assert_eq!(state.m.as_slice().len(), 3); // 2 weights and 1 bias
/// assert_eq!(state.v.as_slice(), [0.0; 3]);
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamState<P> {
    /// First moment (mean of gradients).
    pub m: P,
    /// Second moment (mean of squared gradients).
    pub v: P,
}

// SAFETY: a pair of `Parameters` values, for which all-zero bytes are valid. (Not a flat
// `Parameters` block itself: a network's trailing padding would sit between `m` and `v`.)
unsafe impl<P: Parameters> Zeroed for AdamState<P> {}

impl<P: Parameters> Optimizer<P> for Adam {
    type State = AdamState<P>;

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    fn state_blocks(&self, state: &AdamState<P>, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        f("m", state.m.as_slice());
        f("v", state.v.as_slice());
        true
    }

    fn state_blocks_mut(
        &self,
        state: &mut AdamState<P>,
        f: &mut dyn FnMut(&'static str, &mut [f32]),
    ) -> bool {
        f("m", state.m.as_mut_slice());
        f("v", state.v.as_mut_slice());
        true
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut P, grads: &P, state: &mut AdamState<P>) {
        super::block::step_whole(self, params, grads, state);
    }
}

impl<P: Parameters> BlockUpdate<P> for Adam {
    type Step = AdamStep;

    fn begin_step(&mut self) -> AdamStep {
        self.iterations += 1;
        let t = self.iterations as f32;
        let (b1, b2) = (self.beta1, self.beta2);
        AdamStep {
            lr_t: self.lr * libm::sqrtf(1.0 - libm::powf(b2, t)) / (1.0 - libm::powf(b1, t)),
            b1,
            b2,
            c1: super::complement(b1),
            c2: super::complement(b2),
            eps: self.epsilon,
        }
    }

    fn state_slices(state: &mut AdamState<P>) -> StateSlices<'_> {
        StateSlices::two(state.m.as_mut_slice(), state.v.as_mut_slice())
    }

    fn update_block(step: &AdamStep, params: &mut [f32], grads: &[f32], state: StateSlices<'_>) {
        let [m, v] = state.into_parts();
        assert!(
            grads.len() == params.len() && m.len() == params.len() && v.len() == params.len(),
            "a gradient and two moments per parameter"
        );
        AdamUpdate {
            params,
            grads,
            m,
            v,
            step: *step,
        }
        .launch();
    }
}

/// One step of [`Adam`]: its bias-corrected learning rate and the decays
/// ([`BlockUpdate::Step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    lr_t: f32,
    b1: f32,
    b2: f32,
    /// `1 − β₁` and `1 − β₂`, as Keras computes them ([`super::complement`]).
    c1: f32,
    c2: f32,
    eps: f32,
}

/// One fused pass over parameters, gradients and both moments.
struct AdamUpdate<'a> {
    params: &'a mut [f32],
    grads: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    step: AdamStep,
}

impl Kernel for AdamUpdate<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let n = self.params.len();
        let (g, m, v) = (&self.grads[..n], &mut self.m[..n], &mut self.v[..n]);
        let AdamStep {
            lr_t,
            b1,
            b2,
            c1,
            c2,
            eps,
        } = self.step;
        for i in 0..n {
            m[i] = super::flush(M::mul_add(b1, m[i], c1 * g[i]));
            v[i] = super::flush(M::mul_add(b2, v[i], c2 * g[i] * g[i]));
            self.params[i] -= lr_t * m[i] / (M::sqrt(v[i]) + eps);
        }
    }
}

kernel::compiled_once!(AdamUpdate);
