//! Parquet and Arrow IPC files as streamed sources of rows for constnet: the features are `N`
//! float columns named by you (or one `FixedSizeList<f32, N>` column), the label a column of
//! floats, integers or booleans, and the file is read one row group (Parquet) or record batch
//! (Arrow IPC) at a time, so memory stays constant whatever the file's size.
//!
//! ```
//! use constnet_arrow::{ParquetSource, ParquetWriter};
//! # let dir = std::env::temp_dir().join(format!("constnet-arrow-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("tiny.parquet");
//! // Two features and a label, as `label,f0,f1` columns.
//! let mut out = ParquetWriter::<2>::create(&path)?;
//! out.write(&[[0.5, 1.0], [2.0, -1.0], [0.0, 0.25]], &[1, 0, 1])?;
//! out.finish()?;
//!
//! let mut rows = ParquetSource::<2>::open(&path)?.label("label").features(["f0", "f1"])?;
//! assert_eq!(rows.rows(), 3); // from the file's metadata
//! let (mut x, mut t) = ([[0.0; 2]; 8], [0usize; 8]);
//! assert_eq!(rows.read(&mut x, &mut t)?, 3);
//! assert_eq!((x[1], t[1]), ([2.0, -1.0], 0));
//! assert_eq!(rows.read(&mut x, &mut t)?, 0); // the end of the pass
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Policy for bad values, the same in both formats: a null in a feature or the label, a NaN or
//! infinite feature, and a label that is not a whole number ≥ 0 are errors naming the file, the
//! row (0-based, counted from the file's first row, as pandas and pyarrow count) and the column.
//! A file that changes while it is being read is not detected: the metadata is read once, at
//! `open`, and a later rewrite shows up as a decoding error or as the new rows.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

/// Rows decoded at a time inside a row group: 64 K rows of 28 floats are 7 MB.
const BATCH_ROWS: usize = 65_536;

/// Why a Parquet or Arrow IPC file cannot be read as rows of features and a label. Every variant
/// names the file.
///
/// ```
/// use constnet_arrow::{ArrowSourceError, ParquetSource};
/// let err = ParquetSource::<2>::open("no/such/file.parquet").unwrap_err();
/// assert!(matches!(err, ArrowSourceError::Io { .. }));
/// assert!(err.to_string().starts_with("no/such/file.parquet: "));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArrowSourceError {
    /// The file cannot be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The Parquet reader or writer failed (not a Parquet file, corrupt pages, a codec).
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the Parquet crate said.
        source: ParquetError,
    },
    /// The Arrow IPC reader failed (not an Arrow file, corrupt batches).
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What the Arrow crate said.
        source: ArrowError,
    },
    /// A column is missing or of a type that cannot be a feature or a label, or the columns do
    /// not make `N` features.
    #[error("{}: column {column:?}: {problem}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An Arrow IPC stream is cut short or its framing is broken: a message that runs past the
    /// end of the file, a length that is not one, or no end-of-stream marker (a stream cut
    /// between two messages, which would otherwise read as fewer rows).
    #[error("{}: byte {offset}: {problem}", path.display())]
    IpcStream {
        /// The file.
        path: PathBuf,
        /// Where in the file, from its start.
        offset: u64,
        /// What is wrong there.
        problem: String,
    },
    /// A value cannot be used: a null, a NaN or infinite feature, a label that is not a class.
    #[error("{}: row {row}: column {column:?}: {problem}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// The row, 0-based from the file's first row.
        row: u64,
        /// The column's name.
        column: String,
        /// What is wrong with the value.
        problem: String,
    },
}

/// Where the `N` features are: `N` scalar columns by name, or one `FixedSizeList` column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FeatureSpec {
    /// Every column but the label, in file order (what `open` starts with).
    AllButLabel,
    Named(Vec<String>),
    List(String),
}

/// The column layout resolved against a schema: indices into the projected batch.
#[derive(Debug, Clone)]
struct Layout {
    /// Root column indices in the file to read, ascending.
    projection: Vec<usize>,
    /// For features then label, the position of each in a batch read with `projection`.
    positions: Vec<usize>,
    /// Names of the feature columns (one for the list form), for error messages.
    feature_names: Vec<String>,
    list: bool,
    label_name: String,
}

fn resolve<const N: usize>(
    path: &Path,
    schema: &Schema,
    features: &FeatureSpec,
    label: &str,
) -> Result<Layout, ArrowSourceError> {
    let column_err = |column: &str, problem: String| ArrowSourceError::Column {
        path: path.to_path_buf(),
        column: column.to_string(),
        problem,
    };
    let find = |name: &str| {
        schema.index_of(name).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            column_err(name, format!("no such column; the file has {names:?}"))
        })
    };
    let label_index = find(label)?;
    check_label_type(schema.field(label_index)).map_err(|problem| column_err(label, problem))?;
    let (projection, feature_names, list) = match features {
        FeatureSpec::List(name) => {
            let index = find(name)?;
            let field = schema.field(index);
            match field.data_type() {
                DataType::FixedSizeList(item, len)
                    if matches!(item.data_type(), DataType::Float32 | DataType::Float64) =>
                {
                    if *len as usize != N {
                        return Err(column_err(
                            name,
                            format!("a list of {len} values, where {N} features are expected"),
                        ));
                    }
                }
                other => {
                    return Err(column_err(
                        name,
                        format!(
                            "of type {other}, where FixedSizeList<Float32, {N}> (or Float64) is expected"
                        ),
                    ))
                }
            }
            (vec![index], vec![name.clone()], true)
        }
        FeatureSpec::Named(_) | FeatureSpec::AllButLabel => {
            let names: Vec<String> = match features {
                FeatureSpec::Named(names) => names.clone(),
                _ => schema
                    .fields()
                    .iter()
                    .filter(|f| f.name() != label)
                    .map(|f| f.name().clone())
                    .collect(),
            };
            if names.len() != N {
                return Err(column_err(
                    label,
                    format!(
                        "{} feature columns{} besides this label, where {N} features are expected",
                        names.len(),
                        if matches!(features, FeatureSpec::AllButLabel) {
                            " (every other column)"
                        } else {
                            " named"
                        }
                    ),
                ));
            }
            let mut projection = Vec::with_capacity(N);
            for name in &names {
                let index = find(name)?;
                let t = schema.field(index).data_type();
                if !matches!(t, DataType::Float32 | DataType::Float64) {
                    return Err(column_err(
                        name,
                        format!("of type {t}, where a feature must be Float32 or Float64"),
                    ));
                }
                projection.push(index);
            }
            (projection, names, false)
        }
    };
    let mut wanted = projection;
    wanted.push(label_index);
    // Readers return projected columns in file order, once each: `positions` maps ours onto it.
    let mut projection = wanted.clone();
    projection.sort_unstable();
    projection.dedup();
    let positions = wanted
        .iter()
        .map(|i| projection.binary_search(i).unwrap_or(0))
        .collect();
    Ok(Layout {
        projection,
        positions,
        feature_names,
        list,
        label_name: label.to_string(),
    })
}

fn check_label_type(field: &Field) -> Result<(), String> {
    match field.data_type() {
        DataType::Float32
        | DataType::Float64
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Boolean => Ok(()),
        other => Err(format!(
            "of type {other}, where a label must be a number or a boolean"
        )),
    }
}

/// A batch decoded from the file, with the row number of its first row, handed out row by row.
struct Current {
    batch: RecordBatch,
    first_row: u64,
    next: usize,
}

impl Current {
    fn remaining(&self) -> usize {
        self.batch.num_rows() - self.next
    }
}

/// Copies `n` rows from `cur` (from its cursor) into `features` and `labels`, checking every
/// value; advances the cursor.
fn copy_rows<const N: usize>(
    path: &Path,
    layout: &Layout,
    cur: &mut Current,
    features: &mut [[f32; N]],
    labels: &mut [usize],
) -> Result<usize, ArrowSourceError> {
    let n = cur.remaining().min(features.len()).min(labels.len());
    let start = cur.next;
    let row_err = |offset: usize, column: &str, problem: String| ArrowSourceError::Row {
        path: path.to_path_buf(),
        row: cur.first_row + (start + offset) as u64,
        column: column.to_string(),
        problem,
    };
    let columns = cur.batch.columns();
    if layout.list {
        let name = &layout.feature_names[0];
        let list = columns[0].as_fixed_size_list();
        if let Some(i) = first_null(list, start, n) {
            return Err(row_err(i, name, "is null".into()));
        }
        // The values of rows start..start+n, contiguous: one slice, no copy per row beyond the
        // one into the caller's buffer.
        let values = list.values().slice((list.offset() + start) * N, n * N);
        if values.null_count() > 0 {
            let i = (0..n * N).find(|&k| values.is_null(k)).unwrap_or(0);
            return Err(row_err(i / N, name, format!("value {} is null", i % N)));
        }
        match values.data_type() {
            DataType::Float32 => {
                let v = values.as_primitive::<Float32Type>().values();
                for (row, chunk) in features[..n].iter_mut().zip(v.chunks_exact(N)) {
                    row.copy_from_slice(chunk);
                }
            }
            _ => {
                let v = values.as_primitive::<Float64Type>().values();
                for (row, chunk) in features[..n].iter_mut().zip(v.chunks_exact(N)) {
                    for (x, &y) in row.iter_mut().zip(chunk) {
                        *x = y as f32;
                    }
                }
            }
        }
        for (i, row) in features[..n].iter().enumerate() {
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return Err(row_err(
                    i,
                    name,
                    format!("value {j} is {}, not a finite number", row[j]),
                ));
            }
        }
    } else {
        for (j, (column, name)) in columns[..N].iter().zip(&layout.feature_names).enumerate() {
            if let Some(i) = first_null(column.as_ref(), start, n) {
                return Err(row_err(i, name, "is null".into()));
            }
            match column.data_type() {
                DataType::Float32 => {
                    let v = &column.as_primitive::<Float32Type>().values()[start..start + n];
                    for (row, &x) in features[..n].iter_mut().zip(v) {
                        row[j] = x;
                    }
                }
                _ => {
                    let v = &column.as_primitive::<Float64Type>().values()[start..start + n];
                    for (row, &x) in features[..n].iter_mut().zip(v) {
                        row[j] = x as f32;
                    }
                }
            }
            if let Some(i) = features[..n].iter().position(|row| !row[j].is_finite()) {
                return Err(row_err(
                    i,
                    name,
                    format!("{} is not a finite number", features[i][j]),
                ));
            }
        }
    }
    let label = &columns[columns.len() - 1];
    let name = &layout.label_name;
    if let Some(i) = first_null(label.as_ref(), start, n) {
        return Err(row_err(i, name, "the label is null".into()));
    }
    labels_into(label, start, &mut labels[..n])
        .map_err(|(i, problem)| row_err(i, name, problem))?;
    cur.next += n;
    Ok(n)
}

fn first_null(array: &dyn Array, start: usize, n: usize) -> Option<usize> {
    if array.null_count() == 0 {
        return None;
    }
    (0..n).find(|&i| array.is_null(start + i))
}

/// Converts rows `start..start + out.len()` of a label column to classes; `Err((offset,
/// problem))` for a value that is not a whole number ≥ 0.
fn labels_into(label: &ArrayRef, start: usize, out: &mut [usize]) -> Result<(), (usize, String)> {
    fn floats<T: Copy + Into<f64>>(v: &[T], out: &mut [usize]) -> Result<(), (usize, String)> {
        for (i, (o, &x)) in out.iter_mut().zip(v).enumerate() {
            let x: f64 = x.into();
            // Whole, ≥ 0 and small enough to be a class index; 1.0 and 0.0 in HIGGS.
            if !(x >= 0.0 && x.fract() == 0.0 && x < u32::MAX as f64) {
                return Err((i, format!("label {x} is not a class (a whole number ≥ 0)")));
            }
            *o = x as usize;
        }
        Ok(())
    }
    fn ints<T: Copy + TryInto<i128>>(v: &[T], out: &mut [usize]) -> Result<(), (usize, String)> {
        for (i, (o, &x)) in out.iter_mut().zip(v).enumerate() {
            let x: i128 = x.try_into().unwrap_or(-1);
            *o = usize::try_from(x)
                .map_err(|_| (i, format!("label {x} is not a class (a whole number ≥ 0)")))?;
        }
        Ok(())
    }
    let n = out.len();
    macro_rules! prim {
        ($t:ty, $f:ident) => {
            $f(&label.as_primitive::<$t>().values()[start..start + n], out)
        };
    }
    match label.data_type() {
        DataType::Float32 => prim!(Float32Type, floats),
        DataType::Float64 => prim!(Float64Type, floats),
        DataType::Int8 => prim!(Int8Type, ints),
        DataType::Int16 => prim!(Int16Type, ints),
        DataType::Int32 => prim!(Int32Type, ints),
        DataType::Int64 => prim!(Int64Type, ints),
        DataType::UInt8 => prim!(UInt8Type, ints),
        DataType::UInt16 => prim!(UInt16Type, ints),
        DataType::UInt32 => prim!(UInt32Type, ints),
        DataType::UInt64 => prim!(UInt64Type, ints),
        DataType::Boolean => {
            let b = label.as_boolean();
            for (i, o) in out.iter_mut().enumerate() {
                *o = usize::from(b.value(start + i));
            }
            Ok(())
        }
        // `resolve` admits no other label type.
        other => Err((0, format!("of type {other}, not a label"))),
    }
}

/// What both sources' `read` share: empty buffers and a failed pass give `Ok(0)`, and an error
/// ends the pass (the reader is dropped; [`rewind`](ParquetSource::rewind) starts over).
trait Batches<const N: usize> {
    /// Whether the pass has failed.
    fn failed(&mut self) -> &mut bool;
    /// Reads rows, without the guard.
    fn read_unguarded(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError>;
    /// Drops the reader and the decoded batch after an error.
    fn drop_reader(&mut self);

    fn read_guarded(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError> {
        if *self.failed() || features.is_empty() || labels.is_empty() {
            return Ok(0);
        }
        let result = self.read_unguarded(features, labels);
        if result.is_err() {
            *self.failed() = true;
            self.drop_reader();
        }
        result
    }
}

/// Label column used when none is named: `label`, the name [`ParquetWriter`] and the HIGGS
/// example write.
const DEFAULT_LABEL: &str = "label";

/// A Parquet file as a stream of `(features, class)` rows, one row group at a time.
///
/// Opening reads only the footer; [`rows`](Self::rows) comes from it. Each row group is decoded
/// in batches of 64 K rows when reading reaches it, and only the projected columns are read.
/// [`shuffle_row_groups`](Self::shuffle_row_groups) visits the row groups in a seeded random
/// order, a new one every pass (rows inside a group keep their order; a shuffle buffer downstream
/// mixes them).
///
/// ```
/// # use constnet_arrow::{ParquetSource, ParquetWriter};
/// # let dir = std::env::temp_dir().join(format!("constnet-arrow-doc2-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("t.parquet");
/// let mut out = ParquetWriter::<3>::create(&path)?.row_group_rows(2);
/// out.write(&[[1.0; 3], [2.0; 3], [3.0; 3], [4.0; 3], [5.0; 3]], &[0, 1, 0, 1, 0])?;
/// out.finish()?; // three row groups: 2 + 2 + 1 rows
///
/// // Every column but `label`, in file order, are the features.
/// let mut rows = ParquetSource::<3>::open(&path)?.shuffle_row_groups(7);
/// assert_eq!(rows.row_groups(), 3);
/// let (mut x, mut t) = ([[0.0; 3]; 5], [0; 5]);
/// let mut seen = Vec::new();
/// loop {
///     let n = rows.read(&mut x, &mut t)?; // at most one row group per call
///     if n == 0 { break; }
///     seen.extend(x[..n].iter().map(|r| r[0]));
/// }
/// seen.sort_by(f32::total_cmp);
/// assert_eq!(seen, [1.0, 2.0, 3.0, 4.0, 5.0]); // every row once
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetSource<const N: usize> {
    path: PathBuf,
    file: File,
    metadata: ArrowReaderMetadata,
    features: FeatureSpec,
    layout: Layout,
    /// First row of each row group, to name rows in errors whatever the order.
    group_starts: Vec<u64>,
    order: Vec<usize>,
    shuffle: Option<u64>,
    pass: u64,
    next_group: usize,
    reader: Option<(ParquetRecordBatchReader, u64)>,
    current: Option<Current>,
    failed: bool,
}

impl<const N: usize> fmt::Debug for ParquetSource<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParquetSource")
            .field("path", &self.path)
            .field("features", &self.layout.feature_names)
            .field("label", &self.layout.label_name)
            .field("rows", &self.rows())
            .field("row_groups", &self.row_groups())
            .finish_non_exhaustive()
    }
}

impl<const N: usize> ParquetSource<N> {
    /// Opens `path` and reads its footer. The label is the column `label` and the features every
    /// other column until [`label`](Self::label), [`features`](Self::features) or
    /// [`feature_list`](Self::feature_list) say otherwise; each checks the columns exist with
    /// usable types.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ArrowSourceError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| ArrowSourceError::Io {
            path: path.clone(),
            source,
        })?;
        let metadata =
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|source| {
                ArrowSourceError::Parquet {
                    path: path.clone(),
                    source,
                }
            })?;
        let mut group_starts = Vec::with_capacity(metadata.metadata().num_row_groups());
        let mut at = 0u64;
        for g in metadata.metadata().row_groups() {
            group_starts.push(at);
            at += u64::try_from(g.num_rows()).unwrap_or(0);
        }
        let features = FeatureSpec::AllButLabel;
        let layout = resolve::<N>(&path, metadata.schema(), &features, DEFAULT_LABEL);
        let order = (0..group_starts.len()).collect();
        let layout = match layout {
            Ok(l) => l,
            // The defaults may not fit this file: `label`/`features` will say; until then
            // reading fails with this placeholder's error.
            Err(_) => Layout {
                projection: Vec::new(),
                positions: Vec::new(),
                feature_names: Vec::new(),
                list: false,
                label_name: DEFAULT_LABEL.into(),
            },
        };
        Ok(Self {
            path,
            file,
            metadata,
            features,
            layout,
            group_starts,
            order,
            shuffle: None,
            pass: 0,
            next_group: 0,
            reader: None,
            current: None,
            failed: false,
        })
    }

    /// The label column, by name (floats that are whole numbers, integers or booleans).
    pub fn label(mut self, name: &str) -> Self {
        self.layout.label_name = name.to_string();
        self
    }

    /// The `N` feature columns, by name, in the order the network takes them (Float32 or
    /// Float64; doubles are rounded to `f32`).
    pub fn features<S: AsRef<str>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, ArrowSourceError> {
        self.features =
            FeatureSpec::Named(names.into_iter().map(|s| s.as_ref().to_string()).collect());
        self.layout = resolve::<N>(
            &self.path,
            self.metadata.schema(),
            &self.features,
            &self.layout.label_name,
        )?;
        Ok(self)
    }

    /// The features as one `FixedSizeList<Float32, N>` (or Float64) column.
    pub fn feature_list(mut self, name: &str) -> Result<Self, ArrowSourceError> {
        self.features = FeatureSpec::List(name.to_string());
        self.layout = resolve::<N>(
            &self.path,
            self.metadata.schema(),
            &self.features,
            &self.layout.label_name,
        )?;
        Ok(self)
    }

    /// Visits the row groups in an order drawn from `seed`, a different one each pass.
    pub fn shuffle_row_groups(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self.reorder();
        self
    }

    /// Rows in the file, from its metadata.
    pub fn rows(&self) -> u64 {
        u64::try_from(self.metadata.metadata().file_metadata().num_rows()).unwrap_or(0)
    }

    /// Row groups in the file.
    pub fn row_groups(&self) -> usize {
        self.group_starts.len()
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.metadata.schema().clone()
    }

    fn reorder(&mut self) {
        self.order = (0..self.group_starts.len()).collect();
        if let Some(seed) = self.shuffle {
            shuffle(
                &mut self.order,
                seed ^ self.pass.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
        }
    }

    fn check_layout(&mut self) -> Result<(), ArrowSourceError> {
        if self.layout.projection.is_empty() {
            // `open` kept the defaults unresolved; resolve now to report why they do not fit.
            self.layout = resolve::<N>(
                &self.path,
                self.metadata.schema(),
                &self.features,
                &self.layout.label_name,
            )?;
        }
        Ok(())
    }

    /// Reads the next rows into the front of `features` and `labels` and returns how many; `0`
    /// ends the pass (for non-empty buffers). A call returns rows of one decoded batch at most,
    /// so a short read does not mean the end.
    pub fn read(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError> {
        self.read_guarded(features, labels)
    }

    /// Starts the next pass from the first row group (of a new order, if shuffling).
    pub fn rewind(&mut self) -> Result<(), ArrowSourceError> {
        self.pass += 1;
        self.reorder();
        self.next_group = 0;
        self.reader = None;
        self.current = None;
        self.failed = false;
        Ok(())
    }
}

impl<const N: usize> Batches<N> for ParquetSource<N> {
    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }

    fn drop_reader(&mut self) {
        self.reader = None;
        self.current = None;
    }

    fn read_unguarded(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError> {
        self.check_layout()?;

        loop {
            if let Some(cur) = &mut self.current {
                if cur.remaining() > 0 {
                    return copy_rows(&self.path, &self.layout, cur, features, labels);
                }
                self.current = None;
            }
            if let Some((reader, at)) = &mut self.reader {
                match reader.next() {
                    Some(batch) => {
                        let batch = batch
                            .and_then(|b| b.project(&self.layout.positions))
                            .map_err(|source| ArrowSourceError::Arrow {
                                path: self.path.clone(),
                                source,
                            })?;
                        let first_row = *at;
                        *at += batch.num_rows() as u64;
                        self.current = Some(Current {
                            batch,
                            first_row,
                            next: 0,
                        });
                        continue;
                    }
                    None => self.reader = None,
                }
            }
            let Some(&group) = self.order.get(self.next_group) else {
                return Ok(0);
            };
            self.next_group += 1;
            let file = self
                .file
                .try_clone()
                .map_err(|source| ArrowSourceError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            let mask = ProjectionMask::roots(
                self.metadata.metadata().file_metadata().schema_descr(),
                self.layout.projection.iter().copied(),
            );
            let reader =
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                    .with_projection(mask)
                    .with_row_groups(vec![group])
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|source| ArrowSourceError::Parquet {
                        path: self.path.clone(),
                        source,
                    })?;
            self.reader = Some((reader, self.group_starts[group]));
        }
    }
}

/// Fisher–Yates with SplitMix64: small, seeded, the same on every platform.
fn shuffle(v: &mut [usize], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..v.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// An Arrow IPC file as a stream of `(features, class)` rows, one record batch at a time, in file
/// order. Both of Arrow's IPC formats are read, told apart by their first bytes: the **file**
/// format (`ARROW1` magic and a footer: pyarrow's `pa.ipc.new_file`, Feather v2, `.arrow`) and the
/// **stream** format (messages one after another: `pa.ipc.new_stream`, `.arrows`). A pass
/// re-opens the file, so a stream file can be read once per epoch.
///
/// Columns are chosen as for [`ParquetSource`]. The IPC footer does not record row counts, so for
/// the file format the total is not known before a pass ([`rows`](Self::rows) is `None`;
/// [`rows_read`](Self::rows_read) counts them as they come). A stream file is checked before each
/// pass by walking its messages' headers (a few hundred bytes per batch, the bodies are skipped):
/// that gives the row count, and a stream cut short — inside a message, or between two messages
/// where only the missing end-of-stream marker shows it — is an
/// [`ArrowSourceError::IpcStream`] at [`open`](Self::open) or at the pass's first `read`, not
/// fewer rows; no buffer is sized by a length the file does not have the bytes for.
///
/// ```
/// # use constnet_arrow::{IpcSource, IpcWriter};
/// # let dir = std::env::temp_dir().join(format!("constnet-arrow-doc3-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("t.arrow");
/// let mut out = IpcWriter::<2>::create(&path)?;
/// out.write(&[[1.0, 2.0], [3.0, 4.0]], &[1, 0])?;
/// out.finish()?;
/// let mut rows = IpcSource::<2>::open(&path)?.features(["f1", "f0"])?; // any order
/// let (mut x, mut t) = ([[0.0; 2]; 4], [0; 4]);
/// assert_eq!(rows.read(&mut x, &mut t)?, 2);
/// assert_eq!(x[..2], [[2.0, 1.0], [4.0, 3.0]]);
/// assert_eq!(rows.rows(), None); // the file format: not counted before reading
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IpcSource<const N: usize> {
    path: PathBuf,
    schema: SchemaRef,
    /// Rows of a stream file, from its headers; `None` for the file format.
    rows: Option<u64>,
    features: FeatureSpec,
    layout: Layout,
    reader: Option<IpcReader>,
    rows_read: u64,
    /// The pass has reached its end (kept until `rewind`).
    ended: bool,
    current: Option<Current>,
    failed: bool,
}

/// A reader of either IPC format.
enum IpcReader {
    File(arrow_ipc::reader::FileReader<BufReader<File>>),
    Stream(arrow_ipc::reader::StreamReader<BufReader<File>>),
}

impl IpcReader {
    fn schema(&self) -> SchemaRef {
        match self {
            IpcReader::File(r) => r.schema(),
            IpcReader::Stream(r) => r.schema(),
        }
    }

    fn next_batch(&mut self) -> Option<Result<RecordBatch, ArrowError>> {
        match self {
            IpcReader::File(r) => r.next(),
            IpcReader::Stream(r) => r.next(),
        }
    }
}

impl<const N: usize> fmt::Debug for IpcSource<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpcSource")
            .field("path", &self.path)
            .field("features", &self.layout.feature_names)
            .field("label", &self.layout.label_name)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> IpcSource<N> {
    /// Opens `path` (either IPC format) and reads its schema; a stream file's headers are
    /// checked and its rows counted. The defaults are those of [`ParquetSource::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ArrowSourceError> {
        let path = path.as_ref().to_path_buf();
        let (reader, rows) = open_ipc(&path, None)?;
        let schema = reader.schema();
        let features = FeatureSpec::AllButLabel;
        let layout = resolve::<N>(&path, &schema, &features, DEFAULT_LABEL).unwrap_or(Layout {
            projection: Vec::new(),
            positions: Vec::new(),
            feature_names: Vec::new(),
            list: false,
            label_name: DEFAULT_LABEL.into(),
        });
        Ok(Self {
            path,
            schema,
            rows,
            features,
            layout,
            reader: None,
            rows_read: 0,
            ended: false,
            current: None,
            failed: false,
        })
    }

    /// The label column, by name.
    pub fn label(mut self, name: &str) -> Self {
        self.layout.label_name = name.to_string();
        self.layout.projection.clear();
        self
    }

    /// The `N` feature columns, by name, in the order the network takes them.
    pub fn features<S: AsRef<str>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, ArrowSourceError> {
        self.features =
            FeatureSpec::Named(names.into_iter().map(|s| s.as_ref().to_string()).collect());
        self.layout = resolve::<N>(
            &self.path,
            &self.schema,
            &self.features,
            &self.layout.label_name,
        )?;
        Ok(self)
    }

    /// The features as one `FixedSizeList<Float32, N>` (or Float64) column.
    pub fn feature_list(mut self, name: &str) -> Result<Self, ArrowSourceError> {
        self.features = FeatureSpec::List(name.to_string());
        self.layout = resolve::<N>(
            &self.path,
            &self.schema,
            &self.features,
            &self.layout.label_name,
        )?;
        Ok(self)
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows in a stream file, counted from its message headers when it was opened (or at the
    /// last pass's start); `None` for the file format, whose footer does not count them.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// Rows read so far in this pass.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Reads the next rows, as [`ParquetSource::read`].
    pub fn read(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError> {
        self.read_guarded(features, labels)
    }

    /// Starts the next pass from the first record batch (re-opening the file).
    pub fn rewind(&mut self) -> Result<(), ArrowSourceError> {
        self.reader = None;
        self.current = None;
        self.rows_read = 0;
        self.ended = false;
        self.failed = false;
        Ok(())
    }
}

impl<const N: usize> Batches<N> for IpcSource<N> {
    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }

    fn drop_reader(&mut self) {
        self.reader = None;
        self.current = None;
    }

    fn read_unguarded(
        &mut self,
        features: &mut [[f32; N]],
        labels: &mut [usize],
    ) -> Result<usize, ArrowSourceError> {
        if self.layout.projection.is_empty() {
            self.layout = resolve::<N>(
                &self.path,
                &self.schema,
                &self.features,
                &self.layout.label_name,
            )?;
        }
        loop {
            if let Some(cur) = &mut self.current {
                if cur.remaining() > 0 {
                    return copy_rows(&self.path, &self.layout, cur, features, labels);
                }
                self.current = None;
            }
            if self.ended {
                return Ok(0);
            }
            if self.reader.is_none() {
                let (reader, rows) = open_ipc(&self.path, Some(self.layout.projection.clone()))?;
                self.rows = rows;
                self.reader = Some(reader);
            }
            let reader = self.reader.as_mut().expect("opened above");
            match reader.next_batch() {
                Some(batch) => {
                    let batch = batch
                        .and_then(|b| b.project(&self.layout.positions))
                        .map_err(|source| ArrowSourceError::Arrow {
                            path: self.path.clone(),
                            source,
                        })?;
                    let first_row = self.rows_read;
                    self.rows_read += batch.num_rows() as u64;
                    self.current = Some(Current {
                        batch,
                        first_row,
                        next: 0,
                    });
                }
                None => {
                    self.reader = None;
                    self.ended = true;
                }
            }
        }
    }
}

/// The first bytes of an IPC file in the file format (the stream format has no magic).
const IPC_FILE_MAGIC: &[u8; 6] = b"ARROW1";

/// Opens `path` in the IPC format its first bytes say, with the row count of a stream file
/// (whose headers are checked first: [`scan_ipc_stream`]).
fn open_ipc(
    path: &Path,
    projection: Option<Vec<usize>>,
) -> Result<(IpcReader, Option<u64>), ArrowSourceError> {
    let io = |source| ArrowSourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let arrow = |source| ArrowSourceError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = [0u8; 6];
    let is_file_format = match std::io::Read::read_exact(&mut file, &mut magic) {
        Ok(()) => &magic == IPC_FILE_MAGIC,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(io(e)),
    };
    std::io::Seek::rewind(&mut file).map_err(io)?;
    if is_file_format {
        let reader = arrow_ipc::reader::FileReader::try_new(BufReader::new(file), projection)
            .map_err(arrow)?;
        return Ok((IpcReader::File(reader), None));
    }
    let rows = scan_ipc_stream(path, &mut file)?;
    std::io::Seek::rewind(&mut file).map_err(io)?;
    let reader = arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), projection)
        .map_err(arrow)?;
    Ok((IpcReader::Stream(reader), Some(rows)))
}

/// Walks the messages of an IPC stream file without decoding them and returns its rows: every
/// message's metadata and body must lie inside the file (so the reader's buffers, sized from
/// these headers, are bounded by the file), and the stream must end with its end-of-stream
/// marker (`0xFFFFFFFF 0x00000000`, or the pre-1.0 `0x00000000`), which every Arrow writer
/// writes when it is closed: without it, a file cut between two messages would read as a shorter
/// stream.
fn scan_ipc_stream(path: &Path, file: &mut File) -> Result<u64, ArrowSourceError> {
    use std::io::Read;
    let io = |source| ArrowSourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = file.metadata().map_err(io)?.len();
    let bad = |offset: u64, problem: String| ArrowSourceError::IpcStream {
        path: path.to_path_buf(),
        offset,
        problem,
    };
    let mut r = BufReader::new(file);
    let (mut at, mut rows, mut messages) = (0u64, 0u64, 0u64);
    let mut metadata = Vec::new();
    // Reads a little-endian 32-bit word, or says the file ends here.
    let word = |r: &mut BufReader<&mut File>,
                at: &mut u64,
                first: bool|
     -> Result<[u8; 4], ArrowSourceError> {
        if size - *at < 4 {
            return Err(bad(
                *at,
                if first {
                    "too short to be an Arrow IPC file".into()
                } else {
                    "the stream ends without its end-of-stream marker (cut short?)".into()
                },
            ));
        }
        let mut w = [0u8; 4];
        r.read_exact(&mut w).map_err(io)?;
        *at += 4;
        Ok(w)
    };
    loop {
        let start = at;
        let mut w = word(&mut r, &mut at, messages == 0)?;
        if w == [0xFF; 4] {
            w = word(&mut r, &mut at, messages == 0)?;
        }
        let len = i32::from_le_bytes(w);
        if len == 0 {
            break; // the end-of-stream marker
        }
        let len = u64::try_from(len)
            .ok()
            .filter(|&l| l <= size - at)
            .ok_or_else(|| {
                bad(
                    start,
                    format!(
                        "a message header of {len} bytes, where the file has {} bytes left{}",
                        size - at,
                        if messages == 0 {
                            " (not an Arrow IPC file?)"
                        } else {
                            ""
                        }
                    ),
                )
            })?;
        metadata.resize(len as usize, 0);
        r.read_exact(&mut metadata).map_err(io)?;
        at += len;
        let message = arrow_ipc::root_as_message(&metadata)
            .map_err(|e| bad(start, format!("not an Arrow IPC message header: {e}")))?;
        let body = u64::try_from(message.bodyLength())
            .ok()
            .filter(|&b| b <= size - at)
            .ok_or_else(|| {
                bad(
                    start,
                    format!(
                        "a message body of {} bytes, where the file has {} bytes left (cut short?)",
                        message.bodyLength(),
                        size - at
                    ),
                )
            })?;
        if let Some(batch) = message.header_as_record_batch() {
            rows += u64::try_from(batch.length())
                .map_err(|_| bad(start, format!("a record batch of {} rows", batch.length())))?;
        }
        r.seek_relative(body as i64).map_err(io)?;
        at += body;
        messages += 1;
    }
    Ok(rows)
}

/// The schema [`ParquetWriter`] and [`IpcWriter`] write: `label` (Float32, as HIGGS has it) then
/// `f0` … `f{N-1}` (Float32).
///
/// ```
/// let schema = constnet_arrow::labelled_schema(3);
/// assert_eq!(schema.field(0).name(), "label");
/// assert_eq!(schema.field(3).name(), "f2");
/// ```
pub fn labelled_schema(features: usize) -> SchemaRef {
    let mut fields = vec![Field::new(DEFAULT_LABEL, DataType::Float32, false)];
    fields.extend((0..features).map(|j| Field::new(format!("f{j}"), DataType::Float32, false)));
    Arc::new(Schema::new(fields))
}

fn labelled_batch<const N: usize>(
    schema: &SchemaRef,
    features: &[[f32; N]],
    labels: &[usize],
) -> Result<RecordBatch, ArrowError> {
    if features.len() != labels.len() {
        return Err(ArrowError::InvalidArgumentError(format!(
            "{} rows of features but {} labels",
            features.len(),
            labels.len()
        )));
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(N + 1);
    columns.push(Arc::new(Float32Array::from_iter_values(
        labels.iter().map(|&l| l as f32),
    )));
    for j in 0..N {
        columns.push(Arc::new(Float32Array::from_iter_values(
            features.iter().map(|row| row[j]),
        )));
    }
    RecordBatch::try_new(schema.clone(), columns)
}

/// A file written beside its destination and renamed over it by `finish`: an interrupted write
/// never leaves a truncated file under the final name.
struct Atomic {
    path: PathBuf,
    temp: PathBuf,
}

impl Atomic {
    fn create(path: &Path) -> Result<(Self, File), ArrowSourceError> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        let temp = path.with_file_name(name);
        let file = File::create(&temp).map_err(|source| ArrowSourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((
            Self {
                path: path.to_path_buf(),
                temp,
            },
            file,
        ))
    }

    fn commit(&self, file: &File) -> Result<(), ArrowSourceError> {
        let io = |source| ArrowSourceError::Io {
            path: self.path.clone(),
            source,
        };
        file.sync_all().map_err(io)?;
        std::fs::rename(&self.temp, &self.path).map_err(io)
    }
}

impl Drop for Atomic {
    fn drop(&mut self) {
        // After a successful rename the temp name is gone and this fails harmlessly.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Writes rows of `N` features and a class as a Parquet file ([`labelled_schema`]: `label`,
/// `f0`…), Snappy-compressed, in row groups of 131,072 rows unless
/// [`row_group_rows`](Self::row_group_rows) says otherwise. The file appears under its name only
/// when [`finish`](Self::finish) succeeds.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("constnet-arrow-doc4-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("out.parquet");
/// let mut out = constnet_arrow::ParquetWriter::<1>::create(&path)?;
/// out.write(&[[0.5]], &[1])?;
/// assert!(!path.exists()); // not before `finish`
/// out.finish()?;
/// assert!(path.exists());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetWriter<const N: usize> {
    atomic: Atomic,
    schema: SchemaRef,
    writer: Option<ArrowWriter<File>>,
    file: File,
    row_group_rows: usize,
}

impl<const N: usize> ParquetWriter<N> {
    /// Starts writing `path` (through a temporary file beside it).
    pub fn create(path: impl AsRef<Path>) -> Result<Self, ArrowSourceError> {
        let (atomic, file) = Atomic::create(path.as_ref())?;
        Ok(Self {
            schema: labelled_schema(N),
            atomic,
            writer: None,
            file,
            row_group_rows: 131_072,
        })
    }

    /// Rows per row group (the unit of reading and of row-group shuffling).
    pub fn row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    fn err(&self, source: ParquetError) -> ArrowSourceError {
        ArrowSourceError::Parquet {
            path: self.atomic.path.clone(),
            source,
        }
    }

    /// Appends rows.
    pub fn write(
        &mut self,
        features: &[[f32; N]],
        labels: &[usize],
    ) -> Result<(), ArrowSourceError> {
        if self.writer.is_none() {
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(self.row_group_rows))
                .build();
            let file = self
                .file
                .try_clone()
                .map_err(|source| ArrowSourceError::Io {
                    path: self.atomic.path.clone(),
                    source,
                })?;
            let w = ArrowWriter::try_new(file, self.schema.clone(), Some(props))
                .map_err(|e| self.err(e))?;
            self.writer = Some(w);
        }
        let batch = labelled_batch(&self.schema, features, labels)
            .map_err(|e| self.err(ParquetError::from(e)))?;
        let result = self.writer.as_mut().expect("created above").write(&batch);
        result.map_err(|e| self.err(e))
    }

    /// Writes the footer and moves the file to its name.
    pub fn finish(mut self) -> Result<(), ArrowSourceError> {
        if self.writer.is_none() {
            self.write(&[], &[])?;
        }
        let writer = self.writer.take().expect("created above");
        writer.close().map_err(|e| self.err(e))?;
        self.atomic.commit(&self.file)
    }
}

/// Writes rows of `N` features and a class as an Arrow IPC file ([`labelled_schema`]), one record
/// batch per [`write`](Self::write); moved to its name by [`finish`](Self::finish).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("constnet-arrow-doc5-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let mut out = constnet_arrow::IpcWriter::<2>::create(dir.join("x.arrow"))?;
/// out.write(&[[1.0, 2.0]], &[0])?;
/// out.finish()?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IpcWriter<const N: usize> {
    atomic: Atomic,
    schema: SchemaRef,
    writer: arrow_ipc::writer::FileWriter<std::io::BufWriter<File>>,
}

impl<const N: usize> IpcWriter<N> {
    /// Starts writing `path` (through a temporary file beside it).
    pub fn create(path: impl AsRef<Path>) -> Result<Self, ArrowSourceError> {
        let (atomic, file) = Atomic::create(path.as_ref())?;
        let schema = labelled_schema(N);
        let writer = arrow_ipc::writer::FileWriter::try_new(std::io::BufWriter::new(file), &schema)
            .map_err(|source| ArrowSourceError::Arrow {
                path: atomic.path.clone(),
                source,
            })?;
        Ok(Self {
            atomic,
            schema,
            writer,
        })
    }

    fn err(&self, source: ArrowError) -> ArrowSourceError {
        ArrowSourceError::Arrow {
            path: self.atomic.path.clone(),
            source,
        }
    }

    /// Appends the rows as one record batch.
    pub fn write(
        &mut self,
        features: &[[f32; N]],
        labels: &[usize],
    ) -> Result<(), ArrowSourceError> {
        let batch = labelled_batch(&self.schema, features, labels).map_err(|e| self.err(e))?;
        let result = self.writer.write(&batch);
        result.map_err(|e| self.err(e))
    }

    /// Writes the footer and moves the file to its name.
    pub fn finish(mut self) -> Result<(), ArrowSourceError> {
        self.writer.finish().map_err(|e| self.err(e))?;
        let file = self.writer.get_mut();
        let flushed = file.flush().map_err(|source| ArrowSourceError::Io {
            path: self.atomic.path.clone(),
            source,
        });
        flushed?;
        let file = file
            .get_ref()
            .try_clone()
            .map_err(|source| ArrowSourceError::Io {
                path: self.atomic.path.clone(),
                source,
            })?;
        self.atomic.commit(&file)
    }
}

/// The stream interface `Fit`, `evaluate` and the prefetching reader consume; `rows_hint` is the
/// row count from the file's metadata.
impl<const N: usize> nn_core::data::Source<N> for ParquetSource<N> {
    type Target = usize;
    type Error = ArrowSourceError;

    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [usize],
    ) -> Result<usize, Self::Error> {
        ParquetSource::read(self, features, targets)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        ParquetSource::rewind(self)
    }

    fn rows_hint(&self) -> Option<u64> {
        Some(self.rows())
    }
}

/// The stream interface; `rows_hint` is a stream file's row count ([`IpcSource::rows`]), none for
/// the file format, whose footer does not count rows.
impl<const N: usize> nn_core::data::Source<N> for IpcSource<N> {
    type Target = usize;
    type Error = ArrowSourceError;

    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [usize],
    ) -> Result<usize, Self::Error> {
        IpcSource::read(self, features, targets)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        IpcSource::rewind(self)
    }
    fn rows_hint(&self) -> Option<u64> {
        self.rows
    }
}
