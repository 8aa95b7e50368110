//! Loss functions, one file each. A loss is a zero-sized type named in the training call
//! (`net.gradient::<Mse>(..)`); its `Target` type says what a target looks like, so a target of
//! the wrong width is a type error.

mod bce;
mod cce;
mod huber;
mod mae;
mod mse;
mod sparse_cce;
mod weighted;

pub use bce::BinaryCrossEntropy;
pub use cce::CategoricalCrossEntropy;
pub use huber::Huber;
pub use mae::Mae;
pub use mse::Mse;
pub use sparse_cce::SparseCategoricalCrossEntropy;
pub use weighted::{Weighted, WeightedTarget};

use crate::Differentiable;

/// Clamp for probabilities before a logarithm, as Keras' `epsilon()`.
pub(crate) const EPSILON: f32 = 1e-7;

/// Keras' probabilities for cross-entropy without logits: the outputs divided by their sum (so
/// that outputs that are not a distribution, such as sigmoids, are made one, as
/// `categorical_crossentropy(from_logits=False)` does) — the returned sum is at least
/// [`EPSILON`], so all-zero outputs give probabilities 0, not NaN.
#[inline]
pub(crate) fn normalised_sum<const N: usize>(y: &[f32; N]) -> f32 {
    let s: f32 = y.iter().sum();
    // NaN stays NaN (a diverged network must show it), a non-positive sum becomes EPSILON.
    if s < EPSILON {
        EPSILON
    } else {
        s
    }
}

/// Whether Keras' clip to `[ε, 1 − ε]` leaves `p` as it is (where it does not, the loss is flat
/// and its gradient zero).
#[inline]
pub(crate) fn unclipped(p: f32) -> bool {
    (EPSILON..=1.0 - EPSILON).contains(&p)
}

/// `ln p` of a probability clipped to `[ε, 1 − ε]`, as Keras; NaN stays NaN.
#[inline]
pub(crate) fn clipped_ln(p: f32) -> f32 {
    libm::logf(if p > 1.0 - EPSILON {
        1.0 - EPSILON
    } else {
        at_least_epsilon(p)
    })
}

/// `y`, raised to [`EPSILON`] if below it; a NaN stays NaN (`f32::max` would turn it into
/// `EPSILON` and hide a diverged network behind a finite loss).
#[inline]
pub(crate) fn at_least_epsilon(y: f32) -> f32 {
    if y < EPSILON {
        EPSILON
    } else {
        y
    }
}

/// A loss over `N` network outputs, per sample.
///
/// ```
/// use nn_core::{Identity, Loss, Mse};
/// let (y, t) = ([1.0, 3.0], [0.0, 3.0]);
/// assert_eq!(Mse::loss(&y, &t), 0.5); // mean of (1², 0²)
/// let mut dz = [0.0; 2];
/// Mse::delta::<Identity>(&y, &t, &mut dz);
/// assert_eq!(dz, [1.0, 0.0]); // 2·(y − t) / N
/// ```
pub trait Loss<const N: usize> {
    /// What one sample's target is: `[f32; N]` for regression and one-hot targets, `usize` for a
    /// class index.
    type Target: FromLabel;

    /// The fewest outputs this loss works with (2 for a class index into the outputs).
    const MIN_OUTPUTS: usize = 1;

    /// The loss of one sample with outputs `y`.
    fn loss(y: &[f32; N], target: &Self::Target) -> f32;

    /// Whether `target` is a valid target for `N` outputs (a class index below `N`). Checked
    /// once per batch by [`output_delta`](crate::layer::output_delta); `loss` and `delta` may
    /// assume it.
    #[inline]
    fn valid_target(target: &Self::Target) -> bool {
        let _ = target;
        true
    }

    /// Writes `dL/dz` into `dz`, for an output layer `y = A(z)`.
    fn delta<A: Differentiable>(y: &[f32; N], target: &Self::Target, dz: &mut [f32; N]);
}

/// A target built from a class label, so that `fit` can train any loss from labelled data.
///
/// ```
/// use nn_core::loss::FromLabel;
/// assert_eq!(<[f32; 3]>::from_label(1), [0.0, 1.0, 0.0]); // one-hot
/// assert_eq!(<[f32; 1]>::from_label(1), [1.0]);            // a single output: the label itself
/// assert_eq!(usize::from_label(7), 7);
/// ```
pub trait FromLabel {
    /// The target for class `label`.
    fn from_label(label: usize) -> Self;
}

impl<const N: usize> FromLabel for [f32; N] {
    fn from_label(label: usize) -> Self {
        let mut t = [0.0; N];
        if N == 1 {
            t[0] = label as f32;
        } else if let Some(v) = t.get_mut(label) {
            *v = 1.0;
        }
        t
    }
}

impl FromLabel for usize {
    fn from_label(label: usize) -> Self {
        label
    }
}

/// A loss target built from a data set's per-sample target `T`, so that
/// [`Fit`](crate::train::Fit) trains any loss on any data it fits: a class label becomes a class
/// index or a one-hot vector ([`FromLabel`]); a float vector `[f32; N]` is used as it is, and only
/// for a loss whose target is `[f32; N]` (a class-index loss on float targets, or a target of the
/// wrong width, does not compile).
///
/// ```
/// use nn_core::loss::FromTarget;
/// assert_eq!(<[f32; 2]>::from_target(&1usize), [0.0, 1.0]);
/// assert_eq!(usize::from_target(&1usize), 1);
/// assert_eq!(<[f32; 2]>::from_target(&[0.25, 0.5]), [0.25, 0.5]);
/// ```
pub trait FromTarget<T> {
    /// The loss target for the data set's target `target`.
    fn from_target(target: &T) -> Self;
}

impl<T: FromLabel> FromTarget<usize> for T {
    #[inline]
    fn from_target(label: &usize) -> Self {
        T::from_label(*label)
    }
}

impl<const N: usize> FromTarget<[f32; N]> for [f32; N] {
    #[inline]
    fn from_target(target: &[f32; N]) -> Self {
        *target
    }
}
