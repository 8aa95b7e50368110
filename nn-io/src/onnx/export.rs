use nn_core::activation::Op as Act;
use nn_core::layer::Op;
use nn_core::LayerInfo;
use prost::Message;

use super::dtype;
use super::proto::{
    attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use crate::{Shape, WeightsError};

/// The opset the graph is written against: Softmax over the last axis is opset 13's meaning.
const OPSET: i64 = 13;
/// ONNX IR version 7 is what opset 13 came with; every runtime that runs opset 13 reads it.
const IR_VERSION: i64 = 7;

/// The network described by `shape`, with parameters `values`, as an ONNX model.
pub(crate) fn export(shape: &Shape<'_>, values: &[f32]) -> Result<Vec<u8>, WeightsError> {
    let (summary, entries) = (&shape.summary, &shape.entries);
    let (input, output) = (shape.input, shape.output);
    let mut graph = Graph {
        nodes: Vec::new(),
        initializers: entries
            .iter()
            .map(|e| float_tensor(&e.name, e.shape, &values[e.offset..e.offset + e.len]))
            .collect(),
    };

    let flat = [input];
    let input_shape = summary.layers.first().map_or(&flat[..], |l| l.input_shape);
    let mut current = "input".to_string();
    for (i, layer) in summary.layers.iter().enumerate() {
        current = graph.layer(layer, &current)?;
        current = graph.activation(layer, &current)?;
        if i + 1 == summary.layers.len() && current != "input" {
            graph.rename_output(&current, "output");
            current = "output".into();
        }
    }
    if current != "output" {
        // No layer computed anything (a network of dropouts): the output is the input.
        graph.node("Identity", "output", &[&current], vec![]);
    }

    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "constnet".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            name: summary.name.into(),
            node: graph.nodes,
            initializer: graph.initializers,
            input: vec![value_info("input", input_shape)],
            output: vec![value_info("output", &[output])],
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}

pub(super) struct Graph {
    pub(super) nodes: Vec<NodeProto>,
    pub(super) initializers: Vec<TensorProto>,
}

impl Graph {
    /// Appends a node computing `output` and returns that name.
    pub(super) fn node(
        &mut self,
        op: &str,
        output: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            name: output.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        });
        output.into()
    }

    fn rename_output(&mut self, from: &str, to: &str) {
        if let Some(node) = self.nodes.iter_mut().rev().find(|n| n.output[0] == from) {
            node.output[0] = to.into();
        }
    }

    /// The layer's own computation, without its activation.
    fn layer(&mut self, layer: &LayerInfo, x: &str) -> Result<String, WeightsError> {
        let name = layer.name;
        let param = |t: &str| format!("{name}.{t}");
        let (w, b) = (param("weight"), param("bias"));
        Ok(match layer.op {
            Op::Dense => self.node("Gemm", name, &[x, &w, &b], vec![int("transB", 1)]),
            Op::Conv(conv) => self.node(
                "Conv",
                name,
                &[x, &w, &b],
                vec![
                    ints("kernel_shape", conv.kernel),
                    ints("strides", conv.strides),
                    ints("pads", conv.pads),
                    ints("dilations", &vec![1; conv.kernel.len()]),
                    int("group", conv.groups as i64),
                ],
            ),
            Op::MaxPool(pool) | Op::AvgPool(pool) => {
                let op = if matches!(layer.op, Op::MaxPool(_)) {
                    "MaxPool"
                } else {
                    "AveragePool"
                };
                self.node(
                    op,
                    name,
                    &[x],
                    vec![
                        ints("kernel_shape", pool.kernel),
                        ints("strides", pool.strides),
                    ],
                )
            }
            Op::GlobalAvgPool => {
                // ONNX keeps the spatial axes (size 1); constnet's output is one value per channel.
                let pooled =
                    self.node("GlobalAveragePool", &format!("{name}.pooled"), &[x], vec![]);
                self.node("Flatten", name, &[&pooled], vec![int("axis", 1)])
            }
            Op::Flatten => self.node("Flatten", name, &[x], vec![int("axis", 1)]),
            Op::Dropout => x.into(),
            Op::BatchNorm { epsilon } => self.node(
                "BatchNormalization",
                name,
                &[x, &w, &b, &param("running_mean"), &param("running_var")],
                vec![float("epsilon", epsilon)],
            ),
            Op::Normalization { epsilon } => {
                // (x − mean) / max(√variance, ε) node for node as Keras computes it, so that
                // onnxruntime gives the same bits and the file keeps mean and variance as they are.
                let eps = format!("{name}.epsilon");
                self.initializers.push(float_tensor(&eps, &[], &[epsilon]));
                let centred = format!("{name}.centred");
                let centred = self.node("Sub", &centred, &[x, &param("mean")], vec![]);
                let std = format!("{name}.std");
                let std = self.node("Sqrt", &std, &[&param("variance")], vec![]);
                let scale = self.node("Max", &format!("{name}.scale"), &[&std, &eps], vec![]);
                self.node("Div", name, &[&centred, &scale], vec![])
            }
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: name.into(),
                    reason: format!("{} layers have no ONNX export", layer.kind),
                })
            }
        })
    }

    fn activation(&mut self, layer: &LayerInfo, x: &str) -> Result<String, WeightsError> {
        let out = format!("{}.{}", layer.name, layer.activation);
        Ok(match layer.activation_op {
            Act::Identity => x.into(),
            Act::Relu => self.node("Relu", &out, &[x], vec![]),
            Act::Sigmoid => self.node("Sigmoid", &out, &[x], vec![]),
            Act::Tanh => self.node("Tanh", &out, &[x], vec![]),
            Act::LeakyRelu { slope } => {
                self.node("LeakyRelu", &out, &[x], vec![float("alpha", slope)])
            }
            // constnet's softmax runs over the whole output of a sample; ONNX's over one axis.
            Act::Softmax if layer.output_shape.len() == 1 => {
                self.node("Softmax", &out, &[x], vec![int("axis", -1)])
            }
            Act::Step => {
                // 1 where z ≥ 0, else 0: a comparison with a zero scalar, cast back to float.
                let zero = format!("{}.step_zero", layer.name);
                self.initializers.push(float_tensor(&zero, &[], &[0.0]));
                let mask = self.node(
                    "GreaterOrEqual",
                    &format!("{out}.mask"),
                    &[x, &zero],
                    vec![],
                );
                self.node("Cast", &out, &[&mask], vec![int("to", dtype::FLOAT.into())])
            }
            _ => {
                return Err(WeightsError::Unsupported {
                    layer: layer.name.into(),
                    reason: format!(
                        "activation `{}` on an output of shape {:?} has no ONNX export",
                        layer.activation, layer.output_shape
                    ),
                })
            }
        })
    }
}

pub(super) fn float_tensor(name: &str, shape: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: dtype::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float tensor value with a symbolic batch dimension before `shape`.
pub(super) fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    use tensor_shape_proto::{dimension::Value, Dimension};
    let batch = Dimension {
        value: Some(Value::DimParam("batch".into())),
        ..Default::default()
    };
    let dims = shape.iter().map(|&d| Dimension {
        value: Some(Value::DimValue(d as i64)),
        ..Default::default()
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: dtype::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int.into(),
        i,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints.into(),
        ints: values.iter().map(|&v| v as i64).collect(),
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float.into(),
        f,
        ..Default::default()
    }
}
