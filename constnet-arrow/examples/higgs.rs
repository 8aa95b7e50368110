//! A HIGGS-shaped binary classifier (28 inputs, sigmoid output and binary cross-entropy; the
//! widths are the `network!` below) trained from a file streamed at constant memory: UCI's
//! HIGGS.csv(.gz) as downloaded, or the same rows as Parquet.
//!
//! ```text
//! cargo run --release -p constnet-arrow --example higgs -- --make-synthetic higgs.parquet --rows 3000000
//! cargo run --release -p constnet-arrow --example higgs -- --parquet higgs.parquet --epochs 2 --test-rows 500000
//! cargo run --release -p constnet-arrow --example higgs -- --csv HIGGS.csv.gz --epochs 1
//! ```
//!
//! The last `--test-rows` rows (default 500,000, HIGGS' convention) are the test set, held out by
//! position ([`Rows`] `take` / `skip` on two handles of the file; the row count comes from the
//! Parquet footer, or from one counting pass of a CSV file). Training is
//! [`Fit::run_stream_with`]: a background thread parses while the network trains, rows pass through
//! a seeded shuffle buffer of `--shuffle-buffer` rows (tf.data's `shuffle`), and a progress bar
//! with rows/s and ETA is drawn on stderr when it is a terminal (over the rows: Parquet's footer
//! has them, a CSV file's were counted for the split). Each epoch prints its time, rows/s, the time the training waited for data and the peak
//! memory (VmHWM); the end prints `test accuracy` and ROC AUC, from the test rows' scores
//! ([`score_stream`]; only the scores and labels are kept, 12 bytes a row).

use std::error::Error;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use constnet::data::{count_rows, Rows, Source};
use constnet::metrics::roc_auc;
use constnet::prelude::*;
use constnet::train::{score_stream, Control, EpochData, Fit, Verbose};
use constnet_arrow::{ParquetSource, ParquetWriter};

network! {
    /// 28 features in, the probability of signal out. Wide enough that training, not parsing,
    /// bounds an epoch: 28-64-64-1 trains ~1.45× faster than one core parses HIGGS' CSV numbers,
    /// so from CSV it would wait for data a third of the time (BENCHMARKS.md, HIGGS widths).
    pub struct Higgs {
        h1: Dense<28, 128, Relu>,
        h2: Dense<128, 128, Relu>,
        out: Dense<128, 1, Sigmoid>,
    }
}

const BATCH: usize = 128;
/// Rows per block written by `--make-synthetic`.
const BLOCK: usize = 8 * 1024;

type BoxError = Box<dyn Error + Send + Sync>;

struct Args {
    csv: Option<PathBuf>,
    parquet: Option<PathBuf>,
    epochs: usize,
    test_rows: u64,
    shuffle_buffer: usize,
    make_synthetic: Option<PathBuf>,
    rows: Option<u64>,
    seed: u64,
}

const USAGE: &str = "usage: higgs (--csv PATH | --parquet PATH) [--epochs N] [--test-rows N]
             [--shuffle-buffer ROWS] [--seed N]
       higgs --make-synthetic PATH(.csv|.csv.gz|.parquet) --rows N [--seed N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        csv: None,
        parquet: None,
        epochs: 1,
        test_rows: 500_000,
        shuffle_buffer: Fit::<BATCH>::epochs(1).shuffle_buffer,
        make_synthetic: None,
        rows: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String| {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number\n{USAGE}"))
        };
        match flag.as_str() {
            "--csv" => args.csv = Some(value()?.into()),
            "--parquet" => args.parquet = Some(value()?.into()),
            "--make-synthetic" => args.make_synthetic = Some(value()?.into()),
            "--epochs" => args.epochs = number(value()?)? as usize,
            "--test-rows" => args.test_rows = number(value()?)?,
            "--shuffle-buffer" => {
                args.shuffle_buffer = match number(value()?)? {
                    0 => return Err(format!("--shuffle-buffer must be at least 1\n{USAGE}")),
                    n => usize::try_from(n)
                        .map_err(|_| format!("--shuffle-buffer {n} is too large"))?,
                }
            }
            "--rows" => args.rows = Some(number(value()?)?),
            "--seed" => args.seed = number(value()?)?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let inputs = usize::from(args.csv.is_some())
        + usize::from(args.parquet.is_some())
        + usize::from(args.make_synthetic.is_some());
    if inputs != 1 {
        return Err(format!(
            "give exactly one of --csv, --parquet, --make-synthetic\n{USAGE}"
        ));
    }
    if args.make_synthetic.is_some() && args.rows.is_none() {
        return Err(format!("--make-synthetic needs --rows N\n{USAGE}"));
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), BoxError> {
    if let Some(path) = &args.make_synthetic {
        let rows = args.rows.unwrap_or(0);
        let start = Instant::now();
        make_synthetic(path, rows, args.seed)?;
        println!(
            "wrote {rows} HIGGS-shaped rows to {} in {:.1} s",
            path.display(),
            start.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if let Some(path) = &args.parquet {
        // HIGGS' layout: the label first, the 28 features after it, whatever their names.
        let open = || -> Result<ParquetSource<28>, BoxError> {
            let src = ParquetSource::<28>::open(path)?;
            let schema = src.schema();
            let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            if names.len() != 29 {
                return Err(format!(
                    "{}: {} columns, where HIGGS has 29 (label then 28 features)",
                    path.display(),
                    names.len()
                )
                .into());
            }
            Ok(src.label(&names[0]).features(&names[1..])?)
        };
        return train_and_test(args, open()?, open()?);
    }
    let path = args.csv.as_ref().expect("checked by parse_args");
    // As UCI ships it: no header, the label (1.0 or 0.0) in the first column.
    let open = || {
        constnet::data::Csv::new()
            .header(false)
            .label(0)
            .stream::<28, usize>(path)
    };
    train_and_test(args, open()?, open()?)
}

/// Trains on all rows of `first` but the last `test_rows` for `epochs` passes, then scores the
/// last `test_rows` of `second` (another handle on the same file).
fn train_and_test<S>(args: &Args, mut first: S, second: S) -> Result<(), BoxError>
where
    S: Source<28, Target = usize> + Send,
{
    // The split by position needs the row count: Parquet has it in its footer; for CSV one pass
    // counts the rows (the file is read anyway, and memory stays constant).
    let rows = match first.rows_hint() {
        Some(r) => r,
        None => {
            let start = Instant::now();
            let r = count_rows(&mut first)?;
            println!(
                "{r} rows (counted in {:.1} s)",
                start.elapsed().as_secs_f64()
            );
            r
        }
    };
    if args.test_rows >= rows {
        return Err(format!(
            "--test-rows {} leaves nothing to train on: the file has {rows} rows",
            args.test_rows
        )
        .into());
    }
    let train_rows = rows - args.test_rows;
    // `total`: once counted, a CSV file's parts know their rows too (the bar counts rows).
    let mut train = Rows::new(first).total(rows).take(train_rows);
    let mut test = Rows::new(second).total(rows).skip(train_rows);
    let layers = Higgs::summary().layers;
    let shape: Vec<String> = std::iter::once(layers[0].inputs)
        .chain(layers.iter().map(|l| l.outputs))
        .map(|w| w.to_string())
        .collect();
    println!(
        "{train_rows} training rows, {} test rows; {}, Adam, batch {BATCH}, shuffle buffer {} rows",
        args.test_rows,
        shape.join("-"),
        args.shuffle_buffer
    );
    let mut net = Higgs::new(args.seed);
    let mut trainer = Trainer::<Higgs, _, BATCH>::boxed(Adam::new(0.001));
    // The bar on stderr when it is a terminal; the epoch lines are the example's own (below).
    let verbose = if std::io::stderr().is_terminal() {
        Verbose::Bar
    } else {
        Verbose::Silent
    };
    let fit = Fit::<BATCH>::epochs(args.epochs)
        .seed(args.seed)
        .shuffle_buffer(args.shuffle_buffer)
        .verbose(verbose);
    let mut lines = EpochLines {
        epochs: args.epochs,
        data: EpochData::default(),
    };
    fit.run_stream_with(
        &mut net,
        BinaryCrossEntropy,
        &mut *trainer,
        &mut train,
        None::<&mut Rows<S>>,
        &mut [&mut lines],
    )?;
    // Scoring: the last `test_rows` rows, in file order; the scores are kept for the AUC.
    let start = Instant::now();
    let capacity = usize::try_from(args.test_rows).unwrap_or(0);
    let (mut scores, mut labels) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
    let scored = score_stream(&net, &mut test, |y, &label| {
        scores.push(y[0]);
        labels.push(label);
    })?;
    let secs = start.elapsed().as_secs_f64();
    let hits = scores
        .iter()
        .zip(&labels)
        .filter(|(&s, &l)| usize::from(s > 0.5) == l)
        .count();
    println!(
        "scored {scored} rows in {secs:.2} s ({:.0} rows/s)",
        scored as f64 / secs
    );
    println!(
        "test accuracy {:.4}, AUC {:.4}, peak memory {}",
        hits as f64 / labels.len().max(1) as f64,
        roc_auc(&scores, &labels)?,
        peak_memory()
    );
    Ok(())
}

/// Prints a line per epoch: loss, rows, time, rows/s, waiting for data and peak memory.
struct EpochLines {
    epochs: usize,
    /// What the epoch read: `on_stream_epoch_end` comes just before `on_epoch_end`.
    data: EpochData,
}

impl<N> Callback<N> for EpochLines {
    fn on_stream_epoch_end(&mut self, _: u64, data: &EpochData, _: &mut Control<'_, N>) {
        self.data = *data;
    }

    fn on_epoch_end(&mut self, epoch: u64, logs: &Epoch, _: &mut Control<'_, N>) {
        let secs = logs.duration.as_secs_f64().max(1e-9);
        let d = self.data;
        let waited = d.waited.as_secs_f64();
        // The last partial batch is dropped (at most BATCH − 1 rows per epoch, as Keras'
        // `drop_remainder`), said here rather than hidden.
        println!(
            "epoch {}/{}: loss {:.4}, {} rows ({} in a partial batch not trained), {secs:.2} s, {:.0} rows/s, waited for data {waited:.2} s ({:.1} %), peak memory {}",
            epoch + 1,
            self.epochs,
            logs.loss,
            d.rows,
            d.rows - d.trained,
            d.rows as f64 / secs,
            100.0 * waited / secs,
            peak_memory()
        );
    }
}

/// Peak resident memory of this process (VmHWM), as Linux reports it.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or("unknown (no /proc/self/status)".into(), |kb| {
            format!("{:.1} MB", kb as f64 / 1024.0)
        })
}

/// SplitMix64: seeded, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let u = self.uniform().max(1e-7);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// Writes `rows` HIGGS-shaped rows: the label first, then 28 features (21 "low-level" normals and
/// 7 "high-level" ones computed from them, as HIGGS' are), CSV (no header; `.gz` compressed) or
/// Parquet by the file's extension. The label is drawn from a fixed random nonlinear rule plus
/// noise, so a network learns it well but not perfectly (28-64-64-1: ~88 % after two epochs
/// on 250,000 rows).
fn make_synthetic(path: &Path, rows: u64, seed: u64) -> Result<(), BoxError> {
    // The rule: a fixed 28-16-1 tanh network (weights from seed 14, not from `seed`, so that
    // every file follows the same rule) and a logistic draw of the label around it.
    let mut rule = Rng(14);
    let w1: Vec<[f32; 28]> = (0..16)
        .map(|_| std::array::from_fn(|_| rule.normal() * 0.4))
        .collect();
    let w2: Vec<f32> = (0..16).map(|_| rule.normal()).collect();
    let mut rng = Rng(seed);
    let row = |rng: &mut Rng| -> ([f32; 28], usize) {
        let mut x = [0.0f32; 28];
        for v in &mut x[..21] {
            *v = rng.normal();
        }
        for k in 0..7 {
            // Products and magnitudes of the low-level ones, as invariant masses are.
            x[21 + k] = (x[3 * k] * x[3 * k + 1]).abs().sqrt() + 0.5 * x[3 * k + 2].abs();
        }
        let score: f32 = w1
            .iter()
            .zip(&w2)
            .map(|(w, &v)| v * w.iter().zip(&x).map(|(a, b)| a * b).sum::<f32>().tanh())
            .sum();
        let p = 1.0 / (1.0 + (-2.0 * score).exp());
        (x, usize::from(rng.uniform() < p))
    };
    let name = path.to_string_lossy();
    if name.ends_with(".parquet") {
        let mut out = ParquetWriter::<28>::create(path)?;
        let mut left = rows;
        let mut xs = Vec::with_capacity(BLOCK);
        let mut ts = Vec::with_capacity(BLOCK);
        while left > 0 {
            let n = left.min(BLOCK as u64);
            xs.clear();
            ts.clear();
            for _ in 0..n {
                let (x, t) = row(&mut rng);
                xs.push(x);
                ts.push(t);
            }
            out.write(&xs, &ts)?;
            left -= n;
        }
        out.finish()?;
        return Ok(());
    }
    if !(name.ends_with(".csv") || name.ends_with(".csv.gz")) {
        return Err(format!("{name}: write .csv, .csv.gz or .parquet").into());
    }
    // Through a temporary file, renamed at the end: an interrupted run leaves no half file.
    let temp = path.with_file_name(format!(
        "{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let file = std::fs::File::create(&temp)?;
    let mut write_rows = |w: &mut dyn std::io::Write| -> Result<(), BoxError> {
        let mut line = String::with_capacity(512);
        for _ in 0..rows {
            use std::fmt::Write;
            let (x, t) = row(&mut rng);
            line.clear();
            // HIGGS writes the label as a float too.
            write!(line, "{t}.0")?;
            for v in x {
                write!(line, ",{v}")?;
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    };
    let result = (|| -> Result<(), BoxError> {
        let buffered = std::io::BufWriter::new(file.try_clone()?);
        let mut buffered = if name.ends_with(".gz") {
            let mut gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::fast());
            write_rows(&mut gz)?;
            gz.finish()?
        } else {
            let mut buffered = buffered;
            write_rows(&mut buffered)?;
            buffered
        };
        std::io::Write::flush(&mut buffered)?;
        drop(buffered);
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
