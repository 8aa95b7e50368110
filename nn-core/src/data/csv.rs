use std::path::Path;
use std::prelude::rust_2021::*;

use super::{DataError, Dataset};

/// Loads a CSV file of `N` numeric features followed by an integer class label per row.
///
/// With `has_header` the first row is skipped. Fails, naming the line, on a row with a different
/// number of fields, a feature that is not a finite number, or a label that is not an integer
/// `< classes`.
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
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true) // field counts are checked below, with a clearer message
        .trim(::csv::Trim::All)
        .from_path(path)
        .map_err(|e| csv_error(path, &e))?;
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
    Dataset::new(features, labels, classes)
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
