use super::Loss;
use crate::Differentiable;

/// Mean squared error, `mean((y − t)²)` over the outputs (Keras' `mean_squared_error`).
///
/// ```
/// use nn_core::{Loss, Mse};
/// assert_eq!(Mse::loss(&[2.0, 0.0], &[0.0, 0.0]), 2.0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

impl<const N: usize> Loss<N> for Mse {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        y.iter().zip(t).map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / N as f32
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        for ((d, y), t) in dz.iter_mut().zip(y).zip(t) {
            *d = 2.0 * (y - t) / N as f32;
        }
        A::backward(y, dz);
    }
}
