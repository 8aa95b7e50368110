//! `read_idx` on plain IDX bytes: an image stream and a label stream cut from one input.
//!
//! Input: byte 0 picks `N` (low 2 bits: 0, 1, 4 or 784 pixels per image) and the number of
//! classes (the other 6 bits); bytes 1..3 are the length of the image stream (u16 little-endian,
//! clamped); the images follow, then the labels.
#![no_main]

use constnet::data::{read_idx, DataError, Dataset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    let (split, rest) = match rest {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, rest),
    };
    let (images, labels) = rest.split_at(split.min(rest.len()));
    let classes = usize::from(opts >> 2);
    match opts & 3 {
        0 => check(read_idx::<0>(images, labels, classes), images, classes),
        1 => check(read_idx::<1>(images, labels, classes), images, classes),
        2 => check(read_idx::<4>(images, labels, classes), images, classes),
        _ => check(read_idx::<784>(images, labels, classes), images, classes),
    }
});

/// What an `Ok` promises: pixels in `[0, 1]`, labels in range, exactly the bytes that the header
/// describes; an error must display.
fn check<const N: usize>(result: Result<Dataset<N>, DataError>, images: &[u8], classes: usize) {
    match result {
        Ok(d) => {
            assert_eq!(d.features().len(), d.labels().len());
            assert_eq!(d.classes(), classes);
            assert!(d.labels().iter().all(|&l| l < classes));
            assert!(d
                .features()
                .iter()
                .flatten()
                .all(|p| (0.0..=1.0).contains(p)));
            assert_eq!(images.len(), 16 + d.len() * N);
            let count = u32::from_be_bytes([images[4], images[5], images[6], images[7]]);
            assert_eq!(d.len(), count as usize, "samples lost");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
