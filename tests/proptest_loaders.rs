//! Properties of the readers of untrusted bytes: the IDX and CSV loaders, `Dataset::new` and the
//! raw little-endian weights. Any input gives `Ok` or `Err`, never a panic; well-formed files
//! round-trip exactly; a cut IDX file is always an error; a refused weight file leaves the network
//! unchanged. (The fuzz targets in fuzz/ search the same ground for much longer.)
use std::io::Write;

use constnet::data::{read_csv, read_idx, Csv, DataError, Dataset};
use constnet::prelude::*;
use proptest::prelude::*;

network! {
    struct Net { hidden: Dense<3, 4, Relu>, out: Dense<4, 2, Softmax> }
}

fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A well-formed pair of IDX files: `count` images of 4 pixels (as 1×4, 2×2 or 4×1), their
/// labels below `classes`.
#[derive(Debug, Clone)]
struct IdxPair {
    images: Vec<u8>,
    labels: Vec<u8>,
    pixels: Vec<[u8; 4]>,
    label_values: Vec<u8>,
    classes: usize,
}

fn idx_pair() -> impl Strategy<Value = IdxPair> {
    (1usize..=12, 0usize..3, 0usize..12).prop_flat_map(|(classes, shape, count)| {
        (
            prop::collection::vec(any::<[u8; 4]>(), count),
            prop::collection::vec(0..classes as u8, count),
        )
            .prop_map(move |(pixels, label_values)| {
                let (rows, cols) = [(1, 4), (2, 2), (4, 1)][shape];
                let flat: Vec<u8> = pixels.iter().flatten().copied().collect();
                IdxPair {
                    images: idx(0x803, &[pixels.len() as u32, rows, cols], &flat),
                    labels: idx(0x801, &[label_values.len() as u32], &label_values),
                    pixels,
                    label_values,
                    classes,
                }
            })
    })
}

/// Bytes that are often close to an IDX file: random, or a right magic number and a random rest.
fn idx_like(magic: u32) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (
            prop::collection::vec(0u32..6, 0..4),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(move |(dims, rest)| idx(magic, &dims, &rest)),
    ]
}

/// Text made of what CSV files are made of, so that rows are sometimes nearly right.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        "[0-9 .,eE+\\-\"\\r\\n]{0,96}".prop_map(String::into_bytes),
        "(([0-9]{1,3}(\\.[0-9]{0,2})?|nan|inf|x|),){0,4}[0-9]{0,2}(\\r?\\n|\")"
            .prop_map(String::into_bytes),
    ]
}

/// A finite f32, from all of them (also subnormals and extremes).
fn finite_f32() -> impl Strategy<Value = f32> {
    any::<u32>()
        .prop_map(f32::from_bits)
        .prop_filter("finite", |v| v.is_finite())
}

proptest! {
    // About 3 s in all with the test profile (opt-level 3).
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Any bytes, plain or gzipped, give `Ok` or `Err`; an `Ok` is consistent.
    #[test]
    fn idx_never_panics(images in idx_like(0x803), labels in idx_like(0x801), classes in 0usize..12, gz in any::<bool>()) {
        let (images, labels) = if gz { (gzip(&images), gzip(&labels)) } else { (images, labels) };
        if let Ok(d) = read_idx::<4>(images.as_slice(), labels.as_slice(), classes) {
            prop_assert_eq!(d.features().len(), d.labels().len());
            prop_assert!(d.labels().iter().all(|&l| l < classes));
        }
        let _ = read_idx::<1>(images.as_slice(), labels.as_slice(), classes);
        // Raw gzip input: the decoder on arbitrary bytes after the magic.
        let mut raw = vec![0x1f, 0x8b];
        raw.extend(&images);
        let _ = read_idx::<4>(raw.as_slice(), labels.as_slice(), classes);
    }

    /// Any text gives `Ok` or `Err`, with and without a header; an `Ok` is consistent.
    #[test]
    fn csv_never_panics(text in csv_like(), header in any::<bool>(), classes in 0usize..5) {
        match read_csv::<2>(text.as_slice(), classes, header) {
            Ok(d) => {
                prop_assert!(!d.is_empty());
                prop_assert!(d.labels().iter().all(|&l| l < classes));
                prop_assert!(d.features().iter().flatten().all(|v| v.is_finite()));
            }
            Err(e) => { let _ = e.to_string(); }
        }
        let _ = read_csv::<1>(text.as_slice(), classes, header);
        let _ = read_csv::<4>(text.as_slice(), classes, header);
    }

    /// The same for the `Csv` reader's ways: detected header, string labels, label by index or
    /// name; an `Ok` names every class it has labels for.
    #[test]
    fn csv_options_never_panic(text in csv_like(), label in 0usize..4, by_name in any::<bool>()) {
        let csv = if by_name { Csv::new().label("1") } else { Csv::new().label(label) };
        for csv in [Csv::new(), csv] {
            match csv.read::<2>(text.as_slice()) {
                Ok(d) => {
                    prop_assert!(!d.is_empty());
                    prop_assert!(d.labels().iter().all(|&l| l < d.classes()));
                    if let Some(names) = d.class_names() {
                        prop_assert_eq!(names.len(), d.classes());
                    }
                }
                Err(e) => { let _ = e.to_string(); }
            }
        }
    }

    /// A well-formed IDX pair reads back exactly, plain or gzipped.
    #[test]
    fn idx_round_trips(pair in idx_pair(), gz_images in any::<bool>(), gz_labels in any::<bool>()) {
        let images = if gz_images { gzip(&pair.images) } else { pair.images.clone() };
        let labels = if gz_labels { gzip(&pair.labels) } else { pair.labels.clone() };
        let d = read_idx::<4>(images.as_slice(), labels.as_slice(), pair.classes).unwrap();
        let expected: Vec<[f32; 4]> = pair
            .pixels
            .iter()
            .map(|px| px.map(|p| f32::from(p) / 255.0))
            .collect();
        prop_assert_eq!(d.features(), expected.as_slice());
        let labels: Vec<usize> = pair.label_values.iter().map(|&l| usize::from(l)).collect();
        prop_assert_eq!(d.labels(), labels.as_slice());
        prop_assert_eq!(d.classes(), pair.classes);
    }

    /// A well-formed CSV of any finite numbers reads back exactly (the shortest decimal that
    /// round-trips, padded with spaces or quoted), with or without a header, `\n` or `\r\n`.
    #[test]
    fn csv_round_trips(
        rows in prop::collection::vec(([finite_f32(), finite_f32(), finite_f32()], 0usize..7), 1..24),
        header in any::<bool>(),
        crlf in any::<bool>(),
        style in 0u8..3,
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let field = |s: String| match style {
            0 => s,
            1 => format!("  {s} "),
            _ => format!("\"{s}\""),
        };
        let mut text = String::new();
        if header {
            text.push_str(&format!("a,\"b, c\",d,label{end}"));
        }
        for (values, label) in &rows {
            let cells: Vec<String> = values.iter().map(|v| field(format!("{v}"))).collect();
            text.push_str(&format!("{},{}{end}", cells.join(","), field(label.to_string())));
        }
        let d = read_csv::<3>(text.as_bytes(), 7, header).unwrap();
        let features: Vec<[f32; 3]> = rows.iter().map(|r| r.0).collect();
        let labels: Vec<usize> = rows.iter().map(|r| r.1).collect();
        // Bit for bit (-0.0 stays -0.0).
        let bits = |f: &[[f32; 3]]| f.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(d.features()), bits(&features));
        prop_assert_eq!(d.labels(), labels.as_slice());
    }

    /// An IDX file cut anywhere (images or labels, plain or gzipped before the cut) is an error,
    /// never a shorter data set; so is a gzip stream cut anywhere.
    #[test]
    fn cut_idx_is_an_error(pair in idx_pair(), gz in any::<bool>()) {
        let (images, labels) = (pair.images.as_slice(), pair.labels.as_slice());
        let classes = pair.classes;
        for cut in 0..images.len() {
            let short = &images[..cut];
            prop_assert!(read_idx::<4>(short, labels, classes).is_err(), "images cut at {}", cut);
            if gz {
                prop_assert!(read_idx::<4>(gzip(short).as_slice(), labels, classes).is_err());
            }
        }
        for cut in 0..labels.len() {
            let short = &labels[..cut];
            prop_assert!(read_idx::<4>(images, short, classes).is_err(), "labels cut at {}", cut);
        }
        if gz {
            let whole = gzip(images);
            for cut in 0..whole.len() {
                let short = &whole[..cut];
                prop_assert!(read_idx::<4>(short, labels, classes).is_err(), "gzip cut at {}", cut);
            }
        }
    }

    /// CSV has no length header: a file cut at a line's end is a valid shorter file. A cut CSV is
    /// an error or its rows are a prefix of the original, every row but the last one intact (the
    /// last may be cut inside a number, `12` becoming `1`).
    #[test]
    fn cut_csv_is_an_error_or_a_prefix(
        rows in prop::collection::vec(([-99i16..99, -99i16..99], 0usize..3), 1..8),
        header in any::<bool>(),
    ) {
        let mut text = String::from(if header { "x,y,label\n" } else { "" });
        for ([x, y], label) in &rows {
            text.push_str(&format!("{}.5,{y},{label}\n", x));
        }
        let original = read_csv::<2>(text.as_bytes(), 3, header).unwrap();
        for cut in 0..text.len() {
            if let Ok(d) = read_csv::<2>(&text.as_bytes()[..cut], 3, header) {
                let n = d.len();
                prop_assert!(n <= original.len());
                prop_assert_eq!(&d.features()[..n - 1], &original.features()[..n - 1]);
                prop_assert_eq!(&d.labels()[..n - 1], &original.labels()[..n - 1]);
            }
        }
    }

    /// `Dataset::new` accepts exactly the data whose counts agree and whose labels are below
    /// `classes`, and says which label is wrong.
    #[test]
    fn dataset_new_checks_counts_and_labels(
        features in prop::collection::vec(any::<[u8; 2]>(), 0..16),
        labels in prop::collection::vec(0usize..8, 0..16),
        classes in 0usize..8,
    ) {
        let features: Vec<[f32; 2]> = features.iter().map(|f| f.map(f32::from)).collect();
        let result = Dataset::new(features.clone(), labels.clone(), classes);
        if features.len() != labels.len() {
            let mismatch = matches!(
                result,
                Err(DataError::CountMismatch { samples, labels: l }) if samples == features.len() && l == labels.len()
            );
            prop_assert!(mismatch);
        } else if let Some(index) = labels.iter().position(|&l| l >= classes) {
            let out_of_range = matches!(
                result,
                Err(DataError::LabelOutOfRange { index: i, label, classes: c, .. })
                    if i == index && label == labels[index] && c == classes
            );
            prop_assert!(out_of_range);
        } else {
            let d = result.unwrap();
            prop_assert_eq!(d.features(), features.as_slice());
            prop_assert_eq!(d.labels(), labels.as_slice());
        }
    }

    /// Raw weights of the wrong length are refused and leave the network as it was; the right
    /// length loads bit for bit.
    #[test]
    fn raw_weights_of_the_wrong_length_change_nothing(bytes in prop::collection::vec(any::<u8>(), 0..256), seed in any::<u64>()) {
        let mut net = Net::new(seed);
        let before = net.to_le_bytes();
        let expected = Net::PARAMS * 4;
        match net.copy_from_le_bytes(&bytes) {
            Ok(()) => {
                prop_assert_eq!(bytes.len(), expected);
                prop_assert_eq!(net.to_le_bytes(), bytes);
            }
            Err(e) => {
                let finite = bytes.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
                if bytes.len() == expected {
                    // The right length is refused only for a NaN or infinite value.
                    prop_assert!(!finite);
                    let non_finite = matches!(e, constnet::RawError::NonFinite { .. });
                    prop_assert!(non_finite);
                } else {
                    prop_assert_eq!(e, constnet::RawError::WrongLength { expected, found: bytes.len() });
                }
                prop_assert_eq!(net.to_le_bytes(), before);
            }
        }
    }

    /// Any finite values of the right length load, and read back unchanged; a NaN or infinity
    /// anywhere is refused and changes nothing.
    #[test]
    fn raw_weights_of_the_right_length_load(bytes in prop::collection::vec(any::<u8>(), Net::PARAMS * 4)) {
        let mut net = Net::new(1);
        let before = net.to_le_bytes();
        let finite = bytes.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
        match net.copy_from_le_bytes(&bytes) {
            Ok(()) => {
                prop_assert!(finite);
                prop_assert_eq!(net.to_le_bytes(), bytes);
            }
            Err(e) => {
                prop_assert!(!finite, "{}", e);
                prop_assert_eq!(net.to_le_bytes(), before);
            }
        }
    }
}
