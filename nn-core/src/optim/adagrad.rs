use super::{BlockUpdate, Optimizer, StateSlices};
use crate::kernel::{self, Kernel, Math};
use crate::Parameters;

/// Adagrad with Keras' defaults (`lr = 0.001`, initial accumulator `0.1`, `ε = 1e-7`):
/// `a ← a + g²`, `p ← p − lr·g / √(a + ε)`, ε under the root as Keras 3 has it (PyTorch adds it
/// to the root, which differs where the accumulator starts at 0).
///
/// ```
/// use nn_core::{AdaGrad, Dense, Identity, Optimizer};
/// let mut opt = AdaGrad::new(0.1);
/// let mut p = Dense::<1, 1, Identity>::new([[1.0]], [0.0]);
/// let g = Dense::new([[0.3]], [0.0]);
/// let mut a = opt.new_state();
/// opt.step(&mut p, &g, &mut a);
/// // a = 0.1 + 0.09 = 0.19
/// assert!((p.weight[0][0] - (1.0 - 0.03 / (0.19f32 + 1e-7).sqrt())).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaGrad {
    /// Learning rate.
    pub lr: f32,
    /// Starting value of every accumulator.
    pub initial_accumulator: f32,
    /// Added to the accumulator under the root.
    pub epsilon: f32,
}

impl AdaGrad {
    /// Adagrad with learning rate `lr` and Keras' other defaults.
    pub const fn new(lr: f32) -> Self {
        AdaGrad {
            lr,
            initial_accumulator: 0.1,
            epsilon: 1e-7,
        }
    }
}

impl Default for AdaGrad {
    /// Keras' defaults (`lr = 0.001`).
    fn default() -> Self {
        AdaGrad::new(0.001)
    }
}

impl<P: Parameters> Optimizer<P> for AdaGrad {
    /// Sum of squared gradients.
    type State = P;

    fn state_blocks(&self, state: &P, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        f("accumulator", state.as_slice());
        true
    }

    fn state_blocks_mut(&self, state: &mut P, f: &mut dyn FnMut(&'static str, &mut [f32])) -> bool {
        f("accumulator", state.as_mut_slice());
        true
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn reset(&self, acc: &mut P) {
        acc.as_mut_slice().fill(self.initial_accumulator);
    }

    fn step(&mut self, params: &mut P, grads: &P, acc: &mut P) {
        super::block::step_whole(self, params, grads, acc);
    }
}

impl<P: Parameters> BlockUpdate<P> for AdaGrad {
    /// No step counter: a step is the settings.
    type Step = AdaGrad;

    fn begin_step(&mut self) -> AdaGrad {
        *self
    }

    fn state_slices(acc: &mut P) -> StateSlices<'_> {
        StateSlices::one(acc.as_mut_slice())
    }

    fn update_block(step: &AdaGrad, params: &mut [f32], grads: &[f32], state: StateSlices<'_>) {
        let [acc, _] = state.into_parts();
        assert!(
            grads.len() == params.len() && acc.len() == params.len(),
            "a gradient and an accumulator per parameter"
        );
        AdaGradUpdate {
            params,
            grads,
            acc,
            lr: step.lr,
            eps: step.epsilon,
        }
        .launch();
    }
}

struct AdaGradUpdate<'a> {
    params: &'a mut [f32],
    grads: &'a [f32],
    acc: &'a mut [f32],
    lr: f32,
    eps: f32,
}

impl Kernel for AdaGradUpdate<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let n = self.params.len();
        let (g, a) = (&self.grads[..n], &mut self.acc[..n]);
        for i in 0..n {
            a[i] = M::mul_add(g[i], g[i], a[i]);
            self.params[i] -= self.lr * g[i] / M::sqrt(a[i] + self.eps);
        }
    }
}

kernel::compiled_once!(AdaGradUpdate);
