use core::fmt;
use core::marker::PhantomData;

use super::conv2d::init_limit;
use super::{Backprop, Layer, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::kernel::conv::{out_len, pad_before, ConvBackward, ConvForward, Geometry};
use crate::{kernel, Parameters, Rng};

/// A 1-D convolution: `F` filters of `C × K` weights slide over a `C × L` input with stride `S`,
/// giving `F × OL` outputs, then the activation `A`.
///
/// Padding as in [`Conv2d`](crate::Conv2d), along the one axis: `SAME = false` is 'valid',
/// `OL = (L − K)/S + 1`; `SAME = true` is TensorFlow 'same', `OL = ⌈L/S⌉`, zeros split evenly with
/// the odd one at the end. `OL` is checked at compile time. Weights are `weight[f][c][k]`, PyTorch's
/// `Conv1d` layout.
///
/// ```
/// use nn_core::{layer::Layer, Conv1d, Identity};
/// // A difference filter [-1, 1] over one channel of length 4.
/// let layer = Conv1d::<1, 4, 1, 2, 1, false, 3, Identity>::new([[[-1.0, 1.0]]], [0.0]);
/// let mut y = [[[0.0; 3]]];
/// layer.forward(&[[[1.0, 4.0, 9.0, 16.0]]], &mut y);
/// assert_eq!(y, [[[3.0, 5.0, 7.0]]]);
/// assert_eq!(Conv1d::<8, 100, 16, 3, 1, true, 100>::PARAMS, 16 * 8 * 3 + 16);
/// ```
///
/// A wrong output length is a compile error:
/// ```compile_fail
/// use nn_core::{layer::Layer, Conv1d};
/// let layer = Conv1d::<1, 4, 1, 2, 2, true, 3>::default(); // 'same', stride 2: ⌈4/2⌉ = 2
/// layer.forward(&[[[0.0; 4]]], &mut [[[0.0; 3]]]);
/// ```
#[repr(C)]
pub struct Conv1d<
    const C: usize,
    const L: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OL: usize,
    A = Identity,
> {
    /// `weight[f][c][k]`: filter `f`'s weight on channel `c` at kernel position `k`.
    pub weight: [[[f32; K]; C]; F],
    /// One bias per filter.
    pub bias: [f32; F],
    // `fn() -> A` keeps the layer Send + Sync + Copy whatever `A` is: it holds no `A`.
    activation: PhantomData<fn() -> A>,
}

// SAFETY: repr(C) of two f32 arrays and a zero-sized marker: no padding, every byte an f32.
unsafe impl<
        const C: usize,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OL: usize,
        A,
    > Parameters for Conv1d<C, L, F, K, S, SAME, OL, A>
{
}

impl<
        const C: usize,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OL: usize,
        A,
    > Conv1d<C, L, F, K, S, SAME, OL, A>
{
    /// Trainable parameters: `F·C·K` weights and `F` biases.
    pub const PARAMS: usize = F * C * K + F;

    /// Compile-time check of the shape parameters, evaluated by `forward` and `backward`.
    ///
    /// ```
    /// use nn_core::Conv1d;
    /// let () = Conv1d::<2, 10, 4, 3, 2, false, 4>::SHAPE_OK; // (10 − 3)/2 + 1 = 4
    /// ```
    pub const SHAPE_OK: () = {
        assert!(
            C > 0 && F > 0,
            "Conv1d: channels and filters must be at least 1"
        );
        assert!(
            K > 0 && S > 0,
            "Conv1d: kernel size and stride must be at least 1"
        );
        assert!(L > 0, "Conv1d: the input must not be empty");
        assert!(
            SAME || K <= L,
            "Conv1d: a 'valid' kernel must fit in the input (K ≤ L)"
        );
        assert!(
            OL == out_len(L, K, S, SAME),
            "Conv1d: OL must be (L − K)/S + 1 for 'valid' or ⌈L/S⌉ for 'same'"
        );
    };

    // A 2-D convolution over a 1 × L image with a 1 × K kernel: the memory layouts agree.
    const GEOMETRY: Geometry = Geometry {
        groups: 1,
        c: C,
        h: 1,
        w: L,
        f: F,
        kh: 1,
        kw: K,
        sh: 1,
        sw: S,
        pt: 0,
        pl: pad_before(L, K, S, OL, SAME),
        oh: 1,
        ow: OL,
    };

    /// A layer with the given weights and biases (usable in `const` and `static` items).
    ///
    /// ```
    /// use nn_core::{Conv1d, Tanh};
    /// const LAYER: Conv1d<1, 8, 2, 3, 1, true, 8, Tanh> = Conv1d::new([[[0.5; 3]]; 2], [0.0; 2]);
    /// assert_eq!(LAYER.weight[1][0], [0.5; 3]);
    /// ```
    pub const fn new(weight: [[[f32; K]; C]; F], bias: [f32; F]) -> Self {
        Conv1d {
            weight,
            bias,
            activation: PhantomData,
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
        A: Activation,
    > Layer for Conv1d<C, L, F, K, S, SAME, OL, A>
{
    type Input = [[f32; L]; C];
    type Output = [[f32; OL]; F];
    type Activation = A;
    const KIND: &'static str = "Conv1d";
    const PARAMS: usize = F * C * K + F;
    const TENSORS: &'static [ParamTensor] = &[
        ParamTensor {
            name: "weight",
            shape: &[F, C, K],
            trainable: true,
        },
        ParamTensor {
            name: "bias",
            shape: &[F],
            trainable: true,
        },
    ];

    /// Draws the weights from `rng` (He or Glorot uniform, as the activation asks, with fans `C·K`
    /// in and `F·K` out) and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        let limit = init_limit::<A>(C * K, F * K);
        for w in self.weight.as_flattened_mut().as_flattened_mut() {
            *w = rng.uniform(-limit, limit);
        }
        self.bias = [0.0; F];
    }

    /// `y[b] = A(W ∗ x[b] + bias)` for a batch of `B` samples.
    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        const { Self::SHAPE_OK };
        kernel::run(ConvForward {
            geo: Self::GEOMETRY,
            weight: self.weight.as_flattened().as_flattened(),
            bias: &self.bias,
            x: x.as_flattened().as_flattened(),
            y: y.as_flattened_mut().as_flattened_mut(),
        });
        for y in y.iter_mut() {
            A::forward(y.as_flattened_mut());
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
        A: Differentiable,
        const B: usize,
    > Backprop<B> for Conv1d<C, L, F, K, S, SAME, OL, A>
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
            x: x.as_flattened().as_flattened(),
            dz: dz.as_flattened().as_flattened(),
            d_weight: grad.weight.as_flattened_mut().as_flattened_mut(),
            d_bias: &mut grad.bias,
            dx: dx.map(|dx| dx.as_flattened_mut().as_flattened_mut()),
        });
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
        A,
    > Clone for Conv1d<C, L, F, K, S, SAME, OL, A>
{
    fn clone(&self) -> Self {
        *self
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
        A,
    > Copy for Conv1d<C, L, F, K, S, SAME, OL, A>
{
}

impl<
        const C: usize,
        const L: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OL: usize,
        A,
    > PartialEq for Conv1d<C, L, F, K, S, SAME, OL, A>
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
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
        A,
    > Default for Conv1d<C, L, F, K, S, SAME, OL, A>
{
    /// All weights and biases zero.
    fn default() -> Self {
        Conv1d::new([[[0.0; K]; C]; F], [0.0; F])
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
        A: Activation,
    > fmt::Debug for Conv1d<C, L, F, K, S, SAME, OL, A>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thousands of weights help nobody in a debug print; show the shape.
        let padding = if SAME { "same" } else { "valid" };
        write!(
            f,
            "Conv1d<{C}×{L} → {F}×{OL}, {K}/{S} {padding}, {}>",
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
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Tanh>>(1);
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Identity>>(2);
        check::<Conv1d<2, 9, 3, 4, 2, false, 3, Tanh>>(3);
        check::<Conv1d<3, 8, 2, 3, 1, true, 8, Identity>>(4);
        check::<Conv1d<2, 9, 3, 4, 2, true, 5, Tanh>>(5);
        check::<Conv1d<1, 7, 2, 2, 3, true, 3, Identity>>(6);
    }

    #[test]
    fn size_is_the_parameters() {
        use core::mem::size_of;
        type A = Conv1d<3, 20, 5, 4, 2, true, 10, Tanh>;
        assert_eq!(size_of::<A>(), 4 * <A as Layer>::PARAMS);
        assert_eq!(<A as Layer>::PARAMS, 5 * 3 * 4 + 5);
        assert_eq!(<A as Layer>::TENSORS[0].shape, &[5, 3, 4]);
    }
}
