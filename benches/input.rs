//! The synthetic batch the training benches share: pixel values in [0, 1) from a fixed LCG, labels
//! 0–9 in turn, so that every bench trains on the same numbers.

/// `B` samples of 784 pixels and their labels.
pub fn batch<const B: usize>() -> (Box<[[f32; 784]; B]>, [usize; B]) {
    let mut s = 7u32;
    let rows: Vec<[f32; 784]> = (0..B)
        .map(|_| {
            core::array::from_fn(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                (s >> 24) as f32 / 255.0
            })
        })
        .collect();
    let x = rows.into_boxed_slice().try_into().expect("B rows");
    (x, core::array::from_fn(|b| b % 10))
}
