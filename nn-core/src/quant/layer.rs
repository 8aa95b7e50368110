//! The contract between a float layer and its int8 twin, which `network!` uses to generate a
//! network's quantised twin type (`net.quantize(&calibration)`).

use super::{Fused, MinMax, QDense, QuantError, QuantParams};
use crate::activation::{Activation, Op};
use crate::layer::Layer;
use crate::{kernel, Dense};

/// A float layer with an int8 form in TFLite's scheme.
///
/// Post-training quantisation runs the calibration samples through the float network, one layer
/// at a time ([`observe`](Quantize::observe)), recording the range of every layer's output, then
/// turns each layer into its int8 twin with the parameters of its input and output
/// ([`quantize`](Quantize::quantize)).
///
/// A hidden layer's activation must be fused into the integer layer (ReLU, identity). The last
/// layer's activation may be anything: it is applied in float to the dequantised output (a
/// softmax, a sigmoid), so that layer's output range is that of its pre-activations.
///
/// ```
/// use nn_core::quant::{MinMax, QuantParams, Quantize};
/// use nn_core::{Dense, Relu};
/// let dense = Dense::<2, 1, Relu>::new([[1.0, -1.0]], [0.0]);
/// let mut range = MinMax::new();
/// let mut y = [0.0];
/// dense.observe(&[3.0, 1.0], &mut y, &mut range, false);
/// dense.observe(&[1.0, 3.0], &mut y, &mut range, false);
/// assert_eq!((range.min(), range.max()), (0.0, 2.0)); // after the ReLU
/// let q = dense.quantize(QuantParams::from_range(0.0, 3.0), range.params(), false).unwrap();
/// assert_eq!(q.weight(), &[[127, -127]]);
/// ```
pub trait Quantize: Layer {
    /// The int8 layer.
    type Quantized;

    /// Runs one sample through the float layer into `y` (the activation applied, as the next
    /// layer sees it) and widens `output` by what the int8 output must represent: the
    /// activations, or for the `last` layer with an activation that cannot be fused, the
    /// pre-activations.
    fn observe(&self, x: &Self::Input, y: &mut Self::Output, output: &mut MinMax, last: bool);

    /// The int8 twin, given its input's and output's parameters. A hidden (not `last`) layer
    /// whose activation has no fused form is an error.
    fn quantize(
        &self,
        input: QuantParams,
        output: QuantParams,
        last: bool,
    ) -> Result<Self::Quantized, QuantError>;
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
    type Quantized = QDense<I, O>;

    fn observe(&self, x: &[f32; I], y: &mut [f32; O], output: &mut MinMax, last: bool) {
        // Applied in float after the int8 layer: the last layer's softmax, sigmoid, tanh …
        let float_after = last && !matches!(A::OP, Op::Identity | Op::Relu);
        kernel::run(kernel::Affine {
            weight: &self.weight,
            bias: &self.bias,
            x: core::array::from_ref(x),
            y: core::array::from_mut(y),
        });
        if float_after {
            output.observe(y);
            A::forward(y);
        } else {
            A::forward(y);
            output.observe(y);
        }
    }

    fn quantize(
        &self,
        input: QuantParams,
        output: QuantParams,
        last: bool,
    ) -> Result<QDense<I, O>, QuantError> {
        let fused = fused_for(A::OP, A::NAME, last)?;
        Ok(QDense::quantize_with(self, input, output, fused))
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

/// One layer of an int8 network as weight files see it: its name, widths and float activation.
/// The stored bytes of a layer are its int8 weights (`outputs × inputs`, row by row), int32
/// biases, f32 weight scales, and the output's f32 scale and i32 zero point, little-endian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QLayerShape {
    /// Field name of the layer.
    pub name: &'static str,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// The float layer's activation: fused (ReLU), none, or for the last layer applied in float.
    pub activation: Op,
    /// Its name (`relu`, `softmax`).
    pub activation_name: &'static str,
}

impl QLayerShape {
    /// Bytes of the layer's stored parameters.
    pub const fn bytes(&self) -> usize {
        self.inputs * self.outputs + 8 * self.outputs + 8
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
        super::kernel::Isa::Portable => "portable",
    }
}
