//! Streamed data (issue 14): every source against the in-memory path on the same rows, gzip,
//! bad rows, files that end early or change, streamed `Fit` bit-identical to in-memory `Fit`,
//! and memory that does not grow with the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use constnet::data::{
    count_rows, split_last, Csv, CsvSource, DataError, Dataset, DatasetSource, IdxSource, Rows,
    Source,
};
use constnet::prelude::*;
use constnet::train::{
    evaluate_stream, predict_outputs, predict_stream, score_stream, Control, EarlyStopping,
    EpochData, FitError, Monitor,
};

network! {
    /// HIGGS-shaped: 28 features, one sigmoid output.
    #[derive(Clone)]
    struct Higgs { Dense<28, 16, Relu>, Dense<16, 1, Sigmoid> }
}

network! {
    #[derive(Clone)]
    struct Small { Dense<3, 8, Tanh>, Dense<8, 3, Softmax> }
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("constnet-stream-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Deterministic HIGGS-like rows: 28 features from a small LCG, label from their sum.
fn higgs_rows(n: usize, seed: u64) -> (Vec<[f32; 28]>, Vec<usize>) {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
    };
    let x: Vec<[f32; 28]> = (0..n).map(|_| core::array::from_fn(|_| next())).collect();
    let y = x
        .iter()
        .map(|r| usize::from(r[0] + r[1] - r[2] > 0.0))
        .collect();
    (x, y)
}

/// Writes rows as HIGGS does: no header, the label first as `1.000000000000000000e+00`, then the
/// features (as `{}`: the shortest decimal that reads back as the same `f32`).
fn higgs_csv(x: &[[f32; 28]], y: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for (r, &l) in x.iter().zip(y) {
        // As HIGGS writes it: `1.000000000000000000e+00`.
        let s = format!("{:.18e}", l as f64).replace('e', "e+0");
        out.extend_from_slice(s.as_bytes());
        for v in r {
            write!(out, ",{v}").unwrap();
        }
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The features and targets of a pass.
type Pass<const N: usize, T> = (Vec<[f32; N]>, Vec<T>);

/// Every row of a pass, read with buffers of `chunk` rows.
fn collect<const N: usize, S: Source<N>>(
    s: &mut S,
    chunk: usize,
) -> Result<Pass<N, S::Target>, S::Error> {
    let mut x = vec![[0.0; N]; chunk];
    let mut t = vec![<S::Target as constnet::data::Target>::empty(); chunk];
    let (mut xs, mut ts) = (Vec::new(), Vec::new());
    loop {
        let n = s.read(&mut x, &mut t)?;
        if n == 0 {
            return Ok((xs, ts));
        }
        xs.extend_from_slice(&x[..n]);
        ts.extend_from_slice(&t[..n]);
    }
}

fn higgs_stream(path: &Path) -> CsvSource<28, usize> {
    Csv::new()
        .header(false)
        .label(0)
        .classes(2)
        .stream::<28, usize>(path)
        .unwrap()
}

#[test]
fn csv_source_gives_the_rows_of_the_in_memory_loader() {
    let text = "a,label,b,c\n0.5,2,1,-1.5\n1e-3,0,2.25,3\n-7,1,0,0.125\n4,2,5,6\n";
    let path = dir().join("mid-label.csv");
    std::fs::write(&path, text).unwrap();
    let memory: Dataset<3> = Csv::new().label("label").classes(3).load(&path).unwrap();
    for chunk in [1, 2, 3, 100] {
        let mut s = Csv::new()
            .label("label")
            .classes(3)
            .stream::<3, usize>(&path)
            .unwrap();
        let (x, t) = collect(&mut s, chunk).unwrap();
        assert_eq!(
            (&x[..], &t[..]),
            (memory.features(), memory.labels()),
            "chunk {chunk}"
        );
        // A second pass gives the same rows.
        s.rewind().unwrap();
        assert_eq!(collect(&mut s, chunk).unwrap(), (x, t));
    }
    // By index, and with float targets.
    let mut s = Csv::new().label(1).stream::<3, [f32; 1]>(&path).unwrap();
    let (x, t) = collect(&mut s, 3).unwrap();
    assert_eq!(x, memory.features());
    assert_eq!(t, vec![[2.0], [0.0], [1.0], [2.0]]);
}

#[test]
fn feature_columns_by_name_or_index() {
    // An id column to ignore, the features out of order, the label in the middle.
    let text = "id,c,label,a,b\n7,3,1,1,2\n8,6,0,4,5\n9,9,1,7,8\n";
    let path = dir().join("columns.csv");
    std::fs::write(&path, text).unwrap();
    let expected = Dataset::new(
        vec![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
        vec![1, 0, 1],
        2,
    )
    .unwrap();
    let by_name = Csv::new().label("label").features(["a", "b", "c"]);
    let got = collect(&mut by_name.stream::<3, usize>(&path).unwrap(), 2).unwrap();
    assert_eq!(
        (&got.0[..], &got.1[..]),
        (expected.features(), expected.labels())
    );
    let by_index = Csv::new().header(true).label(2).features([3, 4, 1]);
    assert_eq!(
        collect(&mut by_index.stream::<3, usize>(&path).unwrap(), 2).unwrap(),
        got
    );
    // Errors name the file and what is wrong; the in-memory loader refuses the option.
    let err = |csv: Csv| csv.stream::<3, usize>(&path).unwrap_err().to_string();
    assert!(err(Csv::new().label("label").features(["a", "b", "z"]))
        .contains("there is no column `z` in the header"));
    assert!(err(Csv::new().label("label").features(["a", "b"])).ends_with("2 feature columns are chosen (Csv::features), where 3 features are expected (N, the network's inputs)"));
    assert!(err(Csv::new().label("label").features(["a", "b", "label"]))
        .ends_with("column 2 (0-based) is chosen as a feature and as the label"));
    assert!(err(Csv::new().header(true).label(2).features([3, 4, 5]))
        .ends_with("the feature column is 5 (0-based), but rows have 5 fields"));
    assert!(by_name.load::<3>(&path).is_err());
    // A row of the wrong width is an error at its line.
    std::fs::write(&path, format!("{text}1,2,3\n")).unwrap();
    let e = collect(&mut by_name.stream::<3, usize>(&path).unwrap(), 8)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("columns.csv:5: 3 fields, where rows have 5"),
        "{e}"
    );
}

#[test]
fn higgs_layout_plain_and_gzip_match_memory() {
    let (x, y) = higgs_rows(3000, 1);
    let csv = higgs_csv(&x, &y);
    let plain = dir().join("higgs.csv");
    // gzip is found by its magic bytes, not its name.
    let gz = dir().join("higgs-gz.data");
    std::fs::write(&plain, &csv).unwrap();
    std::fs::write(&gz, gzip(&csv)).unwrap();
    for path in [&plain, &gz] {
        let mut s = higgs_stream(path);
        let (xs, ts) = collect(&mut s, 512).unwrap();
        assert_eq!(xs, x, "{}", path.display());
        assert_eq!(ts, y);
        assert_eq!(s.skipped(), 0);
        let bytes = s.bytes_hint().unwrap();
        assert_eq!(Some(bytes.read), bytes.total, "the whole file was read");
    }
    // The in-memory loader reads the same file to the same rows.
    let memory: Dataset<28> = Csv::new().header(false).label(0).load(&plain).unwrap();
    assert_eq!((memory.features(), memory.labels()), (&x[..], &y[..]));
    // A concatenated (multi-member) gzip file is one stream, as gunzip reads it.
    let half = csv.len() / 2;
    let cut = half + csv[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut two = gzip(&csv[..cut]);
    two.extend(gzip(&csv[cut..]));
    std::fs::write(&gz, two).unwrap();
    assert_eq!(collect(&mut higgs_stream(&gz), 77).unwrap(), (x, y));
}

#[test]
fn idx_source_matches_load_idx() {
    let d = dir();
    let (count, n) = (50u32, 6u32);
    let mut images = vec![0, 0, 8, 3];
    for v in [count, 2, 3] {
        images.extend(v.to_be_bytes());
    }
    images.extend((0..count * n).map(|i| (i * 37 % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(count.to_be_bytes());
    labels.extend((0..count).map(|i| (i % 4) as u8));
    std::fs::write(d.join("imgs"), &images).unwrap();
    std::fs::write(d.join("labs"), &labels).unwrap();
    let memory = constnet::data::load_idx::<6>(d.join("imgs"), d.join("labs"), 4).unwrap();
    let mut s = IdxSource::<6>::open(d.join("imgs"), d.join("labs"), 4).unwrap();
    assert_eq!(s.rows_hint(), Some(50));
    let (x, t) = collect(&mut s, 7).unwrap();
    assert_eq!((&x[..], &t[..]), (memory.features(), memory.labels()));
    // Held out by position, without reading the skipped rows.
    let mut tail =
        Rows::new(IdxSource::<6>::open(d.join("imgs"), d.join("labs"), 4).unwrap()).skip(45);
    let (x, t) = collect(&mut tail, 100).unwrap();
    assert_eq!(
        (&x[..], &t[..]),
        (&memory.features()[45..], &memory.labels()[45..])
    );

    // Label 3 with 3 classes: an error at that row, after the rows before it.
    let mut s = IdxSource::<6>::open(d.join("imgs"), d.join("labs"), 3).unwrap();
    let mut x = vec![[0.0; 6]; 10];
    let mut t = vec![0; 10];
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 3);
    assert!(matches!(
        s.read(&mut x, &mut t),
        Err(DataError::LabelOutOfRange {
            index: 3,
            label: 3,
            classes: 3,
            ..
        })
    ));
    // Truncated, too long, gzip, wrong width: errors when opened, no panic.
    std::fs::write(d.join("short"), &images[..images.len() - 1]).unwrap();
    assert!(matches!(
        IdxSource::<6>::open(d.join("short"), d.join("labs"), 4),
        Err(DataError::Truncated { .. })
    ));
    std::fs::write(d.join("long"), [&images[..], &[0]].concat()).unwrap();
    assert!(matches!(
        IdxSource::<6>::open(d.join("long"), d.join("labs"), 4),
        Err(DataError::TrailingData { extra: 1, .. })
    ));
    std::fs::write(d.join("header-only"), &images[..10]).unwrap();
    assert!(matches!(
        IdxSource::<6>::open(d.join("header-only"), d.join("labs"), 4),
        Err(DataError::Truncated { .. })
    ));
    std::fs::write(d.join("imgs.gz"), gzip(&images)).unwrap();
    assert!(matches!(
        IdxSource::<6>::open(d.join("imgs.gz"), d.join("labs"), 4),
        Err(DataError::Io { .. })
    ));
    assert!(matches!(
        IdxSource::<5>::open(d.join("imgs"), d.join("labs"), 4),
        Err(DataError::FeatureMismatch {
            expected: 5,
            found: 6,
            ..
        })
    ));
}

/// The error of reading a file with one bad row, and what skipping it gives.
fn bad(name: &str, text: &str) -> (String, usize, u64) {
    let path = dir().join(name);
    std::fs::write(&path, text).unwrap();
    let csv = Csv::new().header(true).classes(2);
    let mut s = csv.stream::<2, usize>(&path).unwrap();
    let err = collect(&mut s, 16).unwrap_err().to_string();
    let mut s = csv.skip_bad_rows(true).stream::<2, usize>(&path).unwrap();
    let (rows, _) = collect(&mut s, 16).unwrap();
    (
        err.rsplit('/').next().unwrap().to_string(),
        rows.len(),
        s.skipped(),
    )
}

#[test]
fn bad_rows_name_file_line_and_column_or_are_skipped_and_counted() {
    let head = "x,y,label\n0.5,1,1\n";
    let tail = "2,3,0\n";
    let cases = [
        ("nan.csv", "abc,1,0\n", "nan.csv:3: column 1: \"abc\" is not a number"),
        ("col2.csv", "1,abc,0\n", "col2.csv:3: column 2: \"abc\" is not a number"),
        ("empty-field.csv", "1,,0\n", "empty-field.csv:3: column 2: the field is empty, not a number"),
        ("few.csv", "1,0\n", "few.csv:3: 2 fields, where rows have 3 (2 features and a label)"),
        ("many.csv", "1,2,3,0\n", "many.csv:3: 4 fields, where rows have 3 (2 features and a label)"),
        ("blank.csv", "\n", "blank.csv:3: empty line"),
        ("nan-value.csv", "NaN,1,0\n", "nan-value.csv:3: column 1: \"NaN\" is not a finite number (NaN and infinite values are refused)"),
        ("inf.csv", "1,inf,0\n", "inf.csv:3: column 2: \"inf\" is not a finite number (NaN and infinite values are refused)"),
        ("label.csv", "1,2,2\n", "label.csv:3: column 3: label 2 is not below the 2 classes"),
        ("label-text.csv", "1,2,yes\n", "label-text.csv:3: column 3: label \"yes\" is not a class number (a non-negative integer) (for labels that are names, give them: Csv::class_names)"),
        ("label-frac.csv", "1,2,0.5\n", "label-frac.csv:3: column 3: label \"0.5\" is not a class number (a non-negative integer)"),
    ];
    for (name, row, expected) in cases {
        let (err, rows, skipped) = bad(name, &format!("{head}{row}{tail}"));
        assert_eq!(err, expected);
        // Skipped: the good rows are all there, the bad one counted.
        assert_eq!((rows, skipped), (2, 1), "{name}");
    }
    // Line numbers count the header and survive \r\n line ends.
    let (err, _, _) = bad("crlf.csv", "x,y,label\r\n1,2,0\r\n3,4,1\r\n5,x,0\r\n");
    assert_eq!(err, "crlf.csv:4: column 2: \"x\" is not a number");
}

#[test]
fn a_file_that_ends_early_is_an_error() {
    let (x, y) = higgs_rows(100, 2);
    let csv = higgs_csv(&x, &y);
    // Cut in the middle of a line: the last row has too few fields, or no line break.
    let cut = dir().join("cut.csv");
    std::fs::write(&cut, &csv[..csv.len() - 30]).unwrap();
    let err = collect(&mut higgs_stream(&cut), 64)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cut.csv:100: "), "{err}");
    let cut_in_number = dir().join("cut2.csv");
    std::fs::write(&cut_in_number, &csv[..csv.len() - 2]).unwrap();
    let mut s = higgs_stream(&cut_in_number);
    let err = collect(&mut s, 64).unwrap_err().to_string();
    assert!(err.ends_with("cut2.csv:100: the file ends in the middle of this line (no line break at the end: was it cut short?)"), "{err}");
    // A gzip stream that ends early is an I/O error, also when skipping bad rows.
    let gz = dir().join("cut.csv.gz");
    let packed = gzip(&csv);
    std::fs::write(&gz, &packed[..packed.len() / 2]).unwrap();
    let mut s = Csv::new()
        .header(false)
        .label(0)
        .skip_bad_rows(true)
        .stream::<28, usize>(&gz)
        .unwrap();
    assert!(matches!(collect(&mut s, 64), Err(DataError::Io { .. })));
}

#[test]
fn rows_before_an_error_are_returned_first() {
    let path = dir().join("late-error.csv");
    std::fs::write(&path, "1,0\n2,1\n3,x\n4,0\n").unwrap();
    let mut s = Csv::new().header(false).stream::<1, usize>(&path).unwrap();
    let (mut x, mut t) = ([[0.0]; 10], [0; 10]);
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 2);
    assert_eq!(x[..2], [[1.0], [2.0]]);
    let err = s.read(&mut x, &mut t).unwrap_err();
    assert!(err.to_string().ends_with("late-error.csv:3: column 2: label \"x\" is not a class number (a non-negative integer) (for labels that are names, give them: Csv::class_names)"), "{err}");
    // The pass is over until rewound; then it starts again.
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 0);
    s.rewind().unwrap();
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 2);
}

#[test]
fn a_file_changed_between_passes_is_read_as_it_is_then() {
    let path = dir().join("changing.csv");
    std::fs::write(&path, "1,0\n2,1\n").unwrap();
    let mut s = Csv::new().header(false).stream::<1, usize>(&path).unwrap();
    assert_eq!(collect(&mut s, 8).unwrap().0, vec![[1.0], [2.0]]);
    // Replaced by a rename (as a writer that writes atomically does) during a pass: the pass
    // reads the file it opened; the next one the new file.
    s.rewind().unwrap();
    let (mut x, mut t) = ([[0.0]; 1], [0; 1]);
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 1);
    let new = dir().join("changing.tmp");
    std::fs::write(&new, "5,0\n6,1\n7,0\n").unwrap();
    std::fs::rename(&new, &path).unwrap();
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 1);
    assert_eq!(x[0], [2.0]);
    assert_eq!(s.read(&mut x, &mut t).unwrap(), 0);
    s.rewind().unwrap();
    assert_eq!(collect(&mut s, 8).unwrap().0, vec![[5.0], [6.0], [7.0]]);
}

fn fit_both(
    fit: Fit<32>,
    epochs_before: usize,
    rows: usize,
) -> (
    Vec<f32>,
    Vec<f32>,
    constnet::train::History,
    constnet::train::StreamHistory,
) {
    let (x, y) = higgs_rows(rows, 3);
    let path = dir().join(format!("fit-{rows}-{}-{}.csv", fit.seed, epochs_before));
    std::fs::write(&path, higgs_csv(&x, &y)).unwrap();
    let data = Dataset::new(x, y, 2).unwrap();
    let (mut a, mut b) = (Higgs::new(11), Higgs::new(11));
    let mut ta = Trainer::new(Adam::new(0.01));
    let mut tb = Trainer::new(Adam::new(0.01));
    let before = Fit::<32> {
        epochs: epochs_before,
        ..fit.clone()
    };
    if epochs_before > 0 {
        before
            .run(&mut a, BinaryCrossEntropy, &mut ta, &data, None)
            .unwrap();
        before
            .run_stream(
                &mut b,
                BinaryCrossEntropy,
                &mut tb,
                &mut higgs_stream(&path),
                None::<&mut CsvSource<28>>,
            )
            .unwrap();
    }
    let memory = fit
        .run(&mut a, BinaryCrossEntropy, &mut ta, &data, None)
        .unwrap();
    let streamed = fit
        .run_stream(
            &mut b,
            BinaryCrossEntropy,
            &mut tb,
            &mut higgs_stream(&path),
            None::<&mut CsvSource<28>>,
        )
        .unwrap();
    (
        a.as_slice().to_vec(),
        b.as_slice().to_vec(),
        memory,
        streamed,
    )
}

#[test]
fn streamed_fit_with_a_buffer_holding_everything_is_bit_identical_to_in_memory_fit() {
    // 1000 rows: 31 batches of 32, 8 rows dropped per epoch (different ones each epoch).
    let fit = Fit::<32>::epochs(3)
        .verbose(Verbose::Silent)
        .seed(42)
        .shuffle_buffer(1000);
    let (a, b, memory, streamed) = fit_both(fit.clone(), 0, 1000);
    assert_eq!(
        a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    for (m, s) in memory.epochs.iter().zip(&streamed.history.epochs) {
        assert_eq!((m.loss, m.accuracy), (s.loss, s.accuracy));
    }
    assert_eq!(streamed.data[0].rows, 1000);
    assert_eq!(streamed.data[0].trained, 992);
    // A second run with the same trainers continues the same shuffle sequence.
    let (a, b, _, _) = fit_both(fit.clone().seed(7), 2, 1000);
    assert_eq!(a, b);
    // Without shuffling, the file order, as in memory.
    let (a, b, _, _) = fit_both(fit.clone().shuffle(false), 0, 1000);
    assert_eq!(a, b);
    // A buffer smaller than the data shuffles differently (tf.data's window) but still trains on
    // every row once per epoch.
    let (a, b, memory, streamed) = fit_both(fit.shuffle_buffer(100), 0, 1000);
    assert_ne!(a, b);
    assert_eq!(streamed.data[2].rows, 1000);
    assert_eq!(streamed.data[2].trained, 992);
    let last = |h: &constnet::train::History| h.epochs.last().unwrap().loss;
    assert!((last(&memory) - last(&streamed.history)).abs() < 0.05);
}

#[test]
fn callbacks_validation_evaluate_and_predict_work_on_streams() {
    let (x, y) = higgs_rows(2000, 5);
    let path = dir().join("cb.csv");
    std::fs::write(&path, higgs_csv(&x, &y)).unwrap();
    let data = Dataset::new(x, y, 2).unwrap();
    // The last 500 rows held out by position, read from a second handle on the file.
    let (mut train, mut test) = split_last(higgs_stream(&path), higgs_stream(&path), 500).unwrap();
    assert_eq!(count_rows(&mut higgs_stream(&path)).unwrap(), 2000);
    // Counted, the CSV parts know their rows (the progress bar counts rows, not bytes).
    assert_eq!(higgs_stream(&path).rows_hint(), None);
    assert_eq!(
        (train.rows_hint(), test.rows_hint()),
        (Some(1500), Some(500))
    );
    let mut net = Higgs::new(1);
    let mut stop = EarlyStopping::new(Monitor::ValLoss).patience(0);
    let streamed = Fit::<32>::epochs(50)
        .verbose(Verbose::Silent)
        .run_stream_with(
            &mut net,
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::new(0.05)),
            &mut train,
            Some(&mut test),
            &mut [&mut stop],
        )
        .unwrap();
    assert!(
        streamed.history.epochs.len() < 50,
        "early stopping stopped it"
    );
    assert_eq!(streamed.data[0].rows, 1500);
    let (_, held_out) = data.clone().split(1500);
    let last = streamed.history.epochs.last().unwrap().validation.unwrap();
    let in_memory = evaluate(&net, BinaryCrossEntropy, &held_out).unwrap();
    assert!(
        (last.loss - in_memory.loss).abs() < 1e-6 && last.accuracy == in_memory.accuracy,
        "{last:?} {in_memory:?}"
    );
    assert!(in_memory.accuracy > 0.85, "{in_memory:?}");
    // evaluate_stream and predict_stream on the CSV agree with the in-memory functions.
    let e = evaluate_stream(&net, BinaryCrossEntropy, &mut higgs_stream(&path)).unwrap();
    assert_eq!(e, evaluate(&net, BinaryCrossEntropy, &data).unwrap());
    let mut out = Vec::new();
    assert_eq!(
        predict_stream(&net, &mut higgs_stream(&path), &mut out).unwrap(),
        2000
    );
    let written: Vec<f32> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let expected: Vec<f32> = predict_outputs(&net, data.features())
        .iter()
        .map(|y| y[0])
        .collect();
    assert_eq!(written, expected);
}

/// Records what `on_stream_epoch_end` is given.
struct Reads(Vec<(u64, EpochData)>);

impl<N> Callback<N> for Reads {
    fn on_stream_epoch_end(&mut self, epoch: u64, data: &EpochData, _: &mut Control<'_, N>) {
        self.0.push((epoch, *data));
    }
}

#[test]
fn score_stream_and_the_epoch_data_callback_agree_with_memory_and_history() {
    let (x, y) = higgs_rows(1000, 8);
    let path = dir().join("score.csv");
    std::fs::write(&path, higgs_csv(&x, &y)).unwrap();
    let data = Dataset::new(x, y, 2).unwrap();
    let (mut train, mut test) = split_last(higgs_stream(&path), higgs_stream(&path), 300).unwrap();
    let mut net = Higgs::new(2);
    let mut reads = Reads(Vec::new());
    let streamed = Fit::<32>::epochs(3)
        .verbose(Verbose::Silent)
        .shuffle_buffer(100)
        .run_stream_with(
            &mut net,
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &mut train,
            None::<&mut DatasetSource<28>>,
            &mut [&mut reads],
        )
        .unwrap();
    // One call per epoch, numbered as the trainer counts them, with the history's figures.
    let expected: Vec<(u64, EpochData)> = (0..3).zip(streamed.data.iter().copied()).collect();
    assert_eq!(reads.0, expected);
    assert_eq!((reads.0[0].1.rows, reads.0[0].1.trained), (700, 672));
    // The held-out rows' outputs and labels, in file order, as in memory.
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    let rows = score_stream(&net, &mut test, |y, &t| {
        scores.push(y[0]);
        labels.push(t);
    })
    .unwrap();
    assert_eq!(rows, 300);
    let (_, held_out) = data.split(700);
    let expected: Vec<f32> = predict_outputs(&net, held_out.features())
        .iter()
        .map(|y| y[0])
        .collect();
    assert_eq!(scores, expected);
    assert_eq!(labels, held_out.targets());
    // A source's error is a `FitError::Data`.
    std::fs::write(&path, "1.0,abc\n").unwrap();
    let err = score_stream(&net, &mut higgs_stream(&path), |_, _| {}).unwrap_err();
    assert!(matches!(err, FitError::Data { epoch: 0, .. }), "{err:?}");
}

#[test]
fn a_bad_row_stops_training_with_an_error_carrying_the_history() {
    let (x, y) = higgs_rows(600, 6);
    let mut csv = higgs_csv(&x, &y);
    csv.extend_from_slice(b"0,abc\n");
    let path = dir().join("bad-fit.csv");
    std::fs::write(&path, &csv).unwrap();
    let mut net = Higgs::new(1);
    let err = Fit::<32>::epochs(2)
        .verbose(Verbose::Silent)
        .run_stream(
            &mut net,
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &mut higgs_stream(&path),
            None::<&mut CsvSource<28>>,
        )
        .unwrap_err();
    let FitError::Data {
        epoch,
        error,
        history,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*epoch, history.epochs.len()), (1, 0));
    assert!(matches!(
        error.downcast_ref::<DataError>(),
        Some(DataError::Row {
            line: 601,
            column: None,
            ..
        })
    ));
    assert!(
        err.to_string()
            .ends_with("bad-fit.csv:601: 2 fields, where rows have 29 (28 features and a label)"),
        "{err}"
    );
    // Skipping it: trained, with the row counted.
    let mut s = Csv::new()
        .header(false)
        .label(0)
        .skip_bad_rows(true)
        .stream::<28, usize>(&path)
        .unwrap();
    let h = Fit::<32>::epochs(2)
        .verbose(Verbose::Silent)
        .run_stream(
            &mut net,
            BinaryCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &mut s,
            None::<&mut CsvSource<28>>,
        )
        .unwrap();
    assert_eq!((h.data[1].rows, h.data[1].skipped), (600, 1));
    // A label the network cannot output, and too few rows for a batch.
    let mut three = Dataset::new(vec![[0.0; 3]; 40], vec![2; 40], 3).unwrap();
    let mut tiny = Small::new(0);
    network! { struct Two { Dense<3, 2, Softmax> } }
    let err = Fit::<8>::epochs(1)
        .verbose(Verbose::Silent)
        .run_stream(
            &mut Two::new(0),
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Sgd::new(0.1)),
            &mut three.source(),
            None::<&mut DatasetSource<3>>,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            FitError::TooManyClasses {
                classes: 3,
                outputs: 2
            }
        ),
        "{err:?}"
    );
    // Stopped early with the reading thread blocked on a full queue: it must end, not hang.
    let mut labels = vec![0; 50_000];
    labels[3000] = 2;
    let long = Dataset::new(vec![[0.5; 3]; 50_000], labels, 3).unwrap();
    let err = Fit::<8>::epochs(1)
        .verbose(Verbose::Silent)
        .shuffle(false)
        .run_stream(
            &mut Two::new(0),
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Sgd::new(0.1)),
            &mut long.source(),
            None::<&mut DatasetSource<3>>,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            FitError::TooManyClasses {
                classes: 3,
                outputs: 2
            }
        ),
        "{err:?}"
    );
    let err = Fit::<8>::epochs(1)
        .verbose(Verbose::Silent)
        .validation_split(0.2)
        .run_stream(
            &mut tiny,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Sgd::new(0.1)),
            &mut three.source(),
            None::<&mut DatasetSource<3>>,
        )
        .unwrap_err();
    assert_eq!(err, FitError::StreamValidationSplit);
    let err = Fit::<8>::epochs(1)
        .verbose(Verbose::Silent)
        .class_weight([(1, 2.0)])
        .run_stream(
            &mut tiny,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Sgd::new(0.1)),
            &mut three.source(),
            None::<&mut DatasetSource<3>>,
        )
        .unwrap_err();
    assert_eq!(err, FitError::StreamWeights);
    three = three.take(5);
    let err = Fit::<8>::epochs(1)
        .verbose(Verbose::Silent)
        .run_stream(
            &mut tiny,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Sgd::new(0.1)),
            &mut three.source(),
            None::<&mut DatasetSource<3>>,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::TooFewSamples {
            samples: 5,
            batch: 8
        }
    );
}

/// Peak memory of streamed training does not grow with the file.
///
/// Each size runs in a child copy of this binary (selected by an environment variable), which
/// writes its file, resets its peak RSS (`VmHWM`, by writing 5 to `/proc/self/clear_refs`),
/// trains one epoch from the file with a 10,000-row shuffle buffer and prints how far the peak
/// rose. 200,000 rows of 28 short numbers are 23 MB of f32 in memory; twice the rows must not
/// raise the peak by more than 4 MB (an in-memory load would add 23 MB).
#[cfg(target_os = "linux")]
#[test]
fn streamed_training_memory_does_not_grow_with_the_file() {
    const CASE: &str = "CONSTNET_STREAM_MEMORY_ROWS";
    fn status(field: &str) -> u64 {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = text.lines().find(|l| l.starts_with(field)).unwrap();
        line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .unwrap()
            << 10
    }
    if let Ok(rows) = std::env::var(CASE) {
        let rows: usize = rows.parse().unwrap();
        let path = dir().join(format!("memory-{rows}.csv"));
        {
            // Short numbers, written a row at a time: the file is not built in memory.
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            for i in 0..rows {
                write!(f, "{}", i % 2).unwrap();
                for j in 0..28 {
                    write!(f, ",{}", ((i * 7 + j * 13) % 100) as f32 / 50.0 - 1.0).unwrap();
                }
                f.write_all(b"\n").unwrap();
            }
        }
        let mut net = Higgs::new(0);
        let mut trainer = Trainer::new(Adam::new(0.001));
        let mut source = higgs_stream(&path);
        let before = status("VmRSS:");
        let base = match std::fs::write("/proc/self/clear_refs", "5") {
            Ok(()) => before,
            Err(_) => status("VmHWM:"),
        };
        let h = Fit::<64>::epochs(1)
            .verbose(Verbose::Silent)
            .shuffle_buffer(10_000)
            .run_stream(
                &mut net,
                BinaryCrossEntropy,
                &mut trainer,
                &mut source,
                None::<&mut CsvSource<28>>,
            )
            .unwrap();
        assert_eq!(h.data[0].rows, rows as u64);
        println!("MEMORY growth={}", status("VmHWM:").saturating_sub(base));
        std::fs::remove_file(&path).unwrap();
        return;
    }
    let growth = |rows: usize| -> u64 {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "streamed_training_memory_does_not_grow_with_the_file",
                "--exact",
                "--nocapture",
            ])
            .env(CASE, rows.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("MEMORY growth="))
            .unwrap_or_else(|| panic!("the child did not measure: {stdout}"))
            .parse()
            .unwrap()
    };
    let (small, large) = (growth(200_000), growth(400_000));
    eprintln!(
        "peak RSS growth: 200k rows {} KB, 400k rows {} KB",
        small >> 10,
        large >> 10
    );
    assert!(
        large <= small + (4 << 20),
        "200k rows: +{small} B, 400k rows: +{large} B"
    );
    assert!(large < 16 << 20, "400k rows: +{large} B");
}
