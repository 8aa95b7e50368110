use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, ConvOp, Init, Layer, Op, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::kernel::conv::{out_len, pad_after, pad_before, ConvBackward, ConvForward, Geometry};
use crate::{kernel, Parameters, Rng};

/// A 2-D convolution: `F` filters of `C × K × K` weights slide over a `C × H × W` input with stride
/// `S`, giving `F × OH × OW` outputs, then the activation `A`.
///
/// `SAME = false` is 'valid' (no padding): `OH = (H − K)/S + 1`. `SAME = true` is Keras/TensorFlow
/// 'same': `OH = ⌈H/S⌉`, with `max((OH − 1)·S + K − H, 0)` rows of zeros, half above and the odd
/// one below (PyTorch pads symmetrically; its `padding='same'` agrees with this for stride 1 and odd
/// `K`). The same holds for `W`/`OW`. `OH` and `OW` are parameters because stable Rust cannot
/// compute them in a type; the `network!` macro fills them in and the layer checks them at compile
/// time, so a wrong hand-written shape does not build.
///
/// Weights are in PyTorch's layout, `weight[f][c][kh][kw]` (Keras stores `[kh][kw][c][f]`).
/// `size_of::<Conv2d<..>>()` is exactly `PARAMS · 4` bytes.
///
/// ```
/// use nn_core::{layer::Layer, Conv2d, Identity};
/// // One 2×2 filter summing its window, on a 1×3×3 input: 'valid' gives 2×2 outputs.
/// let layer = Conv2d::<1, 3, 3, 1, 2, 1, false, 2, 2, Identity>::new([[[[1.0; 2]; 2]]], [0.5]);
/// let x = [[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]];
/// let mut y = [[[[0.0; 2]; 2]]];
/// layer.forward(&x, &mut y);
/// assert_eq!(y, [[[[12.5, 16.5], [24.5, 28.5]]]]);
/// assert_eq!(Conv2d::<1, 28, 28, 6, 5, 1, false, 24, 24>::PARAMS, 156);
/// ```
///
/// A wrong output size is a compile error:
/// ```compile_fail
/// use nn_core::{layer::Layer, Conv2d};
/// let layer = Conv2d::<1, 3, 3, 1, 2, 1, false, 3, 3>::default(); // 'valid' gives 2×2
/// layer.forward(&[[[[0.0; 3]; 3]]], &mut [[[[0.0; 3]; 3]]]);
/// ```
#[repr(C)]
pub struct Conv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    A = Identity,
> {
    /// `weight[f][c][kh][kw]`: filter `f`'s weight on channel `c` at kernel row `kh`, column `kw`.
    pub weight: [[[[f32; K]; K]; C]; F],
    /// One bias per filter.
    pub bias: [f32; F],
    // `fn() -> A` keeps the layer Send + Sync + Copy whatever `A` is: it holds no `A`.
    activation: PhantomData<fn() -> A>,
}

// SAFETY: repr(C) of two f32 arrays and a zero-sized marker: no padding, every byte an f32.
unsafe impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
        A,
    > Parameters for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
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
        A,
    > Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    /// Trainable parameters: `F·C·K·K` weights and `F` biases.
    pub const PARAMS: usize = F * C * K * K + F;

    /// Compile-time check of the shape parameters, evaluated by `forward` and `backward`:
    /// referring to it with a wrong shape is a compile error.
    ///
    /// ```
    /// use nn_core::Conv2d;
    /// // 'same', stride 2: ⌈28/2⌉ = 14.
    /// let () = Conv2d::<1, 28, 28, 4, 3, 2, true, 14, 14>::SHAPE_OK;
    /// ```
    pub const SHAPE_OK: () = {
        assert!(
            C > 0 && F > 0,
            "Conv2d: channels and filters must be at least 1"
        );
        assert!(
            K > 0 && S > 0,
            "Conv2d: kernel size and stride must be at least 1"
        );
        assert!(H > 0 && W > 0, "Conv2d: the input must not be empty");
        assert!(
            SAME || (K <= H && K <= W),
            "Conv2d: a 'valid' kernel must fit in the input (K ≤ H and K ≤ W)"
        );
        assert!(
            OH == out_len(H, K, S, SAME),
            "Conv2d: OH must be (H − K)/S + 1 for 'valid' or ⌈H/S⌉ for 'same'"
        );
        assert!(
            OW == out_len(W, K, S, SAME),
            "Conv2d: OW must be (W − K)/S + 1 for 'valid' or ⌈W/S⌉ for 'same'"
        );
    };

    const GEOMETRY: Geometry = Geometry {
        groups: 1,
        c: C,
        h: H,
        w: W,
        f: F,
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
    /// use nn_core::{Conv2d, Relu};
    /// static LAYER: Conv2d<1, 4, 4, 2, 3, 1, true, 4, 4, Relu> =
    ///     Conv2d::new([[[[0.0; 3]; 3]; 1]; 2], [0.1, 0.2]);
    /// assert_eq!(LAYER.bias, [0.1, 0.2]);
    /// ```
    pub const fn new(weight: [[[[f32; K]; K]; C]; F], bias: [f32; F]) -> Self {
        Conv2d {
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
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
        A: Activation,
    > Layer for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; F];
    type Activation = A;
    const KIND: &'static str = "Conv2d";
    const OP: Op = Op::Conv(ConvOp {
        kernel: &[K, K],
        strides: &[S, S],
        pads: &[
            pad_before(H, K, S, OH, SAME),
            pad_before(W, K, S, OW, SAME),
            pad_after(H, K, S, OH, SAME),
            pad_after(W, K, S, OW, SAME),
        ],
        groups: 1,
    });
    const PARAMS: usize = F * C * K * K + F;
    const TENSORS: &'static [ParamTensor] = &[
        ParamTensor {
            name: "weight",
            shape: &[F, C, K, K],
            trainable: true,
        },
        ParamTensor {
            name: "bias",
            shape: &[F],
            trainable: true,
        },
    ];

    /// Draws the weights from `rng` Glorot-uniform, whatever the activation (Keras' default),
    /// and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        self.init_with(Init::Glorot, rng);
    }

    /// Draws the weights from `rng` as `init` says (Keras' fans: the kernel's positions times
    /// its input and output channels) and zeroes the biases.
    fn init_with(&mut self, init: Init, rng: &mut Rng) {
        let limit = init.limit(C * K * K, F * K * K);
        for w in self
            .weight
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut()
        {
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
            weight: self.weight.as_flattened().as_flattened().as_flattened(),
            bias: &self.bias,
            x: x.as_flattened().as_flattened().as_flattened(),
            y: y.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
        });
        kernel::run(Activate::<A> {
            y: y.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            len: F * OH * OW,
            activation: PhantomData,
        });
    }
}

/// The activation of a batch, sample by sample, run through `kernel::run` only to be compiled for
/// AVX2 where the CPU has it: the same operations (Rust does not contract `a·b + c`), so the
/// same results, in wider registers (ReLU of LeNet's c1 output: 442 KB per batch).
struct Activate<'a, A> {
    y: &'a mut [f32],
    len: usize,
    activation: PhantomData<fn() -> A>,
}

impl<A: Activation> kernel::Kernel for Activate<'_, A> {
    #[inline(always)]
    fn run<M: kernel::Math>(self) {
        for y in self.y.chunks_exact_mut(self.len) {
            A::forward(y);
        }
    }
}

/// The activation's backward pass for a batch, as [`Activate`].
struct ActivateBackward<'a, A> {
    y: &'a [f32],
    dy: &'a mut [f32],
    len: usize,
    activation: PhantomData<fn() -> A>,
}

impl<A: Differentiable> kernel::Kernel for ActivateBackward<'_, A> {
    #[inline(always)]
    fn run<M: kernel::Math>(self) {
        let ys = self.y.chunks_exact(self.len);
        for (y, dy) in ys.zip(self.dy.chunks_exact_mut(self.len)) {
            A::backward(y, dy);
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
        A: Differentiable,
        const B: usize,
    > Backprop<B> for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    type Scratch = ();
    type Derivative = A;

    #[inline]
    fn activation_backward(y: &[Self::Output; B], dy: &mut [Self::Output; B]) {
        kernel::run(ActivateBackward::<A> {
            y: y.as_flattened().as_flattened().as_flattened(),
            dy: dy.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            len: F * OH * OW,
            activation: PhantomData,
        });
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
            weight: self.weight.as_flattened().as_flattened().as_flattened(),
            x: x.as_flattened().as_flattened().as_flattened(),
            dz: dz.as_flattened().as_flattened().as_flattened(),
            d_weight: grad
                .weight
                .as_flattened_mut()
                .as_flattened_mut()
                .as_flattened_mut(),
            d_bias: &mut grad.bias,
            dx: dx.map(|dx| dx.as_flattened_mut().as_flattened_mut().as_flattened_mut()),
        });
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
        A,
    > Clone for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    fn clone(&self) -> Self {
        *self
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
        A,
    > Copy for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
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
        A,
    > PartialEq for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
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
        A,
    > Default for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    /// All weights and biases zero.
    fn default() -> Self {
        Conv2d::new([[[[0.0; K]; K]; C]; F], [0.0; F])
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
        A: Activation,
    > fmt::Debug for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thousands of weights help nobody in a debug print; show the shape.
        let padding = if SAME { "same" } else { "valid" };
        write!(
            f,
            "Conv2d<{C}×{H}×{W} → {F}×{OH}×{OW}, {K}×{K}/{S} {padding}, {}>",
            A::NAME
        )
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::layer::testing::{check_layer as check, initialised as layer, random};
    use crate::layer::Tensor;
    use crate::Tanh;
    use crate::Zeroed;

    #[test]
    fn gradients_valid_stride_1() {
        check::<Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4, Tanh>>(10);
        check::<Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4, Identity>>(11);
        // Wide enough for the kernel's im2col-free path (7 of 9 columns).
        check::<Conv2d<2, 6, 9, 3, 3, 1, false, 4, 7, Tanh>>(12);
        // 8 filters or more: the weight gradient is accumulated transposed.
        check::<Conv2d<3, 6, 6, 9, 3, 1, false, 4, 4, Identity>>(13);
        check::<Conv2d<2, 5, 6, 8, 3, 1, true, 5, 6, Tanh>>(14);
        // Rows of 8 outputs, not wide: im2col and col2im copy whole rows as arrays (as on the
        // second LeNet convolution, which is also checked against the definition).
        check::<Conv2d<2, 9, 11, 8, 4, 1, false, 6, 8, Tanh>>(15);
        type LeNet2 = Conv2d<6, 12, 12, 16, 5, 1, false, 8, 8, crate::Relu>;
        matches_naive(&layer::<LeNet2>(16), &[random(17), random(18)]);
    }

    #[test]
    fn gradients_valid_stride_2() {
        check::<Conv2d<2, 7, 6, 3, 3, 2, false, 3, 2, Tanh>>(20);
        check::<Conv2d<1, 6, 7, 2, 2, 2, false, 3, 3, Identity>>(21);
    }

    #[test]
    fn gradients_same_stride_1() {
        check::<Conv2d<2, 5, 4, 3, 3, 1, true, 5, 4, Tanh>>(30);
        // Even kernel: the extra zero row and column go below and right.
        check::<Conv2d<2, 4, 5, 2, 4, 1, true, 4, 5, Identity>>(31);
    }

    #[test]
    fn gradients_same_stride_2() {
        check::<Conv2d<2, 5, 6, 3, 3, 2, true, 3, 3, Tanh>>(40);
        check::<Conv2d<1, 6, 5, 2, 4, 2, true, 3, 3, Identity>>(41);
        // A kernel larger than the input.
        check::<Conv2d<1, 2, 3, 2, 4, 2, true, 1, 2, Tanh>>(42);
    }

    #[test]
    fn gradients_with_blocked_im2col() {
        // 8·3·3 taps × 20·20 positions is more than the im2col buffer: blocks of positions.
        let big: Conv2d<8, 20, 20, 5, 3, 1, true, 20, 20, Tanh> = layer(50);
        matches_naive(&big, &[random(51), random(52)]);
        // 90·3·3 taps: blocks of 16 positions and two blocks of taps.
        type Deep = Conv2d<90, 4, 4, 2, 3, 1, true, 4, 4, Tanh>;
        matches_naive(&layer::<Deep>(53), &[random(54), random(55)]);
        check::<Deep>(56);
    }

    fn matches_naive<
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
        A: Activation,
    >(
        layer: &Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>,
        x: &[[[[f32; W]; H]; C]; 2],
    ) {
        let mut y = [<[[[f32; OW]; OH]; F]>::ZERO; 2];
        layer.forward(x, &mut y);
        let mut reference = y;
        naive_forward(layer, x, &mut reference);
        for (a, b) in y.iter().zip(&reference) {
            for (a, b) in a.flat().iter().zip(b.flat()) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    /// Straight from the definition, for comparison.
    #[allow(clippy::needless_range_loop)] // the indices are the definition
    fn naive_forward<
        const C: usize,
        const H: usize,
        const W: usize,
        const F: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        const OH: usize,
        const OW: usize,
        A: Activation,
        const B: usize,
    >(
        layer: &Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>,
        x: &[[[[f32; W]; H]; C]; B],
        y: &mut [[[[f32; OW]; OH]; F]; B],
    ) {
        let pt = pad_before(H, K, S, OH, SAME) as isize;
        let pl = pad_before(W, K, S, OW, SAME) as isize;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for f in 0..F {
                for oh in 0..OH {
                    for ow in 0..OW {
                        let mut s = layer.bias[f];
                        for c in 0..C {
                            for kh in 0..K {
                                for kw in 0..K {
                                    let ih = (oh * S + kh) as isize - pt;
                                    let iw = (ow * S + kw) as isize - pl;
                                    if (0..H as isize).contains(&ih)
                                        && (0..W as isize).contains(&iw)
                                    {
                                        s += layer.weight[f][c][kh][kw]
                                            * x[c][ih as usize][iw as usize];
                                    }
                                }
                            }
                        }
                        y[f][oh][ow] = s;
                    }
                }
            }
            A::forward(y.flat_mut());
        }
    }

    /// `sin(i·a + b)` for the flat index `i`, as `scripts/reference/conv_layers.py` fills its tensors.
    pub(crate) fn sin_fill(v: &mut [f32], a: f64, b: f64) {
        for (i, v) in v.iter_mut().enumerate() {
            *v = ((i as f64) * a + b).sin() as f32;
        }
    }

    /// Runs the layer (identity activation) on the script's batch of 2 with the script's weights
    /// and `dL/dy = r`, and compares output, gradients and input gradient with PyTorch's.
    pub(crate) fn against_torch<L>(
        y_ref: &[L::Output; 2],
        dw_ref: &[f32],
        db_ref: &[f32],
        dx_ref: &[L::Input; 2],
    ) where
        L: Backprop<2> + Copy,
    {
        let mut layer = L::zeroed();
        let (w, b) = layer.as_mut_slice().split_at_mut(dw_ref.len());
        sin_fill(w, 0.71, 0.3);
        sin_fill(b, 1.3, 0.5);
        let mut x = [L::Input::ZERO; 2];
        sin_fill(Parameters::as_mut_slice(&mut x), 0.37, 0.1);
        let mut y = [L::Output::ZERO; 2];
        layer.forward_train(&x, &mut y, &mut L::Scratch::zeroed(), &mut Rng::new(0));
        let mut r = [L::Output::ZERO; 2];
        sin_fill(Parameters::as_mut_slice(&mut r), 0.53, 0.7);
        let mut grad = L::zeroed();
        let mut dx = [L::Input::ZERO; 2];
        layer.backward(&x, &y, &r, &L::Scratch::zeroed(), &mut grad, Some(&mut dx));
        let (dw, db) = grad.as_slice().split_at(dw_ref.len());
        let close = |what: &str, got: &[f32], want: &[f32]| {
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{what}[{i}]: {g} vs PyTorch {w}"
                );
            }
        };
        close("y", Parameters::as_slice(&y), Parameters::as_slice(y_ref));
        close("dW", dw, dw_ref);
        close("db", db, db_ref);
        close(
            "dx",
            Parameters::as_slice(&dx),
            Parameters::as_slice(dx_ref),
        );
    }

    #[test]
    fn matches_pytorch() {
        // Generated by scripts/reference/conv_layers.py (torch 2.15.0+cu132, float64, printed as f32).
        // CONV2D_VALID: x [2, 2, 5, 6], weight [3, 2, 3, 3], stride 1, valid, output [2, 3, 3, 4]
        const CONV2D_VALID_Y: [[[[f32; 4]; 3]; 3]; 2] = [
            [
                [
                    [2.2930455e0, 4.1092124e0, 5.4341044e0, 6.088404e0],
                    [3.6539993e0, 1.7445877e0, -3.3605784e-1, -2.3063314e0],
                    [-5.172586e0, -4.6800747e0, -3.4892488e0, -1.7612816e0],
                ],
                [
                    [1.4406767e0, 3.4715307e0, 5.164335e0, 6.289976e0],
                    [5.234774e0, 3.5650995e0, 1.5447112e0, -5.5294085e-1],
                    [-4.644887e0, -4.6569295e0, -3.9068732e0, -2.496234e0],
                ],
                [
                    [-8.596052e-1, 1.2936045e0, 3.2773588e0, 4.8231654e0],
                    [5.19514e0, 3.841113e0, 1.9728373e0, -1.5682508e-1],
                    [-5.2884254e0, -5.8044753e0, -5.5292883e0, -4.5001106e0],
                ],
            ],
            [
                [
                    [-2.4064746e0, -3.9719663e0, -4.9349833e0, -5.165185e0],
                    [-1.6545568e0, 3.856287e-1, 2.438509e0, 4.226237e0],
                    [5.9455333e0, 5.0442276e0, 3.5250974e0, 1.5937499e0],
                ],
                [
                    [-6.6536427e-1, -2.5370612e0, -3.9335732e0, -4.665889e0],
                    [-2.402488e0, -5.032253e-1, 1.5959524e0, 3.610931e0],
                    [6.695402e0, 6.2706923e0, 5.129079e0, 3.4250746e0],
                ],
                [
                    [-2.7641755e-1, -2.3692245e0, -4.1357403e0, -5.3368754e0],
                    [-4.423606e0, -2.7516143e0, -7.0157695e-1, 1.4490434e0],
                    [5.758456e0, 5.829651e0, 5.117457e0, 3.7182672e0],
                ],
            ],
        ];
        const CONV2D_VALID_DW: [f32; 54] = [
            3.1735487e-2,
            -4.7742907e-2,
            -1.20759524e-1,
            -1.8952976e-1,
            -1.3909471e-1,
            -6.983384e-2,
            1.9742581e-1,
            2.1592295e-1,
            2.0519593e-1,
            2.1599115e-1,
            2.0472734e-1,
            1.6575463e-1,
            -1.23192236e-1,
            -1.7909881e-1,
            -2.107652e-1,
            -6.703886e-2,
            1.1821852e-2,
            8.908253e-2,
            2.9489987e-2,
            -4.567797e-2,
            -1.1466362e-1,
            -1.7901196e-1,
            -1.3115586e-1,
            -6.554845e-2,
            1.8695419e-1,
            2.0425913e-1,
            1.9391856e-1,
            2.0432e-1,
            1.9347188e-1,
            1.5643825e-1,
            -1.1696053e-1,
            -1.6970077e-1,
            -1.994728e-1,
            -6.2902495e-2,
            1.1714087e-2,
            8.474522e-2,
            2.7070563e-2,
            -4.3343645e-2,
            -1.0789149e-1,
            -1.674384e-1,
            -1.2244352e-1,
            -6.087648e-2,
            1.7537998e-1,
            1.9139066e-1,
            1.8149753e-1,
            1.9144386e-1,
            1.8107541e-1,
            1.4619926e-1,
            -1.1003904e-1,
            -1.5930189e-1,
            -1.8700399e-1,
            -5.8395155e-2,
            1.1537237e-2,
            7.990812e-2,
        ];
        const CONV2D_VALID_DB: [f32; 3] = [1.6172001e-1, 1.7983325e-1, 1.9688593e-1];
        const CONV2D_VALID_DX: [[[[f32; 6]; 5]; 2]; 2] = [
            [
                [
                    [
                        1.0358741e0,
                        3.357753e0,
                        5.994431e0,
                        6.3239913e0,
                        4.594716e0,
                        1.9367872e0,
                    ],
                    [
                        1.2905692e0,
                        1.1208535e0,
                        -2.0876887e0,
                        -6.0670557e0,
                        -7.377027e0,
                        -4.3140574e0,
                    ],
                    [
                        -3.0665095e0,
                        -8.389298e0,
                        -1.1144726e1,
                        -6.4951344e0,
                        8.93496e-1,
                        2.9526384e0,
                    ],
                    [
                        -2.0674512e0,
                        -9.277174e-2,
                        4.931147e0,
                        6.5151277e0,
                        2.4602273e0,
                        -5.1606333e-1,
                    ],
                    [
                        2.8085089e0,
                        4.0021515e0,
                        2.303208e0,
                        -2.775005e-1,
                        -5.6513834e-1,
                        -5.3141903e-2,
                    ],
                ],
                [
                    [
                        1.2206981e0,
                        3.6751502e0,
                        6.246767e0,
                        6.476208e0,
                        4.538884e0,
                        1.8500106e0,
                    ],
                    [
                        1.156425e0,
                        5.861621e-1,
                        -3.0185025e0,
                        -7.0114675e0,
                        -7.754574e0,
                        -4.3148446e0,
                    ],
                    [
                        -3.3601315e0,
                        -8.450684e0,
                        -1.041897e1,
                        -5.257576e0,
                        1.8282915e0,
                        3.3005857e0,
                    ],
                    [
                        -1.7913661e0,
                        4.273971e-1,
                        5.3421597e0,
                        6.312769e0,
                        1.9485372e0,
                        -8.7615615e-1,
                    ],
                    [
                        2.7751846e0,
                        3.7606807e0,
                        1.8455814e0,
                        -5.1904225e-1,
                        -5.5373096e-1,
                        4.7028307e-2,
                    ],
                ],
            ],
            [
                [
                    [
                        1.2399577e0,
                        3.7989895e0,
                        6.356444e0,
                        5.913717e0,
                        3.8559191e0,
                        1.4374802e0,
                    ],
                    [
                        1.1678158e0,
                        1.5465455e-1,
                        -3.9598653e0,
                        -7.3285546e0,
                        -7.5031095e0,
                        -3.9567764e0,
                    ],
                    [
                        -3.6703513e0,
                        -8.420896e0,
                        -9.440161e0,
                        -3.8200486e0,
                        2.8248587e0,
                        3.625944e0,
                    ],
                    [
                        -1.2704825e0,
                        1.206763e0,
                        5.8221307e0,
                        6.6547246e0,
                        1.8966551e0,
                        -9.891348e-1,
                    ],
                    [
                        2.5331914e0,
                        3.258751e0,
                        1.2190758e0,
                        -1.4189783e0,
                        -1.0671695e0,
                        -1.1120191e-1,
                    ],
                ],
                [
                    [
                        1.4634506e0,
                        4.139615e0,
                        6.572515e0,
                        6.0072393e0,
                        3.79556e0,
                        1.3742812e0,
                    ],
                    [
                        9.3241656e-1,
                        -5.1048416e-1,
                        -4.929915e0,
                        -8.195604e0,
                        -7.7972584e0,
                        -3.9233909e0,
                    ],
                    [
                        -3.8700566e0,
                        -8.262351e0,
                        -8.457361e0,
                        -2.460674e0,
                        3.7131438e0,
                        3.8956482e0,
                    ],
                    [
                        -1.0296522e0,
                        1.5852203e0,
                        5.9706216e0,
                        6.1931252e0,
                        1.2327611e0,
                        -1.3941954e0,
                    ],
                    [
                        2.5039659e0,
                        3.0466287e0,
                        8.428112e-1,
                        -1.5415311e0,
                        -9.358304e-1,
                        5.4442257e-2,
                    ],
                ],
            ],
        ];
        // CONV2D_SAME_S2: x [2, 2, 5, 6], weight [3, 2, 3, 3], stride 2, same, output [2, 3, 3, 3]
        const CONV2D_SAME_S2_Y: [[[[f32; 3]; 3]; 3]; 2] = [
            [
                [
                    [-2.7876468e0, -1.5961894e0, 1.4250473e0],
                    [3.6539993e0, -3.3605784e-1, -2.988396e0],
                    [1.316429e0, 3.4980855e0, 1.9050761e0],
                ],
                [
                    [-1.6524879e0, -1.2911885e0, 1.3947266e0],
                    [5.234774e0, 1.5447112e0, -1.9115694e0],
                    [1.1890948e0, 4.078414e0, 3.060378e0],
                ],
                [
                    [-1.8246138e0, -2.3098984e0, -8.1418015e-2],
                    [5.19514e0, 1.9728373e0, -2.1302485e0],
                    [-3.7471458e-1, 3.090907e0, 2.6941285e0],
                ],
            ],
            [
                [
                    [3.5718746e0, 1.976659e0, -1.085974e0],
                    [-1.6545568e0, 2.438509e0, 4.2198567e0],
                    [-1.0775362e0, -2.9017193e0, -8.110855e-1],
                ],
                [
                    [3.6432214e0, 2.896418e0, 2.4284134e-2],
                    [-2.402488e0, 1.5959524e0, 4.3040915e0],
                    [-1.4246716e-1, -2.7020276e0, -1.0825992e0],
                ],
                [
                    [2.166518e0, 2.3020797e0, -2.489756e-1],
                    [-4.423606e0, -7.0157695e-1, 2.81023e0],
                    [-5.8333474e-1, -3.761904e0, -2.6873074e0],
                ],
            ],
        ];
        const CONV2D_SAME_S2_DW: [f32; 54] = [
            -1.596367e0,
            -2.4765086e0,
            -1.7874347e0,
            5.4212147e-1,
            1.7394346e0,
            -2.5234694e-2,
            2.0193741e0,
            1.6616498e0,
            2.272629e0,
            2.5513752e0,
            1.7015873e0,
            2.0706758e0,
            -3.3373673e0,
            -2.7879198e0,
            -2.9194791e0,
            8.184957e-1,
            1.4663216e0,
            1.1735672e0,
            1.8938693e0,
            1.4691187e0,
            2.1320853e0,
            -3.8314807e0,
            -4.652075e0,
            -4.662677e0,
            1.6715665e0,
            2.5366716e0,
            1.8720785e0,
            1.0131149e0,
            1.5947614e0,
            1.3307675e0,
            2.5706224e0,
            9.06124e-1,
            1.1963834e0,
            -2.5161777e0,
            -1.6427635e0,
            -2.0225508e0,
            1.8144618e0,
            2.64569e0,
            2.032962e0,
            -9.833483e-1,
            -2.2751598e0,
            -5.117113e-1,
            -1.8268794e0,
            -1.369531e0,
            -2.0570436e0,
            -2.4347064e0,
            -1.5179373e0,
            -1.917427e0,
            3.6333957e0,
            2.8922675e0,
            3.0572526e0,
            -1.1082544e0,
            -1.6554995e0,
            -1.4064807e0,
        ];
        const CONV2D_SAME_S2_DB: [f32; 3] = [-1.7635701e0, 2.7687085e0, 2.0824099e0];
        const CONV2D_SAME_S2_DX: [[[[f32; 6]; 5]; 2]; 2] = [
            [
                [
                    [
                        -1.3047627e-1,
                        4.5447555e-1,
                        1.028403e0,
                        4.6277082e-1,
                        9.8374426e-1,
                        3.4408832e-1,
                    ],
                    [
                        9.0918624e-1,
                        1.0074457e0,
                        1.335733e0,
                        9.1194034e-1,
                        9.941699e-1,
                        5.6621146e-1,
                    ],
                    [
                        6.377347e-1,
                        1.3099284e-1,
                        1.7096758e-1,
                        -1.1804522e-1,
                        -3.7413585e-1,
                        -3.3469334e-1,
                    ],
                    [
                        -1.5105508e-1,
                        6.5122165e-2,
                        -3.3874607e-1,
                        -4.5383576e-1,
                        -9.643656e-1,
                        -8.4826756e-1,
                    ],
                    [
                        1.0598407e-1,
                        -4.5950633e-1,
                        -1.0349691e0,
                        -4.582373e-1,
                        -9.6937555e-1,
                        -3.3123443e-1,
                    ],
                ],
                [
                    [
                        -3.921655e-2,
                        5.2959657e-1,
                        1.099706e0,
                        4.8341316e-1,
                        9.590762e-1,
                        3.0458805e-1,
                    ],
                    [
                        9.5600796e-1,
                        9.779592e-1,
                        1.3003354e0,
                        9.026015e-1,
                        9.739247e-1,
                        5.7958263e-1,
                    ],
                    [
                        5.7642335e-1,
                        4.2188283e-2,
                        -8.6096686e-4,
                        -2.3178735e-1,
                        -5.567751e-1,
                        -4.4216383e-1,
                    ],
                    [
                        -1.20806895e-1,
                        9.75345e-2,
                        -3.1770334e-1,
                        -4.112757e-1,
                        -9.2851615e-1,
                        -8.072377e-1,
                    ],
                    [
                        1.707902e-2,
                        -5.312168e-1,
                        -1.099673e0,
                        -4.7451138e-1,
                        -9.376933e-1,
                        -2.8760675e-1,
                    ],
                ],
            ],
            [
                [
                    [
                        6.483192e-1,
                        5.9505742e-2,
                        1.1050278e-2,
                        -1.8713689e-1,
                        -5.1919574e-1,
                        -3.824318e-1,
                    ],
                    [
                        -2.879866e-1,
                        -9.002981e-2,
                        -5.382001e-1,
                        -5.8673286e-1,
                        -1.1023349e0,
                        -9.224447e-1,
                    ],
                    [
                        6.816482e-3,
                        -4.7279283e-1,
                        -1.0459049e0,
                        -4.334262e-1,
                        -8.9784646e-1,
                        -2.7513355e-1,
                    ],
                    [
                        -8.669704e-1,
                        -1.0050508e0,
                        -1.2514107e0,
                        -8.1188506e-1,
                        -7.9544747e-1,
                        -3.9594963e-1,
                    ],
                    [
                        -6.4858097e-1,
                        -4.134814e-2,
                        2.9117685e-2,
                        2.0378262e-1,
                        5.5367756e-1,
                        3.929983e-1,
                    ],
                ],
                [
                    [
                        5.739425e-1,
                        -3.948946e-2,
                        -1.691627e-1,
                        -3.023645e-1,
                        -6.9537157e-1,
                        -4.8227498e-1,
                    ],
                    [
                        -2.6534984e-1,
                        -5.358146e-2,
                        -5.1204926e-1,
                        -5.4336977e-1,
                        -1.0639144e0,
                        -8.8406515e-1,
                    ],
                    [
                        -7.1396224e-2,
                        -5.29856e-1,
                        -1.0833576e0,
                        -4.320521e-1,
                        -8.3867675e-1,
                        -2.1569917e-1,
                    ],
                    [
                        -9.1887724e-1,
                        -9.821855e-1,
                        -1.220551e0,
                        -8.1080806e-1,
                        -7.823437e-1,
                        -4.1695637e-1,
                    ],
                    [
                        -5.712005e-1,
                        5.983857e-2,
                        2.1076903e-1,
                        3.1895745e-1,
                        7.2758096e-1,
                        4.9055892e-1,
                    ],
                ],
            ],
        ];
        against_torch::<Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4>>(
            &CONV2D_VALID_Y,
            &CONV2D_VALID_DW,
            &CONV2D_VALID_DB,
            &CONV2D_VALID_DX,
        );
        against_torch::<Conv2d<2, 5, 6, 3, 3, 2, true, 3, 3>>(
            &CONV2D_SAME_S2_Y,
            &CONV2D_SAME_S2_DW,
            &CONV2D_SAME_S2_DB,
            &CONV2D_SAME_S2_DX,
        );
    }

    #[test]
    fn size_is_the_parameters() {
        use core::mem::size_of;
        type LeNet1 = Conv2d<1, 28, 28, 6, 5, 1, false, 24, 24, crate::Relu>;
        type Same = Conv2d<3, 9, 7, 4, 3, 2, true, 5, 4, Tanh>;
        assert_eq!(size_of::<LeNet1>(), 4 * <LeNet1 as Layer>::PARAMS);
        assert_eq!(<LeNet1 as Layer>::PARAMS, 6 * 25 + 6);
        assert_eq!(size_of::<Same>(), 4 * <Same as Layer>::PARAMS);
        assert_eq!(<Same as Layer>::PARAMS, 4 * 3 * 9 + 4);
        assert_eq!(<Same as Layer>::TENSORS[0].shape, &[4, 3, 3, 3]);
    }
}

/// Timing of the LeNet convolutions; run with
/// `cargo test -p nn-core --lib --release -- --ignored --nocapture lenet_timing`.
#[cfg(test)]
mod timing {
    use std::boxed::Box;
    use std::println;
    use std::time::Instant;

    use super::*;
    use crate::layer::testing::random;
    use crate::Relu;
    use crate::Zeroed;

    const B: usize = 32;
    type Conv1 = Conv2d<1, 28, 28, 6, 5, 1, false, 24, 24, Relu>;
    type Conv2 = Conv2d<6, 12, 12, 16, 5, 1, false, 8, 8, Relu>;
    type Batch<L> = [<L as Layer>::Input; B];
    type Out<L> = [<L as Layer>::Output; B];

    /// Best of `rounds` means of `reps` runs of `f`, in µs.
    fn time(mut f: impl FnMut()) -> f64 {
        let (reps, rounds) = (200, 7);
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reps {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e6 / reps as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    #[ignore]
    fn lenet_timing() {
        let mut rng = Rng::new(1);
        let mut c1 = Conv1::zeroed();
        c1.init(&mut rng);
        let mut c2 = Conv2::zeroed();
        c2.init(&mut rng);
        let mut x1 = Batch::<Conv1>::boxed_zeroed();
        let mut x2 = Batch::<Conv2>::boxed_zeroed();
        for (b, (x1, x2)) in x1.iter_mut().zip(x2.iter_mut()).enumerate() {
            *x1 = random(b as u64);
            *x2 = random(100 + b as u64);
        }
        let mut y1 = Out::<Conv1>::boxed_zeroed();
        let mut y2 = Out::<Conv2>::boxed_zeroed();
        let mut dz1 = Out::<Conv1>::boxed_zeroed();
        let mut dz2 = Out::<Conv2>::boxed_zeroed();
        for (b, (d1, d2)) in dz1.iter_mut().zip(dz2.iter_mut()).enumerate() {
            *d1 = random(200 + b as u64);
            *d2 = random(300 + b as u64);
        }
        let mut dx2: Box<Batch<Conv2>> = Batch::<Conv2>::boxed_zeroed();
        let (mut g1, mut g2) = (Box::new(Conv1::zeroed()), Box::new(Conv2::zeroed()));

        let f1 = time(|| c1.forward(&x1, &mut y1));
        let b1 = time(|| c1.backward(&x1, &y1, &dz1, &(), &mut g1, None));
        let f2 = time(|| c2.forward(&x2, &mut y2));
        let b2 = time(|| c2.backward(&x2, &y2, &dz2, &(), &mut g2, Some(&mut dx2)));
        println!("batch {B}, µs per batch:");
        println!("conv1 1×28×28→6×24×24: forward {f1:.1}, backward (no dx) {b1:.1}");
        println!("conv2 6×12×12→16×8×8: forward {f2:.1}, backward (with dx) {b2:.1}");
        let b2n = time(|| c2.backward(&x2, &y2, &dz2, &(), &mut g2, None));
        println!("(conv2 backward without dx: {b2n:.1})");
        println!("total {:.1}", f1 + b1 + f2 + b2);
    }
}
