use super::Loss;
use crate::activation::Link;
use crate::Differentiable;

/// Categorical cross-entropy with the target given as a class index, `−ln p[label]` with
/// `p = y / Σy` clipped to `[1e-7, 1 − 1e-7]` (Keras 3's `sparse_categorical_crossentropy`, see
/// [`CategoricalCrossEntropy`](crate::CategoricalCrossEntropy)): no one-hot vector is built.
///
/// After a [`Softmax`](crate::Softmax) output layer the gradient is fused to `y − onehot(label)`.
/// A label must be `< N` ([`Loss::valid_target`], checked once per batch; `Fit` and `evaluate`
/// check their data first and return an error).
///
/// ```
/// use nn_core::{Loss, Softmax, SparseCategoricalCrossEntropy as Sparse};
/// let y = [0.25, 0.75];
/// assert!((Sparse::loss(&y, &1) - 0.287_682).abs() < 1e-6);
/// let mut dz = [0.0; 2];
/// Sparse::delta::<Softmax>(&y, &1, &mut dz);
/// assert_eq!(dz, [0.25, -0.25]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SparseCategoricalCrossEntropy;

impl<const N: usize> Loss<N> for SparseCategoricalCrossEntropy {
    type Target = usize;
    const MIN_OUTPUTS: usize = 2;

    /// A label indexes the outputs.
    #[inline]
    fn valid_target(&label: &usize) -> bool {
        label < N
    }

    /// `label < N` (see [`valid_target`](Loss::valid_target)).
    fn loss(y: &[f32; N], &label: &usize) -> f32 {
        -super::clipped_ln(y[label] / super::normalised_sum(y))
    }

    fn delta<A: Differentiable>(y: &[f32; N], &label: &usize, dz: &mut [f32; N]) {
        if matches!(A::LINK, Link::Softmax) {
            *dz = *y;
            dz[label] -= 1.0;
        } else {
            // −ln(y_l / Σy): 1/Σy − [i = l]/y_l, zero where the clip makes the loss flat.
            let s = super::normalised_sum(y);
            *dz = [0.0; N];
            if super::unclipped(y[label] / s) {
                *dz = [1.0 / s; N];
                dz[label] -= 1.0 / y[label];
            }
            A::backward(y, dz);
        }
    }
}
