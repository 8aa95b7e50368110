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
mod tests {
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
        println!("total {:.1}", f1 + b1 + f2 + b2);
    }
}
