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
    use crate::layer::conv2d::tests::against_torch;
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
    fn matches_pytorch() {
        // Generated by scripts/reference/conv_layers.py (torch 2.15.0+cu132, float64, printed as f32).
        // DEPTHWISE_SAME: x [2, 3, 5, 6], weight [3, 1, 3, 3], stride 1, same, output [2, 3, 5, 6]
        const DEPTHWISE_SAME_Y: [[[[f32; 6]; 5]; 3]; 2] = [
            [
                [
                    [
                        -5.66680968e-01,
                        -1.05751467e+00,
                        -2.47950062e-01,
                        6.60061479e-01,
                        1.54362476e+00,
                        2.46542549e+00,
                    ],
                    [
                        1.85775220e+00,
                        4.11217403e+00,
                        4.50054359e+00,
                        4.34467411e+00,
                        3.66566110e+00,
                        1.32735395e+00,
                    ],
                    [
                        1.55434179e+00,
                        -3.19730163e-01,
                        -1.69547534e+00,
                        -2.77685785e+00,
                        -3.41751766e+00,
                        -2.12944841e+00,
                    ],
                    [
                        -2.19858718e+00,
                        -2.18706012e+00,
                        -9.12010252e-01,
                        5.51363945e-01,
                        2.00500154e+00,
                        2.78589869e+00,
                    ],
                    [
                        1.56100929e+00,
                        2.64745378e+00,
                        2.93382478e+00,
                        2.88800454e+00,
                        2.51619434e+00,
                        8.06162238e-01,
                    ],
                ],
                [
                    [
                        9.10931528e-01,
                        -7.56284297e-01,
                        -1.16401887e+00,
                        -1.28240323e+00,
                        -1.09541464e+00,
                        -6.65306374e-02,
                    ],
                    [
                        -1.47732401e+00,
                        -8.45280707e-01,
                        5.82516253e-01,
                        2.06327796e+00,
                        3.39659071e+00,
                        3.55925131e+00,
                    ],
                    [
                        3.54153728e+00,
                        4.94757700e+00,
                        4.41391039e+00,
                        3.41464758e+00,
                        2.08503389e+00,
                        1.14900216e-01,
                    ],
                    [
                        3.20413917e-01,
                        -2.01167846e+00,
                        -2.79421663e+00,
                        -3.06676507e+00,
                        -2.79243565e+00,
                        -5.72998762e-01,
                    ],
                    [
                        -1.16558504e+00,
                        -3.57177079e-01,
                        5.87211013e-01,
                        1.58392859e+00,
                        2.49807453e+00,
                        2.07276154e+00,
                    ],
                ],
                [
                    [
                        1.03976154e+00,
                        1.45431030e+00,
                        8.18002522e-01,
                        7.66097382e-02,
                        -6.69524074e-01,
                        -1.68830526e+00,
                    ],
                    [
                        -1.31742549e+00,
                        -3.55375528e+00,
                        -3.99297643e+00,
                        -3.88613915e+00,
                        -3.24770331e+00,
                        -8.86734724e-01,
                    ],
                    [
                        -1.13430369e+00,
                        7.11680651e-01,
                        2.11459422e+00,
                        3.23693514e+00,
                        3.92680001e+00,
                        2.63109350e+00,
                    ],
                    [
                        2.82235384e+00,
                        2.82669568e+00,
                        1.56964755e+00,
                        1.05782636e-01,
                        -1.36677170e+00,
                        -2.16109562e+00,
                    ],
                    [
                        -1.42472744e+00,
                        -2.53755307e+00,
                        -2.87674236e+00,
                        -2.82095051e+00,
                        -2.37772846e+00,
                        -6.58789933e-01,
                    ],
                ],
            ],
            [
                [
                    [
                        1.05679762e+00,
                        2.80923510e+00,
                        2.96286464e+00,
                        2.78037238e+00,
                        2.28645778e+00,
                        1.02153099e+00,
                    ],
                    [
                        2.33358073e+00,
                        1.02834988e+00,
                        -4.53966558e-01,
                        -1.80995274e+00,
                        -2.85608244e+00,
                        -2.28542233e+00,
                    ],
                    [
                        -2.27405906e+00,
                        -3.03584290e+00,
                        -2.08239269e+00,
                        -7.82212615e-01,
                        6.88724339e-01,
                        2.15438414e+00,
                    ],
                    [
                        1.95452118e+00,
                        4.18082809e+00,
                        4.51032352e+00,
                        4.29425621e+00,
                        3.56186938e+00,
                        1.21907318e+00,
                    ],
                    [
                        2.10085773e+00,
                        9.50642347e-01,
                        3.94513272e-02,
                        -8.12191248e-01,
                        -1.48901951e+00,
                        -5.97091258e-01,
                    ],
                ],
                [
                    [
                        4.13043424e-02,
                        1.26360297e-01,
                        9.40640688e-01,
                        1.75941551e+00,
                        2.47186732e+00,
                        3.07835436e+00,
                    ],
                    [
                        3.02603650e+00,
                        4.96681261e+00,
                        4.92032862e+00,
                        4.33970690e+00,
                        3.30353212e+00,
                        1.01793885e+00,
                    ],
                    [
                        1.25605094e+00,
                        -9.47275519e-01,
                        -2.10270000e+00,
                        -2.84172797e+00,
                        -3.06433582e+00,
                        -1.22899246e+00,
                    ],
                    [
                        -1.41955459e+00,
                        -6.96278811e-01,
                        7.47234046e-01,
                        2.22141814e+00,
                        3.52674913e+00,
                        3.59322023e+00,
                    ],
                    [
                        2.83904219e+00,
                        3.63154793e+00,
                        3.64630628e+00,
                        3.29935980e+00,
                        2.63766623e+00,
                        1.13309062e+00,
                    ],
                ],
                [
                    [
                        -1.25950560e-01,
                        -1.81626332e+00,
                        -2.00990534e+00,
                        -1.92588818e+00,
                        -1.57558346e+00,
                        -2.75678217e-01,
                    ],
                    [
                        -1.92516398e+00,
                        -6.45990908e-01,
                        8.47728670e-01,
                        2.23233986e+00,
                        3.32044220e+00,
                        2.75003886e+00,
                    ],
                    [
                        2.87600708e+00,
                        3.64511943e+00,
                        2.72441173e+00,
                        1.44059539e+00,
                        -3.25709283e-02,
                        -1.51742709e+00,
                    ],
                    [
                        -1.41879261e+00,
                        -3.62790275e+00,
                        -4.00839043e+00,
                        -3.84073377e+00,
                        -3.14762378e+00,
                        -7.81874180e-01,
                    ],
                    [
                        -1.58300054e+00,
                        -5.15085161e-01,
                        5.68166018e-01,
                        1.58014643e+00,
                        2.38388920e+00,
                        1.40917659e+00,
                    ],
                ],
            ],
        ];
        const DEPTHWISE_SAME_DW: [f32; 27] = [
            4.86197090e+00,
            7.23738718e+00,
            6.79043674e+00,
            -3.44181013e+00,
            -4.97169685e+00,
            -6.26826906e+00,
            3.21666121e+00,
            4.90962410e+00,
            8.25398159e+00,
            5.21155417e-01,
            2.91664183e-01,
            -4.51541233e+00,
            -1.01972234e+00,
            -1.97965133e+00,
            1.48956847e+00,
            3.11981559e+00,
            5.26483727e+00,
            1.78690743e+00,
            -1.90899754e+00,
            -5.59023380e+00,
            -4.64932871e+00,
            9.31467175e-01,
            3.37478709e+00,
            4.32225227e+00,
            -4.83987719e-01,
            -2.87715697e+00,
            -6.09515381e+00,
        ];
        const DEPTHWISE_SAME_DB: [f32; 3] = [1.57744825e+00, -1.82989669e+00, 2.01506901e+00];
        const DEPTHWISE_SAME_DX: [[[[f32; 6]; 5]; 3]; 2] = [
            [
                [
                    [
                        -2.35613957e-01,
                        -1.53819633e+00,
                        -2.10404181e+00,
                        -2.09256792e+00,
                        -1.50692308e+00,
                        -2.75393993e-01,
                    ],
                    [
                        -1.22376037e+00,
                        -3.66763651e-01,
                        2.65161514e-01,
                        8.24330091e-01,
                        1.15731418e+00,
                        2.64750808e-01,
                    ],
                    [
                        1.24182546e+00,
                        3.22317034e-01,
                        -3.10200870e-01,
                        -8.57604027e-01,
                        -1.16969275e+00,
                        -2.15337843e-01,
                    ],
                    [
                        -1.25805902e+00,
                        -2.77394980e-01,
                        3.54782701e-01,
                        8.89613032e-01,
                        1.18034613e+00,
                        1.65607274e-01,
                    ],
                    [
                        2.22382689e+00,
                        2.11355042e+00,
                        1.54624426e+00,
                        5.54670513e-01,
                        -5.89096963e-01,
                        -3.17992210e-01,
                    ],
                ],
                [
                    [
                        6.33388937e-01,
                        2.17299914e+00,
                        2.48144841e+00,
                        2.10902333e+00,
                        1.15791202e+00,
                        -2.40710929e-01,
                    ],
                    [
                        9.46193576e-01,
                        -3.59787554e-01,
                        -9.41354930e-01,
                        -1.26462781e+00,
                        -1.24090481e+00,
                        5.84999919e-02,
                    ],
                    [
                        -9.49522197e-01,
                        4.07444477e-01,
                        9.75024402e-01,
                        1.27507138e+00,
                        1.22525680e+00,
                        -1.22420557e-01,
                    ],
                    [
                        9.51450288e-01,
                        -4.54500437e-01,
                        -1.00725579e+00,
                        -1.28363431e+00,
                        -1.20780182e+00,
                        1.86160564e-01,
                    ],
                    [
                        -2.14163208e+00,
                        -1.58446896e+00,
                        -8.61853540e-01,
                        9.72422734e-02,
                        1.02965617e+00,
                        3.12636197e-01,
                    ],
                ],
                [
                    [
                        -1.04593968e+00,
                        -2.69524074e+00,
                        -2.66368246e+00,
                        -1.90124726e+00,
                        -6.17136836e-01,
                        8.16106021e-01,
                    ],
                    [
                        -5.67114472e-01,
                        1.08496344e+00,
                        1.48997223e+00,
                        1.48615384e+00,
                        1.07455575e+00,
                        -5.11618793e-01,
                    ],
                    [
                        5.60787797e-01,
                        -1.12623167e+00,
                        -1.50410974e+00,
                        -1.46928132e+00,
                        -1.03130293e+00,
                        5.85807860e-01,
                    ],
                    [
                        -5.53633988e-01,
                        1.16583884e+00,
                        1.51602876e+00,
                        1.45024168e+00,
                        9.86528873e-01,
                        -6.59132957e-01,
                    ],
                    [
                        1.92326987e+00,
                        9.59632397e-01,
                        1.95209816e-01,
                        -6.22775555e-01,
                        -1.26988018e+00,
                        -1.68235958e-01,
                    ],
                ],
            ],
            [
                [
                    [
                        4.67124999e-01,
                        2.12707877e+00,
                        2.06312156e+00,
                        1.43307292e+00,
                        4.09809262e-01,
                        -1.06907856e+00,
                    ],
                    [
                        1.29533255e+00,
                        -3.19180846e-01,
                        -8.64126563e-01,
                        -1.17196822e+00,
                        -1.15823829e+00,
                        4.76254165e-01,
                    ],
                    [
                        -1.28468490e+00,
                        3.63662958e-01,
                        8.95876169e-01,
                        1.18227363e+00,
                        1.14427185e+00,
                        -5.22714317e-01,
                    ],
                    [
                        1.27214241e+00,
                        -4.07608718e-01,
                        -9.26304340e-01,
                        -1.19083512e+00,
                        -1.12861764e+00,
                        5.68403542e-01,
                    ],
                    [
                        -2.36904097e+00,
                        -1.47353244e+00,
                        -4.56732184e-01,
                        6.85388923e-01,
                        1.63944900e+00,
                        5.15469849e-01,
                    ],
                ],
                [
                    [
                        -8.37422073e-01,
                        -2.47589421e+00,
                        -2.04644251e+00,
                        -1.05547583e+00,
                        2.25098550e-01,
                        1.61576164e+00,
                    ],
                    [
                        -8.50590706e-01,
                        9.81605470e-01,
                        1.27693999e+00,
                        1.22190022e+00,
                        8.31588328e-01,
                        -9.56535637e-01,
                    ],
                    [
                        8.33547533e-01,
                        -1.01354253e+00,
                        -1.28512406e+00,
                        -1.20408571e+00,
                        -7.92663217e-01,
                        1.00824571e+00,
                    ],
                    [
                        -8.15274954e-01,
                        1.04398477e+00,
                        1.29141271e+00,
                        1.18449521e+00,
                        7.52569020e-01,
                        -1.05846870e+00,
                    ],
                    [
                        2.01310110e+00,
                        7.84269392e-01,
                        -1.83371589e-01,
                        -1.10069799e+00,
                        -1.71600842e+00,
                        -2.96497166e-01,
                    ],
                ],
                [
                    [
                        1.14219439e+00,
                        2.62465358e+00,
                        1.80592585e+00,
                        4.91677582e-01,
                        -9.57480013e-01,
                        -2.13308978e+00,
                    ],
                    [
                        3.91750157e-01,
                        -1.50667858e+00,
                        -1.46563566e+00,
                        -1.02244306e+00,
                        -2.98706442e-01,
                        1.48694003e+00,
                    ],
                    [
                        -3.74643683e-01,
                        1.51815045e+00,
                        1.44616473e+00,
                        9.77371812e-01,
                        2.40401894e-01,
                        -1.53767192e+00,
                    ],
                    [
                        3.56984615e-01,
                        -1.52738309e+00,
                        -1.42456067e+00,
                        -9.30859029e-01,
                        -1.81742772e-01,
                        1.58613586e+00,
                    ],
                    [
                        -1.58041942e+00,
                        -1.22861408e-01,
                        6.88906133e-01,
                        1.31164753e+00,
                        1.57449138e+00,
                        -2.23271493e-02,
                    ],
                ],
            ],
        ];
        // DEPTHWISE_VALID_S2: x [2, 3, 6, 5], weight [3, 1, 2, 2], stride 2, valid, output [2, 3, 3, 2]
        const DEPTHWISE_VALID_S2_Y: [[[[f32; 2]; 3]; 3]; 2] = [
            [
                [
                    [2.28926253e+00, 1.97656691e+00],
                    [-1.18171859e+00, -2.36924306e-01],
                    [1.48722124e+00, 1.97356865e-01],
                ],
                [
                    [4.19378191e-01, -6.39849544e-01],
                    [2.39034963e+00, 2.84311390e+00],
                    [-8.74353766e-01, -5.83104968e-01],
                ],
                [
                    [-1.42022920e+00, -1.83976427e-01],
                    [6.10337257e-01, -7.84889281e-01],
                    [5.38665533e-01, 1.66899610e+00],
                ],
            ],
            [
                [
                    [1.48305893e-01, -9.75554824e-01],
                    [1.71139205e+00, 2.29748797e+00],
                    [-1.27911663e+00, -1.14939153e+00],
                ],
                [
                    [-5.54294884e-01, 5.72157502e-01],
                    [1.69877052e+00, 3.46838087e-01],
                    [1.27237582e+00, 2.43907142e+00],
                ],
                [
                    [1.69687665e+00, 1.93850458e+00],
                    [-1.89231002e+00, -1.36723959e+00],
                    [1.66655016e+00, 5.34297705e-01],
                ],
            ],
        ];
        const DEPTHWISE_VALID_S2_DW: [f32; 12] = [
            -1.30236316e+00,
            -1.12619221e+00,
            5.92944443e-01,
            9.81273293e-01,
            4.25673693e-01,
            8.82693946e-01,
            1.17415214e+00,
            8.12835813e-01,
            1.35811102e+00,
            1.04280949e+00,
            -9.68127549e-01,
            -1.31314206e+00,
        ];
        const DEPTHWISE_VALID_S2_DB: [f32; 3] = [2.15301886e-01, -2.29860038e-01, 2.44079158e-01];
        const DEPTHWISE_VALID_S2_DX: [[[[f32; 5]; 6]; 3]; 2] = [
            [
                [
                    [
                        1.90379351e-01,
                        5.45544028e-01,
                        2.78524488e-01,
                        7.98129559e-01,
                        0.00000000e+00,
                    ],
                    [
                        6.37060285e-01,
                        4.20700401e-01,
                        9.32017505e-01,
                        6.15483582e-01,
                        0.00000000e+00,
                    ],
                    [
                        2.90246457e-01,
                        8.31719577e-01,
                        2.22328886e-01,
                        6.37097478e-01,
                        0.00000000e+00,
                    ],
                    [
                        9.71242368e-01,
                        6.41386807e-01,
                        7.43972003e-01,
                        4.91302520e-01,
                        0.00000000e+00,
                    ],
                    [
                        9.34074223e-02,
                        2.67664880e-01,
                        -6.11437149e-02,
                        -1.75211176e-01,
                        0.00000000e+00,
                    ],
                    [
                        3.12566251e-01,
                        2.06411794e-01,
                        -2.04603240e-01,
                        -1.35115415e-01,
                        0.00000000e+00,
                    ],
                ],
                [
                    [
                        -1.07203214e-03,
                        4.37942892e-01,
                        -1.52039074e-03,
                        6.21104836e-01,
                        0.00000000e+00,
                    ],
                    [
                        6.65310442e-01,
                        5.71149230e-01,
                        9.43564832e-01,
                        8.10022354e-01,
                        0.00000000e+00,
                    ],
                    [
                        -1.55157561e-03,
                        6.33844376e-01,
                        -1.15703011e-03,
                        4.72665995e-01,
                        0.00000000e+00,
                    ],
                    [
                        9.62918401e-01,
                        8.26636851e-01,
                        7.18060791e-01,
                        6.16433859e-01,
                        0.00000000e+00,
                    ],
                    [
                        -4.45011916e-04,
                        1.81794748e-01,
                        3.89111257e-04,
                        -1.58958405e-01,
                        0.00000000e+00,
                    ],
                    [
                        2.76177436e-01,
                        2.37090111e-01,
                        -2.41485104e-01,
                        -2.07307786e-01,
                        0.00000000e+00,
                    ],
                ],
                [
                    [
                        -2.09295183e-01,
                        2.77380377e-01,
                        -2.88219184e-01,
                        3.81978929e-01,
                        0.00000000e+00,
                    ],
                    [
                        6.30004585e-01,
                        6.78162575e-01,
                        8.67575705e-01,
                        9.33893740e-01,
                        0.00000000e+00,
                    ],
                    [
                        -2.88059920e-01,
                        3.81767869e-01,
                        -2.08861083e-01,
                        2.76805073e-01,
                        0.00000000e+00,
                    ],
                    [
                        8.67096305e-01,
                        9.33377683e-01,
                        6.28697932e-01,
                        6.76756024e-01,
                        0.00000000e+00,
                    ],
                    [
                        -7.23537281e-02,
                        9.58909020e-02,
                        8.40064734e-02,
                        -1.11334376e-01,
                        0.00000000e+00,
                    ],
                    [
                        2.17793733e-01,
                        2.34442025e-01,
                        -2.52869964e-01,
                        -2.72199512e-01,
                        0.00000000e+00,
                    ],
                ],
            ],
            [
                [
                    [
                        -2.15102613e-01,
                        -6.16390169e-01,
                        -2.88033456e-01,
                        -8.25378060e-01,
                        0.00000000e+00,
                    ],
                    [
                        -7.19790995e-01,
                        -4.75333899e-01,
                        -9.63837028e-01,
                        -6.36496484e-01,
                        0.00000000e+00,
                    ],
                    [
                        -2.81931967e-01,
                        -8.07893872e-01,
                        -1.98472336e-01,
                        -5.68735063e-01,
                        0.00000000e+00,
                    ],
                    [
                        -9.43419874e-01,
                        -6.23013437e-01,
                        -6.64141595e-01,
                        -4.38584328e-01,
                        0.00000000e+00,
                    ],
                    [
                        -6.05547167e-02,
                        -1.73523366e-01,
                        9.39782709e-02,
                        2.69300669e-01,
                        0.00000000e+00,
                    ],
                    [
                        -2.02632293e-01,
                        -1.33813858e-01,
                        3.14476460e-01,
                        2.07673237e-01,
                        0.00000000e+00,
                    ],
                ],
                [
                    [
                        1.20033603e-03,
                        -4.90357161e-01,
                        1.56483776e-03,
                        -6.39262199e-01,
                        0.00000000e+00,
                    ],
                    [
                        -7.44936705e-01,
                        -6.39505982e-01,
                        -9.71148968e-01,
                        -8.33702564e-01,
                        0.00000000e+00,
                    ],
                    [
                        1.49997021e-03,
                        -6.12762749e-01,
                        1.02353201e-03,
                        -4.18129832e-01,
                        0.00000000e+00,
                    ],
                    [
                        -9.30891752e-01,
                        -7.99142897e-01,
                        -6.35210991e-01,
                        -5.45309722e-01,
                        0.00000000e+00,
                    ],
                    [
                        2.66251154e-04,
                        -1.08768016e-01,
                        -5.64085261e-04,
                        2.30438203e-01,
                        0.00000000e+00,
                    ],
                    [
                        -1.65237278e-01,
                        -1.41851291e-01,
                        3.50075185e-01,
                        3.00529122e-01,
                        0.00000000e+00,
                    ],
                ],
                [
                    [
                        2.32386157e-01,
                        -3.07983011e-01,
                        2.95264333e-01,
                        -3.91315907e-01,
                        0.00000000e+00,
                    ],
                    [
                        -6.99511290e-01,
                        -7.52982378e-01,
                        -8.88782501e-01,
                        -9.56721604e-01,
                        0.00000000e+00,
                    ],
                    [
                        2.77126163e-01,
                        -3.67277265e-01,
                        1.82948470e-01,
                        -2.42462918e-01,
                        0.00000000e+00,
                    ],
                    [
                        -8.34184289e-01,
                        -8.97949874e-01,
                        -5.50697744e-01,
                        -5.92793405e-01,
                        0.00000000e+00,
                    ],
                    [
                        3.85723263e-02,
                        -5.11201769e-02,
                        -1.16387524e-01,
                        1.54249221e-01,
                        0.00000000e+00,
                    ],
                    [
                        -1.16107516e-01,
                        -1.24982841e-01,
                        3.50340962e-01,
                        3.77121270e-01,
                        0.00000000e+00,
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
