//! Int8 quantisation after TensorFlow Lite's int8 specification: the arithmetic and the
//! parameters of quantised layers.
//!
//! - Activations: int8, asymmetric, one `(scale, zero_point)` per tensor ([`QuantParams`]), from a
//!   calibrated `[min, max]` range nudged to contain 0 (so that 0.0, ReLU's floor and padding, is
//!   exact).
//! - Weights: int8, symmetric (zero point 0), one scale per output channel, values in `[-127, 127]`
//!   ([`quantize_weights`]).
//! - Biases: int32 at scale `input_scale · weight_scale` ([`quantize_bias`]).
//! - Requantisation: the real factor `input_scale · weight_scale / output_scale` becomes an int32
//!   fixed-point multiplier and a power-of-two shift ([`QuantizedMultiplier`]), applied with
//!   gemmlowp's rounding ([`multiply_by_quantized_multiplier`]), so inference has no float at all.
//!
//! The integer functions reproduce TFLite's reference kernels bit for bit (the tests hold literal
//! values printed by an independent reimplementation, `scripts/reference/tflite_quant.py`).
//!
//! [`QDense`] is the first quantised layer. Its int8 products run on the best kernel the CPU has,
//! chosen at run time as the f32 kernels are: AVX-512 VNNI or AVX-VNNI (`vpdpbusd`), AVX2
//! (`vpmaddubsw`), or portable Rust (no_std, other targets); all give identical integers.

mod conv;
mod dense;
mod kernel;
mod layer;

pub use conv::{QAvgPool2d, QConv2d, QDepthwiseConv2d, QFlatten2d, QIdentity, QMaxPool2d};
pub use dense::QDense;
#[doc(hidden)]
pub use kernel::{matmul_against_portable, matmul_zp_against_portable};
pub use layer::{
    argmax_i8, fused_for, kernel_name, QLayer, QLayerInfo, QLayerShape, QOp, QSummary, Quantize,
    QuantizedNetwork,
};

use core::fmt;

use crate::activation::{Activation, Op};

/// `libm::roundf(v) as i32` clamped to `±1e9` (and 0 for NaN), without the libm call or Rust's
/// saturating cast, so that quantising a vector vectorises: the fraction `v − trunc(v)` is exact
/// in f32, so comparing it with ±0.5 rounds half away from zero exactly. Measured on 784 inputs
/// (Zen 5, one run): 0.29 µs, against 1.6 µs with the saturating `as`; `libm::roundf` was slower
/// still.
#[inline(always)]
fn round_half_away(v: f32) -> i32 {
    let v = if v.is_nan() { 0.0 } else { v.clamp(-1e9, 1e9) };
    // SAFETY: `v` is finite and |v| ≤ 1e9 < 2^31 (the line above), so its truncation fits an
    // i32, which is all `to_int_unchecked` requires.
    let t: i32 = unsafe { v.to_int_unchecked() };
    let frac = v - t as f32;
    t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)
}

/// A real multiplier `m` as `multiplier · 2^shift / 2^31`, `multiplier` in `[2^30, 2^31)` (or 0):
/// TFLite's `QuantizeMultiplier` (the default, double-rounding variant).
///
/// ```
/// use nn_core::quant::QuantizedMultiplier;
/// let m = QuantizedMultiplier::from_scale(0.75);
/// assert_eq!((m.multiplier, m.shift), (1_610_612_736, 0)); // 0.75 · 2^31, no shift
/// assert_eq!(m.apply(100), 75);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuantizedMultiplier {
    /// The mantissa in Q0.31: `round(q · 2^31)` for `m = q · 2^shift`, `q` in `[0.5, 1)`.
    pub multiplier: i32,
    /// The power of two: positive shifts left before the multiplication, negative right after it.
    pub shift: i32,
}

impl QuantizedMultiplier {
    /// TFLite's `QuantizeMultiplier(m)`: `frexp`, rounding of the mantissa to Q31 (half away from
    /// zero), a mantissa that rounds up to `2^31` halved with the shift raised, and multipliers
    /// below about `2^-31` (shift < -31) flushed to zero. A `const fn`, so that a quantised network
    /// stored as scales can be rebuilt in a `static`.
    ///
    /// Panics if `m` is not finite.
    ///
    /// ```
    /// use nn_core::quant::QuantizedMultiplier;
    /// const M: QuantizedMultiplier = QuantizedMultiplier::from_scale(0.001);
    /// assert_eq!((M.multiplier, M.shift), (1_099_511_628, -9));
    /// assert_eq!(QuantizedMultiplier::from_scale(1e-10).multiplier, 0);
    /// ```
    pub const fn from_scale(m: f64) -> Self {
        assert!(m.is_finite(), "a quantisation multiplier must be finite");
        let (q, mut shift) = frexp(m);
        if q == 0.0 {
            return QuantizedMultiplier {
                multiplier: 0,
                shift: 0,
            };
        }
        // q · 2^31 is exact (a power-of-two product), and |q · 2^31| < 2^31 has an ulp of at
        // least 2^-22, so adding 0.5 is exact too: truncating then rounds half away from zero,
        // exactly as std::round (which is not a const fn).
        let scaled = q * (1u64 << 31) as f64;
        let mut q_fixed = if scaled >= 0.0 {
            (scaled + 0.5) as i64
        } else {
            -((-scaled + 0.5) as i64)
        };
        if q_fixed == 1 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            // Every bit would be shifted out: TFLite flushes to zero rather than shift by > 31.
            return QuantizedMultiplier {
                multiplier: 0,
                shift: 0,
            };
        }
        QuantizedMultiplier {
            multiplier: q_fixed as i32,
            shift,
        }
    }

    /// `x · m`, rounded: [`multiply_by_quantized_multiplier`].
    #[inline(always)]
    pub const fn apply(self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self)
    }
}

/// `frexp(x)` as a `const fn`: `(q, e)` with `x = q · 2^e`, `0.5 ≤ |q| < 1`; `(0, 0)` for zero and
/// for subnormals (whose shift would be far below TFLite's -31 cut-off anyway).
const fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        return (0.0, 0);
    }
    // Replace the exponent by the one of [0.5, 1) (biased 1022), keep sign and mantissa.
    let q = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (q, biased - 1022)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b`, rounded to
/// nearest (ties away from zero); `a = b = i32::MIN`, whose true result `2^31` does not fit,
/// saturates to `i32::MAX`.
///
/// ```
/// use nn_core::quant::saturating_rounding_doubling_high_mul as srdhm;
/// assert_eq!(srdhm(3, 1 << 30), 2); // 3 · 2^31 / 2^31 / 2 = 1.5 → 2
/// assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
/// ```
#[inline(always)]
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // `/` truncates toward zero, as C++'s does: the nudge makes that round half away from zero.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
///
/// Panics unless `0 ≤ exponent ≤ 31`.
///
/// ```
/// use nn_core::quant::rounding_divide_by_pot;
/// assert_eq!(rounding_divide_by_pot(5, 1), 3);
/// assert_eq!(rounding_divide_by_pot(-5, 1), -3);
/// assert_eq!(rounding_divide_by_pot(-6, 2), -2);
/// ```
#[inline(always)]
pub const fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    assert!(exponent >= 0 && exponent <= 31, "exponent out of range");
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// TFLite's `MultiplyByQuantizedMultiplier(x, multiplier, shift)`: `x · multiplier · 2^shift /
/// 2^31`, rounded twice as the reference kernels do (doubling high multiply, then rounding shift).
///
/// A positive shift multiplies `x` by `2^shift` first; TFLite leaves an overflow there undefined,
/// here it wraps. Requantising a layer's accumulator (multipliers below 1) never shifts left.
///
/// ```
/// use nn_core::quant::{multiply_by_quantized_multiplier, QuantizedMultiplier};
/// let m = QuantizedMultiplier { multiplier: 1 << 30, shift: -3 }; // 1/16
/// assert_eq!(multiply_by_quantized_multiplier(100, m), 6); // 6.25 → 6
/// assert_eq!(multiply_by_quantized_multiplier(-8, m), -1); // -0.5 → -1
/// ```
#[inline(always)]
pub const fn multiply_by_quantized_multiplier(x: i32, m: QuantizedMultiplier) -> i32 {
    let (left, right) = if m.shift > 0 {
        (m.shift, 0)
    } else {
        (0, -m.shift)
    };
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left as u32), m.multiplier),
        right,
    )
}

/// One tensor's int8 asymmetric quantisation: `real = scale · (q − zero_point)`.
///
/// ```
/// use nn_core::quant::QuantParams;
/// let p = QuantParams::from_range(0.0, 6.0); // a ReLU6 output
/// assert_eq!(p.zero_point, -128);
/// assert_eq!(p.quantize(0.0), -128);
/// assert_eq!(p.quantize(6.0), 127);
/// assert!((p.dequantize(p.quantize(2.9)) - 2.9).abs() <= p.scale / 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// The real value of one step; positive.
    pub scale: f32,
    /// The int8 code of 0.0, in `[-128, 127]`.
    pub zero_point: i32,
}

impl QuantParams {
    /// Whether these parameters can describe an int8 tensor: a positive, finite scale and a
    /// zero point in `[-128, 127]`.
    ///
    /// ```
    /// use nn_core::quant::QuantParams;
    /// assert!(QuantParams { scale: 0.1, zero_point: -128 }.is_valid());
    /// assert!(!QuantParams { scale: 0.0, zero_point: 0 }.is_valid());
    /// assert!(!QuantParams { scale: 0.1, zero_point: 128 }.is_valid());
    /// ```
    pub const fn is_valid(&self) -> bool {
        self.scale > 0.0
            && self.scale.is_finite()
            && self.zero_point >= -128
            && self.zero_point <= 127
    }

    /// TFLite's `GetAsymmetricQuantizationParams` for int8 (`[-128, 127]`), in its f32
    /// arithmetic: the range is widened to contain 0, `scale = (max − min) / 255`, and the zero
    /// point `−128 − min / scale`, rounded half away from zero and clamped to `[-128, 127]`.
    ///
    /// One deviation: an empty range (`min = max = 0`, a tensor that is always zero) would give
    /// scale 0, which no later multiplier can divide by; it gets scale 1 instead (every value
    /// still quantises to the zero point, and so to 0.0).
    ///
    /// Panics if `min` or `max` is not finite.
    ///
    /// ```
    /// use nn_core::quant::QuantParams;
    /// let p = QuantParams::from_range(-0.3, 7.1);
    /// assert_eq!(p.zero_point, -118);
    /// assert_eq!(p.quantize(0.0), -118); // 0.0 is exact
    /// assert_eq!(p.dequantize(-118), 0.0);
    /// ```
    pub fn from_range(min: f32, max: f32) -> Self {
        assert!(
            min.is_finite() && max.is_finite(),
            "a calibrated range must be finite"
        );
        const QMIN: f32 = -128.0;
        const QMAX: f32 = 127.0;
        let min = min.min(0.0);
        let max = max.max(0.0);
        let scale = (max - min) / (QMAX - QMIN);
        if scale == 0.0 {
            return QuantParams {
                scale: 1.0,
                zero_point: -128,
            };
        }
        let zero_point_from_min = QMIN - min / scale;
        let zero_point = if zero_point_from_min < QMIN {
            -128
        } else if zero_point_from_min > QMAX {
            127
        } else {
            libm::roundf(zero_point_from_min) as i32
        };
        QuantParams { scale, zero_point }
    }

    /// TFLite's `Quantize`: `clamp(round(x / scale) + zero_point, -128, 127)`, rounding half away
    /// from zero (a NaN becomes the zero point).
    #[inline]
    pub fn quantize(&self, x: f32) -> i8 {
        let q = round_half_away(x / self.scale).saturating_add(self.zero_point);
        q.clamp(-128, 127) as i8
    }

    /// TFLite's `Dequantize`: `scale · (q − zero_point)`, computed in f64 as the reference kernel
    /// does (its scale is a double), then rounded to f32.
    #[inline]
    pub fn dequantize(&self, q: i8) -> f32 {
        (f64::from(self.scale) * f64::from(i32::from(q) - self.zero_point)) as f32
    }

    /// [`quantize`](Self::quantize) of every value of `x` into `q` (equal lengths, else panics).
    ///
    /// ```
    /// use nn_core::quant::QuantParams;
    /// let p = QuantParams::from_range(-1.0, 1.0);
    /// let mut q = [0; 3];
    /// p.quantize_slice(&[-1.0, 0.0, 1.0], &mut q);
    /// assert_eq!(q, [-128, -1, 126]);
    /// ```
    pub fn quantize_slice(&self, x: &[f32], q: &mut [i8]) {
        assert_eq!(x.len(), q.len(), "quantize_slice: lengths differ");
        for (q, &x) in q.iter_mut().zip(x) {
            *q = self.quantize(x);
        }
    }

    /// [`dequantize`](Self::dequantize) of every value of `q` into `x` (equal lengths, else
    /// panics).
    ///
    /// ```
    /// use nn_core::quant::QuantParams;
    /// let p = QuantParams { scale: 0.5, zero_point: 10 };
    /// let mut x = [0.0; 2];
    /// p.dequantize_slice(&[10, 13], &mut x);
    /// assert_eq!(x, [0.0, 1.5]);
    /// ```
    pub fn dequantize_slice(&self, q: &[i8], x: &mut [f32]) {
        assert_eq!(x.len(), q.len(), "dequantize_slice: lengths differ");
        for (x, &q) in x.iter_mut().zip(q) {
            *x = self.dequantize(q);
        }
    }

    /// The int8 bounds of a fused activation on this (output) tensor, as TFLite's
    /// `CalculateActivationRangeQuantized`: `[-128, 127]`, or for ReLU `[max(-128, q(0)), 127]`.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QuantParams};
    /// let p = QuantParams { scale: 0.1, zero_point: -20 };
    /// assert_eq!(p.activation_range(Fused::Relu), (-20, 127));
    /// assert_eq!(p.activation_range(Fused::None), (-128, 127));
    /// ```
    pub const fn activation_range(&self, fused: Fused) -> (i8, i8) {
        match fused {
            Fused::None => (-128, 127),
            // quantize(0.0) is the zero point, clamped.
            Fused::Relu => {
                let zp = if self.zero_point < -128 {
                    -128
                } else if self.zero_point > 127 {
                    127
                } else {
                    self.zero_point
                };
                (zp as i8, 127)
            }
        }
    }
}

/// The calibration of one activation tensor: the smallest and largest value seen over the
/// calibration samples, as TFLite's post-training quantisation records them (plain min/max, no
/// percentile), turned into [`QuantParams`] at the end. Non-finite values are ignored.
///
/// ```
/// use nn_core::quant::{MinMax, QuantParams};
/// let mut range = MinMax::new();
/// range.observe(&[0.5, 2.0]);
/// range.observe(&[-1.0, 1.5, f32::NAN]);
/// assert_eq!((range.min(), range.max()), (-1.0, 2.0));
/// assert_eq!(range.params(), QuantParams::from_range(-1.0, 2.0));
/// assert_eq!(MinMax::new().params(), QuantParams::from_range(0.0, 0.0)); // nothing seen
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinMax {
    min: f32,
    max: f32,
}

impl MinMax {
    /// Nothing seen yet (an empty range, which `params` widens to contain 0).
    pub const fn new() -> Self {
        MinMax {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }

    /// Widens the range to cover every finite value of `values`.
    pub fn observe(&mut self, values: &[f32]) {
        for &v in values.iter().filter(|v| v.is_finite()) {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// The smallest value seen (0 if none).
    pub fn min(&self) -> f32 {
        if self.min.is_finite() {
            self.min
        } else {
            0.0
        }
    }

    /// The largest value seen (0 if none).
    pub fn max(&self) -> f32 {
        if self.max.is_finite() {
            self.max
        } else {
            0.0
        }
    }

    /// [`QuantParams::from_range`] of the range seen.
    pub fn params(&self) -> QuantParams {
        QuantParams::from_range(self.min(), self.max())
    }
}

impl Default for MinMax {
    fn default() -> Self {
        MinMax::new()
    }
}

/// The symmetric int8 scale of one output channel: `max|w| / 127` (TFLite's per-channel weight
/// scale), or 1 for an all-zero channel (TFLite's scale 0 there would also zero that channel's
/// bias, whose scale is `input_scale · weight_scale`; any positive scale codes the zeros exactly).
///
/// ```
/// use nn_core::quant::weight_scale;
/// assert_eq!(weight_scale(&[0.5, -1.27, 0.0]), 0.01);
/// assert_eq!(weight_scale(&[0.0; 4]), 1.0);
/// ```
pub fn weight_scale(row: &[f32]) -> f32 {
    let max = row.iter().fold(0.0_f32, |m, w| m.max(w.abs()));
    if max == 0.0 {
        1.0
    } else {
        max / 127.0
    }
}

/// `clamp(round(w / scale), -127, 127)`: one weight at a symmetric scale. `-128` is never used,
/// so that the range is symmetric (and the AVX2 kernel's sign trick stays exact).
///
/// ```
/// use nn_core::quant::quantize_weight;
/// assert_eq!(quantize_weight(-1.27, 0.01), -127);
/// assert_eq!(quantize_weight(-5.0, 0.01), -127);
/// assert_eq!(quantize_weight(0.005, 0.01), 1); // half away from zero
/// ```
#[inline]
pub fn quantize_weight(w: f32, scale: f32) -> i8 {
    (libm::roundf(w / scale) as i32).clamp(-127, 127) as i8
}

/// Per-output-channel symmetric quantisation of a weight matrix: `scales[o] =
/// weight_scale(&w[o])`, `q[o][i] = quantize_weight(w[o][i], scales[o])`. Writes into the
/// caller's storage (a 784 × 64 matrix is 50 KB).
///
/// ```
/// use nn_core::quant::quantize_weights;
/// let (mut q, mut s) = ([[0i8; 2]; 2], [0.0; 2]);
/// quantize_weights(&[[1.27, -0.5], [0.0, 0.0]], &mut q, &mut s);
/// assert_eq!(s, [0.01, 1.0]);
/// assert_eq!(q, [[127, -50], [0, 0]]);
/// ```
pub fn quantize_weights<const I: usize, const O: usize>(
    w: &[[f32; I]; O],
    q: &mut [[i8; I]; O],
    scales: &mut [f32; O],
) {
    for ((w, q), s) in w.iter().zip(q.iter_mut()).zip(scales.iter_mut()) {
        *s = weight_scale(w);
        for (q, &w) in q.iter_mut().zip(w) {
            *q = quantize_weight(w, *s);
        }
    }
}

/// A bias at scale `input_scale · weight_scale`, zero point 0: `round(b / (input_scale ·
/// weight_scale))` computed in f64, clamped to `[-(2^31 − 1), 2^31 − 1]` as TFLite does.
///
/// ```
/// use nn_core::quant::quantize_bias;
/// assert_eq!(quantize_bias(0.5, 0.01, 0.1), 500);
/// assert_eq!(quantize_bias(-1e9, 1e-3, 1e-3), -i32::MAX);
/// ```
pub fn quantize_bias(b: f32, input_scale: f32, weight_scale: f32) -> i32 {
    let scale = f64::from(input_scale) * f64::from(weight_scale);
    let q = libm::round(f64::from(b) / scale);
    q.clamp(-f64::from(i32::MAX), f64::from(i32::MAX)) as i32
}

/// The requantisation multiplier of one output channel: `input_scale · weight_scale /
/// output_scale`, in f64 as TFLite's `PopulateConvolutionQuantizationParams` computes it.
///
/// ```
/// use nn_core::quant::{requantize_multiplier, QuantizedMultiplier};
/// let m = requantize_multiplier(0.5, 0.25, 0.5);
/// assert_eq!(m, QuantizedMultiplier::from_scale(0.25));
/// ```
pub const fn requantize_multiplier(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> QuantizedMultiplier {
    QuantizedMultiplier::from_scale(input_scale as f64 * weight_scale as f64 / output_scale as f64)
}

/// The activation a quantised layer applies by clamping its int8 output.
///
/// ```
/// use nn_core::quant::Fused;
/// use nn_core::{Identity, Relu, Sigmoid};
/// assert_eq!(Fused::of::<Relu>(), Ok(Fused::Relu));
/// assert_eq!(Fused::of::<Identity>(), Ok(Fused::None));
/// assert!(Fused::of::<Sigmoid>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fused {
    /// No activation: the whole int8 range.
    None,
    /// ReLU: outputs below the code of 0.0 are raised to it.
    Relu,
}

impl Fused {
    /// The fused form of activation `A`: ReLU and the identity have one; other activations
    /// (sigmoid, tanh, softmax …) need their own quantised op or a float step after the layer,
    /// which is the caller's choice, so they are an error here.
    pub fn of<A: Activation>() -> Result<Fused, QuantError> {
        match A::OP {
            Op::Identity => Ok(Fused::None),
            Op::Relu => Ok(Fused::Relu),
            _ => Err(QuantError::Activation(A::NAME)),
        }
    }
}

/// Why a layer cannot be quantised, or its stored parameters are not a valid int8 layer.
///
/// ```
/// use nn_core::quant::Fused;
/// use nn_core::Tanh;
/// let err = Fused::of::<Tanh>().unwrap_err();
/// assert_eq!(err.to_string(), "activation `tanh` cannot be fused into an int8 layer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuantError {
    /// The layer's activation (named) has no fused int8 form.
    Activation(&'static str),
    /// No calibration samples were given.
    NoCalibration,
    /// A calibration sample holds a value that is not finite.
    NonFinite,
    /// An int8 weight is -128 (the symmetric scheme uses `[-127, 127]`).
    Weight,
    /// A weight scale is not positive and finite.
    Scale,
    /// An activation's scale is not positive and finite, or its zero point is not an int8.
    Params,
    /// A requantisation factor `input_scale · weight_scale / output_scale` exceeds 2^31.
    Multiplier,
    /// Fewer bytes than the layer's stored parameters.
    Length,
}

impl QuantError {
    /// Panics with the error's message, in `const` evaluation too (where formatting is not
    /// available).
    pub const fn panic(self) -> ! {
        match self {
            QuantError::Activation(_) => panic!("an activation cannot be fused into an int8 layer"),
            QuantError::NoCalibration => panic!("no calibration samples"),
            QuantError::NonFinite => panic!("a calibration sample is not finite"),
            QuantError::Weight => panic!("int8 weights are in [-127, 127]"),
            QuantError::Scale => panic!("weight scales must be positive and finite"),
            QuantError::Params => {
                panic!("activation scales must be positive and finite, and zero points int8")
            }
            QuantError::Multiplier => panic!("requantisation factor too large"),
            QuantError::Length => panic!("too few bytes for an int8 layer"),
        }
    }
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::Activation(name) => {
                write!(f, "activation `{name}` cannot be fused into an int8 layer")
            }
            QuantError::NoCalibration => f.write_str("quantisation needs calibration samples, got none"),
            QuantError::NonFinite => f.write_str("a calibration sample holds a NaN or an infinity"),
            QuantError::Weight => f.write_str("an int8 weight is -128; weights are in [-127, 127]"),
            QuantError::Scale => f.write_str("a weight scale is not positive and finite"),
            QuantError::Params => f.write_str(
                "an activation scale is not positive and finite, or a zero point is not in [-128, 127]",
            ),
            QuantError::Multiplier => {
                f.write_str("a requantisation factor input_scale · weight_scale / output_scale exceeds 2^31")
            }
            QuantError::Length => f.write_str("fewer bytes than the int8 layer's parameters"),
        }
    }
}

impl core::error::Error for QuantError {}

#[cfg(test)]
mod tests {
    use super::*;

    // Literals below are printed by scripts/reference/tflite_quant.py (TFLite's reference
    // algorithms reimplemented with exact integers).

    #[test]
    fn quantize_multiplier_matches_tflite() {
        let cases: &[(f64, i32, i32)] = &[
            (1.0, 1073741824, 1),
            (0.5, 1073741824, 0),
            (0.25, 1073741824, -1),
            (0.75, 1610612736, 0),
            (0.001, 1099511628, -9),
            (0.0042, 1154487209, -7),
            (0.3333333333333333, 1431655765, -1),
            (2.0, 1073741824, 2),
            (3.7, 1986422374, 2),
            (1e-10, 0, 0),
            (4.656612873077393e-10, 1073741824, -30),
            (2.3283064365386963e-10, 1073741824, -31),
            (0.9999999999, 1073741824, 1),
            (0.9999999999990905, 1073741824, 1),
            (0.0010536595394736842, 1158510915, -9),
            (123456.789, 2022716031, 17),
        ];
        for &(scale, multiplier, shift) in cases {
            assert_eq!(
                QuantizedMultiplier::from_scale(scale),
                QuantizedMultiplier { multiplier, shift },
                "scale {scale}"
            );
        }
        assert_eq!(
            QuantizedMultiplier::from_scale(0.0),
            QuantizedMultiplier::default()
        );
        // Negative multipliers keep their sign in the mantissa, as frexp does.
        let neg = QuantizedMultiplier::from_scale(-0.75);
        assert_eq!((neg.multiplier, neg.shift), (-1610612736, 0));
    }

    #[test]
    fn multiply_by_quantized_multiplier_matches_tflite() {
        let xs = [
            0,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            100,
            -100,
            12345,
            -12345,
            1 << 20,
            -(1 << 20),
            i32::MAX,
            i32::MIN,
            i32::MIN + 1,
            1 << 30,
            -(1 << 30),
            7,
            -7,
        ];
        let ms: [(i32, i32); 10] = [
            (1 << 30, 0),
            (1 << 30, -1),
            (1 << 30, -3),
            (i32::MAX, 0),
            (1518500250, -7),
            (1073741824, 1),
            (1431655765, -1),
            (i32::MIN, 0),
            (1999999999, -31),
            (1234567890, 2),
        ];
        // One row of results per multiplier, in the order of `xs`.
        let expected: [[i32; 20]; 10] = [
            [
                0,
                1,
                0,
                1,
                -1,
                2,
                -1,
                50,
                -50,
                6173,
                -6172,
                524288,
                -524288,
                1073741824,
                -1073741824,
                -1073741823,
                536870912,
                -536870912,
                4,
                -3,
            ],
            [
                0, 1, 0, 1, -1, 1, -1, 25, -25, 3087, -3086, 262144, -262144, 536870912,
                -536870912, -536870912, 268435456, -268435456, 2, -2,
            ],
            [
                0, 0, 0, 0, 0, 0, 0, 6, -6, 772, -772, 65536, -65536, 134217728, -134217728,
                -134217728, 67108864, -67108864, 1, 0,
            ],
            [
                0,
                1,
                -1,
                2,
                -2,
                3,
                -3,
                100,
                -100,
                12345,
                -12345,
                1048576,
                -1048576,
                2147483646,
                -2147483647,
                -2147483646,
                1073741824,
                -1073741823,
                7,
                -7,
            ],
            [
                0, 0, 0, 0, 0, 0, 0, 1, -1, 68, -68, 5793, -5793, 11863283, -11863283, -11863283,
                5931642, -5931642, 0, 0,
            ],
            [
                0,
                1,
                -1,
                2,
                -2,
                3,
                -3,
                100,
                -100,
                12345,
                -12345,
                1048576,
                -1048576,
                -1,
                0,
                1,
                -1073741824,
                -1073741824,
                7,
                -7,
            ],
            [
                0, 1, -1, 1, -1, 1, -1, 34, -34, 4115, -4115, 349526, -349526, 715827882,
                -715827883, -715827882, 357913942, -357913941, 3, -3,
            ],
            [
                0,
                -1,
                1,
                -2,
                2,
                -3,
                3,
                -100,
                100,
                -12345,
                12345,
                -1048576,
                1048576,
                -2147483647,
                2147483647,
                2147483647,
                -1073741824,
                1073741824,
                -7,
                7,
            ],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, -1, 0, 0, 0, 0],
            [
                0, 2, -2, 5, -5, 7, -7, 230, -230, 28388, -28388, 2411265, -2411265, -2, 0, 2, 0,
                0, 16, -16,
            ],
        ];
        for (&(multiplier, shift), row) in ms.iter().zip(&expected) {
            let m = QuantizedMultiplier { multiplier, shift };
            for (&x, &want) in xs.iter().zip(row) {
                assert_eq!(
                    m.apply(x),
                    want,
                    "x {x}, multiplier {multiplier}, shift {shift}"
                );
            }
        }
    }

    #[test]
    fn gemmlowp_primitives_match_tflite() {
        let srdhm: &[(i32, i32, i32)] = &[
            (i32::MIN, i32::MIN, i32::MAX),
            (i32::MIN, i32::MAX, -2147483647),
            (i32::MAX, i32::MAX, 2147483646),
            (-1, 1073741824, 0),
            (1, 1073741824, 1),
            (-3, 1073741824, -1),
            (3, 1073741824, 2),
            (i32::MIN, 1, -1),
        ];
        for &(a, b, want) in srdhm {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                want,
                "{a} · {b}"
            );
        }
        let rdbpot: &[(i32, i32, i32)] = &[
            (5, 1, 3),
            (-5, 1, -3),
            (6, 2, 2),
            (-6, 2, -2),
            (10, 2, 3),
            (-10, 2, -3),
            (3, 1, 2),
            (-3, 1, -2),
            (i32::MAX, 31, 1),
            (i32::MIN, 31, -1),
            (i32::MIN, 1, -1073741824),
            (1, 0, 1),
            (-1, 0, -1),
            (12345, 31, 0),
            (-(1 << 30), 31, -1),
        ];
        for &(x, e, want) in rdbpot {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
        }
    }

    #[test]
    fn activation_params_match_tflite_and_nudge_zero() {
        // (min, max, scale bits, zero point) from GetAsymmetricQuantizationParams.
        let cases: &[(f32, f32, u32, i32)] = &[
            (-1.0, 1.0, 0x3c008081, -1),
            (0.0, 6.0, 0x3cc0c0c1, -128),
            (-6.0, 0.0, 0x3cc0c0c1, 127),
            (0.5, 2.0, 0x3c008081, -128),
            (-3.0, -1.0, 0x3c40c0c1, 127),
            (-0.3, 7.1, 0x3cedba88, -118),
            (-10.0, 0.01, 0x3d20c9c0, 127),
            (-0.01, 10.0, 0x3d20c9c0, -128),
            (-2.5, 2.6, 0x3ca3d70a, -3),
            (-128.0, 127.0, 0x3f800000, 0),
            (-0.001, 255.0, 0x3f800021, -128),
        ];
        for &(min, max, bits, zero_point) in cases {
            let p = QuantParams::from_range(min, max);
            assert_eq!(p.scale.to_bits(), bits, "scale of [{min}, {max}]");
            assert_eq!(p.zero_point, zero_point, "zero point of [{min}, {max}]");
            // The nudging: 0.0 is always representable exactly.
            assert_eq!(p.dequantize(p.quantize(0.0)), 0.0, "[{min}, {max}]");
        }
        // The one deviation: TFLite gives scale 0 for [0, 0].
        assert_eq!(
            QuantParams::from_range(0.0, 0.0),
            QuantParams {
                scale: 1.0,
                zero_point: -128
            }
        );
    }

    #[test]
    fn fast_rounding_is_libm_roundf() {
        let mut rng = crate::Rng::new(3);
        let edges = [
            0.5f32,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999997,
            -0.49999997,
            8388607.5,
            -8388607.5,
        ];
        let random = (0..100_000).map(|_| rng.uniform(-300.0, 300.0));
        let halves = (0..1000).map(|i| i as f32 * 0.5 - 250.0);
        let big = [1e9f32, -1e9, 0.0, -0.0, 16777216.0, 123456789.0];
        for v in edges.into_iter().chain(random).chain(halves).chain(big) {
            assert_eq!(round_half_away(v), libm::roundf(v) as i32, "{v}");
        }
        assert_eq!(round_half_away(f32::NAN), 0);
        assert_eq!(round_half_away(f32::INFINITY), 1_000_000_000);
        assert_eq!(round_half_away(-3e38), -1_000_000_000);
    }

    #[test]
    fn quantize_saturates_and_rounds_half_away() {
        let p = QuantParams {
            scale: 0.5,
            zero_point: 3,
        };
        assert_eq!(p.quantize(1e30), 127);
        assert_eq!(p.quantize(-1e30), -128);
        assert_eq!(p.quantize(f32::INFINITY), 127);
        assert_eq!(p.quantize(f32::NEG_INFINITY), -128);
        assert_eq!(p.quantize(f32::NAN), 3);
        assert_eq!(p.quantize(0.25), 4); // 0.5 steps → 1
        assert_eq!(p.quantize(-0.25), 2); // -0.5 steps → -1
        assert_eq!(p.quantize(62.0), 127); // 124 + 3
        assert_eq!(p.quantize(62.5), 127); // 125 + 3 = 128, clamped
        assert_eq!(p.dequantize(-128), -65.5);
        // Weights never use -128; biases clamp symmetrically.
        assert_eq!(quantize_weight(-1000.0, 1.0), -127);
        assert_eq!(quantize_weight(1000.0, 1.0), 127);
        assert_eq!(quantize_bias(1e30, 1.0, 1.0), i32::MAX);
        assert_eq!(quantize_bias(-1e30, 1.0, 1.0), -i32::MAX);
    }

    #[test]
    fn per_channel_weights_round_trip_within_half_a_step() {
        let mut rng = crate::Rng::new(7);
        let mut w = [[0.0_f32; 13]; 5];
        for (o, row) in w.iter_mut().enumerate() {
            for v in row.iter_mut() {
                // Channels of very different magnitudes: per-channel scales keep each precise.
                *v = rng.uniform(-1.0, 1.0) * 10f32.powi(o as i32 - 2);
            }
        }
        let (mut q, mut s) = ([[0i8; 13]; 5], [0.0; 5]);
        quantize_weights(&w, &mut q, &mut s);
        for o in 0..5 {
            assert!(
                q[o].iter().any(|&v| v == 127 || v == -127),
                "channel {o} uses the range"
            );
            for i in 0..13 {
                let back = f32::from(q[o][i]) * s[o];
                assert!((back - w[o][i]).abs() <= s[o] * 0.5001, "w[{o}][{i}]");
            }
        }
    }
}
