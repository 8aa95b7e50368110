use std::io::Read;
use std::path::Path;
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
/// `N` pixels. The files are read by [`read_idx`], with their paths in the errors.
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
    let open = |path: &Path| {
        std::fs::File::open(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })
    };
    // The label file is opened only once the images are read: a broken image file is reported
    // first, as it always was.
    idx_dataset(open(images)?, images, || open(labels), labels, classes)
}

/// Reads an IDX image stream (`u8` pixels, scaled to `[0, 1]`) and its IDX label stream: what
/// [`load_idx`] does with two files, for bytes in memory (`&[u8]` is a reader) or any other
/// [`Read`].
///
/// A stream starting with the gzip magic bytes is decompressed. Errors name the streams
/// `<images>` and `<labels>` where a file error has its path.
///
/// Memory stays bounded by what the data needs, whatever the bytes: nothing is allocated from a
/// header's claims, a plain stream is read only as far as its header describes (extra bytes are
/// counted, not kept), and a gzip stream is inflated once without keeping its output, to check it,
/// and kept only on the second pass, once it is known to be exactly what the header describes (a
/// small gzip bomb inflating to gigabytes costs no memory, whatever its header claims). The
/// compressed bytes themselves are held in memory while they are read twice.
///
/// ```
/// use nn_core::data::{read_idx, DataError};
/// // Two 1×2 images and their labels.
/// let images: &[u8] = &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 255, 0];
/// let labels: &[u8] = &[0, 0, 8, 1, 0, 0, 0, 2, 1, 0];
/// let data = read_idx::<2>(images, labels, 2)?;
/// assert_eq!(data.features(), &[[0.0, 1.0], [1.0, 0.0]]);
/// assert_eq!(data.labels(), &[1, 0]);
///
/// // One byte missing:
/// let err = read_idx::<2>(&images[..19], labels, 2).unwrap_err();
/// assert_eq!(err.to_string(), "<images>: truncated: the header describes 20 bytes, the file has 19");
/// # Ok::<(), DataError>(())
/// ```
pub fn read_idx<const N: usize>(
    images: impl Read,
    labels: impl Read,
    classes: usize,
) -> Result<Dataset<N>, DataError> {
    idx_dataset(
        images,
        Path::new("<images>"),
        || Ok(labels),
        Path::new("<labels>"),
        classes,
    )
}

/// The one code path of [`load_idx`] and [`read_idx`]; `images_name` and `labels_name` go into
/// the errors. The label stream is opened only after the images have been read.
fn idx_dataset<const N: usize, L: Read>(
    images: impl Read,
    images_name: &Path,
    labels: impl FnOnce() -> Result<L, DataError>,
    labels_name: &Path,
    classes: usize,
) -> Result<Dataset<N>, DataError> {
    // The image size is checked from the header, before any pixel is read.
    let mut images = images;
    let (dims, pixels) = read_stream(
        &mut images,
        images_name,
        "images",
        IMAGES_MAGIC,
        3,
        &|dims| {
            let per_image = dims[1].saturating_mul(dims[2]);
            if per_image != N {
                return Err(DataError::FeatureMismatch {
                    path: images_name.into(),
                    expected: N,
                    found: per_image,
                });
            }
            Ok(())
        },
    )?;
    let count = dims[0];
    // So is the label count.
    let (_, label_data) = read_stream(
        &mut labels()?,
        labels_name,
        "labels",
        LABELS_MAGIC,
        1,
        &|label_dims| {
            if label_dims[0] != count {
                return Err(DataError::CountMismatch {
                    samples: count,
                    labels: label_dims[0],
                });
            }
            Ok(())
        },
    )?;
    let labels_vec: Vec<usize> = label_data.iter().map(|&l| l as usize).collect();
    // `count` images of `N` pixels (also when `N` is 0: images of no pixels are still samples).
    let features = (0..count)
        .map(|s| {
            let px = &pixels[s * N..(s + 1) * N];
            core::array::from_fn(|i| f32::from(px[i]) / 255.0)
        })
        .collect();
    // `Dataset::new` checks the label range; name the file in its error.
    Dataset::new(features, labels_vec, classes).map_err(|e| match e {
        DataError::LabelOutOfRange {
            index,
            label,
            classes,
            ..
        } => DataError::LabelOutOfRange {
            path: labels_name.into(),
            index,
            label,
            classes,
        },
        other => other,
    })
}

/// Reads one IDX stream, gunzipped if it starts with the gzip magic; returns its dimensions and
/// data. `check` sees the dimensions before the data is read.
///
/// Concatenated gzip members (`cat a.gz b.gz`, `pigz`) are one stream, as `gunzip` reads them;
/// bytes after the last member that are not a gzip member are an error.
///
/// Not generic (a reader and a check as trait objects): compiled once in this crate, not again
/// for every user crate and feature width.
fn read_stream(
    reader: &mut dyn Read,
    name: &Path,
    kind: &'static str,
    magic: u32,
    ndims: usize,
    check: &dyn Fn(&[usize]) -> Result<(), DataError>,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let io = |source| DataError::Io {
        path: name.into(),
        source,
    };
    let mut sniff = Vec::with_capacity(2);
    reader.take(2).read_to_end(&mut sniff).map_err(io)?;
    if sniff != [0x1f, 0x8b] {
        return parse(
            &mut sniff.as_slice().chain(reader),
            name,
            kind,
            magic,
            ndims,
            check,
            Pass::Plain,
        );
    }
    let mut compressed = sniff;
    reader.read_to_end(&mut compressed).map_err(io)?;
    let inflate = || flate2::read::MultiGzDecoder::new(compressed.as_slice());
    // First pass: every check, keeping nothing; only a stream that is exactly what its header
    // describes is inflated again, into memory.
    parse(
        &mut inflate(),
        name,
        kind,
        magic,
        ndims,
        check,
        Pass::GzipCheck,
    )?;
    parse(
        &mut inflate(),
        name,
        kind,
        magic,
        ndims,
        check,
        Pass::GzipKeep,
    )
}

/// What [`parse`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    /// A plain stream: its data is kept, extra bytes are counted to its end.
    Plain,
    /// Inflated data, only checked: nothing is kept.
    GzipCheck,
    /// Inflated data known to be good: it is kept.
    GzipKeep,
}

/// Checks the header and length of an IDX stream; returns its dimensions and its data (nothing
/// with `Pass::GzipCheck`).
///
/// The data is read only as far as the header describes, plus one byte to detect extra data: a
/// corrupt header's claim is only a limit, memory grows with the bytes actually there. Extra bytes
/// of a plain stream are counted to its end (without being kept); a gzip stream reports the first
/// one.
fn parse(
    reader: &mut dyn Read,
    path: &Path,
    kind: &'static str,
    magic: u32,
    ndims: usize,
    check: &dyn Fn(&[usize]) -> Result<(), DataError>,
    pass: Pass,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let io = |source| DataError::Io {
        path: path.into(),
        source,
    };
    let header = 4 + 4 * ndims;
    let mut bytes = Vec::with_capacity(header);
    reader
        .take(header as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
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
    check(&dims)?;
    // A corrupt header can claim more than fits in a usize: that is "truncated" too.
    let body = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let expected = body
        .and_then(|n| n.checked_add(header))
        .unwrap_or(usize::MAX);
    let limit = body.map_or(u64::MAX, |n| (n as u64).saturating_add(1));
    let mut body_reader = reader.take(limit);
    let read = match pass {
        Pass::Plain | Pass::GzipKeep => body_reader.read_to_end(&mut bytes).map_err(io)? as u64,
        Pass::GzipCheck => std::io::copy(&mut body_reader, &mut std::io::sink()).map_err(io)?,
    };
    let found = (header as u64).saturating_add(read);
    if found < expected as u64 {
        return Err(DataError::Truncated {
            path: path.into(),
            expected,
            found: usize::try_from(found).unwrap_or(usize::MAX),
        });
    }
    if found > expected as u64 {
        // The one extra byte read; a plain stream's others are counted (inflating all of a gzip
        // bomb would only take time).
        let more = match pass {
            Pass::Plain => std::io::copy(reader, &mut std::io::sink()).map_err(io)?,
            Pass::GzipCheck | Pass::GzipKeep => 0,
        };
        let extra = (found - expected as u64).saturating_add(more);
        return Err(DataError::TrailingData {
            path: path.into(),
            expected,
            extra: usize::try_from(extra).unwrap_or(usize::MAX),
        });
    }
    bytes.drain(..header);
    Ok((dims, bytes))
}

/// An IDX image file and its label file as a streamed [`Source`](super::Source), memory-mapped
/// (`memmap2`): nothing is read into memory up front, the pages the rows are on are read as the
/// rows are, and the operating system may drop them again, so memory does not grow with the file.
/// Pixels are scaled to `[0, 1]` as by [`load_idx`].
///
/// [`open`](IdxSource::open) checks both headers against the files' lengths before any row is
/// read: a file shorter (or longer) than its header says is an error, not a panic; so is a
/// gzip-compressed file, which cannot be mapped (decompress it, or [`load_idx`] it). A label
/// `≥ classes` is a [`DataError::LabelOutOfRange`] when its row is read. Skipping rows
/// ([`Source::skip_rows`](super::Source::skip_rows)) costs nothing.
///
/// **A file changed while it is mapped**: the mapping shows the file as it is on disk, so rows
/// rewritten in place are read as rewritten; a file truncated while mapped makes reading beyond
/// its new end fail with a bus error (SIGBUS), which no check here can catch: don't truncate a
/// file that is being trained on (replacing it by a rename is safe: the mapping keeps the old one).
///
/// ```
/// use nn_core::data::{IdxSource, Source};
/// # let dir = std::env::temp_dir().join(format!("nn-core-idxsource-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("img"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 255, 0])?;
/// std::fs::write(dir.join("lab"), [0, 0, 8, 1, 0, 0, 0, 2, 1, 0])?;
/// let mut rows = IdxSource::<2>::open(dir.join("img"), dir.join("lab"), 2)?;
/// assert_eq!(rows.rows_hint(), Some(2));
/// let (mut x, mut t) = ([[0.0; 2]; 4], [0; 4]);
/// assert_eq!(rows.read(&mut x, &mut t)?, 2);
/// assert_eq!((&x[..2], &t[..2]), (&[[0.0, 1.0], [1.0, 0.0]][..], &[1, 0][..]));
/// // Cut short by one byte: refused when opened.
/// std::fs::write(dir.join("img"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 255])?;
/// assert!(IdxSource::<2>::open(dir.join("img"), dir.join("lab"), 2).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct IdxSource<const N: usize> {
    images: memmap2::Mmap,
    labels: memmap2::Mmap,
    labels_path: std::path::PathBuf,
    count: usize,
    classes: usize,
    next: usize,
}

/// Bytes before the data: the magic number and one 4-byte size per dimension.
const IMAGES_HEADER: usize = 4 + 4 * 3;
const LABELS_HEADER: usize = 4 + 4;

impl<const N: usize> IdxSource<N> {
    /// Maps an IDX image file and its label file (plain, not gzip), with `classes` classes, and
    /// checks their headers and lengths.
    pub fn open(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        classes: usize,
    ) -> Result<Self, DataError> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let image_map = map(images)?;
        let image_dims = mapped_header(&image_map, images, "images", IMAGES_MAGIC, 3)?;
        let per_image = image_dims[1].saturating_mul(image_dims[2]);
        if per_image != N {
            return Err(DataError::FeatureMismatch {
                path: images.into(),
                expected: N,
                found: per_image,
            });
        }
        let count = image_dims[0];
        check_length(&image_map, images, IMAGES_HEADER, count.checked_mul(N))?;
        let label_map = map(labels)?;
        let label_dims = mapped_header(&label_map, labels, "labels", LABELS_MAGIC, 1)?;
        if label_dims[0] != count {
            return Err(DataError::CountMismatch {
                samples: count,
                labels: label_dims[0],
            });
        }
        check_length(&label_map, labels, LABELS_HEADER, Some(count))?;
        Ok(IdxSource {
            images: image_map,
            labels: label_map,
            labels_path: labels.into(),
            count,
            classes,
            next: 0,
        })
    }
}

/// Maps `path` read-only; a gzip file is refused (it cannot be read in place).
fn map(path: &Path) -> Result<memmap2::Mmap, DataError> {
    let io = |source| DataError::Io {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: the map is read-only and only read through `&[u8]`; memmap2's `map` is `unsafe`
    // because another process may change the file while it is mapped. Bytes changed in place are
    // still plain bytes (any value is a valid `u8`); a truncation while mapped ends in SIGBUS,
    // which `IdxSource`'s documentation states. Streaming a file bigger than memory needs the map.
    let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    if mapped.starts_with(&[0x1f, 0x8b]) {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a gzip-compressed IDX file cannot be memory-mapped: decompress it (or use load_idx)",
        )));
    }
    Ok(mapped)
}

/// The dimensions of a mapped IDX file, checked before use: length, magic number.
fn mapped_header(
    bytes: &[u8],
    path: &Path,
    kind: &'static str,
    magic: u32,
    ndims: usize,
) -> Result<Vec<usize>, DataError> {
    let header = 4 + 4 * ndims;
    let word = |at: usize| {
        u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
    };
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.into(),
            expected: header,
            found: bytes.len(),
        });
    }
    let found = word(0) as u32;
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
    Ok((0..ndims).map(|d| word(4 + 4 * d)).collect())
}

/// The file must be exactly the header and `body` bytes (`None`: more than a `usize` counts).
fn check_length(
    bytes: &[u8],
    path: &Path,
    header: usize,
    body: Option<usize>,
) -> Result<(), DataError> {
    let expected = body
        .and_then(|b| b.checked_add(header))
        .unwrap_or(usize::MAX);
    match bytes.len() {
        found if found < expected => Err(DataError::Truncated {
            path: path.into(),
            expected,
            found,
        }),
        found if found > expected => Err(DataError::TrailingData {
            path: path.into(),
            expected,
            extra: found - expected,
        }),
        _ => Ok(()),
    }
}

impl<const N: usize> super::Source<N> for IdxSource<N> {
    type Target = usize;
    type Error = DataError;

    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [usize],
    ) -> Result<usize, DataError> {
        let n = (self.count - self.next)
            .min(features.len())
            .min(targets.len());
        for (i, (x, t)) in features[..n].iter_mut().zip(&mut targets[..n]).enumerate() {
            let row = self.next + i;
            // In bounds: `open` checked the lengths against the count.
            let label = usize::from(self.labels[LABELS_HEADER + row]);
            if label >= self.classes {
                if i > 0 {
                    // Return the good rows; the next read starts at this one and fails.
                    self.next = row;
                    return Ok(i);
                }
                self.next = self.count; // the pass ends with the error
                return Err(DataError::LabelOutOfRange {
                    path: self.labels_path.clone(),
                    index: row,
                    label,
                    classes: self.classes,
                });
            }
            let pixels = &self.images[IMAGES_HEADER + row * N..IMAGES_HEADER + (row + 1) * N];
            for (v, &p) in x.iter_mut().zip(pixels) {
                *v = f32::from(p) / 255.0;
            }
            *t = label;
        }
        self.next += n;
        Ok(n)
    }

    fn rewind(&mut self) -> Result<(), DataError> {
        self.next = 0;
        Ok(())
    }

    fn rows_hint(&self) -> Option<u64> {
        Some(self.count as u64)
    }

    fn skip_rows(&mut self, n: u64) -> Result<u64, DataError> {
        let n = n.min((self.count - self.next) as u64);
        self.next += n as usize;
        Ok(n)
    }
}
