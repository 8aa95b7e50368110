//! Int8 networks as ONNX models in QuantizeLinear / DequantizeLinear (QDQ) form, the form ONNX
//! Runtime's own quantiser writes: every int8 tensor an initializer, each layer
//! `DQ(x) · DQ(W) + DQ(b)`, its fused ReLU, then `Q` and `DQ` at the output's parameters.
//! Runtimes fuse the pattern into integer kernels (QLinearMatMul) or run it in float; either way
//! the values are constnet's to within a quantisation step.

use nn_core::activation::Op as Act;
use nn_core::quant::{QLayerShape, QOp, QuantizedNetwork};
use prost::Message;

use super::dtype;
use super::export::{int, value_info, Graph};
use super::proto::{
    attribute_proto::AttributeType, AttributeProto, GraphProto, ModelProto, OperatorSetIdProto,
    TensorProto,
};
use crate::int8::{entries, Kind, QEntry};
use crate::WeightsError;

/// Per-axis `QuantizeLinear` / `DequantizeLinear` came with opset 13.
const OPSET: i64 = 13;
const IR_VERSION: i64 = 7;

/// The element type codes of the int8 form.
const INT8: i32 = 3;
const INT32: i32 = 6;

fn tensor(e: &QEntry, bytes: &[u8]) -> TensorProto {
    let data = &bytes[e.offset..e.offset + e.len];
    let (data_type, dims, raw_data) = match e.kind {
        Kind::I8 if e.shape.len() == 2 => {
            // MatMul multiplies by `[I, O]`: the transpose of the stored `[O, I]` rows.
            let (o, i) = (e.shape[0], e.shape[1]);
            let t = (0..i * o).map(|k| data[(k % o) * i + k / o]).collect();
            (INT8, vec![i as i64, o as i64], t)
        }
        Kind::I8 => (INT8, dims(&e.shape), data.to_vec()),
        // Stored as an i32, valid only in [-128, 127]: Q/DQ want the int8 type of the data.
        Kind::ZeroPoint => (INT8, dims(&e.shape), vec![data[0]]),
        Kind::I32 => (INT32, dims(&e.shape), data.to_vec()),
        Kind::F32 => (dtype::FLOAT, dims(&e.shape), data.to_vec()),
    };
    TensorProto {
        name: e.name.clone(),
        dims,
        data_type,
        raw_data,
        ..Default::default()
    }
}

fn dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

/// The names of the scale and zero point of layer `i`'s input: the output of the last layer
/// before it that has parameters, or the network's input.
fn params_of(layers: &[QLayerShape], i: usize) -> (String, String) {
    match layers[..i].iter().rev().find(|l| l.bytes > 0) {
        Some(l) => (
            format!("{}.output_scale", l.name),
            format!("{}.output_zero_point", l.name),
        ),
        None => ("input.scale".into(), "input.zero_point".into()),
    }
}

fn ints_attr(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints.into(),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// The graph's nodes for these layers (no initializers): what export writes and import expects.
fn nodes(layers: &[QLayerShape]) -> Result<Graph, WeightsError> {
    let mut g = Graph {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    let q = g.node(
        "QuantizeLinear",
        "input.q",
        &["input", "input.scale", "input.zero_point"],
        vec![],
    );
    let mut x = g.node(
        "DequantizeLinear",
        "input.dq",
        &[&q, "input.scale", "input.zero_point"],
        vec![],
    );
    for (i, l) in layers.iter().enumerate() {
        let last = i + 1 == layers.len();
        let n = l.name;
        let p = |t: &str| format!("{n}.{t}");
        let (w_axis, conv) = match l.op {
            QOp::Dense => (1, None),
            QOp::Conv2d {
                kernel,
                stride,
                pads,
                ..
            } => (0, Some((kernel, stride, pads, 1))),
            QOp::DepthwiseConv2d {
                channels,
                kernel,
                stride,
                pads,
                ..
            } => (0, Some((kernel, stride, pads, channels))),
            QOp::AvgPool2d { pool } => {
                // The average of the dequantised values, then Q/DQ at the input's parameters:
                // the int8 layer rounds the average of the codes to a code.
                let pool = vec![pool as i64; 2];
                let avg = g.node(
                    "AveragePool",
                    &p("avgpool"),
                    &[&x],
                    vec![
                        ints_attr("kernel_shape", &pool),
                        ints_attr("strides", &pool),
                    ],
                );
                let (scale, zp) = params_of(layers, i);
                let q = g.node(
                    "QuantizeLinear",
                    &p("avgpool.q"),
                    &[&avg, &scale, &zp],
                    vec![],
                );
                x = g.node(
                    "DequantizeLinear",
                    &p("avgpool.dq"),
                    &[&q, &scale, &zp],
                    vec![],
                );
                continue;
            }
            QOp::MaxPool2d { pool } => {
                // On the dequantised values: the max of codes is the code of the max, so the
                // values (and their parameters) stay exact without a Q/DQ pair.
                let pool = vec![pool as i64; 2];
                x = g.node(
                    "MaxPool",
                    &p("maxpool"),
                    &[&x],
                    vec![
                        ints_attr("kernel_shape", &pool),
                        ints_attr("strides", &pool),
                    ],
                );
                continue;
            }
            QOp::Flatten => {
                x = g.node("Flatten", &p("flatten"), &[&x], vec![int("axis", 1)]);
                continue;
            }
            QOp::Identity => continue,
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: n.into(),
                    reason: "this int8 layer has no ONNX export".into(),
                })
            }
        };
        let w = g.node(
            "DequantizeLinear",
            &p("weight.dq"),
            &[&p("weight"), &p("weight_scale"), &p("weight_zero_point")],
            vec![int("axis", w_axis)],
        );
        let b = g.node(
            "DequantizeLinear",
            &p("bias.dq"),
            &[&p("bias"), &p("bias_scale"), &p("bias_zero_point")],
            vec![int("axis", 0)],
        );
        let mut y = match conv {
            None => {
                let mm = g.node("MatMul", &p("matmul"), &[&x, &w], vec![]);
                g.node("Add", &p("add"), &[&mm, &b], vec![])
            }
            Some((kernel, stride, pads, group)) => g.node(
                "Conv",
                &p("conv"),
                &[&x, &w, &b],
                vec![
                    ints_attr("kernel_shape", &[kernel as i64; 2]),
                    ints_attr("strides", &[stride as i64; 2]),
                    ints_attr("pads", &pads.map(|v| v as i64)),
                    int("group", group as i64),
                ],
            ),
        };
        let float_after = match l.activation {
            Act::Relu => {
                y = g.node("Relu", &p("relu"), &[&y], vec![]);
                None
            }
            Act::Identity => None,
            other if last => Some(other),
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: n.into(),
                    reason: format!("activation `{}` has no int8 form", l.activation_name),
                })
            }
        };
        let yq = g.node(
            "QuantizeLinear",
            &p("output.q"),
            &[&y, &p("output_scale"), &p("output_zero_point")],
            vec![],
        );
        x = g.node(
            "DequantizeLinear",
            &p("output.dq"),
            &[&yq, &p("output_scale"), &p("output_zero_point")],
            vec![],
        );
        if last {
            g.node("Identity", "logits", &[&x], vec![]);
            match float_after {
                None => g.node("Identity", "output", &[&x], vec![]),
                Some(Act::Softmax) => g.node("Softmax", "output", &[&x], vec![int("axis", -1)]),
                Some(Act::Sigmoid) => g.node("Sigmoid", "output", &[&x], vec![]),
                Some(Act::Tanh) => g.node("Tanh", "output", &[&x], vec![]),
                Some(_) => {
                    return Err(WeightsError::Unsupported {
                        layer: n.into(),
                        reason: format!(
                            "activation `{}` has no ONNX export after an int8 layer",
                            l.activation_name
                        ),
                    })
                }
            };
        }
    }
    Ok(g)
}

/// Initializers besides the stored tensors: the weights' zero points (0, symmetric) and the
/// biases' scales (`input_scale · weight_scale`, in f32 as TFLite computes them) and zero points.
fn derived(layers: &[QLayerShape], bytes: &[u8]) -> Vec<TensorProto> {
    let f32_at = |at: usize| f32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let mut out = Vec::new();
    let mut input_scale = f32_at(0);
    let mut at = 8;
    for l in layers.iter().filter(|l| l.bytes > 0) {
        let (i, o) = (l.fan_in(), l.channels());
        let scales = at + i * o + 4 * o;
        let bias_scale: Vec<u8> = (0..o)
            .flat_map(|k| (input_scale * f32_at(scales + 4 * k)).to_le_bytes())
            .collect();
        let t = |name: &str, data_type, raw_data| TensorProto {
            name: format!("{}.{name}", l.name),
            dims: vec![o as i64],
            data_type,
            raw_data,
            ..Default::default()
        };
        out.push(t("weight_zero_point", INT8, vec![0; o]));
        out.push(t("bias_scale", dtype::FLOAT, bias_scale));
        out.push(t("bias_zero_point", INT32, vec![0; 4 * o]));
        // The next layer with parameters reads this output (pools and flatten keep its scale).
        input_scale = f32_at(at + l.bytes - 8);
        at += l.bytes;
    }
    out
}

pub(crate) fn export<T: QuantizedNetwork>(net: &T) -> Result<Vec<u8>, WeightsError> {
    let mut bytes = vec![0; T::WEIGHT_BYTES];
    net.write_le_bytes(&mut bytes);
    let mut graph = nodes(T::LAYERS)?;
    graph.initializers = entries(T::LAYERS)
        .iter()
        .map(|e| tensor(e, &bytes))
        .chain(derived(T::LAYERS, &bytes))
        .collect();
    let (inputs, outputs) = io_widths(T::LAYERS);
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "constnet".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            name: "int8".into(),
            node: graph.nodes,
            initializer: graph.initializers,
            input: vec![value_info("input", &input_shape(T::LAYERS, inputs))],
            output: vec![
                value_info("output", &[outputs]),
                value_info("logits", &[outputs]),
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}

/// One sample's input shape: `[C, H, W]` before a convolution, else flat.
fn input_shape(layers: &[QLayerShape], inputs: usize) -> Vec<usize> {
    match layers.first().map(|l| l.op) {
        Some(
            QOp::Conv2d {
                channels, input, ..
            }
            | QOp::DepthwiseConv2d {
                channels, input, ..
            },
        ) => vec![channels, input[0], input[1]],
        _ => vec![inputs],
    }
}

fn io_widths(layers: &[QLayerShape]) -> (usize, usize) {
    (
        layers.first().map_or(0, |l| l.inputs),
        layers.last().map_or(0, |l| l.outputs),
    )
}

/// The largest file read: each stored value as a 10-byte varint (int32_data), the derived
/// tensors, and a graph of a few kilobytes per layer.
pub(crate) fn max_file_len<T: QuantizedNetwork>() -> u64 {
    10 * T::WEIGHT_BYTES as u64 + 64 * 1024 * (T::LAYERS.len() as u64 + 1)
}

/// Reads what [`export`] wrote: the same nodes, and every stored tensor by name, of the right
/// type and shape. The derived initializers must agree with the stored ones.
pub(crate) fn import<T: QuantizedNetwork>(file: &[u8]) -> Result<T, WeightsError> {
    let model = ModelProto::decode(file).map_err(|e| WeightsError::MalformedOnnx(e.to_string()))?;
    // Per-axis Q/DQ means opset 13 or later; a model without it is not one export wrote.
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version);
    if opset.is_none_or(|v| v < OPSET) {
        return Err(WeightsError::MalformedOnnx(format!(
            "default-domain opset {opset:?}; the int8 form needs {OPSET} or later"
        )));
    }
    let graph = model
        .graph
        .ok_or_else(|| WeightsError::MalformedOnnx("the model has no graph".into()))?;
    let names =
        |v: &[super::proto::ValueInfoProto]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    if names(&graph.input) != ["input"] || names(&graph.output) != ["output", "logits"] {
        return Err(WeightsError::GraphMismatch(format!(
            "inputs {:?} and outputs {:?}; the int8 form has [\"input\"] and [\"output\", \"logits\"]",
            names(&graph.input),
            names(&graph.output)
        )));
    }
    let expected = nodes(T::LAYERS)?;
    if graph.node.len() != expected.nodes.len() {
        return Err(WeightsError::GraphMismatch(format!(
            "{} nodes, but the int8 form of this network has {}",
            graph.node.len(),
            expected.nodes.len()
        )));
    }
    for (found, want) in graph.node.iter().zip(&expected.nodes) {
        let same_attrs = found.attribute.len() == want.attribute.len()
            && found
                .attribute
                .iter()
                .zip(&want.attribute)
                .all(|(a, b)| a.name == b.name && a.i == b.i && a.ints == b.ints);
        if found.op_type != want.op_type
            || found.input != want.input
            || found.output != want.output
            || !same_attrs
        {
            return Err(WeightsError::GraphMismatch(format!(
                "node `{}` ({}) where the int8 form has `{}` ({}) with inputs {:?}",
                found.name, found.op_type, want.name, want.op_type, want.input
            )));
        }
    }
    let mut bytes = vec![0u8; T::WEIGHT_BYTES];
    let wanted = entries(T::LAYERS);
    for e in &wanted {
        let t = graph
            .initializer
            .iter()
            .find(|t| t.name == e.name)
            .ok_or_else(|| WeightsError::MissingTensor {
                name: e.name.clone(),
                in_file: graph.initializer.iter().map(|t| t.name.clone()).collect(),
            })?;
        read_tensor(t, e, &mut bytes[e.offset..e.offset + e.len])?;
    }
    let net = T::try_from_le_bytes(&bytes).map_err(WeightsError::Int8)?;
    // The derived tensors are recomputed, not trusted: they must be what export writes.
    for d in derived(T::LAYERS, &bytes) {
        let found = graph.initializer.iter().find(|t| t.name == d.name);
        if found.map(|t| (&t.raw_data, &t.dims, t.data_type))
            != Some((&d.raw_data, &d.dims, d.data_type))
        {
            return Err(WeightsError::GraphMismatch(format!(
                "initializer `{}` is missing or differs from the int8 form's (derived from the \
                 stored scales)",
                d.name
            )));
        }
    }
    let known = wanted.len() + 3 * T::LAYERS.iter().filter(|l| l.bytes > 0).count();
    if graph.initializer.len() != known {
        let extra = graph
            .initializer
            .iter()
            .find(|t| {
                !wanted.iter().any(|e| e.name == t.name)
                    && !t.name.ends_with("_zero_point")
                    && !t.name.ends_with("bias_scale")
            })
            .map_or_else(|| "a duplicate".to_string(), |t| t.name.clone());
        return Err(WeightsError::UnexpectedTensor { name: extra });
    }
    Ok(net)
}

/// One stored tensor's values into `out` (little-endian, `[O, I]` rows for weights).
fn read_tensor(t: &TensorProto, e: &QEntry, out: &mut [u8]) -> Result<(), WeightsError> {
    let shape: Vec<usize> = match e.kind {
        Kind::I8 if e.shape.len() == 2 => vec![e.shape[1], e.shape[0]],
        _ => e.shape.clone(),
    };
    let found: Vec<i64> = t.dims.clone();
    if found != dims(&shape) {
        return Err(WeightsError::WrongShape {
            name: e.name.clone(),
            expected: shape,
            found: found.iter().map(|&d| d.max(0) as usize).collect(),
        });
    }
    let (want_type, width) = match e.kind {
        Kind::I8 | Kind::ZeroPoint => (INT8, 1),
        Kind::I32 => (INT32, 4),
        Kind::F32 => (dtype::FLOAT, 4),
    };
    if t.data_type != want_type {
        return Err(WeightsError::Int8Dtype {
            name: e.name.clone(),
            expected: e.kind.name(),
            found: format!("ONNX element type {}", t.data_type),
        });
    }
    let len = match e.kind {
        Kind::ZeroPoint => 1,
        _ => e.len,
    };
    let n = len / width;
    let mut values = vec![0u8; len];
    if !t.raw_data.is_empty() {
        if t.raw_data.len() != len {
            return Err(WeightsError::Truncated(format!(
                "{}: {} bytes of data, expected {}",
                e.name,
                t.raw_data.len(),
                len
            )));
        }
        values.copy_from_slice(&t.raw_data);
    } else if e.kind == Kind::F32 && t.float_data.len() == n {
        for (dst, v) in values.chunks_exact_mut(4).zip(&t.float_data) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
    } else if e.kind != Kind::F32 && t.int32_data.len() == n {
        for (k, v) in t.int32_data.iter().enumerate() {
            if matches!(e.kind, Kind::I8 | Kind::ZeroPoint) {
                values[k] = i8::try_from(*v).map_err(|_| {
                    WeightsError::GraphMismatch(format!("{}: {v} is not an int8", e.name))
                })? as u8;
            } else {
                values[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    } else {
        return Err(WeightsError::Truncated(format!(
            "{}: no data of the expected {n} values",
            e.name
        )));
    }
    if e.kind == Kind::I8 && e.shape.len() == 2 {
        // Back from `[I, O]` to rows per output.
        let (o, i) = (e.shape[0], e.shape[1]);
        for r in 0..o {
            for c in 0..i {
                out[r * i + c] = values[c * o + r];
            }
        }
    } else if e.kind == Kind::ZeroPoint {
        out.copy_from_slice(&i32::from(values[0] as i8).to_le_bytes());
    } else {
        out.copy_from_slice(&values);
    }
    Ok(())
}
