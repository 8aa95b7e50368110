use super::{Loss, EPSILON};
use crate::activation::Link;
use crate::Differentiable;

/// Categorical cross-entropy, `−Σ t·ln y`, for one-hot or probability targets (Keras'
/// `categorical_crossentropy`).
///
/// After a [`Softmax`](crate::Softmax) output layer the gradient is fused to `y·Σt − t` (`y − t`
/// for a distribution), stable for any logits. Probabilities are clamped to `≥ 1e-7` for the loss
/// value.
///
/// ```
/// use nn_core::{CategoricalCrossEntropy, Loss, Softmax};
/// let y = [0.25, 0.75];
/// assert!((CategoricalCrossEntropy::loss(&y, &[0.0, 1.0]) - 0.287_682).abs() < 1e-6);
/// let mut dz = [0.0; 2];
/// CategoricalCrossEntropy::delta::<Softmax>(&y, &[0.0, 1.0], &mut dz);
/// assert_eq!(dz, [0.25, -0.25]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossEntropy;

impl<const N: usize> Loss<N> for CategoricalCrossEntropy {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        -y.iter()
            .zip(t)
            .map(|(&y, &t)| t * libm::logf(super::at_least_epsilon(y)))
            .sum::<f32>()
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        if matches!(A::LINK, Link::Softmax) {
            let mass: f32 = t.iter().sum();
            for ((d, &y), &t) in dz.iter_mut().zip(y).zip(t) {
                *d = y * mass - t;
            }
        } else {
            for ((d, &y), &t) in dz.iter_mut().zip(y).zip(t) {
                // Below the clamp the loss is flat, so its gradient is zero (as Keras' clip).
                *d = if y >= EPSILON { -t / y } else { 0.0 };
            }
            A::backward(y, dz);
        }
    }
}
