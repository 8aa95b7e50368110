use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, ConvOp, Init, Layer, Op, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::kernel::conv::{out_len, pad_after, pad_before, ConvBackward, ConvForward, Geometry};
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
    const OP: Op = Op::Conv(ConvOp {
        kernel: &[K, K],
        strides: &[S, S],
        pads: &[
            pad_before(H, K, S, OH, SAME),
            pad_before(W, K, S, OW, SAME),
            pad_after(H, K, S, OH, SAME),
            pad_after(W, K, S, OW, SAME),
        ],
        groups: C,
    });
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

    /// Draws the weights from `rng` Glorot-uniform, whatever the activation (Keras' default),
    /// and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        self.init_with(Init::Glorot, rng);
    }

    /// Draws the weights from `rng` as `init` says (Keras' fans: the kernel's positions times
    /// its input and output channels) and zeroes the biases.
    fn init_with(&mut self, init: Init, rng: &mut Rng) {
        let limit = init.limit(K * K, K * K);
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
    use crate::layer::conv2d::tests::against_torch;
    use crate::layer::testing::check_layer as check;
    use crate::Tanh;

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
    fn matches_pytorch() {
        // Generated by scripts/reference/conv_layers.py (torch 2.15.0+cu132, float64, printed as f32).
        // DEPTHWISE_SAME: x [2, 3, 5, 6], weight [3, 1, 3, 3], stride 1, same, output [2, 3, 5, 6]
        const DEPTHWISE_SAME_Y: [[[[f32; 6]; 5]; 3]; 2] = [
            [
                [
                    [
                        -5.6668097e-1,
                        -1.0575147e0,
                        -2.4795006e-1,
                        6.600615e-1,
                        1.5436248e0,
                        2.4654255e0,
                    ],
                    [
                        1.8577522e0,
                        4.112174e0,
                        4.5005436e0,
                        4.344674e0,
                        3.665661e0,
                        1.327354e0,
                    ],
                    [
                        1.5543418e0,
                        -3.1973016e-1,
                        -1.6954753e0,
                        -2.7768579e0,
                        -3.4175177e0,
                        -2.1294484e0,
                    ],
                    [
                        -2.1985872e0,
                        -2.18706e0,
                        -9.1201025e-1,
                        5.5136395e-1,
                        2.0050015e0,
                        2.7858987e0,
                    ],
                    [
                        1.5610093e0,
                        2.6474538e0,
                        2.9338248e0,
                        2.8880045e0,
                        2.5161943e0,
                        8.0616224e-1,
                    ],
                ],
                [
                    [
                        9.109315e-1,
                        -7.562843e-1,
                        -1.1640189e0,
                        -1.2824032e0,
                        -1.0954146e0,
                        -6.653064e-2,
                    ],
                    [
                        -1.477324e0,
                        -8.452807e-1,
                        5.8251625e-1,
                        2.063278e0,
                        3.3965907e0,
                        3.5592513e0,
                    ],
                    [
                        3.5415373e0,
                        4.947577e0,
                        4.4139104e0,
                        3.4146476e0,
                        2.085034e0,
                        1.1490022e-1,
                    ],
                    [
                        3.2041392e-1,
                        -2.0116785e0,
                        -2.7942166e0,
                        -3.066765e0,
                        -2.7924356e0,
                        -5.7299876e-1,
                    ],
                    [
                        -1.165585e0,
                        -3.5717708e-1,
                        5.87211e-1,
                        1.5839286e0,
                        2.4980745e0,
                        2.0727615e0,
                    ],
                ],
                [
                    [
                        1.0397615e0,
                        1.4543103e0,
                        8.180025e-1,
                        7.660974e-2,
                        -6.695241e-1,
                        -1.6883053e0,
                    ],
                    [
                        -1.3174255e0,
                        -3.5537553e0,
                        -3.9929764e0,
                        -3.8861392e0,
                        -3.2477033e0,
                        -8.867347e-1,
                    ],
                    [
                        -1.1343037e0,
                        7.1168065e-1,
                        2.1145942e0,
                        3.2369351e0,
                        3.9268e0,
                        2.6310935e0,
                    ],
                    [
                        2.8223538e0,
                        2.8266957e0,
                        1.5696476e0,
                        1.05782636e-1,
                        -1.3667717e0,
                        -2.1610956e0,
                    ],
                    [
                        -1.4247274e0,
                        -2.537553e0,
                        -2.8767424e0,
                        -2.8209505e0,
                        -2.3777285e0,
                        -6.5878993e-1,
                    ],
                ],
            ],
            [
                [
                    [
                        1.0567976e0,
                        2.809235e0,
                        2.9628646e0,
                        2.7803724e0,
                        2.2864578e0,
                        1.021531e0,
                    ],
                    [
                        2.3335807e0,
                        1.0283499e0,
                        -4.5396656e-1,
                        -1.8099527e0,
                        -2.8560824e0,
                        -2.2854223e0,
                    ],
                    [
                        -2.274059e0,
                        -3.035843e0,
                        -2.0823927e0,
                        -7.822126e-1,
                        6.8872434e-1,
                        2.1543841e0,
                    ],
                    [
                        1.9545212e0,
                        4.180828e0,
                        4.5103235e0,
                        4.294256e0,
                        3.5618694e0,
                        1.2190732e0,
                    ],
                    [
                        2.1008577e0,
                        9.5064235e-1,
                        3.9451327e-2,
                        -8.1219125e-1,
                        -1.4890195e0,
                        -5.9709126e-1,
                    ],
                ],
                [
                    [
                        4.1304342e-2,
                        1.263603e-1,
                        9.406407e-1,
                        1.7594155e0,
                        2.4718673e0,
                        3.0783544e0,
                    ],
                    [
                        3.0260365e0,
                        4.9668126e0,
                        4.9203286e0,
                        4.339707e0,
                        3.3035321e0,
                        1.0179389e0,
                    ],
                    [
                        1.256051e0,
                        -9.472755e-1,
                        -2.1027e0,
                        -2.841728e0,
                        -3.0643358e0,
                        -1.2289925e0,
                    ],
                    [
                        -1.4195546e0,
                        -6.962788e-1,
                        7.4723405e-1,
                        2.2214181e0,
                        3.5267491e0,
                        3.5932202e0,
                    ],
                    [
                        2.8390422e0,
                        3.631548e0,
                        3.6463063e0,
                        3.2993598e0,
                        2.6376662e0,
                        1.1330906e0,
                    ],
                ],
                [
                    [
                        -1.2595056e-1,
                        -1.8162633e0,
                        -2.0099053e0,
                        -1.9258882e0,
                        -1.5755835e0,
                        -2.7567822e-1,
                    ],
                    [
                        -1.925164e0,
                        -6.459909e-1,
                        8.4772867e-1,
                        2.2323399e0,
                        3.3204422e0,
                        2.7500389e0,
                    ],
                    [
                        2.876007e0,
                        3.6451194e0,
                        2.7244117e0,
                        1.4405954e0,
                        -3.257093e-2,
                        -1.5174271e0,
                    ],
                    [
                        -1.4187926e0,
                        -3.6279027e0,
                        -4.0083904e0,
                        -3.8407338e0,
                        -3.1476238e0,
                        -7.818742e-1,
                    ],
                    [
                        -1.5830005e0,
                        -5.1508516e-1,
                        5.68166e-1,
                        1.5801464e0,
                        2.3838892e0,
                        1.4091766e0,
                    ],
                ],
            ],
        ];
        const DEPTHWISE_SAME_DW: [f32; 27] = [
            4.861971e0,
            7.237387e0,
            6.7904367e0,
            -3.4418101e0,
            -4.971697e0,
            -6.268269e0,
            3.2166612e0,
            4.909624e0,
            8.253982e0,
            5.211554e-1,
            2.9166418e-1,
            -4.5154123e0,
            -1.0197223e0,
            -1.9796513e0,
            1.4895685e0,
            3.1198156e0,
            5.2648373e0,
            1.7869074e0,
            -1.9089975e0,
            -5.590234e0,
            -4.6493287e0,
            9.314672e-1,
            3.374787e0,
            4.3222523e0,
            -4.8398772e-1,
            -2.877157e0,
            -6.095154e0,
        ];
        const DEPTHWISE_SAME_DB: [f32; 3] = [1.5774482e0, -1.8298967e0, 2.015069e0];
        const DEPTHWISE_SAME_DX: [[[[f32; 6]; 5]; 3]; 2] = [
            [
                [
                    [
                        -2.3561396e-1,
                        -1.5381963e0,
                        -2.1040418e0,
                        -2.092568e0,
                        -1.5069231e0,
                        -2.75394e-1,
                    ],
                    [
                        -1.2237604e0,
                        -3.6676365e-1,
                        2.651615e-1,
                        8.243301e-1,
                        1.1573142e0,
                        2.647508e-1,
                    ],
                    [
                        1.2418255e0,
                        3.2231703e-1,
                        -3.1020087e-1,
                        -8.57604e-1,
                        -1.1696928e0,
                        -2.1533784e-1,
                    ],
                    [
                        -1.258059e0,
                        -2.7739498e-1,
                        3.547827e-1,
                        8.8961303e-1,
                        1.1803461e0,
                        1.6560727e-1,
                    ],
                    [
                        2.223827e0,
                        2.1135504e0,
                        1.5462443e0,
                        5.546705e-1,
                        -5.8909696e-1,
                        -3.179922e-1,
                    ],
                ],
                [
                    [
                        6.3338894e-1,
                        2.1729991e0,
                        2.4814484e0,
                        2.1090233e0,
                        1.157912e0,
                        -2.4071093e-1,
                    ],
                    [
                        9.461936e-1,
                        -3.5978755e-1,
                        -9.4135493e-1,
                        -1.2646278e0,
                        -1.2409048e0,
                        5.8499992e-2,
                    ],
                    [
                        -9.495222e-1,
                        4.0744448e-1,
                        9.750244e-1,
                        1.2750714e0,
                        1.2252568e0,
                        -1.2242056e-1,
                    ],
                    [
                        9.514503e-1,
                        -4.5450044e-1,
                        -1.0072558e0,
                        -1.2836343e0,
                        -1.2078018e0,
                        1.8616056e-1,
                    ],
                    [
                        -2.141632e0,
                        -1.584469e0,
                        -8.6185354e-1,
                        9.724227e-2,
                        1.0296562e0,
                        3.126362e-1,
                    ],
                ],
                [
                    [
                        -1.0459397e0,
                        -2.6952407e0,
                        -2.6636825e0,
                        -1.9012473e0,
                        -6.1713684e-1,
                        8.16106e-1,
                    ],
                    [
                        -5.671145e-1,
                        1.0849634e0,
                        1.4899722e0,
                        1.4861538e0,
                        1.0745558e0,
                        -5.116188e-1,
                    ],
                    [
                        5.607878e-1,
                        -1.1262317e0,
                        -1.5041097e0,
                        -1.4692813e0,
                        -1.0313029e0,
                        5.8580786e-1,
                    ],
                    [
                        -5.53634e-1,
                        1.1658388e0,
                        1.5160288e0,
                        1.4502417e0,
                        9.865289e-1,
                        -6.5913296e-1,
                    ],
                    [
                        1.9232699e0,
                        9.596324e-1,
                        1.9520982e-1,
                        -6.2277555e-1,
                        -1.2698802e0,
                        -1.6823596e-1,
                    ],
                ],
            ],
            [
                [
                    [
                        4.67125e-1,
                        2.1270788e0,
                        2.0631216e0,
                        1.4330729e0,
                        4.0980926e-1,
                        -1.0690786e0,
                    ],
                    [
                        1.2953326e0,
                        -3.1918085e-1,
                        -8.6412656e-1,
                        -1.1719682e0,
                        -1.1582383e0,
                        4.7625417e-1,
                    ],
                    [
                        -1.2846849e0,
                        3.6366296e-1,
                        8.9587617e-1,
                        1.1822736e0,
                        1.1442719e0,
                        -5.227143e-1,
                    ],
                    [
                        1.2721424e0,
                        -4.0760872e-1,
                        -9.2630434e-1,
                        -1.1908351e0,
                        -1.1286176e0,
                        5.6840354e-1,
                    ],
                    [
                        -2.369041e0,
                        -1.4735324e0,
                        -4.5673218e-1,
                        6.853889e-1,
                        1.639449e0,
                        5.1546985e-1,
                    ],
                ],
                [
                    [
                        -8.374221e-1,
                        -2.4758942e0,
                        -2.0464425e0,
                        -1.0554758e0,
                        2.2509855e-1,
                        1.6157616e0,
                    ],
                    [
                        -8.505907e-1,
                        9.8160547e-1,
                        1.27694e0,
                        1.2219002e0,
                        8.315883e-1,
                        -9.5653564e-1,
                    ],
                    [
                        8.3354753e-1,
                        -1.0135425e0,
                        -1.2851241e0,
                        -1.2040857e0,
                        -7.926632e-1,
                        1.0082457e0,
                    ],
                    [
                        -8.1527495e-1,
                        1.0439848e0,
                        1.2914127e0,
                        1.1844952e0,
                        7.52569e-1,
                        -1.0584687e0,
                    ],
                    [
                        2.013101e0,
                        7.842694e-1,
                        -1.8337159e-1,
                        -1.100698e0,
                        -1.7160084e0,
                        -2.9649717e-1,
                    ],
                ],
                [
                    [
                        1.1421944e0,
                        2.6246536e0,
                        1.8059258e0,
                        4.9167758e-1,
                        -9.5748e-1,
                        -2.1330898e0,
                    ],
                    [
                        3.9175016e-1,
                        -1.5066786e0,
                        -1.4656357e0,
                        -1.022443e0,
                        -2.9870644e-1,
                        1.48694e0,
                    ],
                    [
                        -3.7464368e-1,
                        1.5181504e0,
                        1.4461647e0,
                        9.773718e-1,
                        2.404019e-1,
                        -1.5376719e0,
                    ],
                    [
                        3.5698462e-1,
                        -1.5273831e0,
                        -1.4245607e0,
                        -9.30859e-1,
                        -1.8174277e-1,
                        1.5861359e0,
                    ],
                    [
                        -1.5804194e0,
                        -1.2286141e-1,
                        6.8890613e-1,
                        1.3116475e0,
                        1.5744914e0,
                        -2.232715e-2,
                    ],
                ],
            ],
        ];
        // DEPTHWISE_VALID_S2: x [2, 3, 6, 5], weight [3, 1, 2, 2], stride 2, valid, output [2, 3, 3, 2]
        const DEPTHWISE_VALID_S2_Y: [[[[f32; 2]; 3]; 3]; 2] = [
            [
                [
                    [2.2892625e0, 1.9765669e0],
                    [-1.1817186e0, -2.369243e-1],
                    [1.4872212e0, 1.9735686e-1],
                ],
                [
                    [4.193782e-1, -6.3984954e-1],
                    [2.3903496e0, 2.843114e0],
                    [-8.7435377e-1, -5.8310497e-1],
                ],
                [
                    [-1.4202292e0, -1.8397643e-1],
                    [6.1033726e-1, -7.848893e-1],
                    [5.3866553e-1, 1.6689961e0],
                ],
            ],
            [
                [
                    [1.483059e-1, -9.755548e-1],
                    [1.711392e0, 2.297488e0],
                    [-1.2791166e0, -1.1493915e0],
                ],
                [
                    [-5.542949e-1, 5.721575e-1],
                    [1.6987705e0, 3.468381e-1],
                    [1.2723758e0, 2.4390714e0],
                ],
                [
                    [1.6968766e0, 1.9385046e0],
                    [-1.89231e0, -1.3672396e0],
                    [1.6665502e0, 5.342977e-1],
                ],
            ],
        ];
        const DEPTHWISE_VALID_S2_DW: [f32; 12] = [
            -1.3023632e0,
            -1.1261922e0,
            5.9294444e-1,
            9.812733e-1,
            4.256737e-1,
            8.8269395e-1,
            1.1741521e0,
            8.128358e-1,
            1.358111e0,
            1.0428095e0,
            -9.6812755e-1,
            -1.3131421e0,
        ];
        const DEPTHWISE_VALID_S2_DB: [f32; 3] = [2.1530189e-1, -2.2986004e-1, 2.4407916e-1];
        const DEPTHWISE_VALID_S2_DX: [[[[f32; 5]; 6]; 3]; 2] = [
            [
                [
                    [1.9037935e-1, 5.45544e-1, 2.785245e-1, 7.9812956e-1, 0.0e0],
                    [6.370603e-1, 4.207004e-1, 9.320175e-1, 6.154836e-1, 0.0e0],
                    [2.9024646e-1, 8.317196e-1, 2.2232889e-1, 6.370975e-1, 0.0e0],
                    [9.7124237e-1, 6.413868e-1, 7.43972e-1, 4.9130252e-1, 0.0e0],
                    [
                        9.340742e-2,
                        2.6766488e-1,
                        -6.1143715e-2,
                        -1.7521118e-1,
                        0.0e0,
                    ],
                    [
                        3.1256625e-1,
                        2.064118e-1,
                        -2.0460324e-1,
                        -1.3511541e-1,
                        0.0e0,
                    ],
                ],
                [
                    [
                        -1.0720321e-3,
                        4.379429e-1,
                        -1.5203907e-3,
                        6.2110484e-1,
                        0.0e0,
                    ],
                    [
                        6.6531044e-1,
                        5.7114923e-1,
                        9.4356483e-1,
                        8.1002235e-1,
                        0.0e0,
                    ],
                    [-1.5515756e-3, 6.338444e-1, -1.1570301e-3, 4.72666e-1, 0.0e0],
                    [9.629184e-1, 8.2663685e-1, 7.180608e-1, 6.1643386e-1, 0.0e0],
                    [
                        -4.4501192e-4,
                        1.8179475e-1,
                        3.8911126e-4,
                        -1.589584e-1,
                        0.0e0,
                    ],
                    [
                        2.7617744e-1,
                        2.3709011e-1,
                        -2.414851e-1,
                        -2.0730779e-1,
                        0.0e0,
                    ],
                ],
                [
                    [
                        -2.0929518e-1,
                        2.7738038e-1,
                        -2.8821918e-1,
                        3.8197893e-1,
                        0.0e0,
                    ],
                    [6.300046e-1, 6.781626e-1, 8.675757e-1, 9.3389374e-1, 0.0e0],
                    [
                        -2.8805992e-1,
                        3.8176787e-1,
                        -2.0886108e-1,
                        2.7680507e-1,
                        0.0e0,
                    ],
                    [8.670963e-1, 9.333777e-1, 6.2869793e-1, 6.76756e-1, 0.0e0],
                    [-7.235373e-2, 9.58909e-2, 8.400647e-2, -1.11334376e-1, 0.0e0],
                    [
                        2.1779373e-1,
                        2.3444203e-1,
                        -2.5286996e-1,
                        -2.721995e-1,
                        0.0e0,
                    ],
                ],
            ],
            [
                [
                    [
                        -2.1510261e-1,
                        -6.1639017e-1,
                        -2.8803346e-1,
                        -8.2537806e-1,
                        0.0e0,
                    ],
                    [-7.19791e-1, -4.753339e-1, -9.63837e-1, -6.364965e-1, 0.0e0],
                    [
                        -2.8193197e-1,
                        -8.078939e-1,
                        -1.9847234e-1,
                        -5.6873506e-1,
                        0.0e0,
                    ],
                    [
                        -9.434199e-1,
                        -6.2301344e-1,
                        -6.641416e-1,
                        -4.3858433e-1,
                        0.0e0,
                    ],
                    [
                        -6.0554717e-2,
                        -1.7352337e-1,
                        9.397827e-2,
                        2.6930067e-1,
                        0.0e0,
                    ],
                    [
                        -2.026323e-1,
                        -1.3381386e-1,
                        3.1447646e-1,
                        2.0767324e-1,
                        0.0e0,
                    ],
                ],
                [
                    [
                        1.200336e-3,
                        -4.9035716e-1,
                        1.5648378e-3,
                        -6.392622e-1,
                        0.0e0,
                    ],
                    [
                        -7.449367e-1,
                        -6.39506e-1,
                        -9.7114897e-1,
                        -8.3370256e-1,
                        0.0e0,
                    ],
                    [
                        1.4999702e-3,
                        -6.1276275e-1,
                        1.023532e-3,
                        -4.1812983e-1,
                        0.0e0,
                    ],
                    [
                        -9.3089175e-1,
                        -7.991429e-1,
                        -6.35211e-1,
                        -5.453097e-1,
                        0.0e0,
                    ],
                    [
                        2.6625115e-4,
                        -1.08768016e-1,
                        -5.6408526e-4,
                        2.304382e-1,
                        0.0e0,
                    ],
                    [
                        -1.6523728e-1,
                        -1.4185129e-1,
                        3.500752e-1,
                        3.0052912e-1,
                        0.0e0,
                    ],
                ],
                [
                    [2.3238616e-1, -3.07983e-1, 2.9526433e-1, -3.913159e-1, 0.0e0],
                    [
                        -6.995113e-1,
                        -7.529824e-1,
                        -8.887825e-1,
                        -9.567216e-1,
                        0.0e0,
                    ],
                    [
                        2.7712616e-1,
                        -3.6727726e-1,
                        1.8294847e-1,
                        -2.4246292e-1,
                        0.0e0,
                    ],
                    [
                        -8.341843e-1,
                        -8.979499e-1,
                        -5.5069774e-1,
                        -5.927934e-1,
                        0.0e0,
                    ],
                    [
                        3.8572326e-2,
                        -5.1120177e-2,
                        -1.1638752e-1,
                        1.5424922e-1,
                        0.0e0,
                    ],
                    [
                        -1.16107516e-1,
                        -1.2498284e-1,
                        3.5034096e-1,
                        3.7712127e-1,
                        0.0e0,
                    ],
                ],
            ],
        ];
        against_torch::<DepthwiseConv2d<3, 5, 6, 3, 1, true, 5, 6>>(
            &DEPTHWISE_SAME_Y,
            &DEPTHWISE_SAME_DW,
            &DEPTHWISE_SAME_DB,
            &DEPTHWISE_SAME_DX,
        );
        against_torch::<DepthwiseConv2d<3, 6, 5, 2, 2, false, 3, 2>>(
            &DEPTHWISE_VALID_S2_Y,
            &DEPTHWISE_VALID_S2_DW,
            &DEPTHWISE_VALID_S2_DB,
            &DEPTHWISE_VALID_S2_DX,
        );
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
