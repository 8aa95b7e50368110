//! Feature-wise normalisation with Keras' `Normalization` semantics: `adapt` on training data
//! stores each feature's mean and population variance, and the layer computes
//! `(x − mean) / max(√variance, ε)` with Keras' `ε = 1e-7`. Mean and variance are state that
//! travels with the weights, never trained: their gradients are zero, so no optimizer moves them.

use core::fmt;

use super::{Backprop, Layer, Op, ParamTensor};
use crate::{Identity, Parameters, Rng};

/// Keras' `backend.epsilon()`, the floor of the standard deviation (a constant feature is only
/// centred, not divided by zero).
const EPS: f32 = 1e-7;

/// Keras' `keras.layers.Normalization()` over the features of a vector `[f32; N]`:
/// `y = (x − mean) / max(√variance, 1e-7)`, per feature.
///
/// `mean` and `variance` (Keras' weight names) are state, not trained: [`adapt`](Self::adapt)
/// sets them from data, weight files carry them, and the gradient of both is zero. A new layer is
/// the identity (mean 0, variance 1) until adapted. The gradient passes to the input divided by
/// each feature's standard deviation.
///
/// ```
/// use nn_core::{layer::Layer, Normalization};
/// let mut norm = Normalization::<2>::default();
/// // Feature 0: mean 2, population variance 2/3; feature 1 is constant.
/// norm.adapt(&[[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]).unwrap();
/// assert_eq!(norm.mean, [2.0, 5.0]);
/// assert!((norm.variance[0] - 2.0 / 3.0).abs() < 1e-7 && norm.variance[1] == 0.0);
/// let mut y = [[0.0; 2]];
/// norm.forward(&[[3.0, 6.0]], &mut y);
/// assert!((y[0][0] - 1.2247449).abs() < 1e-6); // 1 / √(2/3)
/// assert_eq!(y[0][1], 1.0 / 1e-7); // √0 is floored at ε
/// assert_eq!(<Normalization<2> as Layer>::PARAMS, 0); // nothing to train
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq)]
pub struct Normalization<const N: usize> {
    /// Each feature's mean (Keras' `mean`), subtracted.
    pub mean: [f32; N],
    /// Each feature's population variance (Keras' `variance`); the output is divided by its
    /// square root, at least `1e-7`.
    pub variance: [f32; N],
}

// SAFETY: repr(C) of two f32 arrays: no padding, every byte an f32.
unsafe impl<const N: usize> Parameters for Normalization<N> {}

/// Why [`Normalization::adapt`] refused its data (the layer is left as it was).
///
/// ```
/// use nn_core::{layer::AdaptError, Normalization};
/// let mut norm = Normalization::<2>::default();
/// assert_eq!(norm.adapt(&[]), Err(AdaptError::Empty));
/// let err = norm.adapt(&[[0.0, 1.0], [f32::NAN, 2.0]]).unwrap_err();
/// assert_eq!(err, AdaptError::NonFinite { sample: 1, feature: 0 });
/// assert_eq!(err.to_string(), "sample 1, feature 0 is NaN or infinite: cannot adapt to it");
/// assert_eq!(norm, Normalization::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdaptError {
    /// No samples: there is no mean to take.
    Empty,
    /// A NaN or infinite value.
    NonFinite {
        /// Index of the sample.
        sample: usize,
        /// Index of the feature within it.
        feature: usize,
    },
}

impl fmt::Display for AdaptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdaptError::Empty => f.write_str("no samples to adapt to"),
            AdaptError::NonFinite { sample, feature } => write!(
                f,
                "sample {sample}, feature {feature} is NaN or infinite: cannot adapt to it"
            ),
        }
    }
}

impl core::error::Error for AdaptError {}

impl<const N: usize> Normalization<N> {
    /// A layer with the given mean and variance (Keras' `Normalization(mean=…, variance=…)`;
    /// usable in `const` and `static` items).
    pub const fn new(mean: [f32; N], variance: [f32; N]) -> Self {
        Normalization { mean, variance }
    }

    /// Sets `mean` and `variance` to each feature's mean and population variance over `samples`,
    /// as Keras' `adapt` does on an array. Sums run in `f64`, the variance over the deviations
    /// from the mean (two passes), so large offsets lose nothing; the results are rounded to `f32`
    /// once. An empty slice or a NaN or infinite value is an error and leaves the layer as it was.
    ///
    /// ```
    /// use nn_core::Normalization;
    /// let mut norm = Normalization::<1>::default();
    /// norm.adapt(&[[1e6 + 1.0], [1e6 + 3.0]]).unwrap();
    /// assert_eq!((norm.mean, norm.variance), ([1e6 + 2.0], [1.0]));
    /// ```
    pub fn adapt(&mut self, samples: &[[f32; N]]) -> Result<(), AdaptError> {
        if samples.is_empty() {
            return Err(AdaptError::Empty);
        }
        for (sample, x) in samples.iter().enumerate() {
            if let Some(feature) = x.iter().position(|v| !v.is_finite()) {
                return Err(AdaptError::NonFinite { sample, feature });
            }
        }
        let n = samples.len() as f64;
        let mut mean = [0.0f64; N];
        for x in samples {
            for (m, &v) in mean.iter_mut().zip(x) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = [0.0f64; N];
        for x in samples {
            for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(x) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        self.mean = mean.map(|m| m as f32);
        self.variance = var.map(|s| (s / n) as f32);
        Ok(())
    }

    /// `max(√variance, ε)` per feature: what the centred input is divided by.
    #[inline]
    fn scale(&self) -> [f32; N] {
        self.variance.map(|v| libm::sqrtf(v).max(EPS))
    }
}

impl<const N: usize> Default for Normalization<N> {
    /// The identity: mean 0, variance 1 (Keras requires `adapt` or values; this is what a network
    /// holds until then).
    fn default() -> Self {
        Normalization::new([0.0; N], [1.0; N])
    }
}

impl<const N: usize> Layer for Normalization<N> {
    type Input = [f32; N];
    type Output = [f32; N];
    type Activation = Identity;
    const KIND: &'static str = "Normalization";
    const OP: Op = Op::Normalization { epsilon: EPS };
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[
        ParamTensor {
            name: "mean",
            shape: &[N],
            trainable: false,
        },
        ParamTensor {
            name: "variance",
            shape: &[N],
            trainable: false,
        },
    ];

    /// The identity ([`Default`]); draws nothing from `rng`. Call [`adapt`](Self::adapt) after.
    fn init(&mut self, _: &mut Rng) {
        *self = Self::default();
    }

    /// `(x − mean) / max(√variance, ε)`, divided as Keras divides (not multiplied by a
    /// reciprocal), so the outputs are Keras' to the bit.
    #[inline]
    fn forward<const B: usize>(&self, x: &[[f32; N]; B], y: &mut [[f32; N]; B]) {
        let scale = self.scale();
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (((y, &x), &m), &s) in y.iter_mut().zip(x).zip(&self.mean).zip(&scale) {
                *y = (x - m) / s;
            }
        }
    }
}

impl<const N: usize, const B: usize> Backprop<B> for Normalization<N> {
    type Scratch = ();
    type Derivative = Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[[f32; N]; B], _: &mut [[f32; N]; B]) {}

    /// `dx = dz / max(√variance, ε)`; the gradients of mean and variance are zero, so that no
    /// optimizer step moves them.
    #[inline]
    fn backward(
        &self,
        _x: &[[f32; N]; B],
        _y: &[[f32; N]; B],
        dz: &[[f32; N]; B],
        _: &(),
        grad: &mut Self,
        dx: Option<&mut [[f32; N]; B]>,
    ) {
        *grad = Normalization::new([0.0; N], [0.0; N]);
        if let Some(dx) = dx {
            let scale = self.scale();
            for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
                for ((dx, &d), &s) in dx.iter_mut().zip(dz).zip(&scale) {
                    *dx = d / s;
                }
            }
        }
    }
}

impl<const N: usize> fmt::Debug for Normalization<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The shape, as `Dense` shows it.
        write!(f, "Normalization<{N}>")
    }
}
