//! `read_idx` on gzipped IDX streams (the reader detects the gzip magic), checked against the same
//! bytes read plain.
//!
//! Input: byte 0 picks `N` and the classes as in the `idx` target; byte 1 is the mode; bytes 2..4
//! are the length of the image part (u16 little-endian, clamped); the images follow, then the
//! labels. Mode bits:
//! - bit 0 clear: the image part is IDX bytes, which the target gzips (in two members if bit 2 is
//!   set, cut at byte 3's position) and compares with reading them plain: same data, or an error
//!   for both;
//! - bit 0 set: the image part is raw gzip input (the magic `1f 8b` is put in front): the decoder
//!   itself is fuzzed;
//! - bit 1: the labels are gzipped too;
//! - bit 3: bytes after the gzip stream (the image part's last byte) must make it an error.
#![no_main]

use std::io::Write;

use constnet::data::{read_idx, DataError, Dataset};
use libfuzzer_sys::fuzz_target;

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [opts, mode, a, b, rest @ ..] = data else {
        return;
    };
    let split = usize::from(u16::from_le_bytes([*a, *b]));
    let (images, labels) = rest.split_at(split.min(rest.len()));
    let classes = usize::from(opts >> 2);
    let labels_gz = if mode & 2 != 0 {
        gzip(&[labels])
    } else {
        labels.to_vec()
    };
    if mode & 1 != 0 {
        // Raw decoder input: only "no panic, bounded memory" is checked.
        let mut raw = vec![0x1f, 0x8b];
        raw.extend(images);
        let _ = dispatch(*opts, &raw, &labels_gz, classes);
        return;
    }
    let mut gz = if mode & 4 != 0 && !images.is_empty() {
        let cut = usize::from(*b) % images.len();
        gzip(&[&images[..cut], &images[cut..]])
    } else {
        gzip(&[images])
    };
    let trailing = mode & 8 != 0;
    if trailing {
        gz.push(images.last().copied().unwrap_or(0));
    }
    let through_gzip = dispatch(*opts, &gz, &labels_gz, classes);
    let plain = dispatch(*opts, images, labels, classes);
    match (through_gzip, plain) {
        (Ok(g), Ok(p)) => {
            assert!(!trailing, "bytes after the gzip stream were accepted");
            assert_eq!(g, p);
        }
        (Err(_), Ok(_)) => assert!(trailing, "the gzipped copy of a good file was refused"),
        (Ok(_), Err(e)) => panic!("a bad file was accepted once gzipped: {e}"),
        (Err(g), Err(_)) => {
            let _ = g.to_string();
        }
    }
});

/// The data set's features as bytes, to compare results of different `N`.
type Summary = (Vec<u32>, Vec<usize>);

fn dispatch(opts: u8, images: &[u8], labels: &[u8], classes: usize) -> Result<Summary, DataError> {
    fn go<const N: usize>(
        images: &[u8],
        labels: &[u8],
        classes: usize,
    ) -> Result<Summary, DataError> {
        let d: Dataset<N> = read_idx::<N>(images, labels, classes)?;
        assert!(d.labels().iter().all(|&l| l < classes));
        let bits = d.features().iter().flatten().map(|p| p.to_bits()).collect();
        Ok((bits, d.labels().to_vec()))
    }
    match opts & 3 {
        0 => go::<0>(images, labels, classes),
        1 => go::<1>(images, labels, classes),
        2 => go::<4>(images, labels, classes),
        _ => go::<784>(images, labels, classes),
    }
}
