use super::Optimizer;
use crate::kernel::{self, Kernel, Math};
use crate::Parameters;

/// RMSprop with Keras' defaults (`lr = 0.001, ρ = 0.9, ε = 1e-7`):
/// `a ← ρa + (1−ρ)g²`, `p ← p − lr·g / (√a + ε)`.
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
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the mean square.
    pub rho: f32,
    /// Added to the root mean square.
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

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut P, grads: &P, mean_square: &mut P) {
        kernel::run(RmsPropUpdate {
            params: params.as_mut_slice(),
            grads: grads.as_slice(),
            mean_square: mean_square.as_mut_slice(),
            opt: *self,
        });
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
        for i in 0..n {
            a[i] = super::flush(M::mul_add(rho, a[i], (1.0 - rho) * g[i] * g[i]));
            self.params[i] -= lr * g[i] / (M::sqrt(a[i]) + epsilon);
        }
    }
}
