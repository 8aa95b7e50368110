//! Weight files in and out of constnet networks: PyTorch state dicts as
//! [safetensors](https://huggingface.co/docs/safetensors), and ONNX models.
//!
//! Every `network!` type gets the methods of [`ModelFile`] (in the prelude). Tensor names and
//! layouts are PyTorch's for a module whose attributes are the layer names: `hidden.weight` of
//! shape `[OUT, IN]`, `hidden.bias` `[OUT]`, unnamed layers `l0`, `l1`, …; convolution weights
//! `[F, C, KH, KW]`; batch norm `weight`, `bias`, `running_mean`, `running_var`.
//!
//! ```
//! use constnet::prelude::*;
//! network! { pub struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
//! let net = Net::new(7);
//! let bytes = net.to_safetensors_bytes();
//! let back = Net::from_safetensors_bytes(&bytes)?;
//! assert_eq!(back.as_slice(), net.as_slice());
//! let onnx = net.to_onnx_bytes()?;
//! assert_eq!(Net::from_onnx_bytes(&onnx)?.as_slice(), net.as_slice());
//! # Ok::<(), WeightsError>(())
//! ```
//!
//! A state dict saved from an `nn.Sequential` names its tensors by position (`0.weight`,
//! `2.weight`); map the layer names to those prefixes with the `_renamed` forms:
//! `Net::from_safetensors_bytes_renamed(&bytes, &[("hidden", "0"), ("out", "2")])`.
//!
//! Loading is strict and all-or-nothing: a missing, unexpected, misshapen or non-finite tensor is an
//! error, and nothing is returned but the error. Files are read only up to the largest size a file
//! for the network can have, and headers are checked against the data before anything is
//! allocated for them.

use std::boxed::Box;
use std::io::{Cursor, Write};
use std::path::Path;

use nn_core::{LayerInfo, Network, Summary};

mod checkpoint;
mod error;
mod int8;
mod onnx;
mod safetensors;

pub use checkpoint::SafetensorsCheckpoint;
pub use error::WeightsError;
pub use int8::QuantizedModelFile;

/// One parameter tensor of a network: its full name, shape and place in the flat parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// `layer.tensor`, after renaming.
    pub name: String,
    /// PyTorch's shape.
    pub shape: &'static [usize],
    /// Index of its first value in [`Parameters::as_slice`].
    pub offset: usize,
    /// Number of values.
    pub len: usize,
}

/// The parameter tensors of a network in memory order, named `layer.tensor` (PyTorch's
/// `state_dict` keys). `rename` maps layer names to the prefixes used instead (`("hidden", "0")`).
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { hidden: Dense<4, 3, Relu>, Dense<3, 2, Softmax> } }
/// let names: Vec<_> = constnet::io::tensors::<Net, 4, 2>(&[]).into_iter().map(|t| t.name).collect();
/// assert_eq!(names, ["hidden.weight", "hidden.bias", "l1.weight", "l1.bias"]);
/// ```
pub fn tensors<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    rename: &[(&str, &str)],
) -> Vec<TensorEntry> {
    let out = tensors_of(&N::summary(), rename);
    // Every value of the network belongs to exactly one tensor (checked by every layer's tests).
    debug_assert_eq!(out.last().map_or(0, |t| t.offset + t.len), N::LEN);
    out
}

/// [`tensors`] from the summary alone. Not generic, so compiled once here rather than again in
/// every crate and for every width (a user's rebuild after a width change codegens only the thin
/// generic shims).
fn tensors_of(summary: &Summary<'_>, rename: &[(&str, &str)]) -> Vec<TensorEntry> {
    let mut offset = 0;
    let mut out = Vec::new();
    for layer in summary.layers {
        let prefix = prefix(layer, rename);
        for t in layer.tensors {
            out.push(TensorEntry {
                name: format!("{prefix}.{}", t.name),
                shape: t.shape,
                offset,
                len: t.len(),
            });
            offset += t.len();
        }
    }
    out
}

/// What the file formats need to know of a network type, without its type: they are written
/// once, non-generic, behind the generic [`ModelFile`] methods.
pub(crate) struct Shape<'a> {
    pub(crate) summary: Summary<'a>,
    pub(crate) entries: Vec<TensorEntry>,
    pub(crate) input: usize,
    pub(crate) output: usize,
}

impl Shape<'static> {
    fn of<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(rename: &[(&str, &str)]) -> Self {
        Shape {
            summary: N::summary(),
            entries: tensors::<N, IN, OUT>(rename),
            input: IN,
            output: OUT,
        }
    }
}

/// A seekable byte source, as a trait object: one reader type for the non-generic readers.
pub(crate) trait ReadSeek: std::io::Read + std::io::Seek {}
impl<T: std::io::Read + std::io::Seek> ReadSeek for T {}

/// Turns a read error into the caller's error (naming the file).
pub(crate) type IoError = Box<dyn Fn(std::io::Error) -> WeightsError>;

fn prefix<'a>(layer: &'a LayerInfo, rename: &[(&'a str, &'a str)]) -> &'a str {
    rename
        .iter()
        .find(|(from, _)| *from == layer.name)
        .map_or(layer.name, |(_, to)| to)
}

/// Reading and writing weight files: implemented for every network `network!` generates.
///
/// Loading builds the network on the heap and checks every value before it returns it; the
/// by-value forms move it out of that box, which is fine up to a few megabytes of weights (the
/// stack of the main thread is 8 MB on Linux, 1 MB on Windows). Larger networks use the `_boxed`
/// forms.
pub trait ModelFile<const IN: usize, const OUT: usize>: Network<IN, OUT> {
    /// Reads a PyTorch state dict saved with `safetensors.torch.save_file`, strictly: every tensor
    /// the network has, of the right shape, and no other. F16, BF16 and F64 tensors are converted
    /// to f32. A batch norm's `num_batches_tracked`, which constnet does not keep, is ignored.
    /// The values go from the file straight into the network: besides it, only the header and a
    /// 64 KiB buffer are held.
    ///
    /// ```no_run
    /// use constnet::prelude::*;
    /// use std::path::Path;
    /// network! { pub struct Net { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }
    /// let net = Net::load_safetensors(Path::new("torch.safetensors"))?;
    /// # Ok::<(), WeightsError>(())
    /// ```
    fn load_safetensors(path: &Path) -> Result<Self, WeightsError> {
        Self::load_safetensors_boxed(path).map(|net| *net)
    }

    /// [`load_safetensors`](ModelFile::load_safetensors), on the heap.
    fn load_safetensors_boxed(path: &Path) -> Result<Box<Self>, WeightsError> {
        Self::load_safetensors_renamed(path, &[])
    }

    /// [`load_safetensors_boxed`](ModelFile::load_safetensors_boxed) with layer names mapped:
    /// `rename` holds `(layer, prefix in the file)` pairs, e.g. `[("hidden", "0"), ("out", "2")]`
    /// for an `nn.Sequential`.
    fn load_safetensors_renamed(
        path: &Path,
        rename: &[(&str, &str)],
    ) -> Result<Box<Self>, WeightsError> {
        let (mut file, len) = open_bounded(path, safetensors::max_file_len(Self::LEN))?;
        let mut net = Self::boxed_zeroed();
        let entries = tensors::<Self, IN, OUT>(rename);
        let io = io_error(path);
        safetensors::read(&mut file, len, &entries, net.as_mut_slice(), &io)?;
        Ok(net)
    }

    /// [`load_safetensors`](ModelFile::load_safetensors) from bytes in memory.
    fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        Self::from_safetensors_bytes_renamed(bytes, &[]).map(|net| *net)
    }

    /// [`from_safetensors_bytes`](ModelFile::from_safetensors_bytes) with layer names mapped, on
    /// the heap (see [`load_safetensors_renamed`](ModelFile::load_safetensors_renamed)).
    ///
    /// ```
    /// use constnet::prelude::*;
    /// network! { struct Net { hidden: Dense<4, 3, Relu>, out: Dense<3, 2, Softmax> } }
    /// let seq = [("hidden", "0"), ("out", "2")];
    /// let bytes = Net::new(1).to_safetensors_bytes_renamed(&seq); // `0.weight`, `0.bias`, `2.weight`, …
    /// assert!(Net::from_safetensors_bytes(&bytes).is_err());
    /// assert!(Net::from_safetensors_bytes_renamed(&bytes, &seq).is_ok());
    /// ```
    fn from_safetensors_bytes_renamed(
        bytes: &[u8],
        rename: &[(&str, &str)],
    ) -> Result<Box<Self>, WeightsError> {
        let mut net = Self::boxed_zeroed();
        let entries = tensors::<Self, IN, OUT>(rename);
        let len = bytes.len() as u64;
        // The length is known, so reading can only fail where the data ends early.
        let io = truncated();
        safetensors::read(
            &mut Cursor::new(bytes),
            len,
            &entries,
            net.as_mut_slice(),
            &io,
        )?;
        Ok(net)
    }

    /// The network as a safetensors file that PyTorch loads with
    /// `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`.
    fn save_safetensors(&self, path: &Path) -> Result<(), WeightsError> {
        safetensors::save(&tensors::<Self, IN, OUT>(&[]), self.as_slice(), path)
    }

    /// [`save_safetensors`](ModelFile::save_safetensors) to bytes in memory.
    fn to_safetensors_bytes(&self) -> Vec<u8> {
        self.to_safetensors_bytes_renamed(&[])
    }

    /// [`to_safetensors_bytes`](ModelFile::to_safetensors_bytes) with layer names mapped, e.g. to
    /// an `nn.Sequential`'s positions.
    fn to_safetensors_bytes_renamed(&self, rename: &[(&str, &str)]) -> Vec<u8> {
        safetensors::write(&tensors::<Self, IN, OUT>(rename), self.as_slice())
    }

    /// The network as an ONNX model (opset 13): input `input` and output `output`, each with a
    /// symbolic batch dimension, weights as initializers named as in the state dict. Dense
    /// layers are `Gemm`s; a layer or activation without an ONNX form is an error naming it.
    ///
    /// ```no_run
    /// use constnet::prelude::*;
    /// use std::path::Path;
    /// network! { pub struct Net { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }
    /// Net::new(1).save_onnx(Path::new("net.onnx"))?;
    /// # Ok::<(), WeightsError>(())
    /// ```
    fn save_onnx(&self, path: &Path) -> Result<(), WeightsError> {
        write_atomically(path, &self.to_onnx_bytes()?)
    }

    /// [`save_onnx`](ModelFile::save_onnx) to bytes in memory.
    fn to_onnx_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        onnx::export(&Shape::of::<Self, IN, OUT>(&[]), self.as_slice())
    }

    /// Reads an ONNX model of this architecture, as exported by `torch.onnx.export`, tf2onnx or
    /// [`save_onnx`](ModelFile::save_onnx): one node (or the `MatMul` + `Add` and `Transpose`
    /// forms of a dense layer) per layer and activation, weights as initializers. Any other node is
    /// an error that names it. The file is walked field by field and large initializers are read
    /// from it straight into the network, so the file is never held whole (a `Transpose`d weight
    /// takes one temporary copy of that tensor).
    fn load_onnx(path: &Path) -> Result<Self, WeightsError> {
        Self::load_onnx_boxed(path).map(|net| *net)
    }

    /// [`load_onnx`](ModelFile::load_onnx), on the heap.
    fn load_onnx_boxed(path: &Path) -> Result<Box<Self>, WeightsError> {
        let (file, len) = open_bounded(path, onnx::max_file_len(Self::LEN))?;
        let mut net = Self::boxed_zeroed();
        // Buffered: the walk reads a model's small fields a few bytes at a time.
        let mut source = std::io::BufReader::new(file);
        let shape = Shape::of::<Self, IN, OUT>(&[]);
        onnx::import_from(&mut source, len, io_error(path), &shape, net.as_mut_slice())?;
        Ok(net)
    }

    /// [`load_onnx`](ModelFile::load_onnx) from bytes in memory.
    fn from_onnx_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        Self::from_onnx_bytes_boxed(bytes).map(|net| *net)
    }

    /// [`from_onnx_bytes`](ModelFile::from_onnx_bytes), on the heap.
    fn from_onnx_bytes_boxed(bytes: &[u8]) -> Result<Box<Self>, WeightsError> {
        let mut net = Self::boxed_zeroed();
        let len = bytes.len() as u64;
        let shape = Shape::of::<Self, IN, OUT>(&[]);
        onnx::import_from(
            &mut Cursor::new(bytes),
            len,
            truncated(),
            &shape,
            net.as_mut_slice(),
        )?;
        Ok(net)
    }
}

impl<N: Network<IN, OUT>, const IN: usize, const OUT: usize> ModelFile<IN, OUT> for N {}

/// Read errors of the file at `path`.
fn io_error(path: &Path) -> IoError {
    let path = path.to_path_buf();
    Box::new(move |source| WeightsError::Io {
        path: path.clone(),
        source,
    })
}

/// Read errors of bytes in memory: their length is known, so reading can only fail where the
/// data ends early.
fn truncated() -> IoError {
    Box::new(|e| WeightsError::Truncated(e.to_string()))
}

/// Opens a file with its length, refusing it if it is larger than `limit` bytes.
fn open_bounded(path: &Path, limit: u64) -> Result<(std::fs::File, u64), WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let found = file.metadata().map_err(io)?.len();
    if found > limit {
        return Err(WeightsError::TooLarge {
            path: path.into(),
            found,
            limit,
        });
    }
    Ok((file, found))
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so that a failed
/// write never leaves a half-written file where the user's previous one was.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.into(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// The float element types weight files hold; both readers convert them to f32 here.
#[derive(Debug, Clone, Copy)]
enum Float {
    F32,
    F64,
    F16,
    BF16,
}

impl Float {
    /// Bytes per value.
    fn width(self) -> usize {
        match self {
            Float::F32 => 4,
            Float::F64 => 8,
            Float::F16 | Float::BF16 => 2,
        }
    }

    /// Converts little-endian values of this type into `out` (as many as both hold).
    fn decode_le(self, bytes: &[u8], out: &mut [f32]) {
        let values = out.iter_mut().zip(bytes.chunks_exact(self.width()));
        match self {
            Float::F32 => {
                values.for_each(|(v, b)| *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            Float::F64 => values.for_each(|(v, b)| {
                *v = f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32;
            }),
            Float::F16 => {
                values.for_each(|(v, b)| *v = f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            }
            // A bfloat16 is the top half of an f32.
            Float::BF16 => values.for_each(|(v, b)| {
                *v = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16);
            }),
        }
    }
}

/// An IEEE half-precision value (bits) as f32, exactly (every f16 is an f32). Written here rather
/// than taken from the `half` crate: since 2.7 it pulls in `zerocopy` and its derive, about 2 s of
/// the cold build of the README's first command, for these few lines (checked against `half` on
/// all 65,536 values in the tests).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    match exp {
        // Zero and subnormals: man · 2⁻²⁴, exact in f32.
        0 => {
            let v = man as f32 * (1.0 / 16_777_216.0);
            if sign == 0 {
                v
            } else {
                -v
            }
        }
        // Infinities and NaNs (quietened, payload kept).
        0x1f if man == 0 => f32::from_bits(sign | 0x7f80_0000),
        0x1f => f32::from_bits(sign | 0x7fc0_0000 | (man << 13)),
        // Normal: the exponent rebiased from 15 to 127.
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// Fails on the first NaN or infinite value, naming its tensor.
fn check_finite(entries: &[TensorEntry], values: &[f32]) -> Result<(), WeightsError> {
    for e in entries {
        let block = &values[e.offset..e.offset + e.len];
        if let Some(index) = block.iter().position(|v| !v.is_finite()) {
            return Err(WeightsError::NonFinite {
                name: e.name.clone(),
                index,
                value: block[index],
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod half_tests {
    /// Every f16 and bf16 bit pattern converts as the `half` crate converts it.
    #[test]
    fn conversions_are_the_half_crates_on_every_value() {
        for bits in 0..=u16::MAX {
            let ours = super::f16_to_f32(bits);
            let theirs = half::f16::from_bits(bits).to_f32();
            if theirs.is_nan() {
                assert!(ours.is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(ours.to_bits(), theirs.to_bits(), "{bits:#06x}");
            }
            let mut out = [0.0f32];
            super::Float::BF16.decode_le(&bits.to_le_bytes(), &mut out);
            let theirs = half::bf16::from_bits(bits).to_f32();
            assert!(out[0].to_bits() == theirs.to_bits() || (theirs.is_nan() && out[0].is_nan()));
        }
    }
}
