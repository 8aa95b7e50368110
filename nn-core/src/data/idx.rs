use std::io::Read;
use std::path::{Path, PathBuf};
use std::prelude::rust_2021::*;

use super::{DataError, Dataset};

const IMAGES_MAGIC: u32 = 0x0000_0803; // unsigned bytes, 3 dimensions
const LABELS_MAGIC: u32 = 0x0000_0801; // unsigned bytes, 1 dimension

/// Which half of MNIST to load.
///
/// ```
/// use nn_core::data::{load_mnist, Split};
/// let test = load_mnist::<784>(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k"), Split::Test)?;
/// assert_eq!(test.len(), 2000);
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-images-idx3-ubyte` / `train-labels-idx1-ubyte`.
    Train,
    /// `t10k-images-idx3-ubyte` / `t10k-labels-idx1-ubyte`.
    Test,
}

/// Loads one split of MNIST from `dir`, which holds the standard file names, gzipped (`.gz`) or not.
/// Pixels are scaled to `[0, 1]`; there are 10 classes.
///
/// `N` must be the number of pixels (784 for 28×28), or the load fails with
/// [`DataError::FeatureMismatch`].
///
/// ```no_run
/// use nn_core::data::{load_mnist, Split};
/// let train = load_mnist::<784>("data/mnist-10k", Split::Train)?;
/// assert_eq!(train.classes(), 10);
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
pub fn load_mnist<const N: usize>(
    dir: impl AsRef<Path>,
    split: Split,
) -> Result<Dataset<N>, DataError> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let dir = dir.as_ref();
    let find = |stem: String| {
        let gz = dir.join(format!("{stem}.gz"));
        if gz.exists() {
            gz
        } else {
            dir.join(stem)
        }
    };
    load_idx(
        find(format!("{prefix}-images-idx3-ubyte")),
        find(format!("{prefix}-labels-idx1-ubyte")),
        10,
    )
}

/// Loads an IDX image file (`u8` pixels, scaled to `[0, 1]`) and its IDX label file.
///
/// Files starting with the gzip magic bytes are decompressed. Fails if either file is missing or
/// malformed, if the counts differ, if a label is `≥ classes`, or if an image does not have exactly
/// `N` pixels.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("nn-core-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// // Two 1×2 images and their labels, as plain IDX files.
/// std::fs::write(dir.join("img"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 255, 0]).unwrap();
/// std::fs::write(dir.join("lab"), [0, 0, 8, 1, 0, 0, 0, 2, 1, 0]).unwrap();
/// let data = nn_core::data::load_idx::<2>(dir.join("img"), dir.join("lab"), 2).unwrap();
/// assert_eq!(data.features(), &[[0.0, 1.0], [1.0, 0.0]]);
/// assert_eq!(data.labels(), &[1, 0]);
/// ```
pub fn load_idx<const N: usize>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    classes: usize,
) -> Result<Dataset<N>, DataError> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let image_bytes = read(images, 3)?;
    let (dims, pixels) = parse(images, &image_bytes, "images", IMAGES_MAGIC, 3)?;
    let per_image = dims[1] * dims[2];
    if per_image != N {
        return Err(DataError::FeatureMismatch {
            path: images.into(),
            expected: N,
            found: per_image,
        });
    }
    let label_bytes = read(labels, 1)?;
    let (label_dims, label_data) = parse(labels, &label_bytes, "labels", LABELS_MAGIC, 1)?;
    if dims[0] != label_dims[0] {
        return Err(DataError::CountMismatch {
            samples: dims[0],
            labels: label_dims[0],
        });
    }
    let labels_vec: Vec<usize> = label_data.iter().map(|&l| l as usize).collect();
    let features = pixels
        .chunks_exact(N.max(1))
        .map(|px| core::array::from_fn(|i| f32::from(px[i]) / 255.0))
        .collect();
    // `Dataset::new` checks the label range; name the file in its error.
    Dataset::new(features, labels_vec, classes).map_err(|e| match e {
        DataError::LabelOutOfRange {
            index,
            label,
            classes,
            ..
        } => DataError::LabelOutOfRange {
            path: labels.into(),
            index,
            label,
            classes,
        },
        other => other,
    })
}

/// The file's bytes, gunzipped if they start with the gzip magic.
///
/// A gzip stream is inflated only as far as its IDX header (of `ndims` dimensions) promises, plus
/// one byte to detect extra data: a small file that inflates to gigabytes costs no more memory
/// than its header claims. Concatenated gzip members (`cat a.gz b.gz`, `pigz`) are one stream, as
/// `gunzip` reads them; bytes after the last member that are not a gzip member are an error.
fn read(path: &Path, ndims: usize) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io {
        path: PathBuf::from(path),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut gz = flate2::read::MultiGzDecoder::new(raw.as_slice());
    let header = 4 + 4 * ndims;
    let mut out = Vec::with_capacity(header);
    (&mut gz)
        .take(header as u64)
        .read_to_end(&mut out)
        .map_err(io)?;
    if out.len() < header {
        return Ok(out); // `parse` reports the truncated header
    }
    let body = (0..ndims)
        .map(|d| {
            let at = 4 + 4 * d;
            u32::from_be_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]) as u64
        })
        .try_fold(1u64, u64::checked_mul)
        .unwrap_or(u64::MAX);
    // What the header promises and one byte more; a corrupt header's claim is only a limit here,
    // memory grows with the bytes actually inflated.
    (&mut gz)
        .take(body.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(io)?;
    if out.len() as u64 == header as u64 + body {
        // All promised bytes are in: the stream must end here (garbage after it is an error).
        let mut probe = [0u8; 1];
        if gz.read(&mut probe).map_err(io)? > 0 {
            out.push(probe[0]);
        }
    }
    Ok(out)
}

/// Checks the header and length of an IDX file; returns its dimensions and data.
fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
    kind: &'static str,
    magic: u32,
    ndims: usize,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let header = 4 + 4 * ndims;
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.into(),
            expected: header,
            found: bytes.len(),
        });
    }
    let found = word(0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.into(),
            kind,
            found,
            expected: magic,
        });
    }
    if bytes.len() < header {
        return Err(DataError::Truncated {
            path: path.into(),
            expected: header,
            found: bytes.len(),
        });
    }
    let dims: Vec<usize> = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    // A corrupt header can claim more than fits in a usize: that is "truncated" too.
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header))
        .unwrap_or(usize::MAX);
    if bytes.len() < expected {
        return Err(DataError::Truncated {
            path: path.into(),
            expected,
            found: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(DataError::TrailingData {
            path: path.into(),
            expected,
            extra: bytes.len() - expected,
        });
    }
    Ok((dims, &bytes[header..]))
}
