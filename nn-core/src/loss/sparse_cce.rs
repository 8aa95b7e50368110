use super::{Loss, EPSILON};
use crate::activation::Link;
use crate::Differentiable;

/// Categorical cross-entropy with the target given as a class index, `−ln y[label]` (Keras'
/// `sparse_categorical_crossentropy`): no one-hot vector is built.
///
/// After a [`Softmax`](crate::Softmax) output layer the gradient is fused to `y − onehot(label)`.
/// A label must be `< N`; the data loaders check this when they read a file, and an out-of-range
/// label here panics like any out-of-bounds index.
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
        -libm::logf(super::at_least_epsilon(y[label]))
    }

    fn delta<A: Differentiable>(y: &[f32; N], &label: &usize, dz: &mut [f32; N]) {
        if matches!(A::LINK, Link::Softmax) {
            *dz = *y;
            dz[label] -= 1.0;
        } else {
            *dz = [0.0; N];
            // Below the clamp the loss is flat, so its gradient is zero (as Keras' clip).
            if y[label] >= EPSILON {
                dz[label] = -1.0 / y[label];
            }
            A::backward(y, dz);
        }
    }
}
