use super::Loss;
use crate::Differentiable;

/// Mean absolute error, `mean(|y − t|)` over the outputs.
///
/// ```
/// use nn_core::{Loss, Mae};
/// assert_eq!(Mae::loss(&[2.0, -1.0], &[0.0, 0.0]), 1.5);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mae;

impl<const N: usize> Loss<N> for Mae {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        y.iter().zip(t).map(|(y, t)| (y - t).abs()).sum::<f32>() / N as f32
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        for ((d, y), t) in dz.iter_mut().zip(y).zip(t) {
            // The subgradient at y = t is taken as 0.
            let r = y - t;
            *d = if r > 0.0 {
                1.0
            } else if r < 0.0 {
                -1.0
            } else {
                0.0
            } / N as f32;
        }
        A::backward(y, dz);
    }
}
