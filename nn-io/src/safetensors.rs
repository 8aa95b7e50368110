//! PyTorch state dicts in the safetensors format.

use std::collections::HashMap;

use std::borrow::Cow;
use std::io::SeekFrom;
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, SafeTensorError, TensorInfo, View};
use serde::Deserialize;

use crate::{check_finite, Float, ReadSeek, TensorEntry, WeightsError};

/// The largest header read. The format allows 100 MB, but a state dict's header is a few hundred
/// bytes per tensor: 16 MiB keeps what parsing a hostile header's JSON costs far below 100 MB.
const MAX_HEADER: u64 = 16 << 20;

/// The largest file a network of `values` parameters can have been saved to: the length prefix,
/// the largest header the format allows, and every value as an F64.
pub(crate) fn max_file_len(values: usize) -> u64 {
    8 + MAX_HEADER + 8 * values as u64
}

/// Fills `values` from a safetensors file of `len` bytes read from `src`, checking every tensor
/// against `entries`. Only the header (at most [`MAX_HEADER`]) and one chunk of data are held at a
/// time: the values go straight from the file into `values`, so reading a 200 MB network takes
/// 200 MB plus the header, not twice that. `io` names the source in an I/O error.
pub(crate) fn read(
    src: &mut dyn ReadSeek,
    len: u64,
    entries: &[TensorEntry],
    values: &mut [f32],
    io: &dyn Fn(std::io::Error) -> WeightsError,
) -> Result<(), WeightsError> {
    // The length prefix is checked here (not only by the crate) to say exactly what is wrong.
    let Some(available) = len.checked_sub(8) else {
        return Err(WeightsError::Truncated(format!(
            "{len} bytes, shorter than the 8-byte header length"
        )));
    };
    let mut prefix = [0; 8];
    src.read_exact(&mut prefix).map_err(&io)?;
    let header = u64::from_le_bytes(prefix);
    if header > MAX_HEADER {
        return Err(WeightsError::MalformedHeader(format!(
            "a header of {header} bytes; at most {MAX_HEADER} are read"
        )));
    }
    if header > available {
        return Err(WeightsError::HeaderBeyondFile { header, available });
    }
    // Bounded by MAX_HEADER and by the file's length, both checked above.
    let mut json = vec![0; header as usize];
    src.read_exact(&mut json).map_err(&io)?;
    let metadata = parse_header(&json)?;
    drop(json);
    let data_len = metadata.data_len() as u64;
    let present = available - header;
    if data_len > present {
        return Err(WeightsError::Truncated(format!(
            "the header describes {data_len} bytes of tensor data, {present} follow it"
        )));
    }
    if data_len < present {
        return Err(WeightsError::BadOffsets(format!(
            "the tensors take {data_len} bytes, but {present} follow the header"
        )));
    }

    // In the network's order, so that the first error is the first tensor that is wrong; every
    // check comes before any data is read.
    let mut plan = Vec::with_capacity(entries.len());
    for entry in entries {
        let info = metadata
            .info(&entry.name)
            .ok_or_else(|| WeightsError::MissingTensor {
                name: entry.name.clone(),
                in_file: metadata.offset_keys(),
            })?;
        if info.shape != entry.shape {
            return Err(WeightsError::WrongShape {
                name: entry.name.clone(),
                expected: entry.shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        plan.push((entry, float(&entry.name, info.dtype)?, info.data_offsets.0));
    }
    let mut names = metadata.offset_keys();
    names.sort_unstable();
    // PyTorch's batch norm counts its updates; constnet does not keep the count.
    if let Some(name) = names
        .into_iter()
        .find(|n| !entries.iter().any(|e| e.name == *n) && !is_batches_tracked(n, entries))
    {
        return Err(WeightsError::UnexpectedTensor { name });
    }

    let mut chunk = vec![0; CHUNK];
    for (entry, kind, start) in plan {
        src.seek(SeekFrom::Start(8 + header + start as u64))
            .map_err(&io)?;
        let per_chunk = CHUNK / kind.width();
        for out in values[entry.offset..entry.offset + entry.len].chunks_mut(per_chunk) {
            let bytes = &mut chunk[..out.len() * kind.width()];
            src.read_exact(bytes).map_err(&io)?;
            kind.decode_le(bytes, out);
        }
    }
    check_finite(entries, values)
}

/// Bytes of tensor data read at a time (a multiple of every element width).
const CHUNK: usize = 1 << 16;

/// The header's JSON, validated by the crate (offsets contiguous and matching shapes and dtypes).
fn parse_header(json: &[u8]) -> Result<Metadata, WeightsError> {
    /// The header as the format defines it; `Metadata::new` validates it.
    #[derive(Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__")]
        metadata: Option<HashMap<String, String>>,
        #[serde(flatten)]
        tensors: HashMap<String, TensorInfo>,
    }
    let text = std::str::from_utf8(json)
        .map_err(|e| WeightsError::MalformedHeader(format!("not UTF-8: {e}")))?;
    let header: Header =
        serde_json::from_str(text).map_err(|e| WeightsError::MalformedHeader(e.to_string()))?;
    let mut tensors: Vec<_> = header.tensors.into_iter().collect();
    // The format sorts tensors by offset; the crate's check expects that order.
    tensors.sort_by_key(|(_, info)| info.data_offsets);
    Metadata::new(header.metadata, tensors).map_err(format_error)
}

fn is_batches_tracked(name: &str, entries: &[TensorEntry]) -> bool {
    name.strip_suffix(".num_batches_tracked")
        .is_some_and(|layer| {
            entries
                .iter()
                .any(|e| e.name == format!("{layer}.running_mean"))
        })
}

/// The element type of a tensor, or an error naming it if it is not a float type.
fn float(name: &str, dtype: Dtype) -> Result<Float, WeightsError> {
    match dtype {
        Dtype::F32 => Ok(Float::F32),
        Dtype::F64 => Ok(Float::F64),
        Dtype::F16 => Ok(Float::F16),
        Dtype::BF16 => Ok(Float::BF16),
        other => Err(WeightsError::WrongDtype {
            name: name.into(),
            dtype: format!("{other:?}"),
        }),
    }
}

pub(crate) fn format_error(e: SafeTensorError) -> WeightsError {
    use SafeTensorError as E;
    match e {
        E::HeaderTooSmall | E::MetadataIncompleteBuffer => WeightsError::Truncated(e.to_string()),
        E::InvalidHeader(_) | E::InvalidHeaderDeserialization(_) | E::JsonError(_) => {
            WeightsError::MalformedHeader(e.to_string())
        }
        E::HeaderTooLarge | E::InvalidHeaderLength => WeightsError::MalformedHeader(e.to_string()),
        E::InvalidOffset(name) => WeightsError::BadOffsets(format!(
            "tensor `{name}` does not start where the previous one ends"
        )),
        E::TensorInvalidInfo | E::ValidationOverflow | E::MisalignedSlice => {
            WeightsError::BadOffsets(format!(
                "{e}: a tensor's byte range disagrees with its shape and dtype"
            ))
        }
        other => WeightsError::MalformedHeader(other.to_string()),
    }
}

/// One tensor of the network, F32; its bytes are made when the crate writes it, so that saving
/// holds at most one tensor's copy besides the network.
pub(crate) struct F32Tensor<'a> {
    pub(crate) shape: &'a [usize],
    pub(crate) values: &'a [f32],
}

impl View for F32Tensor<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        4 * self.values.len()
    }
}

fn views<'a>(
    entries: &'a [TensorEntry],
    values: &'a [f32],
) -> impl Iterator<Item = (&'a str, F32Tensor<'a>)> {
    entries.iter().map(|e| {
        let tensor = F32Tensor {
            shape: e.shape,
            values: &values[e.offset..e.offset + e.len],
        };
        (e.name.as_str(), tensor)
    })
}

/// PyTorch's `format` metadata, which `safetensors.torch.load_file` expects.
fn pt_metadata() -> Option<HashMap<String, String>> {
    Some(HashMap::from([("format".to_string(), "pt".to_string())]))
}

/// The network's tensors as a safetensors file, F32, with PyTorch's `format` metadata.
pub(crate) fn write(entries: &[TensorEntry], values: &[f32]) -> Vec<u8> {
    safetensors::serialize(views(entries, values), pt_metadata())
        .expect("a header of a few names and shapes is far below the format's limit")
}

/// [`write`] straight to `path`: the crate writes a temporary file beside it and renames it over
/// `path` only once it is complete, so a failed save keeps the user's previous file.
pub(crate) fn save(
    entries: &[TensorEntry],
    values: &[f32],
    path: &Path,
) -> Result<(), WeightsError> {
    safetensors::serialize_to_file(views(entries, values), pt_metadata(), path).map_err(|e| match e
    {
        SafeTensorError::IoError(source) => WeightsError::Io {
            path: path.into(),
            source,
        },
        other => WeightsError::MalformedHeader(other.to_string()),
    })
}
