use std::collections::HashMap;

use nn_core::activation::Op as Act;
use nn_core::layer::Op;
use nn_core::LayerInfo;
#[cfg(test)]
use nn_core::Network;

use super::dtype;
use super::proto::{
    tensor_proto::DataLocation, tensor_shape_proto::dimension::Value as Dim, type_proto,
    AttributeProto, NodeProto, TensorProto, ValueInfoProto,
};
use super::stream::{self, Deferred, Fetch, Field};
use crate::{check_finite, Float, IoError, ReadSeek, Shape, TensorEntry, WeightsError};

/// Reads an ONNX model of the network's architecture into `values` (the network's flat
/// parameters): node by node, each matched against the layer (and activation) at its place.
#[cfg(test)]
pub(crate) fn import<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    bytes: &[u8],
    values: &mut [f32],
) -> Result<(), WeightsError> {
    let io: IoError = Box::new(|e| WeightsError::Truncated(e.to_string()));
    let shape = Shape::of::<N, IN, OUT>(&[]);
    import_from(
        &mut std::io::Cursor::new(bytes),
        bytes.len() as u64,
        io,
        &shape,
        values,
    )
}

/// [`import`] from `len` bytes of a seekable source, read as [`stream::Model`] does: the weights
/// go from the source into `values` without the file or the message holding them too. `io` turns
/// a read error into the caller's error (naming the file).
pub(crate) fn import_from(
    source: &mut dyn ReadSeek,
    len: u64,
    io: IoError,
    shape: &Shape<'_>,
    values: &mut [f32],
) -> Result<(), WeightsError> {
    // Every length is bounded by the bytes that remain, and prost bounds nesting depth by 100.
    let stream = stream::Model::read(source, len, io)?;
    let model = &stream.model;
    let fetch: &dyn Fetch = &stream;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| WeightsError::GraphMismatch("the model has no graph".into()))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| WeightsError::GraphMismatch("no opset for the default domain".into()))?;

    let (summary, entries) = (&shape.summary, &shape.entries);

    let mut constants: HashMap<&str, Constant> = graph
        .initializer
        .iter()
        .zip(&stream.deferred)
        .map(|(t, &deferred)| (t.name.as_str(), Constant::Proto(t, deferred)))
        .collect();
    let mut chain = Vec::new();
    let mut derived: HashMap<&str, (usize, &NodeProto)> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(unsupported(
                node,
                i,
                format!("operator domain `{}`", node.domain),
            ));
        }
        // Weights that exporters compute in the graph: constants, and transposed initializers
        // (the `Transpose` + `MatMul` form of a dense layer).
        if node.op_type == "Constant" && node.output.len() == 1 {
            if let Some(t) = node
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
            {
                constants.insert(&node.output[0], Constant::Proto(t, None));
                continue;
            }
        }
        if node.op_type == "Transpose" && node.input.len() == 1 && node.output.len() == 1 {
            if let Some(c) = constants.get(node.input[0].as_str()) {
                let t = c.decode(node, i, fetch)?;
                let perm = ints(node, "perm").unwrap_or(&[1, 0]);
                if t.dims.len() != 2 || perm != [1, 0] {
                    return Err(unsupported(
                        node,
                        i,
                        "only 2-D weights are transposed".into(),
                    ));
                }
                constants.insert(&node.output[0], Constant::Owned(t.transposed()));
                continue;
            }
        }
        // The scale of a normalisation, computed from its variance: `Max(Sqrt(variance), ε)`.
        let from_constants = node
            .input
            .iter()
            .all(|s| constants.contains_key(s.as_str()) || derived.contains_key(s.as_str()));
        if matches!(node.op_type.as_str(), "Sqrt" | "Max")
            && from_constants
            && node.output.len() == 1
        {
            derived.insert(&node.output[0], (i, node));
            continue;
        }
        chain.push((i, node));
    }

    let data_inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|v| !constants.contains_key(v.name.as_str()))
        .collect();
    let [input] = data_inputs[..] else {
        return Err(WeightsError::GraphMismatch(format!(
            "expected one input, found {:?}",
            data_inputs.iter().map(|v| &v.name).collect::<Vec<_>>()
        )));
    };
    check_value(input, "input", shape.input)?;
    let [output] = &graph.output[..] else {
        return Err(WeightsError::GraphMismatch(format!(
            "expected one output, found {}",
            graph.output.len()
        )));
    };
    check_value(output, "output", shape.output)?;

    let mut reader = Reader {
        chain: &chain,
        pos: 0,
        current: input.name.clone(),
        constants: &constants,
        derived: &derived,
        opset,
        fetch,
    };
    for layer in summary.layers {
        let own: Vec<&TensorEntry> = entries
            .iter()
            .filter(|e| e.name.split_once('.').is_some_and(|(l, _)| l == layer.name))
            .collect();
        reader.layer(layer, &own, values)?;
        reader.activation(layer)?;
    }
    reader.skip_passthrough();
    if let Some(&(i, node)) = chain.get(reader.pos) {
        return Err(unsupported(
            node,
            i,
            "the network has no layer left for it".into(),
        ));
    }
    if reader.current != output.name {
        return Err(WeightsError::GraphMismatch(format!(
            "the last layer computes `{}`, but the graph's output is `{}`",
            reader.current, output.name
        )));
    }
    check_finite(entries, values)
}

/// A graph value's type: float, a batch dimension, then `len` values per sample in any shape.
fn check_value(value: &ValueInfoProto, role: &str, len: usize) -> Result<(), WeightsError> {
    let mismatch =
        |what: String| WeightsError::GraphMismatch(format!("{role} `{}`: {what}", value.name));
    let Some(type_proto::Value::TensorType(t)) =
        value.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        // A value without a declared type is legal ONNX; the weights still decide.
        return Ok(());
    };
    if t.elem_type != dtype::FLOAT {
        return Err(mismatch(format!(
            "element type {} is not float",
            t.elem_type
        )));
    }
    let Some(shape) = &t.shape else { return Ok(()) };
    let per_sample = shape
        .dim
        .iter()
        .skip(1)
        .try_fold(1usize, |n, d| match d.value {
            Some(Dim::DimValue(v)) => usize::try_from(v).ok().and_then(|v| n.checked_mul(v)),
            _ => None,
        });
    if shape.dim.len() < 2 || per_sample != Some(len) {
        return Err(mismatch(format!(
            "expected a batch of {len} values per sample, found shape {}",
            describe_shape(&shape.dim)
        )));
    }
    Ok(())
}

fn describe_shape(dims: &[super::proto::tensor_shape_proto::Dimension]) -> String {
    let dims: Vec<String> = dims
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(v)) => v.to_string(),
            Some(Dim::DimParam(p)) => p.clone(),
            None => "?".into(),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

fn unsupported(node: &NodeProto, index: usize, reason: String) -> WeightsError {
    WeightsError::UnsupportedNode {
        node: if node.name.is_empty() {
            format!("#{index}")
        } else {
            node.name.clone()
        },
        op: node.op_type.clone(),
        reason,
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints<'a>(node: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    attr(node, name).map(|a| &a.ints[..])
}

fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attr(node, name).map_or(default, |a| a.i)
}

fn float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attr(node, name).map_or(default, |a| a.f)
}

fn as_i64(values: &[usize]) -> Vec<i64> {
    values.iter().map(|&v| v as i64).collect()
}

/// A decoded constant: its shape and values as f32.
struct Values {
    dims: Vec<usize>,
    data: Vec<f32>,
}

impl Values {
    fn transposed(&self) -> Values {
        let (r, c) = (self.dims[0], self.dims[1]);
        let mut data = vec![0.0; self.data.len()];
        for i in 0..r {
            for j in 0..c {
                data[j * r + i] = self.data[i * c + j];
            }
        }
        Values {
            dims: vec![c, r],
            data,
        }
    }
}

enum Constant<'a> {
    /// An initializer or a `Constant` node's value, with where its data is if it was left in
    /// the source.
    Proto(&'a TensorProto, Option<Deferred>),
    Owned(Values),
}

impl Constant<'_> {
    fn decode(
        &self,
        node: &NodeProto,
        index: usize,
        fetch: &dyn Fetch,
    ) -> Result<Values, WeightsError> {
        match *self {
            Constant::Owned(ref v) => Ok(Values {
                dims: v.dims.clone(),
                data: v.data.clone(),
            }),
            Constant::Proto(t, deferred) => {
                let fault = |reason| unsupported(node, index, reason);
                let mut v = decode(t, deferred).map_err(fault)?;
                if let Some(d) = deferred {
                    v.data = vec![0.0; v.dims.iter().product()];
                    fetch.fill(d, deferred_kind(t, d).map_err(fault)?, &mut v.data)?;
                }
                Ok(v)
            }
        }
    }

    /// Decodes into `out`, which has the constant's number of values: data still in the source
    /// goes straight there, without a copy of the tensor on the way.
    fn decode_into(
        &self,
        node: &NodeProto,
        index: usize,
        fetch: &dyn Fetch,
        out: &mut [f32],
    ) -> Result<(), WeightsError> {
        if let Constant::Proto(t, Some(d)) = *self {
            let fault = |reason| unsupported(node, index, reason);
            let v = decode(t, Some(d)).map_err(fault)?;
            debug_assert_eq!(v.dims.iter().product::<usize>(), out.len());
            return fetch.fill(d, deferred_kind(t, d).map_err(fault)?, out);
        }
        let v = self.decode(node, index, fetch)?;
        out.copy_from_slice(&v.data);
        Ok(())
    }

    fn dims(&self) -> Result<Vec<usize>, String> {
        match self {
            Constant::Owned(v) => Ok(v.dims.clone()),
            Constant::Proto(t, _) => dims(t),
        }
    }
}

fn dims(t: &TensorProto) -> Result<Vec<usize>, String> {
    t.dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("tensor `{}` has dimension {d}", t.name)))
        .collect()
}

/// The float type of a tensor's elements.
fn float_kind(t: &TensorProto) -> Result<Float, String> {
    match t.data_type {
        dtype::FLOAT => Ok(Float::F32),
        dtype::DOUBLE => Ok(Float::F64),
        dtype::FLOAT16 => Ok(Float::F16),
        dtype::BFLOAT16 => Ok(Float::BF16),
        other => Err(format!(
            "tensor `{}` has element type {other}; float, double, float16 and bfloat16 are read",
            t.name
        )),
    }
}

/// The element type of deferred data: the tensor's for `raw_data`; `float_data` and
/// `double_data` hold only their own type.
fn deferred_kind(t: &TensorProto, d: Deferred) -> Result<Float, String> {
    let (kind, holds) = match d.field {
        Field::Raw => return float_kind(t),
        Field::Float => (Float::F32, dtype::FLOAT),
        Field::Double => (Float::F64, dtype::DOUBLE),
    };
    if t.data_type != holds {
        return Err(format!(
            "tensor `{}` of element type {} keeps its values in the field of type {holds}",
            t.name, t.data_type
        ));
    }
    Ok(kind)
}

/// A tensor's values as f32, its length checked against its dims before anything is allocated.
/// If its data is still in the source (`deferred`), only the shape and length are checked and
/// `data` is left empty for the caller to fill.
fn decode(t: &TensorProto, deferred: Option<Deferred>) -> Result<Values, String> {
    let dims = dims(t)?;
    let n = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("tensor `{}`: shape {dims:?} overflows", t.name))?;
    if t.data_location == DataLocation::External as i32 {
        return Err(format!(
            "tensor `{}` keeps its data in an external file",
            t.name
        ));
    }
    let wrong_len = |found: usize| {
        format!(
            "tensor `{}` of shape {dims:?} holds {found} values (or bytes), expected {n}",
            t.name
        )
    };
    if let Some(d) = deferred {
        let kind = deferred_kind(t, d)?;
        if Some(d.len) != n.checked_mul(kind.width()).map(|b| b as u64) {
            return Err(wrong_len(d.len as usize));
        }
        return Ok(Values {
            dims,
            data: Vec::new(),
        });
    }
    let kind = float_kind(t)?;
    let mut data = Vec::new();
    if !t.raw_data.is_empty() {
        if Some(t.raw_data.len()) != n.checked_mul(kind.width()) {
            return Err(wrong_len(t.raw_data.len()));
        }
        data.resize(n, 0.0);
        kind.decode_le(&t.raw_data, &mut data);
    } else {
        // Outside raw_data, values sit in the field of their type; half floats in int32_data,
        // one per element.
        data = match kind {
            Float::F32 if t.float_data.len() == n => t.float_data.clone(),
            Float::F32 => return Err(wrong_len(t.float_data.len())),
            Float::F64 if t.double_data.len() == n => {
                t.double_data.iter().map(|&v| v as f32).collect()
            }
            Float::F64 => return Err(wrong_len(t.double_data.len())),
            Float::F16 | Float::BF16 if t.int32_data.len() == n => {
                let bytes: Vec<u8> = t
                    .int32_data
                    .iter()
                    .flat_map(|&v| (v as u16).to_le_bytes())
                    .collect();
                let mut out = vec![0.0; n];
                kind.decode_le(&bytes, &mut out);
                out
            }
            Float::F16 | Float::BF16 => return Err(wrong_len(t.int32_data.len())),
        };
    }
    Ok(Values { dims, data })
}

/// Integer constants (a `Reshape`'s target shape).
fn decode_i64(t: &TensorProto) -> Option<Vec<i64>> {
    if t.data_type != dtype::INT64 {
        return None;
    }
    if t.raw_data.is_empty() {
        return Some(t.int64_data.clone());
    }
    t.raw_data.len().is_multiple_of(8).then(|| {
        t.raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    })
}

/// Walks the graph's nodes in order along the data path, one layer at a time.
struct Reader<'a> {
    chain: &'a [(usize, &'a NodeProto)],
    pos: usize,
    /// The value the next layer reads.
    current: String,
    constants: &'a HashMap<&'a str, Constant<'a>>,
    /// Nodes that compute only from constants (`Sqrt`, `Max`), by output name.
    derived: &'a HashMap<&'a str, (usize, &'a NodeProto)>,
    opset: i64,
    fetch: &'a dyn Fetch,
}

impl<'a> Reader<'a> {
    /// Steps over nodes that are the identity at inference.
    fn skip_passthrough(&mut self) {
        while let Some(&(_, node)) = self.chain.get(self.pos) {
            let on_path = node.input.first() == Some(&self.current);
            if on_path && matches!(node.op_type.as_str(), "Identity" | "Dropout") {
                self.current = node.output[0].clone();
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next node on the data path, which must be one of `ops`; `what` says what the layer
    /// needed, for the error.
    fn expect(&mut self, ops: &[&str], what: &str) -> Result<(usize, &'a NodeProto), WeightsError> {
        self.skip_passthrough();
        let Some(&(i, node)) = self.chain.get(self.pos) else {
            return Err(WeightsError::GraphMismatch(format!(
                "the graph ends where {what} should follow"
            )));
        };
        let reads_current = node.input.first() == Some(&self.current);
        if !ops.contains(&node.op_type.as_str()) || !reads_current || node.output.is_empty() {
            return Err(unsupported(
                node,
                i,
                format!("expected {what} reading `{}`", self.current),
            ));
        }
        self.pos += 1;
        self.current = node.output[0].clone();
        Ok((i, node))
    }

    /// The next node if it is one of `ops` and reads the data path (as any of its inputs: an
    /// `Add` may take the bias first).
    fn optional(&mut self, ops: &[&str]) -> Option<(usize, &'a NodeProto)> {
        self.skip_passthrough();
        let &(i, node) = self.chain.get(self.pos)?;
        if ops.contains(&node.op_type.as_str())
            && node.input.contains(&self.current)
            && !node.output.is_empty()
        {
            self.pos += 1;
            self.current = node.output[0].clone();
            Some((i, node))
        } else {
            None
        }
    }

    /// The constant at input `k` of `node`, which must have `shape` (or its transpose if
    /// `transposed`, which is undone).
    fn weight(
        &self,
        (i, node): (usize, &NodeProto),
        k: usize,
        entry: &TensorEntry,
        transposed: bool,
        values: &mut [f32],
    ) -> Result<(), WeightsError> {
        let Some(name) = node.input.get(k).filter(|n| !n.is_empty()) else {
            return Err(unsupported(
                node,
                i,
                format!("no input for `{}`", entry.name),
            ));
        };
        let Some(constant) = self.constants.get(name.as_str()) else {
            return Err(unsupported(
                node,
                i,
                format!("input `{name}` for `{}` is not an initializer", entry.name),
            ));
        };
        let mut expected = entry.shape.to_vec();
        if transposed {
            expected.reverse();
        }
        let found = constant.dims().map_err(|r| unsupported(node, i, r))?;
        // A bias may come as a row, [1, OUT].
        let row_bias =
            entry.shape.len() == 1 && found.len() == 2 && found[0] == 1 && found[1] == expected[0];
        if found != expected && !row_bias {
            return Err(WeightsError::WrongShape {
                name: format!("{} (ONNX `{name}`)", entry.name),
                expected,
                found,
            });
        }
        let out = &mut values[entry.offset..entry.offset + entry.len];
        if transposed {
            let v = constant.decode(node, i, self.fetch)?.transposed();
            out.copy_from_slice(&v.data);
            return Ok(());
        }
        // The shapes agree, so the constant has exactly `out.len()` values.
        constant.decode_into(node, i, self.fetch, out)
    }

    fn layer(
        &mut self,
        layer: &LayerInfo,
        own: &[&TensorEntry],
        values: &mut [f32],
    ) -> Result<(), WeightsError> {
        let what = |s: &str| format!("{s} for layer `{}` ({})", layer.name, layer.kind);
        match layer.op {
            Op::Dense => {
                let (w, b) = (own[0], own[1]);
                let node = self.expect(&["Gemm", "MatMul"], &what("Gemm or MatMul"))?;
                let (i, n) = node;
                if n.op_type == "Gemm" {
                    let trans_b = int(n, "transB", 0);
                    if int(n, "transA", 0) != 0
                        || float(n, "alpha", 1.0) != 1.0
                        || float(n, "beta", 1.0) != 1.0
                    {
                        return Err(unsupported(
                            n,
                            i,
                            "only transA = 0, alpha = beta = 1 is a dense layer".into(),
                        ));
                    }
                    self.weight(node, 1, w, trans_b == 0, values)?;
                    if n.input.get(2).is_some_and(|s| !s.is_empty()) {
                        self.weight(node, 2, b, false, values)?;
                    } else {
                        values[b.offset..b.offset + b.len].fill(0.0);
                    }
                } else {
                    self.weight(node, 1, w, true, values)?;
                    match self.optional(&["Add"]) {
                        Some(add) => {
                            let k = usize::from(add.1.input[0] != n.output[0]);
                            // The bias is the other input of the Add.
                            self.weight(add, 1 - k, b, false, values)?;
                        }
                        None => values[b.offset..b.offset + b.len].fill(0.0),
                    }
                }
            }
            Op::Conv(conv) => {
                let node = self.expect(&["Conv"], &what("Conv"))?;
                let (i, n) = node;
                let rank = conv.kernel.len();
                let pads = match attr(n, "auto_pad").map(|a| a.s.as_slice()) {
                    None | Some(b"NOTSET") => {
                        ints(n, "pads").map_or(vec![0; 2 * rank], <[i64]>::to_vec)
                    }
                    Some(b"VALID") => vec![0; 2 * rank],
                    Some(b"SAME_UPPER") => same_upper_pads(layer, conv.kernel, conv.strides),
                    Some(other) => {
                        return Err(unsupported(
                            n,
                            i,
                            format!("auto_pad {}", String::from_utf8_lossy(other)),
                        ))
                    }
                };
                let checks = [
                    (
                        "kernel_shape",
                        ints(n, "kernel_shape").map(<[i64]>::to_vec),
                        as_i64(conv.kernel),
                    ),
                    (
                        "strides",
                        Some(ints(n, "strides").map_or(vec![1; rank], <[i64]>::to_vec)),
                        as_i64(conv.strides),
                    ),
                    ("pads", Some(pads), as_i64(conv.pads)),
                    (
                        "dilations",
                        Some(ints(n, "dilations").map_or(vec![1; rank], <[i64]>::to_vec)),
                        vec![1; rank],
                    ),
                    (
                        "group",
                        Some(vec![int(n, "group", 1)]),
                        vec![conv.groups as i64],
                    ),
                ];
                for (name, found, expected) in checks {
                    if found.is_some_and(|f| f != expected) {
                        return Err(unsupported(
                            n,
                            i,
                            format!(
                                "{name} {:?}, but layer `{}` has {expected:?}",
                                ints(n, name)
                                    .map(<[i64]>::to_vec)
                                    .unwrap_or_else(|| vec![int(n, name, 0)]),
                                layer.name
                            ),
                        ));
                    }
                }
                self.weight(node, 1, own[0], false, values)?;
                if n.input.get(2).is_some_and(|s| !s.is_empty()) {
                    self.weight(node, 2, own[1], false, values)?;
                } else {
                    values[own[1].offset..own[1].offset + own[1].len].fill(0.0);
                }
            }
            Op::MaxPool(pool) | Op::AvgPool(pool) => {
                let op = if matches!(layer.op, Op::MaxPool(_)) {
                    "MaxPool"
                } else {
                    "AveragePool"
                };
                let (i, n) = self.expect(&[op], &what(op))?;
                let rank = pool.kernel.len();
                let ok = ints(n, "kernel_shape") == Some(&as_i64(pool.kernel)[..])
                    && ints(n, "strides").map_or(vec![1; rank], <[i64]>::to_vec)
                        == as_i64(pool.strides)
                    && ints(n, "pads").is_none_or(|p| p.iter().all(|&p| p == 0))
                    && ints(n, "dilations").is_none_or(|d| d.iter().all(|&d| d == 1))
                    && attr(n, "auto_pad").is_none_or(|a| a.s == b"NOTSET" || a.s == b"VALID");
                if !ok {
                    return Err(unsupported(
                        n,
                        i,
                        format!(
                            "layer `{}` pools windows of {:?} with strides {:?} and no padding",
                            layer.name, pool.kernel, pool.strides
                        ),
                    ));
                }
            }
            Op::GlobalAvgPool => {
                self.expect(&["GlobalAveragePool"], &what("GlobalAveragePool"))?;
                // ONNX keeps the 1×1 spatial axes that constnet drops.
                self.optional(&["Flatten", "Reshape", "Squeeze"]);
            }
            Op::Flatten => {
                let (i, n) = self.expect(&["Flatten", "Reshape"], &what("Flatten"))?;
                let len: usize = layer.output_shape.iter().product();
                let ok = if n.op_type == "Flatten" {
                    int(n, "axis", 1) == 1
                } else {
                    let shape = n
                        .input
                        .get(1)
                        .and_then(|s| match self.constants.get(s.as_str()) {
                            Some(Constant::Proto(t, None)) => decode_i64(t),
                            _ => None,
                        });
                    matches!(shape.as_deref(), Some(&[a, b]) if (b == -1 && a != -1) || b == len as i64)
                };
                if !ok {
                    return Err(unsupported(
                        n,
                        i,
                        format!(
                            "layer `{}` flattens each sample to {len} values",
                            layer.name
                        ),
                    ));
                }
            }
            Op::Dropout => {}
            Op::BatchNorm { epsilon } => {
                let node = self.expect(&["BatchNormalization"], &what("BatchNormalization"))?;
                let (i, n) = node;
                let eps = float(n, "epsilon", 1e-5);
                if (eps - epsilon).abs() > 1e-9 || int(n, "training_mode", 0) != 0 {
                    return Err(unsupported(
                        n,
                        i,
                        format!(
                        "epsilon {eps}; layer `{}` uses {epsilon} (PyTorch's default) at inference",
                        layer.name
                    ),
                    ));
                }
                for (k, entry) in own.iter().enumerate() {
                    self.weight(node, k + 1, entry, false, values)?;
                }
            }
            Op::Normalization { epsilon } => {
                // Sub(x, mean), then Div by Max(Sqrt(variance), ε), as the export writes it.
                let sub = self.expect(&["Sub"], &what("Sub"))?;
                self.weight(sub, 1, own[0], false, values)?;
                let (i, div) = self.expect(&["Div"], &what("Div"))?;
                let wrong = || {
                    unsupported(
                        div,
                        i,
                        format!(
                            "layer `{}` divides by Max(Sqrt(variance), {epsilon})",
                            layer.name
                        ),
                    )
                };
                let node = |name: Option<&String>, op: &str| {
                    name.and_then(|n| self.derived.get(n.as_str()))
                        .filter(|(_, n)| n.op_type == op)
                        .copied()
                };
                let (_, max) = node(div.input.get(1), "Max").ok_or_else(wrong)?;
                let [a, b] = &max.input[..] else {
                    return Err(wrong());
                };
                let (sqrt, eps) = match node(Some(a), "Sqrt") {
                    Some(sqrt) => (sqrt, b),
                    None => (node(Some(b), "Sqrt").ok_or_else(wrong)?, a),
                };
                let is_eps = self.constants.get(eps.as_str()).is_some_and(|c| {
                    c.decode(div, i, self.fetch)
                        .is_ok_and(|v| v.data == [epsilon])
                });
                if !is_eps {
                    return Err(wrong());
                }
                self.weight(sqrt, 0, own[1], false, values)?;
            }
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: layer.name.into(),
                    reason: format!("{} layers have no ONNX import", layer.kind),
                })
            }
        }
        Ok(())
    }

    fn activation(&mut self, layer: &LayerInfo) -> Result<(), WeightsError> {
        let what = |s: &str| format!("{s} (the activation of layer `{}`)", layer.name);
        match layer.activation_op {
            Act::Identity => {}
            Act::Relu => drop(self.expect(&["Relu"], &what("Relu"))?),
            Act::Sigmoid => drop(self.expect(&["Sigmoid"], &what("Sigmoid"))?),
            Act::Tanh => drop(self.expect(&["Tanh"], &what("Tanh"))?),
            Act::LeakyRelu { slope } => {
                let (i, n) = self.expect(&["LeakyRelu"], &what("LeakyRelu"))?;
                let alpha = float(n, "alpha", 0.01);
                if (alpha - slope).abs() > 1e-7 {
                    return Err(unsupported(
                        n,
                        i,
                        format!("alpha {alpha}, but constnet's LeakyRelu has slope {slope}"),
                    ));
                }
            }
            Act::Softmax => {
                let (i, n) = self.expect(&["Softmax"], &what("Softmax"))?;
                let default = if self.opset >= 13 { -1 } else { 1 };
                let axis = int(n, "axis", default);
                // Each sample is one row [batch, N]: axis 1 and −1 are both that row.
                if layer.output_shape.len() != 1 || !(axis == 1 || axis == -1) {
                    return Err(unsupported(
                        n,
                        i,
                        "softmax must run over each sample's outputs".into(),
                    ));
                }
            }
            Act::Step => {
                let (i, n) = self.expect(&["GreaterOrEqual"], &what("GreaterOrEqual + Cast"))?;
                let zero = n.input.get(1).and_then(|s| self.constants.get(s.as_str()));
                let is_zero =
                    zero.is_some_and(|c| c.decode(n, i, self.fetch).is_ok_and(|v| v.data == [0.0]));
                if !is_zero {
                    return Err(unsupported(
                        n,
                        i,
                        "a step compares with the constant 0".into(),
                    ));
                }
                let (i, n) = self.expect(&["Cast"], &what("Cast"))?;
                if int(n, "to", 0) != i64::from(dtype::FLOAT) {
                    return Err(unsupported(n, i, "a step casts to float".into()));
                }
            }
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: layer.name.into(),
                    reason: format!("activation `{}` has no ONNX import", layer.activation),
                })
            }
        }
        Ok(())
    }
}

/// ONNX's `SAME_UPPER` padding for the layer's input and output sizes (the extra at the end, as
/// TensorFlow's 'same').
fn same_upper_pads(layer: &LayerInfo, kernel: &[usize], strides: &[usize]) -> Vec<i64> {
    let rank = kernel.len();
    let spatial_in = &layer.input_shape[layer.input_shape.len() - rank..];
    let spatial_out = &layer.output_shape[layer.output_shape.len() - rank..];
    let total: Vec<usize> = (0..rank)
        .map(|a| {
            ((spatial_out[a].max(1) - 1) * strides[a] + kernel[a]).saturating_sub(spatial_in[a])
        })
        .collect();
    let begin = total.iter().map(|t| (t / 2) as i64);
    let end = total.iter().map(|t| (t - t / 2) as i64);
    begin.chain(end).collect()
}
