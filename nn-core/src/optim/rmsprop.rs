use super::{BlockUpdate, Optimizer, StateSlices};
use crate::kernel::{self, Kernel, Math};
use crate::Parameters;

/// RMSprop as Keras 3 computes it, with its defaults (`lr = 0.001, ρ = 0.9, ε = 1e-7`):
/// `a ← ρa + (1−ρ)g²`, `p ← p − lr·g / √(a + ε)`.
///
/// ε sits inside the root, as in Keras 3 (`keras.optimizers.RMSprop`); Keras 2 and PyTorch put it
/// outside (`lr·g / (√a + ε)`). The two differ only where `a` is near ε: for tiny gradients Keras
/// 3's steps are smaller.
///
/// ```
/// use nn_core::{Dense, Identity, Optimizer, RmsProp};
/// let mut opt = RmsProp::new(0.01);
/// let mut p = Dense::<1, 1, Identity>::new([[1.0]], [0.0]);
/// let g = Dense::new([[2.0]], [0.0]);
/// let mut a = opt.new_state();
/// opt.step(&mut p, &g, &mut a);
/// // a = 0.1·4 = 0.4; step = 0.01·2/√0.4
/// assert!((p.weight[0][0] - (1.0 - 0.02 / 0.4f32.sqrt())).abs() < 1e-6);
///
/// // A tiny gradient, 1e-4: a = 1e-9, step = 0.01·1e-4/√(1e-9 + 1e-7) = 3.146e-3
/// // (with ε outside the root it would be 0.0315).
/// let mut p = Dense::<1, 1, Identity>::new([[0.0]], [0.0]);
/// let mut a = opt.new_state();
/// opt.step(&mut p, &Dense::new([[1e-4]], [0.0]), &mut a);
/// assert!((p.weight[0][0] + 3.146e-3).abs() < 1e-6, "{}", p.weight[0][0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the mean square.
    pub rho: f32,
    /// Added to the mean square, under the root.
    pub epsilon: f32,
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and Keras' other defaults.
    pub const fn new(lr: f32) -> Self {
        RmsProp {
            lr,
            rho: 0.9,
            epsilon: 1e-7,
        }
    }
}

impl Default for RmsProp {
    /// Keras' defaults (`lr = 0.001`).
    fn default() -> Self {
        RmsProp::new(0.001)
    }
}

impl<P: Parameters> Optimizer<P> for RmsProp {
    /// Running mean of squared gradients.
    type State = P;

    fn state_blocks(&self, state: &P, f: &mut dyn FnMut(&'static str, &[f32])) -> bool {
        f("velocity", state.as_slice());
        true
    }

    fn state_blocks_mut(&self, state: &mut P, f: &mut dyn FnMut(&'static str, &mut [f32])) -> bool {
        f("velocity", state.as_mut_slice());
        true
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut P, grads: &P, mean_square: &mut P) {
        super::block::step_whole(self, params, grads, mean_square);
    }
}

impl<P: Parameters> BlockUpdate<P> for RmsProp {
    /// No step counter: a step is the settings.
    type Step = RmsProp;

    fn begin_step(&mut self) -> RmsProp {
        *self
    }

    fn state_slices(mean_square: &mut P) -> StateSlices<'_> {
        StateSlices::one(mean_square.as_mut_slice())
    }

    fn update_block(step: &RmsProp, params: &mut [f32], grads: &[f32], state: StateSlices<'_>) {
        let [mean_square, _] = state.into_parts();
        assert!(
            grads.len() == params.len() && mean_square.len() == params.len(),
            "a gradient and an accumulator per parameter"
        );
        RmsPropUpdate {
            params,
            grads,
            mean_square,
            opt: *step,
        }
        .launch();
    }
}

struct RmsPropUpdate<'a> {
    params: &'a mut [f32],
    grads: &'a [f32],
    mean_square: &'a mut [f32],
    opt: RmsProp,
}

impl Kernel for RmsPropUpdate<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let n = self.params.len();
        let (g, a) = (&self.grads[..n], &mut self.mean_square[..n]);
        let RmsProp { lr, rho, epsilon } = self.opt;
        let c = super::complement(rho);
        for i in 0..n {
            a[i] = super::flush(M::mul_add(rho, a[i], c * g[i] * g[i]));
            self.params[i] -= lr * g[i] / M::sqrt(a[i] + epsilon);
        }
    }
}

kernel::compiled_once!(RmsPropUpdate);
