use core::fmt;
use core::marker::PhantomData;

use super::conv2d::init_limit;
use super::{Backprop, Layer, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::kernel::conv::{out_len, pad_before, ConvBackward, ConvForward, Geometry};
use crate::{kernel, Parameters, Rng};

/// A depthwise 2-D convolution (depth multiplier 1): channel `c` of the output is channel `c` of
/// the input convolved with its own `K × K` filter, plus a bias, then the activation `A`.
///
/// Padding and stride as in [`Conv2d`](crate::Conv2d) (`OH`, `OW` are checked at compile time).
/// `weight[c][kh][kw]` is PyTorch's `Conv2d(C, C, K, groups=C)` weight `[C, 1, K, K]` without the
/// unit axis; Keras' `DepthwiseConv2D` stores `[K, K, C, 1]`.
///
/// ```
/// use nn_core::{layer::Layer, DepthwiseConv2d, Identity};
/// // Channel 0 is summed over 2×2 windows, channel 1 is negated (one tap).
/// let w = [[[1.0, 1.0], [1.0, 1.0]], [[-1.0, 0.0], [0.0, 0.0]]];
/// let layer = DepthwiseConv2d::<2, 2, 2, 2, 1, false, 1, 1, Identity>::new(w, [0.0, 1.0]);
/// let mut y = [[[[0.0]]; 2]];
/// layer.forward(&[[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]], &mut y);
/// assert_eq!(y, [[[[10.0]], [[-4.0]]]]);
/// assert_eq!(DepthwiseConv2d::<32, 16, 16, 3, 1, true, 16, 16>::PARAMS, 32 * 9 + 32);
/// ```
///
/// A wrong output size is a compile error:
/// ```compile_fail
/// use nn_core::{layer::Layer, DepthwiseConv2d};
/// let layer = DepthwiseConv2d::<1, 4, 4, 3, 1, true, 2, 2>::default(); // 'same' keeps 4×4
/// layer.forward(&[[[[0.0; 4]; 4]]], &mut [[[[0.0; 2]; 2]]]);
/// ```
#[repr(C)]
pub struct DepthwiseConv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    A = Identity,
> {
    /// `weight[c][kh][kw]`: channel `c`'s filter.
    pub weight: [[[f32; K]; K]; C],
    /// One bias per channel.
    pub bias: [f32; C],
    // `fn() -> A` keeps the layer Send + Sync + Copy whatever `A` is: it holds no `A`.
    activation: PhantomData<fn() -> A>,
}

// SAFETY: repr(C) of two f32 arrays and a zero-sized marker: no padding, every byte an f32.
unsafe impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
        A,
    > Parameters for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
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
        A,
    > DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    /// Trainable parameters: `C·K·K` weights and `C` biases.
    pub const PARAMS: usize = C * K * K + C;

    /// Compile-time check of the shape parameters, evaluated by `forward` and `backward`.
    ///
    /// ```
    /// use nn_core::DepthwiseConv2d;
    /// let () = DepthwiseConv2d::<8, 10, 10, 3, 2, false, 4, 4>::SHAPE_OK; // (10 − 3)/2 + 1 = 4
    /// ```
    pub const SHAPE_OK: () = {
        assert!(C > 0, "DepthwiseConv2d: channels must be at least 1");
        assert!(
            K > 0 && S > 0,
            "DepthwiseConv2d: kernel size and stride must be at least 1"
        );
        assert!(
            H > 0 && W > 0,
            "DepthwiseConv2d: the input must not be empty"
        );
        assert!(
            SAME || (K <= H && K <= W),
            "DepthwiseConv2d: a 'valid' kernel must fit in the input (K ≤ H and K ≤ W)"
        );
        assert!(
            OH == out_len(H, K, S, SAME),
            "DepthwiseConv2d: OH must be (H − K)/S + 1 for 'valid' or ⌈H/S⌉ for 'same'"
        );
        assert!(
            OW == out_len(W, K, S, SAME),
            "DepthwiseConv2d: OW must be (W − K)/S + 1 for 'valid' or ⌈W/S⌉ for 'same'"
        );
    };

    // C groups of one input channel and one filter each.
    const GEOMETRY: Geometry = Geometry {
        groups: C,
        c: 1,
        h: H,
        w: W,
        f: 1,
        kh: K,
        kw: K,
        sh: S,
        sw: S,
        pt: pad_before(H, K, S, OH, SAME),
        pl: pad_before(W, K, S, OW, SAME),
        oh: OH,
        ow: OW,
    };

    /// A layer with the given weights and biases (usable in `const` and `static` items).
    ///
    /// ```
    /// use nn_core::{DepthwiseConv2d, Relu};
    /// const LAYER: DepthwiseConv2d<3, 8, 8, 3, 1, true, 8, 8, Relu> =
    ///     DepthwiseConv2d::new([[[0.0; 3]; 3]; 3], [0.0; 3]);
    /// assert_eq!(LAYER.bias, [0.0; 3]);
    /// ```
    pub const fn new(weight: [[[f32; K]; K]; C], bias: [f32; C]) -> Self {
        DepthwiseConv2d {
            weight,
            bias,
            activation: PhantomData,
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
        A: Activation,
    > Layer for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; C];
    type Activation = A;
    const KIND: &'static str = "DepthwiseConv2d";
    const PARAMS: usize = C * K * K + C;
    const TENSORS: &'static [ParamTensor] = &[
        ParamTensor {
            name: "weight",
            shape: &[C, 1, K, K],
            trainable: true,
        },
        ParamTensor {
            name: "bias",
            shape: &[C],
            trainable: true,
        },
    ];

    /// Draws the weights from `rng` (He or Glorot uniform, as the activation asks, with fans
    /// `K·K` in and out) and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        let limit = init_limit::<A>(K * K, K * K);
        for w in self.weight.as_flattened_mut().as_flattened_mut() {
            *w = rng.uniform(-limit, limit);
        }
        self.bias = [0.0; C];
    }

    /// `y[b][c] = A(w[c] ∗ x[b][c] + bias[c])` for a batch of `B` samples.
    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        const { Self::SHAPE_OK };
        kernel::run(ConvForward {
            geo: Self::GEOMETRY,
            weight: self.weight.as_flattened().as_flattened(),
            bias: &self.bias,
            x: x.as_flattened().as_flattened().as_flattened(),
            y: y.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
        });
        for y in y.iter_mut() {
            A::forward(y.as_flattened_mut().as_flattened_mut());
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
        A: Differentiable,
        const B: usize,
    > Backprop<B> for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    type Scratch = ();

    #[inline]
    fn forward_train(
        &self,
        x: &[Self::Input; B],
        y: &mut [Self::Output; B],
        _: &mut (),
        _: &mut Rng,
    ) {
        Layer::forward(self, x, y);
    }

    #[inline]
    fn backward(
        &self,
        x: &[Self::Input; B],
        _y: &[Self::Output; B],
        dz: &[Self::Output; B],
        _: &(),
        grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        const { Self::SHAPE_OK };
        kernel::run(ConvBackward {
            geo: Self::GEOMETRY,
            weight: self.weight.as_flattened().as_flattened(),
            x: x.as_flattened().as_flattened().as_flattened(),
            dz: dz.as_flattened().as_flattened().as_flattened(),
            d_weight: grad.weight.as_flattened_mut().as_flattened_mut(),
            d_bias: &mut grad.bias,
            dx: dx.map(|dx| dx.as_flattened_mut().as_flattened_mut().as_flattened_mut()),
        });
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
        A,
    > Clone for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    fn clone(&self) -> Self {
        *self
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
        A,
    > Copy for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
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
        A,
    > PartialEq for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
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
        A,
    > Default for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    /// All weights and biases zero.
    fn default() -> Self {
        DepthwiseConv2d::new([[[0.0; K]; K]; C], [0.0; C])
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
        A: Activation,
    > fmt::Debug for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thousands of weights help nobody in a debug print; show the shape.
        let padding = if SAME { "same" } else { "valid" };
        write!(
            f,
            "DepthwiseConv2d<{C}×{H}×{W} → {C}×{OH}×{OW}, {K}×{K}/{S} {padding}, {}>",
            A::NAME
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::testing::{check_gradients, random};
    use crate::Tanh;

    fn check<Ly>(seed: u64)
    where
        Ly: Backprop<2> + Copy,
        Ly::Activation: Differentiable,
    {
        let mut layer = Ly::zeroed();
        layer.init(&mut Rng::new(seed));
        let n = Ly::LEN;
        for (i, v) in layer.as_mut_slice()[n - Ly::TENSORS[1].len()..]
            .iter_mut()
            .enumerate()
        {
            *v = 0.1 * i as f32 - 0.2;
        }
        let x: [Ly::Input; 2] = [random(seed + 1), random(seed + 2)];
        let worst = check_gradients(&layer, &x, seed + 3, 2e-3);
        assert!(worst < 2e-3, "{worst}");
    }

    #[test]
    fn gradients() {
        check::<DepthwiseConv2d<3, 5, 6, 3, 1, false, 3, 4, Tanh>>(1);
        check::<DepthwiseConv2d<3, 5, 6, 3, 1, false, 3, 4, Identity>>(2);
        check::<DepthwiseConv2d<2, 7, 6, 3, 2, false, 3, 2, Tanh>>(3);
        check::<DepthwiseConv2d<2, 5, 4, 3, 1, true, 5, 4, Identity>>(4);
        check::<DepthwiseConv2d<3, 5, 6, 4, 2, true, 3, 3, Tanh>>(5);
        check::<DepthwiseConv2d<2, 6, 5, 3, 2, true, 3, 3, Identity>>(6);
    }

    #[test]
    fn size_is_the_parameters() {
        use core::mem::size_of;
        type A = DepthwiseConv2d<4, 9, 9, 3, 2, true, 5, 5, Tanh>;
        assert_eq!(size_of::<A>(), 4 * <A as Layer>::PARAMS);
        assert_eq!(<A as Layer>::PARAMS, 4 * 9 + 4);
        assert_eq!(<A as Layer>::TENSORS[0].shape, &[4, 1, 3, 3]);
    }
}
