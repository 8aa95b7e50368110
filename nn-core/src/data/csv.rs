use std::collections::HashMap;
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::prelude::rust_2021::*;

use super::{DataError, Dataset};

/// Loads a CSV file of `N` numeric features followed by an integer class label per row. (For
/// the label in another column, string labels or a detected header, see [`Csv`]: this is
/// `Csv::new().classes(classes).header(has_header).load(path)`.)
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
    Csv::new().classes(classes).header(has_header).load(path)
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
    Csv::new().classes(classes).header(has_header).read(reader)
}

/// Which column of a CSV file holds the class label: [`Csv::label`] takes a column name (`&str`),
/// a 0-based index (`usize`) or this.
///
/// ```
/// use nn_core::data::LabelColumn;
/// assert_eq!(LabelColumn::default(), LabelColumn::Last);
/// assert_eq!(LabelColumn::from("species"), LabelColumn::Name("species".into()));
/// assert_eq!(LabelColumn::from(0), LabelColumn::Index(0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column (the default, as in most tutorial files).
    #[default]
    Last,
    /// The column at this 0-based index; the others are the features, in file order.
    Index(usize),
    /// The column with this name in the header (which the file must then have).
    Name(String),
}

impl From<&str> for LabelColumn {
    fn from(name: &str) -> Self {
        LabelColumn::Name(name.into())
    }
}

impl From<String> for LabelColumn {
    fn from(name: String) -> Self {
        LabelColumn::Name(name)
    }
}

impl From<usize> for LabelColumn {
    fn from(index: usize) -> Self {
        LabelColumn::Index(index)
    }
}

/// How label values become class indices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Classes {
    /// Integer labels give `max + 1` classes; any other label makes every label a class name.
    #[default]
    Infer,
    /// Integer labels below this count.
    Count(usize),
    /// Labels are these names, and the class index is the name's position.
    Named(Vec<String>),
}

/// A CSV file as people have it: the label in any column, chosen by name or index; labels that are
/// numbers or names (`setosa`); with or without a header, which is detected. Build it, then
/// [`load`](Csv::load) a file or [`read`](Csv::read) any reader, with the number of features `N`
/// (the network's inputs) as the type parameter.
///
/// - **Label column**: [`label`](Csv::label), by name (`"species"`, needs a header) or 0-based
///   index; the last column by default. The other columns are the features, in file order.
/// - **Header**: by default the first row is a header if none of its feature fields is a number
///   (`sepal_length,…`), and data otherwise; [`header`](Csv::header) says so explicitly. A first
///   row that fails to parse says in its error that it may be a header.
/// - **Labels**: by default, if every label is a non-negative integer they are the classes
///   (`max + 1` of them); otherwise every distinct label is a class name, and the classes are the
///   names **sorted** (byte order, as scikit-learn's `LabelEncoder`), so that a training and a test
///   file map names to the same indices whatever order their rows come in. The data set keeps the
///   names ([`Dataset::class_names`]). [`class_names`](Csv::class_names) fixes names and order
///   (also for classes a file lacks); [`classes`](Csv::classes) requires integer labels below a
///   count.
///
/// Every safety property of [`load_csv`] holds: rows and records longer than [`MAX_LINE`] bytes
/// are refused, every error is a [`DataError`] naming the file and the 1-based line, and nothing
/// panics.
///
/// ```
/// use nn_core::data::{Csv, DataError};
/// let text = "sepal_length,sepal_width,species,petal_length\n\
///             5.1,3.5,setosa,1.4\n\
///             6.3,3.3,virginica,6.0\n\
///             7.0,3.2,versicolor,4.7\n";
/// let data = Csv::new().label("species").read::<3>(text.as_bytes())?;
/// assert_eq!(data.features()[0], [5.1, 3.5, 1.4]);
/// assert_eq!(data.labels(), &[0, 2, 1]); // sorted: setosa, versicolor, virginica
/// assert_eq!(data.class_name(2), Some("virginica"));
///
/// // The same columns by index, header detected:
/// assert_eq!(Csv::new().label(2).read::<3>(text.as_bytes())?, data);
///
/// // A network with 4 inputs does not fit:
/// let err = Csv::new().label("species").read::<4>(text.as_bytes()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "<csv>, line 1: the header has 4 fields: the file has 3 features and a label, \
///      where 4 features are expected (N, the network's inputs)"
/// );
/// # Ok::<(), DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Csv {
    pub(super) label: LabelColumn,
    pub(super) header: Option<bool>,
    pub(super) classes: Classes,
    /// Streamed sources skip invalid rows (and count them) instead of failing.
    pub(super) skip_bad_rows: bool,
}

impl Csv {
    /// Label in the last column, header detected, classes inferred.
    pub fn new() -> Self {
        Csv::default()
    }

    /// The label's column: a name from the header (`"species"`) or a 0-based index.
    pub fn label(mut self, column: impl Into<LabelColumn>) -> Self {
        self.label = column.into();
        self
    }

    /// Whether the first row is a header (instead of detecting it).
    ///
    /// ```
    /// use nn_core::data::Csv;
    /// // "1,2,3" would be read as data: say it is a header.
    /// let data = Csv::new().header(true).read::<2>("1,2,3\n0.5,0.25,1\n".as_bytes()).unwrap();
    /// assert_eq!(data.len(), 1);
    /// ```
    pub fn header(mut self, header: bool) -> Self {
        self.header = Some(header);
        self
    }

    /// Labels are integers below `classes` (so a file that lacks the last class still has it).
    ///
    /// ```
    /// use nn_core::data::Csv;
    /// let data = Csv::new().classes(3).read::<1>("0.5,0\n0.7,1\n".as_bytes()).unwrap();
    /// assert_eq!(data.classes(), 3);
    /// assert!(Csv::new().classes(3).read::<1>("0.5,cat\n".as_bytes()).is_err());
    /// ```
    pub fn classes(mut self, classes: usize) -> Self {
        self.classes = Classes::Count(classes);
        self
    }

    /// Labels are these names, class `i` the `i`-th: a fixed order, and classes that a file may
    /// lack. Any other label is an error.
    ///
    /// ```
    /// use nn_core::data::Csv;
    /// let csv = Csv::new().class_names(["dog", "cat", "bird"]);
    /// let data = csv.read::<1>("0.5,cat\n0.7,dog\n".as_bytes()).unwrap();
    /// assert_eq!((data.labels(), data.classes()), (&[1, 0][..], 3));
    /// let err = csv.read::<1>("0.5,cow\n".as_bytes()).unwrap_err();
    /// assert_eq!(err.to_string(), "<csv>, line 1: label `cow` is not one of the classes `dog`, `cat`, `bird`");
    /// ```
    pub fn class_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.classes = Classes::Named(names.into_iter().map(Into::into).collect());
        self
    }

    /// Loads a CSV file of rows of `N` features and a label; errors name the file.
    ///
    /// ```
    /// use nn_core::data::Csv;
    /// # let path = std::env::temp_dir().join(format!("nn-core-csv-load-{}.csv", std::process::id()));
    /// std::fs::write(&path, "x,kind\n0.5,b\n-1,a\n").unwrap();
    /// let data = Csv::new().label("kind").load::<1>(&path).unwrap();
    /// assert_eq!((data.labels(), data.class_names().unwrap()), (&[1, 0][..], &["a".to_string(), "b".into()][..]));
    /// ```
    pub fn load<const N: usize>(&self, path: impl AsRef<Path>) -> Result<Dataset<N>, DataError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })?;
        self.parse(file, path)
    }

    /// Reads CSV text from any reader (`&[u8]` is one); errors name the stream `<csv>`. Memory
    /// holds the rows returned and at most one record of [`MAX_LINE`] bytes.
    ///
    /// ```
    /// use nn_core::data::Csv;
    /// let data = Csv::new().read::<2>("a,b,y\n1,2,0\n3,4,1\n".as_bytes()).unwrap();
    /// assert_eq!((data.len(), data.classes(), data.class_names()), (2, 2, None));
    /// ```
    pub fn read<const N: usize>(&self, reader: impl Read) -> Result<Dataset<N>, DataError> {
        self.parse(reader, Path::new("<csv>"))
    }

    /// The one code path of every CSV loader; `path` goes into the errors.
    fn parse<const N: usize>(
        &self,
        input: impl Read,
        path: &Path,
    ) -> Result<Dataset<N>, DataError> {
        let limit = LineLimit::new(input, CSV_BUFFER);
        // The line a record's text starts on, from the reader's position of it.
        let line_of = |reader: &::csv::Reader<LineLimit<_>>, p: &::csv::Position| {
            reader.get_ref().breaks.line_at(p.byte(), p.line())
        };
        // Where the next record starts, for the record length limit.
        let mark = |reader: &mut ::csv::Reader<LineLimit<_>>| {
            let p = reader.position().clone();
            let line = line_of(reader, &p);
            reader.get_mut().record_start = (p.byte(), line);
        };
        let mut reader = ::csv::ReaderBuilder::new()
            // The first record is read as data and then taken as the header or not.
            .has_headers(false)
            .flexible(true) // field counts are checked below, with a clearer message
            .trim(::csv::Trim::All)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(limit);
        let csv_err =
            |r: &::csv::Reader<_>, e: ::csv::Error| csv_error(path, &e, |p| line_of(r, p));
        let error = |line: u64, message: String| DataError::Csv {
            path: path.into(),
            line,
            message,
        };
        let mut record = ::csv::StringRecord::new();
        let mut have = reader
            .read_record(&mut record)
            .map_err(|e| csv_err(&reader, e))?;
        let first_line = record.position().map_or(1, |p| line_of(&reader, p));
        mark(&mut reader);

        let named = matches!(self.label, LabelColumn::Name(_));
        let is_header = match self.header {
            Some(h) => h,
            None => named || (have && looks_like_header(&record, self.label_index(record.len()))),
        };
        if named && !is_header {
            return Err(error(
                first_line,
                "the label column is chosen by name, but the file is read without a header".into(),
            ));
        }
        // The names of the columns, if there is a header.
        let mut columns: Option<Vec<String>> = None;
        if is_header {
            if !have || record.len() != N + 1 {
                let fields = if have { record.len() } else { 0 };
                return Err(error(
                    first_line,
                    format!(
                        "the header has {fields} fields: {}{}",
                        shape_mismatch(fields, N),
                        if fields == 1 {
                            " (an unclosed quote makes one field of the rest of the file)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            columns = Some(record.iter().map(String::from).collect());
            have = reader
                .read_record(&mut record)
                .map_err(|e| csv_err(&reader, e))?;
            mark(&mut reader);
        }
        let label_at = match &self.label {
            LabelColumn::Name(name) => {
                let names = columns.as_deref().unwrap_or_default();
                names.iter().position(|c| c == name).ok_or_else(|| {
                    error(
                        first_line,
                        format!(
                            "there is no column `{name}` in the header (its columns: {})",
                            list(names)
                        ),
                    )
                })?
            }
            LabelColumn::Index(i) if *i > N => {
                return Err(error(
                    first_line,
                    format!(
                        "the label column is {i} (0-based), but rows have {} fields",
                        N + 1
                    ),
                ));
            }
            LabelColumn::Index(i) => *i,
            LabelColumn::Last => N,
        };
        // A feature's name in messages: its 1-based number among the features, and the column's
        // name if there is a header.
        let feature_name = |i: usize| -> String {
            let column = if i < label_at { i } else { i + 1 };
            match &columns {
                Some(names) => format!("{} (`{}`)", i + 1, names[column]),
                None => (i + 1).to_string(),
            }
        };

        let mut features = Vec::new();
        let mut labels = Vec::new();
        let mut table = LabelTable::default();
        let mut first_row = !is_header;
        while have {
            let line = record.position().map_or(0, |p| line_of(&reader, p));
            if record.len() != N + 1 {
                let message = if first_row {
                    shape_mismatch(record.len(), N)
                } else {
                    format!(
                        "this row has {} fields, the rows above {} ({N} features and a label)",
                        record.len(),
                        N + 1
                    )
                };
                return Err(error(line, message));
            }
            let mut row = [0.0f32; N];
            let values = record
                .iter()
                .enumerate()
                .filter(|&(c, _)| c != label_at)
                .map(|(_, field)| field);
            for (i, (field, value)) in values.zip(row.iter_mut()).enumerate() {
                *value = field
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        let hint = match self.header {
                            _ if !first_row => "",
                            Some(false) if looks_like_header(&record, label_at) => {
                                " (the first row looks like a header: read the file with one)"
                            }
                            None => " (if the first row is a header, say so: Csv::header(true))",
                            _ => "",
                        };
                        error(
                            line,
                            format!(
                                "feature {} is `{field}`, not a finite number{hint}",
                                feature_name(i)
                            ),
                        )
                    })?;
            }
            let label = self
                .label_value(&record[label_at], &mut table)
                .map_err(|message| error(line, message))?;
            features.push(row);
            labels.push(label);
            first_row = false;
            have = reader
                .read_record(&mut record)
                .map_err(|e| csv_err(&reader, e))?;
            mark(&mut reader);
        }
        if features.is_empty() {
            return Err(error(0, "no data rows".into()));
        }
        match &self.classes {
            Classes::Count(classes) => Dataset::new(features, labels, *classes),
            Classes::Named(names) => {
                Dataset::new(features, labels, names.len())?.with_class_names(names.clone())
            }
            Classes::Infer => {
                let (labels, classes, names) = table.finish(labels);
                let data = Dataset::new(features, labels, classes)?;
                match names {
                    Some(names) => data.with_class_names(names),
                    None => Ok(data),
                }
            }
        }
    }

    /// The label column for a record of `fields` fields, before the header is known.
    fn label_index(&self, fields: usize) -> usize {
        match self.label {
            LabelColumn::Index(i) => i,
            _ => fields.saturating_sub(1),
        }
    }

    /// The class of a label field (with [`Classes::Infer`], its index in `table`, mapped at the
    /// end), or the message of why it is none.
    fn label_value(&self, field: &str, table: &mut LabelTable) -> Result<usize, String> {
        if field.is_empty() {
            return Err("the label is empty".into());
        }
        match &self.classes {
            Classes::Count(classes) => {
                let label: usize = field
                    .parse()
                    .map_err(|_| format!("label `{field}` is not a class number"))?;
                if label >= *classes {
                    return Err(format!("label {label} is not below the {classes} classes"));
                }
                Ok(label)
            }
            Classes::Named(names) => names.iter().position(|n| n == field).ok_or_else(|| {
                format!("label `{field}` is not one of the classes {}", list(names))
            }),
            Classes::Infer => Ok(table.id(field)),
        }
    }
}

/// Whether a first row reads as a header: none of its feature fields (all but the label's) is a
/// number. A row with some numbers is data, so a typo in the first data row is reported, not
/// silently taken for a header.
fn looks_like_header(record: &::csv::StringRecord, label_at: usize) -> bool {
    let mut features = record
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != label_at)
        .peekable();
    features.peek().is_some() && features.all(|(_, f)| f.parse::<f32>().is_err())
}

/// What a row of `fields` fields is, against the `n` features expected, in the user's terms.
pub(super) fn shape_mismatch(fields: usize, n: usize) -> String {
    let expected = format!("{n} features are expected (N, the network's inputs)");
    match fields {
        0 => format!("the file has no columns, where a label and {expected}"),
        1 => format!("the file has 1 column, where a label and {expected}"),
        f => format!(
            "the file has {} feature{} and a label, where {expected}",
            f - 1,
            if f == 2 { "" } else { "s" }
        ),
    }
}

/// `` `a`, `b`, `c` ``, at most ten of them.
pub(super) fn list(names: &[String]) -> String {
    let mut s: Vec<String> = names.iter().take(10).map(|n| format!("`{n}`")).collect();
    if names.len() > 10 {
        s.push(format!("… ({} in all)", names.len()));
    }
    s.join(", ")
}

/// The distinct labels of a file read with [`Classes::Infer`], in order of appearance.
#[derive(Default)]
struct LabelTable {
    names: Vec<String>,
    ids: HashMap<String, usize>,
}

impl LabelTable {
    fn id(&mut self, label: &str) -> usize {
        if let Some(&id) = self.ids.get(label) {
            return id;
        }
        self.names.push(label.into());
        self.ids.insert(label.into(), self.names.len() - 1);
        self.names.len() - 1
    }

    /// The labels as classes, the number of classes and their names: integers as they are if
    /// every label is one, otherwise the sorted names.
    fn finish(self, ids: Vec<usize>) -> (Vec<usize>, usize, Option<Vec<String>>) {
        let numbers: Option<Vec<usize>> = self.names.iter().map(|n| n.parse().ok()).collect();
        if let Some(numbers) = numbers {
            let classes = numbers.iter().max().map_or(0, |m| m + 1);
            return (ids.iter().map(|&i| numbers[i]).collect(), classes, None);
        }
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        let mut class_of = vec![0; order.len()];
        for (class, &id) in order.iter().enumerate() {
            class_of[id] = class;
        }
        let classes = order.len();
        let mut names = self.names;
        let sorted = order
            .iter()
            .map(|&i| std::mem::take(&mut names[i]))
            .collect();
        (
            ids.iter().map(|&i| class_of[i]).collect(),
            classes,
            Some(sorted),
        )
    }
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
pub(super) struct LineLimit<R> {
    pub(super) inner: R,
    line: u64,
    length: usize,
    /// Bytes passed through.
    pub(super) read: u64,
    /// The CSV reader's buffer: how far it reads ahead of a record.
    buffer: usize,
    /// Byte offset and line where the record being read starts, set by the reader's user after
    /// each record.
    pub(super) record_start: (u64, u64),
    /// The runs of line breaks read ahead of that record, to number the records.
    pub(super) breaks: Breaks,
    /// Offset of the first byte of the run of line breaks being read, if one is, and the `\n`
    /// and `\r` in it so far.
    run_start: Option<(u64, u32, u32)>,
    /// The last byte passed through (a file should end with a line break).
    pub(super) last: Option<u8>,
}

/// Runs of line breaks (`\n`, `\r`, blank lines) with the line that follows each: the CSV reader
/// puts a record where the previous one ended, which is a line too early after `\r\n` (it ends
/// a record at the `\r`) or after a blank line (rust-csv issues 208 and 395), so a record is
/// numbered by the line after the run its position falls in.
#[derive(Default)]
pub(super) struct Breaks {
    /// Offset of a run's first byte, of the byte after it, and that byte's line.
    runs: VecDeque<(u64, u64, u64)>,
    /// The line of the first empty line in each run of `runs` that has one (two `\n` or two `\r`).
    blank: VecDeque<Option<u64>>,
}

impl Breaks {
    /// Runs kept at most: only a record of many short lines in quotes has more in its window,
    /// and it is over the record length limit; the oldest go first.
    const MAX_RUNS: usize = 1 << 16;

    /// The line of the first character at or after `byte`, where the reader says `line`.
    pub(super) fn line_at(&self, byte: u64, line: u64) -> u64 {
        self.runs
            .iter()
            .find(|&&(start, end, _)| start <= byte && byte < end)
            .map_or(line, |&(_, _, line)| line)
    }

    /// The line of a record that starts at `byte` (where the reader says `line`), and the line of
    /// an empty line in the run of line breaks before it, if there is one.
    pub(super) fn line_and_blank_at(&self, byte: u64, line: u64) -> (u64, Option<u64>) {
        self.runs
            .iter()
            .zip(&self.blank)
            .find(|&(&(start, end, _), _)| start <= byte && byte < end)
            .map_or((line, None), |(&(_, _, line), &blank)| (line, blank))
    }
}

impl<R> LineLimit<R> {
    pub(super) fn new(inner: R, buffer: usize) -> Self {
        LineLimit {
            inner,
            line: 1,
            length: 0,
            read: 0,
            buffer,
            record_start: (0, 1),
            breaks: Breaks::default(),
            run_start: None,
            last: None,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let breaks = &mut self.breaks;
        // Runs that end at or before the record being read cannot hold a later record's start.
        let (start, _) = self.record_start;
        while breaks.runs.front().is_some_and(|&(_, end, _)| end <= start) {
            breaks.runs.pop_front();
            breaks.blank.pop_front();
        }
        if let Some(&b) = buf[..n].last() {
            self.last = Some(b);
        }
        for (offset, &b) in (self.read..).zip(&buf[..n]) {
            if b == b'\n' || b == b'\r' {
                let run = self.run_start.get_or_insert((offset, 0, 0));
                if b == b'\n' {
                    run.1 += 1;
                } else {
                    run.2 += 1;
                }
            } else if let Some((run, newlines, returns)) = self.run_start.take() {
                if breaks.runs.len() == Breaks::MAX_RUNS {
                    breaks.runs.pop_front();
                    breaks.blank.pop_front();
                }
                breaks.runs.push_back((run, offset, self.line));
                // "\n\n" (or "\r\n\r\n", "\r\r") holds an empty line: the one after the run's
                // first line break.
                let blank = (newlines >= 2 || returns >= 2)
                    .then(|| self.line - u64::from(newlines.max(1)) + 1);
                breaks.blank.push_back(blank);
            }
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
        let (start, line) = self.record_start;
        if self.read - start > (MAX_LINE + self.buffer) as u64 {
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

pub(super) fn csv_error(
    path: &Path,
    e: &::csv::Error,
    line_of: impl Fn(&::csv::Position) -> u64,
) -> DataError {
    match e.kind() {
        ::csv::ErrorKind::Io(io) => DataError::Io {
            path: path.into(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => DataError::Csv {
            path: path.into(),
            line: e.position().map_or(0, line_of),
            message: e.to_string(),
        },
    }
}
