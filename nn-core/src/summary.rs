use core::fmt;

use crate::activation::{self, Activation};
use crate::layer::{self, Layer, ParamTensor, Tensor};
use crate::Parameters;

/// One row of a network's summary.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { hidden: Dense<4, 3, Relu>, Dense<3, 1> } }
/// let rows = Net::summary().layers;
/// assert_eq!((rows[0].name, rows[0].activation, rows[0].params), ("hidden", "relu", 15));
/// assert_eq!((rows[1].name, rows[1].activation), ("l1", "linear"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerInfo {
    /// Field name of the layer.
    pub name: &'static str,
    /// Layer type (`Dense`).
    pub kind: &'static str,
    /// Activation name (`relu`, …).
    pub activation: &'static str,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Shape of one sample's output (Keras' "Output Shape" without the batch dimension).
    pub output_shape: &'static [usize],
    /// All values of the layer, non-trainable state (running statistics) included.
    pub values: usize,
    /// Shape of one sample's input.
    pub input_shape: &'static [usize],
    /// Its parameter blocks in memory order, PyTorch's names and shapes (what weight files hold).
    pub tensors: &'static [ParamTensor],
    /// What the layer computes, for exporters.
    pub op: layer::Op,
    /// Its activation, for exporters.
    pub activation_op: activation::Op,
}

impl LayerInfo {
    /// The row of layer type `L` named `name`.
    ///
    /// ```
    /// use nn_core::{Dense, LayerInfo, Relu};
    /// let row = LayerInfo::of::<Dense<4, 3, Relu>>("hidden");
    /// assert_eq!((row.kind, row.output_shape, row.params), ("Dense", &[3][..], 15));
    /// ```
    pub const fn of<L: Layer>(name: &'static str) -> LayerInfo {
        LayerInfo {
            name,
            kind: L::KIND,
            activation: <L::Activation as Activation>::NAME,
            inputs: <L::Input as Tensor>::LEN,
            outputs: <L::Output as Tensor>::LEN,
            params: L::PARAMS,
            output_shape: <L::Output as Tensor>::SHAPE,
            values: <L as Parameters>::LEN,
            input_shape: <L::Input as Tensor>::SHAPE,
            tensors: L::TENSORS,
            op: L::OP,
            activation_op: <L::Activation as Activation>::OP,
        }
    }
}

/// A Keras-like table of a network's layers; its `Display` prints it.
///
/// ```
/// use nn_core::{activation, layer, LayerInfo, Summary};
/// let layers = [LayerInfo {
///     name: "out", kind: "Dense", activation: "sigmoid", inputs: 2, outputs: 1, params: 3,
///     output_shape: &[1], values: 3, input_shape: &[2], tensors: &[], op: layer::Op::Dense,
///     activation_op: activation::Op::Sigmoid,
/// }];
/// let s = Summary { name: "Tiny", layers: &layers };
/// assert_eq!(s.params(), 3);
/// assert!(s.to_string().contains("Total params: 3 (12 B)"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary<'a> {
    /// Network type name.
    pub name: &'a str,
    /// Its layers, input to output.
    pub layers: &'a [LayerInfo],
}

impl Summary<'_> {
    /// Total trainable parameters.
    pub fn params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }

    /// Total values, non-trainable state included.
    pub fn values(&self) -> usize {
        self.layers.iter().map(|l| l.values).sum()
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Model: \"{}\"", self.name)?;
        rule(f)?;
        writeln!(
            f,
            "{:<28}{:>22}{:>12}{:>12}",
            "Layer (type)", "Output Shape", "Param #", "Bytes"
        )?;
        rule(f)?;
        for l in self.layers {
            // Layers without parameters (pools, flatten, dropout) have no activation to show.
            let bare = l.values == 0 && l.activation == "linear";
            let (sep, activation) = if bare { ("", "") } else { (", ", l.activation) };
            writeln!(
                f,
                "{:<28}{:>22}{:>12}{:>12}",
                Padded(format_args!("{} ({}{sep}{activation})", l.name, l.kind)),
                Padded(format_args!("(None{})", Shape(l.output_shape))),
                l.params,
                l.values * 4
            )?;
        }
        rule(f)?;
        writeln!(
            f,
            "Total params: {} ({} B)",
            self.values(),
            self.values() * 4
        )?;
        writeln!(f, "Trainable params: {}", self.params())?;
        write!(f, "Non-trainable params: {}", self.values() - self.params())
    }
}

/// `, 6, 24, 24`: the dimensions after Keras' `None` batch dimension.
struct Shape(&'static [usize]);

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, ", {d}")?;
        }
        Ok(())
    }
}

fn rule(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for _ in 0..74 {
        f.write_str("─")?;
    }
    f.write_str("\n")
}

/// Formatted text that honours width and alignment (`{:<28}`), built in a stack buffer so that
/// `no_std` needs no allocation. Text longer than the buffer is written whole, unpadded.
struct Padded<'a>(fmt::Arguments<'a>);

impl fmt::Display for Padded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        let mut cursor = Cursor(&mut buf, 0);
        if fmt::write(&mut cursor, self.0).is_err() {
            return f.write_fmt(self.0);
        }
        let len = cursor.1;
        // Whole `&str`s were copied in, so the bytes are UTF-8.
        f.pad(core::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
    }
}

struct Cursor<'a>(&'a mut [u8], usize);

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.1 + s.len();
        self.0
            .get_mut(self.1..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}
