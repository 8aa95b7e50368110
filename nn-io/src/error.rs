use std::path::PathBuf;

/// Why a weights file could not be read or written. Every message names what is wrong: the
/// tensor, the node, the expected and the found shape, the path.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
/// // A length prefix of 255 header bytes, followed by 2.
/// let Err(err) = Net::from_safetensors_bytes(b"\xff\0\0\0\0\0\0\0{}") else { panic!() };
/// assert_eq!(err.to_string(), "the header claims 255 bytes but only 2 follow the length prefix");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is larger than any file this network could have been saved to; it is refused
    /// before it is read.
    #[error("{}: {found} bytes, but a weights file for this network has at most {limit}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        found: u64,
        /// The most this network's file can take.
        limit: u64,
    },
    /// The data ends before the header says it does.
    #[error("truncated file: {0}")]
    Truncated(String),
    /// A safetensors header length that points past the end of the data (checked before anything
    /// is allocated for it).
    #[error("the header claims {header} bytes but only {available} follow the length prefix")]
    HeaderBeyondFile {
        /// The header length the file claims.
        header: u64,
        /// The bytes after the 8-byte length prefix.
        available: u64,
    },
    /// The safetensors header is not the JSON it should be.
    #[error("malformed header: {0}")]
    MalformedHeader(String),
    /// Data offsets that overlap, leave gaps, run past the data, or disagree with a tensor's
    /// shape and dtype.
    #[error("bad data offsets: {0}")]
    BadOffsets(String),
    /// A tensor the network needs is not in the file.
    #[error("missing tensor `{name}`{}", listed(in_file))]
    MissingTensor {
        /// The tensor's name (PyTorch's, e.g. `hidden.weight`).
        name: String,
        /// The names the file has (a hint when it names layers differently, as an
        /// `nn.Sequential` does).
        in_file: Vec<String>,
    },
    /// The file has a tensor the network does not (loading is strict, as PyTorch's
    /// `load_state_dict(strict=True)`).
    #[error("unexpected tensor `{name}`: the network has no such parameter")]
    UnexpectedTensor {
        /// The tensor's name.
        name: String,
    },
    /// A tensor of the wrong shape.
    #[error("{name}: expected {expected:?}, found {found:?}")]
    WrongShape {
        /// The tensor's name.
        name: String,
        /// The network's shape for it.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// A tensor whose element type is not a float type (F32, F16, BF16 and F64 are converted).
    #[error("{name}: dtype {dtype} is not supported (F32, F16, BF16 and F64 are)")]
    WrongDtype {
        /// The tensor's name.
        name: String,
        /// The file's element type.
        dtype: String,
    },
    /// A NaN or infinite weight: a network with one computes NaN for every input.
    #[error("{name}[{index}] is {value}: weights must be finite")]
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The flat index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Bytes that do not decode as an ONNX model.
    #[error("not an ONNX model: {0}")]
    MalformedOnnx(String),
    /// An ONNX node that does not compute what the network's layer at that place computes, or
    /// that the importer does not support.
    #[error("ONNX node `{node}` ({op}): {reason}")]
    UnsupportedNode {
        /// The node's name (or `#index` if it has none).
        node: String,
        /// Its operator.
        op: String,
        /// What was expected instead.
        reason: String,
    },
    /// The ONNX graph's inputs, outputs or structure do not fit the network.
    #[error("ONNX graph: {0}")]
    GraphMismatch(String),
    /// An int8 tensor of the wrong element type.
    #[error("{name}: dtype {found}, expected {expected}")]
    Int8Dtype {
        /// The tensor's name.
        name: String,
        /// The type the int8 network stores there.
        expected: &'static str,
        /// The type in the file.
        found: String,
    },

    /// Int8 parameters that TFLite's integer kernels cannot run (a weight of -128, a scale that
    /// is not positive, a zero point outside int8).
    #[error("invalid int8 parameters: {0}")]
    Int8(nn_core::quant::QuantError),

    /// A layer or activation that has no export to the format.
    #[error("layer `{layer}`: {reason}")]
    Unsupported {
        /// The layer's name.
        layer: String,
        /// What cannot be exported.
        reason: String,
    },
}

/// ` (the file has `a`, `b`, …)`, at most six names.
fn listed(names: &[String]) -> String {
    if names.is_empty() {
        return " (the file has no tensors)".into();
    }
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let shown: Vec<String> = sorted.iter().take(6).map(|n| format!("`{n}`")).collect();
    let more = if sorted.len() > 6 { ", …" } else { "" };
    format!(" (the file has {}{more})", shown.join(", "))
}
