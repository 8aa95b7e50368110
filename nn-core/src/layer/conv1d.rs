use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, ConvOp, Init, Layer, Op, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::kernel::conv::{out_len, pad_after, pad_before, ConvBackward, ConvForward, Geometry};
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
    const OP: Op = Op::Conv(ConvOp {
        kernel: &[K],
        strides: &[S],
        pads: &[pad_before(L, K, S, OL, SAME), pad_after(L, K, S, OL, SAME)],
        groups: 1,
    });
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

    /// Draws the weights from `rng` Glorot-uniform, whatever the activation (Keras' default),
    /// and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        self.init_with(Init::Glorot, rng);
    }

    /// Draws the weights from `rng` as `init` says (Keras' fans: the kernel's positions times
    /// its input and output channels) and zeroes the biases.
    fn init_with(&mut self, init: Init, rng: &mut Rng) {
        let limit = init.limit(C * K, F * K);
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
    type Derivative = A;

    #[inline]
    fn activation_backward(y: &[Self::Output; B], dy: &mut [Self::Output; B]) {
        super::activation_backward::<Self, B>(y, dy);
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
    use crate::layer::conv2d::tests::against_torch;
    use crate::layer::testing::check_layer as check;
    use crate::Tanh;

    #[test]
    fn gradients() {
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Tanh>>(1);
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Identity>>(2);
        check::<Conv1d<2, 9, 3, 4, 2, false, 3, Tanh>>(3);
        check::<Conv1d<3, 8, 2, 3, 1, true, 8, Identity>>(4);
        check::<Conv1d<2, 9, 3, 4, 2, true, 5, Tanh>>(5);
        check::<Conv1d<1, 7, 2, 2, 3, true, 3, Identity>>(6);
        // 'same' with a kernel longer than the input: padding on both sides of every output.
        check::<Conv1d<2, 3, 2, 5, 1, true, 3, Tanh>>(7);
    }

    #[test]
    fn matches_pytorch() {
        // Generated by scripts/reference/conv_layers.py (torch 2.15.0+cu132, float64, printed as f32).
        // CONV1D_SAME_S2: x [2, 2, 9], weight [3, 2, 4], stride 2, same, output [2, 3, 5]
        const CONV1D_SAME_S2_Y: [[[f32; 5]; 3]; 2] = [
            [
                [3.0146666e0, 5.184125e0, 4.971424e0, 2.409126e0, 6.076303e-1],
                [
                    3.4715543e0,
                    4.3801622e0,
                    3.3810773e0,
                    1.12286e0,
                    7.166874e-1,
                ],
                [
                    1.6202266e0,
                    9.473056e-1,
                    -4.8555243e-1,
                    -1.6426867e0,
                    -5.1018393e-1,
                ],
            ],
            [
                [
                    4.309998e0,
                    5.4094253e0,
                    3.8991103e0,
                    6.000851e-1,
                    -4.7241412e-2,
                ],
                [
                    4.412248e0,
                    4.0821204e0,
                    2.3234308e0,
                    -1.4117594e-1,
                    8.520477e-1,
                ],
                [
                    1.8742795e0,
                    2.3111077e-1,
                    -1.155252e0,
                    -1.915596e0,
                    3.6763513e-1,
                ],
            ],
        ];
        const CONV1D_SAME_S2_DW: [f32; 24] = [
            1.4804015e0,
            2.5830052e0,
            2.9215672e0,
            3.1740513e0,
            -1.8775718e0,
            -3.0682125e0,
            -3.1030395e0,
            -3.1374023e0,
            -2.8403928e0,
            -3.5891254e0,
            -3.5470028e0,
            -3.303302e0,
            3.0400057e0,
            3.7635136e0,
            3.4823358e0,
            3.0028422e0,
            3.527678e0,
            3.745213e0,
            3.332382e0,
            2.6502132e0,
            -3.482458e0,
            -3.5674806e0,
            -3.0368907e0,
            -2.157102e0,
        ];
        const CONV1D_SAME_S2_DB: [f32; 3] = [2.5952535e0, -4.29418e0, 4.9760914e0];
        const CONV1D_SAME_S2_DX: [[[f32; 9]; 2]; 2] = [
            [
                [
                    5.181929e-1,
                    6.009738e-1,
                    4.4191667e-1,
                    4.7050592e-1,
                    5.112644e-1,
                    2.1093792e-1,
                    4.403284e-1,
                    -1.0650848e-1,
                    2.485725e-1,
                ],
                [
                    -5.3087294e-1,
                    -5.80155e-1,
                    -5.431146e-1,
                    -3.7888616e-1,
                    -5.2591234e-1,
                    -7.365629e-2,
                    -3.6440715e-1,
                    2.5178382e-1,
                    -1.029138e-1,
                ],
            ],
            [
                [
                    2.3212004e-2,
                    -1.5216416e-1,
                    2.1355458e-1,
                    -4.290976e-1,
                    -5.057904e-2,
                    -5.882927e-1,
                    -3.0083448e-1,
                    -5.8606863e-1,
                    -4.685452e-1,
                ],
                [
                    1.1434445e-1,
                    2.951991e-1,
                    -6.077279e-2,
                    5.349715e-1,
                    2.2635695e-1,
                    6.279552e-1,
                    4.5137754e-1,
                    5.48637e-1,
                    5.525465e-1,
                ],
            ],
        ];
        // CONV1D_VALID: x [2, 2, 9], weight [3, 2, 3], stride 1, valid, output [2, 3, 7]
        const CONV1D_VALID_Y: [[[f32; 7]; 3]; 2] = [
            [
                [
                    1.9993469e0,
                    2.4091203e0,
                    2.5577188e0,
                    2.42503e0,
                    2.0290127e0,
                    1.423266e0,
                    6.8977505e-1,
                ],
                [
                    -1.2224214e0,
                    -2.3498693e0,
                    -3.0274677e0,
                    -3.163507e0,
                    -2.7395747e0,
                    -1.813048e0,
                    -5.093281e-1,
                ],
                [
                    4.4170555e-1,
                    1.0175818e0,
                    1.4613609e0,
                    1.7129794e0,
                    1.738382e0,
                    1.5341303e0,
                    1.1278692e0,
                ],
            ],
            [
                [
                    2.414337e0,
                    2.5578206e0,
                    2.420003e0,
                    2.0195377e0,
                    1.4106252e0,
                    6.7567927e-1,
                    -8.582867e-2,
                ],
                [
                    -2.3668003e0,
                    -3.0350413e0,
                    -3.1606982e0,
                    -2.7267637e0,
                    -1.7919688e0,
                    -4.828336e-1,
                    1.0234566e0,
                ],
                [
                    1.0271668e0,
                    1.4678804e0,
                    1.7155509e0,
                    1.7366574e0,
                    1.5283432e0,
                    1.1188027e0,
                    5.634652e-1,
                ],
            ],
        ];
        const CONV1D_VALID_DW: [f32; 18] = [
            4.0194883e0,
            4.002098e0,
            3.443042e0,
            -4.080236e0,
            -3.7819939e0,
            -2.9718769e0,
            -3.005381e0,
            -3.8053896e0,
            -4.0903563e0,
            3.471892e0,
            4.019024e0,
            4.0222e0,
            1.0461376e0,
            2.4119575e0,
            3.4513304e0,
            -1.7717035e0,
            -2.9921465e0,
            -3.8076165e0,
        ];
        const CONV1D_VALID_DB: [f32; 3] = [5.519425e0, -4.648521e0, 2.3157446e0];
        const CONV1D_VALID_DX: [[[f32; 9]; 2]; 2] = [
            [
                [
                    1.682524e0,
                    2.8934295e0,
                    2.9171913e0,
                    2.4749122e0,
                    1.3535521e0,
                    -1.3920337e-1,
                    -1.5937635e0,
                    -9.934016e-1,
                    -2.5944218e-1,
                ],
                [
                    -9.2085594e-1,
                    -2.0853126e0,
                    -2.8438342e0,
                    -1.87245e0,
                    -3.872919e-1,
                    1.2041335e0,
                    2.4651618e0,
                    2.6205215e0,
                    1.5579762e0,
                ],
            ],
            [
                [
                    -1.4206183e-1,
                    -6.0731517e-3,
                    4.734163e-1,
                    1.8642628e0,
                    2.743582e0,
                    2.8701012e0,
                    2.209105e0,
                    1.7465116e0,
                    9.8336613e-1,
                ],
                [
                    -7.618582e-1,
                    -1.2327387e0,
                    -1.5204986e0,
                    -2.6586828e0,
                    -3.0673623e0,
                    -2.6344008e0,
                    -1.4785969e0,
                    -1.0038881e0,
                    -4.6021e-1,
                ],
            ],
        ];
        against_torch::<Conv1d<2, 9, 3, 4, 2, true, 5>>(
            &CONV1D_SAME_S2_Y,
            &CONV1D_SAME_S2_DW,
            &CONV1D_SAME_S2_DB,
            &CONV1D_SAME_S2_DX,
        );
        against_torch::<Conv1d<2, 9, 3, 3, 1, false, 7>>(
            &CONV1D_VALID_Y,
            &CONV1D_VALID_DW,
            &CONV1D_VALID_DB,
            &CONV1D_VALID_DX,
        );
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
