//! Batch normalisation with PyTorch's semantics and defaults (`eps = 1e-5`, `momentum = 0.1`):
//! training normalises with the batch's statistics (biased variance) and moves the running
//! statistics towards them (unbiased variance); inference normalises with the running statistics.
//!
//! The three kinds differ only in where a channel's values are: `C` blocks of `H·W` or `L`
//! values per sample, or one value per feature. They share the code below through
//! [`Tensor::flat`] and a per-sample channel stride `S = LEN / C`.

use core::fmt;

use super::{Backprop, Layer, Op, ParamTensor, Tensor};
use crate::{Identity, Parameters, Rng};

/// Added to the variance before the square root (PyTorch's default).
const EPS: f32 = 1e-5;
/// Weight of the current batch in the running statistics (PyTorch's default).
const MOMENTUM: f32 = 0.1;

/// Channel `c` of one sample: its `LEN / C` values are contiguous (channel-major layout).
#[inline(always)]
fn channel<T: Tensor, const C: usize>(x: &T, c: usize) -> &[f32] {
    let s = T::LEN / C;
    &x.flat()[c * s..(c + 1) * s]
}

#[inline(always)]
fn channel_mut<T: Tensor, const C: usize>(x: &mut T, c: usize) -> &mut [f32] {
    let s = T::LEN / C;
    &mut x.flat_mut()[c * s..(c + 1) * s]
}

/// `y = x·scale + shift` per channel, all values of the batch.
#[inline(always)]
fn affine<T: Tensor, const C: usize, const B: usize>(
    c: usize,
    scale: f32,
    shift: f32,
    x: &[T; B],
    y: &mut [T; B],
) {
    for (x, y) in x.iter().zip(y.iter_mut()) {
        let values = channel::<T, C>(x, c).iter().zip(channel_mut::<T, C>(y, c));
        for (&x, y) in values {
            *y = x * scale + shift;
        }
    }
}

/// The running variance that makes inference the identity after folding: `√(var + ε)` is exactly 1
/// in `f32` (`0.99999 + 1e-5` rounds to 1), so the scale is `γ / 1 = 1` and the shift `0`.
pub(super) const IDENTITY_VAR: f32 = 1.0 - EPS;

/// The inference map per channel: `scale = γ / √(var + ε)`, `shift = β − mean · scale`.
#[inline]
pub(super) fn inference_affine<const C: usize>(
    weight: &[f32; C],
    bias: &[f32; C],
    mean: &[f32; C],
    var: &[f32; C],
) -> ([f32; C], [f32; C]) {
    let scale: [f32; C] = core::array::from_fn(|c| weight[c] / libm::sqrtf(var[c] + EPS));
    let shift = core::array::from_fn(|c| bias[c] - mean[c] * scale[c]);
    (scale, shift)
}

/// Inference: the running statistics folded into one scale and shift per channel; a plain copy
/// once the layer has been folded into the one before it (every scale 1, every shift 0).
#[inline]
fn infer<T: Tensor, const C: usize, const B: usize>(
    [weight, bias, mean, var]: [&[f32; C]; 4],
    x: &[T; B],
    y: &mut [T; B],
) {
    let (scale, shift) = inference_affine(weight, bias, mean, var);
    if scale.iter().all(|&s| s == 1.0) && shift.iter().all(|&t| t == 0.0) {
        y.copy_from_slice(x);
        return;
    }
    for c in 0..C {
        affine::<T, C, B>(c, scale[c], shift[c], x, y);
    }
}

/// Training forward pass: normalises with the batch statistics and leaves them in `stats`
/// (`[mean, 1/√(var + ε), unbiased var]`, per channel) for `backward` and `update_state`.
#[inline]
fn train<T: Tensor, const C: usize, const B: usize>(
    weight: &[f32; C],
    bias: &[f32; C],
    x: &[T; B],
    y: &mut [T; B],
    stats: &mut [[f32; C]; 3],
) {
    // PyTorch refuses this at run time: the unbiased variance of one value is 0/0.
    const {
        assert!(
            B * (T::LEN / C) > 1,
            "BatchNorm: training needs more than one value per channel (batch size × positions)"
        )
    };
    let n = B * (T::LEN / C);
    for c in 0..C {
        let values = || x.iter().flat_map(|x| channel::<T, C>(x, c));
        let mean = values().sum::<f32>() / n as f32;
        // Two passes (mean, then squared deviations): no cancellation for large means.
        let squares: f32 = values().map(|v| (v - mean) * (v - mean)).sum();
        let inv_std = 1.0 / libm::sqrtf(squares / n as f32 + EPS);
        stats[0][c] = mean;
        stats[1][c] = inv_std;
        stats[2][c] = squares / (n - 1) as f32;
        let scale = weight[c] * inv_std;
        affine::<T, C, B>(c, scale, bias[c] - mean * scale, x, y);
    }
}

/// Gradients of the training pass. With `x̂ = (x − μ)/σ`: `dγ = Σ dy·x̂`, `dβ = Σ dy`, and, since μ
/// and σ depend on every input of the channel, `dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))`.
#[inline]
fn backward<T: Tensor, const C: usize, const B: usize>(
    weight: &[f32; C],
    x: &[T; B],
    dz: &[T; B],
    stats: &[[f32; C]; 3],
    d_weight: &mut [f32; C],
    d_bias: &mut [f32; C],
    mut dx: Option<&mut [T; B]>,
) {
    let n = (B * (T::LEN / C)) as f32;
    for c in 0..C {
        let (mean, inv_std) = (stats[0][c], stats[1][c]);
        let (mut sum_d, mut sum_d_xhat) = (0.0, 0.0);
        for (x, dz) in x.iter().zip(dz) {
            for (&x, &d) in channel::<T, C>(x, c).iter().zip(channel::<T, C>(dz, c)) {
                sum_d += d;
                sum_d_xhat += d * (x - mean) * inv_std;
            }
        }
        d_weight[c] = sum_d_xhat;
        d_bias[c] = sum_d;
        if let Some(dx) = dx.as_deref_mut() {
            let k = weight[c] * inv_std;
            let (mean_d, mean_d_xhat) = (sum_d / n, sum_d_xhat / n);
            for ((x, dz), dx) in x.iter().zip(dz).zip(dx.iter_mut()) {
                let values = channel::<T, C>(x, c).iter().zip(channel::<T, C>(dz, c));
                for ((&x, &d), dx) in values.zip(channel_mut::<T, C>(dx, c)) {
                    *dx = k * (d - mean_d - (x - mean) * inv_std * mean_d_xhat);
                }
            }
        }
    }
}

/// The momentum update of the running statistics, PyTorch's formula.
#[inline]
fn update<const C: usize>(mean: &mut [f32; C], var: &mut [f32; C], stats: &[[f32; C]; 3]) {
    for c in 0..C {
        mean[c] = MOMENTUM * stats[0][c] + (1.0 - MOMENTUM) * mean[c];
        var[c] = MOMENTUM * stats[2][c] + (1.0 - MOMENTUM) * var[c];
    }
}

/// The struct and trait impls of one batch-norm kind: `$name<$p…>` with `$c` channels on
/// tensors `$t`.
macro_rules! batch_norm {
    ($(#[$doc:meta])* $name:ident<$($p:ident),+>, channels $c:ident, tensor $t:ty) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, PartialEq)]
        pub struct $name<$(const $p: usize),+> {
            /// γ, the per-channel scale (trained).
            pub weight: [f32; $c],
            /// β, the per-channel shift (trained).
            pub bias: [f32; $c],
            /// Mean for inference; moved towards each training batch's mean, not trained.
            pub running_mean: [f32; $c],
            /// Variance for inference; moved towards each training batch's unbiased variance,
            /// not trained.
            pub running_var: [f32; $c],
        }

        // SAFETY: repr(C) of four f32 arrays: no padding, every byte an f32.
        unsafe impl<$(const $p: usize),+> Parameters for $name<$($p),+> {}

        impl<$(const $p: usize),+> $name<$($p),+> {
            /// A layer with the given parameters and running statistics (usable in `const` and
            /// `static` items).
            pub const fn new(
                weight: [f32; $c],
                bias: [f32; $c],
                running_mean: [f32; $c],
                running_var: [f32; $c],
            ) -> Self {
                $name { weight, bias, running_mean, running_var }
            }
        }

        impl<$(const $p: usize),+> Default for $name<$($p),+> {
            /// PyTorch's initial state: γ = 1, β = 0, running mean 0, running variance 1.
            fn default() -> Self {
                $name::new([1.0; $c], [0.0; $c], [0.0; $c], [1.0; $c])
            }
        }

        impl<$(const $p: usize),+> Layer for $name<$($p),+> {
            type Input = $t;
            type Output = $t;
            type Activation = Identity;
            const KIND: &'static str = "BatchNorm";
    const OP: Op = Op::BatchNorm { epsilon: EPS };
            const PARAMS: usize = 2 * $c;
            const TENSORS: &'static [ParamTensor] = &[
                ParamTensor { name: "weight", shape: &[$c], trainable: true },
                ParamTensor { name: "bias", shape: &[$c], trainable: true },
                ParamTensor { name: "running_mean", shape: &[$c], trainable: false },
                ParamTensor { name: "running_var", shape: &[$c], trainable: false },
            ];

            /// PyTorch's initial state (the [`Default`]); draws nothing from `rng`.
            fn init(&mut self, _: &mut Rng) {
                *self = Self::default();
            }

            /// Normalises with the running statistics.
            #[inline]
            fn forward<const B: usize>(&self, x: &[$t; B], y: &mut [$t; B]) {
                let stats = [&self.weight, &self.bias, &self.running_mean, &self.running_var];
                infer::<$t, $c, B>(stats, x, y);
            }
        }

        impl<$(const $p: usize),+, const B: usize> Backprop<B> for $name<$($p),+> {
            /// Per channel: the batch mean, `1/√(var + ε)` and the unbiased variance.
            type Scratch = [[f32; $c]; 3];

            type Derivative = crate::Identity;

            /// No activation: `dL/dy` is `dL/dz`.
            #[inline]
            fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

            /// Normalises with the batch statistics (needs more than one value per channel:
            /// `B` > 1 for [`BatchNormDense`], checked at compile time).
            #[inline]
            fn forward_train(
                &self,
                x: &[$t; B],
                y: &mut [$t; B],
                stats: &mut [[f32; $c]; 3],
                _: &mut Rng,
            ) {
                train::<$t, $c, B>(&self.weight, &self.bias, x, y, stats);
            }

            /// Gradients through the batch statistics; zero for the running statistics, so that
            /// an optimizer step leaves them as they are.
            #[inline]
            fn backward(
                &self,
                x: &[$t; B],
                _y: &[$t; B],
                dz: &[$t; B],
                stats: &[[f32; $c]; 3],
                grad: &mut Self,
                dx: Option<&mut [$t; B]>,
            ) {
                backward::<$t, $c, B>(
                    &self.weight,
                    x,
                    dz,
                    stats,
                    &mut grad.weight,
                    &mut grad.bias,
                    dx,
                );
                grad.running_mean = [0.0; $c];
                grad.running_var = [0.0; $c];
            }

            /// `running = 0.9·running + 0.1·batch`, with the batch's unbiased variance.
            #[inline]
            fn update_state(&mut self, stats: &[[f32; $c]; 3]) {
                update(&mut self.running_mean, &mut self.running_var, stats);
            }
        }

        impl<$(const $p: usize),+> fmt::Debug for $name<$($p),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // The shape, as `Dense` shows it; the values would be noise in a debug print.
                f.write_str(concat!(stringify!($name), "<"))?;
                for (i, dim) in [$($p),+].iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{dim}")?;
                }
                f.write_str(">")
            }
        }
    };
}

batch_norm! {
    /// Batch normalisation of images `[[[f32; W]; H]; C]`, statistics per channel over the batch
    /// and all `H·W` positions: PyTorch's `BatchNorm2d(C)`.
    ///
    /// Holds `4·C` values: γ and β (trained) and the running mean and variance (state, updated by
    /// [`Backprop::update_state`] after each training step).
    ///
    /// ```
    /// use nn_core::{layer::{Backprop, Layer}, BatchNorm2d, Parameters, Rng};
    /// let mut bn = BatchNorm2d::<1, 1, 2>::default(); // γ = 1, β = 0, mean 0, var 1
    /// let x = [[[[1.0, 3.0]]], [[[5.0, 7.0]]]];
    /// let mut y = [[[[0.0; 2]]]; 2];
    /// let mut stats = [[0.0; 1]; 3];
    /// bn.forward_train(&x, &mut y, &mut stats, &mut Rng::new(0));
    /// // Batch mean 4, biased variance 5: y = (x − 4)/√5.
    /// assert!((y[1][0][0][1] - 3.0 / 5f32.sqrt()).abs() < 1e-5);
    /// // update_state does not mention the batch size: name it.
    /// Backprop::<2>::update_state(&mut bn, &stats); // running: 0.9·(0, 1) + 0.1·(4, 20/3)
    /// assert!((bn.running_mean[0] - 0.4).abs() < 1e-6);
    /// assert!((bn.running_var[0] - (0.9 + 2.0 / 3.0)).abs() < 1e-6);
    /// assert_eq!(core::mem::size_of::<BatchNorm2d<8, 28, 28>>(), 4 * 8 * 4);
    /// ```
    BatchNorm2d<C, H, W>, channels C, tensor [[[f32; W]; H]; C]
}

batch_norm! {
    /// Batch normalisation of sequences `[[f32; L]; C]`, statistics per channel over the batch and
    /// all `L` positions: PyTorch's `BatchNorm1d(C)` on `(batch, C, L)` input.
    ///
    /// ```
    /// use nn_core::{layer::Layer, BatchNorm1d};
    /// // Inference uses the running statistics: (x − 1)/√(4 + ε)·2 + 0.5.
    /// let bn = BatchNorm1d::<1, 2>::new([2.0], [0.5], [1.0], [4.0]);
    /// let mut y = [[[0.0; 2]]];
    /// bn.forward(&[[[1.0, 3.0]]], &mut y);
    /// assert!((y[0][0][0] - 0.5).abs() < 1e-5 && (y[0][0][1] - 2.5).abs() < 1e-5);
    /// assert_eq!(<BatchNorm1d<16, 100> as Layer>::PARAMS, 32);
    /// ```
    BatchNorm1d<C, L>, channels C, tensor [[f32; L]; C]
}

batch_norm! {
    /// Batch normalisation of feature vectors `[f32; N]`, statistics per feature over the batch:
    /// PyTorch's `BatchNorm1d(N)` on `(batch, N)` input. Training needs a batch of at least two
    /// (checked at compile time), as in PyTorch.
    ///
    /// ```
    /// use nn_core::{layer::{Backprop, Layer}, BatchNormDense, Rng};
    /// let bn = BatchNormDense::<2>::default();
    /// let mut y = [[0.0; 2]; 2];
    /// bn.forward_train(&[[0.0, 10.0], [2.0, 10.0]], &mut y, &mut [[0.0; 2]; 3], &mut Rng::new(0));
    /// // Feature 0 becomes ±1 (up to ε); feature 1 has no spread and becomes 0.
    /// assert!((y[0][0] + 1.0).abs() < 1e-4 && (y[1][0] - 1.0).abs() < 1e-4);
    /// assert_eq!((y[0][1], y[1][1]), (0.0, 0.0));
    /// let [w, _, mean, _] = <BatchNormDense<2> as Layer>::TENSORS else { unreachable!() };
    /// assert_eq!((w.name, w.shape, w.trainable), ("weight", &[2][..], true));
    /// assert_eq!((mean.name, mean.trainable), ("running_mean", false));
    /// ```
    ///
    /// A batch of one is refused when training is instantiated:
    /// ```compile_fail,E0080
    /// use nn_core::{layer::Backprop, BatchNormDense, Rng};
    /// let bn = BatchNormDense::<2>::default();
    /// bn.forward_train(&[[0.0; 2]], &mut [[0.0; 2]], &mut [[0.0; 2]; 3], &mut Rng::new(0));
    /// ```
    BatchNormDense<N>, channels N, tensor [f32; N]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::pool::tests::{assert_close, flat, pattern, run};
    use crate::layer::testing::{check_gradients, random};
    use crate::{AdaGrad, Adam, Optimizer, RmsProp, Sgd};

    /// What PyTorch printed for one case (scripts/reference/pool_norm_layers.py, torch 2.15.0):
    /// training pass with `dL/dy = r`, running statistics after that step, then inference.
    struct Reference<'a, T, const C: usize, const B: usize> {
        y: &'a [T; B],
        dx: &'a [T; B],
        d_weight: [f32; C],
        d_bias: [f32; C],
        running_mean: [f32; C],
        running_var: [f32; C],
        eval_y: &'a [T; B],
    }

    fn check_reference<L, T: Tensor, const C: usize, const B: usize>(
        mut layer: L,
        x: &[T; B],
        r: &[T; B],
        want: Reference<'_, T, C, B>,
    ) where
        L: Backprop<B, Input = T, Output = T, Scratch = [[f32; C]; 3]>,
    {
        let mut stats = [[0.0; C]; 3];
        let (y, dx, grad) = run(&layer, x, r, &mut stats);
        assert_close("train y", flat(&y), flat(want.y));
        assert_close("train dx", flat(&dx), flat(want.dx));
        // The layer's memory: weight, bias, running_mean, running_var.
        let (g, p) = (flat(&grad), flat(&layer));
        assert_close("d_weight", &g[..C], &want.d_weight);
        assert_close("d_bias", &g[C..2 * C], &want.d_bias);
        assert!(
            g[2 * C..].iter().all(|&v| v == 0.0),
            "running statistics get no gradient"
        );
        assert_eq!(
            &p[2 * C..3 * C],
            &[0.0; C],
            "forward_train leaves the state alone"
        );
        layer.update_state(&stats);
        let p = flat(&layer);
        assert_close("running_mean", &p[2 * C..3 * C], &want.running_mean);
        assert_close("running_var", &p[3 * C..], &want.running_var);
        let mut eval_y = [T::ZERO; B];
        layer.forward(x, &mut eval_y);
        assert_close("eval y", flat(&eval_y), flat(want.eval_y));
    }

    #[test]
    fn batch_norm_2d_matches_pytorch() {
        const C: usize = 2;
        let x: [[[[f32; 3]; 2]; C]; 3] = pattern(7, 36, 10.0, 8.0);
        let r: [[[[f32; 3]; 2]; C]; 3] = pattern(11, 36, 18.0, 16.0);
        let layer = BatchNorm2d::<C, 2, 3>::new([1.5, -0.5], [0.25, -1.0], [0.0; C], [1.0; C]);
        check_reference(
            layer,
            &x,
            &r,
            Reference {
                y: &[
                    [
                        [
                            [-2.2424684, -1.245481, -0.24849367],
                            [0.7484937, 1.745481, 2.7424684],
                        ],
                        [
                            [-0.43863633, -0.78033596, -1.1220355],
                            [-1.4637351, -1.8054347, -0.3898221],
                        ],
                    ],
                    [
                        [
                            [-0.5333472, 0.46364012, 1.4606274],
                            [2.4576147, -1.6727612, -0.675774],
                        ],
                        [
                            [-1.0244071, -1.3661067, -1.7078063],
                            [-0.29219365, -0.63389325, -0.97559285],
                        ],
                    ],
                    [
                        [
                            [1.1757739, 2.1727612, -1.9576148],
                            [-0.96062744, 0.036359847, 1.0333471],
                        ],
                        [
                            [-1.6101779, -0.19456518, -0.5362648],
                            [-0.8779644, -1.219664, -1.5613636],
                        ],
                    ],
                ],
                dx: &[
                    [
                        [
                            [-1.3146925, -0.5609327, 0.19282714],
                            [0.94658697, -0.86333495, -0.10957509],
                        ],
                        [
                            [-0.2859068, 0.28288198, -0.026985379],
                            [-0.33685273, 0.23193602, 0.13492689],
                        ],
                    ],
                    [
                        [
                            [0.34370744, 1.0974673, -0.7124547],
                            [0.041305207, 0.94722855, -0.8626933],
                        ],
                        [
                            [-0.06397415, -0.3738415, 0.19494726],
                            [0.09793812, -0.21192925, 0.35685953],
                        ],
                    ],
                    [
                        [
                            [-0.56157434, 0.1921855, 1.0981089],
                            [-0.711813, 0.041946836, 0.7957066],
                        ],
                        [
                            [0.1579585, 0.060949344, -0.24891803],
                            [0.31987074, 0.010003395, -0.29986396],
                        ],
                    ],
                ],
                d_weight: [0.70323217, -2.7915637],
                d_bias: [1.6875, -2.8125],
                running_mean: [0.09375, 0.09375],
                running_var: [1.0835018, 1.0735754],
                eval_y: &[
                    [
                        [
                            [-1.6863905, -0.42548507, 0.83542037],
                            [2.0963259, 3.3572314, 4.618137],
                        ],
                        [
                            [-0.71347976, -1.1357201, -1.5579605],
                            [-1.9802009, -2.4024413, -0.6531597],
                        ],
                    ],
                    [
                        [
                            [0.47516167, 1.7360672, 2.9969726],
                            [4.257878, -0.9658731, 0.29503232],
                        ],
                        [
                            [-1.4373205, -1.8595608, -2.2818012],
                            [-0.5325196, -0.95475996, -1.3770003],
                        ],
                    ],
                    [
                        [
                            [2.636714, 3.8976192, -1.3261318],
                            [-0.06522636, 1.1956791, 2.4565845],
                        ],
                        [
                            [-2.1611612, -0.41187945, -0.83411986],
                            [-1.2563603, -1.6786007, -2.100841],
                        ],
                    ],
                ],
            },
        );
    }

    #[test]
    fn batch_norm_1d_matches_pytorch() {
        const C: usize = 3;
        let x: [[[f32; 4]; C]; 2] = pattern(5, 24, 8.0, 8.0);
        let r: [[[f32; 4]; C]; 2] = pattern(7, 24, 12.0, 16.0);
        let layer = BatchNorm1d::<C, 4>::new([0.5, 2.0, -1.0], [0.0, 0.5, 1.0], [0.0; C], [1.0; C]);
        check_reference(
            layer,
            &x,
            &r,
            Reference {
                y: &[
                    [
                        [-0.7480892, -0.39185622, -0.035623297, 0.32060963],
                        [2.6373975, -2.777343, -1.3524113, 0.072520465],
                        [0.31574774, -0.4445325, 2.4445324, 1.6842523],
                    ],
                    [
                        [0.10686988, 0.46310282, 0.81933576, -0.5343494],
                        [-0.7824386, 0.6424931, 2.0674248, 3.4923565],
                        [2.1404204, 1.3801401, 0.6198598, -0.14042042],
                    ],
                ],
                dx: &[
                    [
                        [-0.23544103, -0.052079666, 0.13128169, 0.31464306],
                        [-0.7811846, -0.5121017, 0.6770266, -1.5536811],
                        [0.28477636, -0.3111418, -0.60119456, 0.62755996],
                    ],
                    [
                        [0.03363443, 0.2169958, -0.45460188, 0.045567594],
                        [0.46871075, 1.6578391, -0.5728687, 0.61625963],
                        [-0.47462723, 0.75412726, 0.15820909, -0.4377091],
                    ],
                ],
                d_weight: [1.3002502, -0.9440173, -0.5512032],
                d_bias: [-0.75, -0.25, 0.25],
                running_mean: [0.03125, 0.056250002, 0.04375],
                running_var: [0.9879464, 0.9879464, 0.9772321],
                eval_y: &[
                    [
                        [-0.5187583, -0.20435932, 0.11003964, 0.4244386],
                        [3.4050465, -1.3738179, -0.116221994, 1.1413739],
                        [0.032679558, -0.59955597, 1.8029392, 1.1707035],
                    ],
                    [
                        [0.23579922, 0.5501982, 0.86459714, -0.33011892],
                        [0.38681635, 1.6444123, 2.902008, 4.159604],
                        [1.5500449, 0.91780937, 0.28557378, -0.34666178],
                    ],
                ],
            },
        );
    }

    #[test]
    fn batch_norm_dense_matches_pytorch() {
        const C: usize = 3;
        let x: [[f32; C]; 4] = pattern(5, 12, 4.0, 8.0);
        let r: [[f32; C]; 4] = pattern(7, 11, 5.0, 16.0);
        let layer =
            BatchNormDense::<C>::new([1.0, -2.0, 0.75], [0.5, 0.0, -0.25], [0.0; C], [1.0; C]);
        check_reference(
            layer,
            &x,
            &r,
            Reference {
                y: &[
                    [-0.84160256, 0.89440167, 0.756202],
                    [0.052799135, -0.8944018, -1.256202],
                    [0.9472009, -2.6832051, -0.58540064],
                    [1.8416026, 2.6832051, 0.085400656],
                ],
                dx: &[
                    [-0.49195024, -0.47701254, 0.13416217],
                    [0.65588486, -0.11925526, 0.08943826],
                    [0.1639834, 0.23850203, -0.044720724],
                    [-0.32791802, 0.3577658, -0.17887971],
                ],
                d_weight: [0.64285123, 0.055900108, 0.055900108],
                d_bias: [0.4375, 0.125, -0.875],
                running_mean: [0.00625, 0.03125, 0.01875],
                running_var: [0.9234375, 0.9234375, 0.9234375],
                eval_y: &[
                    [-0.02681598, -0.19511703, 0.3207173],
                    [0.36341807, -0.9755851, -0.5573093],
                    [0.7536521, -1.7560532, -0.26463377],
                    [1.1438862, 0.5853511, 0.028041765],
                ],
            },
        );
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Training mode: the gradient flows through the batch mean and variance too.
        let mut bn =
            BatchNorm2d::<2, 2, 3>::new([1.5, -0.5], [0.25, -1.0], [0.3, -0.2], [2.0, 0.5]);
        let x: [[[[f32; 3]; 2]; 2]; 3] = [random(1), random(2), random(3)];
        let worst = check_gradients(&bn, &x, 1, 2e-3);
        std::println!("BatchNorm2d: worst relative error {worst:.1e}");
        bn.init(&mut Rng::new(0));
        check_gradients(&bn, &x, 2, 2e-3);

        let bn = BatchNorm1d::<3, 4>::new([0.5, 2.0, -1.0], [0.0, 0.5, 1.0], [0.0; 3], [1.0; 3]);
        let x: [[[f32; 4]; 3]; 2] = [random(4), random(5)];
        let worst = check_gradients(&bn, &x, 3, 2e-3);
        std::println!("BatchNorm1d: worst relative error {worst:.1e}");

        let bn = BatchNormDense::<3>::new([1.0, -2.0, 0.75], [0.5, 0.0, -0.25], [0.0; 3], [1.0; 3]);
        let x: [[f32; 3]; 4] = [random(6), random(7), random(8), random(9)];
        let worst = check_gradients(&bn, &x, 4, 2e-3);
        std::println!("BatchNormDense: worst relative error {worst:.1e}");
    }

    /// One training step with optimizer `O`: running statistics unchanged bit for bit by the
    /// optimizer (their gradient is 0), γ and β moved.
    fn step_keeps_running_stats<O: Optimizer<BatchNormDense<3>>>(mut opt: O) {
        let mut bn = BatchNormDense::<3>::new(
            [1.0, -2.0, 0.75],
            [0.5, 0.0, -0.25],
            [0.1, -0.3, 7.0],
            [0.7, 1.3, 0.01],
        );
        let before = bn;
        let x: [[f32; 3]; 4] = [random(1), random(2), random(3), random(4)];
        let r: [[f32; 3]; 4] = [random(5), random(6), random(7), random(8)];
        let mut state = opt.new_state();
        for _ in 0..3 {
            let (_, _, grad) = run(&bn, &x, &r, &mut [[0.0; 3]; 3]);
            opt.step(&mut bn, &grad, &mut state);
        }
        let bits = |v: &[f32; 3]| v.map(f32::to_bits);
        assert_eq!(bits(&bn.running_mean), bits(&before.running_mean));
        assert_eq!(bits(&bn.running_var), bits(&before.running_var));
        assert_ne!((bn.weight, bn.bias), (before.weight, before.bias));
    }

    #[test]
    fn optimizers_leave_running_statistics_alone() {
        step_keeps_running_stats(Sgd::new(0.1));
        step_keeps_running_stats(Sgd::new(0.1).momentum(0.9).nesterov(true));
        step_keeps_running_stats(Adam::new(0.01));
        step_keeps_running_stats(RmsProp::new(0.01));
        step_keeps_running_stats(AdaGrad::new(0.01));
    }

    #[test]
    fn inference_folds_running_statistics_into_scale_and_shift() {
        let bn = BatchNorm1d::<2, 3>::new([2.0, -1.0], [0.5, 1.0], [1.0, -2.0], [3.0, 0.25]);
        let x = [[[1.0, 2.0, -1.0], [0.0, -2.0, 4.0]]];
        let mut y = [[[0.0; 3]; 2]];
        bn.forward(&x, &mut y);
        for c in 0..2 {
            for i in 0..3 {
                let expect = (x[0][c][i] - bn.running_mean[c]) / (bn.running_var[c] + 1e-5).sqrt()
                    * bn.weight[c]
                    + bn.bias[c];
                assert!((y[0][c][i] - expect).abs() < 1e-6, "{c} {i}");
            }
        }
    }

    #[test]
    fn init_is_pytorchs_initial_state() {
        let mut bn = BatchNorm2d::<2, 3, 3>::new([5.0; 2], [5.0; 2], [5.0; 2], [5.0; 2]);
        bn.init(&mut Rng::new(1));
        assert_eq!(bn, BatchNorm2d::new([1.0; 2], [0.0; 2], [0.0; 2], [1.0; 2]));
        assert_eq!(bn, BatchNorm2d::default());
    }

    #[test]
    fn sizes_and_tensors() {
        use core::mem::size_of;
        assert_eq!(size_of::<BatchNorm2d<8, 28, 28>>(), 4 * 4 * 8);
        assert_eq!(size_of::<BatchNorm1d<5, 100>>(), 4 * 4 * 5);
        assert_eq!(size_of::<BatchNormDense<64>>(), 4 * 4 * 64);
        assert_eq!(<BatchNorm2d<8, 28, 28> as Parameters>::LEN, 32);
        assert_eq!(<BatchNorm2d<8, 28, 28> as Layer>::PARAMS, 16);
        assert_eq!(<BatchNormDense<64> as Layer>::KIND, "BatchNorm");
        let tensors = <BatchNorm1d<5, 100> as Layer>::TENSORS;
        let described: std::vec::Vec<_> = tensors
            .iter()
            .map(|t| (t.name, t.shape, t.trainable))
            .collect();
        assert_eq!(
            described,
            [
                ("weight", &[5][..], true),
                ("bias", &[5][..], true),
                ("running_mean", &[5][..], false),
                ("running_var", &[5][..], false),
            ]
        );
        let total: usize = tensors.iter().map(|t| t.len()).sum();
        assert_eq!(total, <BatchNorm1d<5, 100> as Parameters>::LEN);
        assert_eq!(
            std::format!("{:?}", BatchNorm2d::<8, 28, 28>::default()),
            "BatchNorm2d<8, 28, 28>"
        );
        assert_eq!(
            std::format!("{:?}", BatchNormDense::<64>::default()),
            "BatchNormDense<64>"
        );
    }
}
