//! Crafted ONNX files: every way a file can be wrong gets an error that names what is wrong.

use constnet::prelude::*;
use prost::Message;

use super::proto::{
    tensor_proto::DataLocation, AttributeProto, ModelProto, NodeProto, TensorProto,
};
use super::{dtype, export, import};
use crate::{Shape, WeightsError};

network! { struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
network! { #[input(1, 6, 6)] struct Cnn { conv: Conv2d<2, 3, Relu, stride = 1>, f: Flatten, out: Dense<32, 2> } }

fn model() -> ModelProto {
    let mut net = Net::new(1);
    net.hidden.bias = [0.5, -0.5, 0.25];
    ModelProto::decode(&export(&Shape::of::<Net, 4, 2>(&[]), net.as_slice()).unwrap()[..]).unwrap()
}

fn load(model: &ModelProto) -> Result<Box<Net>, WeightsError> {
    let mut net = Net::boxed_zeroed();
    import::<Net, 4, 2>(&model.encode_to_vec(), net.as_mut_slice())?;
    Ok(net)
}

fn err(model: &ModelProto) -> String {
    load(model).err().expect("an error").to_string()
}

fn init<'a>(model: &'a mut ModelProto, name: &str) -> &'a mut TensorProto {
    let graph = model.graph.as_mut().unwrap();
    graph
        .initializer
        .iter_mut()
        .find(|t| t.name == name)
        .unwrap()
}

#[test]
fn the_export_reads_back() {
    let net = load(&model()).unwrap();
    assert_eq!(net.hidden.bias, [0.5, -0.5, 0.25]);
}

#[test]
fn bytes_that_are_not_onnx() {
    let mut net = Net::boxed_zeroed();
    let e = import::<Net, 4, 2>(b"\xff\xff\xff\xff garbage", net.as_mut_slice()).unwrap_err();
    assert!(matches!(e, WeightsError::MalformedOnnx(_)), "{e}");
    let bytes = model().encode_to_vec();
    for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        let e = import::<Net, 4, 2>(&bytes[..cut], net.as_mut_slice()).unwrap_err();
        assert!(
            matches!(
                e,
                WeightsError::MalformedOnnx(_) | WeightsError::GraphMismatch(_)
            ),
            "cut at {cut}: {e}"
        );
    }
    let mut empty = model();
    empty.graph = None;
    assert_eq!(err(&empty), "ONNX graph: the model has no graph");
}

#[test]
fn a_node_the_layer_does_not_compute_is_named() {
    let mut m = model();
    let relu = &mut m.graph.as_mut().unwrap().node[1];
    relu.op_type = "Elu".into();
    assert_eq!(
        err(&m),
        "ONNX node `hidden.relu` (Elu): expected Relu (the activation of layer `hidden`) reading `hidden`"
    );
    let mut m = model();
    let graph = m.graph.as_mut().unwrap();
    let last = graph.node.last_mut().unwrap();
    last.output[0] = "probabilities".into();
    graph.node.push(NodeProto {
        name: "extra".into(),
        op_type: "Neg".into(),
        input: vec!["probabilities".into()],
        output: vec!["output".into()],
        ..Default::default()
    });
    assert_eq!(
        err(&m),
        "ONNX node `extra` (Neg): the network has no layer left for it"
    );
    let mut m = model();
    m.graph.as_mut().unwrap().node[0].domain = "com.microsoft".into();
    assert!(err(&m).contains("operator domain `com.microsoft`"));
}

#[test]
fn weights_must_be_finite_float_initializers_of_the_right_shape() {
    let mut m = model();
    let w = init(&mut m, "hidden.weight");
    w.raw_data[4..8].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert_eq!(err(&m), "hidden.weight[1] is inf: weights must be finite");

    let mut m = model();
    init(&mut m, "hidden.weight").dims = vec![4, 3];
    assert_eq!(
        err(&m),
        "hidden.weight (ONNX `hidden.weight`): expected [3, 4], found [4, 3]"
    );
    // A shape far too large to allocate is compared before anything is read.
    let mut m = model();
    init(&mut m, "hidden.weight").dims = vec![1 << 40, 1 << 40];
    assert!(err(&m).contains("found [1099511627776, 1099511627776]"));

    let mut m = model();
    init(&mut m, "hidden.weight").raw_data.truncate(40);
    assert!(
        err(&m).contains("holds 40 values (or bytes), expected 12"),
        "{}",
        err(&m)
    );

    let mut m = model();
    init(&mut m, "hidden.weight").data_type = 6; // INT32
    assert!(err(&m).contains("element type 6"), "{}", err(&m));

    let mut m = model();
    init(&mut m, "hidden.weight").data_location = DataLocation::External as i32;
    assert!(err(&m).contains("external file"), "{}", err(&m));

    // Weights fed as a graph input instead of an initializer.
    let mut m = model();
    let graph = m.graph.as_mut().unwrap();
    graph.node[0].input[1] = "runtime_weight".into();
    assert!(err(&m).contains("input `runtime_weight` for `hidden.weight` is not an initializer"));
}

#[test]
fn float_data_and_half_floats_are_read() {
    let mut m = model();
    let want = load(&m).unwrap();
    let w = init(&mut m, "hidden.weight");
    w.float_data = w
        .raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    w.raw_data.clear();
    assert_eq!(load(&m).unwrap().as_slice(), want.as_slice());

    let b = init(&mut m, "hidden.bias");
    b.data_type = dtype::FLOAT16;
    b.raw_data.clear();
    b.int32_data = [0.5f32, -0.5, 0.25]
        .iter()
        .map(|&v| i32::from(half::f16::from_f32(v).to_bits()))
        .collect();
    assert_eq!(load(&m).unwrap().hidden.bias, [0.5, -0.5, 0.25]);
}

#[test]
fn inputs_and_outputs_must_fit_the_network() {
    let mut m = model();
    let input = &mut m.graph.as_mut().unwrap().input[0];
    let Some(super::proto::type_proto::Value::TensorType(t)) =
        input.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!()
    };
    t.shape.as_mut().unwrap().dim[1].value =
        Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(5));
    assert_eq!(
        err(&m),
        "ONNX graph: input `input`: expected a batch of 4 values per sample, found shape [batch, 5]"
    );
}

#[test]
fn convolution_attributes_are_checked() {
    let bytes = export(&Shape::of::<Cnn, 36, 2>(&[]), Cnn::new(2).as_slice()).unwrap();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    let conv = &mut m.graph.as_mut().unwrap().node[0];
    let strides = conv
        .attribute
        .iter_mut()
        .find(|a| a.name == "strides")
        .unwrap();
    strides.ints = vec![2, 2];
    let mut net = Cnn::boxed_zeroed();
    let e = import::<Cnn, 36, 2>(&m.encode_to_vec(), net.as_mut_slice()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ONNX node `conv` (Conv): strides [2, 2], but layer `conv` has [1, 1]"
    );
    // Without the optional attributes, ONNX's defaults (stride 1, no padding) are this layer.
    let conv = &mut m.graph.as_mut().unwrap().node[0];
    conv.attribute
        .retain(|a: &AttributeProto| a.name == "kernel_shape");
    import::<Cnn, 36, 2>(&m.encode_to_vec(), net.as_mut_slice()).unwrap();
}

network! { struct Wide { hidden: Dense<64, 32, Relu>, out: Dense<32, 2> } }

fn wide() -> (Wide, Vec<u8>) {
    let net = Wide::new(7);
    let bytes = export(&Shape::of::<Wide, 64, 2>(&[]), net.as_slice()).unwrap();
    (net, bytes)
}

fn load_wide(bytes: &[u8]) -> Result<Box<Wide>, WeightsError> {
    let mut net = Wide::boxed_zeroed();
    import::<Wide, 64, 2>(bytes, net.as_mut_slice())?;
    Ok(net)
}

/// `hidden.weight` (8 KiB) is read from the source after the walk, not kept in the message.
#[test]
fn large_initializers_are_read_from_the_source() {
    let (net, bytes) = wide();
    let back = load_wide(&bytes).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    // Cut anywhere (in the deferred data too): an error, never a panic or a partial network.
    for cut in (0..bytes.len()).step_by(61) {
        let e = load_wide(&bytes[..cut]).err().expect("an error");
        assert!(
            matches!(
                e,
                WeightsError::MalformedOnnx(_)
                    | WeightsError::GraphMismatch(_)
                    | WeightsError::Truncated(_)
            ),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn large_raw_data_of_the_wrong_length_is_refused() {
    let (_, bytes) = wide();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    init(&mut m, "hidden.weight").raw_data.extend([0; 4]);
    let e = load_wide(&m.encode_to_vec())
        .err()
        .expect("an error")
        .to_string();
    assert!(
        e.contains(
            "tensor `hidden.weight` of shape [32, 64] holds 8196 values (or bytes), expected 2048"
        ),
        "{e}"
    );
    // The same data as float_data (held in the message) reads the same.
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    let t = init(&mut m, "hidden.weight");
    t.float_data = t
        .raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    t.raw_data.clear();
    assert_eq!(
        load_wide(&m.encode_to_vec()).unwrap().as_slice(),
        load_wide(&bytes).unwrap().as_slice()
    );
}

#[test]
fn a_second_graph_is_refused() {
    let (_, mut bytes) = wide();
    let graph = ModelProto::decode(&bytes[..]).unwrap().graph.unwrap();
    prost::encoding::message::encode(7, &graph, &mut bytes);
    let e = load_wide(&bytes).err().expect("an error").to_string();
    assert!(
        e.starts_with("not an ONNX model: a second graph at byte"),
        "{e}"
    );
}

#[test]
fn large_double_data_is_read_from_the_source_too() {
    let (net, bytes) = wide();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    let t = init(&mut m, "hidden.weight");
    t.double_data = t
        .raw_data
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
        .collect();
    t.raw_data.clear();
    t.data_type = dtype::DOUBLE;
    assert_eq!(
        load_wide(&m.encode_to_vec()).unwrap().as_slice(),
        net.as_slice()
    );
    // Doubles in a tensor that says it holds floats are not reinterpreted.
    init(&mut m, "hidden.weight").data_type = dtype::FLOAT;
    let e = load_wide(&m.encode_to_vec())
        .err()
        .expect("an error")
        .to_string();
    assert!(
        e.contains("keeps its values in the field of type 11"),
        "{e}"
    );
}

/// Memory for what is not tensor data is capped: a file cannot take memory in proportion to its
/// size by hiding bulk in a doc string or a node.
#[test]
fn more_than_32_mib_of_graph_is_refused() {
    let (_, bytes) = wide();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    m.graph.as_mut().unwrap().doc_string = "x".repeat(33 << 20);
    let e = load_wide(&m.encode_to_vec())
        .err()
        .expect("an error")
        .to_string();
    assert!(e.contains("more than 32 MiB of graph"), "{e}");
    m.graph.as_mut().unwrap().doc_string = "x".repeat(1 << 20);
    assert!(load_wide(&m.encode_to_vec()).is_ok());
}

/// Found by the fuzzer: a key whose field number is beyond protobuf's 2^29 - 1 (prost's encoder
/// asserts on it when the walk re-encoded the key).
#[test]
fn a_field_number_beyond_protobuf_s_range_is_refused() {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(u64::from(u32::MAX) << 3, &mut bytes);
    bytes.push(0);
    let e = load_wide(&bytes).err().expect("an error").to_string();
    assert!(e.contains("an invalid field number at byte 0"), "{e}");
    let crash = include_bytes!("../../../fuzz/corpus/onnx/field-number-beyond-range");
    assert!(load_wide(crash).is_err());
}
