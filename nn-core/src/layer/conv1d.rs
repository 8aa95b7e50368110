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
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Tanh>>(1);
        check::<Conv1d<2, 9, 3, 3, 1, false, 7, Identity>>(2);
        check::<Conv1d<2, 9, 3, 4, 2, false, 3, Tanh>>(3);
        check::<Conv1d<3, 8, 2, 3, 1, true, 8, Identity>>(4);
        check::<Conv1d<2, 9, 3, 4, 2, true, 5, Tanh>>(5);
        check::<Conv1d<1, 7, 2, 2, 3, true, 3, Identity>>(6);
    }

    #[test]
    fn matches_pytorch() {
        // Generated by scripts/reference/conv_layers.py (torch 2.15.0+cu132, float64, printed as f32).
        // CONV1D_SAME_S2: x [2, 2, 9], weight [3, 2, 4], stride 2, same, output [2, 3, 5]
        const CONV1D_SAME_S2_Y: [[[f32; 5]; 3]; 2] = [
            [
                [
                    3.01466656e+00,
                    5.18412495e+00,
                    4.97142410e+00,
                    2.40912604e+00,
                    6.07630312e-01,
                ],
                [
                    3.47155428e+00,
                    4.38016224e+00,
                    3.38107729e+00,
                    1.12285995e+00,
                    7.16687381e-01,
                ],
                [
                    1.62022662e+00,
                    9.47305620e-01,
                    -4.85552430e-01,
                    -1.64268672e+00,
                    -5.10183930e-01,
                ],
            ],
            [
                [
                    4.30999804e+00,
                    5.40942526e+00,
                    3.89911032e+00,
                    6.00085080e-01,
                    -4.72414121e-02,
                ],
                [
                    4.41224813e+00,
                    4.08212042e+00,
                    2.32343078e+00,
                    -1.41175941e-01,
                    8.52047682e-01,
                ],
                [
                    1.87427950e+00,
                    2.31110767e-01,
                    -1.15525198e+00,
                    -1.91559601e+00,
                    3.67635131e-01,
                ],
            ],
        ];
        const CONV1D_SAME_S2_DW: [f32; 24] = [
            1.48040152e+00,
            2.58300519e+00,
            2.92156720e+00,
            3.17405128e+00,
            -1.87757182e+00,
            -3.06821251e+00,
            -3.10303950e+00,
            -3.13740230e+00,
            -2.84039283e+00,
            -3.58912539e+00,
            -3.54700279e+00,
            -3.30330205e+00,
            3.04000568e+00,
            3.76351357e+00,
            3.48233581e+00,
            3.00284219e+00,
            3.52767801e+00,
            3.74521303e+00,
            3.33238196e+00,
            2.65021324e+00,
            -3.48245811e+00,
            -3.56748056e+00,
            -3.03689075e+00,
            -2.15710211e+00,
        ];
        const CONV1D_SAME_S2_DB: [f32; 3] = [2.59525347e+00, -4.29417992e+00, 4.97609138e+00];
        const CONV1D_SAME_S2_DX: [[[f32; 9]; 2]; 2] = [
            [
                [
                    5.18192887e-01,
                    6.00973785e-01,
                    4.41916674e-01,
                    4.70505923e-01,
                    5.11264384e-01,
                    2.10937917e-01,
                    4.40328389e-01,
                    -1.06508479e-01,
                    2.48572499e-01,
                ],
                [
                    -5.30872941e-01,
                    -5.80155015e-01,
                    -5.43114603e-01,
                    -3.78886163e-01,
                    -5.25912344e-01,
                    -7.36562908e-02,
                    -3.64407152e-01,
                    2.51783818e-01,
                    -1.02913797e-01,
                ],
            ],
            [
                [
                    2.32120045e-02,
                    -1.52164161e-01,
                    2.13554576e-01,
                    -4.29097593e-01,
                    -5.05790412e-02,
                    -5.88292718e-01,
                    -3.00834477e-01,
                    -5.86068630e-01,
                    -4.68545198e-01,
                ],
                [
                    1.14344448e-01,
                    2.95199096e-01,
                    -6.07727915e-02,
                    5.34971476e-01,
                    2.26356953e-01,
                    6.27955198e-01,
                    4.51377541e-01,
                    5.48636973e-01,
                    5.52546501e-01,
                ],
            ],
        ];
        // CONV1D_VALID: x [2, 2, 9], weight [3, 2, 3], stride 1, valid, output [2, 3, 7]
        const CONV1D_VALID_Y: [[[f32; 7]; 3]; 2] = [
            [
                [
                    1.99934685e+00,
                    2.40912032e+00,
                    2.55771875e+00,
                    2.42502999e+00,
                    2.02901268e+00,
                    1.42326605e+00,
                    6.89775050e-01,
                ],
                [
                    -1.22242141e+00,
                    -2.34986925e+00,
                    -3.02746773e+00,
                    -3.16350698e+00,
                    -2.73957467e+00,
                    -1.81304801e+00,
                    -5.09328127e-01,
                ],
                [
                    4.41705555e-01,
                    1.01758182e+00,
                    1.46136093e+00,
                    1.71297944e+00,
                    1.73838198e+00,
                    1.53413033e+00,
                    1.12786925e+00,
                ],
            ],
            [
                [
                    2.41433692e+00,
                    2.55782056e+00,
                    2.42000294e+00,
                    2.01953769e+00,
                    1.41062522e+00,
                    6.75679266e-01,
                    -8.58286694e-02,
                ],
                [
                    -2.36680031e+00,
                    -3.03504133e+00,
                    -3.16069818e+00,
                    -2.72676373e+00,
                    -1.79196882e+00,
                    -4.82833594e-01,
                    1.02345657e+00,
                ],
                [
                    1.02716684e+00,
                    1.46788037e+00,
                    1.71555090e+00,
                    1.73665738e+00,
                    1.52834320e+00,
                    1.11880267e+00,
                    5.63465178e-01,
                ],
            ],
        ];
        const CONV1D_VALID_DW: [f32; 18] = [
            4.01948833e+00,
            4.00209808e+00,
            3.44304204e+00,
            -4.08023596e+00,
            -3.78199387e+00,
            -2.97187686e+00,
            -3.00538111e+00,
            -3.80538964e+00,
            -4.09035635e+00,
            3.47189212e+00,
            4.01902390e+00,
            4.02220011e+00,
            1.04613757e+00,
            2.41195750e+00,
            3.45133042e+00,
            -1.77170348e+00,
            -2.99214649e+00,
            -3.80761647e+00,
        ];
        const CONV1D_VALID_DB: [f32; 3] = [5.51942492e+00, -4.64852095e+00, 2.31574464e+00];
        const CONV1D_VALID_DX: [[[f32; 9]; 2]; 2] = [
            [
                [
                    1.68252397e+00,
                    2.89342952e+00,
                    2.91719127e+00,
                    2.47491217e+00,
                    1.35355210e+00,
                    -1.39203370e-01,
                    -1.59376347e+00,
                    -9.93401587e-01,
                    -2.59442180e-01,
                ],
                [
                    -9.20855939e-01,
                    -2.08531260e+00,
                    -2.84383416e+00,
                    -1.87244999e+00,
                    -3.87291908e-01,
                    1.20413351e+00,
                    2.46516180e+00,
                    2.62052155e+00,
                    1.55797625e+00,
                ],
            ],
            [
                [
                    -1.42061830e-01,
                    -6.07315172e-03,
                    4.73416299e-01,
                    1.86426282e+00,
                    2.74358201e+00,
                    2.87010121e+00,
                    2.20910501e+00,
                    1.74651158e+00,
                    9.83366132e-01,
                ],
                [
                    -7.61858225e-01,
                    -1.23273873e+00,
                    -1.52049863e+00,
                    -2.65868282e+00,
                    -3.06736231e+00,
                    -2.63440084e+00,
                    -1.47859693e+00,
                    -1.00388813e+00,
                    -4.60209996e-01,
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
