//! PyTorch state dicts in the safetensors format.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensorError, TensorView};
use safetensors::SafeTensors;

use crate::{check_finite, Float, TensorEntry, WeightsError};

/// The largest header read. The format allows 100 MB, but a state dict's header is a few hundred
/// bytes per tensor: 16 MiB keeps what parsing a hostile header's JSON costs far below 100 MB.
const MAX_HEADER: u64 = 16 << 20;

/// The largest file a network of `values` parameters can have been saved to: the length prefix,
/// the largest header the format allows, and every value as an F64.
pub(crate) fn max_file_len(values: usize) -> u64 {
    8 + MAX_HEADER + 8 * values as u64
}

/// Fills `values` from a safetensors file's bytes, checking every tensor against `entries`.
pub(crate) fn read(
    bytes: &[u8],
    entries: &[TensorEntry],
    values: &mut [f32],
) -> Result<(), WeightsError> {
    // The length prefix is checked here (not only by the crate) to say exactly what is wrong.
    let Some((prefix, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(WeightsError::Truncated(format!(
            "{} bytes, shorter than the 8-byte header length",
            bytes.len()
        )));
    };
    let header = u64::from_le_bytes(*prefix);
    if header > MAX_HEADER {
        return Err(WeightsError::MalformedHeader(format!(
            "a header of {header} bytes; at most {MAX_HEADER} are read"
        )));
    }
    if header > rest.len() as u64 {
        return Err(WeightsError::HeaderBeyondFile {
            header,
            available: rest.len() as u64,
        });
    }
    let file = SafeTensors::deserialize(bytes).map_err(format_error)?;

    // In the network's order, so that the first error is the first tensor that is wrong.
    for entry in entries {
        let view = file
            .tensor(&entry.name)
            .map_err(|_| WeightsError::MissingTensor {
                name: entry.name.clone(),
                in_file: file.names().iter().map(|n| n.to_string()).collect(),
            })?;
        if view.shape() != entry.shape {
            return Err(WeightsError::WrongShape {
                name: entry.name.clone(),
                expected: entry.shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        convert(
            &entry.name,
            view.dtype(),
            view.data(),
            &mut values[entry.offset..entry.offset + entry.len],
        )?;
    }
    let mut names = file.names();
    names.sort_unstable();
    // PyTorch's batch norm counts its updates; constnet does not keep the count.
    if let Some(name) = names
        .into_iter()
        .find(|n| !entries.iter().any(|e| e.name == *n) && !is_batches_tracked(n, entries))
    {
        return Err(WeightsError::UnexpectedTensor { name: name.into() });
    }
    check_finite(entries, values)
}

fn is_batches_tracked(name: &str, entries: &[TensorEntry]) -> bool {
    name.strip_suffix(".num_batches_tracked")
        .is_some_and(|layer| {
            entries
                .iter()
                .any(|e| e.name == format!("{layer}.running_mean"))
        })
}

/// Converts one tensor's little-endian data to f32 (the crate has checked its length against the
/// shape and dtype, and the shape against `out`).
fn convert(name: &str, dtype: Dtype, data: &[u8], out: &mut [f32]) -> Result<(), WeightsError> {
    let kind = match dtype {
        Dtype::F32 => Float::F32,
        Dtype::F64 => Float::F64,
        Dtype::F16 => Float::F16,
        Dtype::BF16 => Float::BF16,
        other => {
            return Err(WeightsError::WrongDtype {
                name: name.into(),
                dtype: format!("{other:?}"),
            })
        }
    };
    kind.decode_le(data, out);
    Ok(())
}

fn format_error(e: SafeTensorError) -> WeightsError {
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

/// The network's tensors as a safetensors file, F32, with PyTorch's `format` metadata.
pub(crate) fn write(entries: &[TensorEntry], values: &[f32]) -> Vec<u8> {
    let data: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| {
            values[e.offset..e.offset + e.len]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        })
        .collect();
    let views = entries.iter().zip(&data).map(|(e, bytes)| {
        let view = TensorView::new(Dtype::F32, e.shape.to_vec(), bytes)
            .expect("the byte length is the shape's product times 4");
        (e.name.as_str(), view)
    });
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(metadata))
        .expect("a header of a few names and shapes is far below the format's limit")
}
