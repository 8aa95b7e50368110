//! Int8 forms of the convolutional stack: `QConv2d` (a `QDense` over image patches), and the
//! layers that only move or select values, which keep their input's quantisation: `QMaxPool2d`,
//! `QFlatten2d`, `QIdentity` (dropout at inference).

use super::layer::{observe_activation, QLayer, QOp, Quantize};
use super::{fused_for, kernel, Fused, MinMax, QDense, QLayerInfo, QuantError, QuantParams};
use crate::activation::Activation;
use crate::kernel::conv::{pad_after, pad_before};
use crate::layer::{Layer, Tensor};
use crate::{AvgPool2d, Conv2d, Dense, DepthwiseConv2d, Dropout, Flatten2d, Identity, MaxPool2d};

/// TensorFlow's padding of a `H×W` input for a `K×K` kernel with stride `S` and output `OH×OW`:
/// `[top, left, bottom, right]`.
const fn pads(
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    oh: usize,
    ow: usize,
    same: bool,
) -> [usize; 4] {
    [
        pad_before(h, k, s, oh, same),
        pad_before(w, k, s, ow, same),
        pad_after(h, k, s, oh, same),
        pad_after(w, k, s, ow, same),
    ]
}

/// The input value at row `iy`, column `ix` of `plane`, or `pad` where the kernel overhangs it
/// (positions that wrapped below zero and those past the end both fail `get`).
#[inline(always)]
fn padded<const H: usize, const W: usize>(
    plane: &[[i8; W]; H],
    iy: usize,
    ix: usize,
    pad: i8,
) -> i8 {
    plane
        .get(iy)
        .and_then(|r| r.get(ix))
        .copied()
        .unwrap_or(pad)
}

/// Pixel-major outputs (`[oy][ox][channel]`, as the output stage writes them) to channel-major.
#[inline(always)]
fn channels_first<const C: usize, const OH: usize, const OW: usize>(
    pixels: &[[[i8; C]; OW]; OH],
    y: &mut [[[i8; OW]; OH]; C],
) {
    for (c, plane) in y.iter_mut().enumerate() {
        for (oy, row) in plane.iter_mut().enumerate() {
            for (ox, v) in row.iter_mut().enumerate() {
                *v = pixels[oy][ox][c];
            }
        }
    }
}

/// A 2-D convolution in TFLite's int8 scheme (`Conv2D`, per-filter weight scales): each output
/// pixel is a [`QDense`] row product over the `N = C·K·K` input values under the kernel, padding
/// being the input's zero point (the code of 0.0). Integer arithmetic only, on the int8 kernel
/// the CPU has. `N` must equal `C·K·K` (checked at compile time; `network!` writes it).
///
/// ```
/// use nn_core::quant::{QConv2d, QLayer, QuantParams};
/// use nn_core::{Conv2d, Relu};
/// // One 2×2 filter summing its window, on a 1×3×3 input: a 2×2 output.
/// let conv = Conv2d::<1, 3, 3, 1, 2, 1, false, 2, 2, Relu>::new([[[[1.0, 1.0], [1.0, 1.0]]]], [0.0]);
/// let p = QuantParams { scale: 0.25, zero_point: 0 };
/// let q = QConv2d::<1, 3, 3, 1, 2, 1, false, 2, 2, 4>::from_float(&conv, p, p, false).unwrap();
/// let mut y = [[[[0i8; 2]; 2]; 1]];
/// q.forward_batch(&[[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]], &mut y);
/// assert_eq!(y, [[[[12, 16], [24, 28]]]]);
/// ```
#[repr(C, align(64))]
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct QConv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    const N: usize,
> {
    // Filter `f`'s weights, row `f`, in the float layer's order `[c][kh][kw]`.
    matrix: QDense<N, F>,
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
        const N: usize,
    > QConv2d<C, H, W, F, K, S, SAME, OH, OW, N>
{
    const CHECK: () = assert!(N == C * K * K, "QConv2d: N must be C·K·K");

    /// The int8 twin of a float convolution, given its input's and output's parameters (see
    /// [`QDense::from_float`]).
    pub fn from_float<A: Activation>(
        conv: &Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>,
        input: QuantParams,
        output: QuantParams,
        last: bool,
    ) -> Result<Self, QuantError> {
        let () = Self::CHECK;
        let fused = fused_for(A::OP, A::NAME, last)?;
        let mut rows = Dense::<N, F, Identity>::default();
        for (row, filter) in rows.weight.iter_mut().zip(&conv.weight) {
            row.copy_from_slice(filter.as_flattened().as_flattened());
        }
        rows.bias = conv.bias;
        Ok(QConv2d {
            matrix: QDense::quantize_with(&rows, input, output, fused),
        })
    }

    /// The layer from stored bytes, as [`QDense::read_le`] (`F` rows of `N` weights).
    pub const fn read_le(
        bytes: &[u8],
        at: usize,
        input: QuantParams,
        fused: Fused,
    ) -> Result<Self, QuantError> {
        let () = Self::CHECK;
        match QDense::read_le(bytes, at, input, fused) {
            Ok(matrix) => Ok(QConv2d { matrix }),
            Err(e) => Err(e),
        }
    }

    /// Its input's quantisation.
    pub const fn input(&self) -> QuantParams {
        self.matrix.input()
    }

    /// Its output's quantisation.
    pub const fn output(&self) -> QuantParams {
        self.matrix.output()
    }

    /// The underlying rows: weights `[F][N]`, biases, scales and parameters.
    pub const fn rows(&self) -> &QDense<N, F> {
        &self.matrix
    }

    /// One sample's patches: `patches[oy][ox]` holds the `N` input values under the kernel at
    /// output pixel `(oy, ox)`, channel by channel, the zero point where the kernel overhangs.
    fn im2col(&self, x: &[[[i8; W]; H]; C], patches: &mut [[[i8; N]; OW]; OH]) {
        let zp = self.matrix.input().zero_point.clamp(-128, 127) as i8;
        let (pt, pl) = (pad_before(H, K, S, OH, SAME), pad_before(W, K, S, OW, SAME));
        for (oy, row) in patches.iter_mut().enumerate() {
            for (ox, patch) in row.iter_mut().enumerate() {
                let mut i = 0;
                for plane in x {
                    for kh in 0..K {
                        let iy = (oy * S + kh).wrapping_sub(pt);
                        for kw in 0..K {
                            let ix = (ox * S + kw).wrapping_sub(pl);
                            patch[i] = padded(plane, iy, ix, zp);
                            i += 1;
                        }
                    }
                }
            }
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
        const N: usize,
    > QLayer for QConv2d<C, H, W, F, K, S, SAME, OH, OW, N>
{
    type Input = [[[i8; W]; H]; C];
    type Output = [[[i8; OW]; OH]; F];
    const OP: QOp = QOp::Conv2d {
        channels: C,
        input: [H, W],
        filters: F,
        kernel: K,
        stride: S,
        output: [OH, OW],
        pads: pads(H, W, K, S, OH, OW, SAME),
    };
    const INPUTS: usize = C * H * W;
    const OUTPUTS: usize = F * OH * OW;
    const WEIGHT_BYTES: usize = QDense::<N, F>::WEIGHT_BYTES;

    fn input(&self) -> QuantParams {
        QConv2d::input(self)
    }

    fn output(&self) -> QuantParams {
        QConv2d::output(self)
    }

    /// Sample by sample: patches, one int8 product of all patches with the filters, the output
    /// stage, and a transpose from pixel-major to channel-major. About `OH·OW·(N + 5·F)` bytes
    /// of stack per call.
    fn forward_batch<const B: usize>(
        &self,
        x: &[[[[i8; W]; H]; C]; B],
        y: &mut [[[[i8; OW]; OH]; F]; B],
    ) {
        let () = Self::CHECK;
        let mut patches = [[[0i8; N]; OW]; OH];
        let mut acc = [[[0i32; F]; OW]; OH];
        let mut pixels = [[[0i8; F]; OW]; OH];
        for (x, y) in x.iter().zip(y.iter_mut()) {
            self.im2col(x, &mut patches);
            kernel::matmul_zp::<N>(
                patches.as_flattened().as_flattened(),
                self.matrix.input().zero_point,
                self.matrix.weights(),
                acc.as_flattened_mut().as_flattened_mut(),
            );
            self.matrix.requantize(
                acc.as_flattened().as_flattened(),
                pixels.as_flattened_mut().as_flattened_mut(),
            );
            channels_first(&pixels, y);
        }
    }

    fn write_le(&self, out: &mut [u8]) {
        self.matrix.write_le(out);
    }

    fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
        QLayerInfo {
            kind: "Conv2d",
            inputs: C * H * W,
            outputs: F * OH * OW,
            ..self.matrix.info(name, activation)
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
    > Quantize for Conv2d<C, H, W, F, K, S, SAME, OH, OW, A>
{
    fn observe(&self, x: &Self::Input, y: &mut Self::Output, output: &mut MinMax, last: bool) {
        let linear =
            Conv2d::<C, H, W, F, K, S, SAME, OH, OW, Identity>::new(self.weight, self.bias);
        linear.forward(core::array::from_ref(x), core::array::from_mut(y));
        observe_activation::<A>(y.as_flattened_mut().as_flattened_mut(), output, last);
    }
}

/// A depthwise 2-D convolution in TFLite's int8 scheme (`DepthwiseConv2D`, one filter and one
/// weight scale per channel): each channel's `N = K·K` window, padding at the input's zero
/// point, then the output stage of its channel. `N` must equal `K·K` (checked at compile time;
/// `network!` writes it).
///
/// ```
/// use nn_core::quant::{QDepthwiseConv2d, QLayer, QuantParams};
/// use nn_core::{DepthwiseConv2d, Relu};
/// // Two channels, 2×2 windows: channel 0 sums, channel 1 takes the top-left value.
/// let dw = DepthwiseConv2d::<2, 2, 2, 2, 1, false, 1, 1, Relu>::new(
///     [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]]],
///     [0.0, 0.0],
/// );
/// let p = QuantParams { scale: 0.5, zero_point: 0 };
/// let q = QDepthwiseConv2d::<2, 2, 2, 2, 1, false, 1, 1, 4>::from_float(&dw, p, p, false).unwrap();
/// let mut y = [[[[0i8; 1]; 1]; 2]];
/// q.forward_batch(&[[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]], &mut y);
/// assert_eq!(y, [[[[10]], [[5]]]]);
/// ```
#[repr(C, align(64))]
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct QDepthwiseConv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    const OH: usize,
    const OW: usize,
    const N: usize,
> {
    // Channel `c`'s filter, row `c`, in the float layer's order `[kh][kw]`.
    matrix: QDense<N, C>,
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
        const N: usize,
    > QDepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, N>
{
    const CHECK: () = assert!(N == K * K, "QDepthwiseConv2d: N must be K·K");

    /// The int8 twin of a float depthwise convolution (see [`QDense::from_float`]).
    pub fn from_float<A: Activation>(
        conv: &DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>,
        input: QuantParams,
        output: QuantParams,
        last: bool,
    ) -> Result<Self, QuantError> {
        let () = Self::CHECK;
        let fused = fused_for(A::OP, A::NAME, last)?;
        let mut rows = Dense::<N, C, Identity>::default();
        for (row, filter) in rows.weight.iter_mut().zip(&conv.weight) {
            row.copy_from_slice(filter.as_flattened());
        }
        rows.bias = conv.bias;
        Ok(QDepthwiseConv2d {
            matrix: QDense::quantize_with(&rows, input, output, fused),
        })
    }

    /// The layer from stored bytes, as [`QDense::read_le`] (`C` rows of `K·K` weights).
    pub const fn read_le(
        bytes: &[u8],
        at: usize,
        input: QuantParams,
        fused: Fused,
    ) -> Result<Self, QuantError> {
        let () = Self::CHECK;
        match QDense::read_le(bytes, at, input, fused) {
            Ok(matrix) => Ok(QDepthwiseConv2d { matrix }),
            Err(e) => Err(e),
        }
    }

    /// Its input's quantisation.
    pub const fn input(&self) -> QuantParams {
        self.matrix.input()
    }

    /// Its output's quantisation.
    pub const fn output(&self) -> QuantParams {
        self.matrix.output()
    }

    /// The underlying rows: weights `[C][K·K]`, biases, scales and parameters.
    pub const fn rows(&self) -> &QDense<N, C> {
        &self.matrix
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
        const N: usize,
    > QLayer for QDepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, N>
{
    type Input = [[[i8; W]; H]; C];
    type Output = [[[i8; OW]; OH]; C];
    const OP: QOp = QOp::DepthwiseConv2d {
        channels: C,
        input: [H, W],
        kernel: K,
        stride: S,
        output: [OH, OW],
        pads: pads(H, W, K, S, OH, OW, SAME),
    };
    const INPUTS: usize = C * H * W;
    const OUTPUTS: usize = C * OH * OW;
    const WEIGHT_BYTES: usize = QDense::<N, C>::WEIGHT_BYTES;

    fn input(&self) -> QuantParams {
        QDepthwiseConv2d::input(self)
    }

    fn output(&self) -> QuantParams {
        QDepthwiseConv2d::output(self)
    }

    /// Sample by sample: each channel's window sums (the raw codes; the zero point's share is
    /// folded into the offset as in `QDense`), the output stage per channel, and a transpose.
    fn forward_batch<const B: usize>(
        &self,
        x: &[[[[i8; W]; H]; C]; B],
        y: &mut [[[[i8; OW]; OH]; C]; B],
    ) {
        let () = Self::CHECK;
        let zp = self.matrix.input().zero_point.clamp(-128, 127) as i8;
        let (pt, pl) = (pad_before(H, K, S, OH, SAME), pad_before(W, K, S, OW, SAME));
        let weights = self.matrix.weight();
        let mut acc = [[[0i32; C]; OW]; OH];
        let mut pixels = [[[0i8; C]; OW]; OH];
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (oy, row) in acc.iter_mut().enumerate() {
                for (ox, sums) in row.iter_mut().enumerate() {
                    for (c, sum) in sums.iter_mut().enumerate() {
                        let mut s = 0i32;
                        for kh in 0..K {
                            let iy = (oy * S + kh).wrapping_sub(pt);
                            for kw in 0..K {
                                let ix = (ox * S + kw).wrapping_sub(pl);
                                let v = i32::from(padded(&x[c], iy, ix, zp));
                                s = s.wrapping_add(i32::from(weights[c][kh * K + kw]) * v);
                            }
                        }
                        *sum = s;
                    }
                }
            }
            self.matrix.requantize(
                acc.as_flattened().as_flattened(),
                pixels.as_flattened_mut().as_flattened_mut(),
            );
            channels_first(&pixels, y);
        }
    }

    fn write_le(&self, out: &mut [u8]) {
        self.matrix.write_le(out);
    }

    fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
        QLayerInfo {
            kind: "DepthwiseConv2d",
            inputs: C * H * W,
            outputs: C * OH * OW,
            ..self.matrix.info(name, activation)
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
    > Quantize for DepthwiseConv2d<C, H, W, K, S, SAME, OH, OW, A>
{
    fn observe(&self, x: &Self::Input, y: &mut Self::Output, output: &mut MinMax, last: bool) {
        let linear =
            DepthwiseConv2d::<C, H, W, K, S, SAME, OH, OW, Identity>::new(self.weight, self.bias);
        linear.forward(core::array::from_ref(x), core::array::from_mut(y));
        observe_activation::<A>(y.as_flattened_mut().as_flattened_mut(), output, last);
    }
}

/// Layers without parameters whose output keeps the input's quantisation; `new` takes it.
macro_rules! passing {
    ($(#[$doc:meta])* $name:ident < $($p:ident),* > ($input:ty => $output:ty) $op:expr, $kind:literal, $float:ty; $forward:item) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Debug)]
        pub struct $name<$(const $p: usize),*> {
            params: QuantParams,
        }

        impl<$(const $p: usize),*> $name<$($p),*> {
            /// The layer, passing on values quantised with `params`.
            pub const fn new(params: QuantParams) -> Self {
                $name { params }
            }

            /// The int8 twin of the float layer: its output has its input's parameters.
            pub fn from_float(
                _layer: &$float,
                input: QuantParams,
                _output: QuantParams,
                _last: bool,
            ) -> Result<Self, QuantError> {
                Ok($name { params: input })
            }

            /// Its output's quantisation: its input's.
            pub const fn output(&self) -> QuantParams {
                self.params
            }

            /// Nothing is stored; the parameters are the input's.
            pub const fn read_le(
                _bytes: &[u8],
                _at: usize,
                input: QuantParams,
                _fused: Fused,
            ) -> Result<Self, QuantError> {
                Ok($name { params: input })
            }
        }

        impl<$(const $p: usize),*> QLayer for $name<$($p),*> {
            type Input = $input;
            type Output = $output;
            const OP: QOp = $op;
            const INPUTS: usize = core::mem::size_of::<$input>();
            const OUTPUTS: usize = core::mem::size_of::<$output>();
            const WEIGHT_BYTES: usize = 0;

            fn input(&self) -> QuantParams {
                self.params
            }

            fn output(&self) -> QuantParams {
                self.params
            }

            $forward

            fn write_le(&self, _out: &mut [u8]) {}

            fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
                QLayerInfo {
                    name,
                    kind: $kind,
                    activation,
                    fused: Fused::None,
                    inputs: Self::INPUTS,
                    outputs: Self::OUTPUTS,
                    bytes: 0,
                    output: self.params,
                }
            }
        }
    };
}

passing! {
    /// Max pooling over `P×P` windows in int8 (TFLite's `MaxPool2D`): the largest code of each
    /// window, which is the code of the largest value, so input and output share parameters.
    ///
    /// ```
    /// use nn_core::quant::{QLayer, QMaxPool2d, QuantParams};
    /// let pool = QMaxPool2d::<1, 2, 4, 2, 1, 2>::new(QuantParams { scale: 0.1, zero_point: 0 });
    /// let mut y = [[[[0i8; 2]; 1]; 1]];
    /// pool.forward_batch(&[[[[1, 5, -1, -2], [3, 3, -3, -4]]]], &mut y);
    /// assert_eq!(y, [[[[5, -1]]]]);
    /// ```
    QMaxPool2d<C, H, W, P, OH, OW> ([[[i8; W]; H]; C] => [[[i8; OW]; OH]; C])
    QOp::MaxPool2d { pool: P }, "MaxPool2d", MaxPool2d<C, H, W, P, OH, OW>;
    fn forward_batch<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (oy, row) in y.iter_mut().enumerate() {
                    for (ox, v) in row.iter_mut().enumerate() {
                        let mut best = i8::MIN;
                        for dy in 0..P {
                            for dx in 0..P {
                                best = best.max(x[oy * P + dy][ox * P + dx]);
                            }
                        }
                        *v = best;
                    }
                }
            }
        }
    }
}

passing! {
    /// Average pooling over `P×P` windows in int8 (TFLite's `AveragePool2D`): the window's sum
    /// divided by its size, rounded half away from zero, so input and output share parameters.
    ///
    /// ```
    /// use nn_core::quant::{QAvgPool2d, QLayer, QuantParams};
    /// let pool = QAvgPool2d::<1, 2, 4, 2, 1, 2>::new(QuantParams { scale: 0.1, zero_point: 0 });
    /// let mut y = [[[[0i8; 2]; 1]; 1]];
    /// pool.forward_batch(&[[[[1, 5, -1, -2], [3, 3, -3, -4]]]], &mut y);
    /// assert_eq!(y, [[[[3, -3]]]]); // 12 / 4 and -10 / 4 = -2.5 → -3
    /// ```
    QAvgPool2d<C, H, W, P, OH, OW> ([[[i8; W]; H]; C] => [[[i8; OW]; OH]; C])
    QOp::AvgPool2d { pool: P }, "AvgPool2d", AvgPool2d<C, H, W, P, OH, OW>;
    fn forward_batch<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        let count = (P * P) as i32;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (oy, row) in y.iter_mut().enumerate() {
                    for (ox, v) in row.iter_mut().enumerate() {
                        let mut sum = 0i32;
                        for dy in 0..P {
                            for dx in 0..P {
                                sum += i32::from(x[oy * P + dy][ox * P + dx]);
                            }
                        }
                        // TFLite's rounding: half away from zero.
                        let avg = if sum > 0 {
                            (sum + count / 2) / count
                        } else {
                            (sum - count / 2) / count
                        };
                        *v = avg.clamp(-128, 127) as i8;
                    }
                }
            }
        }
    }
}

passing! {
    /// `[[[i8; W]; H]; C]` → `[i8; N]` (`N = C·H·W`), row-major as the float `Flatten2d`.
    ///
    /// ```
    /// use nn_core::quant::{QFlatten2d, QLayer, QuantParams};
    /// let flat = QFlatten2d::<1, 2, 2, 4>::new(QuantParams { scale: 1.0, zero_point: 0 });
    /// let mut y = [[0i8; 4]];
    /// flat.forward_batch(&[[[[1, 2], [3, 4]]]], &mut y);
    /// assert_eq!(y, [[1, 2, 3, 4]]);
    /// ```
    QFlatten2d<C, H, W, N> ([[[i8; W]; H]; C] => [i8; N])
    QOp::Flatten, "Flatten", Flatten2d<C, H, W, N>;
    fn forward_batch<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        const { assert!(N == C * H * W, "QFlatten2d: N must be C·H·W") };
        for (x, y) in x.iter().zip(y.iter_mut()) {
            y.copy_from_slice(x.as_flattened().as_flattened());
        }
    }
}

/// Values passed on unchanged in int8 (dropout at inference); `T` is the int8 tensor type.
///
/// ```
/// use nn_core::quant::{QIdentity, QLayer, QuantParams};
/// let same = QIdentity::<[i8; 3]>::new(QuantParams { scale: 1.0, zero_point: 0 });
/// let mut y = [[0i8; 3]];
/// same.forward_batch(&[[1, -2, 3]], &mut y);
/// assert_eq!(y, [[1, -2, 3]]);
/// ```
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct QIdentity<T> {
    params: QuantParams,
    shape: core::marker::PhantomData<fn() -> T>,
}

impl<T> QIdentity<T> {
    /// The layer, passing on values quantised with `params`.
    pub const fn new(params: QuantParams) -> Self {
        QIdentity {
            params,
            shape: core::marker::PhantomData,
        }
    }

    /// The int8 twin of a dropout layer (the identity at inference).
    pub fn from_float<F: Tensor, const RATE: u32>(
        _layer: &Dropout<F, RATE>,
        input: QuantParams,
        _output: QuantParams,
        _last: bool,
    ) -> Result<Self, QuantError> {
        Ok(QIdentity::new(input))
    }

    /// Its output's quantisation: its input's.
    pub const fn output(&self) -> QuantParams {
        self.params
    }

    /// Nothing is stored; the parameters are the input's.
    pub const fn read_le(
        _bytes: &[u8],
        _at: usize,
        input: QuantParams,
        _fused: Fused,
    ) -> Result<Self, QuantError> {
        Ok(QIdentity::new(input))
    }
}

impl<T: Copy> QLayer for QIdentity<T> {
    type Input = T;
    type Output = T;
    const OP: QOp = QOp::Identity;
    const INPUTS: usize = core::mem::size_of::<T>();
    const OUTPUTS: usize = core::mem::size_of::<T>();
    const WEIGHT_BYTES: usize = 0;

    fn input(&self) -> QuantParams {
        self.params
    }

    fn output(&self) -> QuantParams {
        self.params
    }

    fn forward_batch<const B: usize>(&self, x: &[T; B], y: &mut [T; B]) {
        *y = *x;
    }

    fn write_le(&self, _out: &mut [u8]) {}

    fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
        QLayerInfo {
            name,
            kind: "Dropout",
            activation,
            fused: Fused::None,
            inputs: Self::INPUTS,
            outputs: Self::OUTPUTS,
            bytes: 0,
            output: self.params,
        }
    }
}

/// Layers that keep their input's quantisation: calibration runs them and records nothing.
macro_rules! passes {
    ($($float:ty, <$($p:ident),*>;)*) => {$(
        impl<$(const $p: usize),*> Quantize for $float {
            const PASSES: bool = true;

            fn observe(&self, x: &Self::Input, y: &mut Self::Output, _: &mut MinMax, _: bool) {
                self.forward(core::array::from_ref(x), core::array::from_mut(y));
            }
        }
    )*};
}

passes! {
    MaxPool2d<C, H, W, P, OH, OW>, <C, H, W, P, OH, OW>;
    AvgPool2d<C, H, W, P, OH, OW>, <C, H, W, P, OH, OW>;
    Flatten2d<C, H, W, N>, <C, H, W, N>;
}

impl<T: Tensor, const RATE: u32> Quantize for Dropout<T, RATE> {
    const PASSES: bool = true;

    fn observe(&self, x: &T, y: &mut T, _: &mut MinMax, _: bool) {
        *y = *x;
    }
}
