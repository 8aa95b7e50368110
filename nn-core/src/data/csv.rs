use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::prelude::rust_2021::*;
use std::rc::Rc;

use super::{DataError, Dataset};

/// Loads a CSV file of `N` numeric features followed by an integer class label per row.
///
/// With `has_header` the first row is a header, which must have `N + 1` fields (so that a header
/// with an unclosed quote, which would swallow every row after it, is an error). Fails, naming the
/// line, on a row with a different number of fields, a feature that is not a finite number, a
/// label that is not an integer `< classes`, or a line or record longer than [`MAX_LINE`] bytes
/// (memory stays bounded on any input); a file without data rows is an error too. The file is
/// read by [`read_csv`], with its path in the errors.
///
/// ```
/// # let path = std::env::temp_dir().join(format!("nn-core-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "x,y,label\n0.5,1,1\n-2,0,0\n").unwrap();
/// let data = nn_core::data::load_csv::<2>(&path, 2, true).unwrap();
/// assert_eq!(data.features(), &[[0.5, 1.0], [-2.0, 0.0]]);
/// assert_eq!(data.labels(), &[1, 0]);
/// // Three features per row do not fit a network with two inputs:
/// assert!(nn_core::data::load_csv::<3>(&path, 2, true).is_err());
/// ```
pub fn load_csv<const N: usize>(
    path: impl AsRef<Path>,
    classes: usize,
    has_header: bool,
) -> Result<Dataset<N>, DataError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    csv_dataset(file, path, classes, has_header)
}

/// Reads CSV text of `N` numeric features followed by an integer class label per row: what
/// [`load_csv`] does with a file, for bytes in memory (`&[u8]` is a reader) or any other
/// [`Read`]. Errors name the stream `<csv>` where a file error has its path.
///
/// The text is read as it is parsed, through a buffer: memory holds the rows returned and at most
/// one record of [`MAX_LINE`] bytes, whatever the input.
///
/// ```
/// use nn_core::data::{read_csv, DataError};
/// let data = read_csv::<2>("x,y,label\n0.5,1,1\n-2,0,0\n".as_bytes(), 2, true)?;
/// assert_eq!(data.features(), &[[0.5, 1.0], [-2.0, 0.0]]);
/// assert_eq!(data.labels(), &[1, 0]);
/// // Without a header:
/// assert_eq!(read_csv::<2>(&b"0.5,1,1\n"[..], 2, false)?.len(), 1);
///
/// let err = read_csv::<2>(&b"0.5,1,1\n-2,zero,0\n"[..], 2, false).unwrap_err();
/// assert_eq!(err.to_string(), "<csv>, line 2: feature 2 is `zero`, not a finite number");
/// # Ok::<(), DataError>(())
/// ```
pub fn read_csv<const N: usize>(
    reader: impl Read,
    classes: usize,
    has_header: bool,
) -> Result<Dataset<N>, DataError> {
    csv_dataset(reader, Path::new("<csv>"), classes, has_header)
}

/// The one code path of [`load_csv`] and [`read_csv`]; `path` goes into the errors.
fn csv_dataset<const N: usize>(
    input: impl Read,
    path: &Path,
    classes: usize,
    has_header: bool,
) -> Result<Dataset<N>, DataError> {
    let limit = LineLimit::new(input);
    let record_start = Rc::clone(&limit.record_start);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true) // field counts are checked below, with a clearer message
        .trim(::csv::Trim::All)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(limit);
    // Where the next record starts, for the record length limit.
    let mark = |reader: &::csv::Reader<_>| {
        let p = reader.position();
        record_start.set((p.byte(), p.line()));
    };
    if has_header {
        let header = reader.headers().map_err(|e| csv_error(path, &e))?;
        if header.len() != N + 1 {
            return Err(DataError::Csv {
                path: path.into(),
                line: 1,
                message: format!(
                    "the header has {} fields, expected {N} feature names and a label (an unclosed quote makes one field of the rest of the file)",
                    header.len()
                ),
            });
        }
        mark(&reader);
    }
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut record = ::csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, &e))?
    {
        mark(&reader);
        let line = record.position().map_or(0, |p| p.line());
        let bad = |message: String| DataError::Csv {
            path: path.into(),
            line,
            message,
        };
        if record.len() != N + 1 {
            return Err(bad(format!(
                "{} fields, expected {N} features and a label",
                record.len()
            )));
        }
        let mut row = [0.0f32; N];
        for (i, (field, value)) in record.iter().zip(row.iter_mut()).enumerate() {
            *value = field
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "feature {} is `{field}`, not a finite number",
                        i + 1
                    ))
                })?;
        }
        let label_field = &record[N];
        let label: usize = label_field
            .parse()
            .map_err(|_| bad(format!("label `{label_field}` is not a class number")))?;
        if label >= classes {
            return Err(bad(format!(
                "label {label} is not below the {classes} classes"
            )));
        }
        features.push(row);
        labels.push(label);
    }
    if features.is_empty() {
        return Err(DataError::Csv {
            path: path.into(),
            line: 0,
            message: "no data rows".into(),
        });
    }
    Dataset::new(features, labels, classes)
}

/// The longest line [`load_csv`] reads, in bytes (1 MiB: a row of 100,000 numbers fits).
///
/// ```
/// assert_eq!(nn_core::data::MAX_LINE, 1 << 20);
/// ```
pub const MAX_LINE: usize = 1 << 20;

/// The CSV reader's buffer: it reads this far ahead of the record it parses.
const CSV_BUFFER: usize = 8 << 10;

/// Passes bytes through, failing once a line grows beyond [`MAX_LINE`], or a record does (a quoted
/// field can span lines, so that an unclosed quote makes one record of the rest of the input): the
/// CSV reader buffers a whole record, so an endless one would otherwise take memory without bound.
struct LineLimit<R> {
    inner: R,
    line: u64,
    length: usize,
    /// Bytes passed through.
    read: u64,
    /// Byte offset and line where the record being read starts, set by the reader's user after
    /// each record.
    record_start: Rc<Cell<(u64, u64)>>,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit {
            inner,
            line: 1,
            length: 0,
            read: 0,
            record_start: Rc::new(Cell::new((0, 1))),
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.line += 1;
                self.length = 0;
            } else if b == b'\r' {
                // A line end too (files from old Macs end lines with `\r` alone); lines are
                // numbered by `\n`, as the CSV reader numbers them.
                self.length = 0;
            } else {
                self.length += 1;
                if self.length > MAX_LINE {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} is longer than {MAX_LINE} bytes", self.line),
                    ));
                }
            }
        }
        self.read += n as u64;
        // The reader holds at most its buffer beyond the record it parses.
        let (start, line) = self.record_start.get();
        if self.read - start > (MAX_LINE + CSV_BUFFER) as u64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the record starting on line {line} is longer than {MAX_LINE} bytes (a quoted field that does not end?)"
                ),
            ));
        }
        Ok(n)
    }
}

fn csv_error(path: &Path, e: &::csv::Error) -> DataError {
    match e.kind() {
        ::csv::ErrorKind::Io(io) => DataError::Io {
            path: path.into(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => DataError::Csv {
            path: path.into(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        },
    }
}
