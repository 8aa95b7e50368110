/// A small deterministic PRNG (SplitMix64) for initialisation and shuffling.
///
/// Kept in-crate rather than taken from `rand` so that a seed gives the same network on every
/// target and with every dependency version, and so `no_std` builds need nothing extra.
///
/// ```
/// use nn_core::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// let u = a.uniform(-1.0, 1.0);
/// assert!((-1.0..1.0).contains(&u));
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed; equal seeds give equal streams.
    pub const fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The generator's state: [`Rng::new`] of it continues the same stream (what a training
    /// checkpoint saves of the dropout generator).
    ///
    /// ```
    /// use nn_core::Rng;
    /// let mut a = Rng::new(7);
    /// a.next_u64();
    /// let mut b = Rng::new(a.state());
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// ```
    pub const fn state(&self) -> u64 {
        self.0
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f32(&mut self) -> f32 {
        // 24 random bits fill an f32 mantissa exactly.
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }

    /// Uniform integer in `0..n` (`n > 0`), without modulo bias worth noticing for `n` ≪ 2⁶⁴.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
