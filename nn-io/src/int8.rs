//! Int8 networks (the twin types `network!` generates, `MnistInt8`) in safetensors and ONNX.
//!
//! Both formats hold the stored tensors under the same names: `input.scale` (F32, scalar) and
//! `input.zero_point` (I8, scalar), and per layer `<layer>.weight` (I8, `[out, in]` in
//! safetensors, `[in, out]` in ONNX where `MatMul` multiplies by it), `<layer>.bias` (I32, at
//! scale `input_scale · weight_scale`), `<layer>.weight_scale` (F32, one per output),
//! `<layer>.output_scale` (F32) and `<layer>.output_zero_point` (I8). Loading is strict, like the
//! float files': every tensor, of the right type and shape, no other, and the parameters valid
//! for TFLite's integer kernels (weights in `[-127, 127]`, positive scales) — otherwise an error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use nn_core::quant::{QLayerShape, QOp, QuantizedNetwork};
use safetensors::tensor::{Dtype, View};
use safetensors::SafeTensors;

use crate::{open_bounded, write_atomically, WeightsError};

/// The element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    I8,
    I32,
    F32,
    /// An i32 in the stored bytes, an int8 in files (valid zero points are int8).
    ZeroPoint,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::I8 | Kind::ZeroPoint => "I8",
            Kind::I32 => "I32",
            Kind::F32 => "F32",
        }
    }
}

/// One stored tensor: its name, type, shape and place in the stored bytes.
#[derive(Debug, Clone)]
pub(crate) struct QEntry {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) shape: Vec<usize>,
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// The stored tensors in the order of the stored bytes.
pub(crate) fn entries(layers: &[QLayerShape]) -> Vec<QEntry> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut push = |name: String, kind: Kind, shape: Vec<usize>| {
        let width = match kind {
            Kind::I8 => 1,
            _ => 4,
        };
        let len = width * shape.iter().product::<usize>();
        out.push(QEntry {
            name,
            kind,
            shape,
            offset: at,
            len,
        });
        at += len;
    };
    push("input.scale".into(), Kind::F32, vec![]);
    push("input.zero_point".into(), Kind::ZeroPoint, vec![]);
    for l in layers {
        let n = l.name;
        let weight = match l.op {
            QOp::Dense => vec![l.outputs, l.inputs],
            QOp::Conv2d {
                channels,
                filters,
                kernel,
                ..
            } => vec![filters, channels, kernel, kernel],
            QOp::DepthwiseConv2d {
                channels, kernel, ..
            } => vec![channels, 1, kernel, kernel],
            // Pools, flatten and dropout store nothing.
            _ => continue,
        };
        let channels = l.channels();
        push(format!("{n}.weight"), Kind::I8, weight);
        push(format!("{n}.bias"), Kind::I32, vec![channels]);
        push(format!("{n}.weight_scale"), Kind::F32, vec![channels]);
        push(format!("{n}.output_scale"), Kind::F32, vec![]);
        push(format!("{n}.output_zero_point"), Kind::ZeroPoint, vec![]);
    }
    out
}

/// A stored tensor as the safetensors crate writes it.
struct Stored<'a> {
    kind: Kind,
    shape: &'a [usize],
    data: &'a [u8],
}

impl View for Stored<'_> {
    fn dtype(&self) -> Dtype {
        match self.kind {
            Kind::I8 | Kind::ZeroPoint => Dtype::I8,
            Kind::I32 => Dtype::I32,
            Kind::F32 => Dtype::F32,
        }
    }

    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        match self.kind {
            // The low byte of a little-endian i32 in [-128, 127] is its int8.
            Kind::ZeroPoint => Cow::Owned(vec![self.data[0]]),
            _ => Cow::Borrowed(self.data),
        }
    }

    fn data_len(&self) -> usize {
        match self.kind {
            Kind::ZeroPoint => 1,
            _ => self.data.len(),
        }
    }
}

fn stored<T: QuantizedNetwork>(net: &T) -> (Vec<QEntry>, Vec<u8>) {
    let mut bytes = vec![0; T::WEIGHT_BYTES];
    net.write_le_bytes(&mut bytes);
    (entries(T::LAYERS), bytes)
}

fn views<'a>(
    entries: &'a [QEntry],
    bytes: &'a [u8],
) -> impl Iterator<Item = (&'a str, Stored<'a>)> {
    entries.iter().map(|e| {
        let view = Stored {
            kind: e.kind,
            shape: &e.shape,
            data: &bytes[e.offset..e.offset + e.len],
        };
        (e.name.as_str(), view)
    })
}

fn metadata() -> Option<HashMap<String, String>> {
    Some(HashMap::from([(
        "quantization".to_string(),
        "constnet int8 (TFLite scheme)".to_string(),
    )]))
}

/// The largest safetensors file of an int8 network read: its values and a header of at most a
/// few hundred bytes per tensor.
fn max_safetensors_len<T: QuantizedNetwork>() -> u64 {
    T::WEIGHT_BYTES as u64 + 1024 * (5 * T::LAYERS.len() as u64 + 2) + 8
}

fn from_safetensors<T: QuantizedNetwork>(file: &[u8]) -> Result<T, WeightsError> {
    let tensors = SafeTensors::deserialize(file).map_err(crate::safetensors::format_error)?;
    let wanted = entries(T::LAYERS);
    for name in tensors.names() {
        if !wanted.iter().any(|e| e.name == *name) {
            return Err(WeightsError::UnexpectedTensor {
                name: name.to_string(),
            });
        }
    }
    let mut bytes = vec![0u8; T::WEIGHT_BYTES];
    for e in &wanted {
        let t = tensors
            .tensor(&e.name)
            .map_err(|_| WeightsError::MissingTensor {
                name: e.name.clone(),
                in_file: tensors.names().into_iter().map(String::from).collect(),
            })?;
        if t.shape() != e.shape.as_slice() {
            return Err(WeightsError::WrongShape {
                name: e.name.clone(),
                expected: e.shape.clone(),
                found: t.shape().to_vec(),
            });
        }
        let dtype = match e.kind {
            Kind::I8 | Kind::ZeroPoint => Dtype::I8,
            Kind::I32 => Dtype::I32,
            Kind::F32 => Dtype::F32,
        };
        if t.dtype() != dtype {
            return Err(WeightsError::Int8Dtype {
                name: e.name.clone(),
                expected: e.kind.name(),
                found: format!("{:?}", t.dtype()),
            });
        }
        let out = &mut bytes[e.offset..e.offset + e.len];
        match e.kind {
            Kind::ZeroPoint => out.copy_from_slice(&i32::from(t.data()[0] as i8).to_le_bytes()),
            // The crate checked that the data's length matches shape and dtype.
            _ => out.copy_from_slice(t.data()),
        }
    }
    T::try_from_le_bytes(&bytes).map_err(WeightsError::Int8)
}

/// Reads a whole file of at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, WeightsError> {
    let (mut file, len) = open_bounded(path, limit)?;
    // Bounded by `limit`, a small multiple of the network's stored bytes.
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)
        .map_err(|source| WeightsError::Io {
            path: path.into(),
            source,
        })?;
    Ok(bytes)
}

/// Weight files of int8 networks: implemented for every twin type `network!` generates.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
/// let q = Net::new(7).quantize(&[[0.5, -1.0, 0.25, 2.0], [1.0, 0.0, -0.5, 0.5]]).unwrap();
/// let back = NetInt8::from_safetensors_bytes(&q.to_safetensors_bytes())?;
/// assert_eq!(back, q);
/// let onnx = q.to_onnx_bytes()?;
/// assert_eq!(NetInt8::from_onnx_bytes(&onnx)?, q);
/// # Ok::<(), WeightsError>(())
/// ```
pub trait QuantizedModelFile: QuantizedNetwork {
    /// The stored tensors as a safetensors file (metadata `quantization`).
    fn to_safetensors_bytes(&self) -> Vec<u8> {
        let (entries, bytes) = stored(self);
        safetensors::serialize(views(&entries, &bytes), metadata())
            .expect("a header of a few names and shapes is far below the format's limit")
    }

    /// [`to_safetensors_bytes`](QuantizedModelFile::to_safetensors_bytes) to `path`, atomically.
    fn save_safetensors(&self, path: &Path) -> Result<(), WeightsError> {
        write_atomically(path, &self.to_safetensors_bytes())
    }

    /// Reads what [`to_safetensors_bytes`](QuantizedModelFile::to_safetensors_bytes) wrote.
    fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        if bytes.len() as u64 > max_safetensors_len::<Self>() {
            return Err(WeightsError::MalformedHeader(format!(
                "{} bytes, but an int8 file for this network has at most {}",
                bytes.len(),
                max_safetensors_len::<Self>()
            )));
        }
        from_safetensors(bytes)
    }

    /// Reads an int8 safetensors file; larger files than this network's can be are refused
    /// unread.
    fn load_safetensors(path: &Path) -> Result<Self, WeightsError> {
        from_safetensors(&read_bounded(path, max_safetensors_len::<Self>())?)
    }

    /// The network as an ONNX model (opset 13) in QuantizeLinear / DequantizeLinear form, as
    /// ONNX Runtime's quantiser writes it: input `input` (float), outputs `output` (after the
    /// last layer's float activation) and `logits` (the dequantised int8 output before it).
    fn to_onnx_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        crate::onnx::qdq::export(self)
    }

    /// [`to_onnx_bytes`](QuantizedModelFile::to_onnx_bytes) to `path`, atomically.
    fn save_onnx(&self, path: &Path) -> Result<(), WeightsError> {
        write_atomically(path, &self.to_onnx_bytes()?)
    }

    /// Reads what [`to_onnx_bytes`](QuantizedModelFile::to_onnx_bytes) wrote: the same graph,
    /// every stored tensor by name, type and shape.
    fn from_onnx_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        if bytes.len() as u64 > crate::onnx::qdq::max_file_len::<Self>() {
            return Err(WeightsError::MalformedOnnx(format!(
                "{} bytes, more than an int8 model of this network can have",
                bytes.len()
            )));
        }
        crate::onnx::qdq::import(bytes)
    }

    /// Reads an int8 ONNX file; larger files than this network's can be are refused unread.
    fn load_onnx(path: &Path) -> Result<Self, WeightsError> {
        crate::onnx::qdq::import(&read_bounded(
            path,
            crate::onnx::qdq::max_file_len::<Self>(),
        )?)
    }
}

impl<T: QuantizedNetwork> QuantizedModelFile for T {}
