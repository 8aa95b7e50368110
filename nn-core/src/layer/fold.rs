//! Folding batch normalisation into the layer before it, for inference.
//!
//! At inference a batch norm layer is one scale and shift per channel. When the layer before it
//! has no activation (`Conv2d<16, 3>`, `Dense<64, 32>`), that affine map can be moved into the
//! layer's weights and biases; the batch norm is then reset to the exact identity, which its
//! inference pass recognises and turns into a copy. `network!` generates `fold_batch_norm()`,
//! which does this for every such pair.

use super::{BatchNorm1d, BatchNorm2d, BatchNormDense, Conv1d, Conv2d, Dense, DepthwiseConv2d};
use crate::Identity;

/// A layer without an activation whose output channels can absorb a per-channel scale and shift:
/// afterwards it computes `scale[c] · y[c] + shift[c]` where it computed `y[c]`.
///
/// ```
/// use nn_core::{layer::ScaleChannels, Dense};
/// let mut layer = Dense::<1, 2>::new([[1.0], [2.0]], [0.5, 0.0]);
/// layer.scale_channels(&[2.0, -1.0], &[0.0, 1.0]);
/// assert_eq!((layer.weight, layer.bias), ([[2.0], [-2.0]], [1.0, 1.0]));
/// ```
pub trait ScaleChannels<const C: usize> {
    /// Scales and shifts each output channel.
    fn scale_channels(&mut self, scale: &[f32; C], shift: &[f32; C]);
}

impl<const I: usize, const O: usize> ScaleChannels<O> for Dense<I, O, Identity> {
    fn scale_channels(&mut self, scale: &[f32; O], shift: &[f32; O]) {
        for (o, row) in self.weight.iter_mut().enumerate() {
            row.iter_mut().for_each(|w| *w *= scale[o]);
            self.bias[o] = self.bias[o] * scale[o] + shift[o];
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
    > ScaleChannels<F> for Conv2d<C, H, W, F, K, S, SAME, OH, OW, Identity>
{
    fn scale_channels(&mut self, scale: &[f32; F], shift: &[f32; F]) {
        for (f, filter) in self.weight.iter_mut().enumerate() {
            filter
                .as_flattened_mut()
                .as_flattened_mut()
                .iter_mut()
                .for_each(|w| *w *= scale[f]);
            self.bias[f] = self.bias[f] * scale[f] + shift[f];
        }
    }
}

impl<
        const C: usize,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OL: usize,
    > ScaleChannels<F> for Conv1d<C, L, F, K, S, SAME, OL, Identity>
{
    fn scale_channels(&mut self, scale: &[f32; F], shift: &[f32; F]) {
        for (f, filter) in self.weight.iter_mut().enumerate() {
            filter
                .as_flattened_mut()
                .iter_mut()
                .for_each(|w| *w *= scale[f]);
            self.bias[f] = self.bias[f] * scale[f] + shift[f];
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
    > ScaleChannels<C> for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, Identity>
{
    fn scale_channels(&mut self, scale: &[f32; C], shift: &[f32; C]) {
        for (c, filter) in self.weight.iter_mut().enumerate() {
            filter
                .as_flattened_mut()
                .iter_mut()
                .for_each(|w| *w *= scale[c]);
            self.bias[c] = self.bias[c] * scale[c] + shift[c];
        }
    }
}

/// A batch norm layer's inference map as one scale and shift per channel, and the state that makes
/// that map the identity.
pub trait FoldBatchNorm<const C: usize> {
    /// Moves this layer's inference affine map into `layer` and resets this layer to the exact
    /// identity (γ = 1, β = 0, mean 0, and a variance with `√(var + ε) = 1` in `f32`).
    ///
    /// ```
    /// use nn_core::{layer::{FoldBatchNorm, Layer}, BatchNormDense, Dense};
    /// let mut dense = Dense::<2, 2>::new([[1.0, -1.0], [0.5, 2.0]], [0.1, -0.2]);
    /// let mut bn = BatchNormDense::<2>::new([2.0, 0.5], [0.3, -0.1], [1.0, -2.0], [4.0, 0.25]);
    /// let x = [[0.7, -1.3]];
    /// let (mut mid, mut before, mut after) = ([[0.0; 2]], [[0.0; 2]], [[0.0; 2]]);
    /// dense.forward(&x, &mut mid);
    /// bn.forward(&mid, &mut before);
    /// bn.fold_into(&mut dense);
    /// dense.forward(&x, &mut mid);
    /// bn.forward(&mid, &mut after);
    /// assert_eq!(after, mid); // the batch norm is now the identity
    /// assert!((before[0][0] - after[0][0]).abs() < 1e-5 && (before[0][1] - after[0][1]).abs() < 1e-5);
    /// ```
    fn fold_into<L: ScaleChannels<C>>(&mut self, layer: &mut L);
}

macro_rules! fold_batch_norm {
    ($name:ident <$($p:ident),+>, $c:ident) => {
        impl<$(const $p: usize),+> FoldBatchNorm<$c> for $name<$($p),+> {
            fn fold_into<Before: ScaleChannels<$c>>(&mut self, layer: &mut Before) {
                let (scale, shift) = super::batch_norm::inference_affine(
                    &self.weight,
                    &self.bias,
                    &self.running_mean,
                    &self.running_var,
                );
                layer.scale_channels(&scale, &shift);
                self.weight = [1.0; $c];
                self.bias = [0.0; $c];
                self.running_mean = [0.0; $c];
                self.running_var = [super::batch_norm::IDENTITY_VAR; $c];
            }
        }
    };
}

fold_batch_norm!(BatchNorm2d<C, H, W>, C);
fold_batch_norm!(BatchNorm1d<C, L>, C);
fold_batch_norm!(BatchNormDense<N>, N);
