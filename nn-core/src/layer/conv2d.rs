use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, Layer, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity, Init};
use crate::kernel::conv::{out_len, pad_before, ConvBackward, ConvForward, Geometry};
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

    /// Draws the weights from `rng` (He or Glorot uniform, as the activation asks, with Keras'
    /// fans: `C·K·K` in, `F·K·K` out) and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        let limit = init_limit::<A>(C * K * K, F * K * K);
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
        for y in y.iter_mut() {
            A::forward(y.as_flattened_mut().as_flattened_mut());
        }
    }
}

/// Limit of the uniform initialisation: He `√(6 / fan_in)` or Glorot `√(6 / (fan_in + fan_out))`.
pub(super) fn init_limit<A: Activation>(fan_in: usize, fan_out: usize) -> f32 {
    let fan = match A::INIT {
        Init::He => fan_in as f32 / 2.0,
        Init::Glorot => (fan_in + fan_out) as f32 / 2.0,
    };
    libm::sqrtf(3.0 / fan)
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
    use crate::layer::testing::{check_gradients, random};
    use crate::layer::Tensor;
    use crate::Tanh;

    fn layer<L: Layer + Copy>(seed: u64) -> L {
        let mut layer = L::zeroed();
        layer.init(&mut Rng::new(seed));
        // Non-zero biases, so that a bias mix-up shows.
        let n = L::LEN;
        for (i, v) in layer.as_mut_slice()[n - L::TENSORS[1].len()..]
            .iter_mut()
            .enumerate()
        {
            *v = 0.1 * i as f32 - 0.2;
        }
        layer
    }

    fn check<L>(seed: u64)
    where
        L: Backprop<2> + Copy,
        L::Activation: Differentiable,
    {
        let layer: L = layer(seed);
        let x: [L::Input; 2] = [random(seed + 1), random(seed + 2)];
        let worst = check_gradients(&layer, &x, seed + 3, 2e-3);
        assert!(worst < 2e-3, "{worst}");
    }

    #[test]
    fn gradients_valid_stride_1() {
        check::<Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4, Tanh>>(10);
        check::<Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4, Identity>>(11);
        // Wide enough for the kernel's im2col-free path (7 of 9 columns).
        check::<Conv2d<2, 6, 9, 3, 3, 1, false, 4, 7, Tanh>>(12);
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
    }

    #[test]
    fn gradients_with_blocked_im2col() {
        // 8·3·3 taps × 20·20 positions is larger than the im2col buffer: several blocks of
        // positions and of taps.
        let layer: Conv2d<8, 20, 20, 5, 3, 1, true, 20, 20, Tanh> = layer(50);
        let x = [random(51), random(52)];
        let mut y = [<[[[f32; 20]; 20]; 5]>::ZERO; 2];
        layer.forward(&x, &mut y);
        let mut reference = y;
        naive_forward(&layer, &x, &mut reference);
        for (a, b) in y.iter().zip(&reference) {
            for (a, b) in a.flat().iter().zip(b.flat()) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
        check::<Conv2d<30, 6, 6, 2, 3, 1, true, 6, 6, Tanh>>(53);
    }

    /// Straight from the definition, for comparison.
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
                    [
                        2.29304552e+00,
                        4.10921240e+00,
                        5.43410444e+00,
                        6.08840418e+00,
                    ],
                    [
                        3.65399933e+00,
                        1.74458766e+00,
                        -3.36057842e-01,
                        -2.30633140e+00,
                    ],
                    [
                        -5.17258596e+00,
                        -4.68007469e+00,
                        -3.48924875e+00,
                        -1.76128161e+00,
                    ],
                ],
                [
                    [
                        1.44067669e+00,
                        3.47153068e+00,
                        5.16433477e+00,
                        6.28997612e+00,
                    ],
                    [
                        5.23477411e+00,
                        3.56509948e+00,
                        1.54471123e+00,
                        -5.52940845e-01,
                    ],
                    [
                        -4.64488697e+00,
                        -4.65692949e+00,
                        -3.90687323e+00,
                        -2.49623394e+00,
                    ],
                ],
                [
                    [
                        -8.59605193e-01,
                        1.29360449e+00,
                        3.27735877e+00,
                        4.82316542e+00,
                    ],
                    [
                        5.19513988e+00,
                        3.84111309e+00,
                        1.97283733e+00,
                        -1.56825081e-01,
                    ],
                    [
                        -5.28842545e+00,
                        -5.80447531e+00,
                        -5.52928829e+00,
                        -4.50011063e+00,
                    ],
                ],
            ],
            [
                [
                    [
                        -2.40647459e+00,
                        -3.97196627e+00,
                        -4.93498325e+00,
                        -5.16518497e+00,
                    ],
                    [
                        -1.65455675e+00,
                        3.85628700e-01,
                        2.43850899e+00,
                        4.22623682e+00,
                    ],
                    [
                        5.94553328e+00,
                        5.04422760e+00,
                        3.52509737e+00,
                        1.59374988e+00,
                    ],
                ],
                [
                    [
                        -6.65364265e-01,
                        -2.53706121e+00,
                        -3.93357325e+00,
                        -4.66588879e+00,
                    ],
                    [
                        -2.40248799e+00,
                        -5.03225327e-01,
                        1.59595239e+00,
                        3.61093092e+00,
                    ],
                    [
                        6.69540215e+00,
                        6.27069235e+00,
                        5.12907887e+00,
                        3.42507458e+00,
                    ],
                ],
                [
                    [
                        -2.76417553e-01,
                        -2.36922455e+00,
                        -4.13574028e+00,
                        -5.33687544e+00,
                    ],
                    [
                        -4.42360592e+00,
                        -2.75161433e+00,
                        -7.01576948e-01,
                        1.44904339e+00,
                    ],
                    [
                        5.75845623e+00,
                        5.82965088e+00,
                        5.11745691e+00,
                        3.71826720e+00,
                    ],
                ],
            ],
        ];
        const CONV2D_VALID_DW: [f32; 54] = [
            3.17354873e-02,
            -4.77429070e-02,
            -1.20759524e-01,
            -1.89529762e-01,
            -1.39094710e-01,
            -6.98338374e-02,
            1.97425812e-01,
            2.15922952e-01,
            2.05195934e-01,
            2.15991154e-01,
            2.04727337e-01,
            1.65754631e-01,
            -1.23192236e-01,
            -1.79098815e-01,
            -2.10765198e-01,
            -6.70388564e-02,
            1.18218521e-02,
            8.90825316e-02,
            2.94899866e-02,
            -4.56779711e-02,
            -1.14663623e-01,
            -1.79011956e-01,
            -1.31155863e-01,
            -6.55484498e-02,
            1.86954185e-01,
            2.04259127e-01,
            1.93918556e-01,
            2.04319999e-01,
            1.93471879e-01,
            1.56438246e-01,
            -1.16960533e-01,
            -1.69700772e-01,
            -1.99472800e-01,
            -6.29024953e-02,
            1.17140869e-02,
            8.47452208e-02,
            2.70705633e-02,
            -4.33436446e-02,
            -1.07891493e-01,
            -1.67438403e-01,
            -1.22443520e-01,
            -6.08764812e-02,
            1.75379977e-01,
            1.91390663e-01,
            1.81497529e-01,
            1.91443861e-01,
            1.81075409e-01,
            1.46199256e-01,
            -1.10039040e-01,
            -1.59301892e-01,
            -1.87003985e-01,
            -5.83951548e-02,
            1.15372371e-02,
            7.99081177e-02,
        ];
        const CONV2D_VALID_DB: [f32; 3] = [1.61720008e-01, 1.79833248e-01, 1.96885929e-01];
        const CONV2D_VALID_DX: [[[[f32; 6]; 5]; 2]; 2] = [
            [
                [
                    [
                        1.03587413e+00,
                        3.35775304e+00,
                        5.99443102e+00,
                        6.32399130e+00,
                        4.59471607e+00,
                        1.93678725e+00,
                    ],
                    [
                        1.29056919e+00,
                        1.12085354e+00,
                        -2.08768868e+00,
                        -6.06705570e+00,
                        -7.37702703e+00,
                        -4.31405735e+00,
                    ],
                    [
                        -3.06650949e+00,
                        -8.38929844e+00,
                        -1.11447258e+01,
                        -6.49513435e+00,
                        8.93495977e-01,
                        2.95263839e+00,
                    ],
                    [
                        -2.06745124e+00,
                        -9.27717388e-02,
                        4.93114710e+00,
                        6.51512766e+00,
                        2.46022725e+00,
                        -5.16063333e-01,
                    ],
                    [
                        2.80850887e+00,
                        4.00215149e+00,
                        2.30320811e+00,
                        -2.77500510e-01,
                        -5.65138340e-01,
                        -5.31419031e-02,
                    ],
                ],
                [
                    [
                        1.22069812e+00,
                        3.67515016e+00,
                        6.24676704e+00,
                        6.47620821e+00,
                        4.53888416e+00,
                        1.85001063e+00,
                    ],
                    [
                        1.15642500e+00,
                        5.86162090e-01,
                        -3.01850247e+00,
                        -7.01146746e+00,
                        -7.75457382e+00,
                        -4.31484461e+00,
                    ],
                    [
                        -3.36013150e+00,
                        -8.45068359e+00,
                        -1.04189701e+01,
                        -5.25757599e+00,
                        1.82829154e+00,
                        3.30058575e+00,
                    ],
                    [
                        -1.79136610e+00,
                        4.27397102e-01,
                        5.34215975e+00,
                        6.31276894e+00,
                        1.94853723e+00,
                        -8.76156151e-01,
                    ],
                    [
                        2.77518463e+00,
                        3.76068068e+00,
                        1.84558141e+00,
                        -5.19042253e-01,
                        -5.53730965e-01,
                        4.70283069e-02,
                    ],
                ],
            ],
            [
                [
                    [
                        1.23995769e+00,
                        3.79898953e+00,
                        6.35644388e+00,
                        5.91371679e+00,
                        3.85591912e+00,
                        1.43748021e+00,
                    ],
                    [
                        1.16781580e+00,
                        1.54654548e-01,
                        -3.95986533e+00,
                        -7.32855463e+00,
                        -7.50310946e+00,
                        -3.95677638e+00,
                    ],
                    [
                        -3.67035127e+00,
                        -8.42089558e+00,
                        -9.44016075e+00,
                        -3.82004857e+00,
                        2.82485867e+00,
                        3.62594390e+00,
                    ],
                    [
                        -1.27048254e+00,
                        1.20676303e+00,
                        5.82213068e+00,
                        6.65472460e+00,
                        1.89665508e+00,
                        -9.89134789e-01,
                    ],
                    [
                        2.53319144e+00,
                        3.25875092e+00,
                        1.21907580e+00,
                        -1.41897833e+00,
                        -1.06716955e+00,
                        -1.11201912e-01,
                    ],
                ],
                [
                    [
                        1.46345055e+00,
                        4.13961506e+00,
                        6.57251501e+00,
                        6.00723934e+00,
                        3.79555988e+00,
                        1.37428117e+00,
                    ],
                    [
                        9.32416558e-01,
                        -5.10484159e-01,
                        -4.92991495e+00,
                        -8.19560432e+00,
                        -7.79725838e+00,
                        -3.92339087e+00,
                    ],
                    [
                        -3.87005663e+00,
                        -8.26235104e+00,
                        -8.45736122e+00,
                        -2.46067405e+00,
                        3.71314383e+00,
                        3.89564824e+00,
                    ],
                    [
                        -1.02965224e+00,
                        1.58522034e+00,
                        5.97062159e+00,
                        6.19312525e+00,
                        1.23276114e+00,
                        -1.39419544e+00,
                    ],
                    [
                        2.50396585e+00,
                        3.04662871e+00,
                        8.42811227e-01,
                        -1.54153109e+00,
                        -9.35830414e-01,
                        5.44422567e-02,
                    ],
                ],
            ],
        ];
        // CONV2D_SAME_S2: x [2, 2, 5, 6], weight [3, 2, 3, 3], stride 2, same, output [2, 3, 3, 3]
        const CONV2D_SAME_S2_Y: [[[[f32; 3]; 3]; 3]; 2] = [
            [
                [
                    [-2.78764677e+00, -1.59618938e+00, 1.42504728e+00],
                    [3.65399933e+00, -3.36057842e-01, -2.98839593e+00],
                    [1.31642902e+00, 3.49808550e+00, 1.90507615e+00],
                ],
                [
                    [-1.65248787e+00, -1.29118848e+00, 1.39472663e+00],
                    [5.23477411e+00, 1.54471123e+00, -1.91156936e+00],
                    [1.18909478e+00, 4.07841396e+00, 3.06037807e+00],
                ],
                [
                    [-1.82461381e+00, -2.30989838e+00, -8.14180151e-02],
                    [5.19513988e+00, 1.97283733e+00, -2.13024855e+00],
                    [-3.74714583e-01, 3.09090710e+00, 2.69412851e+00],
                ],
            ],
            [
                [
                    [3.57187462e+00, 1.97665906e+00, -1.08597398e+00],
                    [-1.65455675e+00, 2.43850899e+00, 4.21985674e+00],
                    [-1.07753623e+00, -2.90171933e+00, -8.11085522e-01],
                ],
                [
                    [3.64322138e+00, 2.89641809e+00, 2.42841337e-02],
                    [-2.40248799e+00, 1.59595239e+00, 4.30409145e+00],
                    [-1.42467156e-01, -2.70202756e+00, -1.08259916e+00],
                ],
                [
                    [2.16651797e+00, 2.30207968e+00, -2.48975605e-01],
                    [-4.42360592e+00, -7.01576948e-01, 2.81023002e+00],
                    [-5.83334744e-01, -3.76190400e+00, -2.68730736e+00],
                ],
            ],
        ];
        const CONV2D_SAME_S2_DW: [f32; 54] = [
            -1.59636700e+00,
            -2.47650862e+00,
            -1.78743470e+00,
            5.42121470e-01,
            1.73943460e+00,
            -2.52346937e-02,
            2.01937413e+00,
            1.66164982e+00,
            2.27262902e+00,
            2.55137515e+00,
            1.70158732e+00,
            2.07067585e+00,
            -3.33736730e+00,
            -2.78791976e+00,
            -2.91947913e+00,
            8.18495691e-01,
            1.46632159e+00,
            1.17356718e+00,
            1.89386928e+00,
            1.46911871e+00,
            2.13208532e+00,
            -3.83148074e+00,
            -4.65207481e+00,
            -4.66267681e+00,
            1.67156649e+00,
            2.53667164e+00,
            1.87207854e+00,
            1.01311493e+00,
            1.59476137e+00,
            1.33076751e+00,
            2.57062244e+00,
            9.06123996e-01,
            1.19638336e+00,
            -2.51617765e+00,
            -1.64276350e+00,
            -2.02255082e+00,
            1.81446183e+00,
            2.64568996e+00,
            2.03296208e+00,
            -9.83348310e-01,
            -2.27515984e+00,
            -5.11711299e-01,
            -1.82687938e+00,
            -1.36953104e+00,
            -2.05704355e+00,
            -2.43470645e+00,
            -1.51793730e+00,
            -1.91742694e+00,
            3.63339567e+00,
            2.89226747e+00,
            3.05725265e+00,
            -1.10825443e+00,
            -1.65549946e+00,
            -1.40648067e+00,
        ];
        const CONV2D_SAME_S2_DB: [f32; 3] = [-1.76357007e+00, 2.76870847e+00, 2.08240986e+00];
        const CONV2D_SAME_S2_DX: [[[[f32; 6]; 5]; 2]; 2] = [
            [
                [
                    [
                        -1.30476266e-01,
                        4.54475552e-01,
                        1.02840304e+00,
                        4.62770820e-01,
                        9.83744264e-01,
                        3.44088316e-01,
                    ],
                    [
                        9.09186244e-01,
                        1.00744569e+00,
                        1.33573306e+00,
                        9.11940336e-01,
                        9.94169891e-01,
                        5.66211462e-01,
                    ],
                    [
                        6.37734711e-01,
                        1.30992845e-01,
                        1.70967579e-01,
                        -1.18045218e-01,
                        -3.74135852e-01,
                        -3.34693342e-01,
                    ],
                    [
                        -1.51055083e-01,
                        6.51221648e-02,
                        -3.38746071e-01,
                        -4.53835756e-01,
                        -9.64365602e-01,
                        -8.48267555e-01,
                    ],
                    [
                        1.05984069e-01,
                        -4.59506333e-01,
                        -1.03496909e+00,
                        -4.58237290e-01,
                        -9.69375551e-01,
                        -3.31234425e-01,
                    ],
                ],
                [
                    [
                        -3.92165482e-02,
                        5.29596567e-01,
                        1.09970605e+00,
                        4.83413160e-01,
                        9.59076226e-01,
                        3.04588050e-01,
                    ],
                    [
                        9.56007957e-01,
                        9.77959216e-01,
                        1.30033541e+00,
                        9.02601480e-01,
                        9.73924696e-01,
                        5.79582632e-01,
                    ],
                    [
                        5.76423347e-01,
                        4.21882831e-02,
                        -8.60966858e-04,
                        -2.31787354e-01,
                        -5.56775093e-01,
                        -4.42163825e-01,
                    ],
                    [
                        -1.20806895e-01,
                        9.75345001e-02,
                        -3.17703336e-01,
                        -4.11275715e-01,
                        -9.28516150e-01,
                        -8.07237685e-01,
                    ],
                    [
                        1.70790199e-02,
                        -5.31216800e-01,
                        -1.09967303e+00,
                        -4.74511385e-01,
                        -9.37693298e-01,
                        -2.87606746e-01,
                    ],
                ],
            ],
            [
                [
                    [
                        6.48319185e-01,
                        5.95057420e-02,
                        1.10502783e-02,
                        -1.87136889e-01,
                        -5.19195735e-01,
                        -3.82431805e-01,
                    ],
                    [
                        -2.87986606e-01,
                        -9.00298133e-02,
                        -5.38200080e-01,
                        -5.86732864e-01,
                        -1.10233486e+00,
                        -9.22444701e-01,
                    ],
                    [
                        6.81648217e-03,
                        -4.72792834e-01,
                        -1.04590487e+00,
                        -4.33426201e-01,
                        -8.97846460e-01,
                        -2.75133550e-01,
                    ],
                    [
                        -8.66970420e-01,
                        -1.00505078e+00,
                        -1.25141072e+00,
                        -8.11885059e-01,
                        -7.95447469e-01,
                        -3.95949632e-01,
                    ],
                    [
                        -6.48580968e-01,
                        -4.13481407e-02,
                        2.91176848e-02,
                        2.03782618e-01,
                        5.53677559e-01,
                        3.92998308e-01,
                    ],
                ],
                [
                    [
                        5.73942482e-01,
                        -3.94894592e-02,
                        -1.69162706e-01,
                        -3.02364498e-01,
                        -6.95371568e-01,
                        -4.82274979e-01,
                    ],
                    [
                        -2.65349835e-01,
                        -5.35814613e-02,
                        -5.12049258e-01,
                        -5.43369770e-01,
                        -1.06391442e+00,
                        -8.84065151e-01,
                    ],
                    [
                        -7.13962242e-02,
                        -5.29856026e-01,
                        -1.08335757e+00,
                        -4.32052106e-01,
                        -8.38676751e-01,
                        -2.15699166e-01,
                    ],
                    [
                        -9.18877244e-01,
                        -9.82185483e-01,
                        -1.22055101e+00,
                        -8.10808063e-01,
                        -7.82343686e-01,
                        -4.16956365e-01,
                    ],
                    [
                        -5.71200490e-01,
                        5.98385707e-02,
                        2.10769027e-01,
                        3.18957448e-01,
                        7.27580965e-01,
                        4.90558922e-01,
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
