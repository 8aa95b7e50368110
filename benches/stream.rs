//! Streamed data (issue 14): CSV parsing rows/s on one core, and peak memory of training from a
//! HIGGS-shaped CSV file of 3 M rows and of twice that.
//!
//! `cargo bench -p constnet-benches --bench stream` (set `STREAM_ROWS` for the training file's
//! rows, default 3,000,000, and `PARSE_ROWS` for the parsing runs, default 1,000,000). The files
//! go to `STREAM_DIR` (default the temp dir) and are deleted at the end.
//!
//! - **Parsing**: the rows of a file in page cache read by [`CsvSource`] in one thread (no
//!   training, no background thread), per second of that thread's CPU time (so that other
//!   processes on a shared machine do not stretch it), against the in-memory loader `Csv::load` on the same file
//!   (std's `str::parse` on `StringRecord`s), in one run; in HIGGS' own number format
//!   (`8.692932128906250000e-01`, 25 characters) and in a short one (`0.869293`), plain and gzip.
//! - **Memory**: each training file is trained on for one epoch (the higgs example's 28-128-128-1
//!   network, batch 256, shuffle buffer 100,000 rows) in a child process, which prints its peak
//!   RSS (`VmHWM`, whole process), the epoch's rows/s and the time it waited for data.

#[path = "cpu.rs"]
mod cpu;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use constnet::data::{Csv, CsvSource, Dataset, Source};
use constnet::prelude::*;

network! {
    /// The higgs example's network.
    struct Higgs { Dense<28, 128, Relu>, Dense<128, 128, Relu>, Dense<128, 1, Sigmoid> }
}

network! {
    /// The example's first widths, which train faster than one core parses HIGGS' CSV.
    struct Small { Dense<28, 64, Relu>, Dense<64, 64, Relu>, Dense<64, 1, Sigmoid> }
}

network! {
    /// Baldi et al. 2014's widths (their best MLPs: hidden layers of 300 units), with ReLU.
    struct Baldi {
        Dense<28, 300, Relu>, Dense<300, 300, Relu>, Dense<300, 300, Relu>, Dense<300, 1, Sigmoid>
    }
}

/// Training rows per second of this thread's CPU time: Adam, batch 128, binary cross-entropy,
/// on `rows` rows cycled from 8,192 random ones (the rate does not depend on the values).
fn train_rate<N: Train<28, 1, 128> + Parameters>(rows: usize) -> f64 {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let x: Vec<[f32; 28]> = (0..8192)
        .map(|_| {
            std::array::from_fn(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
            })
        })
        .collect();
    let t: Vec<[f32; 1]> = x
        .iter()
        .map(|r| [f32::from(u8::from(r[0] > r[1]))])
        .collect();
    let mut net = N::new_boxed(1);
    let mut trainer = Trainer::<N, _, 128>::boxed(Adam::new(0.001));
    let batches = rows / 128;
    let step = |k: usize, net: &mut N, trainer: &mut Trainer<N, Adam, 128>| {
        let at = (k * 128) % 8192;
        let xb: &[[f32; 28]; 128] = x[at..at + 128].try_into().unwrap();
        let tb: &[[f32; 1]; 128] = t[at..at + 128].try_into().unwrap();
        trainer.step(net, BinaryCrossEntropy, xb, tb)
    };
    step(0, &mut net, &mut trainer); // warm-up
    let start = cpu_seconds();
    let mut loss = 0.0;
    for k in 0..batches {
        loss += step(k, &mut net, &mut trainer);
    }
    assert!(loss.is_finite());
    (batches * 128) as f64 / (cpu_seconds() - start)
}

const CHILD: &str = "CONSTNET_STREAM_BENCH_TRAIN";

fn env_rows(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes `rows` HIGGS-shaped rows (label first, 28 features), `long` in HIGGS' format.
fn write_file(path: &Path, rows: usize, long: bool, gz: bool) {
    let file = std::fs::File::create(path).unwrap();
    let mut out: Box<dyn Write> = if gz {
        Box::new(flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file))
    };
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut line = String::with_capacity(1024);
    use std::fmt::Write as _;
    for _ in 0..rows {
        line.clear();
        let mut sum = 0.0f32;
        let mut features = [0.0f32; 28];
        for v in &mut features {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *v = (s >> 40) as f32 / (1u64 << 24) as f32 * 3.0 - 0.5;
            sum += *v;
        }
        let label = f32::from(u8::from(sum > 14.0 * 1.0));
        if long {
            line.push_str(&higgs_number(label));
            for v in features {
                line.push(',');
                line.push_str(&higgs_number(v));
            }
        } else {
            write!(line, "{label}").unwrap();
            for v in features {
                write!(line, ",{v:.6}").unwrap();
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
}

/// `v` as the HIGGS file writes numbers: `8.692932128906250000e-01`.
fn higgs_number(v: f32) -> String {
    let s = format!("{:.18e}", f64::from(v));
    let (mantissa, exponent) = s.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

fn stream(path: &Path) -> CsvSource<28> {
    Csv::new()
        .header(false)
        .label(0)
        .classes(2)
        .stream::<28, usize>(path)
        .unwrap()
}

/// CPU time of this thread so far, in seconds (`/proc/thread-self/schedstat`: not the wall
/// time, which other processes on a shared machine stretch).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split(' ').next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

/// Rows per second of CPU time of one pass of `source`, read in this thread, and rows.
fn parse_rate(path: &Path) -> (f64, u64) {
    let mut source = stream(path);
    let mut x = vec![[0.0f32; 28]; 1024];
    let mut t = vec![0usize; 1024];
    let start = cpu_seconds();
    let mut rows = 0u64;
    loop {
        let n = source.read(&mut x, &mut t).unwrap();
        if n == 0 {
            break;
        }
        rows += n as u64;
    }
    (rows as f64 / (cpu_seconds() - start), rows)
}

fn load_rate(path: &Path) -> f64 {
    let start = cpu_seconds();
    // Labels as class names: the in-memory loader reads integer labels only as integers
    // (`1.000000000000000000e+00` is a name to it; the two names sort as 0 and 1).
    let data: Dataset<28> = Csv::new().header(false).label(0).load(path).unwrap();
    data.len() as f64 / (cpu_seconds() - start)
}

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| {
            l[field.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
        * 1024
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// In the child: one epoch from `path`; prints peak RSS and rates.
fn train_child(path: &Path) {
    let mut net = Higgs::new(1);
    let mut trainer = Trainer::<Higgs, _, 256>::boxed(Adam::new(0.001));
    let mut source = stream(path);
    let start = Instant::now();
    let h = Fit::<256>::epochs(1)
        .verbose(Verbose::Silent)
        .run_stream(
            &mut net,
            BinaryCrossEntropy,
            &mut *trainer,
            &mut source,
            None::<&mut CsvSource<28>>,
        )
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let d = h.data[0];
    println!(
        "TRAIN rows={} secs={secs:.2} rows_per_s={:.0} waited_s={:.2} peak_rss_mb={:.1} loss={:.4}",
        d.rows,
        d.rows as f64 / secs,
        d.waited.as_secs_f64(),
        status("VmHWM:") as f64 / (1 << 20) as f64,
        h.history.epochs[0].loss,
    );
}

fn main() {
    if let Ok(path) = std::env::var(CHILD) {
        train_child(Path::new(&path));
        return;
    }
    // For a profiler: only parse this file (`PARSE_FILE=… perf record …`).
    if let Ok(path) = std::env::var("PARSE_FILE") {
        let (rate, rows) = parse_rate(Path::new(&path));
        println!("{rows} rows, {:.2} M rows/s", rate / 1e6);
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let dir = PathBuf::from(
        std::env::var("STREAM_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into_owned()),
    )
    .join(format!("constnet-stream-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("CPU: {}", cpu::name());
    println!("load average at start: {}", load());

    let parse_rows = env_rows("PARSE_ROWS", 1_000_000);
    if std::env::var("WIDTHS").is_ok() {
        // The higgs example's network against smaller and Baldi et al.'s widths and against parsing HIGGS'
        // number format, each on one thread's CPU time: which one bounds a streamed epoch.
        let path = dir.join("widths.csv");
        write_file(&path, parse_rows, true, false);
        parse_rate(&path);
        let (parse, _) = parse_rate(&path);
        std::fs::remove_file(&path).unwrap();
        let small = train_rate::<Small>(parse_rows);
        let example = train_rate::<Higgs>(parse_rows / 4);
        let wide = train_rate::<Baldi>(parse_rows / 20);
        println!(
            "one thread: CsvSource HIGGS format {:.0} k rows/s; training",
            parse / 1e3
        );
        for (name, rate) in [
            ("28-64-64-1", small),
            ("28-128-128-1 (the example)", example),
            ("28-300-300-300-1", wide),
        ] {
            println!(
                "  {name}: {:.1} k rows/s ({:.3}x parsing)",
                rate / 1e3,
                rate / parse
            );
        }
        println!("load average at end: {}", load());
        let _ = std::fs::remove_dir(&dir);
        return;
    }
    if let Ok(path) = std::env::var("WRITE_FILE") {
        // For a profiler: write a file of `PARSE_ROWS` rows (`WRITE_LONG=1`: HIGGS' format).
        write_file(
            Path::new(&path),
            parse_rows,
            std::env::var("WRITE_LONG").is_ok(),
            false,
        );
        return;
    }
    for (name, long, gz) in [
        ("HIGGS format (25-char numbers)", true, false),
        ("short numbers (0.869293)", false, false),
        ("HIGGS format, gzip", true, true),
    ] {
        let path = dir.join(format!("parse-{long}-{gz}.csv"));
        write_file(&path, parse_rows, long, gz);
        let size = std::fs::metadata(&path).unwrap().len();
        // Once to warm the page cache, then measured.
        parse_rate(&path);
        let (streamed, rows) = parse_rate(&path);
        assert_eq!(rows, parse_rows as u64);
        if gz {
            // The in-memory loader reads plain text only.
            println!(
                "parse {name}: {parse_rows} rows, {:.0} MB: CsvSource {:.2} M rows/s",
                size as f64 / 1e6,
                streamed / 1e6,
            );
        } else {
            let loaded = load_rate(&path);
            println!(
                "parse {name}: {parse_rows} rows, {:.0} MB: CsvSource {:.2} M rows/s, Csv::load {:.2} M rows/s, ratio {:.2}x",
                size as f64 / 1e6,
                streamed / 1e6,
                loaded / 1e6,
                streamed / loaded
            );
        }
        std::fs::remove_file(&path).unwrap();
    }

    let rows = env_rows("STREAM_ROWS", 3_000_000);
    for rows in [rows, 2 * rows] {
        let path = dir.join(format!("train-{rows}.csv"));
        write_file(&path, rows, false, false);
        let size = std::fs::metadata(&path).unwrap().len();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout.lines().find(|l| l.starts_with("TRAIN")).unwrap();
        println!(
            "train 1 epoch, {rows} rows, {:.0} MB CSV ({:.0} MB as f32 in memory): {line}",
            size as f64 / 1e6,
            rows as f64 * 29.0 * 4.0 / 1e6
        );
        std::fs::remove_file(&path).unwrap();
    }
    println!("load average at end: {}", load());
    let _ = std::fs::remove_dir(&dir);
}
