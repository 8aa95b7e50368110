use super::{Loss, EPSILON};
use crate::activation::Link;
use crate::Differentiable;

/// Binary cross-entropy, `−mean(t·ln y + (1 − t)·ln(1 − y))` over the outputs, each output a
/// probability (Keras' `binary_crossentropy`).
///
/// After a [`Sigmoid`](crate::Sigmoid) output layer the gradient is fused to `(y − t) / N`, which
/// stays finite however saturated the output is. Probabilities are clamped to `[1e-7, 1 − 1e-7]`
/// for the loss value.
///
/// ```
/// use nn_core::{BinaryCrossEntropy, Loss, Sigmoid};
/// let l = BinaryCrossEntropy::loss(&[0.5], &[1.0]);
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-6);
/// let mut dz = [0.0];
/// BinaryCrossEntropy::delta::<Sigmoid>(&[0.75], &[1.0], &mut dz);
/// assert_eq!(dz, [-0.25]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossEntropy;

impl<const N: usize> Loss<N> for BinaryCrossEntropy {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        let sum: f32 = y
            .iter()
            .zip(t)
            .map(|(&y, &t)| {
                let y = y.clamp(EPSILON, 1.0 - EPSILON);
                -(t * libm::logf(y) + (1.0 - t) * libm::logf(1.0 - y))
            })
            .sum();
        sum / N as f32
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        let fused = matches!(A::LINK, Link::Logistic);
        for ((d, &y), &t) in dz.iter_mut().zip(y).zip(t) {
            *d = if fused {
                y - t
            } else if (EPSILON..=1.0 - EPSILON).contains(&y) {
                (y - t) / (y * (1.0 - y))
            } else {
                // The loss is clamped flat there, so its gradient is zero (as Keras' clip).
                0.0
            } / N as f32;
        }
        if !fused {
            A::backward(y, dz);
        }
    }
}
