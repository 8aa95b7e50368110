use core::fmt;

use super::kernel::{self, row_sum, Weights};
use super::{
    quantize_bias, quantize_weights, requantize_multiplier, Fused, QuantError, QuantParams,
    QuantizedMultiplier,
};
use crate::activation::Activation;
use crate::Dense;

/// A fully connected layer in TFLite's int8 scheme: `y = clamp(zp_out + M_o · (Σ_i w[o][i] ·
/// (x[i] − zp_in) + bias[o]), lo, hi)`, with int8 `x`, `w` and `y`, int32 `bias` and per-output
/// fixed-point multipliers `M_o ≈ s_in · s_w[o] / s_out`. Integer arithmetic only, bit-identical
/// to TFLite's reference `FullyConnected` (per-channel) on the same parameters, on every kernel.
///
/// The input zero point is folded into the bias once (`bias[o] − zp_in · Σ_i w[o][i]`), so the
/// inner loop is a plain int8 dot product. `size_of` is `I·O + 24·O + 19` bytes rounded up to a
/// multiple of 64: the weights start 64-byte aligned. On x86-64 hosts (feature `std`) the layer
/// also holds its weights packed for the column kernels, `I·O + 4·O` bytes more, and as 16-bit
/// values for the AVX2 batch kernel, `2·I·O + 12·O` more (not stored: [`WEIGHT_BYTES`](Self::WEIGHT_BYTES)
/// and the byte layout are the same everywhere).
///
/// ```
/// use nn_core::quant::{QDense, QuantParams};
/// use nn_core::{Dense, Relu};
/// let dense = Dense::<2, 2, Relu>::new([[0.5, -0.25], [-1.0, 0.75]], [0.1, 0.0]);
/// let input = QuantParams::from_range(-1.0, 1.0);
/// let output = QuantParams::from_range(0.0, 1.0);
/// let q = QDense::quantize(&dense, input, output).unwrap();
///
/// let x = [0.8_f32, -0.4];
/// let mut xq = [0i8; 2];
/// input.quantize_slice(&x, &mut xq);
/// let y = q.forward(&xq);
/// // Float: relu(0.4 + 0.1 + 0.1) = 0.6 and relu(-0.8 - 0.3) = 0.
/// assert!((output.dequantize(y[0]) - 0.6).abs() < 0.01);
/// assert_eq!(output.dequantize(y[1]), 0.0);
///
/// assert_eq!(QDense::<784, 64>::WEIGHT_BYTES, 50_696);
/// #[cfg(not(target_arch = "x86_64"))]
/// assert_eq!(core::mem::size_of::<QDense<784, 64>>(), 51_776);
/// // On x86-64, the packed copies too: u8 and 16-bit.
/// #[cfg(target_arch = "x86_64")]
/// assert_eq!(
///     core::mem::size_of::<QDense<784, 64>>(),
///     51_776 + (784 * 64 + 4 * 64) + (2 * 784 * 64 + 12 * 64)
/// );
/// ```
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct QDense<const I: usize, const O: usize> {
    // Private, so that every value satisfies what the kernels rely on: weights in [-127, 127],
    // `row_sum` and `offset` derived from them, multipliers from the scales.
    weight: [[i8; I]; O],
    // On x86-64 hosts, the same weights packed for the batch kernels (`kernel::Packed`): groups
    // of four inputs × every row, in the first `I / 4 · 4 · O` bytes, and the last `I % 4`
    // inputs in `packed_tail`. Built with the rest in the `const fn` constructors, so every
    // value has it (a `static` too) and no call pays for packing; it doubles the layer's memory
    // on the host only: `WEIGHT_BYTES`, the stored bytes and microcontroller builds are as
    // before. (A lazily filled cache would need a lock or `OnceLock` in a `Copy`, `const`-built
    // type; packing per call costs as much as a tenth of the batch's products.)
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    packed: [[u8; I]; O],
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    packed_tail: [[u8; 4]; O],
    // And as 16-bit values for the AVX2 batch kernel (`kernel::pack_wide`, Winograd's inner
    // product): groups of four inputs in the first `I / 4 · 4 · O` values, the last `I % 4` in
    // `wide_tail`, and each row's correction. Twice the bytes of the weights again (784 × 64:
    // 100 352 + 768 B), for 1.5–2 µs of the MNIST MLP's 64 µs at batch 128 that widening per
    // call cost.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    wide: [[i16; I]; O],
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    wide_tail: [[i16; 4]; O],
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    wide_corr: [i32; O],
    bias: [i32; O],
    weight_scale: [f32; O],
    multiplier: [QuantizedMultiplier; O],
    row_sum: [i32; O],
    offset: [i32; O],
    input: QuantParams,
    output: QuantParams,
    fused: Fused,
    lo: i8,
    hi: i8,
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// Inputs per sample.
    pub const INPUTS: usize = I;
    /// Outputs per sample.
    pub const OUTPUTS: usize = O;
    /// Bytes of the stored parameters: the int8 weights, the int32 biases, the f32 weight
    /// scales, and the output's scale and zero point (the multipliers, row sums and folded biases
    /// are derived from them). 784 × 64: 50 696 bytes, against 200 960 in f32.
    pub const WEIGHT_BYTES: usize = I * O + 8 * O + 8;

    /// A layer from TFLite's stored tensors: int8 weights (per output channel, symmetric, in
    /// `[-127, 127]`), int32 biases at scale `input.scale · weight_scale[o]`, the weight scales
    /// and the activations' parameters. A `const fn`, so that a quantised network can be built
    /// in a `static`; the multipliers, row sums and folded biases are derived here.
    ///
    /// Panics if a weight is -128, a scale is not positive and finite, a zero point is not an
    /// int8, or a requantisation factor `input.scale · weight_scale[o] / output.scale` exceeds
    /// 2^31 ([`try_from_parts`](Self::try_from_parts) returns these as errors).
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantParams};
    /// const P: QuantParams = QuantParams { scale: 0.5, zero_point: 0 };
    /// static LAYER: QDense<2, 1> = QDense::from_parts([[2, 4]], [-8], [0.25], P, P, Fused::Relu);
    /// // M = 0.5 · 0.25 / 0.5 = 0.25: 0.25 · (2·4 + 4·8 − 8) = 8, and 0.25 · (8 − 32 − 8) = -8 → 0.
    /// assert_eq!(LAYER.forward(&[4, 8]), [8]);
    /// assert_eq!(LAYER.forward(&[4, -8]), [0]);
    /// ```
    pub const fn from_parts(
        weight: [[i8; I]; O],
        bias: [i32; O],
        weight_scale: [f32; O],
        input: QuantParams,
        output: QuantParams,
        fused: Fused,
    ) -> Self {
        match Self::try_from_parts(weight, bias, weight_scale, input, output, fused) {
            Ok(layer) => layer,
            Err(e) => e.panic(),
        }
    }

    /// [`from_parts`](Self::from_parts), with an error instead of a panic: for parameters read
    /// from a file.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantError, QuantParams};
    /// let p = QuantParams { scale: 0.5, zero_point: 0 };
    /// let bad = QDense::<2, 1>::try_from_parts([[-128, 4]], [0], [0.25], p, p, Fused::None);
    /// assert_eq!(bad.unwrap_err(), QuantError::Weight);
    /// ```
    pub const fn try_from_parts(
        weight: [[i8; I]; O],
        bias: [i32; O],
        weight_scale: [f32; O],
        input: QuantParams,
        output: QuantParams,
        fused: Fused,
    ) -> Result<Self, QuantError> {
        if !input.is_valid() || !output.is_valid() {
            return Err(QuantError::Params);
        }
        let mut multiplier = [QuantizedMultiplier {
            multiplier: 0,
            shift: 0,
        }; O];
        let mut sums = [0; O];
        let mut offset = [0; O];
        let mut o = 0;
        while o < O {
            if !positive(weight_scale[o]) {
                return Err(QuantError::Scale);
            }
            let mut i = 0;
            while i < I {
                if weight[o][i] == i8::MIN {
                    return Err(QuantError::Weight);
                }
                i += 1;
            }
            multiplier[o] = requantize_multiplier(input.scale, weight_scale[o], output.scale);
            // A shift above 31 (a factor beyond 2^31) would only ever saturate.
            if multiplier[o].shift > 31 {
                return Err(QuantError::Multiplier);
            }
            sums[o] = row_sum(&weight[o]);
            // Σ w·(x − zp) + b = Σ w·x + (b − zp · Σ w), exactly in wrapping i32.
            offset[o] = bias[o].wrapping_sub(input.zero_point.wrapping_mul(sums[o]));
            o += 1;
        }
        let (lo, hi) = output.activation_range(fused);
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        let (packed, packed_tail) = {
            let (mut body, mut tail) = ([[0u8; I]; O], [[0u8; 4]; O]);
            kernel::pack(
                weight.as_flattened(),
                I,
                O,
                body.as_flattened_mut(),
                tail.as_flattened_mut(),
            );
            (body, tail)
        };
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        let (wide, wide_tail, wide_corr) = {
            let (mut body, mut tail, mut corr) = ([[0i16; I]; O], [[0i16; 4]; O], [0i32; O]);
            kernel::pack_wide(
                weight.as_flattened(),
                I,
                O,
                body.as_flattened_mut(),
                tail.as_flattened_mut(),
                &mut corr,
            );
            (body, tail, corr)
        };
        Ok(QDense {
            weight,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            packed,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            packed_tail,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            wide,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            wide_tail,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            wide_corr,
            bias,
            weight_scale,
            multiplier,
            row_sum: sums,
            offset,
            input,
            output,
            fused,
            lo,
            hi,
        })
    }

    /// The layer from the bytes [`write_le`](Self::write_le) wrote, starting at `bytes[at]`:
    /// `WEIGHT_BYTES` bytes (weights row by row, then biases, weight scales, and the output's
    /// scale and zero point, all little-endian). The input's parameters are the previous layer's
    /// output (or the network's input), so they are passed in. A `const fn`, for `static`s.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantParams};
    /// let p = QuantParams { scale: 0.5, zero_point: 3 };
    /// let layer = QDense::<2, 1>::from_parts([[2, -4]], [-8], [0.25], p, p, Fused::Relu);
    /// let mut bytes = [0u8; QDense::<2, 1>::WEIGHT_BYTES];
    /// layer.write_le(&mut bytes);
    /// assert_eq!(QDense::<2, 1>::read_le(&bytes, 0, p, Fused::Relu), Ok(layer));
    /// assert!(QDense::<2, 1>::read_le(&bytes[1..], 0, p, Fused::Relu).is_err()); // too short
    /// ```
    pub const fn read_le(
        bytes: &[u8],
        at: usize,
        input: QuantParams,
        fused: Fused,
    ) -> Result<Self, QuantError> {
        if bytes.len() < at || bytes.len() - at < Self::WEIGHT_BYTES {
            return Err(QuantError::Length);
        }
        let mut weight = [[0i8; I]; O];
        let mut k = at;
        let mut o = 0;
        while o < O {
            let mut i = 0;
            while i < I {
                weight[o][i] = bytes[k] as i8;
                k += 1;
                i += 1;
            }
            o += 1;
        }
        let mut bias = [0i32; O];
        let mut o = 0;
        while o < O {
            bias[o] = i32::from_le_bytes(word(bytes, k));
            k += 4;
            o += 1;
        }
        let mut weight_scale = [0f32; O];
        let mut o = 0;
        while o < O {
            weight_scale[o] = f32::from_le_bytes(word(bytes, k));
            k += 4;
            o += 1;
        }
        let output = QuantParams {
            scale: f32::from_le_bytes(word(bytes, k)),
            zero_point: i32::from_le_bytes(word(bytes, k + 4)),
        };
        Self::try_from_parts(weight, bias, weight_scale, input, output, fused)
    }

    /// Writes the stored parameters into `out[..WEIGHT_BYTES]` in the layout
    /// [`read_le`](Self::read_le) reads. Panics if `out` is shorter.
    pub fn write_le(&self, out: &mut [u8]) {
        let out = &mut out[..Self::WEIGHT_BYTES];
        let (w, rest) = out.split_at_mut(I * O);
        for (dst, src) in w.iter_mut().zip(self.weight.as_flattened()) {
            *dst = *src as u8;
        }
        let (b, rest) = rest.split_at_mut(4 * O);
        for (dst, src) in b.chunks_exact_mut(4).zip(&self.bias) {
            dst.copy_from_slice(&src.to_le_bytes());
        }
        let (s, rest) = rest.split_at_mut(4 * O);
        for (dst, src) in s.chunks_exact_mut(4).zip(&self.weight_scale) {
            dst.copy_from_slice(&src.to_le_bytes());
        }
        rest[..4].copy_from_slice(&self.output.scale.to_le_bytes());
        rest[4..].copy_from_slice(&self.output.zero_point.to_le_bytes());
    }

    /// Post-training quantisation of a float layer, given the calibrated parameters of its input
    /// and output: per-channel symmetric weights ([`quantize_weights`]), biases at `input.scale ·
    /// weight_scale` ([`quantize_bias`]), the activation fused if it can be ([`Fused::of`]).
    ///
    /// `output` describes the activation's output (for ReLU, a range from 0). Returns the layer by
    /// value (about `I·O` bytes): a host-side step.
    ///
    /// ```
    /// use nn_core::quant::{QDense, QuantParams};
    /// use nn_core::{Dense, Identity};
    /// let dense = Dense::<3, 1, Identity>::new([[1.0, -2.0, 0.5]], [0.25]);
    /// let p = QuantParams::from_range(-4.0, 4.0);
    /// let q = QDense::quantize(&dense, p, p).unwrap();
    /// assert_eq!(q.weight(), &[[64, -127, 32]]); // scale 2/127
    /// assert_eq!(q.weight_scale()[0], 2.0 / 127.0);
    /// ```
    pub fn quantize<A: Activation>(
        dense: &Dense<I, O, A>,
        input: QuantParams,
        output: QuantParams,
    ) -> Result<Self, QuantError> {
        Ok(Self::quantize_with(dense, input, output, Fused::of::<A>()?))
    }

    /// [`quantize`](Self::quantize) with the fused activation chosen by the caller, whatever the
    /// layer's own: `Fused::None` for a layer whose activation (a final softmax) is applied in
    /// float to the dequantised output.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantParams};
    /// use nn_core::{Dense, Softmax};
    /// let p = QuantParams::from_range(-1.0, 1.0);
    /// let logits = QDense::quantize_with(&Dense::<4, 3, Softmax>::default(), p, p, Fused::None);
    /// assert_eq!(logits.fused(), Fused::None);
    /// ```
    pub fn quantize_with<A>(
        dense: &Dense<I, O, A>,
        input: QuantParams,
        output: QuantParams,
        fused: Fused,
    ) -> Self {
        let mut weight = [[0i8; I]; O];
        let mut weight_scale = [0.0f32; O];
        quantize_weights(&dense.weight, &mut weight, &mut weight_scale);
        let mut bias = [0i32; O];
        for o in 0..O {
            bias[o] = quantize_bias(dense.bias[o], input.scale, weight_scale[o]);
        }
        Self::from_parts(weight, bias, weight_scale, input, output, fused)
    }

    /// One sample: int8 in, int8 out, integers only.
    #[inline]
    pub fn forward(&self, x: &[i8; I]) -> [i8; O] {
        let mut acc = [0i32; O];
        if self.matmul_packed(x, &mut acc).is_none() {
            kernel::matmul_zp::<I>(x, self.input.zero_point, self.weights(), &mut acc);
        }
        let mut y = [0i8; O];
        self.requantize(&acc, &mut y);
        y
    }

    /// `B` samples at once (a matrix product: each weight is loaded once per tile of samples,
    /// not once per sample). Uses `4·B·O` bytes of stack for the sums.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantParams};
    /// let p = QuantParams { scale: 1.0, zero_point: 0 };
    /// let layer = QDense::<2, 1>::from_parts([[1, 1]], [0], [1.0], p, p, Fused::None);
    /// let mut y = [[0]; 2];
    /// layer.forward_batch(&[[1, 2], [100, 100]], &mut y);
    /// assert_eq!(y, [[3], [127]]); // 200 saturates
    /// ```
    #[inline]
    pub fn forward_batch<const B: usize>(&self, x: &[[i8; I]; B], y: &mut [[i8; O]; B]) {
        let mut acc = [[0i32; O]; B];
        if self
            .matmul_packed(x.as_flattened(), acc.as_flattened_mut())
            .is_none()
        {
            kernel::matmul_zp::<I>(
                x.as_flattened(),
                self.input.zero_point,
                self.weights(),
                acc.as_flattened_mut(),
            );
        }
        self.requantize(acc.as_flattened(), y.as_flattened_mut());
    }

    /// The products by the column kernels of x86-64 hosts, or `None` (nothing written) where
    /// the dot-product kernels are the faster (`kernel::matmul_packed`).
    #[inline(always)]
    fn matmul_packed(&self, x: &[i8], acc: &mut [i32]) -> Option<()> {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            let p = kernel::Packed::new(
                self.packed.as_flattened(),
                self.packed_tail.as_flattened(),
                self.wide.as_flattened(),
                self.wide_tail.as_flattened(),
                &self.wide_corr,
                I,
                O,
            );
            kernel::matmul_packed(x, p, acc)
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            let _ = (x, acc);
            None
        }
    }

    pub(super) fn weights(&self) -> Weights<'_> {
        // I = 0 has no rows to multiply; `Weights` wants n > 0, and an empty product is 0.
        const { assert!(I > 0, "a quantised layer needs inputs") };
        Weights::new(self.weight.as_flattened(), &self.row_sum, I)
    }

    /// `clamp(zp_out + M_o · (acc + offset), lo, hi)`: TFLite's output stage, on every sample.
    #[inline(always)]
    pub(super) fn requantize(&self, acc: &[i32], y: &mut [i8]) {
        let stage = kernel::Requant {
            multiplier: &self.multiplier,
            offset: &self.offset,
            zero_point: self.output.zero_point,
            lo: self.lo,
            hi: self.hi,
        };
        kernel::requantize(stage, acc, y);
    }

    /// `weight[o][i]`, int8 in `[-127, 127]`.
    pub const fn weight(&self) -> &[[i8; I]; O] {
        &self.weight
    }
    /// The int32 biases, at scale `input().scale · weight_scale()[o]`, as stored (not folded).
    pub const fn bias(&self) -> &[i32; O] {
        &self.bias
    }
    /// One scale per output channel; the weights' zero point is 0.
    pub const fn weight_scale(&self) -> &[f32; O] {
        &self.weight_scale
    }
    /// The requantisation multipliers `input.scale · weight_scale[o] / output.scale`.
    pub const fn multiplier(&self) -> &[QuantizedMultiplier; O] {
        &self.multiplier
    }
    /// The input's parameters.
    pub const fn input(&self) -> QuantParams {
        self.input
    }
    /// The output's parameters.
    pub const fn output(&self) -> QuantParams {
        self.output
    }
    /// The fused activation.
    pub const fn fused(&self) -> Fused {
        self.fused
    }
    /// The clamping bounds of the output, from the fused activation.
    pub const fn output_range(&self) -> (i8, i8) {
        (self.lo, self.hi)
    }
}

/// Four bytes from `bytes[at..]`.
const fn word(bytes: &[u8], at: usize) -> [u8; 4] {
    [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]
}

const fn positive(s: f32) -> bool {
    s > 0.0 && s.is_finite()
}

impl<const I: usize, const O: usize> fmt::Debug for QDense<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The weights would be thousands of numbers: show the shape and the activation.
        write!(f, "QDense<{I}, {O}, {:?}>", self.fused)
    }
}

impl<const I: usize, const O: usize> PartialEq for QDense<I, O> {
    fn eq(&self, other: &Self) -> bool {
        // Everything else is derived from these.
        self.weight == other.weight
            && self.bias == other.bias
            && self.weight_scale == other.weight_scale
            && self.input == other.input
            && self.output == other.output
            && self.fused == other.fused
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::boxed::Box;

    use super::*;
    use crate::activation::Op;
    use crate::layer::Layer;
    use crate::quant::{multiply_by_quantized_multiplier, MinMax};
    use crate::{Identity, Relu, Rng, Sigmoid};

    /// A float layer with random weights in `[-w, w)` and biases in `[-0.5, 0.5)`.
    fn random_dense<const I: usize, const O: usize, A>(seed: u64, w: f32) -> Box<Dense<I, O, A>> {
        let mut d = Box::new(Dense::<I, O, A>::default());
        let mut rng = Rng::new(seed);
        for v in d.weight.as_flattened_mut() {
            *v = rng.uniform(-w, w);
        }
        for v in &mut d.bias {
            *v = rng.uniform(-0.5, 0.5);
        }
        d
    }

    fn random_x<const I: usize, const B: usize>(seed: u64) -> Box<[[f32; I]; B]> {
        let mut rng = Rng::new(seed);
        let mut x = Box::new([[0.0; I]; B]);
        for v in x.as_flattened_mut() {
            *v = rng.uniform(-1.0, 2.0);
        }
        x
    }

    /// TFLite's reference `FullyConnected` (per channel), written out plainly: the folded bias and
    /// the kernels must give exactly this.
    fn reference<const I: usize, const O: usize>(q: &QDense<I, O>, x: &[i8; I]) -> [i8; O] {
        core::array::from_fn(|o| {
            let mut acc = q.bias[o];
            for (&w, &x) in q.weight[o].iter().zip(x) {
                acc += i32::from(w) * (i32::from(x) - q.input.zero_point);
            }
            let v = multiply_by_quantized_multiplier(acc, q.multiplier[o]) + q.output.zero_point;
            v.clamp(i32::from(q.lo), i32::from(q.hi)) as i8
        })
    }

    /// Calibrates on `x`, quantises, and checks every output of every sample: bit-exact
    /// against [`reference`], within one output step of the float layer evaluated on the
    /// dequantised inputs and weights (the only error left is the rounding of the bias and of
    /// the output), and within the propagated quantisation error of the original float layer.
    fn check<A: Activation, const I: usize, const O: usize, const B: usize>(seed: u64) {
        let dense = random_dense::<I, O, A>(seed, 1.0 / (I as f32).sqrt());
        let x = random_x::<I, B>(seed + 1);
        let mut yf = Box::new([[0.0; O]; B]);
        dense.forward(&x, &mut yf);
        // Calibrated on the very samples checked: every value is inside the ranges.
        let (mut x_range, mut y_range) = (MinMax::new(), MinMax::new());
        x_range.observe(x.as_flattened());
        y_range.observe(yf.as_flattened());
        let (input, output) = (x_range.params(), y_range.params());
        let q = Box::new(QDense::quantize(&dense, input, output).unwrap());

        let mut xq = Box::new([[0i8; I]; B]);
        for (x, xq) in x.iter().zip(xq.iter_mut()) {
            input.quantize_slice(x, xq);
        }
        let mut yq = Box::new([[0i8; O]; B]);
        q.forward_batch(&xq, &mut yq);
        let (mut worst_fake, mut worst_float) = (0.0f64, 0.0f64);
        for b in 0..B {
            assert_eq!(q.forward(&xq[b]), yq[b], "batched = one by one, sample {b}");
            assert_eq!(reference(&q, &xq[b]), yq[b], "TFLite reference, sample {b}");
            for o in 0..O {
                let s_w = f64::from(q.weight_scale[o]);
                let s_in = f64::from(input.scale);
                let mut fake = f64::from(q.bias[o]) * s_in * s_w;
                let mut bound = f64::from(output.scale) * 0.5 + s_in * s_w * 0.5;
                for i in 0..I {
                    let xd = f64::from(input.dequantize(xq[b][i]));
                    fake += xd * f64::from(q.weight[o][i]) * s_w;
                    // |Δ(w·x)| ≤ |w|·|Δx| + |x̂|·|Δw|, with |Δx| ≤ s_in/2 and |Δw| ≤ s_w/2.
                    bound +=
                        f64::from(dense.weight[o][i]).abs() * s_in * 0.5 + xd.abs() * s_w * 0.5;
                }
                if A::OP == Op::Relu {
                    fake = fake.max(0.0);
                }
                // Like a fake-quant op, clamp to the representable range.
                let (lo, hi) = q.output_range();
                fake = fake.clamp(
                    f64::from(output.dequantize(lo)),
                    f64::from(output.dequantize(hi)),
                );
                let got = f64::from(output.dequantize(yq[b][o]));
                let e_fake = (got - fake).abs() / f64::from(output.scale);
                assert!(e_fake <= 1.0, "sample {b}, output {o}: {e_fake} steps");
                worst_fake = worst_fake.max(e_fake);
                let e_float = (got - f64::from(yf[b][o])).abs();
                assert!(
                    e_float <= bound + 1e-6,
                    "sample {b}, output {o}: {e_float} > {bound}"
                );
                worst_float = worst_float.max(e_float / f64::from(output.scale));
            }
        }
        std::println!(
            "QDense<{I}, {O}, {}>: worst {worst_fake:.3} steps from fake-quant, {worst_float:.3} from float",
            A::NAME
        );
    }

    #[test]
    fn forward_matches_float_within_one_output_step() {
        check::<Identity, 7, 3, 5>(1);
        check::<Relu, 64, 10, 9>(2);
        check::<Relu, 784, 64, 4>(3);
        check::<Identity, 100, 33, 17>(4);
    }

    /// A layer of random int8 weights (with ±127) and biases, nonzero zero points.
    fn odd_layer<const I: usize, const O: usize>(seed: u64, fused: Fused) -> Box<QDense<I, O>> {
        let mut rng = Rng::new(seed);
        let mut weight = Box::new([[0i8; I]; O]);
        for w in weight.as_flattened_mut() {
            *w = match rng.below(6) {
                0 => 127,
                1 => -127,
                _ => (rng.below(255) as i32 - 127) as i8,
            };
        }
        let bias = core::array::from_fn(|_| rng.below(20_001) as i32 - 10_000);
        let weight_scale = core::array::from_fn(|_| rng.uniform(0.001, 0.01));
        let input = QuantParams {
            scale: 0.02,
            zero_point: -37,
        };
        let output = QuantParams {
            scale: 0.5,
            zero_point: 11,
        };
        Box::new(QDense::from_parts(
            *weight,
            bias,
            weight_scale,
            input,
            output,
            fused,
        ))
    }

    /// Batches through the column kernels of x86-64 hosts (every one this CPU has) and one
    /// sample at a time, against TFLite's reference: inputs not a multiple of 4 or 64, outputs
    /// not a multiple of 16, batches not a multiple of the tiles, inputs at -128 and 127.
    fn check_odd<const I: usize, const O: usize, const B: usize>(seed: u64) {
        for fused in [Fused::None, Fused::Relu] {
            let q = odd_layer::<I, O>(seed, fused);
            let mut rng = Rng::new(seed + 1);
            let mut x = Box::new([[0i8; I]; B]);
            for (k, v) in x.as_flattened_mut().iter_mut().enumerate() {
                *v = match (k % 7, rng.below(4)) {
                    (0, _) => -128,
                    (1, _) => 127,
                    (_, 0) => -37, // the zero point
                    _ => rng.below(256) as i32 as i8,
                };
            }
            // A whole sample of -128 and one of 127.
            x[0] = [-128; I];
            x[B - 1] = [127; I];
            let want: std::vec::Vec<[i8; O]> = x.iter().map(|x| reference(&q, x)).collect();
            let mut y = Box::new([[0i8; O]; B]);
            q.forward_batch(&x, &mut y);
            assert_eq!(&y[..], &want[..], "QDense<{I}, {O}>, batch {B}, {fused:?}");
            for (x, want) in x.iter().zip(&want) {
                assert_eq!(&q.forward(x), want, "one sample, QDense<{I}, {O}>");
            }
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            for isa in [
                kernel::Isa::Avx2,
                kernel::Isa::AvxVnni,
                kernel::Isa::Avx512Vnni,
            ] {
                if !isa.available() {
                    continue;
                }
                let p = kernel::Packed::new(
                    q.packed.as_flattened(),
                    q.packed_tail.as_flattened(),
                    q.wide.as_flattened(),
                    q.wide_tail.as_flattened(),
                    &q.wide_corr,
                    I,
                    O,
                );
                let mut acc = Box::new([[0i32; O]; B]);
                kernel::matmul_packed_with(isa, x.as_flattened(), p, acc.as_flattened_mut());
                q.requantize(acc.as_flattened(), y.as_flattened_mut());
                assert_eq!(&y[..], &want[..], "{isa:?}, QDense<{I}, {O}>, batch {B}");
            }
        }
    }

    #[test]
    fn batches_on_odd_shapes_are_tflites_reference() {
        check_odd::<67, 19, 7>(41);
        check_odd::<5, 3, 2>(42);
        check_odd::<130, 70, 9>(43);
        check_odd::<785, 64, 5>(44);
        check_odd::<3, 1, 3>(45);
    }

    #[test]
    fn relu_is_a_clamp_at_the_zero_point() {
        let dense = random_dense::<16, 8, Relu>(9, 0.5);
        let input = QuantParams::from_range(-1.0, 1.0);
        // An output range below 0 too (as if calibrated before the ReLU): the clamp must still
        // keep every output at or above the code of 0.0.
        let output = QuantParams::from_range(-2.0, 2.0);
        let q = QDense::quantize(&dense, input, output).unwrap();
        assert_eq!(q.output_range(), (output.zero_point as i8, 127));
        let mut rng = Rng::new(10);
        for _ in 0..50 {
            let x: [i8; 16] = core::array::from_fn(|_| rng.below(256) as i32 as i8);
            for y in q.forward(&x) {
                assert!(i32::from(y) >= output.zero_point);
                assert!(output.dequantize(y) >= 0.0);
            }
        }
    }

    #[test]
    fn outputs_saturate_outside_the_calibrated_range() {
        // A calibrated output range far too small: the true outputs ±50 clamp to the ends.
        let p = QuantParams::from_range(-1.0, 1.0);
        let dense = Dense::<1, 2, Identity>::new([[50.0], [-50.0]], [0.0, 0.0]);
        let q = QDense::quantize(&dense, p, p).unwrap();
        let one = p.quantize(1.0);
        assert_eq!(q.forward(&[one]), [127, -128]);
        // Accumulators near the ends of i32 (biases of ±(2^31 − 200 000) plus the largest
        // products, 4 · 127 · 255): no wrap on the way, the outputs clamp. (Beyond i32, TFLite's
        // arithmetic is undefined; here it wraps, as the SIMD kernels do.)
        let big = QDense::<4, 2>::from_parts(
            [[127; 4], [-127; 4]],
            [i32::MAX - 200_000, -i32::MAX + 200_000],
            [1.0; 2],
            QuantParams {
                scale: 1.0,
                zero_point: -128,
            },
            QuantParams {
                scale: 2.0,
                zero_point: 127,
            },
            Fused::None,
        );
        for x in [-128, 0, 127] {
            assert_eq!(big.forward(&[x; 4]), [127, -128], "x = {x}");
        }
    }

    #[test]
    fn unsupported_activations_are_errors() {
        let p = QuantParams::from_range(-1.0, 1.0);
        let d = Dense::<2, 2, Sigmoid>::default();
        assert_eq!(
            QDense::quantize(&d, p, p),
            Err(QuantError::Activation("sigmoid"))
        );
        // All-zero weights: scale 1, the bias survives.
        let d = Dense::<2, 1, Identity>::new([[0.0, 0.0]], [0.5]);
        let q = QDense::quantize(&d, p, p).unwrap();
        assert_eq!(q.weight_scale(), &[1.0]);
        assert!((p.dequantize(q.forward(&[0, 0])[0]) - 0.5).abs() <= p.scale);
    }

    #[test]
    #[should_panic(expected = "int8 weights are in [-127, 127]")]
    fn from_parts_rejects_minus_128() {
        let p = QuantParams::from_range(-1.0, 1.0);
        let _ = QDense::<1, 1>::from_parts([[-128]], [0], [1.0], p, p, Fused::None);
    }

    #[test]
    #[ignore = "a measurement: cargo test --release -p nn-core --lib quant::dense -- --ignored --nocapture"]
    fn measure_mlp_against_f32() {
        use std::time::Instant;
        // The MNIST MLP's shape, 784-64-10, int8 and f32 in one run, interleaved.
        let d1 = random_dense::<784, 64, Relu>(1, 0.05);
        let d2 = random_dense::<64, 10, Identity>(2, 0.2);
        let x = random_x::<784, 128>(3);
        let input = QuantParams::from_range(-1.0, 2.0);
        let hidden = QuantParams::from_range(0.0, 4.0);
        let out = QuantParams::from_range(-8.0, 8.0);
        let q1 = Box::new(QDense::quantize(&d1, input, hidden).unwrap());
        let q2 = Box::new(QDense::quantize(&d2, hidden, out).unwrap());
        let mut xq = Box::new([[0i8; 784]; 128]);
        for (x, xq) in x.iter().zip(xq.iter_mut()) {
            input.quantize_slice(x, xq);
        }
        fn time(reps: usize, mut f: impl FnMut()) -> f64 {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        }
        let (mut h, mut y) = (Box::new([[0i8; 64]; 128]), Box::new([[0i8; 10]; 128]));
        let (mut hf, mut yf) = (Box::new([[0f32; 64]; 128]), Box::new([[0f32; 10]; 128]));
        let mut best = [f64::MAX; 4];
        for _ in 0..5 {
            best[0] = best[0].min(time(100_000, || {
                let h = q1.forward(core::hint::black_box(&xq[0]));
                core::hint::black_box(q2.forward(&h));
            }));
            best[1] = best[1].min(time(100_000, || {
                let (mut h, mut y) = ([[0f32; 64]], [[0f32; 10]]);
                d1.forward(core::hint::black_box(core::array::from_ref(&x[0])), &mut h);
                d2.forward(&h, &mut y);
                core::hint::black_box(y);
            }));
            best[2] = best[2].min(time(1_000, || {
                q1.forward_batch(core::hint::black_box(&xq), &mut h);
                q2.forward_batch(&h, &mut y);
            }));
            best[3] = best[3].min(time(1_000, || {
                d1.forward(core::hint::black_box(&x), &mut hf);
                d2.forward(&hf, &mut yf);
            }));
        }
        std::println!(
            "784-64-10, int8 ({:?}) against f32: one sample {:.3} µs against {:.3} µs; \
             batch 128 {:.2} M against {:.2} M samples/s",
            super::kernel::Isa::best(),
            best[0] * 1e6,
            best[1] * 1e6,
            128.0 / best[2] / 1e6,
            128.0 / best[3] / 1e6
        );
    }
}
