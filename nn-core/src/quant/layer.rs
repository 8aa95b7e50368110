//! The contract between a float layer and its int8 twin, which `network!` uses to generate a
//! network's quantised twin type (`net.quantize(&calibration)`).

use super::{Fused, MinMax, QDense, QuantError, QuantParams};
use crate::activation::{Activation, Op};
use crate::layer::Layer;
use crate::{kernel, Dense};

/// The calibration side of a float layer with an int8 form in TFLite's scheme.
///
/// Post-training quantisation runs the calibration samples through the float network, one layer
/// at a time ([`observe`](Quantize::observe)), recording the range of every layer's output, then
/// builds each layer's int8 twin ([`QLayer`], e.g. `QDense::from_float`) from the parameters of
/// its input and output.
///
/// A hidden layer's activation must be fused into the integer layer (ReLU, identity). The last
/// layer's activation may be anything: it is applied in float to the dequantised output (a
/// softmax, a sigmoid), so that layer's output range is that of its pre-activations. Layers that
/// only move or select values (pools, flatten, dropout at inference) keep their input's
/// parameters ([`PASSES`](Quantize::PASSES)), as TFLite requires of them.
///
/// ```
/// use nn_core::quant::{MinMax, QDense, QuantParams, Quantize};
/// use nn_core::{Dense, Relu};
/// let dense = Dense::<2, 1, Relu>::new([[1.0, -1.0]], [0.0]);
/// let mut range = MinMax::new();
/// let mut y = [0.0];
/// dense.observe(&[3.0, 1.0], &mut y, &mut range, false);
/// dense.observe(&[1.0, 3.0], &mut y, &mut range, false);
/// assert_eq!((range.min(), range.max()), (0.0, 2.0)); // after the ReLU
/// let q = QDense::from_float(&dense, QuantParams::from_range(0.0, 3.0), range.params(), false).unwrap();
/// assert_eq!(q.weight(), &[[127, -127]]);
/// ```
pub trait Quantize: Layer {
    /// Whether the int8 form's output has its input's parameters (no range of its own).
    const PASSES: bool = false;

    /// Runs one sample through the float layer into `y` (the activation applied, as the next
    /// layer sees it) and widens `output` by what the int8 output must represent: the
    /// activations, or for the `last` layer with an activation that cannot be fused, the
    /// pre-activations.
    fn observe(&self, x: &Self::Input, y: &mut Self::Output, output: &mut MinMax, last: bool);
}

/// What an int8 layer is, for weight files and exporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QOp {
    /// A fully connected layer: weights `[outputs, inputs]`.
    Dense,
    /// A convolution: weights `[filters, channels, kernel, kernel]`, input `channels × h × w`.
    Conv2d {
        /// Input channels.
        channels: usize,
        /// Input height and width.
        input: [usize; 2],
        /// Filters (output channels).
        filters: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Output height and width.
        output: [usize; 2],
        /// Zero padding before the input (top, left) and after it (bottom, right).
        pads: [usize; 4],
    },
    /// A depthwise convolution: weights `[channels, 1, kernel, kernel]`.
    DepthwiseConv2d {
        /// Channels (in and out).
        channels: usize,
        /// Input height and width.
        input: [usize; 2],
        /// Kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Output height and width.
        output: [usize; 2],
        /// Zero padding before the input (top, left) and after it (bottom, right).
        pads: [usize; 4],
    },
    /// Average pooling over `pool × pool` windows with stride `pool`, rounded half away from zero.
    AvgPool2d {
        /// Window side and stride.
        pool: usize,
    },
    /// Max pooling over `pool × pool` windows with stride `pool`.
    MaxPool2d {
        /// Window side and stride.
        pool: usize,
    },
    /// A reshape to one row.
    Flatten,
    /// Values passed on unchanged (dropout at inference).
    Identity,
}

/// An int8 layer: the twin of a float layer, integers only (`QDense`, `QConv2d`,
/// `QDepthwiseConv2d`, `QMaxPool2d`, `QAvgPool2d`, `QFlatten2d`, `QIdentity`). Its stored bytes (see [`QLayerShape`]) are empty for layers
/// without parameters.
pub trait QLayer {
    /// One sample's int8 input.
    type Input: Copy;
    /// One sample's int8 output.
    type Output: Copy;
    /// What it is, for weight files.
    const OP: QOp;
    /// Values in and out per sample.
    const INPUTS: usize;
    /// Values out per sample.
    const OUTPUTS: usize;
    /// Bytes of its stored parameters.
    const WEIGHT_BYTES: usize;
    /// Its input's quantisation.
    fn input(&self) -> QuantParams;
    /// Its output's quantisation.
    fn output(&self) -> QuantParams;
    /// `B` samples through the layer.
    fn forward_batch<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]);
    /// Writes the stored parameters into `out[..WEIGHT_BYTES]`.
    fn write_le(&self, out: &mut [u8]);
    /// Its summary row.
    fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo;
}

/// The fused activation of an int8 layer computing `op`: ReLU and the identity fuse; any other
/// activation of the `last` layer is applied in float after it (`Fused::None`), and of a hidden
/// layer it is an error. A `const fn`, so that a quantised network decodes in a `static`.
///
/// ```
/// use nn_core::activation::Op;
/// use nn_core::quant::{fused_for, Fused, QuantError};
/// assert_eq!(fused_for(Op::Relu, "relu", false), Ok(Fused::Relu));
/// assert_eq!(fused_for(Op::Softmax, "softmax", true), Ok(Fused::None));
/// assert_eq!(fused_for(Op::Tanh, "tanh", false), Err(QuantError::Activation("tanh")));
/// ```
pub const fn fused_for(op: Op, name: &'static str, last: bool) -> Result<Fused, QuantError> {
    match op {
        Op::Identity => Ok(Fused::None),
        Op::Relu => Ok(Fused::Relu),
        _ if last => Ok(Fused::None),
        _ => Err(QuantError::Activation(name)),
    }
}

impl<const I: usize, const O: usize, A: Activation> Quantize for Dense<I, O, A> {
    fn observe(&self, x: &[f32; I], y: &mut [f32; O], output: &mut MinMax, last: bool) {
        kernel::Affine {
            weight: &self.weight,
            bias: &self.bias,
            x: core::array::from_ref(x),
            y: core::array::from_mut(y),
        }
        .launch();
        observe_activation::<A>(y, output, last);
    }
}

/// Applies `A` to pre-activations `y`, widening `output` by the values the int8 output holds:
/// the activations, or for the last layer's float activation the pre-activations.
pub(crate) fn observe_activation<A: Activation>(y: &mut [f32], output: &mut MinMax, last: bool) {
    // Applied in float after the int8 layer: the last layer's softmax, sigmoid, tanh …
    let float_after = last && !matches!(A::OP, Op::Identity | Op::Relu);
    if float_after {
        output.observe(y);
        A::forward(y);
    } else {
        A::forward(y);
        output.observe(y);
    }
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// The int8 twin of a float layer, given its input's and output's parameters: per-channel
    /// symmetric weights, int32 biases, the activation fused — for a hidden (not `last`) layer
    /// whose activation has no fused form, an error.
    pub fn from_float<A: Activation>(
        dense: &Dense<I, O, A>,
        input: QuantParams,
        output: QuantParams,
        last: bool,
    ) -> Result<Self, QuantError> {
        let fused = fused_for(A::OP, A::NAME, last)?;
        Ok(QDense::quantize_with(dense, input, output, fused))
    }
}

impl<const I: usize, const O: usize> QLayer for QDense<I, O> {
    type Input = [i8; I];
    type Output = [i8; O];
    const OP: QOp = QOp::Dense;
    const INPUTS: usize = I;
    const OUTPUTS: usize = O;
    const WEIGHT_BYTES: usize = QDense::<I, O>::WEIGHT_BYTES;

    fn input(&self) -> QuantParams {
        QDense::input(self)
    }

    fn output(&self) -> QuantParams {
        QDense::output(self)
    }

    fn forward_batch<const B: usize>(&self, x: &[[i8; I]; B], y: &mut [[i8; O]; B]) {
        QDense::forward_batch(self, x, y);
    }

    fn write_le(&self, out: &mut [u8]) {
        QDense::write_le(self, out);
    }

    fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
        QDense::info(self, name, activation)
    }
}

/// Index of the largest int8 code (the first one on ties; `0` for an empty slice): the class an
/// int8 network predicts, without dequantising (which keeps the order).
///
/// ```
/// assert_eq!(nn_core::quant::argmax_i8(&[-3, 7, 7, 1]), 1);
/// ```
pub fn argmax_i8(values: &[i8]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// One row of an int8 network's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QLayerInfo {
    /// Field name of the layer.
    pub name: &'static str,
    /// Layer type (`Dense`).
    pub kind: &'static str,
    /// The float layer's activation.
    pub activation: &'static str,
    /// How it is computed: fused into the integers (`Fused::Relu`), or `Fused::None`: the
    /// identity, or applied in float after the last layer.
    pub fused: Fused,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Bytes of stored parameters.
    pub bytes: usize,
    /// The output's quantisation.
    pub output: QuantParams,
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// Its summary row, named `name`, for a float layer with activation `activation`.
    ///
    /// ```
    /// use nn_core::quant::{Fused, QDense, QuantParams};
    /// let p = QuantParams { scale: 0.5, zero_point: 0 };
    /// let row = QDense::<2, 1>::from_parts([[1, 2]], [0], [0.1], p, p, Fused::Relu).info("out", "relu");
    /// assert_eq!((row.inputs, row.outputs, row.bytes), (2, 1, 2 + 8 + 8));
    /// ```
    pub fn info(&self, name: &'static str, activation: &'static str) -> QLayerInfo {
        QLayerInfo {
            name,
            kind: "Dense",
            activation,
            fused: self.fused(),
            inputs: I,
            outputs: O,
            bytes: Self::WEIGHT_BYTES,
            output: self.output(),
        }
    }
}

/// A table of an int8 network (`MnistInt8::summary()`); its `Display` prints it.
///
/// ```
/// use nn_core::quant::{Fused, QDense, QSummary, QuantParams};
/// let p = QuantParams { scale: 0.5, zero_point: 0 };
/// let layer = QDense::<2, 1>::from_parts([[1, 2]], [0], [0.1], p, p, Fused::Relu);
/// let s = QSummary { name: "Tiny", input: p, f32_bytes: 12, layers: [layer.info("out", "relu")] };
/// assert_eq!(s.bytes(), 8 + 18);
/// assert!(s.to_string().contains("relu (fused)"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QSummary<const N: usize> {
    /// The network's type name.
    pub name: &'static str,
    /// The input's quantisation.
    pub input: QuantParams,
    /// Bytes of the float network's values.
    pub f32_bytes: usize,
    /// One row per layer.
    pub layers: [QLayerInfo; N],
}

impl<const N: usize> QSummary<N> {
    /// Bytes of stored parameters: the input's scale and zero point and every layer's.
    pub fn bytes(&self) -> usize {
        8 + self.layers.iter().map(|l| l.bytes).sum::<usize>()
    }
}

impl<const N: usize> core::fmt::Display for QSummary<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(f, "{} (int8, TFLite scheme)", self.name)?;
        writeln!(
            f,
            "{:<12} {:<7} {:>6} {:>6}  {:<18} {:>9}  output scale / zero point",
            "Layer", "Kind", "In", "Out", "Activation", "Bytes"
        )?;
        writeln!(
            f,
            "{:<12} {:<7} {:>6} {:>6}  {:<18} {:>9}  {:.6} / {}",
            "(input)",
            "",
            "",
            self.layers.first().map_or(0, |l| l.inputs),
            "",
            8,
            self.input.scale,
            self.input.zero_point
        )?;
        for l in &self.layers {
            // "relu (fused)", "softmax (float)", "linear".
            let how = match (l.fused, l.activation) {
                (Fused::Relu, _) => " (fused)",
                (Fused::None, "linear") => "",
                (Fused::None, _) => " (float)",
            };
            let pad = 18usize.saturating_sub(l.activation.chars().count() + how.len());
            writeln!(
                f,
                "{:<12} {:<7} {:>6} {:>6}  {}{}{:pad$} {:>9}  {:.6} / {}",
                l.name,
                l.kind,
                l.inputs,
                l.outputs,
                l.activation,
                how,
                "",
                l.bytes,
                l.output.scale,
                l.output.zero_point
            )?;
        }
        write!(
            f,
            "Stored: {} bytes (f32: {} bytes, {:.2}x)",
            self.bytes(),
            self.f32_bytes,
            self.f32_bytes as f64 / self.bytes() as f64
        )
    }
}

/// One layer of an int8 network as weight files see it. A layer with parameters stores its int8
/// weights (`outputs × fan-in`, row by row), int32 biases, f32 weight scales, and the output's f32
/// scale and i32 zero point, little-endian; pools, flatten and dropout store nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QLayerShape {
    /// Field name of the layer.
    pub name: &'static str,
    /// What it computes.
    pub op: QOp,
    /// Input values per sample.
    pub inputs: usize,
    /// Output values per sample.
    pub outputs: usize,
    /// Bytes of its stored parameters.
    pub bytes: usize,
    /// The float layer's activation: fused (ReLU), none, or for the last layer applied in float.
    pub activation: Op,
    /// Its name (`relu`, `softmax`).
    pub activation_name: &'static str,
}

impl QLayerShape {
    /// The row of int8 layer type `L` named `name`, whose float layer has activation `A`.
    pub const fn of<L: QLayer, A: Activation>(name: &'static str) -> Self {
        QLayerShape {
            name,
            op: L::OP,
            inputs: L::INPUTS,
            outputs: L::OUTPUTS,
            bytes: L::WEIGHT_BYTES,
            activation: A::OP,
            activation_name: A::NAME,
        }
    }

    /// Weights per output channel (0 for a layer without parameters).
    pub const fn fan_in(&self) -> usize {
        match self.op {
            QOp::Dense => self.inputs,
            QOp::Conv2d {
                channels, kernel, ..
            } => channels * kernel * kernel,
            QOp::DepthwiseConv2d { kernel, .. } => kernel * kernel,
            _ => 0,
        }
    }

    /// Output channels that have parameters (0 for a layer without parameters).
    pub const fn channels(&self) -> usize {
        match self.op {
            QOp::Dense => self.outputs,
            QOp::Conv2d { filters, .. } => filters,
            QOp::DepthwiseConv2d { channels, .. } => channels,
            _ => 0,
        }
    }
}

/// What weight files need of an int8 network: implemented by every twin type `network!`
/// generates (`MnistInt8`). Its stored bytes are the input's f32 scale and i32 zero point, then
/// each layer's (see [`QLayerShape`]).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::quant::QuantizedNetwork;
/// network! { struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
/// assert_eq!(<NetInt8 as QuantizedNetwork>::LAYERS[1].name, "out");
/// assert_eq!(<NetInt8 as QuantizedNetwork>::WEIGHT_BYTES, 8 + (12 + 24 + 8) + (6 + 16 + 8));
/// ```
pub trait QuantizedNetwork: Sized {
    /// Bytes of the stored parameters.
    const WEIGHT_BYTES: usize;
    /// The layers in order.
    const LAYERS: &'static [QLayerShape];
    /// The network from its stored bytes: an error for the wrong length or invalid parameters.
    fn try_from_le_bytes(bytes: &[u8]) -> Result<Self, QuantError>;
    /// Writes the stored bytes into `out[..WEIGHT_BYTES]`. Panics if `out` is shorter.
    fn write_le_bytes(&self, out: &mut [u8]);
}

/// The int8 kernel this process runs: `"AVX-512 VNNI"`, `"AVX-VNNI"`, `"AVX2"` or `"portable"`
/// (`"Armv7E-M DSP (SMLAD)"` on Cortex-M4/M7)
/// (chosen at run time from the CPU and `CONSTNET_KERNEL` / `CONSTNET_PORTABLE`), for benchmark
/// reports.
///
/// ```
/// let name = nn_core::quant::kernel_name();
/// assert!(["AVX-512 VNNI", "AVX-VNNI", "AVX2", "portable"].contains(&name));
/// ```
pub fn kernel_name() -> &'static str {
    match super::kernel::Isa::best() {
        super::kernel::Isa::Avx512Vnni => "AVX-512 VNNI",
        super::kernel::Isa::AvxVnni => "AVX-VNNI",
        super::kernel::Isa::Avx2 => "AVX2",
        // On Cortex-M4/M7 the portable slot runs the DSP kernel (`kernel::dsp`).
        super::kernel::Isa::Portable if cfg!(constnet_arm_dsp) => "Armv7E-M DSP (SMLAD)",
        super::kernel::Isa::Portable => "portable",
    }
}
