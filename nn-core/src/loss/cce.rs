use super::Loss;
use crate::activation::Link;
use crate::Differentiable;

/// Categorical cross-entropy, `−Σ t·ln p` with `p = y / Σy` clipped to `[1e-7, 1 − 1e-7]`, for
/// one-hot or probability targets: Keras 3's `categorical_crossentropy(from_logits=False)`
/// exactly. Dividing by the sum makes outputs that are not a distribution (sigmoids) one, as Keras
/// does, instead of training them to nonsense; after a softmax it changes nothing.
///
/// After a [`Softmax`](crate::Softmax) output layer the gradient is fused to `y·Σt − t` (`y − t`
/// for a distribution), stable for any logits. Otherwise it is the gradient through the division
/// and the clip: `Σ_{j unclipped} t_j / Σy − t_i / y_i` (the second term only where `p_i` is not
/// clipped).
///
/// ```
/// use nn_core::{CategoricalCrossEntropy, Loss, Sigmoid, Softmax};
/// let y = [0.25, 0.75];
/// assert!((CategoricalCrossEntropy::loss(&y, &[0.0, 1.0]) - 0.287_682).abs() < 1e-6);
/// let mut dz = [0.0; 2];
/// CategoricalCrossEntropy::delta::<Softmax>(&y, &[0.0, 1.0], &mut dz);
/// assert_eq!(dz, [0.25, -0.25]);
/// // Two sigmoid outputs of 0.5 are the distribution (0.5, 0.5): ln 2, not −ln 0.5 − … of raw values.
/// assert!((CategoricalCrossEntropy::loss(&[0.5, 0.5], &[1.0, 0.0]) - 0.693_147).abs() < 1e-6);
/// // Raw outputs (0.2, 0.6) are p = (0.25, 0.75): dL/dy = (1/0.8 − 1/0.2, 1/0.8) = (−3.75, 1.25),
/// // then through the sigmoid's y(1 − y): (−0.6, 0.3).
/// CategoricalCrossEntropy::delta::<Sigmoid>(&[0.2, 0.6], &[1.0, 0.0], &mut dz);
/// assert!((dz[0] + 0.6).abs() < 1e-6 && (dz[1] - 0.3).abs() < 1e-6, "{dz:?}");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossEntropy;

impl<const N: usize> Loss<N> for CategoricalCrossEntropy {
    type Target = [f32; N];

    fn loss(y: &[f32; N], t: &[f32; N]) -> f32 {
        let s = super::normalised_sum(y);
        -y.iter()
            .zip(t)
            .map(|(&y, &t)| t * super::clipped_ln(y / s))
            .sum::<f32>()
    }

    fn delta<A: Differentiable>(y: &[f32; N], t: &[f32; N], dz: &mut [f32; N]) {
        if matches!(A::LINK, Link::Softmax) {
            let mass: f32 = t.iter().sum();
            for ((d, &y), &t) in dz.iter_mut().zip(y).zip(t) {
                *d = y * mass - t;
            }
        } else {
            let s = super::normalised_sum(y);
            let mass: f32 = y
                .iter()
                .zip(t)
                .filter(|(&y, _)| super::unclipped(y / s))
                .map(|(_, &t)| t)
                .sum();
            for ((d, &y), &t) in dz.iter_mut().zip(y).zip(t) {
                *d = mass / s - if super::unclipped(y / s) { t / y } else { 0.0 };
            }
            A::backward(y, dz);
        }
    }
}
