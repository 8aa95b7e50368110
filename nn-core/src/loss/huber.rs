use super::Loss;
use crate::Differentiable;

/// Smooth L1 / Huber loss with threshold 1: `½r²` for `|r| ≤ 1`, else `|r| − ½`, averaged over the
/// outputs (`r = y − t`; PyTorch's `SmoothL1Loss`, Keras' `Huber(delta=1)`).
///
/// ```
/// use nn_core::{Huber, Loss};
/// assert_eq!(Huber::loss(&[0.5, 3.0], &[0.0, 0.0]), (0.125 + 2.5) / 2.0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Huber;

impl<const N: usize> Loss<N> for Huber {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        let sum: f32 = y
            .iter()
            .zip(t)
            .map(|(y, t)| {
                let r = (y - t).abs();
                if r <= 1.0 {
                    0.5 * r * r
                } else {
                    r - 0.5
                }
            })
            .sum();
        sum / N as f32
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        for ((d, y), t) in dz.iter_mut().zip(y).zip(t) {
            *d = (y - t).clamp(-1.0, 1.0) / N as f32;
        }
        A::backward(y, dz);
    }
}
