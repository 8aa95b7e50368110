use super::{FromLabel, Loss};
use crate::Differentiable;

/// Loss `L` with a weight per sample, as Keras' `sample_weight` and `class_weight`: each sample's
/// loss and gradient are multiplied by its weight, and the batch loss stays the mean over the
/// batch's samples (Keras' default reduction, `sum_over_batch_size`: divided by the number of
/// samples, not by the sum of the weights). `Fit` uses it when given weights.
///
/// ```
/// use nn_core::loss::{Weighted, WeightedTarget};
/// use nn_core::{Loss, Mse};
/// let t = WeightedTarget { target: [1.0], weight: 3.0 };
/// assert_eq!(Weighted::<Mse>::loss(&[0.0], &t), 3.0 * Mse::loss(&[0.0], &[1.0]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weighted<L>(pub L);

/// A target and its sample's weight.
///
/// ```
/// use nn_core::loss::{FromLabel, WeightedTarget};
/// // From a bare label: weight 1.
/// assert_eq!(WeightedTarget::<usize>::from_label(2), WeightedTarget { target: 2, weight: 1.0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedTarget<T> {
    /// The loss's target.
    pub target: T,
    /// The sample's weight (≥ 0).
    pub weight: f32,
}

impl<T: FromLabel> FromLabel for WeightedTarget<T> {
    fn from_label(label: usize) -> Self {
        WeightedTarget {
            target: T::from_label(label),
            weight: 1.0,
        }
    }
}

impl<L: Loss<N>, const N: usize> Loss<N> for Weighted<L> {
    type Target = WeightedTarget<L::Target>;

    const MIN_OUTPUTS: usize = L::MIN_OUTPUTS;

    #[inline]
    fn loss(y: &[f32; N], t: &Self::Target) -> f32 {
        t.weight * L::loss(y, &t.target)
    }

    #[inline]
    fn valid_target(t: &Self::Target) -> bool {
        L::valid_target(&t.target)
    }

    #[inline]
    fn delta<A: Differentiable>(y: &[f32; N], t: &Self::Target, dz: &mut [f32; N]) {
        L::delta::<A>(y, &t.target, dz);
        for d in dz.iter_mut() {
            *d *= t.weight;
        }
    }
}
