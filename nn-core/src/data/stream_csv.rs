//! A CSV file as a [`Source`]: rows parsed as they are read, gzip decompressed on the way.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::prelude::rust_2021::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::csv::{csv_error, list, shape_mismatch, Classes, LineLimit};
use super::{ByteProgress, Csv, DataError, LabelColumn, Source, Target};

/// The buffers of the file reader and of the CSV reader: big enough that a read call per buffer
/// costs nothing next to the parsing.
const BUFFER: usize = 64 << 10;

/// The bytes under the CSV reader: the file, or its decompressed gzip stream.
type Input = Box<dyn Read + Send>;

/// What a streamed CSV file's label column can be read as: a class (`usize`: an integer, also
/// written as a float such as HIGGS' `1.000000000000000000e+00`, or one of
/// [`Csv::class_names`]) or a float target (`[f32; 1]`).
///
/// ```
/// use nn_core::data::CsvTarget;
/// fn takes<T: CsvTarget>() {}
/// takes::<usize>();
/// takes::<[f32; 1]>();
/// ```
pub trait CsvTarget: Target + Send + sealed::Sealed {
    /// The target of a label field, or why it is none.
    #[doc(hidden)]
    fn parse_label(field: &[u8], rule: &LabelRule) -> Result<Self, String>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for [f32; 1] {}
}

/// How labels become classes: [`Csv::classes`] or [`Csv::class_names`].
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct LabelRule {
    count: Option<usize>,
    names: Option<Vec<String>>,
}

impl CsvTarget for usize {
    fn parse_label(field: &[u8], rule: &LabelRule) -> Result<Self, String> {
        if let Some(names) = &rule.names {
            return names
                .iter()
                .position(|n| n.as_bytes() == field)
                .ok_or_else(|| {
                    format!(
                        "label {} is not one of the classes {}",
                        quoted(field),
                        list(names)
                    )
                });
        }
        let label = match lexical_core::parse::<u64>(field) {
            Ok(v) => usize::try_from(v).ok(),
            // `1.000000000000000000e+00`: a class written as a float.
            Err(_) => lexical_core::parse::<f64>(field)
                .ok()
                .filter(|v| v.fract() == 0.0 && (0.0..9.0e15).contains(v))
                .map(|v| v as usize),
        };
        let Some(label) = label else {
            return Err(format!(
                "label {} is not a class number (a non-negative integer){}",
                quoted(field),
                if lexical_core::parse::<f64>(field).is_err() {
                    " (for labels that are names, give them: Csv::class_names)"
                } else {
                    ""
                }
            ));
        };
        match rule.count {
            Some(classes) if label >= classes => {
                Err(format!("label {label} is not below the {classes} classes"))
            }
            _ => Ok(label),
        }
    }
}

impl CsvTarget for [f32; 1] {
    fn parse_label(field: &[u8], _: &LabelRule) -> Result<Self, String> {
        parse_feature(field).map(|v| [v])
    }
}

/// A feature's value, or why it is none: NaN and infinities are refused, as [`Csv::load`] refuses
/// them (a network cannot learn from them, and one would turn the loss to NaN).
#[inline]
fn parse_feature(field: &[u8]) -> Result<f32, String> {
    match lexical_core::parse::<f32>(field) {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "{} is not a finite number (NaN and infinite values are refused)",
            quoted(field)
        )),
        Err(_) if field.is_empty() => Err("the field is empty, not a number".into()),
        Err(_) => Err(format!("{} is not a number", quoted(field))),
    }
}

/// `"abc"`, at most 40 characters of it.
fn quoted(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("\"{short}\"")
}

/// Counts the bytes read from the file (compressed ones for gzip), for [`Source::bytes_hint`].
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A CSV file read as a [`Source`]: one row at a time through a fixed buffer, so memory stays the
/// same for a file of any size. Made by [`Csv::stream`], which sets the label column (by name or
/// index), the header (given or detected), how labels are read, and whether invalid rows are
/// skipped.
///
/// - **gzip**: a file that starts with gzip's magic bytes is decompressed while it is read
///   (whatever its name), so `HIGGS.csv.gz` is read as downloaded.
/// - **Rows**: `N` features and a label each (the label's column is not a feature); fields are
///   parsed from the bytes the CSV reader hands out, without a `String` per field. The target `T`
///   is a class (`usize`) or a float (`[f32; 1]`): [`CsvTarget`].
/// - **Invalid rows** are errors by default, as [`DataError::Row`] naming the file, the 1-based
///   line (a header counts) and the 1-based column: a field that is not a number, a NaN or
///   infinite feature, a label that is not a class (or not below [`Csv::classes`]), a row with
///   too few or too many fields, an empty line between rows. With
///   [`Csv::skip_bad_rows`] they are skipped instead, and counted ([`Source::skipped`]): an empty
///   line counts as one skipped row. Empty lines after the last row are ignored.
/// - **A file that ends early**: a file whose last line has no line break was probably cut short
///   (a copy or download interrupted), and is an error at that line; a gzip stream that ends early
///   is a [`DataError::Io`]. A file cut exactly at a line break cannot be told from a shorter file.
/// - **A file that changes while it is read**: each pass reads through the file handle opened at
///   its start (by [`rewind`](Source::rewind), again by path). Rows appended during a pass may or
///   may not be read in it; a file truncated during a pass ends it early (an error if mid-line); a
///   file replaced (renamed over) is read whole in the pass that has it open, and the new file
///   from the next pass on. [`bytes_hint`](Source::bytes_hint)'s total is the size at the pass's
///   start.
///
/// ```
/// use nn_core::data::{Csv, DataError, Source};
/// # let dir = std::env::temp_dir().join(format!("nn-core-csvsource-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("events.csv");
/// // HIGGS' layout: no header, the label first (as a float), then the features.
/// std::fs::write(&path, "1.0e+00,0.5,-1.25\n0.0e+00,2.0,0.75\n")?;
/// let mut rows = Csv::new().header(false).label(0).classes(2).stream::<2, usize>(&path)?;
/// let (mut x, mut t) = ([[0.0; 2]; 8], [0; 8]);
/// assert_eq!(rows.read(&mut x, &mut t)?, 2);
/// assert_eq!((x[1], t[..2].to_vec()), ([2.0, 0.75], vec![1, 0]));
/// assert_eq!(rows.read(&mut x, &mut t)?, 0);
///
/// // A bad field names the file, line and column:
/// std::fs::write(&path, "1,0.5,-1.25\n0,abc,0.75\n")?;
/// rows.rewind()?;
/// let err = rows.read(&mut x, &mut t).and_then(|_| rows.read(&mut x, &mut t)).unwrap_err();
/// assert!(err.to_string().ends_with("events.csv:2: column 2: \"abc\" is not a number"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvSource<const N: usize, T = usize> {
    path: PathBuf,
    options: Csv,
    rule: LabelRule,
    reader: ::csv::Reader<LineLimit<Input>>,
    record: ::csv::ByteRecord,
    /// The 1-based line of `record`.
    line: u64,
    /// The first record was data, not a header, and is still to be returned.
    pending: bool,
    label_at: usize,
    /// Bytes of the file read in this pass, and its size at the pass's start.
    bytes: Arc<AtomicU64>,
    total: Option<u64>,
    skipped: u64,
    /// An error found after rows that a `read` returned; the next `read` returns it.
    error: Option<DataError>,
    done: bool,
    target: PhantomData<fn() -> T>,
}

impl<const N: usize, T> core::fmt::Debug for CsvSource<N, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Csv {
    /// Invalid rows are skipped and counted ([`Source::skipped`]) instead of ending the pass with
    /// an error; streamed sources ([`Csv::stream`]) only. Off by default.
    ///
    /// ```
    /// use nn_core::data::{Csv, Source};
    /// # let path = std::env::temp_dir().join(format!("nn-core-skip-{}.csv", std::process::id()));
    /// std::fs::write(&path, "0.5,1\nx,0\n\n0.25,0\n")?;
    /// let mut rows = Csv::new().header(false).skip_bad_rows(true).stream::<1, usize>(&path)?;
    /// let (mut x, mut t) = ([[0.0; 1]; 4], [0; 4]);
    /// assert_eq!(rows.read(&mut x, &mut t)?, 2);
    /// assert_eq!(rows.skipped(), 2); // the `x` row and the empty line
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn skip_bad_rows(mut self, skip: bool) -> Self {
        self.skip_bad_rows = skip;
        self
    }

    /// Opens a CSV file (plain or gzip) as a streamed [`Source`] of rows of `N` features and a
    /// target `T` ([`CsvSource`]), reading its header now (so that a missing file, a header of
    /// the wrong width or an unknown label column fails here). Labels are classes: integers
    /// (below [`classes`](Csv::classes) if given) or [`class_names`](Csv::class_names); names
    /// are not inferred, as that would take a pass over the file.
    ///
    /// ```
    /// use nn_core::data::{Csv, Source};
    /// # let path = std::env::temp_dir().join(format!("nn-core-stream-{}.csv", std::process::id()));
    /// std::fs::write(&path, "a,b,y\n1,2,0.5\n")?;
    /// let rows = Csv::new().label("y").stream::<2, [f32; 1]>(&path)?;
    /// assert_eq!(rows.rows_hint(), None); // a CSV file's rows are known only at its end
    /// assert!(Csv::new().label("z").stream::<2, [f32; 1]>(&path).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream<const N: usize, T: CsvTarget>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<CsvSource<N, T>, DataError> {
        let rule = match &self.classes {
            Classes::Infer => LabelRule::default(),
            Classes::Count(n) => LabelRule {
                count: Some(*n),
                names: None,
            },
            Classes::Named(names) => LabelRule {
                count: Some(names.len()),
                names: Some(names.clone()),
            },
        };
        let path = path.as_ref().to_path_buf();
        let (input, bytes, total) = open(&path)?;
        let mut source = CsvSource {
            reader: csv_reader(input),
            path,
            options: self.clone(),
            rule,
            record: ::csv::ByteRecord::new(),
            line: 0,
            pending: false,
            label_at: N,
            bytes,
            total,
            skipped: 0,
            error: None,
            done: false,
            target: PhantomData,
        };
        source.start()?;
        Ok(source)
    }
}

/// Opens `path`, decompressing it if it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<(Input, Arc<AtomicU64>, Option<u64>), DataError> {
    let io = |source| DataError::Io {
        path: path.into(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let total = file.metadata().ok().map(|m| m.len());
    let bytes = Arc::new(AtomicU64::new(0));
    let mut file = BufReader::with_capacity(
        BUFFER,
        Counted {
            inner: file,
            read: Arc::clone(&bytes),
        },
    );
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let input: Input = if gzip {
        // Multi-member, as `gzip -c a b > ab.gz` and bgzip write them.
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    };
    Ok((input, bytes, total))
}

fn csv_reader(input: Input) -> ::csv::Reader<LineLimit<Input>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true) // field counts are checked per row, with the line in the message
        .trim(::csv::Trim::All)
        .buffer_capacity(BUFFER)
        .from_reader(LineLimit::new(input, BUFFER))
}

impl<const N: usize, T: CsvTarget> CsvSource<N, T> {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn row_error(&self, line: u64, column: Option<usize>, message: String) -> DataError {
        DataError::Row {
            path: self.path.clone(),
            line,
            column,
            message,
        }
    }

    /// Reads the first record and takes it as the header or not, as [`Csv::load`] does.
    fn start(&mut self) -> Result<(), DataError> {
        let have = self.next_record()?;
        let first_line = self.line.max(1);
        let named = matches!(self.options.label, LabelColumn::Name(_));
        let is_header = match self.options.header {
            Some(h) => h,
            None => named || (have && self.looks_like_header()),
        };
        if named && !is_header {
            return Err(self.row_error(
                first_line,
                None,
                "the label column is chosen by name, but the file is read without a header".into(),
            ));
        }
        let mut columns = Vec::new();
        if is_header {
            let fields = if have { self.record.len() } else { 0 };
            if fields != N + 1 {
                return Err(self.row_error(
                    first_line,
                    None,
                    format!(
                        "the header has {fields} fields: {}",
                        shape_mismatch(fields, N)
                    ),
                ));
            }
            columns = self
                .record
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
        }
        self.label_at = match &self.options.label {
            LabelColumn::Name(name) => columns.iter().position(|c| c == name).ok_or_else(|| {
                self.row_error(
                    first_line,
                    None,
                    format!(
                        "there is no column `{name}` in the header (its columns: {})",
                        list(&columns)
                    ),
                )
            })?,
            LabelColumn::Index(i) if *i > N => {
                return Err(self.row_error(
                    first_line,
                    None,
                    format!(
                        "the label column is {i} (0-based), but rows have {} fields",
                        N + 1
                    ),
                ));
            }
            LabelColumn::Index(i) => *i,
            LabelColumn::Last => N,
        };
        self.pending = have && !is_header;
        self.done = !have;
        Ok(())
    }

    /// Whether the first record reads as a header: none of its feature fields is a number.
    fn looks_like_header(&self) -> bool {
        let label_at = match self.options.label {
            LabelColumn::Index(i) => i,
            _ => self.record.len().saturating_sub(1),
        };
        let mut features = self
            .record
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != label_at)
            .peekable();
        features.peek().is_some() && features.all(|(_, f)| lexical_core::parse::<f32>(f).is_err())
    }

    /// Reads the next record into `self.record` and its line into `self.line`; `false` at the
    /// end. An empty line before the record is an error (or a skipped row).
    fn next_record(&mut self) -> Result<bool, DataError> {
        let have = match self.reader.read_byte_record(&mut self.record) {
            Ok(have) => have,
            Err(e) => {
                let limit = self.reader.get_ref();
                return Err(csv_error(&self.path, &e, |p| {
                    limit.breaks.line_at(p.byte(), p.line())
                }));
            }
        };
        let position = self.reader.position().clone();
        let limit = self.reader.get_mut();
        if !have {
            // A file should end with a line break; one that does not was probably cut short.
            if limit.last.is_some_and(|b| b != b'\n' && b != b'\r') {
                self.done = true; // not a row to skip: the end of the file
                let line = self.line.max(1);
                return Err(self.row_error(
                    line,
                    None,
                    "the file ends in the middle of this line (no line break at the end: was it cut short?)"
                        .into(),
                ));
            }
            return Ok(false);
        }
        let (line, blank) = match self.record.position() {
            Some(p) => limit.breaks.line_and_blank_at(p.byte(), p.line()),
            None => (0, None),
        };
        // Where the next record starts, for the record length limit.
        limit.record_start = (position.byte(), line);
        self.line = line;
        if let Some(blank) = blank {
            if !self.options.skip_bad_rows {
                return Err(self.row_error(blank, None, "empty line".into()));
            }
            self.skipped += 1;
        }
        Ok(true)
    }

    /// Parses `self.record` into a row.
    #[inline]
    fn parse_row(&self, x: &mut [f32; N], t: &mut T) -> Result<(), DataError> {
        let record = &self.record;
        if record.len() != N + 1 {
            let message = match record.len() {
                1 if record[0].is_empty() => "empty line".into(),
                fields => format!(
                    "{fields} field{}, where rows have {} ({N} features and a label)",
                    if fields == 1 { "" } else { "s" },
                    N + 1
                ),
            };
            return Err(self.row_error(self.line, None, message));
        }
        let mut values = x.iter_mut();
        for (column, field) in record.iter().enumerate() {
            if column == self.label_at {
                continue;
            }
            let value = values.next().expect("N + 1 fields, one of them the label");
            *value =
                parse_feature(field).map_err(|m| self.row_error(self.line, Some(column + 1), m))?;
        }
        *t = T::parse_label(&record[self.label_at], &self.rule)
            .map_err(|m| self.row_error(self.line, Some(self.label_at + 1), m))?;
        Ok(())
    }
}

impl<const N: usize, T: CsvTarget> Source<N> for CsvSource<N, T> {
    type Target = T;
    type Error = DataError;

    fn read(&mut self, features: &mut [[f32; N]], targets: &mut [T]) -> Result<usize, DataError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let capacity = features.len().min(targets.len());
        let mut n = 0;
        while n < capacity && !self.done {
            let row = if self.pending {
                self.pending = false;
                Ok(true)
            } else {
                self.next_record()
            }
            .and_then(|have| {
                if have {
                    self.parse_row(&mut features[n], &mut targets[n])?;
                } else {
                    self.done = true;
                }
                Ok(have)
            });
            match row {
                Ok(true) => n += 1,
                Ok(false) => {}
                // A bad row; a broken file (I/O, gzip) is never skipped.
                Err(DataError::Row { .. }) if self.options.skip_bad_rows && !self.done => {
                    self.skipped += 1
                }
                Err(e) => {
                    self.done = true;
                    if n == 0 {
                        return Err(e);
                    }
                    // The rows read so far are valid: return them, and the error next time.
                    self.error = Some(e);
                }
            }
        }
        Ok(n)
    }

    fn rewind(&mut self) -> Result<(), DataError> {
        self.done = true;
        self.error = None;
        self.skipped = 0;
        let (input, bytes, total) = open(&self.path)?;
        self.reader = csv_reader(input);
        (self.bytes, self.total) = (bytes, total);
        self.start()
    }

    fn bytes_hint(&self) -> Option<ByteProgress> {
        Some(ByteProgress {
            read: self.bytes.load(Ordering::Relaxed),
            total: self.total,
        })
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}
