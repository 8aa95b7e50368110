//! Parquet and Arrow IPC files written by pyarrow (`scripts/reference/arrow_fixtures.py`, checked
//! in under tests/data) against constnet's in-memory path: the same 50 rows as CSV, loaded by
//! `Csv` into a `Dataset`. Every feature is a multiple of 1/64, so the values must agree bit for
//! bit.
use constnet::data::{Csv, Dataset, Source};
use constnet_arrow::{ArrowSourceError, IpcSource, IpcWriter, ParquetSource, ParquetWriter};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn in_memory() -> Dataset<4> {
    Csv::new()
        .label("label")
        .load::<4>(data("rows.csv"))
        .unwrap()
}

/// Reads a whole pass with a buffer of `chunk` rows.
fn drain<E: std::fmt::Debug>(
    mut read: impl FnMut(&mut [[f32; 4]], &mut [usize]) -> Result<usize, E>,
    chunk: usize,
) -> (Vec<[f32; 4]>, Vec<usize>) {
    let (mut x, mut t) = (vec![[0.0; 4]; chunk], vec![0; chunk]);
    let (mut xs, mut ts) = (Vec::new(), Vec::new());
    loop {
        let n = read(&mut x, &mut t).unwrap();
        if n == 0 {
            return (xs, ts);
        }
        assert!(n <= chunk);
        xs.extend_from_slice(&x[..n]);
        ts.extend_from_slice(&t[..n]);
    }
}

fn assert_same(got: (Vec<[f32; 4]>, Vec<usize>), want: &Dataset<4>) {
    assert_eq!(got.0.len(), 50);
    assert_eq!(got.0, want.features());
    assert_eq!(got.1, want.labels());
}

#[test]
fn parquet_scalar_columns_as_in_memory() {
    let want = in_memory();
    for chunk in [1, 7, 16, 64] {
        let mut src = ParquetSource::<4>::open(data("scalar.parquet"))
            .unwrap()
            .label("label")
            .features(["a", "b", "c", "d"])
            .unwrap();
        assert_eq!(src.rows(), 50);
        assert_eq!(src.row_groups(), 4);
        assert_same(drain(|x, t| src.read(x, t), chunk), &want);
        // The end of a pass stays the end; a rewind starts the next.
        assert_eq!(src.read(&mut [[0.0; 4]; 2], &mut [0; 2]).unwrap(), 0);
        src.rewind().unwrap();
        assert_same(drain(|x, t| src.read(x, t), chunk), &want);
    }
}

#[test]
fn parquet_fixed_size_list_as_in_memory() {
    let mut src = ParquetSource::<4>::open(data("list.parquet"))
        .unwrap()
        .feature_list("features")
        .unwrap();
    assert_same(drain(|x, t| src.read(x, t), 13), &in_memory());
}

#[test]
fn ipc_scalar_and_list_as_in_memory() {
    let want = in_memory();
    let mut src = IpcSource::<4>::open(data("scalar.arrow"))
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap();
    assert_same(drain(|x, t| src.read(x, t), 10), &want);
    assert_eq!(src.rows_read(), 50);
    src.rewind().unwrap();
    assert_same(drain(|x, t| src.read(x, t), 64), &want);
    let mut src = IpcSource::<4>::open(data("list.arrow"))
        .unwrap()
        .feature_list("features")
        .unwrap();
    assert_same(drain(|x, t| src.read(x, t), 3), &want);
}

#[test]
fn ipc_stream_format_as_in_memory() {
    let want = in_memory();
    for chunk in [1, 10, 64] {
        let mut src = IpcSource::<4>::open(data("scalar.arrows"))
            .unwrap()
            .features(["a", "b", "c", "d"])
            .unwrap();
        // Counted from the stream's headers, before reading.
        assert_eq!(src.rows(), Some(50));
        assert_eq!(Source::rows_hint(&src), Some(50));
        assert_same(drain(|x, t| src.read(x, t), chunk), &want);
        assert_eq!(src.read(&mut [[0.0; 4]; 2], &mut [0; 2]).unwrap(), 0);
        // A rewind re-opens the file: the next epoch reads the same rows.
        src.rewind().unwrap();
        assert_same(drain(|x, t| src.read(x, t), chunk), &want);
    }
    let mut src = IpcSource::<4>::open(data("list.arrows"))
        .unwrap()
        .feature_list("features")
        .unwrap();
    assert_same(drain(|x, t| src.read(x, t), 7), &want);
    // The file format does not count its rows up front.
    assert_eq!(
        IpcSource::<4>::open(data("scalar.arrow")).unwrap().rows(),
        None
    );
}

#[test]
fn a_cut_ipc_stream_is_a_typed_error_not_fewer_rows() {
    let dir = std::env::temp_dir().join(format!("constnet-arrow-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(data("scalar.arrows")).unwrap();
    // pyarrow ends the stream with the end-of-stream marker, continuation then length 0.
    assert_eq!(
        bytes[bytes.len() - 8..],
        [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
    );
    let cut = |name: &str, len: usize| {
        let path = dir.join(name);
        std::fs::write(&path, &bytes[..len]).unwrap();
        match IpcSource::<4>::open(&path) {
            Err(ArrowSourceError::IpcStream {
                offset, problem, ..
            }) => (offset, problem),
            other => panic!("{name}: {other:?}"),
        }
    };
    // Inside the last batch's body.
    let (_, problem) = cut("body.arrows", bytes.len() - 40);
    assert!(problem.contains("message body"), "{problem}");
    // Between two messages: only the missing marker shows it (it would read as 48 rows).
    let (offset, problem) = cut("marker.arrows", bytes.len() - 8);
    assert_eq!(offset, bytes.len() as u64 - 8);
    assert!(problem.contains("end-of-stream marker"), "{problem}");
    // Too short for anything.
    let (offset, problem) = cut("empty.arrows", 3);
    assert_eq!(offset, 0);
    assert!(problem.contains("too short"), "{problem}");
    // A file cut after `open` (between passes) fails at the next pass's first read.
    let path = dir.join("later.arrows");
    std::fs::write(&path, &bytes).unwrap();
    let mut src = IpcSource::<4>::open(&path)
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap();
    assert_eq!(drain(|x, t| src.read(x, t), 64).0.len(), 50);
    std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
    src.rewind().unwrap();
    let err = src.read(&mut [[0.0; 4]; 4], &mut [0; 4]).unwrap_err();
    assert!(matches!(err, ArrowSourceError::IpcStream { .. }), "{err:?}");
    // The failed pass stays failed until a rewind, which re-reads the file as it is then.
    assert_eq!(src.read(&mut [[0.0; 4]; 4], &mut [0; 4]).unwrap(), 0);
    std::fs::write(&path, &bytes).unwrap();
    src.rewind().unwrap();
    assert_eq!(drain(|x, t| src.read(x, t), 64).0.len(), 50);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shuffled_row_groups_give_every_row_once_in_a_new_order_each_pass() {
    let want = in_memory();
    let mut src = ParquetSource::<4>::open(data("scalar.parquet"))
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap()
        .shuffle_row_groups(3);
    let mut orders = Vec::new();
    for _ in 0..4 {
        let (x, t) = drain(|x, t| src.read(x, t), 64);
        let mut pairs: Vec<_> = x
            .iter()
            .zip(&t)
            .map(|(r, &l)| (r.map(f32::to_bits), l))
            .collect();
        orders.push(pairs.clone());
        pairs.sort();
        let mut expected: Vec<_> = want
            .features()
            .iter()
            .zip(want.labels())
            .map(|(r, &l)| (r.map(f32::to_bits), l))
            .collect();
        expected.sort();
        assert_eq!(pairs, expected);
        src.rewind().unwrap();
    }
    // Four row groups, four passes: not all in the same order (24 orders; seeded, so fixed).
    assert!(orders.windows(2).any(|w| w[0] != w[1]));
}

fn row_error(err: ArrowSourceError) -> (u64, String, String) {
    match err {
        ArrowSourceError::Row {
            row,
            column,
            problem,
            ..
        } => (row, column, problem),
        other => panic!("not a row error: {other}"),
    }
}

#[test]
fn bad_values_name_file_row_and_column() {
    let mut src = ParquetSource::<4>::open(data("null.parquet"))
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap();
    let mut read = 0;
    let err = loop {
        match src.read(&mut [[0.0; 4]; 8], &mut [0; 8]) {
            Ok(n) => read += n,
            Err(e) => break e,
        }
    };
    // The rows before the bad one came through; the message names where.
    assert_eq!(read, 32);
    let text = err.to_string();
    assert!(
        text.ends_with("null.parquet: row 37: column \"c\": is null"),
        "{text}"
    );
    // After an error the pass gives no rows until a rewind.
    assert_eq!(src.read(&mut [[0.0; 4]; 8], &mut [0; 8]).unwrap(), 0);

    let mut src = IpcSource::<4>::open(data("inf.arrow"))
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap();
    let err = src.read(&mut [[0.0; 4]; 64], &mut [0; 64]).unwrap_err();
    assert_eq!(
        row_error(err),
        (5, "b".into(), "inf is not a finite number".into())
    );

    let mut src = ParquetSource::<4>::open(data("badlabel.parquet"))
        .unwrap()
        .features(["a", "b", "c", "d"])
        .unwrap();
    let err = src.read(&mut [[0.0; 4]; 64], &mut [0; 64]).unwrap_err();
    assert_eq!(
        row_error(err),
        (
            12,
            "label".into(),
            "label 0.5 is not a class (a whole number ≥ 0)".into()
        )
    );
}

#[test]
fn wrong_columns_are_errors_at_open() {
    let p = data("scalar.parquet");
    let column = |r: Result<ParquetSource<4>, ArrowSourceError>| match r.unwrap_err() {
        ArrowSourceError::Column {
            column, problem, ..
        } => (column, problem),
        other => panic!("not a column error: {other}"),
    };
    let (c, problem) = column(
        ParquetSource::<4>::open(&p)
            .unwrap()
            .features(["a", "b", "c", "x"]),
    );
    assert_eq!(c, "x");
    assert!(
        problem.starts_with("no such column; the file has [\"id\", \"a\""),
        "{problem}"
    );
    let (c, problem) = column(
        ParquetSource::<4>::open(&p)
            .unwrap()
            .features(["a", "b", "c", "id"]),
    );
    assert_eq!(
        (c.as_str(), problem.as_str()),
        (
            "id",
            "of type Utf8, where a feature must be Float32 or Float64"
        )
    );
    let (c, problem) = column(
        ParquetSource::<4>::open(&p)
            .unwrap()
            .features(["a", "b", "c"]),
    );
    assert_eq!(c, "label");
    assert!(problem.starts_with("3 feature columns named"), "{problem}");
    let (_, problem) = column(ParquetSource::<4>::open(&p).unwrap().feature_list("a"));
    assert_eq!(
        problem,
        "of type Float32, where FixedSizeList<Float32, 4> (or Float64) is expected"
    );
    let (c, problem) = column(
        ParquetSource::<4>::open(&p)
            .unwrap()
            .label("id")
            .features(["a", "b", "c", "d"]),
    );
    assert_eq!(
        (c.as_str(), problem.as_str()),
        (
            "id",
            "of type Utf8, where a label must be a number or a boolean"
        )
    );
    match ParquetSource::<3>::open(data("list.parquet"))
        .unwrap()
        .feature_list("features")
    {
        Err(ArrowSourceError::Column { problem, .. }) => {
            assert_eq!(problem, "a list of 4 values, where 3 features are expected")
        }
        other => panic!("{other:?}"),
    }
    // Defaults that do not fit (a string column among "every other column") surface at read.
    let mut src = ParquetSource::<4>::open(&p).unwrap();
    assert!(matches!(
        src.read(&mut [[0.0; 4]; 4], &mut [0; 4]),
        Err(ArrowSourceError::Column { .. })
    ));
    // Not a Parquet file at all.
    assert!(matches!(
        ParquetSource::<4>::open(data("rows.csv")),
        Err(ArrowSourceError::Parquet { .. })
    ));
    // Nor an IPC file: without the file format's magic it is taken for a stream, whose first
    // "header length" ("labe" = 1.7 GB) is checked against the file before anything is sized
    // by it.
    let err = IpcSource::<4>::open(data("rows.csv")).unwrap_err();
    assert!(
        matches!(err, ArrowSourceError::IpcStream { offset: 0, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not an Arrow IPC file?"), "{err}");
}

#[test]
fn a_truncated_file_is_an_error_not_fewer_rows() {
    let dir = std::env::temp_dir().join(format!("constnet-arrow-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(data("scalar.parquet")).unwrap();
    let cut = dir.join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(ParquetSource::<4>::open(&cut).is_err());
    let bytes = std::fs::read(data("scalar.arrow")).unwrap();
    let cut = dir.join("cut.arrow");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert!(IpcSource::<4>::open(&cut).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writers_round_trip_through_the_sources() {
    let dir = std::env::temp_dir().join(format!("constnet-arrow-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let want = in_memory();
    let mut w = ParquetWriter::<4>::create(dir.join("rt.parquet"))
        .unwrap()
        .row_group_rows(9);
    w.write(&want.features()[..20], &want.labels()[..20])
        .unwrap();
    w.write(&want.features()[20..], &want.labels()[20..])
        .unwrap();
    w.finish().unwrap();
    let mut src = ParquetSource::<4>::open(dir.join("rt.parquet")).unwrap();
    assert_eq!(src.row_groups(), 6); // 50 rows in groups of at most 9
    assert_same(drain(|x, t| src.read(x, t), 11), &want);
    let mut w = IpcWriter::<4>::create(dir.join("rt.arrow")).unwrap();
    w.write(want.features(), want.labels()).unwrap();
    w.finish().unwrap();
    let mut src = IpcSource::<4>::open(dir.join("rt.arrow")).unwrap();
    assert_same(drain(|x, t| src.read(x, t), 11), &want);
    // A writer dropped before `finish` leaves nothing behind.
    let w = ParquetWriter::<4>::create(dir.join("gone.parquet")).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

use constnet::prelude::{Softmax, Tanh};

constnet::network! {
    pub struct Small { Dense<4, 8, Tanh>, Dense<8, 3, Softmax> }
}

/// Trains from each file through `Fit::run_stream` (background reader, shuffle buffer holding
/// every row) and from the in-memory `Dataset` through `Fit::run`: the weights must be equal bit
/// for bit, as the sources hand the same rows in the same order.
#[test]
fn streamed_fit_from_parquet_and_both_arrow_formats_is_bit_identical_to_in_memory_fit() {
    use constnet::prelude::*;
    let data = in_memory();
    let fit = Fit::<8>::epochs(3)
        .verbose(Verbose::Silent)
        .seed(5)
        .shuffle_buffer(64);
    let mut reference = Small::new(2);
    fit.run(
        &mut reference,
        SparseCategoricalCrossEntropy,
        &mut Trainer::new(Adam::new(0.01)),
        &data,
        None,
    )
    .unwrap();
    let parquet = {
        let mut net = Small::new(2);
        let mut src = ParquetSource::<4>::open(data_path("scalar.parquet"))
            .unwrap()
            .features(["a", "b", "c", "d"])
            .unwrap();
        fit.run_stream(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &mut src,
            None::<&mut ParquetSource<4>>,
        )
        .unwrap();
        net
    };
    let ipc = {
        let mut net = Small::new(2);
        let mut src = IpcSource::<4>::open(data_path("list.arrow"))
            .unwrap()
            .feature_list("features")
            .unwrap();
        fit.run_stream(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.01)),
            &mut src,
            None::<&mut IpcSource<4>>,
        )
        .unwrap();
        net
    };
    // The IPC stream format, with its row count for the progress bar.
    let ipc_stream = {
        let mut net = Small::new(2);
        let mut src = IpcSource::<4>::open(data_path("scalar.arrows"))
            .unwrap()
            .features(["a", "b", "c", "d"])
            .unwrap();
        let h = fit
            .run_stream(
                &mut net,
                SparseCategoricalCrossEntropy,
                &mut Trainer::new(Adam::new(0.01)),
                &mut src,
                None::<&mut IpcSource<4>>,
            )
            .unwrap();
        assert_eq!(h.data.iter().map(|d| d.rows).sum::<u64>(), 150);
        net
    };
    assert_eq!(parquet.as_slice(), reference.as_slice());
    assert_eq!(ipc.as_slice(), reference.as_slice());
    assert_eq!(ipc_stream.as_slice(), reference.as_slice());
    assert_ne!(reference.as_slice(), Small::new(2).as_slice()); // it did train
}

fn data_path(name: &str) -> PathBuf {
    data(name)
}
