//! safetensors and ONNX, in and out: PyTorch's reference files (made by
//! `scripts/reference/interop.py`, torch 2.15), round trips for every layer kind, and one crafted
//! file per error.

use std::path::{Path, PathBuf};

use constnet::prelude::*;
use safetensors::SafeTensors;

network! { pub struct Mlp { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }

network! {
    #[input(1, 28, 28)]
    pub struct SmallCnn {
        conv1: Conv2d<8, 3, Relu>,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<16, 4>,
        bn: BatchNorm,
        pool2: AvgPool2d<2>,
        flat: Flatten,
        out: Dense<400, 10, Softmax>,
    }
}

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/interop")
        .join(name)
}

/// The recorded inputs (flattened per sample) and torch's outputs.
fn recorded(name: &str) -> (Vec<f32>, Vec<[f32; 10]>) {
    let bytes = std::fs::read(reference(name)).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let floats = |t: &str| -> Vec<f32> {
        let view = file.tensor(t).unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        view.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let output = floats("output");
    (
        floats("input"),
        output
            .chunks_exact(10)
            .map(|c| c.try_into().unwrap())
            .collect(),
    )
}

/// Largest absolute difference between the network's outputs and torch's over the 200 samples.
fn max_diff<N: Network<784, 10>>(net: &N, io: &str) -> f32 {
    let (input, expected) = recorded(io);
    assert_eq!(expected.len(), 200);
    let mut worst = 0.0_f32;
    for (x, want) in input.chunks_exact(784).zip(&expected) {
        let y = net.forward(x.try_into().unwrap());
        for (a, b) in y.iter().zip(want) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn torch_mlp_from_safetensors_matches_torch() {
    let net = Mlp::load_safetensors(&reference("mlp.safetensors")).unwrap();
    let diff = max_diff(&net, "mlp_io.safetensors");
    assert!(diff < 1e-5, "max |constnet − torch| = {diff}");
}

#[test]
fn torch_mlp_from_a_sequential_state_dict_with_a_rename_map() {
    let path = reference("mlp_sequential.safetensors");
    let err = Mlp::load_safetensors(&path).err().unwrap();
    assert_eq!(
        err.to_string(),
        "missing tensor `hidden.weight` (the file has `0.bias`, `0.weight`, `2.bias`, `2.weight`)"
    );
    let seq = [("hidden", "0"), ("out", "2")];
    let net = Mlp::load_safetensors_renamed(&path, &seq).unwrap();
    assert!(max_diff(&*net, "mlp_io.safetensors") < 1e-5);
}

#[test]
fn torch_mlp_from_onnx_matches_torch() {
    let net = Mlp::load_onnx(&reference("mlp.onnx")).unwrap();
    assert!(max_diff(&net, "mlp_io.safetensors") < 1e-5);
    let from_st = Mlp::load_safetensors(&reference("mlp.safetensors")).unwrap();
    assert_eq!(net.as_slice(), from_st.as_slice());
}

#[test]
fn keras_style_onnx_with_matmul_add_and_transposed_kernels() {
    let net = Mlp::load_onnx(&reference("keras_style_mlp.onnx")).unwrap();
    let from_st = Mlp::load_safetensors(&reference("mlp.safetensors")).unwrap();
    assert_eq!(net.as_slice(), from_st.as_slice());
}

#[test]
fn torch_cnn_with_batch_norm_matches_torch() {
    let net = SmallCnn::load_safetensors(&reference("cnn.safetensors")).unwrap();
    let diff = max_diff(&net, "cnn_io.safetensors");
    assert!(diff < 1e-5, "max |constnet − torch| = {diff}");
    let onnx = SmallCnn::load_onnx(&reference("cnn.onnx")).unwrap();
    assert_eq!(onnx.as_slice(), net.as_slice());
}

#[test]
fn a_file_for_another_network_names_the_tensor_and_both_shapes() {
    network! { struct Narrow { hidden: Dense<784, 32, Relu>, out: Dense<32, 10, Softmax> } }
    let err = Narrow::load_safetensors(&reference("mlp.safetensors"))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "hidden.weight: expected [32, 784], found [64, 784]"
    );
    let err = Narrow::load_onnx(&reference("mlp.onnx")).err().unwrap();
    assert!(
        err.to_string()
            .contains("hidden.weight (ONNX `hidden.weight`): expected [32, 784], found [64, 784]"),
        "{err}"
    );
    // An MLP's ONNX file is not a CNN.
    let err = SmallCnn::load_onnx(&reference("mlp.onnx")).err().unwrap();
    assert!(err.to_string().contains("expected Conv"), "{err}");
}

network! {
    /// Every layer kind and activation that exports, in one network.
    #[input(2, 12, 12)]
    struct Everything {
        conv: Conv2d<4, 3, Tanh, padding = Same, stride = 2>, // 4×6×6
        bn: BatchNorm,
        dw: DepthwiseConv2d<3, LeakyRelu>,                   // 4×4×4
        max: MaxPool2d<2>,                                    // 4×2×2
        avg: AvgPool2d<2>,                                    // 4×1×1
        flat: Flatten,
        drop: Dropout<10>,
        dense: Dense<4, 6, Sigmoid>,
        bnd: BatchNorm,
        out: Dense<6, 3, Softmax>,
    }
}

network! {
    #[input(3, 16)]
    struct OneD {
        conv: Conv1d<4, 3, Relu, padding = Same>,
        pool: MaxPool1d<2>,
        avg: AvgPool1d<2>,
        bn: BatchNorm,
        gap: GlobalAvgPool,
        out: Dense<4, 2, Sigmoid>,
    }
}

network! {
    /// The two kinds the others leave out: global average pooling over a plane, flattening (C, L).
    #[input(2, 6, 6)]
    struct Rest {
        conv: Conv2d<3, 3, Relu>,
        gap: GlobalAvgPool,
        out: Dense<3, 2, Softmax>,
    }
}

network! {
    #[input(2, 8)]
    struct FlatOneD {
        conv: Conv1d<3, 3, Tanh>,
        flat: Flatten,
        out: Dense<18, 2>,
    }
}

network! {
    /// Keras' normalisation first, as a tabular model has it.
    struct Normed {
        norm: Normalization<6>,
        hidden: Dense<6, 4, Tanh>,
        out: Dense<4, 2, Softmax>,
    }
}

/// Weights whose every value differs, running statistics included (variances positive).
fn scrambled<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(net: &mut N) {
    let values = net.as_mut_slice();
    for (i, v) in values.iter_mut().enumerate() {
        *v = ((i * 7919 % 1013) as f32 / 1013.0 - 0.3) * 1.5 + 0.01;
    }
    for t in constnet::io::tensors::<N, IN, OUT>(&[]) {
        if t.name.ends_with("running_var") || t.name.ends_with(".variance") {
            values[t.offset..t.offset + t.len]
                .iter_mut()
                .for_each(|v| *v = v.abs() + 0.1);
        }
    }
}

#[test]
fn round_trips_are_bit_identical_for_every_layer_kind() {
    let mut net = Everything::new(3);
    scrambled(&mut net);
    let back = Everything::from_safetensors_bytes(&net.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
    let back = Everything::from_onnx_bytes(&net.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());

    let mut one = OneD::new(4);
    scrambled(&mut one);
    let back = OneD::from_safetensors_bytes(&one.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), one.as_slice());
    let back = OneD::from_onnx_bytes(&one.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), one.as_slice());

    let mut rest = Rest::new(5);
    scrambled(&mut rest);
    let back = Rest::from_safetensors_bytes(&rest.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), rest.as_slice());
    let back = Rest::from_onnx_bytes(&rest.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), rest.as_slice());

    let mut flat = FlatOneD::new(6);
    scrambled(&mut flat);
    let back = FlatOneD::from_safetensors_bytes(&flat.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), flat.as_slice());
    let back = FlatOneD::from_onnx_bytes(&flat.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), flat.as_slice());

    let mut normed = Normed::new(7);
    scrambled(&mut normed);
    let back = Normed::from_safetensors_bytes(&normed.to_safetensors_bytes()).unwrap();
    assert_eq!(back.as_slice(), normed.as_slice());
    let back = Normed::from_onnx_bytes(&normed.to_onnx_bytes().unwrap()).unwrap();
    assert_eq!(back.as_slice(), normed.as_slice());
}

#[test]
fn files_round_trip_and_a_failed_save_keeps_the_old_file() {
    let dir = tempdir("files");
    let net = Everything::new(9);
    let st = dir.join("net.safetensors");
    net.save_safetensors(&st).unwrap();
    let onnx = dir.join("net.onnx");
    net.save_onnx(&onnx).unwrap();
    assert_eq!(
        Everything::load_safetensors(&st).unwrap().as_slice(),
        net.as_slice()
    );
    assert_eq!(
        Everything::load_onnx_boxed(&onnx).unwrap().as_slice(),
        net.as_slice()
    );
    // Saving into a directory that does not exist fails with the path; nothing is left behind.
    let missing = dir.join("no/such/dir/net.safetensors");
    let err = net.save_safetensors(&missing).err().unwrap();
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    let err = Everything::load_safetensors(&dir.join("absent.safetensors"))
        .err()
        .unwrap();
    assert!(matches!(err, WeightsError::Io { .. }), "{err}");
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
}

#[test]
fn a_file_larger_than_any_file_of_the_network_is_refused_before_reading() {
    let dir = tempdir("large");
    let path = dir.join("huge.safetensors");
    // A sparse file: 1 GB that takes no disk space and must not be read.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let err = Mlp::load_safetensors(&path).err().unwrap();
    assert!(
        matches!(err, WeightsError::TooLarge { found, .. } if found == 1 << 30),
        "{err}"
    );
    let err = Mlp::load_onnx(&path).err().unwrap();
    assert!(matches!(err, WeightsError::TooLarge { .. }), "{err}");
}

network! { struct Tiny { hidden: Dense<2, 3, Relu>, out: Dense<3, 1> } }

/// A safetensors file from a JSON header and data, as the format lays it out.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Tiny's four tensors in F32, with `data` for all 13 values.
fn tiny_header(extra: &str) -> String {
    format!(
        r#"{{"hidden.weight":{{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}},
"hidden.bias":{{"dtype":"F32","shape":[3],"data_offsets":[24,36]}},
"out.weight":{{"dtype":"F32","shape":[1,3],"data_offsets":[36,48]}},
"out.bias":{{"dtype":"F32","shape":[1],"data_offsets":[48,52]}}{extra}}}"#
    )
}

fn values(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
        .collect()
}

fn tiny_err(bytes: &[u8]) -> String {
    Tiny::from_safetensors_bytes(bytes)
        .err()
        .unwrap()
        .to_string()
}

#[test]
fn a_handmade_file_loads_in_pytorch_layout() {
    let net = Tiny::from_safetensors_bytes(&file(&tiny_header(""), &values(13))).unwrap();
    assert_eq!(net.hidden.weight, [[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]);
    assert_eq!(net.hidden.bias, [3.0, 3.5, 4.0]);
    assert_eq!(net.out.weight, [[4.5, 5.0, 5.5]]);
    assert_eq!(net.out.bias, [6.0]);
}

#[test]
fn f16_bf16_and_f64_are_converted() {
    let header = |dtype: &str, w: usize| {
        format!(
            r#"{{"hidden.weight":{{"dtype":"{dtype}","shape":[3,2],"data_offsets":[0,{a}]}},
"hidden.bias":{{"dtype":"{dtype}","shape":[3],"data_offsets":[{a},{b}]}},
"out.weight":{{"dtype":"{dtype}","shape":[1,3],"data_offsets":[{b},{c}]}},
"out.bias":{{"dtype":"{dtype}","shape":[1],"data_offsets":[{c},{d}]}}}}"#,
            a = 6 * w,
            b = 9 * w,
            c = 12 * w,
            d = 13 * w
        )
    };
    let want: Vec<f32> = (0..13).map(|i| i as f32 * 0.5).collect();
    let f64s: Vec<u8> = want
        .iter()
        .flat_map(|&v| f64::from(v).to_le_bytes())
        .collect();
    let f16s: Vec<u8> = want
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    let bf16s: Vec<u8> = want
        .iter()
        .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
        .collect();
    for (dtype, width, data) in [("F64", 8, f64s), ("F16", 2, f16s), ("BF16", 2, bf16s)] {
        let net = Tiny::from_safetensors_bytes(&file(&header(dtype, width), &data)).unwrap();
        assert_eq!(net.as_slice(), &want[..], "{dtype}");
    }
    let i32s = file(&header("I32", 4), &[0; 52]);
    assert_eq!(
        tiny_err(&i32s),
        "hidden.weight: dtype I32 is not supported (F32, F16, BF16 and F64 are)"
    );
}

#[test]
fn every_malformed_safetensors_file_gets_its_own_error() {
    let good = file(&tiny_header(""), &values(13));
    // Missing and unexpected tensors, a wrong shape.
    let missing = tiny_header("").replace(
        ",\n\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[48,52]}",
        "",
    );
    assert!(tiny_err(&file(&missing, &values(12)))
        .starts_with("missing tensor `out.bias` (the file has `hidden.bias`"));
    let extra = tiny_header(r#","extra":{"dtype":"F32","shape":[1],"data_offsets":[52,56]}"#);
    assert_eq!(
        tiny_err(&file(&extra, &values(14))),
        "unexpected tensor `extra`: the network has no such parameter"
    );
    let reshaped = tiny_header("").replace("[3,2]", "[2,3]");
    assert_eq!(
        tiny_err(&file(&reshaped, &values(13))),
        "hidden.weight: expected [3, 2], found [2, 3]"
    );
    // Truncated anywhere: in the length prefix, in the header, in the data.
    for cut in [0, 5, 8, 40, good.len() - 1] {
        let err = Tiny::from_safetensors_bytes(&good[..cut]).err().unwrap();
        assert!(
            matches!(
                err,
                WeightsError::Truncated(_) | WeightsError::HeaderBeyondFile { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    // A header length far beyond the file: refused without allocating it.
    let mut beyond_file = good.clone();
    beyond_file[..8].copy_from_slice(&1_000_000u64.to_le_bytes());
    assert!(tiny_err(&beyond_file).starts_with("the header claims 1000000 bytes"));
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert_eq!(
        tiny_err(&huge),
        "malformed header: a header of 9223372036854775807 bytes; at most 16777216 are read"
    );
    // Malformed JSON.
    let bad_json = tiny_header("").replacen('{', "[", 1);
    assert!(tiny_err(&file(&bad_json, &values(13))).starts_with("malformed header"));
    // Overlapping and out-of-range offsets.
    let overlap = tiny_header("").replace("[24,36]", "[20,32]");
    assert!(tiny_err(&file(&overlap, &values(13))).starts_with("bad data offsets"));
    let beyond = tiny_header("").replace("[48,52]", "[48,60]");
    let err = tiny_err(&file(&beyond, &values(13)));
    assert!(
        err.starts_with("bad data offsets") || err.starts_with("truncated"),
        "{err}"
    );
    // A NaN weight.
    let mut nan = values(13);
    nan[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        tiny_err(&file(&tiny_header(""), &nan)),
        "out.weight[1] is NaN: weights must be finite"
    );
    // The good file still loads.
    assert!(Tiny::from_safetensors_bytes(&good).is_ok());
}

#[test]
fn batch_norm_counters_from_pytorch_are_ignored() {
    network! { struct Bn { lin: Dense<2, 2>, bn: BatchNorm } }
    let mut net = Bn::new(1);
    scrambled(&mut net);
    let bytes = net.to_safetensors_bytes();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView)> = file.tensors();
    let counter = 7_i64.to_le_bytes();
    tensors.push((
        "bn.num_batches_tracked".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![], &counter).unwrap(),
    ));
    let with_counter = safetensors::serialize(tensors, None).unwrap();
    let back = Bn::from_safetensors_bytes(&with_counter).unwrap();
    assert_eq!(back.as_slice(), net.as_slice());
}

#[test]
fn exports_for_the_python_check() {
    // Writes what `scripts/interop/check_exports.py` reads (CI runs it on this directory): the
    // torch-trained networks as constnet saves them, and constnet's outputs on the recorded inputs.
    let Some(dir) = std::env::var_os("CONSTNET_EXPORT_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mlp = Mlp::load_safetensors(&reference("mlp.safetensors")).unwrap();
    let cnn = SmallCnn::load_safetensors(&reference("cnn.safetensors")).unwrap();
    mlp.save_safetensors(&dir.join("mlp.safetensors")).unwrap();
    mlp.save_onnx(&dir.join("mlp.onnx")).unwrap();
    cnn.save_safetensors(&dir.join("cnn.safetensors")).unwrap();
    cnn.save_onnx(&dir.join("cnn.onnx")).unwrap();
    write_io(&dir, "mlp_io", vec![200, 784], &mlp);
    write_io(&dir, "cnn_io", vec![200, 1, 28, 28], &cnn);

    // Every other layer kind and activation, for onnxruntime to compare (`--onnx-only`).
    let mut every = Everything::new(5);
    scrambled(&mut every);
    every.save_onnx(&dir.join("everything.onnx")).unwrap();
    let mut one = OneD::new(6);
    scrambled(&mut one);
    one.save_onnx(&dir.join("oned.onnx")).unwrap();
    let mut rng = constnet::Rng::new(11);
    let mut inputs = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect() };
    write_outputs(&dir, "everything", &[2, 12, 12], &inputs(50 * 288), &every);
    write_outputs(&dir, "oned", &[3, 16], &inputs(50 * 48), &one);
    let mut rest = Rest::new(7);
    scrambled(&mut rest);
    rest.save_onnx(&dir.join("rest.onnx")).unwrap();
    write_outputs(&dir, "rest", &[2, 6, 6], &inputs(50 * 72), &rest);
    let mut flat = FlatOneD::new(8);
    scrambled(&mut flat);
    flat.save_onnx(&dir.join("flat1d.onnx")).unwrap();
    write_outputs(&dir, "flat1d", &[2, 8], &inputs(50 * 16), &flat);
    let mut normed = Normed::new(9);
    scrambled(&mut normed);
    // A constant feature (variance 0): the graph floors its deviation at ε as the layer does.
    normed.norm.variance[2] = 0.0;
    normed.norm.mean[2] = 0.5;
    normed.save_onnx(&dir.join("norm.onnx")).unwrap();
    let mut x = inputs(50 * 6);
    x[2] = 0.5; // the constant feature at its mean, in one sample: 0 / ε
    write_outputs(&dir, "norm", &[6], &x, &normed);
    // A step's outputs are 0 or 1: inputs far from the threshold, so rounding cannot flip them.
    network! { struct Steps { l: Dense<2, 3, Step> } }
    let steps = Steps {
        l: Dense::new([[1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.25, -0.5]),
    };
    steps.save_onnx(&dir.join("step.onnx")).unwrap();
    let x = [0.5, -0.75, -0.5, 0.75, 0.125, 2.0, -2.0, -0.125];
    write_outputs(&dir, "step", &[2], &x, &steps);
}

/// `NAME_io.safetensors` with `inputs` (samples of `shape`) and the network's outputs on them.
fn write_outputs<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    dir: &Path,
    name: &str,
    shape: &[usize],
    inputs: &[f32],
    net: &N,
) {
    use safetensors::{tensor::TensorView, Dtype};
    let n = inputs.len() / IN;
    let output: Vec<u8> = inputs
        .chunks_exact(IN)
        .flat_map(|x| net.forward(x.try_into().unwrap()))
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let input: Vec<u8> = inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
    let in_shape = [&[n][..], shape].concat();
    let views = [
        (
            "input",
            TensorView::new(Dtype::F32, in_shape, &input).unwrap(),
        ),
        (
            "output",
            TensorView::new(Dtype::F32, vec![n, OUT], &output).unwrap(),
        ),
    ];
    let path = dir.join(format!("{name}_io.safetensors"));
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

/// The recorded inputs of `name` and the network's outputs on them.
fn write_io<N: Network<784, 10>>(dir: &Path, name: &str, shape: Vec<usize>, net: &N) {
    use safetensors::{tensor::TensorView, Dtype};
    let (input, _) = recorded(&format!("{name}.safetensors"));
    let output: Vec<u8> = input
        .chunks_exact(784)
        .flat_map(|x| net.forward(x.try_into().unwrap()))
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let input: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = [
        ("input", TensorView::new(Dtype::F32, shape, &input).unwrap()),
        (
            "output",
            TensorView::new(Dtype::F32, vec![200, 10], &output).unwrap(),
        ),
    ];
    let path = dir.join(format!("{name}.safetensors"));
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("constnet-interop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
