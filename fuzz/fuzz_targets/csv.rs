//! `read_csv` on arbitrary text, with and without a header.
//!
//! Input: byte 0 picks `N` (low 2 bits: 1, 2, 3 or 8 features), whether there is a header (bit 2)
//! and the number of classes (the other 5 bits); the rest is the CSV text (any bytes).
#![no_main]

use constnet::data::{read_csv, DataError, Dataset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&opts, text)) = data.split_first() else {
        return;
    };
    let header = opts & 4 != 0;
    let classes = usize::from(opts >> 3);
    match opts & 3 {
        0 => check(read_csv::<1>(text, classes, header), text, classes),
        1 => check(read_csv::<2>(text, classes, header), text, classes),
        2 => check(read_csv::<3>(text, classes, header), text, classes),
        _ => check(read_csv::<8>(text, classes, header), text, classes),
    }
});

/// What an `Ok` promises: at least one row, finite features, labels in range, no more rows than
/// the text has lines; an error must display.
fn check<const N: usize>(result: Result<Dataset<N>, DataError>, text: &[u8], classes: usize) {
    match result {
        Ok(d) => {
            assert!(!d.is_empty());
            assert_eq!(d.features().len(), d.labels().len());
            assert!(d.labels().iter().all(|&l| l < classes));
            assert!(d.features().iter().flatten().all(|v| v.is_finite()));
            let lines = text.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
            assert!(d.len() <= lines);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
