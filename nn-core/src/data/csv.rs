use std::path::Path;
use std::prelude::rust_2021::*;

use super::{DataError, Dataset};

/// Loads a CSV file of `N` numeric features followed by an integer class label per row.
///
/// With `has_header` the first row is a header, which must have `N + 1` fields (so that a header
/// with an unclosed quote, which would swallow every row after it, is an error). Fails, naming the
/// line, on a row with a different number of fields, a feature that is not a finite number, a
/// label that is not an integer `< classes`, or a line longer than [`MAX_LINE`] bytes (memory stays
/// bounded on any input); a file without data rows is an error too.
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
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true) // field counts are checked below, with a clearer message
        .trim(::csv::Trim::All)
        .from_reader(LineLimit::new(file));
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
    }
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
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

/// Passes bytes through, failing once a line grows beyond [`MAX_LINE`]: the CSV reader buffers a
/// whole record, so an endless line would otherwise take memory without bound.
struct LineLimit<R> {
    inner: R,
    line: u64,
    length: usize,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit {
            inner,
            line: 1,
            length: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.line += 1;
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
