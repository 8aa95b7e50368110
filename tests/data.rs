//! Every malformed data file is a typed error that says what is wrong.
use std::io::Write;
use std::path::{Path, PathBuf};

use constnet::data::{
    load_csv, load_idx, load_mnist, read_csv, read_idx, Csv, DataError, LabelColumn, Split,
};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("constnet-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

/// Two 2×2 images with labels [1, 0], written as plain files.
fn write_pair(d: &Path, images: &[u8], labels: &[u8]) -> (PathBuf, PathBuf) {
    let (i, l) = (d.join("images"), d.join("labels"));
    std::fs::write(&i, images).unwrap();
    std::fs::write(&l, labels).unwrap();
    (i, l)
}

fn good_images() -> Vec<u8> {
    idx(0x803, &[2, 2, 2], &[0, 255, 51, 102, 255, 255, 0, 0])
}

fn good_labels() -> Vec<u8> {
    idx(0x801, &[2], &[1, 0])
}

#[test]
fn reads_plain_and_gzipped_idx() {
    let d = dir("ok");
    let (i, l) = write_pair(&d, &good_images(), &good_labels());
    let plain = load_idx::<4>(&i, &l, 2).unwrap();
    assert_eq!(plain.features()[0], [0.0, 1.0, 0.2, 0.4]);
    assert_eq!(plain.labels(), &[1, 0]);

    let gz = d.join("images.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&good_images()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(load_idx::<4>(&gz, &l, 2).unwrap(), plain);
}

#[test]
fn missing_file() {
    let d = dir("missing");
    let err = load_idx::<4>(d.join("nope"), d.join("nope2"), 2).unwrap_err();
    assert!(
        matches!(err, DataError::Io { ref path, .. } if path.ends_with("nope")),
        "{err}"
    );
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn bad_magic() {
    let d = dir("magic");
    // Labels where images belong.
    let (i, l) = write_pair(&d, &good_labels(), &good_labels());
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_payload_and_header() {
    let d = dir("trunc");
    let mut short = good_images();
    short.pop();
    let (i, l) = write_pair(&d, &short, &good_labels());
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 24,
                found: 23,
                ..
            }
        ),
        "{err}"
    );

    let (i, l) = write_pair(&d, &good_images()[..10], &good_labels());
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 16,
                found: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trailing_bytes_are_not_ignored() {
    let d = dir("trail");
    let mut long = good_labels();
    long.push(7);
    let (i, l) = write_pair(&d, &good_images(), &long);
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(err, DataError::TrailingData { extra: 1, .. }),
        "{err}"
    );
}

#[test]
fn corrupt_gzip() {
    let d = dir("gz");
    let (i, l) = write_pair(&d, &[0x1f, 0x8b, 8, 0, 1, 2, 3], &good_labels());
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
}

#[test]
fn label_count_differs_from_image_count() {
    let d = dir("count");
    let (i, l) = write_pair(&d, &good_images(), &idx(0x801, &[3], &[1, 0, 1]));
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                samples: 2,
                labels: 3
            }
        ),
        "{err}"
    );
}

#[test]
fn label_out_of_range() {
    let d = dir("range");
    let (i, l) = write_pair(&d, &good_images(), &idx(0x801, &[2], &[1, 10]));
    let err = load_idx::<4>(&i, &l, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn feature_count_must_match_the_network() {
    let d = dir("features");
    let (i, l) = write_pair(&d, &good_images(), &good_labels());
    let err = load_idx::<784>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::FeatureMismatch {
                expected: 784,
                found: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bundled_mnist_loads_completely() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train).unwrap();
    let test = load_mnist::<784>(dir, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (8000, 2000));
    assert!(train
        .features()
        .iter()
        .flatten()
        .all(|p| (0.0..=1.0).contains(p)));
    let mut counts = [0; 10];
    train.labels().iter().for_each(|&l| counts[l] += 1);
    assert!(counts.iter().all(|&c| c > 600), "{counts:?}");
}

#[test]
fn csv_reads_and_reports_bad_rows_by_line() {
    let d = dir("csv");
    let path = d.join("ok.csv");
    std::fs::write(&path, "a,b,label\n1.5,-2,1\n0,0,0\n").unwrap();
    let data = load_csv::<2>(&path, 2, true).unwrap();
    assert_eq!(data.features(), &[[1.5, -2.0], [0.0, 0.0]]);

    let cases = [
        (
            "1,2\n",
            "the file has 1 feature and a label, where 2 features are expected",
            1,
        ),
        ("1,2,0\n1,2\n", "this row has 2 fields, the rows above 3", 2),
        ("1,2,0\n1,x,0\n", "feature 2 is `x`", 2),
        ("1,2,0\n1,2,0\n1,inf,1\n", "not a finite number", 3),
        ("1,2,one\n", "label `one` is not a class number", 1),
        ("1,2,5\n", "label 5 is not below the 2 classes", 1),
    ];
    for (text, message, line) in cases {
        let p = d.join("bad.csv");
        std::fs::write(&p, text).unwrap();
        match load_csv::<2>(&p, 2, false).unwrap_err() {
            DataError::Csv {
                line: l,
                message: m,
                ..
            } => {
                assert_eq!(l, line, "{text:?}");
                assert!(m.contains(message), "{m}");
            }
            other => panic!("{text:?}: {other}"),
        }
    }
    assert!(matches!(
        load_csv::<2>(d.join("absent.csv"), 2, false),
        Err(DataError::Io { .. })
    ));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `cat a.gz b.gz` (or pigz) makes a valid multi-member gzip file: read as one stream, as gunzip does.
#[test]
fn multi_member_gzip_is_one_stream() {
    let d = dir("multi");
    let images = good_images();
    let (head, tail) = images.split_at(10);
    let mut two = gzip(head);
    two.extend(gzip(tail));
    let (i, l) = write_pair(&d, &two, &good_labels());
    let (plain_i, _) = (d.join("plain"), ());
    std::fs::write(&plain_i, &images).unwrap();
    assert_eq!(
        load_idx::<4>(&i, &l, 2).unwrap(),
        load_idx::<4>(&plain_i, &l, 2).unwrap()
    );
}

/// Bytes after the gzip stream are refused, as trailing bytes of a plain file are.
#[test]
fn bytes_after_a_gzip_stream_are_refused() {
    let d = dir("gztrail");
    let mut gz = gzip(&good_images());
    gz.extend(b"garbage");
    let (i, l) = write_pair(&d, &gz, &good_labels());
    assert!(load_idx::<4>(&i, &l, 2).is_err());
    // More inflated data than the header describes: the plain file's error.
    let mut long = good_images();
    long.extend([1, 2, 3]);
    let (i, l) = write_pair(&d, &gzip(&long), &good_labels());
    let err = load_idx::<4>(&i, &l, 2).unwrap_err();
    assert!(
        matches!(err, DataError::TrailingData { expected: 24, .. }),
        "{err}"
    );
}

/// A gzip bomb: a header for 2,000 images followed by 256 MB of zeros (a 250 KB file). The reader
/// stops after what the header promises plus one byte instead of inflating everything.
#[test]
fn a_gzip_bomb_is_stopped_at_the_header_size() {
    let d = dir("bomb");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&idx(0x803, &[2000, 28, 28], &[])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let (i, l) = write_pair(&d, &bomb, &idx(0x801, &[2000], &[0; 2000]));
    let err = load_idx::<784>(&i, &l, 10).unwrap_err();
    // Exactly one byte beyond the 1,568,016 the header describes was inflated.
    assert!(
        matches!(
            err,
            DataError::TrailingData {
                expected: 1_568_016,
                extra: 1,
                ..
            }
        ),
        "{err}"
    );
}

/// The message of a label error when the data claims no classes at all (it used to underflow).
#[test]
fn label_error_with_zero_classes_displays() {
    let err = DataError::LabelOutOfRange {
        path: PathBuf::from("x.csv"),
        index: 0,
        label: 3,
        classes: 0,
    };
    assert_eq!(
        err.to_string(),
        "x.csv: sample 0 has label 3, but there are 0 classes"
    );
}

/// A header with an unclosed quote swallows every row after it: an error, not an empty data set.
/// So are an empty file and a header without rows.
#[test]
fn csv_without_data_rows_is_an_error() {
    let d = dir("csvempty");
    let cases: [(&str, bool, &str); 4] = [
        (
            "\"a,b,label\n1,2,0\n3,4,1\n",
            true,
            "the header has 1 fields",
        ),
        ("", false, "no data rows"),
        ("", true, "the header has 0 fields"),
        ("a,b,label\n", true, "no data rows"),
    ];
    for (text, header, message) in cases {
        let p = d.join("e.csv");
        std::fs::write(&p, text).unwrap();
        let err = load_csv::<2>(&p, 2, header).unwrap_err();
        assert!(err.to_string().contains(message), "{text:?}: {err}");
    }
}

/// One endless line (4 MiB of `1,1,1,…`) is refused once it passes the line limit, naming the line,
/// instead of being buffered whole.
#[test]
fn csv_line_length_is_capped() {
    let d = dir("csvlong");
    let p = d.join("long.csv");
    let mut text = String::from("1,2,0\n");
    text.push_str(&"1,".repeat(2 << 20));
    text.push_str("0\n");
    std::fs::write(&p, text).unwrap();
    let err = load_csv::<2>(&p, 2, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2 is longer than 1048576 bytes"),
        "{err}"
    );
}

/// The reader entry points take the bytes themselves (`&[u8]` is a reader) and give what the path
/// functions give, with `<images>`, `<labels>` and `<csv>` where a path would be.
#[test]
fn readers_give_what_the_files_give() {
    let d = dir("readers");
    let (i, l) = write_pair(&d, &good_images(), &good_labels());
    let from_files = load_idx::<4>(&i, &l, 2).unwrap();
    assert_eq!(
        read_idx::<4>(good_images().as_slice(), good_labels().as_slice(), 2).unwrap(),
        from_files
    );
    assert_eq!(
        read_idx::<4>(
            gzip(&good_images()).as_slice(),
            &gzip(&good_labels())[..],
            2
        )
        .unwrap(),
        from_files
    );
    let err = read_idx::<4>(&good_images()[..20], &good_labels()[..], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<images>: truncated: the header describes 24 bytes, the file has 20"
    );
    let err = read_idx::<4>(&good_images()[..], &idx(0x801, &[2], &[1, 2])[..], 2).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("<labels>: sample 1 has label 2"),
        "{err}"
    );

    let text = "a,b,label\n1.5,-2,1\n0,0,0\n";
    let p = d.join("ok.csv");
    std::fs::write(&p, text).unwrap();
    assert_eq!(
        read_csv::<2>(text.as_bytes(), 2, true).unwrap(),
        load_csv::<2>(&p, 2, true).unwrap()
    );
    let err = read_csv::<2>(&b"1,2\n"[..], 2, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<csv>, line 1: the file has 1 feature and a label, where 2 features are expected (N, the network's inputs)"
    );
}

/// Images of no pixels (`N` = 0) are still samples: they used to vanish, and the labels then
/// did not pair up ("0 samples but 3 labels").
#[test]
fn images_of_no_pixels_are_samples() {
    let images = idx(0x803, &[3, 0, 5], &[]);
    let d = read_idx::<0>(images.as_slice(), &idx(0x801, &[3], &[1, 0, 1])[..], 2).unwrap();
    assert_eq!((d.len(), d.labels()), (3, &[1, 0, 1][..]));
}

/// The header's image size and count are checked before the data is read: a file of the wrong
/// image size, or whose label count differs, is refused however much data follows or is missing.
#[test]
fn header_mismatches_are_found_before_the_data() {
    // Promises 4 billion images of 28×28 and has none: the image size is wrong for N = 4.
    let images = idx(0x803, &[u32::MAX, 28, 28], &[]);
    let err = read_idx::<4>(images.as_slice(), &good_labels()[..], 2).unwrap_err();
    assert!(
        matches!(err, DataError::FeatureMismatch { found: 784, .. }),
        "{err}"
    );
    // Promises 4 billion labels for 2 images.
    let labels = idx(0x801, &[u32::MAX], &[]);
    let err = read_idx::<4>(&good_images()[..], labels.as_slice(), 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                samples: 2,
                labels: 4_294_967_295
            }
        ),
        "{err}"
    );
}

/// Extra bytes after a plain file are all counted (the message says how many), not read into
/// memory.
#[test]
fn trailing_bytes_of_a_plain_stream_are_counted() {
    let mut long = good_images();
    long.extend([9; 1000]);
    let err = read_idx::<4>(long.as_slice(), &good_labels()[..], 2).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingData {
                expected: 24,
                extra: 1000,
                ..
            }
        ),
        "{err}"
    );
}

/// A quoted field can span lines: an unclosed quote used to make one record of the rest of the
/// input, buffered whole whatever the line limit. Records are capped like lines.
#[test]
fn csv_record_length_is_capped() {
    let mut text = String::from("1,2,0\n\"");
    text.push_str(&"1,2,0\n".repeat(400_000)); // 2.4 MB of short lines inside the quote
    let err = read_csv::<2>(text.as_bytes(), 2, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("the record starting on line 2 is longer than 1048576 bytes"),
        "{err}"
    );
    // The same with a header: the unclosed quote is in it.
    let err = read_csv::<2>(&text.as_bytes()[6..], 2, true).unwrap_err();
    assert!(
        err.to_string()
            .contains("the record starting on line 1 is longer than 1048576 bytes"),
        "{err}"
    );
    // Records up to the limit pass: one row of 100,000 features.
    let mut row = "0.5,".repeat(100_000);
    row.push_str("1\n");
    assert!(row.len() < constnet::data::MAX_LINE);
    let d = read_csv::<100_000>(row.as_bytes(), 2, false).unwrap();
    assert_eq!(d.labels(), &[1]);
}

/// Peak memory on hostile input stays within 100 MB of the data returned.
///
/// Each case runs alone in a child copy of this test binary (selected by an environment
/// variable), which resets its peak RSS (`VmHWM`, by writing 5 to `/proc/self/clear_refs`) once
/// the input is built, runs the reader, and prints how far the peak rose above the RSS before.
/// The inputs are generated on the fly or kept compressed, so they cost little themselves.
#[cfg(target_os = "linux")]
mod memory {
    use super::*;
    use std::io::Read;

    const CASE: &str = "CONSTNET_DATA_MEMORY_CASE";
    const SLACK: u64 = 100 << 20;

    /// A field of /proc/self/status, in bytes.
    fn status(field: &str) -> u64 {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
        let kb: u64 = line[field.len() + 1..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap();
        kb << 10
    }

    /// Runs `case` in a child process (or, in the child, measures it): `case` builds its input,
    /// then returns the measured work, which returns the bytes of data it produced.
    fn bounded<W: FnOnce() -> u64>(name: &str, case: impl FnOnce() -> W) {
        if std::env::var(CASE).as_deref() == Ok(name) {
            let work = case();
            let before = status("VmRSS:");
            // Resets VmHWM to the current RSS; without it, the peak so far is the baseline.
            let base = match std::fs::write("/proc/self/clear_refs", "5") {
                Ok(()) => before,
                Err(_) => status("VmHWM:"),
            };
            let data = work();
            let peak = status("VmHWM:");
            println!("MEMORY growth={} data={data}", peak.saturating_sub(base));
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([&format!("memory::{name}"), "--exact", "--nocapture"])
            .env(CASE, name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("MEMORY "))
            .unwrap_or_else(|| panic!("{name}: the child did not measure: {stdout}"));
        let field = |key: &str| -> u64 {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(key))
                .unwrap()
                .parse()
                .unwrap()
        };
        let (growth, data) = (field("growth="), field("data="));
        eprintln!(
            "{name}: peak RSS grew {} MB for {} MB of data",
            growth >> 20,
            data >> 20
        );
        assert!(
            growth <= data + SLACK,
            "{name}: peak RSS grew {growth} bytes for {data} bytes of data"
        );
    }

    /// `head`, then `unit` repeated to `len` bytes in all: a large input that takes no memory.
    struct Pattern {
        head: &'static [u8],
        unit: &'static [u8],
        at: usize,
        left: u64,
    }

    impl Pattern {
        fn new(head: &'static [u8], unit: &'static [u8], len: u64) -> Self {
            Pattern {
                head,
                unit,
                at: 0,
                left: len - head.len() as u64,
            }
        }
    }

    impl Read for Pattern {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if !self.head.is_empty() {
                return self.head.read(buf);
            }
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            for b in &mut buf[..n] {
                *b = self.unit[self.at];
                self.at = (self.at + 1) % self.unit.len();
            }
            self.left -= n as u64;
            Ok(n)
        }
    }

    /// An IDX image header for `count` 28×28 images, then zeros to 1 GiB in all, gzipped (~1 MB).
    fn bomb(count: u32) -> Vec<u8> {
        // Level 9: the fast level of flate2's zlib-rs backend (which DataFusion's parquet turns on
        // in `cargo test --workspace`) makes 1 GiB of zeros into more than 8 MB.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let header = idx(0x803, &[count, 28, 28], &[]);
        enc.write_all(&header).unwrap();
        std::io::copy(
            &mut std::io::repeat(0).take((1 << 30) - header.len() as u64),
            &mut enc,
        )
        .unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 8 << 20, "{}", bomb.len());
        bomb
    }

    /// The gzip bomb: a header for 2,000 images, 1 GiB once inflated.
    #[test]
    fn gzip_bomb_of_a_gib() {
        bounded("gzip_bomb_of_a_gib", || {
            let bomb = bomb(2000);
            let labels = idx(0x801, &[2000], &[0; 2000]);
            move || {
                let err = read_idx::<784>(bomb.as_slice(), labels.as_slice(), 10).unwrap_err();
                assert!(
                    matches!(err, DataError::TrailingData { extra: 1, .. }),
                    "{err}"
                );
                0
            }
        });
    }

    /// The same bomb whose header promises a million images (784 MB): it is not believed either.
    #[test]
    fn gzip_bomb_promising_a_million_images() {
        bounded("gzip_bomb_promising_a_million_images", || {
            let bomb = bomb(1_000_000);
            let labels = idx(0x801, &[1_000_000], &[]);
            move || {
                let err = read_idx::<784>(bomb.as_slice(), labels.as_slice(), 10).unwrap_err();
                assert!(
                    matches!(err, DataError::TrailingData { extra: 1, .. }),
                    "{err}"
                );
                0
            }
        });
    }

    /// One CSV line of 50 MB.
    #[test]
    fn csv_line_of_50_mb() {
        bounded("csv_line_of_50_mb", || {
            || {
                let input = Pattern::new(b"1,2,0\n", b"1,", 50 << 20);
                let err = read_csv::<2>(input, 2, false).unwrap_err();
                assert!(err.to_string().contains("line 2 is longer"), "{err}");
                0
            }
        });
    }

    /// 50 MB of short lines inside an unclosed quote: one record.
    #[test]
    fn csv_unclosed_quote_of_50_mb() {
        bounded("csv_unclosed_quote_of_50_mb", || {
            || {
                let input = Pattern::new(b"a,b,label\n\"", b"1,2,0\n", 50 << 20);
                let err = read_csv::<2>(input, 2, true).unwrap_err();
                assert!(
                    err.to_string().contains("record starting on line 2"),
                    "{err}"
                );
                0
            }
        });
    }

    /// Weight files of a 201 MB network: read straight into the network, not held as well.
    mod weights {
        use super::bounded;
        use constnet::prelude::*;
        use std::path::PathBuf;

        network! {
            struct Big {
                a: Dense<4096, 4096, Relu>,
                b: Dense<4096, 4096, Relu>,
                c: Dense<4096, 4096>,
            }
        }

        /// Writes a (zero) `Big` with `save` and returns the file, in the child only.
        fn file(name: &str, save: impl FnOnce(&Big, &std::path::Path)) -> PathBuf {
            let dir = super::super::dir(name);
            let path = dir.join(name);
            save(&Big::boxed_zeroed(), &path);
            path
        }

        #[test]
        fn safetensors_of_200_mb() {
            bounded("weights::safetensors_of_200_mb", || {
                let path = file("big.safetensors", |n, p| n.save_safetensors(p).unwrap());
                move || {
                    let net = Big::load_safetensors_boxed(&path).unwrap();
                    let _ = std::fs::remove_file(&path);
                    std::mem::size_of_val(&*net) as u64
                }
            });
        }

        #[test]
        fn onnx_of_200_mb() {
            bounded("weights::onnx_of_200_mb", || {
                let path = file("big.onnx", |n, p| n.save_onnx(p).unwrap());
                move || {
                    let net = Big::load_onnx_boxed(&path).unwrap();
                    let _ = std::fs::remove_file(&path);
                    std::mem::size_of_val(&*net) as u64
                }
            });
        }
    }

    /// For scale: the bundled MNIST training split, 25 MB of data.
    #[test]
    fn bundled_mnist() {
        bounded("bundled_mnist", || {
            || {
                let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
                let train = load_mnist::<784>(dir, Split::Train).unwrap();
                (train.len() * (784 * 4 + 8)) as u64
            }
        });
    }
}

/// Lines ending with `\r` alone (old Macs) are lines too: a file of 2 MB of them used to be
/// refused as one line longer than the limit.
#[test]
fn csv_lines_may_end_with_a_lone_carriage_return() {
    let text = "1.5,2,1\r".repeat(300_000);
    let d = read_csv::<2>(text.as_bytes(), 2, false).unwrap();
    assert_eq!(d.len(), 300_000);
    assert_eq!((d.features()[299_999], d.labels()[0]), ([1.5, 2.0], 1));
}

/// An iris-like file as people have it: a header, string labels in the last column. The header is
/// detected, the classes are the sorted names, and the data set keeps them.
#[test]
fn csv_with_string_labels_and_a_header() {
    let d = dir("csviris");
    let path = d.join("iris.csv");
    std::fs::write(
        &path,
        "sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
7.0,3.2,4.7,1.4,versicolor
6.3,3.3,6.0,2.5,virginica
4.9,3.0,1.4,0.2,setosa
5.8,2.7,5.1,1.9,virginica
",
    )
    .unwrap();
    let data = Csv::new().load::<4>(&path).unwrap();
    assert_eq!(data.len(), 5);
    assert_eq!(data.features()[1], [7.0, 3.2, 4.7, 1.4]);
    assert_eq!(data.labels(), &[0, 1, 2, 0, 2]);
    assert_eq!(data.classes(), 3);
    assert_eq!(
        data.class_names().unwrap(),
        &["setosa", "versicolor", "virginica"]
    );
    // By name, by index and with the header said explicitly: the same data.
    assert_eq!(Csv::new().label("species").load::<4>(&path).unwrap(), data);
    assert_eq!(
        Csv::new().label(4).header(true).load::<4>(&path).unwrap(),
        data
    );
    assert_eq!(
        Csv::new()
            .label(LabelColumn::Last)
            .load::<4>(&path)
            .unwrap(),
        data
    );
    // Sorted, not first-seen: a file listing the classes in another order maps them the same.
    let text = "a,b,c,d,species\n6.3,3.3,6.0,2.5,virginica\n5.1,3.5,1.4,0.2,setosa\n";
    let other = Csv::new().read::<4>(text.as_bytes()).unwrap();
    assert_eq!(other.labels(), &[1, 0]);
    assert_eq!(other.class_names().unwrap(), &["setosa", "virginica"]);
    // A fixed list keeps every class and its order, also those the file lacks.
    let fixed = Csv::new()
        .class_names(["virginica", "versicolor", "setosa"])
        .read::<4>(text.as_bytes())
        .unwrap();
    assert_eq!((fixed.labels(), fixed.classes()), (&[0, 2][..], 3));
    assert_eq!(fixed.class_name(1), Some("versicolor"));
}

/// The label in the middle column, chosen by name or index; the features keep their file order.
#[test]
fn csv_label_in_the_middle() {
    let d = dir("csvmiddle");
    let path = d.join("middle.csv");
    std::fs::write(&path, "x,label,y,z\n1,cat,2,3\n4,dog,5,6\n7,cat,8,9\n").unwrap();
    let data = Csv::new().label("label").load::<3>(&path).unwrap();
    assert_eq!(
        data.features(),
        &[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    );
    assert_eq!(data.labels(), &[0, 1, 0]);
    assert_eq!(data.class_name(1), Some("dog"));
    assert_eq!(Csv::new().label(1).load::<3>(&path).unwrap(), data);

    // Without a header, by index; integer labels stay numbers, `max + 1` classes, no names.
    let path = d.join("plain.csv");
    std::fs::write(&path, "1,2,2,3\n4,0,5,6\n").unwrap();
    let data = Csv::new().label(1).load::<3>(&path).unwrap();
    assert_eq!(data.features(), &[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!((data.labels(), data.classes()), (&[2, 0][..], 3));
    assert_eq!(data.class_names(), None);
    // The first column, and a feature error that names its column from the header.
    let err = Csv::new()
        .label(0)
        .read::<2>("y,a,b\n1,2,3\n0,2,x\n".as_bytes())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<csv>, line 3: feature 2 (`b`) is `x`, not a finite number"
    );
}

/// A header is detected when none of the first row's features is a number; otherwise the row is
/// data, and an error in it says it might be a header.
#[test]
fn csv_header_detection_and_hints() {
    let d = dir("csvheader");
    let with = d.join("with.csv");
    let without = d.join("without.csv");
    std::fs::write(&with, "a,b,label\n1.5,-2,1\n0,0,0\n").unwrap();
    std::fs::write(&without, "1.5,-2,1\n0,0,0\n").unwrap();
    let a = Csv::new().load::<2>(&with).unwrap();
    let b = Csv::new().load::<2>(&without).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.features(), &[[1.5, -2.0], [0.0, 0.0]]);

    // A header the reader is told is not there: the error says what it looks like.
    let err = Csv::new().header(false).load::<2>(&with).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line 1: feature 1 is `a`, not a finite number (the first row looks like a header: read the file with one)",
            with.display()
        )
    );
    // The old loader too.
    let err = load_csv::<2>(&with, 2, false).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("looks like a header: read the file with one)"),
        "{err}"
    );
    // A first row that is partly numbers is data; its error suggests a header if it is one.
    let err = Csv::new()
        .read::<2>("1,b,label\n1,2,0\n".as_bytes())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<csv>, line 1: feature 2 is `b`, not a finite number (if the first row is a header, say so: Csv::header(true))"
    );
    // A numeric header is only a header when said so.
    let numeric = "1,2,3\n0.5,0.25,1\n";
    assert_eq!(Csv::new().read::<2>(numeric.as_bytes()).unwrap().len(), 2);
    assert_eq!(
        Csv::new()
            .header(true)
            .read::<2>(numeric.as_bytes())
            .unwrap()
            .len(),
        1
    );
    // A label chosen by name needs the header.
    let err = Csv::new()
        .label("label")
        .header(false)
        .load::<2>(&with)
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the label column is chosen by name, but the file is read without a header"),
        "{err}"
    );
}

/// The issue's example: a 4-feature file read for a network of 5 inputs says that, in those terms,
/// with and without a header; a later short row compares itself with the rows above.
#[test]
fn csv_feature_count_mismatch_in_the_users_terms() {
    let d = dir("csvshape");
    let path = d.join("four.csv");
    std::fs::write(&path, "5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n").unwrap();
    let err = Csv::new().load::<5>(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line 1: the file has 4 features and a label, where 5 features are expected (N, the network's inputs)",
            path.display()
        )
    );
    assert!(matches!(err, DataError::Csv { line: 1, .. }));
    let err = Csv::new()
        .read::<5>("sl,sw,pl,pw,species\n5.1,3.5,1.4,0.2,setosa\n".as_bytes())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<csv>, line 1: the header has 5 fields: the file has 4 features and a label, where 5 features are expected (N, the network's inputs)"
    );
    let err = Csv::new()
        .read::<4>(
            "5.1,3.5,1.4,0.2,setosa\n5.0,3.6,1.4,0.2,setosa\n4.9,3.0,1.4,setosa\n".as_bytes(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<csv>, line 3: this row has 4 fields, the rows above 5 (4 features and a label)"
    );
}

/// Labels and label columns that do not fit are errors naming the line.
#[test]
fn csv_label_errors() {
    let text = "a,b,kind\n1,2,cat\n3,4,\n";
    let cases: [(Csv, &str); 5] = [
        (Csv::new(), "<csv>, line 3: the label is empty"),
        (
            Csv::new().classes(2),
            "<csv>, line 2: label `cat` is not a class number",
        ),
        (
            Csv::new().class_names(["dog"]),
            "<csv>, line 2: label `cat` is not one of the classes `dog`",
        ),
        (
            Csv::new().label("species"),
            "<csv>, line 1: there is no column `species` in the header (its columns: `a`, `b`, `kind`)",
        ),
        (
            Csv::new().label(3),
            "<csv>, line 1: the label column is 3 (0-based), but rows have 3 fields",
        ),
    ];
    for (csv, message) in cases {
        let err = csv.read::<2>(text.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), message, "{csv:?}");
    }
    // The record cap holds for every way of reading.
    let mut long = String::from("a,b,kind\n1,2,");
    long.push_str(&"x".repeat(constnet::data::MAX_LINE + 1));
    let err = Csv::new().read::<2>(long.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2 is longer than 1048576 bytes"),
        "{err}"
    );
}

/// Errors name the line a record is on also in Windows files (`\r\n`) and after blank lines,
/// where the CSV reader's own position is a line early.
#[test]
fn csv_line_numbers_with_crlf_and_blank_lines() {
    let cases: [(&[u8], u64); 7] = [
        (b"1,2,0\r\n1,x,0\r\n", 2),
        (b"1,2,0\n\n1,x,0\n", 3),
        (b"\n\n1,x,0\n", 3),
        (b"1,2,0\r\n\r\n\r\n1,2,0\r\n1,x,0\r\n", 5),
        (b"a,b,y\r\n1,2,0\r\n1,2\r\n", 3),
        (b"1,2,0\r\n1,\xff,0\r\n", 2), // not UTF-8: the CSV reader's own error
        (b"1,2,0\n1,x,0\n", 2),
    ];
    for (text, line) in cases {
        match Csv::new().read::<2>(text).unwrap_err() {
            DataError::Csv {
                line: l, message, ..
            } => {
                assert_eq!(l, line, "{:?}: {message}", String::from_utf8_lossy(text))
            }
            other => panic!("{other}"),
        }
    }
    // The record length limit names the record's line too.
    let mut text = String::from("1,2,0\r\n\r\n\"");
    text.push_str(&"1,2,0\r\n".repeat(200_000));
    let err = read_csv::<2>(text.as_bytes(), 2, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("the record starting on line 3 is longer than 1048576 bytes"),
        "{err}"
    );
}
